// SPDX-License-Identifier: GPL-2.0
/*
 * Which mechanism serves each hook on the running kernel.  Stock kernels
 * allow fentry/fexit and kprobes; some (lockdown, CONFIG_KPROBES=n) allow
 * only tracepoints, which in turn appeared late (sk_data_ready and
 * sock_recv_length in 6.3).  So each hook is probed on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "acceptscope.skel.h"
#include "backend.h"

/*
 * Exists, as this process sees it: access() would check with the real uid and no
 * capabilities, so a non-root tracer holding CAP_DAC_READ_SEARCH (the systemd
 * unit) would find tracefs (mode 0700) empty.
 */
static bool path_exists(const char *path)
{
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

static const char *tracefs_dir(void)
{
	static const char *dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[128];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (path_exists(path))
			return dirs[i];
	}
	/* Not mounted: mount it where it belongs, as bpftrace and perf do. */
	if (mount("tracefs", dirs[0], "tracefs", 0, NULL) == 0)
		return dirs[0];
	return NULL;
}

static bool tracefs_has(const char *rel)
{
	const char *dir = tracefs_dir();
	char path[256];

	if (!dir)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return path_exists(path);
}

/* kprobes need CONFIG_KPROBES (kprobe_events) and a traceable, non-inlined function. */
static bool kprobe_exists(const char *func)
{
	const char *dir = tracefs_dir();
	char path[256], line[256];
	bool found = false;
	size_t n = strlen(func);
	FILE *f;

	if (!dir || !tracefs_has("kprobe_events"))
		return false;
	snprintf(path, sizeof(path), "%s/available_filter_functions", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, func, n) == 0 && (line[n] == '\n' || line[n] == ' ');
	fclose(f);
	return found;
}

/* Load a two-instruction fentry/fexit program on @func and attach it: only that says yes. */
static bool trampoline_can_attach(const struct btf *vmlinux, const char *func,
				  enum bpf_attach_type type)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	int id, prog_fd, link_fd;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	opts.attach_btf_id = id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "probe", "GPL", insns, 2, &opts);
	if (prog_fd < 0)
		return false;
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return link_fd >= 0;
}

/* tp_btf programs attach to the btf_trace_<name> typedef; it exists iff the tracepoint does. */
static int tp_btf_params(const struct btf *vmlinux, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!vmlinux)
		return -1;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));	/* pointer */
	t = t ? btf__type_by_id(vmlinux, t->type) : NULL;		/* func proto */
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

/* [start, end) of each of @names in /proc/kallsyms; end = the next symbol's address. */
static bool kallsyms_ranges(const char *const *names, int n, __u64 (*out)[2])
{
	char line[512], sym[256], type;
	unsigned long long addr;
	int want = -1, found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	memset(out, 0, n * sizeof(*out));
	/* kallsyms lists the kernel's own text in address order. */
	while (fgets(line, sizeof(line), f) && found < n) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3 || strchr(line, '['))
			continue;
		if (want >= 0 && addr > out[want][0]) {
			out[want][1] = addr;
			want = -1;
			found++;
		}
		for (int i = 0; i < n; i++)
			if (!out[i][0] && strcmp(sym, names[i]) == 0 && addr)
				want = i, out[i][0] = addr;
	}
	fclose(f);
	for (int i = 0; i < n; i++)
		if (!out[i][0] || out[i][1] <= out[i][0])
			out[i][0] = out[i][1] = 0;
	return out[0][0] != 0;
}

