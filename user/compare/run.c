// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: one model at one load level.  Starts tracing a free loopback port
 * (in this process: a session, session.h), then acceptscope-demo on that port, ready once it
 * writes "ready PORT PID" on the pipe given as its --ready-fd, then acceptscope-load against
 * it until it exits; then stops the server (SIGTERM: it writes its stats) and takes the
 * tracer's final counts.  Every step has a deadline; at the run's hard deadline, or on SIGINT
 * of compare, every child is killed with SIGKILL and reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "clock.h"
#include "compare.h"
#include "cpu.h"
#include "session.h"

#define SAMPLE_SECS 0.25	/* the tracer samples the listeners (and their drop counters) this often */
#define TICK_MS 20

struct progress {
	int index, total;
	const char *model, *level;
	double est_per_run;
	bool tty;
	double last;
};

/* One run under way. */
struct run_ctx {
	const struct cmp_config *cfg;
	struct cmp_run *run;
	struct session tracer;
	bool tracing;
	struct cmp_timeline timeline;	/* --timeline: the run's page, fed by the tracer's records */
	double hard;		/* the run's hard deadline */
	double sampled;		/* when the tracer last sampled */
	struct progress prog;
	pid_t demo;
	struct cpu_sampler *cpu;	/* the server's threads, sampled as the load starts and ends */
	char stats[PATH_MAX + 32], demo_err[PATH_MAX + 32], load_out[PATH_MAX + 32], load_err[PATH_MAX + 32];
};

/* What to wait for: @pid's exit, or first a line on @fd (if >= 0); until @deadline. */
struct waiting {
	pid_t pid;
	int fd;
	double deadline;
	const char *phase;
	double phase_end;	/* for the progress line */
};

enum wait_result { W_READY, W_EXITED, W_TIMEOUT, W_INTR };

static void show_progress(struct progress *p, const char *phase, double left)
{
	double now = clock_secs(), all;

	if (!p->tty || now - p->last < 0.2)
		return;
	p->last = now;
	all = (left > 0 ? left : 0) + (p->total - p->index - 1) * p->est_per_run;
	fprintf(stderr, "\r\033[K[%d/%d] %s %s: %s, %.0fs left (about %.0fs in all)", p->index + 1, p->total,
		p->model, p->level, phase, left > 0 ? ceil(left) : 0, ceil(all));
	fflush(stderr);
}

/* The tracer's periodic work: the catch-up for accepts under way at attach, and a sample of
 * the listeners (a listener never sampled while open has no overflow count). */
static void sample(struct run_ctx *c, bool now)
{
	struct snapshot snap;

	cmp_timeline_poll(&c->timeline);
	if (!c->tracing || (!now && clock_secs() - c->sampled < SAMPLE_SECS))
		return;
	c->sampled = clock_secs();
	session_tick(&c->tracer);
	collect(c->tracer.col, &snap);
	cmp_timeline_sample(&c->timeline, &snap);
	snapshot_free(&snap);
}

/* Read what @fd has into @line (of @len) until a newline: 1 then, 0 for more to come, -1 at
 * its end. */
static int read_line(int fd, char *line, size_t len)
{
	size_t have = strlen(line);
	ssize_t n = read(fd, line + have, len - 1 - have);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	line[have + (n > 0 ? n : 0)] = '\0';
	if (strchr(line, '\n'))
		return 1;
	return n == 0 || have + n == len - 1 ? -1 : 0;
}

/* Until @w's line arrives (W_READY), its process exits (W_EXITED, its status in *status), the
 * deadline passes or compare is interrupted; the tracer samples meanwhile. */
static enum wait_result wait_child(struct run_ctx *c, struct waiting w, int *status, char *line, size_t len)
{
	for (;;) {
		struct pollfd p = { .fd = w.fd, .events = POLLIN };

		if (cmp_interrupted)
			return W_INTR;
		if (cmp_reaped(w.pid, status))
			return W_EXITED;
		if (clock_secs() >= w.deadline)
			return W_TIMEOUT;
		sample(c, false);
		show_progress(&c->prog, w.phase, w.phase_end - clock_secs());
		if (poll(&p, 1, TICK_MS) > 0 && w.fd >= 0) {
			int got = read_line(w.fd, line, len);

			if (got > 0)
				return W_READY;
			if (got < 0)
				w.fd = -1;	/* closed without the line: it is exiting */
		}
	}
}

