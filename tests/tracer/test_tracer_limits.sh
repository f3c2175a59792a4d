#!/usr/bin/env bash
# Nothing lost silently: listener churn with address reuse, threads blocked in accept()
# before the tracer starts, more live connections and more listeners than the maps hold
# (exact, or the loss counted exactly), a closed output pipe, and a hostile thread name.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
SOCKETS="$PYTHON $(dirname "$0")/sockets.py"
ulimit -n 16384

# --- listener churn: 80 listeners, 3 connections each, closed while new ones open ---
start_tracer "$TMP/churn.json" "$TMP/churn.err" -i 0.2
$SOCKETS churn 80 3 >"$TMP/churn.truth"
# intervals_in FILE N: at least N interval objects in FILE.
intervals_in() { (($(grep -c '"summary":false' "$1") >= $2)); }
n=$(grep -c '"summary":false' "$TMP/churn.json" || true)
wait_until 10 "three more intervals (closed listeners reaped)" intervals_in "$TMP/churn.json" $((n + 3))
stop_tracer "$TMP/churn.json" "$TMP/churn.err"
"$PYTHON" - "$TMP/churn.truth" "$TMP/churn.json" <<'PY' || fail "churn: rows differ from the truth"
import json, sys
truth = [json.loads(l) for l in open(sys.argv[1])]
objs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
summary, intervals = objs[-1], objs[:-1]
by_inode = {l["inode"]: l for l in summary["listeners"]}
sums = {}
for o in intervals:
    for l in o["listeners"]:
        s = sums.setdefault(l["inode"], [0, 0, 0])
        s[0] += l["queued"]; s[1] += l["accepted"]; s[2] += sum(t["reads"] for t in l["threads"])
bad = 0
for t in truth:
    l = by_inode.get(t["inode"])
    got = l and (l["queued"], l["accepted"], sum(x["reads"] for x in l["threads"] if x["tid"] == t["tid"]), l["closed"])
    if got != (t["accepts"], t["accepts"], t["reads"], True):
        print(f"FAIL: listener inode {t['inode']} port {t['port']}: summary {got}, truth {t}"); bad += 1
    if sums.get(t["inode"]) != [t["accepts"], t["accepts"], t["reads"]]:
        print(f"FAIL: listener inode {t['inode']}: intervals sum to {sums.get(t['inode'])}, truth {t}"); bad += 1
print(f"# churn: {len(truth)} listeners, {bad} rows wrong; lost {summary['lost']}")
sys.exit(1 if bad else 0)
PY

