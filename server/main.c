/* acceptscope-demo: command line, signals, start and shutdown. */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"USAGE\n"
		"  " PROG " --model MODEL [--threads N] [--processes] [--port P]\n"
		"      [--addr A] [--backlog B] [--work-us U] [--accept-delay-us D]\n"
		"      [--duration S] [--idle-timeout S] [--request-timeout S] [--stats FILE]\n"
		"      [--quiet]\n"
		"\n"
		"A small HTTP/1.1 server that spreads connections over its threads the way a\n"
		"well-known server architecture does, and counts per thread what it did\n"
		"(accepts, empty accepts, reads, requests) as ground truth for acceptscope.\n"
		"Every response names the thread that sent it in an X-Worker header.\n"
		"\n"
		"MODELS\n");
	for (int i = 0; models[i]; i++)
		fprintf(f, "  %-17s %s\n", models[i]->name, models[i]->summary);
	fprintf(f,
		"\n"
		"OPTIONS\n"
		"  -m, --model MODEL        accept architecture (required; see MODELS)\n"
		"  -t, --threads N          workers, 1..%d (default 4; single always has one)\n"
		"      --processes          run the workers as forked processes\n"
		"                           (reuseport and shared-* only)\n"
		"  -p, --port P             TCP port, 0 for an ephemeral one (default 8080)\n"
		"  -a, --addr A             IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
		"  -b, --backlog B          listen() backlog (default 511; the kernel caps it at\n"
		"                           net.core.somaxconn)\n"
		"      --work-us U          burn U microseconds of CPU per request (default 0)\n"
		"      --accept-delay-us D  sleep D microseconds before every accept() call, to\n"
		"                           build an accept queue (default 0)\n"
		"  -d, --duration S         exit after S seconds (default: run until signalled)\n"
		"      --idle-timeout S     close a connection that has been idle, or sending one\n"
		"                           request's headers, for S seconds (default 10)\n"
		"      --request-timeout S  close a connection whose request (headers and body) is\n"
		"                           not all in S seconds after its first byte, however\n"
		"                           steadily it trickles in (default 10)\n"
		"  -s, --stats FILE         write the per-thread counters as JSON to FILE (- for\n"
		"                           stdout) on exit and on SIGUSR1\n"
		"  -q, --quiet              do not print the \"listening\" line\n"
		"      --list-models        print the models, one a line:\n"
		"                           NAME<TAB>processes|threads<TAB>description\n"
		"  -h, --help               show this help\n"
		"\n"
		"SIGNALS\n"
		"  SIGINT, SIGTERM   write --stats and exit\n"
		"  SIGUSR1           write --stats and keep running\n"
		"\n"
		"EXIT STATUS\n"
		"  0 on a clean exit, 1 on a runtime error, 2 on a usage error.\n"
		"\n"
		"EXAMPLES\n"
		"  " PROG " --model dispatch --threads 4\n"
		"  " PROG " --model reuseport --processes --port 0 --stats /tmp/s.json\n"
		"  " PROG " --model shared-blocking --accept-delay-us 2000 --duration 30\n"
		"  " PROG " --model shared-exclusive --addr ::1 --work-us 200 --stats -\n"
		"  wrk -t2 -c64 -d10s http://127.0.0.1:8080/    # then: kill -USR1 <pid>\n",
		MAX_THREADS);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(EXIT_USAGE);
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage_error("%s: '%s' is not a whole number in %ld..%ld", opt, s, min, max);
	return v;
}

static double parse_seconds(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e7)
		usage_error("%s: '%s' is not a number of seconds > 0", opt, s);
	return v;
}

/* 127.0.0.1, ::1 or [::1] */
static void parse_addr(struct server *srv, const char *s)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&srv->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&srv->addr;

	if (n >= 2 && n < sizeof(buf) && s[0] == '[' && s[n - 1] == ']') {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = 0;
		s = buf;
	}
	memset(&srv->addr, 0, sizeof(srv->addr));
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		srv->addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		srv->addrlen = sizeof(*in6);
	} else {
		usage_error("--addr: '%s' is not an IPv4 or IPv6 address", s);
	}
}

