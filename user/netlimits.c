// SPDX-License-Identifier: GPL-2.0
/*
 * A listener's net.core.somaxconn and net.ipv4.tcp_syncookies.  Both are per network
 * namespace, and /proc/sys/net shows those of the namespace of whoever opens the file: for a
 * listener in another namespace the tracer joins it (through /proc/OWNER/ns/net) for the
 * two reads and comes straight back.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "collect.h"
#include "diagnose.h"
#include "netlimits.h"

static int read_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void read_limits(struct net_limits *out)
{
	out->somaxconn = read_int("/proc/sys/net/core/somaxconn");
	out->syncookies = read_int("/proc/sys/net/ipv4/tcp_syncookies");
}

static __u64 netns_inode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

void listener_net_limits(const struct listener_row *r, struct net_limits *out, void *ctx)
{
	char path[64];
	int self, target;

	(void)ctx;
	out->somaxconn = out->syncookies = -1;
	if (netns_inode("/proc/self/ns/net") == r->info.netns) {
		read_limits(out);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%u/ns/net", r->owner_pid);
	/* The owner may have moved on, and its pid been reused: its namespace must be the listener's. */
	if (!r->owner_pid || netns_inode(path) != r->info.netns)
		return;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self >= 0 && target >= 0 && !setns(target, CLONE_NEWNET)) {
		read_limits(out);
		if (setns(self, CLONE_NEWNET)) {
			/* Never stay in another namespace: nothing else would be right afterwards. */
			perror("acceptscope: cannot return to its network namespace");
			_exit(1);
		}
	}
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
}
