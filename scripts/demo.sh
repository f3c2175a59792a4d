#!/usr/bin/env bash
# `make demo`: every demo accept model at a light and a saturated load, traced with
# acceptscope; prints the comparison table and writes an HTML report.  About a minute.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
# Environment: DEMO_DURATION (seconds per model and level, default 2.5), DEMO_THREADS (4),
#              DEMO_MODELS (comma list, default all).
set -euo pipefail

BUILD=${1:-build}
BIN=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "demo.sh: no build directory '$BUILD' (run make first)" >&2; exit 1; }
for b in acceptscope acceptscope-demo acceptscope-load; do
	[[ -x $BIN/$b ]] || { echo "demo.sh: $BIN/$b is missing (run make first)" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
	echo "demo.sh: the demo traces with BPF and needs root: run 'sudo make demo' (or sudo $0 $BUILD)" >&2
	exit 1
fi
if [[ ! -r /sys/kernel/btf/vmlinux ]]; then
	echo "demo.sh: this kernel has no BTF (/sys/kernel/btf/vmlinux); acceptscope needs CONFIG_DEBUG_INFO_BTF" >&2
	exit 1
fi

DURATION=${DEMO_DURATION:-2.5}
THREADS=${DEMO_THREADS:-4}
HTML=$BIN/compare.html
args=(--duration "$DURATION" --threads "$THREADS" --levels light,saturated --html "$HTML")
[[ -n ${DEMO_MODELS:-} ]] && args+=(--models "$DEMO_MODELS")

echo "acceptscope demo: each accept model of acceptscope-demo, $THREADS threads, under a light"
echo "(2 connections) and a saturated (64 connections) load of new connections for ${DURATION}s each,"
echo "traced by acceptscope and checked against the server's own counters.  About a minute."
echo

rc=0
"$BIN/acceptscope" compare "${args[@]}" || rc=$?
echo
if [[ -s $HTML ]] && ((rc == 0 || rc == 1)); then
	echo "Report with per-thread and accept-queue charts: $HTML"
	echo "  (open file://$HTML in a browser)"
fi
((rc == 0)) || echo "demo.sh: acceptscope compare exited with status $rc" >&2
exit "$rc"
