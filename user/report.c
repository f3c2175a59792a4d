// SPDX-License-Identifier: GPL-2.0
/* The live table and the JSON output. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "escape.h"
#include "report.h"
#include "stats.h"

#define ESC_COMM(name, comm) char name[ESCAPED_LEN(TASK_COMM_LEN)]; \
	escape_text(name, sizeof(name), comm, TASK_COMM_LEN)

const char *format_addr(const struct listener_info *info, char *buf, size_t len)
{
	if (!inet_ntop(info->family == 10 ? AF_INET6 : AF_INET, info->addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

bool row_selected(const struct listener_row *r, const struct report_opts *o)
{
	bool port_ok = !o->nr_ports, pid_ok = !o->nr_pids;

	for (int i = 0; i < o->nr_ports; i++)
		port_ok |= r->info.port == o->ports[i];
	for (int i = 0; i < o->nr_pids && !pid_ok; i++) {
		pid_ok |= r->owner_pid == o->pids[i];
		for (int j = 0; j < r->nr_threads; j++)
			pid_ok |= r->threads[j].pid == o->pids[i];
	}
	return port_ok && pid_ok && r->info.port;
}

static bool row_active(const struct listener_row *r)
{
	return r->st.queued || r->st.accepted || r->st.empty_accepts || r->depth_now || r->nr_threads ||
	       (r->overflows_known && r->overflows);
}

/* Per-thread shares over a set of thread rows. */
struct fairness {
	double jain_accepts, jain_reads, busiest_share;
	__u64 accepts, reads;
};

static struct fairness fairness_of(const struct thread_row *t, int n)
{
	struct fairness f = {};
	double acc_sq = 0, rd_sq = 0;
	int na = 0, nr = 0;
	__u64 busiest = 0;

	for (int i = 0; i < n; i++) {
		f.accepts += t[i].accepts;
		f.reads += t[i].reads;
		/* Threads that tried to accept count, even with nothing got: that is the unfairness. */
		if (t[i].accepts || t[i].empty_accepts) {
			na++;
			acc_sq += (double)t[i].accepts * t[i].accepts;
		}
		if (t[i].reads) {
			nr++;
			rd_sq += (double)t[i].reads * t[i].reads;
		}
		if (t[i].accepts > busiest)
			busiest = t[i].accepts;
	}
	f.jain_accepts = jain_from_sums(f.accepts, acc_sq, na);
	f.jain_reads = jain_from_sums(f.reads, rd_sq, nr);
	f.busiest_share = f.accepts ? (double)busiest / f.accepts : 0;
	return f;
}

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

static void print_threads(FILE *f, const struct thread_row *t, int n)
{
	struct fairness fr = fairness_of(t, n);

	if (!n)
		return;
	fprintf(f, "  %-8s %-8s %-16s %9s %6s %-20s %7s %9s %11s\n", "PID", "TID", "COMM", "ACCEPTS", "SHARE",
		"", "EMPTY", "READS", "BYTES");
	for (int i = 0; i < n; i++) {
		double share = fr.accepts ? (double)t[i].accepts / fr.accepts : 0;
		char bar[21];
		int len = (int)(share * 20 + 0.5);
		ESC_COMM(comm, t[i].comm);

		memset(bar, '#', len);
		memset(bar + len, ' ', 20 - len);
		bar[20] = 0;
		fprintf(f, "  %-8u %-8u %-16s %9llu %5.1f%% %s %7llu %9llu %11llu\n", t[i].pid, t[i].tid, comm,
			(unsigned long long)t[i].accepts, share * 100, bar, (unsigned long long)t[i].empty_accepts,
			(unsigned long long)t[i].reads, (unsigned long long)t[i].read_bytes);
	}
	fprintf(f, "  jain accepts %.3f  reads %.3f  busiest thread %.1f%% of accepts\n", fr.jain_accepts,
		fr.jain_reads, fr.busiest_share * 100);
}

