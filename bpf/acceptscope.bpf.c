// SPDX-License-Identifier: GPL-2.0
/*
 * acceptscope: the accept path of TCP listeners, attributed to threads.
 *
 * Events feed one set of maps (maps.bpf.h), each hook served by whichever
 * mechanism the running kernel allows (user/backend.c's table picks one per
 * hook and disables the rest).  The sections below follow the hooks:
 *   accept    a thread takes a child off the queue: fexit|kretprobe
 *             inet_csk_accept, or the accept/accept4 syscall exit (also the
 *             catch-up for calls under way at attach)
 *   enqueue   handshake complete, child joins the accept queue: fexit|kretprobe
 *             tcp_v{4,6}_syn_recv_sock, or tp_btf sk_data_ready
 *   read      a thread reads from an accepted child: fexit|kretprobe
 *             tcp_recvmsg, or tp_btf sock_recv_length
 *   overflow  the queue was full: fentry|kprobe tcp_conn_request (SYN dropped)
 *             and tcp_v{4,6}_syn_recv_sock's entry (handshake dropped), or
 *             tp_btf kfree_skb with the listener's sk_drops
 *   state     tp_btf inet_sock_set_state: closed children and listeners
 *             forgotten, handshakes completed (for sk_data_ready)
 *   listeners found by one iter/tcp pass at start and by listen(); sampled
 *             each interval by sample_listeners, which user space test-runs
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "acceptscope.h"
#include "histogram.h"
#include "maps.bpf.h"
#include "compat.bpf.h"

const volatile __u32 filter_ports[MAX_FILTERS] = {};

const volatile __u32 nr_filter_ports = 0;

const volatile __u32 filter_pids[MAX_FILTERS] = {};

const volatile __u32 nr_filter_pids = 0;

const volatile bool trace_events = false;

/* What the one kprobe at tcp_v{4,6}_syn_recv_sock's entry serves: the enqueue hook, the overflow hook or both. */
const volatile bool syn_recv_kprobe_enqueue = false;

const volatile bool syn_recv_kprobe_overflow = false;

/*
 * fexit/kretprobe accept hooks miss a call already under way at attach (the
 * trampoline or return probe is armed at function entry).  With accept_catchup
 * the accept syscall's exit counts what they missed, until user space has seen
 * every thread that was in accept() at attach leave it (user/preblocked.c) and
 * clears catchup_active.
 */
const volatile bool accept_catchup = false;

/* The enqueue hook is sk_data_ready: the state hook tells it which child was established. */
const volatile bool pair_established = false;

volatile bool catchup_active = false;

/*
 * A listener closed with children in its accept queue: with net.ipv4.tcp_migrate_req
 * a reuseport sibling may take them over (inet_csk_listen_stop() ->
 * inet_csk_reqsk_queue_add() on the sibling, no wake-up there), so from then on the
 * accept hook reads the listener from the fd instead of trusting the child's record.
 */
bool children_may_migrate = false;

/* [start, end) of tcp_v4_rcv and tcp_v6_rcv, from /proc/kallsyms (see on_kfree_skb). */
const volatile __u64 rcv_text[2][2] = {};

static __always_inline bool port_wanted(__u32 port)
{
	if (!nr_filter_ports)
		return true;
	for (int i = 0; i < MAX_FILTERS; i++)
		if (i < nr_filter_ports && filter_ports[i] == port)
			return true;
	return false;
}

/* -P: reads the listener's port only when there is a filter. */
static __always_inline bool listener_wanted(const struct sock *listener)
{
	return !nr_filter_ports || port_wanted(sk_port(listener));	/* no probe read without -P */
}

static __always_inline bool pid_wanted(__u32 pid)
{
	if (!nr_filter_pids)
		return true;
	for (int i = 0; i < MAX_FILTERS; i++)
		if (i < nr_filter_pids && filter_pids[i] == pid)
			return true;
	return false;
}

