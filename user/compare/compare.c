// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: its command line, what is refused before any run, every model at
 * every level, and the report.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "compare.h"
#include "session.h"

volatile sig_atomic_t cmp_interrupted;

#define LIGHT_CONNS 2
#define SATURATED_CONNS 64
#define MAX_CONNS 10000

static const char doc[] =
"Run each acceptscope-demo accept model under the same load from acceptscope-load, trace it, "
"and compare: requests/s and latency (client), accept-queue depth, wait and overflows, empty "
"accepts, how evenly the threads shared accepts and reads (tracer), checked against the "
"server's own per-thread counters.  Needs root (or CAP_BPF and CAP_PERFMON).  "
"acceptscope-demo and acceptscope-load are taken from this binary's directory."
"\v"
"LEVELS (--levels, comma-separated; default light,saturated):\n"
"  light      closed loop, 2 connections in flight\n"
"  saturated  closed loop, 64 connections in flight\n"
"  N          closed loop, N connections in flight (shown as cN)\n"
"\n"
"Every request is a new connection.  A run that fails (or exceeds its deadline, when all its "
"processes are killed) is reported as failed and the others still run.\n"
"\n"
"EXIT STATUS: 0 every run succeeded, 1 some run failed, 2 bad arguments, no privilege, or an "
"--html FILE or --timeline DIR that cannot be written (refused before any run starts), 130 interrupted.\n"
"\n"
"EXAMPLES:\n"
"  acceptscope compare                    # all models, light and saturated\n"
"  acceptscope compare -m dispatch,shared-epoll -d 5 --html report.html\n"
"  acceptscope compare --levels 1,8,64 --models shared-exclusive --json\n"
"  acceptscope compare --levels light --timeline pages/   # a timeline per model\n";

static const struct argp_option options[] = {
	{ .name = "models", .key = 'm', .arg = "LIST",
	  .doc = "Comma-separated demo models (default: every one acceptscope-demo --list-models names)" },
	{ .name = "threads", .key = 't', .arg = "N", .doc = "Server threads, 1..1024 (default 4)" },
	{ .name = "duration", .key = 'd', .arg = "S", .doc = "Seconds of load per model and level (default 3)" },
	{ .name = "levels", .key = 'l', .arg = "LIST",
	  .doc = "Load levels, comma-separated (default light,saturated; see LEVELS)" },
	{ .name = "connections", .key = 'c', .arg = "C",
	  .doc = "Connections in flight at every level (overrides the levels')" },
	{ .name = "rate", .key = 'r', .arg = "R",
	  .doc = "Open loop: R new connections per second at every level; the level's connection count is then "
		 "the most allowed in flight" },
	{ .name = "work-us", .key = 'w', .arg = "U",
	  .doc = "The server burns U microseconds of CPU per request (default 0)" },
	{ .name = "json", .key = 'j', .doc = "Print one JSON document instead of the table" },
	{ .name = "html", .key = 'o', .arg = "FILE",
	  .doc = "Also write a self-contained HTML report to FILE (opened before the runs; removed again if "
		 "compare created it and is interrupted)" },
	{ .name = "timeline", .key = 'T', .arg = "DIR",
	  .doc = "Also trace every event and draw each run as a timeline page, DIR/MODEL-LEVEL.html, with "
		 "DIR/index.html linking them (DIR made if missing)" },
	{},
};

/* What the parser keeps until the model list is known. */
struct args {
	struct cmp_config *cfg;
	char *models;		/* --models, checked against the demo server's list */
};

