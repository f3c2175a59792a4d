// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope-load engine: one thread, one epoll instance, a fixed pool of
 * connections each with its own buffer.  Nothing is allocated per request.
 *
 * Every connection in use carries exactly one request in flight; they sit on
 * a list in the order their requests started, and since all requests share
 * one timeout the head of that list is always the next to expire.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "load.h"

#define BUF_SIZE 8192		/* per connection: response headers must fit */
#define MAX_EVENTS 512
#define NSEC 1000000000ull
#define BACKOFF_NS 1000000ull	/* pause after running out of local resources */

static const char REQ_CLOSE[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
static const char REQ_KEEPALIVE[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

enum client_state {
	CLIENT_FREE,
	CLIENT_CONNECTING,	/* connect() in progress, request not written */
	CLIENT_SENDING,		/* connected, request partly written */
	CLIENT_READING,		/* request written, waiting for the full response */
};

struct client_conn {
	int fd;
	uint8_t state;
	bool connected;
	uint16_t sent_off;		/* request bytes written */
	uint64_t t_request;		/* request start, ns */
	uint64_t t_connect;		/* connect() call, ns */
	struct client_conn *prev, *next;	/* in-flight list, oldest request first */
	char *buf;
	struct response_parser resp;
};

struct loader {
	const struct load_cfg *cfg;
	struct load_stats *st;
	int ep;
	const char *req;
	size_t req_len;
	struct client_conn *conns;
	char *bufs;
	struct client_conn **free_list;	/* stack of free connections */
	uint32_t nfree;
	uint32_t active;		/* connections in use */
	struct client_conn *head, *tail;	/* in-flight list */
	uint64_t timeout_ns;
	uint64_t t0;
	uint64_t t_stop;		/* --duration: no request starts after this */
	uint64_t slots;			/* --rate: total connections to schedule */
	uint64_t slots_done;		/* --rate: scheduled so far (started or not) */
	uint64_t backoff_until;
	bool stopping;			/* no more requests start */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static enum err_kind classify_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return ERR_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return ERR_RESET;
	case ETIMEDOUT:
		return ERR_TIMEOUT;
	default:
		return ERR_OTHER;
	}
}

/* ---- in-flight list ---- */

static void list_append(struct loader *l, struct client_conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void list_remove(struct loader *l, struct client_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

/* ---- connection pool ---- */

static struct client_conn *client_get(struct loader *l)
{
	struct client_conn *c;

	if (!l->nfree)
		return NULL;
	c = l->free_list[--l->nfree];
	l->active++;
	return c;
}

static void client_close(struct loader *l, struct client_conn *c)
{
	list_remove(l, c);
	if (c->fd >= 0)
		close(c->fd);	/* also drops it from the epoll set */
	c->fd = -1;
	c->state = CLIENT_FREE;
	l->active--;
	l->free_list[l->nfree++] = c;
}

static void client_fail(struct loader *l, struct client_conn *c, enum err_kind kind, int cause)
{
	stats_error(l->st, kind, cause);
	client_close(l, c);
}

static void client_fail_errno(struct loader *l, struct client_conn *c, int err)
{
	client_fail(l, c, classify_errno(err), err);
}

/* ---- request lifecycle ---- */

static bool may_start(struct loader *l, uint64_t now)
{
	const struct load_cfg *cfg = l->cfg;

	if (l->stopping)
		return false;
	if (cfg->requests ? l->st->sent >= cfg->requests : now >= l->t_stop) {
		l->stopping = true;
		return false;
	}
	return true;
}

static void request_begin(struct loader *l, struct client_conn *c, uint64_t now)
{
	l->st->sent++;
	c->t_request = now;
	c->sent_off = 0;
	response_reset(&c->resp);
	list_append(l, c);
}

static void try_send(struct loader *l, struct client_conn *c);

/* Start a request on a new connection.  now is only for back-off decisions. */
static void start_connection(struct loader *l, uint64_t now)
{
	const struct load_cfg *cfg = l->cfg;
	struct client_conn *c = client_get(l);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	int one = 1, err;

	request_begin(l, c, clock_ns());
	c->connected = false;
	c->t_connect = c->t_request;
	c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		l->backoff_until = now + BACKOFF_NS;
		client_fail_errno(l, c, err);
		return;
	}
	if (cfg->keepalive)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = CLIENT_CONNECTING;
	if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) && errno != EINPROGRESS) {
		err = errno;
		if (err == EADDRNOTAVAIL || err == EAGAIN)
			l->backoff_until = now + BACKOFF_NS;
		client_fail_errno(l, c, err);
		return;
	}
	/* On loopback the handshake has usually completed already: write at once. */
	try_send(l, c);
	if (c->state == CLIENT_FREE)
		return;
	ev.data.ptr = c;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		err = errno;
		l->backoff_until = now + BACKOFF_NS;
		client_fail_errno(l, c, err);
	}
}