/* Thread rows of every selected listener on @port, merged by thread. */
static int merge_port_threads(const struct snapshot *snap, const struct report_opts *o, __u32 port,
			      struct thread_row **out)
{
	struct thread_row *m = NULL;
	int n = 0;

	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];

		if (r->info.port != port || !row_selected(r, o))
			continue;
		for (int j = 0; j < r->nr_threads; j++) {
			int k;

			for (k = 0; k < n && m[k].tid != r->threads[j].tid; k++)
				;
			if (k == n) {
				struct thread_row *g = realloc(m, (n + 1) * sizeof(*m));

				if (!g)
					break;
				m = g;
				m[n] = r->threads[j];
				m[n].accepts = m[n].empty_accepts = m[n].reads = m[n].read_bytes = 0;
				n++;
			}
			m[k].accepts += r->threads[j].accepts;
			m[k].empty_accepts += r->threads[j].empty_accepts;
			m[k].reads += r->threads[j].reads;
			m[k].read_bytes += r->threads[j].read_bytes;
		}
	}
	*out = m;
	return n;
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

			print_threads(f, t, n);
			free(t);
			fputc('\n', f);
			shown = 0;
		}
	}
	if (idle)
		fprintf(f, "(%d idle listeners not shown)\n", idle);
	fputc('\n', f);
	fflush(f);
}

static json_object *wait_json(const struct listener_stats *s)
{
	json_object *w = json_object_new_object();

	json_object_object_add(w, "count", json_object_new_uint64(s->wait_count));
	json_object_object_add(w, "p50", json_object_new_uint64(wait_percentile(s->wait_hist, 50, s->wait_max_ns) / 1000));
	json_object_object_add(w, "p90", json_object_new_uint64(wait_percentile(s->wait_hist, 90, s->wait_max_ns) / 1000));
	json_object_object_add(w, "p99", json_object_new_uint64(wait_percentile(s->wait_hist, 99, s->wait_max_ns) / 1000));
	json_object_object_add(w, "max", json_object_new_uint64(s->wait_max_ns / 1000));
	json_object_object_add(w, "mean", json_object_new_uint64(s->wait_count ? s->wait_sum_ns / s->wait_count / 1000 : 0));
	return w;
}

static json_object *threads_json(const struct thread_row *t, int n, json_object *parent)
{
	struct fairness fr = fairness_of(t, n);
	json_object *arr = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "pid", json_object_new_int64(t[i].pid));
		json_object_object_add(o, "tid", json_object_new_int64(t[i].tid));
		ESC_COMM(comm, t[i].comm);

		json_object_object_add(o, "comm", json_object_new_string(comm));
		json_object_object_add(o, "accepts", json_object_new_uint64(t[i].accepts));
		json_object_object_add(o, "empty_accepts", json_object_new_uint64(t[i].empty_accepts));
		json_object_object_add(o, "reads", json_object_new_uint64(t[i].reads));
		json_object_object_add(o, "read_bytes", json_object_new_uint64(t[i].read_bytes));
		json_object_object_add(o, "accept_share", json_object_new_double(fr.accepts ? (double)t[i].accepts / fr.accepts : 0));
		json_object_object_add(o, "read_share", json_object_new_double(fr.reads ? (double)t[i].reads / fr.reads : 0));
		json_object_array_add(arr, o);
	}
	json_object_object_add(parent, "threads", arr);
	json_object_object_add(parent, "jain", json_object_new_double(fr.jain_accepts));
	json_object_object_add(parent, "jain_reads", json_object_new_double(fr.jain_reads));
	json_object_object_add(parent, "busiest_share", json_object_new_double(fr.busiest_share));
	return arr;
}

