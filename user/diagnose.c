// SPDX-License-Identifier: GPL-2.0
/*
 * The finding rules (see diagnose.h and README "Findings"): for one port, from a span's
 * counters, who has tried to accept since the start, and the threads' CPU and wake-ups.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect.h"
#include "cpu.h"
#include "diagnose.h"
#include "escape.h"
#include "report.h"
#include "stats.h"

#define MIN_WAITS 20		/* waits a p99 needs before it is believed */
#define SPIN_MIN_CPU 1.0	/* a thread that never slept but used this much is working */

const struct diag_thresholds diag_default_thresholds = {
	.jain = 0.8,
	.min_per_thread = 20,
	.empty_per_accept = 1.5,
	.wakeups_per_accept = 1.0,
	.queue_frac = 0.5,
	.wait_p99_ms = 50,
	.cpu_busy = 90,
	.cpu_headroom = 50,
	.overflows = 1,
	.shard_ratio = 4,
};

static const struct {
	const char *name;
	size_t offset;
	double min, max;
} threshold_fields[] = {
#define FIELD(n, lo, hi) { #n, offsetof(struct diag_thresholds, n), lo, hi }
	FIELD(jain, 0, 1),
	FIELD(min_per_thread, 0, 1e9),
	FIELD(empty_per_accept, 0, 1e9),
	FIELD(wakeups_per_accept, 0, 1e9),
	FIELD(queue_frac, 0, 1e3),
	FIELD(wait_p99_ms, 0, 1e9),
	FIELD(cpu_busy, 0, 1e3),
	FIELD(cpu_headroom, 0, 1e3),
	FIELD(overflows, 0, 1e18),
	FIELD(shard_ratio, 1, 1e9),
#undef FIELD
};
#define NR_THRESHOLDS (sizeof(threshold_fields) / sizeof(threshold_fields[0]))

int diag_threshold_set(struct diag_thresholds *t, const char *arg, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	char *end;
	double v;

	if (!eq) {
		snprintf(err, len, "threshold '%s': expected NAME=VALUE (thresholds: %s)", arg, diag_threshold_names());
		return -1;
	}
	for (size_t i = 0; i < NR_THRESHOLDS; i++) {
		if (strlen(threshold_fields[i].name) != (size_t)(eq - arg) ||
		    strncmp(arg, threshold_fields[i].name, eq - arg))
			continue;
		errno = 0;
		v = strtod(eq + 1, &end);
		if (errno || end == eq + 1 || *end || !(v >= threshold_fields[i].min && v <= threshold_fields[i].max)) {
			snprintf(err, len, "threshold %s: '%s' is not a number from %g to %g", threshold_fields[i].name,
				 eq + 1, threshold_fields[i].min, threshold_fields[i].max);
			return -1;
		}
		*(double *)((char *)t + threshold_fields[i].offset) = v;
		return 0;
	}
	snprintf(err, len, "unknown threshold '%.*s' (thresholds: %s)", (int)(eq - arg), arg, diag_threshold_names());
	return -1;
}

const char *diag_threshold_names(void)
{
	static char names[512];

	if (!names[0]) {
		size_t off = 0;

		for (size_t i = 0; i < NR_THRESHOLDS && off < sizeof(names); i++)
			off += snprintf(names + off, sizeof(names) - off, "%s%s=%g", i ? ", " : "", threshold_fields[i].name,
					*(const double *)((const char *)&diag_default_thresholds + threshold_fields[i].offset));
	}
	return names;
}

const char *finding_kind_name(enum finding_kind k)
{
	static const char *const names[NR_FINDING_KINDS] = {
		[FINDING_IMBALANCE] = "imbalance",
		[FINDING_OVERFLOW] = "overflow",
		[FINDING_QUEUE_BUILDING] = "queue_building",
		[FINDING_ACCEPTOR_SATURATED] = "acceptor_saturated",
		[FINDING_WASTED_WAKEUPS] = "wasted_wakeups",
	};
	return k < NR_FINDING_KINDS ? names[k] : "?";
}

const char *finding_severity_name(enum finding_severity s)
{
	return s == SEVERITY_CRITICAL ? "critical" : "warning";
}