/* Split a comma list into @items in place; every item non-empty.  The number, or -1. */
static int split_list(char *s, char **items, int max)
{
	int n = 0;
	char *save = NULL;

	if (!*s || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return -1;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n;
}

/* @name as a level ("light", "saturated" or a number of connections) into @l. */
static bool parse_level(const char *name, struct cmp_level *l)
{
	char *end;
	long v;

	*l = (struct cmp_level){ .connections = !strcmp(name, "light") ? LIGHT_CONNS :
						!strcmp(name, "saturated") ? SATURATED_CONNS : 0 };
	if (l->connections) {
		snprintf(l->name, sizeof(l->name), "%s", name);
		return true;
	}
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || end == name || *end || v < 1 || v > MAX_CONNS)
		return false;
	l->connections = v;
	l->counted = true;
	snprintf(l->name, sizeof(l->name), "c%ld", v);
	return true;
}

static void parse_levels(struct argp_state *state, struct cmp_config *cfg, char *arg)
{
	char *items[CMP_MAX_LEVELS], *list = strdupa(arg);
	int n = split_list(arg, items, CMP_MAX_LEVELS);

	if (n < 0)
		argp_error(state, "invalid level list '%s' (at most %d)", list, CMP_MAX_LEVELS);
	cfg->nr_levels = 0;
	for (int i = 0; i < n; i++) {
		struct cmp_level *l = &cfg->levels[cfg->nr_levels];

		if (!parse_level(items[i], l))
			argp_error(state, "unknown level '%s' (light, saturated or a number of connections 1..%d)",
				   items[i], MAX_CONNS);
		for (int j = 0; j < cfg->nr_levels; j++)
			if (!strcmp(cfg->levels[j].name, l->name))
				argp_error(state, "level '%s' given twice", items[i]);
		cfg->nr_levels++;
	}
}

