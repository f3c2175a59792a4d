/* HTTP/1.x request parsing and prebuilt responses (see http.h). */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 token characters. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

static size_t span_tchars(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Length of the header block (request line through the blank line) at buf,
 * or 0 while it is incomplete.  Lines may end in CRLF or a bare LF.  *scan
 * remembers where to resume so a slow client costs no rescanning. */
static size_t find_header_end(const char *buf, size_t n, uint32_t *scan)
{
	size_t i = *scan;

	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		if (!nl)
			break;
		size_t p = (size_t)(nl - buf);
		if (p + 1 < n && buf[p + 1] == '\n')
			return p + 2;
		if (p + 2 < n && buf[p + 1] == '\r' && buf[p + 2] == '\n')
			return p + 3;
		if (p + 1 == n || (p + 2 == n && buf[p + 1] == '\r')) {
			*scan = (uint32_t)p; /* the next line may still turn out empty */
			return 0;
		}
		i = p + 1;
	}
	*scan = (uint32_t)n;
	return 0;
}

/* One line of the block, without its CRLF/LF; advances *pos past it. */
static bool next_line(const char *blk, size_t n, size_t *pos, const char **line, size_t *len)
{
	if (*pos >= n)
		return false;
	const char *nl = memchr(blk + *pos, '\n', n - *pos);
	size_t end = nl ? (size_t)(nl - blk) : n;
	*line = blk + *pos;
	*len = end - *pos;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	*pos = end + 1;
	return true;
}

struct request_info {
	bool http10;
	bool conn_close;
	bool conn_keep_alive;
	bool has_length;
	bool chunked;
	uint64_t length;
};

/* METHOD SP request-target SP HTTP/x.y */
static int parse_request_line(const char *s, size_t n, struct http_parser *p, struct request_info *ri)
{
	size_t m = span_tchars(s, n);
	if (m == 0 || m >= n || s[m] != ' ')
		return HTTP_BAD_REQUEST;
	p->head = m == 4 && memcmp(s, "HEAD", 4) == 0;

	size_t t = m + 1, te = t;
	while (te < n && (unsigned char)s[te] > ' ' && s[te] != 0x7f)
		te++;
	if (te == t || te >= n || s[te] != ' ')
		return HTTP_BAD_REQUEST;

	const char *v = s + te + 1;
	size_t vn = n - te - 1;
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return HTTP_BAD_REQUEST;
	if (v[5] != '1')
		return HTTP_VERSION_UNSUPPORTED;
	ri->http10 = v[7] == '0';
	return HTTP_OK;
}

static bool name_is(const char *name, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(name, lit, n) == 0;
}

/* Connection: a comma-separated list of tokens; we care about two. */
static void parse_connection(const char *v, size_t n, struct request_info *ri)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		size_t k = j;
		while (k > i && is_ows(v[k - 1]))
			k--;
		if (name_is(v + i, k - i, "close"))
			ri->conn_close = true;
		else if (name_is(v + i, k - i, "keep-alive"))
			ri->conn_keep_alive = true;
		i = j;
	}
}

static int parse_content_length(const char *v, size_t n, struct request_info *ri)
{
	uint64_t len = 0;
	if (n == 0 || n > 15) /* up to ~1 PB is plenty and cannot overflow */
		return HTTP_BAD_REQUEST;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return HTTP_BAD_REQUEST;
		len = len * 10 + (uint64_t)(v[i] - '0');
	}
	if (ri->has_length && ri->length != len) /* conflicting lengths: request smuggling */
		return HTTP_BAD_REQUEST;
	ri->has_length = true;
	ri->length = len;
	return HTTP_OK;
}

static int parse_header_line(const char *s, size_t n, struct request_info *ri)
{
	size_t nn = span_tchars(s, n);
	if (nn == 0 || nn >= n || s[nn] != ':') /* also rejects obs-fold (leading SP/HT) */
		return HTTP_BAD_REQUEST;
	size_t vb = nn + 1, ve = n;
	while (vb < ve && is_ows(s[vb]))
		vb++;
	while (ve > vb && is_ows(s[ve - 1]))
		ve--;
	for (size_t i = vb; i < ve; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < ' ' && ch != '\t') || ch == 0x7f)
			return HTTP_BAD_REQUEST;
	}
	const char *v = s + vb;
	size_t vn = ve - vb;
	if (name_is(s, nn, "content-length"))
		return parse_content_length(v, vn, ri);
	if (name_is(s, nn, "transfer-encoding"))
		ri->chunked = true; /* any coding at all: we do not decode bodies */
	else if (name_is(s, nn, "connection"))
		parse_connection(v, vn, ri);
	return HTTP_OK;
}

