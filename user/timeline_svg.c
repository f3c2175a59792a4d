// SPDX-License-Identifier: GPL-2.0
/*
 * --timeline: the drawing, one inline SVG.  Lanes (queues first, then threads by pid
 * and tid), then on the plot: empty accepts, the connections (each, or counts per
 * bin when there are too many to tell apart), SYNs and drops, the accept-queue and
 * SYN-queue depth strips, and a time axis.  Every element standing for a time says
 * so in data-t (and data-t2): see timeline_draw.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "timeline_draw.h"

const struct tl_kind tl_kinds[NR_TL_MARKS] = {
	[TL_SYN] = { "syn", "SYN arrived", "#8250df", "SYNs", 1 },
	[TL_ENQUEUE] = { "enq", "handshake done: queued", "#1a7f37", "queued", -1 },
	[TL_DROP_SYN] = { "dsyn", "SYN dropped: accept queue full", "#cf222e", "SYNs dropped", 0 },
	[TL_DROP_HANDSHAKE] = { "dhs", "handshake dropped: accept queue full", "#cf222e", "handshakes dropped", 0 },
	[TL_ACCEPT] = { "acc", "accept()", "#0969da", "accepts", -1 },
	[TL_READ] = { "rd", "first read", "#e16f24", "first reads", 1 },
};

/* Colours of the listeners' depth lines, in queue-lane order. */
static const char *const palette[] = { "#1a7f37", "#0969da", "#8250df", "#bf3989", "#bc4c00", "#1b7c83" };
#define PALETTE(i) palette[(i) % (int)(sizeof(palette) / sizeof(palette[0]))]

/* ---- geometry ---- */

static const struct timeline *sort_tl;	/* qsort has no context argument */

