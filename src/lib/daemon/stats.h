/* docker stats and docker update (the logic; the API only parses and answers). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_daemon;
struct berth_container;

/* GET /containers/{id}/stats?stream=false: one StatsJSON frame. Without
 * one_shot, two samples a second apart (precpu_stats filled); NULL when
 * cancelled(ctx) turned true or the container was removed meanwhile. */
json_t *berth_ctr_stats_once(struct berth_daemon *d, struct berth_container *ct, bool one_shot,
			     bool (*cancelled)(void *), void *ctx);
/* stream=true: emit(ctx, frame) once a second (frame borrowed) until emit
 * returns < 0, cancelled(ctx) is true or the container is removed. */
void berth_ctr_stats_stream(struct berth_daemon *d, struct berth_container *ct, int (*emit)(void *ctx, json_t *frame),
			    bool (*cancelled)(void *), void *ctx);

/* POST /containers/{id}/update with a decoded container.UpdateConfig
 * (PidsLimit normalized: 0 = unlimited, absent = unchanged). Validates,
 * merges into HostConfig, applies to a running container (`runc update`),
 * emits the update event. *warnings: a JSON array or NULL. */
int berth_ctr_update(struct berth_daemon *d, struct berth_container *ct, json_t *req, json_t **warnings,
		     struct berth_error *err);
