#!/usr/bin/env bash
# The tracer's other views against ground truth: --trace (one queued, accepted and first-read
# line per connection, by the thread the server says), -p PID, a listener that existed before
# the tracer started (found by the iter/tcp sample, its queue depth equal to ss's Recv-Q),
# IPv6, and the fairness figures recomputed from the server's own counters.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
require_bpf

# --- a listener already there, with connections waiting unaccepted ---
PORT=$(free_port)
# A backlog of 16 and an acceptor asleep for 10 s before its first accept: 5 connections wait.
start_demo "$TMP/stats0.json" --model single --backlog 16 --accept-delay-us 10000000
for _ in 1 2 3 4 5; do exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; done
recvq() { ss -Htln "sport = :$PORT" | awk '{ print $2 }'; }
five_queued() { [[ $(recvq) == 5 ]]; }
wait_until 10 "5 connections queued" five_queued
one_sample "$TMP/t0.json" "$TMP/t0.err" "$PORT"
assert_eq "pre-existing listener found, depth = ss Recv-Q" "$(recvq)" "$(listener_field "$PORT" depth)"
assert_eq "its backlog = ss Send-Q" "$(ss -Htln "sport = :$PORT" | awk '{ print $3 }')" "$(listener_field "$PORT" backlog)"
assert_eq "its owner" "$DEMO_PID" "$(listener_field "$PORT" pid)"
assert_eq "its inode = ss -e ino" "$(ss -Htlne "sport = :$PORT" | grep -o 'ino:[0-9]*' | cut -d: -f2)" \
	"$(listener_field "$PORT" inode)"
kill -KILL "$DEMO_PID"

# --- a listener created after the start, idle, in another network namespace: sampled too ---
own_netns acceptscope-v
PORT=$(free_port)
start_tracer "$TMP/t1.json" "$TMP/t1.err" -P "$PORT" -i 0.2
spawn "$TMP/ns-demo.log" ip netns exec "$NS" "$BIN/acceptscope-demo" --model single --port "$PORT" --backlog 7 --duration 60 --quiet
wait_until 20 "demo listening in $NS" ip netns exec "$NS" ss -Htln "sport = :$PORT"
sampled() { grep -q "\"netns\":$NETNS_INO" "$TMP/t1.json"; }
wait_until 10 "the new listener in a sample" sampled
stop_tracer "$TMP/t1.json" "$TMP/t1.err"
s=$(summary "$TMP/t1.json")
assert_eq "new idle listener in $NS: backlog" 7 \
	"$(jq --argjson ns "$NETNS_INO" '.listeners[] | select(.netns == $ns) | .backlog' <<<"$s")"
assert_eq "its depth" 0 "$(jq --argjson ns "$NETNS_INO" '.listeners[] | select(.netns == $ns) | .depth' <<<"$s")"

# --- --trace: every connection queued, accepted and read, by the right threads ---
PORT=$(free_port)
N=200
"$BIN/acceptscope" --trace --json -P "$PORT" >"$TMP/trace.json" 2>"$TMP/trace.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope --trace to attach" grep -q 'tracing;' "$TMP/trace.err"
start_demo "$TMP/stats1.json" --model dispatch --threads 2
"$BIN/acceptscope-load" --port "$PORT" --requests "$N" --connections 4 --json >"$TMP/load1.json"
stop_demo "$TMP/stats1.json"
kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "--trace exit status" 0 "$WAIT_STATUS"
count() { jq -s --arg e "$1" '[.[] | select(.event? == $e)] | length' "$TMP/trace.json"; }
assert_eq "queued events" "$N" "$(count queued)"
assert_eq "accepted events" "$N" "$(count accepted)"
assert_eq "first-read events" "$N" "$(count read)"
assert_eq "accepted events by the acceptor thread" "$N" \
	"$(jq -s --argjson t "$(jq '.threads[] | select(.role == "acceptor") | .tid' "$TMP/stats1.json")" \
		'[.[] | select(.event? == "accepted" and .tid == $t)] | length' "$TMP/trace.json")"
# Each child: queued, then accepted, then read, and the reads by worker threads as many as the server's reads.
assert_eq "children seen in all three stages" "$N" \
	"$(jq -s '[.[] | select(.child?)] | group_by([.child, .peer_port]) | map(select(sort_by(.time_s) | map(.event) == ["queued","accepted","read"])) | length' "$TMP/trace.json")"
assert_eq "first reads per worker = connections per worker" \
	"$(jq -c '[.threads[] | select(.role == "worker") | {tid, n: .requests}] | sort_by(.tid)' "$TMP/stats1.json")" \
	"$(jq -s -c '[.[] | select(.event? == "read")] | group_by(.tid) | map({tid: .[0].tid, n: length}) | sort_by(.tid)' "$TMP/trace.json")"

