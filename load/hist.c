// SPDX-License-Identifier: GPL-2.0
/* Log-linear histogram: see hist.h. */
#include <math.h>

#include "hist.h"

unsigned int hist_bucket(uint64_t value)
{
	unsigned int msb, shift;

	if (value < 2 * HIST_SUB)
		return (unsigned int)value;
	msb = 63 - (unsigned int)__builtin_clzll(value);
	shift = msb - HIST_SUB_BITS;
	/* value >> shift is in [HIST_SUB, 2 * HIST_SUB) */
	return 2 * HIST_SUB + (shift - 1) * HIST_SUB + (unsigned int)(value >> shift) - HIST_SUB;
}

static unsigned int bucket_shift(unsigned int bucket)
{
	return bucket < 2 * HIST_SUB ? 0 : (bucket - 2 * HIST_SUB) / HIST_SUB + 1;
}

uint64_t hist_bucket_low(unsigned int bucket)
{
	unsigned int shift = bucket_shift(bucket);

	if (!shift)
		return bucket;
	return (uint64_t)(HIST_SUB + (bucket - 2 * HIST_SUB) % HIST_SUB) << shift;
}

uint64_t hist_bucket_width(unsigned int bucket)
{
	return 1ull << bucket_shift(bucket);
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
