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

/*
 * Log-linear slots (HdrHistogram-like): values below 2^(@sub_bits + 1) have a
 * slot each; above, each power of two is split into 2^@sub_bits equal slots, so
 * a slot spans at most 1 / 2^@sub_bits of its values.  The load generator's
 * latencies use it directly (7 bits); the accept-queue wait slots below are its
 * 4-bit slots from 2^WAIT_MIN_LOG2 ns up.
 */
static __always_inline __u32 loglin_slot(__u64 v, __u32 sub_bits)
{
	__u32 shift;

	if (v < (2ULL << sub_bits))
		return v;
	shift = hist_log2(v) - sub_bits;
	/* v >> shift is in [2^sub_bits, 2^(sub_bits + 1)) */
	return (1U << sub_bits) * shift + (__u32)(v >> shift);
}

/* The smallest value in log-linear slot @slot: loglin_slot()'s inverse. */
static __always_inline __u64 loglin_low(__u32 slot, __u32 sub_bits)
{
	__u32 shift;

	if (slot < (2U << sub_bits))
		return slot;
	shift = slot / (1U << sub_bits) - 1;
	return (__u64)((1U << sub_bits) + slot % (1U << sub_bits)) << shift;
}

/* How many values log-linear slot @slot holds. */
static __always_inline __u64 loglin_width(__u32 slot, __u32 sub_bits)
{
	return slot < (2U << sub_bits) ? 1 : 1ULL << (slot / (1U << sub_bits) - 1);
}

/* Wait slot 0 holds waits below 2^WAIT_MIN_LOG2 ns, the last slot those from 2^WAIT_MAX_LOG2 ns. */
#define WAIT_SLOT_BASE (loglin_slot(1ULL << WAIT_MIN_LOG2, WAIT_SUB_BITS) - 1)

/*
 * The wait-histogram slot of a wait of @ns nanoseconds: loglin_slot(@ns,
 * WAIT_SUB_BITS) - WAIT_SLOT_BASE in between (the unit test holds them equal),
 * written out so that 6.1's verifier follows it (it cannot prune the paths of
 * the general form).  Index with WAIT_SLOT_INDEX() in BPF code.
 */
static __always_inline __u32 wait_slot(__u64 ns)
{
	__u32 lg;

	if (ns < (1ULL << WAIT_MIN_LOG2))
		return 0;
	lg = hist_log2(ns);
	if (lg >= WAIT_MAX_LOG2)
		return WAIT_SLOTS - 1;
	return ((lg - WAIT_MIN_LOG2) << WAIT_SUB_BITS) +
	       ((ns >> (lg - WAIT_SUB_BITS)) & ((1 << WAIT_SUB_BITS) - 1)) + 1;
}

/* wait_slot() bounded where the verifier sees it (always in range already). */
#define WAIT_SLOT_INDEX(ns) (wait_slot(ns) < WAIT_SLOTS ? wait_slot(ns) : WAIT_SLOTS - 1)

/* The smallest wait, in ns, that falls in wait slot @slot: wait_slot()'s inverse. */
static __always_inline __u64 wait_slot_low(int slot)
{
	return slot <= 0 ? 0 : loglin_low(slot + WAIT_SLOT_BASE, WAIT_SUB_BITS);
}

#endif
