/* The accept models, one file each in this folder; the table of them is in ../models.c. */
#ifndef ACCEPTSCOPE_MODELS_H
#define ACCEPTSCOPE_MODELS_H

#include "../demo.h"

extern const struct model model_single, model_dispatch, model_reqdispatch, model_reuseport,
	model_shared_blocking, model_shared_epoll, model_shared_exclusive, model_shared_mutex;

#endif
