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
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
command -v prlimit >/dev/null || fail "prlimit (util-linux) not installed"

IDLE=1

abuse() {
	local model=$1 bg=()
	shift
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

# trickle MODEL BODY_TRICKLERS MIN_SHED ARGS...: out of fds (or, shared-blocking, of threads),
# 2 header tricklers and BODY_TRICKLERS body tricklers, each sending a byte every 250 ms (far
# under the 3 s idle timeout), take every slot: the server sheds at least MIN_SHED of them
# at once.  The rest must be cut by the 1.5 s request deadline, not earlier, not much later
# (the probe checks each close), and a good client started meanwhile, retrying while it is
# shed, must get all its 24 requests answered before the tricklers would give up by themselves.
REQUEST_TIMEOUT=1.5
queued() { ss -Hltn "sport = :$DEMO_PORT" | awk '{ q += $2 } END { print q + 0 }'; }
nothing_queued() { (($(queued) == 0)); }
trickle() {
	local model=$1 body=$2 min_shed=$3
	shift 3
	DEMO_PREFIX=(prlimit --nofile=40 --)
	demo_start --model "$model" --idle-timeout 3 --request-timeout $REQUEST_TIMEOUT "$@"
	DEMO_PREFIX=()
	client probe "$DEMO_PORT" trickle --timeout $REQUEST_TIMEOUT --conns "$body" --header-conns 2 \
		>"$TMP/trickle.out" 2>&1 &
	local trickle_pid=$!
	wait_until 5 "$model: tricklers connected" grep -q '^holding' "$TMP/trickle.out"
	# Every trickler accepted (holding a slot) or shed: the good client finds the slots taken.
	wait_until 5 "$model: no trickler left in the accept queue" nothing_queued
	local rc=0
	client patient "$DEMO_PORT" --reqs 24 --within 3 >"$TMP/patient.json" || rc=$?
	wait "$trickle_pid" || fail "$model: tricklers: $(cat "$TMP/trickle.out")"
	log "$model: tricklers $(tail -n 1 "$TMP/trickle.out"), good client $(cat "$TMP/patient.json")"
	local summary; summary=$(tail -n 1 "$TMP/trickle.out")
	assert_ge "$model: body tricklers shed at once" "$min_shed" "$(jq .body.shed <<<"$summary")"
	assert_eq "$model: header tricklers cut by the deadline" 2 "$(jq .headers.cut <<<"$summary")"
	assert_eq "$model: good client answered (of 24)" 24 "$(jq .answered "$TMP/patient.json")"
	((rc == 0)) || fail "$model: good client failed"
	assert_eq "$model: curl afterwards" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DEMO_PORT/")"
	demo_stop
}

trickle single 100 1
trickle dispatch 100 1 --threads 2
trickle reqdispatch 100 1 --threads 2
trickle reuseport 100 1 --threads 2
trickle shared-blocking 2 0 --threads 4 # 2 + 2 tricklers hold the 4 threads
trickle shared-epoll 100 1 --threads 2
trickle shared-exclusive 100 1 --threads 2 --processes
trickle shared-mutex 100 1 --threads 2