const char *finding_cause_name(enum finding_cause c)
{
	static const char *const names[NR_FINDING_CAUSES] = {
		[CAUSE_EXCLUSIVE_WAKEUPS] = "exclusive_wakeups",
		[CAUSE_ACCEPT_TURNS] = "accept_turns",
		[CAUSE_THUNDERING_HERD] = "thundering_herd",
		[CAUSE_REUSEPORT_HASH] = "reuseport_hash",
		[CAUSE_SLOW_SHARD] = "slow_shard",
		[CAUSE_UNEVEN_READS] = "uneven_reads",
		[CAUSE_IDLE_WAKEUPS] = "idle_wakeups",
	};
	return c > CAUSE_NONE && c < NR_FINDING_CAUSES ? names[c] : NULL;
}

/* ---- what the rules look at: one port's listeners and threads ---- */

struct port_thread {
	__u32 pid, tid;
	char comm[ESCAPED_LEN(TASK_COMM_LEN)];
	__u64 accepts, empty_accepts, reads;
	const struct span_thread *cpu;	/* NULL: unknown */
};

struct port_view {
	const struct diag_input *in;
	__u32 port;
	const struct listener_row **ls;	/* the span's selected listeners on the port */
	int nr_ls;
	struct port_thread *acceptors;	/* tried to accept in the span, or since start and alive */
	int nr_acceptors;
	struct port_thread *readers;	/* read in the span */
	int nr_readers;
	__u64 accepted, empty_accepts;
	/* Over the threads that tried to accept in the span: their wake-ups beyond one per accept
	 * and one per read they did (anywhere traced), per accepted connection; < 0 unknown. */
	double excess_wakeups;
	int trying;			/* threads that tried to accept in the span */
	struct finding **v;
	int *n;
	bool oom;
};

static const struct span_thread *cpu_of(const struct diag_input *in, __u32 tid)
{
	return in->cpu ? cpu_span_find(in->cpu, tid) : NULL;
}

static double busy_pct(const struct span_thread *c)
{
	return c ? c->cpu_pct + (c->runq_known ? c->runq_pct : 0) : 0;
}

static struct port_thread port_thread_of(const struct diag_input *in, const struct thread_row *t)
{
	struct port_thread p = { .pid = t->pid, .tid = t->tid, .cpu = cpu_of(in, t->tid) };

	escape_text(p.comm, sizeof(p.comm), t->comm, TASK_COMM_LEN);
	return p;
}

