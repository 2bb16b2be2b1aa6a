/* Image endpoints: list, inspect, history, tag, delete, prune, import, load,
 * save, and the image part of system df. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/images_pull.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include "image/archive.h"
#include "image/import.h"
#include "image/store.h"

static void image_list(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* legacy ?filter=name */
	const char *legacy = berth_http_query(r, "filter");
	if (legacy && *legacy) {
		json_t *refs = json_object_get(filters, "reference");
		if (!refs) {
			refs = json_array();
			json_object_set_new(filters, "reference", refs);
		}
		json_array_append_new(refs, json_string(legacy));
	}
	static const char *const allowed[] = {"dangling", "label", "before", "since", "reference", NULL};
	if (berth_api_filters_check(filters, allowed, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *list = berth_image_list(d->images, filters, berth_http_query_bool(r, "all", false), &err);
	if (!list) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, list);
}

static void image_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	json_t *j = berth_image_inspect(d->images, r->params[0], &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

static void image_history(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	json_t *j = berth_image_history(d->images, r->params[0], &err);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

static void image_tag(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	const char *repo = berth_http_query(r, "repo");
	const char *tag = berth_http_query(r, "tag");
	if (!repo || !*repo) {
		berth_http_respond_msg(c, 400, "repository name must have at least one component");
		return;
	}
	if (berth_image_tag(d->images, r->params[0], repo, tag && *tag ? tag : NULL, NULL, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_empty(c, 201);
}

static void image_delete(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	pthread_mutex_lock(&d->store_lock);
	json_t *j = berth_image_delete(d->images, r->params[0], berth_http_query_bool(r, "force", false),
				       !berth_http_query_bool(r, "noprune", false), &err);
	pthread_mutex_unlock(&d->store_lock);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

static void image_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	static const char *const allowed[] = {"dangling", "until", "label", "label!", NULL};
	if (berth_api_filters_check(filters, allowed, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	pthread_mutex_lock(&d->store_lock);
	json_t *j = berth_image_prune(d->images, filters, &err);
	pthread_mutex_unlock(&d->store_lock);
	if (!j) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, j);
}

/* Collect every value of a repeated query parameter. */
static char **query_all(struct berth_http_req *r, const char *name)
{
	char **v = NULL;
	for (size_t i = 0; i < r->nquery; i++)
		if (!strcmp(r->query[i].k, name))
			berth_strv_push(&v, r->query[i].v);
	return v;
}

static void save_names(struct berth_daemon *d, struct berth_http_conn *c, char **names)
{
	struct berth_error err = {0};
	struct berth_image_save_set *set = berth_image_save_prepare(d->images, names, berth_strv_len(names), &err);
	if (!set) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_stream_begin(c, 200, "application/x-tar");
	struct berth_writer w = berth_http_stream_writer(c);
	if (berth_image_save_write(d->images, set, &w, &err) < 0) {
		/* the tar is already partly sent: drop the connection so the client sees a short read */
		berth_log(&d->log, BERTH_LOG_ERROR, "save: %s", err.msg);
		shutdown(berth_http_fd(c), SHUT_RDWR);
	}
}

static void image_get_one(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	char *names[] = {r->params[0], NULL};
	save_names(d, c, names);
}

static void image_get_many(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	char **names = query_all(r, "names");
	if (!names) {
		berth_http_respond_msg(c, 400, "no images specified");
		return;
	}
	save_names(d, c, names);
	berth_strv_free(names);
}

static void image_load(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_reader in = berth_http_body_reader(c);
	char **lines = NULL;
	int rc = berth_image_load(d->images, &in, NULL, &lines, &err);
	(void)r;
	/* As dockerd (quiet or not): 200, and a failure is the stream's last
	 * message, where clients look for it (docker load prints it, exits 1). */
	berth_http_stream_begin(c, 200, "application/json");
	for (size_t i = 0; lines && lines[i]; i++) {
		cleanup_free char *s = berth_strdup_printf("%s\n", lines[i]);
		json_t *m = json_pack("{s:s}", "stream", s);
		berth_http_stream_json(c, m);
		json_decref(m);
	}
	berth_strv_free(lines);
	if (rc < 0) {
		json_t *m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err.msg, "error", err.msg);
		if (!m) /* a message that is not UTF-8 */
			m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", "image load failed", "error",
				      "image load failed");
		berth_http_stream_json(c, m);
		json_decref(m);
	}
}

static void image_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	const char *from_src = berth_http_query(r, "fromSrc");
	const char *from_image = berth_http_query(r, "fromImage");
	if (!from_src || !*from_src) {
		if (from_image && *from_image)
			berth_api_image_pull(d, r, c);
		else
			berth_http_respond_msg(c, 400, "fromImage or fromSrc is required");
		return;
	}
	if (strcmp(from_src, "-") != 0) {
		berth_http_respond_msg(
			c, 501, "importing from a URL (%s) is not supported: send the tarball in the body", from_src);
		return;
	}
	char **changes = query_all(r, "changes");
	struct berth_image_import_opts o = {.repo = berth_http_query(r, "repo"),
					    .tag = berth_http_query(r, "tag"),
					    .message = berth_http_query(r, "message"),
					    .changes = changes,
					    .n_changes = berth_strv_len(changes)};
	char id[BERTH_DIGEST_LEN + 1];
	int rc = berth_image_import_check(&o, &err);
	if (rc == 0) {
		struct berth_reader in = berth_http_body_reader(c);
		rc = berth_image_import(d->images, &in, &o, id, &err);
	}
	berth_strv_free(changes);
	if (rc < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* dockerd: {"status":"sha256:..."} (the message line ends in CRLF, the ID does not) */
	berth_http_stream_begin(c, 200, "application/json");
	json_t *m = json_pack("{s:s}", "status", id);
	berth_http_stream_json(c, m);
	json_decref(m);
}

static void system_df(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)r;
	struct berth_error err = {0};
	json_t *img = berth_image_df(d->images, &err);
	if (!img) {
		berth_http_respond_error(c, &err);
		return;
	}
	json_t *out = json_object();
	json_object_set(out, "LayersSize", json_object_get(img, "LayersSize"));
	json_object_set(out, "Images", json_object_get(img, "Images"));
	json_object_set_new(out, "Containers", berth_api_df_containers(d));
	json_t *vols = d->volumes ? berth_volumes_df(d->volumes) : NULL;
	json_object_set_new(out, "Volumes", vols ? vols : json_array());
	json_object_set_new(out, "BuildCache", json_array());
	json_decref(img);
	berth_http_respond_json(c, 200, out);
}

const struct berth_route berth_routes_images[] = {
	{"GET", "/images/json", image_list},
	{"GET", "/images/get", image_get_many},
	{"POST", "/images/load", image_load},
	{"POST", "/images/create", image_create},
	{"POST", "/images/prune", image_prune},
	{"GET", "/images/{name*}/json", image_inspect},
	{"GET", "/images/{name*}/history", image_history},
	{"GET", "/images/{name*}/get", image_get_one},
	{"POST", "/images/{name*}/tag", image_tag},
	{"DELETE", "/images/{name*}", image_delete},
	{"GET", "/system/df", system_df},
	{NULL, NULL, NULL},
};
