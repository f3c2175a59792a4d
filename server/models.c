/* The table of accept models: the one list every other (--help, --list-models,
 * the tests, bench/servers.sh, acceptscope compare) is read from. */
#include "demo.h"
#include "models/models.h"

#include <string.h>

const struct model *const models[] = {
	&model_single, &model_dispatch, &model_reqdispatch, &model_reuseport,
	&model_shared_blocking, &model_shared_epoll, &model_shared_exclusive, &model_shared_mutex,
	NULL,
};

const struct model *model_find(const char *name)
{
	for (int i = 0; models[i]; i++)
		if (strcmp(models[i]->name, name) == 0)
			return models[i];
	return NULL;
}

/* --list-models: one model a line, NAME TAB processes|threads TAB summary, in table
 * order; "processes" if it takes --processes.  A stable, machine-readable format. */
void models_list(FILE *f)
{
	for (int i = 0; models[i]; i++)
		fprintf(f, "%s\t%s\t%s\n", models[i]->name, models[i]->allows_processes ? "processes" : "threads",
			models[i]->summary);
}
