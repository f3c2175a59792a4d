// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare --json`: the whole comparison as one document. */
#include <stdarg.h>
#include <stdlib.h>
#include "compare.h"

/* A number written with @fmt, exactly as the text says. */
static json_object *jdouble(double v, const char *fmt)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

/* Counters: pairs of a key and a uint64_t, up to a NULL key. */
static void add_counts(json_object *o, ...)
{
	const char *key;
	va_list ap;

	va_start(ap, o);
	while ((key = va_arg(ap, const char *)))
		json_object_object_add(o, key, json_object_new_uint64(va_arg(ap, uint64_t)));
	va_end(ap);
}

/* The table's cells, with the values the terminal and the HTML report show. */
static json_object *table_json(const struct cmp_run *r)
{
	json_object *t = json_object_new_object();
	char val[64], shown[64];

	for (int i = 0; i < cmp_nr_columns; i++) {
		const struct cmp_column *c = &cmp_columns[i];
		json_object *v = NULL;

		if (cmp_cell(c, r, val, sizeof(val), shown, sizeof(shown)))
			v = c->format == CMP_TEXT ? json_object_new_string(val) : json_object_new_double_s(atof(val), val);
		add(t, c->key, v);
	}
	return t;
}

static json_object *client_json(const struct cmp_run *r)
{
	json_object *c = json_object_new_object();

	add(c, "rps", jdouble(r->rps, "%.1f"));
	add(c, "p50_us", jdouble(r->p50_us, "%.1f"));
	add(c, "p99_us", jdouble(r->p99_us, "%.1f"));
	add_counts(c, "sent", r->sent, "answered", r->answered, "connections", r->client_connections,
		   "errors", r->client_errors, "not_started", r->not_started, NULL);
	return c;
}

/* The accept-queue wait, the worst over the port's listeners. */
static json_object *wait_json(const struct cmp_run *r)
{
	const struct {
		const char *key;
		long us;
	} waits[] = { { "p50", r->wait_p50_us }, { "p90", r->wait_p90_us }, { "p99", r->wait_p99_us },
		      { "max", r->wait_max_us } };
	json_object *w = json_object_new_object();

	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		add(w, waits[i].key, json_object_new_int64(waits[i].us));
	return w;
}

static json_object *tracer_json(const struct cmp_run *r)
{
	json_object *t = json_object_new_object(), *h = json_object_new_array();

	add(t, "hooks", json_object_get(r->hooks));
	add(t, "listeners", json_object_new_int(r->nr_listeners));
	add_counts(t, "queued", r->queued, "accepted", r->accepted, "empty_accepts", r->empty_accepts, NULL);
	add(t, "depth_max", json_object_new_int64(r->depth_max));
	add(t, "wait_us", wait_json(r));
	add(t, "overflows", r->overflows_known ? json_object_new_uint64(r->overflows) : NULL);
	for (int i = 0; i < r->nr_hist; i++)
		json_object_array_add(h, json_object_new_uint64(r->depth_hist[i]));
	add(t, "depth_hist_log2", h);
	add(t, "jain", jdouble(r->jain, "%.6f"));
	add(t, "jain_reads", jdouble(r->jain_reads, "%.6f"));
	add(t, "busiest_share", jdouble(r->busiest_share, "%.6f"));
	add(t, "idlest_share", jdouble(r->idlest_share, "%.6f"));
	add(t, "jain_acceptors", jdouble(r->jain_acceptors, "%.6f"));
	add(t, "accepting_threads", json_object_new_int(r->accepting));
	add(t, "reading_threads", json_object_new_int(r->reading));
	add(t, "acceptor_threads", json_object_new_int(r->acceptors));
	add(t, "readers", json_object_new_string(r->readers));
	return t;
}

/* The server's own counters for the thread, or NULL when the server did not list it. */
static json_object *thread_server_json(const struct cmp_thread *th)
{
	json_object *s;

	if (!th->in_server)
		return NULL;
	s = json_object_new_object();
	add_counts(s, "accepts", th->s_accepts, "empty_accepts", th->s_empty_accepts, "reads", th->s_reads,
		   "read_bytes", th->s_read_bytes, "requests", th->s_requests, NULL);
	return s;
}

