#!/usr/bin/env bash
# acceptscope --trace --timeline FILE: the page against the run it drew, in headless Chromium.
# A dispatch server (each connection drawn), a shared-epoll one at light load (threads whose only
# events are empty accepts get lanes) and a 10,000-connection run (counts per bin, within a size
# bound): lanes, connection counts and per-thread figures equal the --trace --json output of the
# same tracer and the server's own counters; each connection or bin equals the trace's; the
# screenshot has each kind of mark in its colour where the trace's events are, and none where
# there are none (tests/teaching/check_timeline.py).  Also: a --timeline path that cannot be
# written is refused before anything is attached; an older page stays whole until the new one
# replaces it; a page that cannot be finished leaves no file; a hostile thread name is escaped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tracer/lib.sh"
require_bpf
command -v jq >/dev/null || skip "jq not installed"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
CHECK="$PYTHON $(dirname "$0")/check_timeline.py"
SOCKETS="$PYTHON $(dirname "$0")/../tracer/sockets.py"
AS=$BIN/acceptscope
if ! command -v chromium >/dev/null; then
	bash "$(dirname "$0")/../../scripts/deps.sh" browser >&2 || skip "cannot install chromium (scripts/deps.sh browser)"
fi

# render PAGE: its screenshot (PAGE.png) and the DOM Chromium made of it (PAGE.dom).
render() {
	local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
		--disable-component-update --disable-sync --force-device-scale-factor=1 --window-size=1280,2400)
	timeout -s KILL 90 chromium "${flags[@]}" --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" \
		--screenshot="$1.png" "file://$1" >"$1.chrome.log" 2>&1 || { tail -5 "$1.chrome.log"; fail "chromium --screenshot $1 failed"; }
	timeout -s KILL 90 chromium "${flags[@]}" --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" \
		--dump-dom "file://$1" >"$1.dom" 2>>"$1.chrome.log" || { tail -5 "$1.chrome.log"; fail "chromium --dump-dom $1 failed"; }
	[[ -s $1.png && -s $1.dom ]] || fail "chromium rendered nothing for $1"
}

# traced NAME MODEL LOAD-ARGS...: the model (4 threads) under that load, traced with
# --trace --json --timeline $TMP/NAME.html; the server's stats in $TMP/NAME.stats.
traced() {
	local name=$1 model=$2; shift 2
	PORT=$(free_port)
	start_tracer "$TMP/$name.json" "$TMP/$name.err" --trace --timeline "$TMP/$name.html" -P "$PORT"
	start_demo "$TMP/$name.stats" --model "$model" --threads 4
	"$BIN/acceptscope-load" --port "$PORT" "$@" --json >"$TMP/$name.load" || fail "$name: acceptscope-load failed"
	stop_demo "$TMP/$name.stats"
	stop_tracer "$TMP/$name.json" "$TMP/$name.err"
	grep -q "timeline written to $TMP/$name.html" "$TMP/$name.err" || fail "$name: no line saying the page was written"
	assert_eq "$name: temporary files left" "" "$(find "$TMP" -maxdepth 1 -name ".$name.html.*")"
}

# The page's script: a drag across the plot from x0+100 to x0+300, then the range it shows
# (as the page says it) in the svg's data-zoomed; the DOM after it in NAME.zoomed.html.dom.
zoomed() {
	sed 's|</body>|<script>\
(function () {\
  var svg = document.getElementById("timeline"), r = svg.getBoundingClientRect(), x0 = +svg.dataset.x0;\
  function ev(type, x, at) {\
    at.dispatchEvent(new MouseEvent(type, { clientX: r.left + x, clientY: r.top + 20, bubbles: true }));\
  }\
  ev("mousedown", x0 + 100, svg); ev("mousemove", x0 + 300, window); ev("mouseup", x0 + 300, window);\
  svg.setAttribute("data-zoomed", document.getElementById("range").textContent);\
})();\
</script></body>|' "$TMP/$1.html" >"$TMP/$1.zoomed.html"
	render "$TMP/$1.zoomed.html"
}

