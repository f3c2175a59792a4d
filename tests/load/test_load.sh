#!/usr/bin/env bash
# acceptscope-load against a tiny Perl HTTP server (no nginx needed): exact request and
# connection counts, error kinds, the --rate schedule, the X-Worker histogram, bad arguments;
# and against a hostile Python one whose X-Worker values must reach no terminal raw.
. "$(dirname "$0")/../lib.sh"

LOAD=$BIN/acceptscope-load
[[ -x $LOAD ]] || fail "$LOAD not built"
command -v jq >/dev/null || skip "jq not installed"

# The server answers GET with "ok" and "X-Worker: 100 + (connection number % 3)", so a
# connection-per-request run gets an exactly predictable worker histogram.
# Modes: ok, status (503), chunked, eof (no length, close), close (Connection: close on every
# response), reset (RST on accept), silent (never accepts).
cat >"$TMP/server.pl" <<'EOF'
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);

my ($port, $mode) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 128,
			      ReuseAddr => 1) or die "listen: $!";
$SIG{TERM} = sub { exit 0 };
$SIG{PIPE} = 'IGNORE';
if ($mode eq 'silent') { sleep 1 while 1 }
$l->blocking(0);
my $sel = IO::Select->new($l);
my (%conns, $accepted);

sub respond {
	my ($c, $worker, $req) = @_;
	my $close = $req =~ /^connection:\s*close/mi;
	my $code = $mode eq 'status' ? '503 Busy' : '200 OK';
	my $r = "HTTP/1.1 $code\r\nX-Worker: $worker\r\n";
	if ($mode eq 'chunked') {
		$r .= "Transfer-Encoding: chunked\r\n\r\n1\r\no\r\n1;ext=1\r\nk\r\n0\r\nX-Trailer: 1\r\n\r\n";
	} elsif ($mode eq 'eof') {
		$r .= "\r\nok";
		$close = 1;
	} elsif ($mode eq 'close') {
		$r .= "Content-Length: 2\r\nConnection: close\r\n\r\nok";
		$close = 1;
	} else {
		$r .= "Content-Length: 2\r\n\r\nok";
	}
	syswrite($c, $r);
	return $close;
}

while (1) {
	for my $s ($sel->can_read) {
		if ($s == $l) {
			while (my $c = $l->accept) {
				$accepted++;
				if ($mode eq 'reset') {
					setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
					close $c;
					next;
				}
				$conns{fileno $c} = { buf => '', worker => 100 + $accepted % 3 };
				$sel->add($c);
			}
			next;
		}
		my $st = $conns{fileno $s};
		my $n = sysread($s, my $data, 4096);
		my $close = !$n;
		$st->{buf} .= $data if $n;
		while (!$close && $st->{buf} =~ s/^(.*?\r\n\r\n)//s) {
			$close = respond($s, $st->{worker}, $1);
		}
		if ($close) {
			delete $conns{fileno $s};
			$sel->remove($s);
			close $s;
		}
	}
}
EOF

