/* The per-unit epoll loop and the connection state machine (see evloop.h). */
#include "evloop.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVLOOP_BATCH 256

/* ---- timer lists: connections ordered by when they time out -------------------
 * A connection is on the idle list from adoption to close (or, reqdispatch,
 * until a worker takes it) and on the request list while a request is partly
 * in.  Every deadline on a list is "now + that list's timeout" at the time it
 * is set, and a restarted timer moves to the newest end, so each list stays
 * sorted for free and expiry only ever looks at the oldest entries. */

static struct conn *timer_conn(const struct timer_list *list, struct timer *t)
{
	return (struct conn *)((char *)t - list->offset);
}

static void timer_unlist(struct timer_list *list, struct timer *t)
{
	if (!t->listed)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		list->oldest = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		list->newest = t->prev;
	t->prev = t->next = NULL;
	t->listed = false;
}

static void timer_append(struct timer_list *list, struct timer *t, uint64_t deadline_ms)
{
	timer_unlist(list, t);
	t->deadline_ms = deadline_ms;
	t->prev = list->newest;
	if (list->newest)
		list->newest->next = t;
	else
		list->oldest = t;
	list->newest = t;
	t->listed = true;
}

/* Off both lists: closed, or (reqdispatch) handed to a worker with its request complete. */
void conn_unlist(struct evloop *l, struct conn *c)
{
	timer_unlist(&l->idle, &c->idle);
	timer_unlist(&l->requests, &c->request);
}

/* Restart c's idle timeout.  Called when a connection arrives, after each
 * response, and while a body is arriving; not for header bytes, so that a
 * slowloris client trickling headers is cut off one timeout after it began.
 * Body bytes do restart it, so a slow upload survives; the request deadline
 * is what stops a body trickled forever. */
void conn_touch(struct evloop *l, struct conn *c)
{
	timer_append(&l->idle, &c->idle, l->now_ms + l->ctx->srv->cfg.idle_timeout_ms);
}

/* Call after each parse that left c waiting for input: the first byte of a
 * request starts its deadline (--request-timeout), which nothing restarts
 * until the request is complete, so neither headers nor a body trickled a
 * byte at a time can hold the connection longer.  Nothing partly in: none. */
void conn_request_track(struct evloop *l, struct conn *c)
{
	if (!conn_mid_request(c))
		timer_unlist(&l->requests, &c->request);
	else if (!c->request.listed)
		timer_append(&l->requests, &c->request, l->now_ms + l->ctx->srv->cfg.request_timeout_ms);
}

/* The request is complete: its deadline is over; a pipelined one behind it
 * gets its own from when conn_request_track next sees it. */
void conn_request_done(struct evloop *l, struct conn *c)
{
	timer_unlist(&l->requests, &c->request);
}

static uint64_t list_next_deadline(const struct timer_list *list)
{
	return list->oldest ? list->oldest->deadline_ms : UINT64_MAX;
}

static int next_timeout(const struct evloop *l)
{
	uint64_t idle = list_next_deadline(&l->idle), request = list_next_deadline(&l->requests);
	uint64_t next = idle < request ? idle : request;

	if (next == UINT64_MAX)
		return -1;
	if (next <= l->now_ms)
		return 0;
	uint64_t ms = next - l->now_ms;
	return ms > 60000 ? 60000 : (int)ms;
}

static void expire_list(struct evloop *l, struct timer_list *list)
{
	while (list->oldest && list->oldest->deadline_ms <= l->now_ms)
		conn_close(l, timer_conn(list, list->oldest));
}

static void expire_timers(struct evloop *l)
{
	expire_list(l, &l->idle);
	expire_list(l, &l->requests);
}

/* ---- connections -------------------------------------------------------------- */

/* Everything but the buffer, which needs no clearing. */
void conn_init(struct conn *c, int fd)
{
	c->src = (struct source){.kind = SRC_CONN, .fd = fd};
	c->idle = c->request = (struct timer){0};
	c->next = NULL;
	c->close_when_sent = false;
	http_parser_reset(&c->http);
	c->out = NULL;
	c->out_len = 0;
	c->start = c->len = 0;
}

