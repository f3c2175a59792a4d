/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An output file that is never seen half written: written into a temporary file
 * beside it, renamed over it once complete.  The temporary file is created when
 * the file is opened, before the work that fills it, so a path that cannot be
 * written is refused at once.
 */
#ifndef ACCEPTSCOPE_ATOMIC_FILE_H
#define ACCEPTSCOPE_ATOMIC_FILE_H

#include <limits.h>
#include <stdio.h>

struct atomic_file {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	FILE *f;		/* the temporary file; NULL once committed or discarded */
};

/* NULL, or why @path cannot be written ("Is a directory", "not a regular file", ...). */
const char *atomic_open(struct atomic_file *a, const char *path);
/* Flush, sync and rename the temporary file over the path: 0, or -1 with errno (the
 * temporary file is then removed and the path left as it was). */
int atomic_commit(struct atomic_file *a);
/* No file after all: remove the temporary file.  A no-op once committed. */
void atomic_discard(struct atomic_file *a);

#endif
