/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the timeline page (timeline_html.c) and its drawing (timeline_svg.c) share:
 * the geometry and the kinds of mark.  Every drawn element that stands for a time
 * carries it (data-t, data-t2: seconds since the trace's first record), so that the
 * page's script can zoom and a test can check positions; x = x0 + (t - t0) / (t1 - t0) * w.
 */
#ifndef ACCEPTSCOPE_TIMELINE_DRAW_H
#define ACCEPTSCOPE_TIMELINE_DRAW_H

#include <stdio.h>
#include "timeline.h"

/* Up to this many connections each is drawn (and has its own hover text); beyond, the
 * lanes show counts per time bin. */
#define TL_EACH_MAX 1000
#define TL_BINS 500		/* bins across the plot when aggregated: 2 px each */
#define TL_LABEL_W 190		/* the lane labels, left of the plot */
#define TL_PLOT_W 1000
#define TL_WIDTH (TL_LABEL_W + TL_PLOT_W + 16)

struct geom {
	long long t0, t1;	/* the plot's time range, CLOCK_MONOTONIC ns */
	long long origin;	/* the trace's time 0 */
	int x0, w;		/* the plot: x0 .. x0 + w */
	int lane_h, lanes_top;	/* lane i is centred at lanes_top + i * lane_h + lane_h / 2 */
	int lanes_bottom;
	int depth_top, depth_h;	/* the accept-queue strip */
	int syn_top, syn_h;	/* the SYN-queue strip */
	int axis_y, height;
	bool each;		/* every connection drawn; else counts per bin */
	int *order;		/* lane drawn in row i: order[i] */
	int *row;		/* row of lane j: row[j] */
};

/* The kinds of mark: CSS class, what it is (legend, hover text), colour. */
struct tl_kind {
	const char *cls, *what, *colour;
	const char *many;	/* "accepts": a bin's count of them */
	int half;		/* -1 upper half of the lane, 1 lower, 0 both */
};
extern const struct tl_kind tl_kinds[NR_TL_MARKS];
#define TL_EMPTY_COLOUR "#6e7781"
#define TL_FRAME_COLOUR "#586069"	/* the plot's frame: a colour used nowhere else (tests find it) */

void geom_init(struct geom *g, const struct timeline *tl);
void geom_free(struct geom *g);
double geom_x(const struct geom *g, long long t);
/* Seconds since the trace's first record. */
double geom_secs(const struct geom *g, long long t);
int lane_centre(const struct geom *g, int lane);

/* timeline_svg.c */
void tl_svg(FILE *f, const struct timeline *tl, const struct geom *g);
/* "12.3 us", "4.56 ms", "1.234 s" */
void tl_fmt_duration(char *out, size_t len, double secs);
/* A lane's name as text (escaped for HTML when written): "queue :8080" or "COMM tid N". */
void tl_lane_name(FILE *f, const struct tl_lane *l);

#endif