/*
 * A connect to a loopback port in the ephemeral range that nobody listens on
 * can pick that same port as its source and connect to itself (TCP
 * simultaneous open).  Only possible when nothing listens: count it as refused.
 */
static bool self_connected(const struct loader *l, const struct client_conn *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (!l->cfg->check_self || getsockname(c->fd, (struct sockaddr *)&local, &len))
		return false;
	return len == l->cfg->addrlen && !memcmp(&local, &l->cfg->addr, len);
}

static bool on_connected(struct loader *l, struct client_conn *c)
{
	uint64_t now = clock_ns();

	if (self_connected(l, c)) {
		client_fail(l, c, ERR_REFUSED, 0);
		return false;
	}
	c->connected = true;
	l->st->connections++;
	hist_add(&l->st->connect_ns, now - c->t_connect);
	return true;
}

/* Write (the rest of) the request.  A write also tells whether a connect finished. */
static void try_send(struct loader *l, struct client_conn *c)
{
	ssize_t n;

	while (c->sent_off < l->req_len) {
		n = send(c->fd, l->req + c->sent_off, l->req_len - c->sent_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;		/* still connecting, or no buffer space */
			client_fail_errno(l, c, errno);
			return;
		}
		if (!c->connected && !on_connected(l, c))
			return;
		c->state = CLIENT_SENDING;
		c->sent_off += (uint16_t)n;
	}
	c->state = CLIENT_READING;
}

static void response_done(struct loader *l, struct client_conn *c, uint64_t now)
{
	struct response_parser *r = &c->resp;

	l->st->answered++;
	hist_add(&l->st->latency_ns, now - c->t_request);
	stats_response(l->st, r->status, r->worker);
	if (r->status < 200 || r->status > 299)
		stats_error(l->st, ERR_HTTP, 0);
	if (!l->cfg->keepalive || r->close || !may_start(l, now)) {
		client_close(l, c);
		return;
	}
	/* Keep-alive: the next request goes out on the same connection. */
	list_remove(l, c);
	request_begin(l, c, now);
	c->state = CLIENT_SENDING;
	try_send(l, c);
}

/* Read until EAGAIN or the end of the response. */
static void try_read(struct loader *l, struct client_conn *c)
{
	struct response_parser *r = &c->resp;
	size_t off;
	ssize_t n;
	int rc;

	for (;;) {
		off = response_recv_offset(r);
		n = recv(c->fd, c->buf + off, BUF_SIZE - off, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_fail_errno(l, c, errno);
			return;
		}
		if (n == 0) {
			if (response_eof(r) == RESPONSE_COMPLETE)
				response_done(l, c, clock_ns());
			else
				client_fail(l, c, ERR_CLOSED, 0);
			return;
		}
		rc = response_input(r, c->buf, BUF_SIZE, (size_t)n);
		if (rc < 0) {
			client_fail(l, c, ERR_OTHER, rc);
			return;
		}
		if (rc == RESPONSE_COMPLETE) {
			if (r->extra && l->cfg->keepalive && !r->close) {
				client_fail(l, c, ERR_OTHER, CAUSE_EXTRA_DATA);
				return;
			}
			response_done(l, c, clock_ns());
			return;
		}
	}
}

