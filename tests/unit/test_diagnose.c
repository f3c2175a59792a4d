// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/diagnose.c: each finding rule on synthetic snapshots, fired where its
 * pattern is and silent on an evenly loaded healthy server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "collect.h"
#include "cpu.h"
#include "diagnose.h"
#include "report.h"
#include "stats.h"

#define PORT 8080
#define PID 100

static struct report_opts all;	/* no -p, no -P: every listener */
static struct diag_thresholds th;

static struct listener_row *listener(struct snapshot *s, listener_id_t id, __u32 backlog)
{
	struct listener_row *r;

	s->rows = realloc(s->rows, (s->nr_rows + 1) * sizeof(*s->rows));
	r = &s->rows[s->nr_rows++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->info.inode = id;
	r->info.port = PORT;
	r->info.family = 2;
	r->info.addr[0] = 127;
	r->info.addr[3] = 1;
	r->info.backlog = backlog;
	r->overflows_known = true;
	r->owner_pid = PID;
	index_rows(s);
	return r;
}

/* Thread @tid of PID on @r; the listener's counts follow its threads'. */
static void thread(struct snapshot *s, struct listener_row *r, __u32 tid, __u64 accepts, __u64 empty, __u64 reads)
{
	struct thread_row *t;

	r->threads = realloc(r->threads, (r->nr_threads + 1) * sizeof(*r->threads));
	t = &r->threads[r->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->pid = PID;
	t->tid = tid;
	snprintf(t->comm, sizeof(t->comm), "worker-%u", tid % 100);
	t->accepts = accepts;
	t->empty_accepts = empty;
	t->reads = reads;
	t->read_bytes = reads * 100;
	r->st.accepted += accepts;
	r->st.queued += accepts;
	r->st.empty_accepts += empty;
	(void)s;
}

/* A span's CPU figures for threads of PID: @n entries of (tid, cpu%, wake-ups). */
static struct cpu_span cpu_of(int n, const double (*v)[3])
{
	struct cpu_span c = { .v = calloc(n + 1, sizeof(*c.v)), .n = n };

	for (int i = 0; i < n; i++)
		c.v[i] = (struct span_thread){ .pid = PID, .tid = (__u32)v[i][0], .secs = 5, .cpu_pct = v[i][1],
					       .wakeups = (__u64)v[i][2], .alive = true, .runq_known = true };
	return c;
}

static void limits(const struct listener_row *r, struct net_limits *out, void *ctx)
{
	(void)r;
	out->somaxconn = *(int *)ctx;
	out->syncookies = 1;
}

struct result {
	struct finding *v;
	int n;
};

static struct result run(const struct snapshot *counts, const struct snapshot *seen, const struct cpu_span *cpu,
			 const struct port_turns *turns, int somaxconn)
{
	struct diag_input in = { .counts = counts, .seen = seen, .cpu = cpu, .turns = turns, .nr_turns = turns ? 1 : 0,
				 .sel = &all, .th = &th, .limits = limits, .limits_ctx = &somaxconn };
	struct result r = {};

	assert_int_equal(diagnose_port(&in, PORT, &r.v, &r.n), 0);
	for (int i = 0; i < r.n; i++)
		printf("    %s %s: %s\n", finding_kind_name(r.v[i].kind), finding_cause_name(r.v[i].cause) ?: "-",
		       r.v[i].text);
	return r;
}

static const struct finding *only(const struct result *r, enum finding_kind k)
{
	const struct finding *f = NULL;

	for (int i = 0; i < r->n; i++) {
		if (r->v[i].kind == k) {
			assert_null(f);
			f = &r->v[i];
		}
	}
	return f;
}

static double figure(const struct finding *f, const char *name)
{
	for (int i = 0; i < f->nr_evidence; i++)
		if (!strcmp(f->evidence[i].name, name))
			return f->evidence[i].null ? -1 : f->evidence[i].value;
	fail_msg("no figure %s", name);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	th = diag_default_thresholds;
	return 0;
}

static void done(struct snapshot *s, struct result *r, struct cpu_span *c)
{
	snapshot_free(s);
	free(r->v);
	if (c)
		cpu_span_free(c);
}

/* Four threads sharing evenly, a shallow queue, nothing dropped: no finding at all. */
static void healthy(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	const double cpu[][3] = { { 101, 20, 260 }, { 102, 21, 250 }, { 103, 19, 255 }, { 104, 20, 262 } };
	struct cpu_span c = cpu_of(4, cpu);
	struct result r;

	(void)state;
	for (int t = 101; t <= 104; t++)
		thread(&s, l, t, 250 + t % 3, 0, 250 + t % 3);
	l->st.depth_max = 6;
	for (int i = 0; i < 100; i++)
		l->st.wait_hist[wait_slot(200000)]++;	/* 0.2 ms */
	l->st.wait_count = 100;
	l->st.wait_max_ns = 200000;
	r = run(&s, &s, &c, NULL, 4096);
	assert_int_equal(r.n, 0);
	done(&s, &r, &c);
}

/* One thread takes nearly all, few empty accepts, no wasted wake-ups: exclusive wake-ups. */
static void exclusive_wakeups(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	const double cpu[][3] = { { 101, 40, 1000 }, { 102, 3, 70 }, { 103, 1, 30 }, { 104, 0.5, 10 } };
	struct cpu_span c = cpu_of(4, cpu);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 900, 3, 900);
	thread(&s, l, 102, 60, 2, 60);
	thread(&s, l, 103, 30, 1, 30);
	thread(&s, l, 104, 10, 0, 10);
	r = run(&s, &s, &c, NULL, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_int_equal(r.n, 1);
	assert_int_equal(f->cause, CAUSE_EXCLUSIVE_WAKEUPS);
	assert_int_equal(f->severity, SEVERITY_WARNING);	/* the favourite has CPU to spare */
	assert_int_equal(f->tid, 101);
	assert_float_equal(figure(f, "busiest_share"), 0.9, 1e-9);
	assert_float_equal(figure(f, "threads"), 4, 0);
	assert_float_equal(figure(f, "jain"), 1000.0 * 1000 / (4 * (810000.0 + 3600 + 900 + 100)), 1e-9);
	done(&s, &r, &c);
}

/* Threads that tried before and still live count as idle acceptors; dead ones do not. */
static void idle_acceptors_from_the_start(void **state)
{
	struct snapshot now = {}, seen = {};
	struct listener_row *l = listener(&now, 1, 511), *ls = listener(&seen, 1, 511);
	double cpu[][3] = { { 101, 30, 500 }, { 102, 0, 0 }, { 103, 0, 0 } };
	struct cpu_span c = cpu_of(3, cpu);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&now, l, 101, 500, 0, 500);
	thread(&seen, ls, 101, 900, 0, 900);
	thread(&seen, ls, 102, 40, 0, 40);
	thread(&seen, ls, 103, 30, 0, 30);
	r = run(&now, &seen, &c, NULL, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_float_equal(figure(f, "threads"), 3, 0);
	assert_float_equal(figure(f, "jain"), 1.0 / 3, 1e-9);
	free(r.v);
	/* Two of them have exited: one acceptor left, nothing to compare. */
	c.v[1].alive = c.v[2].alive = false;
	r = run(&now, &seen, &c, NULL, 4096);
	assert_null(only(&r, FINDING_IMBALANCE));
	free(r.v);
	snapshot_free(&seen);
	r.v = NULL;
	done(&now, &r, &c);
}

/* Even over the window but one thread at a time within each interval: an accept mutex. */
static void accept_turns(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	struct port_turns turns = { .port = PORT, .accepts = 3000, .jain = 0.36, .busiest_share = 0.95 };
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 1100, 0, 1100);
	thread(&s, l, 102, 1000, 0, 1000);
	thread(&s, l, 103, 900, 0, 900);
	r = run(&s, &s, NULL, &turns, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_ACCEPT_TURNS);
	assert_float_equal(figure(f, "interval_jain"), 0.36, 1e-9);
	assert_float_equal(figure(f, "wasted_wakeups_per_accept"), -1, 0);	/* no CPU data: unknown */
	free(r.v);
	/* Without the per-interval figures the same counts are fine. */
	r = run(&s, &s, NULL, NULL, 4096);
	assert_int_equal(r.n, 0);
	done(&s, &r, NULL);
}

/* Every thread woken per connection: wasted wake-ups, and when uneven, a herd's imbalance. */
static void thundering_herd(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	/* 1,000 connections: 4,400 wake-ups for 2,000 accepts and reads, 2.4 too many each. */
	const double cpu[][3] = { { 101, 20, 1100 }, { 102, 20, 1100 }, { 103, 20, 1100 }, { 104, 20, 1100 } };
	struct cpu_span c = cpu_of(4, cpu);
	const struct finding *f;
	struct result r;

	(void)state;
	for (int t = 101; t <= 104; t++)
		thread(&s, l, t, 250, 5, 250);
	r = run(&s, &s, &c, NULL, 4096);
	assert_int_equal(r.n, 1);
	f = only(&r, FINDING_WASTED_WAKEUPS);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_THUNDERING_HERD);
	assert_float_equal(figure(f, "wasted_wakeups_per_accept"), 2.4, 1e-9);
	assert_float_equal(figure(f, "empty_per_accept"), 0.02, 1e-9);
	done(&s, &r, &c);
	/* Uneven too: the imbalance names the herd. */
	memset(&s, 0, sizeof(s));
	l = listener(&s, 1, 511);
	thread(&s, l, 101, 600, 5, 600);
	thread(&s, l, 102, 250, 5, 250);
	thread(&s, l, 103, 100, 5, 100);
	thread(&s, l, 104, 50, 5, 50);
	c = cpu_of(4, cpu);
	r = run(&s, &s, &c, NULL, 4096);
	assert_int_equal(only(&r, FINDING_IMBALANCE)->cause, CAUSE_THUNDERING_HERD);
	assert_non_null(only(&r, FINDING_WASTED_WAKEUPS));
	done(&s, &r, &c);
}

