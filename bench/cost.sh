#!/bin/sh
# shellcheck shell=dash disable=SC3028  # runs in bash on the host and in busybox ash in the VM
#
# bench/cost.sh: what acceptscope costs a server, as ratios measured side by side in one run.
#
#   BPF time per connection: every acceptscope program's run time (kernel.bpf_stats_enabled=1)
#   over a load window, divided by the connections the kernel accepted in it (Tcp PassiveOpens),
#   against two floors measured the same way in the same run, with empty programs
#   (bench/floor.bpf.c, attached by build/bench/bpfcost):
#     floor       the fixed hook set of issue 11: accept/accept4 syscall enter and exit,
#                 sk_data_ready, sock_recv_length, inet_sock_set_state, kfree_skb
#                 (tracepoint backend only: two of those tracepoints are 6.3+)
#     same-hooks  empty programs on exactly the hooks the tracer ran on
#   Throughput: requests/s of a connection-per-request load with and without the tracer,
#   interleaved pairs (statistics off), the median of the pairs' ratios.
#
# Targets (issue 11): BPF ns/connection <= 1.5 x floor; throughput ratio >= 0.98.
#
# Usage: bench/cost.sh [--backend B]... [--model M] [--threads N] [--seconds S] [--pairs P]
#                      [--rounds R] [--connections C]
#        bench/cost.sh --vm [same options]   the fentry and kprobe backends, in Debian's stock
#                                            6.1 kernel under qemu (tests/vm), ratios to a floor
#                                            measured there (absolute times under TCG mean nothing)
set -eu

# In the VM guest, tests/vm/guest.sh sources this file with its own arguments: ours are in cost.env.
if [ -n "${VMTEST_BIN:-}" ]; then
	set --
	. /acceptscope/guest.d/cost.env
fi

MODEL=shared-epoll THREADS=2 SECS=5 PAIRS=5 ROUNDS=3 CONNS=32 BACKENDS= VM=0
while [ $# -gt 0 ]; do
	case $1 in
	--backend) BACKENDS="$BACKENDS $2"; shift 2 ;;
	--model) MODEL=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--pairs) PAIRS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--connections) CONNS=$2; shift 2 ;;
	--vm) VM=1; shift ;;
	*) echo "cost.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
OPTS="--model $MODEL --threads $THREADS --seconds $SECS --pairs $PAIRS --rounds $ROUNDS --connections $CONNS"

if [ -n "${VMTEST_BIN:-}" ]; then
	# In the guest (sourced by tests/vm/guest.sh): the binaries and this folder's files.
	BIN=$VMTEST_BIN HERE=/acceptscope/guest.d
	BPFCOST=$HERE/bpfcost FLOOR=$HERE/floor.bpf.o
	: "${BACKENDS:=fentry kprobe}"
	say() { echo "VMTEST INFO cost: $*"; }
else
	cd "$(dirname "$0")/.."
	[ "$(id -u)" = 0 ] || { echo "cost.sh: needs root (BPF)" >&2; exit 2; }
	if [ $VM = 1 ]; then
		# The guest runs this very file as a test, with these options.
		make --no-print-directory STATIC=1 all >/dev/null
		EXTRA=$(mktemp -d)
		trap 'rm -rf "$EXTRA"' EXIT
		cp bench/cost.sh "$EXTRA/cost.sh"
		cp build/static/bench/bpfcost build/static/bench/floor.bpf.o "$EXTRA/"
		echo "set -- $OPTS$(for b in $BACKENDS; do printf ' --backend %s' "$b"; done)" >"$EXTRA/cost.env"
		ACCEPTSCOPE_VM_EXTRA_TESTS=$EXTRA ACCEPTSCOPE_VM_TEST_TIMEOUT=3000 ACCEPTSCOPE_VM_TIMEOUT=3600 \
			bash tests/vm/vmtest.sh cost | sed -n -e 's/^.*VMTEST INFO cost: //p' -e '/VMTEST FAIL/,$p'
		exit 0
	fi
	make --no-print-directory all >/dev/null
	BIN=build BPFCOST=build/bench/bpfcost FLOOR=build/bench/floor.bpf.o
	: "${BACKENDS:=auto}"
	say() { echo "$*"; }
