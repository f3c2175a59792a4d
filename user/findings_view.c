// SPDX-License-Identifier: GPL-2.0
/*
 * The diagnosis in the views: the CPU% column, the findings under a port's block, in JSON,
 * and as Prometheus gauges.
 */
#include <math.h>
#include <json-c/json.h>
#include "cpu.h"
#include "diagnose.h"
#include "prometheus.h"
#include "report.h"

double report_thread_cpu(const struct report_opts *o, __u32 tid)
{
	const struct span_thread *t = o->diag ? cpu_span_find(o->diag->cpu, tid) : NULL;

	return t ? t->cpu_pct : -1;
}

void print_port_findings(FILE *f, const struct report_opts *o, __u32 port)
{
	for (int i = 0; o->diag && i < o->diag->nr_findings; i++) {
		const struct finding *x = &o->diag->findings[i];
		const char *cause = finding_cause_name(x->cause);

		if (x->port != port)
			continue;
		fprintf(f, "  ! %s (%s%s%s): %s\n", finding_kind_name(x->kind), finding_severity_name(x->severity),
			cause ? ", " : "", cause ? cause : "", x->text);
	}
}

/* Counts as integers, the rest as they are; null when unknown. */
static json_object *figure_json(const struct finding_figure *g)
{
	if (g->null)
		return NULL;
	if (g->value == floor(g->value) && fabs(g->value) < 9007199254740992.0)
		return json_object_new_int64((int64_t)g->value);
	return json_object_new_double(g->value);
}

static json_object *finding_json(const struct finding *x)
{
	json_object *o = json_object_new_object(), *ev = json_object_new_object();
	const char *cause = finding_cause_name(x->cause);

	json_object_object_add(o, "port", json_object_new_int64(x->port));
	json_object_object_add(o, "listener", x->listener ? json_object_new_uint64(x->listener) : NULL);
	json_object_object_add(o, "kind", json_object_new_string(finding_kind_name(x->kind)));
	json_object_object_add(o, "severity", json_object_new_string(finding_severity_name(x->severity)));
	json_object_object_add(o, "cause", cause ? json_object_new_string(cause) : NULL);
	json_object_object_add(o, "pid", x->pid ? json_object_new_int64(x->pid) : NULL);
	json_object_object_add(o, "tid", x->tid ? json_object_new_int64(x->tid) : NULL);
	for (int i = 0; i < x->nr_evidence; i++)
		json_object_object_add(ev, x->evidence[i].name, figure_json(&x->evidence[i]));
	json_object_object_add(o, "evidence", ev);
	json_object_object_add(o, "text", json_object_new_string(x->text));
	return o;
}

json_object *findings_json(const struct report_opts *o)
{
	json_object *a = json_object_new_array();

	for (int i = 0; o->diag && i < o->diag->nr_findings; i++)
		json_object_array_add(a, finding_json(&o->diag->findings[i]));
	return a;
}

/*
 * acceptscope_finding{port, kind}: for every port shown, one gauge per kind, 0 when the
 * diagnosis found nothing of that kind there, else the most severe finding's severity
 * (1 warning, 2 critical).  Every kind is written, so an alert compares a value rather
 * than tests for absence.  @arg: the report_opts of the listeners shown, with .diag.
 */
void prom_write_findings(struct prom_writer *w, const struct snapshot *snap, void *arg)
{
	const struct report_opts *o = arg;
	__u32 last_port = 0;
	bool any = false;

	for (int i = 0; i < snap->nr_rows; i++) {
		const struct listener_row *r = &snap->rows[i];
		__u32 port = r->info.port;

		/* Rows are ordered by port (cmp_rows): each port once. */
		if (!row_selected(r, o) || (any && port == last_port))
			continue;
		if (!any)
			prom_family(w, "acceptscope_finding", "gauge",
				    "What the diagnosis finds on the port over its window, by kind "
				    "(0 none, 1 warning, 2 critical; README Findings)");
		any = true;
		last_port = port;
		for (int k = 0; k < NR_FINDING_KINDS; k++) {
			struct prom_labels l;
			int severity = 0;

			for (int j = 0; o->diag && j < o->diag->nr_findings; j++) {
				const struct finding *x = &o->diag->findings[j];

				if (x->port == port && (int)x->kind == k && (int)x->severity > severity)
					severity = x->severity;
			}
			prom_labels_init(&l);
			prom_label_u64(&l, "port", port);
			prom_label_str(&l, "kind", finding_kind_name(k));
			prom_sample_u64(w, "acceptscope_finding", &l, severity);
		}
	}
}
