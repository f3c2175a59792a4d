/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_REPORT_H
#define ACCEPTSCOPE_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "backend.h"
#include "collect.h"
#include "escape.h"

struct report_opts {
	const __u32 *pids;
	int nr_pids;
	const __u32 *ports;
	int nr_ports;
	bool hist;
	bool redraw;		/* stdout is a terminal: clear the screen each interval */
	const struct hook_plan *plan;
	const struct diagnosis *diag;	/* this report's CPU figures and findings; NULL: none */
};

/* Is @r one of the listeners the user asked about? */
bool row_selected(const struct listener_row *r, const struct report_opts *o);
void print_table(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs);
/* One JSON object on one line (json.c); print_table is table.c. */
void print_json(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs,
		bool summary);
const char *format_addr(const struct listener_info *info, char *buf, size_t len);

/* Shared by the views (views.c). */
#define ESC_COMM(name, comm) char name[ESCAPED_LEN(TASK_COMM_LEN)]; \
	escape_text(name, sizeof(name), comm, TASK_COMM_LEN)

/* Per-thread shares over a set of thread rows. */
struct fairness {
	double jain_accepts, jain_reads, busiest_share;
	__u64 accepts, reads;
};

struct fairness fairness_of(const struct thread_row *t, int n);
/* Anything happened on @r (or it has connections waiting)? */
bool row_active(const struct listener_row *r);
/* Listeners an object lists: in the summary all, in an interval those open or active. */
bool row_listed(const struct listener_row *r, const struct report_opts *o, bool summary);
/* Thread rows of every selected listener on @port, merged by thread; the caller frees *@out. */
int merge_port_threads(const struct snapshot *snap, const struct report_opts *o, __u32 port,
		       struct thread_row **out);

/* findings_view.c: the diagnosis in the views. */
struct diagnosis;
/* @tid's CPU use over the report's span, in % of one CPU; < 0 if unknown. */
double report_thread_cpu(const struct report_opts *o, __u32 tid);
/* One line per finding on @port, under its block in the table. */
void print_port_findings(FILE *f, const struct report_opts *o, __u32 port);
/* The report's findings as a JSON array (README "Findings"). */
struct json_object *findings_json(const struct report_opts *o);

#endif
