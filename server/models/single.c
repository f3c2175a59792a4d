/* single: one thread listens, accepts until EAGAIN, reads and answers, all in
 * one epoll loop (Node.js / libuv).  Its only thread is a "worker". */
#include "../evloop.h"
#include "models.h"

static void single_main(struct worker_ctx *ctx)
{
	/* libuv's uv__server_io accepts in a loop until EAGAIN on every wake-up. */
	serve_listener(ctx, ctx->srv->listen_fds[0], 0, true);
}

static int single_start(struct server *srv)
{
	if (srv_open_listener(srv, true, false) < 0)
		return -1;
	return srv_spawn(srv, ROLE_WORKER, single_main, NULL);
}

const struct model model_single = {
	.name = "single",
	.summary = "one thread accepts until EAGAIN and serves (libuv)",
	.start = single_start,
};
