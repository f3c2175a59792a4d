// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare --html FILE`: the file, opened before the runs, never left half written. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include "compare.h"

/*
 * The report is written after every run, but a path it cannot be written to must be refused
 * before the first (they take minutes), so the file is opened here, up front, and the open
 * stream kept: whatever the final write would hit (no such directory, a directory, read-only,
 * not permitted) is hit now, and the path cannot change in between.  Until the report is
 * written, no half report pretends to be one: a file that did not exist is created empty (and
 * removed again if no report is written: interrupted, or failed at setup); a file that exists
 * is opened without truncating it, so an old report stays whole until the new one replaces it
 * (then it is truncated first).  A write that fails leaves an empty file or none, never a
 * partial report.  Writing through a symbolic link, or to a device (/dev/stdout), works as
 * with any output file.
 */
int cmp_html_open(struct cmp_html_out *o, const char *path)
{
	struct stat st;
	int fd, err;

	*o = (struct cmp_html_out){ .path = path };
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0) {
		o->created = true;
	} else if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		/* Gone meanwhile, or a symbolic link to nothing (O_EXCL does not follow it). */
		if (fd < 0 && errno == ENOENT) {
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
			o->created = fd >= 0;
		}
	}
	if (fd < 0)
		return -1;
	if (!fstat(fd, &st)) {
		o->regular = S_ISREG(st.st_mode);
		o->dev = st.st_dev;
		o->ino = st.st_ino;
		o->f = fdopen(fd, "w");
	}
	if (!o->f) {
		err = errno;
		close(fd);
		cmp_html_discard(o);
		errno = err;
		return -1;
	}
	return 0;
}

void cmp_html_discard(struct cmp_html_out *o)
{
	struct stat st;

	if (o->f) {
		/* Truncated after fclose() (through a duplicate), so that nothing still buffered
		 * lands after the truncation. */
		int fd = o->regular && (o->created || o->writing) ? dup(fileno(o->f)) : -1;

		fclose(o->f);
		o->f = NULL;
		if (fd >= 0) {
			int ret = ftruncate(fd, 0);

			(void)ret;	/* best effort: the report has failed already, and says so */
			close(fd);
		}
	}
	/* Only the very file compare created: not a symbolic link to it, nor a later file there. */
	if (o->created && !lstat(o->path, &st) && st.st_dev == o->dev && st.st_ino == o->ino)
		unlink(o->path);
	o->created = false;
}

int cmp_write_html(struct cmp_html_out *o, const struct cmp_config *cfg, const struct cmp_run *runs, int n,
		   char **findings)
{
	FILE *f = o->f;
	int err;

	errno = 0;
	o->writing = true;
	if (o->regular && ftruncate(fileno(f), 0))
		goto fail;
	cmp_html_render(f, cfg, runs, n, findings);
	/* fsync: a write the file system refuses late (NFS, quota) fails here, while the file
	 * can still be emptied, rather than at close. */
	if (fflush(f) || ferror(f) || (o->regular && fsync(fileno(f))))
		goto fail;
	o->f = NULL;
	if (fclose(f))
		goto fail;	/* closed: cmp_html_discard can still remove a file it created */
	o->created = false;
	return 0;
fail:
	err = errno ? errno : EIO;
	cmp_html_discard(o);
	errno = err;
	return -1;
}
