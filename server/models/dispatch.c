/* dispatch: memcached's thread.c.  One acceptor thread owns the listener; each
 * connection it accepts is handed, round-robin, to one of N worker threads,
 * each with its own epoll.  The hand-off is memcached's: push the fd on the
 * worker's queue under a mutex, then wake the worker through its eventfd
 * (memcached writes a byte to a pipe).  The acceptor accepts one connection
 * per listener event, as memcached's conn_listening state does; the
 * level-triggered registration brings it back while the queue is non-empty.
 * Round-robin means workers' connection counts differ by at most one. */
#include "../evloop.h"
#include "models.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct fd_queue {
	int *fds;
	size_t n, cap;
};

struct dispatch_worker {
	struct source notify; /* eventfd: "your queue has fds" */
	pthread_mutex_t lock;
	struct fd_queue incoming; /* filled by the acceptor, under lock */
};

struct dispatch {
	struct dispatch_worker *workers;
	int n_workers;
	int next; /* round-robin cursor, the acceptor's alone */
};

static int fd_queue_push(struct fd_queue *q, int fd)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		int *fds = realloc(q->fds, cap * sizeof(*fds));
		if (!fds)
			return -1;
		q->fds = fds;
		q->cap = cap;
	}
	q->fds[q->n++] = fd;
	return 0;
}

static void hand_off(struct dispatch *d, int fd)
{
	struct dispatch_worker *w = &d->workers[d->next];
	uint64_t one = 1;
	int pushed;

	d->next = (d->next + 1) % d->n_workers;
	pthread_mutex_lock(&w->lock);
	pushed = fd_queue_push(&w->incoming, fd);
	pthread_mutex_unlock(&w->lock);
	if (pushed < 0) {
		close(fd);
		return;
	}
	if (write(w->notify.fd, &one, sizeof(one)) < 0)
		log_error("eventfd write: %s", strerror(errno));
}

/* ---- the acceptor ---- */

static void acceptor_on_listener(struct evloop *l, struct source *src)
{
	int fd = accept_counted(l->ctx, src->fd);
	if (fd >= 0)
		hand_off(l->model, fd);
}

static const struct evloop_ops acceptor_ops = {.on_listener = acceptor_on_listener};

static void acceptor_main(struct worker_ctx *ctx)
{
	struct evloop l;

	evloop_serve(&l, evloop_init(&l, ctx, &acceptor_ops) == 0 &&
			     evloop_watch_listener(&l, ctx->srv->listen_fds[0], 0) == 0,
		     ctx->srv->model_state);
}

/* ---- the workers ---- */

struct worker_local {
	struct dispatch_worker *w;
	struct fd_queue batch; /* swapped with w->incoming, so the lock is held for O(1) */
};

static void worker_on_notify(struct evloop *l, struct source *src)
{
	struct worker_local *wl = l->model;
	struct fd_queue tmp;
	uint64_t count;

	if (read(src->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&wl->w->lock);
	tmp = wl->w->incoming;
	wl->w->incoming = wl->batch;
	pthread_mutex_unlock(&wl->w->lock);
	for (size_t i = 0; i < tmp.n; i++)
		conn_adopt(l, tmp.fds[i]);
	tmp.n = 0;
	wl->batch = tmp;
}

static const struct evloop_ops worker_ops = {.on_notify = worker_on_notify};

static void dispatch_worker_main(struct worker_ctx *ctx)
{
	struct worker_local wl = {.w = ctx->arg};
	struct evloop l;

	evloop_serve(&l, evloop_init(&l, ctx, &worker_ops) == 0 && evloop_watch(&l, &wl.w->notify, EPOLLIN) == 0,
		     &wl);
	free(wl.batch.fds);
}

static int dispatch_start(struct server *srv)
{
	struct dispatch *d = calloc(1, sizeof(*d));
	int n = srv->cfg.threads;

	if (!d || !(d->workers = calloc((size_t)n, sizeof(*d->workers)))) {
		free(d);
		log_error("out of memory");
		return -1;
	}
	srv->model_state = d;
	for (int i = 0; i < n; i++) {
		struct dispatch_worker *w = &d->workers[i];
		pthread_mutex_init(&w->lock, NULL);
		w->notify = (struct source){.kind = SRC_NOTIFY, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
		d->n_workers++;
		if (w->notify.fd < 0) {
			log_error("eventfd: %s", strerror(errno));
			return -1;
		}
	}
	if (srv_open_listener(srv, true, false) < 0 || srv_spawn(srv, ROLE_ACCEPTOR, acceptor_main, NULL) < 0)
		return -1;
	return srv_spawn_workers(srv, dispatch_worker_main, d->workers, sizeof(*d->workers));
}

/* After every thread has exited: fds still queued were never adopted. */
static void dispatch_cleanup(struct server *srv)
{
	struct dispatch *d = srv->model_state;

	if (!d)
		return;
	for (int i = 0; i < d->n_workers; i++) {
		struct dispatch_worker *w = &d->workers[i];
		for (size_t j = 0; j < w->incoming.n; j++)
			close(w->incoming.fds[j]);
		free(w->incoming.fds);
		if (w->notify.fd >= 0)
			close(w->notify.fd);
		pthread_mutex_destroy(&w->lock);
	}
	free(d->workers);
	free(d);
	srv->model_state = NULL;
}

const struct model model_dispatch = {
	.name = "dispatch",
	.summary = "an acceptor hands fds round-robin to N workers (memcached)",
	.start = dispatch_start,
	.cleanup = dispatch_cleanup,
};