static int cmp_lanes(const void *a, const void *b)
{
	const struct tl_lane *x = &sort_tl->lanes[*(const int *)a], *y = &sort_tl->lanes[*(const int *)b];

	if (x->queue != y->queue)
		return x->queue ? -1 : 1;
	if (x->queue)
		return x->port != y->port ? (x->port < y->port ? -1 : 1) : (x->listener > y->listener) - (x->listener < y->listener);
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void widen(long long *lo, long long *hi, long long t)
{
	if (t == TL_NONE)
		return;
	if (*lo == TL_NONE || t < *lo)
		*lo = t;
	if (*hi == TL_NONE || t > *hi)
		*hi = t;
}

/*
 * The times of the records, padded by 1% (at least 1 ms in all).  Samples (empty accepts,
 * depths) are drawn within it: a sample interval is coarser than the records, and would
 * otherwise stretch the page past the run.  Without records, the samples' times.
 */
static void time_range(struct geom *g, const struct timeline *tl)
{
	long long lo = TL_NONE, hi = TL_NONE, span, pad;

	for (int i = 0; i < tl->nr_marks; i++)
		widen(&lo, &hi, tl->marks[i].t_ns);
	for (int i = 0; i < tl->nr_spans && !tl->nr_marks; i++) {
		widen(&lo, &hi, tl->spans[i].t0_ns);
		widen(&lo, &hi, tl->spans[i].t1_ns);
	}
	if (lo == TL_NONE)
		lo = hi = g->origin;
	span = hi - lo;
	if (span < 1000000) {
		lo -= (1000000 - span) / 2;
		span = 1000000;
	}
	pad = span / 100;
	g->t0 = lo - pad;
	g->t1 = lo + span + pad;
}

void geom_init(struct geom *g, const struct timeline *tl)
{
	int n = tl->nr_lanes;

	*g = (struct geom){ .origin = tl->started ? (long long)tl->origin_ns : 0, .x0 = TL_LABEL_W, .w = TL_PLOT_W,
			    .each = tl->nr_conns <= TL_EACH_MAX };
	if (!tl->started && tl->nr_spans)
		g->origin = tl->spans[0].t0_ns;
	time_range(g, tl);
	g->order = calloc(n + 1, sizeof(int));
	g->row = calloc(n + 1, sizeof(int));
	if (!g->order || !g->row)
		n = 0;
	for (int i = 0; i < n; i++)
		g->order[i] = i;
	sort_tl = tl;
	qsort(g->order, n, sizeof(int), cmp_lanes);
	for (int i = 0; i < n; i++)
		g->row[g->order[i]] = i;
	g->lane_h = n <= 16 ? 32 : n <= 40 ? 24 : n <= 80 ? 16 : 12;
	g->lanes_top = 8;
	g->lanes_bottom = g->lanes_top + n * g->lane_h;
	g->depth_top = g->lanes_bottom + 26;
	g->depth_h = 90;
	g->syn_top = g->depth_top + g->depth_h + 26;
	g->syn_h = 50;
	g->axis_y = g->syn_top + g->syn_h + 4;
	g->height = g->axis_y + 30;
}

void geom_free(struct geom *g)
{
	free(g->order);
	free(g->row);
	g->order = g->row = NULL;
}

double geom_x(const struct geom *g, long long t)
{
	return g->x0 + (double)(t - g->t0) / (double)(g->t1 - g->t0) * g->w;
}

double geom_secs(const struct geom *g, long long t)
{
	return (double)(t - g->origin) / 1e9;
}

int lane_centre(const struct geom *g, int lane)
{
	return g->lanes_top + g->row[lane] * g->lane_h + g->lane_h / 2;
}

void tl_fmt_duration(char *out, size_t len, double secs)
{
	double a = fabs(secs);

	if (a < 1e-3)
		snprintf(out, len, "%.1f us", secs * 1e6);
	else if (a < 1)
		snprintf(out, len, "%.2f ms", secs * 1e3);
	else
		snprintf(out, len, "%.3f s", secs);
}

void tl_lane_name(FILE *f, const struct tl_lane *l)
{
	if (l->queue) {
		fprintf(f, "queue :%u", l->port);
		return;
	}
	escape_html(f, l->comm);
	fprintf(f, " tid %u", l->tid);
}

/* ---- marks ---- */

/* The vertical extent of a mark of @kind on the lane centred at @yc. */
static void mark_extent(const struct geom *g, enum tl_mark_kind kind, int yc, double *y1, double *y2)
{
	double reach = g->lane_h * 0.36;

	switch (tl_kinds[kind].half) {
	case -1: *y1 = yc - reach, *y2 = yc - 1; break;
	case 1: *y1 = yc + 1, *y2 = yc + reach; break;
	default: *y1 = yc - reach, *y2 = yc + reach; break;
	}
}

/* A mark's <line>, left open for a <title> (close with "</line>"). */
static void mark_open(FILE *f, const struct geom *g, enum tl_mark_kind kind, int lane, long long t)
{
	double y1, y2, x = geom_x(g, t);

	mark_extent(g, kind, lane_centre(g, lane), &y1, &y2);
	fprintf(f, "<line class=\"m %s\" data-lane=\"%d\" data-t=\"%.9f\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\">",
		tl_kinds[kind].cls, lane, geom_secs(g, t), x, x, y1, y2);
}

/* A segment of a connection's path, from (@ta on lane @la) to (@tb on lane @lb). */
static void segment(FILE *f, const struct geom *g, const char *cls, long long ta, int la, long long tb, int lb)
{
	fprintf(f, "<line class=\"s %s\" data-t=\"%.9f\" data-t2=\"%.9f\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" y2=\"%d\"/>",
		cls, geom_secs(g, ta), geom_secs(g, tb), geom_x(g, ta), geom_x(g, tb), lane_centre(g, la),
		lane_centre(g, lb));
}

static void conn_title(FILE *f, const struct timeline *tl, const struct geom *g, int i, const struct tl_conn *c)
{
	char d[32];

	fprintf(f, "<title>connection %d, peer port %u", i + 1, c->peer_port);
	if (c->syn_ns != TL_NONE) {
		tl_fmt_duration(d, sizeof(d), (c->enqueue_ns - c->syn_ns) / 1e9);
		fprintf(f, "\nSYN at %.6f s; handshake %s", geom_secs(g, c->syn_ns), d);
	}
	if (c->enqueue_ns != TL_NONE)
		fprintf(f, "\nqueued at %.6f s", geom_secs(g, c->enqueue_ns));
	else
		fputs("\nqueued before the trace (or unseen)", f);
	if (c->accept_ns != TL_NONE) {
		tl_fmt_duration(d, sizeof(d), c->wait_ns / 1e9);
		fprintf(f, "\naccepted at %.6f s by ", geom_secs(g, c->accept_ns));
		tl_lane_name(f, &tl->lanes[c->accept_lane]);
		if (c->wait_ns)
			fprintf(f, " after %s in the accept queue", d);
	} else {
		fputs("\nnot accepted while traced", f);
	}
	if (c->read_ns != TL_NONE) {
		fprintf(f, "\nfirst read at %.6f s, %llu bytes, by ", geom_secs(g, c->read_ns), (unsigned long long)c->bytes);
		tl_lane_name(f, &tl->lanes[c->read_lane]);
	}
	fputs("</title>", f);
}

static void conn_data(FILE *f, const struct geom *g, const char *name, long long t)
{
	if (t != TL_NONE)
		fprintf(f, " data-%s=\"%.9f\"", name, geom_secs(g, t));
}

/* One connection's path from lane to lane: under every mark (drawn first, for all connections). */
static void draw_path(FILE *f, const struct timeline *tl, const struct geom *g, int i)
{
	const struct tl_conn *c = &tl->conns[i];
	long long from = c->enqueue_ns;
	int at = c->queue_lane;

	fprintf(f, "<g class=\"path\" data-conn=\"%d\">", i + 1);
	if (c->syn_ns != TL_NONE && at >= 0)
		segment(f, g, "hs", c->syn_ns, at, from, at);
	if (c->accept_ns != TL_NONE) {
		if (from != TL_NONE && at >= 0)
			segment(f, g, "wt", from, at, c->accept_ns, c->accept_lane);
		from = c->accept_ns, at = c->accept_lane;
	} else if (from != TL_NONE && at >= 0) {
		segment(f, g, "wt open", from, at, g->t1, at);	/* still queued at the end */
	}
	if (c->read_ns != TL_NONE && from != TL_NONE && c->accept_ns != TL_NONE)
		segment(f, g, "ho", from, at, c->read_ns, c->read_lane);
	fputs("</g>\n", f);
}

/* One connection's marks, and what it was as their hover text. */
static void draw_conn(FILE *f, const struct timeline *tl, const struct geom *g, int i)
{
	const struct tl_conn *c = &tl->conns[i];

	fprintf(f, "<g class=\"conn\" id=\"conn-%d\" data-peer=\"%u\" data-listener=\"%llu\"", i + 1, c->peer_port,
		(unsigned long long)c->listener);
	conn_data(f, g, "syn", c->syn_ns);
	conn_data(f, g, "enq", c->enqueue_ns);
	conn_data(f, g, "acc", c->accept_ns);
	conn_data(f, g, "read", c->read_ns);
	if (c->accept_lane >= 0)
		fprintf(f, " data-acc-tid=\"%u\" data-wait-ns=\"%llu\"", tl->lanes[c->accept_lane].tid,
			(unsigned long long)c->wait_ns);
	if (c->read_lane >= 0)
		fprintf(f, " data-read-tid=\"%u\" data-bytes=\"%llu\"", tl->lanes[c->read_lane].tid,
			(unsigned long long)c->bytes);
	fputs(">", f);
	conn_title(f, tl, g, i, c);
	if (c->enqueue_ns != TL_NONE && c->queue_lane >= 0)
		mark_open(f, g, TL_ENQUEUE, c->queue_lane, c->enqueue_ns), fputs("</line>", f);
	if (c->accept_ns != TL_NONE)
		mark_open(f, g, TL_ACCEPT, c->accept_lane, c->accept_ns), fputs("</line>", f);
	if (c->read_ns != TL_NONE)
		mark_open(f, g, TL_READ, c->read_lane, c->read_ns), fputs("</line>", f);
	fputs("</g>\n", f);
}

/* SYNs and drops, which belong to no connection drawn (a SYN's handshake is its connection's path). */
static void draw_loose_marks(FILE *f, const struct timeline *tl, const struct geom *g)
{
	for (int i = 0; i < tl->nr_marks; i++) {
		const struct tl_mark *m = &tl->marks[i];

		if (m->kind != TL_SYN && m->kind != TL_DROP_SYN && m->kind != TL_DROP_HANDSHAKE)
			continue;
		mark_open(f, g, m->kind, m->lane, m->t_ns);
		fprintf(f, "<title>%s at %.6f s", tl_kinds[m->kind].what, geom_secs(g, m->t_ns));
		if (m->kind == TL_SYN)
			fprintf(f, ", peer port %u", m->peer_port);
		fputs("</title></line>\n", f);
	}
}

/* ---- counts per bin, when the connections are too many to draw each ---- */

static int bin_of(const struct geom *g, long long t)
{
	long long b = (t - g->t0) * (long long)TL_BINS / (g->t1 - g->t0);

	return b < 0 ? 0 : b >= TL_BINS ? TL_BINS - 1 : (int)b;
}

static void bin_rect(FILE *f, const struct geom *g, int lane, enum tl_mark_kind kind, int b, __u32 n, __u32 most)
{
	double reach = g->lane_h * 0.36 - 1, h = reach * n / most, y;
	long long ta = g->t0 + (g->t1 - g->t0) * b / TL_BINS, tb = g->t0 + (g->t1 - g->t0) * (b + 1) / TL_BINS;
	int yc = lane_centre(g, lane), px = TL_PLOT_W / TL_BINS;

	if (h < 3)
		h = 3;
	y = tl_kinds[kind].half < 0 ? yc - 1 - h : tl_kinds[kind].half > 0 ? yc + 1 : yc - h;
	fprintf(f, "<rect class=\"b %s\" data-lane=\"%d\" data-bin=\"%d\" data-n=\"%u\" data-t=\"%.9f\" data-t2=\"%.9f\" "
		   "x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"><title>%u %s, %.6f to %.6f s</title></rect>\n",
		tl_kinds[kind].cls, lane, b, n, geom_secs(g, ta), geom_secs(g, tb), g->x0 + b * px, y, px,
		tl_kinds[kind].half ? h : 2 * h, n, tl_kinds[kind].many, geom_secs(g, ta), geom_secs(g, tb));
}

static void draw_bins(FILE *f, const struct timeline *tl, const struct geom *g)
{
	size_t per_lane = (size_t)NR_TL_MARKS * TL_BINS;
	__u32 *count = calloc((size_t)tl->nr_lanes * per_lane + 1, sizeof(*count)), most[NR_TL_MARKS] = {};

	if (!count)
		return;
	for (int i = 0; i < tl->nr_marks; i++) {
		const struct tl_mark *m = &tl->marks[i];
		__u32 *n = &count[m->lane * per_lane + m->kind * TL_BINS + bin_of(g, m->t_ns)];

		if (++*n > most[m->kind])
			most[m->kind] = *n;
	}
	/* Drops last: drawn over the lane's other bars. */
	static const enum tl_mark_kind order[] = { TL_ENQUEUE, TL_SYN, TL_ACCEPT, TL_READ, TL_DROP_SYN, TL_DROP_HANDSHAKE };
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (int lane = 0; lane < tl->nr_lanes; lane++)
			for (int b = 0; b < TL_BINS; b++) {
				__u32 n = count[lane * per_lane + order[k] * TL_BINS + b];

				if (n)
					bin_rect(f, g, lane, order[k], b, n, most[order[k]]);
			}
	free(count);
}

/* ---- empty accepts, per sample interval ---- */

static long long clamp_t(const struct geom *g, long long t)
{
	return t < g->t0 ? g->t0 : t > g->t1 ? g->t1 : t;
}

/* Each span within the plot's range (its hover text says the whole sample interval). */
static void draw_spans(FILE *f, const struct timeline *tl, const struct geom *g)
{
	for (int i = 0; i < tl->nr_spans; i++) {
		const struct tl_span *s = &tl->spans[i];
		long long a = clamp_t(g, s->t0_ns), b = clamp_t(g, s->t1_ns);
		double x = geom_x(g, a), w = geom_x(g, b) - x;

		fprintf(f, "<rect class=\"empty\" data-lane=\"%d\" data-n=\"%llu\" data-t=\"%.9f\" data-t2=\"%.9f\" "
			   "x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\"><title>%llu empty accept%s (EAGAIN: the queue "
			   "was empty) by ",
			s->lane, (unsigned long long)s->n, geom_secs(g, a), geom_secs(g, b), x,
			lane_centre(g, s->lane) - g->lane_h / 2 + 1, w < 2 ? 2 : w, g->lane_h / 8 < 3 ? 3 : g->lane_h / 8,
			(unsigned long long)s->n, s->n == 1 ? "" : "s");
		tl_lane_name(f, &tl->lanes[s->lane]);
		fprintf(f, " in the sample interval %.3f to %.3f s</title></rect>\n", geom_secs(g, s->t0_ns),
			geom_secs(g, s->t1_ns));
	}
}

/* ---- depth strips ---- */

static int cmp_points(const void *a, const void *b)
{
	const struct tl_point *x = a, *y = b;

	return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

/* @s's points in time order; when there are more than 4 per bin's width, each bin's deepest. */
static int strip_points(const struct tl_series *s, const struct geom *g, struct tl_point **out)
{
	struct tl_point *p = malloc((s->n + 1) * sizeof(*p));
	int n = 0;

	*out = p;
	if (!p)
		return 0;
	memcpy(p, s->p, s->n * sizeof(*p));
	qsort(p, s->n, sizeof(*p), cmp_points);
	if (s->n <= 4 * TL_BINS)
		return s->n;
	for (int i = 0, last = -1; i < s->n; i++) {
		int b = bin_of(g, p[i].t_ns);

		if (b == last) {
			if (p[i].v > p[n - 1].v)
				p[n - 1].v = p[i].v;
		} else {
			p[n] = p[i];
			p[n].t_ns = g->t0 + (g->t1 - g->t0) * b / TL_BINS;
			n++;
			last = b;
		}
	}
	return n;
}

/* A round number at least @v, at least 1. */
static __u32 round_up(__u32 v)
{
	static const __u32 steps[] = { 1, 2, 4, 5, 8, 10 };
	__u32 p = 1;

	for (;; p *= 10)
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			if (v <= steps[i] * p || p > 100000000)
				return steps[i] * p;
}

static __u32 series_max(const struct timeline *tl, bool syn)
{
	__u32 most = 0;

	for (int i = 0; i < tl->nr_lanes; i++) {
		const struct tl_series *s = syn ? &tl->lanes[i].synq : &tl->lanes[i].depth;

		for (int j = 0; j < s->n; j++)
			if (s->p[j].v > most)
				most = s->p[j].v;
	}
	return most;
}

/* One listener's depth as a step line; its points in data-pts ("t v;...") for the script. */
static void strip_path(FILE *f, const struct geom *g, const struct tl_series *s, int lane, int top, int h,
		       __u32 top_v, const char *colour)
{
	struct tl_point *p;
	int n = strip_points(s, g, &p);
	double k = (double)h / top_v;

	if (!n) {
		free(p);
		return;
	}
	fprintf(f, "<path class=\"depth\" data-lane=\"%d\" data-base=\"%d\" data-k=\"%.6f\" stroke=\"%s\" data-pts=\"", lane,
		top + h, k, colour);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.6f %u", i ? ";" : "", geom_secs(g, p[i].t_ns), p[i].v);
	fprintf(f, "\" d=\"M%.2f %.1f", geom_x(g, p[0].t_ns), top + h - p[0].v * k);
	for (int i = 1; i < n; i++)
		fprintf(f, "H%.2fV%.1f", geom_x(g, p[i].t_ns), top + h - p[i].v * k);
	fputs("\"/>\n", f);
	free(p);
}

struct strip_scale {
	int top, h;
	__u32 most, top_v;
};

static struct strip_scale strip_scale(const struct timeline *tl, const struct geom *g, bool syn)
{
	struct strip_scale s = { .top = syn ? g->syn_top : g->depth_top, .h = syn ? g->syn_h : g->depth_h,
				 .most = series_max(tl, syn) };

	s.top_v = round_up(s.most);
	return s;
}

/* The accept-queue (@syn false) or SYN-queue strip's frame, names and scale, outside the plot's clip. */
static void strip_frame(FILE *f, const struct timeline *tl, const struct geom *g, bool syn)
{
	struct strip_scale s = strip_scale(tl, g, syn);

	fprintf(f, "<g class=\"strip\" id=\"%s\" data-max=\"%u\" data-top-value=\"%u\">\n", syn ? "synq" : "depth",
		s.most, s.top_v);
	fprintf(f, "<rect class=\"strip-bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", g->x0, s.top, g->w, s.h);
	fprintf(f, "<text x=\"8\" y=\"%d\" class=\"name\">%s</text>\n", s.top + 12, syn ? "SYN queue" : "accept queue");
	fprintf(f, "<text x=\"8\" y=\"%d\" class=\"small\">%s</text>\n", s.top + 26,
		syn ? "handshakes pending" : "connections waiting");
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"small\">%u</text>", g->x0 - 4, s.top + 9, s.top_v);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"small\">0</text>\n", g->x0 - 4, s.top + s.h);
	if (syn && !tl->syn_seen)
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"small\">as enqueue records and listener samples report it: "
			   "no hook on this kernel sees the SYNs themselves</text>\n", g->x0 + 6, s.top + 12);
	fputs("</g>\n", f);
}

