/* Container streams: logs, attach (hijacked), resize, and exec. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/attach.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/exec.h"
#include "daemon/stream.h"
#include "logger/logger.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r,
					    struct berth_http_conn *c);

/* 8-byte stdcopy header + payload. */
static int write_frame(struct berth_http_conn *c, int stream, const char *data, size_t len)
{
	unsigned char h[8];
	berth_stdcopy_header(h, stream, len);
	struct berth_buf b = {0};
	berth_buf_append(&b, h, 8);
	berth_buf_append(&b, data, len);
	int rc = berth_http_stream_write(c, b.data, b.len);
	berth_buf_free(&b);
	return rc;
}

struct logs_ctx {
	struct berth_http_conn *c;
	bool tty, timestamps, want_out, want_err;
};

static int emit_entry(struct logs_ctx *lc, const struct berth_log_entry *e)
{
	if ((e->stream == BERTH_LOG_STDOUT && !lc->want_out) || (e->stream == BERTH_LOG_STDERR && !lc->want_err))
		return 0;
	struct berth_buf b = {0};
	if (lc->timestamps) {
		char ts[64];
		berth_log_time_format(e->ts_ns, ts, sizeof(ts));
		berth_buf_printf(&b, "%s ", ts);
	}
	berth_buf_append(&b, e->line, e->len);
	int rc = lc->tty ? berth_http_stream_write(lc->c, b.data, b.len) : write_frame(lc->c, e->stream, b.data, b.len);
	berth_buf_free(&b);
	return rc;
}

static int parse_time_q(struct berth_http_req *r, const char *name, int64_t *ns)
{
	const char *v = berth_http_query(r, name);
	*ns = 0;
	if (!v || !*v || !strcmp(v, "0"))
		return 0;
	return berth_time_parse(v, ns);
}

static void ctr_logs(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct logs_ctx lc = {.c = c,
			      .timestamps = berth_http_query_bool(r, "timestamps", false),
			      .want_out = berth_http_query_bool(r, "stdout", false),
			      .want_err = berth_http_query_bool(r, "stderr", false)};
	struct berth_log_read_opts o = {.tail = -1, .follow = berth_http_query_bool(r, "follow", false)};
	const char *tail = berth_http_query(r, "tail");
	if (tail && *tail && strcmp(tail, "all"))
		o.tail = atol(tail);
	char driver[64] = "", path[4096] = "";
	struct berth_error derr = {0};
	pthread_mutex_lock(&ct->mu);
	json_t *doc = berth_container_doc(ct, &derr);
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		berth_container_put(d->containers, ct);
		berth_http_respond_error(c, &derr);
		return;
	}
	json_t *lcfg = jobj(jobj(doc, "HostConfig"), "LogConfig");
	const char *ltype = jstr_ne(lcfg, "Type");
	snprintf(driver, sizeof(driver), "%s", ltype ? ltype : "json-file");
	bool readable = berth_log_can_read(driver, jobj(lcfg, "Config"));
	cleanup_json json_t *lopts = json_incref(jobj(lcfg, "Config"));
	snprintf(path, sizeof(path), "%s", jstr(doc, "LogPath") ? jstr(doc, "LogPath") : "");
	lc.tty = jbool(jobj(doc, "Config"), "Tty", false);
	pthread_mutex_unlock(&ct->mu);
	if (!lc.want_out && !lc.want_err) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 400, "Bad parameters: you must choose at least one stream");
		return;
	}
	if (parse_time_q(r, "since", &o.since_ns) < 0 || parse_time_q(r, "until", &o.until_ns) < 0) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 400, "invalid value for since/until");
		return;
	}
	if (!readable) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 501, "configured logging driver does not support reading");
		return;
	}
	struct berth_error err = {0};
	if (!path[0]) {
		char *cdir = berth_ctr_dir(d, ct->id);
		char *lf = berth_log_file_path(cdir, driver, NULL);
		snprintf(path, sizeof(path), "%s", lf);
		free(lf);
		free(cdir);
	}
	struct berth_log_reader *rd = berth_log_reader_open_cfg(driver, lopts, path, &o, &err);
	if (!rd && err.kind != BERTH_E_NOT_FOUND) {
		berth_container_put(d->containers, ct);
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_stream_begin(c, 200, "application/vnd.docker.raw-stream");
	while (rd) {
		struct berth_log_entry e = {0};
		int n = berth_log_reader_next(rd, &e, &err);
		if (n == BERTH_LOG_ENTRY) {
			int wr = emit_entry(&lc, &e);
			berth_log_entry_clear(&e);
			if (wr < 0)
				break;
			continue;
		}
		if (n != BERTH_LOG_AGAIN)
			break;
		/* following: stop when the container is no longer running (after draining) */
		pthread_mutex_lock(&ct->mu);
		bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED || ct->state == CS_RESTARTING;
		pthread_mutex_unlock(&ct->mu);
		if (!running) {
			/* one more pass for what was written last */
			struct berth_log_entry e2 = {0};
			while (berth_log_reader_next(rd, &e2, &err) == BERTH_LOG_ENTRY) {
				emit_entry(&lc, &e2);
				berth_log_entry_clear(&e2);
			}
			break;
		}
		struct pollfd pf[2] = {{.fd = berth_log_reader_fd(rd), .events = POLLIN},
				       {.fd = berth_http_fd(c), .events = POLLRDHUP}};
		int pr = poll(pf, pf[0].fd >= 0 ? 2 : 1, 250);
		if (pf[0].fd < 0)
			pr = poll(&pf[1], 1, 250);
		(void)pr;
		if (berth_http_peer_gone(c))
			break;
	}
	if (rd)
		berth_log_reader_close(rd);
	berth_container_put(d->containers, ct);
}