struct conn *conn_new(struct evloop *l, int fd)
{
	struct conn *c = l->spare;
	if (c)
		l->spare = c->next;
	else if (!(c = malloc(sizeof(*c))))
		return NULL;
	conn_init(c, fd);
	return c;
}

/* Take ownership of a freshly accepted fd: register it and start its timeout. */
struct conn *conn_adopt(struct evloop *l, int fd)
{
	struct conn *c = conn_new(l, fd);
	struct epoll_event ev = {.events = l->ops->conn_events ? l->ops->conn_events : EPOLLIN};

	if (!c) {
		close(fd);
		return NULL;
	}
	ev.data.ptr = &c->src;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error("epoll_ctl add: %s", strerror(errno));
		close(fd);
		c->next = l->spare;
		l->spare = c;
		return NULL;
	}
	conn_touch(l, c);
	return c;
}

/* Closing the fd also drops it from the epoll set: it is never dup'ed. */
void conn_close(struct evloop *l, struct conn *c)
{
	conn_unlist(l, c);
	close(c->src.fd);
	c->next = l->spare;
	l->spare = c;
}

int conn_rearm(struct evloop *l, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = &c->src};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->src.fd, &ev);
}

/* Move the unparsed input to the front of the buffer, making room to read. */
static void conn_compact(struct conn *c)
{
	if (c->start == 0)
		return;
	c->len -= c->start;
	if (c->len)
		memmove(c->buf, c->buf + c->start, c->len);
	c->start = 0;
}

/* One counted read() into c's buffer, after its unparsed input.  A full buffer cannot
 * happen (the parser makes a full one a 431, and skips bodies as they come), but would
 * be READ_CLOSED rather than a read of 0 bytes taken for EOF. */
enum read_result conn_read(struct worker_ctx *ctx, struct conn *c)
{
	conn_compact(c);
	if (c->len == sizeof(c->buf))
		return READ_CLOSED;
	ssize_t n = read_counted(ctx, c->src.fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n > 0) {
		c->len += (uint32_t)n;
		return READ_DATA;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return READ_NOTHING;
	return READ_CLOSED;
}

/* Answer the request the parser just completed.  Counting rule: "requests"
 * counts every response (any status) on the unit that writes it, just before
 * its first send(), so a client that holds a response always finds it counted
 * (a response whose send then fails, peer gone, still counts).  --work-us is
 * burnt first, as the request's processing. */
enum send_result conn_respond(struct worker_ctx *ctx, const struct responses *resp, struct conn *c)
{
	const struct response *r = response_for(resp, &c->http);
	uint32_t len = c->http.head ? r->head_len : r->len;

