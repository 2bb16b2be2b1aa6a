/* GET /containers/{id}/stats and POST /containers/{id}/update: request
 * parsing and the answer; sampling and the update are daemon/stats.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/stats.h"

static struct berth_container *get_ctr(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_container *ct = berth_container_get(d->containers, r->params[0], &err);
	if (!ct)
		berth_http_respond_error(c, &err);
	return ct;
}

static bool conn_gone(void *ctx) { return berth_http_peer_gone(ctx); }

static int emit_frame(void *ctx, json_t *frame) { return berth_http_stream_json(ctx, frame); }

static void ctr_stats(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	bool stream = berth_http_query_bool(r, "stream", true);
	bool one_shot = r->api_minor >= 41 && berth_http_query_bool(r, "one-shot", false);
	struct berth_container *ct = get_ctr(d, r, c);
	if (!ct)
		return;
	if (stream && one_shot) {
		berth_http_respond_msg(c, 400, "cannot have stream=true and one-shot=true");
	} else if (!stream) {
		json_t *f = berth_ctr_stats_once(d, ct, one_shot, conn_gone, c);
		if (f)
			berth_http_respond_json(c, 200, f);
	} else if (berth_http_stream_begin(c, 200, NULL) == 0) {
		berth_ctr_stats_stream(d, ct, emit_frame, conn_gone, c);
		berth_http_stream_end(c);
	}
	berth_container_put(d->containers, ct);
}

/* ---- update ---- */

static void ctr_update(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!berth_api_require_json(r, c))
		return;
	struct berth_error err = {0};
	cleanup_json json_t *req = NULL;
	if (berth_http_body_json(c, 1 << 20, &req, &err) < 0) {
		berth_http_respond_msg(c, 500, "%s", err.msg);
		return;
	}
	if (!req) {
		berth_http_respond_msg(c, 500, "EOF");
		return;
	}
	if (berth_input_check_update(req, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* the router: PidsLimit needs API 1.40; 0 and negative mean unlimited */
	json_t *pl = json_object_get(req, "PidsLimit");
	if (r->api_minor < 40)
		json_object_del(req, "PidsLimit");
	else if (json_is_integer(pl) && json_integer_value(pl) <= 0)
		json_object_set_new(req, "PidsLimit", json_integer(0));
	else if (json_is_null(pl))
		json_object_del(req, "PidsLimit");

	struct berth_container *ct = get_ctr(d, r, c);
	if (!ct)
		return;
	json_t *warnings = NULL;
	if (berth_ctr_update(d, ct, req, &warnings, &err) < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 200, json_pack("{s:o}", "Warnings", warnings ? warnings : json_null()));
	berth_container_put(d->containers, ct);
}

const struct berth_route berth_routes_stats[] = {
	{"GET", "/containers/{id}/stats", ctr_stats},
	{"POST", "/containers/{id}/update", ctr_update},
	{NULL, NULL, NULL},
};
