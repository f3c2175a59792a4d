/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_REPORT_H
#define ACCEPTSCOPE_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "backend.h"
#include "collect.h"

struct report_opts {
	const __u32 *pids;
	int nr_pids;
	const __u32 *ports;
	int nr_ports;
	bool hist;
	bool redraw;		/* stdout is a terminal: clear the screen each interval */
	const struct hook_plan *plan;
};

/* Is @r one of the listeners the user asked about? */
bool row_selected(const struct listener_row *r, const struct report_opts *o);
void print_table(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs);
/* One JSON object on one line. */
void print_json(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs,
		bool summary);
const char *format_addr(const struct listener_info *info, char *buf, size_t len);

#endif