check_page() { # NAME MODE [ARGS...]
	local name=$1 mode=$2; shift 2
	render "$TMP/$name.html"
	$CHECK --page "$TMP/$name.html" --dom "$TMP/$name.html.dom" --shot "$TMP/$name.html.png" \
		--trace "$TMP/$name.json" --stats "$TMP/$name.stats" --load "$TMP/$name.load" --mode "$mode" "$@" ||
		fail "$name: the page differs from its run"
}

# --- refused before anything is attached: one line, exit 2 ---
refused() { # EXPECTED-LINE ARGS...
	local line=$1 rc=0; shift
	timeout -s KILL 20 "$AS" "$@" >"$TMP/ref.out" 2>"$TMP/ref.err" || rc=$?
	assert_eq "acceptscope $*: exit status" 2 "$rc"
	assert_eq "acceptscope $*: stderr" "$line" "$(cat "$TMP/ref.err")"
	[[ ! -s $TMP/ref.out ]] || fail "acceptscope $* printed to stdout"
}
refused "acceptscope: cannot write --timeline /nonexistent-dir/t.html: No such file or directory" \
	--timeline /nonexistent-dir/t.html
refused "acceptscope: cannot write --timeline $TMP: Is a directory" --trace --timeline "$TMP"
refused "acceptscope: cannot write --timeline /dev/null: not a regular file" --timeline /dev/null
refused "acceptscope: empty --timeline file name" --timeline ""
"$AS" --help | grep -q -- '--timeline' || fail "--help does not describe --timeline"

# --- a page that cannot be finished (a 4 KiB file system) leaves no file ---
mkdir "$TMP/small"
rc=0
# shellcheck disable=SC2016  # expanded by that sh
timeout -s KILL 60 unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs "$1" || exit 99; s=0
	"$2" --trace --timeline "$1/t.html" -P 9 -d 0.5 || s=$?; ls -A "$1" >"$3"; exit $s' \
	sh "$TMP/small" "$AS" "$TMP/small.ls" >"$TMP/small.out" 2>"$TMP/small.err" || rc=$?
assert_eq "--timeline on a full file system: exit status" 1 "$rc"
grep -qx "acceptscope: cannot write $TMP/small/t.html: No space left on device" "$TMP/small.err" ||
	fail "--timeline on a full file system: $(cat "$TMP/small.err")"
assert_eq "--timeline on a full file system: files left" "" "$(cat "$TMP/small.ls")"

# --- each connection drawn: dispatch, 30 connections a second for 4 s (far enough apart for the
# screenshot to tell them apart); an older page replaced only at the end ---
echo "an older page" >"$TMP/each.html"
PORT=$(free_port)
start_tracer "$TMP/pre.json" "$TMP/pre.err" --trace --timeline "$TMP/each.html" -P "$PORT"
assert_eq "while tracing, the older page" "an older page" "$(cat "$TMP/each.html")"
assert_eq "while tracing, its temporary file" 1 "$(find "$TMP" -maxdepth 1 -name '.each.html.*' | wc -l)"
stop_tracer "$TMP/pre.json" "$TMP/pre.err"
traced each dispatch --rate 30 --duration 4
zoomed each
check_page each each --require enq,acc,rd,blank --zoomed "$TMP/each.zoomed.html.dom"
assert_eq "each: hand-off rows (the acceptor to each worker)" 4 "$(grep -c '<tr data-acc-tid=' "$TMP/each.html")"

# --- empty accepts: shared-epoll at light load (every thread woken for each connection) ---
traced herd shared-epoll --requests 800 --connections 2
[[ $(jq '[.threads[].empty_accepts] | add' "$TMP/herd.stats") -gt 0 ]] || fail "herd: the server saw no empty accepts"
check_page herd each --require acc,rd,empty

# --- 10,000 connections: counts per bin, a bounded page ---
traced dense dispatch --requests 10000 --connections 16
check_page dense aggregated --max-bytes 1000000 --require enq,acc,rd
log "dense: $(wc -c <"$TMP/dense.html") bytes for 10000 connections"

