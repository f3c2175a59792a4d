// SPDX-License-Identifier: GPL-2.0
/* Command lines: argp, one line per error, exit status 2 (see cli.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/*
 * argp follows each error with "Try `PROG --help' ..." on its error stream;
 * getopt's own messages ("unrecognized option") go to stderr directly.  The
 * error stream given to argp passes everything to stderr but those hint lines,
 * so every error is one line.
 */
struct hint_filter {
	bool at_line_start, dropping;
};

static ssize_t filter_write(void *cookie, const char *buf, size_t size)
{
	struct hint_filter *h = cookie;

	/* The hint may wrap over lines; argp exits right after it: drop everything from it on. */
	for (size_t i = 0; i < size; i++) {
		if (h->at_line_start && !h->dropping)
			h->dropping = size - i >= 4 && strncmp(buf + i, "Try ", 4) == 0;
		if (!h->dropping)
			fputc(buf[i], stderr);
		h->at_line_start = buf[i] == '\n';
	}
	return size;
}

static FILE *hintless_stderr(void)
{
	static struct hint_filter h = { .at_line_start = true };
	static FILE *f;

	if (!f)
		f = fopencookie(&h, "w", (cookie_io_functions_t){ .write = filter_write });
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	return f ? f : stderr;
}

struct wrapped {
	void *input;
};

/* -h as --help, for every binary (argp's own is -? and --help). */
static const struct argp_option outer_options[] = {
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Give this help list", 0 },
	{ 0 },
};

static error_t outer_parser(int key, char *arg, struct argp_state *state)
{
	struct wrapped *w = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->err_stream = hintless_stderr();
		state->child_inputs[0] = w->input;
		return 0;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);	/* exits 0 */
		return 0;
	case ARGP_KEY_ARG:
		/* None of the three binaries takes positional arguments. */
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void cli_parse(const struct argp *argp, int argc, char **argv, void *input)
{
	struct argp_child children[] = { { argp, 0, NULL, 0 }, { 0 } };
	/* The child's doc is printed with it; the outer argp gives only the usage line's arguments. */
	struct argp outer = { .options = outer_options, .parser = outer_parser, .children = children,
			      .args_doc = argp->args_doc };
	struct wrapped w = { .input = input };
	char *name = argv[0];
	int err;

	/* getopt names the program by argv[0], argp by its short name: both say the short one. */
	argv[0] = program_invocation_short_name;
	argp_err_exit_status = 2;
	err = argp_parse(&outer, argc, argv, 0, NULL, &w);
	argv[0] = name;
	if (err)
		exit(2);
}

long cli_long(struct argp_state *state, const char *arg, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		argp_error(state, "invalid %s '%s' (%ld-%ld)", what, arg, min, max);
	return v;
}

double cli_secs(struct argp_state *state, const char *arg, double min, double max, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > min) || v > max)
		argp_error(state, "invalid %s '%s' (seconds, > %g)", what, arg, min);
	return v;
}