# start_server MODE [PROGRAM...]: start PROGRAM (default: the Perl server) with PORT MODE on
# a free port; sets PORT.  Another port is tried if the bind fails (free_port only checks
# for listeners; a client may hold the port).
server_up_or_gone() { listening "$PORT" || ! kill -0 "$SERVER_PID" 2>/dev/null; }
start_server() {
	local mode=$1 log=$TMP/server-$1.log
	shift
	local prog=("$@")
	((${#prog[@]})) || prog=(perl "$TMP/server.pl")
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		spawn "$log" "${prog[@]}" "$PORT" "$mode"
		SERVER_PID=$SPAWNED_PID
		wait_until 10 "test server ($mode) listening on $PORT" server_up_or_gone
		listening "$PORT" && return
		log "test server ($mode) failed on port $PORT: $(tail -n 1 "$log")"
	done
	fail "test server ($mode) could not start"
}

# run NAME ARGS...: run the load generator with --json; the result goes to $TMP/NAME.json.
run() {
	local name=$1; shift
	local rc=0
	timeout 30 "$LOAD" --json "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
	((rc == 0)) || { cat "$TMP/$name.err" >&2; fail "$name: exit $rc"; }
	log "$name: $(cat "$TMP/$name.json")"
}
get() { local name=$1; shift; jq -r "$@" "$TMP/$name.json"; }

# Invariant: every request sent ends as an answer or exactly one non-http error.
check_balance() {
	local sent accounted
	sent=$(get "$1" .sent)
	accounted=$(get "$1" '.answered + .errors.total - .errors.http + .aborted')
	assert_eq "$1: sent = answered + non-http errors + aborted" "$sent" "$accounted"
}

# --- connection per request: exact counts, exact worker histogram ---
start_server ok
OK_PORT=$PORT
run close -p "$PORT" -n 1000 -c 8
assert_eq "close: sent" 1000 "$(get close .sent)"
assert_eq "close: answered" 1000 "$(get close .answered)"
assert_eq "close: connections" 1000 "$(get close .connections)"
assert_eq "close: errors" 0 "$(get close .errors.total)"
assert_eq "close: workers sum to answered" 1000 "$(get close '[.workers[]] | add')"
assert_eq "close: workers" '{"100":333,"101":334,"102":333}' "$(get close -c .workers)"
assert_eq "close: latency samples" 1000 "$(get close .latency_us.count)"
assert_eq "close: connect samples" 1000 "$(get close .connect_us.count)"
jq -e '.latency_us | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .p999 and .p999 <= .max and .max > 0' \
	"$TMP/close.json" >/dev/null || fail "latency percentiles out of order"
jq -e '.rps > 0 and .duration_s > 0' "$TMP/close.json" >/dev/null || fail "no rps/duration"

# --- keep-alive: C connections carry all requests ---
run keepalive -p "$PORT" -n 600 -c 4 --keepalive
assert_eq "keepalive: sent" 600 "$(get keepalive .sent)"
assert_eq "keepalive: answered" 600 "$(get keepalive .answered)"
assert_eq "keepalive: connections" 4 "$(get keepalive .connections)"
assert_eq "keepalive: workers sum to answered" 600 "$(get keepalive '[.workers[]] | add')"
check_balance keepalive

# --- open loop: R per second for S seconds ---
run rate -p "$PORT" --rate 200 --duration 2
sent=$(get rate .sent)
assert_ge "rate: sent" 398 "$sent"
assert_le "rate: sent" 402 "$sent"
assert_eq "rate: connections = sent" "$sent" "$(get rate .connections)"
assert_eq "rate: answered = sent" "$sent" "$(get rate .answered)"
assert_eq "rate: not started" 0 "$(get rate .not_started)"
jq -e '.duration_s >= 1.9 and .duration_s < 3' "$TMP/rate.json" >/dev/null ||
	fail "rate: duration $(get rate .duration_s) is not about 2 s"

# --- response framings: chunked, and a body delimited by close ---
start_server chunked
run chunked -p "$PORT" -n 200 -k -c 2
assert_eq "chunked: answered" 200 "$(get chunked .answered)"
assert_eq "chunked: connections" 2 "$(get chunked .connections)"
assert_eq "chunked: errors" 0 "$(get chunked .errors.total)"
start_server eof
run eof -p "$PORT" -n 100 -k -c 2
assert_eq "eof: answered" 100 "$(get eof .answered)"
assert_eq "eof: a connection per response" 100 "$(get eof .connections)"
assert_eq "eof: errors" 0 "$(get eof .errors.total)"
start_server close
run srvclose -p "$PORT" -n 100 -k -c 2
assert_eq "server closes: answered" 100 "$(get srvclose .answered)"
assert_eq "server closes: a connection per response" 100 "$(get srvclose .connections)"
assert_eq "server closes: errors" 0 "$(get srvclose .errors.total)"

# --- errors by kind ---
start_server status
run status -p "$PORT" -n 100
assert_eq "status: answered" 100 "$(get status .answered)"
assert_eq "status: http errors" 100 "$(get status .errors.http)"
assert_eq "status: 503s" 100 "$(get status '.status["503"]')"

start_server reset
run reset -p "$PORT" -n 100
assert_eq "reset: reset errors" 100 "$(get reset .errors.reset)"
assert_eq "reset: answered" 0 "$(get reset .answered)"
check_balance reset

start_server silent
SILENT_PORT=$PORT
run silent -p "$PORT" -n 4 -c 4 --timeout 0.3
assert_eq "silent: timeouts" 4 "$(get silent .errors.timeout)"
assert_eq "silent: connections" 4 "$(get silent .connections)"
check_balance silent

NOBODY=$(free_port)
run refused -p "$NOBODY" -n 50 -c 4
assert_eq "refused: sent" 50 "$(get refused .sent)"
assert_eq "refused: refused" 50 "$(get refused .errors.refused)"
assert_eq "refused: total errors" 50 "$(get refused .errors.total)"
assert_eq "refused: connections" 0 "$(get refused .connections)"
assert_eq "refused: workers" '{}' "$(get refused -c .workers)"
run refused6 -H ::1 -p "$NOBODY" -n 5 -k
assert_eq "refused (::1, keep-alive): refused" 5 "$(get refused6 .errors.refused)"
run refused_rate -H localhost -p "$NOBODY" -r 100 -n 20
assert_eq "refused (--rate): refused" 20 "$(get refused_rate .errors.refused)"
run refused_duration -p "$NOBODY" -d 0.3
assert_ge "refused (--duration): sent" 1 "$(get refused_duration .sent)"
assert_eq "refused (--duration): all refused" "$(get refused_duration .sent)" "$(get refused_duration .errors.refused)"
jq -e '.duration_s < 2' "$TMP/refused_duration.json" >/dev/null || fail "refused (--duration) ran too long"

# --- SIGINT: stops at once, reports what was in flight as aborted, exits 0 ---
spawn "$TMP/interrupted.out" "$LOAD" --json -p "$SILENT_PORT" -d 30 -c 2 -t 60
INT_PID=$SPAWNED_PID
load_connected() { (($(ss -Htnp state established "dport = :$SILENT_PORT" | grep -c "pid=$INT_PID,") == 2)); }
wait_until 10 "2 connections from the load generator" load_connected
kill -INT "$INT_PID"
# Not $(wait_exit ...): in a command substitution the PID is not a child and its status is lost.
wait_exit 5 "$INT_PID" >"$TMP/interrupted.rc"
assert_eq "SIGINT: exit status" 0 "$(cat "$TMP/interrupted.rc")"
assert_eq "SIGINT: aborted" 2 "$(jq -r .aborted "$TMP/interrupted.out")"

# --- text output mentions the essentials ---
"$LOAD" -p "$OK_PORT" -n 20 >"$TMP/text.out"
for word in sent answered connections refused latency connect workers; do
	grep -q "$word" "$TMP/text.out" || fail "text output lacks '$word'"
done

# --- a hostile server: X-Worker values are shown escaped, in text and JSON ---
# Connection by connection it names its worker with terminal escapes (set the window title,
# clear the screen) and invalid UTF-8, then with a valid UTF-8 name, which must pass as is.
PYTHON=$(command -v /usr/bin/python3 || command -v python3) || fail "python3 not installed"
cat >"$TMP/hostile.py" <<'EOF'
import socket
import sys

NAMES = [b"\x1b]0;pwn\x07\x1b[2J\xff\xfe", "W\u00f6rker-\u00fc".encode()]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(64)
for n in range(10**9):
    c, _ = l.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        data = c.recv(4096)
        if not data:
            break
        req += data
    c.sendall(b"HTTP/1.1 200 OK\r\nX-Worker: " + NAMES[n % 2] + b"\r\nContent-Length: 2\r\n\r\nok")
    c.close()
EOF
start_server hostile "$PYTHON" "$TMP/hostile.py"
ESCAPED='\x1b]0;pwn\x07\x1b[2J\xff\xfe'
"$LOAD" -p "$PORT" -n 4 -c 1 >"$TMP/hostile.out" || fail "hostile: exit $?"
assert_eq "hostile text: ESC and BEL bytes" 0 "$(tr -dc '\033\007' <"$TMP/hostile.out" | wc -c)"
grep -qF -- "  $ESCAPED " "$TMP/hostile.out" || fail "hostile text lacks $ESCAPED: $(cat -v "$TMP/hostile.out")"
grep -qF -- "  Wörker-ü " "$TMP/hostile.out" || fail "hostile text lacks Wörker-ü: $(cat -v "$TMP/hostile.out")"
grep -qF "2 distinct X-Worker values" "$TMP/hostile.out" || fail "hostile: not 2 distinct workers"
run hostile -p "$PORT" -n 4 -c 1
# Strictly: bytes to str as UTF-8 (an error on any invalid byte), then JSON.
"$PYTHON" -c '
import json, sys
workers = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))["workers"]
want = {sys.argv[2]: 2, "W\u00f6rker-\u00fc": 2}
sys.exit(0 if workers == want else "workers %r, wanted %r" % (workers, want))
' "$TMP/hostile.json" "$ESCAPED" || fail "hostile: JSON workers wrong"
log "hostile: JSON workers $(jq -c .workers "$TMP/hostile.json")"

# --- arguments ---
rc=0
"$LOAD" --help >"$TMP/help.out" 2>"$TMP/help.err" || rc=$?
assert_eq "--help exit status" 0 "$rc"
assert_eq "--help stderr bytes" 0 "$(wc -c <"$TMP/help.err")"
for word in USAGE EXAMPLES --host --port --connections --requests --duration --rate --keepalive \
	--timeout --json; do
	grep -q -- "$word" "$TMP/help.out" || fail "--help lacks $word"
done
"$LOAD" --version | grep -q '^acceptscope-load ' || fail "--version: $("$LOAD" --version)"
# Seconds may carry a unit.
run refused_ms -p "$NOBODY" -d 300ms
jq -e '.duration_s >= 0.25 and .duration_s < 2' "$TMP/refused_ms.json" >/dev/null ||
	fail "-d 300ms ran $(get refused_ms .duration_s) s"
bad_args() {
	local rc=0
	"$LOAD" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
	assert_eq "exit status for: $*" 2 "$rc"
	assert_eq "stderr lines for: $*" 1 "$(wc -l <"$TMP/bad.err")"
	assert_eq "stdout bytes for: $*" 0 "$(wc -c <"$TMP/bad.out")"
}
bad_args -n 1
bad_args -p 0
bad_args -p 70000
bad_args -p "$NOBODY" -H 10.0.0.1 -n 1
bad_args -p "$NOBODY" -H 8.8.8.8 -n 1
bad_args -p "$NOBODY" -H ::2 -n 1
bad_args -p "$NOBODY" -H example.com -n 1
bad_args -p "$NOBODY" -n 0
bad_args -p "$NOBODY" -n 10 -d 1
bad_args -p "$NOBODY" -r 10 -k
bad_args -p "$NOBODY" -r 0
bad_args -p "$NOBODY" -c 0
bad_args -p "$NOBODY" -t abc
bad_args -p "$NOBODY" --bogus
bad_args -p "$NOBODY" -x
bad_args -p "$NOBODY" -n
bad_args -p "$NOBODY" extra
bad_args -p "$NOBODY" -d 5ss
bad_args -p +"$NOBODY" -n 1
bad_args -p "$NOBODY" --keepalive=1
log "all load generator checks passed"
