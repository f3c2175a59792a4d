// SPDX-License-Identifier: GPL-2.0
/* acceptscope-load: counting results, and printing them as text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "escape.h"
#include "load.h"

#define NO_WORKER "-"		/* responses without an X-Worker header */
#define OVERFLOW_WORKER "(other)"

static const char *const err_names[NR_ERR_KINDS] = {
	[ERR_REFUSED] = "refused",
	[ERR_RESET] = "reset",
	[ERR_CLOSED] = "closed",
	[ERR_TIMEOUT] = "timeout",
	[ERR_OTHER] = "other",
	[ERR_HTTP] = "http",
};

/* ---- counting ---- */

void stats_error(struct load_stats *st, enum err_kind kind, int cause)
{
	int i;

	st->errors[kind]++;
	if (kind != ERR_OTHER)
		return;
	for (i = 0; i < OTHER_SLOTS; i++) {
		if (!st->other_causes[i].count || st->other_causes[i].cause == cause)
			break;
	}
	if (i == OTHER_SLOTS) {
		/* Too many distinct causes: the last slot becomes "various". */
		i = OTHER_SLOTS - 1;
		cause = 0;
	}
	st->other_causes[i].cause = cause;
	st->other_causes[i].count++;
}

uint64_t stats_errors_total(const struct load_stats *st)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < NR_ERR_KINDS; i++)
		total += st->errors[i];
	return total;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void count_worker(struct load_stats *st, const char *name)
{
	uint32_t i = hash_name(name) % WORKER_SLOTS, probes;
	struct worker_slot *w;

	for (probes = 0; probes < WORKER_SLOTS; probes++, i = (i + 1) % WORKER_SLOTS) {
		w = &st->workers[i];
		if (!w->count) {
			if (st->nworkers >= WORKER_SLOTS * 3 / 4)
				break;
			strcpy(w->name, name);
			st->nworkers++;
		} else if (strcmp(w->name, name)) {
			continue;
		}
		w->count++;
		return;
	}
	st->workers_overflow++;
}

void stats_response(struct load_stats *st, int status, const char *worker)
{
	st->status[status >= 0 && status < STATUS_MAX ? status : 0]++;
	count_worker(st, *worker ? worker : NO_WORKER);
}

/* ---- shared helpers ---- */

