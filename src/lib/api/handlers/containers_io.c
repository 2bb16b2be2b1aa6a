/* Container streams: logs, attach (hijacked), resize, and exec. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/exec.h"
#include "logger/logger.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r,
					    struct berth_http_conn *c);

/* 8-byte stdcopy header + payload. */
static int write_frame(struct berth_http_conn *c, int stream, const char *data, size_t len)
{
	unsigned char h[8] = {(unsigned char)stream,
			      0,
			      0,
			      0,
			      (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8),
			      (unsigned char)len};
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
	pthread_mutex_lock(&ct->mu);
	json_t *lcfg = jobj(jobj(ct->doc, "HostConfig"), "LogConfig");
	snprintf(driver, sizeof(driver), "%s", jstr(lcfg, "Type") ? jstr(lcfg, "Type") : "json-file");
	snprintf(path, sizeof(path), "%s", jstr(ct->doc, "LogPath") ? jstr(ct->doc, "LogPath") : "");
	lc.tty = jbool(jobj(ct->doc, "Config"), "Tty", false);
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
	if (strcmp(driver, "json-file") && strcmp(driver, "local")) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 501, "configured logging driver does not support reading");
		return;
	}
	struct berth_error err = {0};
	if (!path[0]) {
		char *cdir = berth_ctr_dir(d, ct->id);
		snprintf(path, sizeof(path), "%s/container.log", cdir);
		free(cdir);
	}
	struct berth_log_reader *rd = berth_log_reader_open(driver, path, &o, &err);
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

/* Copy between the client's socket and a shim stream until the shim ends it
 * (or the client goes away). True when the client may still send.
 * Both directions are buffered and never block each other: a client that
 * sends stdin faster than the container reads it must still get the output
 * (the shim stops reading stdin and output under back-pressure, so one
 * blocking write here would stall both sides). */
#define PROXY_BUF_MAX (1 << 20)

