// SPDX-License-Identifier: GPL-2.0
/* The Prometheus view: the text exposition format of a cumulative snapshot (see prometheus.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "escape.h"
#include "prometheus.h"
#include "stats.h"

struct prom_writer {
	FILE *f;
	long max_series, series;
	__u64 dropped;		/* series cut in this render */
};

struct id_value {
	listener_id_t id;	/* first member: cmp_id() */
	__u64 value;
};

struct prom_state {
	void *gone_shown;	/* ids of closed listeners already written once (struct id_value) */
	void *overflow_high;	/* highest overflows written per listener (struct id_value) */
	__u64 series_dropped;	/* over all renders */
};

/* One (port, netns): the threads of its listeners, merged, and whether it is written. */
struct port_group {
	__u32 port;
	__u64 netns;
	struct thread_row *by_tid, *by_name;
	int nr_tid, nr_name;
	struct fairness fair;
};

struct prom_state *prom_state_new(void)
{
	return calloc(1, sizeof(struct prom_state));
}

void prom_state_free(struct prom_state *st)
{
	if (!st)
		return;
	tdestroy(st->gone_shown, free);
	tdestroy(st->overflow_high, free);
	free(st);
}

int prom_parse_threads(const char *s, enum prom_threads *out)
{
	static const char *const names[] = { [PROM_THREADS_TID] = "tid", [PROM_THREADS_NAME] = "name",
					     [PROM_THREADS_NONE] = "none" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* The entry of @id in @tree, added with value 0 if missing (NULL when out of memory); *@added says which. */
static struct id_value *id_entry(void **tree, listener_id_t id, bool *added)
{
	struct id_value *e = malloc(sizeof(*e)), **found;

	*added = false;
	if (!e)
		return NULL;
	e->id = id;
	e->value = 0;
	found = tsearch(e, tree, cmp_id);
	if (!found) {
		free(e);
		return NULL;
	}
	if (*found != e)
		free(e);
	else
		*added = true;
	return *found;
}

/* ---- the bounds of the wait histogram ---- */

/*
 * About three bounds a decade, 1 us to 100 s (1, 2, 5 x 10^k), each moved to the
 * nearest start of an in-kernel slot b: le is b - 1 ns.  Waits are whole
 * nanoseconds, so the slots below b hold exactly the waits <= le: the cumulative
 * counts are exact, not interpolated.
 */
const __u64 *prom_wait_bounds_ns(void)
{
	static __u64 bounds[PROM_WAIT_BUCKETS];
	static const int steps[] = { 1, 2, 5 };

	if (bounds[0])
		return bounds;
	for (int i = 0; i < PROM_WAIT_BUCKETS; i++) {
		double target = steps[i % 3] * pow(10, 3 + i / 3);	/* ns: 1e3 .. 1e11 */
		__u64 best = 0;
		double best_dist = INFINITY;

		for (int s = 1; s < WAIT_SLOTS; s++) {
			double dist = fabs(log((double)wait_slot_low(s) / target));

			if (dist < best_dist) {
				best_dist = dist;
				best = wait_slot_low(s);
			}
		}
		bounds[i] = best - 1;
	}
	return bounds;
}

/* ---- writing ---- */

char *prom_escape_label(char *dst, size_t size, const char *src)
{
	size_t out = 0;

	if (!size)
		return dst;
	for (; *src; src++) {
		const char *piece = *src == '\\' ? "\\\\" : *src == '"' ? "\\\"" : *src == '\n' ? "\\n" : NULL;
		size_t n = piece ? 2 : 1;

		if (out + n >= size)
			break;
		if (piece)
			memcpy(dst + out, piece, 2);
		else
			dst[out] = *src;
		out += n;
	}
	dst[out] = 0;
	return dst;
}

void prom_labels_init(struct prom_labels *l)
{
	l->s[0] = 0;
	l->len = 0;
}

void prom_label_str(struct prom_labels *l, const char *name, const char *value)
{
	char esc[PROM_LABELS_MAX];
	int n;

	prom_escape_label(esc, sizeof(esc), value);
	n = snprintf(l->s + l->len, sizeof(l->s) - l->len, "%s%s=\"%s\"", l->len ? "," : "", name, esc);
	if (n > 0 && (size_t)n < sizeof(l->s) - l->len)
		l->len += n;
	else
		l->s[l->len] = 0;	/* no room: the label is left out whole */
}

void prom_label_u64(struct prom_labels *l, const char *name, unsigned long long value)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", value);
	prom_label_str(l, name, v);
}

void prom_label_comm(struct prom_labels *l, const char *name, const char *comm)
{
	ESC_COMM(text, comm);

	prom_label_str(l, name, text);
}

void prom_family(struct prom_writer *w, const char *name, const char *type, const char *help)
{
	fprintf(w->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Room for @n more series under the cap?  If not, they are counted as dropped. */
static bool room_for(struct prom_writer *w, long n)
{
	if (w->series + n > w->max_series) {
		w->dropped += n;
		return false;
	}
	w->series += n;
	return true;
}

static void write_sample(struct prom_writer *w, const char *name, const char *suffix,
			 const struct prom_labels *l, const char *value)
{
	if (l && l->len)
		fprintf(w->f, "%s%s{%s} %s\n", name, suffix, l->s, value);
	else
		fprintf(w->f, "%s%s %s\n", name, suffix, value);
}

/* The shortest text that reads back as @v (the format's NaN and +Inf spelled its way). */
static void format_double(char *buf, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* @ns as seconds, exactly (no binary rounding): "0.000001023". */
static void format_ns_as_secs(char *buf, size_t size, __u64 ns)
{
	int n = snprintf(buf, size, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
			 (unsigned long long)(ns % 1000000000u));

	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = 0;
}

static void write_u64(struct prom_writer *w, const char *name, const char *suffix,
		      const struct prom_labels *l, unsigned long long v)
{
	char value[24];

	snprintf(value, sizeof(value), "%llu", v);
	write_sample(w, name, suffix, l, value);
}

bool prom_sample_u64(struct prom_writer *w, const char *name, const struct prom_labels *l, unsigned long long v)
{
	if (!room_for(w, 1))
		return false;
	write_u64(w, name, "", l, v);
	return true;
}

bool prom_sample_double(struct prom_writer *w, const char *name, const struct prom_labels *l, double v)
{
	char value[32];

	if (!room_for(w, 1))
		return false;
	format_double(value, sizeof(value), v);
	write_sample(w, name, "", l, value);
	return true;
}

/* ---- listeners ---- */

enum listener_metric {
	LM_QUEUE_LENGTH,
	LM_QUEUE_LIMIT,
	LM_SYN_QUEUE_LENGTH,
	LM_QUEUE_MAX_LENGTH,
	LM_QUEUED,
	LM_ACCEPTED,
	LM_EMPTY_ACCEPTS,
	LM_OVERFLOWS,
	NR_LISTENER_METRICS,
};

static const struct {
	const char *name, *type, *help;
} listener_metrics[NR_LISTENER_METRICS] = {
	[LM_QUEUE_LENGTH] = { "acceptscope_accept_queue_length", "gauge",
			      "Connections waiting in the accept queue, at the last sample" },
	[LM_QUEUE_LIMIT] = { "acceptscope_accept_queue_limit", "gauge",
			     "The listen() backlog: the accept queue is full once it holds more" },
	[LM_SYN_QUEUE_LENGTH] = { "acceptscope_syn_queue_length", "gauge",
				  "Handshakes in progress (SYN received, not yet completed), at the last sample" },
	[LM_QUEUE_MAX_LENGTH] = { "acceptscope_accept_queue_max_length", "gauge",
				  "Deepest accept queue seen at an enqueue since the tracer started" },
	[LM_QUEUED] = { "acceptscope_queued_total", "counter", "Connections that joined the accept queue" },
	[LM_ACCEPTED] = { "acceptscope_accepted_total", "counter", "Connections handed to a thread by accept()" },
	[LM_EMPTY_ACCEPTS] = { "acceptscope_empty_accepts_total", "counter",
			       "accept() calls that found the queue empty (EAGAIN): wasted wake-ups" },
	[LM_OVERFLOWS] = { "acceptscope_overflows_total", "counter",
			   "SYNs and handshakes dropped because the accept queue was full" },
};

/* The value of @m for @r: false when it has none (overflows no hook counts). */
static bool listener_value(const struct listener_row *r, enum listener_metric m, __u64 *v)
{
	switch (m) {
	case LM_QUEUE_LENGTH: *v = r->depth_now; break;
	case LM_QUEUE_LIMIT: *v = r->info.backlog; break;
	case LM_SYN_QUEUE_LENGTH: *v = r->syn_now; break;
	case LM_QUEUE_MAX_LENGTH: *v = r->st.depth_max; break;
	case LM_QUEUED: *v = r->st.queued; break;
	case LM_ACCEPTED: *v = r->st.accepted; break;
	case LM_EMPTY_ACCEPTS: *v = r->st.empty_accepts; break;
	case LM_OVERFLOWS: *v = r->overflows; return r->overflows_known;
	default: return false;
	}
	return true;
}

static void listener_labels(const struct listener_row *r, struct prom_labels *l)
{
	char addr[64];

	prom_labels_init(l);
	prom_label_u64(l, "port", r->info.port);
	prom_label_str(l, "addr", format_addr(&r->info, addr, sizeof(addr)));
	prom_label_u64(l, "netns", r->info.netns);
	prom_label_u64(l, "inode", r->info.inode);
	prom_label_u64(l, "pid", r->owner_pid);
	prom_label_comm(l, "comm", r->owner_comm);
}

/*
 * Overflows on the tracepoint backend are sk_drops minus discards, two counters
 * read a moment apart: one can move between the reads, and the difference dip by
 * one.  A counter must never go backwards (rate() would take the dip for a
 * reset), so the highest value written is kept and written again.
 */
static __u64 overflows_monotonic(struct prom_state *st, const struct listener_row *r)
{
	bool added;
	struct id_value *e = id_entry(&st->overflow_high, r->id, &added);

	if (!e)
		return r->overflows;
	if (r->overflows > e->value)
		e->value = r->overflows;
	return e->value;
}

static void write_listener_metric(struct prom_writer *w, const struct snapshot *snap, const bool *shown,
				  enum listener_metric m, struct prom_state *st)
{
	struct prom_labels l;
	__u64 v;

	prom_family(w, listener_metrics[m].name, listener_metrics[m].type, listener_metrics[m].help);
	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];

		if (!shown[i] || !listener_value(r, m, &v))
			continue;
		if (m == LM_OVERFLOWS)
			v = overflows_monotonic(st, r);
		listener_labels(r, &l);
		prom_sample_u64(w, listener_metrics[m].name, &l, v);
	}
}

/* One listener's wait histogram: every bucket, _sum and _count, or (over the cap) none. */
static void write_wait_histogram(struct prom_writer *w, const struct listener_row *r)
{
	static const char name[] = "acceptscope_accept_wait_seconds";
	const __u64 *bounds = prom_wait_bounds_ns();
	const struct listener_stats *s = &r->st;
	struct prom_labels l, lb;
	char le[32];
	__u64 cum = 0;
	int slot = 0;

	if (!room_for(w, PROM_WAIT_BUCKETS + 3))
		return;
	listener_labels(r, &l);
	for (int b = 0; b < PROM_WAIT_BUCKETS; b++) {
		/* Slots wholly below bounds[b] + 1 ns: exactly the waits <= le. */
		for (; slot < WAIT_SLOTS && wait_slot_low(slot) <= bounds[b]; slot++)
			cum += s->wait_hist[slot];
		lb = l;
		format_ns_as_secs(le, sizeof(le), bounds[b]);
		prom_label_str(&lb, "le", le);
		/* A read racing an accept may see the slot before the count: never above +Inf. */
		write_u64(w, name, "_bucket", &lb, cum < s->wait_count ? cum : s->wait_count);
	}
	lb = l;
	prom_label_str(&lb, "le", "+Inf");
	write_u64(w, name, "_bucket", &lb, s->wait_count);
	format_ns_as_secs(le, sizeof(le), s->wait_sum_ns);
	write_sample(w, name, "_sum", &l, le);
	write_u64(w, name, "_count", &l, s->wait_count);
}

/* ---- threads and ports ---- */

static int cmp_row_group(const void *a, const void *b)
{
	const struct listener_row *x = *(const struct listener_row *const *)a;
	const struct listener_row *y = *(const struct listener_row *const *)b;

	if (x->info.port != y->info.port)
		return x->info.port < y->info.port ? -1 : 1;
	if (x->info.netns != y->info.netns)
		return x->info.netns < y->info.netns ? -1 : 1;
	return cmp_id(&x->id, &y->id);
}

static int cmp_thread_name(const void *a, const void *b)
{
	const struct thread_row *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strncmp(x->comm, y->comm, TASK_COMM_LEN);
}

static void thread_add(struct thread_row *to, const struct thread_row *t)
{
	to->accepts += t->accepts;
	to->empty_accepts += t->empty_accepts;
	to->reads += t->reads;
	to->read_bytes += t->read_bytes;
}

/* Sort @t by @cmp and add up neighbours it calls equal; the new count. */
static int merge_threads(struct thread_row *t, int n, int (*cmp)(const void *, const void *))
{
	int out = 0;

	if (n > 1)
		qsort(t, n, sizeof(*t), cmp);
	for (int i = 0; i < n; i++) {
		if (out && cmp(&t[out - 1], &t[i]) == 0)
			thread_add(&t[out - 1], &t[i]);
		else
			t[out++] = t[i];
	}
	return out;
}

/* The threads of @rows[0..@n) merged by thread, and by (process, name). */
static int group_threads(struct port_group *g, struct listener_row *const *rows, int n)
{
	int total = 0;

	for (int i = 0; i < n; i++)
		total += rows[i]->nr_threads;
	g->by_tid = calloc(total ? total : 1, sizeof(*g->by_tid));
	g->by_name = calloc(total ? total : 1, sizeof(*g->by_name));
	if (!g->by_tid || !g->by_name)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!rows[i]->nr_threads)
			continue;
		memcpy(g->by_tid + g->nr_tid, rows[i]->threads, rows[i]->nr_threads * sizeof(*g->by_tid));
		g->nr_tid += rows[i]->nr_threads;
	}
	g->nr_tid = merge_threads(g->by_tid, g->nr_tid, cmp_threads);
	memcpy(g->by_name, g->by_tid, g->nr_tid * sizeof(*g->by_name));
	g->nr_name = merge_threads(g->by_name, g->nr_tid, cmp_thread_name);
	g->fair = fairness_of(g->by_tid, g->nr_tid);
	return 0;
}

