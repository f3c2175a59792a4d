// SPDX-License-Identifier: GPL-2.0
/* --timeline: trace records and samples gathered into lanes, connections, marks and depths. */
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "collect.h"
#include "timeline.h"

/* ---- a map from 64-bit keys to values (open addressing, linear probing) ---- */

struct tl_slot {
	__u64 key;
	long long val;
	bool used;
};

struct tl_hash {
	struct tl_slot *slot;
	size_t cap, n;		/* cap: a power of two, or 0 */
};

static size_t hash_index(const struct tl_hash *h, __u64 key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key & (h->cap - 1);
}

static struct tl_slot *hash_find(const struct tl_hash *h, __u64 key)
{
	if (!h->cap)
		return NULL;
	for (size_t i = hash_index(h, key);; i = (i + 1) & (h->cap - 1))
		if (!h->slot[i].used || h->slot[i].key == key)
			return &h->slot[i];
}

static bool hash_grow(struct tl_hash *h)
{
	struct tl_hash bigger = { .cap = h->cap ? h->cap * 2 : 256 };

	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (!bigger.slot)
		return false;
	for (size_t i = 0; i < h->cap; i++) {
		if (h->slot[i].used)
			*hash_find(&bigger, h->slot[i].key) = h->slot[i];
	}
	bigger.n = h->n;
	free(h->slot);
	*h = bigger;
	return true;
}

/* The value of @key, or NULL. */
static long long *hash_get(const struct tl_hash *h, __u64 key)
{
	struct tl_slot *s = hash_find(h, key);

	return s && s->used ? &s->val : NULL;
}

/* The value of @key, added as TL_NONE if missing; NULL when out of memory. */
static long long *hash_put(struct tl_hash *h, __u64 key)
{
	struct tl_slot *s;

	if ((h->n + 1) * 2 > h->cap && !hash_grow(h))
		return NULL;
	s = hash_find(h, key);
	if (!s->used) {
		*s = (struct tl_slot){ .key = key, .val = TL_NONE, .used = true };
		h->n++;
	}
	return &s->val;
}

static void hash_free(struct tl_hash *h)
{
	if (h)
		free(h->slot);
	free(h);
}

/* ---- growing arrays ---- */

/* Room for one more element in *@v (holding @n of @cap, each @size bytes); false when out of memory. */
static bool room(void *v, int *cap, int n, size_t size)
{
	void **p = v, *bigger;
	int want = *cap ? *cap * 2 : 64;

	if (n < *cap)
		return true;
	bigger = realloc(*p, (size_t)want * size);
	if (!bigger)
		return false;
	*p = bigger;
	*cap = want;
	return true;
}

/* ---- the model ---- */

struct timeline *timeline_new(const char *title, const struct hook_plan *plan)
{
	struct timeline *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	snprintf(tl->title, sizeof(tl->title), "%s", title);
	tl->syn_seen = syn_traced(plan);
	for (int h = 0; h < NR_HOOKS; h++)
		snprintf(tl->hooks + strlen(tl->hooks), sizeof(tl->hooks) - strlen(tl->hooks), "%s%s %s",
			 h ? ", " : "", hook_name(h), mechanism_name(plan->mech[h]));
	tl->last_sample_ns = TL_NONE;
	tl->by_child = calloc(1, sizeof(*tl->by_child));
	tl->by_syn = calloc(1, sizeof(*tl->by_syn));
	tl->by_thread = calloc(1, sizeof(*tl->by_thread));
	tl->by_listener = calloc(1, sizeof(*tl->by_listener));
	tl->empty_seen = calloc(1, sizeof(*tl->empty_seen));
	if (!tl->by_child || !tl->by_syn || !tl->by_thread || !tl->by_listener || !tl->empty_seen) {
		timeline_free(tl);
		return NULL;
	}
	return tl;
}

void timeline_free(struct timeline *tl)
{
	if (!tl)
		return;
	for (int i = 0; i < tl->nr_lanes; i++) {
		free(tl->lanes[i].depth.p);
		free(tl->lanes[i].synq.p);
	}
	free(tl->lanes);
	free(tl->conns);
	free(tl->marks);
	free(tl->spans);
	hash_free(tl->by_child);
	hash_free(tl->by_syn);
	hash_free(tl->by_thread);
	hash_free(tl->by_listener);
	hash_free(tl->empty_seen);
	free(tl);
}

/* The lane @key names in @map, or a new one like @fresh; -1 when out of memory. */
static int lane_of(struct timeline *tl, struct tl_hash *map, __u64 key, const struct tl_lane *fresh)
{
	long long *slot = hash_put(map, key);

	if (!slot || (*slot == TL_NONE && !room(&tl->lanes, &tl->cap_lanes, tl->nr_lanes, sizeof(*tl->lanes))))
		return tl->oom = true, -1;
	if (*slot == TL_NONE) {
		tl->lanes[tl->nr_lanes] = *fresh;
		*slot = tl->nr_lanes++;
	}
	return *slot;
}