/* A line per listener (in its queue lane's colour), and its backlog where the queue came near it. */
static void strip_lines(FILE *f, const struct timeline *tl, const struct geom *g, bool syn)
{
	struct strip_scale s = strip_scale(tl, g, syn);
	int colour = 0;

	for (int r = 0; r < tl->nr_lanes; r++) {
		int lane = g->order[r];
		const struct tl_lane *l = &tl->lanes[lane];

		if (!l->queue)
			continue;
		if (!syn && l->backlog && l->backlog <= s.top_v) {
			double y = s.top + s.h - (double)s.h * l->backlog / s.top_v;

			fprintf(f, "<line class=\"backlog\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
				   "<text x=\"%d\" y=\"%.1f\" class=\"small\">backlog %u</text>\n",
				g->x0, g->x0 + g->w, y, y, g->x0 + 4, y - 2, l->backlog);
		}
		strip_path(f, g, syn ? &l->synq : &l->depth, lane, s.top, s.h, s.top_v, PALETTE(colour));
		colour++;
	}
}

/* ---- lanes, axis ---- */

static void draw_lane(FILE *f, const struct timeline *tl, const struct geom *g, int lane, int colour)
{
	const struct tl_lane *l = &tl->lanes[lane];
	int top = lane_centre(g, lane) - g->lane_h / 2, big = g->lane_h >= 24;

	fprintf(f, "<g class=\"lane %s\" id=\"lane-%d\" data-lane=\"%d\" data-kind=\"%s\" data-y=\"%d\"", l->queue ? "q" : "t",
		lane, lane, l->queue ? "queue" : "thread", lane_centre(g, lane));
	if (l->queue)
		fprintf(f, " data-listener=\"%llu\" data-port=\"%u\" data-backlog=\"%u\" data-syns=\"%llu\" data-queued=\"%llu\" "
			   "data-drops=\"%llu\">", (unsigned long long)l->listener, l->port, l->backlog,
			(unsigned long long)l->syns, (unsigned long long)l->queued, (unsigned long long)l->drops);
	else {
		fprintf(f, " data-pid=\"%u\" data-tid=\"%u\" data-comm=\"", l->pid, l->tid);
		escape_html(f, l->comm);
		fprintf(f, "\" data-accepts=\"%llu\" data-reads=\"%llu\" data-empty=\"%llu\" data-bytes=\"%llu\">",
			(unsigned long long)l->accepts, (unsigned long long)l->reads, (unsigned long long)l->empty_accepts,
			(unsigned long long)l->read_bytes);
	}
	fprintf(f, "<rect class=\"lane-bg%s\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>", g->row[lane] % 2 ? " odd" : "",
		top, g->x0 + g->w, g->lane_h);
	/* A nested <svg> clips a long (escaped) name at the label column. */
	fprintf(f, "<svg x=\"4\" y=\"%d\" width=\"%d\" height=\"%d\"><text x=\"%d\" y=\"%d\" class=\"name\">", top,
		TL_LABEL_W - 10, g->lane_h, l->queue ? 12 : 0, big ? 13 : g->lane_h - 3);
	if (l->queue)
		fprintf(f, "queue :%u", l->port);
	else
		escape_html(f, l->comm);
	fputs("</text>", f);
	if (l->queue)
		fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"8\" height=\"8\" fill=\"%s\"/>", big ? 5 : g->lane_h / 2 - 4,
			PALETTE(colour));
	if (big && l->queue)
		fprintf(f, "<text x=\"12\" y=\"26\" class=\"small\">%llu queued%s</text>", (unsigned long long)l->queued,
			l->drops ? ", drops" : "");
	else if (big)
		fprintf(f, "<text x=\"0\" y=\"26\" class=\"small\">tid %u · %llu acc · %llu rd</text>", l->tid,
			(unsigned long long)l->accepts, (unsigned long long)l->reads);
	fputs("</svg></g>\n", f);
}