static double min2(double a, double b)
{
	return a < b ? a : b;
}

/* @src into @dst of @len, cut to fit. */
static void copy_text(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The error of the run, unless it has one already. */
static void fail(struct cmp_run *run, const char *fmt, const char *a)
{
	char buf[PATH_MAX + 256];

	snprintf(buf, sizeof(buf), fmt, a);
	if (!run->error[0])
		copy_text(run->error, sizeof(run->error), buf);
}

/* The last non-empty line of a child's stderr file (for error messages), at most @len - 1 bytes. */
static void last_line(const char *path, char *out, size_t len)
{
	char buf[4096], *end, *start;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1, from = size - (off_t)sizeof(buf) + 1;
	ssize_t n = size > 0 ? pread(fd, buf, sizeof(buf) - 1, from > 0 ? from : 0) : -1;

	out[0] = '\0';
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(buf, '\n');
	copy_text(out, len, start ? start + 1 : buf);
}

static void describe_exit(struct cmp_run *run, const char *who, int st, const char *errfile)
{
	char line[200];

	if (run->error[0])
		return;
	last_line(errfile, line, sizeof(line));
	if (WIFSIGNALED(st))
		snprintf(run->error, sizeof(run->error), "%s killed by signal %d%s%s", who, WTERMSIG(st),
			 line[0] ? ": " : "", line);
	else
		snprintf(run->error, sizeof(run->error), "%s exited with status %d%s%s", who, WEXITSTATUS(st),
			 line[0] ? ": " : "", line);
}

/* Start @argv with its output to the files @out and @err. */
static pid_t spawn(char *const argv[], const char *out, const char *err, int keep_fd)
{
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid = o >= 0 && e >= 0 ? cmp_spawn(argv, o, e, keep_fd) : -1;

	if (o >= 0)
		close(o);
	if (e >= 0)
		close(e);
	return pid;
}

/* A TCP port on 127.0.0.1 that nothing uses now (the kernel's pick for port 0), or with
 * @port, whether that one is taken. */
static int loopback_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(port) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) && !getsockname(fd, (struct sockaddr *)&a, &len))
		got = ntohs(a.sin_port);
	close(fd);
	return got;
}

/* Tracing the run's port, before the server exists (so that it sees every accept). */
static int start_tracer(struct run_ctx *c)
{
	__u32 port = c->run->port;
	struct snapshot first;
	int err = session_open(&c->tracer, &(struct session_opts){ .ports = &port, .nr_ports = 1,
								     .trace = c->cfg->timeline_dir != NULL });

	if (err) {
		snprintf(c->run->error, sizeof(c->run->error), "the tracer could not start (status %d)", err);
		return -1;
	}
	c->tracing = true;
	if (cmp_timeline_start(&c->timeline, c->cfg, c->run, &c->tracer)) {
		snprintf(c->run->error, sizeof(c->run->error), "the tracer could not start a timeline");
		return -1;
	}
	/* The first sample sets the drop-counter baselines of listeners already there. */
	collect(c->tracer.col, &first);
	cmp_timeline_sample(&c->timeline, &first);
	snapshot_free(&first);
	c->sampled = clock_secs();
	return 0;
}

static void stop_tracer(struct run_ctx *c)
{
	cmp_timeline_stop(&c->timeline);	/* its ring buffer before the session's map */
	if (c->tracing)
		session_close(&c->tracer);
	c->tracing = false;
}

/* "ready PORT PID": the server listens on the run's port. */
static int check_ready(struct run_ctx *c, char *line)
{
	int port = 0, pid = 0;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "ready %d %d", &port, &pid) == 2 && port == c->run->port && pid > 0)
		return 0;
	fail(c->run, "acceptscope-demo said \"%.64s\" on its --ready-fd", line);
	return -1;
}

