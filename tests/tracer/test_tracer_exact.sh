#!/usr/bin/env bash
# Exactness: for every demo model with 4 threads and 2,000 connections, the tracer's
# per-thread accepts, empty accepts, reads and read bytes equal the server's own counters,
# thread for thread, and its total accepted equals the client's connections.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf

CONNS=${ACCEPTSCOPE_TEST_CONNS:-2000}
# Every model, as the demo server lists them (the one model list).
mapfile -t models < <("$BIN/acceptscope-demo" --list-models | cut -f1)
((${#models[@]} > 0)) || fail "acceptscope-demo --list-models listed no model"
[[ -n ${ACCEPTSCOPE_TEST_MODELS:-} ]] && read -ra models <<<"$ACCEPTSCOPE_TEST_MODELS"

check_model() {
	local model=$1; shift
	PORT=$(free_port)
	log "== $model $* on port $PORT"
	start_tracer "$TMP/trace.json" "$TMP/trace.err" -P "$PORT" -i 1 -d 300
	start_demo "$TMP/stats.json" --model "$model" --threads 4 "$@"
	"$BIN/acceptscope-load" --port "$PORT" --requests "$CONNS" --connections 8 --json >"$TMP/load.json" \
		|| fail "load generator failed"
	stop_demo "$TMP/stats.json"
	stop_tracer "$TMP/trace.json" "$TMP/trace.err"

	local s answered conns server tracer
	s=$(summary "$TMP/trace.json")
	answered=$(jq .answered "$TMP/load.json")
	conns=$(jq .connections "$TMP/load.json")
	assert_eq "$model: client answered" "$CONNS" "$answered"
	assert_eq "$model: tracer accepted = client connections" "$conns" \
		"$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p) | .accepted] | add' <<<"$s")"
	assert_eq "$model: server accepts = client connections" "$conns" "$(jq '[.threads[].accepts] | add' "$TMP/stats.json")"
	server=$(server_threads "$TMP/stats.json")
	tracer=$(tracer_threads "$s" "$PORT")
	if [[ $server != "$tracer" ]]; then
		echo "server (tid accepts empty reads bytes):"; echo "$server"
		echo "tracer:"; echo "$tracer"
		fail "$model: per-thread counts differ"
	fi
	log "$model: $(wc -l <<<"$server") threads match exactly"
	assert_eq "$model: queued = accepted" "$conns" \
		"$(jq --argjson p "$PORT" '[.listeners[] | select(.port == $p) | .queued] | add' <<<"$s")"
	rm -f "$TMP"/trace.* "$TMP/stats.json"
}

for m in "${models[@]}"; do check_model "$m"; done
check_model shared-exclusive --processes
check_model reuseport --processes