/* One thread's empty accepts: one per accept ends an accept-until-EAGAIN loop (fine), two
 * per accept are wake-ups for nothing. */
static void empty_accepts(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 100, 100, 100);
	r = run(&s, &s, NULL, NULL, 4096);
	assert_int_equal(r.n, 0);
	free(r.v);
	l->threads[0].empty_accepts = 200;
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_WASTED_WAKEUPS);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_IDLE_WAKEUPS);
	assert_int_equal(f->tid, 101);
	assert_float_equal(figure(f, "empty_per_accept"), 2, 1e-9);
	done(&s, &r, NULL);
}

/* Drops: the backlog, what was asked (known below somaxconn), somaxconn, SYN cookies. */
static void overflow(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 8);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 300, 0, 300);
	l->overflows = 1200;
	l->st.depth_max = 9;
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_OVERFLOW);
	assert_non_null(f);
	assert_int_equal(f->severity, SEVERITY_CRITICAL);
	assert_int_equal(f->listener, 1);
	assert_float_equal(figure(f, "overflows"), 1200, 0);
	assert_float_equal(figure(f, "backlog"), 8, 0);
	assert_float_equal(figure(f, "backlog_asked"), 8, 0);
	assert_float_equal(figure(f, "somaxconn"), 4096, 0);
	assert_float_equal(figure(f, "syncookies"), 1, 0);
	assert_non_null(strstr(f->text, "backlog is 8, as the server asked (net.core.somaxconn 4096; SYN cookies on"));
	/* The queue is full too. */
	assert_int_equal(only(&r, FINDING_QUEUE_BUILDING)->severity, SEVERITY_CRITICAL);
	free(r.v);
	/* A backlog equal to somaxconn was capped: what was asked is unknown. */
	l->info.backlog = 128;
	r = run(&s, &s, NULL, NULL, 128);
	f = only(&r, FINDING_OVERFLOW);
	assert_float_equal(figure(f, "backlog_asked"), -1, 0);
	assert_non_null(strstr(f->text, "backlog is 128, net.core.somaxconn, which capped"));
	free(r.v);
	/* No overflow hook: no finding. */
	l->overflows_known = false;
	r = run(&s, &s, NULL, NULL, 4096);
	assert_null(only(&r, FINDING_OVERFLOW));
	done(&s, &r, NULL);
}

