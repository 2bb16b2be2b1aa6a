#include "attach.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/stream.h"
#include "logger/logger.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"

/* Past output (logs=1), framed as the live stream will be: the log file of
 * json-file / local, the dual-logging cache of the other drivers. */
static void replay_logs(struct berth_daemon *d, struct berth_container *ct, int cfd, bool tty, bool out, bool err)
{
	char path[4096], driver[64];
	pthread_mutex_lock(&ct->mu);
	json_t *doc = berth_container_doc_or_log(ct, "logs not replayed");
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		return;
	}
	json_t *lcfg = jobj(jobj(doc, "HostConfig"), "LogConfig");
	const char *ltype = jstr_ne(lcfg, "Type");
	snprintf(driver, sizeof(driver), "%s", ltype ? ltype : "json-file");
	cleanup_json json_t *lopts = json_incref(jobj(lcfg, "Config"));
	snprintf(path, sizeof(path), "%s", jstr(doc, "LogPath") ? jstr(doc, "LogPath") : "");
	pthread_mutex_unlock(&ct->mu);
	if (!path[0]) {
		cleanup_free char *cdir = berth_ctr_dir(d, ct->id);
		cleanup_free char *lf = berth_log_file_path(cdir, driver, NULL);
		snprintf(path, sizeof(path), "%s", lf);
	}
	struct berth_log_read_opts o = {.tail = -1};
	struct berth_log_reader *rd =
		berth_log_can_read(driver, lopts) ? berth_log_reader_open_cfg(driver, lopts, path, &o, NULL) : NULL;
	struct berth_log_entry e = {0};
	while (rd && berth_log_reader_next(rd, &e, NULL) == BERTH_LOG_ENTRY) {
		bool want = e.stream == BERTH_LOG_STDOUT ? out : err;
		if (want)
			berth_stream_write(cfd, tty ? -1 : (int)e.stream, e.line, e.len);
		berth_log_entry_clear(&e);
	}
	if (rd)
		berth_log_reader_close(rd);
}

static void waiter_done(struct berth_container *ct)
{
	pthread_mutex_lock(&ct->mu);
	ct->attach_waiters--;
	pthread_cond_broadcast(&ct->cond);
	pthread_mutex_unlock(&ct->mu);
}

int berth_ctr_attach(struct berth_daemon *d, struct berth_container *ct, const struct berth_ctr_attach_opts *o,
		     struct berth_error *err)
{
	struct berth_attach_opts ao = {.in = o->in,
				       .out = o->out,
				       .err = o->err,
				       .detach_keys = o->detach_keys && *o->detach_keys ? o->detach_keys : NULL};
	if (ao.detach_keys && berth_detach_keys_validate(ao.detach_keys, err) < 0)
		return -1;
	cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
	pthread_mutex_lock(&ct->mu);
	json_t *doc = berth_container_doc(ct, err);
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		return -1;
	}
	bool tty = jbool(jobj(doc, "Config"), "Tty", false);
	if (ct->state == CS_PAUSED) {
		pthread_mutex_unlock(&ct->mu);
		return berth_err(err, BERTH_E_CONFLICT, "container %s is paused, unpause the container before attach",
				 o->ref ? o->ref : ct->id);
	}
	bool running = ct->state == CS_RUNNING && !ct->shim_ready;
	/* Count as waiting before the 101 goes out: a client (docker run) sends
	 * start the moment it reads the 101, and start holds the output back only
	 * for attach requests it knows of. */
	uint64_t fail_seq = ct->start_fail_seq;
	bool waiting = o->stream && !running;
	if (waiting)
		ct->attach_waiters++;
	pthread_mutex_unlock(&ct->mu);
	ao.mux = !tty;
	int sfd = -1;
	if (o->stream && running) {
		/* connected before the client is answered: a failure is an error response */
		sfd = berth_shim_attach(state_dir, &ao, err);
		if (sfd < 0) {
			berth_err_prefix(err, "attach failed");
			err->kind = BERTH_E_INTERNAL; /* the shim is there: its socket failed */
			return -1;
		}
	}
	const void *pending = NULL;
	size_t npending = 0;
	int cfd = o->hijack(o->hijack_ctx, &pending, &npending);
	if (cfd < 0) {
		if (waiting)
			waiter_done(ct);
		if (sfd >= 0)
			close(sfd);
		return 0;
	}
	if (o->logs)
		replay_logs(d, ct, cfd, tty, o->out, o->err);
	if (!o->stream)
		return 0;
	if (waiting) {
		/* Wait for the container to run (or for its shim to be ready while it starts). */
		pthread_mutex_lock(&ct->mu);
		while (!ct->removed && !ct->shim_ready && ct->state != CS_RUNNING && ct->start_fail_seq == fail_seq) {
			berth_cond_wait_ms(&ct->cond, &ct->mu, 200);
			if (berth_stream_peer_gone(cfd))
				break;
		}
		bool ok = !ct->removed && (ct->shim_ready || ct->state == CS_RUNNING);
		pthread_mutex_unlock(&ct->mu);
		struct berth_error e2 = {0};
		sfd = ok ? berth_shim_attach(state_dir, &ao, &e2) : -1;
		waiter_done(ct);
		if (sfd < 0)
			return 0; /* the 101 is out: the stream just ends */
	}
	berth_ctr_event(d, ct, "attach", NULL);
	struct berth_stream_opts so = {.forward_stdin = o->in};
	struct berth_stream_result res = {0};
	berth_stream_copy(cfd, pending, npending, sfd, &so, &res);
	close(sfd);
	berth_stream_linger(cfd, res.client_open);
	return 0;
}
