// SPDX-License-Identifier: GPL-2.0
/* What every view shares: which rows to show, fairness over threads, a port's threads merged. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "stats.h"

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

bool row_active(const struct listener_row *r)
{
	return r->st.queued || r->st.accepted || r->st.empty_accepts || r->depth_now || r->nr_threads ||
	       (r->overflows_known && r->overflows);
}

struct fairness fairness_of(const struct thread_row *t, int n)
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

/* Thread rows of every selected listener on @port, merged by thread. */
int merge_port_threads(const struct snapshot *snap, const struct report_opts *o, __u32 port,
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

/* Listeners an object lists: in the summary all, in an interval those open or active. */
bool row_listed(const struct listener_row *r, const struct report_opts *o, bool summary)
{
	return row_selected(r, o) && (summary || !r->gone || row_active(r));
}

