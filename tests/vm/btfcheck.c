// SPDX-License-Identifier: GPL-2.0
// btfcheck: a tiny static libbpf program for the VM test (tests/vm).  It loads no BPF program of
// ours; it proves the guest runs a statically linked libbpf binary, that libbpf parses the
// kernel's /sys/kernel/btf/vmlinux, and that the types and fields the tracer relocates against
// (CO-RE) exist there.  Also prints what libbpf's feature probes say about the kernel.
//
//   btfcheck [BTF_FILE]     (default /sys/kernel/btf/vmlinux)
// Prints "fact: value" lines; exits 0 when the BTF parses and the required members exist.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

// member_exists: does struct NAME have a member called MEMBER (directly or in an anonymous
// struct/union inside it)?  Returns 1, 0, or -1 when there is no such struct.
static int member_in(const struct btf *btf, const struct btf_type *t, const char *member)
{
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		if (name && strcmp(name, member) == 0)
			return 1;
		if (!name || !*name) {
			const struct btf_type *mt = btf__type_by_id(btf, m->type);
			while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
				mt = btf__type_by_id(btf, mt->type);
			if (mt && btf_is_composite(mt) && member_in(btf, mt, member))
				return 1;
		}
	}
	return 0;
}

static int member_exists(const struct btf *btf, const char *sname, const char *member)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	if (id < 0)
		return -1;
	return member_in(btf, btf__type_by_id(btf, id), member);
}

static const char *yes(int ok)
{
	return ok ? "yes" : "NO";
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/kernel/btf/vmlinux";
	static const struct {
		const char *sname, *member;
	} required[] = {
		{ "sock", "sk_ack_backlog" },
		{ "sock", "sk_max_ack_backlog" },
		{ "inet_connection_sock", "icsk_accept_queue" },
		{ "request_sock_queue", "qlen" },
		{ "sock_common", "skc_num" },
	};
	static const char *funcs[] = { "inet_csk_accept", "tcp_v4_syn_recv_sock", "tcp_conn_request" };
	static const struct {
		const char *name;
		enum bpf_prog_type type;
	} progs[] = {
		{ "kprobe", BPF_PROG_TYPE_KPROBE },
		{ "tracepoint", BPF_PROG_TYPE_TRACEPOINT },
		{ "raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT },
		{ "tracing(fentry/fexit)", BPF_PROG_TYPE_TRACING },
	};
	static const struct {
		const char *name;
		enum bpf_map_type type;
	} maps[] = {
		{ "ringbuf", BPF_MAP_TYPE_RINGBUF },
		{ "hash", BPF_MAP_TYPE_HASH },
		{ "percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY },
	};
	struct utsname u;
	int bad = 0;

	libbpf_set_print(libbpf_log);
	if (uname(&u) == 0)
		printf("running on: %s %s %s\n", u.sysname, u.release, u.machine);
	printf("libbpf (static): %s\n", libbpf_version_string());

	struct btf *btf = btf__parse(path, NULL);
	if (!btf) {
		fprintf(stderr, "btfcheck: cannot parse %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("btf %s: %u types\n", path, btf__type_cnt(btf));

	char line[512];
	size_t n = 0;
	line[0] = 0;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		int r = member_exists(btf, required[i].sname, required[i].member);
		n += snprintf(line + n, sizeof(line) - n, "%s%s.%s %s", i ? ", " : "", required[i].sname,
			      required[i].member, r > 0 ? "yes" : r == 0 ? "NO" : "NO(struct missing)");
		if (r <= 0)
			bad = 1;
	}
	printf("btf members: %s\n", line);

	n = 0;
	line[0] = 0;
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%s %s", i ? ", " : "", funcs[i],
			      yes(btf__find_by_name_kind(btf, funcs[i], BTF_KIND_FUNC) >= 0));
	printf("btf FUNC: %s\n", line);
	btf__free(btf);

	n = 0;
	line[0] = 0;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		int r = libbpf_probe_bpf_prog_type(progs[i].type, NULL);
		n += snprintf(line + n, sizeof(line) - n, "%s%s %s", i ? ", " : "", progs[i].name,
			      r > 0 ? "yes" : r == 0 ? "NO" : "error");
	}
	printf("libbpf probe prog types: %s\n", line);

	n = 0;
	line[0] = 0;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int r = libbpf_probe_bpf_map_type(maps[i].type, NULL);
		n += snprintf(line + n, sizeof(line) - n, "%s%s %s", i ? ", " : "", maps[i].name,
			      r > 0 ? "yes" : r == 0 ? "NO" : "error");
	}
	printf("libbpf probe map types: %s\n", line);

	if (bad)
		fprintf(stderr, "btfcheck: members the tracer needs are missing from %s\n", path);
	return bad;
}
