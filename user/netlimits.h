/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ACCEPTSCOPE_NETLIMITS_H
#define ACCEPTSCOPE_NETLIMITS_H

struct listener_row;
struct net_limits;

/* @r's network namespace's net.core.somaxconn and net.ipv4.tcp_syncookies (-1 each when
 * they cannot be read); a diag_input.limits callback. */
void listener_net_limits(const struct listener_row *r, struct net_limits *out, void *ctx);

#endif
