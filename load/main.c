// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope-load: HTTP/1.1 load generator for loopback servers.  By default
 * every request uses a new connection, to stress the server's accept path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "load.h"

#define LOAD_PROG "acceptscope-load"
#define DEFAULT_CONNECTIONS 8
#define DEFAULT_RATE_CONNECTIONS 1024
#define DEFAULT_DURATION 5.0
#define DEFAULT_TIMEOUT 10.0
#define MAX_CONNECTIONS 1000000
#define MAX_SECONDS 1e6

static const char usage[] =
"USAGE\n"
"  " LOAD_PROG " [--host H] --port P [--connections C] [--requests N | --duration S]\n"
"      [--rate R] [--keepalive] [--timeout S] [--json]\n"
"\n"
"Send HTTP/1.1 GET requests to a server on this machine and report what came back:\n"
"requests sent and answered, errors by kind, connect and response times, and how\n"
"many responses each server thread gave (the X-Worker response header).\n"
"By default every request opens a new connection (Connection: close), which is\n"
"what stresses the server's accept path.\n"
"\n"
"OPTIONS\n"
"  -H, --host H          server address: 127.0.0.0/8, ::1 or localhost (default\n"
"                        127.0.0.1); anything off this machine is refused\n"
"  -p, --port P          server port (required)\n"
"  -c, --connections C   requests in flight (default 8); with --rate, the most\n"
"                        allowed in flight (default 1024)\n"
"  -n, --requests N      send exactly N requests, then stop\n"
"  -d, --duration S      start requests for S seconds (default 5), then wait for\n"
"                        those in flight\n"
"  -r, --rate R          open loop: start R new connections per second whatever\n"
"                        the responses (R x S of them, or N); those due while C\n"
"                        are in flight are counted as not started\n"
"  -k, --keepalive       C persistent connections, requests one after another\n"
"  -t, --timeout S       seconds a request may take, connect included (default 10)\n"
"  -j, --json            print the results as one JSON object\n"
"  -h, --help            show this help\n"
"\n"
"RESULTS\n"
"  Times are in microseconds.  Every request sent ends up answered (a complete\n"
"  response, whatever its status), or as one error: refused, reset, closed (by\n"
"  the server before a complete response), timeout or other; or aborted, on\n"
"  SIGINT.  The http error count is the answered responses whose status is not\n"
"  2xx.  Exit status: 0 when the load ran (even with errors), 1 if it could not\n"
"  run, 2 for bad arguments.\n"
"\n"
"EXAMPLES\n"
"  " LOAD_PROG " -p 8080 -n 10000           # 10000 requests, 8 connections at a time\n"
"  " LOAD_PROG " -p 8080 -d 10 -c 64 -k     # 10 s over 64 keep-alive connections\n"
"  " LOAD_PROG " -p 8080 -d 5 -r 20000      # 20000 new connections per second\n"
"  " LOAD_PROG " -H ::1 -p 8080 -n 1000 --json\n";

static const struct option long_options[] = {
	{ "host", required_argument, NULL, 'H' },
	{ "port", required_argument, NULL, 'p' },
	{ "connections", required_argument, NULL, 'c' },
	{ "requests", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "keepalive", no_argument, NULL, 'k' },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, LOAD_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static uint64_t parse_count(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < min || v > max)
		usage_error("%s: '%s' is not a whole number from %lu to %lu", opt, s, (unsigned long)min,
			    (unsigned long)max);
	return v;
}

/* A positive number of seconds; "2.5", "2.5s" and "250ms" are accepted. */
static double parse_seconds(const char *opt, const char *s)
{
	double v, scale = 1.0;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && !strcmp(end, "ms"))
		scale = 1e-3;
	else if (end != s && (!strcmp(end, "s") || !*end))
		scale = 1.0;
	else
		end = NULL;
	v *= scale;
	if (!end || errno || !isfinite(v) || v <= 0 || v > MAX_SECONDS)
		usage_error("%s: '%s' is not a number of seconds (> 0)", opt, s);
	return v;
}

static double parse_rate(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v <= 0 || v > 1e7)
		usage_error("--rate: '%s' is not a number of connections per second (> 0)", s);
	return v;
}

static bool is_loopback4(const struct in_addr *a)
{
	return (ntohl(a->s_addr) >> 24) == 127;
}

