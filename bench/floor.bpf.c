// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of bench/cost.sh: empty programs on every hook acceptscope can use,
 * each named like the acceptscope program it stands for, so the bench can attach
 * the same set as a tracer run (by name) or the fixed set of issue 11 (the
 * accept/accept4 syscall enter and exit, sk_data_ready, sock_recv_length,
 * inet_sock_set_state, kfree_skb).  What a program costs beyond its floor is
 * what acceptscope's own work costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EMPTY(sec, name) SEC(sec) int name(void *ctx) { return 0; }

/* Syscall tracepoints (the tracepoint backend's accept hook; enters: the floor). */
EMPTY("tracepoint/syscalls/sys_enter_accept", tp_enter_accept)
EMPTY("tracepoint/syscalls/sys_exit_accept", tp_exit_accept)
EMPTY("tracepoint/syscalls/sys_enter_accept4", tp_enter_accept4)
EMPTY("tracepoint/syscalls/sys_exit_accept4", tp_exit_accept4)

/* BTF tracepoints (6.3+ for sk_data_ready and sock_recv_length). */
EMPTY("tp_btf/sk_data_ready", tp_sk_data_ready)
EMPTY("tp_btf/sock_recv_length", tp_sock_recv_length)
EMPTY("tp_btf/inet_sock_set_state", tp_inet_sock_set_state)
EMPTY("tp_btf/kfree_skb", tp_kfree_skb)

/* Trampolines (the fentry backend). */
EMPTY("fexit/inet_csk_accept", fexit_inet_csk_accept)
EMPTY("fexit/tcp_v4_syn_recv_sock", fexit_tcp_v4_syn_recv_sock)
EMPTY("fexit/tcp_v6_syn_recv_sock", fexit_tcp_v6_syn_recv_sock)
EMPTY("fentry/tcp_v4_syn_recv_sock", fentry_tcp_v4_syn_recv_sock)
EMPTY("fentry/tcp_v6_syn_recv_sock", fentry_tcp_v6_syn_recv_sock)
EMPTY("fentry/tcp_conn_request", fentry_tcp_conn_request)
EMPTY("fexit/tcp_recvmsg", fexit_tcp_recvmsg)

/* Probes (the kprobe backend). */
EMPTY("kprobe/inet_csk_accept", kprobe_inet_csk_accept)
EMPTY("kretprobe/inet_csk_accept", kretprobe_inet_csk_accept)
EMPTY("kprobe/tcp_v4_syn_recv_sock", kprobe_tcp_v4_syn_recv_sock)
EMPTY("kretprobe/tcp_v4_syn_recv_sock", kretprobe_tcp_v4_syn_recv_sock)
EMPTY("kprobe/tcp_v6_syn_recv_sock", kprobe_tcp_v6_syn_recv_sock)
EMPTY("kretprobe/tcp_v6_syn_recv_sock", kretprobe_tcp_v6_syn_recv_sock)
EMPTY("kprobe/tcp_conn_request", kprobe_tcp_conn_request)
EMPTY("kprobe/tcp_recvmsg", kprobe_tcp_recvmsg)
EMPTY("kretprobe/tcp_recvmsg", kretprobe_tcp_recvmsg)

char LICENSE[] SEC("license") = "GPL";