/* A --trace record reserved and filled in (NULL: not tracing, or counted lost); the caller submits it. */
static __always_inline struct conn_event *new_event(__u32 type, const struct sock *listener, listener_id_t id,
						     const struct sock *child, __u64 value, __u32 depth)
{
	struct conn_event *e;
	__u64 pid_tgid;

	if (!trace_events)
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_TRACE_RECORDS);
		return NULL;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->listener = id;
	e->child = (__u64)child;
	e->value = value;
	e->type = type;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->depth = depth;
	e->backlog = BPF_CORE_READ(listener, sk_max_ack_backlog);
	e->syn_queue = syn_queue_len(listener);
	e->port = sk_port(listener);
	e->rport = child ? __builtin_bswap16(BPF_CORE_READ(child, __sk_common.skc_dport)) : 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void emit(__u32 type, const struct sock *listener, listener_id_t id,
				 const struct sock *child, __u64 value, __u32 depth)
{
	struct conn_event *e = new_event(type, listener, id, child, value, depth);

	if (e)
		bpf_ringbuf_submit(e, 0);
}

/*
 * A child joined @listener's accept queue, which is now @depth deep; @syn_queue
 * handshakes are still pending.  @child may be NULL or, with sk_data_ready, an older
 * child (see tp_sk_data_ready): the enqueue still counts, its time is not overwritten.
 * With @once, a child already recorded for this listener is not counted again:
 * IPv4-mapped connections pass through tcp_v6_syn_recv_sock and tcp_v4_syn_recv_sock.
 */
static __always_inline void on_enqueue(const struct sock *listener, listener_id_t id,
				       const struct sock *child, __u32 depth, __u32 syn_queue, bool once)
{
	__u64 key = (__u64)child;
	struct listener_stats *ls;
	struct conn *c, fresh = { .listener = (__u64)listener, .listener_id = id };

	if (child) {
		c = bpf_map_lookup_elem(&conns, &key);
		if (c && c->listener_id == id) {
			if (once)
				return;
		} else if (c && !c->listener_id) {
			/* Recorded when it became established, a moment ago (note_established): keep that time. */
			c->listener = fresh.listener;
			c->listener_id = id;
		} else {
			fresh.enqueue_ns = bpf_ktime_get_ns();
			if (c)
				*c = fresh;	/* a record left by an earlier socket at this address */
			else if (insert_conn(child, sk_port(listener), &fresh))
				count_lost(LOST_WAITS_UNSEEN);
		}
	}
	ls = get_listener_stats(listener, id);
	if (!ls)
		return;
	ls->queued++;
	ls->depth_hist[depth_slot(depth)]++;
	if (depth > ls->depth_max)
		ls->depth_max = depth;
	if (syn_queue > ls->syn_max)
		ls->syn_max = syn_queue;
	emit(EV_QUEUED, listener, id, child, 0, depth);
}

/* @listener's queue was full: a SYN or a handshake-completing ACK was dropped. */
static __always_inline void on_overflow(const struct sock *listener, bool handshake)
{
	listener_id_t id;
	struct listener_stats *ls;

	if (!listener_wanted(listener))
		return;
	id = listener_id(listener);
	ls = get_listener_stats(listener, id);
	if (!ls)
		return;
	if (handshake)
		ls->handshake_drops++;
	else
		ls->syn_drops++;
	emit(EV_DROPPED, listener, id, NULL, handshake, BPF_CORE_READ(listener, sk_ack_backlog));
}

/*
 * A thread called accept() on @listener: it got @child, or failed with @err.
 * @c: the child's record when the caller already looked it up, else NULL.
 */
