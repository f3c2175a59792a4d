// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: the table, the sentences under it, and the JSON document. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"

const struct cmp_field cmp_fields[] = {
	{ "rps", "req/s", "requests answered per second (client)" },
	{ "p50_us", "p50", "median request latency, connect included (client)" },
	{ "p99_us", "p99", "99th percentile request latency (client)" },
	{ "depth_max", "qmax", "deepest accept queue at an enqueue (tracer)" },
	{ "wait_p99_us", "wait99", "99th percentile time a connection waited in the accept queue (tracer)" },
	{ "overflows", "ovfl", "connections dropped because the accept queue was full (tracer)" },
	{ "empty_accepts", "empty", "accept() calls that found the queue empty (tracer)" },
	{ "busiest_share", "busiest", "share of the accepts taken by the busiest thread (tracer)" },
	{ "idlest_share", "idlest", "share of the accepts taken by the idlest thread meant to accept" },
	{ "jain", "jainA", "Jain's fairness index of accepts over the accepting threads (tracer)" },
	{ "jain_reads", "jainR", "Jain's fairness index of reads over the reading threads (tracer)" },
	{ "readers", "reads by", "which threads read the requests: the accepting thread(s) or others" },
};
const int cmp_nr_fields = sizeof(cmp_fields) / sizeof(cmp_fields[0]);

static void fmt_us(char *out, size_t len, double us)
{
	if (us < 1000)
		snprintf(out, len, "%.0fus", us);
	else if (us < 1e6)
		snprintf(out, len, "%.1fms", us / 1e3);
	else
		snprintf(out, len, "%.2fs", us / 1e6);
}

int cmp_field_value(const struct cmp_run *r, int i, char *val, size_t vlen, char *shown, size_t slen)
{
	const char *key = cmp_fields[i].key;

	val[0] = shown[0] = '\0';
	if (!r->ok) {
		snprintf(shown, slen, "-");
		return -1;
	}
	if (!strcmp(key, "rps")) {
		snprintf(val, vlen, "%.1f", r->rps);
		snprintf(shown, slen, "%.0f", r->rps);
	} else if (!strcmp(key, "p50_us") || !strcmp(key, "p99_us")) {
		double v = key[1] == '5' ? r->p50_us : r->p99_us;

		snprintf(val, vlen, "%.1f", v);
		fmt_us(shown, slen, v);
	} else if (!strcmp(key, "depth_max")) {
		snprintf(val, vlen, "%ld", r->depth_max);
		snprintf(shown, slen, "%ld", r->depth_max);
	} else if (!strcmp(key, "wait_p99_us")) {
		snprintf(val, vlen, "%ld", r->wait_p99_us);
		fmt_us(shown, slen, r->wait_p99_us);
	} else if (!strcmp(key, "overflows")) {
		if (!r->overflows_known) {
			snprintf(shown, slen, "n/a");
			return -1;
		}
		snprintf(val, vlen, "%llu", (unsigned long long)r->overflows);
		snprintf(shown, slen, "%llu", (unsigned long long)r->overflows);
	} else if (!strcmp(key, "empty_accepts")) {
		snprintf(val, vlen, "%llu", (unsigned long long)r->empty_accepts);
		snprintf(shown, slen, "%llu", (unsigned long long)r->empty_accepts);
	} else if (!strcmp(key, "busiest_share") || !strcmp(key, "idlest_share")) {
		double v = key[0] == 'b' ? r->busiest_share : r->idlest_share;

		snprintf(val, vlen, "%.4f", v);
		snprintf(shown, slen, "%.0f%%", v * 100);
	} else if (!strcmp(key, "jain") || !strcmp(key, "jain_reads")) {
		double v = key[4] ? r->jain_reads : r->jain;

		snprintf(val, vlen, "%.4f", v);
		snprintf(shown, slen, "%.2f", v);
	} else if (!strcmp(key, "readers")) {
		snprintf(val, vlen, "%s", r->readers);
		snprintf(shown, slen, "%s", r->readers);
		return CMP_STR;
	}
	return CMP_NUM;
}

/* ---- a growing string ---- */