static bool proxy(int client, const void *pending, size_t npending, int shim, bool want_stdin)
{
	struct berth_buf up = {0}, down = {0}; /* client -> shim, shim -> client */
	size_t up_off = 0, down_off = 0;
	if (npending && want_stdin)
		berth_buf_append(&up, pending, npending);
	bool client_open = true;  /* the client may still send */
	bool client_gone = false; /* closed both ways: output has nowhere to go */
	bool shim_open = true;    /* the shim may still send */
	bool up_shut = false;
	char buf[65536];
	for (;;) {
		size_t up_len = up.len - up_off;
		if (!client_open && !up_len && !up_shut) {
			/* the client closed its write side (no more stdin); output goes on */
			if (want_stdin)
				shutdown(shim, SHUT_WR);
			up_shut = true;
		}
		if (client_gone && !client_open && !up_len)
			break;
		if (client_gone)
			down.len = down_off = 0;
		size_t down_len = down.len - down_off;
		if (!shim_open && !down_len)
			break;
		struct pollfd pf[2] = {{.fd = shim}, {.fd = client}};
		if (shim_open && down_len < PROXY_BUF_MAX)
			pf[0].events |= POLLIN;
		if (up_len)
			pf[0].events |= POLLOUT;
		if (!pf[0].events)
			pf[0].fd = -1;
		if (client_open && up_len < PROXY_BUF_MAX)
			pf[1].events |= POLLIN | POLLRDHUP;
		if (down_len)
			pf[1].events |= POLLOUT;
		if (!pf[1].events)
			pf[1].fd = -1;
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (pf[1].revents & (POLLERR | POLLNVAL))
			break;
		if (pf[1].revents & POLLHUP)
			client_gone = true;
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = recv(shim, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0)
				berth_buf_append(&down, buf, (size_t)got);
			else if (got == 0 || (errno != EAGAIN && errno != EINTR))
				shim_open = false;
		}
		if (up_len && (pf[0].revents & (POLLOUT | POLLERR))) {
			ssize_t put = send(shim, up.data + up_off, up_len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (put > 0) {
				up_off += (size_t)put;
			} else if (put < 0 && errno != EAGAIN && errno != EINTR) {
				/* the shim takes no more stdin */
				up.len = up_off = 0;
				client_open = false;
			}
		}
		if (client_open && (pf[1].revents & (POLLIN | POLLHUP | POLLRDHUP))) {
			ssize_t got = recv(client, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0) {
				if (want_stdin)
					berth_buf_append(&up, buf, (size_t)got);
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				client_open = false;
			}
		}
		if (down.len > down_off && (pf[1].revents & POLLOUT)) {
			ssize_t put =
				send(client, down.data + down_off, down.len - down_off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (put > 0)
				down_off += (size_t)put;
			else if (put < 0 && errno != EAGAIN && errno != EINTR)
				client_gone = true;
		}
		/* compact */
		if (up_off == up.len) {
			up.len = up_off = 0;
		} else if (up_off > PROXY_BUF_MAX) {
			memmove(up.data, up.data + up_off, up.len - up_off);
			up.len -= up_off;
			up_off = 0;
		}
		if (down_off == down.len) {
			down.len = down_off = 0;
		} else if (down_off > PROXY_BUF_MAX) {
			memmove(down.data, down.data + down_off, down.len - down_off);
			down.len -= down_off;
			down_off = 0;
		}
	}
	berth_buf_free(&up);
	berth_buf_free(&down);
	return client_open && !client_gone;
}

/* The stream is over: tell the client (EOF), then read what it still sends
 * (a terminal's last keys) until it closes. Closing a unix socket with unread
 * data makes the client's read fail with ECONNRESET, and the docker CLI then
 * exits 1 instead of with the exec's exit code. Bounded: a client that never
 * closes is dropped after a few idle seconds. */
static void linger(int client, bool client_open)
{
	char buf[4096];
	shutdown(client, SHUT_WR);
	while (client_open) {
		struct pollfd pf = {.fd = client, .events = POLLIN | POLLRDHUP};
		int n = poll(&pf, 1, 5000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || read(client, buf, sizeof(buf)) <= 0)
			break;
	}
}

/* A hijacked client that half-closed (docker CLI: no more stdin, or none
 * asked for) still reads the output; it is gone only when fully closed. */
static bool hijacked_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = 0};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void ctr_attach(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	bool stream = berth_http_query_bool(r, "stream", false);
	bool logs = berth_http_query_bool(r, "logs", false);
	struct berth_attach_opts ao = {.in = berth_http_query_bool(r, "stdin", false),
				       .out = berth_http_query_bool(r, "stdout", false),
				       .err = berth_http_query_bool(r, "stderr", false),
				       .detach_keys = berth_http_query(r, "detachKeys")};
	if (ao.detach_keys && !*ao.detach_keys)
		ao.detach_keys = NULL;
	if (ao.detach_keys && berth_detach_keys_validate(ao.detach_keys, &err) < 0) {
		berth_container_put(d->containers, ct);
		berth_http_respond_error(c, &err);
		return;
	}
	pthread_mutex_lock(&ct->mu);
	bool tty = jbool(jobj(ct->doc, "Config"), "Tty", false);
	if (ct->state == CS_PAUSED) {
		pthread_mutex_unlock(&ct->mu);
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 409, "container %s is paused, unpause the container before attach",
				       r->params[0]);
		return;
	}
	/* Count as waiting before the 101 goes out: a client (docker run) sends
	 * start the moment it reads the 101, and start holds the output back only
	 * for attach requests it knows of. */
	uint64_t fail_seq = ct->start_fail_seq;
	if (stream)
		ct->attach_waiters++;
	pthread_mutex_unlock(&ct->mu);
	ao.mux = !tty;
	const void *pending = NULL;
	size_t npending = 0;
	int cfd = berth_http_hijack(c, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.raw-stream",
				    &pending, &npending);
	if (cfd < 0) {
		if (stream) {
			pthread_mutex_lock(&ct->mu);
			ct->attach_waiters--;
			pthread_cond_broadcast(&ct->cond);
			pthread_mutex_unlock(&ct->mu);
		}
		berth_container_put(d->containers, ct);
		return;
	}
	if (logs) {
		/* past output first, framed as the live stream will be */
		char path[4096];
		pthread_mutex_lock(&ct->mu);
		snprintf(path, sizeof(path), "%s", jstr(ct->doc, "LogPath") ? jstr(ct->doc, "LogPath") : "");
		pthread_mutex_unlock(&ct->mu);
		struct berth_log_read_opts o = {.tail = -1};
		struct berth_log_reader *rd = path[0] ? berth_log_reader_open("json-file", path, &o, NULL) : NULL;
		struct berth_log_entry e = {0};
		while (rd && berth_log_reader_next(rd, &e, NULL) == BERTH_LOG_ENTRY) {
			bool want = e.stream == BERTH_LOG_STDOUT ? ao.out : ao.err;
			if (want) {
				if (tty) {
					berth_write_all(cfd, e.line, e.len);
				} else {
					unsigned char h[8] = {(unsigned char)e.stream,
							      0,
							      0,
							      0,
							      (unsigned char)(e.len >> 24),
							      (unsigned char)(e.len >> 16),
							      (unsigned char)(e.len >> 8),
							      (unsigned char)e.len};
					berth_write_all(cfd, h, 8);
					berth_write_all(cfd, e.line, e.len);
				}
			}
			berth_log_entry_clear(&e);
		}
		if (rd)
			berth_log_reader_close(rd);
	}
	if (!stream) {
		berth_container_put(d->containers, ct);
		return;
	}
	/* Wait for the container to run (or for its shim to be ready while it starts). */
	pthread_mutex_lock(&ct->mu);
	while (!ct->removed && !ct->shim_ready && ct->state != CS_RUNNING && ct->start_fail_seq == fail_seq) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ct->cond, &ct->mu, &ts);
		if (hijacked_peer_gone(cfd))
			break;
	}
	bool ok = !ct->removed && (ct->shim_ready || ct->state == CS_RUNNING);
	pthread_mutex_unlock(&ct->mu);
	cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
	int sfd = ok ? berth_shim_attach(state_dir, &ao, &err) : -1;
	pthread_mutex_lock(&ct->mu);
	ct->attach_waiters--;
	pthread_cond_broadcast(&ct->cond);
	pthread_mutex_unlock(&ct->mu);
	if (sfd >= 0) {
		berth_ctr_event(d, ct, "attach", NULL);
		bool open = proxy(cfd, pending, npending, sfd, ao.in);
		close(sfd);
		berth_container_put(d->containers, ct);
		linger(cfd, open);
		return;
	}
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