static __always_inline void on_accept(const struct sock *listener, const struct sock *child, int err,
				      struct conn *c)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), key = (__u64)child, wait = 0;
	listener_id_t id;
	struct listener_stats *ls;
	struct thread_stats *ts;
	struct conn fresh = { .listener = (__u64)listener };

	if (!child && err != -EAGAIN)
		return;
	if (!pid_wanted(pid_tgid >> 32))
		return;
	if (c && c->listener_id && c->listener == (__u64)listener) {
		/* Its enqueue recorded the listener's identity: no need to read it again. */
		id = fresh.listener_id = c->listener_id;
	} else {
		if (!listener_wanted(listener))
			return;
		id = fresh.listener_id = listener_id(listener);
	}
	ls = get_listener_stats(listener, id);
	ts = get_thread_stats(id, pid_tgid);
	if (!ls || !ts)
		return;
	if (!child) {
		ls->empty_accepts++;
		ts->empty_accepts++;
		return;
	}
	ls->accepted++;
	ts->accepts++;
	if (!c)
		c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		/* Queued before we attached, or its enqueue went unseen: tracked from here. */
		ls->unrecorded_accepts++;
		if (insert_conn(child, sk_port(listener), &fresh) || !(c = bpf_map_lookup_elem(&conns, &key))) {
			count_lost(LOST_CONNS_UNTRACKED);
			emit(EV_ACCEPTED, listener, id, child, 0, 0);
			return;
		}
	}
	if (!c->listener_id) {
		/* Established in the queue without a wake-up (note_established): its enqueue, now. */
		ls->queued++;
		emit(EV_QUEUED, listener, id, child, 0, BPF_CORE_READ(listener, sk_ack_backlog) + 1);
	}
	/* A reuseport shard that closed may hand its queue to a sibling (tcp_migrate_req). */
	c->listener = (__u64)listener;
	c->listener_id = id;
	c->accept_tid = (__u32)pid_tgid;
	if (c->enqueue_ns) {
		wait = bpf_ktime_get_ns() - c->enqueue_ns;
		ls->wait_count++;
		ls->wait_sum_ns += wait;
		if (wait > ls->wait_max_ns)
			ls->wait_max_ns = wait;
		ls->wait_hist[WAIT_SLOT_INDEX(wait)]++;
	}
	emit(EV_ACCEPTED, listener, id, child, wait, 0);
}

/* A thread read @bytes from @sk; counted when @sk is an accepted child of a watched listener. */
static __always_inline void on_read(const struct sock *sk, long bytes)
{
	__u64 pid_tgid, key = (__u64)sk;
	struct thread_stats *ts;
	struct conn *c;

	if (bytes <= 0)
		return;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !c->accept_tid)
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_wanted(pid_tgid >> 32))
		return;
	ts = get_thread_stats(c->listener_id, pid_tgid);
	if (!ts)
		return;
	ts->reads++;
	ts->read_bytes += bytes;
	if (!c->read_seen) {
		c->read_seen = 1;
		emit(EV_FIRST_READ, (const struct sock *)c->listener, c->listener_id, sk, bytes, 0);
	}
}

/* ==== accept: fexit / kprobe on inet_csk_accept, or the syscall exit ==== */

/* The function hook saw this thread's accept(): the syscall's exit must not count it again. */
static __always_inline void mark_accept_seen(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1;

	if (catchup_active)
		if (bpf_map_update_elem(&accept_seen, &tid, &one, BPF_ANY))
			count_lost(LOST_UPDATES);	/* the catch-up will count this accept again */
}

SEC("fexit/inet_csk_accept")
int fexit_inet_csk_accept(__u64 *ctx)
{
	__u64 listener = 0, err_slot = 0, child = 0;

	mark_accept_seen();
	bpf_get_func_arg(ctx, 0, &listener);
	bpf_get_func_arg(ctx, accept_err_arg(), &err_slot);
	bpf_get_func_ret(ctx, &child);
	on_accept((void *)listener, (void *)child, child ? 0 : accept_error(err_slot), NULL);
	return 0;
}

SEC("kprobe/inet_csk_accept")
int kprobe_inet_csk_accept(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct accept_args a = {
		.listener = PT_REGS_PARM1(ctx),
		/* _CORE: a probe read; the verifier refuses a ctx access at a chosen offset. */
		.err_slot = accept_err_arg() == 1 ? PT_REGS_PARM2_CORE(ctx) : PT_REGS_PARM3_CORE(ctx),
	};

	if (bpf_map_update_elem(&accept_args, &tid, &a, BPF_ANY))
		count_lost(LOST_UPDATES);
	return 0;
}

SEC("kretprobe/inet_csk_accept")
int kretprobe_inet_csk_accept(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct accept_args *a = bpf_map_lookup_elem(&accept_args, &tid);
	__u64 child = PT_REGS_RC(ctx);

	if (!a)
		return 0;
	mark_accept_seen();
	on_accept((void *)a->listener, (void *)child, child ? 0 : accept_error(a->err_slot), NULL);
	bpf_map_delete_elem(&accept_args, &tid);
	return 0;
}

/*
 * At the syscall's exit its arguments are still in the task's saved user
 * registers: the listening fd is known without an entry record, so a thread
 * already blocked in accept() when we attached is counted like any other.
 */
