#!/usr/bin/env bash
# A real server: nginx with accept_mutex on and 3 worker processes at light load.  Only the
# holder of the accept mutex has the listener in its epoll, and it holds the mutex while it
# waits, so the connections go to one worker at a time: the tracer must find an imbalance and
# name that pattern (one thread at a time, or the same one), with figures equal to the
# client's own tally of the X-Worker header (nginx's $pid) per worker.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tracer/lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || fail "nginx not installed (scripts/deps.sh installs nginx-light)"

PORT=$(free_port)
prefix=$TMP/nginx
mkdir -p "$prefix/logs"
cat >"$prefix/nginx.conf" <<EOF
worker_processes 3;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log;
daemon off;
events { worker_connections 1024; accept_mutex on; }
http {
	access_log off;
	client_body_temp_path $prefix/body;
	proxy_temp_path $prefix/proxy;
	fastcgi_temp_path $prefix/fastcgi;
	uwsgi_temp_path $prefix/uwsgi;
	scgi_temp_path $prefix/scgi;
	server {
		listen 127.0.0.1:$PORT;
		location / {
			add_header X-Worker \$pid;
			return 200 "ok";
		}
	}
}
EOF
spawn "$TMP/nginx.log" "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log"
NGINX_PID=$SPAWNED_PID
wait_until 20 "nginx listening on $PORT" listening "$PORT"
three_workers() { (($(pgrep -c -P "$NGINX_PID") == 3)); }
wait_until 20 "nginx's 3 workers" three_workers
workers=$(pgrep -P "$NGINX_PID" | sort -n | paste -sd' ')
log "nginx $NGINX_PID, workers $workers"

start_tracer "$TMP/t.json" "$TMP/t.err" -P "$PORT" -i 1
"$BIN/acceptscope-load" --port "$PORT" --connections 2 --duration 4 --json >"$TMP/load.json"
stop_tracer "$TMP/t.json" "$TMP/t.err"
kill -QUIT "$NGINX_PID"	# graceful: the workers finish, then the master exits
wait_exit 20 "$NGINX_PID" >/dev/null
S=$(summary "$TMP/t.json")
conns=$(jq .connections "$TMP/load.json")
assert_eq "client errors" 0 "$(jq .errors.total "$TMP/load.json")"

# Ground truth: a new connection per request, so the worker that answered is the one that
# accepted (each worker is a single-threaded process: its tid is its pid).
tally=$(jq -r '.workers | to_entries[] | "\(.key) \(.value)"' "$TMP/load.json" | sort -n)
traced=$(jq -r --argjson p "$PORT" '.ports[] | select(.port == $p) | .threads[] | select(.accepts > 0) | "\(.tid) \(.accepts)"' \
	<<<"$S" | sort -n)
assert_eq "accepts per worker = the client's X-Worker tally" "$tally" "$traced"
log "per interval (tid:accepts): $(jq -r --argjson p "$PORT" 'select(.summary == false) | [.ports[] | select(.port == $p)
	| .threads[] | select(.accepts > 0) | "\(.tid):\(.accepts)"] | join(" ")' "$TMP/t.json" | paste -sd'|')"

f=$(jq -c --argjson p "$PORT" '[.findings[] | select(.port == $p and .kind == "imbalance")] | first // empty' <<<"$S")
[[ -n $f ]] || fail "no imbalance in the summary: $(kinds "$TMP/t.json" "$PORT")"
log "finding: $(jq -r .text <<<"$f")"
cause=$(jq -r .cause <<<"$f")
[[ $cause == accept_turns || $cause == exclusive_wakeups ]] || fail "imbalance cause: $cause"
log "cause = $cause"
counts=$(cut -d' ' -f2 <<<"$tally" | paste -sd' ')
assert_eq "accepts = client connections" "$conns" "$(jq .evidence.accepts <<<"$f")"
assert_eq "threads = the workers that answered" "$(wc -w <<<"$counts")" "$(jq .evidence.threads <<<"$f")"
near "Jain = the tally's" "$(jain_of "$counts")" "$(jq .evidence.jain <<<"$f")" 1e-6
busiest=$(sort -k2 -n <<<"$tally" | tail -n 1)
assert_eq "the worker named = the one that answered most" "${busiest%% *}" "$(jq .tid <<<"$f")"
near "busiest share = the tally's" "$(awk -v b="${busiest##* }" -v n="$conns" 'BEGIN { printf "%.9f", b / n }')" \
	"$(jq .evidence.busiest_share <<<"$f")" 1e-8
