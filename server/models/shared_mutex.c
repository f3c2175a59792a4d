/* shared-mutex: nginx with "accept_mutex on".  N units share one listening
 * socket, but only the holder of an accept mutex has it in its epoll.
 *
 * As in nginx's ngx_trylock_accept_mutex: before each epoll_wait a unit tries
 * the mutex (never blocks on it).  Winning, it adds the listener to its epoll
 * if not there yet; losing, it removes the listener if it had it, and caps its
 * epoll_wait timeout at accept_mutex_delay (500 ms) so it tries again soon.
 * The holder keeps the mutex while it sleeps in epoll_wait and releases it only
 * after the batch's accepts, so an idle holder tends to win again: accepts
 * concentrate on few units.  The mutex is one word in the shared mapping,
 * taken by compare-and-swap (like ngx_shmtx_trylock), so it works unchanged
 * across --processes. */
#include "../evloop.h"
#include "models.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ACCEPT_MUTEX_DELAY_MS 500

struct mutex_unit {
	int listen_fd;
	int32_t me;      /* lock word value while we hold it: our tid */
	bool held;       /* we hold the mutex for this iteration */
	bool registered; /* the listener is in our epoll */
};

static bool accept_mutex_trylock(struct server *srv, int32_t me)
{
	int expected = 0;
	return __atomic_compare_exchange_n(&srv->sh->accept_mutex, &expected, me, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static void accept_mutex_unlock(struct server *srv)
{
	__atomic_store_n(&srv->sh->accept_mutex, 0, __ATOMIC_RELEASE);
}

static void set_listener_registered(struct evloop *l, struct mutex_unit *u, bool on)
{
	if (u->registered == on)
		return;
	if (on) {
		if (evloop_watch_listener(l, u->listen_fd, 0) < 0)
			return;
	} else if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, u->listen_fd, NULL) < 0) {
		log_error("epoll_ctl del: %s", strerror(errno));
		return;
	}
	u->registered = on;
}

static void mutex_before_wait(struct evloop *l, int *timeout_ms)
{
	struct mutex_unit *u = l->model;

	u->held = accept_mutex_trylock(l->ctx->srv, u->me);
	set_listener_registered(l, u, u->held);
	if (!u->held && (*timeout_ms < 0 || *timeout_ms > ACCEPT_MUTEX_DELAY_MS))
		*timeout_ms = ACCEPT_MUTEX_DELAY_MS;
}

static void mutex_after_accepts(struct evloop *l)
{
	struct mutex_unit *u = l->model;

	if (u->held) {
		accept_mutex_unlock(l->ctx->srv);
		u->held = false;
	}
}

static void mutex_on_listener(struct evloop *l, struct source *src)
{
	accept_and_adopt(l, src->fd, false); /* multi_accept off: one per event */
}

static const struct evloop_ops mutex_ops = {
	.on_listener = mutex_on_listener,
	.before_wait = mutex_before_wait,
	.after_accepts = mutex_after_accepts,
};

static void mutex_main(struct worker_ctx *ctx)
{
	struct mutex_unit u = {.listen_fd = ctx->srv->listen_fds[0], .me = (int32_t)gettid()};
	struct evloop l;

	evloop_serve(&l, evloop_init(&l, ctx, &mutex_ops) == 0, &u);
}

static int shared_mutex_start(struct server *srv)
{
	return srv_start_shared(srv, true, mutex_main);
}

const struct model model_shared_mutex = {
	.name = "shared-mutex",
	.summary = "only the accept mutex holder polls (nginx accept_mutex on)",
	.allows_processes = true,
	.start = shared_mutex_start,
};