static __always_inline int accept_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pt_regs *regs;
	const struct sock *listener, *child = NULL;
	struct conn *c = NULL;
	__u64 key;

	/* Catch-up: count only the calls the function hook did not see. */
	if (accept_catchup && (!catchup_active || bpf_map_delete_elem(&accept_seen, &tid) == 0))
		return 0;
	if ((ret < 0 && ret != -EAGAIN) || !pid_wanted(pid_tgid >> 32))
		return 0;
	if (ret >= 0) {
		/* The returned fd is the socket accept() just installed: its record names the listener. */
		child = sock_of_fd(ret);
		key = (__u64)child;
		c = child ? bpf_map_lookup_elem(&conns, &key) : NULL;
		if (c && c->listener_id && !children_may_migrate) {
			on_accept((const struct sock *)c->listener, child, 0, c);
			return 0;
		}
	}
	/* An empty accept, or a child no enqueue recorded: the listener from the listening fd. */
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	listener = listener_of_fd(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!listener)
		return 0;
	if (ret >= 0 && !c && !(child = tcp_sock_of_fd(ret)))
		return 0;
	on_accept(listener, child, ret >= 0 ? 0 : ret, c);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

/* ==== enqueue: fexit / kprobe on tcp_v{4,6}_syn_recv_sock, or tp_btf sk_data_ready (6.3+) ==== */

/*
 * syn_recv_sock runs before inet_csk_complete_hashdance() queues the child: the
 * depth after the enqueue is one more than now, and the request being completed
 * still counts in the SYN queue.  A NULL child is not counted here: handshake drops
 * are seen at the function's entry (see syn_recv_entry).
 */
static __always_inline void syn_recv_done(const struct sock *listener, const struct sock *child)
{
	__u32 depth, synq;

	if (!child || !is_tcp_listener(listener))
		return;
	if (!listener_wanted(listener))
		return;
	depth = BPF_CORE_READ(listener, sk_ack_backlog);
	synq = syn_queue_len(listener);
	on_enqueue(listener, listener_id(listener), child, depth + 1, synq ? synq - 1 : 0, true);
}

static __always_inline int fexit_syn_recv(__u64 *ctx)
{
	__u64 listener = 0, child = 0;

	bpf_get_func_arg(ctx, 0, &listener);
	bpf_get_func_ret(ctx, &child);
	syn_recv_done((void *)listener, (void *)child);
	return 0;
}

SEC("fexit/tcp_v4_syn_recv_sock")
int fexit_tcp_v4_syn_recv_sock(__u64 *ctx)
{
	return fexit_syn_recv(ctx);
}

SEC("fexit/tcp_v6_syn_recv_sock")
int fexit_tcp_v6_syn_recv_sock(__u64 *ctx)
{
	return fexit_syn_recv(ctx);
}

/*
 * tcp_v{4,6}_syn_recv_sock() test sk_acceptq_is_full() first and drop the
 * handshake-completing ACK when it holds (LINUX_MIB_LISTENOVERFLOWS).  Testing it
 * here, at entry, sees what the kernel sees: at return an acceptor on another CPU
 * may already have made room, and the drop would go uncounted.  An IPv4-mapped
 * handshake enters tcp_v6_syn_recv_sock, which passes it to tcp_v4_syn_recv_sock
 * before its own test: it is counted there only.
 */
static __always_inline void syn_recv_entry(const struct sock *listener, const struct sk_buff *skb,
					   bool v6)
{
	if (v6 && BPF_CORE_READ(skb, protocol) == bpf_htons(ETH_P_IP))
		return;
	if (is_tcp_listener(listener) && accept_queue_full(listener))
		on_overflow(listener, true);
}

static __always_inline int kprobe_syn_recv(struct pt_regs *ctx, bool v6)
{
	__u32 zero = 0;
	__u64 *slot;

	if (syn_recv_kprobe_overflow)
		syn_recv_entry((void *)PT_REGS_PARM1(ctx), (void *)PT_REGS_PARM2(ctx), v6);
	if (!syn_recv_kprobe_enqueue)
		return 0;
	slot = bpf_map_lookup_elem(&syn_recv_listener, &zero);
	if (slot)
		*slot = PT_REGS_PARM1(ctx);
	return 0;
}

/* The slot is not cleared: an IPv4-mapped child returns through v4 then v6 (on_enqueue dedups). */
static __always_inline int kretprobe_syn_recv(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&syn_recv_listener, &zero);

	if (slot && *slot)
		syn_recv_done((void *)*slot, (void *)PT_REGS_RC(ctx));
	return 0;
}

