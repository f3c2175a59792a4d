// SPDX-License-Identifier: GPL-2.0
/*
 * --timeline: the page.  Self-contained: inline CSS and SVG (timeline_svg.c), a short
 * inline script that only zooms the time axis (the page reads the same without it),
 * nothing fetched.  Above the drawing: what was traced, the figures, what the page can
 * and cannot show on this kernel, a legend; below: each lane's counts and who handed
 * connections to whom.  Kernel and peer text (comm) is escaped twice: escape_text when
 * the record arrives, escape_html here.
 */
#include <stdlib.h>
#include <string.h>
#include "timeline_draw.h"

static const char css[] =
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:16px;color:#1f2328;background:#fff}\n"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}\n"
"p.sub{color:#57606a;margin:0 0 8px}ul.notes{color:#57606a;max-width:1150px;padding-left:20px}\n"
"#summary b{font-variant-numeric:tabular-nums}\n"
".legend{margin:8px 0}.legend .sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:-2px}\n"
".controls{margin:6px 0}.controls button{font:12px system-ui,sans-serif;margin-right:6px}\n"
".controls span{color:#57606a;font-size:12px}\n"
"svg#timeline{display:block;user-select:none;cursor:crosshair}\n"
"svg text{font:11px system-ui,sans-serif;fill:#424a53}svg text.name{font-weight:600;fill:#1f2328}\n"
"svg text.small{font-size:10px;fill:#57606a}\n"
".lane-bg{fill:#fff}.lane-bg.odd{fill:#f3f5f7}\n"
".frame{fill:none;stroke:" TL_FRAME_COLOUR ";stroke-width:1;shape-rendering:crispEdges}\n"
".grid{stroke:#d8dee4;stroke-width:1;shape-rendering:crispEdges}\n"
".m{stroke-width:3;shape-rendering:crispEdges}.b{shape-rendering:crispEdges}\n"
".s{stroke-width:1;fill:none}.s.hs{stroke:#c297ff}.s.wt{stroke:#8c959f}.s.wt.open{stroke-dasharray:4 3}"
".s.ho{stroke:#f0b37e}\n"
".empty{fill:" TL_EMPTY_COLOUR ";shape-rendering:crispEdges}\n"
".strip-bg{fill:#fbfcfd;stroke:#d0d7de}path.depth{fill:none;stroke-width:1.5}\n"
".backlog{stroke:#cf222e;stroke-dasharray:5 4;stroke-width:1}\n"
"#sel{fill:rgba(9,105,218,.12);stroke:#0969da;stroke-width:1}\n"
"table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}\n"
"th,td{padding:2px 9px;border-bottom:1px solid #d0d7de;text-align:right;white-space:nowrap}\n"
"th{background:#f6f8fa;font-weight:600}.l{text-align:left}\n";

/*
 * Zoom: drag across the plot to show that time range, double-click (or "whole run") for
 * all of it.  Every element with data-t (and data-t2) is moved, paths are redrawn from
 * data-pts, the axis is drawn again (as draw_axis in timeline_svg.c does).
 */
