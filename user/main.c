// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope: which threads take a TCP server's connections, and how deep its
 * accept queue runs.  See README.md.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "acceptscope.h"
#include "acceptscope.skel.h"
#include "atomic_file.h"
#include "cli.h"
#include "clock.h"
#include "compare.h"
#include "diagwindow.h"
#include "prom_http.h"
#include "report.h"
#include "session.h"
#include "timeline.h"
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
	bool prometheus, quiet;		/* --prometheus: serve /metrics; --quiet: nothing on stdout */
	struct prom_listen prom_listen;
	enum prom_threads prom_threads;
	long prom_max_series;
	int window;			/* findings over the last this many intervals */
	struct diag_thresholds thresholds;
	const char *timeline;		/* --timeline FILE */
} env = { .interval = 1.0, .prom_max_series = PROM_DEFAULT_MAX_SERIES, .window = 5 };

/* Long options without a short one. */
enum { OPT_PROMETHEUS = 1000, OPT_PROM_THREADS, OPT_PROM_MAX_SERIES, OPT_TIMELINE };

/* --timeline: the page's model, and its file (created at start, renamed into place at exit). */
static struct timeline *timeline;
static struct atomic_file timeline_file;
#define TIMELINE_SAMPLE_SECS 0.25	/* empty accepts and queue depths sampled this often at most */

static volatile sig_atomic_t exiting;

