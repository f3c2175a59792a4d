// SPDX-License-Identifier: GPL-2.0
/* The JSON view: one object per interval, a summary at exit (README "JSON"). */
#include <stdlib.h>
#include <time.h>
#include <json-c/json.h>
#include "escape.h"
#include "report.h"
#include "stats.h"

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

static json_object *threads_json(const struct thread_row *t, int n, json_object *parent, const struct report_opts *ro)
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
		json_object_object_add(o, "cpu_pct", report_thread_cpu(ro, t[i].tid) >= 0 ?
				       json_object_new_double(report_thread_cpu(ro, t[i].tid)) : NULL);
		json_object_array_add(arr, o);
	}
	json_object_object_add(parent, "threads", arr);
	json_object_object_add(parent, "jain", json_object_new_double(fr.jain_accepts));
	json_object_object_add(parent, "jain_reads", json_object_new_double(fr.jain_reads));
	json_object_object_add(parent, "busiest_share", json_object_new_double(fr.busiest_share));
	return arr;
}

static json_object *listener_json(const struct listener_row *r, const struct report_opts *ro)
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
	threads_json(r->threads, r->nr_threads, o, ro);
	return o;
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
		threads_json(t, n, p, o);
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
			json_object_array_add(ls, listener_json(r, o));
	}
	json_object_object_add(root, "listeners", ls);
	json_object_object_add(root, "ports", ports_json(snap, o, summary));
	json_object_object_add(root, "findings", findings_json(o));
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fflush(f);
	json_object_put(root);
}