struct sb {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

/* "a", "a and b", "a, b and c" */
static void sb_list(struct sb *b, const char *const *items, int n)
{
	for (int i = 0; i < n; i++)
		sb_add(b, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", items[i]);
}

struct findings {
	char **v;
	int n;
};

static void finding(struct findings *f, struct sb *b)
{
	char **v;

	if (!b->s)
		return;
	v = realloc(f->v, (f->n + 2) * sizeof(*v));
	if (!v) {
		free(b->s);
	} else {
		f->v = v;
		f->v[f->n++] = b->s;
		f->v[f->n] = NULL;
	}
	memset(b, 0, sizeof(*b));
}

void cmp_findings_free(char **f)
{
	for (int i = 0; f && f[i]; i++)
		free(f[i]);
	free(f);
}

/* ---- the sentences ---- */

static const struct cmp_run *find_run(const struct cmp_run *runs, int n, const char *model, const struct cmp_level *l)
{
	for (int i = 0; i < n; i++)
		if (runs[i].ok && runs[i].model == model && runs[i].level == l)
			return &runs[i];
	return NULL;
}

static void level_words(struct sb *b, const struct cmp_config *cfg, const struct cmp_level *l)
{
	int conns = cfg->connections ? cfg->connections : l->connections;

	if (l->name[0] == 'c')
		sb_add(b, "%d connections", conns);
	else
		sb_add(b, "%s load", l->name);
}

/* "at every level", or with one level "at light load". */
static void every_level(struct sb *b, const struct cmp_config *cfg)
{
	if (cfg->nr_levels > 1) {
		sb_add(b, "at every level");
	} else {
		sb_add(b, "at ");
		level_words(b, cfg, &cfg->levels[0]);
	}
}

static void fmt_us_words(char *out, size_t len, double us)
{
	if (us < 1000)
		snprintf(out, len, "%.0f us", us);
	else if (us < 1e6)
		snprintf(out, len, "%.1f ms", us / 1e3);
	else
		snprintf(out, len, "%.2f s", us / 1e6);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

static int levels_ran(const struct cmp_config *cfg, const struct cmp_run *runs, int n, const char *model)
{
	int k = 0;

	for (int l = 0; l < cfg->nr_levels; l++)
		k += find_run(runs, n, model, &cfg->levels[l]) != NULL;
	return k;
}

/* Who reads, the same label at every level that ran, else NULL. */
static const char *model_readers(const struct cmp_config *cfg, const struct cmp_run *runs, int n, const char *model)
{
	const char *label = NULL;

	for (int l = 0; l < cfg->nr_levels; l++) {
		const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

		if (!r)
			continue;
		if (label && strcmp(label, r->readers))
			return NULL;
		label = r->readers;
	}
	return label;
}

static void find_throughput(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	for (int l = 0; l < cfg->nr_levels; l++) {
		const struct cmp_level *lv = &cfg->levels[l];
		const struct cmp_run *hi = NULL, *lo = NULL, *fast = NULL, *slow = NULL;
		char w1[32], w2[32];
		int count = 0, conns = cfg->connections ? cfg->connections : lv->connections;
		struct sb b = {};

		for (int m = 0; m < cfg->nr_models; m++) {
			const struct cmp_run *r = find_run(runs, n, cfg->models[m], lv);

			if (!r)
				continue;
			count++;
			if (!hi || r->rps > hi->rps)
				hi = r;
			if (!lo || r->rps < lo->rps)
				lo = r;
			if (!fast || r->p99_us < fast->p99_us)
				fast = r;
			if (!slow || r->p99_us > slow->p99_us)
				slow = r;
		}
		if (!count)
			continue;
		sb_add(&b, "At ");
		level_words(&b, cfg, lv);
		if (cfg->rate > 0)
			sb_add(&b, " (open loop, %.0f new connections/s, at most %d in flight)", cfg->rate, conns);
		else if (lv->name[0] != 'c')
			sb_add(&b, " (%d connection%s in flight)", conns, conns == 1 ? "" : "s");
		if (count == 1) {
			fmt_us_words(w1, sizeof(w1), hi->p99_us);
			sb_add(&b, " %s served %.0f requests/s (p99 latency %s).", hi->model, hi->rps, w1);
		} else {
			fmt_us_words(w1, sizeof(w1), fast->p99_us);
			fmt_us_words(w2, sizeof(w2), slow->p99_us);
			sb_add(&b, " throughput ranged from %.0f requests/s (%s) to %.0f requests/s (%s), p99 latency from %s (%s) to %s (%s).",
			       lo->rps, lo->model, hi->rps, hi->model, w1, fast->model, w2, slow->model);
		}
		finding(f, &b);
	}
}

static void find_acceptors(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	const char *one[CMP_MAX_MODELS], *all[CMP_MAX_MODELS];
	int nr_one = 0, nr_all = 0;
	struct sb b = {};

	for (int m = 0; m < cfg->nr_models; m++) {
		const char *model = cfg->models[m];
		bool any = false, single = true, every = true;

		for (int l = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

			if (!r)
				continue;
			any = true;
			single &= r->acceptors == 1 && r->accepting <= 1;
			every &= r->acceptors > 1 && r->accepting >= r->acceptors;
		}
		if (!any)
			continue;
		if (single)
			one[nr_one++] = model;
		else if (every)
			all[nr_all++] = model;
		else {
			/* Meant to accept on several threads, but some took none at some level. */
			bool first = true;

			sb_add(&b, "%s accepted on ", model);
			for (int l = 0, k = 0; l < cfg->nr_levels; l++) {
				const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

				if (!r)
					continue;
				if (!first)
					sb_add(&b, "%s", ++k == levels_ran(cfg, runs, n, model) - 1 ? " and on " : ", on ");
				if (r->accepting >= r->acceptors)
					sb_add(&b, first ? "all %d of its threads at " : "all %d at ", r->acceptors);
				else if (first)
					sb_add(&b, "only %d of its %d threads at ", r->accepting, r->acceptors);
				else
					sb_add(&b, "only %d of %d at ", r->accepting, r->acceptors);
				level_words(&b, cfg, &cfg->levels[l]);
				first = false;
			}
			sb_add(&b, ".");
			finding(f, &b);
		}
	}
	if (nr_one) {
		sb_list(&b, one, nr_one);
		sb_add(&b, " accept%s on one thread.", nr_one == 1 ? "s" : "");
		finding(f, &b);
	}
	if (nr_all) {
		sb_list(&b, all, nr_all);
		sb_add(&b, " accepted on every one of %s threads ", nr_all == 1 ? "its" : "their");
		every_level(&b, cfg);
		sb_add(&b, ".");
		finding(f, &b);
	}
}

static void find_readers(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	static const struct {
		const char *label, *words_one, *words_many;
	} kinds[] = {
		{ "acceptor", "reads every request on the thread that accepted it", "read every request on the thread that accepted it" },
		{ "each acceptor", "reads on each accepting thread, the connections it accepted itself", "read on each accepting thread, the connections it accepted itself" },
		{ "workers", "hands each connection to worker threads that read it", "hand each connection to worker threads that read it" },
		{ "a worker", "hands each connection to one other thread that reads it", "hand each connection to one other thread that reads it" },
		{ "mixed", "reads on accepting and on other threads", "read on accepting and on other threads" },
	};
	const char *varies[CMP_MAX_MODELS];
	int nr_varies = 0;
	struct sb b = {};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *models[CMP_MAX_MODELS];
		int nr = 0;

		for (int m = 0; m < cfg->nr_models; m++) {
			const char *label = model_readers(cfg, runs, n, cfg->models[m]);

			if (label && !strcmp(label, kinds[k].label))
				models[nr++] = cfg->models[m];
		}
		if (!nr)
			continue;
		sb_list(&b, models, nr);
		sb_add(&b, " %s.", nr == 1 ? kinds[k].words_one : kinds[k].words_many);
		finding(f, &b);
	}
	for (int m = 0; m < cfg->nr_models; m++) {
		bool ran = false;

		for (int l = 0; l < cfg->nr_levels; l++)
			ran |= find_run(runs, n, cfg->models[m], &cfg->levels[l]) != NULL;
		if (ran && !model_readers(cfg, runs, n, cfg->models[m]))
			varies[nr_varies++] = cfg->models[m];
	}
	for (int i = 0; i < nr_varies; i++) {
		bool first = true;

		sb_add(&b, "Who reads in %s depends on the load: ", varies[i]);
		for (int l = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, varies[i], &cfg->levels[l]);

			if (!r)
				continue;
			sb_add(&b, "%s%s at ", first ? "" : ", ", r->readers);
			level_words(&b, cfg, &cfg->levels[l]);
			first = false;
		}
		sb_add(&b, ".");
		finding(f, &b);
	}
}

static void find_empty(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	int order[CMP_MAX_MODELS], nr = 0;
	double worst[CMP_MAX_MODELS] = {};
	const char *clean[CMP_MAX_MODELS], *drain[CMP_MAX_MODELS];
	int nr_clean = 0, nr_drain = 0;
	uint64_t drain_total[CMP_MAX_MODELS];
	struct sb b = {};

	for (int m = 0; m < cfg->nr_models; m++) {
		bool any = false, multi = false;
		uint64_t empty = 0;

		for (int l = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, cfg->models[m], &cfg->levels[l]);

			if (!r)
				continue;
			any = true;
			multi |= r->accepting > 1;
			empty += r->empty_accepts;
			if (r->accepted && 100.0 * r->empty_accepts / r->accepted > worst[m])
				worst[m] = 100.0 * r->empty_accepts / r->accepted;
		}
		if (!any)
			continue;
		if (!empty) {
			clean[nr_clean++] = cfg->models[m];
		} else if (!multi) {
			drain_total[nr_drain] = empty;
			drain[nr_drain++] = cfg->models[m];
		} else {
			int i = nr++;

			while (i > 0 && worst[order[i - 1]] < worst[m]) {
				order[i] = order[i - 1];
				i--;
			}
			order[i] = m;
		}
	}
	for (int i = 0; i < nr; i++) {
		const char *model = cfg->models[order[i]];
		bool first = true;

		sb_add(&b, "%s wasted wake-ups on accept() calls that found the queue already emptied by another thread: ", model);
		for (int l = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

			if (!r)
				continue;
			if (r->empty_accepts)
				sb_add(&b, "%s%llu at ", first ? "" : ", ", (unsigned long long)r->empty_accepts);
			else
				sb_add(&b, "%snone at ", first ? "" : ", ");
			level_words(&b, cfg, &cfg->levels[l]);
			if (r->empty_accepts && pct(r->empty_accepts, r->accepted) < 0.1)
				sb_add(&b, " (fewer than 0.1 per 100 connections)");
			else if (r->empty_accepts)
				sb_add(&b, " (%.1f per 100 connections)", pct(r->empty_accepts, r->accepted));
			first = false;
		}
		sb_add(&b, ".");
		finding(f, &b);
	}
	if (nr_drain) {
		sb_list(&b, drain, nr_drain);
		sb_add(&b, " had ");
		for (int i = 0; i < nr_drain; i++)
			sb_add(&b, "%s%llu", i == 0 ? "" : i == nr_drain - 1 ? " and " : ", ", (unsigned long long)drain_total[i]);
		sb_add(&b, " empty accept%s: with one accepting thread these end %s accept-until-EAGAIN loop, not wake-ups lost to another thread.",
		       nr_drain == 1 && drain_total[0] == 1 ? "" : "s", nr_drain == 1 ? "its" : "their");
		finding(f, &b);
	}
	if (nr_clean) {
		sb_list(&b, clean, nr_clean);
		sb_add(&b, " never called accept() on an empty queue.");
		finding(f, &b);
	}
}

