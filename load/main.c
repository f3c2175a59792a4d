// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope-load: HTTP/1.1 load generator for loopback servers.  By default
 * every request uses a new connection, to stress the server's accept path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "cli.h"
#include "load.h"

#define LOAD_PROG "acceptscope-load"
#define DEFAULT_CONNECTIONS 8
#define DEFAULT_RATE_CONNECTIONS 1024
#define DEFAULT_DURATION 5.0
#define DEFAULT_TIMEOUT 10.0
#define MAX_CONNECTIONS 1000000
#define MAX_SECONDS 1e6
#define MAX_RATE 1e7

const char *argp_program_version = LOAD_PROG " 0.1";
static const char doc[] =
"Send HTTP/1.1 GET requests to a server on this machine and report what came\n"
"back: requests sent and answered, errors by kind, connect and response times,\n"
"and how many responses each server thread gave (the X-Worker response header).\n"
"By default every request opens a new connection (Connection: close), which is\n"
"what stresses the server's accept path.\n"
"\n"
"Times are in microseconds.  Every request sent ends up answered (a complete\n"
"response, whatever its status), or as one error: refused, reset, closed (by\n"
"the server before a complete response), timeout or other; or aborted, on\n"
"SIGINT.  The http error count is the answered responses whose status is not\n"
"2xx.  Exit status: 0 when the load ran (even with errors), 1 if it could not\n"
"run, 2 for bad arguments.\n"
"\n"
"USAGE: " LOAD_PROG " [--host H] --port P [--connections C]\n"
"                        [--requests N | --duration S] [--rate R]\n"
"                        [--keepalive] [--timeout S] [--json]\n"
"\n"
"EXAMPLES:\n"
"    " LOAD_PROG " -p 8080 -n 10000        # 10000 requests, 8 at a time\n"
"    " LOAD_PROG " -p 8080 -d 10 -c 64 -k  # 10 s, 64 keep-alive connections\n"
"    " LOAD_PROG " -p 8080 -d 5 -r 20000   # 20000 new connections a second\n"
"    " LOAD_PROG " -H ::1 -p 8080 -n 1000 --json\n";

static const struct argp_option opts[] = {
	{ "host", 'H', "H", 0, "Server address: 127.0.0.0/8, ::1 or localhost (default 127.0.0.1); "
	  "anything off this machine is refused", 0 },
	{ "port", 'p', "P", 0, "Server port (required)", 0 },
	{ "connections", 'c', "C", 0, "Requests in flight (default 8); with --rate, the most allowed "
	  "in flight (default 1024)", 0 },
	{ "requests", 'n', "N", 0, "Send exactly N requests, then stop", 0 },
	{ "duration", 'd', "S", 0, "Start requests for S seconds (default 5), then wait for those in "
	  "flight", 0 },
	{ "rate", 'r', "R", 0, "Open loop: start R new connections per second whatever the responses "
	  "(R x S of them, or N); those due while C are in flight are counted as not started", 0 },
	{ "keepalive", 'k', NULL, 0, "C persistent connections, requests one after another", 0 },
	{ "timeout", 't', "S", 0, "Seconds a request may take, connect included (default 10)", 0 },
	{ "json", 'j', NULL, 0, "Print the results as one JSON object", 0 },
	{},
};

/* What the parser collects besides cfg itself. */
struct args {
	struct load_cfg *cfg;
	const char *host;
	bool have_connections;
};

/* A whole number in [min, max]: digits only (strtol() would also take blanks and a sign). */
static long count_arg(struct argp_state *state, const char *arg, long min, long max,
		      const char *what)
{
	if (*arg < '0' || *arg > '9')
		argp_error(state, "invalid %s '%s' (%ld-%ld)", what, arg, min, max);
	return cli_long(state, arg, min, max, what);
}

/* @arg as a number in (0, @max]; with @units also with one: "2.5s", "250ms" (then seconds). */
static bool positive_arg(const char *arg, double max, bool units, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || errno)
		return false;
	if (units && !strcmp(end, "ms"))
		v *= 1e-3;
	else if (*end && !(units && !strcmp(end, "s")))
		return false;
	if (!(v > 0) || v > max)
		return false;
	*out = v;
	return true;
}

static double seconds_arg(struct argp_state *state, const char *arg, const char *what)
{
	double v;

	if (positive_arg(arg, MAX_SECONDS, true, &v))
		return v;
	return cli_secs(state, arg, 0, MAX_SECONDS, what);	/* says what is wrong, and exits */
}

static double rate_arg(struct argp_state *state, const char *arg)
{
	double v;

	if (!positive_arg(arg, MAX_RATE, false, &v))
		argp_error(state, "invalid --rate '%s' (connections per second, > 0)", arg);
	return v;
}

static bool is_loopback4(const struct in_addr *a)
{
	return (ntohl(a->s_addr) >> 24) == 127;
}

/* Fill cfg->addr from host, which must be a loopback address (no name lookups). */
static void parse_host(struct argp_state *state, struct load_cfg *cfg, const char *host)
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
		argp_error(state, "--host: '%s' is not an IP address or localhost (names are not looked up)",
			   host);
	}
	return;
refuse:
	argp_error(state, "--host: %s is not a loopback address; only 127.0.0.0/8, ::1 and localhost are allowed",
		   host);
}

/* After the last option: what the options say together. */
static void finish_args(struct argp_state *state, struct args *a)
{
	struct load_cfg *cfg = a->cfg;

	if (!cfg->port)
		argp_error(state, "--port is required");
	if (cfg->requests && cfg->duration > 0)
		argp_error(state, "--requests and --duration cannot be combined");
	if (cfg->rate > 0 && cfg->keepalive)
		argp_error(state, "--rate opens a new connection per request; it cannot be combined with --keepalive");
	if (!cfg->requests && cfg->duration <= 0)
		cfg->duration = DEFAULT_DURATION;
	if (!a->have_connections)
		cfg->connections = cfg->rate > 0 ? DEFAULT_RATE_CONNECTIONS : DEFAULT_CONNECTIONS;
	cfg->host = a->host;
	parse_host(state, cfg, a->host);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	struct load_cfg *cfg = a->cfg;

	switch (key) {
	case 'H':
		a->host = arg;
		break;
	case 'p':
		cfg->port = (int)count_arg(state, arg, 1, 65535, "--port");
		break;
	case 'c':
		cfg->connections = (uint32_t)count_arg(state, arg, 1, MAX_CONNECTIONS, "--connections");
		a->have_connections = true;
		break;
	case 'n':
		cfg->requests = (uint64_t)count_arg(state, arg, 1, LONG_MAX, "--requests");
		break;
	case 'd':
		cfg->duration = seconds_arg(state, arg, "--duration");
		break;
	case 'r':
		cfg->rate = rate_arg(state, arg);
		break;
	case 'k':
		cfg->keepalive = true;
		break;
	case 't':
		cfg->timeout = seconds_arg(state, arg, "--timeout");
		break;
	case 'j':
		cfg->json = true;
		break;
	case ARGP_KEY_END:
		finish_args(state, a);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void parse_args(int argc, char **argv, struct load_cfg *cfg)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct args a = { .cfg = cfg, .host = "127.0.0.1" };

	cli_parse(&argp, argc, argv, &a);
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
