/* Container endpoints: create, start, stop, restart, kill, wait, remove,
 * list, inspect, pause, unpause, rename, top, prune. Streams (logs, attach,
 * exec) are in containers_io.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/exec.h"
#include "daemon/networks.h"
#include "daemon/top.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "storage/layer_store.h"

extern char **environ;

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_container *ct = berth_container_get(d->containers, r->params[0], &err);
	if (!ct)
		berth_http_respond_error(c, &err);
	return ct;
}

static void ctr_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	if (!berth_api_require_json(r, c))
		return;
	if (berth_http_body_json(c, 4 << 20, &body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* dockerd decodes the whole body into its Go structs before anything else */
	if (berth_input_check_create(body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	if (!body || json_is_null(body)) {
		berth_http_respond_msg(c, 400, "Config cannot be empty in order to create a container");
		return;
	}
	json_t *resp = NULL;
	if (berth_ctr_create(d, berth_http_query(r, "name"), body, &resp, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 201, resp);
}

static void respond_op(struct berth_http_conn *c, int rc, struct berth_error *err)
{
	if (rc < 0 && err->kind == BERTH_E_NOT_MODIFIED)
		berth_http_respond_empty(c, 304);
	else if (rc < 0)
		berth_http_respond_error(c, err);
	else
		berth_http_respond_empty(c, 204);
}

static void ctr_start(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_start_user(d, ct, r->recv_ns, &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static int query_timeout(struct berth_http_req *r)
{
	const char *t = berth_http_query(r, "t");
	return t && *t ? atoi(t) : -1;
}

static void ctr_stop(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_stop(d, ct, query_timeout(r), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_restart(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_restart(d, ct, query_timeout(r), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_kill(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_kill(d, ct, berth_http_query(r, "signal"), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_pause(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_pause(d, ct, berth_str_has_suffix(r->path, "/pause"), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static bool conn_gone(void *ctx) { return berth_http_peer_gone(ctx); }

static void ctr_wait(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int64_t code = 0;
	const char *cond = berth_http_query(r, "condition");
	if (cond && *cond && strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	/* docker sends the headers at once and the body at the exit */
	berth_http_stream_begin(c, 200, "application/json");
	int rc = berth_ctr_wait(d, ct, cond, conn_gone, c, &code, &err);
	berth_container_put(d->containers, ct);
	if (rc < 0)
		return;
	json_t *j = json_pack("{s:I, s:n}", "StatusCode", (json_int_t)code, "Error");
	berth_http_stream_json(c, j);
	json_decref(j);
}

static void ctr_delete(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	if (berth_http_query_bool(r, "link", false)) { /* legacy link "/parent/alias" (daemon/networks.h) */
		if (berth_networks_remove_link(d, r->params[0], &err) < 0)
			berth_http_respond_error(c, &err);
		else
			berth_http_respond_empty(c, 204);
		return;
	}
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	int rc = berth_ctr_remove_req(d, ct, berth_http_query_bool(r, "force", false),
				      berth_http_query_bool(r, "v", false), r->recv_ns, &err);
	if (rc == 0)
		berth_execs_drop_container(d->execs, ct->id);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_list(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	int limit = (int)berth_http_query_int(r, "limit", -1);
	if (berth_http_query_bool(r, "latest", false))
		limit = 1;
	struct berth_buf out = {0};
	if (berth_ctr_list_write(d, filters, berth_http_query_bool(r, "all", false), limit,
				 berth_http_query_bool(r, "size", false), &out, &err) < 0 ||
	    berth_buf_putc(&out, '\n') < 0) {
		berth_buf_free(&out);
		if (!err.kind)
			berth_err(&err, BERTH_E_INTERNAL, "out of memory");
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond(c, 200, "application/json", out.data, out.len);
	berth_buf_free(&out);
}

static void ctr_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	json_t *j = berth_ctr_inspect(d, ct, berth_http_query_bool(r, "size", false), &err);
	if (!j) {
		berth_container_put(d->containers, ct);
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *ids = berth_exec_ids(d->execs, ct->id);
	json_object_set_new(j, "ExecIDs", json_array_size(ids) ? ids : json_null());
	if (!json_array_size(ids))
		json_decref(ids);
	berth_container_put(d->containers, ct);
	berth_http_respond_json(c, 200, j);
}

static void ctr_rename(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	const char *name = berth_http_query(r, "name");
	char old[256];
	snprintf(old, sizeof(old), "%s", ct->name + 1);
	int rc = !name || !*name ? berth_err(&err, BERTH_E_INVALID, "Neither old nor new names may be empty") :
		 berth_input_check_name(name, &err) < 0 ? -1 : /* too long: refused, never cut */
							  berth_container_rename(d->containers, ct, name, &err);
	if (rc == 0)
		berth_ctr_event(d, ct, "rename", json_pack("{s:s}", "oldName", old));
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_top(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	json_t *out = NULL;
	int rc = berth_ctr_top(d, ct, berth_http_query(r, "ps_args"), &out, &err);
	berth_container_put(d->containers, ct);
	if (rc < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 200, out);
}

static void ctr_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	json_t *out = NULL;
	if (!filters || berth_ctr_prune(d, filters, &out, &err) < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 200, out);
}

const struct berth_route berth_routes_containers[] = {
	{"POST", "/containers/create", ctr_create},
	{"GET", "/containers/json", ctr_list},
	{"POST", "/containers/prune", ctr_prune},
	{"GET", "/containers/{id}/json", ctr_inspect},
	{"POST", "/containers/{id}/start", ctr_start},
	{"POST", "/containers/{id}/stop", ctr_stop},
	{"POST", "/containers/{id}/restart", ctr_restart},
	{"POST", "/containers/{id}/kill", ctr_kill},
	{"POST", "/containers/{id}/pause", ctr_pause},
	{"POST", "/containers/{id}/unpause", ctr_pause},
	{"POST", "/containers/{id}/wait", ctr_wait},
	{"POST", "/containers/{id}/rename", ctr_rename},
	{"GET", "/containers/{id}/top", ctr_top},
	{"DELETE", "/containers/{id}", ctr_delete},
	{NULL, NULL, NULL},
};
