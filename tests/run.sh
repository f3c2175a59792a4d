#!/usr/bin/env bash
# acceptscope test runner: unit tests (build/tests/*) then integration tests (tests/*/test_*.sh).
# A test passes with exit 0, skips with exit 77 (and says why on its last line), fails otherwise.
# With ACCEPTSCOPE_REQUIRE_BPF=1 (CI) a skip counts as a failure.
# Usage: tests/run.sh [PATTERN...]   (only tests whose name contains one of the patterns)
set -uo pipefail
cd "$(dirname "$0")/.."
export ACCEPTSCOPE_BIN=${ACCEPTSCOPE_BIN:-$PWD/build}
export ACCEPTSCOPE_TEST_LOG=${ACCEPTSCOPE_TEST_LOG:-$ACCEPTSCOPE_BIN/test-logs}
mkdir -p "$ACCEPTSCOPE_TEST_LOG"

passed=0 failed=0 skipped=0
failures=()

# selected NAME [PATTERN...]: no patterns selects everything.
selected() {
	local name=$1; shift
	(($# == 0)) && return 0
	local p
	for p in "$@"; do [[ $name == *"$p"* ]] && return 0; done
	return 1
}
PATTERNS=("$@")

run_one() {
	local name=$1; shift
	local log="$ACCEPTSCOPE_TEST_LOG/${name//\//_}.log"
	local start=$SECONDS rc
	"$@" >"$log" 2>&1
	rc=$?
	local secs=$((SECONDS - start))
	if ((rc == 0)); then
		passed=$((passed + 1)); printf 'PASS  %-40s %3ds\n' "$name" "$secs"
	elif ((rc == 77)) && [[ ${ACCEPTSCOPE_REQUIRE_BPF:-0} != 1 ]]; then
		skipped=$((skipped + 1)); printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")"
	else
		failed=$((failed + 1)); failures+=("$name")
		((rc == 77)) && echo "  (skipped, but ACCEPTSCOPE_REQUIRE_BPF=1 makes a skip a failure)" >>"$log"
		printf 'FAIL  %-40s %3ds\n' "$name" "$secs"
		sed 's/^/    | /' "$log" | tail -n 40
	fi
}

for t in "$ACCEPTSCOPE_BIN"/tests/*; do
	[[ -x $t && -f $t ]] || continue
	name="unit/$(basename "$t")"
	selected "$name" ${PATTERNS[@]+"${PATTERNS[@]}"} || continue
	run_one "$name" "$t"
done
# Integration tests, grouped by program: tests/{compare,load,server,tracer,vm}/test_*.sh.
for t in tests/*/test_*.sh; do
	[[ -f $t ]] || continue
	name=$(basename "$t" .sh)
	selected "$name" ${PATTERNS[@]+"${PATTERNS[@]}"} || continue
	run_one "$name" bash "$t"
done

echo
((${#failures[@]})) && echo "failed: ${failures[*]}"
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0 && passed > 0))
