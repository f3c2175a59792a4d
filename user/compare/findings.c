// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: the sentences under the table, saying what the figures show (how
 * the threads shared the work: findings_threads.c). */
#include <stdlib.h>
#include <string.h>
#include "findings.h"

const struct cmp_run *find_run(const struct ctx *c, const char *model, const struct cmp_level *l)
{
	for (int i = 0; i < c->n; i++)
		if (c->runs[i].ok && c->runs[i].model == model && c->runs[i].level == l)
			return &c->runs[i];
	return NULL;
}

int model_runs(const struct ctx *c, const char *model, const struct cmp_run **out)
{
	int k = 0;

	for (int l = 0; l < c->cfg->nr_levels; l++) {
		const struct cmp_run *r = find_run(c, model, &c->cfg->levels[l]);

		if (r)
			out[k++] = r;
	}
	return k;
}

static int level_conns(const struct cmp_config *cfg, const struct cmp_level *l)
{
	return cfg->connections ? cfg->connections : l->connections;
}

void level_words(struct sb *b, const struct cmp_config *cfg, const struct cmp_level *l)
{
	if (l->counted)
		sb_add(b, "%d connections", level_conns(cfg, l));
	else
		sb_add(b, "%s load", l->name);
}

void every_level(struct sb *b, const struct cmp_config *cfg)
{
	if (cfg->nr_levels > 1) {
		sb_add(b, "at every level");
	} else {
		sb_add(b, "at ");
		level_words(b, cfg, &cfg->levels[0]);
	}
}

/* ---- throughput and latency, per level ---- */

