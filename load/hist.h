/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear histogram of 64-bit values (HdrHistogram-like).  Values below
 * 2 * HIST_SUB are counted exactly; above, each power of two is split into
 * HIST_SUB equal buckets, so a bucket's midpoint is within 1 / (2 * HIST_SUB)
 * (0.4%) of any value in it.  Fixed size, no allocation.
 */
#ifndef ACCEPTSCOPE_LOAD_HIST_H
#define ACCEPTSCOPE_LOAD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t sum;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t value);
/* The value at quantile q (0 < q <= 1), 0 if the histogram is empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* Exposed for testing: bucket of a value, and a bucket's lowest value and width. */
unsigned int hist_bucket(uint64_t value);
uint64_t hist_bucket_low(unsigned int bucket);
uint64_t hist_bucket_width(unsigned int bucket);

#endif /* ACCEPTSCOPE_LOAD_HIST_H */