/*
 * Groups (port, netns) with at least one listener written.  A group's threads
 * come from all its selected listeners, closed ones included, so a thread's
 * counters never drop when one of several listeners closes.
 */
static int port_groups(const struct snapshot *snap, const struct report_opts *ro, const bool *shown,
		       struct port_group **out)
{
	struct listener_row **rows = calloc(snap->nr_rows ? snap->nr_rows : 1, sizeof(*rows));
	struct port_group *g = calloc(snap->nr_rows ? snap->nr_rows : 1, sizeof(*g));
	int n = 0, ng = 0, err = 0;

	if (!rows || !g) {
		free(rows);
		free(g);
		return -ENOMEM;
	}
	for (int i = 0; i < snap->nr_rows; i++)
		if (row_selected(&snap->rows[i], ro))
			rows[n++] = &snap->rows[i];
	qsort(rows, n, sizeof(*rows), cmp_row_group);
	for (int i = 0, j; i < n && !err; i = j) {
		bool any_shown = false;

		for (j = i; j < n && rows[j]->info.port == rows[i]->info.port &&
			    rows[j]->info.netns == rows[i]->info.netns; j++)
			any_shown |= shown[rows[j] - snap->rows];
		if (!any_shown)
			continue;
		g[ng].port = rows[i]->info.port;
		g[ng].netns = rows[i]->info.netns;
		err = group_threads(&g[ng++], rows + i, j - i);
	}
	free(rows);
	*out = g;
	return err ? err : ng;
}

