/* Files in and out of containers: GET/HEAD/PUT /containers/{name}/archive and
 * GET /containers/{name}/export (docker's api/server/router/container/copy.go). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/api.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/archive.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r,
					    struct berth_http_conn *c);

/* A buffered chunked-stream writer: fewer, bigger chunks than libarchive's blocks. */
#define OUT_BUF (512 * 1024)
struct out {
	struct berth_http_conn *c;
	struct berth_buf b;
	const char *ctype;
	bool failed;
};

static int out_flush(struct out *o)
{
	if (o->b.len && !o->failed && berth_http_stream_write(o->c, o->b.data, o->b.len) < 0)
		o->failed = true;
	o->b.len = 0;
	return o->failed ? -1 : 0;
}

static int out_write(void *ctx, const void *data, size_t len)
{
	struct out *o = ctx;
	if (o->failed)
		return -1;
	if (o->b.len + len > OUT_BUF && out_flush(o) < 0)
		return -1;
	if (len >= OUT_BUF)
		return berth_http_stream_write(o->c, data, len) < 0 ? (o->failed = true, -1) : 0;
	return berth_buf_append(&o->b, data, len);
}

static int begin_archive(void *ctx, const struct berth_path_stat *st)
{
	struct out *o = ctx;
	cleanup_free char *hdr = NULL;
	if (st) {
		cleanup_free char *enc = berth_path_stat_encode(st);
		if (!enc)
			return -1;
		hdr = berth_strdup_printf("X-Docker-Container-Path-Stat: %s\r\n", enc);
		if (!hdr)
			return -1;
	}
	return berth_http_stream_begin_ex(o->c, 200, o->ctype, hdr);
}

/* After an error: answer it, or cut a stream that already started so the
 * client sees a broken transfer rather than a short, valid-looking tar. */
static void finish(struct berth_http_conn *c, struct out *o, int rc, const struct berth_error *err)
{
	if (rc == 0)
		rc = out_flush(o);
	berth_buf_free(&o->b);
	if (rc == 0)
		return;
	if (!berth_http_responded(c))
		berth_http_respond_error(c, err);
	else
		shutdown(berth_http_fd(c), SHUT_RDWR);
}

static const char *path_param(struct berth_http_req *r, struct berth_http_conn *c)
{
	const char *path = berth_http_query(r, "path");
	if (!path || !*path) {
		/* sic: docker's badParameterError */
		berth_http_respond_msg(c, 400, "bad parameter: pathcannot be empty");
		return NULL;
	}
	return path;
}

static void ctr_archive_get(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	const char *path = path_param(r, c);
	if (!path)
		return;
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	if (!strcmp(r->method, "HEAD")) {
		struct berth_path_stat st;
		if (berth_ctr_archive_stat(d, ct, r->params[0], path, &st, &err) < 0) {
			berth_http_respond_error(c, &err);
		} else {
			cleanup_free char *enc = berth_path_stat_encode(&st);
			cleanup_free char *hdr =
				berth_strdup_printf("X-Docker-Container-Path-Stat: %s\r\n", enc ? enc : "");
			berth_http_respond_ex(c, 200, NULL, hdr, NULL, 0);
			berth_path_stat_free(&st);
		}
		berth_container_put(d->containers, ct);
		return;
	}
	struct out o = {.c = c, .ctype = "application/x-tar"};
	struct berth_writer w = {out_write, &o};
	int rc = berth_ctr_archive_get(d, ct, r->params[0], path, begin_archive, &o, &w, &err);
	berth_container_put(d->containers, ct);
	finish(c, &o, rc, &err);
}

static void ctr_archive_put(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	const char *path = path_param(r, c);
	if (!path)
		return;
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	struct berth_reader in = berth_http_body_reader(c);
	int rc = berth_ctr_archive_put(d, ct, r->params[0], path,
				       berth_http_query_bool(r, "noOverwriteDirNonDir", false),
				       berth_http_query_bool(r, "copyUIDGID", false), &in, &err);
	berth_container_put(d->containers, ct);
	if (rc < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_empty(c, 200);
}

static void ctr_export(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	if (!strcmp(r->method, "HEAD")) { /* no body to send: do not run the export */
		berth_container_put(d->containers, ct);
		berth_http_respond_ex(c, 200, "application/x-tar", NULL, NULL, 0);
		return;
	}
	pthread_mutex_lock(&ct->mu);
	enum berth_cstate st = ct->state;
	bool removing = ct->removed || st == CS_REMOVING;
	pthread_mutex_unlock(&ct->mu);
	int rc = 0;
	if (st == CS_DEAD)
		rc = berth_err(&err, BERTH_E_CONFLICT, "You cannot export container %s which is Dead", ct->id);
	else if (removing)
		rc = berth_err(&err, BERTH_E_CONFLICT, "You cannot export container %s which is being removed", ct->id);
	struct out o = {.c = c, .ctype = "application/x-tar"};
	struct berth_writer w = {out_write, &o};
	if (rc == 0)
		rc = berth_ctr_export(d, ct, begin_archive, &o, &w, &err);
	berth_container_put(d->containers, ct);
	finish(c, &o, rc, &err);
}

const struct berth_route berth_routes_archive[] = {
	{"GET", "/containers/{name}/archive", ctr_archive_get},
	{"PUT", "/containers/{name}/archive", ctr_archive_put},
	{"GET", "/containers/{name}/export", ctr_export},
	{NULL, NULL, NULL},
};
