#!/usr/bin/env bash
# Throughput of each acceptscope-demo accept model relative to nginx, under the same wrk load.
#
# For each load mode (keep-alive, then a new connection per request) the runs alternate
# nginx, model 1, nginx, model 2, ..., nginx, and every model is compared with the nginx runs
# just before and after it, made under the same conditions seconds apart.  nginx runs from
# its own temporary prefix on a loopback port, with as many workers as the model has
# threads; it never touches the system nginx.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ACCEPTSCOPE_BIN:-$ROOT/build}
DEMO=$BIN/acceptscope-demo
# The models from the server's own table (--list-models: NAME<TAB>processes|threads<TAB>summary).
ALL_MODELS=()
if [[ -x $DEMO ]]; then
	mapfile -t ALL_MODELS < <("$DEMO" --list-models | cut -f1)
	((${#ALL_MODELS[@]})) || { echo "servers.sh: $DEMO --list-models listed no model" >&2; exit 1; }
fi

usage() {
	cat <<EOF
Usage: bench/servers.sh [--threads N] [--seconds S] [--models LIST] [--connections C] [--rounds R]

Run each acceptscope-demo model and nginx under the same wrk load, in two modes:
keep-alive, and a new connection per request (-H 'Connection: close').  Runs are
interleaved (nginx, model, nginx, model, ..., nginx); each model's requests per
second are shown as a ratio to the mean of the nginx runs around it.

  --threads N       server threads, and nginx workers (default 2)
  --seconds S       length of each run (default 5)
  --models LIST     comma-separated models (default: all of them when
                    $DEMO exists, else none: nginx only)
                    models: ${ALL_MODELS[*]:-(from $DEMO --list-models once built)}
  --connections C   wrk connections (default 64)
  --rounds R        repeat the whole sequence R times and keep median ratios
                    (default 1; runs on a small VM vary by 20% or more)
  -h, --help        show this help

EXAMPLES:
    bench/servers.sh                                   # all models, 2 threads, 5 s runs
    bench/servers.sh --models reuseport,shared-epoll --seconds 3
    bench/servers.sh --threads 4 --rounds 3
EOF
}

die_usage() { echo "servers.sh: $* (see --help)" >&2; exit 2; }
die() { echo "servers.sh: $*" >&2; exit 1; }
# number OPTION VALUE MAX: VALUE if it is a whole number from 1 to MAX, else a usage error.
number() {
	[[ $2 =~ ^[1-9][0-9]{0,5}$ ]] && (($2 <= $3)) && { echo "$2"; return; }
	die_usage "$1: '$2' is not a number from 1 to $3"
}

THREADS=2 SECS=5 CONNS=64 ROUNDS=1 MODELS_ARG=
while (($#)); do
	opt=$1
	case "$opt" in
	-h | --help) usage; exit 0 ;;
	--threads | --seconds | --models | --connections | --rounds)
		(($# >= 2)) || die_usage "option '$opt' needs a value"
		val=$2; shift 2 ;;
	--threads=* | --seconds=* | --models=* | --connections=* | --rounds=*)
		val=${opt#*=}; opt=${opt%%=*}; shift ;;
	*) die_usage "unknown argument '$opt'" ;;
	esac
	case "$opt" in
	--threads) THREADS=$(number "$opt" "$val" 256) ;;
	--seconds) SECS=$(number "$opt" "$val" 3600) ;;
	--connections) CONNS=$(number "$opt" "$val" 10000) ;;
	--rounds) ROUNDS=$(number "$opt" "$val" 100) ;;
	--models) MODELS_ARG=$val ;;
	esac
done

MODELS=()
if [[ -n $MODELS_ARG ]]; then
	IFS=, read -r -a MODELS <<<"$MODELS_ARG"
	[[ -x $DEMO ]] || die "$DEMO is not built (run make)"
	for m in "${MODELS[@]}"; do
		[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die_usage "--models: unknown model '$m' (models: ${ALL_MODELS[*]})"
	done
elif [[ -x $DEMO ]]; then
	MODELS=("${ALL_MODELS[@]}")
else
	echo "servers.sh: $DEMO is not built: measuring nginx alone" >&2
fi

command -v nginx >/dev/null || bash "$ROOT/scripts/deps.sh" bench
command -v wrk >/dev/null || bash "$ROOT/scripts/deps.sh"
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then die "nginx or wrk missing"; fi

TMP=$(mktemp -d /tmp/acceptscope-bench.XXXXXX)
SERVER_PID='' WRK_PID=''

# Stop the server we started (and, for nginx, its workers), by PID.
stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	local kids pid
	kids=$(pgrep -P "$SERVER_PID" || true)
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	for pid in $kids; do kill -KILL "$pid" 2>/dev/null || true; done
	SERVER_PID=
}
cleanup() {
	[[ -z $WRK_PID ]] || kill -TERM "$WRK_PID" 2>/dev/null || true
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port with no socket at all on it (not even TIME_WAIT left by an earlier run).
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 30000))
		ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { echo "$p"; return; }
	done
	die "no free port"
}

wait_listening() {
	local port=$1 deadline=$((SECONDS + 10))
	until ss -Htln "sport = :$port" | grep -q .; do
		kill -0 "$SERVER_PID" 2>/dev/null || die "$2 exited before listening: $(tail -n 3 "$TMP/server.log")"
		((SECONDS < deadline)) || die "$2 not listening on port $port after 10 s"
		sleep 0.05
	done
}

