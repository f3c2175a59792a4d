#!/usr/bin/env bash
# What acceptscope shows for each demo model, captured from real runs into docs/architectures.md.
#
#   sudo scripts/docs.sh           run every model, rewrite each model's capture block in the guide
#   sudo scripts/docs.sh --check   run every model, change nothing; exit 1 if a model's shape is no
#                                  longer what its block says (make test runs this: tests/teaching)
#
# Each model (acceptscope-demo --list-models) runs with 4 threads under acceptscope-load (1000
# requests, a new connection each, 2 in flight), traced by two tracers at once: one printing the
# table (its final, cumulative block is captured), one printing --trace (its first lines are
# captured) and drawing a --timeline page, left in build/docs/MODEL.html.  The block between
# <!-- capture:MODEL:begin --> and <!-- capture:MODEL:end --> gets the shape, the table and the
# trace excerpt.  The shape is what the check compares, not the numbers, which change every run:
#   accepts  one (one thread is meant to accept, and it took every connection) | shared (every
#            thread may accept: one listener they all wait on, or a SO_REUSEPORT shard each)
#   reads    accepting (the threads that accept read) | others (other threads read) | mixed
#   skew     (shared only) the busiest thread's share of the accepts against a fair share (1/N):
#            even (below 2.6 times), concentrated (2.6 times and more: most accepts on one thread);
#            the check allows some overlap (even below 3, concentrated from 2.2), as the spread of
#            wake-ups varies from run to run (shared-epoll's busiest thread: 1.1 to 2.2 times)
# The tracer's per-thread counts are checked against the server's own (--stats) first.  Needs root
# (BPF), as the tracer does.  Exit status: 0, 1 (a run failed or the shape changed), 2 (bad usage).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${ACCEPTSCOPE_BIN:-$ROOT/build}
GUIDE=${ACCEPTSCOPE_GUIDE:-$ROOT/docs/architectures.md}
PAGES=$BIN/docs
THREADS=4 REQUESTS=1000 CONNECTIONS=2
MODE=write
case ${1:-} in
--check) MODE=check ;;
"") ;;
*) echo "usage: scripts/docs.sh [--check]" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "docs.sh: needs root (the tracer loads BPF programs)" >&2; exit 1; }
for b in acceptscope acceptscope-demo acceptscope-load; do
	[[ -x $BIN/$b ]] || { echo "docs.sh: $BIN/$b is missing (make)" >&2; exit 1; }
done
[[ -f $GUIDE ]] || { echo "docs.sh: no guide at $GUIDE" >&2; exit 1; }

# The tests' helpers: processes killed and files removed at exit (track), wait_until,
# free_port, listening, fail.
. "$ROOT/tests/lib.sh"
WORK=$TMP
# stop PID SIGNAL: signal it and wait for it; fail unless it exits 0.
stop() {
	kill "-$2" "$1"
	wait "$1" || fail "process $1 exited with $? after SIG$2"
}

# run MODEL: the model under load, traced twice over; its files in $WORK/MODEL.*
run() {
	local m=$1 w=$WORK/$1 port table trace demo
	port=$(free_port)
	"$BIN/acceptscope" -P "$port" -i 600 >"$w.table" 2>"$w.table.err" &
	table=$!; track "$table"
	"$BIN/acceptscope" --trace -P "$port" --timeline "$PAGES/$m.html" >"$w.trace" 2>"$w.trace.err" &
	trace=$!; track "$trace"
	wait_until 60 "the tracers to attach" grep -q 'tracing;' "$w.table.err"
	wait_until 60 "the tracers to attach" grep -q 'tracing;' "$w.trace.err"
	"$BIN/acceptscope-demo" --model "$m" --threads $THREADS --port "$port" --stats "$w.stats" --duration 120 \
		--quiet >"$w.demo.log" 2>&1 &
	demo=$!; track "$demo"
	wait_until 20 "$m to listen on $port" listening "$port"
	"$BIN/acceptscope-load" --port "$port" --requests $REQUESTS --connections $CONNECTIONS --json >"$w.load" ||
		fail "$m: acceptscope-load failed"
	# The tracers first, while the listener is still open: the table names its owner.  Every
	# accept and read happened before the client had its answers.
	stop "$table" INT
	stop "$trace" INT
	stop "$demo" TERM
	echo "docs.sh: $m traced" >&2
}

