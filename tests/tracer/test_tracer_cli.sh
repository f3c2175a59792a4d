#!/usr/bin/env bash
# The tracer's command line: bad arguments exit 2 with one line; SIGINT and SIGTERM detach
# everything; SO_REUSEPORT shards are separate sockets whose counts add up; a port that
# nobody listens on yet is watched.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# --- bad arguments: exit 2, exactly one line on stderr ---
bad() {
	local out rc=0
	out=$("$BIN/acceptscope" "$@" 2>&1 >/dev/null) || rc=$?
	assert_eq "exit status of: acceptscope $*" 2 "$rc"
	[[ $(wc -l <<<"$out") == 1 ]] || fail "acceptscope $*: expected one line, got: $out"
	log "  $out"
}
bad --no-such-option
bad -i 0
bad -i -1
bad -i abc
bad -d x
bad -P 0
bad -P 70000
bad -P http
bad -p -5
bad -p 999999999
bad --backend magic
bad stray-argument
bad --window 0
bad --window many
bad --threshold nope=1
bad --threshold jain=2
bad -T jain
# A PID that does not exist (reap a short-lived child, then ask for it).
true & dead=$!; wait "$dead"
bad -p "$dead"

require_bpf
# Programs are freed after an RCU grace period, not at the tracer's exit: wait for it.
no_progs_left() { [[ $(our_progs) == 0 ]]; }
assert_detached() { wait_until 10 "acceptscope's programs to be unloaded ($1)" no_progs_left; log "no programs left $1"; }
our_progs() { bpftool prog list 2>/dev/null | grep -cE 'fexit_inet_csk|kprobe_inet_csk|tp_exit_accept|tp_sk_data_rea|tp_sock_recv_le|iter_listeners|tp_inet_sock_se|tp_kfree_skb' || true; }
assert_detached "before the test (earlier tests)"

# --- without privileges: exit 2 and the reason, nothing left behind ---
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/acceptscope" -d 1 2>&1 >/dev/null) || rc=$?
assert_eq "exit status as nobody" 2 "$rc"
# One line, the reason, before any hook-plan line.
assert_eq "lines on stderr as nobody" 1 "$(wc -l <<<"$out")"
[[ $out == *"not permitted: run as root"* ]] || fail "no reason given as nobody: $out"
assert_detached "after a refused start"

# --- SO_REUSEPORT: 4 shards, each its own socket; a port watched before anything listens ---
PORT=$(free_port)
start_tracer "$TMP/t.json" "$TMP/t.err" -P "$PORT" -i 1
[[ $(our_progs) -gt 0 ]] || fail "no acceptscope program in bpftool prog list while tracing"
start_demo "$TMP/stats.json" --model reuseport --threads 4
"$BIN/acceptscope-load" --port "$PORT" --requests 2000 --connections 8 --json >"$TMP/load.json"
stop_demo "$TMP/stats.json"
stop_tracer "$TMP/t.json" "$TMP/t.err"   # SIGINT
s=$(summary "$TMP/t.json")
assert_eq "shards seen" 4 "$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p)] | length' <<<"$s")"
assert_eq "distinct shard inodes" 4 "$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p) | .inode] | unique | length' <<<"$s")"
assert_eq "port entry lists 4 listeners" 4 "$(jq --argjson p "$PORT" '.ports[] | select(.port == $p) | .listeners' <<<"$s")"
assert_eq "sum of shards = client connections" "$(jq .connections "$TMP/load.json")" \
	"$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p) | .accepted] | add' <<<"$s")"
# Each shard is accepted from by exactly one thread: its own, with the server's count.
for tid in $(jq -r '.threads[] | .tid' "$TMP/stats.json"); do
	want=$(jq --argjson t "$tid" '.threads[] | select(.tid == $t) | .accepts' "$TMP/stats.json")
	got=$(jq --argjson p "$PORT" --argjson t "$tid" '[.listeners[] | select(.port == $p) | select(any(.threads[]; .tid == $t)) | .accepted] | add // 0' <<<"$s")
	assert_eq "shard of thread $tid accepted = its own count" "$want" "$got"
done
assert_detached "after SIGINT"

# --- SIGTERM detaches too, and the summary is still written ---
"$BIN/acceptscope" --json -i 1 >"$TMP/t2.json" 2>"$TMP/t2.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$TMP/t2.err"
kill -TERM "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "exit status after SIGTERM" 0 "$WAIT_STATUS"
grep -q '"summary":true' "$TMP/t2.json" || fail "no summary after SIGTERM"
assert_detached "after SIGTERM"

# --- -d ends by itself ---
"$BIN/acceptscope" --json -d 1 -P "$PORT" >"$TMP/t3.json" 2>"$TMP/t3.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_exit 60 "$TRACER_PID" >/dev/null
assert_eq "exit status after -d 1" 0 "$WAIT_STATUS"
assert_detached "after -d"
