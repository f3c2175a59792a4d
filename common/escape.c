// SPDX-License-Identifier: GPL-2.0
/* Escaping untrusted text for terminals, JSON and HTML (see escape.h). */
#include <stdio.h>
#include <string.h>
#include "escape.h"

/* Length of the well-formed UTF-8 character at @s (at most @n bytes) if it is U+00A0 or above; else 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	unsigned int cp, need, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1, cp = s[0] & 0x1f, min = 0xa0;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (unsigned int i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need + 1;
}

char *escape_text(char *dst, size_t size, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, i = 0, n, used;
	char piece[5];

	if (!size)
		return dst;
	len = strnlen(src, len);
	while (i < len) {
		used = 1;
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			piece[0] = s[i], n = 1;
		} else if (s[i] == '\\') {
			memcpy(piece, "\\\\", 2), n = 2;
		} else if ((used = utf8_printable(s + i, len - i))) {
			memcpy(piece, s + i, used), n = used;
		} else {
			snprintf(piece, sizeof(piece), "\\x%02x", s[i]), n = 4, used = 1;
		}
		if (out + n >= size)
			break;
		memcpy(dst + out, piece, n);
		out += n;
		i += used;
	}
	dst[out] = 0;
	return dst;
}

void escape_html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}
