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

/*
 * The compiler can prove a slot in range and drop a clamp the BPF verifier needs
 * to see: in BPF code the value passes through an empty asm first.
 */
#ifdef __bpf__
#define hist_opaque(x) asm volatile("" : "+r"(x))
#else
#define hist_opaque(x) ((void)(x))
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

/* The wait-histogram slot of a wait of @ns nanoseconds. */
static __always_inline __u64 wait_slot(__u64 ns)
{
	__u64 slot;

	if (ns < (1ULL << WAIT_MIN_LOG2))
		return 0;
	if (ns >= (1ULL << WAIT_MAX_LOG2))
		return WAIT_SLOTS - 1;
	slot = loglin_slot(ns, WAIT_SUB_BITS) - WAIT_SLOT_BASE;
	/* Always true; said, in 64 bits and past the compiler, so that every verifier sees the index bounded. */
	hist_opaque(slot);
	if (slot >= WAIT_SLOTS)
		slot = WAIT_SLOTS - 1;
	return slot;
}

/* The smallest wait, in ns, that falls in wait slot @slot: wait_slot()'s inverse. */
static __always_inline __u64 wait_slot_low(int slot)
{
	return slot <= 0 ? 0 : loglin_low(slot + WAIT_SLOT_BASE, WAIT_SUB_BITS);
}

#endif