static json_object *listener_json(const struct listener_row *r)
{
	json_object *o = json_object_new_object(), *hist = json_object_new_array();
	char addr[64];
	int last = -1;
	ESC_COMM(owner, r->owner_comm);

	json_object_object_add(o, "port", json_object_new_int64(r->info.port));
	json_object_object_add(o, "addr", json_object_new_string(format_addr(&r->info, addr, sizeof(addr))));
	json_object_object_add(o, "netns", json_object_new_uint64(r->info.netns));
	json_object_object_add(o, "inode", json_object_new_uint64(r->info.inode));
	json_object_object_add(o, "pid", json_object_new_int64(r->owner_pid));
	json_object_object_add(o, "comm", json_object_new_string(owner));
	json_object_object_add(o, "backlog", json_object_new_int64(r->info.backlog));
	json_object_object_add(o, "closed", json_object_new_boolean(r->gone));
	json_object_object_add(o, "depth", json_object_new_int64(r->depth_now));
	json_object_object_add(o, "depth_max", json_object_new_int64(r->st.depth_max));
	json_object_object_add(o, "syn_queue", json_object_new_int64(r->syn_now));
	json_object_object_add(o, "syn_queue_max", json_object_new_int64(r->st.syn_max > r->syn_now ? r->st.syn_max : r->syn_now));
	json_object_object_add(o, "queued", json_object_new_uint64(r->st.queued));
	json_object_object_add(o, "accepted", json_object_new_uint64(r->st.accepted));
	json_object_object_add(o, "empty_accepts", json_object_new_uint64(r->st.empty_accepts));
	json_object_object_add(o, "overflows", r->overflows_known ? json_object_new_uint64(r->overflows) : NULL);
	json_object_object_add(o, "wait_us", wait_json(&r->st));
	for (int i = 0; i < DEPTH_SLOTS; i++)
		if (r->st.depth_hist[i])
			last = i;
	for (int i = 0; i <= last; i++)
		json_object_array_add(hist, json_object_new_uint64(r->st.depth_hist[i]));
	json_object_object_add(o, "depth_hist_log2", hist);
	threads_json(r->threads, r->nr_threads, o);
	return o;
}

/* Listeners an object lists: in the summary all, in an interval those open or active. */
static bool row_listed(const struct listener_row *r, const struct report_opts *o, bool summary)
{
	return row_selected(r, o) && (summary || !r->gone || row_active(r));
}

static json_object *ports_json(const struct snapshot *snap, const struct report_opts *o, bool summary)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		json_object *p;
		struct thread_row *t;
		__u64 accepted = 0;
		int n, shards = 0;

		if (!row_selected(r, o) || (i > 0 && snap->rows[i - 1].info.port == r->info.port &&
					    row_selected(&snap->rows[i - 1], o)))
			continue;
		for (int j = i; j < snap->nr_rows && snap->rows[j].info.port == r->info.port; j++) {
			if (row_selected(&snap->rows[j], o)) {
				shards += row_listed(&snap->rows[j], o, summary);
				accepted += snap->rows[j].st.accepted;
			}
		}
		p = json_object_new_object();
		json_object_object_add(p, "port", json_object_new_int64(r->info.port));
		json_object_object_add(p, "listeners", json_object_new_int64(shards));
		json_object_object_add(p, "accepted", json_object_new_uint64(accepted));
		n = merge_port_threads(snap, o, r->info.port, &t);
		threads_json(t, n, p);
		free(t);
		json_object_array_add(arr, p);
	}
	return arr;
}

static json_object *lost_json(const struct snapshot *snap)
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < NR_LOST; i++)
		json_object_object_add(o, lost_name(i), json_object_new_uint64(snap->lost[i]));
	json_object_object_add(o, "missed_runs", json_object_new_uint64(snap->missed_runs));
	return o;
}

void print_json(FILE *f, const struct snapshot *snap, const struct report_opts *o, double secs, bool summary)
{
	json_object *root = json_object_new_object(), *ls = json_object_new_array();
	json_object *hooks = json_object_new_object();

	json_object_object_add(root, "time", json_object_new_int64(time(NULL)));
	json_object_object_add(root, "interval_s", json_object_new_double(secs));
	json_object_object_add(root, "summary", json_object_new_boolean(summary));
	for (int h = 0; h < NR_HOOKS; h++)
		json_object_object_add(hooks, hook_name(h), json_object_new_string(mechanism_name(o->plan->mech[h])));
	json_object_object_add(root, "hooks", hooks);
	json_object_object_add(root, "lost", lost_json(snap));
	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];

		if (row_listed(r, o, summary))
			json_object_array_add(ls, listener_json(r));
	}
	json_object_object_add(root, "listeners", ls);
	json_object_object_add(root, "ports", ports_json(snap, o, summary));
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fflush(f);
	json_object_put(root);
}
