#!/usr/bin/env bash
# Prompt shutdown in every model (threads blocked in accept(), in epoll_wait,
# in a condition variable, in the accept delay, serving an idle connection),
# --duration, SIGUSR1 dumps that are never seen half-written, --stats -, and
# --processes housekeeping (no orphans; a dead worker is noticed).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

ms() { date +%s%3N; }

# stop_within MS WHAT: SIGTERM the server, it must exit 0 within MS milliseconds.
stop_within() {
	local limit=$1 what=$2 t0
	t0=$(ms)
	demo_stop 3
	assert_le "$what: ms from SIGTERM to exit" "$limit" $(($(ms) - t0))
}

# busy_then_stop ARGS...: a server with an idle keep-alive connection, a
# half-sent request and idle threads everywhere else must still stop at once.
busy_then_stop() {
	demo_start "$@" --idle-timeout 30
	client hold "$DEMO_PORT" 2 5 >/dev/null &
	local hold_pid=$!
	client load "$DEMO_PORT" --conns 4 --reqs 2 --parallel 4 >/dev/null
	wait_until 5 "held connections accepted" \
		bash -c "(( \$(ss -Htn state established '( sport = :$DEMO_PORT )' | wc -l) >= 2 ))"
	stop_within 1000 "$*"
	kill "$hold_pid" 2>/dev/null || true
	wait "$hold_pid" 2>/dev/null || true
	jq -e '.threads | length > 0' "$DEMO_STATS" >/dev/null || fail "bad final stats"
}

for model in "${MODELS[@]}"; do
	busy_then_stop --model "$model" --threads 4
done
for model in "${PROCESS_MODELS[@]}"; do
	busy_then_stop --model "$model" --threads 4 --processes
done

# Stop while acceptors sleep in a long --accept-delay-us.
demo_start --model shared-blocking --threads 2 --accept-delay-us 5000000
stop_within 1000 "during a 5 s accept delay"

# SIGINT works like SIGTERM.
demo_start --model reqdispatch --threads 2
t0=$(ms)
kill -INT "$DEMO_PID"
wait_exit 2 "$DEMO_PID" >"$TMP/rc"
assert_eq "exit status after SIGINT" 0 "$(cat "$TMP/rc")"
assert_le "ms from SIGINT to exit" 1000 $(($(ms) - t0))

# --duration: exits by itself, on time, with stats.
t0=$(ms)
"$DEMO" --model dispatch --port 0 --duration 0.5 --quiet --stats "$TMP/d.json" 2>"$TMP/d.err" ||
	fail "--duration run failed: $(cat "$TMP/d.err")"
took=$(($(ms) - t0))
assert_ge "--duration 0.5: ms" 450 "$took"
assert_le "--duration 0.5: ms" 1500 "$took"
[[ ! -s $TMP/d.err ]] || fail "--quiet still printed: $(cat "$TMP/d.err")"
assert_eq "--duration stats: model" dispatch "$(jq -r .model "$TMP/d.json")"

# --stats -: JSON on stdout, one object per dump.
"$DEMO" --model single --port 0 --duration 0.3 --quiet --stats - >"$TMP/stdout.json"
assert_eq "--stats - objects" 1 "$(jq -s length "$TMP/stdout.json")"
assert_eq "--stats - role" worker "$(jq -r '.threads[0].role' "$TMP/stdout.json")"

# SIGUSR1 keeps running; a reader polling the file never sees half a dump.
demo_start --model reuseport --threads 4
client load "$DEMO_PORT" --conns 20 --reqs 2 --parallel 4 >/dev/null &
load_pid=$!
kill -USR1 "$DEMO_PID"
wait_until 5 "first SIGUSR1 dump" test -s "$DEMO_STATS"
for i in $(seq 100); do
	kill -USR1 "$DEMO_PID"
	jq -e '.threads | length == 4' "$DEMO_STATS" >/dev/null || fail "dump $i was not complete JSON"
done
wait "$load_pid"
kill -0 "$DEMO_PID" || fail "SIGUSR1 stopped the server"
demo_stop
assert_eq "reuseport accepts after SIGUSR1s" 20 "$(stat_sum "$DEMO_STATS" accepts)"

# --processes: SIGTERM leaves no worker behind.
demo_start --model shared-epoll --threads 3 --processes
demo_snapshot "$TMP/p.json"
mapfile -t workers < <(jq '.threads[].pid' "$TMP/p.json")
demo_stop
for w in "${workers[@]}"; do
	! kill -0 "$w" 2>/dev/null || fail "worker process $w outlived the server"
done
log "worker processes ${workers[*]} gone"

# --processes: a worker that dies is noticed: the server stops with status 1 and says so.
demo_start --model reuseport --threads 2 --processes
demo_snapshot "$TMP/p.json"
kill -KILL "$(jq '.threads[1].pid' "$TMP/p.json")"
wait_exit 3 "$DEMO_PID" >"$TMP/rc"
assert_eq "exit status after a worker died" 1 "$(cat "$TMP/rc")"
grep -q "worker process .* killed by signal 9" "$DEMO_LOG" || fail "no message: $(cat "$DEMO_LOG")"

# --processes: workers do not outlive a parent killed with SIGKILL.
demo_start --model shared-exclusive --threads 2 --processes
demo_snapshot "$TMP/p.json"
mapfile -t workers < <(jq '.threads[].pid' "$TMP/p.json")
kill -KILL "$DEMO_PID"
gone() { for w in "${workers[@]}"; do ! kill -0 "$w" 2>/dev/null || return 1; done; }
wait_until 3 "workers to die with their parent" gone
