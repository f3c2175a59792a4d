#!/usr/bin/env bash
# Bad clients do not disturb good ones, in every model: malformed requests get
# 400 and a close, oversized headers 431 and a close, a slowloris client and an
# idle keep-alive connection are cut off after --idle-timeout, clients that
# reset (SO_LINGER 0) cost nothing; meanwhile a well-behaved client sees no
# error.  Running out of fds (EMFILE) neither spins nor stops service.
# Clients that trickle a request (its body, or its headers) more often than the
# idle timeout are cut by --request-timeout, so they cannot hold every slot
# forever: a good client waiting meanwhile gets all its requests answered.
# The HTTP protocol probe (keep-alive, pipelining, bodies, HEAD, HTTP/1.0,
# 501/505) also runs against every model, since the models answer from
# different code paths (epoll loop, blocking loop, dispatcher + worker).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
command -v prlimit >/dev/null || fail "prlimit (util-linux) not installed"

IDLE=1

ABUSED=() TRICKLED=()
abuse() {
	local model=$1 bg=()
	shift
	ABUSED+=("$model")
	demo_start --model "$model" --idle-timeout $IDLE "$@"
	# The slow ones in the background: each holds a connection for about IDLE seconds.
	client probe "$DEMO_PORT" slowloris --timeout $IDLE >"$TMP/slow.out" 2>&1 &
	bg+=($!)
	client probe "$DEMO_PORT" idle --timeout $IDLE >"$TMP/idle.out" 2>&1 &
	bg+=($!)
	client load "$DEMO_PORT" --conns 60 --reqs 4 --parallel 2 >"$TMP/good.json" &
	bg+=($!)
	local p
	for p in malformed oversized reset http; do
		client probe "$DEMO_PORT" $p || fail "$model: probe $p failed"
	done
	wait "${bg[0]}" || fail "$model: slowloris: $(cat "$TMP/slow.out")"
	wait "${bg[1]}" || fail "$model: idle: $(cat "$TMP/idle.out")"
	wait "${bg[2]}" || fail "$model: good client failed"
	log "$model: $(cat "$TMP/slow.out") / $(cat "$TMP/idle.out")"
	assert_eq "$model: good client errors" 0 "$(jq .errors.total "$TMP/good.json")"
	assert_eq "$model: good client answered" 240 "$(jq .answered "$TMP/good.json")"
	# Still serving after all that.
	assert_eq "$model: curl afterwards" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DEMO_PORT/")"
	demo_stop
}

abuse single
abuse dispatch --threads 2
abuse reqdispatch --threads 2
abuse reuseport --threads 2
abuse shared-blocking --threads 4 # slow clients hold a thread each: that is the model
abuse shared-epoll --threads 2
abuse shared-exclusive --threads 2 --processes
abuse shared-mutex --threads 2
assert_every_model "bad clients" "${ABUSED[@]}"

# A client that pipelines far more than the socket buffers hold and reads late: the
# server has to finish responses on writability (epoll loop, blocking loop, worker).
for model in single shared-blocking reqdispatch; do
	demo_start --model "$model" --threads 2
	client probe "$DEMO_PORT" flood || fail "$model: pipelined flood"
	demo_stop
	assert_eq "$model: requests after the flood" 60000 "$(stat_sum "$DEMO_STATS" requests)"
done