static void find_skew(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	const char *even[CMP_MAX_MODELS];
	int nr_even = 0;
	double even_busiest = 0, even_jain = 1;
	struct sb b = {};

	for (int m = 0; m < cfg->nr_models; m++) {
		const char *model = cfg->models[m];
		const struct cmp_run *first = NULL, *last = NULL;
		bool multi = false, is_even = true;
		int levels = 0;

		for (int l = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

			if (!r)
				continue;
			multi |= r->acceptors > 1;
			is_even &= r->acceptors > 1 && r->accepting >= r->acceptors && r->jain_acceptors >= 0.95 &&
				   r->idlest_share >= 0.6 * r->busiest_share;
			if (!first)
				first = r;
			last = r;
			levels++;
		}
		if (!levels || !multi)
			continue;
		if (is_even) {
			even[nr_even++] = model;
			for (int l = 0; l < cfg->nr_levels; l++) {
				const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

				if (r && r->busiest_share > even_busiest)
					even_busiest = r->busiest_share;
				if (r && r->jain < even_jain)
					even_jain = r->jain;
			}
			continue;
		}
		sb_add(&b, "%s is skewed: ", model);
		for (int l = 0, k = 0; l < cfg->nr_levels; l++) {
			const struct cmp_run *r = find_run(runs, n, model, &cfg->levels[l]);

			if (!r)
				continue;
			sb_add(&b, "%sat ", k ? "; " : "");
			level_words(&b, cfg, &cfg->levels[l]);
			if (k)
				sb_add(&b, " %.0f%% and %.0f%%", r->busiest_share * 100, r->idlest_share * 100);
			else
				sb_add(&b, " its busiest thread took %.0f%% of the accepts and its idlest %.0f%%",
				       r->busiest_share * 100, r->idlest_share * 100);
			if (r->accepting < r->acceptors)
				sb_add(&b, " (%d of %d threads took none)", r->acceptors - r->accepting, r->acceptors);
			else
				sb_add(&b, " (Jain %.2f)", r->jain);
			k++;
		}
		if (levels >= 2) {
			double jf = first->jain_acceptors, jl = last->jain_acceptors;

			if (jl >= 0.9 && jf < 0.9) {
				sb_add(&b, ": the skew evens out at ");
				level_words(&b, cfg, last->level);
			} else if (jl - jf >= 0.1) {
				sb_add(&b, ": the skew lessens as the load grows but does not go away");
			} else if (jf - jl >= 0.1) {
				sb_add(&b, ": the skew grows with the load");
			} else {
				sb_add(&b, ": about as uneven at every level");
			}
		}
		sb_add(&b, ".");
		finding(f, &b);
	}
	if (nr_even) {
		sb_list(&b, even, nr_even);
		sb_add(&b, " spread accepts evenly over %s threads ", nr_even == 1 ? "its" : "their");
		every_level(&b, cfg);
		sb_add(&b, " (busiest thread at most %.0f%%, Jain at least %.2f).", even_busiest * 100,
		       floor(even_jain * 100) / 100);
		finding(f, &b);
	}
}