fi

FLOOR_PROGS="tp_enter_accept tp_exit_accept tp_enter_accept4 tp_exit_accept4 tp_sk_data_ready
	tp_sock_recv_length tp_inet_sock_set_state tp_kfree_skb"
W=$(mktemp -d)
DEMO= HELD=
cleanup() {
	[ -n "$HELD" ] && kill "$HELD" 2>/dev/null
	[ -n "$DEMO" ] && kill "$DEMO" 2>/dev/null
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# wait_for SECONDS PID CMD...: until CMD succeeds; fails if PID exits or time runs out.
wait_for() {
	_deadline=$(($(now_ms) + $1 * 1000)) _pid=$2; shift 2
	until "$@" >/dev/null 2>&1; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			echo "cost.sh: process $_pid exited while waiting for: $*" >&2
			tail -n 5 "$W/tracer.err" "$W/floor.out" >&2 2>/dev/null
			exit 1
		fi
		[ "$(now_ms)" -lt $_deadline ] || { echo "cost.sh: timed out waiting for: $*" >&2; exit 1; }
		sleep 0.05
	done
}
listening() {
	awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6
}
passive_opens() {
	awk '$1 == "Tcp:" { if (!n) { for (i = 2; i <= NF; i++) if ($i == "PassiveOpens") c = i; n = 1 } else print $c }' /proc/net/snmp
}
# Programs a process holds (its BPF program and link fds name them in fdinfo).
prog_ids() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u; }
# Run counts and times of process $1's programs: "NAME RUNS NS" lines.
prog_stats() {
	prog_ids "$1" >"$W/ids"
	"$BPFCOST" stats | awk 'FILENAME == ARGV[1] { want[$1]; next } $1 in want { print $2, $3, $4 }' "$W/ids" -
}
load() { "$BIN/acceptscope-load" --port "$PORT" --connections "$CONNS" --duration "$SECS" --json; }
rps() { load | sed 's/.*"rps":\([0-9.]*\).*/\1/'; }

start_tracer() { # BACKEND
	"$BIN/acceptscope" --backend "$1" -P "$PORT" -i 1 >/dev/null 2>"$W/tracer.err" &
	HELD=$!
	wait_for 300 $HELD grep -q 'tracing;' "$W/tracer.err"
}
start_floor() { # PROG...
	"$BPFCOST" attach "$FLOOR" "$@" >"$W/floor.out" 2>&1 &
	HELD=$!
	wait_for 120 $HELD grep -q '^attached' "$W/floor.out"
}
stop_held() { kill -INT "$HELD"; wait "$HELD" || true; HELD=; }

# measure LABEL: one load window against what $HELD has attached; appends
# "NAME RUNS NS" lines to $W/LABEL.progs and the window's connections to $W/LABEL.conns.
measure() {
	prog_stats "$HELD" >"$W/before"
	_p0=$(passive_opens)
	load >/dev/null
	_p1=$(passive_opens)
	prog_stats "$HELD" >"$W/after"
	awk 'FILENAME == ARGV[1] { r[$1] = $2; t[$1] = $3; next } { print $1, $2 - r[$1], $3 - t[$1] }' \
		"$W/before" "$W/after" >>"$W/$1.progs"
	echo $((_p1 - _p0)) >>"$W/$1.conns"
}

