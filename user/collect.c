// SPDX-License-Identifier: GPL-2.0
/* Reading the kernel side: listener samples (iter/tcp), per-listener and per-thread maps. */
#include <dirent.h>
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "acceptscope.skel.h"
#include "collect.h"

/* Listeners seen so far: their sk_drops baseline and owner, kept across intervals. */
struct known_listener {
	listener_id_t id;
	__u32 drops_base, drops_last;
	bool owner_searched;
	__u32 owner_pid;
	char owner_comm[TASK_COMM_LEN];
	struct listener_info info;
	bool sampled_once;
	__u32 depth_base;		/* children already queued when first sampled at start */
	int gone_rounds;		/* collections since it stopped listening */
	bool retired;			/* its kernel entries were reaped: counters below */
	struct listener_stats retired_st;
};

struct collector {
	struct acceptscope_bpf *skel;
	int ncpus;
	bool first_round;
	bool overflow_known, overflow_from_drops;
	void *known;		/* tsearch tree of struct known_listener, by id */
	struct known_listener **retired;	/* closed listeners whose kernel entries were reaped */
	int nr_retired, cap_retired;
};

struct collector *collector_new(struct acceptscope_bpf *skel, bool overflow_known, bool overflow_from_drops)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->skel = skel;
	c->ncpus = libbpf_num_possible_cpus();
	c->first_round = true;
	c->overflow_known = overflow_known;
	c->overflow_from_drops = overflow_from_drops;
	return c;
}

void collector_free(struct collector *c)
{
	if (!c)
		return;
	tdestroy(c->known, free);
	free(c->retired);
	free(c);
}


static struct known_listener *known_find(struct collector *c, listener_id_t id, bool add)
{
	struct known_listener **found = tfind(&id, &c->known, cmp_id), *k;

	if (found || !add)
		return found ? *found : NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->id = id;
	if (!tsearch(k, &c->known, cmp_id)) {
		free(k);
		return NULL;
	}
	return k;
}





static void info_from_sample(struct listener_info *info, const struct listener_sample *s)
{
	info->netns = s->netns;
	info->inode = s->inode;
	info->family = s->family;
	info->port = s->port;
	memcpy(info->addr, s->addr, sizeof(info->addr));
	info->backlog = s->backlog;
}

/* The kernel side samples every watched listener (sample_listeners); read what it wrote. */
static int sample_listeners(struct collector *c, struct snapshot *snap)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int map = bpf_map__fd(c->skel->maps.samples);
	struct listener_sample s;
	__u64 key, *prev = NULL;

	if (bpf_prog_test_run_opts(bpf_program__fd(c->skel->progs.sample_listeners), &run))
		return -errno;
	while (bpf_map_get_next_key(map, prev, &key) == 0) {
		struct listener_row *r;
		struct known_listener *k;

		prev = &key;
		if (bpf_map_lookup_elem(map, &key, &s) || !s.inode)
			continue;
		r = row_get(snap, s.inode);
		k = known_find(c, s.inode, true);
		if (!r || !k)
			return -ENOMEM;
		if (!k->sampled_once) {
			/* Listeners already there at start count drops from now on; newer ones from 0. */
			k->drops_base = c->first_round ? s.drops : 0;
			k->depth_base = c->first_round ? s.depth : 0;
			k->sampled_once = true;
		}
		info_from_sample(&k->info, &s);
		r->info = k->info;
		r->sampled = true;
		r->depth_now = s.depth;
		r->syn_now = s.syn_queue;
		r->drops_base = k->drops_base;
		r->drops_now = k->drops_last = s.drops;
	}
	return 0;
}

/* Add @ncpus values @v into @sum (maxima: the maximum). */
static void add_listener_stats(struct listener_stats *sum, const struct listener_stats *v, int ncpus)
{
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const struct listener_stats *s = &v[cpu];

		sum->queued += s->queued;
		sum->accepted += s->accepted;
		sum->empty_accepts += s->empty_accepts;
		sum->syn_drops += s->syn_drops;
		sum->handshake_drops += s->handshake_drops;
		sum->discards += s->discards;
		sum->unrecorded_accepts += s->unrecorded_accepts;
		sum->wait_count += s->wait_count;
		sum->wait_sum_ns += s->wait_sum_ns;
		if (s->wait_max_ns > sum->wait_max_ns)
			sum->wait_max_ns = s->wait_max_ns;
		if (s->depth_max > sum->depth_max)
			sum->depth_max = s->depth_max;
		if (s->syn_max > sum->syn_max)
			sum->syn_max = s->syn_max;
		for (int i = 0; i < DEPTH_SLOTS; i++)
			sum->depth_hist[i] += s->depth_hist[i];
		for (int i = 0; i < WAIT_SLOTS; i++)
			sum->wait_hist[i] += s->wait_hist[i];
	}
}

