// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare --html FILE`: one self-contained page (inline CSS and SVG, no
 * scripts, nothing fetched) with the table, the findings, and per model and level a bar
 * chart of each thread's accepts and reads and one of the accept-queue depth histogram.
 * Every number is in the DOM as data attributes: the table cells carry data-model,
 * data-level, data-field and data-value (the exact text of the JSON value); the bars carry
 * data-tid or data-bucket, data-field and data-value.
 */
#include <math.h>
#include <string.h>
#include "compare.h"

/* A round number at least @v (and at least 4), for the top of an axis with 4 gridlines. */
static double nice_max(double v)
{
	static const double steps[] = { 1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10 };
	double p;

	if (v <= 4)
		return 4;
	p = pow(10, floor(log10(v)));
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (v <= steps[i] * p)
			return steps[i] * p;
	return 10 * p;
}

static const char css[] =
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}\n"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}\n"
"table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
"th,td{padding:3px 9px;border-bottom:1px solid #d0d7de;text-align:right;white-space:nowrap}\n"
"th{background:#f6f8fa;font-weight:600}.l{text-align:left}\n"
"tr.failed td{color:#b42318}\n"
"p.note{color:#57606a;font-size:12px;max-width:1100px}\n"
"ul#findings li{margin:3px 0;max-width:1100px}\n"
".runs{display:flex;flex-wrap:wrap;gap:16px}\n"
"section.run{border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;background:#fff}\n"
"section.run.failed{border-color:#b42318}\n"
"section.run table{font-size:12px;margin-top:6px}\n"
".charts{display:flex;gap:8px;flex-wrap:wrap}\n"
"svg.chart{background:#fbfcfd;border:1px solid #eaeef2}\n"
"svg text{font:11px system-ui,sans-serif;fill:#424a53}\n"
"svg .axis{stroke:#8c959f;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}\n"
"svg .acc{fill:#2f6fbf}svg .rd{fill:#e8871e}svg .hist{fill:#3f9b55}\n";

#define TW 520
#define TH 230
#define ML 52
#define MR 12
#define MT 28
#define MB 44

/* An <svg> chart of @r, @w wide: id KIND-MODEL-LEVEL, its <title> "MODEL at LEVEL: @what", and
 * its heading @heading. */
static void svg_open(FILE *f, const struct cmp_run *r, const char *kind, int w, const char *what, const char *heading)
{
	fprintf(f, "<svg id=\"%s-%s-%s\" class=\"chart %s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" data-model=\"%s\" data-level=\"%s\">\n",
		kind, r->model, r->level->name, kind, w, TH, w, TH, r->model, r->level->name);
	fprintf(f, "<title>%s at %s: %s</title>\n", r->model, r->level->name, what);
	fprintf(f, "<text x=\"%d\" y=\"16\" font-weight=\"600\">%s</text>\n", ML, heading);
}

