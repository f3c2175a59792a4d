// SPDX-License-Identifier: GPL-2.0
/* The sliding window of intervals the live findings are evaluated over (diagwindow.h). */
#include <stdlib.h>
#include <string.h>
#include "collect.h"
#include "cpu.h"
#include "diagwindow.h"
#include "netlimits.h"
#include "report.h"

/* One interval's port_turns, one per port that had enough accepts. */
struct interval_turns {
	struct port_turns *v;
	int n;
};

struct diag_window {
	int window;
	struct diag_thresholds th;
	const struct report_opts *sel;
	struct cpu_sampler *cpu;
	long ticks;			/* snapshots handed over */
	struct snapshot *ring;		/* the last window + 1, by tick modulo that */
	struct interval_turns *turns;	/* the last window intervals', by tick modulo window */
	/* The run's turns: accepts, and accepts times Jain and busiest share, summed. */
	struct port_turns *run;
	int nr_run;
	/* The last report's. */
	struct cpu_span rows_cpu, span_cpu;
	struct snapshot counts;
	struct finding *findings;
	int nr_findings;
	struct port_turns *report_turns;
	int nr_report_turns;
};

struct diag_window *diag_window_new(int window, const struct diag_thresholds *th, const struct report_opts *sel)
{
	struct diag_window *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->window = window > 0 ? window : 1;
	w->th = *th;
	w->sel = sel;
	w->cpu = cpu_sampler_new(w->window, "/proc");
	w->ring = calloc(w->window + 1, sizeof(*w->ring));
	w->turns = calloc(w->window, sizeof(*w->turns));
	if (!w->cpu || !w->ring || !w->turns) {
		diag_window_free(w);
		return NULL;
	}
	return w;
}

static void free_report(struct diag_window *w)
{
	cpu_span_free(&w->rows_cpu);
	cpu_span_free(&w->span_cpu);
	snapshot_free(&w->counts);
	free(w->findings);
	w->findings = NULL;
	w->nr_findings = 0;
	free(w->report_turns);
	w->report_turns = NULL;
	w->nr_report_turns = 0;
}

void diag_window_free(struct diag_window *w)
{
	if (!w)
		return;
	free_report(w);
	for (int i = 0; w->ring && i <= w->window; i++)
		snapshot_free(&w->ring[i]);
	for (int i = 0; w->turns && i < w->window; i++)
		free(w->turns[i].v);
	free(w->ring);
	free(w->turns);
	free(w->run);
	cpu_sampler_free(w->cpu);
	free(w);
}

/* The processes whose threads are sampled: every selected listener's owner and threads. */
static void sample_cpu(struct diag_window *w, const struct snapshot *cur)
{
	__u32 *pids;
	int n = 0, cap = 1;

	for (int i = 0; i < cur->nr_rows; i++)
		cap += 1 + cur->rows[i].nr_threads;
	if (!(pids = malloc(cap * sizeof(*pids))))
		return;
	for (int i = 0; i < cur->nr_rows; i++) {
		const struct listener_row *r = &cur->rows[i];

		if (!row_selected(r, w->sel))
			continue;
		if (r->owner_pid)
			pids[n++] = r->owner_pid;
		for (int j = 0; j < r->nr_threads; j++)
			if (!n || pids[n - 1] != r->threads[j].pid)	/* threads come sorted by pid */
				pids[n++] = r->threads[j].pid;
	}
	cpu_sample(w->cpu, pids, n, cpu_clock_ns());
	free(pids);
}

static struct diag_input input(const struct diag_window *w, const struct snapshot *counts, const struct snapshot *seen,
			       const struct cpu_span *cpu)
{
	return (struct diag_input){ .counts = counts, .seen = seen, .cpu = cpu, .sel = w->sel, .th = &w->th,
				    .limits = listener_net_limits };
}

/* Calls @fn for each selected port of @s, once. */
#define for_each_port(s, sel, i) \
	for (int i = 0; i < (s)->nr_rows; i++) \
		if (row_selected(&(s)->rows[i], sel) && \
		    (i == 0 || (s)->rows[i - 1].info.port != (s)->rows[i].info.port || !row_selected(&(s)->rows[i - 1], sel)))

static void add_run_turns(struct diag_window *w, const struct port_turns *t)
{
	struct port_turns *r = NULL;

	for (int i = 0; i < w->nr_run && !r; i++)
		if (w->run[i].port == t->port)
			r = &w->run[i];
	if (!r) {
		struct port_turns *v = realloc(w->run, (w->nr_run + 1) * sizeof(*v));

		if (!v)
			return;
		w->run = v;
		r = &v[w->nr_run++];
		*r = (struct port_turns){ .port = t->port };
	}
	r->accepts += t->accepts;
	r->jain += t->jain * t->accepts;
	r->busiest_share += t->busiest_share * t->accepts;
}

