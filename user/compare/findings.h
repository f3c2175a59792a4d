/* SPDX-License-Identifier: GPL-2.0 */
/* `acceptscope compare`: what the sentences of findings.c and findings_threads.c share. */
#ifndef ACCEPTSCOPE_COMPARE_FINDINGS_H
#define ACCEPTSCOPE_COMPARE_FINDINGS_H

#include "compare.h"

/* What every sentence is made from, and the sentences made. */
struct ctx {
	const struct cmp_config *cfg;
	const struct cmp_run *runs;
	int n;
	struct findings out;
};

/* @model's run at level @l, if it succeeded. */
const struct cmp_run *find_run(const struct ctx *c, const char *model, const struct cmp_level *l);
/* The runs of @model that succeeded, in level order, into @out; how many. */
int model_runs(const struct ctx *c, const char *model, const struct cmp_run **out);
/* "light load", "8 connections" */
void level_words(struct sb *b, const struct cmp_config *cfg, const struct cmp_level *l);
/* "at every level", or with one level "at light load". */
void every_level(struct sb *b, const struct cmp_config *cfg);

/* findings_threads.c: how the threads shared the work. */
void find_acceptors(struct ctx *c);
void find_readers(struct ctx *c);
void find_empty(struct ctx *c);
void find_skew(struct ctx *c);

#endif