/* The threads chart's legend and its linear axis up to @top. */
static void threads_axes(FILE *f, double ph, double top)
{
	fprintf(f, "<rect x=\"%d\" y=\"7\" width=\"10\" height=\"10\" class=\"acc\"/><text x=\"%d\" y=\"16\">accepts</text>\n",
		TW - 150, TW - 136);
	fprintf(f, "<rect x=\"%d\" y=\"7\" width=\"10\" height=\"10\" class=\"rd\"/><text x=\"%d\" y=\"16\">reads</text>\n",
		TW - 74, TW - 60);
	for (int g = 0; g <= 4; g++) {
		double y = MT + ph - ph * g / 4;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, TW - MR, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", ML - 4, y + 4, top * g / 4);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, TW - MR, MT + (int)ph, MT + (int)ph);
}

/* Thread @t's two bars (accepts, reads) around @cx, each @bw wide, and its label under them. */
static void thread_bars(FILE *f, const struct cmp_run *r, const struct cmp_thread *t, double cx, double bw,
			double ph, double top, bool label)
{
	const struct {
		const char *field, *cls;
		uint64_t v;
		double x;
	} bars[] = {
		{ "accepts", "acc", t->accepts, cx - bw - 1 },
		{ "reads", "rd", t->reads, cx + 1 },
	};
	const char *role = t->role[0] ? t->role : "?";

	for (int b = 0; b < 2; b++) {
		double h = ph * bars[b].v / top;

		if (bars[b].v && h < 1)
			h = 1;
		fprintf(f, "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" data-model=\"%s\" "
			   "data-level=\"%s\" data-tid=\"%ld\" data-field=\"%s\" data-value=\"%llu\">"
			   "<title>tid %ld (%s): %llu %s</title></rect>\n",
			bars[b].cls, bars[b].x, MT + ph - h, bw, h, r->model, r->level->name, t->tid, bars[b].field,
			(unsigned long long)bars[b].v, t->tid, role, (unsigned long long)bars[b].v, bars[b].field);
	}
	if (!label)
		return;
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%ld</text>", cx, MT + (int)ph + 14, t->tid);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", cx, MT + (int)ph + 27);
	escape_html(f, role);
	fputs("</text>\n", f);
}

static void threads_chart(FILE *f, const struct cmp_run *r)
{
	double pw = TW - ML - MR, ph = TH - MT - MB, gw, bw, top;
	uint64_t most = 0;
	int n = r->nr_threads;

	for (int i = 0; i < n; i++) {
		if (r->threads[i].accepts > most)
			most = r->threads[i].accepts;
		if (r->threads[i].reads > most)
			most = r->threads[i].reads;
	}
	top = nice_max(most);
	svg_open(f, r, "threads", TW, "accepts and reads per thread", "accepts and reads per thread");
	threads_axes(f, ph, top);
	if (!n) {
		fprintf(f, "<text x=\"%d\" y=\"%d\">no thread accepted or read</text>\n", ML + 10, MT + 40);
		fputs("</svg>\n", f);
		return;
	}
	gw = pw / n;
	bw = gw * 0.36;
	if (bw > 28)
		bw = 28;
	for (int i = 0; i < n; i++)
		thread_bars(f, r, &r->threads[i], ML + gw * i + gw / 2, bw, ph, top, n <= 24);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">thread (tid, role)</text>\n", ML + (int)pw / 2, TH - 4);
	fputs("</svg>\n", f);
}

#define HW 360

static void depth_chart(FILE *f, const struct cmp_run *r)
{
	double pw = HW - ML - MR, ph = TH - MT - MB - 14, gw, lmax;	/* room for the top bar's label */
	uint64_t most = 0;
	int n = r->nr_hist;

#define BASE (MT + 14 + (int)ph)
	for (int i = 0; i < n; i++)
		if (r->depth_hist[i] > most)
			most = r->depth_hist[i];
	lmax = log10(1.0 + most);
	svg_open(f, r, "depth", HW, "accept-queue depth at enqueue (log2 buckets)", "accept-queue depth at enqueue");
	fprintf(f, "<text x=\"%d\" y=\"16\" text-anchor=\"end\">log scale</text>\n", HW - MR);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, HW - MR, BASE, BASE);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, ML, MT + 14, BASE);
	/* Decades on the log axis. */
	for (double d = 1; lmax > 0 && log10(1 + d) <= lmax * 1.0001; d *= 10) {
		double y = BASE - ph * log10(1 + d) / lmax;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML + 1, HW - MR, y, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", ML - 4, y + 4, d);
	}
	if (!n) {
		fprintf(f, "<text x=\"%d\" y=\"%d\">nothing was queued</text>\n", ML + 10, MT + 40);
		fputs("</svg>\n", f);
		return;
	}
	gw = pw / (n < 4 ? 4 : n);
	for (int i = 0; i < n; i++) {
		uint64_t v = r->depth_hist[i];
		double h = lmax > 0 ? ph * log10(1.0 + v) / lmax : 0, x = ML + gw * i + gw * 0.15;
		unsigned long long lo = i ? 1ULL << i : 0, hi = (1ULL << (i + 1)) - 1;

		fprintf(f, "<rect class=\"bar hist\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" data-model=\"%s\" "
			   "data-level=\"%s\" data-bucket=\"%d\" data-field=\"depth_hist\" data-value=\"%llu\">"
			   "<title>depth %llu-%llu: %llu connections</title></rect>\n",
			x, BASE - h, gw * 0.7, h, r->model, r->level->name, i, (unsigned long long)v, lo, hi,
			(unsigned long long)v);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%llu</text>", x + gw * 0.35,
			BASE - h - 3, (unsigned long long)v);
		if (n <= 12 || i % 2 == 0)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%llu-%llu</text>\n", x + gw * 0.35,
				BASE + 14, lo, hi);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">connections queued (depth, log2 buckets)</text>\n",
		ML + (int)pw / 2, TH - 4);
	fputs("</svg>\n", f);
}
#undef BASE