/* A row the listener sample does not have: closed since it was sampled, or never sampled. */
static void identify_unsampled(struct collector *c, struct listener_row *r)
{
	struct known_listener *k = known_find(c, r->id, false);

	if (k && k->sampled_once) {
		/* Closed since: its drops stay as last sampled. */
		r->info = k->info;
		r->gone = true;
		r->drops_base = k->drops_base;
		r->drops_now = k->drops_last;
	} else if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.listener_info), &r->id, &r->info) == 0 &&
		   r->info.closed) {
		r->gone = true;	/* came and went between two samples */
	}
}

static int read_listener_stats(struct collector *c, struct snapshot *snap)
{
	int map = bpf_map__fd(c->skel->maps.listener_stats);
	struct listener_stats *v = calloc(c->ncpus, sizeof(*v));
	__u64 key, *prev = NULL;

	if (!v)
		return -ENOMEM;
	while (bpf_map_get_next_key(map, prev, &key) == 0) {
		struct listener_row *r;

		prev = &key;
		if (bpf_map_lookup_elem(map, &key, v))
			continue;
		r = row_get(snap, key);
		if (!r)
			break;
		add_listener_stats(&r->st, v, c->ncpus);
		if (!r->sampled && !r->gone)
			identify_unsampled(c, r);
	}
	free(v);
	return 0;
}

static int read_thread_stats(struct collector *c, struct snapshot *snap)
{
	int map = bpf_map__fd(c->skel->maps.thread_stats);
	struct thread_stats *v = calloc(c->ncpus, sizeof(*v));
	struct thread_key key, *prev = NULL;

	if (!v)
		return -ENOMEM;
	while (bpf_map_get_next_key(map, prev, &key) == 0) {
		struct listener_row *r;
		struct thread_row *t;

		prev = &key;
		if (bpf_map_lookup_elem(map, &key, v))
			continue;
		r = row_get(snap, key.listener);
		if (!r)
			break;
		if (!r->sampled && !r->gone)
			identify_unsampled(c, r);	/* only reads since its counters were reaped */
		t = realloc(r->threads, (r->nr_threads + 1) * sizeof(*t));
		if (!t)
			break;
		r->threads = t;
		t = &r->threads[r->nr_threads++];
		memset(t, 0, sizeof(*t));
		t->pid = key.pid;
		t->tid = key.tid;
		for (int cpu = 0; cpu < c->ncpus; cpu++) {
			t->accepts += v[cpu].accepts;
			t->empty_accepts += v[cpu].empty_accepts;
			t->reads += v[cpu].reads;
			t->read_bytes += v[cpu].read_bytes;
			if (!t->comm[0] && v[cpu].comm[0])
				memcpy(t->comm, v[cpu].comm, sizeof(t->comm));
		}
	}
	free(v);
	return 0;
}



/* Owners of listeners, from /proc/PID/fd links "socket:[inode]" (as ss -p does). */
static void find_owners(struct collector *c, struct snapshot *snap)
{
	char path[600], link[64], comm_path[300];
	struct dirent *p, *fd;
	DIR *proc, *fds;
	bool wanted = false;

	for (int i = 0; i < snap->nr_rows; i++) {
		struct known_listener *k = known_find(c, snap->rows[i].id, true);

		if (k && !k->owner_searched && snap->rows[i].info.inode)
			wanted = true;
	}
	if (!wanted || !(proc = opendir("/proc")))
		goto fill;
	while ((p = readdir(proc))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			unsigned long long ino;
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, fd->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			for (int i = 0; i < snap->nr_rows; i++) {
				struct known_listener *k = known_find(c, snap->rows[i].id, false);
				FILE *f;

				if (!k || k->owner_pid || snap->rows[i].info.inode != ino)
					continue;
				k->owner_pid = atoi(p->d_name);
				snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", p->d_name);
				f = fopen(comm_path, "r");
				if (f) {
					if (fgets(k->owner_comm, sizeof(k->owner_comm), f))
						k->owner_comm[strcspn(k->owner_comm, "\n")] = 0;
					fclose(f);
				}
			}
		}
		closedir(fds);
	}
	closedir(proc);
	for (int i = 0; i < snap->nr_rows; i++) {
		struct known_listener *k = known_find(c, snap->rows[i].id, false);

		if (k && snap->rows[i].info.inode)
			k->owner_searched = true;
	}
fill:
	for (int i = 0; i < snap->nr_rows; i++) {
		struct known_listener *k = known_find(c, snap->rows[i].id, false);

		if (k) {
			snap->rows[i].owner_pid = k->owner_pid;
			memcpy(snap->rows[i].owner_comm, k->owner_comm, TASK_COMM_LEN);
		}
	}
}

static void compute_overflows(struct collector *c, struct listener_row *r)
{
	r->overflows_known = c->overflow_known;
	if (!c->overflow_known)
		return;
	if (!c->overflow_from_drops) {
		r->overflows = r->st.syn_drops + r->st.handshake_drops;
		return;
	}
	/* sk_drops counts each drop (tcp_listendrop) plus each discard_and_relse packet. */
	if (!r->sampled && !r->gone) {
		r->overflows_known = false;
		return;
	}
	__s64 drops = (__s64)r->drops_now - r->drops_base - (__s64)r->st.discards;
	r->overflows = drops > 0 ? drops : 0;
}

