#!/usr/bin/env bash
# Every accept model, with 1 and 4 threads and (where allowed) 4 processes,
# serves an exact load without errors, and its ground-truth counters agree
# with what the clients saw, connection for connection:
#   - summed accepts == connections the client made
#   - per-thread requests == the client's tally of X-Worker headers
#   - summed read_bytes == bytes the client sent (tests/server/demo_client.py)
# The exact load comes from acceptscope-load when it is built, and always from
# tests/server/demo_client.py.  Then wrk with Connection: close: wrk cannot count
# exactly (it stops with connections open), so for it: no socket errors, no
# non-2xx, requests <= accepts <= requests + wrk's connections + 2.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || fail "wrk not installed"

CONNS=40 REQS=5 PARALLEL=8 WRK_CONNS=8

# check_exact WHAT BEFORE AFTER CLIENT_JSON: the counters moved exactly as the client saw.
# (One jq per check: this test runs many.)
check_exact() {
	local what=$1 errors want_accepts accepts want_workers workers want_bytes bytes
	read -r errors want_accepts accepts want_workers workers want_bytes bytes < <(
		jq -r -n --slurpfile a "$2" --slurpfile b "$3" --argjson c "$4" '
			def per_tid(f): map({key: (.tid | tostring), value: f}) | from_entries;
			($a[0].threads | per_tid(.)) as $before
			| [$b[0].threads[] | . as $t | ($before[$t.tid | tostring] // {}) as $o
			   | {tid: ($t.tid | tostring), accepts: ($t.accepts - ($o.accepts // 0)),
			      requests: ($t.requests - ($o.requests // 0)), read_bytes: ($t.read_bytes - ($o.read_bytes // 0))}]
			| [$c.errors.total, $c.connections, (map(.accepts) | add),
			   ($c.workers | to_entries | map(select(.value != 0)) | sort_by(.key) | from_entries | tojson),
			   (map(select(.requests != 0) | {key: .tid, value: .requests}) | sort_by(.key) | from_entries | tojson),
			   ($c.sent_bytes // "-"), (if $c.sent_bytes then map(.read_bytes) | add else "-" end)]
			| map(tostring) | join(" ")')
	assert_eq "$what: client errors" 0 "$errors"
	assert_eq "$what: accepts" "$want_accepts" "$accepts"
	assert_eq "$what: requests per thread" "$want_workers" "$workers"
	assert_eq "$what: read_bytes" "$want_bytes" "$bytes"
}

# check_units FILE MODEL THREADS PROCESSES: the JSON describes the units asked for.
check_units() {
	local f=$1 model=$2 threads=$3 processes=$4 n got
	case $model in
	single) n=1 ;;
	dispatch | reqdispatch) n=$((threads + 1)) ;;
	*) n=$threads ;;
	esac
	# model port pid entries distinct-tids entries-in-the-right-process
	got=$(jq -r --argjson p "$DEMO_PID" --argjson procs "$processes" '
		[.model, .port, .pid, (.threads | length), ([.threads[].tid] | unique | length),
		 ([.threads[] | select(if $procs == 1 then .pid != $p and .pid == .tid else .pid == $p end)] | length)]
		| map(tostring) | join(" ")' "$f")
	assert_eq "model port pid threads tids right-pids" "$model $DEMO_PORT $DEMO_PID $n $n $n" "$got"
}

run_config() {
	local model=$1 threads=$2 processes=$3 label c
	local args=(--model "$model" --threads "$threads")
	label="$model x$threads"
	if ((processes)); then
		args+=(--processes)
		label+=" processes"
	fi
	log "==== $label"
	demo_start "${args[@]}"
	demo_snapshot "$TMP/s0.json"
	check_units "$TMP/s0.json" "$model" "$threads" "$processes"

	local before=$TMP/s0.json
	if [[ -x $LOAD ]]; then
		local mode n=1
		for mode in close keepalive; do
			c=$("$LOAD" --port "$DEMO_PORT" --connections 8 --requests 200 \
				$([[ $mode == keepalive ]] && echo --keepalive) --json)
			demo_snapshot "$TMP/l$n.json"
			assert_eq "$label: acceptscope-load $mode answered" 200 "$(jq .answered <<<"$c")"
			check_exact "$label: acceptscope-load $mode" "$before" "$TMP/l$n.json" "$c"
			before=$TMP/l$n.json n=$((n + 1))
		done
	else
		log "acceptscope-load not built: demo_client only"
	fi
	c=$(client load "$DEMO_PORT" --conns $CONNS --reqs $REQS --parallel $PARALLEL)
	demo_snapshot "$TMP/s2.json"
	assert_eq "$label: client answered" $((CONNS * REQS)) "$(jq .answered <<<"$c")"
	check_exact "$label: demo_client" "$before" "$TMP/s2.json" "$c"

	wrk -t1 -c$WRK_CONNS -d1s -H 'Connection: close' "http://127.0.0.1:$DEMO_PORT/" >"$TMP/wrk.txt" 2>&1 ||
		fail "wrk failed: $(cat "$TMP/wrk.txt")"
	! grep -E 'Socket errors|Non-2xx' "$TMP/wrk.txt" || fail "$label: wrk saw errors"
	local wrk_requests
	wrk_requests=$(awk '/requests in/ { print $1 }' "$TMP/wrk.txt")
	demo_stop
	local accepts requests
	read -r accepts requests < <(jq -r -n --slurpfile a "$TMP/s2.json" --slurpfile b "$DEMO_STATS" '
		def sum(f): [.threads[] | f] | add;
		"\(($b[0] | sum(.accepts)) - ($a[0] | sum(.accepts))) \(($b[0] | sum(.requests)) - ($a[0] | sum(.requests)))"')
	assert_ge "$label: wrk requests" 100 "$wrk_requests"
	assert_ge "$label: server requests >= wrk's" "$wrk_requests" "$requests"
	assert_ge "$label: server accepts >= requests" "$requests" "$accepts"
	assert_le "$label: accepts - requests (wrk's connections open at its end)" $((WRK_CONNS + 2)) $((accepts - requests))
}

for model in "${MODELS[@]}"; do
	if [[ $model == single ]]; then
		run_config single 1 0 # --threads does not apply
		continue
	fi
	run_config "$model" 1 0
	run_config "$model" 4 0
	if [[ " ${PROCESS_MODELS[*]} " == *" $model "* ]]; then
		run_config "$model" 4 1
	fi
done
log "all models pass"
