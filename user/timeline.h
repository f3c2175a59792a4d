/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --timeline: the trace records of a run gathered into a model a page can draw
 * (timeline.c), and the page (timeline_html.c).  The model: one lane per
 * listener's queue and one per thread; each connection from its SYN (where a hook
 * sees it) and enqueue on its queue lane, to its accept on the accepting thread's
 * lane, to its first read on the reading thread's lane; drops as marks on the
 * queue lane; empty accepts per sample interval on the thread's lane (the kernel
 * side keeps no record of each); accept-queue and SYN-queue depth over time.
 */
#ifndef ACCEPTSCOPE_TIMELINE_H
#define ACCEPTSCOPE_TIMELINE_H

#include <stdbool.h>
#include <stdio.h>
#include "acceptscope.h"
#include "escape.h"
#include "trace.h"

struct snapshot;
struct hook_plan;

/* Times are CLOCK_MONOTONIC nanoseconds, the clock of bpf_ktime_get_ns() and clock_ns(). */
#define TL_NONE (-1LL)	/* a stage not seen (no SYN hook, never accepted, never read) */

/* A listener's accept-queue or SYN-queue depth, as events and samples reported it. */
struct tl_point {
	long long t_ns;
	__u32 v;
};

struct tl_series {
	struct tl_point *p;
	int n, cap;
};

struct tl_lane {
	bool queue;			/* a listener's queue, else a thread */
	listener_id_t listener;		/* queue lanes */
	__u32 port, backlog;
	__u32 pid, tid;			/* thread lanes */
	char comm[ESCAPED_LEN(TASK_COMM_LEN)];
	/* What the lane shows: thread lanes accepts, first reads, empty accepts, bytes of
	 * first reads; queue lanes SYNs, enqueues, drops. */
	__u64 accepts, reads, empty_accepts, read_bytes;
	__u64 syns, queued, drops;
	struct tl_series depth, synq;	/* queue lanes: accept-queue and SYN-queue depth */
};

struct tl_conn {
	__u64 child;			/* kernel address: reused once the socket is freed */
	listener_id_t listener;
	__u32 peer_port;
	int queue_lane, accept_lane, read_lane;	/* -1: not seen */
	long long syn_ns, enqueue_ns, accept_ns, read_ns;	/* TL_NONE: not seen */
	__u64 wait_ns;			/* as the kernel measured it (0: unknown) */
	__u64 bytes;			/* of the first read */
};

enum tl_mark_kind { TL_SYN, TL_ENQUEUE, TL_DROP_SYN, TL_DROP_HANDSHAKE, TL_ACCEPT, TL_READ, NR_TL_MARKS };

/* One event drawn on a lane (each connection's stages, SYNs, drops). */
struct tl_mark {
	long long t_ns;
	int lane;
	enum tl_mark_kind kind;
	__u32 peer_port;		/* SYN, ENQUEUE, ACCEPT, READ */
};

/* Empty accepts of one thread lane between two samples. */
struct tl_span {
	long long t0_ns, t1_ns;
	int lane;
	__u64 n;
};

struct tl_hash;

struct timeline {
	char title[160];
	bool syn_seen;			/* a hook sees SYN arrivals (tcp_conn_request) */
	char hooks[160];		/* "accept tracepoint, enqueue tracepoint, ..." */
	bool started;			/* origin_ns is set */
	__u64 origin_ns;		/* the trace's time 0: its first record */
	long long last_sample_ns;	/* TL_NONE before the first */
	__u64 lost_records;

	struct tl_lane *lanes;
	int nr_lanes, cap_lanes;
	struct tl_conn *conns;
	int nr_conns, cap_conns;
	struct tl_mark *marks;
	int nr_marks, cap_marks;
	struct tl_span *spans;
	int nr_spans, cap_spans;
	struct tl_hash *by_child;	/* child -> its latest connection */
	struct tl_hash *by_syn;		/* listener, peer port -> connection-less SYN time */
	struct tl_hash *by_thread;	/* tid -> lane */
	struct tl_hash *by_listener;	/* listener -> lane */
	struct tl_hash *empty_seen;	/* (listener, tid) -> empty accepts at the last sample */
	bool oom;
};

/* @title names what was traced (escaped when drawn); @plan: which hooks serve (SYNs or not). */
struct timeline *timeline_new(const char *title, const struct hook_plan *plan);
void timeline_free(struct timeline *tl);
/* A trace sink (trace.h): @ctx is the timeline.  Always 0: a full memory is said on the page. */
int timeline_record(void *ctx, const struct trace_record *r);
/* A cumulative snapshot taken at @now_ns: empty accepts since the last, queue depths now. */
void timeline_sample(struct timeline *tl, const struct snapshot *snap, __u64 now_ns);
/* @n more trace records were lost (the ring buffer was full). */
void timeline_lost(struct timeline *tl, __u64 n);

/* timeline_html.c: the page into @f (an atomic_file's, see atomic_file.h). */
void timeline_write_html(const struct timeline *tl, FILE *f);

#endif
