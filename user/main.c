// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope: which threads take a TCP server's connections, and how deep its
 * accept queue runs.  See README.md.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "acceptscope.h"
#include "acceptscope.skel.h"
#include "backend.h"
#include "collect.h"
#include "compare.h"
#include "preblocked.h"
#include "privilege.h"
#include "report.h"
#include "trace.h"

static struct env {
	__u32 pids[MAX_FILTERS];
	int nr_pids;
	__u32 ports[MAX_FILTERS];
	int nr_ports;
	double interval;
	double duration;
	bool json, trace, hist, verbose;
	enum backend_choice backend;
	long max_conns, max_listeners;	/* 0: sized from the host at start */
} env = { .interval = 1.0 };

static volatile sig_atomic_t exiting;

const char *argp_program_version = "acceptscope 0.1";
error_t argp_err_exit_status = 2;
static const char argp_doc[] =
"Show how a TCP server's accept queue fills and which threads take its\n"
"connections and reads.\n"
"\n"
"USAGE: acceptscope [-p PID]... [-P PORT]... [-i SECS] [-d SECS] [--json]\n"
"                   [--trace] [--hist] [--backend auto|fentry|kprobe|tracepoint]\n"
"                   [--max-conns N] [--max-listeners N] [-v]\n"
"\n"
"EXAMPLES:\n"
"    acceptscope                 # every listener on this host, a table each second\n"
"    acceptscope -P 8080         # only port 8080 (watched until something listens)\n"
"    acceptscope -p 1234 -i 5    # listeners of PID 1234, every 5 seconds\n"
"    acceptscope --json -d 10    # NDJSON for 10 seconds, then a summary object\n"
"    acceptscope --trace -P 80   # one line per connection: queued, accepted, read\n"
"    acceptscope --hist          # also accept-queue depth and wait histograms\n";

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Only listeners of this process (repeatable)", 0 },
	{ "port", 'P', "PORT", 0, "Only listeners on this local port (repeatable)", 0 },
	{ "interval", 'i', "SECS", 0, "Seconds between reports (default 1)", 0 },
	{ "duration", 'd', "SECS", 0, "Stop after this many seconds", 0 },
	{ "json", 'j', NULL, 0, "Print NDJSON: one object per interval, a summary at exit", 0 },
	{ "trace", 't', NULL, 0, "Print one line per connection event", 0 },
	{ "hist", 'H', NULL, 0, "Print depth and wait histograms", 0 },
	{ "backend", 'b', "B", 0, "auto, fentry, kprobe or tracepoint (default auto)", 0 },
	{ "max-conns", 'C', "N", 0, "Connections tracked at once (default: sized from the host, at least 262144)", 0 },
	{ "max-listeners", 'L', "N", 0, "Listeners tracked (default: sized from the host, at least 65536)", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf debug output", 0 },
	{ "help", 'h', NULL, 0, "Show this help", 0 },
	{},
};

static void usage_error(struct argp_state *state, const char *fmt, const char *arg)
{
	fprintf(stderr, "acceptscope: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	(void)state;
	exit(2);
}

static double parse_secs(struct argp_state *state, const char *arg, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > 1e7)
		usage_error(state, what, arg);
	return v;
}

