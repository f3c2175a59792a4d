/* SPDX-License-Identifier: GPL-2.0 */
/* The maps, and the helpers that find or create their entries (counting what does not fit). */
#ifndef ACCEPTSCOPE_MAPS_BPF_H
#define ACCEPTSCOPE_MAPS_BPF_H

#include "sock.bpf.h"

struct conn {
	__u64 listener;		/* the listener's struct sock, for trace records */
	listener_id_t listener_id;
	__u64 enqueue_ns;	/* 0: enqueue not seen */
	__u32 accept_tid;	/* 0: not accepted yet */
	__u32 read_seen;
};

/*
 * Capacities are set by user space at start (user/main.c size_maps: --max-listeners,
 * --max-conns); entries are allocated as used (BPF_F_NO_PREALLOC), and an insert
 * into a full map is counted in "lost", never silent.  Per-listener maps are keyed
 * by listener_id_t; user space reaps those of closed listeners.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* 3.6 KiB a listener a CPU: only for those seen */
	__uint(max_entries, 65536);
	__type(key, listener_id_t);
	__type(value, struct listener_stats);
} listener_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, listener_id_t);
	__type(value, struct listener_info);
} listener_info SEC(".maps");

/*
 * Listening sockets to sample each interval (without taking their locks, unlike
 * iter/tcp, which locks every socket it visits): found by the iter/tcp pass at
 * start, by listen(), and by the first event the hooks see; dropped on close.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct listener_sample);
} samples SEC(".maps");

/* listen() entry → exit: the fd, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);	/* threads inside the call at once */
	__type(key, __u32);
	__type(value, __s64);
} listen_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct thread_key);
	__type(value, struct thread_stats);
} thread_stats SEC(".maps");

/*
 * Children of watched listeners, queued or accepted, until they close (the state
 * hook forgets them).  Not LRU: an LRU evicts silently, a plain hash refuses an
 * insert when full, and that refusal is counted (LOST_CONNS_UNTRACKED, LOST_WAITS_UNSEEN).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

/* kprobe inet_csk_accept entry → return: the listener and error slot, per thread. */
struct accept_args {
	__u64 listener;
	__u64 err_slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);	/* threads inside the call at once */
	__type(key, __u32);
	__type(value, struct accept_args);
} accept_args SEC(".maps");

/* Threads whose current accept() the fexit/kretprobe hook counted (catch-up only). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} accept_seen SEC(".maps");

/*
 * sk_data_ready enqueue hook: the child whose handshake just completed on this CPU
 * (see tp_inet_sock_set_state), so the wake-up names its own child, not the queue tail;
 * with the child's port and namespace, which the wake-up compares with its listener's.
 */
struct established {
	__u64 child;
	__u64 net;
	__u32 port;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct established);
} established_child SEC(".maps");

/* kprobe on syn_recv_sock: the listener, per CPU (softirq does not migrate). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} syn_recv_listener SEC(".maps");

/* kprobe on tcp_recvmsg: the socket, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);	/* threads inside the call at once */
	__type(key, __u32);
	__type(value, __u64);
} recv_sock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Per CPU, indexed by enum lost_kind. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_LOST);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static struct listener_stats zero_listener_stats;

/*
 * Local ports that have had a connection in conns.  The state and read hooks fire
 * for every TCP socket of the host, client sides included: an index here, on the
 * socket's port, lets them leave before the conns hash.  Set at every insert into
 * conns (insert_conn) and never cleared, so no conns entry is ever passed over.
 */
__u8 server_ports[65536];

/*
 * The index masked where the verifier sees it: clang drops "& 0xffff" on a value it
 * knows is 16 bits (a byte swap's result), which 6.1's verifier cannot bound.
 */
static __always_inline __u32 port_index(__u32 port)
{
	asm volatile("%0 &= 0xffff" : "+r"(port));
	return port;
}

static __always_inline bool is_server_port(__u32 port)
{
	return server_ports[port_index(port)];
}

/* A new record for @child, whose local port is @port (its listener's); 0 or the error. */
static __always_inline long insert_conn(const struct sock *child, __u32 port, struct conn *c)
{
	__u64 key = (__u64)child;

	server_ports[port_index(port)] = 1;
	return bpf_map_update_elem(&conns, &key, c, BPF_NOEXIST);
}

static __always_inline void count_lost(enum lost_kind which)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &which);

	if (n)
		(*n)++;
}

/* Add @sk to the listeners sampled each interval; a full map is counted. */
static __always_inline void watch(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&watched, &key))
		return;
	if (bpf_map_update_elem(&watched, &key, &one, BPF_NOEXIST) && !bpf_map_lookup_elem(&watched, &key))
		count_lost(LOST_LISTENERS_UNWATCHED);
}

static __always_inline void remember_listener(const struct sock *sk, listener_id_t id)
{
	struct listener_info info = {};

	if (bpf_map_lookup_elem(&listener_info, &id))
		return;
	watch(sk);
	fill_identity(sk, &info.netns, &info.inode, &info.family, &info.port, info.addr);
	info.backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	if (bpf_map_update_elem(&listener_info, &id, &info, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&listener_info, &id))
		count_lost(LOST_UPDATES);
}

/* @sk's counters, created at its first event; NULL (counted) when the map is full. */
static __always_inline struct listener_stats *get_listener_stats(const struct sock *sk, listener_id_t id)
{
	struct listener_stats *ls = bpf_map_lookup_elem(&listener_stats, &id);

	if (ls)
		return ls;
	if (!id) {
		/* No socket behind the listener any more (being torn down): nothing to key it by. */
		count_lost(LOST_UPDATES);
		return NULL;
	}
	remember_listener(sk, id);
	if (bpf_map_update_elem(&listener_stats, &id, &zero_listener_stats, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&listener_stats, &id)) {
		count_lost(LOST_UPDATES);
		return NULL;
	}
	return bpf_map_lookup_elem(&listener_stats, &id);
}

static __always_inline struct thread_stats *get_thread_stats(listener_id_t listener, __u64 pid_tgid)
{
	struct thread_key key = {
		.listener = listener,
		.pid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
	};
	struct thread_stats *ts = bpf_map_lookup_elem(&thread_stats, &key);
	struct thread_stats zero = {};

	if (ts)
		return ts;
	bpf_get_current_comm(zero.comm, sizeof(zero.comm));
	if (bpf_map_update_elem(&thread_stats, &key, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&thread_stats, &key)) {
		count_lost(LOST_UPDATES);
		return NULL;
	}
	return bpf_map_lookup_elem(&thread_stats, &key);
}

#endif
