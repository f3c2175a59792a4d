# Helpers for tests that run the tracer against the demo server.  Source after lib.sh.

# start_tracer OUT ERR ARGS...: run acceptscope --json in the background, wait until it traces.
# Sets TRACER_PID.
start_tracer() {
	local out=$1 err=$2; shift 2
	"$BIN/acceptscope" --json "$@" >"$out" 2>"$err" &
	TRACER_PID=$!
	_PIDS+=("$TRACER_PID")
	wait_until 60 "acceptscope to attach" grep -q 'tracing;' "$err"
}

# stop_tracer: SIGINT, wait for the final summary object; fails on a non-zero exit.
stop_tracer() {
	kill -INT "$TRACER_PID"
	wait_exit 30 "$TRACER_PID" >/dev/null
	[[ $WAIT_STATUS == 0 ]] || { cat "$2" >&2; fail "acceptscope exited with $WAIT_STATUS"; }
	grep -q '"summary":true' "$1" || fail "no summary object in $1"
}

# summary OUT: the final cumulative JSON object.
summary() { grep '"summary":true' "$1" | tail -n 1; }

# start_demo STATS ARGS...: start the demo server on $PORT, wait until it listens. Sets DEMO_PID.
start_demo() {
	local stats=$1; shift
	spawn "$TMP/demo.log" "$BIN/acceptscope-demo" --port "$PORT" --stats "$stats" --duration 120 --quiet "$@"
	DEMO_PID=$SPAWNED_PID
	wait_until 20 "demo server listening on $PORT" listening "$PORT"
}

# stop_demo STATS: SIGTERM, wait for exit and for the stats file.
stop_demo() {
	kill -TERM "$DEMO_PID"
	wait_exit 20 "$DEMO_PID" >/dev/null
	[[ $WAIT_STATUS == 0 ]] || { cat "$TMP/demo.log" >&2; fail "demo server exited with $WAIT_STATUS"; }
	[[ -s $1 ]] || fail "demo server wrote no stats to $1"
}

# Per-thread rows "tid accepts empty_accepts reads read_bytes", nonzero rows only, sorted.
server_threads() {
	jq -r '.threads[] | select(.accepts + .empty_accepts + .reads > 0)
		| "\(.tid) \(.accepts) \(.empty_accepts) \(.reads) \(.read_bytes)"' "$1" | sort -n
}
tracer_threads() { # SUMMARY_JSON PORT
	jq -r --argjson p "$2" '.ports[] | select(.port == $p) | .threads[]
		| select(.accepts + .empty_accepts + .reads > 0)
		| "\(.tid) \(.accepts) \(.empty_accepts) \(.reads) \(.read_bytes)"' <<<"$1" | sort -n
}

# one_sample OUT ERR PORT: attach for one listener sample of PORT, detach; the summary goes to S.
one_sample() {
	start_tracer "$1" "$2" -P "$3" -i 0.2
	wait_until 10 "a listener sample" grep -q '"summary":false' "$1"
	stop_tracer "$1" "$2"
	S=$(summary "$1")
}

# listener_field PORT FIELD: FIELD of the (first) listener on PORT in the summary S.
listener_field() { jq --argjson p "$1" "[.listeners[] | select(.port == \$p) | .$2] | first" <<<"$S"; }
