/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_COLLECT_H
#define ACCEPTSCOPE_COLLECT_H

#include <stdbool.h>
#include <linux/types.h>
#include "acceptscope.h"

struct thread_row {
	__u32 pid, tid;
	char comm[TASK_COMM_LEN];
	__u64 accepts, empty_accepts, reads, read_bytes;
};

struct listener_row {
	listener_id_t id;		/* the socket inode: the key everywhere */
	struct listener_info info;	/* family, address, port, netns, inode, backlog */
	bool sampled;			/* in this interval's listener sample */
	bool gone;			/* was sampled before, no longer listening */
	__u32 depth_now, syn_now;
	__u32 drops_base, drops_now;	/* sk_drops at first sight (0 if created after start), now */
	bool overflows_known;
	__u64 overflows;
	struct listener_stats st;	/* summed over CPUs (maxima: max over CPUs) */
	__u32 owner_pid;
	char owner_comm[TASK_COMM_LEN];
	struct thread_row *threads;
	int nr_threads;
};

struct snapshot {
	struct listener_row *rows;
	int nr_rows, cap_rows;
	void *index;		/* tsearch tree: id -> position in rows */
	__u64 lost[NR_LOST];	/* enum lost_kind, summed over CPUs */
	__u64 missed_runs;	/* program runs the kernel skipped (kprobe recursion): counts may be low */
};

struct collector;
struct acceptscope_bpf;

/* @overflow_from_drops: the overflow hook is the tracepoint one (sk_drops minus discards). */
struct collector *collector_new(struct acceptscope_bpf *skel, bool overflow_known, bool overflow_from_drops);
void collector_free(struct collector *c);
/* Read the kernel's maps and a fresh listener sample into @snap (cumulative since start). */
int collect(struct collector *c, struct snapshot *snap);
/* @out = @now - @prev for counters and histograms (maxima and "now" values are kept). */
void snapshot_delta(const struct snapshot *now, const struct snapshot *prev, struct snapshot *out);
void snapshot_copy(const struct snapshot *src, struct snapshot *dst);
void snapshot_free(struct snapshot *snap);
/* Per-CPU "lost" counter @which, summed over CPUs. */
__u64 lost_count(struct collector *c, enum lost_kind which);
/* Name of a loss counter as JSON and the table show it. */
const char *lost_name(enum lost_kind which);

/* snapshot.c: rows by listener id, in a tsearch index rebuilt when rows move. */
struct listener_row *snapshot_find(const struct snapshot *snap, listener_id_t id);
/* The row of @id, added (zeroed) if missing; NULL when out of memory. */
struct listener_row *row_get(struct snapshot *snap, listener_id_t id);
void index_rows(struct snapshot *snap);
/* Orders: ids (a node's first member), threads by (pid, tid), rows by (port, id). */
int cmp_id(const void *a, const void *b);
int cmp_threads(const void *a, const void *b);
int cmp_rows(const void *a, const void *b);

#endif
