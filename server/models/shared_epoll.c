/* shared-epoll: N units share one listening socket, each holding it in its own
 * epoll without EPOLLEXCLUSIVE (naive epoll, Node cluster SCHED_NONE).  A new
 * connection wakes every unit waiting on the socket; the first accept() wins
 * and the others either see nothing left when epoll rechecks readiness or
 * call accept() and get EAGAIN (counted as empty_accepts): the thundering herd. */
#include "../evloop.h"
#include "models.h"

static void herd_main(struct worker_ctx *ctx)
{
	serve_listener(ctx, ctx->srv->listen_fds[0], 0, false);
}

static int shared_epoll_start(struct server *srv)
{
	return srv_start_shared(srv, true, herd_main);
}

const struct model model_shared_epoll = {
	.name = "shared-epoll",
	.summary = "N epolls on one listener, all wake (naive epoll)",
	.allows_processes = true,
	.start = shared_epoll_start,
};