static void free_groups(struct port_group *g, int n)
{
	for (int i = 0; i < n; i++) {
		free(g[i].by_tid);
		free(g[i].by_name);
	}
	free(g);
}

enum thread_metric { TM_ACCEPTS, TM_EMPTY_ACCEPTS, TM_READS, TM_READ_BYTES, NR_THREAD_METRICS };

static const struct {
	const char *name, *help;
} thread_metrics[NR_THREAD_METRICS] = {
	[TM_ACCEPTS] = { "acceptscope_thread_accepts_total", "Connections this thread accepted on the port" },
	[TM_EMPTY_ACCEPTS] = { "acceptscope_thread_empty_accepts_total",
			       "accept() calls of this thread on the port that found nothing (EAGAIN)" },
	[TM_READS] = { "acceptscope_thread_reads_total",
		       "Reads that returned data, by this thread, on connections accepted on the port" },
	[TM_READ_BYTES] = { "acceptscope_thread_read_bytes_total",
			    "Bytes those reads returned" },
};

static __u64 thread_value(const struct thread_row *t, enum thread_metric m)
{
	return m == TM_ACCEPTS ? t->accepts : m == TM_EMPTY_ACCEPTS ? t->empty_accepts :
	       m == TM_READS ? t->reads : t->read_bytes;
}

