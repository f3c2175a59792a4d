#!/usr/bin/env bash
# acceptscope compare: over dispatch and shared-epoll at one short level, the JSON's totals
# equal the servers' own stats and the client's connections (per thread, by tid); the table
# and the findings are printed; a failing model is reported and the others still run; compare
# traces in-process (no child of it is compare itself); SIGINT leaves no child behind; bad
# arguments exit 2; without privilege, or with an --html file that cannot be written, compare
# refuses at once (exit 2, one line) before any run, and a report that cannot be finished or is
# interrupted leaves no half file; and the HTML report renders in headless Chromium with its
# charts drawn and the same numbers in its DOM as in the JSON.
. "$(dirname "$0")/../lib.sh"
require_bpf
command -v jq >/dev/null || skip "jq not installed"
command -v python3 >/dev/null || skip "python3 not installed"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
command -v unshare >/dev/null || skip "unshare (util-linux) not installed"

AS=$BIN/acceptscope
MODELS=dispatch,shared-epoll

# --- bad arguments: one line on stderr, exit 2 ---
for args in "--models nope" "--models dispatch,,single" "--threads 0" "--duration -1" "--levels heavy" \
	"--connections x" "--rate 0" "--bogus" "--html" "extra"; do
	rc=0
	# shellcheck disable=SC2086
	"$AS" compare $args >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
	assert_eq "compare $args: exit status" 2 "$rc"
	assert_eq "compare $args: stderr lines" 1 "$(wc -l <"$TMP/bad.err")"
	[[ ! -s $TMP/bad.out ]] || fail "compare $args printed to stdout"
done
"$AS" compare --help | grep -q -- '--levels' || fail "compare --help does not describe --levels"

# --- refused at once, before any run: no privilege, an --html file that cannot be written ---
# Copies nobody can run, in a directory it can reach; the demo server and the load generator
# are wrappers that leave a mark in $G/started when compare starts one (asking the demo server
# for its list of models starts no server), then run the real one.
G=$TMP/guarded
chmod 711 "$TMP"
mkdir -m 755 "$G"
mkdir -m 777 "$G/started"
cp "$AS" "$G/acceptscope"
for b in demo load; do
	cp "$BIN/acceptscope-$b" "$G/acceptscope-$b.real"
	printf '#!/bin/sh\n[ "$*" = --list-models ] || : >"%s/started/%s.$$"\nexec "%s/acceptscope-%s.real" "$@"\n' \
		"$G" "$b" "$G" "$b" >"$G/acceptscope-$b"
	chmod 755 "$G/acceptscope-$b"
done
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }

# refused WHAT EXPECTED-LINE CMD...: CMD exits 2 within 2 s (its runs would take 10 s and more)
# with EXPECTED-LINE alone on stderr, nothing on stdout, and no server or load started.
refused() {
	local what=$1 line=$2 rc=0 t0 ms
	shift 2
	t0=$(now_ms)
	timeout -s KILL 20 "$@" >"$TMP/ref.out" 2>"$TMP/ref.err" || rc=$?
	ms=$(($(now_ms) - t0))
	assert_eq "$what: exit status" 2 "$rc"
	assert_eq "$what: stderr lines" 1 "$(wc -l <"$TMP/ref.err")"
	assert_eq "$what: stderr" "$line" "$(cat "$TMP/ref.err")"
	[[ ! -s $TMP/ref.out ]] || fail "$what printed to stdout: $(head -3 "$TMP/ref.out")"
	assert_le "$what: milliseconds to exit" 2000 "$ms"
	assert_eq "$what: servers and loads started" "" "$(ls -A "$G/started")"
}
NOPERM="acceptscope compare: not permitted: run as root (or with CAP_BPF and CAP_PERFMON)"
refused "compare as nobody" "$NOPERM" "${NOBODY[@]}" "$G/acceptscope" compare --duration 10
refused "compare as nobody with CAP_BPF alone" "$NOPERM" \
	"${NOBODY[@]}" --inh-caps=+bpf --ambient-caps=+bpf "$G/acceptscope" compare --duration 10
# Arguments come first: their errors and --help need no privilege.
refused "compare --bogus as nobody" "acceptscope compare: unrecognized option '--bogus'" \
	"${NOBODY[@]}" "$G/acceptscope" compare --bogus
"${NOBODY[@]}" "$G/acceptscope" compare --help | grep -q -- '--levels' || fail "compare --help as nobody failed"

refused "--html in a missing directory" \
	"acceptscope compare: cannot write --html /nonexistent-dir/x.html: No such file or directory" \
	"$G/acceptscope" compare --duration 10 --html /nonexistent-dir/x.html
