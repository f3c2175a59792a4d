// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for user/timeline.c: trace records gathered into lanes and connections (a SYN
 * linked to the connection it became, a retransmitted SYN, a child address reused, an accept
 * whose enqueue was never seen), empty accepts from samples, and the page drawn from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "backend.h"
#include "collect.h"
#include "timeline.h"

#define L 4242		/* the listener's inode */
#define MS 1000000ULL

static struct trace_sinks sinks;
static const __u64 origin = 1000 * MS;

static void feed(struct timeline *tl, __u32 type, __u64 ms, __u64 child, __u32 peer, __u32 tid, __u64 value)
{
	struct conn_event e = { .ts_ns = origin + ms * MS, .listener = L, .child = child, .value = value, .type = type,
				.pid = tid ? 100 : 0, .tid = tid, .depth = 1, .backlog = 8, .port = 8080, .rport = peer };

	snprintf(e.comm, sizeof(e.comm), "%s", tid == 101 ? "acceptor" : tid ? "worker" : "");
	if (!sinks.n)
		trace_add_sink(&sinks, timeline_record, tl);
	handle_trace_event(&sinks, &e, sizeof(e));
}

static struct timeline *new_timeline(enum mechanism overflow)
{
	struct hook_plan plan = { .mech = { [HOOK_OVERFLOW] = overflow } };

	memset(&sinks, 0, sizeof(sinks));
	return timeline_new("unit test", &plan);
}

static void syn_to_first_read(void **state)
{
	struct timeline *tl = new_timeline(MECH_KPROBE);
	const struct tl_conn *c;

	(void)state;
	assert_true(tl->syn_seen);
	feed(tl, EV_SYN, 0, 0, 5000, 0, 0);
	feed(tl, EV_SYN, 1000, 0, 5000, 0, 0);		/* retransmitted: the handshake began at the first */
	feed(tl, EV_SYN, 1001, 0, 6000, 0, 0);		/* another peer, never queued */
	feed(tl, EV_QUEUED, 1002, 0xa0, 5000, 0, 0);
	feed(tl, EV_ACCEPTED, 1003, 0xa0, 5000, 101, 1 * MS);
	feed(tl, EV_FIRST_READ, 1004, 0xa0, 5000, 102, 77);
	/* The child's address reused by a later connection, then an accept of a child queued before. */
	feed(tl, EV_QUEUED, 2000, 0xa0, 5001, 0, 0);
	feed(tl, EV_ACCEPTED, 2001, 0xa0, 5001, 101, 1 * MS);
	feed(tl, EV_ACCEPTED, 2002, 0xb0, 5002, 102, 0);

	assert_int_equal(tl->nr_conns, 3);
	assert_int_equal(tl->nr_lanes, 3);	/* the queue, the acceptor, the worker */
	c = &tl->conns[0];
	assert_int_equal(c->syn_ns, origin);
	assert_int_equal(c->enqueue_ns, origin + 1002 * MS);
	assert_int_equal(c->accept_ns, origin + 1003 * MS);
	assert_int_equal(c->read_ns, origin + 1004 * MS);
	assert_int_equal(c->bytes, 77);
	assert_int_equal(c->wait_ns, MS);
	assert_string_equal(tl->lanes[c->accept_lane].comm, "acceptor");
	assert_int_equal(tl->lanes[c->read_lane].tid, 102);
	assert_int_equal(tl->conns[1].syn_ns, TL_NONE);
	assert_int_equal(tl->conns[1].enqueue_ns, origin + 2000 * MS);
	assert_int_equal(tl->conns[2].enqueue_ns, TL_NONE);
	assert_int_equal(tl->conns[2].accept_ns, origin + 2002 * MS);
	assert_int_equal(tl->lanes[tl->conns[0].queue_lane].syns, 3);
	assert_int_equal(tl->lanes[tl->conns[0].queue_lane].queued, 2);
	assert_int_equal(tl->lanes[c->accept_lane].accepts, 2);
	timeline_free(tl);
}

static void empty_accepts_from_samples(void **state)
{
	struct timeline *tl = new_timeline(MECH_TRACEPOINT);
	struct thread_row t = { .pid = 100, .tid = 103, .comm = "idle", .empty_accepts = 2 };
	struct listener_row r = { .id = L, .threads = &t, .nr_threads = 1 };
	struct snapshot snap = { .rows = &r, .nr_rows = 1 };

	(void)state;
	assert_false(tl->syn_seen);
	feed(tl, EV_QUEUED, 0, 0xa0, 5000, 0, 0);
	timeline_sample(tl, &snap, origin + 250 * MS);
	timeline_sample(tl, &snap, origin + 500 * MS);	/* nothing new */
	t.empty_accepts = 5;
	timeline_sample(tl, &snap, origin + 750 * MS);
	assert_int_equal(tl->nr_spans, 2);
	assert_int_equal(tl->spans[0].n, 2);
	assert_int_equal(tl->spans[1].n, 3);
	assert_int_equal(tl->spans[1].t0_ns, origin + 500 * MS);
	assert_int_equal(tl->spans[1].t1_ns, origin + 750 * MS);
	assert_int_equal(tl->lanes[tl->spans[0].lane].empty_accepts, 5);
	assert_int_equal(tl->lanes[tl->spans[0].lane].tid, 103);
	timeline_free(tl);
}

/* The page: whole, each connection drawn with its stages, the kernel's text escaped. */
static void page(void **state)
{
	struct timeline *tl = new_timeline(MECH_FENTRY);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	feed(tl, EV_SYN, 0, 0, 5000, 0, 0);
	feed(tl, EV_QUEUED, 1, 0xa0, 5000, 0, 0);
	feed(tl, EV_ACCEPTED, 2, 0xa0, 5000, 101, MS);
	feed(tl, EV_FIRST_READ, 3, 0xa0, 5000, 102, 9);
	snprintf(tl->lanes[1].comm, sizeof(tl->lanes[1].comm), "<i>&");
	timeline_write_html(tl, f);
	fclose(f);
	assert_non_null(strstr(buf, "<!DOCTYPE html>"));
	assert_non_null(strstr(buf, "</html>\n"));
	assert_non_null(strstr(buf, "data-mode=\"each\""));
	assert_non_null(strstr(buf, "data-syn=\"0.000000000\" data-enq=\"0.001000000\" data-acc=\"0.002000000\" "
				    "data-read=\"0.003000000\""));
	assert_non_null(strstr(buf, "data-syn-seen=\"true\""));
	assert_non_null(strstr(buf, "&lt;i&gt;&amp;"));
	assert_null(strstr(buf, "<i>&"));
	free(buf);
	timeline_free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(syn_to_first_read),
		cmocka_unit_test(empty_accepts_from_samples),
		cmocka_unit_test(page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
