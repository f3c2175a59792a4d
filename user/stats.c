// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "stats.h"

static __u64 wait_slot_high(int slot)
{
	if (slot >= WAIT_SLOTS - 1)
		return wait_slot_low(slot) * 2;
	return wait_slot_low(slot + 1);
}

__u64 wait_percentile(const __u64 hist[WAIT_SLOTS], double p, __u64 max_ns)
{
	__u64 total = 0, seen = 0, rank, high;

	for (int i = 0; i < WAIT_SLOTS; i++)
		total += hist[i];
	if (!total)
		return 0;
	rank = (__u64)(p / 100.0 * total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < WAIT_SLOTS; i++) {
		seen += hist[i];
		if (seen >= rank) {
			/* The slot's highest value, as HdrHistogram reports: never below the truth. */
			high = wait_slot_high(i) - 1;
			return max_ns && high > max_ns ? max_ns : high;
		}
	}
	return max_ns;
}

double jain_from_sums(double sum, double sum_sq, int n)
{
	return sum_sq > 0 ? sum * sum / (n * sum_sq) : 0;
}

double jain_index(const double *v, int n)
{
	double sum = 0, sq = 0;

	for (int i = 0; i < n; i++) {
		sum += v[i];
		sq += v[i] * v[i];
	}
	return jain_from_sums(sum, sq, n);
}

void wait_hist_to_log2_us(const __u64 hist[WAIT_SLOTS], __u64 *out, int n)
{
	memset(out, 0, n * sizeof(*out));
	for (int i = 0; i < WAIT_SLOTS; i++) {
		__u64 us = wait_slot_low(i) / 1000;
		int lg = 0;

		while (us >> (lg + 1))
			lg++;
		if (us == 0)
			lg = 0;
		out[lg < n ? lg : n - 1] += hist[i];
	}
}

static void print_stars(FILE *f, __u64 val, __u64 max, int width)
{
	int stars = max ? (int)(val * width / max) : 0;

	for (int i = 0; i < width; i++)
		fputc(i < stars ? '*' : ' ', f);
	if (val > max)
		fputc('+', f);
}

void print_log2_hist(FILE *f, const __u64 *slots, int n, const char *val_type)
{
	int last = -1;
	__u64 max = 0;

	for (int i = 0; i < n; i++) {
		if (slots[i]) {
			last = i;
			if (slots[i] > max)
				max = slots[i];
		}
	}
	if (last < 0)
		return;
	fprintf(f, "%*s%-*s : count    distribution\n", 10, "", 14, val_type);
	for (int i = 0; i <= last; i++) {
		__u64 low = i ? 1ULL << i : 0, high = (1ULL << (i + 1)) - 1;

		fprintf(f, "%*llu -> %-*llu : %-8llu |", 11, (unsigned long long)low, 11,
			(unsigned long long)high, (unsigned long long)slots[i]);
		print_stars(f, slots[i], max, 40);
		fputs("|\n", f);
	}
}
