/* The ground-truth counters as JSON, written atomically. */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* A new file next to @path that nobody else can have planted: mkostemp()
 * makes a fresh name and creates it with O_EXCL, which never follows a
 * symlink.  (FILE.tmp, a fixed name opened with fopen, let any local user
 * point it at /etc/passwd and have root overwrite that.)  The mode is the
 * one fopen would have given, 0666 less the umask, not mkstemp's 0600: the
 * counters are no secret and readers may be other users. */
static FILE *open_temp(const char *path, char *tmp, size_t size)
{
	if (snprintf(tmp, size, "%s.XXXXXX", path) >= (int)size) {
		log_error("--stats path too long");
		return NULL;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		log_error("%s: %s", tmp, strerror(errno));
		return NULL;
	}
	mode_t mask = umask(0); /* the only way to read it; no other thread creates files */
	umask(mask);
	FILE *f = fchmod(fd, 0666 & ~mask) == 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		log_error("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
	}
	return f;
}

/* To --stats FILE via a temporary file beside it and rename(), so a reader
 * polling FILE sees either the previous dump or this one, never half of one;
 * "-" is stdout.  On failure the temporary file is removed. */
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
	FILE *f = open_temp(path, tmp, sizeof(tmp));
	if (!f)
		return -1;
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