	work_burn(ctx->srv->cfg.work_us);
	counter_add(&ctx->counters->requests, 1);
	ssize_t n = send(c->src.fd, r->data, len, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return SEND_DONE;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return SEND_FAILED;
	if (n < 0)
		n = 0;
	c->out = r->data + n;
	c->out_len = len - (uint32_t)n;
	return SEND_PARTIAL;
}

/* Send the rest of c's response; -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->out_len) {
		ssize_t n = send(c->src.fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->out += n;
		c->out_len -= (uint32_t)n;
	}
	return 0;
}

/* For units without an epoll of their own (shared-blocking, reqdispatch
 * workers): wait for the socket to drain, until the deadline or shutdown. */
static int conn_flush_blocking(struct worker_ctx *ctx, struct conn *c, uint64_t deadline_ms)
{
	while (c->out_len) {
		struct pollfd pfd[2] = {{.fd = c->src.fd, .events = POLLOUT}, {.fd = ctx->srv->stop_fd, .events = POLLIN}};
		uint64_t now = clock_ms();
		if (now >= deadline_ms || srv_stopping(ctx->srv))
			return -1;
		if (poll(pfd, 2, (int)(deadline_ms - now)) < 0 && errno != EINTR)
			return -1;
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			return -1;
		if (conn_flush(c) < 0)
			return -1;
	}
	return 0;
}

/* Answer the request the parser just completed from a unit without an epoll of its own:
 * a response that does not all go out at once is waited for, within the idle timeout.
 * False when the connection must now close: the send failed, or the request said so. */
bool conn_answer_blocking(struct worker_ctx *ctx, const struct responses *resp, struct conn *c)
{
	bool keep = c->http.keep_alive;
	enum send_result r = conn_respond(ctx, resp, c);

	http_parser_reset(&c->http);
	if (r == SEND_PARTIAL && conn_flush_blocking(ctx, c, clock_ms() + ctx->srv->cfg.idle_timeout_ms) < 0)
		r = SEND_FAILED;
	return r != SEND_FAILED && keep;
}

/* Answer every complete request in the buffer (pipelining), in order. */
static void serve_buffered(struct evloop *l, struct conn *c)
{
	while (http_advance(&c->http, c->buf, &c->start, c->len) == HTTP_READY) {
		bool keep = c->http.keep_alive;
		conn_request_done(l, c);
		enum send_result r = conn_respond(l->ctx, &l->resp, c);
		http_parser_reset(&c->http);
		if (r == SEND_FAILED || (r == SEND_DONE && !keep)) {
			conn_close(l, c);
			return;
		}
		if (r == SEND_PARTIAL) {
			/* Stop reading until the client takes its response: wait for EPOLLOUT. */
			c->close_when_sent = !keep;
			if (conn_rearm(l, c, EPOLLOUT) < 0)
				conn_close(l, c);
			return;
		}
		conn_touch(l, c);
	}
	conn_request_track(l, c);
}

static void serve_writable(struct evloop *l, struct conn *c)
{
	if (conn_flush(c) < 0 || (!c->out_len && c->close_when_sent)) {
		conn_close(l, c);
		return;
	}
	if (c->out_len)
		return;
	conn_touch(l, c);
	if (conn_rearm(l, c, EPOLLIN) < 0) {
		conn_close(l, c);
		return;
	}
	serve_buffered(l, c);
}

/* The default connection handler: one read() per readiness event (the epoll
 * registration is level-triggered, so what is left is reported again), then
 * parse and answer in place. */
void conn_serve_event(struct evloop *l, struct conn *c, uint32_t events)
{
	(void)events;
	if (c->out_len) {
		serve_writable(l, c);
		return;
	}
	enum read_result r = conn_read(l->ctx, c);
	if (r == READ_CLOSED)
		conn_close(l, c);
	if (r != READ_DATA)
		return;
	if (c->http.in_body)
		conn_touch(l, c);
	serve_buffered(l, c);
}

/* ---- the loop --------------------------------------------------------------- */

int evloop_watch(struct evloop *l, struct source *src, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = src};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, src->fd, &ev) < 0) {
		log_error("epoll_ctl add: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int evloop_watch_listener(struct evloop *l, int fd, uint32_t extra_events)
{
	l->listen_src = (struct source){.kind = SRC_LISTENER, .fd = fd};
	return evloop_watch(l, &l->listen_src, EPOLLIN | extra_events);
}

int evloop_init(struct evloop *l, struct worker_ctx *ctx, const struct evloop_ops *ops)
{
	*l = (struct evloop){.ctx = ctx, .ops = ops, .epfd = -1, .now_ms = clock_ms(),
			     .idle.offset = offsetof(struct conn, idle),
			     .requests.offset = offsetof(struct conn, request)};
	responses_build(&l->resp, gettid(), ctx->srv->cfg.model->name);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return -1;
	}
	l->stop_src = (struct source){.kind = SRC_STOP, .fd = ctx->srv->stop_fd};
	return evloop_watch(l, &l->stop_src, EPOLLIN);
}

/* Listener events are handled before anything else in a batch, then
 * after_accepts (shared-mutex releases its mutex there, as nginx does after
 * its posted accept events), then connections and notifications. */
void evloop_run(struct evloop *l)
{
	struct epoll_event evs[EVLOOP_BATCH];
	struct server *srv = l->ctx->srv;
	void (*on_conn)(struct evloop *, struct conn *, uint32_t) = l->ops->on_conn ? l->ops->on_conn : conn_serve_event;

	while (!srv_stopping(srv)) {
		int timeout = next_timeout(l);
		if (l->ops->before_wait)
			l->ops->before_wait(l, &timeout);
		int n = epoll_wait(l->epfd, evs, EVLOOP_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		l->now_ms = clock_ms();
		for (int i = 0; i < n; i++) {
			struct source *src = evs[i].data.ptr;
			if (src->kind == SRC_LISTENER && !srv_stopping(srv))
				l->ops->on_listener(l, src);
		}
		if (l->ops->after_accepts)
			l->ops->after_accepts(l);
		for (int i = 0; i < n; i++) {
			struct source *src = evs[i].data.ptr;
			if (src->kind == SRC_CONN)
				on_conn(l, (struct conn *)src, evs[i].events);
			else if (src->kind == SRC_NOTIFY)
				l->ops->on_notify(l, src);
		}
		expire_timers(l);
	}
	/* A break out of epoll_wait skips after_accepts: give up what before_wait took. */
	if (l->ops->after_accepts)
		l->ops->after_accepts(l);
}

/* The life of every event-loop unit once its setup is done: @set_up false reports the
 * failure to the starter; otherwise the unit gets @model, says it is ready and runs
 * until the server stops.  Either way the loop is destroyed. */
void evloop_serve(struct evloop *l, bool set_up, void *model)
{
	if (set_up) {
		l->model = model;
		worker_ready(l->ctx);
		evloop_run(l);
	} else {
		worker_failed(l->ctx);
	}
	evloop_destroy(l);
}

void evloop_destroy(struct evloop *l)
{
	while (l->idle.oldest) /* every connection the loop owns is on its idle list */
		conn_close(l, timer_conn(&l->idle, l->idle.oldest));
	while (l->spare) {
		struct conn *c = l->spare;
		l->spare = c->next;
		free(c);
	}
	if (l->epfd >= 0)
		close(l->epfd);
}

/* ---- units that own a listener registration -------------------------------------- */

/* Accept one connection per listener event (nginx with multi_accept off,
 * memcached), or, with drain, until accept() says EAGAIN (libuv); both end up
 * with an empty queue because the registration is level-triggered. */
void accept_and_adopt(struct evloop *l, int listen_fd, bool drain)
{
	do {
		int fd = accept_counted(l->ctx, listen_fd);
		if (fd < 0)
			return;
		/* A drain can take long (--accept-delay-us, a flood): each connection's
		 * timeouts start when it was accepted, not when the loop last woke. */
		l->now_ms = clock_ms();
		conn_adopt(l, fd);
	} while (drain && !srv_stopping(l->ctx->srv));
}

struct listener_unit {
	int fd;
	bool drain;
};

static void on_own_listener(struct evloop *l, struct source *src)
{
	struct listener_unit *u = l->model;
	accept_and_adopt(l, src->fd, u->drain);
}

static const struct evloop_ops listener_ops = {.on_listener = on_own_listener};

/* single, reuseport, shared-epoll, shared-exclusive: one unit with its own
 * epoll that holds the listener (extra_events: EPOLLEXCLUSIVE or 0) and the
 * connections it accepted. */
void serve_listener(struct worker_ctx *ctx, int listen_fd, uint32_t extra_events, bool drain)
{
	struct listener_unit u = {.fd = listen_fd, .drain = drain};
	struct evloop l;

	evloop_serve(&l, evloop_init(&l, ctx, &listener_ops) == 0 &&
			     evloop_watch_listener(&l, listen_fd, extra_events) == 0, &u);
}
