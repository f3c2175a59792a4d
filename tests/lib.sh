# Shared helpers for integration tests.  Source it: `. "$(dirname "$0")/lib.sh"`.
# Every process a test starts with `spawn` is killed (by PID) when the test exits, pass or fail.
set -euo pipefail
BIN=${ACCEPTSCOPE_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
TMP=$(mktemp -d /tmp/acceptscope-test.XXXXXX)
_PIDS=() _NETNS=() _TIMER_MIGRATION=

_cleanup() {
	local pid ns
	for pid in ${_PIDS[@]+"${_PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in ${_PIDS[@]+"${_PIDS[@]}"}; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	for ns in ${_NETNS[@]+"${_NETNS[@]}"}; do ip netns del "$ns" 2>/dev/null || true; done
	[[ -z $_TIMER_MIGRATION ]] || echo "$_TIMER_MIGRATION" >/proc/sys/kernel/timer_migration
	rm -rf "$TMP"
}
trap _cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
log() { echo "# $*"; }

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() { [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"; log "$1 = $3"; }
# assert_ge WHAT MIN ACTUAL / assert_le WHAT MAX ACTUAL
assert_ge() { (($3 >= $2)) || fail "$1: expected >= $2, got $3"; log "$1 = $3 (>= $2)"; }
assert_le() { (($3 <= $2)) || fail "$1: expected <= $2, got $3"; log "$1 = $3 (<= $2)"; }

# spawn OUTFILE CMD...: start CMD in the background, stdout+stderr to OUTFILE; sets SPAWNED_PID.
spawn() {
	local out=$1; shift
	"$@" >"$out" 2>&1 &
	SPAWNED_PID=$!
	_PIDS+=("$SPAWNED_PID")
}

# track PID: kill PID when the test exits, as spawn does (for a process started otherwise).
track() { _PIDS+=("$1"); }

# own_netns PREFIX: a network namespace of the test's own (lo up), deleted when the test exits,
# where the kernel's counters (ListenOverflows, ...) count this test alone.  Sets NS (its name),
# IN (the command prefix that runs in it) and NETNS_INO (its inode: JSON "netns").
own_netns() {
	NS=$1$$
	ip netns add "$NS" || skip "cannot create a network namespace"
	_NETNS+=("$NS")
	ip -n "$NS" link set lo up
	IN=(ip netns exec "$NS")
	NETNS_INO=$("${IN[@]}" stat -L -c %i /proc/self/ns/net)
}
# netstat_ns FIELD: the TcpExt counter FIELD of the namespace own_netns made.
netstat_ns() {
	"${IN[@]}" awk -v f="$1" '$1 == "TcpExt:" { if (!n) { for (i = 2; i <= NF; i++) idx[$i] = i; n = 1 } else print $(idx[f]) }' /proc/net/netstat
}
# timers_stay_put: kernel.timer_migration=0 until the test exits.  Timers (SYN-ACK
# retransmits) then fire on the CPU that armed them, so handshakes pinned to one CPU stay there.
timers_stay_put() {
	[[ -r /proc/sys/kernel/timer_migration ]] || return 0
	_TIMER_MIGRATION=$(cat /proc/sys/kernel/timer_migration)
	echo 0 >/proc/sys/kernel/timer_migration
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds or the deadline passes.
wait_until() {
	local secs=$1 what=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for: $what"
		sleep 0.05
	done
}

# wait_exit SECONDS PID: wait for PID (a child of this shell) to exit; its status goes to
# WAIT_STATUS and stdout.  Call it directly, not in $(...): a subshell cannot wait for it.
wait_exit() {
	local secs=$1 pid=$2 deadline=$((SECONDS + $1))
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < deadline)) || fail "process $pid still running after ${secs}s"
		sleep 0.05
	done
	WAIT_STATUS=0; wait "$pid" || WAIT_STATUS=$?
	echo "$WAIT_STATUS"
}

# free_port: a TCP port no socket uses, below the ephemeral range (32768-60999) so that
# no client socket takes it meanwhile.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % 22000))
		ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	fail "no free port"
}

listening() { ss -Htln "sport = :$1" | grep -q .; }

# require_bpf: skip (or, in CI, fail through the runner) unless we are root and BPF tracing works.
require_bpf() {
	[[ $(id -u) -eq 0 ]] || skip "needs root for BPF"
	[[ -r /sys/kernel/btf/vmlinux ]] || skip "kernel has no BTF (/sys/kernel/btf/vmlinux)"
}

# netstat_get FIELD: a TcpExt counter from /proc/net/netstat (e.g. ListenOverflows).
netstat_get() {
	awk -v f="$1" '$1 == "TcpExt:" { if (!n) { for (i = 2; i <= NF; i++) idx[$i] = i; n = 1 } else print $(idx[f]) }' /proc/net/netstat
}