static void parse_args(struct server *srv, int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"threads", required_argument, NULL, 't'},
		{"processes", no_argument, NULL, 'P'},
		{"port", required_argument, NULL, 'p'},
		{"addr", required_argument, NULL, 'a'},
		{"backlog", required_argument, NULL, 'b'},
		{"work-us", required_argument, NULL, 'W'},
		{"accept-delay-us", required_argument, NULL, 'D'},
		{"duration", required_argument, NULL, 'd'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"request-timeout", required_argument, NULL, 'R'},
		{"stats", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"list-models", no_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct config *cfg = &srv->cfg;
	const char *addr = "127.0.0.1";
	int c;

	*cfg = (struct config){.threads = 4, .port = 8080, .backlog = 511, .idle_timeout_ms = 10000,
			       .request_timeout_ms = 10000};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:t:p:a:b:d:s:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!(cfg->model = model_find(optarg)))
				usage_error("unknown model '%s'", optarg);
			break;
		case 't': cfg->threads = (int)parse_long("--threads", optarg, 1, MAX_THREADS); break;
		case 'P': cfg->processes = true; break;
		case 'p': cfg->port = (int)parse_long("--port", optarg, 0, 65535); break;
		case 'a': addr = optarg; break;
		case 'b': cfg->backlog = (int)parse_long("--backlog", optarg, 0, 1 << 30); break;
		case 'W': cfg->work_us = (unsigned)parse_long("--work-us", optarg, 0, 10000000); break;
		case 'D': cfg->accept_delay_us = (unsigned)parse_long("--accept-delay-us", optarg, 0, 10000000); break;
		case 'd': cfg->duration_s = parse_seconds("--duration", optarg); break;
		case 'I':
			cfg->idle_timeout_ms = (uint64_t)ceil(parse_seconds("--idle-timeout", optarg) * 1000);
			break;
		case 'R':
			cfg->request_timeout_ms = (uint64_t)ceil(parse_seconds("--request-timeout", optarg) * 1000);
			break;
		case 's': cfg->stats_path = optarg; break;
		case 'q': cfg->quiet = true; break;
		case 'L': models_list(stdout); exit(0);
		case 'h': usage(stdout); exit(0);
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: /* '?': unknown, or a value given to a flag (--quiet=x) */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				usage_error("unknown option, or one that takes no value: '%s'", argv[optind - 1]);
			usage_error("unknown option '-%c'", optopt);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->model)
		usage_error("--model is required");
	if (cfg->processes && !cfg->model->allows_processes)
		usage_error("--processes makes no sense for model %s: its workers share memory", cfg->model->name);
	if (cfg->stats_path && !*cfg->stats_path)
		usage_error("--stats: empty file name");
	cfg->addr = addr;
	parse_addr(srv, addr);
}

static void print_listening(const struct server *srv)
{
	char host[INET6_ADDRSTRLEN];
	const void *a = srv->addr.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&srv->addr)->sin6_addr
							 : (const void *)&((struct sockaddr_in *)&srv->addr)->sin_addr;
	inet_ntop(srv->addr.ss_family, a, host, sizeof(host));
	fprintf(stderr, PROG ": model %s listening on %s%s%s:%d pid %d\n", srv->cfg.model->name,
		srv->addr.ss_family == AF_INET6 ? "[" : "", host, srv->addr.ss_family == AF_INET6 ? "]" : "",
		srv->port, (int)getpid());
}

/* Every signal we act on is blocked in all threads and taken here,
 * synchronously, by the main thread (or, with --processes, the parent).
 * Returns the exit status. */
static int wait_for_shutdown(struct server *srv, const sigset_t *set)
{
	struct timespec deadline, now, left;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)srv->cfg.duration_s;
	deadline.tv_nsec += (long)((srv->cfg.duration_s - floor(srv->cfg.duration_s)) * 1e9);
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		int sig;
		if (srv->cfg.duration_s > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
			if (left.tv_sec < 0)
				return status;
			sig = sigtimedwait(set, NULL, &left);
			if (sig < 0 && errno == EAGAIN)
				return status;
		} else {
			sig = sigwaitinfo(set, NULL);
		}
		if (sig == SIGUSR1)
			stats_write(srv);
		else if (sig == SIGCHLD) {
			if (srv_reap(srv, &status) && status)
				return status;
		} else if (sig > 0)
			return status;
	}
}

static int start_model(struct server *srv)
{
	if (srv->cfg.work_us)
		work_calibrate();
	return srv->cfg.model->start(srv);
}

int main(int argc, char **argv)
{
	static struct server srv; /* large (per-unit slots), so not on the stack */
	sigset_t set;
	int status = 0;

	parse_args(&srv, argc, argv);
	/* A peer that resets a connection must cost an EPIPE, never the process
	 * (responses also use MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread, so all inherit it */

	if (srv_init(&srv) < 0)
		return 1;
	if (start_model(&srv) < 0) {
		status = 1;
	} else {
		if (!srv.cfg.quiet)
			print_listening(&srv);
		status = wait_for_shutdown(&srv, &set);
	}
	srv_stop(&srv);
	srv_join(&srv);
	if (srv.cfg.model->cleanup)
		srv.cfg.model->cleanup(&srv);
	if (srv.sh && srv.n_units && stats_write(&srv) < 0)
		status = 1;
	srv_destroy(&srv);
	return status;
}
