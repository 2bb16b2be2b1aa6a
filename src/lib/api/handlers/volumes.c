/* Volume endpoints: list, create, inspect, remove, prune. */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"

static bool have_store(struct berth_daemon *d, struct berth_http_conn *c)
{
	if (d->volumes)
		return true;
	berth_http_respond_msg(c, 503, "volumes are not available");
	return false;
}

static void volume_list(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!have_store(d, c))
		return;
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *j = berth_volume_list(d->volumes, filters, &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

static void volume_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!have_store(d, c))
		return;
	struct berth_error err = {0};
	if (!berth_api_require_json(r, c))
		return;
	cleanup_json json_t *body = NULL;
	if (berth_http_body_json(c, 1 << 20, &body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	if (!body) {
		berth_http_respond_msg(c, 400, "got EOF while reading request body");
		return;
	}
	if (berth_input_check_volume_create(body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	if (!json_is_object(body)) { /* null: Go decodes it into an empty body */
		json_decref(body);
		body = json_object();
	}
	json_t *j = berth_volume_create(d->volumes, body, &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 201, j);
}

static void volume_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!have_store(d, c))
		return;
	struct berth_error err = {0};
	json_t *j = berth_volume_inspect(d->volumes, r->params[0], &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

static void volume_delete(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!have_store(d, c))
		return;
	struct berth_error err = {0};
	if (berth_volume_remove(d->volumes, r->params[0], berth_http_query_bool(r, "force", false), &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_empty(c, 204);
}

static void volume_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!have_store(d, c))
		return;
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *j = berth_volume_prune(d->volumes, filters, &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

const struct berth_route berth_routes_volumes[] = {
	{"GET", "/volumes", volume_list},
	{"POST", "/volumes/create", volume_create},
	{"POST", "/volumes/prune", volume_prune},
	{"GET", "/volumes/{name*}", volume_inspect},
	{"DELETE", "/volumes/{name*}", volume_delete},
	{NULL, NULL, NULL},
};
