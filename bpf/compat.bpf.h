/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version shims, each naming the change it bridges.  (The kfree_skb
 * tracepoint's rx_sk argument, 6.11, and the sk_data_ready and sock_recv_length
 * tracepoints, 6.3, are probed by user space in the kernel's BTF instead:
 * user/backend.c.)
 */
#ifndef ACCEPTSCOPE_COMPAT_BPF_H
#define ACCEPTSCOPE_COMPAT_BPF_H

/*
 * 6.10 ("net: change proto and proto_ops accept type") replaced inet_csk_accept's
 * (flags, int *err, kern) with one struct proto_accept_arg *, its second argument.
 */
static __always_inline int accept_error(__u64 err_slot)
{
	int err = 0;

	if (bpf_core_type_exists(struct proto_accept_arg))
		err = BPF_CORE_READ((struct proto_accept_arg *)err_slot, err);
	else
		bpf_probe_read_kernel(&err, sizeof(err), (void *)err_slot);
	return err;
}

static __always_inline __u32 accept_err_arg(void)
{
	return bpf_core_type_exists(struct proto_accept_arg) ? 1 : 2;
}

#endif
