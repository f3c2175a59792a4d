// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: the sentences on how the threads shared the work: who accepts, who
 * reads, the empty accepts, how evenly. */
#include <math.h>
#include <string.h>
#include "findings.h"

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

/* Who reads, the same label at every level that ran, else NULL. */
static const char *model_readers(const struct ctx *c, const char *model)
{
	const struct cmp_run *r[CMP_MAX_LEVELS];
	int k = model_runs(c, model, r);

	for (int i = 1; i < k; i++)
		if (strcmp(r[0]->readers, r[i]->readers))
			return NULL;
	return k ? r[0]->readers : NULL;
}

/* ---- how many threads accept ---- */

/* Meant to accept on several threads, but some took none at some level. */
static void acceptors_by_level(struct ctx *c, const char *model, const struct cmp_run **r, int k)
{
	struct sb b = {};

	sb_add(&b, "%s accepted on ", model);
	for (int i = 0; i < k; i++) {
		if (i)
			sb_add(&b, "%s", i == k - 1 ? " and on " : ", on ");
		if (r[i]->accepting >= r[i]->acceptors)
			sb_add(&b, !i ? "all %d of its threads at " : "all %d at ", r[i]->acceptors);
		else if (!i)
			sb_add(&b, "only %d of its %d threads at ", r[i]->accepting, r[i]->acceptors);
		else
			sb_add(&b, "only %d of %d at ", r[i]->accepting, r[i]->acceptors);
		level_words(&b, c->cfg, r[i]->level);
	}
	sb_add(&b, ".");
	finding(&c->out, &b);
}

/* How @model's threads meant to accept took the connections, over the levels that ran. */
enum accepting { ACCEPT_NONE, ACCEPT_ONE, ACCEPT_ALL, ACCEPT_SOME };

static enum accepting accepting(const struct cmp_run **r, int k)
{
	bool single = true, every = true;

	for (int i = 0; i < k; i++) {
		single &= r[i]->acceptors == 1 && r[i]->accepting <= 1;
		every &= r[i]->acceptors > 1 && r[i]->accepting >= r[i]->acceptors;
	}
	return !k ? ACCEPT_NONE : single ? ACCEPT_ONE : every ? ACCEPT_ALL : ACCEPT_SOME;
}

void find_acceptors(struct ctx *c)
{
	const char *one[CMP_MAX_MODELS], *all[CMP_MAX_MODELS];
	int nr_one = 0, nr_all = 0;
	struct sb b = {};

	for (int m = 0; m < c->cfg->nr_models; m++) {
		const char *model = c->cfg->models[m];
		const struct cmp_run *r[CMP_MAX_LEVELS];
		int k = model_runs(c, model, r);

		switch (accepting(r, k)) {
		case ACCEPT_ONE: one[nr_one++] = model; break;
		case ACCEPT_ALL: all[nr_all++] = model; break;
		case ACCEPT_SOME: acceptors_by_level(c, model, r, k); break;
		case ACCEPT_NONE: break;
		}
	}
	if (nr_one) {
		sb_list(&b, one, nr_one);
		sb_add(&b, " accept%s on one thread.", nr_one == 1 ? "s" : "");
		finding(&c->out, &b);
	}
	if (nr_all) {
		sb_list(&b, all, nr_all);
		sb_add(&b, " accepted on every one of %s threads ", nr_all == 1 ? "its" : "their");
		every_level(&b, c->cfg);
		sb_add(&b, ".");
		finding(&c->out, &b);
	}
}

/* ---- who reads ---- */

static const struct {
	const char *label, *words_one, *words_many;
} reader_kinds[] = {
	{ "acceptor", "reads every request on the thread that accepted it", "read every request on the thread that accepted it" },
	{ "each acceptor", "reads on each accepting thread, the connections it accepted itself", "read on each accepting thread, the connections it accepted itself" },
	{ "workers", "hands each connection to worker threads that read it", "hand each connection to worker threads that read it" },
	{ "a worker", "hands each connection to one other thread that reads it", "hand each connection to one other thread that reads it" },
	{ "mixed", "reads on accepting and on other threads", "read on accepting and on other threads" },
};