/* docker's "exec_create: <entrypoint> <args joined by spaces>" (and
 * exec_start): the separator is there even without arguments. */
static void exec_event(struct berth_daemon *d, struct berth_container *ct, const char *action, struct berth_exec *e)
{
	struct berth_buf what = {0};
	json_t *cmd = jarr(e->config, "Cmd");
	berth_buf_printf(&what, "%s: %s ", action, json_string_value(json_array_get(cmd, 0)) ?: "");
	for (size_t i = 1; i < json_array_size(cmd); i++)
		berth_buf_printf(&what, "%s%s", i > 1 ? " " : "", json_string_value(json_array_get(cmd, i)) ?: "");
	berth_ctr_event(d, ct, berth_buf_str(&what), json_pack("{s:s}", "execID", e->id));
	berth_buf_free(&what);
}

static void exec_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (!berth_api_require_json(r, c)) /* dockerd's CheckForJSON */
		return;
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	if (berth_http_body_json(c, 1 << 20, &body, &err) < 0 || !json_is_object(body)) {
		berth_container_put(d->containers, ct);
		if (!body && !err.msg[0])
			berth_err(&err, BERTH_E_INVALID, "No exec command specified");
		berth_http_respond_error(c, &err);
		return;
	}
	pthread_mutex_lock(&ct->mu);
	enum berth_cstate st = ct->state;
	pthread_mutex_unlock(&ct->mu);
	if (st == CS_PAUSED) {
		berth_http_respond_msg(c, 409, "Container %s is paused, unpause the container before exec", ct->id);
	} else if (st != CS_RUNNING) {
		berth_http_respond_msg(c, 409, "Container %s is not running", ct->id);
	} else if (jarr_len(jarr(body, "Cmd")) == 0) {
		berth_http_respond_msg(c, 400, "No exec command specified");
	} else if (jstr_ne(body, "DetachKeys") && berth_detach_keys_validate(jstr(body, "DetachKeys"), &err) < 0) {
		berth_http_respond_error(c, &err);
	} else {
		struct berth_exec *e = berth_exec_add(d->execs, ct->id, body);
		exec_event(d, ct, "exec_create", e);
		berth_http_respond_json(c, 201, json_pack("{s:s}", "Id", e->id));
		berth_exec_put(d->execs, e);
	}
	berth_container_put(d->containers, ct);
}