static void queue_building(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 1000, 0, 1000);
	l->st.depth_max = 300;
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_QUEUE_BUILDING);
	assert_non_null(f);
	assert_int_equal(f->severity, SEVERITY_WARNING);
	assert_float_equal(figure(f, "depth"), 300, 0);
	free(r.v);
	/* Shallow but slow: p99 at 80 ms, over enough waits; over too few it is not believed. */
	l->st.depth_max = 10;
	l->st.wait_hist[wait_slot(80000000)] = 19;
	l->st.wait_count = 19;
	l->st.wait_max_ns = 80000000;
	r = run(&s, &s, NULL, NULL, 4096);
	assert_int_equal(r.n, 0);
	free(r.v);
	l->st.wait_hist[wait_slot(80000000)] = 40;
	l->st.wait_count = 40;
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_QUEUE_BUILDING);
	assert_non_null(f);
	assert_true(figure(f, "wait_p99_ms") >= 80);
	done(&s, &r, NULL);
}

/* The one acceptor busy all the time while its workers idle; not if they are busy too. */
static void acceptor_saturated(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	double cpu[][3] = { { 101, 95, 100 }, { 102, 10, 500 }, { 103, 12, 500 }, { 104, 0, 0 } };
	struct cpu_span c = cpu_of(4, cpu);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 2000, 0, 2000);
	c.v[0].runq_pct = 3;
	r = run(&s, &s, &c, NULL, 4096);
	f = only(&r, FINDING_ACCEPTOR_SATURATED);
	assert_non_null(f);
	assert_int_equal(f->tid, 101);
	assert_float_equal(figure(f, "workers"), 2, 0);	/* 104 did nothing: not a worker */
	assert_float_equal(figure(f, "workers_cpu_pct"), 11, 1e-9);
	assert_float_equal(figure(f, "runq_pct"), 3, 1e-9);
	free(r.v);
	c.v[1].cpu_pct = c.v[2].cpu_pct = 70;	/* workers busy: the server is just full */
	r = run(&s, &s, &c, NULL, 4096);
	assert_null(only(&r, FINDING_ACCEPTOR_SATURATED));
	free(r.v);
	c.v[1].cpu_pct = c.v[2].cpu_pct = 10;
	c.v[0].cpu_pct = 80;			/* busy 83%: not saturated */
	r = run(&s, &s, &c, NULL, 4096);
	assert_null(only(&r, FINDING_ACCEPTOR_SATURATED));
	done(&s, &r, &c);
}

