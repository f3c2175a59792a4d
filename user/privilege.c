// SPDX-License-Identifier: GPL-2.0
/* Privileges, checked before anything is planned, loaded or started. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "privilege.h"

#define CAP_SYS_ADMIN 21
#define CAP_PERFMON 38
#define CAP_BPF 39

/* The effective capability set, from /proc/self/status (no libcap needed). */
static unsigned long long effective_caps(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

bool bpf_privileged(void)
{
	unsigned long long caps;

	if (geteuid() == 0)
		return true;
	caps = effective_caps();
	return (caps >> CAP_SYS_ADMIN & 1) || ((caps >> CAP_BPF & 1) && (caps >> CAP_PERFMON & 1));
}
