/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Histogram slots, one definition for the BPF side (which fills them), user
 * space (which reads percentiles back) and the unit tests.
 *
 * Accept-queue waits: log-linear, WAIT_SUB_BITS of mantissa under the leading
 * bit, so a slot spans at most 1/16 of its value (acceptscope.h has the limits).
 * Queue depths: plain log2.
 */
#ifndef ACCEPTSCOPE_HISTOGRAM_H
#define ACCEPTSCOPE_HISTOGRAM_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* floor(log2(@v)); 0 for 0 and 1.  Written without a builtin so the BPF verifier takes it. */
static __always_inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0;

	for (int i = 32; i > 0; i >>= 1) {
		if (v >= (1ULL << i)) {
			v >>= i;
			r += i;
		}
	}
	return r;
}

/* The depth-histogram slot of a queue @depth deep. */
static __always_inline __u32 depth_slot(__u64 depth)
{
	__u32 lg = hist_log2(depth);

	return lg < DEPTH_SLOTS ? lg : DEPTH_SLOTS - 1;
}

/* The wait-histogram slot of a wait of @ns nanoseconds. */
static __always_inline __u32 wait_slot(__u64 ns)
{
	__u32 lg, slot;

	if (ns < (1ULL << WAIT_MIN_LOG2))
		return 0;
	lg = hist_log2(ns);
	if (lg >= WAIT_MAX_LOG2)
		return WAIT_SLOTS - 1;
	slot = ((lg - WAIT_MIN_LOG2) << WAIT_SUB_BITS) +
	       ((ns >> (lg - WAIT_SUB_BITS)) & ((1 << WAIT_SUB_BITS) - 1)) + 1;
	/* Always true; said so that every verifier sees the index bounded. */
	return slot < WAIT_SLOTS ? slot : WAIT_SLOTS - 1;
}

/* The smallest wait, in ns, that falls in wait slot @slot: wait_slot()'s inverse. */
static __always_inline __u64 wait_slot_low(int slot)
{
	int lg, sub;

	if (slot <= 0)
		return 0;
	slot--;
	lg = WAIT_MIN_LOG2 + (slot >> WAIT_SUB_BITS);
	sub = slot & ((1 << WAIT_SUB_BITS) - 1);
	return (1ULL << lg) + ((__u64)sub << (lg - WAIT_SUB_BITS));
}

#endif