/* A model whose readers differ between levels: one sentence naming them level by level. */
static void readers_by_level(struct ctx *c, const char *model, const struct cmp_run **r, int k)
{
	struct sb b = {};

	sb_add(&b, "Who reads in %s depends on the load: ", model);
	for (int i = 0; i < k; i++) {
		sb_add(&b, "%s%s at ", i ? ", " : "", r[i]->readers);
		level_words(&b, c->cfg, r[i]->level);
	}
	sb_add(&b, ".");
	finding(&c->out, &b);
}

void find_readers(struct ctx *c)
{
	const struct cmp_run *r[CMP_MAX_LEVELS];
	struct sb b = {};

	for (size_t k = 0; k < sizeof(reader_kinds) / sizeof(reader_kinds[0]); k++) {
		const char *models[CMP_MAX_MODELS];
		int nr = 0;

		for (int m = 0; m < c->cfg->nr_models; m++) {
			const char *label = model_readers(c, c->cfg->models[m]);

			if (label && !strcmp(label, reader_kinds[k].label))
				models[nr++] = c->cfg->models[m];
		}
		if (!nr)
			continue;
		sb_list(&b, models, nr);
		sb_add(&b, " %s.", nr == 1 ? reader_kinds[k].words_one : reader_kinds[k].words_many);
		finding(&c->out, &b);
	}
	for (int m = 0; m < c->cfg->nr_models; m++) {
		int n = model_runs(c, c->cfg->models[m], r);

		if (n && !model_readers(c, c->cfg->models[m]))
			readers_by_level(c, c->cfg->models[m], r, n);
	}
}

/* ---- empty accepts ---- */

/* Several threads accept: each empty accept was a wake-up another thread made useless. */
static void wasted_wakeups(struct ctx *c, const char *model)
{
	const struct cmp_run *r[CMP_MAX_LEVELS];
	int k = model_runs(c, model, r);
	struct sb b = {};

	sb_add(&b, "%s wasted wake-ups on accept() calls that found the queue already emptied by another thread: ", model);
	for (int i = 0; i < k; i++) {
		uint64_t empty = r[i]->empty_accepts;

		if (empty)
			sb_add(&b, "%s%llu at ", i ? ", " : "", (unsigned long long)empty);
		else
			sb_add(&b, "%snone at ", i ? ", " : "");
		level_words(&b, c->cfg, r[i]->level);
		if (empty && pct(empty, r[i]->accepted) < 0.1)
			sb_add(&b, " (fewer than 0.1 per 100 connections)");
		else if (empty)
			sb_add(&b, " (%.1f per 100 connections)", pct(empty, r[i]->accepted));
	}
	sb_add(&b, ".");
	finding(&c->out, &b);
}

/* One accepting thread: its empty accepts end its accept-until-EAGAIN loops. */
static void draining(struct ctx *c, const char *const *models, const uint64_t *totals, int nr)
{
	struct sb b = {};

	sb_list(&b, models, nr);
	sb_add(&b, " had ");
	for (int i = 0; i < nr; i++)
		sb_add(&b, "%s%llu", i == 0 ? "" : i == nr - 1 ? " and " : ", ", (unsigned long long)totals[i]);
	sb_add(&b, " empty accept%s: with one accepting thread these end %s accept-until-EAGAIN loop, not wake-ups lost to another thread.",
	       nr == 1 && totals[0] == 1 ? "" : "s", nr == 1 ? "its" : "their");
	finding(&c->out, &b);
}

void find_empty(struct ctx *c)
{
	const char *wasting[CMP_MAX_MODELS], *clean[CMP_MAX_MODELS], *drain[CMP_MAX_MODELS];
	double worst[CMP_MAX_MODELS];
	uint64_t drain_total[CMP_MAX_MODELS];
	int nr_wasting = 0, nr_clean = 0, nr_drain = 0;
	struct sb b = {};

	for (int m = 0; m < c->cfg->nr_models; m++) {
		const struct cmp_run *r[CMP_MAX_LEVELS];
		int k = model_runs(c, c->cfg->models[m], r), i;
		bool multi = false;
		uint64_t empty = 0;
		double most = 0;

		for (i = 0; i < k; i++) {
			multi |= r[i]->accepting > 1;
			empty += r[i]->empty_accepts;
			if (r[i]->accepted && 100.0 * r[i]->empty_accepts / r[i]->accepted > most)
				most = 100.0 * r[i]->empty_accepts / r[i]->accepted;
		}
		if (!k)
			continue;
		if (!empty) {
			clean[nr_clean++] = c->cfg->models[m];
		} else if (!multi) {
			drain_total[nr_drain] = empty;
			drain[nr_drain++] = c->cfg->models[m];
		} else {
			/* Worst first; equals keep their order. */
			for (i = nr_wasting++; i > 0 && worst[i - 1] < most; i--) {
				wasting[i] = wasting[i - 1];
				worst[i] = worst[i - 1];
			}
			wasting[i] = c->cfg->models[m];
			worst[i] = most;
		}
	}
	for (int i = 0; i < nr_wasting; i++)
		wasted_wakeups(c, wasting[i]);
	if (nr_drain)
		draining(c, drain, drain_total, nr_drain);
	if (nr_clean) {
		sb_list(&b, clean, nr_clean);
		sb_add(&b, " never called accept() on an empty queue.");
		finding(&c->out, &b);
	}
}