# --- 300 threads blocked in accept() before the tracer starts ---
PORT=$(free_port)
THREADS=300 CONNS=12000
start_demo "$TMP/blocked.json" --model shared-blocking --threads $THREADS --backlog 4096
in_accept() { # threads of the server inside accept/accept4 (x86-64: 43, 288)
	local n=0 t
	for t in /proc/"$DEMO_PID"/task/*/syscall; do
		read -r nr _ <"$t" 2>/dev/null || continue
		[[ $nr == 43 || $nr == 288 ]] && n=$((n + 1))
	done
	((n >= THREADS))
}
wait_until 30 "$THREADS threads blocked in accept()" in_accept
start_tracer "$TMP/blocked-t.json" "$TMP/blocked-t.err" -P "$PORT" -i 1
"$BIN/acceptscope-load" --port "$PORT" --requests $CONNS --connections 32 --json >"$TMP/blocked-load.json"
assert_eq "blocked: answered" $CONNS "$(jq .answered "$TMP/blocked-load.json")"
stop_demo "$TMP/blocked.json"
stop_tracer "$TMP/blocked-t.json" "$TMP/blocked-t.err"
S=$(summary "$TMP/blocked-t.json")
assert_eq "blocked: threads that accepted" "$(server_threads "$TMP/blocked.json" | wc -l)" "$(tracer_threads "$S" "$PORT" | wc -l)"
[[ $(server_threads "$TMP/blocked.json") == "$(tracer_threads "$S" "$PORT")" ]] ||
	fail "blocked: per-thread counts differ: $(diff <(server_threads "$TMP/blocked.json") <(tracer_threads "$S" "$PORT") | head -5)"
log "blocked: $THREADS threads blocked before attach, $CONNS connections: every thread exact"

# --- more live connections than --max-conns: the loss counted exactly ---
PORT=$(free_port)
CAP=1024 LIVE=3000
start_demo "$TMP/live.json" --model single --idle-timeout 60
start_tracer "$TMP/live-t.json" "$TMP/live-t.err" -P "$PORT" -i 0.5 --max-conns $CAP
exec {hold_in}> >($SOCKETS hold "$PORT" $LIVE >"$TMP/hold.out" 2>&1)
wait_until 60 "$LIVE connections held open" grep -q held "$TMP/hold.out"
stop_tracer "$TMP/live-t.json" "$TMP/live-t.err"
exec {hold_in}>&-
stop_demo "$TMP/live.json"
S=$(summary "$TMP/live-t.json")
reads=$(jq --argjson p "$PORT" '[.ports[] | select(.port == $p) | .threads[].reads] | add' <<<"$S")
untracked=$(jq .lost.conns_untracked <<<"$S")
unseen=$(jq .lost.waits_unseen <<<"$S")
waits=$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p) | .wait_us.count] | add' <<<"$S")
assert_eq "live: the server's reads" $LIVE "$(jq '[.threads[].reads] | add' "$TMP/live.json")"
assert_eq "live: accepted (all counted)" $LIVE "$(listener_field "$PORT" accepted)"
assert_ge "live: connections untracked" 1 "$untracked"
assert_eq "live: reads counted + connections untracked" $LIVE $((reads + untracked))
assert_eq "live: waits seen + waits unseen" $LIVE $((waits + unseen))
assert_eq "live: warned once on stderr" 1 "$(grep -c 'lost conns_untracked' "$TMP/live-t.err")"

# --- more listeners than --max-listeners: all shown, or the shortfall counted ---
MAXL=4096 NL=5000
start_tracer "$TMP/many.json" "$TMP/many.err" -i 0.5 --max-listeners $MAXL
exec {many_in}> >($SOCKETS listen $NL >"$TMP/many.out" 2>&1)
wait_until 60 "$NL listeners" grep -q ready "$TMP/many.out"
LPID=$(pgrep -f "sockets.py listen $NL" | head -1)
ls -l /proc/"$LPID"/fd | grep -o 'socket:\[[0-9]*\]' | tr -dc '0-9\n' | sort -u >"$TMP/many.inodes"
assert_eq "many: listeners open" $NL "$(wc -l <"$TMP/many.inodes")"
n=$(grep -c '"summary":false' "$TMP/many.json" || true)
wait_until 20 "two samples after they opened" intervals_in "$TMP/many.json" $((n + 2))
stop_tracer "$TMP/many.json" "$TMP/many.err"
exec {many_in}>&-
S=$(summary "$TMP/many.json")
shown=$(jq -r '.listeners[].inode' <<<"$S" | sort -u | comm -12 - "$TMP/many.inodes" | wc -l)
unwatched=$(jq .lost.listeners_unwatched <<<"$S")
log "many: $shown of $NL listeners shown, $unwatched unwatched (capacity $MAXL, shared with the host's own)"
assert_ge "many: listeners unwatched" $((NL - MAXL)) "$unwatched"
assert_eq "many: shown + unwatched" $NL $((shown + unwatched))
grep -q 'lost listeners_unwatched' "$TMP/many.err" || fail "many: no warning on stderr"

# --- a closed output pipe: exit with a clear line, everything detached ---
our_progs() { bpftool prog list 2>/dev/null | grep -cE 'tp_exit_accept|tp_sk_data_rea|tp_sock_recv_le|tp_inet_sock_se|tp_kfree_skb' || true; }
before=$(our_progs)
set +e
timeout 30 bash -c '"$1" --json -i 0.1 2>"$2" | head -c 10 >/dev/null; exit "${PIPESTATUS[0]}"' _ "$BIN/acceptscope" "$TMP/pipe.err"
rc=$?
set -e
assert_eq "closed pipe: exit status (not killed by timeout)" 1 "$rc"
grep -q 'writing the output failed: Broken pipe' "$TMP/pipe.err" || fail "closed pipe: no clear line: $(cat "$TMP/pipe.err")"
# Programs are freed after an RCU grace period, not at the tracer's exit: wait for it.
back_to_before() { (($(our_progs) <= before)); }
wait_until 10 "closed pipe: programs detached" back_to_before

# --- a hostile thread name: escaped in the table, --trace and JSON ---
HOSTILE='\x1b]0;pwn\x07\x1b[2J\xff\xfe'
hostile_run() { # OUT ERR ARGS...: the tracer with ARGS while a hostile-named thread serves one connection
	local out=$1 err=$2 port; shift 2
	port=$(free_port)
	"$BIN/acceptscope" -P "$port" "$@" >"$out" 2>"$err" &
	TRACER_PID=$!; _PIDS+=("$TRACER_PID")
	wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$err"
	spawn "$TMP/hostile.log" $SOCKETS hostile "$port" "$HOSTILE"
	wait_until 10 "hostile listener" listening "$port"
	exec {c}<>"/dev/tcp/127.0.0.1/$port"; echo hi >&$c
	wait_until 10 "hostile server done" grep -q done "$TMP/hostile.log"
	exec {c}>&-
	kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
	assert_eq "hostile $*: exit status" 0 "$WAIT_STATUS"
	! grep -q $'[\x1b\x07]' "$out" || fail "hostile $*: raw control bytes in the output"
	[[ $* == *--json* ]] || grep -qF "$HOSTILE" "$out" ||
		fail "hostile $*: the escaped name is not shown: $(cat -v "$out" | head -20)"
}
hostile_run "$TMP/h-table.out" "$TMP/h-table.err" -i 0.2
hostile_run "$TMP/h-trace.out" "$TMP/h-trace.err" --trace
hostile_run "$TMP/h-json.out" "$TMP/h-json.err" --json -i 0.2
hostile_run "$TMP/h-tjson.out" "$TMP/h-tjson.err" --trace --json
for f in "$TMP/h-json.out" "$TMP/h-tjson.out"; do
	"$PYTHON" - "$f" "$HOSTILE" <<'PY' || fail "hostile: $f is not valid JSON with the escaped name"
import json, sys
names = set()
for line in open(sys.argv[1], "rb"):
    o = json.loads(line.decode("utf-8"))      # strict: invalid UTF-8 fails
    for l in o.get("listeners", []):
        names.update(t["comm"] for t in l["threads"])
    if "comm" in o:
        names.add(o["comm"])
sys.exit(0 if sys.argv[2] in names else f"names seen: {names}")
PY
done
log "hostile thread name escaped in table, --trace, JSON and --trace --json"
