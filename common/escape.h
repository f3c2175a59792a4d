/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text from the kernel or a peer (a thread's comm, an X-Worker header) is
 * escaped before it reaches a terminal or a JSON string: any local user can
 * name a thread "\x1b]0;pwn\x07", and comm is cut at 15 bytes, mid-character.
 */
#ifndef ACCEPTSCOPE_ESCAPE_H
#define ACCEPTSCOPE_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Worst case: every byte becomes \xNN. */
#define ESCAPED_LEN(n) (4 * (n) + 1)

/*
 * Copy @len bytes of @src (or up to its NUL, whichever is first) into @dst as
 * printable, valid UTF-8: printable ASCII as is, "\" as "\\", well-formed UTF-8
 * characters from U+00A0 up as is, every other byte (controls, DEL, C1
 * controls, stray or truncated UTF-8) as "\xNN".  Always NUL-terminated;
 * truncated at a whole escape when @size is short.  Returns @dst.
 */
char *escape_text(char *dst, size_t size, const char *src, size_t len);

/*
 * Write @s to @f for HTML text or a quoted attribute value: & < > " ' as character
 * references, everything else as is.  Untrusted text goes through escape_text() first.
 */
void escape_html(FILE *f, const char *s);

#endif
