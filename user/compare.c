// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: run every demo accept model under the same load, trace each with
 * acceptscope, and compare what the tracer, the server's own counters and the client saw.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "compare.h"
#include "privilege.h"

volatile sig_atomic_t cmp_interrupted;

static const char *const all_models[] = {
	"single", "dispatch", "reqdispatch", "reuseport",
	"shared-blocking", "shared-epoll", "shared-exclusive", "shared-mutex",
};
#define NR_ALL_MODELS (int)(sizeof(all_models) / sizeof(all_models[0]))

#define LIGHT_CONNS 2
#define SATURATED_CONNS 64

static const char usage_text[] =
"USAGE\n"
"  acceptscope compare [--models LIST] [--threads N] [--duration S] [--connections C]\n"
"      [--rate R] [--work-us U] [--levels LIST] [--json] [--html FILE]\n"
"\n"
"Run each acceptscope-demo accept model under the same load from acceptscope-load, trace\n"
"it with acceptscope, and compare: requests/s and latency (client), accept-queue depth,\n"
"wait and overflows, empty accepts, how evenly the threads shared accepts and reads\n"
"(tracer), checked against the server's own per-thread counters.  Needs root (or CAP_BPF\n"
"and CAP_PERFMON).  acceptscope-demo and acceptscope-load are taken from this binary's\n"
"directory.\n"
"\n"
"OPTIONS\n"
"  -m, --models LIST      comma-separated demo models (default: all of single, dispatch,\n"
"                         reqdispatch, reuseport, shared-blocking, shared-epoll,\n"
"                         shared-exclusive, shared-mutex)\n"
"  -t, --threads N        server threads, 1..1024 (default 4)\n"
"  -d, --duration S       seconds of load per model and level (default 3)\n"
"  -l, --levels LIST      load levels, comma-separated (default light,saturated):\n"
"                           light      closed loop, 2 connections in flight\n"
"                           saturated  closed loop, 64 connections in flight\n"
"                           N          closed loop, N connections in flight (shown as cN)\n"
"  -c, --connections C    connections in flight at every level (overrides the levels')\n"
"  -r, --rate R           open loop: R new connections per second at every level; the\n"
"                         level's connection count is then the most allowed in flight\n"
"  -w, --work-us U        the server burns U microseconds of CPU per request (default 0)\n"
"  -j, --json             print one JSON document instead of the table\n"
"  -o, --html FILE        also write a self-contained HTML report to FILE (opened before\n"
"                         the runs; removed again if compare created it and is interrupted)\n"
"  -h, --help             show this help\n"
"\n"
"Every request is a new connection.  A run that fails (or exceeds its deadline, when all\n"
"its processes are killed) is reported as failed and the others still run.\n"
"\n"
"EXIT STATUS\n"
"  0 every run succeeded, 1 some run failed, 2 bad arguments, no privilege, or an --html\n"
"  FILE that cannot be written (refused before any run starts), 130 interrupted.\n"
"\n"
"EXAMPLES\n"
"  acceptscope compare                                   # all models, light and saturated\n"
"  acceptscope compare -m dispatch,shared-epoll -d 5 --html report.html\n"
"  acceptscope compare --levels 1,8,64 --models shared-exclusive --json\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "acceptscope compare: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static long parse_long_arg(const char *arg, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		usage_error(what, arg);
	return v;
}

static double parse_double_arg(const char *arg, double max, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > max)
		usage_error(what, arg);
	return v;
}

/* Split a comma list into @list in place; every item non-empty. */
static int split_list(char *s, char **items, int max, const char *what)
{
	int n = 0;
	char *save = NULL, *tok;

	if (!*s || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		usage_error(what, s);
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			usage_error("too many items in '%s'", tok);
		items[n++] = tok;
	}
	return n;
}

static void parse_models(struct cmp_config *cfg, char *arg)
{
	char *items[CMP_MAX_MODELS];
	int n = split_list(arg, items, CMP_MAX_MODELS, "invalid model list '%s'");

	cfg->nr_models = 0;
	for (int i = 0; i < n; i++) {
		int k;

		for (k = 0; k < NR_ALL_MODELS; k++)
			if (!strcmp(items[i], all_models[k]))
				break;
		if (k == NR_ALL_MODELS)
			usage_error("unknown model '%s' (single, dispatch, reqdispatch, reuseport, shared-blocking, "
				    "shared-epoll, shared-exclusive, shared-mutex)", items[i]);
		for (int j = 0; j < cfg->nr_models; j++)
			if (!strcmp(cfg->models[j], all_models[k]))
				usage_error("model '%s' given twice", items[i]);
		cfg->models[cfg->nr_models++] = all_models[k];
	}
}

static void parse_levels(struct cmp_config *cfg, char *arg)
{
	char *items[CMP_MAX_LEVELS];
	int n = split_list(arg, items, CMP_MAX_LEVELS, "invalid level list '%s'");

	cfg->nr_levels = 0;
	for (int i = 0; i < n; i++) {
		struct cmp_level *l = &cfg->levels[cfg->nr_levels];

		if (!strcmp(items[i], "light")) {
			snprintf(l->name, sizeof(l->name), "light");
			l->connections = LIGHT_CONNS;
		} else if (!strcmp(items[i], "saturated")) {
			snprintf(l->name, sizeof(l->name), "saturated");
			l->connections = SATURATED_CONNS;
		} else {
			l->connections = parse_long_arg(items[i], 1, 10000,
							"unknown level '%s' (light, saturated or a number of connections 1..10000)");
			snprintf(l->name, sizeof(l->name), "c%d", l->connections);
		}
		for (int j = 0; j < cfg->nr_levels; j++)
			if (!strcmp(cfg->levels[j].name, l->name))
				usage_error("level '%s' given twice", items[i]);
		cfg->nr_levels++;
	}
}

