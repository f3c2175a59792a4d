#!/usr/bin/env bash
# Per-thread CPU: cpu_pct in the tracer's JSON (each interval's, and the summary's average
# over the run) against the kernel's own figures, read by this test from /proc before the
# tracer starts and after it stops, and against the work the threads were given: a dispatch
# server whose acceptor burns --accept-work-us per connection and whose workers burn
# --work-us per request, under an open-loop load of known size.  Then the table's CPU% column.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tracer/lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf

ACCEPT_US=2000 WORK_US=4000 RATE=100 SECS=3
PORT=$(free_port)
start_demo "$TMP/stats.json" --model dispatch --threads 2 --accept-work-us "$ACCEPT_US" --work-us "$WORK_US"
proc_threads "$DEMO_PID" >"$TMP/before"
start_tracer "$TMP/t.json" "$TMP/t.err" -P "$PORT" -i 1
"$BIN/acceptscope-load" --port "$PORT" --rate "$RATE" --duration "$SECS" --json >"$TMP/load.json"
# Two more intervals, so that what the load did is all in interval objects (the one under way
# at the stop is only in the summary).
intervals() { grep -c '"summary":false' "$TMP/t.json" || true; }
n=$(intervals)
more_intervals() { (($(intervals) >= n + 2)); }
wait_until 10 "two more intervals" more_intervals
stop_tracer "$TMP/t.json" "$TMP/t.err"
proc_threads "$DEMO_PID" >"$TMP/after"
stop_demo "$TMP/stats.json"
conns=$(jq .connections "$TMP/load.json")
assert_eq "requests answered" "$conns" "$(jq .answered "$TMP/load.json")"
proc_delta "$TMP/before" "$TMP/after" >"$TMP/delta"
S=$(summary "$TMP/t.json")
secs=$(jq .interval_s <<<"$S")

# The server sleeps in epoll_wait before the tracer's first sample and after its last, so
# the kernel's run-time counter (schedstat: nanoseconds, exact for a sleeping thread) moved
# in the tracer's span exactly as much as between this test's two reads.  The tracer divides
# by the time between its first and last sample, the summary says the time since it started
# tracing: they differ by the time a sample and a report take (seen: 6 us in 0.65 s), hence
# 0.5% + 2 ms.  Each interval's cpu_pct is over its own samples, multiplied here by the main
# loop's interval_s, a few ms off each: the intervals' sum within 2% + 20 ms.
# (Without schedstat both sides read stat's utime + stime, in ticks: the same counter.)
for role in acceptor worker; do
	for tid in $(jq -r --arg r "$role" '.threads[] | select(.role == $r) | .tid' "$TMP/stats.json"); do
		kernel_ns=$(awk -v t="$tid" '$1 == t { print $2 }' "$TMP/delta")
		pct=$(jq --argjson p "$PORT" --argjson t "$tid" '.ports[] | select(.port == $p) | .threads[] | select(.tid == $t) | .cpu_pct' <<<"$S")
		[[ $pct != null && -n $pct ]] || fail "$role $tid: no cpu_pct in the summary"
		tracer_ns=$(awk -v p="$pct" -v s="$secs" 'BEGIN { printf "%.0f", p / 100 * s * 1e9 }')
		near "$role $tid: CPU ns over the run (cpu_pct x interval_s) = /proc's" "$kernel_ns" "$tracer_ns" \
			"$(awk -v k="$kernel_ns" 'BEGIN { print k * 0.005 + 2e6 }')"
		# The intervals add up to the run.
		intervals_ns=$(jq -s --argjson p "$PORT" --argjson t "$tid" '[.[] | select(.summary == false) | .interval_s as $s
			| .ports[] | select(.port == $p) | .threads[] | select(.tid == $t) | .cpu_pct / 100 * $s * 1e9] | add | floor' "$TMP/t.json")
		near "$role $tid: CPU ns summed over the intervals" "$kernel_ns" "$intervals_ns" \
			"$(awk -v k="$kernel_ns" 'BEGIN { print k * 0.02 + 2e7 }')"
		# At least the work it was given (the busy loop counts iterations calibrated at start, alone
		# on the machine: a few percent off either way), at most a quarter more (seen: 11% more
		# with the acceptor burning on the other CPU at the same time) plus 300 us for each
		# connection it handled.
		if [[ $role == acceptor ]]; then
			n=$(jq --argjson t "$tid" '.threads[] | select(.tid == $t) | .accepts' "$TMP/stats.json") us=$ACCEPT_US
		else
			n=$(jq --argjson t "$tid" '.threads[] | select(.tid == $t) | .requests' "$TMP/stats.json") us=$WORK_US
		fi
		assert_ge "$role $tid: CPU us >= 90% of its $n x $us us of work" $((n * us * 9 / 10)) $((kernel_ns / 1000))
		assert_le "$role $tid: CPU us <= 125% of its work + 300 us a connection" $((n * (us * 5 / 4 + 300))) \
			$((kernel_ns / 1000))
	done
done
assert_eq "acceptor accepts = connections" "$conns" "$(jq '.threads[] | select(.role == "acceptor") | .accepts' "$TMP/stats.json")"

# --- the table: a CPU% column, each thread's figure ---
PORT=$(free_port)
start_demo "$TMP/stats2.json" --model dispatch --threads 2 --work-us "$WORK_US"
"$BIN/acceptscope" -P "$PORT" -i 1 -d 3 >"$TMP/table.txt" 2>"$TMP/table.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$TMP/table.err"
"$BIN/acceptscope-load" --port "$PORT" --rate "$RATE" --duration 2 --json >/dev/null
wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "table run exit status" 0 "$WAIT_STATUS"
stop_demo "$TMP/stats2.json"
grep -Eq '^  PID +TID +COMM +ACCEPTS +SHARE +EMPTY +READS +BYTES +CPU%$' "$TMP/table.txt" || fail "no CPU% column in the table"
# A worker row: its name, then its CPU% (a number) last; each worker burns about 20% (50
# requests a second of 4 ms).
busy=$(awk '$3 == "worker-0" && $NF ~ /^[0-9.]+$/ && $NF >= 10 { n++ } END { print n + 0 }' "$TMP/table.txt")
assert_ge "interval rows of worker-0 with a CPU% of 10 or more" 1 "$busy"
