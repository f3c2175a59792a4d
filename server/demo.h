/* acceptscope-demo: the core every accept model shares.
 *
 * A "unit" is one worker thread, or one worker process with --processes.  Each
 * unit owns one slot of per-thread counters (struct unit_counters) and counts
 * only its own syscalls, so the counters are ground truth an eBPF tracer can
 * be checked against.  The counting rules live next to the wrappers in core.c
 * (accept_counted, read_counted) and evloop.c (conn_respond).
 */
#ifndef ACCEPTSCOPE_DEMO_H
#define ACCEPTSCOPE_DEMO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "clock.h" /* clock_ms(): the monotonic clock of every deadline */

#define DEMO_PROG "acceptscope-demo"
#define MAX_THREADS 1024
#define MAX_UNITS (MAX_THREADS + 1) /* N workers plus one acceptor/dispatcher */

/* Roles as reported in the JSON.  A thread that both accepts and serves its
 * own connections (single, reuseport, shared-*) is a "worker": "acceptor" and
 * "dispatcher" are reserved for threads that hand their work to others. */
enum role { ROLE_WORKER, ROLE_ACCEPTOR, ROLE_DISPATCHER };

/* One unit's ground-truth counters (one "threads" entry of --stats), padded to
 * two cache lines so that neighbours never share a line (the adjacent-line
 * prefetcher pulls pairs).  Only the owner writes; the dumper reads with
 * relaxed atomics. */
struct unit_counters {
	int32_t tid;
	int32_t pid;
	int32_t role;
	uint64_t accepts;
	uint64_t empty_accepts;
	uint64_t requests;
	uint64_t reads;
	uint64_t read_bytes;
	char name[16];  /* the thread's name (comm): "acceptor", "worker-3", "shard-2", ... */
} __attribute__((aligned(128)));

struct config {
	const struct model *model;
	int threads;
	bool processes;
	const char *addr;
	int port;
	int backlog;
	unsigned work_us;
	unsigned accept_work_us; /* burnt by the accepting thread after each accept */
	unsigned accept_delay_us;
	double duration_s;     /* 0: run until signalled */
	uint64_t idle_timeout_ms;
	uint64_t request_timeout_ms; /* from a request's first byte to its last */
	const char *stats_path;
	int ready_fd;          /* --ready-fd, -1 if none: gets "ready PORT PID\n" once listening */
	bool quiet;
};

/* Lives in a MAP_SHARED mapping made before any fork, so --processes workers
 * update the very counters the parent dumps. */
struct shared {
	int stop;          /* set once shutdown begins */
	int accept_mutex;  /* shared-mutex: 0 when free, else the holder's tid */
	struct unit_counters slots[MAX_UNITS];
};

struct server;

/* What a unit's code gets: its server, its counters, its model argument. */
struct worker_ctx {
	struct server *srv;
	struct unit_counters *counters; /* its slot in sh->slots */
	void *arg;
	int reserve_fd; /* a spare fd, given up to shed a connection on EMFILE */
	void (*run)(struct worker_ctx *ctx);
	pthread_t thread;
	pid_t pid;
};

struct server {
	struct config cfg;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int port;     /* the bound port (differs from cfg.port when that is 0) */
	int backlog;  /* min(cfg.backlog, net.core.somaxconn): what listen() gets */
	int listen_fds[MAX_THREADS];
	int n_listen;
	int stop_fd;  /* eventfd, written once at shutdown and never read: stays readable */
	int ready_pipe[2];
	struct shared *sh;
	struct worker_ctx units[MAX_UNITS];
	int n_units;
	void *model_state;
};

struct model {
	const char *name;
	const char *summary;
	bool allows_processes;
	/* Workers are named "<worker_name>-<index>" (default "worker"). */
	const char *worker_name;
	/* Open the listener(s) and spawn the units; print why and return -1 on failure. */
	int (*start)(struct server *srv);
	/* Optional: wake units that wait on something other than stop_fd or a listener. */
	void (*wake)(struct server *srv);
	/* Optional: free model state once every unit has exited. */
	void (*cleanup)(struct server *srv);
};

/* models.c: the table of models (NULL-terminated), the only list of them */
extern const struct model *const models[];
const struct model *model_find(const char *name);
void models_list(FILE *f);

/* core.c: lifecycle */
int srv_init(struct server *srv);
int srv_open_listener(struct server *srv, bool nonblocking, bool reuseport);
int srv_spawn(struct server *srv, enum role role, void (*run)(struct worker_ctx *), void *arg);
int srv_spawn_workers(struct server *srv, void (*run)(struct worker_ctx *), void *args, size_t size);
int srv_start_shared(struct server *srv, bool nonblocking, void (*run)(struct worker_ctx *));
void worker_ready(struct worker_ctx *ctx);
void worker_failed(struct worker_ctx *ctx);
void srv_stop(struct server *srv);
int srv_reap(struct server *srv, int *status);
void srv_join(struct server *srv);
void srv_destroy(struct server *srv);

static inline bool srv_stopping(const struct server *srv)
{
	return __atomic_load_n(&srv->sh->stop, __ATOMIC_RELAXED);
}

/* core.c: the counted syscalls and the knobs around them */
int accept_counted(struct worker_ctx *ctx, int listen_fd);
ssize_t read_counted(struct worker_ctx *ctx, int fd, void *buf, size_t len);
void work_calibrate(void);
void work_burn(unsigned us);
void backoff(struct server *srv, unsigned ms);

/* Only the owning unit writes a counter: a plain load/store pair (no locked
 * instruction) is enough, atomic only so the dumper's concurrent read is defined. */
static inline void counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* args.c: the command line into srv->cfg and srv->addr; exits on a bad one */
void args_parse(struct server *srv, int argc, char **argv);

/* stats.c */
int stats_write(const struct server *srv);

/* Every diagnostic is one line on stderr, prefixed with the program name. */
#define log_error(fmt, ...) fprintf(stderr, DEMO_PROG ": " fmt "\n", ##__VA_ARGS__)

#endif
