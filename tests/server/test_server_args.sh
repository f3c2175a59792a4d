#!/usr/bin/env bash
# acceptscope-demo's command line: --help, and bad arguments rejected with one
# line on stderr and exit status 2, before anything listens.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

"$DEMO" --help >"$TMP/help" || fail "--help exited $?"
for word in USAGE EXAMPLES MODELS "${MODELS[@]}" --processes --work-us --accept-delay-us --idle-timeout --request-timeout --stats --ready-fd --list-models; do
	grep -q -- "$word" "$TMP/help" || fail "--help does not mention $word"
done
log "--help ok"

# --list-models: NAME<TAB>processes|threads<TAB>summary a line, on stdout, exit 0; the same
# models as the MODELS section of --help and the README's table, in the same order.
rc=0
"$DEMO" --list-models >"$TMP/models" 2>"$TMP/err" || rc=$?
assert_eq "--list-models exit status" 0 "$rc"
[[ ! -s $TMP/err ]] || fail "--list-models wrote to stderr: $(cat "$TMP/err")"
bad=$(grep -Evx $'[a-z][a-z-]*\t(processes|threads)\t[^\t]+' "$TMP/models" || true)
[[ -z $bad ]] || fail "--list-models: malformed line(s): $bad"
assert_eq "--list-models: distinct names" "${#MODELS[@]}" "$(cut -f1 "$TMP/models" | sort -u | wc -l)"
assert_eq "--help MODELS section" "${MODELS[*]}" \
	"$(sed -n '/^MODELS/,/^$/p' "$TMP/help" | awk 'NR > 1 && NF { print $1 }' | paste -sd' ')"
README=$(dirname "$0")/../../README.md
assert_eq "README's model table" "${MODELS[*]}" "$(sed -n '/^### `build\/acceptscope-demo`/,/^### /p' "$README" |
	sed -n 's/^| `\([a-z-]*\)` |.*/\1/p' | paste -sd' ')"
THREAD_MODELS=()
for m in "${MODELS[@]}"; do
	[[ " ${PROCESS_MODELS[*]} " == *" $m "* ]] || THREAD_MODELS+=("$m")
done
log "models: ${MODELS[*]}; with --processes: ${PROCESS_MODELS[*]}"

# expect_usage_error ARGS...: exit 2, exactly one line on stderr, nothing on stdout.
expect_usage_error() {
	local rc=0
	"$DEMO" --duration 5 --port 0 "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[[ $rc == 2 ]] || fail "'$*': exit $rc, wanted 2 (stderr: $(cat "$TMP/err"))"
	[[ $(wc -l <"$TMP/err") == 1 ]] || fail "'$*': wanted one line on stderr, got: $(cat "$TMP/err")"
	[[ ! -s $TMP/out ]] || fail "'$*': wrote to stdout"
	log "'$*' -> $(cat "$TMP/err")"
}

expect_usage_error
expect_usage_error --model nosuch
expect_usage_error --model
expect_usage_error --model single --threads 0
expect_usage_error --model single --threads -3
expect_usage_error --model single --threads 1025
expect_usage_error --model single --threads four
expect_usage_error --model single --port http
expect_usage_error --model single --port 65536
expect_usage_error --model single --port 80x
expect_usage_error --model single --addr localhost.invalid
expect_usage_error --model single --addr 300.1.1.1
expect_usage_error --model single --backlog -1
expect_usage_error --model single --work-us 1.5
expect_usage_error --model single --accept-delay-us ''
expect_usage_error --model single --duration 0
expect_usage_error --model single --duration soon
expect_usage_error --model single --idle-timeout -1
expect_usage_error --model single --request-timeout 0
expect_usage_error --model single --request-timeout abc
expect_usage_error --model single --request-timeout -2
expect_usage_error --model single --request-timeout ''
expect_usage_error --model single --request-timeout 1s
expect_usage_error --model single --request-timeout
expect_usage_error --model single --stats ''
expect_usage_error --model single --ready-fd ''
expect_usage_error --model single --ready-fd three
expect_usage_error --model single --ready-fd -1
expect_usage_error --model single --ready-fd 1 # 0-2 are stdio: closing them would free the numbers
expect_usage_error --model single --ready-fd 2
expect_usage_error --model single --ready-fd 99 # not open
expect_usage_error --model single --ready-fd
expect_usage_error --model single --bogus
expect_usage_error --model single -x
expect_usage_error --model single extra-argument
# A model listed as "threads" refuses --processes (test_server_models runs the others with it).
for m in "${THREAD_MODELS[@]}"; do
	expect_usage_error --model "$m" --processes
done

expect_usage_error --model single --quiet=yes

# A runtime error (the port is taken) is exit 1, with one line saying why.
demo_start --model single --duration 10
rc=0
"$DEMO" --model single --port "$DEMO_PORT" --duration 5 2>"$TMP/err" || rc=$?
assert_eq "exit status when the port is taken" 1 "$rc"
grep -q "bind.*Address already in use" "$TMP/err" || fail "no reason given: $(cat "$TMP/err")"
demo_stop