static void find_queue(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	const struct cmp_run *deep = NULL, *slow = NULL, *deepest[4];
	int nr_deepest = 0, ok = 0;
	char w[32];
	struct sb b = {};
	bool unknown = false, dropped = false;

	for (int i = 0; i < n; i++) {
		const struct cmp_run *r = &runs[i];

		if (!r->ok)
			continue;
		if (!deep || r->depth_max > deep->depth_max)
			deep = r;
		if (!slow || r->wait_p99_us > slow->wait_p99_us)
			slow = r;
		unknown |= !r->overflows_known;
		dropped |= r->overflows_known && r->overflows;
	}
	if (!deep)
		return;
	for (int i = 0; i < n; i++) {
		if (!runs[i].ok)
			continue;
		ok++;
		if (runs[i].depth_max == deep->depth_max && nr_deepest < 4)
			deepest[nr_deepest++] = &runs[i];
		else if (runs[i].depth_max == deep->depth_max)
			nr_deepest++;
	}
	if (nr_deepest == ok && ok > 1) {
		sb_add(&b, "In every run the accept queue held at most %ld connection%s", deep->depth_max,
		       deep->depth_max == 1 ? "" : "s");
	} else if (nr_deepest > 3) {
		sb_add(&b, "The accept queue ran deepest (%ld connections) in %d runs", deep->depth_max, nr_deepest);
	} else {
		sb_add(&b, "The accept queue ran deepest under ");
		for (int i = 0; i < nr_deepest; i++) {
			sb_add(&b, "%s%s at ", i == 0 ? "" : i == nr_deepest - 1 ? " and " : ", ", deepest[i]->model);
			level_words(&b, cfg, deepest[i]->level);
		}
		fmt_us_words(w, sizeof(w), deep->wait_p99_us);
		if (nr_deepest == 1)
			sb_add(&b, " (%ld connections waiting, p99 wait %s)", deep->depth_max, w);
		else
			sb_add(&b, " (%ld connections waiting)", deep->depth_max);
	}
	if (nr_deepest != 1 || slow->wait_p99_us > deep->wait_p99_us) {
		fmt_us_words(w, sizeof(w), slow->wait_p99_us);
		sb_add(&b, "; connections waited longest under %s at ", slow->model);
		level_words(&b, cfg, slow->level);
		sb_add(&b, " (p99 %s)", w);
	}
	sb_add(&b, ".");
	finding(f, &b);
	/* Unless said for every level already, how deep it got at the other levels. */
	for (int l = 0; nr_deepest < ok && l < cfg->nr_levels && cfg->nr_levels > 1; l++) {
		long most = -1;

		for (int m = 0; m < cfg->nr_models; m++) {
			const struct cmp_run *r = find_run(runs, n, cfg->models[m], &cfg->levels[l]);

			if (r && r->depth_max > most)
				most = r->depth_max;
		}
		if (most < 0 || most == deep->depth_max)
			continue;
		sb_add(&b, "At ");
		level_words(&b, cfg, &cfg->levels[l]);
		sb_add(&b, " no accept queue held more than %ld connection%s.", most, most == 1 ? "" : "s");
		finding(f, &b);
	}
	if (dropped) {
		for (int i = 0; i < n; i++) {
			const struct cmp_run *r = &runs[i];

			if (!r->ok || !r->overflows_known || !r->overflows)
				continue;
			sb_add(&b, "%s dropped %llu connection attempt%s from a full accept queue at ", r->model,
			       (unsigned long long)r->overflows, r->overflows == 1 ? "" : "s");
			level_words(&b, cfg, r->level);
			sb_add(&b, ".");
			finding(f, &b);
		}
	} else if (!unknown) {
		sb_add(&b, "No connection was dropped from a full accept queue.");
		finding(f, &b);
	} else {
		sb_add(&b, "Accept-queue overflows could not be counted in some runs (n/a); none were seen in the others.");
		finding(f, &b);
	}
}