static void group_labels(const struct port_group *g, struct prom_labels *l)
{
	prom_labels_init(l);
	prom_label_u64(l, "port", g->port);
	prom_label_u64(l, "netns", g->netns);
}

static void write_thread_metric(struct prom_writer *w, const struct port_group *g, int ng,
				enum thread_metric m, enum prom_threads mode)
{
	prom_family(w, thread_metrics[m].name, "counter", thread_metrics[m].help);
	for (int i = 0; i < ng; i++) {
		const struct thread_row *t = mode == PROM_THREADS_NAME ? g[i].by_name : g[i].by_tid;
		int n = mode == PROM_THREADS_NAME ? g[i].nr_name : g[i].nr_tid;

		for (int j = 0; j < n; j++) {
			struct prom_labels l;

			group_labels(&g[i], &l);
			prom_label_u64(&l, "pid", t[j].pid);
			if (mode == PROM_THREADS_TID)
				prom_label_u64(&l, "tid", t[j].tid);
			prom_label_comm(&l, "thread", t[j].comm);
			prom_sample_u64(w, thread_metrics[m].name, &l, thread_value(&t[j], m));
		}
	}
}

static void write_fairness(struct prom_writer *w, const struct port_group *g, int ng, bool busiest)
{
	const char *name = busiest ? "acceptscope_busiest_thread_share" : "acceptscope_accept_fairness";

	if (busiest)
		prom_family(w, name, "gauge", "The busiest thread's share of the port's accepts since start");
	else
		prom_family(w, name, "gauge",
			    "Jain's fairness index of accepts over the port's accepting threads since start (1 = even)");
	for (int i = 0; i < ng; i++) {
		struct prom_labels l;

		if (!g[i].fair.accepts)
			continue;	/* no accepts: no share to speak of */
		group_labels(&g[i], &l);
		prom_sample_double(w, name, &l, busiest ? g[i].fair.busiest_share : g[i].fair.jain_accepts);
	}
}