SEC("kprobe/tcp_v4_syn_recv_sock")
int kprobe_tcp_v4_syn_recv_sock(struct pt_regs *ctx)
{
	return kprobe_syn_recv(ctx, false);
}

SEC("kretprobe/tcp_v4_syn_recv_sock")
int kretprobe_tcp_v4_syn_recv_sock(struct pt_regs *ctx)
{
	return kretprobe_syn_recv(ctx);
}

SEC("kprobe/tcp_v6_syn_recv_sock")
int kprobe_tcp_v6_syn_recv_sock(struct pt_regs *ctx)
{
	return kprobe_syn_recv(ctx, true);
}

SEC("kretprobe/tcp_v6_syn_recv_sock")
int kretprobe_tcp_v6_syn_recv_sock(struct pt_regs *ctx)
{
	return kretprobe_syn_recv(ctx);
}

/*
 * The child tcp_child_process() just established on this CPU, if it belongs to
 * the listener on @port in @net (see tp_inet_sock_set_state), taken from the slot;
 * else NULL.
 */
static __always_inline const struct sock *take_established_child(__u32 port, const struct net *net)
{
	__u32 zero = 0;
	struct established *e = bpf_map_lookup_elem(&established_child, &zero);
	const struct sock *child;

	if (!e || !e->child)
		return NULL;
	child = (const struct sock *)e->child;
	e->child = 0;
	return e->port == port && e->net == (__u64)net ? child : NULL;
}

/*
 * tcp_child_process() wakes the listener after inet_csk_reqsk_queue_add() and
 * after the child's SYN_RECV -> ESTABLISHED, both in this softirq: the child is
 * the one the state hook just saw.  Failing that (a Fast Open child, queued at
 * its SYN), the queue's tail, which an accept on another CPU may already have
 * taken: the enqueue still counts, its child may be another.
 */
