/* Docker's list and event filters, below every layer that uses them (the
 * API validates them, the daemon and the stores match with them).
 * filters is the normalized form {"key": ["value", ...], ...}. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

/* Every key of filters must be in allowed (NULL-terminated), else
 * BERTH_E_INVALID with docker's "invalid filter 'x'". */
int berth_filters_check(json_t *filters, const char *const *allowed, struct berth_error *err);
/* docker's label filter: every "k" (present) and "k=v" (equal) of values
 * matches labels (a JSON object of strings). Empty values: true. */
bool berth_labels_match(json_t *values, json_t *labels);
/* True when s equals one of values (an array of strings). */
bool berth_filter_has(json_t *values, const char *s);

/* GET /events filters: keys docker accepts. */
int berth_event_filters_check(json_t *filters, struct berth_error *err);
/* Does one event message (docker's shape: Type, Action, Actor{ID,
 * Attributes}) pass the filters? type, event (action or its part before
 * ':'), scope, label, container/volume/network/daemon/plugin (ID, ID
 * prefix or name), image. */
bool berth_event_matches(json_t *filters, json_t *msg);
