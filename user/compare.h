/* SPDX-License-Identifier: GPL-2.0 */
/* `acceptscope compare`: shared between compare.c (CLI, orchestration), compare_run.c (one
 * model at one load level), compare_report.c (table, findings, JSON), compare_html.c. */
#ifndef ACCEPTSCOPE_COMPARE_H
#define ACCEPTSCOPE_COMPARE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "acceptscope.h"

#define CMP_MAX_MODELS 16
#define CMP_MAX_LEVELS 8

struct cmp_level {
	char name[16];		/* "light", "saturated" or "cN" */
	int connections;	/* closed loop: in flight; open loop: the most in flight */
};

struct cmp_config {
	const char *models[CMP_MAX_MODELS];
	int nr_models;
	struct cmp_level levels[CMP_MAX_LEVELS];
	int nr_levels;
	int threads;
	double duration;	/* seconds of load per run */
	int connections;	/* --connections: overrides every level's; 0 = the level's */
	double rate;		/* --rate: open loop, new connections per second; 0 = closed loop */
	long work_us;
	bool json;
	const char *html;
	char self_bin[PATH_MAX], demo_bin[PATH_MAX], load_bin[PATH_MAX];
	char tmpdir[PATH_MAX];
};

/* One thread of the server: the tracer's figures and the server's own, matched by tid. */
struct cmp_thread {
	long pid, tid;
	char comm[32];
	char role[16];		/* from the server's stats ("acceptor", "worker", ...) */
	bool traced, in_server;
	uint64_t accepts, empty_accepts, reads, read_bytes;	/* tracer */
	double accept_share, read_share;			/* tracer */
	uint64_t s_accepts, s_empty_accepts, s_reads, s_read_bytes, s_requests;	/* server */
};

struct cmp_run {
	const char *model;
	const struct cmp_level *level;
	int connections;
	bool ok;
	char error[256];
	int port;
	double secs;		/* wall time of the whole run */

	/* client (acceptscope-load) */
	double rps, p50_us, p99_us;
	uint64_t sent, answered, client_connections, client_errors, not_started;

	/* tracer, over the listeners on the run's port */
	int nr_listeners;
	uint64_t queued, accepted, empty_accepts;
	long depth_max;
	long wait_p50_us, wait_p90_us, wait_p99_us, wait_max_us;
	bool overflows_known;
	uint64_t overflows;
	uint64_t depth_hist[DEPTH_SLOTS];
	int nr_hist;
	double jain, jain_reads, busiest_share, idlest_share;
	double jain_acceptors;	/* Jain's index over the threads meant to accept, idle ones too */

	/* derived */
	int accepting;		/* threads the tracer saw accept a connection */
	int reading;		/* threads the tracer saw read */
	int acceptors;		/* threads meant to accept: non-"worker" roles, else all */
	char readers[24];	/* "acceptor", "workers", "each acceptor", "mixed", "none" */
	uint64_t server_accepts, server_empty_accepts, server_reads;
	bool threads_match;	/* per-thread accepts/empty/reads/bytes equal, tracer vs server */

	struct cmp_thread *threads;
	int nr_threads;
	json_object *server_stats;	/* owned */
	json_object *hooks;		/* owned */
};

/* Set by SIGINT/SIGTERM of compare itself. */
extern volatile sig_atomic_t cmp_interrupted;

/* compare_run.c */
/* Run one model at one level; fills @run (run->ok false and run->error on failure).  Returns
 * -1 only when compare was interrupted; every child is gone when it returns. */
int cmp_run_one(const struct cmp_config *cfg, struct cmp_run *run, int index, int total);
/* Kill (SIGKILL) and reap every child still running. */
void cmp_kill_children(void);
void cmp_run_free(struct cmp_run *run);
double cmp_now(void);

/* compare_report.c */
/* Sentences stating what the figures show; NULL-terminated, free with cmp_findings_free. */
char **cmp_findings(const struct cmp_config *cfg, const struct cmp_run *runs, int n);
void cmp_findings_free(char **f);
void cmp_print_table(FILE *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings);
json_object *cmp_json(const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings);

/* A table cell: the text shown and the exact value written to JSON and the HTML data-value
 * ("" and JSON null when there is none). */
enum cmp_kind { CMP_NUM, CMP_STR };
struct cmp_field {
	const char *key;	/* JSON key and data-field */
	const char *head;	/* terminal/HTML column heading */
	const char *title;	/* longer description */
};
extern const struct cmp_field cmp_fields[];
extern const int cmp_nr_fields;
/* Value of field @i of @run: @val gets the JSON/data-value text ("" for null), @shown what the
 * table shows.  Returns the kind, or -1 for null. */
int cmp_field_value(const struct cmp_run *run, int i, char *val, size_t vlen, char *shown, size_t slen);

/* compare_html.c */
/* The --html file, opened before the first run (see cmp_html_open) and written after the last. */
struct cmp_html_out {
	const char *path;
	FILE *f;
	bool created;		/* compare created it: removed again when no report is written */
	bool regular;		/* a regular file: truncated only when the report is written */
	bool writing;		/* the report is being written: the old content is gone */
	dev_t dev;
	ino_t ino;
};
/* Open @path for writing; -1 with errno when it cannot be (no such directory, a directory,
 * read-only, not permitted).  The file is close-on-exec: no child of compare holds it. */
int cmp_html_open(struct cmp_html_out *o, const char *path);
/* Write the report into @o and close it; -1 with errno on failure, when what was written is
 * removed (cmp_html_discard). */
int cmp_write_html(struct cmp_html_out *o, const struct cmp_config *cfg, const struct cmp_run *runs, int n,
		   char **findings);
/* No report after all (interrupted, or failed before the runs): close @o, and remove the file
 * if compare created it, or empty it if a report was being written into it. */
void cmp_html_discard(struct cmp_html_out *o);

/* `acceptscope compare ...`: argv[0] is "compare". */
int compare_main(int argc, char **argv);

#endif
