/* Registry endpoints other than pull: POST /images/{name}/push, POST /auth,
 * GET /images/search. The work is in distribution/ (push.c, login.c). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "distribution/authconfig.h"
#include "distribution/blobmeta.h"
#include "distribution/login.h"
#include "distribution/push.h"
#include "image/reference.h"

#define AUTH_BODY_MAX (64 * 1024)

struct stream_ctx {
	struct berth_http_conn *c;
};

static void stream_emit(void *ctx, json_t *msg)
{
	struct stream_ctx *s = ctx;
	berth_http_stream_json(s->c, msg);
}

static int stream_cancelled(void *ctx)
{
	struct stream_ctx *s = ctx;
	return berth_http_peer_gone(s->c);
}

static void stream_error(struct berth_http_conn *c, const char *msg)
{
	json_t *m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", msg, "error", msg);
	if (!m)
		m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", "push failed", "error", "push failed");
	berth_http_stream_json(c, m);
	json_decref(m);
}

/* Read a small JSON body (NULL when empty); -1 with err for a bad one. */
static int read_json_body(struct berth_http_conn *c, json_t **out, struct berth_error *err)
{
	*out = NULL;
	struct berth_buf b = {0};
	char buf[4096];
	ssize_t n;
	while ((n = berth_http_body_read(c, buf, sizeof(buf))) > 0) {
		if (b.len + (size_t)n > AUTH_BODY_MAX) {
			explicit_bzero(b.data, b.len);
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INVALID, "request body too large");
		}
		berth_buf_append(&b, buf, (size_t)n);
	}
	if (n < 0) {
		berth_buf_free(&b);
		return berth_err(err, BERTH_E_INVALID, "error reading request body");
	}
	if (b.len) {
		json_error_t je;
		*out = json_loadb(b.data, b.len, 0, &je);
		explicit_bzero(b.data, b.len);
		berth_buf_free(&b);
		if (!*out)
			return berth_err(err, BERTH_E_INVALID, "invalid character in request body: %s", je.text);
	}
	return 0;
}

static void image_push(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_auth_config auth = {0};
	const char *hdr = berth_http_header(r, "X-Registry-Auth");
	if (hdr && *hdr) {
		if (berth_auth_config_decode(hdr, &auth, &err) < 0) {
			berth_http_respond_error(c, &err);
			return;
		}
	} else {
		/* the old format: AuthConfig as the body */
		json_t *body = NULL;
		if (read_json_body(c, &body, &err) < 0 || !body || berth_auth_config_from_json(body, &auth, &err) < 0) {
			json_decref(body);
			berth_http_respond_msg(c, 400, "Bad parameters and missing X-Registry-Auth: %s",
					       err.kind ? err.msg : "EOF");
			return;
		}
		json_decref(body);
	}
	const char *name = r->params[0], *tag = berth_http_query(r, "tag");
	struct berth_ref ref;
	if (berth_ref_parse_normalized(name, &ref, &err) < 0 ||
	    (tag && *tag && berth_ref_with_tag(&ref, tag, &err) < 0)) {
		berth_auth_config_free(&auth);
		berth_http_respond_error(c, &err);
		return;
	}
	if (berth_blobmeta_init(d->db, &err) < 0) {
		berth_auth_config_free(&auth);
		berth_http_respond_error(c, &err);
		return;
	}
	struct stream_ctx sc = {.c = c};
	struct berth_push_opts o = {.images = d->images,
				    .db = d->db,
				    .registry = &d->cfg.registry,
				    .auth = &auth,
				    .emit = stream_emit,
				    .ctx = &sc,
				    .cancelled = stream_cancelled,
				    .log = &d->log,
				    .data_root = d->cfg.data_root};
	berth_http_stream_begin(c, 200, "application/json");
	if (berth_push(&o, name, tag, &err) < 0)
		stream_error(c, err.msg);
	berth_auth_config_free(&auth);
}

static void auth_login(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)r;
	struct berth_error err = {0};
	json_t *body = NULL;
	struct berth_auth_config auth = {0};
	if (read_json_body(c, &body, &err) < 0 ||
	    berth_auth_config_from_json(body ? body : json_object(), &auth, &err) < 0) {
		json_decref(body);
		berth_http_respond_error(c, &err);
		return;
	}
	json_decref(body);
	char *token = NULL;
	int rc = berth_registry_login(&d->cfg.registry, &auth, &token, &err);
	berth_auth_config_free(&auth);
	if (rc < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *out = json_pack("{s:s, s:s}", "IdentityToken", token ? token : "", "Status", "Login Succeeded");
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	berth_http_respond_json(c, 200, out);
}

static void image_search(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_auth_config auth = {0};
	if (berth_auth_config_decode(berth_http_header(r, "X-Registry-Auth"), &auth, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	const char *term = berth_http_query(r, "term");
	int64_t limit = berth_http_query_int(r, "limit", 0);
	json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_auth_config_free(&auth);
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *res = berth_registry_search(&d->cfg.registry, &auth, term ? term : "", limit, filters, &err);
	json_decref(filters);
	berth_auth_config_free(&auth);
	if (!res) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, res);
}

const struct berth_route berth_routes_distribution[] = {
	{"POST", "/images/{name*}/push", image_push},
	{"POST", "/auth", auth_login},
	{"GET", "/images/search", image_search},
	{NULL, NULL, NULL},
};
