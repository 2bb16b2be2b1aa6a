/* POST /images/create?fromImage=&tag=&platform= : pull from a registry.
 * The response starts (200, chunked JSON lines) with the first progress
 * message; an error before it is answered with its status as dockerd does
 * (404 "manifest for x:t not found: manifest unknown: manifest unknown"),
 * an error after it as an in-stream {"errorDetail":...,"error":...} line. */
#include "api/handlers/images_pull.h"

#include <string.h>

#include "common/cleanup.h"
#include "daemon/daemon.h"
#include "distribution/authconfig.h"
#include "distribution/pull.h"

struct stream_ctx {
	struct berth_http_conn *c;
	bool begun;
	bool broken;
};

static void on_progress(void *ctx, json_t *msg)
{
	struct stream_ctx *s = ctx;
	if (s->broken)
		return;
	if (!s->begun) {
		if (berth_http_stream_begin(s->c, 200, "application/json") < 0) {
			s->broken = true;
			return;
		}
		s->begun = true;
	}
	if (berth_http_stream_json(s->c, msg) < 0)
		s->broken = true;
}

void berth_api_image_pull(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_auth_config auth = {0};
	if (berth_auth_config_decode(berth_http_header(r, "X-Registry-Auth"), &auth, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	struct stream_ctx s = {.c = c};
	struct berth_pull_opts o = {
		.cfg = &d->cfg.registry,
		.images = d->images,
		.db = d->db,
		.data_root = d->cfg.data_root,
		.from_image = berth_http_query(r, "fromImage"),
		.tag = berth_http_query(r, "tag"),
		.platform = berth_http_query(r, "platform"),
		.auth = &auth,
		.progress = on_progress,
		.ctx = &s,
	};
	int rc = berth_pull(&o, &err);
	berth_auth_config_free(&auth);
	if (rc < 0) {
		if (!s.begun) {
			berth_http_respond_error(c, &err);
			return;
		}
		if (!s.broken) {
			json_t *m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err.msg, "error", err.msg);
			if (m)
				berth_http_stream_json(c, m);
			json_decref(m);
		}
	}
	if (s.begun)
		berth_http_stream_end(c);
	else
		berth_http_respond_empty(c, 200);
}
