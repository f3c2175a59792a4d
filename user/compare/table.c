// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: the table on the terminal, and the findings under it. */
#include <string.h>
#include "compare.h"

/* "- " and @s, wrapped at spaces to @width columns, continued lines indented by two. */
static void print_wrapped(FILE *out, const char *s, int width)
{
	int col = 2;
	const char *p = s;

	fputs("- ", out);
	while (*p) {
		const char *sp = strchr(p, ' ');
		int wl = sp ? (int)(sp - p) : (int)strlen(p);

		if (col > 2 && col + 1 + wl > width) {
			fputs("\n  ", out);
			col = 2;
		} else if (col > 2) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, wl, out);
		col += wl;
		p += wl;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

/* One cell: right-aligned in its column's width, or left-aligned after two spaces. */
static void print_cell(FILE *out, const struct cmp_column *c, const char *text)
{
	if (c->width)
		fprintf(out, " %*s", c->width, text);
	else
		fprintf(out, "  %s", text);
}

static void print_row(FILE *out, const struct cmp_run *r)
{
	char val[64], shown[64];

	fprintf(out, "%-16s %-9s %5d", r->model, r->level->name, r->connections);
	if (!r->ok) {
		fprintf(out, "  FAILED: %s\n", r->error);
		return;
	}
	for (int i = 0; i < cmp_nr_columns; i++) {
		cmp_cell(&cmp_columns[i], r, val, sizeof(val), shown, sizeof(shown));
		print_cell(out, &cmp_columns[i], shown);
	}
	fputc('\n', out);
}

void cmp_print_table(FILE *out, const struct cmp_config *cfg, const struct cmp_run *runs, int n, char **findings)
{
	fprintf(out, "acceptscope compare: %d server thread%s, %g s of load per run, a new connection per request", cfg->threads,
		cfg->threads == 1 ? "" : "s", cfg->duration);
	if (cfg->rate > 0)
		fprintf(out, ", open loop at %g/s", cfg->rate);
	if (cfg->work_us)
		fprintf(out, ", %ld us of work per request", cfg->work_us);
	fprintf(out, "\n\n%-16s %-9s %5s", "model", "level", "conns");
	for (int i = 0; i < cmp_nr_columns; i++)
		print_cell(out, &cmp_columns[i], cmp_columns[i].head);
	fputc('\n', out);
	for (int r = 0; r < n; r++)
		print_row(out, &runs[r]);
	fputs("\nreq/s, p50, p99: client; qmax: deepest accept queue; wait99: p99 time in the accept queue;\n"
	      "ovfl: accept-queue overflows; empty: accept() calls finding no connection; busiest, idlest:\n"
	      "accept share of the busiest thread and of the idlest thread meant to accept; jainA, jainR:\n"
	      "Jain's index of accepts and of reads (1 = even); cpu: CPU use of the busiest server thread\n"
	      "during the load (100% = one CPU); reads by: who read the requests.\n\n", out);
	for (int i = 0; findings && findings[i]; i++)
		print_wrapped(out, findings[i], 96);
}
