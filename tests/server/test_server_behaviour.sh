#!/usr/bin/env bash
# What identifies each accept model in its counters, plus the knobs that shape
# queues: --accept-delay-us, --work-us, --backlog, and IPv6; the --ready-fd handshake.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# closed_load IN_FLIGHT TOTAL [HOST]: TOTAL requests, each on a new connection
# (Connection: close), IN_FLIGHT at a time; prints the client's JSON.
closed_load() {
	local host=${3:-127.0.0.1}
	if [[ -x $LOAD ]]; then
		"$LOAD" --host "$host" --port "$DEMO_PORT" --connections "$1" --requests "$2" --json
	else
		client load "$DEMO_PORT" --host "$host" --conns "$2" --reqs 1 --parallel "$1" --close
	fi
}

# serve MODEL IN_FLIGHT TOTAL [ARGS...]: run that load against a fresh server; final stats in $DEMO_STATS.
serve() {
	local model=$1 in_flight=$2 total=$3 c
	shift 3
	demo_start --model "$model" "$@"
	c=$(closed_load "$in_flight" "$total")
	assert_eq "$model: answered" "$total" "$(jq .answered <<<"$c")"
	assert_eq "$model: client errors" 0 "$(jq .errors.total <<<"$c")"
	demo_stop
	assert_eq "$model: accepts" "$total" "$(stat_sum "$DEMO_STATS" accepts)"
	log "$model: accepts per thread: $(stat_list "$DEMO_STATS" accepts), empty: $(stat_list "$DEMO_STATS" empty_accepts)"
}

# top_share FIELD: the largest per-thread value of FIELD as a percentage of the sum.
top_share() { jq "[.threads[].$1] | (max * 100 / add | floor)" "$DEMO_STATS"; }
threads_with() { jq "[.threads[] | select(.$1 > 0)] | length" "$DEMO_STATS"; }

# single: one thread does everything, and drains the queue until EAGAIN on each wake-up,
# so every wake-up ends in an empty accept.
serve single 4 100
assert_eq "single: threads" 1 "$(jq '.threads | length' "$DEMO_STATS")"
assert_ge "single: empty accepts (one per wake-up)" 1 "$(stat_sum "$DEMO_STATS" empty_accepts)"
assert_le "single: empty accepts" 100 "$(stat_sum "$DEMO_STATS" empty_accepts)"

# dispatch: the acceptor accepts everything, round-robin makes workers' connection counts
# differ by at most one; workers do all reads and requests.
demo_start --model dispatch --threads 4
c=$(client load "$DEMO_PORT" --conns 42 --reqs 3 --parallel 6)
demo_stop
assert_eq "dispatch: accepts by the acceptor" 42 "$(stat_list "$DEMO_STATS" accepts acceptor)"
assert_eq "dispatch: accepts by workers" "0 0 0 0" "$(stat_list "$DEMO_STATS" accepts worker)"
assert_eq "dispatch: reads and requests by the acceptor" "0 0" \
	"$(stat_list "$DEMO_STATS" reads acceptor) $(stat_list "$DEMO_STATS" requests acceptor)"
assert_eq "dispatch: workers that got connections" 4 "$(jq '.conn_workers | length' <<<"$c")"
read -r lo hi <<<"$(min_max $(jq -r '.conn_workers[]' <<<"$c"))"
assert_le "dispatch: spread of connections per worker ($lo..$hi)" 1 $((hi - lo))
serve dispatch 8 200 --threads 4
read -r lo hi <<<"$(min_max $(stat_list "$DEMO_STATS" requests worker))"
assert_le "dispatch: spread of one-request connections per worker ($lo..$hi)" 1 $((hi - lo))