static const char script[] =
"(function () {\n"
"  var svg = document.getElementById('timeline');\n"
"  if (!svg) return;\n"
"  var NS = 'http://www.w3.org/2000/svg', d = svg.dataset, T0 = +d.t0, T1 = +d.t1, X0 = +d.x0, W = +d.w;\n"
"  var a = T0, b = T1, start = null, sel = document.getElementById('sel');\n"
"  function X(t) { return X0 + (t - a) / (b - a) * W; }\n"
"  function T(x) { return a + (x - X0) / W * (b - a); }\n"
"  function el(name, attrs, text) {\n"
"    var e = document.createElementNS(NS, name);\n"
"    for (var k in attrs) e.setAttribute(k, attrs[k]);\n"
"    if (text) e.textContent = text;\n"
"    return e;\n"
"  }\n"
"  function axis() {\n"
"    var g = document.getElementById('axis'), top = g.dataset.top, bottom = +g.dataset.bottom;\n"
"    var raw = (b - a) / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));\n"
"    var step = raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;\n"
"    var unit = step >= 1 ? 1 : step >= 1e-3 ? 1e3 : 1e6, name = step >= 1 ? 's' : step >= 1e-3 ? 'ms' : 'us';\n"
"    var dec = Math.max(0, -Math.floor(Math.log10(step * unit) + 1e-9));\n"
"    while (g.firstChild) g.removeChild(g.firstChild);\n"
"    for (var t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) {\n"
"      var x = X(t).toFixed(2), v = Math.abs(t * unit) < 1e-9 ? 0 : t * unit;\n"
"      g.appendChild(el('line', { 'class': 'grid', x1: x, x2: x, y1: top, y2: bottom }));\n"
"      g.appendChild(el('text', { x: x, y: bottom + 14, 'text-anchor': 'middle' }, v.toFixed(dec) + ' ' + name));\n"
"    }\n"
"  }\n"
"  function redraw() {\n"
"    svg.querySelectorAll('[data-t]').forEach(function (e) {\n"
"      var x = X(+e.dataset.t);\n"
"      if (e.tagName === 'rect') {\n"
"        e.setAttribute('x', x.toFixed(2));\n"
"        e.setAttribute('width', Math.max(X(+e.dataset.t2) - x, e.classList.contains('empty') ? 2 : 0.5).toFixed(2));\n"
"      } else {\n"
"        e.setAttribute('x1', x.toFixed(2));\n"
"        e.setAttribute('x2', (e.dataset.t2 ? X(+e.dataset.t2) : x).toFixed(2));\n"
"      }\n"
"    });\n"
"    svg.querySelectorAll('path[data-pts]').forEach(function (p) {\n"
"      var base = +p.dataset.base, k = +p.dataset.k, s = '';\n"
"      p.dataset.pts.split(';').forEach(function (q, i) {\n"
"        var tv = q.split(' '), x = X(+tv[0]).toFixed(2), y = (base - tv[1] * k).toFixed(1);\n"
"        s += i ? 'H' + x + 'V' + y : 'M' + x + ' ' + y;\n"
"      });\n"
"      p.setAttribute('d', s);\n"
"    });\n"
"    axis();\n"
"    document.getElementById('range').textContent = a.toFixed(6) + ' s to ' + b.toFixed(6) + ' s';\n"
"  }\n"
"  function zoom(na, nb) { a = Math.max(T0, na); b = Math.min(T1, nb); if (b - a < 1e-7) b = a + 1e-7; redraw(); }\n"
"  function px(ev) { return Math.min(Math.max(ev.clientX - svg.getBoundingClientRect().left, X0), X0 + W); }\n"
"  svg.addEventListener('mousedown', function (ev) { start = px(ev); ev.preventDefault(); });\n"
"  window.addEventListener('mousemove', function (ev) {\n"
"    if (start === null) return;\n"
"    var x = px(ev);\n"
"    sel.setAttribute('x', Math.min(start, x)); sel.setAttribute('width', Math.abs(x - start));\n"
"  });\n"
"  window.addEventListener('mouseup', function (ev) {\n"
"    if (start === null) return;\n"
"    var x = px(ev), lo = Math.min(start, x), hi = Math.max(start, x);\n"
"    start = null; sel.setAttribute('width', 0);\n"
"    if (hi - lo >= 3) zoom(T(lo), T(hi));\n"
"  });\n"
"  svg.addEventListener('dblclick', function () { zoom(T0, T1); });\n"
"  document.getElementById('zoom-out').onclick = function () { var m = (a + b) / 2, h = b - a; zoom(m - h, m + h); };\n"
"  document.getElementById('zoom-all').onclick = function () { zoom(T0, T1); };\n"
"})();\n";

static void page_head(FILE *f, const struct timeline *tl)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>acceptscope timeline: ", f);
	escape_html(f, tl->title);
	fputs("</title>\n<style>\n", f);
	fputs(css, f);
	for (int k = 0; k < NR_TL_MARKS; k++)
		fprintf(f, ".m.%s{stroke:%s}.b.%s{fill:%s}\n", tl_kinds[k].cls, tl_kinds[k].colour, tl_kinds[k].cls,
			tl_kinds[k].colour);
	fputs("</style>\n</head>\n<body>\n<h1>acceptscope timeline</h1>\n<p class=\"sub\">", f);
	escape_html(f, tl->title);
	fputs(" &middot; hooks: ", f);
	escape_html(f, tl->hooks);
	fputs("</p>\n", f);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return (x > y) - (x < y);
}

/* The accept-queue waits the kernel measured: p50, p99, max (seconds) into @out; how many. */
static int waits(const struct timeline *tl, double out[3])
{
	__u64 *w = malloc((tl->nr_conns + 1) * sizeof(*w));
	int n = 0;

	out[0] = out[1] = out[2] = 0;
	if (!w)
		return 0;
	for (int i = 0; i < tl->nr_conns; i++)
		if (tl->conns[i].accept_ns != TL_NONE && tl->conns[i].wait_ns)
			w[n++] = tl->conns[i].wait_ns;
	qsort(w, n, sizeof(*w), cmp_u64);
	if (n) {
		out[0] = w[(n - 1) / 2] / 1e9;
		out[1] = w[(int)((n - 1) * 0.99)] / 1e9;
		out[2] = w[n - 1] / 1e9;
	}
	free(w);
	return n;
}