void probe_kernel(struct kernel_features *kf)
{
	static const char *const rcv[] = { "tcp_v4_rcv", "tcp_v6_rcv" };

	struct btf *vmlinux = btf__load_vmlinux_btf();

	if (libbpf_get_error(vmlinux))
		vmlinux = NULL;
	memset(kf, 0, sizeof(*kf));
	kf->fexit_accept = trampoline_can_attach(vmlinux, "inet_csk_accept", BPF_TRACE_FEXIT);
	kf->fexit_syn_recv4 = trampoline_can_attach(vmlinux, "tcp_v4_syn_recv_sock", BPF_TRACE_FEXIT);
	kf->fexit_syn_recv6 = trampoline_can_attach(vmlinux, "tcp_v6_syn_recv_sock", BPF_TRACE_FEXIT);
	kf->fexit_recvmsg = trampoline_can_attach(vmlinux, "tcp_recvmsg", BPF_TRACE_FEXIT);
	kf->fentry_conn_request = trampoline_can_attach(vmlinux, "tcp_conn_request", BPF_TRACE_FENTRY);
	kf->fentry_syn_recv4 = trampoline_can_attach(vmlinux, "tcp_v4_syn_recv_sock", BPF_TRACE_FENTRY);
	kf->fentry_syn_recv6 = trampoline_can_attach(vmlinux, "tcp_v6_syn_recv_sock", BPF_TRACE_FENTRY);
	kf->kprobe_accept = kprobe_exists("inet_csk_accept");
	kf->kprobe_syn_recv4 = kprobe_exists("tcp_v4_syn_recv_sock");
	kf->kprobe_syn_recv6 = kprobe_exists("tcp_v6_syn_recv_sock");
	kf->kprobe_recvmsg = kprobe_exists("tcp_recvmsg");
	kf->kprobe_conn_request = kprobe_exists("tcp_conn_request");
	kf->tp_sk_data_ready = tp_btf_params(vmlinux, "sk_data_ready") > 0;
	kf->tp_sock_recv_length = tp_btf_params(vmlinux, "sock_recv_length") > 0;
	kf->tp_inet_sock_set_state = tp_btf_params(vmlinux, "inet_sock_set_state") > 0;
	/* void *, skb, location, reason, rx_sk; and where tcp_v{4,6}_rcv lie, to tell its discards. */
	kf->tp_kfree_skb_rx_sk = tp_btf_params(vmlinux, "kfree_skb") >= 5 &&
				 kallsyms_ranges(rcv, 2, kf->rcv_text);
	kf->tp_syscalls_accept = tracefs_has("events/syscalls/sys_exit_accept4") &&
				 tracefs_has("events/syscalls/sys_exit_accept");
	kf->tp_syscalls_listen = tracefs_has("events/syscalls/sys_enter_listen");
	btf__free(vmlinux);
}

