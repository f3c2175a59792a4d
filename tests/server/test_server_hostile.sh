#!/usr/bin/env bash
# A hostile local user cannot turn acceptscope-demo --stats against root: the
# dump goes through a fresh temporary file beside FILE (never a planted name,
# never through a symlink), then rename(); nothing is left behind, even when
# the rename fails.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root: the attack is root following a user's symlink"

# stats_demo FILE: start a server dumping to FILE; sets DEMO_PID, DEMO_PORT, DEMO_LOG.
stats_demo() {
	DEMO_LOG=$TMP/demo.log
	spawn "$DEMO_LOG" "$DEMO" --model single --port 0 --duration 30 --stats "$1"
	DEMO_PID=$SPAWNED_PID
	wait_until 10 "demo listening" grep -q ' listening on ' "$DEMO_LOG"
	DEMO_PORT=$(sed -n 's/.* listening on .*:\([0-9]*\) pid [0-9]*$/\1/p' "$DEMO_LOG")
}
# stop_demo WANT_STATUS
stop_demo() {
	kill -TERM "$DEMO_PID"
	wait_exit 5 "$DEMO_PID" >"$TMP/rc"
	assert_eq "exit status" "$1" "$(cat "$TMP/rc")"
}
# leftovers PREFIX: files named PREFIX.<anything> but the planted PREFIX.tmp.
leftovers() { find "$(dirname "$1")" -maxdepth 1 -name "$(basename "$1").*" ! -name '*.tmp' -printf '%f\n' | sort | paste -sd' '; }

# --- a symlink planted at the old temporary name, FILE.tmp -> victim ---
printf 'precious\n' >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/stats.json.tmp"
stats_demo "$TMP/stats.json"
for _ in 1 2 3; do
	curl -s -o /dev/null "http://127.0.0.1:$DEMO_PORT/" || fail "curl failed"
done
kill -USR1 "$DEMO_PID"
wait_until 5 "stats after SIGUSR1" test -s "$TMP/stats.json"
assert_eq "victim after SIGUSR1" precious "$(cat "$TMP/victim")"
assert_eq "requests in the SIGUSR1 dump" 3 "$(stat_sum "$TMP/stats.json" requests)"
stop_demo 0
assert_eq "victim after exit" precious "$(cat "$TMP/victim")"
assert_eq "planted link untouched" "$TMP/victim" "$(readlink "$TMP/stats.json.tmp")"
[[ -f $TMP/stats.json && ! -L $TMP/stats.json ]] || fail "stats.json is not a plain file"
assert_eq "model in the final dump" single "$(jq -r .model "$TMP/stats.json")"
assert_eq "pid in the final dump" "$DEMO_PID" "$(jq -r .pid "$TMP/stats.json")"
assert_eq "requests in the final dump" 3 "$(stat_sum "$TMP/stats.json" requests)"
assert_eq "accepts in the final dump" 3 "$(stat_sum "$TMP/stats.json" accepts)"
# The mode fopen() gave the old file: 0666 less the umask (not mkstemp's 0600).
assert_eq "stats file mode" "$(printf '%o' $((0666 & ~$(umask))))" "$(stat -c %a "$TMP/stats.json")"
assert_eq "temporary files left" "" "$(leftovers "$TMP/stats.json")"

# --- the rename fails (FILE is a directory): an error, and the temporary file removed ---
mkdir "$TMP/adir"
stats_demo "$TMP/adir"
kill -USR1 "$DEMO_PID"
wait_until 5 "the failed dump reported" grep -q "rename $TMP/adir" "$DEMO_LOG"
assert_eq "temporary files left after a failed dump" "" "$(leftovers "$TMP/adir")"
stop_demo 1
assert_eq "temporary files left after a failed final dump" "" "$(leftovers "$TMP/adir")"
log "$(grep -c "rename $TMP/adir" "$DEMO_LOG") failed dumps reported: $(grep -m1 rename "$DEMO_LOG")"
