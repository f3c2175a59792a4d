// SPDX-License-Identifier: GPL-2.0
/* --trace: one line per connection event, as the kernel moves it from handshake to read. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "acceptscope.h"
#include "escape.h"
#include "trace.h"

static const char *event_name(__u32 type)
{
	switch (type) {
	case EV_QUEUED: return "queued";
	case EV_ACCEPTED: return "accepted";
	case EV_FIRST_READ: return "read";
	case EV_DROPPED: return "dropped";
	case EV_SYN: return "syn";
	default: return "?";
	}
}

void trace_header(FILE *f, bool json)
{
	if (!json)
		fprintf(f, "%-12s %-9s %-6s %-6s %-8s %-8s %-16s %s\n", "TIME(s)", "EVENT", "PORT", "PEER",
			"PID", "TID", "COMM", "DETAIL");
}

static void print_json_event(const struct conn_event *e, const char *comm, double t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "time_s", json_object_new_double(t));
	json_object_object_add(o, "event", json_object_new_string(event_name(e->type)));
	json_object_object_add(o, "port", json_object_new_int64(e->port));
	json_object_object_add(o, "peer_port", json_object_new_int64(e->rport));
	json_object_object_add(o, "listener", json_object_new_uint64(e->listener));
	if (e->type != EV_SYN)	/* a SYN has no socket yet */
		json_object_object_add(o, "child", json_object_new_uint64(e->child));
	switch (e->type) {
	case EV_SYN:
	case EV_QUEUED:
	case EV_DROPPED:
		json_object_object_add(o, "depth", json_object_new_int64(e->depth));
		json_object_object_add(o, "backlog", json_object_new_int64(e->backlog));
		json_object_object_add(o, "syn_queue", json_object_new_int64(e->syn_queue));
		if (e->type == EV_DROPPED)
			json_object_object_add(o, "stage", json_object_new_string(e->value ? "handshake" : "syn"));
		break;
	case EV_ACCEPTED:
		json_object_object_add(o, "wait_us", e->value ? json_object_new_double(e->value / 1e3) : NULL);
		/* fallthrough */
	case EV_FIRST_READ:
		json_object_object_add(o, "pid", json_object_new_int64(e->pid));
		json_object_object_add(o, "tid", json_object_new_int64(e->tid));
		json_object_object_add(o, "comm", json_object_new_string(comm));
		if (e->type == EV_FIRST_READ)
			json_object_object_add(o, "bytes", json_object_new_uint64(e->value));
		break;
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

void trace_add_sink(struct trace_sinks *s, int (*record)(void *ctx, const struct trace_record *r), void *ctx)
{
	if (s->n < MAX_TRACE_SINKS)
		s->sink[s->n++] = (struct trace_sink){ .record = record, .ctx = ctx };
}

int handle_trace_event(void *ctx, void *data, size_t size)
{
	struct trace_sinks *s = ctx;
	const struct conn_event *e = data;
	char comm[ESCAPED_LEN(TASK_COMM_LEN)];
	struct trace_record r = { .e = e, .comm = comm };
	int err = 0;

	if (size < sizeof(*e))
		return 0;
	escape_text(comm, sizeof(comm), e->comm, sizeof(e->comm));
	if (!s->started) {
		s->started = true;
		s->origin_ns = e->ts_ns;
	}
	r.origin_ns = s->origin_ns;
	/* Records from different CPUs may arrive a few nanoseconds out of order: signed. */
	r.t = (double)(__s64)(e->ts_ns - s->origin_ns) / 1e9;
	for (int i = 0; i < s->n && !err; i++)
		err = s->sink[i].record(s->sink[i].ctx, &r);
	return err;
}

int trace_print(void *ctx, const struct trace_record *r)
{
	const struct conn_event *e = r->e;
	const char *comm = r->comm;
	bool json = *(bool *)ctx;

	if (json) {
		print_json_event(e, comm, r->t);
		return write_status(stdout);
	}
	printf("%-12.6f %-9s %-6u %-6u ", r->t, event_name(e->type), e->port, e->rport);
	switch (e->type) {
	case EV_SYN:
		printf("%-8s %-8s %-16s SYN: syn queue %u  depth %u/%u\n", "-", "-", "(softirq)", e->syn_queue,
		       e->depth, e->backlog);
		break;
	case EV_QUEUED:
		printf("%-8s %-8s %-16s depth %u/%u  syn queue %u\n", "-", "-", "(softirq)", e->depth, e->backlog,
		       e->syn_queue);
		break;
	case EV_DROPPED:
		printf("%-8s %-8s %-16s %s dropped: queue full %u/%u\n", "-", "-", "(softirq)",
		       e->value ? "handshake" : "SYN", e->depth, e->backlog);
		break;
	case EV_ACCEPTED:
		if (e->value)
			printf("%-8u %-8u %-16s waited %.1f us in the accept queue\n", e->pid, e->tid, comm,
			       e->value / 1e3);
		else
			printf("%-8u %-8u %-16s wait unknown\n", e->pid, e->tid, comm);
		break;
	case EV_FIRST_READ:
		printf("%-8u %-8u %-16s first read, %llu bytes\n", e->pid, e->tid, comm,
		       (unsigned long long)e->value);
		break;
	}
	return write_status(stdout);
}

int write_status(FILE *f)
{
	if (fflush(f) == EOF || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

void trace_lost(FILE *f, bool json, __u64 n)
{
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("lost"));
		json_object_object_add(o, "records", json_object_new_uint64(n));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else
		fprintf(f, "# %llu trace records lost: the ring buffer was full\n", (unsigned long long)n);
	fflush(f);
}
