// SPDX-License-Identifier: GPL-2.0
/* The diagnosis in the views: the CPU% column, the findings under a port's block and in JSON. */
#include <math.h>
#include <json-c/json.h>
#include "cpu.h"
#include "diagnose.h"
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