static double parse_rate(struct argp_state *state, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > 1e7)
		argp_error(state, "invalid rate '%s' (connections per second, > 0)", arg);
	return v;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	struct cmp_config *cfg = a->cfg;

	switch (key) {
	case 'm': a->models = arg; break;
	case 't': cfg->threads = cli_long(state, arg, 1, 1024, "thread count"); break;
	case 'd': cfg->duration = cli_secs(state, arg, 0, 3600, "duration"); break;
	case 'c': cfg->connections = cli_long(state, arg, 1, MAX_CONNS, "connection count"); break;
	case 'r': cfg->rate = parse_rate(state, arg); break;
	case 'w': cfg->work_us = cli_long(state, arg, 0, 10000000, "--work-us"); break;
	case 'l': parse_levels(state, cfg, arg); break;
	case 'j': cfg->json = true; break;
	case 'o':
		if (!*arg)
			argp_error(state, "empty --html file name");
		cfg->html = arg;
		break;
	case 'T':
		if (!*arg)
			argp_error(state, "empty --timeline directory name");
		cfg->timeline_dir = arg;
		break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Exit 2 with one line, as for a bad argument. */
static void usage_error(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "acceptscope compare: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(2);
}

/* --models (or every model) against the demo server's list. */
static void choose_models(struct cmp_config *cfg, char *arg)
{
	char *items[CMP_MAX_MODELS], names[CMP_MAX_MODELS * 40] = "";
	int n;

	for (int i = 0; i < cfg->nr_known; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			 cfg->known[i].name);
	cfg->nr_models = 0;
	if (!arg) {
		for (int i = 0; i < cfg->nr_known; i++)
			cfg->models[cfg->nr_models++] = cfg->known[i].name;
		return;
	}
	n = split_list(strdupa(arg), items, CMP_MAX_MODELS);
	if (n < 0)
		usage_error("invalid model list '%s'%s", arg, "");
	for (int i = 0; i < n; i++) {
		const struct cmp_model *m = find_model(cfg, items[i]);

		if (!m)
			usage_error("unknown model '%s' (%s)", items[i], names);
		for (int j = 0; j < cfg->nr_models; j++)
			if (cfg->models[j] == m->name)
				usage_error("model '%s' given twice%s", items[i], "");
		cfg->models[cfg->nr_models++] = m->name;
	}
}

static void parse_args(struct cmp_config *cfg, int argc, char **argv, char **models)
{
	static const struct argp argp = { .options = options, .parser = parse_opt, .doc = doc };
	struct args a = { .cfg = cfg };
	char *prog = program_invocation_short_name;

	/* Errors and --help name the subcommand. */
	program_invocation_short_name = "acceptscope compare";
	cli_parse(&argp, argc, argv, &a);
	program_invocation_short_name = prog;
	if (!cfg->nr_levels) {
		parse_level("light", &cfg->levels[0]);
		parse_level("saturated", &cfg->levels[1]);
		cfg->nr_levels = 2;
	}
	*models = a.models;
}

static void on_signal(int sig)
{
	(void)sig;
	cmp_interrupted = 1;
}

/* acceptscope-demo and acceptscope-load, beside this binary. */
static int find_binaries(struct cmp_config *cfg)
{
	char self[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		fprintf(stderr, "acceptscope compare: cannot read /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	dir = dirname(self);
	snprintf(cfg->demo_bin, sizeof(cfg->demo_bin), "%.*s/acceptscope-demo", PATH_MAX - 32, dir);
	snprintf(cfg->load_bin, sizeof(cfg->load_bin), "%.*s/acceptscope-load", PATH_MAX - 32, dir);
	if (access(cfg->demo_bin, X_OK) || access(cfg->load_bin, X_OK)) {
		fprintf(stderr, "acceptscope compare: %s or %s is missing (build them with make)\n", cfg->demo_bin,
			cfg->load_bin);
		return -1;
	}
	return 0;
}

static void remove_tmpdir(const char *dir)
{
	static const char *const files[] = { "demo.err", "stats.json", "load.json", "load.err" };
	char path[PATH_MAX + 64];

	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "%s/run%d", dir, i);
		if (access(path, F_OK))
			break;
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			snprintf(path, sizeof(path), "%s/run%d/%s", dir, i, files[f]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/run%d", dir, i);
		rmdir(path);
	}
	rmdir(dir);
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Everything that can be known to fail before the first run is checked here, so that compare
 * refuses at once instead of after minutes of runs: privilege, the --html file (opened now:
 * see cmp_html_open).  0, or compare's exit status: 2 when it cannot run as asked (like bad
 * arguments), 1 when this system cannot run it.
 */
static int prepare(struct cmp_config *cfg, struct cmp_html_out *html, struct atomic_file *index)
{
	/* Every run loads BPF programs: without the privilege to, each would fail the same way,
	 * one after another.  Decided as the tracer decides it. */
	const char *why = session_refusal();

	if (why) {
		fprintf(stderr, "acceptscope compare: %s\n", why);
		return 2;
	}
	/* From here a signal only stops compare at the next check, which removes what it made. */
	catch_signals();
	if (cfg->html && cmp_html_open(html, cfg->html)) {
		fprintf(stderr, "acceptscope compare: cannot write --html %s: %s\n", cfg->html, strerror(errno));
		return 2;
	}
	if (cfg->timeline_dir && (why = cmp_timeline_prepare(cfg, index))) {
		fprintf(stderr, "acceptscope compare: cannot write --timeline %s: %s\n", cfg->timeline_dir, why);
		cmp_html_discard(html);
		return 2;
	}
	snprintf(cfg->tmpdir, sizeof(cfg->tmpdir), "/tmp/acceptscope-compare.XXXXXX");
	if (!mkdtemp(cfg->tmpdir)) {
		fprintf(stderr, "acceptscope compare: cannot create a directory in /tmp: %s\n", strerror(errno));
		cmp_html_discard(html);
		atomic_discard(index);
		return 1;
	}
	return 0;
}

/* Run every model at every level into @runs; the number run (all but when interrupted). */
static int run_all(const struct cmp_config *cfg, struct cmp_run *runs, int *failed)
{
	int n = 0;

	for (int m = 0; m < cfg->nr_models && !cmp_interrupted; m++) {
		for (int l = 0; l < cfg->nr_levels && !cmp_interrupted; l++) {
			struct cmp_run *r = &runs[n];

			r->model = cfg->models[m];
			r->level = &cfg->levels[l];
			r->connections = cfg->connections ? cfg->connections : cfg->levels[l].connections;
			if (cmp_run_one(cfg, r, n, cfg->nr_models * cfg->nr_levels) < 0) {
				cmp_run_free(r);
				return n;
			}
			n++;
			if (!r->ok) {
				(*failed)++;
				fprintf(stderr, "acceptscope compare: %s at %s failed: %s\n", r->model, r->level->name,
					r->error);
			}
		}
	}
	return n;
}

/* The table or the JSON document on stdout, the --html report and the --timeline index; 1 if
 * one failed. */
static int report(const struct cmp_config *cfg, struct cmp_html_out *html, struct atomic_file *index,
		  const struct cmp_run *runs, int n, char **findings)
{
	char path[PATH_MAX + 16];

	if (cfg->json) {
		json_object *doc = cmp_json(cfg, runs, n, findings);

		printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(doc);
	} else {
		cmp_print_table(stdout, cfg, runs, n, findings);
	}
	fflush(stdout);
	if (cfg->html && cmp_write_html(html, cfg, runs, n, findings)) {
		fprintf(stderr, "acceptscope compare: cannot write %s: %s\n", cfg->html, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/index.html", cfg->timeline_dir ? cfg->timeline_dir : ".");
	if (cfg->timeline_dir && cmp_timeline_index(index, cfg, runs, n)) {
		fprintf(stderr, "acceptscope compare: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 0; cfg->timeline_dir && i < n; i++)
		if (runs[i].ok && !runs[i].timeline_written)
			return 1;	/* its page could not be written: said on stderr */
	return 0;
}

static int silent(enum libbpf_print_level level, const char *format, va_list args)
{
	(void)level, (void)format, (void)args;
	return 0;
}

/* Arguments, the demo server's models, the refusals; 0 or the exit status. */
static int setup(struct cmp_config *cfg, struct cmp_html_out *html, struct atomic_file *index, int argc,
		 char **argv)
{
	char *models;

	parse_args(cfg, argc, argv, &models);
	if (find_binaries(cfg) || load_models(cfg))
		return 1;
	choose_models(cfg, models);
	libbpf_set_print(silent);
	return prepare(cfg, html, index);
}

int compare_main(int argc, char **argv)
{
	static struct cmp_config cfg = { .threads = 4, .duration = 3 };
	struct cmp_html_out html = {};
	struct atomic_file index = {};
	struct cmp_run *runs;
	char **findings = NULL;
	int n = 0, failed = 0, ret;

	if ((ret = setup(&cfg, &html, &index, argc, argv)))
		return ret;
	runs = calloc(cfg.nr_models * cfg.nr_levels, sizeof(*runs));
	if (runs)
		n = run_all(&cfg, runs, &failed);
	cmp_kill_children();
	if (getenv("ACCEPTSCOPE_COMPARE_KEEP"))	/* for debugging: what the children wrote */
		fprintf(stderr, "acceptscope compare: the children's output is in %s\n", cfg.tmpdir);
	else
		remove_tmpdir(cfg.tmpdir);
	if (!runs) {
		fprintf(stderr, "acceptscope compare: out of memory\n");
		ret = 1;
	} else if (cmp_interrupted) {
		fprintf(stderr, "acceptscope compare: interrupted; every child process stopped\n");
		ret = 130;
	} else {
		findings = cmp_findings(&cfg, runs, n);
		ret = report(&cfg, &html, &index, runs, n, findings) || failed ? 1 : 0;
	}
	cmp_html_discard(&html);	/* once the report is written, a no-op */
	atomic_discard(&index);
	cmp_findings_free(findings);
	for (int i = 0; i < n; i++)
		cmp_run_free(&runs[i]);
	free(runs);
	return ret;
}
