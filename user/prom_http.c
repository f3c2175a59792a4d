// SPDX-License-Identifier: GPL-2.0
/* The /metrics endpoint: libmicrohttpd serving what prometheus.c renders (see prom_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "prom_http.h"

/* Parsing the address needs no HTTP library: a build without one still names bad values. */
int prom_parse_listen(const char *spec, struct prom_listen *out, const char **why)
{
	char host[48], *end;	/* INET6_ADDRSTRLEN and a NUL */
	const char *port_text;
	long port;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':' || close - spec - 1 >= (long)sizeof(host))
			return *why = "an IPv6 address goes in brackets before the port: [::]:9464", -1;
		memcpy(host, spec + 1, close - spec - 1);
		host[close - spec - 1] = 0;
		port_text = close + 2;
	} else if ((port_text = strrchr(spec, ':'))) {
		if (port_text - spec >= (long)sizeof(host) || strchr(spec, ':') != port_text)
			return *why = "expected [ADDR:]PORT (an IPv6 address in brackets: [::]:9464)", -1;
		memcpy(host, spec, port_text - spec);
		host[port_text - spec] = 0;
		port_text++;
	} else {
		snprintf(host, sizeof(host), "%s", PROM_DEFAULT_ADDR);
		port_text = spec;
	}
	errno = 0;
	port = strtol(port_text, &end, 10);
	if (!*port_text || *end || errno || port < 1 || port > 65535 || *port_text == '+' || *port_text == '-')
		return *why = "the port must be a number from 1 to 65535", -1;
	if (spec[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->addr;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return *why = "not a numeric IPv6 address in the brackets", -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		out->len = sizeof(*a);
		snprintf(out->text, sizeof(out->text), "[%s]:%ld", host, port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->addr;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return *why = "not a numeric IPv4 address (IPv6 goes in brackets: [::]:9464)", -1;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		out->len = sizeof(*a);
		snprintf(out->text, sizeof(out->text), "%s:%ld", host, port);
	}
	return 0;
}

#ifdef HAVE_LIBMICROHTTPD
#include <pthread.h>
#include <microhttpd.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_exporter {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;		/* guards current */
	struct MHD_Response *current;	/* the last rendering; NULL before the first */
	struct prom_state *state;
};

bool prom_http_built_in(void)
{
	return true;
}

/* A short plain-text answer (404, 405, 503) built for this request. */
static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned int status, const char *text,
				   const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Runs in libmicrohttpd's thread, once the request's headers are in. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version, const char *upload_data,
				      size_t *upload_data_size, void **req_cls)
{
	struct prom_exporter *e = cls;
	enum MHD_Result ret;

	static int headers_seen;

	(void)version, (void)upload_data;
	/* Refusals go at once (and close the connection: a body may follow). */
	if (strcmp(url, "/metrics") != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: acceptscope serves /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET /metrics\n",
				   "GET, HEAD");
	/* A scrape is answered once the whole request is in, so the connection can be kept alive. */
	if (!*req_cls) {
		*req_cls = &headers_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;	/* a body on a GET: read and ignored */
		return MHD_YES;
	}
	/* Queueing takes a reference: the main loop may swap and release it right after. */
	pthread_mutex_lock(&e->lock);
	if (e->current)
		ret = MHD_queue_response(conn, MHD_HTTP_OK, e->current);
	else
		ret = answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no figures yet: the tracer is starting\n", NULL);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static int listen_on(const struct prom_listen *where, char *err, size_t errlen)
{
	int one = 1, fd = socket(where->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "--prometheus %s: socket: %s", where->text, strerror(errno));
		return -1;
	}
	/* Restarting while old connections linger in TIME_WAIT is fine; a live listener is not. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&where->addr, where->len) || listen(fd, 64)) {
		snprintf(err, errlen, "--prometheus %s: cannot listen: %s", where->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct prom_exporter *prom_exporter_start(const struct prom_listen *where, char *err, size_t errlen)
{
	struct prom_exporter *e = calloc(1, sizeof(*e));
	int fd;

	if (!e || !(e->state = prom_state_new())) {
		snprintf(err, errlen, "--prometheus: out of memory");
		free(e);
		return NULL;
	}
	pthread_mutex_init(&e->lock, NULL);
	fd = listen_on(where, err, errlen);
	if (fd < 0) {
		prom_exporter_stop(e);
		return NULL;
	}
	/* No MHD_USE_ERROR_LOG: a garbage request is the client's problem, not a line on our stderr. */
	e->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				     handle_request, e,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PROM_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROM_CONNECTION_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!e->daemon) {
		snprintf(err, errlen, "--prometheus %s: cannot start the HTTP server", where->text);
		close(fd);
		prom_exporter_stop(e);
		return NULL;
	}
	return e;
}

int prom_exporter_update(struct prom_exporter *e, const struct snapshot *snap, const struct prom_opts *o)
{
	struct MHD_Response *r, *old;
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	int err;

	if (!f)
		return -errno;
	err = prom_render(f, snap, o, e->state);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(body);
		return err;
	}
	r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!r) {
		free(body);
		return -ENOMEM;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	pthread_mutex_lock(&e->lock);
	old = e->current;
	e->current = r;
	pthread_mutex_unlock(&e->lock);
	/* Connections still sending the old text hold their own references. */
	if (old)
		MHD_destroy_response(old);
	return 0;
}

void prom_exporter_stop(struct prom_exporter *e)
{
	if (!e)
		return;
	if (e->daemon)
		MHD_stop_daemon(e->daemon);	/* joins its thread, closes the listening socket */
	if (e->current)
		MHD_destroy_response(e->current);
	prom_state_free(e->state);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

#else /* built without libmicrohttpd (STATIC=1: Debian has no static one) */

bool prom_http_built_in(void)
{
	return false;
}

struct prom_exporter *prom_exporter_start(const struct prom_listen *where, char *err, size_t errlen)
{
	(void)where;
	snprintf(err, errlen, "--prometheus: not built in (this build has no libmicrohttpd)");
	return NULL;
}

int prom_exporter_update(struct prom_exporter *e, const struct snapshot *snap, const struct prom_opts *o)
{
	(void)e, (void)snap, (void)o;
	return -ENOSYS;
}

void prom_exporter_stop(struct prom_exporter *e)
{
	(void)e;
}

#endif
