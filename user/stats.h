/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_STATS_H
#define ACCEPTSCOPE_STATS_H

#include <stdio.h>
#include <linux/types.h>
#include "acceptscope.h"
#include "histogram.h"

/* Percentile @p (0..100) of a wait histogram, in ns: the top of its slot (at most 1/16
 * above the true value), capped at @max_ns. */
__u64 wait_percentile(const __u64 hist[WAIT_SLOTS], double p, __u64 max_ns);
/* Jain's fairness index of @n values: 1 = perfectly even, 1/n = one takes all. */
double jain_index(const double *v, int n);
/* The same from the sum and the sum of squares of the @n values. */
double jain_from_sums(double sum, double sum_sq, int n);
/* bcc-style log2 histogram of @n slots; @val_type names the unit ("depth", "usecs"). */
void print_log2_hist(FILE *f, const __u64 *slots, int n, const char *val_type);
/* Fold a wait histogram into log2 microsecond slots (for print_log2_hist). */
void wait_hist_to_log2_us(const __u64 hist[WAIT_SLOTS], __u64 *out, int n);

#endif
