/* Lifecycle of units (threads or processes), listeners, and the counted syscalls. */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sleep for us microseconds, or less if shutdown begins meanwhile. */
static void sleep_unless_stopping(struct server *srv, uint64_t us)
{
	struct pollfd pfd = {.fd = srv->stop_fd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
	ppoll(&pfd, 1, &ts, NULL);
}

void backoff(struct server *srv, unsigned ms)
{
	sleep_unless_stopping(srv, (uint64_t)ms * 1000);
}

/* ---- counted syscalls ------------------------------------------------------ */

static int reopen_reserve(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of fds, accept() fails with EMFILE before it even looks at the queue:
 * the connection at its head can be neither accepted nor refused, a
 * level-triggered listener stays readable and a blocking accept() returns at
 * once: the classic EMFILE busy loop.  So wait (at most 100 ms) for a
 * connection to be there, give up the reserve fd, accept the connection (a
 * real, counted accept), close it at once and take the reserve back. */
static void shed_one_connection(struct worker_ctx *ctx, int listen_fd)
{
	struct pollfd pfd[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = ctx->srv->stop_fd, .events = POLLIN}};

	if (poll(pfd, 2, 100) <= 0 || pfd[1].revents || !(pfd[0].revents & POLLIN))
		return;
	if (ctx->reserve_fd < 0 && (ctx->reserve_fd = reopen_reserve()) < 0) {
		backoff(ctx->srv, 100); /* another thread took the slot we freed */
		return;
	}
	close(ctx->reserve_fd);
	if (ctx->srv->cfg.accept_delay_us) /* before every accept() call, this one too */
		sleep_unless_stopping(ctx->srv, ctx->srv->cfg.accept_delay_us);
	/* On a blocking listener this may block if another thread took the
	 * connection first: then it sheds the next one to arrive. */
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		counter_add(&ctx->counters->accepts, 1);
		close(fd);
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		counter_add(&ctx->counters->empty_accepts, 1);
	}
	ctx->reserve_fd = reopen_reserve();
}

/* Counting rule: every accept4() call that returns an fd is one "accepts",
 * every call that fails with EAGAIN/EWOULDBLOCK one "empty_accepts", on the
 * calling unit.  Other failures (EINVAL after shutdown, EMFILE, ECONNABORTED,
 * EINTR) count as neither.  --accept-delay-us sleeps before every call,
 * --accept-work-us burns the CPU after each accept.
 * Returns the new fd (non-blocking), or -1 with errno set. */
int accept_counted(struct worker_ctx *ctx, int listen_fd)
{
	unsigned delay = ctx->srv->cfg.accept_delay_us;

	if (delay)
		sleep_unless_stopping(ctx->srv, delay);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		counter_add(&ctx->counters->accepts, 1);
		work_burn(ctx->srv->cfg.accept_work_us);
		return fd;
	}
	int err = errno;
	if (err == EAGAIN || err == EWOULDBLOCK) {
		counter_add(&ctx->counters->empty_accepts, 1);
	} else if ((err == EMFILE || err == ENFILE) && !srv_stopping(ctx->srv)) {
		shed_one_connection(ctx, listen_fd);
	} else if (err != EINTR && err != ECONNABORTED && err != EPROTO && !srv_stopping(ctx->srv)) {
		/* Unexpected (ENOBUFS, ENOMEM, ...): do not let a level-triggered listener spin. */
		backoff(ctx->srv, 10);
	}
	errno = err;
	return -1;
}

/* Counting rule: every read() on a connection that returns > 0 is one
 * "reads" and adds its return value to "read_bytes"; EOF and errors count
 * nothing.  All connection input goes through here: no readv, no MSG_PEEK. */
ssize_t read_counted(struct worker_ctx *ctx, int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	if (n > 0) {
		counter_add(&ctx->counters->reads, 1);
		counter_add(&ctx->counters->read_bytes, (uint64_t)n);
	}
	return n;
}

/* ---- --work-us: a calibrated busy loop -------------------------------------
 * A busy loop, not a sleep, so the CPU is really taken and queues really build.
 * Iterations are counted rather than the clock watched, so a preempted worker
 * still owes its full amount of work, as a real one would. */

static double iterations_per_us;

static uint64_t spin(uint64_t iterations)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint64_t i = 0; i < iterations; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ volatile("" : "+r"(x)); /* keep the loop */
	}
	return x;
}

void work_calibrate(void)
{
	double best = 0;
	for (int round = 0; round < 3; round++) {
		uint64_t n = 1u << 16;
		for (;;) {
			uint64_t start_ns = clock_ns();
			spin(n);
			double us = (double)(clock_ns() - start_ns) / 1e3;
			if (us >= 10000) { /* 10 ms: long enough to time, short enough to start fast */
				if (n / us > best)
					best = (double)n / us; /* the fastest round was the least disturbed */
				break;
			}
			n *= 2;
		}
	}
	iterations_per_us = best;
}

void work_burn(unsigned us)
{
	if (us)
		spin((uint64_t)(us * iterations_per_us));
}

/* ---- listeners --------------------------------------------------------------- */