static void throughput_at(struct ctx *c, const struct cmp_level *lv)
{
	const struct cmp_run *hi = NULL, *lo = NULL, *fast = NULL, *slow = NULL;
	char w1[32], w2[32];
	int count = 0, conns = level_conns(c->cfg, lv);
	struct sb b = {};

	for (int m = 0; m < c->cfg->nr_models; m++) {
		const struct cmp_run *r = find_run(c, c->cfg->models[m], lv);

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
		return;
	sb_add(&b, "At ");
	level_words(&b, c->cfg, lv);
	if (c->cfg->rate > 0)
		sb_add(&b, " (open loop, %.0f new connections/s, at most %d in flight)", c->cfg->rate, conns);
	else if (!lv->counted)
		sb_add(&b, " (%d connection%s in flight)", conns, conns == 1 ? "" : "s");
	if (count == 1) {
		cmp_fmt_us(w1, sizeof(w1), hi->p99_us, " ");
		sb_add(&b, " %s served %.0f requests/s (p99 latency %s).", hi->model, hi->rps, w1);
	} else {
		cmp_fmt_us(w1, sizeof(w1), fast->p99_us, " ");
		cmp_fmt_us(w2, sizeof(w2), slow->p99_us, " ");
		sb_add(&b, " throughput ranged from %.0f requests/s (%s) to %.0f requests/s (%s), p99 latency from %s (%s) to %s (%s).",
		       lo->rps, lo->model, hi->rps, hi->model, w1, fast->model, w2, slow->model);
	}
	finding(&c->out, &b);
}

static void find_throughput(struct ctx *c)
{
	for (int l = 0; l < c->cfg->nr_levels; l++)
		throughput_at(c, &c->cfg->levels[l]);
}

/* ---- the accept queue ---- */

/* The runs whose queue ran deepest (at most 4 kept in @deepest), and the slowest wait. */
struct queue_extremes {
	const struct cmp_run *deep, *slow, *deepest[4];
	int nr_deepest, ok;
};

static bool queue_extremes(const struct ctx *c, struct queue_extremes *q)
{
	memset(q, 0, sizeof(*q));
	for (int i = 0; i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		if (!r->ok)
			continue;
		if (!q->deep || r->depth_max > q->deep->depth_max)
			q->deep = r;
		if (!q->slow || r->wait_p99_us > q->slow->wait_p99_us)
			q->slow = r;
	}
	for (int i = 0; q->deep && i < c->n; i++) {
		if (!c->runs[i].ok)
			continue;
		q->ok++;
		if (c->runs[i].depth_max == q->deep->depth_max && q->nr_deepest < 4)
			q->deepest[q->nr_deepest++] = &c->runs[i];
		else if (c->runs[i].depth_max == q->deep->depth_max)
			q->nr_deepest++;
	}
	return q->deep != NULL;
}

static void queue_deepest(struct ctx *c, const struct queue_extremes *q)
{
	long depth = q->deep->depth_max;
	struct sb b = {};
	char w[32];

	if (q->nr_deepest == q->ok && q->ok > 1) {
		sb_add(&b, "In every run the accept queue held at most %ld connection%s", depth, depth == 1 ? "" : "s");
	} else if (q->nr_deepest > 3) {
		sb_add(&b, "The accept queue ran deepest (%ld connections) in %d runs", depth, q->nr_deepest);
	} else {
		sb_add(&b, "The accept queue ran deepest under ");
		for (int i = 0; i < q->nr_deepest; i++) {
			sb_add(&b, "%s%s at ", i == 0 ? "" : i == q->nr_deepest - 1 ? " and " : ", ", q->deepest[i]->model);
			level_words(&b, c->cfg, q->deepest[i]->level);
		}
		cmp_fmt_us(w, sizeof(w), q->deep->wait_p99_us, " ");
		if (q->nr_deepest == 1)
			sb_add(&b, " (%ld connections waiting, p99 wait %s)", depth, w);
		else
			sb_add(&b, " (%ld connections waiting)", depth);
	}
	if (q->nr_deepest != 1 || q->slow->wait_p99_us > q->deep->wait_p99_us) {
		cmp_fmt_us(w, sizeof(w), q->slow->wait_p99_us, " ");
		sb_add(&b, "; connections waited longest under %s at ", q->slow->model);
		level_words(&b, c->cfg, q->slow->level);
		sb_add(&b, " (p99 %s)", w);
	}
	sb_add(&b, ".");
	finding(&c->out, &b);
}

/* Unless said for every level already, how deep it got at the other levels. */
static void queue_other_levels(struct ctx *c, const struct queue_extremes *q)
{
	struct sb b = {};

	for (int l = 0; q->nr_deepest < q->ok && l < c->cfg->nr_levels && c->cfg->nr_levels > 1; l++) {
		long most = -1;

		for (int m = 0; m < c->cfg->nr_models; m++) {
			const struct cmp_run *r = find_run(c, c->cfg->models[m], &c->cfg->levels[l]);

			if (r && r->depth_max > most)
				most = r->depth_max;
		}
		if (most < 0 || most == q->deep->depth_max)
			continue;
		sb_add(&b, "At ");
		level_words(&b, c->cfg, &c->cfg->levels[l]);
		sb_add(&b, " no accept queue held more than %ld connection%s.", most, most == 1 ? "" : "s");
		finding(&c->out, &b);
	}
}

static void queue_overflows(struct ctx *c)
{
	bool unknown = false, dropped = false;
	struct sb b = {};

	for (int i = 0; i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		unknown |= r->ok && !r->overflows_known;
		dropped |= r->ok && r->overflows_known && r->overflows;
	}
	for (int i = 0; dropped && i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		if (!r->ok || !r->overflows_known || !r->overflows)
			continue;
		sb_add(&b, "%s dropped %llu connection attempt%s from a full accept queue at ", r->model,
		       (unsigned long long)r->overflows, r->overflows == 1 ? "" : "s");
		level_words(&b, c->cfg, r->level);
		sb_add(&b, ".");
		finding(&c->out, &b);
	}
	if (dropped)
		return;
	if (!unknown)
		sb_add(&b, "No connection was dropped from a full accept queue.");
	else
		sb_add(&b, "Accept-queue overflows could not be counted in some runs (n/a); none were seen in the others.");
	finding(&c->out, &b);
}

static void find_queue(struct ctx *c)
{
	struct queue_extremes q;

	if (!queue_extremes(c, &q))
		return;
	queue_deepest(c, &q);
	queue_other_levels(c, &q);
	queue_overflows(c);
}

/* ---- the checks, the client's troubles, the failures ---- */

static bool counts_agree(const struct cmp_run *r)
{
	return r->threads_match && r->accepted == r->server_accepts && r->server_accepts == r->client_connections;
}

static void find_checks(struct ctx *c)
{
	uint64_t total = 0;
	int good = 0, ok = 0;
	struct sb b = {};

	for (int i = 0; i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		if (!r->ok)
			continue;
		ok++;
		if (counts_agree(r)) {
			good++;
			total += r->client_connections;
			continue;
		}
		sb_add(&b, "In %s at ", r->model);
		level_words(&b, c->cfg, r->level);
		sb_add(&b, " the tracer counted %llu accepted connections, the server %llu and the client opened %llu%s.",
		       (unsigned long long)r->accepted, (unsigned long long)r->server_accepts,
		       (unsigned long long)r->client_connections,
		       r->threads_match ? "" : "; the per-thread counts differ");
		finding(&c->out, &b);
	}
	if (good && good == ok) {
		sb_add(&b, "In every run the tracer's per-thread accepts, empty accepts and reads equal the server's own counters, and its accepted connections the %llu the clients opened.",
		       (unsigned long long)total);
		finding(&c->out, &b);
	}
}

static void find_client_trouble(struct ctx *c)
{
	struct sb b = {};

	for (int i = 0; i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		if (!r->ok || !(r->client_errors || r->not_started))
			continue;
		sb_add(&b, "The client");
		if (r->client_errors)
			sb_add(&b, " saw %llu error%s", (unsigned long long)r->client_errors, r->client_errors == 1 ? "" : "s");
		if (r->not_started)
			sb_add(&b, "%s could not start %llu connection%s in time (too many in flight)",
			       r->client_errors ? " and" : "", (unsigned long long)r->not_started, r->not_started == 1 ? "" : "s");
		sb_add(&b, " with %s at ", r->model);
		level_words(&b, c->cfg, r->level);
		sb_add(&b, ".");
		finding(&c->out, &b);
	}
}

static void find_failures(struct ctx *c)
{
	struct sb b = {};

	for (int i = 0; i < c->n; i++) {
		const struct cmp_run *r = &c->runs[i];

		if (r->ok)
			continue;
		sb_add(&b, "%s at ", r->model);
		level_words(&b, c->cfg, r->level);
		sb_add(&b, " failed: %s.", r->error);
		finding(&c->out, &b);
	}
}

char **cmp_findings(const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	static void (*const finders[])(struct ctx *) = {
		find_throughput, find_acceptors, find_readers, find_empty, find_skew, find_queue,
		find_checks, find_client_trouble, find_failures,
	};
	struct ctx c = { .cfg = cfg, .runs = runs, .n = n };

	for (size_t i = 0; i < sizeof(finders) / sizeof(finders[0]); i++)
		finders[i](&c);
	if (!c.out.v)
		c.out.v = calloc(1, sizeof(*c.out.v));
	return c.out.v;
}
