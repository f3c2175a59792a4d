#!/usr/bin/env bash
# Every interval of every view against ground truth, on a host with several listeners:
# a reuseport server (4 shards) and an unrelated shared-epoll server traced together.
# With a long interval, each burst of connections is started just after an interval
# boundary and bracketed by SIGUSR1 snapshots of the servers' own counters: the next
# interval must show exactly the counters' deltas, thread for thread, idle intervals
# nothing, and the intervals must add up to the summary, per listener and per thread.
# The same for the text table (parsed) and for --trace (one queued, accepted and read
# event per connection, by the thread the server counted).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf
CHECK=$(dirname "$0")/check_views.py
INTERVAL=3
N=1500

PORT=$(free_port)
start_demo "$TMP/a.json" --model reuseport --threads 4
A_PID=$DEMO_PID A_PORT=$PORT
PORT=$(free_port)
start_demo "$TMP/b.json" --model shared-epoll --threads 3
B_PID=$DEMO_PID B_PORT=$PORT

# snapshot PID FILE: SIGUSR1, wait until FILE is replaced (written by rename: a new inode).
snapshot() {
	local ino
	ino=$(stat -c %i "$2" 2>/dev/null || echo none)
	kill -USR1 "$1"
	replaced() { [[ -s $2 && $(stat -c %i "$2") != "$1" ]]; }
	wait_until 10 "stats from $1" replaced "$ino" "$2"
}

# blocks FILE: interval blocks printed so far (JSON objects, or table blocks).
blocks() {
	if [[ $MODE == json ]]; then grep -c '"summary":false' "$1" || true
	else grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}  last ' "$1" || true; fi
}

# burst OUT PID PORT STATS TAG: N connections just after a boundary; appends a --burst
# spec.  Returns 1 if the burst still crossed a boundary (the caller starts over).
burst() {
	local out=$1 pid=$2 port=$3 stats=$4 tag=$5 n0
	n0=$(blocks "$out")
	newer() { (($(blocks "$out") > $1)); }
	wait_until $((INTERVAL * 3)) "an interval boundary" newer "$n0"
	n0=$(blocks "$out")
	snapshot "$pid" "$stats"; cp "$stats" "$TMP/$tag.before"
	"$BIN/acceptscope-load" --port "$port" --requests "$N" --connections 8 --json >"$TMP/$tag.load"
	snapshot "$pid" "$stats"; cp "$stats" "$TMP/$tag.after"
	assert_eq "$tag: answered" "$N" "$(jq .answered "$TMP/$tag.load")"
	(($(blocks "$out") == n0)) || { log "$tag: the burst crossed an interval boundary"; return 1; }
	BURSTS+=(--burst "$n0:$TMP/$tag.before:$TMP/$tag.after")
}

# view_once MODE: one tracer, a burst on each server, an idle interval; 1 if a burst was spread.
view_once() {
	MODE=$1
	local out=$TMP/$MODE.out err=$TMP/$MODE.err n0 rc=0
	local args=(-P "$A_PORT" -P "$B_PORT" -i $INTERVAL)
	[[ $MODE == json ]] && args+=(--json)
	BURSTS=()
	"$BIN/acceptscope" "${args[@]}" >"$out" 2>"$err" &
	TRACER_PID=$!; _PIDS+=("$TRACER_PID")
	wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$err"
	burst "$out" "$A_PID" "$A_PORT" "$TMP/a.json" "$MODE-reuseport" &&
		burst "$out" "$B_PID" "$B_PORT" "$TMP/b.json" "$MODE-shared-epoll" || rc=1
	n0=$(blocks "$out")
	two_more() { (($(blocks "$out") >= $1 + 2)); }
	((rc)) || wait_until $((INTERVAL * 4)) "two idle intervals" two_more "$n0"
	kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
	assert_eq "$MODE: tracer exit status" 0 "$WAIT_STATUS"
	((rc == 0)) || return 1
	"$PYTHON" "$CHECK" "--$MODE" "$out" "${BURSTS[@]}" || fail "$MODE view differs from the servers' counters"
}