/* SO_REUSEPORT shards: one getting most connections (the hash), one with a deep queue. */
static void reuseport_shards(void **state)
{
	struct snapshot s = {};
	const __u64 queued[] = { 700, 100, 100, 100 };
	const struct finding *f;
	struct result r;

	(void)state;
	for (int i = 0; i < 4; i++)
		thread(&s, listener(&s, i + 1, 511), 101 + i, queued[i], 0, queued[i]);
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_REUSEPORT_HASH);
	assert_int_equal(f->listener, 1);
	assert_float_equal(figure(f, "busiest_share"), 0.7, 1e-9);
	done(&s, &r, NULL);
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 4; i++)
		thread(&s, listener(&s, i + 1, 511), 101 + i, 250, 0, 250);
	s.rows[2].st.depth_max = 40;
	s.rows[0].st.depth_max = 3;
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_SLOW_SHARD);
	assert_int_equal(f->listener, 3);
	assert_float_equal(figure(f, "siblings_depth"), 3, 0);
	done(&s, &r, NULL);
}

/* One acceptor hands connections to readers unevenly. */
static void uneven_reads(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	const struct finding *f;
	struct result r;

	(void)state;
	thread(&s, l, 101, 1000, 0, 0);
	thread(&s, l, 102, 0, 0, 700);
	thread(&s, l, 103, 0, 0, 100);
	thread(&s, l, 104, 0, 0, 100);
	thread(&s, l, 105, 0, 0, 100);
	r = run(&s, &s, NULL, NULL, 4096);
	f = only(&r, FINDING_IMBALANCE);
	assert_non_null(f);
	assert_int_equal(f->cause, CAUSE_UNEVEN_READS);
	assert_int_equal(f->tid, 102);
	done(&s, &r, NULL);
}

/* Too few accepts to judge, and thresholds set by name. */
static void thresholds(void **state)
{
	struct snapshot s = {};
	struct listener_row *l = listener(&s, 1, 511);
	struct diag_thresholds t = diag_default_thresholds;
	char err[640];
	struct result r;

	(void)state;
	thread(&s, l, 101, 30, 0, 30);
	thread(&s, l, 102, 5, 0, 5);
	thread(&s, l, 103, 3, 0, 3);
	thread(&s, l, 104, 2, 0, 2);	/* 40 accepts, under 20 a thread */
	r = run(&s, &s, NULL, NULL, 4096);
	assert_int_equal(r.n, 0);
	free(r.v);
	th.min_per_thread = 5;
	r = run(&s, &s, NULL, NULL, 4096);
	assert_non_null(only(&r, FINDING_IMBALANCE));
	th = diag_default_thresholds;
	assert_int_equal(diag_threshold_set(&t, "jain=0.7", err, sizeof(err)), 0);
	assert_float_equal(t.jain, 0.7, 1e-12);
	assert_int_equal(diag_threshold_set(&t, "wait_p99_ms=2.5", err, sizeof(err)), 0);
	assert_float_equal(t.wait_p99_ms, 2.5, 1e-12);
	assert_int_equal(diag_threshold_set(&t, "jain=2", err, sizeof(err)), -1);
	assert_int_equal(diag_threshold_set(&t, "jain=", err, sizeof(err)), -1);
	assert_int_equal(diag_threshold_set(&t, "jain=0.5x", err, sizeof(err)), -1);
	assert_int_equal(diag_threshold_set(&t, "jai=0.5", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown threshold 'jai'"));
	assert_int_equal(diag_threshold_set(&t, "jain", err, sizeof(err)), -1);
	assert_non_null(strstr(diag_threshold_names(), "jain=0.8"));
	done(&s, &r, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy),
		cmocka_unit_test(exclusive_wakeups),
		cmocka_unit_test(idle_acceptors_from_the_start),
		cmocka_unit_test(accept_turns),
		cmocka_unit_test(thundering_herd),
		cmocka_unit_test(empty_accepts),
		cmocka_unit_test(overflow),
		cmocka_unit_test(queue_building),
		cmocka_unit_test(acceptor_saturated),
		cmocka_unit_test(reuseport_shards),
		cmocka_unit_test(uneven_reads),
		cmocka_unit_test(thresholds),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
