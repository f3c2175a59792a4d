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

enum response_state {
	RESPONSE_HEADERS,
	RESPONSE_BODY,		/* Content-Length bytes */
	RESPONSE_CHUNK_SIZE,
	RESPONSE_CHUNK_EXT,	/* rest of a chunk-size line */
	RESPONSE_CHUNK_DATA,
	RESPONSE_CHUNK_END,	/* CRLF after chunk data */
	RESPONSE_TRAILER,
	RESPONSE_UNTIL_EOF,	/* no length: the body ends when the server closes */
	RESPONSE_DONE,
};

/* response_input() and response_eof() results; negative values are CAUSE_* (load.h). */
#define RESPONSE_MORE 0
#define RESPONSE_COMPLETE 1

struct response_parser {
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

void response_reset(struct response_parser *r);

/* Where the next received bytes must go in the buffer (headers accumulate). */
static inline size_t response_recv_offset(const struct response_parser *r)
{
	return r->state == RESPONSE_HEADERS ? r->hdr_len : 0;
}

/*
 * n new bytes were received at buf + response_recv_offset(r); buf has cap
 * bytes.  Returns RESPONSE_MORE, RESPONSE_COMPLETE (r->extra says how many
 * bytes followed the response), or a negative CAUSE_*.
 */
int response_input(struct response_parser *r, char *buf, size_t cap, size_t n);

/* The server closed the connection: RESPONSE_COMPLETE if that ends the body, else RESPONSE_MORE. */
int response_eof(const struct response_parser *r);

#endif /* ACCEPTSCOPE_LOAD_HTTP_H */
