/* SPDX-License-Identifier: GPL-2.0 */
/* Reading sockets: plain CO-RE reads of struct sock and the task's fd table. */
#ifndef ACCEPTSCOPE_SOCK_BPF_H
#define ACCEPTSCOPE_SOCK_BPF_H

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define EAGAIN 11
#define TCP_ESTABLISHED 1
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MSG_PEEK 2

static __always_inline __u32 sk_port(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline bool is_tcp_listener(const struct sock *sk)
{
	return sk && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN;
}

static __always_inline __u32 syn_queue_len(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;

	return BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
}

static __always_inline __u64 sk_inode(const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	struct socket_alloc *sa;

	if (!sock)
		return 0;
	sa = container_of(sock, struct socket_alloc, socket);
	return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

/*
 * listener_id() through plain BTF loads, for programs handed a trusted socket
 * (tp_btf): the inode of the socket's file is SOCK_INODE(sock) (sock_alloc_file()).
 * A socket without a file (a kernel socket) takes the probe-read path.
 */
static __always_inline __u64 listener_id_btf(const struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct file *file;

	if (!sock)
		return 0;
	file = sock->file;
	return file ? file->f_inode->i_ino : sk_inode(sk);
}

static __always_inline void fill_identity(const struct sock *sk, __u64 *netns, __u64 *inode,
					  __u32 *family, __u32 *port, __u8 addr[16])
{
	*netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	*inode = sk_inode(sk);
	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	*port = sk_port(sk);
	if (*family == AF_INET6)
		bpf_core_read(addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		bpf_core_read(addr, 4, &sk->__sk_common.skc_rcv_saddr);
}

/* See listener_id_t.  0 when the listener has no socket (being torn down). */
static __always_inline listener_id_t listener_id(const struct sock *sk)
{
	return sk_inode(sk);
}

static __always_inline bool accept_queue_full(const struct sock *listener)
{
	return BPF_CORE_READ(listener, sk_ack_backlog) > BPF_CORE_READ(listener, sk_max_ack_backlog);
}

/* The TCP socket behind file descriptor @fd of the current task, or NULL. */
static __always_inline struct sock *tcp_sock_of_fd(long fd)
{
	/* Loads through the task's BTF pointer are plain loads, not helper calls. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct sock *sk;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return NULL;
	return sk;
}

/*
 * The socket behind @fd, an fd that accept() just returned (no type checks: its
 * record in conns, looked up with it, is the check).
 */
static __always_inline struct sock *sock_of_fd(long fd)
{
	struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
	struct file **fds, *file = NULL;
	struct socket *sock;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

static __always_inline const struct sock *listener_of_fd(long fd)
{
	const struct sock *sk = tcp_sock_of_fd(fd);

	return is_tcp_listener(sk) ? sk : NULL;
}

#endif