static void find_checks(struct findings *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	uint64_t total = 0;
	int good = 0, ok = 0;
	struct sb b = {};

	for (int i = 0; i < n; i++) {
		const struct cmp_run *r = &runs[i];

		if (!r->ok)
			continue;
		ok++;
		if (r->threads_match && r->accepted == r->server_accepts && r->server_accepts == r->client_connections) {
			good++;
			total += r->client_connections;
			continue;
		}
		sb_add(&b, "In %s at ", r->model);
		level_words(&b, cfg, r->level);
		sb_add(&b, " the tracer counted %llu accepted connections, the server %llu and the client opened %llu%s.",
		       (unsigned long long)r->accepted, (unsigned long long)r->server_accepts,
		       (unsigned long long)r->client_connections,
		       r->threads_match ? "" : "; the per-thread counts differ");
		finding(f, &b);
	}
	if (good && good == ok) {
		sb_add(&b, "In every run the tracer's per-thread accepts, empty accepts and reads equal the server's own counters, and its accepted connections the %llu the clients opened.",
		       (unsigned long long)total);
		finding(f, &b);
	}
	for (int i = 0; i < n; i++) {
		const struct cmp_run *r = &runs[i];

		if (!r->ok || !(r->client_errors || r->not_started))
			continue;
		sb_add(&b, "The client");
		if (r->client_errors)
			sb_add(&b, " saw %llu error%s", (unsigned long long)r->client_errors, r->client_errors == 1 ? "" : "s");
		if (r->not_started)
			sb_add(&b, "%s could not start %llu connection%s in time (too many in flight)",
			       r->client_errors ? " and" : "", (unsigned long long)r->not_started, r->not_started == 1 ? "" : "s");
		sb_add(&b, " with %s at ", r->model);
		level_words(&b, cfg, r->level);
		sb_add(&b, ".");
		finding(f, &b);
	}
	for (int i = 0; i < n; i++) {
		const struct cmp_run *r = &runs[i];

		if (r->ok)
			continue;
		sb_add(&b, "%s at ", r->model);
		level_words(&b, cfg, r->level);
		sb_add(&b, " failed: %s.", r->error);
		finding(f, &b);
	}
}