static void on_event(struct loader *l, struct client_conn *c, uint32_t events)
{
	if (c->state == CLIENT_CONNECTING || c->state == CLIENT_SENDING)
		try_send(l, c);
	if (c->state == CLIENT_READING && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		try_read(l, c);
}

/* ---- scheduling ---- */

/*
 * Closed loop: keep --connections requests in flight.  At most one round of
 * starts per call: starts that fail at once (refused) are retried on the next
 * loop iteration, after the clock and the events have been looked at again.
 */
static void fill_closed(struct loader *l, uint64_t now)
{
	uint32_t room = l->cfg->connections - l->active;

	while (room-- && now >= l->backoff_until && may_start(l, now))
		start_connection(l, now);
}

/* Open loop: connection k is due at t0 + k / rate. */
static uint64_t slot_time(const struct loader *l, uint64_t k)
{
	return l->t0 + (uint64_t)((double)k * (double)NSEC / l->cfg->rate);
}

static void fill_rate(struct loader *l, uint64_t now)
{
	while (!l->stopping && l->slots_done < l->slots && slot_time(l, l->slots_done) <= now) {
		l->slots_done++;
		if (l->active < l->cfg->connections && now >= l->backoff_until)
			start_connection(l, now);
		else
			l->st->not_started++;
	}
	if (l->slots_done == l->slots)
		l->stopping = true;
}

static void expire(struct loader *l, uint64_t now)
{
	while (l->head && now >= l->head->t_request + l->timeout_ns)
		client_fail(l, l->head, ERR_TIMEOUT, 0);
}

static bool finished(struct loader *l, uint64_t now)
{
	if (l->active)
		return false;
	if (l->cfg->rate > 0)
		return l->stopping;
	return !may_start(l, now);
}

static void abort_all(struct loader *l)
{
	while (l->head) {
		l->st->aborted++;
		client_close(l, l->head);
	}
}

/* Milliseconds until something is due (rounded up), -1 for none. */
static int wait_ms(const struct loader *l, uint64_t now)
{
	uint64_t due = UINT64_MAX;

	if (l->head)
		due = l->head->t_request + l->timeout_ns;
	if (!l->stopping) {
		if (l->cfg->rate > 0)
			due = slot_time(l, l->slots_done) < due ? slot_time(l, l->slots_done) : due;
		else if (!l->cfg->requests && l->t_stop < due)
			due = l->t_stop;
		if (l->backoff_until > now && l->backoff_until < due)
			due = l->backoff_until;
		else if (l->cfg->rate <= 0 && l->backoff_until <= now && l->active < l->cfg->connections)
			due = now;	/* closed loop with room: start more at once */
	}
	if (due == UINT64_MAX)
		return -1;
	if (due <= now)
		return 0;
	due = (due - now + 999999) / 1000000;
	return due > 60000 ? 60000 : (int)due;
}

static void loop(struct loader *l, const sigset_t *waitmask)
{
	struct epoll_event events[MAX_EVENTS];
	uint64_t now = clock_ns();
	int i, n;

	l->t0 = now;
	l->t_stop = now + (uint64_t)(l->cfg->duration * NSEC);
	for (;;) {
		if (interrupted) {
			l->st->interrupted = true;
			l->stopping = true;
			abort_all(l);
			break;
		}
		if (l->cfg->rate > 0)
			fill_rate(l, now);
		else
			fill_closed(l, now);
		expire(l, now);
		if (finished(l, now))
			break;
		n = epoll_pwait(l->ep, events, MAX_EVENTS, wait_ms(l, now), waitmask);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "acceptscope-load: epoll_pwait: %s; stopping\n", strerror(errno));
			abort_all(l);
			break;
		}
		for (i = 0; i < n; i++)
			on_event(l, events[i].data.ptr, events[i].events);
		now = clock_ns();
	}
	l->st->elapsed_ns = clock_ns() - l->t0;
}

/* ---- setup ---- */

static int loader_init(struct loader *l, const struct load_cfg *cfg, struct load_stats *st)
{
	uint32_t i;

	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	l->st = st;
	l->req = cfg->keepalive ? REQ_KEEPALIVE : REQ_CLOSE;
	l->req_len = strlen(l->req);
	l->timeout_ns = (uint64_t)(cfg->timeout * NSEC);
	if (cfg->rate > 0)
		l->slots = cfg->requests ? cfg->requests : (uint64_t)llround(cfg->rate * cfg->duration);
	/* Large zeroed allocations are mapped lazily: untouched buffers cost nothing. */
	l->conns = calloc(cfg->connections, sizeof(*l->conns));
	l->bufs = calloc(cfg->connections, BUF_SIZE);
	l->free_list = calloc(cfg->connections, sizeof(*l->free_list));
	if (!l->conns || !l->bufs || !l->free_list)
		return -ENOMEM;
	for (i = 0; i < cfg->connections; i++) {
		struct client_conn *c = &l->conns[cfg->connections - 1 - i];

		c->fd = -1;
		c->buf = l->bufs + (size_t)(cfg->connections - 1 - i) * BUF_SIZE;
		l->free_list[l->nfree++] = c;
	}
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	return l->ep < 0 ? -errno : 0;
}

static void loader_free(struct loader *l)
{
	if (l->ep > 0)
		close(l->ep);
	free(l->conns);
	free(l->bufs);
	free(l->free_list);
}

int load_run(const struct load_cfg *cfg, struct load_stats *st)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	struct loader l;
	int err;

	err = loader_init(&l, cfg, st);
	if (!err) {
		/* SIGINT/SIGTERM are only delivered inside epoll_pwait(): no lost wake-up. */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigprocmask(SIG_BLOCK, &block, &waitmask);
		sigdelset(&waitmask, SIGINT);
		sigdelset(&waitmask, SIGTERM);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		loop(&l, &waitmask);
	}
	loader_free(&l);
	return err;
}
