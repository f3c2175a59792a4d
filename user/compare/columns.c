// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: the columns of the comparison table, and how a cell is shown. */
#include <string.h>
#include "compare.h"

static struct cmp_value num(double v)
{
	return (struct cmp_value){ .num = v };
}

static struct cmp_value get_rps(const struct cmp_run *r) { return num(r->rps); }
static struct cmp_value get_p50(const struct cmp_run *r) { return num(r->p50_us); }
static struct cmp_value get_p99(const struct cmp_run *r) { return num(r->p99_us); }
static struct cmp_value get_depth_max(const struct cmp_run *r) { return num(r->depth_max); }
static struct cmp_value get_wait_p99(const struct cmp_run *r) { return num(r->wait_p99_us); }
static struct cmp_value get_empty(const struct cmp_run *r) { return num(r->empty_accepts); }
static struct cmp_value get_busiest(const struct cmp_run *r) { return num(r->busiest_share); }
static struct cmp_value get_idlest(const struct cmp_run *r) { return num(r->idlest_share); }
static struct cmp_value get_jain(const struct cmp_run *r) { return num(r->jain); }
static struct cmp_value get_jain_reads(const struct cmp_run *r) { return num(r->jain_reads); }

static struct cmp_value get_overflows(const struct cmp_run *r)
{
	return (struct cmp_value){ .null = !r->overflows_known, .num = r->overflows };
}

static struct cmp_value get_cpu_max(const struct cmp_run *r)
{
	return (struct cmp_value){ .null = !r->cpu_known, .num = r->cpu_max_pct };
}

static struct cmp_value get_readers(const struct cmp_run *r)
{
	return (struct cmp_value){ .text = r->readers };
}

const struct cmp_column cmp_columns[] = {
	{ "rps", "req/s", "requests answered per second (client)", CMP_RATE, 7, NULL, get_rps },
	{ "p50_us", "p50", "median request latency, connect included (client)", CMP_LATENCY, 6, NULL, get_p50 },
	{ "p99_us", "p99", "99th percentile request latency (client)", CMP_LATENCY, 6, NULL, get_p99 },
	{ "depth_max", "qmax", "deepest accept queue at an enqueue (tracer)", CMP_COUNT, 5, NULL, get_depth_max },
	{ "wait_p99_us", "wait99", "99th percentile time a connection waited in the accept queue (tracer)", CMP_WAIT,
	  7, NULL, get_wait_p99 },
	{ "overflows", "ovfl", "connections dropped because the accept queue was full (tracer)", CMP_COUNT, 5, "n/a",
	  get_overflows },
	{ "empty_accepts", "empty", "accept() calls that found the queue empty (tracer)", CMP_COUNT, 7, NULL, get_empty },
	{ "busiest_share", "busiest", "share of the accepts taken by the busiest thread (tracer)", CMP_SHARE, 7, NULL,
	  get_busiest },
	{ "idlest_share", "idlest", "share of the accepts taken by the idlest thread meant to accept", CMP_SHARE, 6, NULL,
	  get_idlest },
	{ "jain", "jainA", "Jain's fairness index of accepts over the accepting threads (tracer)", CMP_INDEX, 5, NULL,
	  get_jain },
	{ "jain_reads", "jainR", "Jain's fairness index of reads over the reading threads (tracer)", CMP_INDEX, 5, NULL,
	  get_jain_reads },
	{ "cpu_max_pct", "cpu", "CPU use of the busiest server thread during the load, % of one CPU (/proc)", CMP_PERCENT,
	  5, NULL, get_cpu_max },
	{ "readers", "reads by", "which threads read the requests: the accepting thread(s) or others", CMP_TEXT, 0, NULL,
	  get_readers },
};
const int cmp_nr_columns = sizeof(cmp_columns) / sizeof(cmp_columns[0]);

void cmp_fmt_us(char *out, size_t len, double us, const char *sep)
{
	if (us < 1000)
		snprintf(out, len, "%.0f%sus", us, sep);
	else if (us < 1e6)
		snprintf(out, len, "%.1f%sms", us / 1e3, sep);
	else
		snprintf(out, len, "%.2f%ss", us / 1e6, sep);
}

/* How each format writes its value: the exact (JSON) text, and what the table shows. */
static const struct {
	const char *val, *shown;	/* printf formats of the number; shown NULL: as a latency */
	double scale;			/* of the shown number */
} formats[] = {
	[CMP_RATE] = { "%.1f", "%.0f", 1 },
	[CMP_LATENCY] = { "%.1f", NULL, 1 },
	[CMP_WAIT] = { "%.0f", NULL, 1 },
	[CMP_COUNT] = { "%.0f", "%.0f", 1 },
	[CMP_SHARE] = { "%.4f", "%.0f%%", 100 },
	[CMP_INDEX] = { "%.4f", "%.2f", 1 },
	[CMP_PERCENT] = { "%.1f", "%.0f%%", 1 },
};

bool cmp_cell(const struct cmp_column *c, const struct cmp_run *run, char *val, size_t vlen, char *shown, size_t slen)
{
	struct cmp_value v;

	val[0] = shown[0] = '\0';
	if (!run->ok) {
		snprintf(shown, slen, "-");
		return false;
	}
	v = c->get(run);
	if (v.null) {
		snprintf(shown, slen, "%s", c->null_shown ? c->null_shown : "-");
		return false;
	}
	if (c->format == CMP_TEXT) {
		snprintf(val, vlen, "%s", v.text);
		snprintf(shown, slen, "%s", v.text);
		return true;
	}
	snprintf(val, vlen, formats[c->format].val, v.num);
	if (formats[c->format].shown)
		snprintf(shown, slen, formats[c->format].shown, v.num * formats[c->format].scale);
	else
		cmp_fmt_us(shown, slen, v.num, "");
	return true;
}
