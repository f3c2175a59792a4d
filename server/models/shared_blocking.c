/* shared-blocking: N units block in accept() on one blocking listening socket
 * (classic prefork / thread pool, Apache prefork).  accept() waits on the
 * socket's wait queue as an exclusive waiter added at the tail, and a new
 * connection wakes the head: the unit that has waited longest wins, so
 * connections go round the idle units in FIFO order.
 *
 * Each unit then serves its one connection to the end before it accepts again,
 * waiting for input in poll() (with the stop eventfd, so shutdown is prompt,
 * the idle timeout and the request deadline).  Units busy with a keep-alive connection take no new
 * ones: with more clients than units, the extra clients wait in the accept
 * queue, exactly as with a prefork server. */
#include "../evloop.h"
#include "models.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

enum wait_result { WAIT_READABLE, WAIT_TIMEOUT, WAIT_STOP };

static enum wait_result wait_readable(struct worker_ctx *ctx, int fd, uint64_t deadline_ms)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = ctx->srv->stop_fd, .events = POLLIN}};

	for (;;) {
		uint64_t now = clock_ms();
		if (now >= deadline_ms)
			return WAIT_TIMEOUT;
		int n = poll(pfd, 2, (int)(deadline_ms - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents)
			return WAIT_STOP;
		if (n > 0)
			return WAIT_READABLE;
	}
}

/* The connection's two deadlines, kept as the event loop keeps its timer lists
 * (see conn_touch and conn_request_track): idle, restarted on arrival, after
 * each response and by body bytes; request, from the first byte of a request
 * until it is complete, restarted by nothing (UINT64_MAX: no request partly in). */
struct deadlines {
	uint64_t idle_ms;
	uint64_t request_ms;
};

static uint64_t earliest(const struct deadlines *d)
{
	return d->idle_ms < d->request_ms ? d->idle_ms : d->request_ms;
}

/* Answer every complete request in the buffer; false once the connection must close. */
static bool answer_buffered(struct worker_ctx *ctx, const struct responses *resp, struct conn *c,
			    struct deadlines *d)
{
	while (http_advance(&c->http, c->buf, &c->start, c->len) == HTTP_READY) {
		d->request_ms = UINT64_MAX; /* complete: a pipelined one behind it gets its own */
		if (!conn_answer_blocking(ctx, resp, c))
			return false;
		d->idle_ms = clock_ms() + ctx->srv->cfg.idle_timeout_ms;
	}
	if (!conn_mid_request(c))
		d->request_ms = UINT64_MAX;
	else if (d->request_ms == UINT64_MAX)
		d->request_ms = clock_ms() + ctx->srv->cfg.request_timeout_ms;
	return true;
}

static void serve_connection(struct worker_ctx *ctx, const struct responses *resp, struct conn *c)
{
	struct deadlines d = {.idle_ms = clock_ms() + ctx->srv->cfg.idle_timeout_ms, .request_ms = UINT64_MAX};

	while (wait_readable(ctx, c->src.fd, earliest(&d)) == WAIT_READABLE) {
		enum read_result r = conn_read(ctx, c);
		if (r == READ_CLOSED)
			break;
		if (r == READ_NOTHING)
			continue;
		if (c->http.in_body)
			d.idle_ms = clock_ms() + ctx->srv->cfg.idle_timeout_ms;
		if (!answer_buffered(ctx, resp, c, &d))
			break;
	}
	close(c->src.fd);
}

static void blocking_main(struct worker_ctx *ctx)
{
	struct responses *resp = malloc(sizeof(*resp));
	struct conn *c = malloc(sizeof(*c)); /* one connection at a time, one buffer reused */
	int listen_fd = ctx->srv->listen_fds[0];

	if (!resp || !c) {
		worker_failed(ctx);
		goto out;
	}
	responses_build(resp, gettid(), ctx->srv->cfg.model->name);
	worker_ready(ctx);
	while (!srv_stopping(ctx->srv)) {
		/* Blocks in the kernel until a connection arrives, or until srv_stop's
		 * shutdown(SHUT_RD) makes it fail with EINVAL. */
		int fd = accept_counted(ctx, listen_fd);
		if (fd < 0)
			continue;
		conn_init(c, fd);
		serve_connection(ctx, resp, c);
	}
out:
	free(c);
	free(resp);
}

static int shared_blocking_start(struct server *srv)
{
	return srv_start_shared(srv, false, blocking_main);
}

const struct model model_shared_blocking = {
	.name = "shared-blocking",
	.summary = "N threads blocked in accept(), woken FIFO (prefork)",
	.allows_processes = true,
	.start = shared_blocking_start,
};
