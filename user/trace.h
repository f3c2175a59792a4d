/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_TRACE_H
#define ACCEPTSCOPE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* --trace: ring-buffer callback; @ctx points to a bool, true for JSON lines. */
int handle_trace_event(void *ctx, void *data, size_t size);
void trace_header(FILE *f, bool json);
/* `acceptscope compare`. */
int compare_main(int argc, char **argv);

#endif