static void run_section(FILE *f, const struct cmp_run *r)
{
	fprintf(f, "<section class=\"run%s\" id=\"run-%s-%s\" data-model=\"%s\" data-level=\"%s\" data-status=\"%s\">\n",
		r->ok ? "" : " failed", r->model, r->level->name, r->model, r->level->name, r->ok ? "ok" : "failed");
	fprintf(f, "<h3>%s &middot; %s (%d connection%s)</h3>\n", r->model, r->level->name, r->connections,
		r->connections == 1 ? "" : "s");
	if (!r->ok) {
		fputs("<p class=\"error\">failed: ", f);
		escape_html(f, r->error);
		fputs("</p>\n</section>\n", f);
		return;
	}
	fputs("<div class=\"charts\">\n", f);
	threads_chart(f, r);
	depth_chart(f, r);
	fputs("</div>\n", f);
	fprintf(f, "<table class=\"threads\" data-model=\"%s\" data-level=\"%s\"><thead><tr><th>tid</th><th class=\"l\">role</th>"
		   "<th>accepts</th><th>server</th><th>empty</th><th>reads</th><th>read bytes</th><th>share</th><th>cpu</th></tr></thead><tbody>\n",
		r->model, r->level->name);
	for (int i = 0; i < r->nr_threads; i++) {
		const struct cmp_thread *t = &r->threads[i];

		fprintf(f, "<tr data-tid=\"%ld\"><td>%ld</td><td class=\"l\">", t->tid, t->tid);
		escape_html(f, t->role[0] ? t->role : "?");
		fprintf(f, "</td><td data-field=\"accepts\" data-value=\"%llu\">%llu</td>"
			   "<td data-field=\"server_accepts\" data-value=\"%llu\">%llu</td>"
			   "<td data-field=\"empty_accepts\" data-value=\"%llu\">%llu</td>"
			   "<td data-field=\"reads\" data-value=\"%llu\">%llu</td>"
			   "<td data-field=\"read_bytes\" data-value=\"%llu\">%llu</td><td>%.1f%%</td>",
			(unsigned long long)t->accepts, (unsigned long long)t->accepts, (unsigned long long)t->s_accepts,
			(unsigned long long)t->s_accepts, (unsigned long long)t->empty_accepts,
			(unsigned long long)t->empty_accepts, (unsigned long long)t->reads, (unsigned long long)t->reads,
			(unsigned long long)t->read_bytes, (unsigned long long)t->read_bytes, t->accept_share * 100);
		if (t->cpu_known)
			fprintf(f, "<td data-field=\"cpu_pct\" data-value=\"%.1f\">%.0f%%</td></tr>\n", t->cpu_pct, t->cpu_pct);
		else
			fputs("<td data-field=\"cpu_pct\" data-value=\"\">-</td></tr>\n", f);
	}
	fputs("</tbody></table>\n</section>\n", f);
}


