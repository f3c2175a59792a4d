// SPDX-License-Identifier: GPL-2.0
/*
 * `acceptscope compare`: the accept models, as the demo server names them.  `acceptscope-demo
 * --list-models` prints one a line, NAME<TAB>processes|threads<TAB>summary; compare reads
 * the list once, at start, so that a model added to the server is compared without more.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "compare.h"

#define LIST_TIMEOUT_MS 5000

/* All that @fd gives until EOF, at most @len - 1 bytes, NUL-terminated; -1 when its writer
 * does not close it within LIST_TIMEOUT_MS. */
static int read_all(int fd, char *buf, size_t len)
{
	uint64_t deadline = clock_ms() + LIST_TIMEOUT_MS;
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = clock_ms();
		ssize_t n;

		if (now >= deadline || cmp_interrupted)
			return -1;
		if (poll(&p, 1, deadline - now) < 0 && errno != EINTR)
			return -1;
		if (!p.revents)
			continue;
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += n;
		if (n == 0 || got == len - 1) {
			buf[got] = '\0';
			return 0;
		}
	}
}

/* One line NAME<TAB>processes|threads<TAB>summary into @m; false if it is not one. */
static bool parse_model(char *line, struct cmp_model *m)
{
	char *kind = strchr(line, '\t'), *summary;

	if (!kind)
		return false;
	*kind++ = '\0';
	summary = strchr(kind, '\t');
	if (summary)
		*summary++ = '\0';
	if (!*line || strlen(line) >= sizeof(m->name) || (strcmp(kind, "processes") && strcmp(kind, "threads")))
		return false;
	snprintf(m->name, sizeof(m->name), "%s", line);
	m->processes = !strcmp(kind, "processes");
	snprintf(m->summary, sizeof(m->summary), "%s", summary ? summary : "");
	return true;
}

static int parse_models(struct cmp_config *cfg, char *text)
{
	char *save = NULL;

	cfg->nr_known = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (cfg->nr_known == CMP_MAX_MODELS || !parse_model(line, &cfg->known[cfg->nr_known]))
			return -1;
		cfg->nr_known++;
	}
	return cfg->nr_known ? 0 : -1;
}

/* What `@demo_bin --list-models` prints, into @text; -1 if it cannot be run or does not finish. */
static int list_models(char *demo_bin, char *text, size_t len)
{
	char *argv[] = { demo_bin, "--list-models", NULL };
	int fds[2], null = open("/dev/null", O_WRONLY | O_CLOEXEC), ret = -1;

	if (null >= 0 && !pipe2(fds, O_CLOEXEC)) {
		pid_t pid = cmp_spawn(argv, fds[1], null, -1);

		close(fds[1]);
		ret = pid > 0 ? read_all(fds[0], text, len) : -1;
		close(fds[0]);
		cmp_kill_children();	/* it has closed its output: exited, or about to */
	}
	if (null >= 0)
		close(null);
	return ret;
}

int load_models(struct cmp_config *cfg)
{
	char text[8192];

	if (list_models(cfg->demo_bin, text, sizeof(text)) || parse_models(cfg, text)) {
		fprintf(stderr, "acceptscope compare: %s --list-models did not list the models\n", cfg->demo_bin);
		return -1;
	}
	return 0;
}

const struct cmp_model *find_model(const struct cmp_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nr_known; i++)
		if (!strcmp(cfg->known[i].name, name))
			return &cfg->known[i];
	return NULL;
}