struct totals {
	__u64 accepts, reads, bytes, empty, syns, queued, drops;
};

static struct totals totals(const struct timeline *tl)
{
	struct totals t = {};

	for (int i = 0; i < tl->nr_lanes; i++) {
		const struct tl_lane *l = &tl->lanes[i];

		t.accepts += l->accepts, t.reads += l->reads, t.bytes += l->read_bytes, t.empty += l->empty_accepts;
		t.syns += l->syns, t.queued += l->queued, t.drops += l->drops;
	}
	return t;
}

static void summary(FILE *f, const struct timeline *tl, const struct geom *g)
{
	struct totals t = totals(tl);
	double w[3];
	int nw = waits(tl, w);
	char p50[32], p99[32], max[32], span[32];

	tl_fmt_duration(span, sizeof(span), (g->t1 - g->t0) / 1e9);
	fprintf(f, "<p id=\"summary\" data-accepted=\"%llu\" data-queued=\"%llu\" data-reads=\"%llu\" data-syns=\"%llu\" "
		   "data-drops=\"%llu\" data-empty=\"%llu\" data-lost=\"%llu\" data-syn-seen=\"%s\" data-connections=\"%d\">",
		(unsigned long long)t.accepts, (unsigned long long)t.queued, (unsigned long long)t.reads,
		(unsigned long long)t.syns, (unsigned long long)t.drops, (unsigned long long)t.empty,
		(unsigned long long)tl->lost_records, tl->syn_seen ? "true" : "false", tl->nr_conns);
	fprintf(f, "<b>%llu</b> connections accepted, <b>%llu</b> queued, <b>%llu</b> first reads (%llu bytes), ",
		(unsigned long long)t.accepts, (unsigned long long)t.queued, (unsigned long long)t.reads,
		(unsigned long long)t.bytes);
	if (tl->syn_seen)
		fprintf(f, "<b>%llu</b> SYNs, ", (unsigned long long)t.syns);
	fprintf(f, "<b>%llu</b> dropped (queue full), <b>%llu</b> empty accepts, over %s", (unsigned long long)t.drops,
		(unsigned long long)t.empty, span);
	if (nw) {
		tl_fmt_duration(p50, sizeof(p50), w[0]);
		tl_fmt_duration(p99, sizeof(p99), w[1]);
		tl_fmt_duration(max, sizeof(max), w[2]);
		fprintf(f, "; accept-queue wait p50 %s, p99 %s, max %s (%d measured)", p50, p99, max, nw);
	}
	fputs(".</p>\n", f);
}

static void notes(FILE *f, const struct timeline *tl, const struct geom *g)
{
	fputs("<ul class=\"notes\">\n", f);
	if (g->each)
		fputs("<li>Each connection is a path: its SYN and its enqueue, when the handshake completed, on the listener's "
		      "queue lane (the purple stretch between them is the SYN queue); then its <code>accept()</code> on the "
		      "lane of the thread that took it (the grey slope is the wait in the accept queue); then its first read "
		      "on the lane of the thread that read it (an orange slope: a hand-off to another thread). Hover over a "
		      "mark for the connection's figures.</li>\n", f);
	else
		fprintf(f, "<li id=\"aggregated\">%d connections are too many to draw one by one (more than %d): each lane "
			   "shows how many events of each kind fell in each of %d time bins, a bar's height relative to the "
			   "busiest bin of that kind on any lane. Hover over a bar for its count.</li>\n",
			tl->nr_conns, TL_EACH_MAX, TL_BINS);
	if (tl->syn_seen)
		fputs("<li id=\"syn-note\">SYN arrivals come from <code>tcp_conn_request</code>, before its queue-full "
		      "test; a connection's handshake starts at the first SYN from its peer port (a retransmitted SYN is "
		      "marked too).</li>\n", f);
	else
		fputs("<li id=\"syn-note\">SYN arrivals are not shown: no hook on this kernel sees "
		      "<code>tcp_conn_request</code> (the tracepoint backend has none; stock kernels, with the fentry or "
		      "kprobe backend, do). Each connection starts at its enqueue, when the handshake completed; the SYN queue "
		      "strip shows the pending handshakes the enqueue records and the listener samples report.</li>\n", f);
	fputs("<li>Empty accepts (an <code>accept()</code> that found the queue empty: a wasted wake-up) are counted per "
	      "thread, not recorded one by one: each grey bar at the top of a lane spans the sample interval they fell "
	      "in.</li>\n", f);
	fputs("<li>Drag across the plot to zoom into a time range; double-click to see the whole run again.</li>\n", f);
	if (tl->lost_records)
		fprintf(f, "<li id=\"lost\">%llu trace records were lost (the ring buffer was full): some events are "
			   "missing.</li>\n", (unsigned long long)tl->lost_records);
	if (tl->oom)
		fputs("<li id=\"oom\">Memory ran out while gathering the records: some events are missing.</li>\n", f);
	fputs("</ul>\n", f);
}