# --- a hostile thread name: escaped in the page ---
HOSTILE='<b>x</b>&"\x1b'
PORT=$(free_port)
start_tracer "$TMP/h.json" "$TMP/h.err" --trace --timeline "$TMP/h.html" -P "$PORT"
spawn "$TMP/hostile.log" $SOCKETS hostile "$PORT" "$HOSTILE"
wait_until 10 "hostile listener" listening "$PORT"
exec {c}<>"/dev/tcp/127.0.0.1/$PORT"; echo hi >&$c
wait_until 10 "hostile server done" grep -q done "$TMP/hostile.log"
exec {c}>&-
stop_tracer "$TMP/h.json" "$TMP/h.err"
grep -qF '<b>x' "$TMP/h.html" && fail "the hostile name appears raw in the page"
render "$TMP/h.html"
"$PYTHON" - "$TMP/h.html.dom" "$TMP/h.json" <<'PY' || fail "the hostile name is not shown escaped"
import json, sys
from html.parser import HTMLParser

class Lanes(HTMLParser):
    comms = set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'data-comm' in a:
            self.comms.add(a['data-comm'])

lanes = Lanes()
lanes.feed(open(sys.argv[1]).read())
traced = {json.loads(l).get('comm') for l in open(sys.argv[2])} - {None}
want = '<b>x</b>&"\\x1b'  # escape_text: printable ASCII as is, ESC as \x1b
assert want in traced, f'trace comms {traced}'
assert want in lanes.comms, f'page lanes {lanes.comms}, expected {want!r}'
print(f'# hostile name shown as {want!r}, HTML-escaped in the page')
PY
log "timeline pages equal their runs"

# --- compare --timeline DIR: a page per model and level, each equal to the run's figures ---
echo "not a directory" >"$TMP/afile"
rc=0
timeout -s KILL 20 "$AS" compare --models dispatch --duration 10 --timeline "$TMP/afile" >"$TMP/cref.out" 2>"$TMP/cref.err" || rc=$?
assert_eq "compare --timeline FILE: exit status" 2 "$rc"
assert_eq "compare --timeline FILE: stderr" "acceptscope compare: cannot write --timeline $TMP/afile: Not a directory" \
	"$(cat "$TMP/cref.err")"
rc=0
timeout -s KILL 120 "$AS" compare --models dispatch,shared-epoll --levels light --threads 3 --duration 1 --json \
	--timeline "$TMP/pages" >"$TMP/cmp.json" 2>"$TMP/cmp.err" || rc=$?
cat "$TMP/cmp.err"
assert_eq "compare --timeline: exit status" 0 "$rc"
assert_eq "compare --timeline: files" "dispatch-light.html index.html shared-epoll-light.html" \
	"$(cd "$TMP/pages" && ls -A | tr '\n' ' ' | sed 's/ $//')"
render "$TMP/pages/shared-epoll-light.html"
"$PYTHON" - "$TMP/cmp.json" "$TMP/pages" <<'PY' || fail "compare --timeline pages differ from the runs"
import json, os, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.summary, self.lanes, self.links = None, {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id') == 'summary':
            self.summary = a
        elif a.get('data-kind') == 'thread':
            self.lanes[int(a['data-tid'])] = a
        elif tag == 'a':
            self.links.append(a['href'])

doc = json.load(open(sys.argv[1]))
index = Page()
index.feed(open(os.path.join(sys.argv[2], 'index.html')).read())
assert index.links == [f'{r["model"]}-{r["level"]}.html' for r in doc['runs']], index.links
for run in doc['runs']:
    name = f'{run["model"]}-{run["level"]}.html'
    p = Page()
    p.feed(open(os.path.join(sys.argv[2], name)).read())
    assert int(p.summary['data-accepted']) == run['tracer']['accepted'] == run['client']['connections'], name
    assert int(p.summary['data-queued']) == run['tracer']['queued'], name
    for t in run['threads']:
        lane = p.lanes.get(t['tid'])
        if not (t['accepts'] or t['empty_accepts'] or t['reads']):
            continue
        assert lane, f'{name}: no lane for tid {t["tid"]}'
        assert int(lane['data-accepts']) == t['accepts'], f'{name}: tid {t["tid"]} accepts'
        assert int(lane['data-empty']) == t['empty_accepts'], f'{name}: tid {t["tid"]} empty accepts'
    print(f'# {name}: {p.summary["data-accepted"]} connections, {len(p.lanes)} thread lanes = the run\'s')
PY
log "compare --timeline pages equal their runs"
