/* reqdispatch: RAMCloud's dispatch/worker split.  One dispatcher thread does
 * all the network input: it accepts every connection (until EAGAIN), reads
 * every request and parses it.  What it hands on is a request, not a
 * connection: each complete request goes to the most recently idle of N worker
 * threads (a LIFO stack, so a warm worker is reused), or waits in a FIFO queue
 * when all are busy.  The worker burns --work-us, writes the response itself,
 * and gives the connection back to the dispatcher.
 *
 * Ownership keeps this simple: a connection belongs either to the dispatcher
 * (on its deadline list, registered EPOLLONESHOT and re-armed only by it) or
 * to exactly one worker (off the list, disarmed), never both.  So a
 * connection's pipelined requests are answered one at a time, in order.
 * Workers return connections through a list and one eventfd, which is written
 * only when the dispatcher is not already due to look at the list. */
#include "../evloop.h"
#include "models.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct rd_worker {
	pthread_cond_t wake;
	struct conn *job; /* set by whoever hands this worker a request */
};

struct reqdispatch {
	pthread_mutex_t lock; /* guards everything below but the eventfd */
	bool stopping;
	struct rd_worker *workers;
	int n_workers;
	struct rd_worker **idle; /* stack: the most recently idle worker on top */
	int n_idle;
	struct conn *pending_head, *pending_tail; /* requests waiting for a worker */
	struct conn *returned;                    /* answered, back to the dispatcher */
	bool dispatcher_due;                      /* the eventfd has been written since it last looked */
	struct source returned_notify;            /* eventfd */
};

