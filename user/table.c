// SPDX-License-Identifier: GPL-2.0
/* The live table: a block per port, its listeners, then its threads. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "escape.h"
#include "report.h"
#include "stats.h"

static void print_wait(FILE *f, const struct listener_row *r)
{
	const struct listener_stats *s = &r->st;

	if (!s->wait_count) {
		fprintf(f, "  wait -");
		return;
	}
	fprintf(f, "  wait (%llu seen) p50 %.0fus p90 %.0fus p99 %.0fus max %.0fus", (unsigned long long)s->wait_count,
		wait_percentile(s->wait_hist, 50, s->wait_max_ns) / 1e3,
		wait_percentile(s->wait_hist, 90, s->wait_max_ns) / 1e3,
		wait_percentile(s->wait_hist, 99, s->wait_max_ns) / 1e3, s->wait_max_ns / 1e3);
}

static void print_listener(FILE *f, const struct listener_row *r, const struct report_opts *o)
{
	char addr[64];
	ESC_COMM(owner, r->owner_comm);

	fprintf(f, "%s:%u  inode %llu  pid %u %s  backlog %u%s\n", format_addr(&r->info, addr, sizeof(addr)),
		r->info.port, (unsigned long long)r->info.inode, r->owner_pid, owner, r->info.backlog,
		r->gone ? "  (closed)" : "");
	fprintf(f, "  queue %u (max %u)  syn %u (max %u)  queued %llu  accepted %llu  empty %llu  overflows ",
		r->depth_now, r->st.depth_max, r->syn_now, r->st.syn_max, (unsigned long long)r->st.queued,
		(unsigned long long)r->st.accepted, (unsigned long long)r->st.empty_accepts);
	if (r->overflows_known)
		fprintf(f, "%llu", (unsigned long long)r->overflows);
	else
		fprintf(f, "?");
	print_wait(f, r);
	fputc('\n', f);
	if (o->hist) {
		__u64 wait_us[32];

		print_log2_hist(f, r->st.depth_hist, DEPTH_SLOTS, "depth");
		wait_hist_to_log2_us(r->st.wait_hist, wait_us, 32);
		print_log2_hist(f, wait_us, 32, "wait usecs");
	}
}

/* A thread's CPU% over the report's span, or "-". */
static const char *cpu_cell(const struct report_opts *o, __u32 tid, char *buf, size_t len)
{
	double pct = report_thread_cpu(o, tid);

	if (pct < 0)
		return "-";
	snprintf(buf, len, "%.1f", pct);
	return buf;
}

static void print_threads(FILE *f, const struct thread_row *t, int n, const struct report_opts *o)
{
	struct fairness fr = fairness_of(t, n);
	char cpu[16];

	if (!n)
		return;
	fprintf(f, "  %-8s %-8s %-16s %9s %6s %-20s %7s %9s %11s %6s\n", "PID", "TID", "COMM", "ACCEPTS", "SHARE",
		"", "EMPTY", "READS", "BYTES", "CPU%");
	for (int i = 0; i < n; i++) {
		double share = fr.accepts ? (double)t[i].accepts / fr.accepts : 0;
		char bar[21];
		int len = (int)(share * 20 + 0.5);
		ESC_COMM(comm, t[i].comm);

		memset(bar, '#', len);
		memset(bar + len, ' ', 20 - len);
		bar[20] = 0;
		fprintf(f, "  %-8u %-8u %-16s %9llu %5.1f%% %s %7llu %9llu %11llu %6s\n", t[i].pid, t[i].tid, comm,
			(unsigned long long)t[i].accepts, share * 100, bar, (unsigned long long)t[i].empty_accepts,
			(unsigned long long)t[i].reads, (unsigned long long)t[i].read_bytes,
			cpu_cell(o, t[i].tid, cpu, sizeof(cpu)));
	}
	fprintf(f, "  jain accepts %.3f  reads %.3f  busiest thread %.1f%% of accepts\n", fr.jain_accepts,
		fr.jain_reads, fr.busiest_share * 100);
}

/* One line naming every loss counter that is not zero (see enum lost_kind). */
static void print_lost(FILE *f, const struct snapshot *snap)
{
	const char *sep = "lost (capacity reached, see --max-conns/--max-listeners): ";

	for (int i = 0; i < NR_LOST; i++) {
		if (!snap->lost[i])
			continue;
		fprintf(f, "%s%s %llu", sep, lost_name(i), (unsigned long long)snap->lost[i]);
		sep = ", ";
	}
	if (*sep == ',')
		fputc('\n', f);
}

void print_table(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs)
{
	char when[32];
	time_t now = time(NULL);
	int shown = 0, idle = 0;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (o->redraw)
		fputs("\033[H\033[2J", f);
	fprintf(f, "%s  last %.1fs", when, secs);
	if (snap->missed_runs)
		fprintf(f, "  %llu probe runs skipped by the kernel: counts may be low",
			(unsigned long long)snap->missed_runs);
	fputc('\n', f);
	print_lost(f, snap);
	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		bool last_of_port = i + 1 == snap->nr_rows || snap->rows[i + 1].info.port != r->info.port;

		if (!row_selected(r, o)) {
			/* nothing to print for this row */
		} else if (!row_active(r) && !o->nr_ports && !o->nr_pids) {
			idle++;
		} else {
			print_listener(f, r, o);
			shown++;
		}
		if (last_of_port && shown) {
			struct thread_row *t;
			int n = merge_port_threads(snap, o, r->info.port, &t);

			print_threads(f, t, n, o);
			free(t);
			print_port_findings(f, o, r->info.port);
			fputc('\n', f);
			shown = 0;
		}
	}
	if (idle)
		fprintf(f, "(%d idle listeners not shown)\n", idle);
	fputc('\n', f);
	fflush(f);
}

