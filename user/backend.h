/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_BACKEND_H
#define ACCEPTSCOPE_BACKEND_H

#include <stdbool.h>
#include <stdio.h>
#include "acceptscope.h"

enum mechanism {
	MECH_NONE,
	MECH_FENTRY,	/* fentry/fexit (BPF trampoline) */
	MECH_KPROBE,	/* kprobe/kretprobe */
	MECH_TRACEPOINT,	/* tracepoints: tp_btf, syscall tracepoints */
};

enum backend_choice {
	BACKEND_AUTO,
	BACKEND_FENTRY,
	BACKEND_KPROBE,
	BACKEND_TRACEPOINT,
};

struct acceptscope_bpf;

/* What the running kernel offers, probed once. */
struct kernel_features {
	bool fexit_accept, fexit_syn_recv4, fexit_syn_recv6, fexit_recvmsg, fentry_conn_request;
	bool fentry_syn_recv4, fentry_syn_recv6;
	bool kprobe_accept, kprobe_syn_recv4, kprobe_syn_recv6, kprobe_recvmsg, kprobe_conn_request;
	bool tp_sk_data_ready, tp_sock_recv_length, tp_inet_sock_set_state;
	bool tp_kfree_skb_rx_sk;	/* kfree_skb tracepoint with its rx_sk argument (6.11+) */
	bool tp_syscalls_accept;
	bool tp_syscalls_listen;
	__u64 rcv_text[2][2];		/* tcp_v4_rcv, tcp_v6_rcv: [start, end) from /proc/kallsyms */
};

struct hook_plan {
	enum mechanism mech[NR_HOOKS];
};

void probe_kernel(struct kernel_features *kf);
int parse_backend(const char *s, enum backend_choice *out);
void plan_hooks(const struct kernel_features *kf, enum backend_choice choice,
		struct hook_plan *plan);
/* Enable exactly the programs the plan needs (before load). */
void apply_plan(struct acceptscope_bpf *skel, const struct kernel_features *kf,
		const struct hook_plan *plan);
/* One line per hook on @f: which mechanism serves it, or which metrics are missing. */
void describe_plan(FILE *f, const struct hook_plan *plan);
const char *mechanism_name(enum mechanism m);
/* Does --trace see SYN arrivals?  They come from the overflow hook's tcp_conn_request program. */
bool syn_traced(const struct hook_plan *plan);
const char *hook_name(enum hook_id h);

#endif
