# Helpers for the findings and CPU tests.  Source after ../lib.sh and ../tracer/lib.sh.

# proc_threads PID: "tid cpu_ns wakeups" per thread of PID, from /proc (schedstat's run time,
# else stat's utime + stime; status's voluntary context switches), sorted by tid.
proc_threads() {
	local t tick
	tick=$((1000000000 / $(getconf CLK_TCK)))
	for t in /proc/"$1"/task/*; do
		local ns
		if [[ -r $t/schedstat ]]; then
			ns=$(cut -d' ' -f1 "$t/schedstat")
		else
			ns=$(sed 's/.*) //' "$t/stat" | awk -v k="$tick" '{ print ($12 + $13) * k }')
		fi
		echo "${t##*/} $ns $(awk '/^voluntary_ctxt_switches:/ { print $2 }' "$t/status")"
	done | sort -n
}

# proc_delta BEFORE AFTER: "tid cpu_ns wakeups" used between two proc_threads outputs.
proc_delta() { join "$1" "$2" | awk '{ print $1, $4 - $2, $5 - $3 }'; }

# findings_of OBJECT PORT: the findings on PORT in one JSON object, compact, one a line.
findings_of() { jq -c --argjson p "$2" '.findings[] | select(.port == $p)' <<<"$1"; }

# kinds OUT PORT: every "kind/cause" found on PORT in any object of OUT (intervals and summary).
kinds() { jq -r --argjson p "$2" '.findings[]? | select(.port == $p) | "\(.kind)/\(.cause)"' "$1" | sort -u | paste -sd' '; }

# jain_of "N N N ...": Jain's index of the numbers, as the tracer computes it.
jain_of() { awk '{ s = 0; q = 0; for (i = 1; i <= NF; i++) { s += $i; q += $i * $i } printf "%.6f\n", q ? s * s / (NF * q) : 0 }' <<<"$1"; }

# near WHAT EXPECTED ACTUAL TOLERANCE: |EXPECTED - ACTUAL| <= TOLERANCE (floating point).
near() {
	awk -v e="$2" -v a="$3" -v t="$4" 'BEGIN { d = e - a; if (d < 0) d = -d; exit !(d <= t) }' ||
		fail "$1: expected $2 (within $4), got $3"
	log "$1 = $3 (expected $2, within $4)"
}
