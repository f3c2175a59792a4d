// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/cpu.c: /proc's files parsed, and spans of samples over a fake /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "cpu.h"

#define SEC 1000000000ULL
#define BOOT (1000 * SEC)	/* the first sample's time: 1000 s after boot */

static char root[64];

/* Thread @tid of @pid: @cpu_ms run, @runq_ms waited, @wakeups, started @start_s after boot. */
static void write_thread(int pid, int tid, int cpu_ms, int runq_ms, int wakeups, double start_s, bool schedstat)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task", root, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d", root, pid, tid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/task/%d/stat", root, pid, tid);
	f = fopen(path, "w");
	/* A comm with spaces and parentheses; utime (field 14) holds it all, stime 0. */
	fprintf(f, "%d (a) (b c) S 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 %llu 0 0\n", tid,
		cpu_ms / (1000 / (int)sysconf(_SC_CLK_TCK)), (unsigned long long)(start_s * sysconf(_SC_CLK_TCK)));
	fclose(f);
	snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", root, pid, tid);
	if (schedstat) {
		f = fopen(path, "w");
		fprintf(f, "%llu %llu 7\n", cpu_ms * 1000000ULL, runq_ms * 1000000ULL);
		fclose(f);
	} else {
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%d/task/%d/status", root, pid, tid);
	f = fopen(path, "w");
	fprintf(f, "Name:\tx\nvoluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t99\n", wakeups);
	fclose(f);
}

static void remove_thread(int pid, int tid)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/%d/task/%d", root, pid, tid);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/acceptscope-cpu.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void parsers(void **state)
{
	struct thread_usage u;
	__u64 ns, start, w;

	(void)state;
	assert_int_equal(parse_schedstat("123 456 7\n", &u), 0);
	assert_int_equal(u.cpu_ns, 123);
	assert_int_equal(u.runq_ns, 456);
	assert_int_equal(parse_schedstat("x", &u), -1);
	assert_int_equal(parse_stat("5 (x) y) R 1 1 1 0 -1 0 0 0 0 0 30 12 0 0 20 0 1 0 4242 0 0", 100, &ns, &start), 0);
	assert_int_equal(ns, 420000000ULL);
	assert_int_equal(start, 4242);
	assert_int_equal(parse_stat("5 (x) R 1 1", 100, &ns, &start), -1);
	assert_int_equal(parse_stat("no parenthesis", 100, &ns, &start), -1);
	assert_int_equal(parse_status_wakeups("Name:\tx\nvoluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t3\n", &w), 0);
	assert_int_equal(w, 17);
	/* "nonvoluntary_..." alone is not the voluntary count. */
	assert_int_equal(parse_status_wakeups("Name:\tx\nnonvoluntary_ctxt_switches:\t3\n", &w), -1);
}

static const struct span_thread *span_of(struct cpu_sampler *s, int intervals, __u32 tid, struct cpu_span *span)
{
	cpu_span_free(span);
	assert_int_equal(cpu_span_get(s, intervals, span), 0);
	return cpu_span_find(span, tid);
}

/* An interval's figures are the differences of two samples over their time apart. */
static void interval_and_run(void **state)
{
	struct cpu_sampler *s = cpu_sampler_new(3, root);
	struct cpu_span span = {};
	const struct span_thread *t;
	__u32 pid = 100;

	(void)state;
	write_thread(100, 101, 1000, 0, 10, 1, true);
	cpu_sample(s, &pid, 1, BOOT);
	assert_null(span_of(s, 1, 101, &span));	/* one sample: no span yet */
	write_thread(100, 101, 1500, 100, 30, 1, true);
	cpu_sample(s, &pid, 1, BOOT + SEC);
	t = span_of(s, 1, 101, &span);
	assert_non_null(t);
	assert_float_equal(t->cpu_pct, 50.0, 1e-9);
	assert_float_equal(t->runq_pct, 10.0, 1e-9);
	assert_true(t->runq_known);
	assert_int_equal(t->wakeups, 20);
	assert_true(t->alive);
	/* Half a second later, 250 ms more: the interval 50%, the run 500 ms/1.5 s. */
	write_thread(100, 101, 1750, 100, 30, 1, true);
	cpu_sample(s, &pid, 1, BOOT + SEC + SEC / 2);
	assert_float_equal(span_of(s, 1, 101, &span)->cpu_pct, 50.0, 1e-9);
	assert_float_equal(span_of(s, 0, 101, &span)->cpu_pct, 750 / 1.5 / 10, 1e-9);
	assert_float_equal(span_of(s, 2, 101, &span)->secs, 1.5, 1e-9);
	cpu_span_free(&span);
	cpu_sampler_free(s);
}

