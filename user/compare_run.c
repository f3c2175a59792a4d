// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: one model at one load level.  Starts this binary as the tracer on a
 * free loopback port, then acceptscope-demo on that port, then acceptscope-load against it;
 * then stops the server (SIGTERM: it writes its stats) and the tracer (SIGINT: it prints its
 * summary) and reads what the three wrote.  Every step has a deadline; at the run's hard
 * deadline, or on SIGINT of compare, every child is killed with SIGKILL and reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "compare.h"
#include "stats.h"

#define MAX_KIDS 8

static pid_t kids[MAX_KIDS];
static int nr_kids;

double cmp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void kid_del(pid_t pid)
{
	for (int i = 0; i < nr_kids; i++) {
		if (kids[i] == pid) {
			kids[i] = kids[--nr_kids];
			return;
		}
	}
}

void cmp_kill_children(void)
{
	for (int i = 0; i < nr_kids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nr_kids; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	nr_kids = 0;
}

/* Start argv[0] with stdin from /dev/null and stdout, stderr to files.  The child gets its own
 * process group (a Ctrl-C at the terminal reaches only compare, which stops it) and dies with
 * compare even if compare is killed outright. */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
	pid_t parent = getpid(), pid;
	sigset_t none;

	if (nr_kids == MAX_KIDS)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || in < 0 || o < 0 || e < 0)
			_exit(127);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	kids[nr_kids++] = pid;
	return pid;
}

/* The whole of a small file, NUL-terminated, or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *b = realloc(buf, cap ? cap * 2 : 8192);

			if (!b)
				break;
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static bool file_has(const char *path, const char *needle)
{
	char *buf = slurp(path);
	bool has = buf && strstr(buf, needle);

	free(buf);
	return has;
}

/* The last non-empty line of a file (for error messages), at most @len - 1 bytes. */
static void last_line(const char *path, char *out, size_t len)
{
	char *buf = slurp(path), *end, *start;

	out[0] = '\0';
	if (!buf)
		return;
	end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	snprintf(out, len, "%s", start);
	free(buf);
}

struct progress {
	int index, total;
	const char *model, *level;
	double est_per_run;
	bool tty;
	double last;
};

static void show_progress(struct progress *p, const char *phase, double left)
{
	double now = cmp_now(), all;

	if (!p->tty || now - p->last < 0.2)
		return;
	p->last = now;
	all = (left > 0 ? left : 0) + (p->total - p->index - 1) * p->est_per_run;
	fprintf(stderr, "\r\033[K[%d/%d] %s %s: %s, %.0fs left (about %.0fs in all)", p->index + 1, p->total,
		p->model, p->level, phase, left > 0 ? ceil(left) : 0, ceil(all));
	fflush(stderr);
}

enum wait_result { W_READY, W_EXITED, W_TIMEOUT, W_INTR };

/* Poll until @needle shows up in @path (if given), @pid exits (its status to *status), the
 * deadline passes, or compare is interrupted. */
static enum wait_result wait_for(pid_t pid, int *status, const char *path, const char *needle, double deadline,
				 struct progress *p, const char *phase, double phase_end)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	int st;

	for (;;) {
		if (cmp_interrupted)
			return W_INTR;
		if (path && file_has(path, needle))
			return W_READY;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			kid_del(pid);
			if (status)
				*status = st;
			return W_EXITED;
		}
		if (cmp_now() >= deadline)
			return W_TIMEOUT;
		if (p)
			show_progress(p, phase, phase_end - cmp_now());
		nanosleep(&tick, NULL);
	}
}

/* A TCP port on 127.0.0.1 that nothing uses now (the kernel's pick for port 0). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) && !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static double min2(double a, double b)
{
	return a < b ? a : b;
}

static void describe_exit(char *out, size_t len, const char *who, int st, const char *errfile)
{
	char line[200];

	last_line(errfile, line, sizeof(line));
	if (WIFSIGNALED(st))
		snprintf(out, len, "%s killed by signal %d%s%s", who, WTERMSIG(st), line[0] ? ": " : "", line);
	else
		snprintf(out, len, "%s exited with status %d%s%s", who, WEXITSTATUS(st), line[0] ? ": " : "", line);
}

/* ---- reading what the children wrote ---- */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