/* The server on the run's port, ready when it says so on its --ready-fd.  0; 1 when it could
 * not listen because the port was taken meanwhile (start over on another); -1 on failure. */
static int start_demo(struct run_ctx *c)
{
	const struct cmp_config *cfg = c->cfg;
	char a_threads[16], a_port[16], a_limit[16], a_work[24], a_fd[16], line[64] = "";
	char *argv[] = { (char *)cfg->demo_bin, "--model", (char *)c->run->model, "--threads", a_threads, "--port", a_port,
			 "--addr", "127.0.0.1", "--stats", c->stats, "--duration", a_limit, "--work-us", a_work,
			 "--ready-fd", a_fd, NULL };
	double now = clock_secs();
	struct waiting w = { .deadline = min2(c->hard, now + 15), .phase = "starting", .phase_end = now + cfg->duration + 1 };
	int fds[2], st = 0;
	enum wait_result res;

	if (pipe2(fds, O_CLOEXEC)) {
		fail(c->run, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	snprintf(a_threads, sizeof(a_threads), "%d", cfg->threads);
	snprintf(a_port, sizeof(a_port), "%d", c->run->port);
	snprintf(a_limit, sizeof(a_limit), "%d", (int)ceil(cfg->duration + 90));	/* should compare die */
	snprintf(a_work, sizeof(a_work), "%ld", cfg->work_us);
	snprintf(a_fd, sizeof(a_fd), "%d", fds[1]);
	c->demo = w.pid = spawn(argv, "/dev/null", c->demo_err, fds[1]);
	close(fds[1]);
	w.fd = fds[0];
	res = c->demo < 0 ? W_EXITED : wait_child(c, w, &st, line, sizeof(line));
	close(fds[0]);
	if (c->demo < 0)
		fail(c->run, "cannot start %s", cfg->demo_bin);
	else if (res == W_READY)
		return check_ready(c, line);
	else if (res == W_TIMEOUT)
		fail(c->run, "acceptscope-demo did not listen within 15 s%s", "");
	else if (res == W_EXITED && loopback_port(c->run->port) < 0)
		return 1;
	else if (res == W_EXITED)
		describe_exit(c->run, "acceptscope-demo", st, c->demo_err);
	return -1;
}

/* The tracer on a free port, then the server on that port.  Should another process take the
 * port in between, try another. */
static int start(struct run_ctx *c)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		int ret;

		c->run->port = loopback_port(0);
		if (c->run->port <= 0) {
			fail(c->run, "no free loopback port%s", "");
			return -1;
		}
		show_progress(&c->prog, "attaching", c->cfg->duration + 1);
		if (start_tracer(c))
			return -1;
		ret = start_demo(c);
		if (ret <= 0)
			return ret;
		stop_tracer(c);
	}
	fail(c->run, "acceptscope-demo found every port it was given taken%s", "");
	return -1;
}

/* Until @w's process exits: 0 if it exited 0, else the run's error says how it ended (as @who,
 * with the last line of @errfile), or @late at the deadline. */
static int wait_exit_ok(struct run_ctx *c, struct waiting w, const char *who, const char *errfile, const char *late)
{
	int st = 0;
	enum wait_result res = wait_child(c, w, &st, NULL, 0);

	if (res == W_TIMEOUT)
		fail(c->run, "%s", late);
	if (res != W_EXITED)
		return -1;
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	describe_exit(c->run, who, st, errfile);
	return -1;
}

/* The server's threads' CPU use so far (the span between two calls is the load's). */
static void sample_server_cpu(struct run_ctx *c)
{
	__u32 pid = c->demo;

	if (c->cpu || (c->cpu = cpu_sampler_new(1, "/proc")))
		cpu_sample(c->cpu, &pid, 1, cpu_clock_ns());
}

