// SPDX-License-Identifier: GPL-2.0
/* Unit tests for common/escape.c: hostile thread names and header values, in text and HTML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "escape.h"

static const char *esc(const char *s, size_t len)
{
	static char buf[ESCAPED_LEN(64)];

	return escape_text(buf, sizeof(buf), s, len);
}

static void plain_text_unchanged(void **state)
{
	(void)state;
	assert_string_equal(esc("worker-3", 16), "worker-3");
	assert_string_equal(esc("", 16), "");
}

static void controls_and_invalid_bytes_escaped(void **state)
{
	(void)state;
	/* The hostile name of the issue: OSC title, clear screen, invalid UTF-8. */
	assert_string_equal(esc("\x1b]0;pwn\x07\x1b[2J\xff\xfe", 16),
			    "\\x1b]0;pwn\\x07\\x1b[2J\\xff\\xfe");
	assert_string_equal(esc("a\\b", 16), "a\\\\b");
	assert_string_equal(esc("\x7f\x9b", 16), "\\x7f\\x9b");
	/* C1 control U+009B (CSI) as UTF-8 is escaped too. */
	assert_string_equal(esc("\xc2\x9b", 16), "\\xc2\\x9b");
}

static void valid_utf8_kept_truncated_escaped(void **state)
{
	(void)state;
	assert_string_equal(esc("w\xc3\xb6rker", 16), "w\xc3\xb6rker");
	assert_string_equal(esc("\xe2\x82\xac", 16), "\xe2\x82\xac");
	/* comm is cut at 15 bytes, maybe inside a character. */
	assert_string_equal(esc("ab\xe2\x82", 16), "ab\\xe2\\x82");
	/* Overlong "/" and a surrogate are not UTF-8. */
	assert_string_equal(esc("\xc0\xaf", 16), "\\xc0\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", 16), "\\xed\\xa0\\x80");
}

static void length_bounds(void **state)
{
	char small[6];

	(void)state;
	/* Stops at @len even without a NUL. */
	assert_string_equal(esc("abcdef", 3), "abc");
	/* Never a half escape. */
	escape_text(small, sizeof(small), "a\x01z", 3);
	assert_string_equal(small, "a\\x01");
	escape_text(small, sizeof(small), "ab\x01", 3);
	assert_string_equal(small, "ab");
}

static void html_special_characters(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	escape_html(f, "<b a=\"1\">x & 'y'</b> w\xc3\xb6rker \\x1b");
	fclose(f);
	assert_string_equal(buf, "&lt;b a=&quot;1&quot;&gt;x &amp; &#39;y&#39;&lt;/b&gt; w\xc3\xb6rker \\x1b");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text_unchanged),
		cmocka_unit_test(controls_and_invalid_bytes_escaped),
		cmocka_unit_test(valid_utf8_kept_truncated_escaped),
		cmocka_unit_test(length_bounds),
		cmocka_unit_test(html_special_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