static json_object *thread_json(const struct cmp_thread *th)
{
	json_object *x = json_object_new_object();

	add(x, "tid", json_object_new_int64(th->tid));
	add(x, "pid", json_object_new_int64(th->pid));
	add(x, "comm", json_object_new_string(th->comm));
	add(x, "role", th->in_server ? json_object_new_string(th->role) : NULL);
	add_counts(x, "accepts", th->accepts, "empty_accepts", th->empty_accepts, "reads", th->reads,
		   "read_bytes", th->read_bytes, NULL);
	add(x, "accept_share", jdouble(th->accept_share, "%.6f"));
	add(x, "read_share", jdouble(th->read_share, "%.6f"));
	add(x, "cpu_pct", th->cpu_known ? jdouble(th->cpu_pct, "%.1f") : NULL);
	add(x, "server", thread_server_json(th));
	return x;
}

static json_object *checks_json(const struct cmp_run *r)
{
	json_object *chk = json_object_new_object();

	add_counts(chk, "tracer_accepted", r->accepted, "server_accepts", r->server_accepts, "client_connections",
		   r->client_connections, NULL);
	add(chk, "totals_match",
	    json_object_new_boolean(r->accepted == r->server_accepts && r->server_accepts == r->client_connections));
	add(chk, "per_thread_match", json_object_new_boolean(r->threads_match));
	return chk;
}

static json_object *run_json(const struct cmp_config *cfg, const struct cmp_run *r)
{
	json_object *o = json_object_new_object(), *ths;

	add(o, "model", json_object_new_string(r->model));
	add(o, "level", json_object_new_string(r->level->name));
	add(o, "connections", json_object_new_int(r->connections));
	add(o, "rate", cfg->rate > 0 ? jdouble(cfg->rate, "%g") : NULL);
	add(o, "status", json_object_new_string(r->ok ? "ok" : "failed"));
	add(o, "error", r->ok ? NULL : json_object_new_string(r->error));
	add(o, "port", r->port ? json_object_new_int(r->port) : NULL);
	add(o, "seconds", jdouble(r->secs, "%.2f"));
	add(o, "table", table_json(r));
	if (!r->ok)
		return o;
	add(o, "client", client_json(r));
	add(o, "tracer", tracer_json(r));
	ths = json_object_new_array();
	for (int i = 0; i < r->nr_threads; i++)
		json_object_array_add(ths, thread_json(&r->threads[i]));
	add(o, "threads", ths);
	add(o, "server", json_object_get(r->server_stats));
	add(o, "checks", checks_json(r));
	return o;
}

static json_object *config_json(const struct cmp_config *cfg)
{
	json_object *c = json_object_new_object(), *a = json_object_new_array();

	for (int i = 0; i < cfg->nr_models; i++)
		json_object_array_add(a, json_object_new_string(cfg->models[i]));
	add(c, "models", a);
	a = json_object_new_array();
	for (int i = 0; i < cfg->nr_levels; i++) {
		json_object *l = json_object_new_object();

		add(l, "name", json_object_new_string(cfg->levels[i].name));
		add(l, "connections", json_object_new_int(cfg->connections ? cfg->connections : cfg->levels[i].connections));
		json_object_array_add(a, l);
	}
	add(c, "levels", a);
	add(c, "threads", json_object_new_int(cfg->threads));
	add(c, "duration_s", jdouble(cfg->duration, "%g"));
	add(c, "rate", cfg->rate > 0 ? jdouble(cfg->rate, "%g") : NULL);
	add(c, "work_us", json_object_new_int64(cfg->work_us));
	add(c, "mode", json_object_new_string(cfg->rate > 0 ? "open loop" : "closed loop"));
	return c;
}

json_object *cmp_json(const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings)
{
	json_object *doc = json_object_new_object(), *a = json_object_new_array(), *f = json_object_new_array();

	add(doc, "config", config_json(cfg));
	for (int i = 0; i < n; i++)
		json_object_array_add(a, run_json(cfg, &runs[i]));
	add(doc, "runs", a);
	for (int i = 0; findings && findings[i]; i++)
		json_object_array_add(f, json_object_new_string(findings[i]));
	add(doc, "findings", f);
	return doc;
}
