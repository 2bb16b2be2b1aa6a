/* Helpers shared by API handler files. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_daemon;

struct berth_api_counts {
	int containers, running, paused, stopped, images;
};
void berth_api_counts(struct berth_daemon *d, struct berth_api_counts *n);
/* Runtime entries for /version Components (new ref, may be NULL). */
json_t *berth_api_runtime_components(struct berth_daemon *d);
/* Adds Runtimes, DefaultRuntime, SecurityOptions (and runtime warnings) to info. */
void berth_api_runtime_info(struct berth_daemon *d, json_t *info);
int berth_api_count_fds(void);
int berth_api_active_conns(struct berth_daemon *d);

/* Events filters: validate keys; match one message. */
int berth_api_event_filters_validate(json_t *filters, struct berth_error *err);
bool berth_api_event_matches(json_t *filters, json_t *msg);

/* Filter helpers: check keys against an allowed list -> docker's "invalid filter 'x'". */
int berth_api_filters_check(json_t *filters, const char *const *allowed, struct berth_error *err);
/* label filter: every "k" / "k=v" in values matches labels (a JSON object). */
bool berth_api_labels_match(json_t *values, json_t *labels);
/* Containers part of GET /system/df. */
json_t *berth_api_df_containers(struct berth_daemon *d);