static long parse_uint(struct argp_state *state, const char *arg, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v <= 0 || v > max)
		usage_error(state, what, arg);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'p':
		v = parse_uint(state, arg, INT_MAX, "invalid PID '%s'");
		if (kill(v, 0) && errno == ESRCH)
			usage_error(state, "no process with PID %s", arg);
		if (env.nr_pids == MAX_FILTERS)
			usage_error(state, "at most 8 -p options (got %s more)", arg);
		env.pids[env.nr_pids++] = v;
		break;
	case 'P':
		v = parse_uint(state, arg, 65535, "invalid port '%s' (1-65535)");
		if (env.nr_ports == MAX_FILTERS)
			usage_error(state, "at most 8 -P options (got %s more)", arg);
		env.ports[env.nr_ports++] = v;
		break;
	case 'i':
		env.interval = parse_secs(state, arg, "invalid interval '%s' (seconds, > 0)");
		break;
	case 'd':
		env.duration = parse_secs(state, arg, "invalid duration '%s' (seconds, > 0)");
		break;
	case 'j':
		env.json = true;
		break;
	case 't':
		env.trace = true;
		break;
	case 'H':
		env.hist = true;
		break;
	case 'b':
		if (parse_backend(arg, &env.backend))
			usage_error(state, "unknown backend '%s' (auto, fentry, kprobe, tracepoint)", arg);
		break;
	case 'C':
		env.max_conns = parse_uint(state, arg, 1L << 26, "invalid --max-conns '%s' (1-67108864)");
		break;
	case 'L':
		env.max_listeners = parse_uint(state, arg, 1L << 22, "invalid --max-listeners '%s' (1-4194304)");
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'h':
		/* argp_state_help() is silent under ARGP_NO_ERRS. */
		argp_help(state->root_argp, stdout, ARGP_HELP_STD_HELP, "acceptscope");
		exit(0);
	case ARGP_KEY_ARG:
		usage_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_option *find_option(const char *arg)
{
	const struct argp_option *o;
	size_t n;

	for (o = opts; o->name || o->key; o++) {
		if (arg[1] == '-') {
			n = strcspn(arg + 2, "=");
			if (o->name && strlen(o->name) == n && strncmp(o->name, arg + 2, n) == 0)
				return o;
		} else if (o->key == arg[1]) {
			return o;
		}
	}
	return NULL;
}

/* What argp stumbled on, in one line (it would print two). */
static const char *first_bad_option(int argc, char **argv)
{
	static char msg[256];

	for (int i = 1; i < argc; i++) {
		const struct argp_option *o;

		if (argv[i][0] != '-' || !argv[i][1])
			continue;
		if (strcmp(argv[i], "--") == 0)
			break;
		o = find_option(argv[i]);
		if (!o) {
			snprintf(msg, sizeof(msg), "unknown option '%s'", argv[i]);
			return msg;
		}
		if (o->arg && !strchr(argv[i], '=') && (argv[i][1] == '-' || !argv[i][2])) {
			if (i + 1 == argc) {
				snprintf(msg, sizeof(msg), "option '%s' needs a value (%s)", argv[i], o->arg);
				return msg;
			}
			i++;
		}
	}
	return "invalid arguments";
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_filters(struct acceptscope_bpf *skel, const struct kernel_features *kf)
{
	memcpy((void *)skel->rodata->rcv_text, kf->rcv_text, sizeof(kf->rcv_text));
	for (int i = 0; i < env.nr_ports; i++)
		skel->rodata->filter_ports[i] = env.ports[i];
	skel->rodata->nr_filter_ports = env.nr_ports;
	for (int i = 0; i < env.nr_pids; i++)
		skel->rodata->filter_pids[i] = env.pids[i];
	skel->rodata->nr_filter_pids = env.nr_pids;
	skel->rodata->trace_events = env.trace;
}

/*
 * One pass of iter/tcp over this namespace's sockets marks every listener there for
 * sampling.  Only at start: the pass locks each socket it visits.
 */
static int find_listeners(struct acceptscope_bpf *skel)
{
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(skel->links.iter_listeners));
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	bpf_link__destroy(skel->links.iter_listeners);
	skel->links.iter_listeners = NULL;
	return n < 0 ? -errno : 0;
}

/* A figure read from a /proc file: the first number after @label, or 0. */
static long proc_number(const char *path, const char *label)
{
	char line[512], *p;
	long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, label)) && sscanf(p + strlen(label), "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Listening TCP sockets in this namespace now (state 0A in /proc/net/tcp{,6}). */
static long listeners_now(void)
{
	const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], state[8];
	long n = 0;

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %7s", state) == 1 && strcmp(state, "0A") == 0)
				n++;
		fclose(f);
	}
	return n;
}

/*
 * Capacities, from the host unless given: room for four times the TCP sockets
 * allocated now, and for four times its listeners.  Entries are allocated as
 * used, so a large capacity costs nothing until it is needed.
 */
