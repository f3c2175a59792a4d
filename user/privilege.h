/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_PRIVILEGE_H
#define ACCEPTSCOPE_PRIVILEGE_H

#include <stdbool.h>

#define NOT_PERMITTED "not permitted: run as root (or with CAP_BPF and CAP_PERFMON)"

/* May this process load and attach tracing programs: root, CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON? */
bool bpf_privileged(void);

#endif
