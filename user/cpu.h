/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-thread CPU use and wake-ups, from /proc, over spans of the tracer's intervals.
 *
 * Each interval the tracer samples every thread of the processes it has seen (the listeners'
 * owners and the threads in their rows): the CPU time the thread has run, the time it waited
 * on a run queue (both from /proc/PID/task/TID/schedstat, in nanoseconds; without
 * CONFIG_SCHED_INFO, the CPU time from stat's utime + stime, in clock ticks, and no run-queue
 * wait) and its voluntary context switches (status): each is one sleep, so one wake-up.  A
 * span's figures are the differences between two samples.
 */
#ifndef ACCEPTSCOPE_CPU_H
#define ACCEPTSCOPE_CPU_H

#include <stdbool.h>
#include <linux/types.h>

/* What a thread has used since it started. */
struct thread_usage {
	__u64 cpu_ns;		/* time running */
	__u64 runq_ns;		/* time runnable, waiting for a CPU */
	__u64 wakeups;		/* voluntary context switches */
};

/* /proc's files, parsed (0, or -1 if @text is not what the kernel writes). */
int parse_schedstat(const char *text, struct thread_usage *u);
/* stat: utime + stime in ns (@clk_tck ticks a second) and starttime in ticks since boot. */
int parse_stat(const char *text, long clk_tck, __u64 *cpu_ns, __u64 *start_ticks);
int parse_status_wakeups(const char *text, __u64 *wakeups);

/* One thread over a span. */
struct span_thread {
	__u32 pid, tid;
	double secs;		/* the part of the span it was watched */
	double cpu_pct;		/* CPU time over that, in % of one CPU */
	double runq_pct;	/* waiting for a CPU, same unit; 0 when unknown */
	bool runq_known;
	__u64 wakeups;
	bool alive;		/* it was there at the span's last sample */
};

/* Threads sorted by tid. */
struct cpu_span {
	struct span_thread *v;
	int n;
};

struct cpu_sampler;

/* A sampler that keeps @history intervals (the longest span asked of it but the whole run);
 * @proc is the procfs root ("/proc"; the unit tests give a directory of their own). */
struct cpu_sampler *cpu_sampler_new(int history, const char *proc);
void cpu_sampler_free(struct cpu_sampler *s);
/* Sample every thread of the @n processes @pids (repeats are fine) at @now_ns, a
 * CLOCK_BOOTTIME time (the clock /proc's starttime counts in). */
void cpu_sample(struct cpu_sampler *s, const __u32 *pids, int n, __u64 now_ns);
__u64 cpu_clock_ns(void);
/* Each thread's use over the last @intervals samples (1: the last interval), or with 0 over
 * every sample since the first (the whole run).  A thread counts from the first sample it
 * was seen at or, if it started after a sample, from that sample with nothing used; one no
 * longer seen counts up to the last sample it was seen at.  Threads without two such
 * samples in the span are left out.  0, or -1 out of memory. */
int cpu_span_get(const struct cpu_sampler *s, int intervals, struct cpu_span *out);
const struct span_thread *cpu_span_find(const struct cpu_span *span, __u32 tid);
void cpu_span_free(struct cpu_span *span);

#endif
