// SPDX-License-Identifier: GPL-2.0
/* Unit tests for bpf/histogram.h's log-linear slots (the load generator's latencies, 7 bits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "acceptscope.h"
#include "histogram.h"

static void slots_hold_their_values(void **state)
{
	(void)state;
	for (unsigned int bits = 1; bits <= 7; bits += 3) {
		__u32 prev = 0;

		for (__u64 v = 0; v < (1ULL << 40); v = v < 5000 ? v + 1 : v + v / 997 + 1) {
			__u32 s = loglin_slot(v, bits);

			assert_true(loglin_low(s, bits) <= v);
			assert_true(v - loglin_low(s, bits) < loglin_width(s, bits));
			assert_true(s >= prev);	/* monotonic */
			prev = s;
		}
	}
}

static void exact_below_twice_the_sub_buckets(void **state)
{
	(void)state;
	for (__u64 v = 0; v < 256; v++)
		assert_int_equal(loglin_slot(v, 7), v);
	assert_int_equal(loglin_slot(256, 7), 256);	/* [256, 258): width 2 */
	assert_int_equal(loglin_width(256, 7), 2);
	/* A slot spans at most 1/128 of its values. */
	assert_true(loglin_width(loglin_slot(1000000, 7), 7) * 128 <= 1000000);
}

/* The accept-queue wait slots are the 4-bit log-linear slots from 2^WAIT_MIN_LOG2 ns. */
static void wait_slots_are_loglin_slots(void **state)
{
	(void)state;
	for (__u64 ns = 1ULL << WAIT_MIN_LOG2; ns < (1ULL << WAIT_MAX_LOG2); ns += ns / 1009 + 1)
		assert_int_equal(wait_slot(ns), loglin_slot(ns, WAIT_SUB_BITS) - WAIT_SLOT_BASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_hold_their_values),
		cmocka_unit_test(exact_below_twice_the_sub_buckets),
		cmocka_unit_test(wait_slots_are_loglin_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