# emfile MODEL NOFILE ARGS...: hold more connections than the server has fds; its CPU use
# over a second stays near zero (no EMFILE busy loop) and it serves again afterwards.
emfile() {
	local model=$1 nofile=$2
	shift 2
	DEMO_PREFIX=(prlimit --nofile="$nofile" --)
	demo_start --model "$model" --idle-timeout 30 "$@"
	DEMO_PREFIX=()
	client hold "$DEMO_PORT" 60 2 >"$TMP/hold.json" &
	local hold_pid=$!
	cpu() { awk '{ print $14 + $15 }' "/proc/$DEMO_PID/stat"; }
	fds_exhausted() { (($(ls "/proc/$DEMO_PID/fd" | wc -l) >= nofile - 2)); }
	wait_until 5 "$model: fds exhausted" fds_exhausted
	local t0 t1
	t0=$(cpu)
	sleep 1 # measuring CPU time over an interval: a plain sleep is the point here
	t1=$(cpu)
	assert_le "$model: CPU ticks (1/$(getconf CLK_TCK) s) in 1 s out of fds" 20 $((t1 - t0))
	wait "$hold_pid" || fail "hold client failed"
	log "$model: $(cat "$TMP/hold.json")"
	# Threads still draining the held connections' leftovers may take a moment: wait for it.
	serves() { [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DEMO_PORT/") == 200 ]]; }
	wait_until 15 "$model: a 200 after fds came back" serves
	log "$model: serves again after fds came back"
	demo_stop
}

emfile single 40
assert_ge "single: connections shed while out of fds" 1 "$(jq .closed_by_server "$TMP/hold.json")"
# Blocked accept() calls hold an fd slot each while they wait, so shedding is
# not guaranteed here; not spinning and recovering are.
emfile shared-blocking 18 --threads 8
emfile dispatch 40 --threads 2

# trickle MODEL BODY MIN_SHED SEALED ARGS...: out of fds (or, shared-blocking, of threads),
# 2 header tricklers (accepted first) and BODY body tricklers, each sending a byte every 250 ms
# (far under the 5 s idle timeout), take every slot; the server sheds at least MIN_SHED of
# them at once.  The rest must be cut by the 1.5 s request deadline, not earlier, not much
# later (the probe checks each close).  A good client started meanwhile, retrying while it is
# shed, gets all its 24 requests answered, before the tricklers would give up by themselves
# (4.5 s) and before the idle timeout could have freed a slot; SEALED=1: and nothing before the
# first deadline could end.
# Where two threads accept into one fd table (shared-epoll, shared-exclusive, reuseport
# threads), the fd one thread frees to shed a connection (its reserve) can go to a real accept
# by the other: a good client may slip in early (so not SEALED), and once every thread has lost
# its reserve nothing is shed, so tricklers beyond the fds would wait in the accept queue and
# hold a slot later, for a deadline of their own.  There BODY=fill: exactly the free fds.
NOFILE=40
REQUEST_TIMEOUT=1.5
queued() { ss -Hltn "sport = :$DEMO_PORT" | awk '{ q += $2 } END { print q + 0 }'; }
nothing_queued() { (($(queued) == 0)); }
# held N: the server's processes hold exactly N connections (accepted sockets have an owner).
held() { (($(ss -Htnp state established "sport = :$DEMO_PORT" | grep -c 'users:') == $1)); }
# free_fds: fd numbers under the limit the server has not taken (it may have inherited higher ones).
free_fds() {
	local fd used=0
	for fd in "/proc/$DEMO_PID/fd/"*; do
		((${fd##*/} < NOFILE)) && used=$((used + 1))
	done
	echo $((NOFILE - used))
}
trickle() {
	local model=$1 body=$2 min_shed=$3 sealed=$4
	shift 4
	TRICKLED+=("$model")
	DEMO_PREFIX=(prlimit --nofile=$NOFILE --)
	demo_start --model "$model" --idle-timeout 5 --request-timeout $REQUEST_TIMEOUT "$@"
	DEMO_PREFIX=()
	client probe "$DEMO_PORT" trickle --timeout $REQUEST_TIMEOUT --conns 0 --header-conns 2 \
		>"$TMP/headers.out" 2>&1 &
	local headers_pid=$!
	# Accepted before the body tricklers come, so that none of them is the one shed.
	wait_until 5 "$model: header tricklers accepted" held 2
	local fill=0
	if [[ $body == fill ]]; then
		fill=1 body=$(free_fds)
		log "$model: $body body tricklers for the $body free fds"
	fi
	client probe "$DEMO_PORT" trickle --timeout $REQUEST_TIMEOUT --conns "$body" --header-conns 0 \
		>"$TMP/body.out" 2>&1 &
	local body_pid=$!
	wait_until 5 "$model: body tricklers connected" grep -q '^holding' "$TMP/body.out"
	# Every trickler accepted (holding a slot) or shed: the good client finds the slots taken.
	if ((fill)); then
		wait_until 5 "$model: every trickler accepted" held $((2 + body))
	else
		wait_until 5 "$model: no trickler left in the accept queue" nothing_queued
	fi
	local rc=0
	client patient "$DEMO_PORT" --reqs 24 --within 3 >"$TMP/patient.json" || rc=$?
	wait "$headers_pid" || fail "$model: header tricklers: $(cat "$TMP/headers.out")"
	wait "$body_pid" || fail "$model: body tricklers: $(cat "$TMP/body.out")"
	local headers body_summary
	headers=$(tail -n 1 "$TMP/headers.out")
	body_summary=$(tail -n 1 "$TMP/body.out")
	log "$model: header tricklers $(jq -c .headers <<<"$headers"), body tricklers $(jq -c .body <<<"$body_summary"), good client $(cat "$TMP/patient.json")"
	assert_eq "$model: header tricklers cut by the deadline" 2 "$(jq .headers.cut <<<"$headers")"
	assert_ge "$model: body tricklers shed at once" "$min_shed" "$(jq .body.shed <<<"$body_summary")"
	((fill)) && assert_eq "$model: body tricklers cut by the deadline" "$body" "$(jq .body.cut <<<"$body_summary")"
	assert_eq "$model: good client answered (of 24)" 24 "$(jq .answered "$TMP/patient.json")"
	((rc == 0)) || fail "$model: good client failed"
	if ((sealed)); then
		# The server's first deadline: 1.5 s after it read the first header trickler's first
		# byte, which was sent after started_at (less 10 ms for its whole-ms clock).
		local first_deadline first_answer
		first_deadline=$(jq ".started_at + $REQUEST_TIMEOUT - 0.01" <<<"$headers")
		first_answer=$(jq .first_answer_at "$TMP/patient.json")
		jq -en "$first_answer >= $first_deadline" >/dev/null ||
			fail "$model: the good client was answered at $first_answer, before any deadline ($first_deadline)"
		log "$model: first answer $(jq -n "($first_answer - $first_deadline) * 1000 | floor") ms after the first deadline could end"
	fi
	assert_eq "$model: curl afterwards" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DEMO_PORT/")"
	demo_stop
}

trickle single 100 1 1
trickle dispatch 100 1 1 --threads 2
trickle reqdispatch 100 1 1 --threads 2
trickle reuseport fill 0 0 --threads 2
# Each process has its own fds and its own shard, and sheds only what its shard got.  (Not
# shared-exclusive --processes: there the one woken process sheds while another still has
# fds free, so tricklers never hold every slot.)
trickle reuseport 100 1 1 --threads 2 --processes
trickle shared-blocking 2 0 1 --threads 4 # 2 + 2 tricklers hold the 4 threads
trickle shared-epoll fill 0 0 --threads 2
trickle shared-exclusive fill 0 0 --threads 2
trickle shared-mutex 100 1 1 --threads 2 # only the mutex holder accepts
assert_every_model "tricklers" "${TRICKLED[@]}"
