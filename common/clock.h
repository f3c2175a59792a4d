/* SPDX-License-Identifier: GPL-2.0 */
/* The one clock of all three binaries: monotonic, immune to wall-clock steps. */
#ifndef ACCEPTSCOPE_CLOCK_H
#define ACCEPTSCOPE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline uint64_t clock_ms(void)
{
	return clock_ns() / 1000000u;
}

static inline double clock_secs(void)
{
	return clock_ns() / 1e9;
}

#endif
