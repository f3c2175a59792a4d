/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus view: a snapshot (cumulative since start) as the text exposition
 * format 0.0.4 (README "Prometheus" lists every metric).  prom_render() is pure
 * apart from the state it is given, which keeps what must hold across scrapes:
 * counters that never go backwards, closed listeners shown once, the running
 * count of series the cap cut.  prom_http.c serves what it renders.
 *
 * Adding series from elsewhere (the hook): set prom_opts.extra; it is called once
 * per render, after acceptscope's own families and before the self metrics, with
 * a writer that applies the same series cap.  In it, write each family as
 *
 *	prom_family(w, "acceptscope_finding", "gauge", "What the diagnosis found");
 *	prom_labels_init(&l);
 *	prom_label_u64(&l, "port", 8080);
 *	prom_label_str(&l, "kind", "imbalance");	// any text: escaped here
 *	prom_sample_u64(w, "acceptscope_finding", &l, 1);
 *
 * Families must not repeat a name already written (one block per family).
 */
#ifndef ACCEPTSCOPE_PROMETHEUS_H
#define ACCEPTSCOPE_PROMETHEUS_H

#include <stdbool.h>
#include <stdio.h>
#include "collect.h"
#include "report.h"

#define PROM_DEFAULT_MAX_SERIES 10000
/* Bounds (le) of acceptscope_accept_wait_seconds, each the top of an in-kernel wait slot. */
#define PROM_WAIT_BUCKETS 25

/* --prometheus-threads: per-thread series by thread id, by process and thread name, or none. */
enum prom_threads {
	PROM_THREADS_TID,
	PROM_THREADS_NAME,
	PROM_THREADS_NONE,
};

struct prom_writer;
struct prom_state;

/* Called once per render to append series (see above); @arg is prom_opts.extra_arg. */
typedef void (*prom_extra_fn)(struct prom_writer *w, const struct snapshot *snap, void *arg);

struct prom_opts {
	const struct report_opts *ro;	/* which listeners (-p, -P) and the hook plan */
	enum prom_threads threads;
	long max_series;		/* series about listeners, ports, threads and extra */
	const char *version;		/* acceptscope_build_info{version} */
	double collect_secs;		/* part of acceptscope_scrape_duration_seconds */
	prom_extra_fn extra;
	void *extra_arg;
};

/* Kept across renders; one per exporter.  NULL when out of memory. */
struct prom_state *prom_state_new(void);
void prom_state_free(struct prom_state *st);

/*
 * Write the exposition of @snap to @f.  A listener that closed is written once
 * more (its final counts, the render after it closed), then no longer.  0, or
 * -EIO when @f failed.
 */
int prom_render(FILE *f, const struct snapshot *snap, const struct prom_opts *o, struct prom_state *st);

/* --prometheus-threads's argument; -1 if unknown. */
int prom_parse_threads(const char *s, enum prom_threads *out);
/* The wait bounds, ns (le = ns / 1e9): ns + 1 is where an in-kernel slot starts. */
const __u64 *prom_wait_bounds_ns(void);

/* For extra callbacks: labels of one sample, values escaped as the format wants. */
#define PROM_LABELS_MAX 1024
struct prom_labels {
	char s[PROM_LABELS_MAX];
	size_t len;
};

void prom_labels_init(struct prom_labels *l);
void prom_label_str(struct prom_labels *l, const char *name, const char *value);
void prom_label_u64(struct prom_labels *l, const char *name, unsigned long long value);
/* Text from the kernel (a comm): escape_text() first (as every view shows it), then the format's escaping. */
void prom_label_comm(struct prom_labels *l, const char *name, const char *comm);
/* "# HELP" and "# TYPE" of a family (@type: counter, gauge, histogram). */
void prom_family(struct prom_writer *w, const char *name, const char *type, const char *help);
/* One sample; false (and counted in acceptscope_series_dropped_total) when over the cap. */
bool prom_sample_u64(struct prom_writer *w, const char *name, const struct prom_labels *l, unsigned long long v);
bool prom_sample_double(struct prom_writer *w, const char *name, const struct prom_labels *l, double v);

/* findings_view.c: the diagnosis as acceptscope_finding gauges, a prom_extra_fn (@arg: report_opts with .diag). */
void prom_write_findings(struct prom_writer *w, const struct snapshot *snap, void *arg);

/* Escape @src as a label value (\ " and newline) into @dst; truncated at a whole escape.  Returns @dst. */
char *prom_escape_label(char *dst, size_t size, const char *src);

#endif
