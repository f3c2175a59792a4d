/* acceptscope-demo: signals, start, the readiness handshake and shutdown (the
 * command line is args.c). */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_listening(const struct server *srv)
{
	char host[INET6_ADDRSTRLEN];
	const void *a = srv->addr.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&srv->addr)->sin6_addr
							 : (const void *)&((struct sockaddr_in *)&srv->addr)->sin_addr;
	inet_ntop(srv->addr.ss_family, a, host, sizeof(host));
	fprintf(stderr, DEMO_PROG ": model %s listening on %s%s%s:%d pid %d\n", srv->cfg.model->name,
		srv->addr.ss_family == AF_INET6 ? "[" : "", host, srv->addr.ss_family == AF_INET6 ? "]" : "",
		srv->port, (int)getpid());
}

/* Every signal we act on is blocked in all threads and taken here,
 * synchronously, by the main thread (or, with --processes, the parent).
 * Returns the exit status. */
static int wait_for_shutdown(struct server *srv, const sigset_t *set)
{
	uint64_t deadline_ns = clock_ns() + (uint64_t)(srv->cfg.duration_s * 1e9);
	int status = 0;

	for (;;) {
		int sig;
		if (srv->cfg.duration_s > 0) {
			uint64_t now = clock_ns();
			if (now >= deadline_ns)
				return status;
			uint64_t left = deadline_ns - now;
			struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u), .tv_nsec = (long)(left % 1000000000u)};
			sig = sigtimedwait(set, NULL, &ts);
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

/* --ready-fd: every listener is listening and every unit ready; say so in one line
 * and close the descriptor (--processes workers closed their copies at start). */
static void announce_ready(struct server *srv)
{
	int fd = srv->cfg.ready_fd;
	char line[64];

	if (fd < 0)
		return;
	int n = snprintf(line, sizeof(line), "ready %d %d\n", srv->port, (int)getpid());
	errno = 0;
	if (write(fd, line, (size_t)n) != n) /* one short line: one write, atomic on a pipe */
		log_error("--ready-fd %d: %s", fd, errno ? strerror(errno) : "short write");
	close(fd);
	srv->cfg.ready_fd = -1; /* the number is free for the next socket */
}

static int start_model(struct server *srv)
{
	if (srv->cfg.work_us || srv->cfg.accept_work_us)
		work_calibrate();
	return srv->cfg.model->start(srv);
}

int main(int argc, char **argv)
{
	static struct server srv; /* large (per-unit slots), so not on the stack */
	sigset_t set;
	int status = 0;

	args_parse(&srv, argc, argv);
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
		announce_ready(&srv);
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
