/* reuseport: N units, each with its own SO_REUSEPORT listening socket on the
 * same port and its own epoll (socket sharding, nginx "listen ... reuseport").
 * The kernel picks the socket for each new connection by hashing its 4-tuple,
 * before any unit is involved, so a busy unit keeps getting its share. */
#include "../evloop.h"
#include "models.h"

static void shard_main(struct worker_ctx *ctx)
{
	serve_listener(ctx, *(int *)ctx->arg, 0, false); /* its own socket, one of srv->listen_fds */
}

static int reuseport_start(struct server *srv)
{
	/* All sockets first, so a bind failure is reported before anything runs
	 * and --port 0 resolves once, on the first socket. */
	for (int i = 0; i < srv->cfg.threads; i++)
		if (srv_open_listener(srv, true, true) < 0)
			return -1;
	return srv_spawn_workers(srv, shard_main, srv->listen_fds, sizeof(srv->listen_fds[0]));
}

const struct model model_reuseport = {
	.name = "reuseport",
	.summary = "N threads, one SO_REUSEPORT listener each (nginx reuseport)",
	.allows_processes = true,
	.worker_name = "shard",
	.start = reuseport_start,
};