SEC("tp_btf/sk_data_ready")
int BPF_PROG(tp_sk_data_ready, const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	const struct request_sock *tail;
	const struct sock *child;
	__u32 port;

	/* Every TCP data arrival passes here: plain BTF loads to leave early. */
	if (sk->__sk_common.skc_state != TCP_LISTEN || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	port = sk->__sk_common.skc_num;
	if (!port_wanted(port))
		return 0;
	child = take_established_child(port, sk->__sk_common.skc_net.net);
	if (!child && BPF_CORE_READ(icsk, icsk_accept_queue.rskq_accept_head)) {
		tail = BPF_CORE_READ(icsk, icsk_accept_queue.rskq_accept_tail);
		child = BPF_CORE_READ(tail, sk);
	}
	on_enqueue(sk, listener_id_btf(sk), child, sk->sk_ack_backlog, syn_queue_len(sk), false);
	return 0;
}

/* ==== read: fexit / kprobe tcp_recvmsg, or tp_btf sock_recv_length (6.3+) ==== */

SEC("fexit/tcp_recvmsg")
int fexit_tcp_recvmsg(__u64 *ctx)
{
	__u64 sk = 0, ret = 0;

	bpf_get_func_arg(ctx, 0, &sk);
	bpf_get_func_ret(ctx, &ret);
	on_read((void *)sk, (int)ret);
	return 0;
}

SEC("kprobe/tcp_recvmsg")
int kprobe_tcp_recvmsg(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 sk = PT_REGS_PARM1(ctx);

	if (bpf_map_update_elem(&recv_sock, &tid, &sk, BPF_ANY))
		count_lost(LOST_UPDATES);
	return 0;
}

SEC("kretprobe/tcp_recvmsg")
int kretprobe_tcp_recvmsg(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *sk = bpf_map_lookup_elem(&recv_sock, &tid);

	if (!sk)
		return 0;
	on_read((void *)*sk, (int)PT_REGS_RC(ctx));
	bpf_map_delete_elem(&recv_sock, &tid);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tp_sock_recv_length, struct sock *sk, int ret, int flags)
{
	/* Every socket read of the host passes here: a plain load and an array index to leave. */
	if (!(flags & MSG_PEEK) && ret > 0 && is_server_port(sk->__sk_common.skc_num))
		on_read(sk, ret);
	return 0;
}

/* ==== overflow: a SYN (tcp_conn_request) or a handshake (syn_recv_sock) dropped, queue full ==== */

static __always_inline void conn_request(const struct sock *listener)
{
	if (is_tcp_listener(listener) && accept_queue_full(listener))
		on_overflow(listener, false);
}

/*
 * --trace: a SYN reached @listener (before the queue-full test above).  No socket exists
 * for it yet: the peer port comes from the TCP header, which ip_rcv/ipv6_rcv located.
 */
static __always_inline void trace_syn(const struct sock *listener, const struct sk_buff *skb)
{
	struct conn_event *e;
	unsigned char *head;
	__be16 sport = 0;

	if (!trace_events || !is_tcp_listener(listener) || !listener_wanted(listener))
		return;
	e = new_event(EV_SYN, listener, listener_id(listener), NULL, 0, BPF_CORE_READ(listener, sk_ack_backlog));
	if (!e)
		return;
	head = BPF_CORE_READ(skb, head);
	bpf_probe_read_kernel(&sport, sizeof(sport), head + BPF_CORE_READ(skb, transport_header));
	e->rport = bpf_ntohs(sport);
	bpf_ringbuf_submit(e, 0);
}

SEC("fentry/tcp_conn_request")
int BPF_PROG(fentry_tcp_conn_request, void *rsk_ops, void *af_ops, struct sock *sk, struct sk_buff *skb)
{
	trace_syn(sk, skb);
	conn_request(sk);
	return 0;
}

SEC("kprobe/tcp_conn_request")
int kprobe_tcp_conn_request(struct pt_regs *ctx)
{
	trace_syn((void *)PT_REGS_PARM3(ctx), (void *)PT_REGS_PARM4(ctx));
	conn_request((void *)PT_REGS_PARM3(ctx));
	return 0;
}

SEC("fentry/tcp_v4_syn_recv_sock")
int BPF_PROG(fentry_tcp_v4_syn_recv_sock, struct sock *sk, struct sk_buff *skb)
{
	syn_recv_entry(sk, skb, false);
	return 0;
}

SEC("fentry/tcp_v6_syn_recv_sock")
int BPF_PROG(fentry_tcp_v6_syn_recv_sock, struct sock *sk, struct sk_buff *skb)
{
	syn_recv_entry(sk, skb, true);
	return 0;
}

/* The kprobe at syn_recv_sock's entry is kprobe_syn_recv above, shared with the enqueue hook. */

static __always_inline bool in_rcv_text(__u64 ip)
{
	for (int i = 0; i < 2; i++)
		if (ip >= rcv_text[i][0] && ip < rcv_text[i][1])
			return true;
	return false;
}

/*
 * SYN drops make no tracepoint; the listener's own counter sk_drops sees them,
 * and every other overflow too (tcp_listendrop()).  But tcp_v{4,6}_rcv() also
 * adds to sk_drops each packet it discards against the listener
 * (discard_and_relse), and then frees it here with rx_sk = the listener and a
 * location inside tcp_v{4,6}_rcv.  User space derives the listener's drops as
 * sk_drops growth minus these discards.  Frees from elsewhere (the SYN-cookie
 * path in tcp_v4_do_rcv) add nothing to sk_drops and are not counted.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tp_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	struct listener_stats *ls;
	listener_id_t id;

	/* Every dropped packet passes here: plain BTF loads to leave early. */
	if (!rx_sk || rx_sk->__sk_common.skc_state != TCP_LISTEN ||
	    BPF_CORE_READ(rx_sk, sk_protocol) != IPPROTO_TCP || !listener_wanted(rx_sk))
		return 0;
	id = listener_id(rx_sk);
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
		emit(EV_DROPPED, rx_sk, id, NULL, 1, BPF_CORE_READ(rx_sk, sk_ack_backlog));
	if (!in_rcv_text((__u64)location))
		return 0;
	ls = get_listener_stats(rx_sk, id);
	if (ls)
		ls->discards++;
	return 0;
}

/* ==== state: children and listeners that close, handshakes that complete ==== */

/*
 * A listener stopped listening: no longer sampled, and marked closed so user space
 * shows it so (even if it came and went between two samples) and reaps its entries.
 */
