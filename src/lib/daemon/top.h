/* Container administration that used to live in the API handlers: top and
 * container prune. */
#pragma once
#include <jansson.h>

#include "common/error.h"

struct berth_daemon;
struct berth_container;

/* GET /containers/{id}/top: the container's pids from `<runtime> ps`, then
 * `ps <ps_args>` (default -ef) keeping the rows of those pids.
 * *out = {"Titles": [...], "Processes": [[...], ...]}. Not running:
 * BERTH_E_CONFLICT "Container <id> is not running". */
int berth_ctr_top(struct berth_daemon *d, struct berth_container *ct, const char *ps_args, json_t **out,
		  struct berth_error *err);

/* POST /containers/prune: filters (normalized) accept until, label,
 * label!; removes stopped containers, emits the prune event.
 * *out = {"ContainersDeleted": [...] or null, "SpaceReclaimed": N}. */
int berth_ctr_prune(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err);

/* POST /networks/prune (no user networks yet: nothing to delete; the event
 * as dockerd sends it). filters accept until, label, label!.
 * *out = {"NetworksDeleted": null}. */
int berth_networks_prune(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err);
