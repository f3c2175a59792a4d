// SPDX-License-Identifier: GPL-2.0
/* A tracing session: plan, open, size, load, attach, find listeners (see session.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "acceptscope.skel.h"
#include "preblocked.h"
#include "privilege.h"
#include "session.h"

static void set_filters(struct acceptscope_bpf *skel, const struct kernel_features *kf,
			const struct session_opts *o)
{
	memcpy((void *)skel->rodata->rcv_text, kf->rcv_text, sizeof(kf->rcv_text));
	for (int i = 0; i < o->nr_ports; i++)
		skel->rodata->filter_ports[i] = o->ports[i];
	skel->rodata->nr_filter_ports = o->nr_ports;
	for (int i = 0; i < o->nr_pids; i++)
		skel->rodata->filter_pids[i] = o->pids[i];
	skel->rodata->nr_filter_pids = o->nr_pids;
	skel->rodata->trace_events = o->trace;
}

/*
 * One pass of iter/tcp over this namespace's sockets marks every listener there for
 * sampling.  Only at start: the pass locks each socket it visits.
 */
static int find_listeners(struct acceptscope_bpf *skel)
{
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(skel->links.iter_listeners));
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	bpf_link__destroy(skel->links.iter_listeners);
	skel->links.iter_listeners = NULL;
	return n < 0 ? -errno : 0;
}

/* A figure read from a /proc file: the first number after @label, or 0. */
static long proc_number(const char *path, const char *label)
{
	char line[512], *p;
	long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, label)) && sscanf(p + strlen(label), "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Listening TCP sockets in this namespace now (state 0A in /proc/net/tcp{,6}). */
static long listeners_now(void)
{
	const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], state[8];
	long n = 0;

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %7s", state) == 1 && strcmp(state, "0A") == 0)
				n++;
		fclose(f);
	}
	return n;
}

/*
 * Capacities, from the host unless given: room for four times the TCP sockets
 * allocated now, and for four times its listeners.  Entries are allocated as
 * used, so a large capacity costs nothing until it is needed.
 */
static int size_maps(struct acceptscope_bpf *skel, const struct session_opts *o)
{
	long conns = o->max_conns, listeners = o->max_listeners;
	int err = 0;

	if (!conns) {
		conns = 4 * proc_number("/proc/net/sockstat", "alloc ");
		conns = conns < 262144 ? 262144 : conns > (1L << 26) ? 1L << 26 : conns;
	}
	if (!listeners) {
		listeners = 4 * listeners_now();
		listeners = listeners < 65536 ? 65536 : listeners > (1L << 22) ? 1L << 22 : listeners;
	}
	err = err ?: bpf_map__set_max_entries(skel->maps.conns, conns);
	err = err ?: bpf_map__set_max_entries(skel->maps.listener_stats, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.listener_info, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.watched, listeners);
	err = err ?: bpf_map__set_max_entries(skel->maps.samples, listeners);
	return err;
}

static const char *why_refused(int err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux); acceptscope needs CONFIG_DEBUG_INFO_BTF";
	if (geteuid() && (err == -EPERM || err == -EACCES))
		return "not permitted: run as root (or with CAP_BPF and CAP_PERFMON)";
	if (err == -EPERM)
		return "the kernel refused the BPF programs (lockdown, or unprivileged BPF disabled?)";
	if (err == -EACCES || err == -EINVAL)
		return "the verifier rejected a program (run with -v for its log)";
	return NULL;
}

const char *session_refusal(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return why_refused(0);
	if (!bpf_privileged())
		return NOT_PERMITTED;
	return NULL;
}

/* One line on stderr; the exit status to give. */
static int refuse(int status, const char *what, int err)
{
	const char *why = err ? why_refused(err) : NULL;

	fprintf(stderr, "acceptscope: %s%s%s\n", what, err ? ": " : "", why ? why : err ? strerror(-err) : "");
	return status;
}

static int plan(struct session *s, const struct session_opts *o)
{
	probe_kernel(&s->kf);
	plan_hooks(&s->kf, o->backend, &s->plan);
	if (o->plan_out)
		describe_plan(o->plan_out, &s->plan);
	if (s->plan.mech[HOOK_ACCEPT] || s->plan.mech[HOOK_ENQUEUE])
		return 0;
	fprintf(stderr, "acceptscope: no hook on the accept path can attach with backend %s: %s\n",
		o->backend == BACKEND_AUTO ? "auto" : mechanism_name((enum mechanism)o->backend),
		geteuid() ? why_refused(-EPERM)
			  : "this kernel refuses every mechanism asked for (fentry: trampolines refused or "
			    "missing; kprobe: CONFIG_KPROBES off or functions not traceable; tracepoint: "
			    "too old)");
	return 2;
}

int session_open(struct session *s, const struct session_opts *o)
{
	enum mechanism ovf;
	int err;

	memset(s, 0, sizeof(*s));
	if ((err = plan(s, o)))
		return err;
	s->skel = acceptscope_bpf__open();
	if (!s->skel)
		return refuse(2, "cannot open the BPF object", -errno);
	set_filters(s->skel, &s->kf, o);
	apply_plan(s->skel, &s->kf, &s->plan);
	if ((err = size_maps(s->skel, o)))
		goto fail2;
	if ((err = acceptscope_bpf__load(s->skel))) {
		err = refuse(2, "loading the BPF programs failed", err);
		goto out;
	}
	/* The catch-up before the function hooks, so that no accept falls between. */
	err = preblocked_attach(s->skel, &s->pre) ?: acceptscope_bpf__attach(s->skel);
	if (err) {
		err = refuse(2, "attaching the BPF programs failed", err);
		goto out;
	}
	preblocked_scan(s->pre);
	if ((err = find_listeners(s->skel))) {
		err = refuse(1, "cannot list the listening sockets", err);
		goto out;
	}
	ovf = s->plan.mech[HOOK_OVERFLOW];
	s->col = collector_new(s->skel, ovf != MECH_NONE, ovf == MECH_TRACEPOINT);
	if (!s->col) {
		err = refuse(1, "out of memory", 0);
		goto out;
	}
	return 0;
fail2:
	err = refuse(2, "cannot size the maps", err);
out:
	session_close(s);
	return err;
}

void session_tick(struct session *s)
{
	preblocked_poll(s->pre);
}

void session_close(struct session *s)
{
	collector_free(s->col);
	preblocked_free(s->pre);
	acceptscope_bpf__destroy(s->skel);
	s->col = NULL;
	s->pre = NULL;
	s->skel = NULL;
}
