#!/usr/bin/env bash
# Accept-queue depth, overflows and wait, against the kernel's own counters.
# Runs in a network namespace of its own, so ListenOverflows counts this test alone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf

own_netns acceptscope-q
# Every handshake handled on the CPU we pin to below.
timers_stay_put
listening_ns() { "${IN[@]}" ss -Htln "sport = :$1" | grep -q .; }

# One CPU for the server, the client, the tracer and their softirqs: on two, two handshakes
# can pass the "queue full?" check at once and the queue briefly holds backlog+2.
PIN=(taskset -c 0)

run_in_ns_tracer() { # OUT ERR ARGS...
	local out=$1 err=$2; shift 2
	"${IN[@]}" "${PIN[@]}" "$BIN/acceptscope" --json "$@" >"$out" 2>"$err" &
	TRACER_PID=$!
	_PIDS+=("$TRACER_PID")
	wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$err"
}

# --- depth and overflow: backlog 8, a slow acceptor, a burst of 300 connections ---
PORT=18080
before=$(netstat_ns ListenOverflows) drops_before=$(netstat_ns ListenDrops)
run_in_ns_tracer "$TMP/q.json" "$TMP/q.err" -P "$PORT" -d 300
spawn "$TMP/demo.log" "${IN[@]}" "${PIN[@]}" "$BIN/acceptscope-demo" --model single --port "$PORT" --backlog 8 \
	--accept-delay-us 20000 --stats "$TMP/stats.json" --duration 120 --quiet
DEMO_PID=$SPAWNED_PID
wait_until 20 "demo listening" listening_ns "$PORT"
"${IN[@]}" "${PIN[@]}" "$BIN/acceptscope-load" --port "$PORT" --rate 300 --duration 1 --timeout 60 --json >"$TMP/load.json"
log "load: $(jq -c '{sent, answered, connections, errors}' "$TMP/load.json")"
kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "acceptscope exit status" 0 "$WAIT_STATUS"
after=$(netstat_ns ListenOverflows) drops_after=$(netstat_ns ListenDrops)
s=$(summary "$TMP/q.json")
l=$(jq -c --argjson p "$PORT" --argjson ns "$NETNS_INO" '.listeners[] | select(.port == $p and .netns == $ns)' <<<"$s")
log "listener: $(jq -c 'del(.threads)' <<<"$l")"
log "lost: $(jq -c .lost <<<"$s")"
assert_eq "backlog" 8 "$(jq .backlog <<<"$l")"
# The queue holds backlog + 1 (sk_acceptq_is_full() is "more than the backlog").  It can hold one
# more even on one CPU: a handshake completed through its request socket (tcp_v4_rcv, without
# the listener's lock) can pass that test between the test and the enqueue of one the listener's
# backlog is processing (release_sock, softirqs enabled).  The tracer reports the real depth.
depth_max=$(jq .depth_max <<<"$l")
((depth_max == 9 || depth_max == 10)) || fail "maximum depth: expected backlog + 1 (9), or 10 in that race; got $depth_max"
log "maximum depth = $depth_max (backlog 8)"
assert_ge "ListenOverflows grew" 1 $((after - before))
# The tracepoint backend derives overflows from the listener's sk_drops, which tcp_listendrop()
# raises for every listener drop (ListenDrops): the overflows (ListenOverflows) and, rarely, a
# handshake dropped for another reason.  One more kernel path raises sk_drops alone: a child
# queued whose first segment then fails (tcp_v4_rcv: tcp_child_process() fails, the child is
# reset, the segment discarded against the listener).  That child also makes no wake-up, so it
# shows as an enqueue unseen.  Not every such sk_drops increment is explained yet: seen 1 in
# about 10 runs, up to 4 in 1,300 more than ListenDrops + enqueues unseen (README, Limits).
# So: never fewer than ListenDrops, and the unexplained excess held under 0.5%.
ovf=$(jq .overflows <<<"$l") unseen=$(jq .lost.enqueues_unseen <<<"$s") drops=$((drops_after - drops_before))
excess=$((ovf - drops - unseen))
((ovf >= drops && excess * 200 <= drops)) ||
	fail "overflows $ovf: expected ListenDrops growth $drops (+ $unseen enqueues unseen, + under 0.5%)"
log "overflows = $ovf: ListenDrops growth $drops, enqueues unseen $unseen, unexplained $((excess > 0 ? excess : 0))"
assert_le "ListenOverflows increase" "$drops" $((after - before))
assert_eq "accepted = client connections" "$(jq .connections "$TMP/load.json")" "$(jq .accepted <<<"$l")"
# Every enqueue is counted, or (rare, on the tracepoint backend under overflow) counted as unseen.
assert_eq "queued + enqueues unseen = client connections" "$(jq .connections "$TMP/load.json")" \
	"$(($(jq .queued <<<"$l") + $(jq .lost.enqueues_unseen <<<"$s")))"
kill -TERM "$DEMO_PID"; wait_exit 20 "$DEMO_PID" >/dev/null

# --- wait: one connection at a time, the acceptor sleeps D before each accept ---
PORT=18081
D_US=20000
run_in_ns_tracer "$TMP/w.json" "$TMP/w.err" -P "$PORT" -d 300
spawn "$TMP/demo2.log" "${IN[@]}" "$BIN/acceptscope-demo" --model dispatch --threads 2 --port "$PORT" \
	--accept-delay-us "$D_US" --duration 120 --quiet
DEMO_PID=$SPAWNED_PID
wait_until 20 "demo listening" listening_ns "$PORT"
"${IN[@]}" "$BIN/acceptscope-load" --port "$PORT" --requests 50 --connections 1 --json >"$TMP/load2.json"
kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
s=$(summary "$TMP/w.json")
w=$(jq -c --argjson p "$PORT" --argjson ns "$NETNS_INO" '.listeners[] | select(.port == $p and .netns == $ns) | .wait_us' <<<"$s")
log "wait_us: $w"
assert_eq "waits measured" 50 "$(jq .count <<<"$w")"
assert_ge "p50 wait >= D" "$D_US" "$(jq .p50 <<<"$w")"
assert_le "p50 wait within 25% of D" $((D_US * 125 / 100)) "$(jq .p50 <<<"$w")"
