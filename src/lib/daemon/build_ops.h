/* The builder's callbacks (builder/builder.h) on the daemon's container and
 * image paths: the same create, attach, start, wait, archive and commit code
 * as `berth run`, `berth cp` and POST /commit. */
#pragma once
#include "builder/builder.h"

struct berth_daemon;

/* Fill ops for builds on d. */
void berth_build_ops_init(struct berth_daemon *d, struct berth_build_ops *ops);
