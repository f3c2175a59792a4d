// SPDX-License-Identifier: GPL-2.0
/* Log-linear histogram: see hist.h. */
#include <math.h>

#include "acceptscope.h"
#include "histogram.h"
#include "hist.h"

/* The slots are the tracer's log-linear ones (bpf/histogram.h), at HIST_SUB_BITS. */
unsigned int hist_bucket(uint64_t value)
{
	return loglin_slot(value, HIST_SUB_BITS);
}

uint64_t hist_bucket_low(unsigned int bucket)
{
	return loglin_low(bucket, HIST_SUB_BITS);
}

uint64_t hist_bucket_width(unsigned int bucket)
{
	return loglin_width(bucket, HIST_SUB_BITS);
}

void hist_add(struct hist *h, uint64_t value)
{
	if (!h->count || value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	h->count++;
	h->sum += value;
	h->buckets[hist_bucket(value)]++;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, value;
	unsigned int i;

	if (!h->count)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_BUCKETS)
		return h->max;
	value = hist_bucket_low(i) + (hist_bucket_width(i) - 1) / 2;
	if (value < h->min)
		value = h->min;
	if (value > h->max)
		value = h->max;
	return value;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