refused "--html a directory" "acceptscope compare: cannot write --html $TMP: Is a directory" \
	"$G/acceptscope" compare --duration 10 --html "$TMP"
# A read-only file system, mounted in a mount namespace of its own.
mkdir "$TMP/ro"
# shellcheck disable=SC2016  # expanded by that sh
refused "--html on a read-only file system" \
	"acceptscope compare: cannot write --html $TMP/ro/x.html: Read-only file system" \
	unshare -m sh -c 'mount -t tmpfs -o ro tmpfs "$1" && exec "$2" compare --duration 10 --html "$1/x.html"' \
	sh "$TMP/ro" "$G/acceptscope"
[[ -e /nonexistent-dir ]] && fail "compare created /nonexistent-dir"

# With CAP_BPF and CAP_PERFMON (ambient, so the tracer it starts has them too) nobody may.
if "${NOBODY[@]}" --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon true 2>/dev/null; then
	rc=0
	timeout -s KILL 60 "${NOBODY[@]}" --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon "$G/acceptscope" \
		compare --models dispatch --levels light --duration 0.5 --json >"$TMP/caps.json" 2>"$TMP/caps.err" || rc=$?
	cat "$TMP/caps.err"
	assert_eq "compare as nobody with CAP_BPF and CAP_PERFMON: exit status" 0 "$rc"
	assert_eq "compare as nobody with CAP_BPF and CAP_PERFMON: runs" "dispatch ok" \
		"$(jq -r '.runs[] | "\(.model) \(.status)"' "$TMP/caps.json")"
else
	log "this setpriv cannot grant CAP_BPF and CAP_PERFMON: not checked that they suffice"
fi

# A report that cannot be finished (a 4 KiB file system: ENOSPC part way) leaves no half file.
mkdir "$TMP/small"
rc=0
# shellcheck disable=SC2016  # expanded by that sh
timeout -s KILL 60 unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs "$1" || exit 99; s=0
	"$2" compare --models dispatch --levels light --duration 0.5 --html "$1/r.html" || s=$?
	ls -A "$1" >"$3"; exit $s' sh "$TMP/small" "$AS" "$TMP/small.ls" >"$TMP/small.out" 2>"$TMP/small.err" || rc=$?
cat "$TMP/small.err"
assert_eq "--html on a full file system: exit status" 1 "$rc"
assert_eq "--html on a full file system: stderr" \
	"acceptscope compare: cannot write $TMP/small/r.html: No space left on device" "$(cat "$TMP/small.err")"
grep -Eq '^dispatch +light ' "$TMP/small.out" || fail "--html on a full file system: no table printed"
assert_eq "--html on a full file system: files left" "" "$(cat "$TMP/small.ls")"

# --- the JSON document and the HTML report ---
# Over an older, longer file: the report replaces all of it.
head -c 300000 /dev/zero | tr '\0' x >"$TMP/report.html"
rc=0
timeout -s KILL 80 "$AS" compare --models "$MODELS" --levels light --threads 3 --duration 2 \
	--json --html "$TMP/report.html" >"$TMP/compare.json" 2>"$TMP/compare.err" || rc=$?
cat "$TMP/compare.err"
assert_eq "compare --json exit status" 0 "$rc"
grep -q $'\r' "$TMP/compare.err" && fail "progress line written to a stderr that is not a terminal"
J=$TMP/compare.json
jq -e . "$J" >/dev/null || fail "compare --json did not print one JSON document"
assert_eq "runs" 2 "$(jq '.runs | length' "$J")"
assert_eq "runs ok" "ok ok" "$(jq -r '[.runs[].status] | join(" ")' "$J")"
assert_eq "models" "dispatch shared-epoll" "$(jq -r '[.runs[].model] | join(" ")' "$J")"

