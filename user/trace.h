/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_TRACE_H
#define ACCEPTSCOPE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "acceptscope.h"
#include "escape.h"

/* One --trace record as its consumers get it. */
struct trace_record {
	const struct conn_event *e;
	const char *comm;	/* e->comm, escaped (escape_text) */
	__u64 origin_ns;	/* ts_ns of the first record: the trace's time 0 */
	double t;		/* seconds since origin_ns */
};

/* A consumer of trace records: the printer (text or JSON lines), the timeline. */
struct trace_sink {
	/* 0, or -errno to stop tracing (a write failed). */
	int (*record)(void *ctx, const struct trace_record *r);
	void *ctx;
};

#define MAX_TRACE_SINKS 2

/* Every record to every sink, in the order the ring buffer hands them over. */
struct trace_sinks {
	struct trace_sink sink[MAX_TRACE_SINKS];
	int n;
	bool started;
	__u64 origin_ns;
};

void trace_add_sink(struct trace_sinks *s, int (*record)(void *ctx, const struct trace_record *r), void *ctx);
/* Ring-buffer callback; @ctx is a struct trace_sinks. */
int handle_trace_event(void *ctx, void *data, size_t size);

/* The printer, on stdout: @ctx points to a bool, true for JSON lines. */
int trace_print(void *ctx, const struct trace_record *r);
void trace_header(FILE *f, bool json);
/* A line (or JSON object) saying @n more trace records were lost: the ring buffer was full. */
void trace_lost(FILE *f, bool json, __u64 n);
/* Flush @f: 0, or -errno when a write failed (EPIPE: the reader went away). */
int write_status(FILE *f);

#endif
