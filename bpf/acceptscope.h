/* SPDX-License-Identifier: GPL-2.0 */
/* Structures shared by bpf/acceptscope.bpf.c and user/: plain __u32/__u64 only. */
#ifndef ACCEPTSCOPE_H
#define ACCEPTSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MAX_FILTERS 8		/* -p PID and -P PORT, each */
#define DEPTH_SLOTS 20		/* log2 of the accept-queue depth at enqueue: 0 .. 2^19 */
#define WAIT_SUB_BITS 4		/* wait histogram: 16 linear sub-buckets per power of two */
#define WAIT_MIN_LOG2 10	/* waits below 2^10 ns (1 us) share the first bucket */
#define WAIT_MAX_LOG2 37	/* waits above 2^37 ns (137 s) share the last bucket */
#define WAIT_SLOTS (((WAIT_MAX_LOG2 - WAIT_MIN_LOG2) << WAIT_SUB_BITS) + 1)
#define TASK_COMM_LEN 16

/* Hooks, each served by one mechanism chosen at start (user/backend.c). */
enum hook_id {
	HOOK_ACCEPT,	/* a thread takes a connection off the accept queue */
	HOOK_ENQUEUE,	/* handshake complete: child joins the listener's accept queue */
	HOOK_READ,	/* a thread reads from an accepted connection */
	HOOK_STATE,	/* socket state changes: forget closed connections */
	HOOK_OVERFLOW,	/* SYNs and handshakes dropped because the accept queue is full */
	NR_HOOKS,
};

/*
 * Counted losses: every capacity limit that can cost a figure is counted here
 * (per CPU, summed by user space) and shown, never silent.
 */
enum lost_kind {
	LOST_TRACE_RECORDS,	/* --trace records that did not fit in the ring buffer */
	LOST_UPDATES,		/* events not counted: a per-listener or per-thread map was full */
	LOST_CONNS_UNTRACKED,	/* accepted connections not tracked (conns full): their reads are not counted */
	LOST_WAITS_UNSEEN,	/* enqueues whose time could not be kept (conns full): no wait sample */
	LOST_LISTENERS_UNWATCHED, /* listeners that could not be watched (map full): queue not sampled */
	LOST_ENQUEUES_UNSEEN,	/* accepted children whose enqueue no hook recorded (user space: collect.c) */
	NR_LOST,
};

/*
 * A listener's identity, the key of every per-listener map: its socket inode
 * (as ss -e shows it), unique among live sockets and never that of a later
 * socket that reuses the same struct sock address.
 */
typedef __u64 listener_id_t;

/* Per listening socket, per CPU (key: listener_id_t). */
struct listener_stats {
	__u64 queued;		/* connections that joined the accept queue */
	__u64 accepted;		/* connections handed to a thread by accept() */
	__u64 empty_accepts;	/* accept() calls that found the queue empty (EAGAIN) */
	__u64 syn_drops;	/* SYNs dropped because the accept queue was full (tcp_conn_request hook) */
	__u64 handshake_drops;	/* handshake-completing ACKs dropped, queue full (syn_recv_sock hook) */
	__u64 discards;		/* packets discarded against the listener (kfree_skb, tracepoint backend) */
	__u64 unrecorded_accepts; /* accepts of children no hook had recorded (queued before start, or unseen) */
	__u64 wait_count;	/* accepts whose enqueue time was known */
	__u64 wait_sum_ns;
	__u64 wait_max_ns;
	__u32 depth_max;	/* deepest accept queue seen at an enqueue */
	__u32 syn_max;		/* most pending handshakes seen */
	__u64 depth_hist[DEPTH_SLOTS];
	__u64 wait_hist[WAIT_SLOTS];
};

/* Identity of a listener, written once when the kernel side first sees it. */
struct listener_info {
	__u64 netns;		/* network namespace inode number */
	__u64 inode;		/* socket inode, as ss -e and /proc/PID/fd show it */
	__u32 family;		/* AF_INET or AF_INET6 */
	__u32 port;		/* local port, host order */
	__u8 addr[16];		/* local address: 4 bytes for AF_INET, 16 for AF_INET6 */
	__u32 backlog;		/* sk_max_ack_backlog */
	__u32 closed;		/* it stopped listening (set by the state hook) */
};

/* Per (listener, thread), per CPU. */
struct thread_key {
	__u64 listener;		/* listener_id_t */
	__u32 pid;		/* tgid */
	__u32 tid;
};

struct thread_stats {
	__u64 accepts;
	__u64 empty_accepts;
	__u64 reads;		/* read calls on accepted connections that returned data */
	__u64 read_bytes;
	char comm[TASK_COMM_LEN];
};

/* One listener as the iter/tcp snapshot sees it (user space reads these records). */
struct listener_sample {
	__u64 sk;		/* kernel address, the key of the watched set */
	__u64 netns;
	__u64 inode;		/* the listener's identity (listener_id_t) */
	__u32 family;
	__u32 port;
	__u8 addr[16];
	__u32 depth;		/* sk_ack_backlog */
	__u32 backlog;		/* sk_max_ack_backlog */
	__u32 syn_queue;	/* icsk_accept_queue.qlen: request sockets still in handshake */
	__u32 drops;		/* sk_drops: the listener's own ListenDrops counter */
	__u32 uid;
	__u32 pad;
};

/* --trace records (ring buffer). */
enum event_type {
	EV_QUEUED = 1,
	EV_ACCEPTED,
	EV_FIRST_READ,
	EV_DROPPED,
	EV_SYN,		/* a SYN reached the listener (tcp_conn_request: fentry/kprobe backends only) */
};

struct conn_event {
	__u64 ts_ns;
	__u64 listener;		/* listener_id_t */
	__u64 child;		/* kernel address: one connection's events share it */
	__u64 value;		/* QUEUED, SYN: 0; ACCEPTED: wait ns (0 = unknown); FIRST_READ: bytes */
	__u32 type;
	__u32 pid;
	__u32 tid;
	__u32 depth;		/* accept-queue depth (QUEUED, DROPPED, SYN) */
	__u32 backlog;
	__u32 syn_queue;
	__u32 port;
	__u32 rport;		/* peer port of the child (SYN: of the SYN; DROPPED: 0) */
	char comm[TASK_COMM_LEN];
};

#endif /* ACCEPTSCOPE_H */
