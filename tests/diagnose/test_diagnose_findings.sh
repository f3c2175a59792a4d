#!/usr/bin/env bash
# Findings on demo servers: for each kind a run that must produce it, with its evidence held
# to ground truth (the server's own per-thread counters, the client's connections, /proc's
# wake-up counts, the namespace's sysctls), and healthy runs that must produce none:
#   shared-exclusive at light load     -> imbalance, exclusive wake-ups (also in the table)
#   shared-epoll at light load         -> wasted_wakeups, thundering herd
#   single, backlog 8, slow acceptor   -> overflow (backlog, somaxconn, SYN cookies), queue_building
#   reqdispatch, 500 us per accept     -> acceptor_saturated (not at light load without the work)
#   reuseport, shared-blocking, even   -> nothing
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tracer/lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf

# traced OUT STATS LOAD_ARGS -- DEMO_ARGS...: the demo server, then the tracer (-i 1, and
# TRACER_ARGS), the load, the tracer stopped (its summary in S), then the server.  /proc's
# counts of the server's threads before the tracer starts and after it stops go to
# OUT.before and OUT.after.
traced() {
	local out=$1 stats=$2 load=()
	shift 2
	while [[ $1 != -- ]]; do load+=("$1"); shift; done
	shift
	PORT=$(free_port)
	start_demo "$stats" "$@"
	proc_threads "$DEMO_PID" >"$out.before"
	start_tracer "$out" "$out.err" -P "$PORT" -i 1 ${TRACER_ARGS[@]+"${TRACER_ARGS[@]}"}
	"$BIN/acceptscope-load" --port "$PORT" "${load[@]}" --json >"$out.load" || fail "load generator failed"
	stop_tracer "$out" "$out.err"
	proc_threads "$DEMO_PID" >"$out.after"
	stop_demo "$stats"
	S=$(summary "$out")
	CONNS=$(jq .connections "$out.load")
	log "$* at $PORT: found $(kinds "$out" "$PORT")"
}

# finding OBJECT KIND: the (one) finding of KIND on $PORT in OBJECT.
finding() {
	local f
	f=$(jq -c --argjson p "$PORT" --arg k "$2" '[.findings[] | select(.port == $p and .kind == $k)]' <<<"$1")
	[[ $(jq length <<<"$f") == 1 ]] || fail "expected one $2 finding on port $PORT, got: $(findings_of "$1" "$PORT")"
	jq -c '.[0]' <<<"$f"
}
ev() { jq -r ".evidence.$2" <<<"$1"; }

TRACER_ARGS=()

# --- shared-exclusive, light load: one thread takes most connections, by exclusive wake-ups ---
traced "$TMP/ex.json" "$TMP/ex.stats" --connections 2 --duration 3 -- --model shared-exclusive --threads 4
f=$(finding "$S" imbalance)
log "finding: $(jq -r .text <<<"$f")"
assert_eq "exclusive: the summary's findings" "imbalance/exclusive_wakeups" \
	"$(jq -r --argjson p "$PORT" '[.findings[] | select(.port == $p) | "\(.kind)/\(.cause)"] | join(" ")' <<<"$S")"
assert_eq "exclusive: accepts = client connections" "$CONNS" "$(ev "$f" accepts)"
trying=$(jq -r '[.threads[] | select(.accepts + .empty_accepts > 0) | .accepts] | map(tostring) | join(" ")' "$TMP/ex.stats")
assert_eq "exclusive: threads = the server's threads that accepted" "$(wc -w <<<"$trying")" "$(ev "$f" threads)"
busiest=$(jq -c '[.threads[] | select(.accepts > 0)] | max_by(.accepts)' "$TMP/ex.stats")
assert_eq "exclusive: the thread named = the server's busiest" "$(jq .tid <<<"$busiest")" "$(jq .tid <<<"$f")"
near "exclusive: busiest share = the server's" \
	"$(jq -n --argjson b "$busiest" --argjson n "$CONNS" '$b.accepts / $n')" "$(ev "$f" busiest_share)" 1e-9
