/* Connections and the per-thread epoll loop most models are built from.
 *
 * One struct evloop belongs to one unit and is only ever touched by it: its
 * epoll, its connections (kept in deadline order on two timer lists, one for
 * the idle timeout and one for the whole-request deadline), its prebuilt
 * responses.  Models plug in what is specific to them through
 * struct evloop_ops: what a listener event does, what a notification does,
 * and (reqdispatch) what a readable connection does.
 */
#ifndef ACCEPTSCOPE_EVLOOP_H
#define ACCEPTSCOPE_EVLOOP_H

#include "demo.h"
#include "http.h"

enum source_kind { SRC_STOP, SRC_LISTENER, SRC_NOTIFY, SRC_CONN };

/* What epoll_event.data.ptr points to. */
struct source {
	enum source_kind kind;
	int fd;
};

/* One of a connection's two timeouts, linked on its owner's list for that timeout.
 * Each list has one fixed timeout, so appending at the newest end keeps it sorted. */
struct timer {
	struct timer *prev, *next;
	uint64_t deadline_ms;
	bool listed;
};

struct timer_list {
	struct timer *oldest, *newest;
	size_t offset; /* of the timer in struct conn: which of the two this list links */
};

struct conn {
	struct source src;        /* first, so a source pointer is a conn pointer */
	struct timer idle;        /* --idle-timeout: restarted by progress (see conn_touch) */
	struct timer request;     /* --request-timeout: runs while a request is partly in */
	struct conn *next;        /* the owner's spare list; a queue link in reqdispatch */
	bool close_when_sent;     /* close once the pending response is out (reqdispatch: on return) */
	struct http_parser http;
	const char *out;          /* unsent rest of a response (prebuilt, never copied) */
	uint32_t out_len;
	uint32_t start, len;      /* the unparsed input is buf[start, len) */
	char buf[HEADER_MAX];     /* one buffer per connection, for headers and skipped bodies */
};

struct evloop;

struct evloop_ops {
	void (*on_listener)(struct evloop *l, struct source *src);
	void (*on_notify)(struct evloop *l, struct source *src);
	/* NULL: conn_serve_event(), which reads, parses and answers in place. */
	void (*on_conn)(struct evloop *l, struct conn *c, uint32_t events);
	/* Optional, shared-mutex: runs before each epoll_wait, may shorten its timeout. */
	void (*before_wait)(struct evloop *l, int *timeout_ms);
	/* Optional, shared-mutex: runs once the batch's listener events are handled. */
	void (*after_accepts)(struct evloop *l);
	uint32_t conn_events; /* epoll events a new connection gets; 0 means EPOLLIN */
};

struct evloop {
	struct worker_ctx *ctx;
	const struct evloop_ops *ops;
	int epfd;
	struct source stop_src;
	struct source listen_src;
	struct responses resp;
	struct timer_list idle;       /* every open connection, by idle deadline */
	struct timer_list requests;   /* connections with a request partly in, by its deadline */
	struct conn *spare;           /* freed connections, reused before malloc */
	uint64_t now_ms;              /* taken once per loop iteration */
	void *model;                  /* per-unit model state */
};

int evloop_init(struct evloop *l, struct worker_ctx *ctx, const struct evloop_ops *ops);
int evloop_watch(struct evloop *l, struct source *src, uint32_t events);
int evloop_watch_listener(struct evloop *l, int fd, uint32_t extra_events);
void evloop_run(struct evloop *l);
void evloop_destroy(struct evloop *l);
void evloop_serve(struct evloop *l, bool set_up, void *model);

void conn_init(struct conn *c, int fd);
struct conn *conn_new(struct evloop *l, int fd);
struct conn *conn_adopt(struct evloop *l, int fd);
void conn_close(struct evloop *l, struct conn *c);
void conn_touch(struct evloop *l, struct conn *c);
void conn_request_track(struct evloop *l, struct conn *c);
void conn_request_done(struct evloop *l, struct conn *c);
void conn_unlist(struct evloop *l, struct conn *c);
int conn_rearm(struct evloop *l, struct conn *c, uint32_t events);

enum read_result {
	READ_DATA,    /* bytes appended to c->buf */
	READ_NOTHING, /* none for now (EAGAIN, EINTR) */
	READ_CLOSED,  /* EOF or an error: close the connection */
};
enum read_result conn_read(struct worker_ctx *ctx, struct conn *c);
void conn_serve_event(struct evloop *l, struct conn *c, uint32_t events);

/* After parsing: bytes of a request are in but not the whole request (unparsed
 * header bytes, or a body being skipped).  Empty lines before a request line
 * are consumed by the parser, so they do not count. */
static inline bool conn_mid_request(const struct conn *c)
{
	return c->start < c->len || c->http.in_body;
}

enum send_result { SEND_DONE, SEND_PARTIAL, SEND_FAILED };
enum send_result conn_respond(struct worker_ctx *ctx, const struct responses *resp, struct conn *c);
bool conn_answer_blocking(struct worker_ctx *ctx, const struct responses *resp, struct conn *c);

/* The loop of every model whose units each own a listener registration. */
void serve_listener(struct worker_ctx *ctx, int listen_fd, uint32_t extra_events, bool drain);
void accept_and_adopt(struct evloop *l, int listen_fd, bool drain);

#endif
