#!/bin/sh
# shellcheck shell=dash disable=SC3028,SC1090  # busybox ash has $RANDOM; guest.d files are sourced
# Guest side of tests/vm/vmtest.sh: runs inside the VM (busybox ash, not bash) as /acceptscope/guest.sh.
#
# Runs the built-in tests below, then every /acceptscope/guest.d/*.sh (copied from tests/vm/guest.d/),
# each in its own session under a per-test timeout, and prints for the host:
#   VMTEST INFO <text>             facts, and INFO lines a test printed itself
#   VMTEST PASS <name>
#   VMTEST SKIP <name>: <reason>   (the test's last output line)
#   VMTEST FAIL <name>: <reason>   (then the test's last output lines, indented)
#   VMTEST DONE ...                always last
#
# Writing a guest.d test: a file NAME.sh, sourced by `guest.sh __run` (so the helpers below are
# defined) in a fresh ash.  Exit 0 = pass, 77 = skip (say why on the last line: `skip REASON`),
# anything else = fail (`fail REASON`).  Print facts with `info TEXT`.  Start background processes
# with `spawn OUTFILE CMD...`; whatever is left of the test's process group is killed afterwards.
# A line `# vmtest-timeout: SECONDS` in the file overrides the default per-test timeout.
# The static binaries are in $VMTEST_BIN (also on PATH): acceptscope, acceptscope-demo,
# acceptscope-load when build/static/ had them, and btfcheck.

A=/acceptscope
VMTEST_TEST_TIMEOUT=60
VMTEST_FILTER=
# shellcheck disable=SC1091  # written by vmtest.sh
[ -r $A/env ] && . $A/env
export VMTEST_BIN=$A/bin
export PATH=$VMTEST_BIN:/sbin:/bin:/usr/sbin:/usr/bin
WORK=/tmp/vmtest

# --- helpers for tests ---------------------------------------------------------------------------
info() { echo "VMTEST INFO ${VMTEST_NAME:+$VMTEST_NAME: }$*"; }
fail() { echo "$*"; exit 1; }
skip() { echo "$*"; exit 77; }
log() { echo "# $*"; }

# spawn OUTFILE CMD...: start CMD in the background, output to OUTFILE; sets SPAWNED_PID.
spawn() {
	_out=$1; shift
	"$@" >"$_out" 2>&1 </dev/null &
	SPAWNED_PID=$!
}

# wait_alive PID LOG SECONDS DESCRIPTION CMD...: like wait_until, for a process we started:
# fails at once if PID exits first, either way with LOG's last lines.
wait_alive() {
	_pid=$1 _log=$2 _secs=$3 _what=$4; shift 4
	_deadline=$(($(uptime_ms) + _secs * 1000))
	until "$@" >/dev/null 2>&1; do
		kill -0 "$_pid" 2>/dev/null || fail "exited before $_what: $(tail -n 5 "$_log")"
		[ "$(uptime_ms)" -lt $_deadline ] || fail "timed out after ${_secs}s waiting for $_what: $(tail -n 5 "$_log")"
		sleep 0.05
	done
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds or time runs out.
wait_until() {
	_secs=$1 _what=$2; shift 2
	_deadline=$(($(uptime_ms) + _secs * 1000))
	until "$@" >/dev/null 2>&1; do
		[ "$(uptime_ms)" -lt $_deadline ] || fail "timed out after ${_secs}s waiting for: $_what"
		sleep 0.05
	done
}

uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# listening PORT: something listens on TCP PORT (IPv4 or IPv6).
listening() {
	_hex=$(printf ':%04X' "$1")
	awk -v p="$_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port: a TCP port nobody listens on, below the ephemeral range (32768-60999), so that no
# client connection's local port holds it either (bind would fail with EADDRINUSE).
free_port() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		_p=$((10000 + RANDOM % 22000))
		listening $_p || { echo $_p; return 0; }
	done
	fail "no free port"
}

# snmp_get PROTO FIELD: a counter from /proc/net/snmp (e.g. snmp_get Tcp PassiveOpens).
# netstat_get FIELD: a TcpExt counter from /proc/net/netstat (e.g. ListenOverflows).
_counter() {
	awk -v p="$2:" -v f="$3" '$1 == p { if (!n) { for (i = 2; i <= NF; i++) idx[$i] = i; n = 1 } else print $(idx[f]) }' "$1"
}
snmp_get() { _counter /proc/net/snmp "$1" "$2"; }
netstat_get() { _counter /proc/net/netstat TcpExt "$1"; }

# --- built-in tests ------------------------------------------------------------------------------
t_kernel_6_1() {
	rel=$(uname -r)
	info "uname -r: $rel"
	info "$(cat /proc/version)"
	info "cpus: $(nproc), memory: $(awk '/^MemTotal/ { print $2 " kB" }' /proc/meminfo)"
	case $rel in
	6.1.*) ;;
	*) fail "guest kernel is $rel, not Debian's 6.1" ;;
	esac
}

