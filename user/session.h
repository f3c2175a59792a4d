/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tracing session: probe the kernel, plan which mechanism serves each hook,
 * open, size, load and attach the BPF programs, find the listeners there
 * already, and hand out a collector (collect.h).  Used by the tracer's main
 * loop and by compare, in-process.
 */
#ifndef ACCEPTSCOPE_SESSION_H
#define ACCEPTSCOPE_SESSION_H

#include <stdbool.h>
#include <stdio.h>
#include "backend.h"
#include "collect.h"

struct session_opts {
	const __u32 *pids;		/* -p: only these processes' threads (at most MAX_FILTERS) */
	int nr_pids;
	const __u32 *ports;		/* -P: only listeners on these ports (at most MAX_FILTERS) */
	int nr_ports;
	enum backend_choice backend;
	bool trace;			/* per-event records into the ring buffer (events map) */
	long max_conns, max_listeners;	/* capacities; 0: sized from the host */
	FILE *plan_out;			/* one line per hook saying what serves it; NULL: silent */
};

struct preblocked;

struct session {
	struct kernel_features kf;
	struct hook_plan plan;
	struct acceptscope_bpf *skel;
	struct collector *col;
	struct preblocked *pre;
};

/* Why this process cannot trace at all (no BTF, no privileges), or NULL: check before anything else. */
const char *session_refusal(void);
/*
 * Start tracing.  0, or the exit status to give (2: refused, 1: failed) after one
 * line on stderr saying why; @s is then closed.
 */
int session_open(struct session *s, const struct session_opts *o);
/* Once an interval: housekeeping (the catch-up for accepts under way at attach). */
void session_tick(struct session *s);
/* Detach everything and free; safe on a session that failed to open. */
void session_close(struct session *s);

#endif