near "exclusive: Jain = the server's counts'" "$(jain_of "$trying")" "$(ev "$f" jain)" 1e-6
jq -e --arg n "$(jq -r .name <<<"$busiest")" '.text | contains("(" + $n + ") took")' <<<"$f" >/dev/null ||
	fail "exclusive: the sentence does not name thread $(jq -r .name <<<"$busiest")"
# The table: the finding under the port's block.
PORT=$(free_port)
start_demo "$TMP/ex2.stats" --model shared-exclusive --threads 4
"$BIN/acceptscope" -P "$PORT" -i 1 -d 3 >"$TMP/table.txt" 2>"$TMP/table.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$TMP/table.err"
"$BIN/acceptscope-load" --port "$PORT" --connections 2 --duration 2 --json >/dev/null
wait_exit 30 "$TRACER_PID" >/dev/null
stop_demo "$TMP/ex2.stats"
grep -q "^  ! imbalance (warning, exclusive_wakeups): 4 threads accept on port $PORT, " "$TMP/table.txt" ||
	{ cat "$TMP/table.txt"; fail "table: no imbalance line under port $PORT's block"; }
log "table: $(grep -c '^  ! imbalance' "$TMP/table.txt") imbalance lines under port $PORT's blocks"

# --- shared-epoll, light load: every thread woken for every connection ---
traced "$TMP/herd.json" "$TMP/herd.stats" --connections 2 --duration 3 -- --model shared-epoll --threads 4
f=$(finding "$S" wasted_wakeups)
log "finding: $(jq -r .text <<<"$f")"
assert_eq "herd: cause" thundering_herd "$(jq -r .cause <<<"$f")"
assert_eq "herd: accepts = client connections" "$CONNS" "$(ev "$f" accepts)"
assert_eq "herd: empty accepts = the server's" "$(jq '[.threads[].empty_accepts] | add' "$TMP/herd.stats")" \
	"$(ev "$f" empty_accepts)"
