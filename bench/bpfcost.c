// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcost: the two things bench/cost.sh needs from the kernel, where bpftool is
 * too old (no autoattach) or absent (the stock-kernel VM's initramfs).
 *
 *   bpfcost attach OBJ [PROG...]   load OBJ's programs named PROG (all if none),
 *                                  attach them, print "attached N", wait for
 *                                  SIGINT/SIGTERM, detach
 *   bpfcost list OBJ               the names of OBJ's programs, one a line
 *   bpfcost stats                  one line per loaded program:
 *                                  "ID NAME RUN_CNT RUN_TIME_NS"
 *                                  (with kernel.bpf_stats_enabled=1)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAX_LINKS 64

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static bool named(const char *name, char **names, int n)
{
	if (!n)
		return true;
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Syscall tracepoints are found in tracefs: mount it where it belongs if nothing has. */
static void mount_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) && access("/sys/kernel/debug/tracing/events", F_OK))
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

static int attach(const char *path, char **names, int n)
{
	struct bpf_link *links[MAX_LINKS];
	struct bpf_object *obj;
	struct bpf_program *prog;
	int nr_links = 0, wanted = 0, err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "bpfcost: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	bpf_object__for_each_program(prog, obj) {
		bool on = named(bpf_program__name(prog), names, n);

		bpf_program__set_autoload(prog, on);
		wanted += on;
	}
	if (wanted != (n ? n : wanted) || !wanted) {
		fprintf(stderr, "bpfcost: %s has %d of the %d programs asked for\n", path, wanted, n);
		bpf_object__close(obj);
		return 2;
	}
	mount_tracefs();
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "bpfcost: loading %s failed: %s\n", path, strerror(-err));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (nr_links == MAX_LINKS || !(links[nr_links] = bpf_program__attach(prog))) {
			err = -errno;
			fprintf(stderr, "bpfcost: attaching %s failed: %s\n", bpf_program__name(prog), strerror(errno));
			goto cleanup;
		}
		nr_links++;
	}
	printf("attached %d\n", nr_links);
	fflush(stdout);
	while (!exiting)
		pause();
cleanup:
	while (nr_links)
		bpf_link__destroy(links[--nr_links]);
	bpf_object__close(obj);
	return err ? 1 : 0;
}

static int list(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;

	if (!obj) {
		fprintf(stderr, "bpfcost: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	bpf_object__for_each_program(prog, obj)
		printf("%s\n", bpf_program__name(prog));
	bpf_object__close(obj);
	return 0;
}

/* The program's full name from its BTF (the kernel keeps 15 characters of it). */
static void full_name(const struct bpf_prog_info *info, __u32 fd, char *buf, size_t len)
{
	struct bpf_func_info finfo = {};
	struct bpf_prog_info again = {
		.nr_func_info = 1, .func_info_rec_size = sizeof(finfo), .func_info = (__u64)(unsigned long)&finfo,
	};
	__u32 size = sizeof(again);
	const struct btf_type *t;
	struct btf *btf;

	snprintf(buf, len, "%s", info->name);
	if (!info->btf_id || !info->nr_func_info || bpf_obj_get_info_by_fd(fd, &again, &size))
		return;
	btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!btf)
		return;
	t = btf__type_by_id(btf, finfo.type_id);
	if (t)
		snprintf(buf, len, "%s", btf__name_by_offset(btf, t->name_off));
	btf__free(btf);
}

static int stats(void)
{
	__u32 id = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 size = sizeof(info);
		char name[128];
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &size)) {
			full_name(&info, fd, name, sizeof(name));
			printf("%u %s %llu %llu\n", id, name, (unsigned long long)info.run_cnt,
			       (unsigned long long)info.run_time_ns);
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(print_quiet);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (argc >= 3 && !strcmp(argv[1], "attach"))
		return attach(argv[2], argv + 3, argc - 3);
	if (argc == 3 && !strcmp(argv[1], "list"))
		return list(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "stats"))
		return stats();
	fprintf(stderr, "bpfcost: usage: bpfcost attach OBJ [PROG...] | list OBJ | stats\n");
	return 2;
}
