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
#include "daemon/top.h"

static void networks_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	json_t *out = NULL;
	if (!filters || berth_networks_prune(d, filters, &out, &err) < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 200, out);
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