/* A step of 1, 2 or 5 times a power of ten giving about 8 ticks over @span seconds. */
static double tick_step(double span)
{
	double raw = span / 8, p = pow(10, floor(log10(raw)));

	return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

/* Time ticks: gridlines over the lanes and strips, labels under them (the script redraws them). */
static void draw_axis(FILE *f, const struct geom *g)
{
	double a = geom_secs(g, g->t0), b = geom_secs(g, g->t1), step = tick_step(b - a);
	double unit = step >= 1 ? 1 : step >= 1e-3 ? 1e3 : 1e6;
	const char *name = step >= 1 ? "s" : step >= 1e-3 ? "ms" : "us";
	int decimals = (int)fmax(0, -floor(log10(step * unit) + 1e-9));

	fprintf(f, "<g id=\"axis\" data-top=\"%d\" data-bottom=\"%d\">\n", g->lanes_top, g->axis_y);
	for (double t = ceil(a / step) * step; t <= b + step * 1e-9; t += step) {
		double x = g->x0 + (t - a) / (b - a) * g->w;

		fprintf(f, "<line class=\"grid\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" y2=\"%d\"/>", x, x, g->lanes_top, g->axis_y);
		fprintf(f, "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%.*f %s</text>\n", x, g->axis_y + 14, decimals,
			fabs(t * unit) < 1e-9 ? 0 : t * unit, name);
	}
	fputs("</g>\n", f);
}

void tl_svg(FILE *f, const struct timeline *tl, const struct geom *g)
{
	int colour = 0;

	fprintf(f, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "data-t0=\"%.9f\" data-t1=\"%.9f\" data-x0=\"%d\" data-w=\"%d\" data-mode=\"%s\" data-bins=\"%d\" "
		   "data-lane-h=\"%d\" data-connections=\"%d\">\n",
		TL_WIDTH, g->height, TL_WIDTH, g->height, geom_secs(g, g->t0), geom_secs(g, g->t1), g->x0, g->w,
		g->each ? "each" : "aggregated", TL_BINS, g->lane_h, tl->nr_conns);
	fprintf(f, "<defs><clipPath id=\"plot-clip\"><rect x=\"%d\" y=\"0\" width=\"%d\" height=\"%d\"/></clipPath></defs>\n",
		g->x0, g->w, g->height);
	for (int r = 0; r < tl->nr_lanes; r++) {
		draw_lane(f, tl, g, g->order[r], colour);
		colour += tl->lanes[g->order[r]].queue;
	}
	strip_frame(f, tl, g, false);
	strip_frame(f, tl, g, true);
	draw_axis(f, g);
	fputs("<g id=\"plot\" clip-path=\"url(#plot-clip)\">\n", f);
	if (g->each) {
		for (int i = 0; i < tl->nr_conns; i++)
			draw_path(f, tl, g, i);
		for (int i = 0; i < tl->nr_conns; i++)
			draw_conn(f, tl, g, i);
		draw_loose_marks(f, tl, g);
	} else {
		draw_bins(f, tl, g);
	}
	draw_spans(f, tl, g);	/* over the connections' lines, which cross a lane's top */
	strip_lines(f, tl, g, false);
	strip_lines(f, tl, g, true);
	fputs("</g>\n", f);
	/* Last, over everything: the lanes' frame. */
	fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n", g->x0 - 0.5,
		g->lanes_top - 0.5, g->w + 1, g->lanes_bottom - g->lanes_top + 1);
	fprintf(f, "<rect id=\"sel\" x=\"0\" y=\"%d\" width=\"0\" height=\"%d\"/>\n", g->lanes_top, g->axis_y - g->lanes_top);
	fputs("</svg>\n", f);
}