static void legend(FILE *f, const struct timeline *tl)
{
	fputs("<div class=\"legend\">", f);
	for (int k = 0; k < NR_TL_MARKS; k++) {
		if (k == TL_DROP_HANDSHAKE || (k == TL_SYN && !tl->syn_seen))
			continue;	/* the same mark as a SYN drop; no SYNs to show */
		fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>%s", tl_kinds[k].colour,
			k == TL_DROP_SYN ? "dropped (queue full)" : tl_kinds[k].what);
	}
	fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>empty accepts</div>\n", TL_EMPTY_COLOUR);
}

static void lane_table(FILE *f, const struct timeline *tl, const struct geom *g)
{
	fputs("<h2>Lanes</h2>\n<table id=\"lanes\"><thead><tr><th class=\"l\">lane</th><th>pid</th><th>tid</th>"
	      "<th>accepts</th><th>first reads</th><th>bytes</th><th>empty accepts</th><th>SYNs</th><th>queued</th>"
	      "<th>dropped</th></tr></thead><tbody>\n", f);
	for (int r = 0; r < tl->nr_lanes; r++) {
		const struct tl_lane *l = &tl->lanes[g->order[r]];

		fputs("<tr><td class=\"l\">", f);
		tl_lane_name(f, l);
		if (l->queue)
			fprintf(f, " (backlog %u)</td><td></td><td></td><td></td><td></td><td></td><td></td><td>%llu</td>"
				   "<td>%llu</td><td>%llu</td></tr>\n", l->backlog, (unsigned long long)l->syns,
				(unsigned long long)l->queued, (unsigned long long)l->drops);
		else
			fprintf(f, "</td><td>%u</td><td>%u</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td></td>"
				   "<td></td><td></td></tr>\n", l->pid, l->tid, (unsigned long long)l->accepts,
				(unsigned long long)l->reads, (unsigned long long)l->read_bytes,
				(unsigned long long)l->empty_accepts);
	}
	fputs("</tbody></table>\n", f);
}

/* Who accepted and who then read: one row per (accepting lane, reading lane). */
static void handoff_table(FILE *f, const struct timeline *tl, const struct geom *g)
{
	int n = tl->nr_lanes;
	__u64 *pairs = calloc((size_t)n * n + 1, sizeof(*pairs)), both = 0;

	if (!pairs)
		return;
	for (int i = 0; i < tl->nr_conns; i++) {
		const struct tl_conn *c = &tl->conns[i];

		if (c->accept_lane >= 0 && c->read_lane >= 0) {
			pairs[c->accept_lane * n + c->read_lane]++;
			both++;
		}
	}
	fputs("<h2>Who accepts, who reads</h2>\n<table id=\"handoff\"><thead><tr><th class=\"l\">accepted by</th>"
	      "<th class=\"l\">first read by</th><th>connections</th><th>share</th></tr></thead><tbody>\n", f);
	for (int ra = 0; ra < n; ra++)
		for (int rr = 0; rr < n; rr++) {
			int a = g->order[ra], r = g->order[rr];
			__u64 k = pairs[a * n + r];

			if (!k)
				continue;
			fprintf(f, "<tr data-acc-tid=\"%u\" data-read-tid=\"%u\" data-n=\"%llu\"><td class=\"l\">",
				tl->lanes[a].tid, tl->lanes[r].tid, (unsigned long long)k);
			tl_lane_name(f, &tl->lanes[a]);
			fputs("</td><td class=\"l\">", f);
			if (a == r)
				fputs("the same thread", f);
			else
				tl_lane_name(f, &tl->lanes[r]);
			fprintf(f, "</td><td>%llu</td><td>%.1f%%</td></tr>\n", (unsigned long long)k, 100.0 * k / both);
		}
	fputs("</tbody></table>\n", f);
	free(pairs);
}

void timeline_write_html(const struct timeline *tl, FILE *f)
{
	struct geom g;

	geom_init(&g, tl);
	page_head(f, tl);
	summary(f, tl, &g);
	notes(f, tl, &g);
	legend(f, tl);
	fprintf(f, "<div class=\"controls\"><button id=\"zoom-out\">zoom out</button><button id=\"zoom-all\">whole run"
		   "</button><span id=\"range\">%.6f s to %.6f s</span></div>\n", geom_secs(&g, g.t0), geom_secs(&g, g.t1));
	tl_svg(f, tl, &g);
	lane_table(f, tl, &g);
	handoff_table(f, tl, &g);
	fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", script);
	geom_free(&g);
}