static void conn_list_append(struct conn **head, struct conn **tail, struct conn *c)
{
	c->next = NULL;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

static void free_conn_list(struct conn *c)
{
	while (c) {
		struct conn *next = c->next;
		close(c->src.fd);
		free(c);
		c = next;
	}
}

/* ---- the dispatcher ---- */

static void dispatch_request(struct evloop *l, struct conn *c)
{
	struct reqdispatch *rd = l->model;

	conn_unlist(l, c); /* a worker's now, its request complete: no timeouts while it is answered */
	pthread_mutex_lock(&rd->lock);
	if (rd->n_idle && !rd->stopping) {
		struct rd_worker *w = rd->idle[--rd->n_idle];
		w->job = c;
		pthread_cond_signal(&w->wake);
	} else {
		conn_list_append(&rd->pending_head, &rd->pending_tail, c);
	}
	pthread_mutex_unlock(&rd->lock);
}

/* Hand a complete request on, or wait for the rest of it (within its deadline). */
static void parse_or_wait(struct evloop *l, struct conn *c)
{
	if (http_advance(&c->http, c->buf, &c->start, c->len) == HTTP_READY) {
		dispatch_request(l, c);
		return;
	}
	conn_request_track(l, c);
	if (conn_rearm(l, c, EPOLLIN | EPOLLONESHOT) < 0)
		conn_close(l, c);
}

static void dispatcher_on_conn(struct evloop *l, struct conn *c, uint32_t events)
{
	(void)events;
	enum read_result r = conn_read(l->ctx, c);
	if (r == READ_CLOSED) {
		conn_close(l, c);
		return;
	}
	if (r == READ_DATA && c->http.in_body)
		conn_touch(l, c);
	parse_or_wait(l, c); /* re-arms the one-shot registration, read or not */
}

static void dispatcher_on_listener(struct evloop *l, struct source *src)
{
	accept_and_adopt(l, src->fd, true);
}

/* Connections coming back from workers. */
static void dispatcher_on_notify(struct evloop *l, struct source *src)
{
	struct reqdispatch *rd = l->model;
	uint64_t count;

	if (read(src->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&rd->lock);
	struct conn *c = rd->returned;
	rd->returned = NULL;
	rd->dispatcher_due = false;
	pthread_mutex_unlock(&rd->lock);
	while (c) {
		struct conn *next = c->next;
		c->next = NULL;
		if (c->close_when_sent) {
			conn_close(l, c);
		} else {
			conn_touch(l, c);
			parse_or_wait(l, c); /* pipelined requests may already be buffered */
		}
		c = next;
	}
}

static const struct evloop_ops dispatcher_ops = {
	.on_listener = dispatcher_on_listener,
	.on_notify = dispatcher_on_notify,
	.on_conn = dispatcher_on_conn,
	.conn_events = EPOLLIN | EPOLLONESHOT,
};

static void dispatcher_main(struct worker_ctx *ctx)
{
	struct reqdispatch *rd = ctx->srv->model_state;
	struct evloop l;

	evloop_serve(&l, evloop_init(&l, ctx, &dispatcher_ops) == 0 &&
			     evloop_watch_listener(&l, ctx->srv->listen_fds[0], 0) == 0 &&
			     evloop_watch(&l, &rd->returned_notify, EPOLLIN) == 0,
		     rd);
}

/* ---- the workers ---- */

/* Give c back to the dispatcher, then take the next waiting request or go idle. */
static void finish(struct reqdispatch *rd, struct rd_worker *w, struct conn *c)
{
	uint64_t one = 1;
	bool wake_dispatcher;

	pthread_mutex_lock(&rd->lock);
	c->next = rd->returned;
	rd->returned = c;
	wake_dispatcher = !rd->dispatcher_due;
	rd->dispatcher_due = true;
	if (rd->pending_head && !rd->stopping) {
		w->job = rd->pending_head;
		rd->pending_head = w->job->next;
		if (!rd->pending_head)
			rd->pending_tail = NULL;
	} else {
		rd->idle[rd->n_idle++] = w;
	}
	pthread_mutex_unlock(&rd->lock);
	if (wake_dispatcher && write(rd->returned_notify.fd, &one, sizeof(one)) < 0)
		log_error("eventfd write: %s", strerror(errno));
}

static void rd_worker_main(struct worker_ctx *ctx)
{
	struct reqdispatch *rd = ctx->srv->model_state;
	struct rd_worker *w = ctx->arg;
	struct responses *resp = malloc(sizeof(*resp));

	if (!resp) {
		worker_failed(ctx);
		return;
	}
	responses_build(resp, gettid(), ctx->srv->cfg.model->name);
	pthread_mutex_lock(&rd->lock);
	rd->idle[rd->n_idle++] = w;
	pthread_mutex_unlock(&rd->lock);
	worker_ready(ctx);
	for (;;) {
		pthread_mutex_lock(&rd->lock);
		while (!w->job && !rd->stopping)
			pthread_cond_wait(&w->wake, &rd->lock);
		struct conn *c = w->job;
		w->job = NULL;
		pthread_mutex_unlock(&rd->lock);
		if (!c)
			break;
		c->close_when_sent = !conn_answer_blocking(ctx, resp, c); /* the dispatcher closes it */
		finish(rd, w, c);
	}
	free(resp);
}

static void reqdispatch_wake(struct server *srv)
{
	struct reqdispatch *rd = srv->model_state;

	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->stopping = true;
	for (int i = 0; i < rd->n_workers; i++)
		pthread_cond_signal(&rd->workers[i].wake);
	pthread_mutex_unlock(&rd->lock);
}

static int reqdispatch_start(struct server *srv)
{
	int n = srv->cfg.threads;
	struct reqdispatch *rd = calloc(1, sizeof(*rd));

	if (!rd)
		goto nomem;
	srv->model_state = rd;
	pthread_mutex_init(&rd->lock, NULL);
	rd->returned_notify = (struct source){.kind = SRC_NOTIFY, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
	rd->workers = calloc((size_t)n, sizeof(*rd->workers));
	rd->idle = calloc((size_t)n, sizeof(*rd->idle));
	if (!rd->workers || !rd->idle)
		goto nomem;
	for (int i = 0; i < n; i++)
		pthread_cond_init(&rd->workers[i].wake, NULL);
	rd->n_workers = n;
	if (rd->returned_notify.fd < 0) {
		log_error("eventfd: %s", strerror(errno));
		return -1;
	}
	if (srv_open_listener(srv, true, false) < 0 || srv_spawn(srv, ROLE_DISPATCHER, dispatcher_main, NULL) < 0)
		return -1;
	return srv_spawn_workers(srv, rd_worker_main, rd->workers, sizeof(*rd->workers));
nomem:
	log_error("out of memory");
	return -1;
}

/* After every thread has exited: requests never answered, answers never collected. */
static void reqdispatch_cleanup(struct server *srv)
{
	struct reqdispatch *rd = srv->model_state;

	if (!rd)
		return;
	free_conn_list(rd->pending_head);
	free_conn_list(rd->returned);
	for (int i = 0; i < rd->n_workers; i++)
		pthread_cond_destroy(&rd->workers[i].wake);
	if (rd->returned_notify.fd >= 0)
		close(rd->returned_notify.fd);
	pthread_mutex_destroy(&rd->lock);
	free(rd->workers);
	free(rd->idle);
	free(rd);
	srv->model_state = NULL;
}

const struct model model_reqdispatch = {
	.name = "reqdispatch",
	.summary = "a dispatcher reads; requests go to N workers (RAMCloud)",
	.start = reqdispatch_start,
	.wake = reqdispatch_wake,
	.cleanup = reqdispatch_cleanup,
};