mkdir -p "$PAGES"
mapfile -t MODELS < <("$BIN/acceptscope-demo" --list-models | cut -f1)
((${#MODELS[@]})) || fail "acceptscope-demo --list-models named no model"
for m in "${MODELS[@]}"; do run "$m"; done

python3 - "$MODE" "$GUIDE" "$WORK" "$THREADS $REQUESTS $CONNECTIONS" "${MODELS[@]}" <<'PY'
import json, re, sys

mode, guide, work, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5:]
threads, requests, connections = sys.argv[4].split()
ROW = re.compile(r'^  (\d+) +(\d+) +(\S.*?) +(\d+) +([\d.]+)% (.{20}) +(\d+) +(\d+) +(\d+)(?: +\S+)?$')  # CPU% last
WORDS = {
    'accepts': {'one': 'on **its one accepting thread**', 'shared': 'on **all its threads**, which share the port'},
    'reads': {'accepting': 'by **the threads that accept**', 'others': 'by **other threads**',
              'mixed': 'by **accepting and other threads**'},
    'skew': {'n/a': 'no skew to have (one accepting thread)',
             'even': 'the accepts **spread** over the threads (the busiest below 2.6 times its fair share)',
             'concentrated': 'the accepts **concentrate** on one thread (2.6 times its fair share and more)'},
}
BANDS = {'even': (0, 2.6), 'concentrated': (2.6, 99)}  # busiest share / fair share
ALLOWED = {'even': (0, 3), 'concentrated': (2.2, 99)}  # what --check accepts


def fail(msg):
    print(f'docs.sh: {msg}', file=sys.stderr)
    sys.exit(1)


def final_block(text):
    """The table's last block: from its last time line to the end."""
    lines = text.rstrip('\n').split('\n')
    starts = [i for i, l in enumerate(lines) if re.match(r'^\d\d:\d\d:\d\d  last ', l)]
    return lines[starts[-1]:] if starts else fail('no table block in the tracer output')


def shape(m):
    table = final_block(open(f'{work}/{m}.table').read())
    stats = json.load(open(f'{work}/{m}.stats'))
    load = json.load(open(f'{work}/{m}.load'))
    rows = {}
    for line in table:
        r = ROW.match(line)
        if r:
            rows[int(r[2])] = {'accepts': int(r[4]), 'empty': int(r[7]), 'reads': int(r[8]), 'bytes': int(r[9])}
    server = {t['tid']: t for t in stats['threads']}
    for tid, t in server.items():  # the tracer's figures are the server's, thread for thread
        got = rows.get(tid, {'accepts': 0, 'empty': 0, 'reads': 0, 'bytes': 0})
        want = {'accepts': t['accepts'], 'empty': t['empty_accepts'], 'reads': t['reads'], 'bytes': t['read_bytes']}
        if got != want:
            fail(f'{m}: the tracer shows {got} for tid {tid}, the server counted {want}')
    if sum(t['accepts'] for t in server.values()) != load['connections']:
        fail(f'{m}: the server accepted other than the client\'s {load["connections"]} connections')
    meant = [tid for tid, t in server.items() if t['role'] != 'worker'] or list(server)
    accepting = {tid for tid, t in server.items() if t['accepts']}
    reading = {tid for tid, t in server.items() if t['reads']}
    total = sum(server[t]['accepts'] for t in meant)
    if len(meant) == 1 and accepting != set(meant):
        fail(f'{m}: threads other than its one acceptor accepted')
    s = {'accepts': 'one' if len(meant) == 1 else 'shared',
         'reads': 'accepting' if reading == accepting else 'others' if not reading & accepting else 'mixed',
         'skew': 'n/a', 'ratio': 0}
    if len(meant) > 1:
        s['ratio'] = max(server[t]['accepts'] for t in meant) / total * len(meant)
        s['skew'] = next(k for k, (lo, hi) in BANDS.items() if lo <= s['ratio'] < hi)
    return s, table


def excerpt(m, n=9):
    lines = open(f'{work}/{m}.trace').read().split('\n')
    return lines[:n + 1]


def busiest(s):
    return f' (busiest thread {s["ratio"]:.2f} times its fair share)' if s['skew'] != 'n/a' else ''


def shape_comment(s):
    return f'<!-- shape: accepts={s["accepts"]} reads={s["reads"]} skew={s["skew"]} -->'


def block(m, s, table):
    return '\n'.join([
        f'<!-- capture:{m}:begin (scripts/docs.sh writes this block from a run; do not edit) -->',
        shape_comment(s),
        f'Captured shape: accepts {WORDS["accepts"][s["accepts"]]}; reads {WORDS["reads"][s["reads"]]}; '
        f'{WORDS["skew"][s["skew"]]}.',
        '',
        f'`acceptscope -P PORT` (its final, cumulative block) while `acceptscope-demo --model {m} --threads {threads}` '
        f'served {requests} connections, {connections} at a time:',
        '',
        '```text', *table, '```', '',
        '`acceptscope --trace -P PORT`, its first lines:', '',
        '```text', *excerpt(m), '```',
        f'<!-- capture:{m}:end -->'])


text = open(guide).read()
changed = []
for m in models:
    pat = re.compile(rf'<!-- capture:{re.escape(m)}:begin.*?<!-- capture:{re.escape(m)}:end -->', re.S)
    old = pat.search(text)
    if not old:
        fail(f'{guide} has no capture block for {m}: write its section first')
    s, table = shape(m)
    if mode == 'check':
        was = re.search(r'<!-- shape: accepts=(\S+) reads=(\S+) skew=(\S+) -->', old[0])
        lo, hi = ALLOWED.get(was[3], (0, 99)) if was else (0, 0)
        if not was or (was[1], was[2]) != (s['accepts'], s['reads']) or (s['skew'] != 'n/a') != (was[3] != 'n/a') \
                or (s['skew'] != 'n/a' and not lo <= s['ratio'] < hi):
            changed.append(f'{m}: the guide says {was[0] if was else "nothing"}, the run shows {shape_comment(s)}'
                           f'{busiest(s)}')
        else:
            print(f'docs.sh: {m}: {shape_comment(s)}{busiest(s)}, as the guide says')
    else:
        text = text[:old.start()] + block(m, s, table) + text[old.end():]
        print(f'docs.sh: {m}: {shape_comment(s)}{busiest(s)}')
extra = set(re.findall(r'<!-- capture:([\w-]+):begin', text)) - set(models)
if extra:
    fail(f'{guide} has capture blocks for models the demo server does not have: {sorted(extra)}')
if changed:
    fail('the models no longer do what the guide shows (run scripts/docs.sh to capture them again):\n  ' +
         '\n  '.join(changed))
if mode == 'write':
    open(guide, 'w').write(text)
    print(f'docs.sh: {guide} written; timelines in the build directory\'s docs/')
PY
