// SPDX-License-Identifier: GPL-2.0
/* Incremental HTTP/1.x response parser: see http.h. */
#include <string.h>
#include <strings.h>

#include "http.h"

void response_reset(struct response_parser *r)
{
	r->state = RESPONSE_HEADERS;
	r->close = false;
	r->digits = false;
	r->status = 0;
	r->hdr_len = 0;
	r->line_len = 0;
	r->remaining = 0;
	r->extra = 0;
	r->worker[0] = '\0';
}

static bool header_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && !strncasecmp(name, want, len);
}

static void trim(const char **v, size_t *len)
{
	while (*len && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*len)--;
	}
	while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
		(*len)--;
}

static bool contains_token(const char *v, size_t len, const char *token)
{
	size_t tlen = strlen(token), i;

	for (i = 0; i + tlen <= len; i++)
		if (!strncasecmp(v + i, token, tlen))
			return true;
	return false;
}

static bool parse_length(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return true;
}

/* "HTTP/1.x SSS ...": sets status and the version's default for close. */
static bool parse_status_line(struct response_parser *r, const char *p, size_t len)
{
	if (len < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return false;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return false;
	if (len > 12 && p[12] != ' ')
		return false;
	r->status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	r->close = p[7] == '0';
	return true;
}

struct body_kind {
	bool chunked;
	bool has_length;
	uint64_t length;
};

static bool parse_header(struct response_parser *r, struct body_kind *b, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len), *v;
	size_t nlen, vlen;

	if (!colon || colon == p)
		return false;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - nlen - 1;
	trim(&v, &vlen);
	if (header_is(p, nlen, "content-length")) {
		b->has_length = true;
		return parse_length(v, vlen, &b->length);
	}
	if (header_is(p, nlen, "transfer-encoding")) {
		b->chunked = contains_token(v, vlen, "chunked");
	} else if (header_is(p, nlen, "connection")) {
		if (contains_token(v, vlen, "close"))
			r->close = true;
		else if (contains_token(v, vlen, "keep-alive"))
			r->close = false;
	} else if (header_is(p, nlen, "x-worker")) {
		if (vlen >= WORKER_LEN)
			vlen = WORKER_LEN - 1;
		memcpy(r->worker, v, vlen);
		r->worker[vlen] = '\0';
	}
	return true;
}

/* Parse the header block p[0..len), which ends with the blank line; choose the body state. */
static int parse_headers(struct response_parser *r, const char *p, size_t len)
{
	struct body_kind b = {};
	const char *end = p + len, *eol;
	bool first = true;

	for (; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		if (first ? !parse_status_line(r, p, (size_t)(eol - p))
			  : !parse_header(r, &b, p, (size_t)(eol - p)))
			return CAUSE_BAD_RESPONSE;
		first = false;
	}
	if (first)
		return CAUSE_BAD_RESPONSE;
	if (r->status < 200 || r->status == 204 || r->status == 304) {
		r->state = RESPONSE_DONE;
	} else if (b.chunked) {
		r->state = RESPONSE_CHUNK_SIZE;
	} else if (b.has_length) {
		r->remaining = b.length;
		r->state = b.length ? RESPONSE_BODY : RESPONSE_DONE;
	} else {
		r->state = RESPONSE_UNTIL_EOF;
		r->close = true;
	}
	return RESPONSE_MORE;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int chunk_size_end(struct response_parser *r)
{
	if (!r->digits)
		return CAUSE_BAD_RESPONSE;
	r->state = r->remaining ? RESPONSE_CHUNK_DATA : RESPONSE_TRAILER;
	r->line_len = 0;
	return RESPONSE_MORE;
}

/* One byte of chunked framing (everything but chunk data). */
static int chunk_byte(struct response_parser *r, char c)
{
	int d;

	switch (r->state) {
	case RESPONSE_CHUNK_SIZE:
		d = hex_digit(c);
		if (d >= 0) {
			if (r->remaining > (UINT64_MAX >> 4))
				return CAUSE_BAD_RESPONSE;
			r->remaining = r->remaining * 16 + (uint64_t)d;
			r->digits = true;
		} else if (c == '\n') {
			return chunk_size_end(r);
		} else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
			if (!r->digits)
				return CAUSE_BAD_RESPONSE;
			r->state = RESPONSE_CHUNK_EXT;
		} else {
			return CAUSE_BAD_RESPONSE;
		}
		return RESPONSE_MORE;
	case RESPONSE_CHUNK_EXT:
		return c == '\n' ? chunk_size_end(r) : RESPONSE_MORE;
	case RESPONSE_CHUNK_END:
		if (c == '\n') {
			r->state = RESPONSE_CHUNK_SIZE;
			r->digits = false;
			r->remaining = 0;
		} else if (c != '\r') {
			return CAUSE_BAD_RESPONSE;
		}
		return RESPONSE_MORE;
	case RESPONSE_TRAILER:
		if (c == '\n') {
			if (!r->line_len)
				r->state = RESPONSE_DONE;
			r->line_len = 0;
		} else if (c != '\r') {
			r->line_len++;
		}
		return RESPONSE_MORE;
	default:
		return CAUSE_BAD_RESPONSE;
	}
}

