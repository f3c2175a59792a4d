/* The ground-truth counters as JSON, written atomically. */
#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

static const char *const role_names[] = {
	[ROLE_WORKER] = "worker",
	[ROLE_ACCEPTOR] = "acceptor",
	[ROLE_DISPATCHER] = "dispatcher",
};

#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static void write_json(FILE *f, const struct server *srv)
{
	fprintf(f, "{\"model\":\"%s\",\"pid\":%d,\"port\":%d,\"backlog\":%d,\"threads\":[",
		srv->cfg.model->name, (int)getpid(), srv->port, srv->backlog);
	for (int i = 0; i < srv->n_units; i++) {
		const struct thread_stats *st = &srv->sh->slots[i];
		fprintf(f,
			"%s{\"tid\":%d,\"pid\":%d,\"role\":\"%s\",\"accepts\":%lu,\"empty_accepts\":%lu,"
			"\"requests\":%lu,\"reads\":%lu,\"read_bytes\":%lu}",
			i ? "," : "", (int)LOAD(st->tid), (int)LOAD(st->pid), role_names[st->role],
			(unsigned long)LOAD(st->accepts), (unsigned long)LOAD(st->empty_accepts),
			(unsigned long)LOAD(st->requests), (unsigned long)LOAD(st->reads),
			(unsigned long)LOAD(st->read_bytes));
	}
	fprintf(f, "]}\n");
}

/* To --stats FILE via FILE.tmp and rename(), so a reader polling FILE sees
 * either the previous dump or this one, never half of one; "-" is stdout. */
int stats_write(const struct server *srv)
{
	const char *path = srv->cfg.stats_path;
	char tmp[PATH_MAX];

	if (!path)
		return 0;
	if (strcmp(path, "-") == 0) {
		write_json(stdout, srv);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_error("--stats path too long");
		return -1;
	}
	FILE *f = fopen(tmp, "we");
	if (!f) {
		log_error("%s: %s", tmp, strerror(errno));
		return -1;
	}
	write_json(f, srv);
	if (ferror(f) | fclose(f)) {
		log_error("%s: write failed", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		log_error("rename %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