static const struct thread_row *find_row(const struct thread_row *t, int n, __u32 tid)
{
	for (int i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

/* A thread's accepts and reads on every listener the span has (its useful work). */
static __u64 thread_work(const struct snapshot *s, __u32 tid)
{
	__u64 work = 0;

	for (int i = 0; i < s->nr_rows; i++)
		for (int j = 0; j < s->rows[i].nr_threads; j++)
			if (s->rows[i].threads[j].tid == tid)
				work += s->rows[i].threads[j].accepts + s->rows[i].threads[j].reads;
	return work;
}

static bool tried(const struct thread_row *t)
{
	return t->accepts || t->empty_accepts;
}

/* Acceptors: threads that tried to accept in the span, and those that tried since the start
 * and are still alive (an idle one is the imbalance); readers: those that read in the span. */
static int gather_threads(struct port_view *pv, const struct thread_row *now, int n_now, const struct thread_row *seen,
			  int n_seen)
{
	const struct diag_input *in = pv->in;
	__u64 wakeups = 0, work = 0;
	bool wakeups_known = true;

	pv->acceptors = calloc(n_now + n_seen + 1, sizeof(*pv->acceptors));
	pv->readers = calloc(n_now + 1, sizeof(*pv->readers));
	if (!pv->acceptors || !pv->readers)
		return -1;
	for (int i = 0; i < n_now; i++) {
		struct port_thread p = port_thread_of(in, &now[i]);

		p.accepts = now[i].accepts;
		p.empty_accepts = now[i].empty_accepts;
		p.reads = now[i].reads;
		if (tried(&now[i])) {
			pv->acceptors[pv->nr_acceptors++] = p;
			pv->trying++;
			pv->accepted += p.accepts;
			pv->empty_accepts += p.empty_accepts;
			wakeups_known &= p.cpu != NULL;
			if (p.cpu)
				wakeups += p.cpu->wakeups;
			work += thread_work(in->counts, p.tid);
		}
		if (p.reads)
			pv->readers[pv->nr_readers++] = p;
	}
	for (int i = 0; i < n_seen; i++) {
		const struct thread_row *t = find_row(now, n_now, seen[i].tid);
		const struct span_thread *c = cpu_of(in, seen[i].tid);

		/* Alive: seen at the span's last CPU sample (with no CPU data, assumed). */
		if (tried(&seen[i]) && !(t && tried(t)) && (!in->cpu || (c && c->alive)))
			pv->acceptors[pv->nr_acceptors++] = port_thread_of(in, &seen[i]);
	}
	pv->excess_wakeups = -1;
	if (pv->trying && wakeups_known && in->cpu && pv->accepted)
		pv->excess_wakeups = wakeups > work ? (double)(wakeups - work) / pv->accepted : 0;
	return 0;
}

static int gather(struct port_view *pv)
{
	const struct diag_input *in = pv->in;
	struct thread_row *now = NULL, *seen = NULL;
	int n_now, n_seen, err;

	pv->ls = calloc(in->counts->nr_rows + 1, sizeof(*pv->ls));
	if (!pv->ls)
		return -1;
	for (int i = 0; i < in->counts->nr_rows; i++) {
		const struct listener_row *r = &in->counts->rows[i];

		if (r->info.port == pv->port && row_selected(r, in->sel))
			pv->ls[pv->nr_ls++] = r;
	}
	n_now = merge_port_threads(in->counts, in->sel, pv->port, &now);
	n_seen = merge_port_threads(in->seen ? in->seen : in->counts, in->sel, pv->port, &seen);
	err = gather_threads(pv, now, n_now, seen, n_seen);
	free(now);
	free(seen);
	return err;
}

/* ---- findings ---- */

static struct finding *add(struct port_view *pv, enum finding_kind kind, enum finding_severity sev,
			   enum finding_cause cause, listener_id_t listener)
{
	struct finding *v = realloc(*pv->v, (*pv->n + 1) * sizeof(**pv->v)), *f;

	if (!v) {
		pv->oom = true;
		return NULL;
	}
	*pv->v = v;
	f = &v[(*pv->n)++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	f->cause = cause;
	f->port = pv->port;
	f->listener = listener;
	return f;
}

static void fig(struct finding *f, const char *name, double value)
{
	if (f->nr_evidence < FINDING_MAX_EVIDENCE)
		f->evidence[f->nr_evidence++] = (struct finding_figure){ .name = name, .value = value };
}

static void fig_maybe(struct finding *f, const char *name, double value, bool known)
{
	fig(f, name, value);
	f->evidence[f->nr_evidence - 1].null = !known;
}

static void say(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static double ratio(double a, double b)
{
	return b ? a / b : 0;
}

static double jain_of(const struct port_thread *t, int n, bool reads)
{
	double sum = 0, sq = 0;

	for (int i = 0; i < n; i++) {
		double x = reads ? t[i].reads : t[i].accepts;

		sum += x;
		sq += x * x;
	}
	return jain_from_sums(sum, sq, n);
}

static const struct port_thread *busiest(const struct port_thread *t, int n, bool reads)
{
	const struct port_thread *b = n ? &t[0] : NULL;

	for (int i = 1; i < n; i++)
		if ((reads ? t[i].reads : t[i].accepts) > (reads ? b->reads : b->accepts))
			b = &t[i];
	return b;
}

static const struct port_turns *turns_of(const struct port_view *pv)
{
	for (int i = 0; i < pv->in->nr_turns; i++)
		if (pv->in->turns[i].port == pv->port && pv->in->turns[i].accepts)
			return &pv->in->turns[i];
	return NULL;
}

static bool herd_signs(const struct port_view *pv)
{
	const struct diag_thresholds *th = pv->in->th;

	return pv->trying >= 2 && (ratio(pv->empty_accepts, pv->accepted) > th->empty_per_accept ||
				   pv->excess_wakeups > th->wakeups_per_accept);
}

/* "2.4 wake-ups for nothing and 0.02 empty accepts per connection", without the wake-ups
 * when they are unknown. */
static const char *wasted_clause(const struct port_view *pv, char *buf, size_t len)
{
	double empty = ratio(pv->empty_accepts, pv->accepted);

	if (pv->excess_wakeups >= 0)
		snprintf(buf, len, "%.1f wake-ups for nothing and %.2f empty accepts per connection", pv->excess_wakeups,
			 empty);
	else
		snprintf(buf, len, "%.2f empty accepts per connection", empty);
	return buf;
}

static void imbalance_text(struct finding *f, const struct port_view *pv, const struct port_thread *b, double share,
			   double jain, const struct port_turns *turns)
{
	char head[256], wasted[160], cpu[48] = "";

	if (b->cpu)
		snprintf(cpu, sizeof(cpu), " (it used %.0f%% CPU)", b->cpu->cpu_pct);
	snprintf(head, sizeof(head), "%d threads accept on port %u, but thread %u (%s) took %.0f%% of the %llu accepts (Jain %.2f)",
		 pv->nr_acceptors, pv->port, b->tid, b->comm, share * 100, (unsigned long long)pv->accepted, jain);
	switch (f->cause) {
	case CAUSE_THUNDERING_HERD:
		say(f, "%s, and the threads had %s: every waiting thread is woken for each connection, a thundering "
		       "herd won by whichever thread runs first; register the listener with EPOLLEXCLUSIVE or give each "
		       "thread its own SO_REUSEPORT listener.",
		    head, wasted_clause(pv, wasted, sizeof(wasted)));
		break;
	case CAUSE_ACCEPT_TURNS:
		say(f, "%s, and in each interval one thread took %.0f%% (Jain %.2f): one thread at a time holds the "
		       "listener and takes every connection, in turns, as an accept mutex does (nginx accept_mutex on); "
		       "turn the mutex off (EPOLLEXCLUSIVE) or use SO_REUSEPORT listeners to spread connections at once.",
		    head, turns->busiest_share * 100, turns->jain);
		break;
	default:
		say(f, "%s with few empty accepts and the others waiting: exclusive wake-ups (EPOLLEXCLUSIVE) wake one "
		       "waiter per connection, the first in the listener's wait queue, so the same thread whenever it is "
		       "idle; harmless while it keeps up%s, else give each thread its own SO_REUSEPORT listener.",
		    head, cpu);
	}
}

/* Accepts (or, with one acceptor, reads) uneven over the threads. */
static void rule_thread_imbalance(struct port_view *pv)
{
	const struct diag_thresholds *th = pv->in->th;
	const struct port_turns *turns = turns_of(pv);
	const struct port_thread *b;
	double jain, share, jain_turns;
	struct finding *f;

	if (pv->nr_acceptors < 2 || pv->accepted < th->min_per_thread * pv->nr_acceptors)
		return;
	jain = jain_of(pv->acceptors, pv->nr_acceptors, false);
	jain_turns = turns ? turns->jain : jain;
	b = busiest(pv->acceptors, pv->nr_acceptors, false);
	share = ratio(b->accepts, pv->accepted);
	if (fmin(jain, jain_turns) >= th->jain)
		return;
	f = add(pv, FINDING_IMBALANCE, busy_pct(b->cpu) >= th->cpu_busy ? SEVERITY_CRITICAL : SEVERITY_WARNING,
		herd_signs(pv) ? CAUSE_THUNDERING_HERD : jain_turns < jain - 0.1 ? CAUSE_ACCEPT_TURNS : CAUSE_EXCLUSIVE_WAKEUPS, 0);
	if (!f)
		return;
	f->pid = b->pid;
	f->tid = b->tid;
	fig(f, "threads", pv->nr_acceptors);
	fig(f, "accepts", pv->accepted);
	fig(f, "jain", jain);
	fig(f, "busiest_share", share);
	fig_maybe(f, "interval_jain", turns ? turns->jain : 0, turns);
	fig_maybe(f, "interval_busiest_share", turns ? turns->busiest_share : 0, turns);
	fig(f, "empty_per_accept", ratio(pv->empty_accepts, pv->accepted));
	fig_maybe(f, "wasted_wakeups_per_accept", pv->excess_wakeups, pv->excess_wakeups >= 0);
	fig_maybe(f, "busiest_cpu_pct", b->cpu ? b->cpu->cpu_pct : 0, b->cpu);
	imbalance_text(f, pv, b, share, jain, turns);
}

static void rule_read_imbalance(struct port_view *pv)
{
	const struct diag_thresholds *th = pv->in->th;
	const struct port_thread *b;
	__u64 reads = 0;
	double jain;
	struct finding *f;

	for (int i = 0; i < pv->nr_readers; i++)
		reads += pv->readers[i].reads;
	if (pv->nr_readers < 2 || reads < th->min_per_thread * pv->nr_readers)
		return;
	jain = jain_of(pv->readers, pv->nr_readers, true);
	if (jain >= th->jain || !(f = add(pv, FINDING_IMBALANCE, SEVERITY_WARNING, CAUSE_UNEVEN_READS, 0)))
		return;
	b = busiest(pv->readers, pv->nr_readers, true);
	f->pid = b->pid;
	f->tid = b->tid;
	fig(f, "threads", pv->nr_readers);
	fig(f, "reads", reads);
	fig(f, "jain_reads", jain);
	fig(f, "busiest_read_share", ratio(b->reads, reads));
	say(f, "%d threads read port %u's connections, but thread %u (%s) did %.0f%% of the %llu reads (Jain %.2f): "
	       "connections, or the requests on them, reach the threads unevenly; look at how they are handed out and "
	       "at long-lived connections.",
	    pv->nr_readers, pv->port, b->tid, b->comm, ratio(b->reads, reads) * 100, (unsigned long long)reads, jain);
}

/* SO_REUSEPORT shards: listeners of one namespace bound to the same address and port. */
static bool same_group(const struct listener_row *a, const struct listener_row *b)
{
	return a->info.netns == b->info.netns && a->info.family == b->info.family &&
	       !memcmp(a->info.addr, b->info.addr, sizeof(a->info.addr));
}

static double wait_p99_ms(const struct listener_row *r)
{
	return wait_percentile(r->st.wait_hist, 99, r->st.wait_max_ns) / 1e6;
}

/* One shard's queue or p99 wait shard_ratio times its siblings' worst: a slow shard. */
static bool slow_shard(struct port_view *pv, const struct listener_row **g, int n)
{
	const struct diag_thresholds *th = pv->in->th;

	for (int i = 0; i < n; i++) {
		__u32 sib_depth = 0;
		double sib_p99 = 0;
		bool waits_known = g[i]->st.wait_count >= MIN_WAITS, deep, slow;
		char p99s[96] = "";
		struct finding *f;

		for (int j = 0; j < n; j++) {
			if (j == i)
				continue;
			sib_depth = g[j]->st.depth_max > sib_depth ? g[j]->st.depth_max : sib_depth;
			sib_p99 = fmax(sib_p99, wait_p99_ms(g[j]));
			waits_known &= g[j]->st.wait_count >= MIN_WAITS;
		}
		deep = g[i]->st.depth_max >= 4 && g[i]->st.depth_max >= th->shard_ratio * sib_depth;
		slow = waits_known && wait_p99_ms(g[i]) >= 1 && wait_p99_ms(g[i]) >= th->shard_ratio * sib_p99;
		if (!(deep || slow) || !(f = add(pv, FINDING_IMBALANCE, SEVERITY_WARNING, CAUSE_SLOW_SHARD, g[i]->id)))
			continue;
		fig(f, "listeners", n);
		fig(f, "depth", g[i]->st.depth_max);
		fig(f, "siblings_depth", sib_depth);
		fig_maybe(f, "wait_p99_ms", wait_p99_ms(g[i]), waits_known);
		fig_maybe(f, "siblings_wait_p99_ms", sib_p99, waits_known);
		if (waits_known)
			snprintf(p99s, sizeof(p99s), " (p99 wait %.1f ms, theirs at most %.1f ms)", wait_p99_ms(g[i]), sib_p99);
		say(f, "SO_REUSEPORT listener inode %llu on port %u ran %u deep while its %d siblings stayed at or under "
		       "%u%s: its thread is slow and the kernel's hash keeps sending it its share; find what holds that "
		       "thread up, or let the threads share one queue.",
		    (unsigned long long)g[i]->id, pv->port, g[i]->st.depth_max, n - 1, sib_depth, p99s);
		return true;
	}
	return false;
}

/* Connections uneven over the shards: the 4-tuple hash. */
static bool hash_imbalance(struct port_view *pv, const struct listener_row **g, int n)
{
	const struct diag_thresholds *th = pv->in->th;
	const struct listener_row *most = g[0];
	double sum = 0, sq = 0, jain;
	struct finding *f;

	for (int i = 0; i < n; i++) {
		sum += g[i]->st.queued;
		sq += (double)g[i]->st.queued * g[i]->st.queued;
		if (g[i]->st.queued > most->st.queued)
			most = g[i];
	}
	jain = jain_from_sums(sum, sq, n);
	if (sum < th->min_per_thread * n || jain >= th->jain ||
	    !(f = add(pv, FINDING_IMBALANCE, SEVERITY_WARNING, CAUSE_REUSEPORT_HASH, most->id)))
		return false;
	fig(f, "listeners", n);
	fig(f, "queued", sum);
	fig(f, "jain", jain);
	fig(f, "busiest_share", most->st.queued / sum);
	say(f, "SO_REUSEPORT listener inode %llu got %.0f%% of the %.0f connections of the %d listeners on port %u "
	       "(Jain %.2f): the kernel picks a listener by hashing each connection's addresses and ports, and few "
	       "clients or source ports hash unevenly; more client connections even it out, or a BPF reuseport "
	       "program can steer them.",
	    (unsigned long long)most->id, most->st.queued / sum * 100, sum, n, pv->port, jain);
	return true;
}

/* Imbalance: among SO_REUSEPORT shards by listener, else over the threads. */
static void rule_imbalance(struct port_view *pv)
{
	size_t found = *pv->n;

	for (int i = 0; i < pv->nr_ls && *pv->n == (int)found; i++) {
		const struct listener_row *g[pv->nr_ls];
		int n = 0;
		bool first = true;

		for (int j = 0; j < pv->nr_ls; j++) {
			if (same_group(pv->ls[i], pv->ls[j])) {
				first &= j >= i;
				g[n++] = pv->ls[j];
			}
		}
		if (first && n >= 2 && !hash_imbalance(pv, g, n))
			slow_shard(pv, g, n);
	}
	if (*pv->n == (int)found)
		rule_thread_imbalance(pv);
	if (*pv->n == (int)found)
		rule_read_imbalance(pv);
}

static void rule_overflow(struct port_view *pv, const struct listener_row *r)
{
	struct net_limits lim = { -1, -1 };
	bool capped, asked_known;
	char cookies[96], backlog[224];
	struct finding *f;

	if (!r->overflows_known || !r->overflows || r->overflows < pv->in->th->overflows)
		return;
	if (pv->in->limits)
		pv->in->limits(r, &lim, pv->in->limits_ctx);
	/* listen() caps the backlog at net.core.somaxconn: below it, the backlog is what was asked. */
	asked_known = lim.somaxconn >= 0 && r->info.backlog < (__u32)lim.somaxconn;
	capped = lim.somaxconn >= 0 && r->info.backlog >= (__u32)lim.somaxconn;
	if (!(f = add(pv, FINDING_OVERFLOW, SEVERITY_CRITICAL, CAUSE_NONE, r->id)))
		return;
	fig(f, "overflows", r->overflows);
	fig(f, "backlog", r->info.backlog);
	fig_maybe(f, "backlog_asked", r->info.backlog, asked_known);
	fig_maybe(f, "somaxconn", lim.somaxconn, lim.somaxconn >= 0);
	fig_maybe(f, "syncookies", lim.syncookies, lim.syncookies >= 0);
	fig(f, "depth", r->st.depth_max);
	fig(f, "queued", r->st.queued);
	snprintf(cookies, sizeof(cookies), "SYN cookies %s, which do not help a full accept queue",
		 lim.syncookies == 2 ? "always on" : lim.syncookies == 1 ? "on" : lim.syncookies == 0 ? "off" : "unknown");
	if (asked_known)
		snprintf(backlog, sizeof(backlog), "%u, as the server asked (net.core.somaxconn %d; %s)", r->info.backlog,
			 lim.somaxconn, cookies);
	else if (capped)
		snprintf(backlog, sizeof(backlog), "%u, net.core.somaxconn, which capped what the server asked for (%s)",
			 r->info.backlog, cookies);
	else
		snprintf(backlog, sizeof(backlog), "%u (net.core.somaxconn unknown; %s)", r->info.backlog, cookies);
	say(f, "listener inode %llu on port %u dropped %llu SYNs or handshakes because its accept queue was full: its "
	       "backlog is %s; accept faster, or raise the backlog given to listen()%s.",
	    (unsigned long long)r->id, pv->port, (unsigned long long)r->overflows, backlog,
	    capped ? " and net.core.somaxconn" : "");
}

static void rule_queue(struct port_view *pv, const struct listener_row *r)
{
	const struct diag_thresholds *th = pv->in->th;
	__u32 depth = r->st.depth_max, backlog = r->info.backlog;
	double p99 = wait_p99_ms(r);
	bool deep = depth >= fmax(1, th->queue_frac * backlog), slow = r->st.wait_count >= MIN_WAITS && p99 >= th->wait_p99_ms;
	char waits[96] = "";
	struct finding *f;

	if (!(deep || slow) ||
	    !(f = add(pv, FINDING_QUEUE_BUILDING, depth >= backlog ? SEVERITY_CRITICAL : SEVERITY_WARNING, CAUSE_NONE, r->id)))
		return;
	fig(f, "depth", depth);
	fig(f, "backlog", backlog);
	fig(f, "depth_now", r->depth_now);
	fig_maybe(f, "wait_p99_ms", p99, r->st.wait_count > 0);
	fig(f, "waits", r->st.wait_count);
	fig(f, "queued", r->st.queued);
	fig(f, "accepted", r->st.accepted);
	if (r->st.wait_count >= MIN_WAITS)
		snprintf(waits, sizeof(waits), ", and 99%% of %llu connections waited there up to %.1f ms",
			 (unsigned long long)r->st.wait_count, p99);
	say(f, "the accept queue of listener inode %llu on port %u ran %u deep for a backlog of %u%s: connections "
	       "arrive faster than its threads accept them; accept on more threads, or do less in them between two "
	       "accept() calls.",
	    (unsigned long long)r->id, pv->port, depth, backlog, waits);
}

/* The one thread that accepts is busy all the time while its process's workers are not. */
static void rule_saturated(struct port_view *pv)
{
	const struct diag_thresholds *th = pv->in->th;
	const struct port_thread *a = NULL;
	double sum = 0, most = 0;
	int workers = 0;
	struct finding *f;

	for (int i = 0; i < pv->nr_acceptors; i++)
		if (pv->acceptors[i].accepts || pv->acceptors[i].empty_accepts)
			a = &pv->acceptors[i];
	if (pv->trying != 1 || !a || !a->cpu || a->accepts < th->min_per_thread || busy_pct(a->cpu) < th->cpu_busy)
		return;
	for (int i = 0; i < pv->in->cpu->n; i++) {
		const struct span_thread *c = &pv->in->cpu->v[i];
		bool reads = false;

		for (int j = 0; j < pv->nr_readers; j++)
			reads |= pv->readers[j].tid == c->tid;
		/* Workers: the process's other threads that did something (woke up, read, or spun). */
		if (c->pid != a->pid || c->tid == a->tid || !(reads || c->wakeups || c->cpu_pct >= SPIN_MIN_CPU))
			continue;
		workers++;
		sum += c->cpu_pct;
		most = fmax(most, c->cpu_pct);
	}
	if (!workers || sum / workers >= th->cpu_headroom ||
	    !(f = add(pv, FINDING_ACCEPTOR_SATURATED, SEVERITY_CRITICAL, CAUSE_NONE, 0)))
		return;
	f->pid = a->pid;
	f->tid = a->tid;
	fig(f, "cpu_pct", a->cpu->cpu_pct);
	fig_maybe(f, "runq_pct", a->cpu->runq_pct, a->cpu->runq_known);
	fig(f, "accepts", a->accepts);
	fig(f, "workers", workers);
	fig(f, "workers_cpu_pct", sum / workers);
	fig(f, "busiest_worker_cpu_pct", most);
	say(f, "thread %u (%s), the only one accepting on port %u, was busy %.0f%% of the time (%.0f%% running, %.0f%% "
	       "waiting for a CPU) while the %d other threads of its process that ran used %.0f%% CPU on average: the "
	       "single acceptor is the "
	       "bottleneck and more workers will not help; do less in it before handing a connection on, or accept "
	       "on several threads (SO_REUSEPORT).",
	    a->tid, a->comm, pv->port, busy_pct(a->cpu), a->cpu->cpu_pct, a->cpu->runq_known ? a->cpu->runq_pct : 0,
	    workers, sum / workers);
}

static void rule_wasted(struct port_view *pv)
{
	const struct diag_thresholds *th = pv->in->th;
	double empty = ratio(pv->empty_accepts, pv->accepted);
	bool herd = pv->trying >= 2;
	const struct port_thread *t = pv->trying == 1 ? busiest(pv->acceptors, pv->nr_acceptors, false) : NULL;
	char wasted[160];
	struct finding *f;

	if (!pv->trying || pv->accepted < th->min_per_thread * pv->trying ||
	    !(empty > th->empty_per_accept || pv->excess_wakeups > th->wakeups_per_accept))
		return;
	if (!(f = add(pv, FINDING_WASTED_WAKEUPS, SEVERITY_WARNING, herd ? CAUSE_THUNDERING_HERD : CAUSE_IDLE_WAKEUPS, 0)))
		return;
	fig(f, "threads", pv->trying);
	fig(f, "accepts", pv->accepted);
	fig(f, "empty_accepts", pv->empty_accepts);
	fig(f, "empty_per_accept", empty);
	fig_maybe(f, "wasted_wakeups_per_accept", pv->excess_wakeups, pv->excess_wakeups >= 0);
	if (herd)
		say(f, "the %d threads accepting on port %u had %s: each connection wakes every waiting thread and all "
		       "but one find nothing to do (a thundering herd), which costs CPU and latency; register the listener "
		       "with EPOLLEXCLUSIVE or give each thread its own SO_REUSEPORT listener.",
		    pv->trying, pv->port, wasted_clause(pv, wasted, sizeof(wasted)));
	else
		say(f, "thread %u (%s), the one accepting on port %u, had %s: its wake-ups find no work; look for a "
		       "listener it polls without accepting, or a timer that fires too often.",
		    t ? t->tid : 0, t ? t->comm : "?", pv->port, wasted_clause(pv, wasted, sizeof(wasted)));
	if (t) {
		f->pid = t->pid;
		f->tid = t->tid;
	}
}

bool diagnose_turns(const struct diag_input *in, __u32 port, struct port_turns *out)
{
	struct port_view pv = { .in = in, .port = port };
	bool counted = false;

	*out = (struct port_turns){ .port = port };
	if (!gather(&pv) && pv.nr_acceptors >= 2 && pv.accepted >= in->th->min_per_thread * pv.nr_acceptors) {
		out->accepts = pv.accepted;
		out->jain = jain_of(pv.acceptors, pv.nr_acceptors, false);
		out->busiest_share = ratio(busiest(pv.acceptors, pv.nr_acceptors, false)->accepts, pv.accepted);
		counted = true;
	}
	free(pv.ls);
	free(pv.acceptors);
	free(pv.readers);
	return counted;
}

int diagnose_port(const struct diag_input *in, __u32 port, struct finding **v, int *n)
{
	struct port_view pv = { .in = in, .port = port, .v = v, .n = n };
	int err = gather(&pv);

	if (!err) {
		rule_imbalance(&pv);
		for (int i = 0; i < pv.nr_ls; i++)
			rule_overflow(&pv, pv.ls[i]);
		for (int i = 0; i < pv.nr_ls; i++)
			rule_queue(&pv, pv.ls[i]);
		if (in->cpu)
			rule_saturated(&pv);
		rule_wasted(&pv);
	}
	free(pv.ls);
	free(pv.acceptors);
	free(pv.readers);
	return err || pv.oom ? -1 : 0;
}
