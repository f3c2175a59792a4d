/* acceptscope-demo's command line: argp through common/cli.h, so a bad argument is one
 * line on stderr and exit status 2, --help and --version go to stdout with status 0. */
#include "demo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *argp_program_version = DEMO_PROG " 0.1";

static const char doc[] =
"A small HTTP/1.1 server that spreads connections over its threads the way a\n"
"well-known server architecture does, and counts per thread what it did\n"
"(accepts, empty accepts, reads, requests) as ground truth for acceptscope.\n"
"Every response names the thread that sent it in an X-Worker header.\n"
"\n"
"USAGE: " DEMO_PROG " --model MODEL [--threads N] [--processes] [--port P]\n"
"         [--addr A] [--backlog B] [--work-us U] [--accept-work-us U]\n"
"         [--accept-delay-us D]\n"
"         [--duration S] [--idle-timeout S] [--request-timeout S]\n"
"         [--stats FILE] [--ready-fd FD] [--quiet]\n"
"       " DEMO_PROG " --list-models\n"
"\n"
"EXAMPLES:\n"
"    " DEMO_PROG " --model dispatch --threads 4\n"
"    " DEMO_PROG " --model reuseport --processes --port 0 --stats s.json\n"
"    " DEMO_PROG " --model shared-blocking --accept-delay-us 2000 -d 30\n"
"    " DEMO_PROG " --model shared-exclusive -a ::1 --work-us 200 --stats -\n"
"    wrk -t2 -c64 -d10s http://127.0.0.1:8080/    # then: kill -USR1 PID\n"
"    mkfifo r; " DEMO_PROG " --model single --port 0 --ready-fd 3 3>r &\n"
"    read -r _ port pid <r     # returns once the server is listening\n";

/* After the options; MODELS comes from the table (see help_filter). */
static const char post_doc[] =
"--ready-fd FD: once every listener is listening and every worker is ready,\n"
"the server writes one line \"ready PORT PID\\n\" to FD (an open descriptor, 3\n"
"or more, e.g. a pipe's end) and closes it, also in --processes workers; a\n"
"server that fails to start closes it without a line, at exit.  The\n"
"\"listening on\" line goes to stderr as well (unless --quiet).\n"
"\n"
"--list-models prints one model a line, in a stable, machine-readable form:\n"
"NAME<TAB>processes|threads<TAB>description (processes: it takes --processes).\n"
"\n"
"SIGNALS\n"
"  SIGINT, SIGTERM   write --stats and exit\n"
"  SIGUSR1           write --stats and keep running\n"
"\n"
"EXIT STATUS\n"
"  0 on a clean exit, 1 on a runtime error, 2 on a usage error.\n";

enum {
	OPT_PROCESSES = 256,
	OPT_WORK_US,
	OPT_ACCEPT_WORK_US,
	OPT_ACCEPT_DELAY_US,
	OPT_IDLE_TIMEOUT,
	OPT_REQUEST_TIMEOUT,
	OPT_READY_FD,
	OPT_LIST_MODELS,
};

static const struct argp_option options[] = {
	{NULL, 0, NULL, 0, "Model:", 1},
	{"model", 'm', "MODEL", 0, "Accept architecture (required; see MODELS below)", 1},
	{"threads", 't', "N", 0, "Workers, 1.." STR(MAX_THREADS) " (default 4; single always has one)", 1},
	{"processes", OPT_PROCESSES, NULL, 0, "Run the workers as forked processes", 1}, /* + which models */
	{NULL, 0, NULL, 0, "Listening:", 2},
	{"port", 'p', "P", 0, "TCP port, 0 for an ephemeral one (default 8080)", 2},
	{"addr", 'a', "A", 0, "IPv4 or IPv6 address to listen on (default 127.0.0.1)", 2},
	{"backlog", 'b', "B", 0, "listen() backlog (default 511; the kernel caps it at net.core.somaxconn)", 2},
	{NULL, 0, NULL, 0, "Load shaping:", 3},
	{"work-us", OPT_WORK_US, "U", 0, "CPU microseconds to burn per request (default 0)", 3},
	{"accept-work-us", OPT_ACCEPT_WORK_US, "U", 0,
	 "CPU microseconds the accepting thread burns after each accept, as a TLS handshake or "
	 "routing would (default 0)", 3},
	{"accept-delay-us", OPT_ACCEPT_DELAY_US, "D", 0,
	 "Sleep D microseconds before every accept() call, to build an accept queue (default 0)", 3},
	{NULL, 0, NULL, 0, "Time limits:", 4},
	{"duration", 'd', "S", 0, "Exit after S seconds (default: run until signalled)", 4},
	{"idle-timeout", OPT_IDLE_TIMEOUT, "S", 0,
	 "Close a connection that has been idle, or sending one request's headers, for S seconds "
	 "(default 10)", 4},
	{"request-timeout", OPT_REQUEST_TIMEOUT, "S", 0,
	 "Close a connection whose request (headers and body) is not all in S seconds after its "
	 "first byte, however steadily it trickles in; default 10", 4},
	{NULL, 0, NULL, 0, "Output:", 5},
	{"stats", 's', "FILE", 0,
	 "Write the per-thread counters as JSON to FILE, or to stdout if FILE is -, on exit and on "
	 "SIGUSR1", 5},
	{"ready-fd", OPT_READY_FD, "FD", 0, "Once listening, write \"ready PORT PID\" to FD and close it", 5},
	{"quiet", 'q', NULL, 0, "Do not print the \"listening\" line", 5},
	{"list-models", OPT_LIST_MODELS, NULL, 0, "Print the models, one a line, and exit", 5},
	{0},
};

