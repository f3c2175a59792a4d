/* Just enough HTTP/1.1 for wrk, ab, curl and browsers: request line and
 * headers up to the blank line, Content-Length bodies skipped, keep-alive by
 * default, prebuilt responses naming the thread that sends them. */
#ifndef ACCEPTSCOPE_HTTP_H
#define ACCEPTSCOPE_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define HEADER_MAX 8192 /* a header block longer than this gets 431 */

enum http_status {
	HTTP_OK,
	HTTP_BAD_REQUEST,         /* 400 */
	HTTP_HEADERS_TOO_LARGE,   /* 431 */
	HTTP_NOT_IMPLEMENTED,     /* 501: Transfer-Encoding (no chunked bodies here) */
	HTTP_VERSION_UNSUPPORTED, /* 505: anything but HTTP/1.x */
	HTTP_STATUS_COUNT
};

/* Parse state of the request being read on one connection. */
struct http_parser {
	uint32_t scan;      /* where the search for the blank line resumes, from the request's start */
	bool in_body;
	uint64_t body_left; /* Content-Length bytes still to skip */
	/* The outcome, valid once http_advance() said HTTP_READY: */
	uint8_t status;     /* enum http_status */
	bool keep_alive;    /* false for every error: those close the connection */
	bool head;          /* HEAD: send headers only */
};

enum http_progress { HTTP_NEED_MORE, HTTP_READY };

/* Consume the bytes buf[*start, len) that belong to the current request.
 * HTTP_READY: a complete request (or a fatal error) is described by p; answer
 * it, then http_parser_reset() and call again for pipelined requests.
 * HTTP_NEED_MORE: read more, keeping buf[*start, len). */
enum http_progress http_advance(struct http_parser *p, const char *buf, uint32_t *start, uint32_t len);
void http_parser_reset(struct http_parser *p);

struct response {
	const char *data;
	uint32_t len;       /* whole response */
	uint32_t head_len;  /* headers only, for HEAD */
};

/* Every response a thread can send, prebuilt once with its tid in X-Worker. */
struct responses {
	char storage[4096];
	struct response ok_keep_alive;
	struct response ok_close;
	struct response error[HTTP_STATUS_COUNT]; /* all with Connection: close */
};

void responses_build(struct responses *r, pid_t tid, const char *model);
const struct response *response_for(const struct responses *r, const struct http_parser *p);

#endif