char **cmp_findings(const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	struct findings f = {};

	find_throughput(&f, cfg, runs, n);
	find_acceptors(&f, cfg, runs, n);
	find_readers(&f, cfg, runs, n);
	find_empty(&f, cfg, runs, n);
	find_skew(&f, cfg, runs, n);
	find_queue(&f, cfg, runs, n);
	find_checks(&f, cfg, runs, n);
	if (!f.v) {
		f.v = calloc(1, sizeof(*f.v));
	}
	return f.v;
}

/* ---- terminal table ---- */

static void print_wrapped(FILE *out, const char *s, int width)
{
	int col = 0;
	const char *p = s;

	fputs("- ", out);
	col = 2;
	while (*p) {
		const char *sp = strchr(p, ' ');
		int wl = sp ? (int)(sp - p) : (int)strlen(p);

		if (col > 2 && col + 1 + wl > width) {
			fputs("\n  ", out);
			col = 2;
		} else if (col > 2) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, wl, out);
		col += wl;
		p += wl;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void cmp_print_table(FILE *out, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings)
{
	static const int widths[] = { 7, 6, 6, 5, 7, 5, 7, 7, 6, 5, 5, 0 };
	char val[64], shown[64];

	fprintf(out, "acceptscope compare: %d server thread%s, %g s of load per run, a new connection per request", cfg->threads,
		cfg->threads == 1 ? "" : "s", cfg->duration);
	if (cfg->rate > 0)
		fprintf(out, ", open loop at %g/s", cfg->rate);
	if (cfg->work_us)
		fprintf(out, ", %ld us of work per request", cfg->work_us);
	fprintf(out, "\n\n%-16s %-9s %5s", "model", "level", "conns");
	for (int i = 0; i < cmp_nr_fields; i++) {
		if (widths[i])
			fprintf(out, " %*s", widths[i], cmp_fields[i].head);
		else
			fprintf(out, "  %s", cmp_fields[i].head);
	}
	fputc('\n', out);
	for (int r = 0; r < n; r++) {
		fprintf(out, "%-16s %-9s %5d", runs[r].model, runs[r].level->name, runs[r].connections);
		if (!runs[r].ok) {
			fprintf(out, "  FAILED: %s\n", runs[r].error);
			continue;
		}
		for (int i = 0; i < cmp_nr_fields; i++) {
			cmp_field_value(&runs[r], i, val, sizeof(val), shown, sizeof(shown));
			if (widths[i])
				fprintf(out, " %*s", widths[i], shown);
			else
				fprintf(out, "  %s", shown);
		}
		fputc('\n', out);
	}
	fputs("\nreq/s, p50, p99: client; qmax: deepest accept queue; wait99: p99 time in the accept queue;\n"
	      "ovfl: accept-queue overflows; empty: accept() calls finding no connection; busiest, idlest:\n"
	      "accept share of the busiest thread and of the idlest thread meant to accept; jainA, jainR:\n"
	      "Jain's index of accepts and of reads (1 = even); reads by: who read the requests.\n\n", out);
	for (int i = 0; findings && findings[i]; i++)
		print_wrapped(out, findings[i], 96);
}

/* ---- JSON ---- */

static json_object *jnum(const char *text, double v)
{
	return json_object_new_double_s(v, text);
}

static json_object *jdouble(double v, const char *fmt)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

static json_object *run_json(const struct cmp_config *cfg, const struct cmp_run *r)
{
	json_object *o = json_object_new_object(), *t, *c, *w, *h, *ths, *chk;
	char val[64], shown[64];

	json_object_object_add(o, "model", json_object_new_string(r->model));
	json_object_object_add(o, "level", json_object_new_string(r->level->name));
	json_object_object_add(o, "connections", json_object_new_int(r->connections));
	json_object_object_add(o, "rate", cfg->rate > 0 ? jdouble(cfg->rate, "%g") : NULL);
	json_object_object_add(o, "status", json_object_new_string(r->ok ? "ok" : "failed"));
	json_object_object_add(o, "error", r->ok ? NULL : json_object_new_string(r->error));
	json_object_object_add(o, "port", r->port ? json_object_new_int(r->port) : NULL);
	json_object_object_add(o, "seconds", jdouble(r->secs, "%.2f"));

	t = json_object_new_object();
	for (int i = 0; i < cmp_nr_fields; i++) {
		int kind = cmp_field_value(r, i, val, sizeof(val), shown, sizeof(shown));

		json_object_object_add(t, cmp_fields[i].key,
				       kind < 0 ? NULL : kind == CMP_STR ? json_object_new_string(val) : jnum(val, atof(val)));
	}
	json_object_object_add(o, "table", t);
	if (!r->ok)
		return o;

	c = json_object_new_object();
	json_object_object_add(c, "rps", jdouble(r->rps, "%.1f"));
	json_object_object_add(c, "p50_us", jdouble(r->p50_us, "%.1f"));
	json_object_object_add(c, "p99_us", jdouble(r->p99_us, "%.1f"));
	json_object_object_add(c, "sent", json_object_new_uint64(r->sent));
	json_object_object_add(c, "answered", json_object_new_uint64(r->answered));
	json_object_object_add(c, "connections", json_object_new_uint64(r->client_connections));
	json_object_object_add(c, "errors", json_object_new_uint64(r->client_errors));
	json_object_object_add(c, "not_started", json_object_new_uint64(r->not_started));
	json_object_object_add(o, "client", c);

	t = json_object_new_object();
	json_object_object_add(t, "hooks", json_object_get(r->hooks));
	json_object_object_add(t, "listeners", json_object_new_int(r->nr_listeners));
	json_object_object_add(t, "queued", json_object_new_uint64(r->queued));
	json_object_object_add(t, "accepted", json_object_new_uint64(r->accepted));
	json_object_object_add(t, "empty_accepts", json_object_new_uint64(r->empty_accepts));
	json_object_object_add(t, "depth_max", json_object_new_int64(r->depth_max));
	w = json_object_new_object();
	json_object_object_add(w, "p50", json_object_new_int64(r->wait_p50_us));
	json_object_object_add(w, "p90", json_object_new_int64(r->wait_p90_us));
	json_object_object_add(w, "p99", json_object_new_int64(r->wait_p99_us));
	json_object_object_add(w, "max", json_object_new_int64(r->wait_max_us));
	json_object_object_add(t, "wait_us", w);
	json_object_object_add(t, "overflows", r->overflows_known ? json_object_new_uint64(r->overflows) : NULL);
	h = json_object_new_array();
	for (int i = 0; i < r->nr_hist; i++)
		json_object_array_add(h, json_object_new_uint64(r->depth_hist[i]));
	json_object_object_add(t, "depth_hist_log2", h);
	json_object_object_add(t, "jain", jdouble(r->jain, "%.6f"));
	json_object_object_add(t, "jain_reads", jdouble(r->jain_reads, "%.6f"));
	json_object_object_add(t, "busiest_share", jdouble(r->busiest_share, "%.6f"));
	json_object_object_add(t, "idlest_share", jdouble(r->idlest_share, "%.6f"));
	json_object_object_add(t, "jain_acceptors", jdouble(r->jain_acceptors, "%.6f"));
	json_object_object_add(t, "accepting_threads", json_object_new_int(r->accepting));
	json_object_object_add(t, "reading_threads", json_object_new_int(r->reading));
	json_object_object_add(t, "acceptor_threads", json_object_new_int(r->acceptors));
	json_object_object_add(t, "readers", json_object_new_string(r->readers));
	json_object_object_add(o, "tracer", t);

	ths = json_object_new_array();
	for (int i = 0; i < r->nr_threads; i++) {
		const struct cmp_thread *th = &r->threads[i];
		json_object *x = json_object_new_object(), *s = json_object_new_object();

		json_object_object_add(x, "tid", json_object_new_int64(th->tid));
		json_object_object_add(x, "pid", json_object_new_int64(th->pid));
		json_object_object_add(x, "comm", json_object_new_string(th->comm));
		json_object_object_add(x, "role", th->in_server ? json_object_new_string(th->role) : NULL);
		json_object_object_add(x, "accepts", json_object_new_uint64(th->accepts));
		json_object_object_add(x, "empty_accepts", json_object_new_uint64(th->empty_accepts));
		json_object_object_add(x, "reads", json_object_new_uint64(th->reads));
		json_object_object_add(x, "read_bytes", json_object_new_uint64(th->read_bytes));
		json_object_object_add(x, "accept_share", jdouble(th->accept_share, "%.6f"));
		json_object_object_add(x, "read_share", jdouble(th->read_share, "%.6f"));
		json_object_object_add(s, "accepts", json_object_new_uint64(th->s_accepts));
		json_object_object_add(s, "empty_accepts", json_object_new_uint64(th->s_empty_accepts));
		json_object_object_add(s, "reads", json_object_new_uint64(th->s_reads));
		json_object_object_add(s, "read_bytes", json_object_new_uint64(th->s_read_bytes));
		json_object_object_add(s, "requests", json_object_new_uint64(th->s_requests));
		json_object_object_add(x, "server", th->in_server ? s : (json_object_put(s), NULL));
		json_object_array_add(ths, x);
	}
	json_object_object_add(o, "threads", ths);
	json_object_object_add(o, "server", json_object_get(r->server_stats));

	chk = json_object_new_object();
	json_object_object_add(chk, "tracer_accepted", json_object_new_uint64(r->accepted));
	json_object_object_add(chk, "server_accepts", json_object_new_uint64(r->server_accepts));
	json_object_object_add(chk, "client_connections", json_object_new_uint64(r->client_connections));
	json_object_object_add(chk, "totals_match", json_object_new_boolean(r->accepted == r->server_accepts &&
									  r->server_accepts == r->client_connections));
	json_object_object_add(chk, "per_thread_match", json_object_new_boolean(r->threads_match));
	json_object_object_add(o, "checks", chk);
	return o;
}

json_object *cmp_json(const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings)
{
	json_object *doc = json_object_new_object(), *c = json_object_new_object(), *a, *f;

	a = json_object_new_array();
	for (int i = 0; i < cfg->nr_models; i++)
		json_object_array_add(a, json_object_new_string(cfg->models[i]));
	json_object_object_add(c, "models", a);
	a = json_object_new_array();
	for (int i = 0; i < cfg->nr_levels; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "name", json_object_new_string(cfg->levels[i].name));
		json_object_object_add(l, "connections",
				       json_object_new_int(cfg->connections ? cfg->connections : cfg->levels[i].connections));
		json_object_array_add(a, l);
	}
	json_object_object_add(c, "levels", a);
	json_object_object_add(c, "threads", json_object_new_int(cfg->threads));
	json_object_object_add(c, "duration_s", jdouble(cfg->duration, "%g"));
	json_object_object_add(c, "rate", cfg->rate > 0 ? jdouble(cfg->rate, "%g") : NULL);
	json_object_object_add(c, "work_us", json_object_new_int64(cfg->work_us));
	json_object_object_add(c, "mode", json_object_new_string(cfg->rate > 0 ? "open loop" : "closed loop"));
	json_object_object_add(doc, "config", c);

	a = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(a, run_json(cfg, &runs[i]));
	json_object_object_add(doc, "runs", a);
	f = json_object_new_array();
	for (int i = 0; findings && findings[i]; i++)
		json_object_array_add(f, json_object_new_string(findings[i]));
	json_object_object_add(doc, "findings", f);
	return doc;
}