# reqdispatch: the dispatcher accepts and reads everything; workers only answer.
serve reqdispatch 8 200 --threads 4
assert_eq "reqdispatch: dispatcher accepts" 200 "$(stat_list "$DEMO_STATS" accepts dispatcher)"
assert_eq "reqdispatch: dispatcher requests" 0 "$(stat_list "$DEMO_STATS" requests dispatcher)"
assert_ge "reqdispatch: dispatcher reads" 200 "$(stat_list "$DEMO_STATS" reads dispatcher)"
assert_eq "reqdispatch: worker accepts and reads" "0 0 0 0 0 0 0 0" \
	"$(stat_list "$DEMO_STATS" accepts worker) $(stat_list "$DEMO_STATS" reads worker)"
assert_eq "reqdispatch: worker requests" 200 "$(jq '[.threads[] | select(.role == "worker") | .requests] | add' "$DEMO_STATS")"

# reuseport: the kernel hashes connections over the shards, so every shard accepts; a shard
# is the only one to accept from its socket, so it never finds it empty.
serve reuseport 8 200 --threads 4
assert_eq "reuseport: shards that accepted" 4 "$(threads_with accepts)"
assert_eq "reuseport: empty accepts" 0 "$(stat_sum "$DEMO_STATS" empty_accepts)"

# shared-blocking: blocked accept() wakes the longest waiter (FIFO), so with connections
# one at a time every thread takes its turn; a blocking accept never says EAGAIN.
serve shared-blocking 1 100 --threads 4
assert_eq "shared-blocking: threads that accepted" 4 "$(threads_with accepts)"
assert_eq "shared-blocking: empty accepts" 0 "$(stat_sum "$DEMO_STATS" empty_accepts)"
serve shared-blocking 8 200 --threads 4 --processes
assert_eq "shared-blocking processes: processes that accepted" 4 "$(threads_with accepts)"

# shared-epoll: every waiting thread wakes for every connection, so accepts spread over
# several threads (and the losers of each race may count empty accepts).
serve shared-epoll 1 200 --threads 4
assert_ge "shared-epoll: threads that accepted" 2 "$(threads_with accepts)"

# shared-exclusive: one connection at a time finds the threads idle, and EPOLLEXCLUSIVE
# wakes the first registered idle one: thread 0 takes the most (nearly all on a quiet
# machine; on a busy one it is not always idle, so only "the most" is asserted).
serve shared-exclusive 1 200 --threads 4
assert_eq "shared-exclusive: the first registered thread accepted the most" \
	"$(jq '[.threads[].accepts] | max' "$DEMO_STATS")" "$(jq '.threads[0].accepts' "$DEMO_STATS")"

# shared-mutex: the holder keeps the mutex while it waits, so an idle holder wins again.
serve shared-mutex 1 200 --threads 4
assert_ge "shared-mutex: share of the busiest thread (%)" 60 "$(top_share accepts)"

# --backlog: the JSON and the kernel agree on min(B, somaxconn).
somaxconn=$(cat /proc/sys/net/core/somaxconn)
demo_start --model single --backlog 7
demo_snapshot "$TMP/b.json"
assert_eq "backlog 7 in the JSON" 7 "$(jq .backlog "$TMP/b.json")"
assert_eq "backlog 7 in ss (Send-Q of the listener)" 7 "$(ss -Htln "sport = :$DEMO_PORT" | awk '{ print $3 }')"
demo_stop
demo_start --model single --backlog $((somaxconn + 1000))
demo_snapshot "$TMP/b.json"
assert_eq "backlog above somaxconn is capped" "$somaxconn" "$(jq .backlog "$TMP/b.json")"
demo_stop

# --accept-delay-us: a slow acceptor lets the accept queue build (Recv-Q of the listener).
demo_start --model single --accept-delay-us 300000
client load "$DEMO_PORT" --conns 6 --reqs 1 --parallel 6 --close >"$TMP/delay.json" &
client_pid=$!
queued() { (($(ss -Htln "sport = :$DEMO_PORT" | awk '{ print $2 }') >= 3)); }
wait_until 5 "accept queue of 3 behind a slow acceptor" queued
wait "$client_pid" || fail "client failed"
assert_eq "delayed accepts: answered" 6 "$(jq .answered "$TMP/delay.json")"
demo_stop
assert_eq "delayed accepts: accepts" 6 "$(stat_sum "$DEMO_STATS" accepts)"