/* Fill cfg->addr from host, which must be a loopback address (no name lookups). */
static void parse_host(struct load_cfg *cfg, const char *host)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cfg->addr;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&cfg->addr;
	char v6[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(host);

	memset(&cfg->addr, 0, sizeof(cfg->addr));
	if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(v6)) {
		memcpy(v6, host + 1, len - 2);	/* "[::1]" */
		v6[len - 2] = '\0';
	} else {
		snprintf(v6, sizeof(v6), "%s", len < sizeof(v6) ? host : "");
	}
	if (!strcasecmp(host, "localhost") || inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		if (!strcasecmp(host, "localhost"))
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (!is_loopback4(&s4->sin_addr))
			goto refuse;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->port);
		cfg->addrlen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, v6, &s6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) &&
		    !(IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127))
			goto refuse;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->port);
		cfg->addrlen = sizeof(*s6);
	} else {
		usage_error("--host: '%s' is not an IP address or localhost (names are not looked up)",
			    host);
	}
	return;
refuse:
	usage_error("--host: %s is not a loopback address; only 127.0.0.0/8, ::1 and localhost are allowed",
		    host);
}

static void parse_args(int argc, char **argv, struct load_cfg *cfg)
{
	bool have_connections = false;
	const char *host = "127.0.0.1";
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":H:p:c:n:d:r:kt:jh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			cfg->port = (int)parse_count("--port", optarg, 1, 65535);
			break;
		case 'c':
			cfg->connections = (uint32_t)parse_count("--connections", optarg, 1, MAX_CONNECTIONS);
			have_connections = true;
			break;
		case 'n':
			cfg->requests = parse_count("--requests", optarg, 1, UINT64_MAX / 2);
			break;
		case 'd':
			cfg->duration = parse_seconds("--duration", optarg);
			break;
		case 'r':
			cfg->rate = parse_rate(optarg);
			break;
		case 'k':
			cfg->keepalive = true;
			break;
		case 't':
			cfg->timeout = parse_seconds("--timeout", optarg);
			break;
		case 'j':
			cfg->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && !strncmp(argv[optind - 1], "--", 2))
				usage_error("option '%s' takes no value", argv[optind - 1]);
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->port)
		usage_error("--port is required");
	if (cfg->requests && cfg->duration > 0)
		usage_error("--requests and --duration cannot be combined");
	if (cfg->rate > 0 && cfg->keepalive)
		usage_error("--rate opens a new connection per request; it cannot be combined with --keepalive");
	if (!cfg->requests && cfg->duration <= 0)
		cfg->duration = DEFAULT_DURATION;
	if (!have_connections)
		cfg->connections = cfg->rate > 0 ? DEFAULT_RATE_CONNECTIONS : DEFAULT_CONNECTIONS;
	cfg->host = host;
	parse_host(cfg, host);
}

/* Whether port is in the range the kernel picks source ports from (then a connect can hit itself). */
static bool in_ephemeral_range(int port)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo, hi, n;

	if (!f)
		return true;
	n = fscanf(f, "%d %d", &lo, &hi);
	fclose(f);
	return n != 2 || (port >= lo && port <= hi);
}

/* Room for --connections sockets; raise the open-file limit if needed (and allowed). */
static bool ensure_fd_limit(uint32_t connections)
{
	rlim_t need = (rlim_t)connections + 32;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return true;	/* unknown: let socket() say so */
	if (rl.rlim_cur >= need)
		return true;
	if (rl.rlim_max < need) {
		struct rlimit up = { need, need };

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return true;	/* root may raise the hard limit */
	}
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur >= need)
		return true;
	fprintf(stderr, LOAD_PROG ": --connections %u needs %lu open files, but the limit is %lu\n",
		connections, (unsigned long)need, (unsigned long)rl.rlim_cur);
	return false;
}

int main(int argc, char **argv)
{
	struct load_cfg cfg = { .timeout = DEFAULT_TIMEOUT };
	struct load_stats *st;
	int err;

	parse_args(argc, argv, &cfg);
	if (!ensure_fd_limit(cfg.connections))
		return 1;
	cfg.check_self = in_ephemeral_range(cfg.port);
	st = calloc(1, sizeof(*st));
	if (!st) {
		fprintf(stderr, LOAD_PROG ": out of memory\n");
		return 1;
	}
	err = load_run(&cfg, st);
	if (err) {
		fprintf(stderr, LOAD_PROG ": cannot run: %s\n", strerror(-err));
		free(st);
		return 1;
	}
	if (cfg.json)
		report_json(&cfg, st);
	else
		report_text(&cfg, st);
	free(st);
	return 0;
}