t_btf_vmlinux() {
	f=/sys/kernel/btf/vmlinux
	[ -e $f ] || fail "$f does not exist (kernel without CONFIG_DEBUG_INFO_BTF)"
	[ -r $f ] || fail "$f is not readable"
	size=$(wc -c <$f)
	[ "$size" -gt 0 ] || fail "$f is empty"
	# BTF header starts with the magic 0xeB9F (little endian: 9f eb).
	magic=$(head -c 2 $f | od -An -tx1 | tr -d ' \n')
	[ "$magic" = 9feb ] || fail "$f does not start with the BTF magic (got $magic)"
	info "$f: $size bytes"
}

t_bpffs_mounted() {
	grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts || fail "bpffs is not mounted on /sys/fs/bpf"
	d=/sys/fs/bpf/vmtest_$$   # bpffs refuses names with dots
	mkdir $d || fail "cannot mkdir in /sys/fs/bpf"
	rmdir $d
	info "$(grep ' /sys/fs/bpf ' /proc/mounts)"
}

t_tracing_facts() {
	T=/sys/kernel/tracing
	grep -q " $T tracefs " /proc/mounts || fail "tracefs is not mounted on $T"
	[ -d $T/events/sock ] || fail "$T/events/sock does not exist"
	for sys in sock tcp; do
		list=
		for e in "$T/events/$sys"/*/; do
			[ -d "$e" ] && list="$list $(basename "$e")"
		done
		info "tracepoints $sys:${list:- none}"
	done
	# Reading this file is slow under TCG (~1 s): read it once.
	cat $T/available_filter_functions >$WORK/aff || fail "cannot read $T/available_filter_functions"
	info "available_filter_functions: $(wc -l <$WORK/aff) functions"
	for fn in inet_csk_accept tcp_v4_syn_recv_sock inet_csk_complete_hashdance tcp_conn_request; do
		# Lines are "name" or "name [module]"; a compiler clone (name.isra.0) does not count.
		if awk -v f="$fn" '$1 == f { found = 1; exit } END { exit !found }' $WORK/aff; then
			info "traceable (available_filter_functions): $fn yes"
		else
			info "traceable (available_filter_functions): $fn NO"
		fi
	done
	info "kprobe_events: $([ -w $T/kprobe_events ] && echo yes || echo no)"
}

t_static_btfcheck() {
	[ -x $VMTEST_BIN/btfcheck ] || fail "$VMTEST_BIN/btfcheck is missing from the initramfs"
	rc=0
	btfcheck /sys/kernel/btf/vmlinux >$WORK/btfcheck.out || rc=$?
	while read -r l; do info "$l"; done <$WORK/btfcheck.out
	return $rc
}

t_demo_smoke() {
	for b in acceptscope-demo acceptscope-load; do
		[ -x $VMTEST_BIN/$b ] || skip "$b not in the initramfs (make STATIC=1 all did not build it)"
	done
	port=$(free_port)
	opens0=$(snmp_get Tcp PassiveOpens)
	spawn $WORK/demo.out acceptscope-demo --model dispatch --threads 4 --port "$port" \
		--stats $WORK/demo.stats --duration 120 --quiet
	demo=$SPAWNED_PID
	wait_alive $demo $WORK/demo.out 20 "acceptscope-demo to listen on port $port" listening "$port"
	rc=0
	acceptscope-load --port "$port" --requests 100 --json >$WORK/load.json 2>$WORK/load.err || rc=$?
	opens1=$(snmp_get Tcp PassiveOpens)
	log "load output: $(head -c 400 $WORK/load.json)"
	[ $rc -eq 0 ] || fail "acceptscope-load exited $rc: $(tail -n 1 $WORK/load.err)"
	kill -0 $demo 2>/dev/null || fail "acceptscope-demo died: $(tail -n 1 $WORK/demo.out)"
	info "load: $(tr '\n' ' ' <$WORK/load.json | head -c 300)"
	info "Tcp PassiveOpens +$((opens1 - opens0)), ListenOverflows $(netstat_get ListenOverflows)"
	[ $((opens1 - opens0)) -ge 100 ] || fail "only $((opens1 - opens0)) connections accepted by the kernel, expected >= 100"
	# The load generator's own count, when its JSON has one.
	answered=$(sed -n 's/.*"answered":\([0-9]*\).*/\1/p' $WORK/load.json)
	[ -z "$answered" ] || [ "$answered" -eq 100 ] || fail "acceptscope-load: $answered of 100 requests answered"
	kill -TERM $demo
	for _ in $(seq 100); do kill -0 $demo 2>/dev/null || break; sleep 0.05; done
	[ -s $WORK/demo.stats ] && info "demo stats: $(tr '\n' ' ' <$WORK/demo.stats | head -c 300)"
	return 0
}