/* ---- the whole exposition ---- */

/* Listeners written: those selected, open, or closed and not yet written closed. */
static bool *rows_shown(const struct snapshot *snap, const struct report_opts *ro, struct prom_state *st)
{
	bool *shown = calloc(snap->nr_rows ? snap->nr_rows : 1, sizeof(*shown));

	if (!shown)
		return NULL;
	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		bool added = true;

		if (!row_selected(r, ro))
			continue;
		if (r->gone)
			id_entry(&st->gone_shown, r->id, &added);
		shown[i] = added;
	}
	return shown;
}

static void write_self(struct prom_writer *w, const struct snapshot *snap, const struct prom_opts *o,
		       struct prom_state *st, double started)
{
	struct prom_labels l;

	/* acceptscope's own few series are outside the cap: they say what the cap cut. */
	w->max_series = LONG_MAX;
	prom_family(w, "acceptscope_build_info", "gauge", "acceptscope's version (always 1)");
	prom_labels_init(&l);
	prom_label_str(&l, "version", o->version ? o->version : "unknown");
	prom_sample_u64(w, "acceptscope_build_info", &l, 1);
	prom_family(w, "acceptscope_hook_info", "gauge",
		    "The mechanism serving each hook (always 1; none: its metrics are missing)");
	for (int h = 0; h < NR_HOOKS && o->ro->plan; h++) {
		prom_labels_init(&l);
		prom_label_str(&l, "hook", hook_name(h));
		prom_label_str(&l, "mechanism", mechanism_name(o->ro->plan->mech[h]));
		prom_sample_u64(w, "acceptscope_hook_info", &l, 1);
	}
	prom_family(w, "acceptscope_lost_total", "counter",
		    "What a capacity limit cost, per kind (README: exact counting rules)");
	for (int i = 0; i <= NR_LOST; i++) {
		prom_labels_init(&l);
		prom_label_str(&l, "kind", i < NR_LOST ? lost_name(i) : "missed_runs");
		prom_sample_u64(w, "acceptscope_lost_total", &l, i < NR_LOST ? snap->lost[i] : snap->missed_runs);
	}
	st->series_dropped += w->dropped;
	prom_family(w, "acceptscope_series_dropped_total", "counter",
		    "Series left out by --prometheus-max-series, summed over updates");
	prom_sample_u64(w, "acceptscope_series_dropped_total", NULL, st->series_dropped);
	prom_family(w, "acceptscope_scrape_duration_seconds", "gauge",
		    "Seconds the last update took: reading the kernel's maps and rendering this text");
	prom_sample_double(w, "acceptscope_scrape_duration_seconds", NULL,
			   o->collect_secs + (clock_secs() - started));
}

