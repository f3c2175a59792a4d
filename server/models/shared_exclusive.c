/* shared-exclusive: as shared-epoll, but each unit registers the listener with
 * EPOLLEXCLUSIVE (nginx >= 1.11.3 default).  The kernel then wakes only one
 * idle epoll per new connection: the first of the exclusive waiters on the
 * socket's wait queue, i.e. the first registered one that is idle.  Units
 * register in spawn order (srv_spawn waits for each to be ready), so unit 0
 * is first in line. */
#include "../evloop.h"
#include "models.h"

#include <sys/epoll.h>

static void exclusive_main(struct worker_ctx *ctx)
{
	serve_listener(ctx, ctx->srv->listen_fds[0], EPOLLEXCLUSIVE, false);
}

static int shared_exclusive_start(struct server *srv)
{
	return srv_start_shared(srv, true, exclusive_main);
}

const struct model model_shared_exclusive = {
	.name = "shared-exclusive",
	.summary = "N epolls on one listener, EPOLLEXCLUSIVE (nginx default)",
	.allows_processes = true,
	.start = shared_exclusive_start,
};
