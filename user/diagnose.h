/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Findings: what is wrong on a port and why, from what the tracer measured over a span (a
 * sliding window of intervals, or the whole run).  Each finding has a kind, a severity, the
 * figures it rests on and one sentence saying what it means and what to try.  The rules are
 * pure functions of their input (diagnose.c), so the unit tests give them synthetic
 * snapshots; diagwindow.c keeps the window and feeds them live.  README "Findings" documents
 * the rules and thresholds.
 */
#ifndef ACCEPTSCOPE_DIAGNOSE_H
#define ACCEPTSCOPE_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "acceptscope.h"

struct snapshot;
struct listener_row;
struct report_opts;
struct cpu_span;

enum finding_kind {
	FINDING_IMBALANCE,		/* accepts (or reads) uneven over the threads */
	FINDING_OVERFLOW,		/* SYNs or handshakes dropped: the accept queue was full */
	FINDING_QUEUE_BUILDING,		/* the queue runs near its limit, or waits run long */
	FINDING_ACCEPTOR_SATURATED,	/* the one accepting thread is busy all the time, workers are not */
	FINDING_WASTED_WAKEUPS,		/* threads woken for connections they do not get */
	NR_FINDING_KINDS,
};

enum finding_severity {
	SEVERITY_WARNING = 1,
	SEVERITY_CRITICAL = 2,
};

/* Why, where a kind has several causes the data tells apart. */
enum finding_cause {
	CAUSE_NONE,
	CAUSE_EXCLUSIVE_WAKEUPS,	/* imbalance: the same waiter keeps being woken (EPOLLEXCLUSIVE) */
	CAUSE_ACCEPT_TURNS,		/* imbalance: one thread at a time, in turns (an accept mutex) */
	CAUSE_THUNDERING_HERD,		/* imbalance, wasted_wakeups: every waiter woken per connection */
	CAUSE_REUSEPORT_HASH,		/* imbalance: one SO_REUSEPORT listener gets more connections */
	CAUSE_SLOW_SHARD,		/* imbalance: one SO_REUSEPORT listener's queue runs deeper */
	CAUSE_UNEVEN_READS,		/* imbalance: reads uneven over the threads that read */
	CAUSE_IDLE_WAKEUPS,		/* wasted_wakeups: one thread woken for nothing */
	NR_FINDING_CAUSES,
};

#define FINDING_MAX_EVIDENCE 14

/* One figure a finding rests on: a name (a JSON key) and its value, or null if unknown. */
struct finding_figure {
	const char *name;
	double value;
	bool null;
};

struct finding {
	enum finding_kind kind;
	enum finding_severity severity;
	enum finding_cause cause;
	__u32 port;
	listener_id_t listener;		/* the listener (socket inode) it concerns; 0: the whole port */
	__u32 pid, tid;			/* the thread it names; 0: none */
	struct finding_figure evidence[FINDING_MAX_EVIDENCE];
	int nr_evidence;
	char text[640];			/* one sentence: what it means and what to try */
};

/* The thresholds (README "Findings"); each can be set with --threshold NAME=VALUE. */
struct diag_thresholds {
	double jain;			/* imbalance: Jain's index below this */
	double min_per_thread;		/* accepts a span needs per thread before imbalance or wasted
					 * wake-ups are judged */
	double empty_per_accept;	/* wasted_wakeups: empty accepts per accepted connection above this */
	double wakeups_per_accept;	/* wasted_wakeups: wake-ups per connection beyond its accepts and reads */
	double queue_frac;		/* queue_building: depth at or above this share of the backlog */
	double wait_p99_ms;		/* queue_building: accept-queue wait p99 at or above this */
	double cpu_busy;		/* acceptor_saturated: running + waiting for a CPU, in % */
	double cpu_headroom;		/* acceptor_saturated: the workers' mean CPU below this, in % */
	double overflows;		/* overflow: at least this many drops */
	double shard_ratio;		/* slow shard: queue or p99 wait this many times its siblings' */
};

extern const struct diag_thresholds diag_default_thresholds;
/* Set one threshold from "NAME=VALUE"; -1 with why in @err. */
int diag_threshold_set(struct diag_thresholds *t, const char *arg, char *err, size_t len);
/* "jain=0.8, min_per_thread=20, ...": the names and defaults, for --help. */
const char *diag_threshold_names(void);

/* Accepts per interval, for the "one at a time" pattern: over the span's intervals that had
 * at least min_per_thread accepts per accepting thread, weighted by their accepts, the mean
 * of each interval's Jain's index and busiest thread's share. */
struct port_turns {
	__u32 port;
	__u64 accepts;		/* in the intervals that counted; 0: none did */
	double jain, busiest_share;
};

/* A listener's network namespace's settings (net.core.somaxconn, net.ipv4.tcp_syncookies). */
struct net_limits {
	int somaxconn;		/* -1 if unknown */
	int syncookies;		/* 0 off, 1 when the SYN queue overflows, 2 always; -1 if unknown */
};

struct diag_input {
	/* What happened in the span, per listener and thread.  Its st.depth_max is the deepest
	 * the queue was seen in the span (diagwindow.c writes the window's into its delta). */
	const struct snapshot *counts;
	/* Since the start: a thread that has tried to accept on a port and is alive counts as
	 * one of its acceptors even when it took nothing in the span.  May be @counts. */
	const struct snapshot *seen;
	const struct cpu_span *cpu;	/* per-thread CPU and wake-ups over the span; NULL: unknown */
	const struct port_turns *turns;	/* per port; NULL or not listed: none */
	int nr_turns;
	const struct report_opts *sel;	/* which listeners count (-p, -P) */
	const struct diag_thresholds *th;
	/* @r's namespace's limits into @out; NULL: unknown. */
	void (*limits)(const struct listener_row *r, struct net_limits *out, void *ctx);
	void *limits_ctx;
};

/* @port's accepts in the span @in->counts (an interval) over its acceptors, for port_turns:
 * false if too few to count (fewer than min_per_thread per acceptor, or one acceptor). */
bool diagnose_turns(const struct diag_input *in, __u32 port, struct port_turns *out);
/* The findings on @port, appended to *@v (of *@n; realloc'd, the caller frees).  0, or -1
 * out of memory. */
int diagnose_port(const struct diag_input *in, __u32 port, struct finding **v, int *n);
/* What a report shows besides the counters: each thread's CPU over the report's span (its
 * interval, or the run), and the findings over the window ending now (or the run). */
struct diagnosis {
	const struct cpu_span *cpu;	/* NULL: no CPU figures */
	const struct finding *findings;	/* by port */
	int nr_findings;
};

const char *finding_kind_name(enum finding_kind k);
const char *finding_severity_name(enum finding_severity s);
/* NULL for CAUSE_NONE. */
const char *finding_cause_name(enum finding_cause c);

#endif
