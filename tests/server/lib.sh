# Helpers for the acceptscope-demo tests (tests/server/test_server_*.sh).  Source after ../lib.sh.
DEMO=$BIN/acceptscope-demo
LOAD=$BIN/acceptscope-load
CLIENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/demo_client.py

[[ -x $DEMO ]] || fail "$DEMO not built"
# The models, from the server's own table: --list-models prints NAME<TAB>processes|threads<TAB>summary
# a line.  MODELS: all of them; PROCESS_MODELS: those that take --processes.
DEMO_MODEL_LIST=$("$DEMO" --list-models) || fail "$DEMO --list-models failed"
mapfile -t MODELS < <(cut -f1 <<<"$DEMO_MODEL_LIST")
mapfile -t PROCESS_MODELS < <(awk -F'\t' '$2 == "processes" { print $1 }' <<<"$DEMO_MODEL_LIST")
((${#MODELS[@]} > 0)) || fail "$DEMO --list-models listed no model"
command -v jq >/dev/null || fail "jq not installed"
# Debian's python3 if there is one: a version manager's shim can cost 100 ms a start.
PYTHON=$(command -v /usr/bin/python3 || command -v python3) || fail "python3 not installed"

_demo_n=0

# demo_start ARGS...: start acceptscope-demo on an ephemeral port with a --duration
# safety net and wait for its readiness line on --ready-fd (a fifo read to EOF: the server
# closes it once every listener listens); it must name the server's pid and agree with the
# "listening" line.  Sets DEMO_PID DEMO_PORT DEMO_STATS DEMO_LOG.
# DEMO_PREFIX (an array) goes before the command, e.g. (prlimit --nofile=40 --): it must exec.
demo_start() {
	_demo_n=$((_demo_n + 1))
	DEMO_LOG=$TMP/demo$_demo_n.log
	DEMO_STATS=$TMP/demo$_demo_n.json
	local ready=$TMP/demo$_demo_n.ready reader word pid
	mkfifo "$ready"
	timeout 10 cat "$ready" >"$ready.line" &
	reader=$!
	spawn "$DEMO_LOG" ${DEMO_PREFIX[@]+"${DEMO_PREFIX[@]}"} "$DEMO" --port 0 --duration 60 --stats "$DEMO_STATS" \
		--ready-fd 3 "$@" 3>"$ready"
	DEMO_PID=$SPAWNED_PID
	wait "$reader" || fail "demo $*: --ready-fd not closed within 10 s: $(cat "$DEMO_LOG")"
	read -r word DEMO_PORT pid <"$ready.line" || true
	[[ $word == ready && $DEMO_PORT =~ ^[0-9]+$ && $pid == "$DEMO_PID" && $(wc -l <"$ready.line") == 1 ]] ||
		fail "demo $*: readiness line '$(cat "$ready.line")' (pid $DEMO_PID): $(cat "$DEMO_LOG")"
	[[ " $* " == *" --quiet "* ]] || grep -q " listening on .*:$DEMO_PORT pid $DEMO_PID\$" "$DEMO_LOG" ||
		fail "demo $*: no listening line for port $DEMO_PORT pid $DEMO_PID: $(cat "$DEMO_LOG")"
	log "demo $* pid $DEMO_PID port $DEMO_PORT"
}

# demo_snapshot OUT: have the running server dump its counters (SIGUSR1) into OUT.
demo_snapshot() {
	rm -f "$DEMO_STATS"
	kill -USR1 "$DEMO_PID"
	wait_until 5 "stats after SIGUSR1" test -s "$DEMO_STATS"
	cp "$DEMO_STATS" "$1"
}

# demo_stop [MAX_SECONDS]: SIGTERM, expect a clean exit within MAX_SECONDS (default 2)
# and final stats in $DEMO_STATS.
demo_stop() {
	kill -TERM "$DEMO_PID"
	# Not rc=$(wait_exit ...): in a subshell the server is not a child, so wait cannot see its status.
	wait_exit "${1:-2}" "$DEMO_PID" >"$TMP/rc"
	local rc; rc=$(cat "$TMP/rc")
	[[ $rc == 0 ]] || fail "demo exited with $rc: $(tail -n 5 "$DEMO_LOG")"
	[[ -s $DEMO_STATS ]] || fail "no stats written to $DEMO_STATS"
}

# stat_sum FILE FIELD: the field summed over all threads.
stat_sum() { jq "[.threads[].$2] | add" "$1"; }
# stat_list FILE FIELD [ROLE]: the field per thread (of one role), space-separated.
stat_list() { jq -r --arg role "${3:-}" '[.threads[] | select($role == "" or .role == $role) | .'"$2"'] | map(tostring) | join(" ")' "$1"; }
# client ARGS...: the Python test client (see tests/server/demo_client.py).
client() { "$PYTHON" "$CLIENT" "$@"; }

# assert_every_model WHAT MODEL...: every model of MODELS is among the MODEL arguments (a
# test that gives each model its own settings covers a model added to the table, or fails).
assert_every_model() {
	local what=$1 m; shift
	for m in "${MODELS[@]}"; do
		[[ " $* " == *" $m "* ]] || fail "$what: model $m not covered"
	done
	log "$what: every model covered"
}

# min_max LIST...: "MIN MAX" of the numbers.
min_max() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd' '; }
