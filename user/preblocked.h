/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_PREBLOCKED_H
#define ACCEPTSCOPE_PREBLOCKED_H

#include <stdbool.h>

/*
 * Accepts already under way when the tracer attached.  The fexit and kretprobe
 * accept hooks miss them (armed at function entry); the accept syscall's exit
 * counts them instead ("catch-up", bpf/acceptscope.bpf.c accept_catchup) until
 * every thread that was in accept() at attach has left it.
 */
struct acceptscope_bpf;
struct preblocked;

/* Before the skeleton's attach: the catch-up programs first, so no call falls between. */
int preblocked_attach(struct acceptscope_bpf *skel, struct preblocked **out);
/* After attach: which threads are in accept() now (they may have begun before the hooks). */
void preblocked_scan(struct preblocked *p);
/* Each interval: forget threads that left accept(); when none is left, detach the catch-up. */
void preblocked_poll(struct preblocked *p);
/* Threads still awaited (for tests and -v). */
int preblocked_left(const struct preblocked *p);
void preblocked_free(struct preblocked *p);

#endif