static int queue_lane(struct timeline *tl, const struct conn_event *e)
{
	struct tl_lane fresh = { .queue = true, .listener = e->listener, .port = e->port };
	int q = lane_of(tl, tl->by_listener, e->listener, &fresh);

	/* SYN, enqueue and drop records carry the backlog; accept and read records do not. */
	if (q >= 0 && (e->type == EV_SYN || e->type == EV_QUEUED || e->type == EV_DROPPED))
		tl->lanes[q].backlog = e->backlog;
	return q;
}

static int thread_lane(struct timeline *tl, __u32 pid, __u32 tid, const char *comm)
{
	struct tl_lane fresh = { .pid = pid, .tid = tid };

	snprintf(fresh.comm, sizeof(fresh.comm), "%s", comm);
	return lane_of(tl, tl->by_thread, tid, &fresh);
}

static void add_point(struct timeline *tl, struct tl_series *s, long long t, __u32 v)
{
	if (!room(&s->p, &s->cap, s->n, sizeof(*s->p))) {
		tl->oom = true;
		return;
	}
	s->p[s->n++] = (struct tl_point){ .t_ns = t, .v = v };
}

static void add_mark(struct timeline *tl, const struct conn_event *e, int lane, enum tl_mark_kind kind)
{
	if (lane < 0 || !room(&tl->marks, &tl->cap_marks, tl->nr_marks, sizeof(*tl->marks))) {
		tl->oom |= lane >= 0;
		return;
	}
	tl->marks[tl->nr_marks++] = (struct tl_mark){ .t_ns = e->ts_ns, .lane = lane, .kind = kind, .peer_port = e->rport };
}

/* A new connection of @child (its stages still unseen), its index or -1. */
static int new_conn(struct timeline *tl, const struct conn_event *e)
{
	long long *slot = hash_put(tl->by_child, e->child);

	if (!slot || !room(&tl->conns, &tl->cap_conns, tl->nr_conns, sizeof(*tl->conns)))
		return tl->oom = true, -1;
	tl->conns[tl->nr_conns] = (struct tl_conn){
		.child = e->child, .listener = e->listener, .peer_port = e->rport, .queue_lane = -1,
		.accept_lane = -1, .read_lane = -1, .syn_ns = TL_NONE, .enqueue_ns = TL_NONE,
		.accept_ns = TL_NONE, .read_ns = TL_NONE,
	};
	*slot = tl->nr_conns;
	return tl->nr_conns++;
}

/* @child's latest connection, or NULL. */
static struct tl_conn *conn_of(struct timeline *tl, __u64 child)
{
	long long *slot = hash_get(tl->by_child, child);

	return slot && *slot >= 0 ? &tl->conns[*slot] : NULL;
}

/* Listener and peer port, the only link between a SYN and the child it becomes (inodes fit 40 bits). */
static __u64 syn_key(listener_id_t listener, __u32 peer_port)
{
	return listener << 16 | (peer_port & 0xffff);
}

static void on_syn(struct timeline *tl, const struct conn_event *e, int q)
{
	long long *first = hash_put(tl->by_syn, syn_key(e->listener, e->rport));

	tl->lanes[q].syns++;
	add_mark(tl, e, q, TL_SYN);
	/* A retransmitted SYN: the handshake started at the first. */
	if (first && *first == TL_NONE)
		*first = e->ts_ns;
	tl->oom |= !first;
}

static void on_queued(struct timeline *tl, const struct conn_event *e, int q)
{
	struct tl_conn *c = e->child ? conn_of(tl, e->child) : NULL;
	long long *syn = hash_get(tl->by_syn, syn_key(e->listener, e->rport));
	int i;

	tl->lanes[q].queued++;
	add_mark(tl, e, q, TL_ENQUEUE);
	/* No child (unknown), or the sk_data_ready hook naming a child still queued: no new connection. */
	if (!e->child || (c && c->enqueue_ns != TL_NONE && c->accept_ns == TL_NONE))
		return;
	i = new_conn(tl, e);
	if (i < 0)
		return;
	c = &tl->conns[i];
	c->queue_lane = q;
	c->enqueue_ns = e->ts_ns;
	if (syn && *syn != TL_NONE) {
		c->syn_ns = *syn;
		*syn = TL_NONE;
	}
}

