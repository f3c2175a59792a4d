// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: the figures of one run, from what acceptscope-load and
 * acceptscope-demo wrote and what the tracer counted, matched thread by thread.
 */
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "backend.h"
#include "collect.h"
#include "cpu.h"
#include "stats.h"

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

static uint64_t ju64(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_uint64(v) : 0;
}

static long jlong(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? (long)json_object_get_int64(v) : 0;
}

static double jdbl(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_double(v) : 0;
}

static size_t jlen(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct cmp_thread *thread_for(struct cmp_run *run, long tid)
{
	struct cmp_thread *t;

	for (int i = 0; i < run->nr_threads; i++)
		if (run->threads[i].tid == tid)
			return &run->threads[i];
	t = realloc(run->threads, (run->nr_threads + 1) * sizeof(*t));
	if (!t)
		return NULL;
	run->threads = t;
	t = &run->threads[run->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

static int by_tid(const void *a, const void *b)
{
	const struct cmp_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

int cmp_read_load(struct cmp_run *run, const char *path)
{
	json_object *o = json_object_from_file(path), *lat;

	if (!o) {
		snprintf(run->error, sizeof(run->error), "acceptscope-load wrote no JSON");
		return -1;
	}
	run->rps = jdbl(o, "rps");
	lat = jget(o, "latency_us");
	run->p50_us = jdbl(lat, "p50");
	run->p99_us = jdbl(lat, "p99");
	run->sent = ju64(o, "sent");
	run->answered = ju64(o, "answered");
	run->client_connections = ju64(o, "connections");
	run->client_errors = ju64(jget(o, "errors"), "total");
	run->not_started = ju64(o, "not_started");
	json_object_put(o);
	return 0;
}

int cmp_read_stats(struct cmp_run *run, const char *path)
{
	json_object *o = json_object_from_file(path), *ths;

	if (!o) {
		snprintf(run->error, sizeof(run->error), "acceptscope-demo wrote no stats");
		return -1;
	}
	run->server_stats = o;
	ths = jget(o, "threads");
	for (size_t i = 0; i < jlen(ths); i++) {
		json_object *th = json_object_array_get_idx(ths, i);
		struct cmp_thread *t = thread_for(run, jlong(th, "tid"));
		json_object *role = jget(th, "role");

		if (!t)
			return -1;
		t->in_server = true;
		t->pid = jlong(th, "pid");
		snprintf(t->role, sizeof(t->role), "%s", role ? json_object_get_string(role) : "");
		t->s_accepts = ju64(th, "accepts");
		t->s_empty_accepts = ju64(th, "empty_accepts");
		t->s_reads = ju64(th, "reads");
		t->s_read_bytes = ju64(th, "read_bytes");
		t->s_requests = ju64(th, "requests");
		run->server_accepts += t->s_accepts;
		run->server_empty_accepts += t->s_empty_accepts;
		run->server_reads += t->s_reads;
	}
	return 0;
}

static long most(long a, long b)
{
	return a > b ? a : b;
}

/* One listener on the run's port: its queue, its waits, its overflows. */
static void add_listener(struct cmp_run *run, const struct listener_row *l)
{
	const struct listener_stats *st = &l->st;
	long p50 = wait_percentile(st->wait_hist, 50, st->wait_max_ns) / 1000;
	long p90 = wait_percentile(st->wait_hist, 90, st->wait_max_ns) / 1000;
	long p99 = wait_percentile(st->wait_hist, 99, st->wait_max_ns) / 1000;

	run->nr_listeners++;
	run->queued += st->queued;
	run->accepted += st->accepted;
	run->depth_max = most(run->depth_max, st->depth_max);
	/* Percentiles of several listeners (reuseport) cannot be merged: take the worst. */
	run->wait_p50_us = most(run->wait_p50_us, p50);
	run->wait_p90_us = most(run->wait_p90_us, p90);
	run->wait_p99_us = most(run->wait_p99_us, p99);
	run->wait_max_us = most(run->wait_max_us, st->wait_max_ns / 1000);
	run->overflows_known &= l->overflows_known;
	run->overflows += l->overflows_known ? l->overflows : 0;
	for (int b = 0; b < DEPTH_SLOTS; b++) {
		run->depth_hist[b] += st->depth_hist[b];
		if (st->depth_hist[b] && b + 1 > run->nr_hist)
			run->nr_hist = b + 1;
	}
}

/* One thread's counts on one listener of the run's port, summed over the port's listeners. */
static int add_thread(struct cmp_run *run, const struct thread_row *tr)
{
	struct cmp_thread *t = thread_for(run, tr->tid);

	if (!t)
		return -1;
	if (!t->traced)
		escape_text(t->comm, sizeof(t->comm), tr->comm, TASK_COMM_LEN);
	t->traced = true;
	t->pid = tr->pid;
	t->accepts += tr->accepts;
	t->empty_accepts += tr->empty_accepts;
	t->reads += tr->reads;
	t->read_bytes += tr->read_bytes;
	run->empty_accepts += tr->empty_accepts;
	return 0;
}

/* Each thread's share of the port's accepts and reads; Jain's index over the threads that
 * tried to accept (those that got nothing too: that is the unfairness) and over those that
 * read; the busiest thread's share. */
static void port_fairness(struct cmp_run *run)
{
	double accepts = 0, reads = 0, acc_sq = 0, rd_sq = 0, busiest = 0;
	int na = 0, nr = 0;

	for (int i = 0; i < run->nr_threads; i++) {
		const struct cmp_thread *t = &run->threads[i];

		accepts += t->accepts;
		reads += t->reads;
		na += t->accepts || t->empty_accepts;
		acc_sq += (double)t->accepts * t->accepts;
		nr += t->reads > 0;
		rd_sq += (double)t->reads * t->reads;
		if (t->accepts > busiest)
			busiest = t->accepts;
	}
	for (int i = 0; i < run->nr_threads; i++) {
		struct cmp_thread *t = &run->threads[i];

		t->accept_share = accepts ? t->accepts / accepts : 0;
		t->read_share = reads ? t->reads / reads : 0;
	}
	run->jain = jain_from_sums(accepts, acc_sq, na);
	run->jain_reads = jain_from_sums(reads, rd_sq, nr);
	run->busiest_share = accepts ? busiest / accepts : 0;
}

static json_object *hooks_json(const struct hook_plan *plan)
{
	json_object *o = json_object_new_object();

	for (int h = 0; h < NR_HOOKS; h++)
		json_object_object_add(o, hook_name(h), json_object_new_string(mechanism_name(plan->mech[h])));
	return o;
}

int cmp_read_snapshot(struct cmp_run *run, const struct snapshot *snap, const struct hook_plan *plan)
{
	run->hooks = hooks_json(plan);
	run->overflows_known = true;
	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *l = &snap->rows[i];

		if (l->info.port != (__u32)run->port)
			continue;
		add_listener(run, l);
		for (int j = 0; j < l->nr_threads; j++)
			if (add_thread(run, &l->threads[j]))
				return -1;
	}
	if (!run->nr_listeners) {
		run->overflows_known = false;
		snprintf(run->error, sizeof(run->error), "the tracer saw no listener on port %d", run->port);
		return -1;
	}
	port_fairness(run);
	return 0;
}

/* Figures derived from the per-thread rows. */
void cmp_derive(struct cmp_run *run)
{
	int designated = 0, both = 0;
	uint64_t total = 0;
	double idlest = -1, *acc;

	qsort(run->threads, run->nr_threads, sizeof(*run->threads), by_tid);
	for (int i = 0; i < run->nr_threads; i++) {
		const struct cmp_thread *t = &run->threads[i];

		total += t->accepts;
		run->accepting += t->accepts > 0;
		run->reading += t->reads > 0;
		both += t->accepts > 0 && t->reads > 0;
		designated += t->in_server && t->role[0] && strcmp(t->role, "worker") != 0;
	}
	/* The threads meant to accept: those with a role of their own (acceptor, dispatcher)
	 * if there are any, else every server thread. */
	run->threads_match = true;
	acc = calloc(run->nr_threads + 1, sizeof(*acc));
	if (!acc)
		return;
	for (int i = 0; i < run->nr_threads; i++) {
		const struct cmp_thread *t = &run->threads[i];
		bool acceptor = designated ? t->in_server && t->role[0] && strcmp(t->role, "worker") != 0
					   : t->in_server;
		double share = total ? (double)t->accepts / total : 0;

		if (acceptor) {
			acc[run->acceptors] = t->accepts;
			run->acceptors++;
			if (idlest < 0 || share < idlest)
				idlest = share;
		}
		if (t->accepts != t->s_accepts || t->empty_accepts != t->s_empty_accepts || t->reads != t->s_reads ||
		    t->read_bytes != t->s_read_bytes)
			run->threads_match = false;
	}
	run->idlest_share = idlest < 0 ? 0 : idlest;
	run->jain_acceptors = jain_index(acc, run->acceptors);
	free(acc);

	if (!run->reading)
		snprintf(run->readers, sizeof(run->readers), "none");
	else if (both == run->reading && both == run->accepting)
		snprintf(run->readers, sizeof(run->readers), run->accepting == 1 ? "acceptor" : "each acceptor");
	else if (!both)
		snprintf(run->readers, sizeof(run->readers), run->reading == 1 ? "a worker" : "workers");
	else
		snprintf(run->readers, sizeof(run->readers), "mixed");
}

void cmp_read_cpu(struct cmp_run *run, const struct cpu_span *span)
{
	for (int i = 0; i < run->nr_threads; i++) {
		struct cmp_thread *t = &run->threads[i];
		const struct span_thread *c = t->in_server ? cpu_span_find(span, t->tid) : NULL;

		if (!c)
			continue;
		t->cpu_known = true;
		t->cpu_pct = c->cpu_pct;
		if (!run->cpu_known || c->cpu_pct > run->cpu_max_pct)
			run->cpu_max_pct = c->cpu_pct;
		run->cpu_known = true;
	}
}

void cmp_run_free(struct cmp_run *run)
{
	free(run->threads);
	run->threads = NULL;
	run->nr_threads = 0;
	json_object_put(run->server_stats);
	run->server_stats = NULL;
	json_object_put(run->hooks);
	run->hooks = NULL;
}