/* A thread that started after a sample counts from that sample, with nothing used; one
 * already running when first seen counts from then. */
static void late_threads(void **state)
{
	struct cpu_sampler *s = cpu_sampler_new(3, root);
	struct cpu_span span = {};
	const struct span_thread *t;
	__u32 pid = 200;

	(void)state;
	write_thread(200, 200, 0, 0, 0, 1, true);
	cpu_sample(s, &pid, 1, BOOT);
	cpu_sample(s, &pid, 1, BOOT + SEC);
	write_thread(200, 201, 300, 0, 5, 1001.5, true);	/* born after the second sample */
	write_thread(200, 202, 9000, 0, 5, 10, true);		/* old, first seen now */
	cpu_sample(s, &pid, 1, BOOT + 2 * SEC);
	t = span_of(s, 1, 201, &span);
	assert_non_null(t);
	assert_float_equal(t->cpu_pct, 30.0, 1e-9);
	assert_float_equal(span_of(s, 0, 201, &span)->cpu_pct, 300 / 2.0 / 10, 1e-9);
	assert_null(span_of(s, 1, 202, &span));	/* no baseline yet */
	write_thread(200, 202, 9100, 0, 5, 10, true);
	cpu_sample(s, &pid, 1, BOOT + 3 * SEC);
	assert_float_equal(span_of(s, 1, 202, &span)->cpu_pct, 10.0, 1e-9);
	assert_float_equal(span_of(s, 0, 202, &span)->secs, 1.0, 1e-9);	/* watched for 1 s */
	cpu_span_free(&span);
	cpu_sampler_free(s);
}

/* A thread that exits keeps its figures up to its last sample; a tid used again by another
 * process is a new thread; without schedstat, stat's ticks and no run-queue wait. */
static void exits_and_reuse(void **state)
{
	struct cpu_sampler *s = cpu_sampler_new(2, root);
	struct cpu_span span = {};
	const struct span_thread *t;
	__u32 pids[] = { 300, 301 };

	(void)state;
	write_thread(300, 310, 0, 0, 0, 1, false);
	cpu_sample(s, pids, 2, BOOT);
	write_thread(300, 310, 200, 0, 4, 1, false);
	cpu_sample(s, pids, 2, BOOT + SEC);
	t = span_of(s, 1, 310, &span);
	assert_float_equal(t->cpu_pct, 20.0, 1e-9);
	assert_false(t->runq_known);
	remove_thread(300, 310);
	cpu_sample(s, pids, 2, BOOT + 2 * SEC);
	assert_null(span_of(s, 1, 310, &span));
	t = span_of(s, 0, 310, &span);
	assert_non_null(t);
	assert_false(t->alive);
	assert_float_equal(t->secs, 1.0, 1e-9);
	/* tid 310 again, in process 301, with less CPU than before: counted afresh. */
	write_thread(301, 310, 50, 0, 1, 1, true);
	cpu_sample(s, pids, 2, BOOT + 3 * SEC);
	write_thread(301, 310, 150, 0, 2, 1, true);
	cpu_sample(s, pids, 2, BOOT + 4 * SEC);
	t = span_of(s, 0, 310, &span);
	assert_int_equal(t->pid, 301);
	assert_float_equal(t->cpu_pct, 10.0, 1e-9);
	cpu_span_free(&span);
	cpu_sampler_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parsers),
		cmocka_unit_test(interval_and_run),
		cmocka_unit_test(late_threads),
		cmocka_unit_test(exits_and_reuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
