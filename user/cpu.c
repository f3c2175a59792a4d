// SPDX-License-Identifier: GPL-2.0
/* Per-thread CPU use and wake-ups from /proc, kept for spans of samples (see cpu.h). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cpu.h"

/* One thread's usage at one sample. */
struct usage_at {
	long idx;		/* the sample's number; -1: none */
	__u64 ns;		/* when */
	struct thread_usage u;
};

struct tracked {
	__u32 pid, tid;
	/* It started after sample zero_before - 1, so it had used nothing at every sample
	 * before zero_before (0: not known to have). */
	long zero_before;
	struct usage_at first, last;	/* the first and the latest sample that read it */
	struct usage_at *ring;		/* the last history + 1 samples, by number modulo that */
};

struct cpu_sampler {
	int slots;			/* history + 1 */
	char proc[PATH_MAX];
	long clk_tck;
	long nr_samples;
	__u64 *times;			/* of the last @slots samples, by number modulo @slots */
	__u64 first_ns;			/* of sample 0 */
	struct tracked *t;		/* sorted by tid */
	int n, cap;
};

int parse_schedstat(const char *text, struct thread_usage *u)
{
	unsigned long long run, wait;

	if (sscanf(text, "%llu %llu", &run, &wait) != 2)
		return -1;
	u->cpu_ns = run;
	u->runq_ns = wait;
	return 0;
}

int parse_stat(const char *text, long clk_tck, __u64 *cpu_ns, __u64 *start_ticks)
{
	/* "pid (comm) state ppid ...": comm may hold anything, so fields count from its last ')';
	 * utime, stime and starttime are fields 14, 15 and 22. */
	const char *p = strrchr(text, ')');
	unsigned long long v[23] = {};

	if (!p || clk_tck <= 0)
		return -1;
	p++;
	for (int field = 3; field <= 22; field++) {
		char *end;

		while (*p == ' ')
			p++;
		v[field] = strtoull(p, &end, 10);
		if (end == p && (field == 14 || field == 15 || field == 22))
			return -1;
		p += strcspn(p, " ");
	}
	*cpu_ns = (v[14] + v[15]) * (1000000000ULL / clk_tck);
	*start_ticks = v[22];
	return 0;
}

int parse_status_wakeups(const char *text, __u64 *wakeups)
{
	static const char key[] = "\nvoluntary_ctxt_switches:";
	const char *p = strstr(text, key);
	unsigned long long v;

	if (!p || sscanf(p + sizeof(key) - 1, " %llu", &v) != 1)
		return -1;
	*wakeups = v;
	return 0;
}

__u64 cpu_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct cpu_sampler *cpu_sampler_new(int history, const char *proc)
{
	struct cpu_sampler *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->slots = (history > 0 ? history : 1) + 1;
	s->times = calloc(s->slots, sizeof(*s->times));
	if (!s->times) {
		free(s);
		return NULL;
	}
	snprintf(s->proc, sizeof(s->proc), "%s", proc);
	s->clk_tck = sysconf(_SC_CLK_TCK);
	return s;
}

void cpu_sampler_free(struct cpu_sampler *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		free(s->t[i].ring);
	free(s->t);
	free(s->times);
	free(s);
}

/* A small /proc file into @buf; its length, or -1. */
static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* The thread's usage now, and when it started (ticks since boot); -1 if it is gone. */
static int read_thread(const struct cpu_sampler *s, __u32 pid, __u32 tid, struct thread_usage *u, __u64 *start)
{
	char path[PATH_MAX + 64], buf[4096];
	__u64 stat_ns;

	snprintf(path, sizeof(path), "%s/%u/task/%u/stat", s->proc, pid, tid);
	if (read_file(path, buf, sizeof(buf)) < 0 || parse_stat(buf, s->clk_tck, &stat_ns, start))
		return -1;
	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "%s/%u/task/%u/schedstat", s->proc, pid, tid);
	/* Nanoseconds where the kernel keeps them (CONFIG_SCHED_INFO), else stat's ticks. */
	if (read_file(path, buf, sizeof(buf)) < 0 || parse_schedstat(buf, u)) {
		u->cpu_ns = stat_ns;
		u->runq_ns = (__u64)-1;	/* unknown */
	}
	snprintf(path, sizeof(path), "%s/%u/task/%u/status", s->proc, pid, tid);
	if (read_file(path, buf, sizeof(buf)) < 0 || parse_status_wakeups(buf, &u->wakeups))
		return -1;
	return 0;
}

static int by_tid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = ((const struct tracked *)b)->tid;

	return x < y ? -1 : x > y;
}

static struct tracked *find(const struct cpu_sampler *s, __u32 tid)
{
	return s->n ? bsearch(&tid, s->t, s->n, sizeof(*s->t), by_tid) : NULL;
}

/* A new entry for @tid, in tid order; NULL out of memory. */
static struct tracked *insert(struct cpu_sampler *s, __u32 tid)
{
	struct tracked *t;
	int at = 0;

	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;

		t = realloc(s->t, cap * sizeof(*t));
		if (!t)
			return NULL;
		s->t = t;
		s->cap = cap;
	}
	while (at < s->n && s->t[at].tid < tid)
		at++;
	memmove(&s->t[at + 1], &s->t[at], (s->n - at) * sizeof(*s->t));
	s->n++;
	t = &s->t[at];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* (Re)start @t as a thread first seen now, at sample @idx. */