static void on_accepted(struct timeline *tl, const struct conn_event *e, int q, const char *comm)
{
	int a = thread_lane(tl, e->pid, e->tid, comm), i;
	struct tl_conn *c = conn_of(tl, e->child);
	struct tl_series *d;

	if (a < 0)
		return;
	d = &tl->lanes[q].depth;	/* after thread_lane(), which may move the lanes */
	tl->lanes[a].accepts++;
	add_mark(tl, e, a, TL_ACCEPT);
	/* One connection fewer in the queue than at the last event. */
	add_point(tl, d, e->ts_ns, d->n && d->p[d->n - 1].v ? d->p[d->n - 1].v - 1 : 0);
	if (!c || c->accept_ns != TL_NONE) {
		/* Queued before the trace started, or its enqueue unseen. */
		if ((i = new_conn(tl, e)) < 0)
			return;
		c = &tl->conns[i];
		c->queue_lane = q;
	}
	c->accept_lane = a;
	c->accept_ns = e->ts_ns;
	c->wait_ns = e->value;
}

static void on_first_read(struct timeline *tl, const struct conn_event *e, int q, const char *comm)
{
	int r = thread_lane(tl, e->pid, e->tid, comm), i;
	struct tl_conn *c = conn_of(tl, e->child);

	if (r < 0)
		return;
	tl->lanes[r].reads++;
	tl->lanes[r].read_bytes += e->value;
	add_mark(tl, e, r, TL_READ);
	if (!c || c->read_ns != TL_NONE) {
		if ((i = new_conn(tl, e)) < 0)
			return;
		c = &tl->conns[i];
		c->queue_lane = q;
	}
	c->read_lane = r;
	c->read_ns = e->ts_ns;
	c->bytes = e->value;
}

int timeline_record(void *ctx, const struct trace_record *r)
{
	struct timeline *tl = ctx;
	const struct conn_event *e = r->e;
	int q;

	if (!tl->started) {
		tl->started = true;
		tl->origin_ns = r->origin_ns;
	}
	q = queue_lane(tl, e);
	if (q < 0)
		return 0;
	if (e->type == EV_SYN || e->type == EV_QUEUED || e->type == EV_DROPPED) {
		add_point(tl, &tl->lanes[q].depth, e->ts_ns, e->depth);
		add_point(tl, &tl->lanes[q].synq, e->ts_ns, e->syn_queue);
	}
	switch (e->type) {
	case EV_SYN:
		on_syn(tl, e, q);
		break;
	case EV_QUEUED:
		on_queued(tl, e, q);
		break;
	case EV_DROPPED:
		tl->lanes[q].drops++;
		add_mark(tl, e, q, e->value ? TL_DROP_HANDSHAKE : TL_DROP_SYN);
		break;
	case EV_ACCEPTED:
		on_accepted(tl, e, q, r->comm);
		break;
	case EV_FIRST_READ:
		on_first_read(tl, e, q, r->comm);
		break;
	}
	return 0;
}

/* (listener, tid): inodes fit 40 bits, tids 22 (PID_MAX_LIMIT). */
static __u64 thread_key(listener_id_t listener, __u32 tid)
{
	return listener << 24 | (tid & 0xffffff);
}

/* @t's empty accepts on @r since the last sample, as a span on its thread's lane. */
static void sample_thread(struct timeline *tl, const struct listener_row *r, const struct thread_row *t,
			  long long now)
{
	long long *seen = hash_put(tl->empty_seen, thread_key(r->id, t->tid));
	__u64 before = seen && *seen != TL_NONE ? (__u64)*seen : 0;
	char comm[ESCAPED_LEN(TASK_COMM_LEN)];
	int lane;

	if (!seen) {
		tl->oom = true;
		return;
	}
	*seen = t->empty_accepts;
	if (t->empty_accepts <= before)
		return;
	escape_text(comm, sizeof(comm), t->comm, sizeof(t->comm));
	lane = thread_lane(tl, t->pid, t->tid, comm);
	if (lane < 0 || !room(&tl->spans, &tl->cap_spans, tl->nr_spans, sizeof(*tl->spans))) {
		tl->oom = true;
		return;
	}
	tl->lanes[lane].empty_accepts += t->empty_accepts - before;
	tl->spans[tl->nr_spans++] = (struct tl_span){
		.t0_ns = tl->last_sample_ns == TL_NONE ? now : tl->last_sample_ns, .t1_ns = now, .lane = lane,
		.n = t->empty_accepts - before,
	};
}

void timeline_sample(struct timeline *tl, const struct snapshot *snap, __u64 now_ns)
{
	long long now = now_ns;

	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		long long *q = hash_get(tl->by_listener, r->id);

		for (int j = 0; j < r->nr_threads; j++)
			sample_thread(tl, r, &r->threads[j], now);
		/* Depths of the queues the trace drew, between their events. */
		if (q && r->sampled) {
			add_point(tl, &tl->lanes[*q].depth, now, r->depth_now);
			add_point(tl, &tl->lanes[*q].synq, now, r->syn_now);
		}
	}
	tl->last_sample_ns = now;
}

void timeline_lost(struct timeline *tl, __u64 n)
{
	tl->lost_records += n;
}