static void page_head(FILE *f, const struct cmp_config *cfg)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>acceptscope compare</title>\n<style>\n", f);
	fputs(css, f);
	fputs("</style>\n</head>\n<body>\n<h1>acceptscope compare</h1>\n", f);
	fprintf(f, "<p class=\"config\" id=\"config\" data-threads=\"%d\" data-duration=\"%g\">%d server thread%s, %g s of load "
		   "per model and level, a new connection per request",
		cfg->threads, cfg->duration, cfg->threads, cfg->threads == 1 ? "" : "s", cfg->duration);
	if (cfg->rate > 0)
		fprintf(f, ", open loop at %g connections/s", cfg->rate);
	if (cfg->work_us)
		fprintf(f, ", %ld us of CPU work per request", cfg->work_us);
	fputs(".</p>\n", f);
}

/* Text columns are left-aligned. */
static const char *align(const struct cmp_column *c)
{
	return c->format == CMP_TEXT ? " class=\"l\"" : "";
}

static void summary_row(FILE *f, const struct cmp_run *run)
{
	const char *m = run->model, *l = run->level->name, *status = run->ok ? "ok" : "failed";
	char val[64], shown[64];

	fprintf(f, "<tr id=\"row-%s-%s\" class=\"%s\" data-model=\"%s\" data-level=\"%s\" data-status=\"%s\">"
		   "<td class=\"l\">%s</td><td class=\"l\">%s</td><td data-model=\"%s\" data-level=\"%s\" "
		   "data-field=\"connections\" data-value=\"%d\">%d</td>",
		m, l, status, m, l, status, m, l, m, l, run->connections, run->connections);
	for (int i = 0; i < cmp_nr_columns; i++) {
		const struct cmp_column *c = &cmp_columns[i];

		cmp_cell(c, run, val, sizeof(val), shown, sizeof(shown));
		fprintf(f, "<td id=\"cell-%s-%s-%s\"%s data-model=\"%s\" data-level=\"%s\" data-field=\"%s\" data-value=\"",
			m, l, c->key, align(c), m, l, c->key);
		escape_html(f, val);
		fputs("\">", f);
		escape_html(f, shown);
		fputs("</td>", f);
	}
	fputs("</tr>\n", f);
}

/* The table, each heading's description under it, and the findings. */
static void summary(FILE *f, const struct cmp_run *runs, int n, char **findings)
{
	fputs("<table id=\"summary\">\n<thead><tr><th class=\"l\">model</th><th class=\"l\">level</th><th>conns</th>", f);
	for (int i = 0; i < cmp_nr_columns; i++) {
		fprintf(f, "<th%s title=\"", align(&cmp_columns[i]));
		escape_html(f, cmp_columns[i].title);
		fprintf(f, "\">%s</th>", cmp_columns[i].head);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (int r = 0; r < n; r++)
		summary_row(f, &runs[r]);
	fputs("</tbody>\n</table>\n<p class=\"note\">", f);
	for (int i = 0; i < cmp_nr_columns; i++) {
		fprintf(f, "<b>%s</b>: ", cmp_columns[i].head);
		escape_html(f, cmp_columns[i].title);
		fputs(i + 1 < cmp_nr_columns ? "; " : ".", f);
	}
	fputs("</p>\n<h2>What the figures show</h2>\n<ul id=\"findings\">\n", f);
	for (int i = 0; findings && findings[i]; i++) {
		fputs("<li>", f);
		escape_html(f, findings[i]);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

void cmp_html_render(FILE *f, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings)
{
	page_head(f, cfg);
	summary(f, runs, n, findings);
	fputs("<h2>Per model and level</h2>\n<div class=\"runs\">\n", f);
	for (int r = 0; r < n; r++)
		run_section(f, &runs[r]);
	fputs("</div>\n</body>\n</html>\n", f);
}
