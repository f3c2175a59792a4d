/* The ground-truth counters as JSON, written atomically. */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
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

static struct json_object *unit_json(const struct unit_counters *c)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "tid", json_object_new_int(LOAD(c->tid)));
	json_object_object_add(o, "pid", json_object_new_int(LOAD(c->pid)));
	json_object_object_add(o, "role", json_object_new_string(role_names[c->role]));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "accepts", json_object_new_uint64(LOAD(c->accepts)));
	json_object_object_add(o, "empty_accepts", json_object_new_uint64(LOAD(c->empty_accepts)));
	json_object_object_add(o, "requests", json_object_new_uint64(LOAD(c->requests)));
	json_object_object_add(o, "reads", json_object_new_uint64(LOAD(c->reads)));
	json_object_object_add(o, "read_bytes", json_object_new_uint64(LOAD(c->read_bytes)));
	return o;
}

/* {"model","pid","port","backlog","threads":[{"tid","pid","role","name","accepts","empty_accepts",
 * "requests","reads","read_bytes"}]}, one unit a thread entry, on one line. */
static int write_json(FILE *f, const struct server *srv)
{
	struct json_object *root = json_object_new_object(), *threads = json_object_new_array();
	const char *text = NULL;
	int err = -1;

	if (!root || !threads)
		goto out;
	json_object_object_add(root, "model", json_object_new_string(srv->cfg.model->name));
	json_object_object_add(root, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(root, "port", json_object_new_int(srv->port));
	json_object_object_add(root, "backlog", json_object_new_int(srv->backlog));
	for (int i = 0; i < srv->n_units; i++) {
		struct json_object *unit = unit_json(&srv->sh->slots[i]);
		if (!unit || json_object_array_add(threads, unit) < 0) {
			json_object_put(unit);
			goto out;
		}
	}
	json_object_object_add(root, "threads", threads);
	threads = NULL; /* root's now */
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text)
		err = fprintf(f, "%s\n", text) < 0 ? -1 : 0; /* a write error is the caller's to report */
out:
	if (!text)
		log_error("--stats: out of memory building the JSON");
	json_object_put(threads);
	json_object_put(root);
	return err;
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
	if (strcmp(path, "-") == 0)
		return (write_json(stdout, srv) | fflush(stdout)) == 0 ? 0 : -1;
	FILE *f = open_temp(path, tmp, sizeof(tmp));
	if (!f)
		return -1;
	if (write_json(f, srv) | ferror(f) | fclose(f)) {
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