BUILTIN="kernel_6_1 btf_vmlinux bpffs_mounted tracing_facts static_btfcheck demo_smoke"

# --- runner --------------------------------------------------------------------------------------
# Internal: `guest.sh __run NAME builtin|file TARGET` runs one test in this (fresh) shell.
if [ "${1:-}" = __run ]; then
	VMTEST_NAME=$2
	export VMTEST_NAME
	cd $WORK || exit 1
	case $3 in
	builtin) "t_$4" ;;
	file)
		case $4 in
		*.sh) . "$4" ;;
		*) "$4" ;;
		esac
		;;
	esac
	exit $?
fi

selected() {
	[ -z "$VMTEST_FILTER" ] && return 0
	for p in $VMTEST_FILTER; do
		case $1 in *"$p"*) return 0 ;; esac
	done
	return 1
}

npass=0 nfail=0 nskip=0 timings=
# run_test NAME builtin|file TARGET TIMEOUT
run_test() {
	name=$1 kind=$2 target=$3 secs=$4
	out=$WORK/$name.out
	klines=$(dmesg | wc -l)
	t0=$(uptime_ms)
	# Own session (setsid), so every process the test leaves behind can be killed as a group.
	setsid timeout -s TERM -k 5 "$secs" sh $A/guest.sh __run "$name" "$kind" "$target" >"$out" 2>&1 </dev/null &
	pid=$!
	wait $pid 2>/dev/null   # (ash would report "Terminated" for a test the timeout killed)
	rc=$?
	kill -KILL -$pid 2>/dev/null
	ms=$(($(uptime_ms) - t0))
	timings="$timings $name=$((ms / 1000)).$((ms % 1000 / 100))s"
	grep '^VMTEST INFO ' "$out"
	reason=$(grep -v '^VMTEST ' "$out" | grep . | tail -n 1)
	if [ $rc -eq 0 ]; then
		npass=$((npass + 1))
		echo "VMTEST PASS $name"
	elif [ $rc -eq 77 ]; then
		nskip=$((nskip + 1))
		echo "VMTEST SKIP $name: ${reason:-no reason given}"
	else
		nfail=$((nfail + 1))
		[ $ms -ge $((secs * 1000)) ] && reason="timed out after ${secs}s (exit $rc)"
		echo "VMTEST FAIL $name: ${reason:-exit status $rc}"
		grep -v '^VMTEST ' "$out" | tail -n 30 | sed 's/^/    | /'
		dmesg | tail -n +$((klines + 1)) | tail -n 30 | sed 's/^/    kernel| /'
	fi
}

mkdir -p $WORK
t0_all=$(uptime_ms)
klines0=$(dmesg | wc -l)
info "guest up after $(cut -d' ' -f1 /proc/uptime)s of kernel uptime; kernel package ${VMTEST_KERNEL_PKG:-?}"
info "static binaries:$(for b in "$VMTEST_BIN"/*; do printf ' %s' "${b##*/}"; done)"
for t in $BUILTIN; do
	selected "$t" || continue
	run_test "$t" builtin "$t" "$VMTEST_TEST_TIMEOUT"
done
for f in "$A"/guest.d/*.sh; do	# (other files there are the tests' data)
	[ -f "$f" ] || continue
	name=$(basename "$f" .sh)
	selected "$name" || continue
	secs=$(sed -n 's/^# vmtest-timeout: *\([0-9][0-9]*\).*/\1/p' "$f" | head -n 1)
	run_test "$name" file "$f" "${secs:-$VMTEST_TEST_TIMEOUT}"
done
ms=$(($(uptime_ms) - t0_all))
info "timings:$timings"
# Kernel warnings and worse logged while the tests ran (quiet keeps warnings off the console).
dmesg -r | tail -n +$((klines0 + 1)) | awk -F'[<>]' '$2 % 8 <= 4' | tail -n 20 | sed 's/^/VMTEST INFO kernel: /'
echo "VMTEST DONE $npass passed, $nfail failed, $nskip skipped in $((ms / 1000)).$((ms % 1000 / 100))s (kernel uptime $(cut -d' ' -f1 /proc/uptime)s)"