# --work-us is CPU burnt, not sleep: 10 requests at 30 ms cost the server >= 250 ms of CPU.
cpu_ms() { awk '{ print int(($14 + $15) * 1000 / '"$(getconf CLK_TCK)"') }' "/proc/$1/stat"; }
demo_start --model single --work-us 30000
before=$(cpu_ms "$DEMO_PID")
client load "$DEMO_PORT" --conns 10 --reqs 1 --parallel 1 >/dev/null
after=$(cpu_ms "$DEMO_PID")
assert_ge "CPU ms spent on 10 x 30 ms of work" 200 $((after - before))
assert_le "CPU ms spent on 10 x 30 ms of work" 1000 $((after - before))
demo_stop

# IPv6
demo_start --model dispatch --threads 2 --addr ::1
grep -q "listening on \[::1\]:$DEMO_PORT pid $DEMO_PID" "$DEMO_LOG" || fail "IPv6 listening line: $(cat "$DEMO_LOG")"
c=$(closed_load 4 40 ::1)
assert_eq "IPv6: answered" 40 "$(jq .answered <<<"$c")"
curl -sf -g "http://[::1]:$DEMO_PORT/" | grep -q 'model dispatch' || fail "curl over IPv6"
demo_stop
assert_eq "IPv6: accepts" 41 "$(stat_sum "$DEMO_STATS" accepts)"

# --ready-fd: one line "ready PORT PID" once every listener listens, then EOF (the server and,
# with --processes, every worker closed it) while the server runs on; at that moment every
# reuseport shard is listening and answers.  A server that cannot start closes it with no line.
ready_check() {
	local fifo=$TMP/ready.fifo reader pid word port pid_said shards=$1
	shift
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout 10 cat "$fifo" >"$TMP/ready.out" &
	reader=$!
	spawn "$TMP/ready.log" "$DEMO" --port 0 --duration 30 --ready-fd 3 "$@" 3>"$fifo"
	pid=$SPAWNED_PID
	wait "$reader" || fail "--ready-fd $*: no EOF within 10 s"
	kill -0 "$pid" || fail "--ready-fd $*: the server is gone: $(cat "$TMP/ready.log")"
	assert_eq "--ready-fd $*: lines" 1 "$(wc -l <"$TMP/ready.out")"
	read -r word port pid_said <"$TMP/ready.out"
	assert_eq "--ready-fd $*: the line" "ready $pid" "$word $pid_said"
	assert_eq "--ready-fd $*: listeners on port $port at once" "$shards" "$(ss -Htln "sport = :$port" | wc -l)"
	assert_eq "--ready-fd $*: answers at once" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")"
	if [[ " $* " == *" --quiet "* ]]; then
		[[ ! -s $TMP/ready.log ]] || fail "--ready-fd $*: printed: $(cat "$TMP/ready.log")"
	else
		grep -q " listening on 127.0.0.1:$port pid $pid\$" "$TMP/ready.log" || fail "--ready-fd $*: listening line: $(cat "$TMP/ready.log")"
	fi
	kill -TERM "$pid"
	wait_exit 5 "$pid" >/dev/null
	assert_eq "--ready-fd $*: exit status" 0 "$WAIT_STATUS"
}
ready_check 1 --model shared-exclusive --threads 3
ready_check 4 --model reuseport --threads 4 --processes
ready_check 1 --model reqdispatch --threads 2 --quiet
demo_start --model single
rc=0
"$DEMO" --model single --port "$DEMO_PORT" --duration 5 --ready-fd 3 3>"$TMP/ready.fail" 2>"$TMP/err" || rc=$?
assert_eq "--ready-fd, port taken: exit status" 1 "$rc"
assert_eq "--ready-fd, port taken: nothing written" 0 "$(wc -c <"$TMP/ready.fail")"
demo_stop
