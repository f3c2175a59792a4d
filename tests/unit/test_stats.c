// SPDX-License-Identifier: GPL-2.0
/* Unit tests for bpf/histogram.h (the slots the BPF side fills) and user/stats.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "stats.h"

static void slots_round_trip(void **state)
{
	(void)state;
	for (__u64 ns = 1ULL << WAIT_MIN_LOG2; ns < (1ULL << WAIT_MAX_LOG2); ns = ns * 9 / 8 + 1) {
		int s = wait_slot(ns);

		assert_true(wait_slot_low(s) <= ns);
		assert_true(ns < wait_slot_low(s + 1));
	}
	assert_int_equal(wait_slot(5), 0);
	assert_int_equal(wait_slot_low(0), 0);
	assert_int_equal(wait_slot_low(1), 1 << WAIT_MIN_LOG2);
}

static void percentile_never_below_truth(void **state)
{
	__u64 hist[WAIT_SLOTS] = {};
	__u64 waits[] = { 20000000, 20100000, 20200000, 20300000, 90000000 };

	(void)state;
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		hist[wait_slot(waits[i])]++;
	/* p50 is the third value, 20.2 ms: reported within one slot (1/16) above it. */
	assert_true(wait_percentile(hist, 50, 90000000) >= 20200000);
	assert_true(wait_percentile(hist, 50, 90000000) <= 20200000 + 20200000 / 16 + 1);
	/* p99 is the largest value, capped at the true maximum. */
	assert_int_equal(wait_percentile(hist, 99, 90000000), 90000000);
	memset(hist, 0, sizeof(hist));
	assert_int_equal(wait_percentile(hist, 50, 0), 0);
}

static void jain(void **state)
{
	double even[] = { 5, 5, 5, 5 }, one[] = { 20, 0, 0, 0 }, half[] = { 10, 10, 0, 0 };

	(void)state;
	assert_float_equal(jain_index(even, 4), 1.0, 1e-9);
	assert_float_equal(jain_index(one, 4), 0.25, 1e-9);
	assert_float_equal(jain_index(half, 4), 0.5, 1e-9);
	assert_float_equal(jain_index(even, 0), 0.0, 1e-9);
}

static void log2_fold(void **state)
{
	__u64 hist[WAIT_SLOTS] = {}, out[32];

	(void)state;
	hist[wait_slot(1500)]++;		/* 1.5 us -> slot [1, 2) us */
	hist[wait_slot(3000000)]++;	/* 3 ms -> [2048, 4096) us */
	wait_hist_to_log2_us(hist, out, 32);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[11], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_round_trip),
		cmocka_unit_test(percentile_never_below_truth),
		cmocka_unit_test(jain),
		cmocka_unit_test(log2_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
