// SPDX-License-Identifier: GPL-2.0
/* Snapshots of the kernel's counters: rows found by listener id, copies, interval deltas. */
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include "collect.h"

int cmp_id(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;	/* the id is each node's first member */

	return x < y ? -1 : x > y;
}

/* Rows are found through an index of (id, position), rebuilt whenever rows move. */
struct row_pos {
	listener_id_t id;
	int idx;
};

void index_rows(struct snapshot *snap)
{
	tdestroy(snap->index, free);
	snap->index = NULL;
	for (int i = 0; i < snap->nr_rows; i++) {
		struct row_pos *p = malloc(sizeof(*p));

		if (!p)
			continue;
		/* The key must be set before tsearch() compares it. */
		p->id = snap->rows[i].id;
		p->idx = i;
		if (*(struct row_pos **)tsearch(p, &snap->index, cmp_id) != p)
			free(p);
	}
}

struct listener_row *snapshot_find(const struct snapshot *snap, listener_id_t id)
{
	struct row_pos **p = tfind(&id, &snap->index, cmp_id);

	return p ? &snap->rows[(*p)->idx] : NULL;
}

struct listener_row *row_get(struct snapshot *snap, listener_id_t id)
{
	struct listener_row *r = snapshot_find(snap, id);
	struct row_pos *p;

	if (r)
		return r;
	if (snap->nr_rows == snap->cap_rows) {
		int cap = snap->cap_rows ? snap->cap_rows * 2 : 64;

		r = realloc(snap->rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		snap->rows = r;
		snap->cap_rows = cap;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	p->id = id;
	p->idx = snap->nr_rows;
	if (!tsearch(p, &snap->index, cmp_id)) {
		free(p);
		return NULL;
	}
	r = &snap->rows[snap->nr_rows++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	return r;
}

int cmp_threads(const void *a, const void *b)
{
	const struct thread_row *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int cmp_rows(const void *a, const void *b)
{
	const struct listener_row *x = a, *y = b;

	if (x->info.port != y->info.port)
		return x->info.port < y->info.port ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void snapshot_free(struct snapshot *snap)
{
	for (int i = 0; i < snap->nr_rows; i++)
		free(snap->rows[i].threads);
	free(snap->rows);
	tdestroy(snap->index, free);
	memset(snap, 0, sizeof(*snap));
}

void snapshot_copy(const struct snapshot *src, struct snapshot *dst)
{
	*dst = *src;
	dst->index = NULL;
	dst->cap_rows = src->nr_rows ? src->nr_rows : 1;
	dst->rows = calloc(dst->cap_rows, sizeof(*dst->rows));
	if (!dst->rows) {
		dst->nr_rows = dst->cap_rows = 0;
		return;
	}
	if (src->nr_rows)
		memcpy(dst->rows, src->rows, src->nr_rows * sizeof(*dst->rows));
	for (int i = 0; i < src->nr_rows; i++) {
		struct listener_row *r = &dst->rows[i];

		r->threads = calloc(r->nr_threads ? r->nr_threads : 1, sizeof(*r->threads));
		if (r->threads && r->nr_threads)
			memcpy(r->threads, src->rows[i].threads, r->nr_threads * sizeof(*r->threads));
		else if (!r->threads)
			r->nr_threads = 0;
	}
	index_rows(dst);
}

/* @r's threads are sorted by (pid, tid) (see collect()). */
static const struct thread_row *find_thread(const struct listener_row *r, const struct thread_row *t)
{
	if (!r || !r->nr_threads)
		return NULL;
	return bsearch(t, r->threads, r->nr_threads, sizeof(*t), cmp_threads);
}

void snapshot_delta(const struct snapshot *now, const struct snapshot *prev, struct snapshot *out)
{
	snapshot_copy(now, out);
	for (int i = 0; i < NR_LOST; i++)
		out->lost[i] -= prev->lost[i];
	out->missed_runs -= prev->missed_runs;
	for (int i = 0; i < out->nr_rows; i++) {
		struct listener_row *r = &out->rows[i];
		const struct listener_row *p = snapshot_find(prev, r->id);

		if (!p)
			continue;
		r->st.queued -= p->st.queued;
		r->st.accepted -= p->st.accepted;
		r->st.empty_accepts -= p->st.empty_accepts;
		r->st.wait_count -= p->st.wait_count;
		r->st.wait_sum_ns -= p->st.wait_sum_ns;
		r->overflows -= p->overflows <= r->overflows ? p->overflows : r->overflows;
		for (int j = 0; j < DEPTH_SLOTS; j++)
			r->st.depth_hist[j] -= p->st.depth_hist[j];
		for (int j = 0; j < WAIT_SLOTS; j++)
			r->st.wait_hist[j] -= p->st.wait_hist[j];
		for (int j = 0; j < r->nr_threads; j++) {
			struct thread_row *t = &r->threads[j];
			const struct thread_row *pt = find_thread(p, t);

			if (!pt)
				continue;
			t->accepts -= pt->accepts;
			t->empty_accepts -= pt->empty_accepts;
			t->reads -= pt->reads;
			t->read_bytes -= pt->read_bytes;
		}
	}
}