# --- -p PID: only that process's listeners and threads; IPv6; Jain from the server's counters ---
PORT=$(free_port)
start_tracer "$TMP/t2.json" "$TMP/t2.err" -p $$ -i 1   # nobody's listener yet: -p of this shell
stop_tracer "$TMP/t2.json" "$TMP/t2.err"
start_demo "$TMP/stats2.json" --model shared-blocking --threads 4 --addr ::1
spawn "$TMP/other.log" "$BIN/acceptscope-demo" --model single --port "$(free_port)" --duration 60 --quiet
start_tracer "$TMP/t3.json" "$TMP/t3.err" -p "$DEMO_PID" -i 1
"$BIN/acceptscope-load" --host ::1 --port "$PORT" --requests 1000 --connections 8 --json >"$TMP/load3.json"
stop_demo "$TMP/stats2.json"
stop_tracer "$TMP/t3.json" "$TMP/t3.err"
s=$(summary "$TMP/t3.json")
assert_eq "-p: only the chosen process's listener" "[$PORT]" "$(jq -c '[.listeners[].port]' <<<"$s")"
assert_eq "IPv6 address" '"::1"' "$(jq '.listeners[0].addr' <<<"$s")"
assert_eq "IPv6 accepted = connections" "$(jq .connections "$TMP/load3.json")" "$(jq '.listeners[0].accepted' <<<"$s")"
server=$(server_threads "$TMP/stats2.json"); tracer=$(tracer_threads "$s" "$PORT")
[[ $server == "$tracer" ]] || fail "IPv6 per-thread counts differ: server $server / tracer $tracer"
jain=$(jq '[.threads[].accepts] as $a | ($a | add) as $s | ($a | map(. * .) | add) as $q | ($s * $s) / (($a | length) * $q)' "$TMP/stats2.json")
assert_eq "Jain's index of accepts, from the server's counters" "$(printf '%.6f' "$jain")" \
	"$(printf '%.6f' "$(jq '.ports[0].jain' <<<"$s")")"
busiest=$(jq '[.threads[].accepts] | max / add' "$TMP/stats2.json")
assert_eq "busiest thread's share, from the server's counters" "$(printf '%.6f' "$busiest")" \
	"$(printf '%.6f' "$(jq '.ports[0].busiest_share' <<<"$s")")"

# --- --hist: the depth histogram at exit counts every enqueue, the wait one every accept ---
PORT=$(free_port)
"$BIN/acceptscope" --hist -P "$PORT" -i 60 >"$TMP/hist.txt" 2>"$TMP/hist.err" &
TRACER_PID=$!; _PIDS+=("$TRACER_PID")
wait_until 60 "acceptscope --hist to attach" grep -q 'tracing;' "$TMP/hist.err"
start_demo "$TMP/stats4.json" --model single
"$BIN/acceptscope-load" --port "$PORT" --requests 300 --connections 4 --json >"$TMP/load4.json"
kill -INT "$TRACER_PID"; wait_exit 30 "$TRACER_PID" >/dev/null
assert_eq "--hist exit status" 0 "$WAIT_STATUS"
# Sum the count column of each histogram block (bcc style: "low -> high : count |stars|").
hist_total() { awk -v h="$1" '$0 ~ h" +: count" { on = 1; next } on && / -> / { split($0, a, ":"); s += a[2] + 0; next } on { on = 0 } END { print s + 0 }' "$TMP/hist.txt"; }
assert_eq "depth histogram counts every enqueue" 300 "$(hist_total depth)"
# Waits are measured for accepts whose enqueue was seen: not those that beat the listener's
# wake-up to the queue on another CPU.  The table says how many were seen.
seen=$(grep -o 'wait ([0-9]* seen)' "$TMP/hist.txt" | tail -n 1 | grep -o '[0-9]*')
assert_ge "waits seen (of 300 accepts)" 250 "$seen"
assert_eq "wait histogram counts every wait seen" "$seen" "$(hist_total 'wait usecs')"

# --- SYN queue: handshakes held back by TCP_DEFER_ACCEPT stay request sockets, as ss shows ---
PORT=$(free_port)
cat >"$TMP/defer.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 30)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(60)
PY
spawn "$TMP/defer.log" python3 "$TMP/defer.py" "$PORT"
wait_until 10 "deferring listener" listening "$PORT"
# Clients that complete their side of the handshake and send nothing: the final ACK is
# dropped and each request socket waits in the listener's SYN queue.
spawn "$TMP/clients.log" python3 -c '
import socket, sys, time
cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(5)]
time.sleep(60)' "$PORT"
synrecv() { ss -Htan state syn-recv "sport = :$PORT" | wc -l; }
five_pending() { [[ $(synrecv) == 5 ]]; }
wait_until 10 "5 handshakes in the SYN queue" five_pending
one_sample "$TMP/t5.json" "$TMP/t5.err" "$PORT"
assert_eq "SYN queue = ss state syn-recv" "$(synrecv)" "$(listener_field "$PORT" syn_queue)"
assert_eq "accept queue meanwhile (ss Recv-Q)" "$(ss -Htln "sport = :$PORT" | awk '{ print $2 }')" \
	"$(listener_field "$PORT" depth)"