run_view() {
	for _ in 1 2 3; do view_once "$1" && return; done
	fail "$1: no run kept each burst inside one ${INTERVAL}s interval"
}
PYTHON=$(command -v /usr/bin/python3 || command -v python3)

run_view json
# Every connection was queued while tracing: each accept has its accept-queue wait.
assert_eq "waits seen = accepts, per listener" \
	"$(grep '"summary":true' "$TMP/json.out" | jq -c '[.listeners[] | .accepted]')" \
	"$(grep '"summary":true' "$TMP/json.out" | jq -c '[.listeners[] | .wait_us.count]')"
run_view table

# --trace with both servers: one queued, accepted and first-read event per connection, the
# accepts and first reads by the threads the servers counted.
snapshot "$A_PID" "$TMP/a.json"; cp "$TMP/a.json" "$TMP/trace-a.before"
snapshot "$B_PID" "$TMP/b.json"; cp "$TMP/b.json" "$TMP/trace-b.before"
"$BIN/acceptscope" --trace --json -P "$A_PORT" -P "$B_PORT" >"$TMP/trace.out" 2>"$TMP/trace.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope --trace to attach" grep -q 'tracing;' "$TMP/trace.err"
"$BIN/acceptscope-load" --port "$A_PORT" --requests "$N" --connections 8 >/dev/null
"$BIN/acceptscope-load" --port "$B_PORT" --requests "$N" --connections 8 >/dev/null
snapshot "$A_PID" "$TMP/a.json"; snapshot "$B_PID" "$TMP/b.json"
traced_all() { (($(grep -c '"event":"read"' "$TMP/trace.out") >= 2 * N)); }
wait_until 20 "every first read traced" traced_all
kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "--trace exit status" 0 "$WAIT_STATUS"
for ev in queued accepted read; do
	for port in "$A_PORT" "$B_PORT"; do
		assert_eq "--trace $ev events on $port" "$N" \
			"$(jq -s --arg e "$ev" --argjson p "$port" '[.[] | select(.event? == $e and .port == $p)] | length' "$TMP/trace.out")"
	done
done
# Each connection has one queued, one accepted and one read event, the read after the accept
# (the enqueue's wake-up may run after an accept on another CPU took the child).  A connection
# is known by (port, peer port, child address): the kernel reuses socket addresses and the
# client reuses ports, so a key comes back, but only after its previous connection's events.
complete=$("$PYTHON" - "$TMP/trace.out" 2>&1 <<'PY'
import json, sys
seen, done = {}, 0
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    ev = e.get("event")
    if ev not in ("queued", "accepted", "read"):
        continue
    key = (e["port"], e["peer_port"], e["child"])
    got = seen.setdefault(key, set())
    if ev in got or (ev == "read" and "accepted" not in got):
        sys.exit(f"connection {key}: {ev} after {sorted(got)}")
    got.add(ev)
    if len(got) == 3:
        done += 1
        del seen[key]
print(done)
PY
) || fail "--trace: $complete"
assert_eq "--trace: connections with one queued, accepted and read each" "$((2 * N))" "$complete"
per_tid() { jq -r -s --arg e "$1" '[.[] | select(.event? == $e)] | group_by(.tid)[] | "\(.[0].tid) \(length)"' "$TMP/trace.out" | sort -n; }
server_delta() { # FIELD: per-thread deltas of both servers
	for s in a b; do
		jq -r -n --arg f "$1" --slurpfile b "$TMP/trace-$s.before" --slurpfile a "$TMP/$s.json" \
			'($b[0].threads | map({(.tid|tostring): .[$f]}) | add) as $old
			 | $a[0].threads[] | select(.[$f] - ($old[.tid|tostring] // 0) > 0)
			 | "\(.tid) \(.[$f] - ($old[.tid|tostring] // 0))"'
	done | sort -n
}
assert_eq "--trace accepts per thread = servers' counters" "$(server_delta accepts)" "$(per_tid accepted)"
assert_eq "--trace first reads per thread = servers' reads (one per connection)" "$(server_delta reads)" "$(per_tid read)"