/* Parse a complete header block; fill in p's outcome and body length. */
static void parse_header_block(const char *blk, size_t n, struct http_parser *p)
{
	struct request_info ri = {0};
	const char *line;
	size_t len, pos = 0;
	int status;

	next_line(blk, n, &pos, &line, &len);
	status = parse_request_line(line, len, p, &ri);
	while (status == HTTP_OK && next_line(blk, n, &pos, &line, &len) && len > 0)
		status = parse_header_line(line, len, &ri);
	if (status == HTTP_OK && ri.chunked)
		status = HTTP_NOT_IMPLEMENTED;

	p->status = (uint8_t)status;
	if (status != HTTP_OK) {
		p->keep_alive = false;
		return;
	}
	p->keep_alive = ri.http10 ? ri.conn_keep_alive && !ri.conn_close : !ri.conn_close;
	p->body_left = ri.length;
}

void http_parser_reset(struct http_parser *p)
{
	*p = (struct http_parser){0};
}

enum http_progress http_advance(struct http_parser *p, const char *buf, uint32_t *start, uint32_t len)
{
	if (!p->in_body) {
		/* RFC 9112 2.2: ignore empty lines before a request line. */
		if (p->scan == 0)
			while (*start < len && (buf[*start] == '\r' || buf[*start] == '\n'))
				(*start)++;
		size_t hlen = find_header_end(buf + *start, len - *start, &p->scan);
		if (hlen == 0) {
			if (len - *start < HEADER_MAX)
				return HTTP_NEED_MORE;
			p->status = HTTP_HEADERS_TOO_LARGE;
			p->keep_alive = false;
			return HTTP_READY;
		}
		parse_header_block(buf + *start, hlen, p);
		*start += (uint32_t)hlen;
		p->scan = 0;
		if (p->status != HTTP_OK)
			return HTTP_READY; /* the connection closes: no need to skip a body */
		p->in_body = p->body_left > 0;
	}
	if (p->in_body) {
		uint64_t take = len - *start;
		if (take > p->body_left)
			take = p->body_left;
		*start += (uint32_t)take;
		p->body_left -= take;
		if (p->body_left)
			return HTTP_NEED_MORE;
		p->in_body = false;
	}
	return HTTP_READY;
}

static const struct {
	int code;
	const char *reason;
	const char *body;
} status_table[HTTP_STATUS_COUNT] = {
	[HTTP_OK] = {200, "OK", NULL},
	[HTTP_BAD_REQUEST] = {400, "Bad Request", "bad request\n"},
	[HTTP_HEADERS_TOO_LARGE] = {431, "Request Header Fields Too Large", "request header fields too large\n"},
	[HTTP_NOT_IMPLEMENTED] = {501, "Not Implemented", "transfer-encoding is not supported\n"},
	[HTTP_VERSION_UNSUPPORTED] = {505, "HTTP Version Not Supported", "only HTTP/1.x is supported\n"},
};

/* Append one response to *pos in r->storage. */
static void build_one(struct responses *r, size_t *pos, struct response *out, int status,
		      const char *body, pid_t tid, bool keep_alive)
{
	char *dst = r->storage + *pos;
	size_t room = sizeof(r->storage) - *pos;
	size_t blen = strlen(body);
	int hlen = snprintf(dst, room,
			    "HTTP/1.1 %d %s\r\n"
			    "Server: acceptscope-demo\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Length: %zu\r\n"
			    "X-Worker: %d\r\n"
			    "Connection: %s\r\n"
			    "\r\n",
			    status_table[status].code, status_table[status].reason, blen, (int)tid,
			    keep_alive ? "keep-alive" : "close");
	if (hlen < 0 || (size_t)hlen + blen >= room) { /* cannot happen with this storage size */
		*out = (struct response){0};
		return;
	}
	memcpy(dst + hlen, body, blen);
	*out = (struct response){.data = dst, .len = (uint32_t)(hlen + blen), .head_len = (uint32_t)hlen};
	*pos += out->len;
}

void responses_build(struct responses *r, pid_t tid, const char *model)
{
	char body[96];
	size_t pos = 0;

	snprintf(body, sizeof(body), "hello from acceptscope-demo, model %s, tid %d\n", model, (int)tid);
	build_one(r, &pos, &r->ok_keep_alive, HTTP_OK, body, tid, true);
	build_one(r, &pos, &r->ok_close, HTTP_OK, body, tid, false);
	r->error[HTTP_OK] = r->ok_close;
	for (int s = HTTP_OK + 1; s < HTTP_STATUS_COUNT; s++)
		build_one(r, &pos, &r->error[s], s, status_table[s].body, tid, false);
}

const struct response *response_for(const struct responses *r, const struct http_parser *p)
{
	if (p->status != HTTP_OK)
		return &r->error[p->status];
	return p->keep_alive ? &r->ok_keep_alive : &r->ok_close;
}
