/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /metrics endpoint (--prometheus): libmicrohttpd with its own thread serves
 * the text prometheus.c rendered from the tracer's last collection.  The main
 * loop renders each interval's cumulative snapshot into a new immutable response
 * and swaps it in; a scrape takes whichever response is current, so it never
 * sees a snapshot half updated and never waits for the kernel's maps.  Scrapes
 * see figures at most one interval (-i) old.
 *
 * GET (and HEAD) /metrics only: other paths 404, other methods 405; at most
 * PROM_MAX_CONNECTIONS connections at once, each closed after
 * PROM_CONNECTION_TIMEOUT_S seconds without traffic.
 */
#ifndef ACCEPTSCOPE_PROM_HTTP_H
#define ACCEPTSCOPE_PROM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "prometheus.h"

#define PROM_DEFAULT_ADDR "127.0.0.1"
#define PROM_MAX_CONNECTIONS 32
#define PROM_CONNECTION_TIMEOUT_S 10

struct prom_listen {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[80];		/* as given back in messages: 127.0.0.1:9464, [::]:9464 */
};

/*
 * --prometheus's [ADDR:]PORT: ADDR a numeric IPv4 address or an IPv6 one in
 * brackets ([::]:9464), 127.0.0.1 when left out; PORT 1-65535.  0, or -1 with
 * what is wrong in @why.
 */
int prom_parse_listen(const char *spec, struct prom_listen *out, const char **why);
/* Was this acceptscope built with libmicrohttpd?  (STATIC=1 builds are not.) */
bool prom_http_built_in(void);

struct prom_exporter;

/*
 * Listen on @where and serve (503 until the first update).  NULL with one line
 * in @err (the port is in use, not permitted, ...).
 */
struct prom_exporter *prom_exporter_start(const struct prom_listen *where, char *err, size_t errlen);
/* Render @snap (cumulative since start) with @o and make it what scrapes get.  0 or -errno. */
int prom_exporter_update(struct prom_exporter *e, const struct snapshot *snap, const struct prom_opts *o);
/* Stop serving (waits for the server's thread), close the socket, free. */
void prom_exporter_stop(struct prom_exporter *e);

#endif