/*
 * kprobe programs do not nest on a CPU: a softirq that hits a kprobe while
 * another of our kprobe programs runs is skipped, and counted here.
 */
static __u64 missed_runs(struct collector *c)
{
	struct bpf_program *prog;
	__u64 total = 0;

	bpf_object__for_each_program(prog, c->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			total += info.recursion_misses;
	}
	return total;
}

const char *lost_name(enum lost_kind which)
{
	static const char *const names[NR_LOST] = {
		[LOST_TRACE_RECORDS] = "trace_records",
		[LOST_UPDATES] = "updates",
		[LOST_CONNS_UNTRACKED] = "conns_untracked",
		[LOST_WAITS_UNSEEN] = "waits_unseen",
		[LOST_LISTENERS_UNWATCHED] = "listeners_unwatched",
		[LOST_ENQUEUES_UNSEEN] = "enqueues_unseen",
	};

	return which < NR_LOST ? names[which] : "?";
}

__u64 lost_count(struct collector *c, enum lost_kind which)
{
	__u32 key = which;
	__u64 *v = calloc(c->ncpus, sizeof(*v)), total = 0;

	if (v && bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.lost), &key, v) == 0)
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			total += v[cpu];
	free(v);
	return total;
}

/* Closed listeners whose kernel entries were reaped: their final counters, as rows. */
static int add_retired_rows(struct collector *c, struct snapshot *snap)
{
	for (int i = 0; i < c->nr_retired; i++) {
		struct known_listener *k = c->retired[i];
		struct listener_row *r = row_get(snap, k->id);

		if (!r)
			return -ENOMEM;
		r->st = k->retired_st;
		r->info = k->info;
		r->gone = true;
		r->drops_base = k->drops_base;
		r->drops_now = k->drops_last;
	}
	return 0;
}

/*
 * A listener that has stopped listening was shown as closed in the last
 * collection: its per-listener entries in the kernel are reaped (nothing writes
 * them once it is closed) and its counters kept here, so that closed listeners
 * never fill the maps.  Its per-thread entries stay: reads on connections it
 * accepted go on after it closed.
 */
static void reap_closed(struct collector *c, struct snapshot *snap)
{
	int stats = bpf_map__fd(c->skel->maps.listener_stats);
	int info = bpf_map__fd(c->skel->maps.listener_info);

	for (int i = 0; i < snap->nr_rows; i++) {
		struct listener_row *r = &snap->rows[i];
		struct known_listener *k;

		if (!r->gone || !(k = known_find(c, r->id, false)) || k->gone_rounds++ < 1)
			continue;
		if (bpf_map_delete_elem(stats, &r->id) && !k->retired)
			continue;	/* nothing to reap (only per-thread rows) */
		bpf_map_delete_elem(info, &r->id);
		k->retired_st = r->st;
		k->info = r->info;
		if (k->retired)
			continue;
		if (c->nr_retired == c->cap_retired) {
			int cap = c->cap_retired ? 2 * c->cap_retired : 64;
			void *p = realloc(c->retired, cap * sizeof(*c->retired));

			if (!p)
				return;	/* kept in the kernel instead: nothing lost */
			c->retired = p;
			c->cap_retired = cap;
		}
		k->retired = true;
		c->retired[c->nr_retired++] = k;
	}
}

/*
 * Accepted children that no hook had recorded, beyond those already queued when
 * the listener was first sampled at start: enqueues that went unseen (or whose
 * record the full connection map refused), so "queued" is that much short.
 */
static __u64 enqueues_unseen(struct collector *c, const struct snapshot *snap)
{
	__u64 n = 0;

	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		struct known_listener *k = known_find(c, r->id, false);
		__u64 base = k ? k->depth_base : 0;

		n += r->st.unrecorded_accepts > base ? r->st.unrecorded_accepts - base : 0;
	}
	return n;
}

int collect(struct collector *c, struct snapshot *snap)
{
	int err;

	memset(snap, 0, sizeof(*snap));
	err = add_retired_rows(c, snap);
	/* A failed sample costs the "now" figures only; the counters are read regardless. */
	err = sample_listeners(c, snap) ?: err;
	if (err)
		err = sample_listeners(c, snap);
	err = read_listener_stats(c, snap) ?: err;
	err = read_thread_stats(c, snap) ?: err;
	find_owners(c, snap);
	for (int i = 0; i < snap->nr_rows; i++) {
		struct listener_row *r = &snap->rows[i];

		compute_overflows(c, r);
		if (r->nr_threads > 1)
			qsort(r->threads, r->nr_threads, sizeof(*r->threads), cmp_threads);
	}
	if (snap->nr_rows > 1)
		qsort(snap->rows, snap->nr_rows, sizeof(*snap->rows), cmp_rows);
	index_rows(snap);
	reap_closed(c, snap);
	for (int i = 0; i < NR_LOST; i++)
		snap->lost[i] = lost_count(c, i);
	snap->lost[LOST_ENQUEUES_UNSEEN] = enqueues_unseen(c, snap);
	snap->missed_runs = missed_runs(c);
	c->first_round = false;
	return err;
}




