#!/usr/bin/env bash
# Overhead of acceptscope on a saturated demo server, connection per request.
# Interleaved runs with and without the tracer attached; prints requests/s of each and the
# ratio, then the average run time per BPF program invocation (kernel.bpf_stats_enabled).
# Targets: ratio >= 0.98, <= 150 ns per invocation.
# Usage: bench/overhead.sh [--model M] [--threads N] [--seconds S] [--rounds R] [--backend B]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACCEPTSCOPE_BIN:-build}
MODEL=shared-epoll THREADS=2 SECONDS_PER_RUN=5 ROUNDS=3 BACKEND=auto
while (($#)); do
	case $1 in
	--model) MODEL=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--seconds) SECONDS_PER_RUN=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--backend) BACKEND=$2; shift 2 ;;
	*) echo "overhead.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ $(id -u) == 0 ]] || { echo "overhead.sh: needs root (BPF)" >&2; exit 2; }
command -v wrk >/dev/null || bash scripts/deps.sh
while :; do  # below the ephemeral range, and unused
	PORT=$((10000 + RANDOM % 22000))
	ss -Htan "sport = :$PORT" | grep -q . || break
done
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; sysctl -qw kernel.bpf_stats_enabled=0; }
trap cleanup EXIT

"$BIN/acceptscope-demo" --model "$MODEL" --threads "$THREADS" --port "$PORT" --quiet --duration 3600 &
pids+=($!)
for _ in $(seq 100); do ss -Htln "sport = :$PORT" | grep -q . && break; sleep 0.05; done
ss -Htln "sport = :$PORT" | grep -q . || { echo "overhead.sh: the demo server did not start" >&2; exit 1; }

rps() { wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" -H 'Connection: close' "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ { print $2 }'; }

start_tracer() {
	"$BIN/acceptscope" --backend "$BACKEND" -i 3600 >"$TMP/t.out" 2>"$TMP/t.err" &
	tracer=$!; pids+=("$tracer")
	for _ in $(seq 600); do grep -q 'tracing;' "$TMP/t.err" && break; sleep 0.05; done
}

# Throughput with statistics off: timing every program run costs time of its own.
without=() with=()
for r in $(seq "$ROUNDS"); do
	without+=("$(rps)")
	start_tracer
	with+=("$(rps)")
	kill -INT "$tracer"; wait "$tracer" || true
	echo "round $r: without ${without[-1]} req/s, with ${with[-1]} req/s" >&2
done

# Then one run with kernel.bpf_stats_enabled=1 for run_time_ns / run_cnt per program.
sysctl -qw kernel.bpf_stats_enabled=1
start_tracer
rps >/dev/null
bpftool -j prog show | jq -r '.[] | select(.run_cnt != null and .run_cnt > 0)
	| select(.name | test("accept|syn_recv|data_ready|recv|conn_request|kfree|set_state"))
	| "\(.name) \(.run_time_ns) \(.run_cnt)"' >"$TMP/progs"
kill -INT "$tracer"; wait "$tracer" || true
sysctl -qw kernel.bpf_stats_enabled=0

mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
w=$(mean "${with[@]}"); wo=$(mean "${without[@]}")
echo "model $MODEL, $THREADS threads, connection per request, $ROUNDS x ${SECONDS_PER_RUN}s interleaved"
echo "requests/s without acceptscope: $wo"
echo "requests/s with acceptscope:    $w"
awk -v a="$w" -v b="$wo" 'BEGIN { printf "ratio with/without: %.3f (target >= 0.98)\n", a / b }'
echo "BPF programs (a separate run with kernel.bpf_stats_enabled=1):"
awk '{ printf "  %-32s %10d runs %8.0f ns/run\n", $1, $3, $2 / $3; t += $2; n += $3 }
     END { if (n) printf "  %-32s %10d runs %8.0f ns/run (target <= 150)\n", "all", n, t / n }' "$TMP/progs"