static const char *cause_name(int cause, char *buf, size_t len)
{
	const char *name;

	switch (cause) {
	case 0:
		return "various";
	case CAUSE_BAD_RESPONSE:
		return "bad_response";
	case CAUSE_HEADERS_TOO_BIG:
		return "headers_too_big";
	case CAUSE_EXTRA_DATA:
		return "extra_data";
	}
	name = strerrorname_np(cause);
	if (name)
		return name;
	snprintf(buf, len, "errno_%d", cause);
	return buf;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Numeric values in numeric order, then the rest alphabetically. */
static int cmp_workers(const void *a, const void *b)
{
	const struct worker_slot *x = *(const struct worker_slot *const *)a;
	const struct worker_slot *y = *(const struct worker_slot *const *)b;
	bool dx = all_digits(x->name), dy = all_digits(y->name);
	size_t lx = strlen(x->name), ly = strlen(y->name);

	if (dx != dy)
		return dx ? -1 : 1;
	if (dx && lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sorted pointers to the used worker slots; the caller frees.  NULL if none. */
static const struct worker_slot **sorted_workers(const struct load_stats *st, uint32_t *n)
{
	const struct worker_slot **v;
	uint32_t i;

	*n = 0;
	if (!st->nworkers)
		return NULL;
	v = calloc(st->nworkers, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < WORKER_SLOTS; i++)
		if (st->workers[i].count)
			v[(*n)++] = &st->workers[i];
	qsort(v, *n, sizeof(*v), cmp_workers);
	return v;
}

/* An X-Worker value comes from the peer: a hostile server could put terminal
 * escapes or invalid UTF-8 there.  Shown, in text and JSON, only as escaped
 * text (printable, valid UTF-8); counted under its raw value. */
struct worker_label {
	char text[ESCAPED_LEN(WORKER_LEN)];
};

static const char *worker_label(struct worker_label *label, const struct worker_slot *w)
{
	return escape_text(label->text, sizeof(label->text), w->name, sizeof(w->name));
}

static double elapsed_s(const struct load_stats *st)
{
	return (double)st->elapsed_ns / 1e9;
}

static double rps(const struct load_stats *st)
{
	return st->elapsed_ns ? (double)st->answered / elapsed_s(st) : 0.0;
}

static const char *mode_name(const struct load_cfg *cfg)
{
	return cfg->keepalive ? "keepalive" : "close";
}

struct pct {
	const char *name;
	double q;
};

static const struct pct pcts[] = {
	{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "p999", 0.999 },
};

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* ---- text ---- */

static void text_hist_row(const char *name, const struct hist *h)
{
	size_t i;

	printf("  %-10s", name);
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(" %10.1f", us(hist_quantile(h, pcts[i].q)));
	printf(" %10.1f %10.1f  (%lu)\n", us(h->max), hist_mean(h) / 1000.0, (unsigned long)h->count);
}

static void text_workers(const struct load_stats *st)
{
	const struct worker_slot **w;
	struct worker_label label;
	uint32_t n, i;

	w = sorted_workers(st, &n);
	printf("workers     %u distinct X-Worker value%s\n", n + (st->workers_overflow ? 1 : 0),
	       n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		printf("  %-20s %10lu  %5.1f%%\n", worker_label(&label, w[i]), (unsigned long)w[i]->count,
		       st->answered ? 100.0 * (double)w[i]->count / (double)st->answered : 0.0);
	if (st->workers_overflow)
		printf("  %-20s %10lu\n", OVERFLOW_WORKER, (unsigned long)st->workers_overflow);
	free(w);
}

void report_text(const struct load_cfg *cfg, const struct load_stats *st)
{
	char buf[32];
	int i;

	printf("target      %s port %d, %s, ", cfg->host, cfg->port,
	       cfg->keepalive ? "keep-alive connections" : "new connection per request");
	if (cfg->rate > 0)
		printf("open loop at %g/s, at most %u in flight\n", cfg->rate, cfg->connections);
	else
		printf("closed loop, %u in flight\n", cfg->connections);
	printf("requests    sent %lu, answered %lu, connections %lu", (unsigned long)st->sent,
	       (unsigned long)st->answered, (unsigned long)st->connections);
	if (cfg->rate > 0)
		printf(", not started %lu", (unsigned long)st->not_started);
	if (st->interrupted)
		printf(", aborted %lu (interrupted)", (unsigned long)st->aborted);
	printf("\nthroughput  %.1f requests/s over %.3f s\n", rps(st), elapsed_s(st));
	printf("errors      %lu", (unsigned long)stats_errors_total(st));
	for (i = 0; i < NR_ERR_KINDS; i++)
		printf("%s%s %lu", i ? ", " : " (", err_names[i], (unsigned long)st->errors[i]);
	printf(")\n");
	for (i = 0; i < OTHER_SLOTS && st->other_causes[i].count; i++)
		printf("  other: %s %lu\n", cause_name(st->other_causes[i].cause, buf, sizeof(buf)),
		       (unsigned long)st->other_causes[i].count);
	printf("status     ");
	for (i = 0; i < STATUS_MAX; i++)
		if (st->status[i])
			printf(" %d: %lu", i, (unsigned long)st->status[i]);
	if (!st->answered)
		printf(" (no responses)");
	printf("\ntimes (us)          p50        p90        p99      p99.9        max       mean  (count)\n");
	text_hist_row("connect", &st->connect_ns);
	text_hist_row("latency", &st->latency_ns);
	text_workers(st);
}

/* ---- JSON ---- */

/* A number printed as @fmt says ("%.1f": one decimal, as in the text report). */
static json_object *json_double(double v, const char *fmt)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static json_object *json_hist(const struct hist *h)
{
	json_object *o = json_object_new_object();
	size_t i;

	add_u64(o, "count", h->count);
	json_object_object_add(o, "min", json_double(us(h->min), "%.1f"));
	json_object_object_add(o, "mean", json_double(hist_mean(h) / 1000.0, "%.1f"));
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double v = us(hist_quantile(h, pcts[i].q));

		json_object_object_add(o, pcts[i].name, json_double(v, "%.1f"));
	}
	json_object_object_add(o, "max", json_double(us(h->max), "%.1f"));
	return o;
}

static json_object *json_workers(const struct load_stats *st)
{
	json_object *o = json_object_new_object();
	const struct worker_slot **w;
	struct worker_label label;
	uint32_t n, i;

	w = sorted_workers(st, &n);
	for (i = 0; i < n; i++)
		add_u64(o, worker_label(&label, w[i]), w[i]->count);
	if (st->workers_overflow)
		add_u64(o, OVERFLOW_WORKER, st->workers_overflow);
	free(w);
	return o;
}

/* errors per kind and their total; other_causes; responses per status. */
static void json_outcomes(json_object *root, const struct load_stats *st)
{
	json_object *errors = json_object_new_object(), *causes = json_object_new_object();
	json_object *status = json_object_new_object();
	char buf[32];
	int i;

	for (i = 0; i < NR_ERR_KINDS; i++)
		add_u64(errors, err_names[i], st->errors[i]);
	add_u64(errors, "total", stats_errors_total(st));
	json_object_object_add(root, "errors", errors);
	for (i = 0; i < OTHER_SLOTS && st->other_causes[i].count; i++)
		add_u64(causes, cause_name(st->other_causes[i].cause, buf, sizeof(buf)),
			st->other_causes[i].count);
	json_object_object_add(root, "other_causes", causes);
	for (i = 0; i < STATUS_MAX; i++) {
		if (!st->status[i])
			continue;
		snprintf(buf, sizeof(buf), "%d", i);
		add_u64(status, buf, st->status[i]);
	}
	json_object_object_add(root, "status", status);
}

void report_json(const struct load_cfg *cfg, const struct load_stats *st)
{
	json_object *o = json_object_new_object();

	/* --host parsed as an address or localhost: plain ASCII. */
	json_object_object_add(o, "host", json_object_new_string(cfg->host));
	json_object_object_add(o, "port", json_object_new_int(cfg->port));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(cfg)));
	add_u64(o, "connections_max", cfg->connections);
	json_object_object_add(o, "rate", json_double(cfg->rate, "%g"));
	add_u64(o, "sent", st->sent);
	add_u64(o, "answered", st->answered);
	add_u64(o, "connections", st->connections);
	add_u64(o, "not_started", st->not_started);
	add_u64(o, "aborted", st->aborted);
	json_outcomes(o, st);
	json_object_object_add(o, "duration_s", json_double(elapsed_s(st), "%.3f"));
	json_object_object_add(o, "rps", json_double(rps(st), "%.1f"));
	json_object_object_add(o, "connect_us", json_hist(&st->connect_ns));
	json_object_object_add(o, "latency_us", json_hist(&st->latency_ns));
	json_object_object_add(o, "workers", json_workers(st));
	/* Worker names are escaped text: valid UTF-8, no controls; '/' stays as it is. */
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}