static uint64_t ju64(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_uint64(v) : 0;
}

static long jlong(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? (long)json_object_get_int64(v) : 0;
}

static double jdbl(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_double(v) : 0;
}

static size_t jlen(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* The tracer's final object: the last line with "summary":true. */
static json_object *read_summary(const char *path)
{
	char *buf = slurp(path), *line, *found = NULL, *save = NULL;
	json_object *o = NULL;

	if (!buf)
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "\"summary\":true"))
			found = line;
	if (found)
		o = json_tokener_parse(found);
	free(buf);
	return o;
}

static struct cmp_thread *thread_for(struct cmp_run *run, long tid)
{
	struct cmp_thread *t;

	for (int i = 0; i < run->nr_threads; i++)
		if (run->threads[i].tid == tid)
			return &run->threads[i];
	t = realloc(run->threads, (run->nr_threads + 1) * sizeof(*t));
	if (!t)
		return NULL;
	run->threads = t;
	t = &run->threads[run->nr_threads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

static int by_tid(const void *a, const void *b)
{
	const struct cmp_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int parse_load(struct cmp_run *run, const char *path)
{
	json_object *o = json_object_from_file(path), *lat;

	if (!o) {
		snprintf(run->error, sizeof(run->error), "acceptscope-load wrote no JSON");
		return -1;
	}
	run->rps = jdbl(o, "rps");
	lat = jget(o, "latency_us");
	run->p50_us = jdbl(lat, "p50");
	run->p99_us = jdbl(lat, "p99");
	run->sent = ju64(o, "sent");
	run->answered = ju64(o, "answered");
	run->client_connections = ju64(o, "connections");
	run->client_errors = ju64(jget(o, "errors"), "total");
	run->not_started = ju64(o, "not_started");
	json_object_put(o);
	return 0;
}

static int parse_stats(struct cmp_run *run, const char *path)
{
	json_object *o = json_object_from_file(path), *ths;

	if (!o) {
		snprintf(run->error, sizeof(run->error), "acceptscope-demo wrote no stats");
		return -1;
	}
	run->server_stats = o;
	ths = jget(o, "threads");
	for (size_t i = 0; i < jlen(ths); i++) {
		json_object *th = json_object_array_get_idx(ths, i);
		struct cmp_thread *t = thread_for(run, jlong(th, "tid"));
		json_object *role = jget(th, "role");

		if (!t)
			return -1;
		t->in_server = true;
		t->pid = jlong(th, "pid");
		snprintf(t->role, sizeof(t->role), "%s", role ? json_object_get_string(role) : "");
		t->s_accepts = ju64(th, "accepts");
		t->s_empty_accepts = ju64(th, "empty_accepts");
		t->s_reads = ju64(th, "reads");
		t->s_read_bytes = ju64(th, "read_bytes");
		t->s_requests = ju64(th, "requests");
		run->server_accepts += t->s_accepts;
		run->server_empty_accepts += t->s_empty_accepts;
		run->server_reads += t->s_reads;
	}
	return 0;
}

static int parse_trace(struct cmp_run *run, const char *path)
{
	json_object *s = read_summary(path), *ls, *ps, *port = NULL, *ths;
	bool first = true;

	if (!s) {
		snprintf(run->error, sizeof(run->error), "the tracer printed no summary object");
		return -1;
	}
	run->hooks = json_object_get(jget(s, "hooks"));
	run->overflows_known = true;
	ls = jget(s, "listeners");
	for (size_t i = 0; i < jlen(ls); i++) {
		json_object *l = json_object_array_get_idx(ls, i), *w = jget(l, "wait_us"), *ov, *h;

		if (jlong(l, "port") != run->port)
			continue;
		run->nr_listeners++;
		run->queued += ju64(l, "queued");
		run->accepted += ju64(l, "accepted");
		if (jlong(l, "depth_max") > run->depth_max)
			run->depth_max = jlong(l, "depth_max");
		/* Percentiles of several listeners (reuseport) cannot be merged: take the worst. */
		if (first || jlong(w, "p50") > run->wait_p50_us)
			run->wait_p50_us = jlong(w, "p50");
		if (first || jlong(w, "p90") > run->wait_p90_us)
			run->wait_p90_us = jlong(w, "p90");
		if (first || jlong(w, "p99") > run->wait_p99_us)
			run->wait_p99_us = jlong(w, "p99");
		if (first || jlong(w, "max") > run->wait_max_us)
			run->wait_max_us = jlong(w, "max");
		first = false;
		ov = jget(l, "overflows");
		if (!ov)
			run->overflows_known = false;
		else
			run->overflows += json_object_get_uint64(ov);
		h = jget(l, "depth_hist_log2");
		for (size_t b = 0; b < jlen(h) && b < DEPTH_SLOTS; b++) {
			run->depth_hist[b] += json_object_get_uint64(json_object_array_get_idx(h, b));
			if ((int)b + 1 > run->nr_hist)
				run->nr_hist = b + 1;
		}
	}
	if (!run->nr_listeners)
		run->overflows_known = false;
	ps = jget(s, "ports");
	for (size_t i = 0; i < jlen(ps); i++)
		if (jlong(json_object_array_get_idx(ps, i), "port") == run->port)
			port = json_object_array_get_idx(ps, i);
	if (!port) {
		snprintf(run->error, sizeof(run->error), "the tracer saw no listener on port %d", run->port);
		json_object_put(s);
		return -1;
	}
	run->jain = jdbl(port, "jain");
	run->jain_reads = jdbl(port, "jain_reads");
	run->busiest_share = jdbl(port, "busiest_share");
	ths = jget(port, "threads");
	for (size_t i = 0; i < jlen(ths); i++) {
		json_object *th = json_object_array_get_idx(ths, i), *comm = jget(th, "comm");
		struct cmp_thread *t = thread_for(run, jlong(th, "tid"));

		if (!t) {
			json_object_put(s);
			return -1;
		}
		t->traced = true;
		t->pid = jlong(th, "pid");
		snprintf(t->comm, sizeof(t->comm), "%s", comm ? json_object_get_string(comm) : "");
		t->accepts = ju64(th, "accepts");
		t->empty_accepts = ju64(th, "empty_accepts");
		t->reads = ju64(th, "reads");
		t->read_bytes = ju64(th, "read_bytes");
		t->accept_share = jdbl(th, "accept_share");
		t->read_share = jdbl(th, "read_share");
		run->empty_accepts += t->empty_accepts;
	}
	json_object_put(s);
	return 0;
}

/* Figures derived from the per-thread rows. */
static void derive(struct cmp_run *run)
{
	int designated = 0, both = 0;
	uint64_t total = 0;
	double idlest = -1, *acc;

	qsort(run->threads, run->nr_threads, sizeof(*run->threads), by_tid);
	for (int i = 0; i < run->nr_threads; i++) {
		const struct cmp_thread *t = &run->threads[i];

		total += t->accepts;
		run->accepting += t->accepts > 0;
		run->reading += t->reads > 0;
		both += t->accepts > 0 && t->reads > 0;
		designated += t->in_server && t->role[0] && strcmp(t->role, "worker") != 0;
	}
	/* The threads meant to accept: those with a role of their own (acceptor, dispatcher)
	 * if there are any, else every server thread. */
	run->threads_match = true;
	acc = calloc(run->nr_threads + 1, sizeof(*acc));
	if (!acc)
		return;
	for (int i = 0; i < run->nr_threads; i++) {
		const struct cmp_thread *t = &run->threads[i];
		bool acceptor = designated ? t->in_server && t->role[0] && strcmp(t->role, "worker") != 0
					   : t->in_server;
		double share = total ? (double)t->accepts / total : 0;

		if (acceptor) {
			acc[run->acceptors] = t->accepts;
			run->acceptors++;
			if (idlest < 0 || share < idlest)
				idlest = share;
		}
		if (t->accepts != t->s_accepts || t->empty_accepts != t->s_empty_accepts || t->reads != t->s_reads ||
		    t->read_bytes != t->s_read_bytes)
			run->threads_match = false;
	}
	run->idlest_share = idlest < 0 ? 0 : idlest;
	run->jain_acceptors = jain_index(acc, run->acceptors);
	free(acc);

	if (!run->reading)
		snprintf(run->readers, sizeof(run->readers), "none");
	else if (both == run->reading && both == run->accepting)
		snprintf(run->readers, sizeof(run->readers), run->accepting == 1 ? "acceptor" : "each acceptor");
	else if (!both)
		snprintf(run->readers, sizeof(run->readers), run->reading == 1 ? "a worker" : "workers");
	else
		snprintf(run->readers, sizeof(run->readers), "mixed");
}

void cmp_run_free(struct cmp_run *run)
{
	free(run->threads);
	run->threads = NULL;
	run->nr_threads = 0;
	json_object_put(run->server_stats);
	run->server_stats = NULL;
	json_object_put(run->hooks);
	run->hooks = NULL;
}

/* ---- one run ---- */

static void fail(struct cmp_run *run, const char *fmt, const char *a)
{
	char buf[PATH_MAX + 256];
	size_t len;

	if (run->error[0])
		return;
	snprintf(buf, sizeof(buf), fmt, a);
	len = strlen(buf);
	if (len >= sizeof(run->error))
		len = sizeof(run->error) - 1;
	memcpy(run->error, buf, len);
	run->error[len] = '\0';
}

int cmp_run_one(const struct cmp_config *cfg, struct cmp_run *run, int index, int total)
{
	char dir[PATH_MAX + 16], demo_err[PATH_MAX + 32], stats[PATH_MAX + 32], trace_out[PATH_MAX + 32];
	char trace_err[PATH_MAX + 32], load_out[PATH_MAX + 32], load_err[PATH_MAX + 32];
	char a_threads[16], a_limit[16], a_port[16], a_conns[16], a_dur[32], a_rate[32], a_work[24];
	double t0 = cmp_now(), hard = t0 + cfg->duration + 45, load_end;
	int limit = (int)ceil(cfg->duration + 90), st = 0;
	struct progress prog = { .index = index, .total = total, .model = run->model, .level = run->level->name,
				 .est_per_run = cfg->duration + 1.5, .tty = isatty(2) };
	pid_t demo = -1, tracer = -1, load = -1;
	enum wait_result w;

	snprintf(dir, sizeof(dir), "%s/run%d", cfg->tmpdir, index);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fail(run, "cannot create %s", dir);
		return 0;
	}
	snprintf(demo_err, sizeof(demo_err), "%s/demo.err", dir);
	snprintf(stats, sizeof(stats), "%s/stats.json", dir);
	snprintf(trace_out, sizeof(trace_out), "%s/trace.json", dir);
	snprintf(trace_err, sizeof(trace_err), "%s/trace.err", dir);
	snprintf(load_out, sizeof(load_out), "%s/load.json", dir);
	snprintf(load_err, sizeof(load_err), "%s/load.err", dir);
	snprintf(a_threads, sizeof(a_threads), "%d", cfg->threads);
	snprintf(a_limit, sizeof(a_limit), "%d", limit);
	snprintf(a_conns, sizeof(a_conns), "%d", run->connections);
	snprintf(a_dur, sizeof(a_dur), "%g", cfg->duration);
	snprintf(a_rate, sizeof(a_rate), "%g", cfg->rate);
	snprintf(a_work, sizeof(a_work), "%ld", cfg->work_us);

	/* 1. The tracer (this binary) on a free port, before the server exists: an accept()
	 * already blocking when the tracer attaches would not be counted.  2. The server on
	 * that port.  Should another process take the port in between, try another. */
	for (int attempt = 0;; attempt++) {
		bool clash;

		run->port = free_port();
		if (run->port <= 0) {
			fail(run, "no free loopback port%s", "");
			goto out;
		}
		snprintf(a_port, sizeof(a_port), "%d", run->port);
		{
			/* -i: the tracer reads each listener's drop counter when it samples; a listener
			 * never sampled while open has no overflow count. */
			char *argv[] = { (char *)cfg->self_bin, "--json", "-P", a_port, "-i", "0.25", "-d", a_limit, NULL };

			show_progress(&prog, "attaching", cfg->duration + 1);
			tracer = spawn(argv, trace_out, trace_err);
			if (tracer < 0) {
				fail(run, "cannot start %s", cfg->self_bin);
				goto out;
			}
			w = wait_for(tracer, &st, trace_err, "tracing;", min2(hard, cmp_now() + 30), &prog, "attaching",
				     cmp_now() + cfg->duration + 1);
			if (w == W_INTR)
				goto out;
			if (w == W_EXITED) {
				describe_exit(run->error, sizeof(run->error), "the tracer", st, trace_err);
				goto out;
			}
			if (w == W_TIMEOUT) {
				fail(run, "the tracer did not attach within 30 s%s", "");
				goto out;
			}
		}
		{
			char *argv[] = { (char *)cfg->demo_bin, "--model", (char *)run->model, "--threads", a_threads,
					 "--port", a_port, "--addr", "127.0.0.1", "--stats", stats, "--duration", a_limit,
					 "--work-us", a_work, NULL };

			demo = spawn(argv, "/dev/null", demo_err);
			if (demo < 0) {
				fail(run, "cannot start %s", cfg->demo_bin);
				goto out;
			}
			w = wait_for(demo, &st, demo_err, "listening on ", min2(hard, cmp_now() + 15), &prog, "starting",
				     cmp_now() + cfg->duration + 1);
		}
		if (w == W_INTR)
			goto out;
		if (w == W_READY)
			break;
		if (w == W_TIMEOUT) {
			fail(run, "acceptscope-demo did not listen within 15 s%s", "");
			goto out;
		}
		clash = file_has(demo_err, "Address already in use");
		if (!clash || attempt == 4) {
			describe_exit(run->error, sizeof(run->error), "acceptscope-demo", st, demo_err);
			goto out;
		}
		cmp_kill_children();	/* the tracer watches the wrong port: start over */
	}

	/* 3. The load: a new connection per request, for the duration. */
	{
		char *argv[16] = { (char *)cfg->load_bin, "--port", a_port, "--connections", a_conns, "--duration",
				   a_dur, "--timeout", "5", "--json" };
		int n = 10;

		if (cfg->rate > 0) {
			argv[n++] = "--rate";
			argv[n++] = a_rate;
		}
		argv[n] = NULL;
		load = spawn(argv, load_out, load_err);
		if (load < 0) {
			fail(run, "cannot start %s", cfg->load_bin);
			goto out;
		}
		load_end = cmp_now() + cfg->duration;
		w = wait_for(load, &st, NULL, NULL, min2(hard, load_end + 15), &prog, "load", load_end);
		if (w == W_INTR)
			goto out;
		if (w == W_TIMEOUT) {
			fail(run, "acceptscope-load did not finish in time%s", "");
			goto out;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			describe_exit(run->error, sizeof(run->error), "acceptscope-load", st, load_err);
			goto out;
		}
	}

	/* 4. Stop the server: it writes its stats. */
	show_progress(&prog, "stopping", 0);
	kill(demo, SIGTERM);
	w = wait_for(demo, &st, NULL, NULL, min2(hard, cmp_now() + 10), &prog, "stopping", 0);
	if (w == W_INTR)
		goto out;
	if (w == W_TIMEOUT) {
		fail(run, "acceptscope-demo did not exit on SIGTERM%s", "");
		goto out;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		describe_exit(run->error, sizeof(run->error), "acceptscope-demo", st, demo_err);
		goto out;
	}

	/* 5. Stop the tracer: its last line is the summary. */
	kill(tracer, SIGINT);
	w = wait_for(tracer, &st, NULL, NULL, min2(hard, cmp_now() + 15), &prog, "stopping", 0);
	if (w == W_INTR)
		goto out;
	if (w == W_TIMEOUT) {
		fail(run, "the tracer did not exit on SIGINT%s", "");
		goto out;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		describe_exit(run->error, sizeof(run->error), "the tracer", st, trace_err);
		goto out;
	}

	if (parse_load(run, load_out) || parse_stats(run, stats) || parse_trace(run, trace_out))
		goto out;
	derive(run);
	run->ok = true;
out:
	cmp_kill_children();
	run->secs = cmp_now() - t0;
	if (prog.tty)
		fputs("\r\033[K", stderr);
	if (!run->ok && !run->error[0] && !cmp_interrupted)
		snprintf(run->error, sizeof(run->error), "failed");
	return cmp_interrupted ? -1 : 0;
}
