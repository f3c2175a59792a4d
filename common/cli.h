/* SPDX-License-Identifier: GPL-2.0 */
/*
 * argp with the conventions of all three binaries: a bad argument is one line on
 * stderr ("PROG: what went wrong") and exit status 2; --help (and -h) and
 * --version go to stdout with status 0.  A positional argument is an error.
 */
#ifndef ACCEPTSCOPE_CLI_H
#define ACCEPTSCOPE_CLI_H

#include <argp.h>

/* argp_parse() @argp over @argc/@argv with @input for its parser; exits 2 on a bad argument. */
void cli_parse(const struct argp *argp, int argc, char **argv, void *input);

/* In a parser: @arg as an integer in [@min, @max], else argp_error() naming @what. */
long cli_long(struct argp_state *state, const char *arg, long min, long max, const char *what);
/* In a parser: @arg as seconds, > @min (exclusive) and <= @max, else argp_error() naming @what. */
double cli_secs(struct argp_state *state, const char *arg, double min, double max, const char *what);

#endif
