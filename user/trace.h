/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_TRACE_H
#define ACCEPTSCOPE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* --trace: ring-buffer callback; @ctx points to a bool, true for JSON lines. */
int handle_trace_event(void *ctx, void *data, size_t size);
void trace_header(FILE *f, bool json);
/* A line (or JSON object) saying @n more trace records were lost: the ring buffer was full. */
void trace_lost(FILE *f, bool json, __u64 n);
/* Flush @f: 0, or -errno when a write failed (EPIPE: the reader went away). */
int write_status(FILE *f);

#endif
