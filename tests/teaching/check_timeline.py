#!/usr/bin/env python3
"""Check an acceptscope --timeline page against the run it drew.

    check_timeline.py --page P.html --dom DOM.html --shot SHOT.png --trace TRACE.json
                      --stats STATS.json [--load LOAD.json] --mode each|aggregated [--max-bytes N]
                      [--require KIND,...]

TRACE.json is the --trace --json output of the same tracer (one object per record, then the
summary); STATS.json the demo server's own per-thread counters (--stats); DOM.html what headless
Chromium made of the page (--dump-dom), SHOT.png its screenshot.  Checked: the lanes and every
count in the page equal the trace's and the server's; each connection drawn (or, aggregated,
each bin's count) equals the trace's; marks sit at the x the trace's times give; and the
screenshot shows each kind of mark in its colour at that x and y, and nothing where nothing
happened.  Prints what it checked; exits 1 with the first difference.
"""
import argparse
import collections
import json
import os
import re
import sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from png import Image, hex_rgb  # noqa: E402

COLOURS = {'syn': '#8250df', 'enq': '#1a7f37', 'dsyn': '#cf222e', 'dhs': '#cf222e', 'acc': '#0969da',
           'rd': '#e16f24', 'empty': '#6e7781'}
FRAME = hex_rgb('#586069')
EVENT_KIND = {'syn': 'syn', 'queued': 'enq', 'accepted': 'acc', 'read': 'rd'}
UPPER = {'enq', 'acc'}  # drawn in the upper half of a lane; syn and rd in the lower; drops across