start_nginx() {
	local port=$1 prefix=$TMP/nginx
	mkdir -p "$prefix/logs"
	cat >"$prefix/nginx.conf" <<EOF
worker_processes $THREADS;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log;
daemon off;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $prefix/body;
	proxy_temp_path $prefix/proxy;
	fastcgi_temp_path $prefix/fastcgi;
	uwsgi_temp_path $prefix/uwsgi;
	scgi_temp_path $prefix/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port;	# backlog 511, as acceptscope-demo
		location / {
			add_header X-Worker \$pid;
			return 200 "ok";
		}
	}
}
EOF
	nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" >"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
}

start_demo() {
	"$DEMO" --model "$1" --threads "$THREADS" --port "$2" --quiet --duration $((SECS + 60)) \
		>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
}

# run_one SERVER MODE: start SERVER (nginx or a model), load it with wrk, stop it.
# Sets RUN_RPS and RUN_ERRS and reports progress; the wrk output is kept in $TMP/wrk.out.
run_one() {
	local server=$1 mode=$2 port
	local hdr=()
	[[ $mode == close ]] && hdr=(-H 'Connection: close')
	port=$(free_port)
	if [[ $server == nginx ]]; then start_nginx "$port"; else start_demo "$server" "$port"; fi
	wait_listening "$port" "$server"
	# In the background, so that a signal is handled at once rather than after wrk.
	wrk -t 1 -c "$CONNS" -d "${SECS}s" ${hdr[@]+"${hdr[@]}"} "http://127.0.0.1:$port/" >"$TMP/wrk.out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || die "wrk failed against $server: $(tail -n 3 "$TMP/wrk.out")"
	WRK_PID=
	stop_server
	RUN_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$TMP/wrk.out")
	[[ -n $RUN_RPS ]] || die "no result from wrk against $server: $(tail -n 3 "$TMP/wrk.out")"
	# Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses.
	RUN_ERRS=$(awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx/ { n += $NF } END { print n + 0 }' "$TMP/wrk.out")
	step=$((step + 1))
	printf '[%d/%d] %-10s %-17s %8s req/s%s\n' "$step" "$total" "$mode" "$server" "$RUN_RPS" \
		"$( ((RUN_ERRS)) && grep -E 'Socket errors|Non-2xx' "$TMP/wrk.out" | tr -s ' \n' ' ' | sed 's/^ */  wrk: /')" >&2
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A RPS NGINX RATIO ERRS NGINX_ALL RATIOS MVALS NVALS
MODES=(keepalive close)
total=$(( ${#MODES[@]} * (2 * ${#MODELS[@]} + 1) * ROUNDS ))
step=0

# One round of one mode: nginx, model 1, nginx, model 2, ..., nginx.  Each model is compared
# with the mean of the nginx runs on either side of it, which cancels slow drifts.
run_round() {
	local mode=$1 model prev m n ratio
	run_one nginx "$mode"
	prev=$RUN_RPS
	NGINX_ALL[$mode]+=" $prev"
	for model in ${MODELS[@]+"${MODELS[@]}"}; do
		run_one "$model" "$mode"
		m=$RUN_RPS
		ERRS[$model,$mode]=$(( ${ERRS[$model,$mode]:-0} + RUN_ERRS ))
		run_one nginx "$mode"
		NGINX_ALL[$mode]+=" $RUN_RPS"
		n=$(awk -v a="$prev" -v b="$RUN_RPS" 'BEGIN { printf "%.0f", (a + b) / 2 }')
		ratio=$(awk -v m="$m" -v n="$n" 'BEGIN { printf "%.3f", (n > 0) ? m / n : 0 }')
		MVALS[$model,$mode]+=" $m" NVALS[$model,$mode]+=" $n" RATIOS[$model,$mode]+=" $ratio"
		prev=$RUN_RPS
	done
}

for mode in "${MODES[@]}"; do
	for ((r = 0; r < ROUNDS; r++)); do run_round "$mode"; done
	for model in ${MODELS[@]+"${MODELS[@]}"}; do
		# shellcheck disable=SC2086 # word splitting of the space-separated lists is wanted
		RPS[$model,$mode]=$(median ${MVALS[$model,$mode]})
		# shellcheck disable=SC2086
		NGINX[$model,$mode]=$(median ${NVALS[$model,$mode]})
		# shellcheck disable=SC2086
		RATIO[$model,$mode]=$(median ${RATIOS[$model,$mode]})
	done
done

# "min-max (median)" of a space-separated list.
spread() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s-%s (median %s)", v[1], v[NR], (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
echo "acceptscope-demo vs nginx: $THREADS threads / workers, wrk -t1 -c$CONNS, ${SECS} s per run, $ROUNDS round(s), $(nproc) CPUs"
# shellcheck disable=SC2086
echo "nginx req/s over all its runs: keep-alive $(spread ${NGINX_ALL[keepalive]}), conn/req $(spread ${NGINX_ALL[close]})"
((${#MODELS[@]})) || exit 0
printf '%-18s | %10s %10s %6s | %10s %10s %6s\n' "" "keep-alive" "" "" "conn/req" "" ""
printf '%-18s | %10s %10s %6s | %10s %10s %6s\n' model "req/s" "nginx" ratio "req/s" "nginx" ratio
printf -- '-------------------+-------------------------------+------------------------------\n'
for model in "${MODELS[@]}"; do
	row=$(printf '%-18s' "$model")
	for mode in "${MODES[@]}"; do
		mark=' '
		((ERRS[$model,$mode] == 0)) || mark='*'
		row+=$(printf ' | %10s %10s %5.2f%s' "${RPS[$model,$mode]}" "${NGINX[$model,$mode]}" \
			"${RATIO[$model,$mode]}" "$mark")
	done
	echo "$row"
done
echo "(nginx = mean of the nginx runs just before and just after the model's run; ratio = req/s / nginx;"
echo " medians over the rounds; * = wrk saw socket errors or non-2xx responses)"
