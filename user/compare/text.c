// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: a growing string, and the list of findings made of them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"

void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

void sb_list(struct sb *b, const char *const *items, int n)
{
	for (int i = 0; i < n; i++)
		sb_add(b, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", items[i]);
}

void finding(struct findings *f, struct sb *b)
{
	char **v;

	if (!b->s)
		return;
	v = realloc(f->v, (f->n + 2) * sizeof(*v));
	if (!v) {
		free(b->s);
	} else {
		f->v = v;
		f->v[f->n++] = b->s;
		f->v[f->n] = NULL;
	}
	memset(b, 0, sizeof(*b));
}

void cmp_findings_free(char **f)
{
	for (int i = 0; f && f[i]; i++)
		free(f[i]);
	free(f);
}