struct args {
	struct server *srv;
	const char *addr;
	bool list_models;
};

/* What --help says from the table: which models take --processes, and after the options
 * the models, then post_doc.  argp frees what this returns unless it is @text. */
static char *help_filter(int key, const char *text, void *input)
{
	char *out = NULL;
	size_t len = 0;
	const char *sep = " (";
	FILE *f;

	(void)input;
	if ((key != ARGP_KEY_HELP_POST_DOC && key != OPT_PROCESSES) || !(f = open_memstream(&out, &len)))
		return (char *)text;
	if (key == OPT_PROCESSES) {
		fputs(text, f);
		for (int i = 0; models[i]; i++) {
			if (models[i]->allows_processes) {
				fprintf(f, "%s%s", sep, models[i]->name);
				sep = ", ";
			}
		}
		fputs(" only)", f);
	} else {
		fputs("MODELS\n", f);
		for (int i = 0; models[i]; i++)
			fprintf(f, "  %-16s %s\n", models[i]->name, models[i]->summary);
		fprintf(f, "\n%s", post_doc);
	}
	if (fclose(f) != 0) {
		free(out);
		return (char *)text;
	}
	return out;
}

/* 127.0.0.1, ::1 or [::1]; -1 if it is none of those. */
static int parse_addr(struct server *srv, const char *s)
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
		return -1;
	}
	return 0;
}

static uint64_t parse_timeout_ms(struct argp_state *state, const char *arg, const char *what)
{
	return (uint64_t)ceil(cli_secs(state, arg, 0, 1e7, what) * 1000);
}

static int parse_ready_fd(struct argp_state *state, const char *arg)
{
	int fd = (int)cli_long(state, arg, 3, INT_MAX, "--ready-fd");

	if (fcntl(fd, F_GETFD) < 0)
		argp_error(state, "--ready-fd: %d is not an open file descriptor", fd);
	return fd;
}

/* Once every option is in: what depends on several of them, or only on the last of each. */
static void check_args(struct argp_state *state, struct args *a)
{
	struct config *cfg = &a->srv->cfg;

	if (a->list_models) {
		models_list(stdout);
		exit(fflush(stdout) == 0 ? 0 : 1);
	}
	if (!cfg->model)
		argp_error(state, "--model is required (models: --list-models)");
	if (cfg->processes && !cfg->model->allows_processes)
		argp_error(state, "--processes makes no sense for model %s: its workers share memory",
			   cfg->model->name);
	if (cfg->stats_path && !*cfg->stats_path)
		argp_error(state, "--stats: empty file name");
	if (parse_addr(a->srv, a->addr) < 0)
		argp_error(state, "--addr: '%s' is not an IPv4 or IPv6 address", a->addr);
	cfg->addr = a->addr;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	struct config *cfg = &a->srv->cfg;

	switch (key) {
	case 'm':
		if (!(cfg->model = model_find(arg)))
			argp_error(state, "unknown model '%s' (models: --list-models)", arg);
		break;
	case 't': cfg->threads = (int)cli_long(state, arg, 1, MAX_THREADS, "--threads"); break;
	case OPT_PROCESSES: cfg->processes = true; break;
	case 'p': cfg->port = (int)cli_long(state, arg, 0, 65535, "--port"); break;
	case 'a': a->addr = arg; break;
	case 'b': cfg->backlog = (int)cli_long(state, arg, 0, 1 << 30, "--backlog"); break;
	case OPT_WORK_US: cfg->work_us = (unsigned)cli_long(state, arg, 0, 10000000, "--work-us"); break;
	case OPT_ACCEPT_WORK_US:
		cfg->accept_work_us = (unsigned)cli_long(state, arg, 0, 10000000, "--accept-work-us");
		break;
	case OPT_ACCEPT_DELAY_US:
		cfg->accept_delay_us = (unsigned)cli_long(state, arg, 0, 10000000, "--accept-delay-us");
		break;
	case 'd': cfg->duration_s = cli_secs(state, arg, 0, 1e7, "--duration"); break;
	case OPT_IDLE_TIMEOUT: cfg->idle_timeout_ms = parse_timeout_ms(state, arg, "--idle-timeout"); break;
	case OPT_REQUEST_TIMEOUT:
		cfg->request_timeout_ms = parse_timeout_ms(state, arg, "--request-timeout");
		break;
	case 's': cfg->stats_path = arg; break;
	case OPT_READY_FD: cfg->ready_fd = parse_ready_fd(state, arg); break;
	case 'q': cfg->quiet = true; break;
	case OPT_LIST_MODELS: a->list_models = true; break;
	case ARGP_KEY_END: check_args(state, a); break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void args_parse(struct server *srv, int argc, char **argv)
{
	static const struct argp argp = {.options = options, .parser = parse_opt, .doc = doc,
					 .help_filter = help_filter};
	struct args a = {.srv = srv, .addr = "127.0.0.1"};

	srv->cfg = (struct config){.threads = 4, .port = 8080, .backlog = 511, .idle_timeout_ms = 10000,
				   .request_timeout_ms = 10000, .ready_fd = -1};
	cli_parse(&argp, argc, argv, &a);
}