const char *argp_program_version = "acceptscope 0.1";
static const char argp_doc[] =
"Show how a TCP server's accept queue fills and which threads take its\n"
"connections and reads.\n"
"\n"
"USAGE: acceptscope [-p PID]... [-P PORT]... [-i SECS] [-d SECS] [--json]\n"
"         [--trace] [--hist] [--backend auto|fentry|kprobe|tracepoint]\n"
"         [--max-conns N] [--max-listeners N] [-v]\n"
"         [--prometheus [ADDR:]PORT] [--quiet] [--prometheus-threads MODE]\n"
"         [--prometheus-max-series N] [--window N] [--threshold NAME=VALUE]...\n"
"         [--timeline FILE]\n"
"       acceptscope compare [--help]   (every demo accept model, side by side)\n"
"\n"
"EXAMPLES:\n"
"    acceptscope                # every listener here, a table each second\n"
"    acceptscope -P 8080        # only port 8080 (watched until it listens)\n"
"    acceptscope -p 1234 -i 5   # listeners of PID 1234, every 5 seconds\n"
"    acceptscope --json -d 10   # NDJSON for 10 seconds, then a summary\n"
"    acceptscope --trace -P 80  # a line per event: queued, accepted, read\n"
"    acceptscope --trace -P 80 --timeline t.html  # and a page drawing them\n"
"    acceptscope --hist         # also depth and wait histograms\n"
"    acceptscope -T jain=0.7    # imbalance only below Jain's index 0.7\n"
"    acceptscope --prometheus 9464 --quiet   # serve 127.0.0.1:9464/metrics\n"
"    acceptscope --prometheus [::]:9464      # on every address, beside the table\n"
"    acceptscope compare        # the demo models traced under load\n";

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
	{ "window", 'w', "N", 0, "Findings over the last N intervals (default 5; the summary: the whole run)", 0 },
	{ "threshold", 'T', "NAME=VALUE", 0, "Set a finding's threshold (repeatable; README \"Findings\")", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf debug output", 0 },
	{ "timeline", OPT_TIMELINE, "FILE", 0, "Also draw the trace as a self-contained HTML page in FILE, written at exit "
	  "(implies --trace)", 0 },
	{ "prometheus", OPT_PROMETHEUS, "[ADDR:]PORT", 0,
	  "Serve GET /metrics for Prometheus (ADDR default 127.0.0.1; IPv6 as [::]:PORT)", 1 },
	{ "quiet", 'q', NULL, 0, "With --prometheus: print no table or JSON", 1 },
	{ "prometheus-threads", OPT_PROM_THREADS, "MODE", 0,
	  "Per-thread series: tid (default), name (threads of a process merged by name), none", 1 },
	{ "prometheus-max-series", OPT_PROM_MAX_SERIES, "N", 0,
	  "At most N series about listeners and threads (default 10000); the rest are counted", 1 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'p':
		v = cli_long(state, arg, 1, INT_MAX, "PID");
		if (kill(v, 0) && errno == ESRCH)
			argp_error(state, "no process with PID %s", arg);
		if (env.nr_pids == MAX_FILTERS)
			argp_error(state, "at most %d -p options (got %s more)", MAX_FILTERS, arg);
		env.pids[env.nr_pids++] = v;
		break;
	case 'P':
		v = cli_long(state, arg, 1, 65535, "port");
		if (env.nr_ports == MAX_FILTERS)
			argp_error(state, "at most %d -P options (got %s more)", MAX_FILTERS, arg);
		env.ports[env.nr_ports++] = v;
		break;
	case 'i':
		env.interval = cli_secs(state, arg, 0, 1e7, "interval");
		break;
	case 'd':
		env.duration = cli_secs(state, arg, 0, 1e7, "duration");
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
			argp_error(state, "unknown backend '%s' (auto, fentry, kprobe, tracepoint)", arg);
		break;
	case 'C':
		env.max_conns = cli_long(state, arg, 1, 1L << 26, "--max-conns");
		break;
	case 'L':
		env.max_listeners = cli_long(state, arg, 1, 1L << 22, "--max-listeners");
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'w':
		env.window = cli_long(state, arg, 1, 3600, "--window");
		break;
	case 'T': {
		char why[640];

		if (diag_threshold_set(&env.thresholds, arg, why, sizeof(why)))
			argp_error(state, "%s", why);
		break;
	}
	case OPT_TIMELINE:
		if (!*arg)
			argp_error(state, "empty --timeline file name");
		env.timeline = arg;
		env.trace = true;
		break;
	case OPT_PROMETHEUS: {
		const char *why;

		if (!prom_http_built_in())
			argp_error(state, "--prometheus: not built in (this build has no libmicrohttpd)");
		if (prom_parse_listen(arg, &env.prom_listen, &why))
			argp_error(state, "--prometheus '%s': %s", arg, why);
		env.prometheus = true;
		break;
	}
	case 'q':
		env.quiet = true;
		break;
	case OPT_PROM_THREADS:
		if (prom_parse_threads(arg, &env.prom_threads))
			argp_error(state, "--prometheus-threads '%s': expected tid, name or none", arg);
		break;
	case OPT_PROM_MAX_SERIES:
		env.prom_max_series = cli_long(state, arg, 0, 100000000, "--prometheus-max-series");
		break;
	case ARGP_KEY_END:
		if (!env.prometheus && (env.quiet || env.prom_threads || env.prom_max_series != PROM_DEFAULT_MAX_SERIES))
			argp_error(state, "--quiet and --prometheus-* go with --prometheus");
		if (env.quiet && env.trace)
			argp_error(state, "--quiet with --trace: the trace would not be shown");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	(void)level;
	return env.verbose ? vfprintf(stderr, format, args) : 0;
}

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
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
		[LOST_ENQUEUES_UNSEEN] = "some connections were accepted whose enqueue no hook saw: queued is short",
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

/* @dw's diagnosis of the interval just ended (or, with @summary, of the run); NULL: none. */
static const struct diagnosis *diagnose(struct diag_window *dw, bool summary, struct diagnosis *d)
{
	return dw && !diag_window_report(dw, summary, d) ? d : NULL;
}

/* One interval (or, with @summary, the whole run) in the chosen view, with diagnosis @d. */
static void report(const struct snapshot *snap, const struct report_opts *ro, double secs, bool summary,
		   const struct diagnosis *d)
{
	struct report_opts with = *ro;

	if (env.quiet)
		return;
	with.diag = d;
	if (env.json)
		print_json(stdout, snap, &with, secs, summary);
	else if (!env.trace || !summary)
		print_table(stdout, snap, &with, secs);
}

/* --trace: records as they come; a line for any the ring buffer dropped. 0, or a write error. */
static int trace_poll(struct ring_buffer *rb, struct collector *col, __u64 *lost_reported, int timeout_ms)
{
	int err = ring_buffer__poll(rb, timeout_ms);
	__u64 lost;

	if (err < 0 && err != -EINTR)
		return err;
	lost = lost_count(col, LOST_TRACE_RECORDS);
	if (lost > *lost_reported)
		trace_lost(stdout, env.json, lost - *lost_reported);
	if (lost > *lost_reported && timeline)
		timeline_lost(timeline, lost - *lost_reported);
	*lost_reported = lost;
	return write_status(stdout);
}

/*
 * --prometheus: what scrapes get from now on, rendered from @snap (cumulative since start),
 * with the findings of diagnosis @d (NULL: none yet) as acceptscope_finding gauges.
 */
static void publish(struct prom_exporter *e, const struct snapshot *snap, const struct report_opts *ro,
		    double collect_secs, const struct diagnosis *d)
{
	static bool warned;
	struct report_opts with = *ro;
	struct prom_opts po = { .ro = ro, .threads = env.prom_threads, .max_series = env.prom_max_series,
				.version = strchr(argp_program_version, ' ') + 1, .collect_secs = collect_secs,
				.extra = prom_write_findings, .extra_arg = &with };
	int err;

	with.diag = d;
	if (!e || !(err = prom_exporter_update(e, snap, &po)) || warned)
		return;
	fprintf(stderr, "acceptscope: /metrics not updated: %s\n", strerror(-err));
	warned = true;
}

/* collect() into @snap; how long it took. */
static double timed_collect(struct session *s, struct snapshot *snap)
{
	double t = clock_secs();

	collect(s->col, snap);
	return clock_secs() - t;
}

/* --timeline: the empty accepts and queue depths since its last sample. */
static void sample_timeline(struct collector *col)
{
	struct snapshot snap;

	collect(col, &snap);
	timeline_sample(timeline, &snap, clock_ns());
	snapshot_free(&snap);
}

/* Until the duration is up or a signal: each interval, a report (or trace records). */
static int run(struct session *s, struct ring_buffer *rb, const struct report_opts *ro, struct prom_exporter *e,
	       struct diag_window *dw)
{
	struct snapshot prev = {}, cur = {}, delta = {};
	struct diagnosis diag;
	const struct diagnosis *d;
	double start, last, sampled, t, secs, collect_secs;
	__u64 lost_reported = 0;
	int err = 0;

	/* The first sample sets the sk_drops baselines of listeners already there. */
	publish(e, &prev, ro, timed_collect(s, &prev), NULL);
	if (dw)
		diag_window_tick(dw, &prev, NULL);
	if (timeline)
		timeline_sample(timeline, &prev, clock_ns());
	fprintf(stderr, "acceptscope: tracing; Ctrl-C to stop\n");
	start = last = sampled = clock_secs();
	while (!exiting && !err) {
		t = clock_secs();
		if (env.duration && t - start >= env.duration)
			break;
		if (rb)
			err = trace_poll(rb, s->col, &lost_reported, 50);
		else
			usleep(20000);
		if (timeline && t - sampled >= fmin(env.interval, TIMELINE_SAMPLE_SECS)) {
			sample_timeline(s->col);
			sampled = t;
		}
		if (err || t - last < env.interval)
			continue;
		session_tick(s);
		secs = t - last;
		last = t;
		if (rb && !e)
			continue;
		collect_secs = timed_collect(s, &cur);
		if (rb) {
			publish(e, &cur, ro, collect_secs, NULL);
			snapshot_free(&cur);
			continue;
		}
		warn_lost(&cur);
		snapshot_delta(&cur, &prev, &delta);
		if (dw)
			diag_window_tick(dw, &cur, &delta);
		/* One diagnosis an interval, for the report and the exporter alike. */
		d = diagnose(dw, false, &diag);
		publish(e, &cur, ro, collect_secs, d);
		report(&delta, ro, secs, false, d);
		snapshot_free(&delta);
		snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		err = write_status(stdout);
	}
	if (!err && rb)
		err = trace_poll(rb, s->col, &lost_reported, 0);
	if (err) {
		snapshot_free(&prev);
		output_failed(err);
		if (timeline)	/* the page can still be drawn */
			sample_timeline(s->col);
		return 1;
	}
	/* Final, cumulative since start. */
	collect(s->col, &cur);
	if (timeline)
		timeline_sample(timeline, &cur, clock_ns());
	warn_lost(&cur);
	if (dw) {
		snapshot_delta(&cur, &prev, &delta);
		diag_window_tick(dw, &cur, &delta);
		snapshot_free(&delta);
	}
	snapshot_free(&prev);
	report(&cur, ro, clock_secs() - start, true, diagnose(dw, true, &diag));
	snapshot_free(&cur);
	return output_failed(write_status(stdout)) ? 1 : 0;
}

/* What --timeline's page says was traced. */
static void timeline_title(char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s", env.nr_ports ? (env.nr_ports > 1 ? "ports" : "port") : "every listener");

	for (int i = 0; i < env.nr_ports && n < (int)len; i++)
		n += snprintf(buf + n, len - n, "%s %u", i ? "," : "", env.ports[i]);
	for (int i = 0; i < env.nr_pids && n < (int)len; i++)
		n += snprintf(buf + n, len - n, "%s %u", i ? "," : ", threads of pid", env.pids[i]);
}

/* --trace: the printer, and the timeline when asked for. */
static int open_trace(struct session *s, struct trace_sinks *sinks, struct ring_buffer **rb)
{
	char title[128];

	trace_add_sink(sinks, trace_print, &env.json);
	if (env.timeline) {
		timeline_title(title, sizeof(title));
		timeline = timeline_new(title, &s->plan);
		if (!timeline) {
			fprintf(stderr, "acceptscope: out of memory\n");
			return -1;
		}
		trace_add_sink(sinks, timeline_record, timeline);
	}
	if (!syn_traced(&s->plan))
		fprintf(stderr, "acceptscope: --trace: no hook here sees SYN arrivals (tcp_conn_request: fentry or "
				"kprobe backend)\n");
	*rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_trace_event, sinks, NULL);
	if (!*rb) {
		fprintf(stderr, "acceptscope: cannot open the ring buffer\n");
		return -1;
	}
	trace_header(stdout, env.json);
	return 0;
}

