// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/prometheus.c (the exposition text) and prom_http.c's address parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "prom_http.h"
#include "diagnose.h"
#include "prometheus.h"
#include "stats.h"

#define NETNS 4026531840ULL
#define L1 "port=\"8080\",addr=\"127.0.0.1\",netns=\"4026531840\",inode=\"12345\",pid=\"42\",comm=\"srv\""

static const struct hook_plan plan = { .mech = { MECH_TRACEPOINT, MECH_TRACEPOINT, MECH_TRACEPOINT,
						 MECH_TRACEPOINT, MECH_NONE } };
static const struct report_opts ro = { .plan = &plan };

static struct listener_row *add_row(struct snapshot *snap, listener_id_t id, __u32 port)
{
	struct listener_row *r = row_get(snap, id);

	assert_non_null(r);
	r->info.family = 2;
	r->info.port = port;
	r->info.netns = NETNS;
	r->info.inode = id;
	r->info.backlog = 511;
	r->info.addr[0] = 127, r->info.addr[3] = 1;
	r->sampled = true;
	r->owner_pid = 42;
	strcpy(r->owner_comm, "srv");
	return r;
}

static void add_thread(struct listener_row *r, __u32 tid, const char *comm, __u64 accepts, __u64 reads)
{
	struct thread_row *t = realloc(r->threads, (r->nr_threads + 1) * sizeof(*t));

	assert_non_null(t);
	r->threads = t;
	t = &t[r->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->pid = 42;
	t->tid = tid;
	memcpy(t->comm, comm, strnlen(comm, TASK_COMM_LEN));
	t->accepts = accepts;
	t->reads = reads;
	t->read_bytes = reads * 100;
}

/* One listener on 8080 with two threads (3 and 1 accepts), overflows counted. */
static void base_snapshot(struct snapshot *snap)
{
	struct listener_row *r;

	memset(snap, 0, sizeof(*snap));
	r = add_row(snap, 12345, 8080);
	r->depth_now = 2;
	r->syn_now = 1;
	r->st.depth_max = 7;
	r->st.queued = 4;
	r->st.accepted = 4;
	r->st.empty_accepts = 5;
	r->overflows_known = true;
	r->overflows = 9;
	add_thread(r, 43, "worker-1", 3, 3);
	add_thread(r, 44, "worker-2", 1, 1);
	snap->lost[LOST_UPDATES] = 6;
}

static struct prom_opts opts(enum prom_threads mode, long max_series)
{
	return (struct prom_opts){ .ro = &ro, .threads = mode, .max_series = max_series, .version = "0.1" };
}

/* The exposition of @snap as a string (caller frees). */
static char *render(const struct snapshot *snap, const struct prom_opts *o, struct prom_state *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(prom_render(f, snap, o, st), 0);
	fclose(f);
	return text;
}

/* The value of the sample named exactly @key ("name{labels}"), as text; NULL if absent. */
static const char *value_of(const char *text, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			size_t n = strcspn(line + klen + 1, "\n");

			snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), line + klen + 1);
			return buf;
		}
	}
	return NULL;
}

static void assert_sample(const char *text, const char *key, const char *want)
{
	char buf[64];
	const char *got = value_of(text, key, buf, sizeof(buf));

	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: expected %s, got %s", key, want, got ? got : "(absent)");
}

/* Samples (lines not starting with '#') whose name starts with @prefix. */
static int count_samples(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (*line != '#' && strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
		if (!strchr(line, '\n'))
			break;
	}
	return n;
}