static int size_maps(struct acceptscope_bpf *skel)
{
	long conns = env.max_conns, listeners = env.max_listeners;
	int err = 0;

	if (!conns) {
		conns = 4 * proc_number("/proc/net/sockstat", "alloc ");
		conns = conns < 262144 ? 262144 : conns > (1L << 26) ? 1L << 26 : conns;
	}
	if (!listeners) {
		listeners = 4 * listeners_now();
		listeners = listeners < 65536 ? 65536 : listeners > (1L << 22) ? 1L << 22 : listeners;
	}
	err = err ?: bpf_map__set_max_entries(skel->maps.conns, conns);
	err = err ?: bpf_map__set_max_entries(skel->maps.listener_stats, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.listener_info, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.watched, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.samples, listeners);
	return err;
}

/* Each kind of loss, once on stderr when it first appears (the table and JSON count it always). */
static void warn_lost(const struct snapshot *snap)
{
	static const char *const why[NR_LOST] = {
		[LOST_TRACE_RECORDS] = "the ring buffer was full: some --trace records are missing",
		[LOST_UPDATES] = "a per-listener or per-thread map was full: some events were not counted",
		[LOST_CONNS_UNTRACKED] = "more live connections than --max-conns: their reads are not counted",
		[LOST_WAITS_UNSEEN] = "more live connections than --max-conns: some accept-queue waits are missing",
		[LOST_LISTENERS_UNWATCHED] = "more listeners than --max-listeners: some queues are not sampled",
	};
	static bool warned[NR_LOST];

	for (int i = 0; i < NR_LOST; i++) {
		if (snap->lost[i] && !warned[i]) {
			fprintf(stderr, "acceptscope: lost %s: %s\n", lost_name(i), why[i]);
			warned[i] = true;
		}
	}
}

/* stdout failed (a closed pipe, a full disk): say so once; the caller detaches and exits. */
static bool output_failed(int err)
{
	if (!err)
		return false;
	fprintf(stderr, "acceptscope: writing the output failed: %s; detaching\n", strerror(-err));
	return true;
}

