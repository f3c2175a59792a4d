// SPDX-License-Identifier: GPL-2.0
/* `acceptscope compare`: not written yet. */
#include <stdio.h>
#include "trace.h"

int compare_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "acceptscope compare: not implemented yet\n");
	return 2;
}