/* --timeline: the page, renamed into place; 0 or 1 after a line on stderr. */
static int write_timeline(void)
{
	if (!timeline)
		return 0;
	timeline_write_html(timeline, timeline_file.f);
	if (atomic_commit(&timeline_file)) {
		fprintf(stderr, "acceptscope: cannot write %s: %s\n", env.timeline, strerror(errno));
		return 1;
	}
	fprintf(stderr, "acceptscope: timeline written to %s\n", env.timeline);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = argp_doc };
	static struct trace_sinks sinks;
	struct session s = {};
	struct ring_buffer *rb = NULL;
	struct report_opts ro;
	struct prom_exporter *exporter = NULL;
	struct diag_window *dw;
	char prom_err[160];
	const char *why;
	int err;

	if (argc > 1 && strcmp(argv[1], "compare") == 0)
		return compare_main(argc - 1, argv + 1);
	env.thresholds = diag_default_thresholds;
	cli_parse(&argp, argc, argv, NULL);
	libbpf_set_print(libbpf_print_fn);
	if ((why = session_refusal())) {
		fprintf(stderr, "acceptscope: %s\n", why);
		return 2;
	}
	/* Before anything is attached: a port in use is bad input. */
	if (env.prometheus && !(exporter = prom_exporter_start(&env.prom_listen, prom_err, sizeof(prom_err)))) {
		fprintf(stderr, "acceptscope: %s\n", prom_err);
		return 2;
	}
	/* ... and so is a page that could not be written. */
	if (env.timeline && (why = atomic_open(&timeline_file, env.timeline))) {
		fprintf(stderr, "acceptscope: cannot write --timeline %s: %s\n", env.timeline, why);
		prom_exporter_stop(exporter);
		return 2;
	}
	/* A closed stdout shows as EPIPE, handled where we write: never killed while attached. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);
	err = session_open(&s, &(struct session_opts){
		.pids = env.pids, .nr_pids = env.nr_pids, .ports = env.ports, .nr_ports = env.nr_ports,
		.backend = env.backend, .trace = env.trace, .max_conns = env.max_conns,
		.max_listeners = env.max_listeners, .plan_out = stderr });
	if (err) {
		prom_exporter_stop(exporter);
		atomic_discard(&timeline_file);
		return err;
	}
	if (exporter)
		fprintf(stderr, "acceptscope: serving http://%s/metrics\n", env.prom_listen.text);
	if (env.trace && open_trace(&s, &sinks, &rb)) {
		ring_buffer__free(rb);
		session_close(&s);
		prom_exporter_stop(exporter);
		atomic_discard(&timeline_file);
		timeline_free(timeline);
		return 1;
	}
	ro = (struct report_opts){ .pids = env.pids, .nr_pids = env.nr_pids, .ports = env.ports,
				   .nr_ports = env.nr_ports, .hist = env.hist,
				   .redraw = isatty(1) && !env.json, .plan = &s.plan };
	dw = diag_window_new(env.window, &env.thresholds, &ro);	/* without: no CPU figures, no findings */
	err = run(&s, rb, &ro, exporter, dw);
	diag_window_free(dw);
	prom_exporter_stop(exporter);
	ring_buffer__free(rb);
	session_close(&s);
	err = write_timeline() || err;
	timeline_free(timeline);
	return err;
}