struct hijack_ctx {
	struct berth_http_conn *c;
};

static int hijack_cb(void *ctx, const void **pending, size_t *npending)
{
	struct hijack_ctx *h = ctx;
	return berth_http_hijack(h->c, "application/vnd.docker.raw-stream", pending, npending);
}

static void ctr_attach(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	struct hijack_ctx h = {.c = c};
	struct berth_ctr_attach_opts o = {.ref = r->params[0],
					  .stream = berth_http_query_bool(r, "stream", false),
					  .logs = berth_http_query_bool(r, "logs", false),
					  .in = berth_http_query_bool(r, "stdin", false),
					  .out = berth_http_query_bool(r, "stdout", false),
					  .err = berth_http_query_bool(r, "stderr", false),
					  .detach_keys = berth_http_query(r, "detachKeys"),
					  .hijack = hijack_cb,
					  .hijack_ctx = &h};
	if (berth_ctr_attach(d, ct, &o, &err) < 0)
		berth_http_respond_error(c, &err);
	berth_container_put(d->containers, ct);
}

static void ctr_resize(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int h = (int)berth_http_query_int(r, "h", 0), w = (int)berth_http_query_int(r, "w", 0);
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED || ct->shim_ready;
	pthread_mutex_unlock(&ct->mu);
	int rc;
	if (!running) {
		rc = berth_err(&err, BERTH_E_CONFLICT, "Container %s is not running", ct->id);
	} else {
		cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
		rc = berth_shim_resize(state_dir, NULL, w, h, &err);
		if (rc == 0)
			berth_ctr_event(d, ct, "resize",
					json_pack("{s:s%, s:s%}", "height", berth_http_query(r, "h") ?: "0",
						  strlen(berth_http_query(r, "h") ?: "0"), "width",
						  berth_http_query(r, "w") ?: "0",
						  strlen(berth_http_query(r, "w") ?: "0")));
	}
	berth_container_put(d->containers, ct);
	if (rc < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond(c, 200, "text/plain; charset=utf-8", NULL, 0);
}

static void exec_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!berth_api_require_json(r, c)) /* dockerd's CheckForJSON, before the lookup */
		return;
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	char id[65];
	if (berth_http_body_json(c, 1 << 20, &body, &err) < 0 || berth_input_check_exec_create(body, &err) < 0 ||
	    !json_is_object(body)) {
		if (!body && !err.msg[0])
			berth_err(&err, BERTH_E_INVALID, "No exec command specified");
		berth_http_respond_error(c, &err);
	} else if (berth_exec_create(d, ct, body, id, &err) < 0) {
		berth_http_respond_error(c, &err);
	} else {
		berth_http_respond_json(c, 201, json_pack("{s:s}", "Id", id));
	}
	berth_container_put(d->containers, ct);
}

static void exec_start(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (r->api_minor > 21 && !berth_api_require_json(r, c)) /* dockerd's CheckForJSON */
		return;
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	if (berth_http_body_json(c, 1 << 20, &body, &err) < 0 || berth_input_check_exec_start(body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	struct hijack_ctx h = {.c = c};
	struct berth_exec_start_opts o = {.detach = jbool(body, "Detach", false),
					  .tty = jbool(body, "Tty", false),
					  .hijack = hijack_cb,
					  .hijack_ctx = &h};
	if (berth_exec_start(d, r->params[0], &o, &err) < 0)
		berth_http_respond_error(c, &err);
	else if (o.detach)
		berth_http_respond_empty(c, 200);
}

static void exec_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_exec *e = berth_exec_get(d->execs, r->params[0], &err);
	if (!e) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, berth_exec_inspect(d->execs, e));
	berth_exec_put(d->execs, e);
}

static void exec_resize(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_exec *e = berth_exec_get(d->execs, r->params[0], &err);
	if (!e) {
		berth_http_respond_error(c, &err);
		return;
	}
	cleanup_free char *state_dir = berth_ctr_state_dir(d, e->container_id);
	int rc = berth_shim_resize(state_dir, e->id, (int)berth_http_query_int(r, "w", 0),
				   (int)berth_http_query_int(r, "h", 0), &err);
	berth_exec_put(d->execs, e);
	if (rc < 0)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond(c, 200, "text/plain; charset=utf-8", NULL, 0);
}

const struct berth_route berth_routes_containers_io[] = {
	{"GET", "/containers/{id}/logs", ctr_logs},      {"POST", "/containers/{id}/attach", ctr_attach},
	{"POST", "/containers/{id}/resize", ctr_resize}, {"POST", "/containers/{id}/exec", exec_create},
	{"POST", "/exec/{id}/start", exec_start},        {"POST", "/exec/{id}/resize", exec_resize},
	{"GET", "/exec/{id}/json", exec_inspect},        {NULL, NULL, NULL},
};