for i in 0 1; do
	run=$(jq -c ".runs[$i]" "$J")
	m=$(jq -r .model <<<"$run")
	conns=$(jq .client.connections <<<"$run")
	assert_ge "$m: client connections" 1000 "$conns"
	assert_eq "$m: client errors" 0 "$(jq .client.errors <<<"$run")"
	assert_eq "$m: sum of tracer accepts = client connections" "$conns" "$(jq '[.threads[].accepts] | add' <<<"$run")"
	assert_eq "$m: tracer accepted = client connections" "$conns" "$(jq .tracer.accepted <<<"$run")"
	assert_eq "$m: sum of server accepts = client connections" "$conns" "$(jq '[.server.threads[].accepts] | add' <<<"$run")"
	tracer=$(jq -r '.threads[] | select(.accepts + .empty_accepts + .reads > 0)
		| "\(.tid) \(.accepts) \(.empty_accepts) \(.reads) \(.read_bytes)"' <<<"$run" | sort -n)
	server=$(jq -r '.server.threads[] | select(.accepts + .empty_accepts + .reads > 0)
		| "\(.tid) \(.accepts) \(.empty_accepts) \(.reads) \(.read_bytes)"' <<<"$run" | sort -n)
	if [[ $tracer != "$server" ]]; then
		echo "tracer (tid accepts empty reads bytes):"; echo "$tracer"
		echo "server:"; echo "$server"
		fail "$m: per-thread counts differ between the tracer and the server"
	fi
	log "$m: $(wc -l <<<"$server") threads equal by tid"
	assert_eq "$m: checks" "true true" "$(jq -r '"\(.checks.totals_match) \(.checks.per_thread_match)"' <<<"$run")"
	assert_eq "$m: table rps = client rps" "$(jq .client.rps <<<"$run")" "$(jq .table.rps <<<"$run")"
	assert_eq "$m: table empty = tracer empty" "$(jq .tracer.empty_accepts <<<"$run")" "$(jq .table.empty_accepts <<<"$run")"
	# Each server thread's CPU during the load (from /proc): a share of one CPU; the table shows
	# the busiest's.
	jq -e '[.threads[] | select(.role != null) | .cpu_pct] | all(. != null and . >= 0 and . <= 100)' <<<"$run" \
		>/dev/null || fail "$m: a server thread without a CPU figure: $(jq -c '[.threads[] | {tid, role, cpu_pct}]' <<<"$run")"
	assert_eq "$m: table cpu = the busiest server thread's" \
		"$(jq '[.threads[] | select(.role != null) | .cpu_pct] | max' <<<"$run")" "$(jq .table.cpu_max_pct <<<"$run")"
	jq -e '.table | (.rps > 0) and (.p50_us > 0) and (.p99_us >= .p50_us) and (.depth_max >= 1)
		and (.jain > 0) and (.jain <= 1) and (.busiest_share >= .idlest_share)' <<<"$run" >/dev/null \
		|| fail "$m: implausible table row $(jq -c .table <<<"$run")"
done
D='.runs[] | select(.model == "dispatch")'
E='.runs[] | select(.model == "shared-epoll")'
assert_eq "dispatch: accepting threads" 1 "$(jq "$D | .tracer.accepting_threads" "$J")"
assert_eq "dispatch: reads by" workers "$(jq -r "$D | .table.readers" "$J")"
assert_eq "dispatch: busiest share" 1 "$(jq "$D | .table.busiest_share" "$J")"
assert_eq "shared-epoll: reads by" "each acceptor" "$(jq -r "$E | .table.readers" "$J")"
assert_eq "shared-epoll: accepting threads" 3 "$(jq "$E | .tracer.accepting_threads" "$J")"
assert_ge "findings" 5 "$(jq '.findings | length' "$J")"
jq -r '.findings[]' "$J" | grep -q '^dispatch accepts on one thread\.$' || fail "no finding that dispatch accepts on one thread"

# --- the terminal table ---
rc=0
timeout -s KILL 60 "$AS" compare --models "$MODELS" --levels light --threads 3 --duration 1 \
	>"$TMP/table.txt" 2>"$TMP/table.err" || rc=$?
cat "$TMP/table.txt"
assert_eq "compare (table) exit status" 0 "$rc"
grep -Eq '^model +level +conns +req/s' "$TMP/table.txt" || fail "no table header"
for m in dispatch shared-epoll; do
	grep -Eq "^$m +light +2 +[0-9]+ " "$TMP/table.txt" || fail "no table row for $m"
done
grep -q '^- .*requests/s' "$TMP/table.txt" || fail "no findings under the table"

# --- a model that fails is reported, and the others still run ---
mkdir "$TMP/bin"
cp "$AS" "$BIN/acceptscope-load" "$TMP/bin/"
cat >"$TMP/bin/acceptscope-demo" <<EOF
#!/bin/sh
case " \$* " in *" shared-epoll "*) echo "acceptscope-demo: refusing for the test" >&2; exit 1 ;; esac
exec "$BIN/acceptscope-demo" "\$@"
EOF
chmod +x "$TMP/bin/acceptscope-demo"
rc=0
timeout -s KILL 60 "$TMP/bin/acceptscope" compare --models shared-epoll,dispatch --levels light --duration 1 --json \
	>"$TMP/fail.json" 2>"$TMP/fail.err" || rc=$?
assert_eq "compare with a failing model: exit status" 1 "$rc"
assert_eq "failing model: statuses" "failed ok" "$(jq -r '[.runs[].status] | join(" ")' "$TMP/fail.json")"
jq -r '.runs[0].error' "$TMP/fail.json" | grep -q 'refusing for the test' || fail "the failure's reason is not reported"
grep -q 'shared-epoll at light failed' "$TMP/fail.err" || fail "the failure is not on stderr"

# --- SIGINT of compare: every child stops ---
# The --html file did not exist: created (empty) up front, removed when no report is written.
"$AS" compare --models shared-blocking --levels light --duration 20 --html "$TMP/int.html" \
	>"$TMP/int.out" 2>"$TMP/int.err" &
CPID=$!
_PIDS+=("$CPID")
kids_running() { [[ $(pgrep -P "$CPID" | wc -l) -ge 2 ]]; }	# server, load; compare traces itself
wait_until 30 "compare to start its server and load" kids_running
kids=$(pgrep -P "$CPID" | tr '\n' ' ')
log "compare $CPID children: $kids"
for k in $kids; do
	[[ $(tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null) == "$AS "* ]] && fail "compare runs itself as child $k"
done
[[ -f $TMP/int.html && ! -s $TMP/int.html ]] || fail "--html file not created empty before the runs"
for k in $kids; do
	[[ -z $(find "/proc/$k/fd" -lname "$TMP/int.html" 2>/dev/null) ]] || fail "child $k of compare holds the --html file open"
done
kill -INT "$CPID"
wait_exit 20 "$CPID" >/dev/null
assert_eq "compare on SIGINT: exit status" 130 "$WAIT_STATUS"
for k in $kids; do
	kill -0 "$k" 2>/dev/null && fail "child $k of compare still running after SIGINT"
done
log "no child left behind"
[[ -e $TMP/int.html ]] && fail "interrupted compare left its empty --html file"
log "interrupted compare removed the --html file it had created"

# The --html file existed: an interrupted compare leaves it as it was.
echo "an older report" >"$TMP/old.html"
rm -f "$G/started"/*
"$G/acceptscope" compare --models shared-blocking --levels light --duration 20 --html "$TMP/old.html" \
	>"$TMP/int2.out" 2>"$TMP/int2.err" &
CPID=$!
_PIDS+=("$CPID")
load_started() { compgen -G "$G/started/load.*"; }
wait_until 30 "compare to start its load" load_started
kill -INT "$CPID"
wait_exit 20 "$CPID" >/dev/null
assert_eq "compare on SIGINT, over an older --html file: exit status" 130 "$WAIT_STATUS"
assert_eq "interrupted compare: the older --html file" "an older report" "$(cat "$TMP/old.html")"

# --- the HTML report in headless Chromium ---
H=$TMP/report.html
[[ -s $H ]] || fail "no HTML report written"
assert_eq "report: first line" "<!DOCTYPE html>" "$(head -n 1 "$H")"
assert_eq "report: last line" "</html>" "$(tail -n 1 "$H")"
grep -q xxxxxxxx "$H" && fail "the report still holds some of the older file"
grep -Eqi '<script|src="http|href="http|@import|url\(' "$H" && fail "the report is not self-contained"
if ! command -v chromium >/dev/null; then
	bash "$(dirname "$0")/../../scripts/deps.sh" browser >&2 || skip "cannot install chromium (scripts/deps.sh browser)"
fi
chrome() {
	timeout -s KILL 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" \
		--window-size=1280,2000 "$@" "file://$H"
}
chrome --screenshot="$TMP/shot.png" >"$TMP/chrome.log" 2>&1 || { tail -5 "$TMP/chrome.log"; fail "chromium --screenshot failed"; }
chrome --dump-dom >"$TMP/dom.html" 2>"$TMP/chrome-dom.log" || { tail -5 "$TMP/chrome-dom.log"; fail "chromium --dump-dom failed"; }
[[ -s $TMP/dom.html ]] || fail "chromium dumped no DOM"

PYTHONPATH="$(dirname "$0")/.." python3 - "$TMP/shot.png" "$TMP/dom.html" "$J" <<'EOF' || fail "HTML report check failed"
import json, sys
from html.parser import HTMLParser
from png import Image

png, dom_file, json_file = sys.argv[1:4]

# Screenshot: a real PNG, 1280 wide, with the charts' bar colours drawn.
img = Image(png)
w, h = img.width, img.height
colours = {'accepts': (0x2f, 0x6f, 0xbf), 'reads': (0xe8, 0x87, 0x1e), 'depth histogram': (0x3f, 0x9b, 0x55)}
counts = {name: sum(img.count(rgb, y) for y in range(h)) for name, rgb in colours.items()}
ink = sum(1 for y in range(h // 4 + 1, h) if y % 8 == 0
          for x in range(0, w, 4) if min(img.rgb(x, y)) < 200)
print(f'# screenshot {w}x{h}, non-background samples below the table: {ink}, bar pixels: {counts}')
assert w == 1280, f'screenshot width {w}'
assert ink > 1000, 'the lower part of the screenshot is blank'
for name, n in counts.items():
    assert n > 300, f'hardly any {name} bars drawn ({n} pixels)'


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg = None
        self.svgs = {}
        self.cells = {}
        self.findings = 0
        self.in_findings = False
        self.threads_of = None
        self.tid = None
        self.thread_cells = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg':
            self.svg = a.get('id')
            self.svgs[self.svg] = []
        elif tag == 'rect' and self.svg and 'bar' in a.get('class', '').split():
            self.svgs[self.svg].append(a)
        elif tag == 'td' and 'data-field' in a and 'data-model' in a:
            self.cells[(a['data-model'], a['data-level'], a['data-field'])] = a['data-value']
        elif tag == 'table' and 'threads' in a.get('class', '').split():
            self.threads_of = (a['data-model'], a['data-level'])
        elif tag == 'tr' and 'data-tid' in a and self.threads_of:
            self.tid = a['data-tid']
        elif tag == 'td' and 'data-field' in a and self.threads_of and self.tid:
            self.thread_cells[self.threads_of + (self.tid, a['data-field'])] = a['data-value']
        elif tag == 'ul' and a.get('id') == 'findings':
            self.in_findings = True
        elif tag == 'li' and self.in_findings:
            self.findings += 1

    def handle_endtag(self, tag):
        if tag == 'svg':
            self.svg = None
        elif tag == 'ul':
            self.in_findings = False
        elif tag == 'table':
            self.threads_of = self.tid = None


dom = Dom()
dom.feed(open(dom_file).read())
doc = json.load(open(json_file))
assert dom.findings == len(doc['findings']), f'{dom.findings} findings in the DOM, {len(doc["findings"])} in the JSON'
for run in doc['runs']:
    m, l = run['model'], run['level']
    for field, value in run['table'].items():
        shown = dom.cells.get((m, l, field))
        assert shown is not None, f'no cell {m} {l} {field}'
        if value is None:
            assert shown == '', f'{m} {l} {field}: DOM {shown!r}, JSON null'
        elif isinstance(value, str):
            assert shown == value, f'{m} {l} {field}: DOM {shown!r}, JSON {value!r}'
        else:
            assert float(shown) == value, f'{m} {l} {field}: DOM {shown!r}, JSON {value!r}'
    assert int(dom.cells[(m, l, 'connections')]) == run['connections']
    bars = dom.svgs.get(f'threads-{m}-{l}')
    assert bars is not None, f'no threads chart for {m} {l}'
    nthreads = len(run['threads'])
    assert len(bars) >= nthreads, f'{m} {l}: {len(bars)} bars for {nthreads} threads'
    for t in run['threads']:
        for field in ('accepts', 'reads'):
            got = [b['data-value'] for b in bars if b.get('data-tid') == str(t['tid']) and b.get('data-field') == field]
            assert got == [str(t[field])], f'{m} {l} tid {t["tid"]} {field}: DOM {got}, JSON {t[field]}'
        cpu = dom.thread_cells.get((m, l, str(t['tid']), 'cpu_pct'))
        want = '' if t['cpu_pct'] is None else f"{t['cpu_pct']:.1f}"
        assert cpu == want, f'{m} {l} tid {t["tid"]} cpu_pct: DOM {cpu!r}, JSON {t["cpu_pct"]!r}'
        assert any(float(b['height']) > 0 for b in bars if b.get('data-tid') == str(t['tid'])) or \
            t['accepts'] + t['reads'] == 0, f'{m} {l} tid {t["tid"]}: bars of no height'
    hist = dom.svgs.get(f'depth-{m}-{l}')
    assert hist is not None, f'no depth chart for {m} {l}'
    assert [int(b['data-value']) for b in hist] == run['tracer']['depth_hist_log2'], f'{m} {l}: depth histogram differs'
    print(f'# {m} {l}: {len(run["table"])} cells, {len(bars)} thread bars, {len(hist)} depth bars equal the JSON')
EOF
log "HTML report renders; its numbers equal the JSON"
