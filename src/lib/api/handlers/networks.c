/* Network endpoints: list, inspect, create, remove, connect, disconnect,
 * prune (daemon/networks.h). */
#include <string.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon/networks.h"

static bool have_store(struct berth_daemon *d, struct berth_http_conn *c)
{
	if (d->networks)
		return true;
	berth_http_respond_msg(c, 503, "networks are not available");
	return false;
}

/* A JSON object body (or 400 as dockerd). */
static json_t *object_body(struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	json_t *body = NULL;
	if (berth_http_body_json(c, 1 << 20, &body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return NULL;
	}
	(void)r;
	if (!body) {
		berth_http_respond_msg(c, 400, "got EOF while reading request body");
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		berth_http_respond_msg(c, 400,
				       "json: cannot unmarshal %s into Go value of type types.NetworkCreateRequest",
				       "non-object");
		return NULL;
	}
	return body;
}

/* The daemon's answer: its error, else status with j (no body when j is NULL). */
static void answer(struct berth_http_conn *c, bool ok, const struct berth_error *err, int status, json_t *j)
{
	if (!ok)
		berth_http_respond_error(c, err);
	else if (j)
		berth_http_respond_json(c, status, j);
	else
		berth_http_respond_empty(c, status);
}

/* The store is there and, with body, a JSON object body was read (else the
 * answer is sent). */
static bool begin(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c, json_t **body)
{
	if (!have_store(d, c))
		return false;
	if (!body)
		return true;
	*body = NULL;
	if (!berth_api_require_json(r, c))
		return false;
	*body = object_body(r, c);
	return *body != NULL;
}

static void network_list(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!begin(d, r, c, NULL))
		return;
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	json_t *j = filters ? berth_networks_list(d, filters, &err) : NULL;
	answer(c, j != NULL, &err, 200, j);
}

static void network_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!begin(d, r, c, NULL))
		return;
	struct berth_error err = {0};
	json_t *j = berth_networks_inspect(d, r->params[0], &err);
	answer(c, j != NULL, &err, 200, j);
}

static void network_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	cleanup_json json_t *body = NULL;
	if (!begin(d, r, c, &body))
		return;
	struct berth_error err = {0};
	json_t *j = berth_networks_create(d, body, &err);
	answer(c, j != NULL, &err, 201, j);
}

static void network_remove(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!begin(d, r, c, NULL))
		return;
	struct berth_error err = {0};
	answer(c, berth_networks_remove(d, r->params[0], &err) == 0, &err, 204, NULL);
}

/* connect and disconnect: a body for the container, 200 without one */
static void endpoint_op(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c,
			int (*op)(struct berth_daemon *, const char *, json_t *, struct berth_error *))
{
	cleanup_json json_t *body = NULL;
	if (!begin(d, r, c, &body))
		return;
	struct berth_error err = {0};
	answer(c, op(d, r->params[0], body, &err) == 0, &err, 200, NULL);
}

static void network_connect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	endpoint_op(d, r, c, berth_networks_connect);
}

static void network_disconnect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	endpoint_op(d, r, c, berth_networks_disconnect);
}

static void network_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!begin(d, r, c, NULL))
		return;
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	json_t *out = NULL;
	bool ok = filters && berth_networks_prune_unused(d, filters, &out, &err) == 0;
	answer(c, ok, &err, 200, out);
}

/* DELETE /containers/parent/alias?link=1 (the docker CLI does not escape the
 * slash of `rm --link /parent/alias`) */
static void link_delete(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_free char *name = berth_strdup_printf("/%s/%s", r->params[0], r->params[1]);
	if (!berth_http_query_bool(r, "link", false))
		berth_http_respond_msg(c, 404, "No such container: %s", name + 1);
	else
		answer(c, berth_networks_remove_link(d, name, &err) == 0, &err, 204, NULL);
}

const struct berth_route berth_routes_networks[] = {
	{"DELETE", "/containers/{parent}/{alias}", link_delete},
	{"GET", "/networks", network_list},
	{"POST", "/networks/create", network_create},
	{"POST", "/networks/prune", network_prune},
	{"GET", "/networks/{id}", network_inspect},
	{"DELETE", "/networks/{id}", network_remove},
	{"POST", "/networks/{id}/connect", network_connect},
	{"POST", "/networks/{id}/disconnect", network_disconnect},
	{NULL, NULL, NULL},
};