def fail(msg):
    print(f'FAIL: {msg}')
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Dom(HTMLParser):
    """The page's elements that carry data-* attributes, by what they are."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.svg, self.summary, self.axis = None, None, None
        self.lanes, self.conns, self.marks, self.bins, self.spans, self.handoff = [], [], [], [], [], []
        self.scripts, self.syn_note, self._in_note = 0, '', False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get('class', '').split()
        if tag == 'svg' and a.get('id') == 'timeline':
            self.svg = a
        elif tag == 'p' and a.get('id') == 'summary':
            self.summary = a
        elif tag == 'g' and a.get('id') == 'axis':
            self.axis = a
        elif tag == 'g' and 'lane' in cls:
            self.lanes.append(a)
        elif tag == 'g' and 'conn' in cls:
            self.conns.append(a)
        elif tag == 'line' and 'm' in cls:
            a['kind'] = cls[1]
            self.marks.append(a)
        elif tag == 'rect' and 'b' in cls:
            a['kind'] = cls[1]
            self.bins.append(a)
        elif tag == 'rect' and 'empty' in cls:
            self.spans.append(a)
        elif tag == 'tr' and 'data-n' in a:
            self.handoff.append(a)
        elif tag == 'script':
            self.scripts += 1
        elif tag == 'li' and a.get('id') == 'syn-note':
            self._in_note = True

    def handle_endtag(self, tag):
        if tag == 'li':
            self._in_note = False

    def handle_data(self, data):
        if self._in_note:
            self.syn_note += data


def read_trace(path):
    events, summary = [], None
    for line in open(path, encoding='utf-8'):
        o = json.loads(line)
        if o.get('summary'):
            summary = o
        elif 'event' in o:
            events.append(o)
    check(summary is not None, f'{path}: no summary object')
    check(not any(e['event'] == 'lost' for e in events), 'trace records were lost: the run proves nothing')
    return events, summary


def connections(events):
    """The trace's connections, by the same rule a reader of --trace would use: a child's
    queued record starts one, its accept and first read belong to its latest."""
    conns, latest = [], {}
    for e in events:
        if e['event'] not in ('queued', 'accepted', 'read'):
            continue
        c = latest.get(e['child'])
        stage = {'queued': 'enq', 'accepted': 'acc', 'read': 'read'}[e['event']]
        if stage == 'enq' and c is not None and 'enq' in c and 'acc' not in c:
            continue  # sk_data_ready naming a child still queued: no new connection
        if c is None or stage == 'enq' or stage in c:
            c = {'peer': e['peer_port']}
            conns.append(c)
            latest[e['child']] = c
        c[stage] = e['time_s']
        if stage == 'acc':
            c['acc_tid'] = e['tid']
        if stage == 'read':
            c['read_tid'], c['bytes'] = e['tid'], e['bytes']
    return conns


def conn_key(c):
    return (c.get('peer'), round(c.get('enq', -1), 6), round(c.get('acc', -1), 6), round(c.get('read', -1), 6),
            c.get('acc_tid'), c.get('read_tid'), c.get('bytes'))


def dom_conn(a):
    c = {'peer': int(a['data-peer'])}
    for k in ('enq', 'acc', 'read'):
        if f'data-{k}' in a:
            c[k] = float(a[f'data-{k}'])
    if 'data-acc-tid' in a:
        c['acc_tid'] = int(a['data-acc-tid'])
    if 'data-read-tid' in a:
        c['read_tid'], c['bytes'] = int(a['data-read-tid']), int(a['data-bytes'])
    return c


class Plot:
    """The page's time-to-x mapping and lane geometry, from the DOM."""

    def __init__(self, dom):
        s = dom.svg
        self.t0, self.t1 = float(s['data-t0']), float(s['data-t1'])
        self.x0, self.w, self.bins = int(s['data-x0']), int(s['data-w']), int(s['data-bins'])
        self.lane_h = int(s['data-lane-h'])
        self.top = int(dom.axis['data-top'])
        self.y = {int(a['data-lane']): int(a['data-y']) for a in dom.lanes}
        self.bottom = self.top + len(dom.lanes) * self.lane_h

    def x(self, t):
        return self.x0 + (t - self.t0) / (self.t1 - self.t0) * self.w

    def bin(self, t):
        """The bin of time t, and whether t lies within a nanosecond of a bin's edge."""
        f = (t - self.t0) / (self.t1 - self.t0) * self.bins
        b = min(max(int(f // 1), 0), self.bins - 1)
        return b, abs(f - round(f)) < 1e-9 * self.bins / (self.t1 - self.t0) * 2

    def sample_y(self, lane, kind):
        """A pixel row inside a mark of this kind on this lane."""
        yc = self.y[lane]
        return yc - 3 if kind in UPPER else yc + 2


def find_frame(img):
    """The plot frame's rows and columns in the screenshot: long runs of its colour."""
    want = bytes(FRAME) + (b'\xff' if img.bpp == 4 else b'')
    rows, cols = [], collections.Counter()
    for y, row in enumerate(img.rows):
        n, i = 0, row.find(want)
        while i >= 0:
            if i % img.bpp == 0:
                n += 1
                cols[i // img.bpp] += 1
            i = row.find(want, i + 1)
        if n > 500:
            rows.append(y)
    check(len(rows) >= 2, f'plot frame not found in the screenshot (rows {rows})')
    top, bottom = rows[0], rows[-1]
    edge = [x for x, n in cols.items() if n >= (bottom - top) * 0.9]
    check(len(edge) >= 2, f'plot frame edges not found (columns {sorted(edge)})')
    return top, bottom, min(edge), max(edge)


def main():
    ap = argparse.ArgumentParser()
    for name in ('page', 'dom', 'shot', 'trace', 'stats'):
        ap.add_argument('--' + name, required=True)
    ap.add_argument('--load')
    ap.add_argument('--mode', choices=('each', 'aggregated'), required=True)
    ap.add_argument('--max-bytes', type=int, default=0)
    ap.add_argument('--zoomed', help='the DOM after a drag from x0+100 to x0+300 (see test_teaching_timeline.sh)')
    ap.add_argument('--require', default='acc,rd',
                    help='kinds of pixel check that must have been made at least once (enq, acc, rd, empty, blank)')
    args = ap.parse_args()

    page = open(args.page, 'rb').read()
    size = len(page)
    page = page.decode('utf-8')  # strict: the page is valid UTF-8
    check(page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>'), 'the page is not whole')
    check(not re.search(r'(src|href)\s*=\s*"(https?:)?//|@import|url\(\s*[\'"]?(https?:|//)', page, re.I),
          'the page is not self-contained')
    check(page.count('<script') == 1, f'{page.count("<script")} <script> elements in the page, expected the one')
    if args.max_bytes:
        check(size <= args.max_bytes, f'the page has {size} bytes, more than {args.max_bytes}')
    print(f'# page: {size} bytes, one inline script, nothing fetched')

    dom = Dom()
    dom.feed(open(args.dom, encoding='utf-8').read())
    check(dom.svg is not None and dom.summary is not None, 'no timeline or summary in the DOM')
    plot = Plot(dom)
    events, tsum = read_trace(args.trace)
    stats = json.load(open(args.stats))
    kinds = collections.Counter(e['event'] for e in events)
    mode = dom.svg['data-mode']
    check(mode == args.mode, f'mode {mode}, expected {args.mode}')

    # --- the lanes: a queue per listener, a thread per tid the trace or the server names ---
    sthreads = {t['tid']: t for t in stats['threads']}
    lanes = {int(a['data-lane']): a for a in dom.lanes}
    qlanes = {int(a['data-listener']): a for a in dom.lanes if a['data-kind'] == 'queue'}
    tlanes = {int(a['data-tid']): a for a in dom.lanes if a['data-kind'] == 'thread'}
    traced_tids = {e['tid'] for e in events if e['event'] in ('accepted', 'read')}
    empty_tids = {tid for tid, t in sthreads.items() if t['empty_accepts']}
    check(set(tlanes) == traced_tids | empty_tids,
          f'thread lanes {sorted(tlanes)}, the trace and the server name {sorted(traced_tids | empty_tids)}')
    check(set(qlanes) == {e['listener'] for e in events}, 'queue lanes differ from the listeners in the trace')
    print(f'# lanes: {len(qlanes)} queue, {len(tlanes)} thread = the trace\'s and the server\'s')

    # --- counts: the page's = the trace's = the server's (= the client's connections) ---
    sm = dom.summary
    accepts = sum(t['accepts'] for t in stats['threads'])
    check(int(sm['data-accepted']) == kinds['accepted'] == accepts,
          f'accepted: page {sm["data-accepted"]}, trace {kinds["accepted"]}, server {accepts}')
    if args.load:
        load = json.load(open(args.load))
        check(accepts == load['connections'], f'server accepts {accepts}, client connections {load["connections"]}')
    check(int(sm['data-queued']) == kinds['queued'], f'queued: page {sm["data-queued"]}, trace {kinds["queued"]}')
    check(int(sm['data-reads']) == kinds['read'], f'first reads: page {sm["data-reads"]}, trace {kinds["read"]}')
    check(int(sm['data-syns']) == kinds['syn'], f'SYNs: page {sm["data-syns"]}, trace {kinds["syn"]}')
    check(int(sm['data-drops']) == kinds['dropped'], f'drops: page {sm["data-drops"]}, trace {kinds["dropped"]}')
    check(int(sm['data-empty']) == sum(t['empty_accepts'] for t in stats['threads']), 'empty accepts differ')
    check(int(sm['data-lost']) == 0, 'the page says records were lost')
    for tid, a in tlanes.items():
        st = sthreads.get(tid, {'accepts': 0, 'requests': 0, 'empty_accepts': 0})
        acc = sum(1 for e in events if e['event'] == 'accepted' and e['tid'] == tid)
        rd = [e for e in events if e['event'] == 'read' and e['tid'] == tid]
        check(int(a['data-accepts']) == acc == st['accepts'],
              f'tid {tid}: accepts page {a["data-accepts"]}, trace {acc}, server {st["accepts"]}')
        # one request per connection: the server's requests are its first reads
        check(int(a['data-reads']) == len(rd) == st['requests'],
              f'tid {tid}: first reads page {a["data-reads"]}, trace {len(rd)}, server requests {st["requests"]}')
        check(int(a['data-bytes']) == sum(e['bytes'] for e in rd), f'tid {tid}: first-read bytes differ')
        check(int(a['data-empty']) == st['empty_accepts'],
              f'tid {tid}: empty accepts page {a["data-empty"]}, server {st["empty_accepts"]}')
        spans = sum(int(s['data-n']) for s in dom.spans if int(s['data-lane']) == int(a['data-lane']))
        check(spans == st['empty_accepts'], f'tid {tid}: empty-accept marks add up to {spans}, server {st["empty_accepts"]}')
    print(f'# counts: {accepts} accepted, {kinds["queued"]} queued, {kinds["read"]} first reads, '
          f'{sm["data-empty"]} empty accepts, per thread = the trace = the server')

    # --- the syn note: what this kernel's hooks see ---
    seen = sm['data-syn-seen'] == 'true'
    check(seen == (kinds['syn'] > 0 or tsum['hooks']['overflow'] in ('fentry', 'kprobe')), 'data-syn-seen is wrong')
    check(('not shown' in dom.syn_note) != seen, f'the SYN note does not match the hooks: {dom.syn_note!r}')

    # --- who accepted, who read ---
    tconns = connections(events)
    pairs = collections.Counter((c['acc_tid'], c['read_tid']) for c in tconns if 'acc_tid' in c and 'read_tid' in c)
    got = {(int(a['data-acc-tid']), int(a['data-read-tid'])): int(a['data-n']) for a in dom.handoff}
    check(got == dict(pairs), f'hand-off table {got}, trace {dict(pairs)}')

    img = Image(args.shot)
    ftop, fbottom, fleft, fright = find_frame(img)
    ox, oy = fleft - plot.x0 + 1, ftop - plot.top + 1
    check(fright == ox + plot.x0 + plot.w and fbottom == oy + plot.bottom,
          f'frame at columns {fleft}-{fright} rows {ftop}-{fbottom}: not the plot\'s size')
    print(f'# screenshot {img.width}x{img.height}: plot at ({ox + plot.x0}, {oy + plot.top})')

    def colour_at(x, y):
        """The colours at x-1, x, x+1 (a 3 px mark covers at least the middle one)."""
        return {img.rgb(ox + xx, oy + y) for xx in (int(x) - 1, int(x), int(x) + 1)}

    lane_of_listener = {lid: int(a['data-lane']) for lid, a in qlanes.items()}
    lane_of_tid = {tid: int(a['data-lane']) for tid, a in tlanes.items()}

    def event_lane(e):
        return lane_of_tid[e['tid']] if e['event'] in ('accepted', 'read') else lane_of_listener[e['listener']]

    drawn = [e for e in events if e['event'] in EVENT_KIND]
    if mode == 'each':
        # Every connection drawn, with the trace's times, threads, peer port and bytes.
        check(len(dom.conns) == len(tconns) == int(dom.svg['data-connections']),
              f'{len(dom.conns)} connections drawn, {len(tconns)} in the trace')
        want = collections.Counter(conn_key(c) for c in tconns)
        have = collections.Counter(conn_key(dom_conn(a)) for a in dom.conns)
        check(want == have, f'connections differ: only in the trace {list((want - have).elements())[:3]}, '
                            f'only in the page {list((have - want).elements())[:3]}')
        # Every mark at the x its time gives, on its lane.
        for m in dom.marks:
            check(abs(float(m['x1']) - plot.x(float(m['data-t']))) < 0.02, f'a mark off its time: {m}')
        marks = collections.Counter((m['kind'], int(m['data-lane']), round(float(m['data-t']), 6)) for m in dom.marks)
        for e in drawn + [e for e in events if e['event'] == 'dropped']:
            kind = EVENT_KIND.get(e['event']) or ('dhs' if e.get('stage') == 'handshake' else 'dsyn')
            check(marks[(kind, event_lane(e), round(e['time_s'], 6))] > 0, f'no mark for {e}')
        print(f'# each: {len(tconns)} connections drawn as in the trace, {len(dom.marks)} marks at their times')
    else:
        # Each bin's count is the trace's (an event within a nanosecond of a bin's edge may be in either).
        counts, loose = collections.Counter(), collections.Counter()
        for e in drawn:
            b, edge = plot.bin(e['time_s'])
            (loose if edge else counts)[(EVENT_KIND[e['event']], event_lane(e), b)] += 1
        have = collections.Counter({(a['kind'], int(a['data-lane']), int(a['data-bin'])): int(a['data-n'])
                                    for a in dom.bins if a['kind'] in COLOURS and a['kind'][0] != 'd'})
        diff = sum(abs(have[k] - counts[k]) for k in set(have) | set(counts))
        check(sum(have.values()) == sum(counts.values()) + sum(loose.values()), 'bins do not add up to the events')
        check(diff <= 2 * sum(loose.values()), f'bin counts differ from the trace by {diff}')
        print(f'# aggregated: {len(dom.bins)} bins, {sum(have.values())} events, each bin = the trace\'s')

    # --- pixels: marks in their colour where the trace's events are, nothing where none is ---
    def isolated(e, others, px=6):
        x = plot.x(e['time_s'])
        return all(abs(plot.x(o['time_s']) - x) > px for o in others if o is not e)

    checked = collections.Counter()
    by_lane = collections.defaultdict(list)
    for e in drawn:
        by_lane[event_lane(e)].append(e)
    for lane, evs in by_lane.items():
        for kind in sorted({EVENT_KIND[e['event']] for e in evs}):
            same_half = [o for o in evs if (EVENT_KIND[o['event']] in UPPER) == (kind in UPPER)]
            picks = [e for e in evs if EVENT_KIND[e['event']] == kind]
            if mode == 'each':
                picks = [e for e in picks if isolated(e, same_half)][:5]
            for e in picks[:5]:
                x = plot.x(e['time_s']) if mode == 'each' else plot.x0 + plot.bin(e['time_s'])[0] * 2 + 1
                got = colour_at(x, plot.sample_y(lane, kind))
                check(hex_rgb(COLOURS[kind]) in got,
                      f'no {kind} mark drawn at x {x:.1f} on lane {lane} for {e}: colours {got}')
                checked[kind] += 1
        # Somewhere on the lane far from every event: the lane's own background.
        xs = sorted(plot.x(e['time_s']) for e in evs)
        gaps = [(b - a, (a + b) / 2) for a, b in zip(xs, xs[1:]) if b - a > 30]
        if gaps:
            x = max(gaps)[1]
            got = colour_at(x, plot.sample_y(lane, 'acc')) | colour_at(x, plot.sample_y(lane, 'rd'))
            check(not got & {hex_rgb(COLOURS[k]) for k in ('enq', 'acc', 'rd', 'syn')},
                  f'a mark drawn at x {x:.1f} on lane {lane}, where no event was: {got}')
            checked['blank'] += 1
    for s in dom.spans[:5]:
        x = (float(s['x']) + float(s['width']) / 2)
        lane = int(s['data-lane'])
        y = plot.y[lane] - plot.lane_h // 2 + 2
        check(hex_rgb(COLOURS['empty']) in colour_at(x, y), f'no empty-accept mark drawn at x {x:.1f} on lane {lane}')
        checked['empty'] += 1
    check(all(checked[k] for k in args.require.split(',')), f'too few marks checked: {dict(checked)}, '
                                                            f'need {args.require}')
    print(f'# pixels: {dict(checked)} checked in the screenshot')
    if args.zoomed:
        check_zoom(plot, args.zoomed)


def check_zoom(plot, path):
    """After the drag, the plot shows that time range: every mark at its x in it, a new axis."""
    z = Dom()
    z.feed(open(path, encoding='utf-8').read())
    a = plot.t0 + 100 / plot.w * (plot.t1 - plot.t0)
    b = plot.t0 + 300 / plot.w * (plot.t1 - plot.t0)
    shown = re.fullmatch(r'(\S+) s to (\S+) s', z.svg.get('data-zoomed', ''))
    check(shown and abs(float(shown[1]) - a) < 2e-6 and abs(float(shown[2]) - b) < 2e-6,
          f'zoomed to {z.svg.get("data-zoomed")!r}, expected {a:.6f} s to {b:.6f} s')
    for m in z.marks:
        x = plot.x0 + (float(m['data-t']) - a) / (b - a) * plot.w
        check(abs(float(m['x1']) - x) < 0.02 and m['x1'] == m['x2'], f'after zooming, a mark at x {m["x1"]}, expected {x:.2f}')
    inside = [m for m in z.marks if plot.x0 <= float(m['x1']) <= plot.x0 + plot.w]
    check(inside, 'nothing left in the zoomed range')
    print(f'# zoom: dragged to {a:.6f}-{b:.6f} s, {len(z.marks)} marks moved, {len(inside)} in view')


if __name__ == '__main__':
    main()
