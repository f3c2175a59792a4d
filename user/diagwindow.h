/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live side of the findings: each interval the tracer hands over its snapshot; this
 * samples the threads' CPU, keeps the last N intervals (the sliding window the findings are
 * evaluated over) and what the whole run needs, and builds each report's diagnosis.
 */
#ifndef ACCEPTSCOPE_DIAGWINDOW_H
#define ACCEPTSCOPE_DIAGWINDOW_H

#include <stdbool.h>
#include "diagnose.h"

struct snapshot;
struct report_opts;
struct diag_window;

/* Findings over the last @window intervals with thresholds @th, on the listeners @sel picks
 * (both must outlive the window); NULL out of memory. */
struct diag_window *diag_window_new(int window, const struct diag_thresholds *th, const struct report_opts *sel);
void diag_window_free(struct diag_window *w);
/* After each collect: @cur since the start, @delta the interval just ended (NULL for the
 * first sample, which only sets the baselines). */
void diag_window_tick(struct diag_window *w, const struct snapshot *cur, const struct snapshot *delta);
/* A report's diagnosis: CPU over the interval just ended and findings over the window ending
 * with it, or with @summary both over the whole run.  Valid until the next call; 0, or -1
 * (out of memory: no diagnosis). */
int diag_window_report(struct diag_window *w, bool summary, struct diagnosis *out);

#endif