/* ---- how evenly the accepting threads share ---- */

static bool spread_evenly(const struct cmp_run *r)
{
	return r->acceptors > 1 && r->accepting >= r->acceptors && r->jain_acceptors >= 0.95 &&
	       r->idlest_share >= 0.6 * r->busiest_share;
}

/* How the skew changes from the first level to the last. */
static void skew_trend(struct sb *b, const struct cmp_config *cfg, const struct cmp_run *first,
		       const struct cmp_run *last)
{
	double jf = first->jain_acceptors, jl = last->jain_acceptors;

	if (jl >= 0.9 && jf < 0.9) {
		sb_add(b, ": the skew evens out at ");
		level_words(b, cfg, last->level);
	} else if (jl - jf >= 0.1) {
		sb_add(b, ": the skew lessens as the load grows but does not go away");
	} else if (jf - jl >= 0.1) {
		sb_add(b, ": the skew grows with the load");
	} else {
		sb_add(b, ": about as uneven at every level");
	}
}

static void skewed(struct ctx *c, const char *model, const struct cmp_run **r, int k)
{
	struct sb b = {};

	sb_add(&b, "%s is skewed: ", model);
	for (int i = 0; i < k; i++) {
		sb_add(&b, "%sat ", i ? "; " : "");
		level_words(&b, c->cfg, r[i]->level);
		if (i)
			sb_add(&b, " %.0f%% and %.0f%%", r[i]->busiest_share * 100, r[i]->idlest_share * 100);
		else
			sb_add(&b, " its busiest thread took %.0f%% of the accepts and its idlest %.0f%%",
			       r[i]->busiest_share * 100, r[i]->idlest_share * 100);
		if (r[i]->accepting < r[i]->acceptors)
			sb_add(&b, " (%d of %d threads took none)", r[i]->acceptors - r[i]->accepting, r[i]->acceptors);
		else
			sb_add(&b, " (Jain %.2f)", r[i]->jain);
	}
	if (k >= 2)
		skew_trend(&b, c->cfg, r[0], r[k - 1]);
	sb_add(&b, ".");
	finding(&c->out, &b);
}

/* Has @model several threads meant to accept at some level? */
static bool several_acceptors(const struct cmp_run **r, int k)
{
	for (int i = 0; i < k; i++)
		if (r[i]->acceptors > 1)
			return true;
	return false;
}

void find_skew(struct ctx *c)
{
	const char *even[CMP_MAX_MODELS];
	int nr_even = 0;
	double even_busiest = 0, even_jain = 1;
	struct sb b = {};

	for (int m = 0; m < c->cfg->nr_models; m++) {
		const struct cmp_run *r[CMP_MAX_LEVELS];
		int k = model_runs(c, c->cfg->models[m], r), i;

		if (!several_acceptors(r, k))
			continue;
		for (i = 0; i < k && spread_evenly(r[i]); i++)
			;
		if (i < k) {
			skewed(c, c->cfg->models[m], r, k);
			continue;
		}
		even[nr_even++] = c->cfg->models[m];
		for (i = 0; i < k; i++) {
			even_busiest = fmax(even_busiest, r[i]->busiest_share);
			even_jain = fmin(even_jain, r[i]->jain);
		}
	}
	if (nr_even) {
		sb_list(&b, even, nr_even);
		sb_add(&b, " spread accepts evenly over %s threads ", nr_even == 1 ? "its" : "their");
		every_level(&b, c->cfg);
		sb_add(&b, " (busiest thread at most %.0f%%, Jain at least %.2f).", even_busiest * 100,
		       floor(even_jain * 100) / 100);
		finding(&c->out, &b);
	}
}