# report LABEL: per program runs/connection and ns/run; prints the total ns/connection last.
report() {
	_conns=$(awk '{ s += $1 } END { print s }' "$W/$1.conns")
	awk -v c="$_conns" -v label="$1" '
		{ runs[$1] += $2; ns[$1] += $3; if (!($1 in seen)) { seen[$1]; order[n++] = $1 } }
		END {
			for (i = 0; i < n; i++) {
				p = order[i]; if (!runs[p]) continue
				if (p == "sample_listeners") {
					# Test-run by user space once per interval, whatever the load: not per connection.
					printf "    %-10s %-30s %6d runs      %7.0f us/run (once per interval, not in the total)\n",
						label, p, runs[p], ns[p] / runs[p] / 1000 > "/dev/stderr"
					continue
				}
				printf "    %-10s %-30s %6.2f runs/conn %7.0f ns/run %7.0f ns/conn\n", label, p,
					runs[p] / c, ns[p] / runs[p], ns[p] / c > "/dev/stderr"
				t += ns[p]
			}
			printf "%.0f\n", t / c
		}' "$W/$1.progs"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

while :; do
	PORT=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000))	# (ash and dash have no RANDOM)
	listening $PORT || break
done
"$BIN/acceptscope-demo" --model "$MODEL" --threads "$THREADS" --port "$PORT" --quiet --duration 36000 \
	>"$W/demo.log" 2>&1 </dev/null &
DEMO=$!
wait_for 30 $DEMO listening $PORT
say "model $MODEL, $THREADS threads, connection per request ($CONNS in flight), ${SECS}s windows"

for BACKEND in $BACKENDS; do
	rm -f "$W"/*.progs "$W"/*.conns "$W/pairs"
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	: >"$W/pairs"
	for i in $(seq "$PAIRS"); do
		_without=$(rps)
		start_tracer "$BACKEND"
		_with=$(rps)
		stop_held
		echo "$_with $_without" | awk '{ printf "%.4f\n", $1 / $2 }' >>"$W/pairs"
		echo "  pair $i: without $_without req/s, with $_with req/s" >&2
	done
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	same=
	for r in $(seq "$ROUNDS"); do
		start_tracer "$BACKEND"
		measure traced
		stop_held
		# The floor on the same hooks: the tracer's programs that ran, by name.
		# (sample_listeners runs once per interval, not per connection: it has none.)
		if [ -z "$same" ]; then
			"$BPFCOST" list "$FLOOR" >"$W/floor.names"
			same=$(awk 'FILENAME == ARGV[1] { have[$1]; next } $2 > 0 && $1 in have { print $1 }' \
				"$W/floor.names" "$W/traced.progs" | sort -u | tr '\n' ' ')
		fi
		start_floor $same
		measure same-hooks
		stop_held
		if [ "$BACKEND" = auto ] || [ "$BACKEND" = tracepoint ]; then
			# shellcheck disable=SC2086
			start_floor $FLOOR_PROGS
			measure floor
			stop_held
		fi
	done
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	plan=$(awk '$2 == "hook" { printf "%s%s=%s", sep, $3, $4; sep = " " }' "$W/tracer.err")
	say "backend $BACKEND ($plan), $ROUNDS rounds:"
	traced=$(report traced 2>"$W/lines"); same_ns=$(report same-hooks 2>>"$W/lines")
	floor_ns=
	[ -s "$W/floor.conns" ] && floor_ns=$(report floor 2>>"$W/lines")
	while IFS= read -r line; do say "$line"; done <"$W/lines"
	say "  BPF ns per connection: acceptscope $traced, empty programs on the same hooks $same_ns" \
		"(ratio $(awk -v a="$traced" -v b="$same_ns" 'BEGIN { printf "%.2f", a / b }'))"
	if [ -n "$floor_ns" ]; then
		say "  floor (issue 11's hook set, empty): $floor_ns ns per connection;" \
			"acceptscope / floor = $(awk -v a="$traced" -v b="$floor_ns" 'BEGIN { printf "%.2f", a / b }') (target <= 1.5)"
	fi
	if [ "$PAIRS" -gt 0 ]; then
		say "  throughput with/without, $PAIRS interleaved pairs: $(tr '\n' ' ' <"$W/pairs")->" \
			"median $(median <"$W/pairs") (target >= 0.98)"
	fi
done
