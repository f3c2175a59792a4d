#!/usr/bin/env bash
# Integration test: our static binaries inside Debian's stock 6.1 kernel under qemu (TCG).
# Builds build/static/ (make STATIC=1 all) and runs tests/vm/vmtest.sh, whose exit status passes
# through: 0 pass, 77 skip (qemu or the kernel image unavailable), anything else fail.
# Extra arguments select guest tests by name: bash tests/vm/test_vm.sh demo_smoke
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

log "building static binaries: make STATIC=1 all"
if make -j"$(nproc)" --no-print-directory STATIC=1 all >"$TMP/make.log" 2>&1; then
	log "static binaries built: $(for b in acceptscope acceptscope-demo acceptscope-load; do [[ -x build/static/$b ]] && printf '%s ' "$b"; done)"
else
	tail -n 15 "$TMP/make.log" | sed 's/^/# make: /'
	# In CI a broken static build is a failure; on a workstation the VM test still runs with
	# whatever build/static/ holds (guest tests needing a missing binary skip).
	[[ ${ACCEPTSCOPE_REQUIRE_BPF:-0} == 1 ]] && fail "make STATIC=1 all failed"
	log "make STATIC=1 all failed; running the VM test without the missing binaries"
fi

rc=0
bash tests/vm/vmtest.sh "$@" || rc=$?
((rc == 0)) || exit "$rc"
(($#)) && exit 0   # a subset of guest tests: the backend table needs them all

# The README's backend table must be what the tests just saw, on both kernels.
table=$(bash scripts/backend_table.sh) || fail "scripts/backend_table.sh failed"
readme=$(sed -n '/<!-- backends:begin/,/<!-- backends:end/p' README.md)
if [[ $table != "$readme" ]]; then
	diff <(echo "$readme") <(echo "$table") || true
	fail "README.md's backend table is stale: run scripts/backend_table.sh --update"
fi
log "README backend table matches what the tests saw"
echo "$table"