int prom_render(FILE *f, const struct snapshot *snap, const struct prom_opts *o, struct prom_state *st)
{
	struct prom_writer w = { .f = f, .max_series = o->max_series };
	double started = clock_secs();
	struct port_group *groups = NULL;
	bool *shown = rows_shown(snap, o->ro, st);
	int ng;

	if (!shown)
		return -ENOMEM;
	ng = port_groups(snap, o->ro, shown, &groups);
	if (ng < 0) {
		free(shown);
		return ng;
	}
	for (int m = 0; m < NR_LISTENER_METRICS; m++)
		write_listener_metric(&w, snap, shown, m, st);
	prom_family(&w, "acceptscope_accept_wait_seconds", "histogram",
		    "Accept-queue wait, enqueue to accept(), of the accepts whose enqueue was seen");
	for (int i = 0; i < snap->nr_rows; i++)
		if (shown[i])
			write_wait_histogram(&w, &snap->rows[i]);
	write_fairness(&w, groups, ng, false);
	write_fairness(&w, groups, ng, true);
	for (int m = 0; m < NR_THREAD_METRICS && o->threads != PROM_THREADS_NONE; m++)
		write_thread_metric(&w, groups, ng, m, o->threads);
	if (o->extra)
		o->extra(&w, snap, o->extra_arg);
	write_self(&w, snap, o, st, started);
	free_groups(groups, ng);
	free(shown);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
