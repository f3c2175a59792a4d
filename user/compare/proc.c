// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: its child processes (the demo server, the load generator).  Each
 * runs in a process group of its own (a Ctrl-C at the terminal reaches only compare, which
 * stops them) and dies with compare even if compare is killed outright; compare kills and
 * reaps every one still running at the end of each run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "compare.h"

#define MAX_KIDS 8

static pid_t kids[MAX_KIDS];
static int nr_kids;

static void kid_del(pid_t pid)
{
	for (int i = 0; i < nr_kids; i++) {
		if (kids[i] == pid) {
			kids[i] = kids[--nr_kids];
			return;
		}
	}
}

void cmp_kill_children(void)
{
	for (int i = 0; i < nr_kids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nr_kids; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	nr_kids = 0;
}

bool cmp_reaped(pid_t pid, int *status)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return false;
	kid_del(pid);
	if (status)
		*status = st;
	return true;
}

/* In the child: its descriptors and signals, then argv[0]. */
static void exec_child(char *const argv[], pid_t parent, int out, int err, int keep_fd)
{
	int in = open("/dev/null", O_RDONLY);
	sigset_t none;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || in < 0)
		_exit(127);
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	if (keep_fd >= 0)
		fcntl(keep_fd, F_SETFD, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t cmp_spawn(char *const argv[], int out, int err, int keep_fd)
{
	pid_t parent = getpid(), pid;

	if (nr_kids == MAX_KIDS)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		exec_child(argv, parent, out, err, keep_fd);
	setpgid(pid, pid);
	kids[nr_kids++] = pid;
	return pid;
}
