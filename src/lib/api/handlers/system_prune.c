/* The prune endpoints `docker system prune` calls besides containers, images
 * and volumes: POST /networks/prune (no user networks yet: nothing to
 * delete) and POST /build/prune (no build cache). Same validation, answers
 * and events as dockerd 20.10. This table comes last in the router, so a
 * network module's own /networks/prune takes over when it exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"

static void networks_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* networksAcceptedFilters, with filters.Validate's message */
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) {
		if (strcmp(k, "until") && strcmp(k, "label") && strcmp(k, "label!")) {
			berth_http_respond_msg(c, 400, "Invalid filter '%s'", k);
			return;
		}
	}
	json_t *u = json_array_get(json_object_get(filters, "until"), 0);
	int64_t until = 0;
	if (u && berth_time_parse(json_string_value(u), &until) < 0) {
		berth_http_respond_msg(c, 400, "failed to parse value as time or duration: \"%s\"",
				       json_string_value(u));
		return;
	}
	json_t *attrs = json_pack("{s:s}", "reclaimed", "0");
	berth_events_emit(d->events, "network", "prune", "", attrs);
	json_decref(attrs);
	berth_http_respond_json(c, 200, json_pack("{s:n}", "NetworksDeleted"));
}

static void build_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)d;
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_msg(c, 500, "could not parse filters: %s", err.msg);
		return;
	}
	const char *ks = berth_http_query(r, "keep-storage");
	if (ks && *ks) {
		char *end;
		strtoll(ks, &end, 10);
		if (*end) {
			berth_http_respond_msg(
				c, 500,
				"keep-storage is in bytes and expects an integer, got %s: strconv.Atoi: parsing \"%s\": invalid syntax",
				ks, ks);
			return;
		}
	}
	berth_http_respond_json(c, 200, json_pack("{s:n, s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

const struct berth_route berth_routes_prune[] = {
	{"POST", "/networks/prune", networks_prune},
	{"POST", "/build/prune", build_prune},
	{NULL, NULL, NULL},
};