static __always_inline void forget_listener(const struct sock *sk)
{
	listener_id_t id = listener_id(sk);
	struct listener_info *info = bpf_map_lookup_elem(&listener_info, &id);
	__u64 key = (__u64)sk;

	if (info)
		info->closed = 1;
	if (sk->sk_ack_backlog)
		children_may_migrate = true;
	bpf_map_delete_elem(&watched, &key);
	bpf_map_delete_elem(&samples, &key);
}

/*
 * A passive child became established: it is in its listener's accept queue
 * (inet_csk_complete_hashdance() queued it), though not always with a wake-up:
 * tcp_child_process() wakes the listener only if the completing ACK itself
 * moved the child out of SYN_RECV.  Recorded here, listener unknown
 * (listener_id 0), so that an accept of a child whose wake-up never came still
 * counts its enqueue (on_accept) and its wait.
 */
static __always_inline void note_established(const struct sock *child, __u32 port)
{
	struct conn pending = { .enqueue_ns = bpf_ktime_get_ns() };

	/* No room: not counted here; the enqueue or the accept that follows counts it. */
	insert_conn(child, port, &pending);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk;
	__u32 zero = 0, port;
	struct established *e;

	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED && pair_established) {
		/* A passive child's handshake done (tcp_rcv_state_process): for tp_sk_data_ready. */
		port = sk->__sk_common.skc_num;	/* a child has its listener's local port */
		if (!port_wanted(port))
			return 0;
		e = bpf_map_lookup_elem(&established_child, &zero);
		if (e) {
			e->child = key;
			e->port = port;
			e->net = (__u64)sk->__sk_common.skc_net.net;
		}
		note_established(sk, port);
		return 0;
	}
	if (newstate != TCP_CLOSE)
		return 0;
	if (oldstate == TCP_LISTEN) {
		forget_listener(sk);
		return 0;
	}
	/*
	 * Every TCP socket of the host closes through here: only a server port's can be
	 * in conns.  Not skc_num: tcp_set_state() unhashes first, and inet_put_port()
	 * zeroes it; inet_sport, a child's copy of its listener's port, stays.
	 */
	if (is_server_port(bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport))))
		bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* ==== listeners: found at start and by listen(), sampled on demand ==== */

/* Run once at start over this namespace's sockets: every listener there is watched. */
SEC("iter/tcp")
int iter_listeners(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;

	if (skc && skc->skc_state == TCP_LISTEN && listener_wanted((struct sock *)skc))
		watch((struct sock *)skc);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int tp_enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s64 fd = ctx->args[0];

	if (bpf_map_update_elem(&listen_fds, &tid, &fd, BPF_ANY))
		count_lost(LOST_LISTENERS_UNWATCHED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int tp_exit_listen(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s64 *fd = bpf_map_lookup_elem(&listen_fds, &tid);
	const struct sock *sk;

	if (!fd)
		return 0;
	sk = ctx->ret == 0 ? listener_of_fd(*fd) : NULL;
	if (sk && listener_wanted(sk)) {
		/* listen() again after shutdown(): the same socket listens anew. */
		listener_id_t id = listener_id(sk);
		struct listener_info *info = bpf_map_lookup_elem(&listener_info, &id);

		if (info)
			info->closed = 0;
		watch(sk);
	}
	bpf_map_delete_elem(&listen_fds, &tid);
	return 0;
}

static long sample_one(struct bpf_map *map, __u64 *key, __u8 *value, void *ctx)
{
	const struct sock *sk = (const struct sock *)*key;
	struct listener_sample s = { .sk = *key };

	if (!is_tcp_listener(sk))
		return 0;
	fill_identity(sk, &s.netns, &s.inode, &s.family, &s.port, s.addr);
	s.depth = BPF_CORE_READ(sk, sk_ack_backlog);
	s.backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	s.syn_queue = syn_queue_len(sk);
	s.drops = BPF_CORE_READ(sk, sk_drops.counter);
	s.uid = BPF_CORE_READ(sk, sk_uid.val);
	if (bpf_map_update_elem(&samples, key, &s, BPF_ANY))
		count_lost(LOST_LISTENERS_UNWATCHED);
	return 0;
}

/*
 * Run by user space (BPF_PROG_TEST_RUN) each interval: reads every watched
 * listener's queue without its lock, in any network namespace.
 */
SEC("raw_tp")
int sample_listeners(void *ctx)
{
	bpf_for_each_map_elem(&watched, sample_one, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
