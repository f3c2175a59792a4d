// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare --timeline DIR`: a timeline page (user/timeline.h) per model and level,
 * DIR/MODEL-LEVEL.html, written when the run ends, and DIR/index.html linking them, written
 * after the last run.  The directory is made (if missing) and the index's temporary file
 * created before the first run, so a directory that cannot be written is refused at once.
 * Each page is renamed into place complete (atomic_file.h); an interrupted compare leaves the
 * pages of the runs that finished and no index.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "acceptscope.skel.h"
#include "clock.h"
#include "compare.h"
#include "session.h"

static void page_path(char *out, size_t len, const struct cmp_config *cfg, const struct cmp_run *run)
{
	snprintf(out, len, "%s/%s-%s.html", cfg->timeline_dir, run->model, run->level->name);
}

const char *cmp_timeline_prepare(struct cmp_config *cfg, struct atomic_file *index)
{
	char path[PATH_MAX];
	struct stat st;

	if (mkdir(cfg->timeline_dir, 0777) && errno != EEXIST)
		return strerror(errno);
	if (stat(cfg->timeline_dir, &st))
		return strerror(errno);
	if (!S_ISDIR(st.st_mode))
		return strerror(ENOTDIR);
	snprintf(path, sizeof(path), "%s/index.html", cfg->timeline_dir);
	return atomic_open(index, path);
}

int cmp_timeline_start(struct cmp_timeline *t, const struct cmp_config *cfg, const struct cmp_run *run,
		       struct session *s)
{
	char title[160];

	*t = (struct cmp_timeline){};
	if (!cfg->timeline_dir)
		return 0;
	snprintf(title, sizeof(title), "%s at %s: %d server threads, %d connections in flight, a new connection per request",
		 run->model, run->level->name, cfg->threads, run->connections);
	t->tl = timeline_new(title, &s->plan);
	if (t->tl)
		trace_add_sink(&t->sinks, timeline_record, t->tl);
	t->rb = t->tl ? ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_trace_event, &t->sinks, NULL) : NULL;
	if (!t->rb) {
		cmp_timeline_stop(t);
		return -1;
	}
	return 0;
}

void cmp_timeline_poll(struct cmp_timeline *t)
{
	if (t->rb)
		ring_buffer__consume(t->rb);
}

void cmp_timeline_sample(struct cmp_timeline *t, const struct snapshot *snap)
{
	if (t->tl)
		timeline_sample(t->tl, snap, clock_ns());
}

int cmp_timeline_write(struct cmp_timeline *t, const struct cmp_config *cfg, struct cmp_run *run,
		       struct collector *col)
{
	struct atomic_file out;
	char path[PATH_MAX + 64];
	const char *why;

	if (!t->tl)
		return 0;
	cmp_timeline_poll(t);
	timeline_lost(t->tl, lost_count(col, LOST_TRACE_RECORDS));
	page_path(path, sizeof(path), cfg, run);
	if (!(why = atomic_open(&out, path))) {
		timeline_write_html(t->tl, out.f);
		if (atomic_commit(&out))
			why = strerror(errno);
	}
	if (why) {
		fprintf(stderr, "acceptscope compare: cannot write %s: %s\n", path, why);
		return -1;
	}
	run->timeline_written = true;
	return 0;
}

void cmp_timeline_stop(struct cmp_timeline *t)
{
	ring_buffer__free(t->rb);
	timeline_free(t->tl);
	*t = (struct cmp_timeline){};
}

int cmp_timeline_index(struct atomic_file *index, const struct cmp_config *cfg, const struct cmp_run *runs, int n)
{
	FILE *f = index->f;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>acceptscope compare: "
	      "timelines</title>\n<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328}"
	      "li{margin:3px 0}</style>\n</head>\n<body>\n<h1>acceptscope compare: timelines</h1>\n<ul id=\"pages\">\n", f);
	for (int i = 0; i < n; i++) {
		const struct cmp_run *r = &runs[i];

		if (!r->timeline_written) {
			fprintf(f, "<li>%s at %s: no timeline (the run failed)</li>\n", r->model, r->level->name);
			continue;
		}
		fprintf(f, "<li><a href=\"%s-%s.html\">%s at %s</a>: %llu connections</li>\n", r->model, r->level->name,
			r->model, r->level->name, (unsigned long long)r->accepted);
	}
	fprintf(f, "</ul>\n<p>%d server threads, %g s of load per model and level.</p>\n</body>\n</html>\n", cfg->threads,
		cfg->duration);
	return atomic_commit(index);
}
