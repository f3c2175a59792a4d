/* SPDX-License-Identifier: GPL-2.0 */
/* `acceptscope compare` (user/compare/): run every demo accept model under the same load,
 * trace each, and compare what the tracer, the server's own counters and the client saw. */
#ifndef ACCEPTSCOPE_COMPARE_H
#define ACCEPTSCOPE_COMPARE_H

/* `acceptscope compare ...`: argv[0] is "compare".  Returns the exit status. */
int compare_main(int argc, char **argv);

#endif
