/* SPDX-License-Identifier: GPL-2.0 */
/* acceptscope-load: configuration and results shared by the files of load/. */
#ifndef ACCEPTSCOPE_LOAD_H
#define ACCEPTSCOPE_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hist.h"

#define WORKER_LEN 48		/* longest X-Worker value kept (with the NUL) */
#define WORKER_SLOTS 1024	/* distinct X-Worker values tracked; the rest go to "(other)" */
#define OTHER_SLOTS 16		/* distinct causes of "other" errors tracked */
#define STATUS_MAX 600		/* HTTP status codes 0..599 */

/* Causes of "other" errors that have no errno. */
enum {
	CAUSE_BAD_RESPONSE = -1,	/* not parseable as an HTTP/1.x response */
	CAUSE_HEADERS_TOO_BIG = -2,	/* response headers do not fit the connection buffer */
	CAUSE_EXTRA_DATA = -3,		/* bytes after a complete response (we never pipeline) */
};

enum err_kind {
	ERR_REFUSED,	/* connect: ECONNREFUSED */
	ERR_RESET,	/* ECONNRESET or EPIPE */
	ERR_CLOSED,	/* the server closed the connection before a complete response */
	ERR_TIMEOUT,	/* no complete response within --timeout (or ETIMEDOUT) */
	ERR_OTHER,	/* anything else; the cause is kept in other_causes */
	ERR_HTTP,	/* complete response, status not 2xx (also counted as answered) */
	NR_ERR_KINDS,
};

struct load_cfg {
	const char *host;		/* as given, for the report */
	struct sockaddr_storage addr;	/* resolved loopback address and port */
	socklen_t addrlen;
	int port;
	uint32_t connections;		/* in-flight cap (closed loop: exactly this many) */
	uint64_t requests;		/* total requests, 0 if --duration */
	double duration;		/* seconds, 0 if --requests */
	double rate;			/* new connections per second, 0 for closed loop */
	double timeout;			/* seconds per request */
	bool keepalive;
	bool json;
	bool check_self;		/* port in the ephemeral range: watch for self-connects */
};

struct worker_slot {
	char name[WORKER_LEN];
	uint64_t count;
};

struct cause_slot {
	int cause;		/* errno, or a CAUSE_* value */
	uint64_t count;
};

struct load_stats {
	uint64_t sent;		/* requests started (a connect or a write was attempted) */
	uint64_t answered;	/* complete responses, whatever their status */
	uint64_t connections;	/* successful connects */
	uint64_t not_started;	/* --rate: due while --connections were already in flight */
	uint64_t aborted;	/* in flight when SIGINT/SIGTERM stopped the run */
	uint64_t errors[NR_ERR_KINDS];
	struct cause_slot other_causes[OTHER_SLOTS];
	uint64_t status[STATUS_MAX];	/* responses per status code (>= 600 counted at 0) */
	struct worker_slot workers[WORKER_SLOTS];
	uint32_t nworkers;
	uint64_t workers_overflow;	/* responses whose X-Worker value found no free slot */
	uint64_t elapsed_ns;		/* first request to last completion */
	bool interrupted;
	struct hist connect_ns;		/* socket connect() to connection established */
	struct hist latency_ns;		/* request start (connect, or write on keep-alive) to full response */
};

/* run.c: run the load described by cfg, filling st.  0, or -errno if it could not run. */
int load_run(const struct load_cfg *cfg, struct load_stats *st);

/* report.c */
void stats_error(struct load_stats *st, enum err_kind kind, int cause);
void stats_response(struct load_stats *st, int status, const char *worker);
uint64_t stats_errors_total(const struct load_stats *st);
void report_text(const struct load_cfg *cfg, const struct load_stats *st);
void report_json(const struct load_cfg *cfg, const struct load_stats *st);

#endif /* ACCEPTSCOPE_LOAD_H */
