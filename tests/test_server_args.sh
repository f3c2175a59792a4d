#!/usr/bin/env bash
# acceptscope-demo's command line: --help, and bad arguments rejected with one
# line on stderr and exit status 2, before anything listens.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

"$DEMO" --help >"$TMP/help" || fail "--help exited $?"
for word in USAGE EXAMPLES MODELS "${MODELS[@]}" --processes --work-us --accept-delay-us --idle-timeout --request-timeout --stats; do
	grep -q -- "$word" "$TMP/help" || fail "--help does not mention $word"
done
log "--help ok"

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
expect_usage_error --model single --bogus
expect_usage_error --model single -x
expect_usage_error --model single extra-argument
for m in single dispatch reqdispatch; do
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