/* Each port's accepts in the interval, over its acceptors (diagnose_turns). */
static void interval_turns(struct diag_window *w, const struct snapshot *cur, const struct snapshot *delta)
{
	struct interval_turns *it = &w->turns[w->ticks % w->window];
	struct cpu_span cpu = {};
	struct diag_input in;

	free(it->v);
	it->v = NULL;
	it->n = 0;
	if (cpu_span_get(w->cpu, 1, &cpu))
		return;
	in = input(w, delta, cur, &cpu);
	for_each_port(delta, w->sel, i) {
		struct port_turns t, *v;

		if (!diagnose_turns(&in, delta->rows[i].info.port, &t) || !(v = realloc(it->v, (it->n + 1) * sizeof(*v))))
			continue;
		it->v = v;
		v[it->n++] = t;
		add_run_turns(w, &t);
	}
	cpu_span_free(&cpu);
}

void diag_window_tick(struct diag_window *w, const struct snapshot *cur, const struct snapshot *delta)
{
	struct snapshot *slot = &w->ring[w->ticks % (w->window + 1)];

	sample_cpu(w, cur);
	snapshot_free(slot);
	snapshot_copy(cur, slot);
	if (delta)
		interval_turns(w, cur, delta);
	w->ticks++;
}

static const struct snapshot *ring_at(const struct diag_window *w, long tick)
{
	return &w->ring[tick % (w->window + 1)];
}

/* The deepest each listener's queue was seen in the window: its samples' depths, its maximum
 * if that grew in the window, and the bottom of the deepest depth-histogram slot filled. */
static void window_depths(const struct diag_window *w, struct snapshot *counts, long from, long to)
{
	for (int i = 0; i < counts->nr_rows; i++) {
		struct listener_row *r = &counts->rows[i];
		const struct listener_row *o = snapshot_find(ring_at(w, from), r->id);
		__u32 depth = 0;

		for (long t = from + 1; t <= to; t++) {
			const struct listener_row *s = snapshot_find(ring_at(w, t), r->id);

			if (s && s->depth_now > depth)
				depth = s->depth_now;
		}
		if ((!o || r->st.depth_max > o->st.depth_max) && r->st.depth_max > depth)
			depth = r->st.depth_max;
		for (int b = DEPTH_SLOTS - 1; b > 0; b--) {
			if (r->st.depth_hist[b]) {
				if ((1U << b) > depth)
					depth = 1U << b;
				break;
			}
		}
		r->st.depth_max = depth;
	}
}

/* Port turns over the last @n intervals, or (@n < 0) the run: accept-weighted means. */
static int span_turns(struct diag_window *w, long n)
{
	const struct interval_turns *src = NULL;
	struct port_turns *sum = NULL;
	int nr = 0;

	if (n < 0) {
		sum = calloc(w->nr_run + 1, sizeof(*sum));
		if (!sum)
			return -1;
		if (w->nr_run)
			memcpy(sum, w->run, w->nr_run * sizeof(*sum));
		nr = w->nr_run;
	}
	for (long k = 0; k < n; k++) {
		src = &w->turns[(w->ticks - 1 - k) % w->window];
		for (int i = 0; i < src->n; i++) {
			int j;

			for (j = 0; j < nr && sum[j].port != src->v[i].port; j++)
				;
			if (j == nr) {
				struct port_turns *v = realloc(sum, (nr + 1) * sizeof(*v));

				if (!v) {
					free(sum);
					return -1;
				}
				sum = v;
				sum[nr++] = (struct port_turns){ .port = src->v[i].port };
			}
			sum[j].accepts += src->v[i].accepts;
			sum[j].jain += src->v[i].jain * src->v[i].accepts;
			sum[j].busiest_share += src->v[i].busiest_share * src->v[i].accepts;
		}
	}
	for (int j = 0; j < nr; j++) {
		sum[j].jain /= sum[j].accepts ? sum[j].accepts : 1;
		sum[j].busiest_share /= sum[j].accepts ? sum[j].accepts : 1;
	}
	w->report_turns = sum;
	w->nr_report_turns = nr;
	return 0;
}

int diag_window_report(struct diag_window *w, bool summary, struct diagnosis *out)
{
	long intervals = w->ticks - 1 < w->window ? w->ticks - 1 : w->window;
	const struct snapshot *newest, *counts;
	struct diag_input in;

	free_report(w);
	memset(out, 0, sizeof(*out));
	if (w->ticks < 1)
		return -1;
	newest = ring_at(w, w->ticks - 1);
	if (cpu_span_get(w->cpu, summary ? 0 : 1, &w->rows_cpu) || cpu_span_get(w->cpu, summary ? 0 : intervals, &w->span_cpu) ||
	    span_turns(w, summary ? -1 : intervals))
		return -1;
	counts = newest;
	if (!summary) {
		snapshot_delta(newest, ring_at(w, w->ticks - 1 - intervals), &w->counts);
		window_depths(w, &w->counts, w->ticks - 1 - intervals, w->ticks - 1);
		counts = &w->counts;
	}
	in = input(w, counts, newest, &w->span_cpu);
	in.turns = w->report_turns;
	in.nr_turns = w->nr_report_turns;
	for_each_port(counts, w->sel, i)
		if (diagnose_port(&in, counts->rows[i].info.port, &w->findings, &w->nr_findings))
			return -1;
	out->cpu = &w->rows_cpu;
	out->findings = w->findings;
	out->nr_findings = w->nr_findings;
	return 0;
}