static uint64_t take_body(struct response_parser *r, size_t n)
{
	uint64_t take = r->remaining < n ? r->remaining : n;

	r->remaining -= take;
	return take;
}

/* Consume body bytes p[0..n). */
static int body_input(struct response_parser *r, const char *p, size_t n)
{
	int rc;

	while (n && r->state != RESPONSE_DONE) {
		switch (r->state) {
		case RESPONSE_UNTIL_EOF:
			return RESPONSE_MORE;
		case RESPONSE_BODY:
		case RESPONSE_CHUNK_DATA: {
			size_t take = (size_t)take_body(r, n);

			p += take;
			n -= take;
			if (!r->remaining)
				r->state = r->state == RESPONSE_BODY ? RESPONSE_DONE : RESPONSE_CHUNK_END;
			break;
		}
		default:
			rc = chunk_byte(r, *p);
			if (rc < 0)
				return rc;
			p++;
			n--;
		}
	}
	if (r->state != RESPONSE_DONE)
		return RESPONSE_MORE;
	r->extra = n;
	return RESPONSE_COMPLETE;
}

/* Header bytes buf[0..total): look for the blank line, parse, and go on with what follows. */
static int headers_input(struct response_parser *r, char *buf, size_t cap, size_t total,
			 size_t from)
{
	const char *end;
	size_t hlen;
	int rc;

	for (;;) {
		end = memmem(buf + from, total - from, "\r\n\r\n", 4);
		if (!end) {
			if (total >= cap)
				return CAUSE_HEADERS_TOO_BIG;
			r->hdr_len = (uint32_t)total;
			return RESPONSE_MORE;
		}
		hlen = (size_t)(end - buf) + 4;
		rc = parse_headers(r, buf, hlen);
		if (rc < 0)
			return rc;
		if (r->status >= 200 || r->status == 101)
			break;
		/* 1xx interim response: the real one follows. */
		memmove(buf, buf + hlen, total - hlen);
		total -= hlen;
		from = 0;
		response_reset(r);
	}
	return body_input(r, buf + hlen, total - hlen);
}

int response_input(struct response_parser *r, char *buf, size_t cap, size_t n)
{
	size_t old;

	if (r->state != RESPONSE_HEADERS)
		return body_input(r, buf, n);
	old = r->hdr_len;
	return headers_input(r, buf, cap, old + n, old > 3 ? old - 3 : 0);
}

int response_eof(const struct response_parser *r)
{
	bool ends = r->state == RESPONSE_UNTIL_EOF || r->state == RESPONSE_DONE;

	return ends ? RESPONSE_COMPLETE : RESPONSE_MORE;
}
