/* GET /containers/{name}/changes and POST /commit. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/commit.h"
#include "daemon/container.h"
#include "daemon/daemon.h"

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r,
					    struct berth_http_conn *c);

static void ctr_changes(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	json_t *changes = berth_ctr_changes(d, ct, &err);
	berth_container_put(d->containers, ct);
	if (!changes)
		berth_http_respond_error(c, &err);
	else if (json_is_null(changes)) /* nothing changed: docker answers null */
		berth_http_respond(c, 200, "application/json", "null\n", 5);
	else
		berth_http_respond_json(c, 200, changes);
}

/* The optional container config body; docker's CLI sends "null" when it has none. */
static int body_config(struct berth_http_conn *c, json_t **out, struct berth_error *err)
{
	struct berth_buf b = {0};
	char tmp[16384];
	*out = NULL;
	for (;;) {
		ssize_t n = berth_http_body_read(c, tmp, sizeof(tmp));
		if (n < 0 || b.len + (size_t)n > (4u << 20)) {
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INVALID,
					 n < 0 ? "error reading request body" : "request body too large");
		}
		if (n == 0)
			break;
		berth_buf_append(&b, tmp, (size_t)n);
	}
	json_error_t je;
	json_t *j = b.len ? json_loadb(b.data, b.len, JSON_DECODE_ANY, &je) : NULL;
	bool blank = true;
	for (size_t i = 0; i < b.len && blank; i++)
		blank = b.data[i] == ' ' || b.data[i] == '\n' || b.data[i] == '\r' || b.data[i] == '\t';
	berth_buf_free(&b);
	if (!j && !blank)
		return berth_err(err, BERTH_E_INVALID, "invalid JSON: %s", je.text);
	if (j && !json_is_object(j) && !json_is_null(j)) {
		json_decref(j);
		return berth_err(err, BERTH_E_INVALID, "json: cannot unmarshal into Go value of type container.Config");
	}
	*out = j;
	return 0;
}

static void commit(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!berth_api_require_json(r, c)) /* dockerd's CheckForJSON */
		return;
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	if (body_config(c, &body, &err) < 0 || berth_input_check_commit(body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	char **changes = NULL;
	for (size_t i = 0; i < r->nquery; i++)
		if (!strcmp(r->query[i].k, "changes") && r->query[i].v && *r->query[i].v)
			berth_strv_push(&changes, r->query[i].v);
	struct berth_commit_opts o = {.container = berth_http_query(r, "container"),
				      .repo = berth_http_query(r, "repo"),
				      .tag = berth_http_query(r, "tag"),
				      .author = berth_http_query(r, "author"),
				      .comment = berth_http_query(r, "comment"),
				      .changes = changes,
				      .nchanges = berth_strv_len(changes),
				      .pause = berth_http_query_bool(r, "pause", true),
				      .config = json_is_object(body) ? body : NULL};
	char id[BERTH_DIGEST_LEN + 1];
	int rc = berth_ctr_commit(d, &o, id, &err);
	berth_strv_free(changes);
	if (rc < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 201, json_pack("{s:s}", "Id", id));
}

const struct berth_route berth_routes_commit[] = {
	{"GET", "/containers/{name}/changes", ctr_changes},
	{"POST", "/commit", commit},
	{NULL, NULL, NULL},
};