struct exec_waiter {
	struct berth_daemon *d;
	struct berth_exec *e;
	char *state_dir;
};

static void finish_exec(struct berth_daemon *d, struct berth_exec *e, const char *state_dir)
{
	struct berth_exit ex = {0};
	struct berth_error err = {0};
	int code = 126;
	if (berth_shim_wait(state_dir, e->id, -1, &ex, &err) == 0)
		code = ex.exit_code;
	berth_exec_set(d->execs, e, true, false, true, 0, code);
	struct berth_container *ct = berth_container_get(d->containers, e->container_id, NULL);
	if (ct) {
		char cs[16];
		snprintf(cs, sizeof(cs), "%d", code);
		berth_ctr_event(d, ct, "exec_die", json_pack("{s:s, s:s}", "execID", e->id, "exitCode", cs));
		berth_container_put(d->containers, ct);
	}
}

static void *exec_wait_main(void *arg)
{
	struct exec_waiter *w = arg;
	finish_exec(w->d, w->e, w->state_dir);
	berth_exec_put(w->d->execs, w->e);
	free(w->state_dir);
	free(w);
	return NULL;
}

static void exec_start(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	if (r->api_minor > 21 && !berth_api_require_json(r, c)) /* dockerd's CheckForJSON */
		return;
	struct berth_error err = {0};
	struct berth_exec *e = berth_exec_get(d->execs, r->params[0], &err);
	if (!e) {
		berth_http_respond_error(c, &err);
		return;
	}
	cleanup_json json_t *body = NULL;
	berth_http_body_json(c, 1 << 20, &body, NULL);
	bool detach = jbool(body, "Detach", false);
	if (e->started) {
		berth_exec_put(d->execs, e);
		berth_http_respond_msg(c, 409, "Error: Exec command %s is already running", r->params[0]);
		return;
	}
	struct berth_container *ct = berth_container_get(d->containers, e->container_id, &err);
	if (!ct) {
		berth_exec_put(d->execs, e);
		berth_http_respond_error(c, &err);
		return;
	}
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING;
	pthread_mutex_unlock(&ct->mu);
	if (!running) {
		berth_container_put(d->containers, ct);
		berth_exec_put(d->execs, e);
		berth_http_respond_msg(c, 409, "Container %s is not running", e->container_id);
		return;
	}
	berth_exec_set(d->execs, e, true, false, false, 0, 0);
	cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
	cleanup_free char *spec_path = berth_strdup_printf("%s/config.json", state_dir);
	cleanup_json json_t *spec = json_load_file(spec_path, 0, NULL);
	json_t *process = NULL;
	bool tty = jbool(e->config, "Tty", false);
	bool in = jbool(e->config, "AttachStdin", false);
	if (spec)
		process = berth_oci_exec_process_build(spec, e->config, jstr(jobj(spec, "root"), "path"), &d->sysinfo,
						       &err);
	else
		berth_err(&err, BERTH_E_INTERNAL, "container %s has no runtime spec", ct->id);
	if (!process || berth_shim_exec_create(state_dir, e->id, process, tty, in, &err) < 0) {
		json_decref(process);
		berth_exec_set(d->execs, e, true, false, true, 0, 126);
		berth_container_put(d->containers, ct);
		berth_exec_put(d->execs, e);
		berth_http_respond_error(c, &err);
		return;
	}
	json_decref(process);
	if (detach) {
		pid_t pid = 0;
		int code = 0;
		if (berth_shim_exec_start(state_dir, e->id, &pid, &code, &err) < 0) {
			berth_exec_set(d->execs, e, true, false, true, 0, code ? code : 126);
			berth_http_respond_error(c, &err);
		} else {
			berth_exec_set(d->execs, e, true, true, false, pid, 0);
			exec_event(d, ct, "exec_start", e);
			struct exec_waiter *w = calloc(1, sizeof(*w));
			w->d = d;
			w->e = e;
			e = NULL; /* the waiter owns the reference */
			w->state_dir = strdup(state_dir);
			pthread_t t;
			pthread_attr_t a;
			pthread_attr_init(&a);
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			pthread_create(&t, &a, exec_wait_main, w);
			pthread_attr_destroy(&a);
			berth_http_respond_empty(c, 200);
		}
		berth_container_put(d->containers, ct);
		berth_exec_put(d->execs, e);
		return;
	}
	const void *pending = NULL;
	size_t npending = 0;
	int cfd = berth_http_hijack(c, "application/vnd.docker.raw-stream", &pending, &npending);
	struct berth_attach_opts ao = {.exec_id = e->id,
				       .in = in,
				       .out = jbool(e->config, "AttachStdout", false),
				       .err = jbool(e->config, "AttachStderr", false),
				       .mux = !tty,
				       .detach_keys = jstr_ne(e->config, "DetachKeys")};
	int sfd = cfd >= 0 ? berth_shim_attach(state_dir, &ao, &err) : -1;
	pid_t pid = 0;
	int code = 0;
	if (berth_shim_exec_start(state_dir, e->id, &pid, &code, &err) < 0) {
		berth_exec_set(d->execs, e, true, false, true, 0, code ? code : 126);
		if (cfd >= 0) {
			struct berth_buf msg = {0};
			berth_buf_printf(&msg, "%s\r\n", err.msg);
			if (tty) {
				berth_write_all(cfd, msg.data, msg.len);
			} else {
				unsigned char h[8] = {1,
						      0,
						      0,
						      0,
						      (unsigned char)(msg.len >> 24),
						      (unsigned char)(msg.len >> 16),
						      (unsigned char)(msg.len >> 8),
						      (unsigned char)msg.len};
				berth_write_all(cfd, h, 8);
				berth_write_all(cfd, msg.data, msg.len);
			}
			berth_buf_free(&msg);
		}
		if (sfd >= 0)
			close(sfd);
	} else {
		berth_exec_set(d->execs, e, true, true, false, pid, 0);
		exec_event(d, ct, "exec_start", e);
		bool open = false;
		if (sfd >= 0) {
			open = proxy(cfd, pending, npending, sfd, in);
			close(sfd);
		}
		/* the exit code is recorded before the client sees the end of the
		 * stream: the docker CLI inspects the exec right after */
		finish_exec(d, e, state_dir);
		berth_container_put(d->containers, ct);
		berth_exec_put(d->execs, e);
		if (cfd >= 0)
			linger(cfd, open);
		return;
	}
	berth_container_put(d->containers, ct);
	berth_exec_put(d->execs, e);
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
