// SPDX-License-Identifier: GPL-2.0
/* An output file renamed into place once complete (see atomic_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "atomic_file.h"

/* The mode a plain open(O_CREAT, 0666) would give: mkstemp makes 0600. */
static mode_t creation_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

const char *atomic_open(struct atomic_file *a, const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct stat st;
	int fd, n;

	*a = (struct atomic_file){};
	/* rename() would replace a device or a symbolic link itself, not write through it. */
	if (!lstat(path, &st) && S_ISDIR(st.st_mode))
		return strerror(EISDIR);
	if (!lstat(path, &st) && !S_ISREG(st.st_mode))
		return "not a regular file";
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	n = snprintf(a->tmp, sizeof(a->tmp), "%s/.%s.XXXXXX", dirname(dir), basename(base));
	if (!*path || n >= (int)sizeof(a->tmp) || snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path))
		return strerror(ENAMETOOLONG);
	fd = mkostemp(a->tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, creation_mode()) || !(a->f = fdopen(fd, "w"))) {
		int err = errno;

		if (fd >= 0) {
			close(fd);
			unlink(a->tmp);
		}
		return strerror(err);
	}
	return NULL;
}

int atomic_commit(struct atomic_file *a)
{
	FILE *f = a->f;
	int err = 0;

	if (!f)
		return errno = EBADF, -1;
	a->f = NULL;
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (!err && rename(a->tmp, a->path))
		err = errno;
	if (err) {
		unlink(a->tmp);
		errno = err;
		return -1;
	}
	return 0;
}

void atomic_discard(struct atomic_file *a)
{
	if (!a->f)
		return;
	fclose(a->f);
	a->f = NULL;
	unlink(a->tmp);
}
