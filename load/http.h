/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Incremental HTTP/1.x response parser for acceptscope-load.  Headers are
 * buffered in the connection's buffer until the blank line; the body is only
 * counted (Content-Length, chunked, or up to EOF), never stored.
 */
#ifndef ACCEPTSCOPE_LOAD_HTTP_H
#define ACCEPTSCOPE_LOAD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load.h"

enum http_state {
	HTTP_HEADERS,
	HTTP_BODY,		/* Content-Length bytes */
	HTTP_CHUNK_SIZE,
	HTTP_CHUNK_EXT,		/* rest of a chunk-size line */
	HTTP_CHUNK_DATA,
	HTTP_CHUNK_END,		/* CRLF after chunk data */
	HTTP_TRAILER,
	HTTP_UNTIL_EOF,		/* no length: the body ends when the server closes */
	HTTP_DONE,
};

/* http_input() and http_eof() results; negative values are CAUSE_* (load.h). */
#define HTTP_MORE 0
#define HTTP_COMPLETE 1

struct http_resp {
	uint8_t state;
	bool close;		/* the server will close the connection after this response */
	bool digits;		/* chunk-size line: saw a hex digit */
	uint16_t status;
	uint32_t hdr_len;	/* header bytes buffered so far */
	uint32_t line_len;	/* trailer: length of the current line */
	uint64_t remaining;	/* body or chunk bytes still expected */
	size_t extra;		/* bytes received after the complete response */
	char worker[WORKER_LEN];	/* X-Worker value, "" if absent */
};

void http_reset(struct http_resp *r);

/* Where the next received bytes must go in the buffer (headers accumulate). */
static inline size_t http_recv_offset(const struct http_resp *r)
{
	return r->state == HTTP_HEADERS ? r->hdr_len : 0;
}

/*
 * n new bytes were received at buf + http_recv_offset(r); buf has cap bytes.
 * Returns HTTP_MORE, HTTP_COMPLETE (r->extra says how many bytes followed the
 * response), or a negative CAUSE_*.
 */
int http_input(struct http_resp *r, char *buf, size_t cap, size_t n);

/* The server closed the connection: HTTP_COMPLETE if that ends the body, else HTTP_MORE. */
int http_eof(const struct http_resp *r);

#endif /* ACCEPTSCOPE_LOAD_HTTP_H */