static const char *why_refused(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux); acceptscope needs CONFIG_DEBUG_INFO_BTF";
	if (geteuid() && (err == -EPERM || err == -EACCES))
		return "not permitted: run as root (or with CAP_BPF and CAP_PERFMON)";
	if (err == -EPERM)
		return "the kernel refused the BPF programs (lockdown, or unprivileged BPF disabled?)";
	if (err == -EACCES || err == -EINVAL)
		return "the verifier rejected a program (run with -v for its log)";
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = argp_doc };
	struct kernel_features kf;
	struct hook_plan plan;
	struct acceptscope_bpf *skel = NULL;
	struct collector *col = NULL;
	struct ring_buffer *rb = NULL;
	struct preblocked *pre = NULL;
	struct snapshot prev = {}, cur = {}, delta = {};
	struct report_opts ropts = {};
	double start, last, t;
	__u64 lost_reported = 0;
	int err;
	const char *why;

	if (argc > 1 && strcmp(argv[1], "compare") == 0)
		return compare_main(argc - 1, argv + 1);
	/* ARGP_NO_ERRS: one line of our own instead of argp's two. */
	if (argp_parse(&argp, argc, argv, ARGP_NO_HELP | ARGP_NO_ERRS, NULL, NULL)) {
		fprintf(stderr, "acceptscope: %s (see --help)\n", first_bad_option(argc, argv));
		return 2;
	}
	libbpf_set_print(libbpf_print_fn);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "acceptscope: %s\n", why_refused(0));
		return 2;
	}
	if (!bpf_privileged()) {
		fprintf(stderr, "acceptscope: %s\n", NOT_PERMITTED);
		return 2;
	}

	/* A closed stdout shows as EPIPE, handled where we write: never killed while attached. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);
	probe_kernel(&kf);
	plan_hooks(&kf, env.backend, &plan);
	describe_plan(stderr, &plan);
	if (!plan.mech[HOOK_ACCEPT] && !plan.mech[HOOK_ENQUEUE]) {
		fprintf(stderr, "acceptscope: no hook on the accept path can attach with backend %s: %s\n",
			env.backend == BACKEND_AUTO ? "auto" : mechanism_name((enum mechanism)env.backend),
			geteuid() ? why_refused(-EPERM)
				  : "this kernel refuses every mechanism asked for (fentry: trampolines refused or "
				    "missing; kprobe: CONFIG_KPROBES off or functions not traceable; tracepoint: "
				    "too old)");
		return 2;
	}

	skel = acceptscope_bpf__open();
	if (!skel) {
		fprintf(stderr, "acceptscope: cannot open the BPF object: %s\n", strerror(errno));
		return 2;
	}
	set_filters(skel, &kf);
	apply_plan(skel, &kf, &plan);
	err = size_maps(skel);
	if (err) {
		fprintf(stderr, "acceptscope: cannot size the maps: %s\n", strerror(-err));
		err = 2;
		goto cleanup;
	}
	err = acceptscope_bpf__load(skel);
	if (err) {
		why = why_refused(err);
		fprintf(stderr, "acceptscope: loading the BPF programs failed: %s\n", why ? why : strerror(-err));
		err = 2;
		goto cleanup;
	}
	err = preblocked_attach(skel, &pre);
	err = err ?: acceptscope_bpf__attach(skel);
	if (err) {
		why = why_refused(err);
		fprintf(stderr, "acceptscope: attaching the BPF programs failed: %s\n", why ? why : strerror(-err));
		err = 2;
		goto cleanup;
	}
	preblocked_scan(pre);
	err = find_listeners(skel);
	if (err) {
		fprintf(stderr, "acceptscope: cannot list the listening sockets: %s\n", strerror(-err));
		err = 1;
		goto cleanup;
	}
	col = collector_new(skel, plan.mech[HOOK_OVERFLOW] != MECH_NONE, plan.mech[HOOK_OVERFLOW] == MECH_TRACEPOINT);
	if (!col) {
		err = 1;
		goto cleanup;
	}
	if (env.trace) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_trace_event, &env.json, NULL);
		if (!rb) {
			fprintf(stderr, "acceptscope: cannot open the ring buffer\n");
			err = 1;
			goto cleanup;
		}
		trace_header(stdout, env.json);
	}

	ropts = (struct report_opts){ .pids = env.pids, .nr_pids = env.nr_pids, .ports = env.ports,
				      .nr_ports = env.nr_ports, .hist = env.hist, .redraw = isatty(1) && !env.json,
				      .plan = &plan };
	/* The first sample sets the sk_drops baselines of listeners already there. */
	collect(col, &prev);
	fprintf(stderr, "acceptscope: tracing; Ctrl-C to stop\n");
	start = last = now_secs();
	while (!exiting) {
		t = now_secs();
		if (env.duration && t - start >= env.duration)
			break;
		if (rb) {
			err = ring_buffer__poll(rb, 50);
			if (err < 0 && err != -EINTR && output_failed(err)) {
				err = 1;
				goto cleanup;
			}
		} else {
			usleep(20000);
		}
		if (t - last < env.interval)
			continue;
		preblocked_poll(pre);
		if (env.trace) {
			__u64 lost = lost_count(col, LOST_TRACE_RECORDS);

			if (lost > lost_reported)
				trace_lost(stdout, env.json, lost - lost_reported);
			lost_reported = lost;
			last = t;
			if (output_failed(write_status(stdout))) {
				err = 1;
				goto cleanup;
			}
			continue;
		}
		collect(col, &cur);
		warn_lost(&cur);
		snapshot_delta(&cur, &prev, &delta);
		if (env.json)
			print_json(stdout, &delta, &ropts, t - last, false);
		else
			print_table(stdout, &delta, &ropts, t - last);
		snapshot_free(&delta);
		if (output_failed(write_status(stdout))) {
			err = 1;
			goto cleanup;
		}
		snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		last = t;
	}
	if (rb) {
		ring_buffer__poll(rb, 0);
		if (lost_count(col, LOST_TRACE_RECORDS) > lost_reported)
			trace_lost(stdout, env.json, lost_count(col, LOST_TRACE_RECORDS) - lost_reported);
	}
	/* Final, cumulative since start. */
	collect(col, &cur);
	warn_lost(&cur);
	ropts.redraw = false;
	if (env.json)
		print_json(stdout, &cur, &ropts, now_secs() - start, true);
	else if (!env.trace)
		print_table(stdout, &cur, &ropts, now_secs() - start);
	err = output_failed(write_status(stdout)) ? 1 : 0;

cleanup:
	snapshot_free(&prev);
	snapshot_free(&cur);
	ring_buffer__free(rb);
	collector_free(col);
	preblocked_free(pre);
	acceptscope_bpf__destroy(skel);
	return err;
}