static int somaxconn(void)
{
	int v = 4096; /* the default since Linux 5.4 */
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 4096;
		fclose(f);
	}
	return v;
}

static void set_port(struct server *srv, int port)
{
	srv->port = port;
	if (srv->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&srv->addr)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&srv->addr)->sin_port = htons((uint16_t)port);
}

/* Bind and listen on srv->addr.  The first listener fixes srv->port (it may
 * have asked for port 0); later SO_REUSEPORT ones join the same port. */
int srv_open_listener(struct server *srv, bool nonblocking, bool reuseport)
{
	int one = 1;
	int fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		log_error("SO_REUSEPORT: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&srv->addr, srv->addrlen) < 0) {
		log_error("bind %s port %d: %s", srv->cfg.addr, srv->port, strerror(errno));
		goto fail;
	}
	if (listen(fd, srv->backlog) < 0) {
		log_error("listen: %s", strerror(errno));
		goto fail;
	}
	if (srv->port == 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		set_port(srv, ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							     : ((struct sockaddr_in *)&ss)->sin_port));
	}
	srv->listen_fds[srv->n_listen++] = fd;
	return fd;
fail:
	close(fd);
	return -1;
}

/* ---- units --------------------------------------------------------------------- */

int srv_init(struct server *srv)
{
	srv->backlog = srv->cfg.backlog < somaxconn() ? srv->cfg.backlog : somaxconn();
	set_port(srv, srv->cfg.port);
	/* MAP_SHARED before any fork: --processes children count into the parent's view. */
	srv->sh = mmap(NULL, sizeof(*srv->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv->sh == MAP_FAILED) {
		srv->sh = NULL;
		log_error("mmap: %s", strerror(errno));
		return -1;
	}
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->stop_fd < 0 || pipe2(srv->ready_pipe, O_CLOEXEC) < 0) {
		log_error("eventfd/pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void worker_ready(struct worker_ctx *ctx)
{
	if (write(ctx->srv->ready_pipe[1], "R", 1) != 1)
		log_error("ready pipe: %s", strerror(errno));
}

void worker_failed(struct worker_ctx *ctx)
{
	if (write(ctx->srv->ready_pipe[1], "E", 1) != 1)
		log_error("ready pipe: %s", strerror(errno));
}

static void unit_begin(struct worker_ctx *ctx)
{
	/* The calling thread's comm (the process's, for a --processes worker): what ps, top and
	 * acceptscope show for it. */
	pthread_setname_np(pthread_self(), ctx->counters->name);
	__atomic_store_n(&ctx->counters->tid, (int32_t)gettid(), __ATOMIC_RELAXED);
	__atomic_store_n(&ctx->counters->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	ctx->reserve_fd = reopen_reserve();
}

static void unit_end(struct worker_ctx *ctx)
{
	if (ctx->reserve_fd >= 0)
		close(ctx->reserve_fd);
}

static void *thread_main(void *arg)
{
	struct worker_ctx *ctx = arg;
	unit_begin(ctx);
	ctx->run(ctx);
	unit_end(ctx);
	return NULL;
}

/* A --processes worker.  The parent drives shutdown through the shared stop
 * eventfd and listener, so the child ignores the signals a terminal sends to
 * the whole group (SIGINT) and SIGUSR1 (which would kill it), but dies on a
 * SIGTERM of its own and when the parent dies. */
static void __attribute__((noreturn)) child_main(struct worker_ctx *ctx, pid_t parent)
{
	sigset_t none;

	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (ctx->srv->cfg.ready_fd >= 0) /* the parent's to write and close: EOF once it has */
		close(ctx->srv->cfg.ready_fd);
	unit_begin(ctx);
	ctx->run(ctx);
	unit_end(ctx);
	_exit(0);
}

/* Wait for the unit just spawned to say it is ready (or failed). */
static int wait_ready(struct server *srv)
{
	struct pollfd pfd = {.fd = srv->ready_pipe[0], .events = POLLIN};
	char c = 0;

	if (poll(&pfd, 1, 10000) != 1 || read(srv->ready_pipe[0], &c, 1) != 1) {
		log_error("a worker did not start within 10 s");
		return -1;
	}
	return c == 'R' ? 0 : -1;
}

static const char *const role_thread_names[] = {
	[ROLE_ACCEPTOR] = "acceptor",
	[ROLE_DISPATCHER] = "dispatcher",
};

/* "acceptor", "dispatcher", or for the i-th worker "worker-i" ("shard-i" in reuseport). */
static void unit_name(const struct server *srv, enum role role, char *name, size_t len)
{
	int workers = 0;

	if (role != ROLE_WORKER) {
		snprintf(name, len, "%s", role_thread_names[role]);
		return;
	}
	for (int i = 0; i < srv->n_units; i++)
		workers += srv->sh->slots[i].role == ROLE_WORKER;
	/* At most MAX_THREADS workers: four digits, so the name fits comm's 15 characters. */
	snprintf(name, len, "%.10s-%u", srv->cfg.model->worker_name ? srv->cfg.model->worker_name : "worker",
		 (unsigned)workers % 10000u);
}

/* Start one unit running run(ctx) and wait until it is ready, so units come
 * up (and register with epoll) in a fixed order.  Its counter slot is the
 * next one; role is what the JSON will say, and names it. */
int srv_spawn(struct server *srv, enum role role, void (*run)(struct worker_ctx *), void *arg)
{
	if (srv->n_units >= MAX_UNITS) {
		log_error("too many units");
		return -1;
	}
	struct worker_ctx *ctx = &srv->units[srv->n_units];
	*ctx = (struct worker_ctx){.srv = srv, .counters = &srv->sh->slots[srv->n_units], .arg = arg, .run = run,
				   .reserve_fd = -1};
	ctx->counters->role = role;
	unit_name(srv, role, ctx->counters->name, sizeof(ctx->counters->name));

	if (srv->cfg.processes) {
		pid_t parent = getpid();
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			log_error("fork: %s", strerror(errno));
			return -1;
		}
		if (pid == 0)
			child_main(ctx, parent);
		ctx->pid = pid;
	} else {
		int err = pthread_create(&ctx->thread, NULL, thread_main, ctx);
		if (err) {
			log_error("pthread_create: %s", strerror(err));
			return -1;
		}
	}
	srv->n_units++;
	return wait_ready(srv);
}

/* Spawn cfg.threads worker units running @run; the i-th gets the i-th element of
 * @args (elements @size bytes apart), or NULL if @args is NULL. */
int srv_spawn_workers(struct server *srv, void (*run)(struct worker_ctx *), void *args, size_t size)
{
	for (int i = 0; i < srv->cfg.threads; i++)
		if (srv_spawn(srv, ROLE_WORKER, run, args ? (char *)args + (size_t)i * size : NULL) < 0)
			return -1;
	return 0;
}

/* The start of every model whose workers share one listening socket. */
int srv_start_shared(struct server *srv, bool nonblocking, void (*run)(struct worker_ctx *))
{
	if (srv_open_listener(srv, nonblocking, false) < 0)
		return -1;
	return srv_spawn_workers(srv, run, NULL, 0);
}

/* Begin shutdown: every unit notices within one wake-up.  Epoll loops see
 * stop_fd; threads blocked in accept() are woken by shutdown(SHUT_RD), which
 * turns a listening socket into a closed one, so their accept() fails with
 * EINVAL; models with other waits get model->wake. */
void srv_stop(struct server *srv)
{
	uint64_t one = 1;

	__atomic_store_n(&srv->sh->stop, 1, __ATOMIC_RELAXED);
	if (write(srv->stop_fd, &one, sizeof(one)) < 0)
		log_error("stop eventfd: %s", strerror(errno));
	for (int i = 0; i < srv->n_listen; i++)
		shutdown(srv->listen_fds[i], SHUT_RD);
	if (srv->cfg.model->wake)
		srv->cfg.model->wake(srv);
}

/* --processes: collect exited children without blocking.  Returns how many
 * exited; *status gets 1 if any exited unexpectedly (before shutdown). */
int srv_reap(struct server *srv, int *status)
{
	int n = 0;
	for (int i = 0; i < srv->n_units; i++) {
		struct worker_ctx *ctx = &srv->units[i];
		int ws;
		if (ctx->pid <= 0 || waitpid(ctx->pid, &ws, WNOHANG) != ctx->pid)
			continue;
		if (!srv_stopping(srv)) {
			if (WIFSIGNALED(ws))
				log_error("worker process %d killed by signal %d", (int)ctx->pid, WTERMSIG(ws));
			else
				log_error("worker process %d exited with status %d", (int)ctx->pid, WEXITSTATUS(ws));
			*status = 1;
		}
		ctx->pid = -ctx->pid; /* keep the number for the JSON, mark it reaped */
		n++;
	}
	return n;
}

/* Wait for every unit to finish; processes get 3 s, then SIGKILL. */
void srv_join(struct server *srv)
{
	if (!srv->cfg.processes) {
		for (int i = 0; i < srv->n_units; i++)
			pthread_join(srv->units[i].thread, NULL);
		return;
	}
	int ignored = 0;
	uint64_t deadline = clock_ms() + 3000;
	for (;;) {
		srv_reap(srv, &ignored);
		bool left = false;
		for (int i = 0; i < srv->n_units; i++)
			left |= srv->units[i].pid > 0;
		if (!left)
			return;
		if (clock_ms() > deadline) {
			for (int i = 0; i < srv->n_units; i++)
				if (srv->units[i].pid > 0) {
					log_error("worker process %d did not exit; killing it", (int)srv->units[i].pid);
					kill(srv->units[i].pid, SIGKILL);
				}
			deadline = UINT64_MAX;
		}
		usleep(5000);
	}
}

void srv_destroy(struct server *srv)
{
	for (int i = 0; i < srv->n_listen; i++)
		close(srv->listen_fds[i]);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	close(srv->ready_pipe[0]);
	close(srv->ready_pipe[1]);
	if (srv->sh)
		munmap(srv->sh, sizeof(*srv->sh));
}