# Wake-ups beyond one per accept and one per read, per connection, from /proc's voluntary
# context switches of the accepting threads (they sleep in epoll_wait before and after).
want=$(proc_delta "$TMP/herd.json.before" "$TMP/herd.json.after" | jq -R -s --slurpfile st "$TMP/herd.stats" --argjson n "$CONNS" '
	[split("\n")[] | select(. != "") | split(" ") | {tid: (.[0] | tonumber), wakeups: (.[2] | tonumber)}] as $w
	| [$st[0].threads[] | select(.accepts + .empty_accepts > 0) | . as $t
	   | ($w[] | select(.tid == $t.tid) | .wakeups) - $t.accepts - $t.reads] | add / $n')
near "herd: wake-ups for nothing per connection = /proc's" "$want" "$(ev "$f" wasted_wakeups_per_accept)" 0.01
assert_eq "herd: imbalance findings naming another cause" "" \
	"$(jq -r --argjson p "$PORT" '.findings[] | select(.port == $p and .kind == "imbalance" and .cause != "thundering_herd") | .cause' <<<"$S")"

# --- a full queue: backlog 8, an acceptor sleeping 20 ms before each accept, 300 SYNs in 1 s ---
own_netns acceptscope-d
# Values of the namespace's own, unlike the host's defaults: the finding must read them there.
"${IN[@]}" sysctl -qw net.core.somaxconn=1000 net.ipv4.tcp_syncookies=0
PORT=$(free_port)
start_tracer "$TMP/ovf.json" "$TMP/ovf.err" -P "$PORT" -i 1
spawn "$TMP/ovf.log" "${IN[@]}" "$BIN/acceptscope-demo" --model single --port "$PORT" --backlog 8 \
	--accept-delay-us 20000 --duration 120 --quiet
DEMO_PID=$SPAWNED_PID
wait_until 20 "demo listening in $NS" "${IN[@]}" ss -Htln "sport = :$PORT"
"${IN[@]}" "$BIN/acceptscope-load" --port "$PORT" --rate 300 --duration 1 --timeout 60 --json >"$TMP/ovf.load"
stop_tracer "$TMP/ovf.json" "$TMP/ovf.err"
kill -TERM "$DEMO_PID"; wait_exit 20 "$DEMO_PID" >/dev/null
S=$(summary "$TMP/ovf.json")
l=$(jq -c --argjson p "$PORT" '.listeners[] | select(.port == $p)' <<<"$S")
f=$(finding "$S" overflow)
log "finding: $(jq -r .text <<<"$f")"
assert_eq "overflow: the listener" "$(jq .inode <<<"$l")" "$(jq .listener <<<"$f")"
assert_ge "overflow: drops" 1 "$(ev "$f" overflows)"
assert_eq "overflow: drops = the listener's overflows" "$(jq .overflows <<<"$l")" "$(ev "$f" overflows)"
assert_eq "overflow: backlog" 8 "$(ev "$f" backlog)"
assert_eq "overflow: the backlog asked for" 8 "$(ev "$f" backlog_asked)"
assert_eq "overflow: somaxconn of the listener's namespace" 1000 "$(ev "$f" somaxconn)"
assert_eq "overflow: SYN cookies in the listener's namespace" 0 "$(ev "$f" syncookies)"
jq -e '.text | contains("SYN cookies off")' <<<"$f" >/dev/null || fail "overflow: the sentence does not say SYN cookies are off"
q=$(finding "$S" queue_building)
assert_eq "queue_building: severity (the queue was full)" critical "$(jq -r .severity <<<"$q")"
assert_eq "queue_building: depth = the listener's maximum" "$(jq .depth_max <<<"$l")" "$(ev "$q" depth)"

# --- reqdispatch: the dispatcher burns 500 us per accept under 64 connections ---
TRACER_ARGS=(--window 2)
traced "$TMP/sat.json" "$TMP/sat.stats" --connections 64 --duration 4 -- --model reqdispatch --threads 4 \
	--accept-work-us 500
dispatcher=$(jq '.threads[] | select(.role == "dispatcher") | .tid' "$TMP/sat.stats")
sat=$(jq -c --argjson p "$PORT" 'select(.summary == false) | .findings[] | select(.port == $p and .kind == "acceptor_saturated")' "$TMP/sat.json")
[[ -n $sat ]] || fail "no interval found acceptor_saturated on port $PORT: $(kinds "$TMP/sat.json" "$PORT")"
f=$(head -n 1 <<<"$sat")
log "finding ($(wc -l <<<"$sat") intervals): $(jq -r .text <<<"$f")"
assert_eq "saturated: the thread named = the dispatcher" "$dispatcher" "$(jq .tid <<<"$f")"
jq -e '.evidence | .cpu_pct + .runq_pct >= 90 and .workers_cpu_pct < 50 and .workers >= 4' <<<"$f" >/dev/null ||
	fail "saturated: evidence $(jq -c .evidence <<<"$f")"
TRACER_ARGS=()
traced "$TMP/light.json" "$TMP/light.stats" --connections 2 --duration 2 -- --model reqdispatch --threads 4
assert_eq "reqdispatch at light load, no accept work: acceptor_saturated" "" \
	"$(jq -r --argjson p "$PORT" '.findings[]? | select(.port == $p and .kind == "acceptor_saturated") | .kind' "$TMP/light.json")"

# --- healthy: even load on reuseport and shared-blocking, no finding in any object ---
for model in reuseport shared-blocking; do
	traced "$TMP/$model.json" "$TMP/$model.stats" --connections 4 --duration 3 -- --model "$model" --threads 4
	assert_eq "$model under even load: findings in any interval or the summary" "" "$(kinds "$TMP/$model.json" "$PORT")"
	assert_ge "$model: intervals with accepts" 2 \
		"$(jq -s --argjson p "$PORT" '[.[] | select(.summary == false and any(.ports[]; .port == $p and .accepted > 0))] | length' "$TMP/$model.json")"
done