static void parse_args(struct cmp_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "models", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "connections", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "work-us", required_argument, NULL, 'w' },
		{ "levels", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:t:d:c:r:w:l:jo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			parse_models(cfg, optarg);
			break;
		case 't':
			cfg->threads = parse_long_arg(optarg, 1, 1024, "invalid thread count '%s' (1..1024)");
			break;
		case 'd':
			cfg->duration = parse_double_arg(optarg, 3600, "invalid duration '%s' (seconds, 0 < S <= 3600)");
			break;
		case 'c':
			cfg->connections = parse_long_arg(optarg, 1, 10000, "invalid connection count '%s' (1..10000)");
			break;
		case 'r':
			cfg->rate = parse_double_arg(optarg, 1e7, "invalid rate '%s' (connections per second, > 0)");
			break;
		case 'w':
			cfg->work_us = parse_long_arg(optarg, 0, 10000000, "invalid --work-us '%s' (0..10000000)");
			break;
		case 'l':
			parse_levels(cfg, optarg);
			break;
		case 'j':
			cfg->json = true;
			break;
		case 'o':
			if (!*optarg)
				usage_error("empty --html file name%s", "");
			cfg->html = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option '%s' (see acceptscope compare --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

static void on_signal(int sig)
{
	(void)sig;
	cmp_interrupted = 1;
}

static int find_binaries(struct cmp_config *cfg)
{
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", cfg->self_bin, sizeof(cfg->self_bin) - 1);

	if (n <= 0) {
		fprintf(stderr, "acceptscope compare: cannot read /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	cfg->self_bin[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", cfg->self_bin);
	snprintf(cfg->demo_bin, sizeof(cfg->demo_bin), "%.*s/acceptscope-demo", PATH_MAX - 32, dirname(dir));
	snprintf(dir, sizeof(dir), "%s", cfg->self_bin);
	snprintf(cfg->load_bin, sizeof(cfg->load_bin), "%.*s/acceptscope-load", PATH_MAX - 32, dirname(dir));
	if (access(cfg->demo_bin, X_OK) || access(cfg->load_bin, X_OK)) {
		fprintf(stderr, "acceptscope compare: %s or %s is missing (build them with make)\n", cfg->demo_bin,
			cfg->load_bin);
		return -1;
	}
	return 0;
}

static void remove_tmpdir(const char *dir)
{
	static const char *const files[] = { "demo.err", "stats.json", "trace.json", "trace.err", "load.json", "load.err" };
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
 * refuses at once instead of after minutes of runs: privilege, the two other binaries, the
 * --html file (opened now: see cmp_html_open).  0, or compare's exit status: 2 when it cannot
 * run as asked (like bad arguments), 1 when this system cannot run it.
 */
static int prepare(struct cmp_config *cfg, struct cmp_html_out *html)
{
	/* Every run starts this binary as the tracer, which loads BPF programs: without the
	 * privilege to, each run would fail the same way, one after another.  Decided as the
	 * tracer decides it (uid 0, or the capabilities in the effective set; ambient ones, as
	 * setpriv or systemd's AmbientCapabilities= give, pass on to the tracer). */
	if (!bpf_privileged()) {
		fprintf(stderr, "acceptscope compare: %s\n", NOT_PERMITTED);
		return 2;
	}
	if (find_binaries(cfg))
		return 1;
	/* From here a signal only stops compare at the next check, which removes what it made. */
	catch_signals();
	if (cfg->html && cmp_html_open(html, cfg->html)) {
		fprintf(stderr, "acceptscope compare: cannot write --html %s: %s\n", cfg->html, strerror(errno));
		return 2;
	}
	snprintf(cfg->tmpdir, sizeof(cfg->tmpdir), "/tmp/acceptscope-compare.XXXXXX");
	if (!mkdtemp(cfg->tmpdir)) {
		fprintf(stderr, "acceptscope compare: cannot create a directory in /tmp: %s\n", strerror(errno));
		cmp_html_discard(html);
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

int compare_main(int argc, char **argv)
{
	static struct cmp_config cfg = { .threads = 4, .duration = 3 };
	struct cmp_html_out html = {};
	struct cmp_run *runs;
	char **findings = NULL;
	int n = 0, failed = 0, ret;

	parse_args(&cfg, argc, argv);
	if (!cfg.nr_models) {
		for (int i = 0; i < NR_ALL_MODELS; i++)
			cfg.models[i] = all_models[i];
		cfg.nr_models = NR_ALL_MODELS;
	}
	if (!cfg.nr_levels) {
		char def[] = "light,saturated";

		parse_levels(&cfg, def);
	}
	ret = prepare(&cfg, &html);
	if (ret)
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
		goto out;
	}
	if (cmp_interrupted) {
		fprintf(stderr, "acceptscope compare: interrupted; every child process stopped\n");
		ret = 130;
		goto out;
	}

	findings = cmp_findings(&cfg, runs, n);
	if (cfg.json) {
		json_object *doc = cmp_json(&cfg, runs, n, findings);

		printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(doc);
	} else {
		cmp_print_table(stdout, &cfg, runs, n, findings);
	}
	fflush(stdout);
	if (cfg.html && cmp_write_html(&html, &cfg, runs, n, findings)) {
		fprintf(stderr, "acceptscope compare: cannot write %s: %s\n", cfg.html, strerror(errno));
		ret = 1;
	}
	if (failed)
		ret = 1;
out:
	cmp_html_discard(&html);	/* once the report is written, a no-op */
	cmp_findings_free(findings);
	for (int i = 0; i < n; i++)
		cmp_run_free(&runs[i]);
	free(runs);
	return ret;
}