static int begin(struct cpu_sampler *s, struct tracked *t, __u32 pid, __u64 start_ticks, long idx)
{
	long prev = idx - 1;

	if (!t->ring && !(t->ring = malloc(s->slots * sizeof(*t->ring))))
		return -1;
	for (int i = 0; i < s->slots; i++)
		t->ring[i].idx = -1;
	t->pid = pid;
	t->first.idx = -1;
	/* starttime is truncated to a tick: a start tick past the previous sample's time is
	 * after it for sure. */
	t->zero_before = prev >= 0 && start_ticks * (1000000000ULL / s->clk_tck) > s->times[prev % s->slots] ? idx : 0;
	return 0;
}

static void record(struct cpu_sampler *s, __u32 pid, __u32 tid, __u64 now_ns)
{
	struct tracked *t = find(s, tid);
	long idx = s->nr_samples;
	struct usage_at at = { .idx = idx, .ns = now_ns };
	__u64 start;

	if (t && t->last.idx == idx)
		return;	/* a repeated pid */
	if (read_thread(s, pid, tid, &at.u, &start))
		return;
	if (!t && !(t = insert(s, tid)))
		return;
	/* A tid used again by a new thread: another process, or its counts went back. */
	if (!t->ring || t->pid != pid || at.u.cpu_ns < t->last.u.cpu_ns || at.u.wakeups < t->last.u.wakeups)
		if (begin(s, t, pid, start, idx))
			return;
	if (t->first.idx < 0)
		t->first = at;
	t->last = at;
	t->ring[idx % s->slots] = at;
}

/* Threads gone for longer than the history are forgotten. */
static void prune(struct cpu_sampler *s)
{
	int kept = 0;

	for (int i = 0; i < s->n; i++) {
		if (s->t[i].last.idx >= s->nr_samples - s->slots) {
			s->t[kept++] = s->t[i];
			continue;
		}
		free(s->t[i].ring);
	}
	s->n = kept;
}

void cpu_sample(struct cpu_sampler *s, const __u32 *pids, int n, __u64 now_ns)
{
	char path[PATH_MAX + 32];

	s->times[s->nr_samples % s->slots] = now_ns;
	if (!s->nr_samples)
		s->first_ns = now_ns;
	for (int i = 0; i < n; i++) {
		struct dirent *d;
		DIR *dir;

		snprintf(path, sizeof(path), "%s/%u/task", s->proc, pids[i]);
		if (!pids[i] || !(dir = opendir(path)))
			continue;
		while ((d = readdir(dir)))
			if (d->d_name[0] >= '0' && d->d_name[0] <= '9')
				record(s, pids[i], (__u32)strtoul(d->d_name, NULL, 10), now_ns);
		closedir(dir);
	}
	s->nr_samples++;
	prune(s);
}

/* @t's usage at sample @idx (its time in *ns), if known. */
static bool usage_at(const struct cpu_sampler *s, const struct tracked *t, long idx, struct usage_at *out)
{
	if (idx < 0 || idx >= s->nr_samples)
		return false;
	if (idx == t->first.idx || idx == t->last.idx) {
		*out = idx == t->first.idx ? t->first : t->last;
		return true;
	}
	if (t->ring[idx % s->slots].idx == idx) {
		*out = t->ring[idx % s->slots];
		return true;
	}
	if (idx < t->zero_before && (idx == 0 || idx >= s->nr_samples - s->slots)) {
		*out = (struct usage_at){ .idx = idx, .ns = idx ? s->times[idx % s->slots] : s->first_ns };
		return true;
	}
	return false;
}

/* The first sample from @from on at which @t's usage is known. */
static bool first_known(const struct cpu_sampler *s, const struct tracked *t, long from, struct usage_at *out)
{
	if (from < t->zero_before)
		return usage_at(s, t, from, out);
	return usage_at(s, t, from > t->first.idx ? from : t->first.idx, out);
}

static bool thread_span(const struct cpu_sampler *s, const struct tracked *t, int intervals, struct span_thread *o)
{
	long latest = s->nr_samples - 1, from = intervals ? latest - intervals : 0;
	struct usage_at a, b;
	double secs;

	if (from < 0)
		from = 0;
	/* The end: the latest sample, or the last one it was seen at within the span. */
	if (t->last.idx < from || !usage_at(s, t, t->last.idx, &b) || !first_known(s, t, from, &a) || a.idx >= b.idx)
		return false;
	secs = (b.ns - a.ns) / 1e9;
	if (secs <= 0)
		return false;
	*o = (struct span_thread){ .pid = t->pid, .tid = t->tid, .secs = secs, .wakeups = b.u.wakeups - a.u.wakeups,
				   .alive = t->last.idx == latest };
	o->cpu_pct = (b.u.cpu_ns - a.u.cpu_ns) / 1e7 / secs;
	o->runq_known = b.u.runq_ns != (__u64)-1 && (a.u.runq_ns != (__u64)-1 || a.idx < t->zero_before);
	if (o->runq_known)
		o->runq_pct = (b.u.runq_ns - (a.idx < t->zero_before ? 0 : a.u.runq_ns)) / 1e7 / secs;
	return true;
}

int cpu_span_get(const struct cpu_sampler *s, int intervals, struct cpu_span *out)
{
	out->n = 0;
	out->v = calloc(s->n ? s->n : 1, sizeof(*out->v));
	if (!out->v)
		return -1;
	if (intervals >= s->slots)
		intervals = s->slots - 1;
	for (int i = 0; i < s->n; i++)
		out->n += thread_span(s, &s->t[i], intervals, &out->v[out->n]);
	return 0;
}

static int span_by_tid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = ((const struct span_thread *)b)->tid;

	return x < y ? -1 : x > y;
}

const struct span_thread *cpu_span_find(const struct cpu_span *span, __u32 tid)
{
	return span && span->n ? bsearch(&tid, span->v, span->n, sizeof(*span->v), span_by_tid) : NULL;
}

void cpu_span_free(struct cpu_span *span)
{
	free(span->v);
	span->v = NULL;
	span->n = 0;
}