/* The load: a new connection per request, for the duration; 0 once it exited 0. */
static int run_load(struct run_ctx *c)
{
	const struct cmp_config *cfg = c->cfg;
	char a_port[16], a_conns[16], a_dur[32], a_rate[32];
	char *argv[] = { (char *)cfg->load_bin, "--port", a_port, "--connections", a_conns, "--duration", a_dur,
			 "--timeout", "5", "--json", cfg->rate > 0 ? "--rate" : NULL, a_rate, NULL };
	double end = clock_secs() + cfg->duration;
	struct waiting w = { .fd = -1, .deadline = min2(c->hard, end + 15), .phase = "load", .phase_end = end };

	snprintf(a_port, sizeof(a_port), "%d", c->run->port);
	snprintf(a_conns, sizeof(a_conns), "%d", c->run->connections);
	snprintf(a_dur, sizeof(a_dur), "%g", cfg->duration);
	snprintf(a_rate, sizeof(a_rate), "%g", cfg->rate);
	sample_server_cpu(c);
	w.pid = spawn(argv, c->load_out, c->load_err, -1);
	if (w.pid < 0) {
		fail(c->run, "cannot start %s", cfg->load_bin);
		return -1;
	}
	if (wait_exit_ok(c, w, "acceptscope-load", c->load_err, "acceptscope-load did not finish in time"))
		return -1;
	sample_server_cpu(c);
	return 0;
}

/* Stop the server: it writes its stats.  0 once it exited 0. */
static int stop_demo(struct run_ctx *c)
{
	struct waiting w = { .pid = c->demo, .fd = -1, .deadline = min2(c->hard, clock_secs() + 10), .phase = "stopping" };

	show_progress(&c->prog, "stopping", 0);
	kill(c->demo, SIGTERM);
	return wait_exit_ok(c, w, "acceptscope-demo", c->demo_err, "acceptscope-demo did not exit on SIGTERM");
}

/* What the client and the server wrote, and the tracer's final counts. */
static void finish(struct run_ctx *c)
{
	struct snapshot snap;

	collect(c->tracer.col, &snap);
	cmp_timeline_sample(&c->timeline, &snap);
	if (!cmp_read_load(c->run, c->load_out) && !cmp_read_stats(c->run, c->stats) &&
	    !cmp_read_snapshot(c->run, &snap, &c->tracer.plan)) {
		struct cpu_span cpu = {};

		cmp_derive(c->run);
		if (c->cpu && !cpu_span_get(c->cpu, 1, &cpu))
			cmp_read_cpu(c->run, &cpu);
		cpu_span_free(&cpu);
		c->run->ok = true;
	}
	snapshot_free(&snap);
	cmp_timeline_write(&c->timeline, c->cfg, c->run, c->tracer.col);
}

static int make_dir(struct run_ctx *c, int index)
{
	char dir[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/run%d", c->cfg->tmpdir, index);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fail(c->run, "cannot create %s", dir);
		return -1;
	}
	snprintf(c->demo_err, sizeof(c->demo_err), "%s/demo.err", dir);
	snprintf(c->stats, sizeof(c->stats), "%s/stats.json", dir);
	snprintf(c->load_out, sizeof(c->load_out), "%s/load.json", dir);
	snprintf(c->load_err, sizeof(c->load_err), "%s/load.err", dir);
	return 0;
}

int cmp_run_one(const struct cmp_config *cfg, struct cmp_run *run, int index, int total)
{
	double t0 = clock_secs();
	struct run_ctx c = { .cfg = cfg, .run = run, .hard = t0 + cfg->duration + 45, .demo = -1,
			     .prog = { .index = index, .total = total, .model = run->model, .level = run->level->name,
				       .est_per_run = cfg->duration + 1.5, .tty = isatty(2) } };

	if (!make_dir(&c, index) && !start(&c) && !run_load(&c) && !stop_demo(&c))
		finish(&c);
	cmp_kill_children();
	stop_tracer(&c);
	cpu_sampler_free(c.cpu);
	run->secs = clock_secs() - t0;
	if (c.prog.tty)
		fputs("\r\033[K", stderr);
	if (!run->ok && !run->error[0] && !cmp_interrupted)
		snprintf(run->error, sizeof(run->error), "failed");
	return cmp_interrupted ? -1 : 0;
}
