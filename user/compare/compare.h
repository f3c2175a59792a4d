/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `acceptscope compare`, inside: compare.c (options, entry), models.c (the demo's model
 * list), proc.c (child processes), run.c (one model at one load level), figures.c (what a
 * run measured), columns.c (the table's columns), text.c (a growing string), findings.c
 * (the sentences), table.c (terminal), json.c, html.c (the report), report_file.c (the
 * --html file), timeline.c (the --timeline pages).
 */
#ifndef ACCEPTSCOPE_COMPARE_INTERNAL_H
#define ACCEPTSCOPE_COMPARE_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "acceptscope.h"
#include "atomic_file.h"
#include "escape.h"
#include "timeline.h"
#include "../compare.h"

#define CMP_MAX_MODELS 16
#define CMP_MAX_LEVELS 8

/* One model of acceptscope-demo, as its --list-models names it. */
struct cmp_model {
	char name[32];
	bool processes;		/* takes --processes */
	char summary[96];
};

struct cmp_level {
	char name[16];		/* "light", "saturated" or "cN" */
	int connections;	/* closed loop: in flight; open loop: the most in flight */
	bool counted;		/* given as a number of connections (named "cN") */
};

struct cmp_config {
	struct cmp_model known[CMP_MAX_MODELS];	/* every model the demo server has */
	int nr_known;
	const char *models[CMP_MAX_MODELS];	/* those to run: names in known[] */
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
	const char *timeline_dir;	/* --timeline DIR */
	char demo_bin[PATH_MAX], load_bin[PATH_MAX];
	char tmpdir[PATH_MAX];
};

/* One thread of the server: the tracer's figures and the server's own, matched by tid. */
struct cmp_thread {
	long pid, tid;
	char comm[ESCAPED_LEN(TASK_COMM_LEN)];
	char role[16];		/* from the server's stats ("acceptor", "worker", ...) */
	bool traced, in_server;
	uint64_t accepts, empty_accepts, reads, read_bytes;	/* tracer */
	double accept_share, read_share;			/* tracer */
	uint64_t s_accepts, s_empty_accepts, s_reads, s_read_bytes, s_requests;	/* server */
	bool cpu_known;
	double cpu_pct;		/* CPU use during the load, % of one CPU (/proc, user/cpu.c) */
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
	bool cpu_known;
	double cpu_max_pct;	/* the busiest server thread's CPU use during the load */

	bool timeline_written;	/* its --timeline page is in the directory */

	struct cmp_thread *threads;
	int nr_threads;
	json_object *server_stats;	/* owned */
	json_object *hooks;		/* owned */
};

/* Set by SIGINT/SIGTERM of compare itself. */
extern volatile sig_atomic_t cmp_interrupted;

/* models.c: every model of @cfg->demo_bin into @cfg->known; -1 after one line on stderr. */
int load_models(struct cmp_config *cfg);
const struct cmp_model *find_model(const struct cmp_config *cfg, const char *name);

/* proc.c: children in a process group of their own that die with compare. */
/* Start @argv with stdin from /dev/null and stdout, stderr to @out, @err; @keep_fd (or -1)
 * stays open in the child.  -1 if it cannot be started. */
pid_t cmp_spawn(char *const argv[], int out, int err, int keep_fd);
/* Has @pid exited?  Its status to *status, and it is forgotten. */
bool cmp_reaped(pid_t pid, int *status);
/* Kill (SIGKILL) and reap every child still running. */
void cmp_kill_children(void);

/* run.c */
/* Run one model at one level; fills @run (run->ok false and run->error on failure).  Returns
 * -1 only when compare was interrupted; every child is gone when it returns. */
int cmp_run_one(const struct cmp_config *cfg, struct cmp_run *run, int index, int total);

/* figures.c: what a run measured, from what the client and the server wrote and what the
 * tracer counted. */
int cmp_read_load(struct cmp_run *run, const char *path);
int cmp_read_stats(struct cmp_run *run, const char *path);
struct snapshot;
struct hook_plan;
/* The tracer's listeners on the run's port, in its final (cumulative) @snap. */
int cmp_read_snapshot(struct cmp_run *run, const struct snapshot *snap, const struct hook_plan *plan);
/* Figures derived from the per-thread rows, once all three are read. */
void cmp_derive(struct cmp_run *run);
struct cpu_span;
/* Each server thread's CPU use over @span (the load), and the busiest one's. */
void cmp_read_cpu(struct cmp_run *run, const struct cpu_span *span);
void cmp_run_free(struct cmp_run *run);

/* columns.c: the columns of the table, the same in the terminal, JSON ("table") and HTML. */
enum cmp_format {
	CMP_RATE,	/* requests/s: JSON %.1f, shown %.0f */
	CMP_LATENCY,	/* microseconds: JSON %.1f, shown 123us / 4.5ms / 1.20s */
	CMP_WAIT,	/* whole microseconds: JSON %.0f, shown as CMP_LATENCY */
	CMP_COUNT,	/* JSON and shown %.0f */
	CMP_SHARE,	/* a fraction: JSON %.4f, shown 42% */
	CMP_INDEX,	/* Jain's index: JSON %.4f, shown %.2f */
	CMP_PERCENT,	/* a percentage: JSON %.1f, shown 42% */
	CMP_TEXT,	/* a string, JSON string */
};
struct cmp_value {
	bool null;		/* no value: JSON null, data-value "", shown as the column's null text */
	double num;
	const char *text;	/* CMP_TEXT */
};
struct cmp_column {
	const char *key;	/* JSON key and data-field */
	const char *head;	/* terminal/HTML column heading */
	const char *title;	/* longer description */
	enum cmp_format format;
	int width;		/* terminal: right-aligned in this width; 0: left-aligned, last */
	const char *null_shown;	/* shown for a null value */
	struct cmp_value (*get)(const struct cmp_run *run);
};
extern const struct cmp_column cmp_columns[];
extern const int cmp_nr_columns;
/* Column @c of @run: @val gets the JSON/data-value text ("" for null), @shown what the table
 * shows (a failed run shows "-").  False for null. */
bool cmp_cell(const struct cmp_column *c, const struct cmp_run *run, char *val, size_t vlen, char *shown,
	      size_t slen);
/* 123us, 4.5ms, 1.20s (@sep " ": 123 us, 4.5 ms, 1.20 s). */
void cmp_fmt_us(char *out, size_t len, double us, const char *sep);

/* text.c: a growing string, and the list of findings it builds. */
struct sb {
	char *s;
	size_t len, cap;
};
void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "a", "a and b", "a, b and c" */
void sb_list(struct sb *b, const char *const *items, int n);
struct findings {
	char **v;	/* NULL-terminated */
	int n;
};
/* Move @b's text onto @f as one finding; @b is empty again. */
void finding(struct findings *f, struct sb *b);
void cmp_findings_free(char **f);

/* findings.c: sentences stating what the figures show; NULL-terminated, free with
 * cmp_findings_free. */
char **cmp_findings(const struct cmp_config *cfg, const struct cmp_run *runs, int n);

/* table.c */
void cmp_print_table(FILE *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings);

/* json.c */
json_object *cmp_json(const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings);

/* html.c: the whole report into @f. */
void cmp_html_render(FILE *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings);

/* report_file.c: the --html file, opened before the first run and written after the last. */
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

/* timeline.c: --timeline DIR, a page per model and level and an index. */
struct cmp_timeline {
	struct timeline *tl;
	struct ring_buffer *rb;
	struct trace_sinks sinks;
};
struct session;
struct collector;
/* Before the first run: DIR made if missing, the index's temporary file created; NULL, or why not. */
const char *cmp_timeline_prepare(struct cmp_config *cfg, struct atomic_file *index);
/* Once the session traces the run (with trace records): a timeline fed by its ring buffer.  A no-op
 * without --timeline; -1 when it cannot be made. */
int cmp_timeline_start(struct cmp_timeline *t, const struct cmp_config *cfg, const struct cmp_run *run,
		       struct session *s);
/* The records so far; and a sample of the session's counters. */
void cmp_timeline_poll(struct cmp_timeline *t);
void cmp_timeline_sample(struct cmp_timeline *t, const struct snapshot *snap);
/* The page of the run, DIR/MODEL-LEVEL.html; -1 after a line on stderr. */
int cmp_timeline_write(struct cmp_timeline *t, const struct cmp_config *cfg, struct cmp_run *run,
		       struct collector *col);
void cmp_timeline_stop(struct cmp_timeline *t);
/* DIR/index.html, linking the pages of @runs; -1 with errno. */
int cmp_timeline_index(struct atomic_file *index, const struct cmp_config *cfg, const struct cmp_run *runs, int n);

#endif