static void names_and_labels(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	char *text;

	(void)state;
	base_snapshot(&snap);
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_accept_queue_length{" L1 "}", "2");
	assert_sample(text, "acceptscope_accept_queue_limit{" L1 "}", "511");
	assert_sample(text, "acceptscope_syn_queue_length{" L1 "}", "1");
	assert_sample(text, "acceptscope_accept_queue_max_length{" L1 "}", "7");
	assert_sample(text, "acceptscope_queued_total{" L1 "}", "4");
	assert_sample(text, "acceptscope_accepted_total{" L1 "}", "4");
	assert_sample(text, "acceptscope_empty_accepts_total{" L1 "}", "5");
	assert_sample(text, "acceptscope_overflows_total{" L1 "}", "9");
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\",thread=\"worker-1\"}", "3");
	assert_sample(text, "acceptscope_thread_reads_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"44\",thread=\"worker-2\"}", "1");
	assert_sample(text, "acceptscope_thread_read_bytes_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\",thread=\"worker-1\"}", "300");
	assert_sample(text, "acceptscope_thread_empty_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\",thread=\"worker-1\"}", "0");
	/* Jain over 3 and 1: 16 / (2 * 10); the busiest has 3 of 4: fairness_of()'s figures. */
	assert_sample(text, "acceptscope_accept_fairness{port=\"8080\",netns=\"4026531840\"}", "0.8");
	assert_sample(text, "acceptscope_busiest_thread_share{port=\"8080\",netns=\"4026531840\"}", "0.75");
	assert_sample(text, "acceptscope_build_info{version=\"0.1\"}", "1");
	assert_sample(text, "acceptscope_hook_info{hook=\"accept\",mechanism=\"tracepoint\"}", "1");
	assert_sample(text, "acceptscope_hook_info{hook=\"overflow\",mechanism=\"none\"}", "1");
	assert_sample(text, "acceptscope_lost_total{kind=\"updates\"}", "6");
	assert_sample(text, "acceptscope_lost_total{kind=\"missed_runs\"}", "0");
	assert_sample(text, "acceptscope_series_dropped_total", "0");
	assert_non_null(strstr(text, "# TYPE acceptscope_accept_wait_seconds histogram\n"));
	assert_non_null(strstr(text, "# TYPE acceptscope_queued_total counter\n"));
	assert_non_null(strstr(text, "# TYPE acceptscope_accept_queue_length gauge\n"));
	free(text);
	/* No hook counts overflows: the series is absent, not zero. */
	snap.rows[0].overflows_known = false;
	text = render(&snap, &o, st);
	assert_null(strstr(text, "\nacceptscope_overflows_total{"));
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void label_escaping(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	char buf[64], *text;

	(void)state;
	assert_string_equal(prom_escape_label(buf, sizeof(buf), "a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
	base_snapshot(&snap);
	/* A thread named a"b\c<newline><ESC>: escape_text() as every view shows it, then the format's escaping. */
	memcpy(snap.rows[0].threads[0].comm, "a\"b\\c\n\x1b", 8);
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\","
		      "thread=\"a\\\"b\\\\\\\\c\\\\x0a\\\\x1b\"}", "3");
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

/* Every counter and bucket of @b at least its value in @a (same key). */
static void assert_not_backwards(const char *a, const char *b)
{
	for (const char *line = a; *line; line = strchr(line, '\n') + 1) {
		char key[PROM_LABELS_MAX + 128], buf[64];
		const char *space = strrchr(line, ' '), *nl = strchr(line, '\n');

		if (*line != '#' && (strstr(line, "_total") || strstr(line, "_bucket") || strstr(line, "_count")) &&
		    space && space < nl) {
			snprintf(key, sizeof(key), "%.*s", (int)(space - line), line);
			if (value_of(b, key, buf, sizeof(buf)) && strtod(buf, NULL) < strtod(space + 1, NULL))
				fail_msg("%s went backwards: %.*s -> %s", key, (int)(nl - space - 1), space + 1, buf);
		}
		if (!nl)
			break;
	}
}

static void counters_never_go_back(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	char *first, *second;

	(void)state;
	base_snapshot(&snap);
	snap.rows[0].st.wait_hist[wait_slot(5000)] = 4;
	snap.rows[0].st.wait_count = 4;
	first = render(&snap, &o, st);
	/* More of everything, but overflows read one lower (sk_drops and discards read a moment apart). */
	snap.rows[0].st.accepted += 10;
	snap.rows[0].st.wait_hist[wait_slot(50000)] += 2;
	snap.rows[0].st.wait_count += 2;
	snap.rows[0].threads[1].accepts += 10;
	snap.rows[0].overflows -= 1;
	second = render(&snap, &o, st);
	assert_not_backwards(first, second);
	assert_sample(second, "acceptscope_overflows_total{" L1 "}", "9");
	assert_sample(second, "acceptscope_accepted_total{" L1 "}", "14");
	free(first);
	free(second);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void buckets_exact_and_cumulative(void **state)
{
	static const __u64 waits[] = { 0, 500, 1023, 1024, 1025, 1983, 1984, 5000, 123456, 999999, 1000000,
				       20000000, 20100000, 999999999, 1000000000, 98784247807ULL, 98784247808ULL,
				       140000000000ULL };
	const __u64 *bounds = prom_wait_bounds_ns();
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_NONE, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	__u64 sum = 0, prev = 0;
	int nw = sizeof(waits) / sizeof(waits[0]);
	char *text;

	(void)state;
	/* Each bound ends a slot (bound + 1 ns starts the next), log-spaced 1 us .. 100 s (1, 2, 5 x 10^k, within a slot). */
	for (int b = 0; b < PROM_WAIT_BUCKETS; b++) {
		double target = (b % 3 == 0 ? 1 : b % 3 == 1 ? 2 : 5) * 1e3;

		for (int k = 0; k < b / 3; k++)
			target *= 10;
		assert_int_not_equal(wait_slot(bounds[b]), wait_slot(bounds[b] + 1));
		assert_true(bounds[b] + 1 > target * 15 / 16 && bounds[b] + 1 < target * 17 / 16);
		assert_true(b == 0 || bounds[b] > bounds[b - 1]);
	}
	base_snapshot(&snap);
	for (int i = 0; i < nw; i++) {
		snap.rows[0].st.wait_hist[wait_slot(waits[i])]++;
		sum += waits[i];
	}
	snap.rows[0].st.wait_count = nw;
	snap.rows[0].st.wait_sum_ns = sum;
	text = render(&snap, &o, st);
	for (int b = 0; b < PROM_WAIT_BUCKETS; b++) {
		char key[PROM_LABELS_MAX + 128], le[32], want[24], buf[64];
		__u64 n = 0;

		for (int i = 0; i < nw; i++)
			n += waits[i] <= bounds[b];
		snprintf(le, sizeof(le), "%.9f", bounds[b] / 1e9);
		while (le[strlen(le) - 1] == '0')
			le[strlen(le) - 1] = 0;
		snprintf(key, sizeof(key), "acceptscope_accept_wait_seconds_bucket{" L1 ",le=\"%s\"}", le);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)n);
		assert_sample(text, key, want);
		assert_true(strtoull(value_of(text, key, buf, sizeof(buf)), NULL, 10) >= prev);
		prev = n;
	}
	assert_sample(text, "acceptscope_accept_wait_seconds_bucket{" L1 ",le=\"+Inf\"}", "18");
	assert_sample(text, "acceptscope_accept_wait_seconds_count{" L1 "}", "18");
	/* The sum in seconds to the nanosecond, no binary rounding. */
	assert_sample(text, "acceptscope_accept_wait_seconds_sum{" L1 "}", "339.610731608");
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void closed_listener_shown_once(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	struct listener_row *shard;
	char *text;

	(void)state;
	base_snapshot(&snap);
	/* A second shard on the same port, closed, whose thread 45 took 2 accepts. */
	shard = add_row(&snap, 777, 8080);
	shard->gone = true;
	shard->st.accepted = 2;
	add_thread(shard, 45, "worker-3", 2, 2);
	add_thread(shard, 43, "worker-1", 1, 1);
	index_rows(&snap);
	text = render(&snap, &o, st);
	assert_non_null(strstr(text, "acceptscope_accepted_total{port=\"8080\",addr=\"127.0.0.1\",netns=\"4026531840\",inode=\"777\","));
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\",thread=\"worker-1\"}", "4");
	free(text);
	/* The next render: the closed shard is gone, its threads' counts stay in the port's. */
	text = render(&snap, &o, st);
	assert_null(strstr(text, "inode=\"777\""));
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"43\",thread=\"worker-1\"}", "4");
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",tid=\"45\",thread=\"worker-3\"}", "2");
	free(text);
	/* Once every listener of the port has closed, and been shown so once, the port's series go. */
	snap.rows[0].gone = true;
	free(render(&snap, &o, st));
	text = render(&snap, &o, st);
	assert_int_equal(count_samples(text, "acceptscope_thread_"), 0);
	assert_int_equal(count_samples(text, "acceptscope_accepted_total"), 0);
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void thread_modes(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_NAME, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	char *text;

	(void)state;
	base_snapshot(&snap);
	strcpy(snap.rows[0].threads[1].comm, "worker-1");	/* both threads now share a name */
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_thread_accepts_total{port=\"8080\",netns=\"4026531840\",pid=\"42\",thread=\"worker-1\"}", "4");
	assert_int_equal(count_samples(text, "acceptscope_thread_accepts_total"), 1);
	/* Fairness is over threads whatever the mode. */
	assert_sample(text, "acceptscope_accept_fairness{port=\"8080\",netns=\"4026531840\"}", "0.8");
	free(text);
	o.threads = PROM_THREADS_NONE;
	text = render(&snap, &o, st);
	assert_int_equal(count_samples(text, "acceptscope_thread_"), 0);
	assert_null(strstr(text, "acceptscope_thread_"));
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void extra_series(struct prom_writer *w, const struct snapshot *snap, void *arg)
{
	struct prom_labels l;

	(*(int *)arg)++;
	prom_family(w, "acceptscope_finding", "gauge", "test");
	for (int i = 0; i < snap->nr_rows; i++) {
		prom_labels_init(&l);
		prom_label_u64(&l, "port", snap->rows[i].info.port);
		prom_label_str(&l, "kind", "imbalance \"x\"");
		prom_sample_u64(w, "acceptscope_finding", &l, 1);
	}
}

/* The diagnosis as gauges: every kind for every port shown, the most severe finding's severity. */
static void finding_gauges(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct finding f[3] = {
		{ .kind = FINDING_IMBALANCE, .severity = SEVERITY_WARNING, .port = 8080 },
		{ .kind = FINDING_OVERFLOW, .severity = SEVERITY_WARNING, .port = 8080 },
		{ .kind = FINDING_OVERFLOW, .severity = SEVERITY_CRITICAL, .port = 8080 },
	};
	struct diagnosis d = { .findings = f, .nr_findings = 3 };
	struct report_opts with = ro;
	struct snapshot snap;
	char *text;

	(void)state;
	base_snapshot(&snap);
	add_row(&snap, 777, 9090);	/* a second port, nothing found there */
	index_rows(&snap);
	qsort(snap.rows, snap.nr_rows, sizeof(*snap.rows), cmp_rows);
	with.diag = &d;
	o.extra = prom_write_findings;
	o.extra_arg = &with;
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_finding{port=\"8080\",kind=\"imbalance\"}", "1");
	assert_sample(text, "acceptscope_finding{port=\"8080\",kind=\"overflow\"}", "2");
	assert_sample(text, "acceptscope_finding{port=\"8080\",kind=\"wasted_wakeups\"}", "0");
	assert_sample(text, "acceptscope_finding{port=\"9090\",kind=\"overflow\"}", "0");
	assert_int_equal(count_samples(text, "acceptscope_finding{"), 2 * NR_FINDING_KINDS);
	assert_non_null(strstr(text, "# TYPE acceptscope_finding gauge\n"));
	assert_null(strstr(strstr(text, "# TYPE acceptscope_finding gauge\n") + 1, "# TYPE acceptscope_finding "));
	free(text);
	/* No diagnosis yet (the first sample): every kind 0. */
	with.diag = NULL;
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_finding{port=\"8080\",kind=\"overflow\"}", "0");
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void series_cap(void **state)
{
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	int calls = 0, all, self;
	char *text;

	(void)state;
	base_snapshot(&snap);
	o.extra = extra_series;
	o.extra_arg = &calls;
	text = render(&snap, &o, st);
	assert_int_equal(calls, 1);
	assert_sample(text, "acceptscope_finding{port=\"8080\",kind=\"imbalance \\\"x\\\"\"}", "1");
	all = count_samples(text, "acceptscope_");
	self = count_samples(text, "acceptscope_build_info") + count_samples(text, "acceptscope_hook_info") +
	       count_samples(text, "acceptscope_lost_total") + count_samples(text, "acceptscope_series_dropped") +
	       count_samples(text, "acceptscope_scrape_duration");
	/* 8 listener series + 28 of the histogram + 2 per port + 4 x 2 per thread + 1 extra. */
	assert_int_equal(all - self, 8 + PROM_WAIT_BUCKETS + 3 + 2 + 8 + 1);
	assert_int_equal(self, 1 + NR_HOOKS + NR_LOST + 1 + 1 + 1);
	free(text);
	/* A cap of 10: the 8 listener series and the 2 per port (a histogram is all or nothing). */
	o.max_series = 10;
	text = render(&snap, &o, st);
	assert_int_equal(count_samples(text, "acceptscope_") - self, 10);
	assert_int_equal(count_samples(text, "acceptscope_accept_wait_seconds"), 0);
	assert_int_equal(count_samples(text, "acceptscope_accept_fairness"), 1);
	assert_sample(text, "acceptscope_series_dropped_total", "37");
	free(text);
	/* Dropped series add up over updates. */
	text = render(&snap, &o, st);
	assert_sample(text, "acceptscope_series_dropped_total", "74");
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void selection_and_idle(void **state)
{
	static const __u32 other_port[] = { 9090 };
	struct report_opts only = { .plan = &plan, .ports = other_port, .nr_ports = 1 };
	struct prom_state *st = prom_state_new();
	struct prom_opts o = opts(PROM_THREADS_TID, PROM_DEFAULT_MAX_SERIES);
	struct snapshot snap;
	char *text;

	(void)state;
	base_snapshot(&snap);
	add_row(&snap, 999, 9090);	/* idle: its gauges and zero counters are shown, no fairness */
	o.ro = &only;
	text = render(&snap, &o, st);
	assert_null(strstr(text, "port=\"8080\""));
	assert_sample(text, "acceptscope_accepted_total{port=\"9090\",addr=\"127.0.0.1\",netns=\"4026531840\",inode=\"999\",pid=\"42\",comm=\"srv\"}", "0");
	assert_int_equal(count_samples(text, "acceptscope_accept_fairness"), 0);
	free(text);
	snapshot_free(&snap);
	prom_state_free(st);
}

static void listen_addresses(void **state)
{
	static const char *const bad[] = { "", ":", "0", "65536", "80x", "-1", "+80", "foo:80", "::1:80",
					   "[::1]", "[::1]80", "[zz]:80", "1.2.3.4:", "1.2.3:80", "[127.0.0.1]:80" };
	struct prom_listen l;
	const char *why;

	(void)state;
	assert_int_equal(prom_parse_listen("9464", &l, &why), 0);
	assert_string_equal(l.text, "127.0.0.1:9464");
	assert_int_equal(l.addr.ss_family, AF_INET);
	assert_int_equal(prom_parse_listen("0.0.0.0:9464", &l, &why), 0);
	assert_string_equal(l.text, "0.0.0.0:9464");
	assert_int_equal(prom_parse_listen("[::]:9464", &l, &why), 0);
	assert_int_equal(l.addr.ss_family, AF_INET6);
	assert_string_equal(l.text, "[::]:9464");
	assert_int_equal(prom_parse_listen("[::1]:1", &l, &why), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (prom_parse_listen(bad[i], &l, &why) != -1 || !why)
			fail_msg("'%s' was taken", bad[i]);
	}
}

static void threads_option(void **state)
{
	enum prom_threads m;

	(void)state;
	assert_int_equal(prom_parse_threads("tid", &m), 0);
	assert_int_equal(m, PROM_THREADS_TID);
	assert_int_equal(prom_parse_threads("name", &m), 0);
	assert_int_equal(m, PROM_THREADS_NAME);
	assert_int_equal(prom_parse_threads("none", &m), 0);
	assert_int_equal(m, PROM_THREADS_NONE);
	assert_int_equal(prom_parse_threads("tids", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_labels),
		cmocka_unit_test(label_escaping),
		cmocka_unit_test(counters_never_go_back),
		cmocka_unit_test(buckets_exact_and_cumulative),
		cmocka_unit_test(closed_listener_shown_once),
		cmocka_unit_test(thread_modes),
		cmocka_unit_test(series_cap),
		cmocka_unit_test(finding_gauges),
		cmocka_unit_test(selection_and_idle),
		cmocka_unit_test(listen_addresses),
		cmocka_unit_test(threads_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
