# vmtest-timeout: 400
# SYN arrivals in --trace on Debian's stock 6.1 (the auto backend: the overflow hook's kprobe
# on tcp_conn_request emits them): one syn record per connection, before its queued record,
# from the same peer port, in the JSON trace and in the --timeline page (data-syn-seen, the
# SYN count, each connection drawn from its SYN).  Runs in the guest (busybox ash) with jq.
W=/tmp/trace_syn
mkdir -p $W
CONNS=60
PORT=$(free_port)
acceptscope --trace --json --backend auto -P $PORT --timeline $W/t.html -d 600 >$W/t.json 2>$W/t.err </dev/null &
TRACER=$!
wait_alive $TRACER $W/t.err 300 "acceptscope --trace to attach" grep -q 'tracing;' $W/t.err
grep -q 'sees SYN arrivals' $W/t.err && fail "the tracer says it cannot see SYNs: $(cat $W/t.err)"
spawn $W/demo.log acceptscope-demo --model dispatch --threads 2 --port $PORT --stats $W/stats.json --duration 600 --quiet
DEMO=$SPAWNED_PID
wait_alive $DEMO $W/demo.log 30 "demo listening on $PORT" listening $PORT
acceptscope-load --port $PORT --requests $CONNS --connections 2 --json >$W/load.json </dev/null || fail "load failed"
kill -TERM $DEMO
wait $DEMO || fail "demo exited with $?"
kill -INT $TRACER
wait $TRACER || fail "acceptscope exited with $?: $(tail -n 3 $W/t.err)"
grep -q "timeline written to $W/t.html" $W/t.err || fail "no timeline written: $(tail -n 3 $W/t.err)"

_conns=$(jq .connections $W/load.json)
_count() { jq -s --arg e "$1" '[.[] | select(.event? == $e)] | length' $W/t.json; }
_syns=$(_count syn) _queued=$(_count queued)
[ "$_queued" = "$_conns" ] || fail "$_queued queued records for $_conns connections"
[ "$_syns" -ge "$_queued" ] || fail "$_syns SYN records for $_queued connections"
# Each queued connection: a SYN from its peer port on its listener before it, with the queue's state.
_linked=$(jq -s '[.[] | select(.event? == "syn" or .event? == "queued")] | group_by([.listener, .peer_port])
	| map(sort_by(.time_s) | map(.event) | select(index("syn") != null and index("queued") != null
		and index("syn") < index("queued"))) | length' $W/t.json)
[ "$_linked" = "$_conns" ] || fail "$_linked of $_conns connections have a SYN before their enqueue"
jq -s -e '[.[] | select(.event? == "syn")] | all(has("syn_queue") and has("depth") and has("backlog") and (has("child") | not))' \
	$W/t.json >/dev/null || fail "syn records lack syn_queue, depth or backlog (or name a child)"
# The page: SYNs seen, counted, each connection drawn from its SYN.
_summary=$(grep -o '<p id="summary"[^>]*>' $W/t.html)
case $_summary in *'data-syn-seen="true"'*) ;; *) fail "the page says SYNs are not seen: $_summary" ;; esac
case $_summary in *"data-syns=\"$_syns\""*) ;; *) fail "the page counts other SYNs than the trace's $_syns: $_summary" ;; esac
_drawn=$(grep -o '<g class="conn"[^>]* data-syn="[^"]*"' $W/t.html | wc -l)
[ "$_drawn" = "$_conns" ] || fail "$_drawn connections drawn from a SYN, $_conns made"
grep -q 'id="syn-note">SYN arrivals come from' $W/t.html || fail "the page's SYN note does not say where they come from"
info "auto: $_syns SYN records for $_conns connections, each before its enqueue from its peer port; the timeline draws each from its SYN"