int parse_backend(const char *s, enum backend_choice *out)
{
	static const char *names[] = { "auto", "fentry", "kprobe", "tracepoint" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The one table of which mechanism serves which hook: what it attaches to (as
 * stderr and the README say it), the kernel features it needs (all of them),
 * and the BPF programs it loads, each maybe needing one feature more.  The
 * plan, the autoload switches and the stderr lines all come from here.
 */
#define FEATURE(name) (offsetof(struct kernel_features, name) + 1)	/* 0: none */

struct hook_prog {
	const char *name;	/* BPF program (function) name */
	size_t feature;		/* FEATURE(x): loaded only if the kernel has x too; 0: always */
};

#define PROG(name) { name, 0 }
#define PROG_IF(name, feature) { name, FEATURE(feature) }

struct hook_impl {
	enum hook_id hook;
	enum mechanism mech;
	const char *target;
	size_t needs[2];
	struct hook_prog progs[4];
};

static const struct hook_impl hook_impls[] = {
	{ HOOK_ACCEPT, MECH_FENTRY, "fexit inet_csk_accept", { FEATURE(fexit_accept) },
	  { PROG("fexit_inet_csk_accept") } },
	{ HOOK_ACCEPT, MECH_KPROBE, "kretprobe inet_csk_accept", { FEATURE(kprobe_accept) },
	  { PROG("kprobe_inet_csk_accept"), PROG("kretprobe_inet_csk_accept") } },
	{ HOOK_ACCEPT, MECH_TRACEPOINT, "tracepoints syscalls:sys_exit_accept{,4}", { FEATURE(tp_syscalls_accept) },
	  { PROG("tp_exit_accept"), PROG("tp_exit_accept4") } },
	{ HOOK_ENQUEUE, MECH_FENTRY, "fexit tcp_v{4,6}_syn_recv_sock", { FEATURE(fexit_syn_recv4) },
	  { PROG("fexit_tcp_v4_syn_recv_sock"), PROG_IF("fexit_tcp_v6_syn_recv_sock", fexit_syn_recv6) } },
	{ HOOK_ENQUEUE, MECH_KPROBE, "kretprobe tcp_v{4,6}_syn_recv_sock", { FEATURE(kprobe_syn_recv4) },
	  { PROG("kprobe_tcp_v4_syn_recv_sock"), PROG("kretprobe_tcp_v4_syn_recv_sock"),
	    PROG_IF("kprobe_tcp_v6_syn_recv_sock", kprobe_syn_recv6),
	    PROG_IF("kretprobe_tcp_v6_syn_recv_sock", kprobe_syn_recv6) } },
	{ HOOK_ENQUEUE, MECH_TRACEPOINT, "tp_btf sock:sk_data_ready", { FEATURE(tp_sk_data_ready) },
	  { PROG("tp_sk_data_ready") } },
	{ HOOK_READ, MECH_FENTRY, "fexit tcp_recvmsg", { FEATURE(fexit_recvmsg) }, { PROG("fexit_tcp_recvmsg") } },
	{ HOOK_READ, MECH_KPROBE, "kretprobe tcp_recvmsg", { FEATURE(kprobe_recvmsg) },
	  { PROG("kprobe_tcp_recvmsg"), PROG("kretprobe_tcp_recvmsg") } },
	{ HOOK_READ, MECH_TRACEPOINT, "tp_btf sock:sock_recv_length", { FEATURE(tp_sock_recv_length) },
	  { PROG("tp_sock_recv_length") } },
	/* SYN drops at tcp_conn_request, handshake drops at syn_recv_sock's entry. */
	{ HOOK_OVERFLOW, MECH_FENTRY, "fentry tcp_conn_request + tcp_v{4,6}_syn_recv_sock",
	  { FEATURE(fentry_conn_request), FEATURE(fentry_syn_recv4) },
	  { PROG("fentry_tcp_conn_request"), PROG("fentry_tcp_v4_syn_recv_sock"),
	    PROG_IF("fentry_tcp_v6_syn_recv_sock", fentry_syn_recv6) } },
	/* The entry kprobe on syn_recv_sock is shared with the enqueue hook (syn_recv_kprobe_*). */
	{ HOOK_OVERFLOW, MECH_KPROBE, "kprobe tcp_conn_request + tcp_v{4,6}_syn_recv_sock",
	  { FEATURE(kprobe_conn_request), FEATURE(kprobe_syn_recv4) },
	  { PROG("kprobe_tcp_conn_request"), PROG("kprobe_tcp_v4_syn_recv_sock"),
	    PROG_IF("kprobe_tcp_v6_syn_recv_sock", kprobe_syn_recv6) } },
	{ HOOK_OVERFLOW, MECH_TRACEPOINT, "tp_btf skb:kfree_skb + the listener's sk_drops",
	  { FEATURE(tp_kfree_skb_rx_sk) }, { PROG("tp_kfree_skb") } },
	{ HOOK_STATE, MECH_TRACEPOINT, "tp_btf sock:inet_sock_set_state", { FEATURE(tp_inet_sock_set_state) },
	  { PROG("tp_inet_sock_set_state") } },
};

static bool has_feature(const struct kernel_features *kf, size_t feature)
{
	return !feature || *(const bool *)((const char *)kf + feature - 1);
}

static const struct hook_impl *hook_impl(enum hook_id hook, enum mechanism m)
{
	for (size_t i = 0; i < sizeof(hook_impls) / sizeof(hook_impls[0]); i++)
		if (hook_impls[i].hook == hook && hook_impls[i].mech == m)
			return &hook_impls[i];
	return NULL;
}

/* Whether mechanism @m can serve @hook on this kernel. */
static bool can_serve(const struct kernel_features *kf, enum hook_id hook, enum mechanism m)
{
	const struct hook_impl *impl = hook_impl(hook, m);

	return impl && has_feature(kf, impl->needs[0]) && has_feature(kf, impl->needs[1]);
}

void plan_hooks(const struct kernel_features *kf, enum backend_choice choice, struct hook_plan *plan)
{
	static const enum mechanism order[] = { MECH_FENTRY, MECH_KPROBE, MECH_TRACEPOINT };
	static const enum mechanism forced[] = {
		[BACKEND_FENTRY] = MECH_FENTRY,
		[BACKEND_KPROBE] = MECH_KPROBE,
		[BACKEND_TRACEPOINT] = MECH_TRACEPOINT,
	};

	memset(plan, 0, sizeof(*plan));
	for (int h = 0; h < NR_HOOKS; h++) {
		if (h == HOOK_STATE) {	/* bookkeeping: tracepoint whatever the backend */
			plan->mech[h] = can_serve(kf, h, MECH_TRACEPOINT) ? MECH_TRACEPOINT : MECH_NONE;
			continue;
		}
		if (choice != BACKEND_AUTO) {
			if (can_serve(kf, h, forced[choice]))
				plan->mech[h] = forced[choice];
			continue;
		}
		for (size_t i = 0; i < 3 && !plan->mech[h]; i++)
			if (can_serve(kf, h, order[i]))
				plan->mech[h] = order[i];
	}
}

static void enable(struct acceptscope_bpf *skel, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(skel->obj, name);

	if (prog)
		bpf_program__set_autoload(prog, true);
	else	/* the table names a program the BPF object lacks: a bug, say so */
		fprintf(stderr, "acceptscope: internal error: no BPF program %s\n", name);
}

void apply_plan(struct acceptscope_bpf *skel, const struct kernel_features *kf,
		const struct hook_plan *plan)
{
	struct bpf_program *prog;
	enum mechanism accept = plan->mech[HOOK_ACCEPT];

	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int h = 0; h < NR_HOOKS; h++) {
		const struct hook_impl *impl = hook_impl(h, plan->mech[h]);

		for (int i = 0; impl && i < 4 && impl->progs[i].name; i++)
			if (has_feature(kf, impl->progs[i].feature))
				enable(skel, impl->progs[i].name);
	}
	/* Listeners: found by iter/tcp at start and by listen(), sampled by a test-run program. */
	enable(skel, "iter_listeners");
	enable(skel, "sample_listeners");
	bpf_program__set_autoattach(skel->progs.sample_listeners, false);
	if (kf->tp_syscalls_listen) {
		enable(skel, "tp_enter_listen");
		enable(skel, "tp_exit_listen");
	}
	skel->rodata->pair_established = plan->mech[HOOK_ENQUEUE] == MECH_TRACEPOINT;
	/* One kprobe at syn_recv_sock's entry serves both hooks that want it. */
	skel->rodata->syn_recv_kprobe_enqueue = plan->mech[HOOK_ENQUEUE] == MECH_KPROBE;
	skel->rodata->syn_recv_kprobe_overflow = plan->mech[HOOK_OVERFLOW] == MECH_KPROBE;
	/* With fentry/kprobe accepts, the syscall exit catches up on calls under way at attach. */
	skel->rodata->accept_catchup = (accept == MECH_FENTRY || accept == MECH_KPROBE) && kf->tp_syscalls_accept;
	if (skel->rodata->accept_catchup) {
		enable(skel, "tp_exit_accept");
		enable(skel, "tp_exit_accept4");
		bpf_program__set_autoattach(skel->progs.tp_exit_accept, false);
		bpf_program__set_autoattach(skel->progs.tp_exit_accept4, false);
	}
}

const char *mechanism_name(enum mechanism m)
{
	switch (m) {
	case MECH_FENTRY: return "fentry";
	case MECH_KPROBE: return "kprobe";
	case MECH_TRACEPOINT: return "tracepoint";
	default: return "none";
	}
}

bool syn_traced(const struct hook_plan *plan)
{
	return plan->mech[HOOK_OVERFLOW] == MECH_FENTRY || plan->mech[HOOK_OVERFLOW] == MECH_KPROBE;
}

const char *hook_name(enum hook_id h)
{
	static const char *names[NR_HOOKS] = {
		[HOOK_ACCEPT] = "accept",
		[HOOK_ENQUEUE] = "enqueue",
		[HOOK_READ] = "read",
		[HOOK_STATE] = "state",
		[HOOK_OVERFLOW] = "overflow",
	};
	return h < NR_HOOKS ? names[h] : "?";
}

static const char *hook_target(enum hook_id h, enum mechanism m)
{
	const struct hook_impl *impl = hook_impl(h, m);

	return impl ? impl->target : "?";
}

static const char *missing_metrics(enum hook_id h)
{
	static const char *missing[NR_HOOKS] = {
		[HOOK_ACCEPT] = "accepts, empty accepts, accept-queue wait, reads (all per thread)",
		[HOOK_ENQUEUE] = "queued, accept-queue depth histogram and maximum, accept-queue wait",
		[HOOK_READ] = "reads and read bytes per thread",
		[HOOK_STATE] = "none: closed connections are not forgotten, so the connection map fills (counted in lost)",
		[HOOK_OVERFLOW] = "overflows",
	};
	return missing[h];
}

void describe_plan(FILE *f, const struct hook_plan *plan)
{
	bool softirq_kprobe = plan->mech[HOOK_ENQUEUE] == MECH_KPROBE || plan->mech[HOOK_OVERFLOW] == MECH_KPROBE;

	for (int h = 0; h < NR_HOOKS; h++) {
		if (plan->mech[h])
			fprintf(f, "acceptscope: hook %-8s %-10s %s\n", hook_name(h),
				mechanism_name(plan->mech[h]), hook_target(h, plan->mech[h]));
		else
			fprintf(f, "acceptscope: hook %-8s none       missing: %s\n", hook_name(h),
				missing_metrics(h));
	}
	/*
	 * kprobe and syscall-tracepoint programs, and BPF map syscalls (bpf_disable_instrumentation),
	 * share one per-CPU "a program is running" flag (bpf_prog_active): a softirq that hits a
	 * kprobe meanwhile is skipped.  fentry and tp_btf programs guard only against themselves.
	 */
	if (softirq_kprobe)
		fprintf(f, "acceptscope: note: kprobe programs do not nest on a CPU: a handshake or SYN handled "
			   "in a softirq while a kprobe or syscall-tracepoint program or a BPF map syscall (this "
			   "tool's reads included) runs there is skipped (counted as missed_runs on 6.7+), so "
			   "queued and overflows may be low\n");
}
