// SPDX-License-Identifier: GPL-2.0
/* Accepts under way at attach, on the fentry/kprobe backends (see preblocked.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "acceptscope.skel.h"
#include "preblocked.h"

struct awaited {
	int tid;
	bool running;		/* "running" at the last look: in accept() maybe, not blocked */
};

struct preblocked {
	struct acceptscope_bpf *skel;
	struct bpf_link *links[2];
	struct awaited *threads;
	int nr, cap;
};

int preblocked_attach(struct acceptscope_bpf *skel, struct preblocked **out)
{
	struct bpf_program *progs[2] = { skel->progs.tp_exit_accept, skel->progs.tp_exit_accept4 };
	struct preblocked *p;

	*out = NULL;
	if (!skel->rodata->accept_catchup)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->skel = skel;
	skel->bss->catchup_active = true;
	for (int i = 0; i < 2; i++) {
		p->links[i] = bpf_program__attach(progs[i]);
		if (!p->links[i]) {
			int err = -errno;

			preblocked_free(p);
			return err;
		}
	}
	*out = p;
	return 0;
}

/* Is thread @tid inside accept() or accept4()?  "running" (not blocked) counts as maybe. */
static bool in_accept(int tid, bool *unsure)
{
	char path[64], buf[64];
	long nr;
	FILE *f;

	*unsure = false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	f = fopen(path, "re");
	if (!f)
		return false;	/* gone */
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (sscanf(buf, "%ld", &nr) != 1) {
		*unsure = strncmp(buf, "running", 7) == 0;
		return false;
	}
#ifdef SYS_accept
	if (nr == SYS_accept)
		return true;
#endif
	return nr == SYS_accept4;
}

static void add_thread(struct preblocked *p, int tid, bool running)
{
	if (p->nr == p->cap) {
		int cap = p->cap ? 2 * p->cap : 64;
		struct awaited *t = realloc(p->threads, cap * sizeof(*t));

		if (!t)
			return;
		p->threads = t;
		p->cap = cap;
	}
	p->threads[p->nr++] = (struct awaited){ .tid = tid, .running = running };
}

void preblocked_scan(struct preblocked *p)
{
	char path[300];
	struct dirent *pd, *td;
	DIR *proc, *tasks;
	bool unsure;

	if (!p || !(proc = opendir("/proc")))
		return;
	while ((pd = readdir(proc))) {
		if (pd->d_name[0] < '0' || pd->d_name[0] > '9' || atoi(pd->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", pd->d_name);
		if (!(tasks = opendir(path)))
			continue;
		while ((td = readdir(tasks))) {
			int tid = atoi(td->d_name);

			if (tid > 0 && (in_accept(tid, &unsure) || unsure))
				add_thread(p, tid, unsure);
		}
		closedir(tasks);
	}
	closedir(proc);
	preblocked_poll(p);
}

void preblocked_poll(struct preblocked *p)
{
	bool unsure;
	int kept = 0;

	if (!p || !p->links[0])
		return;
	/*
	 * A thread blocked in accept() is awaited until it leaves it.  One that is
	 * running may be finishing an accept() begun before attach; running at two
	 * looks an interval apart, it has finished any such call.
	 */
	for (int i = 0; i < p->nr; i++) {
		struct awaited *a = &p->threads[i];
		bool blocked = in_accept(a->tid, &unsure);

		if (blocked || (unsure && !a->running))
			p->threads[kept++] = (struct awaited){ .tid = a->tid, .running = unsure };
	}
	p->nr = kept;
	if (p->nr)
		return;
	/* Every call under way at attach has returned: the function hooks see all from now on. */
	p->skel->bss->catchup_active = false;
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(p->links[i]);
		p->links[i] = NULL;
	}
}

int preblocked_left(const struct preblocked *p)
{
	return p && p->links[0] ? p->nr : 0;
}

void preblocked_free(struct preblocked *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(p->links[i]);
	free(p->threads);
	free(p);
}
