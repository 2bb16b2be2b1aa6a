#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/stream.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"

struct node {
	struct berth_exec *e;
	struct node *next;
};

struct berth_execs {
	pthread_mutex_t mu;
	struct node *head;
};

struct berth_execs *berth_execs_new(void)
{
	struct berth_execs *x = calloc(1, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
	return x;
}

static void exec_free(struct berth_exec *e)
{
	json_decref(e->config);
	free(e);
}

void berth_execs_free(struct berth_execs *x)
{
	if (!x)
		return;
	struct node *n = x->head;
	while (n) {
		struct node *next = n->next;
		if (--n->e->refs == 0)
			exec_free(n->e);
		free(n);
		n = next;
	}
	pthread_mutex_destroy(&x->mu);
	free(x);
}

struct berth_exec *berth_exec_add(struct berth_execs *x, const char *container_id, json_t *config)
{
	struct berth_exec *e = calloc(1, sizeof(*e));
	berth_random_id(e->id);
	snprintf(e->container_id, sizeof(e->container_id), "%s", container_id);
	e->config = json_deep_copy(config);
	e->refs = 2; /* table + caller */
	struct node *n = calloc(1, sizeof(*n));
	n->e = e;
	pthread_mutex_lock(&x->mu);
	n->next = x->head;
	x->head = n;
	pthread_mutex_unlock(&x->mu);
	return e;
}

struct berth_exec *berth_exec_get(struct berth_execs *x, const char *id, struct berth_error *err)
{
	pthread_mutex_lock(&x->mu);
	struct berth_exec *found = NULL;
	size_t l = strlen(id);
	for (struct node *n = x->head; n && l; n = n->next)
		if (!strncmp(n->e->id, id, l)) {
			found = n->e;
			break;
		}
	if (found)
		found->refs++;
	pthread_mutex_unlock(&x->mu);
	if (!found)
		berth_err(err, BERTH_E_NOT_FOUND, "No such exec instance: %s", id);
	return found;
}

void berth_exec_put(struct berth_execs *x, struct berth_exec *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&x->mu);
	bool last = --e->refs == 0;
	pthread_mutex_unlock(&x->mu);
	if (last)
		exec_free(e);
}

void berth_exec_set(struct berth_execs *x, struct berth_exec *e, bool started, bool running, bool exited, int pid,
		    int exit_code)
{
	pthread_mutex_lock(&x->mu);
	e->started = started;
	e->running = running;
	e->exited = exited;
	e->pid = pid;
	e->exit_code = exit_code;
	pthread_mutex_unlock(&x->mu);
}

json_t *berth_exec_inspect(struct berth_execs *x, struct berth_exec *e)
{
	pthread_mutex_lock(&x->mu);
	json_t *cfg = e->config;
	json_t *cmd = json_object_get(cfg, "Cmd");
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	json_t *j = json_pack("{s:b, s:s, s:s, s:o, s:s, s:b, s:b, s:b, s:{s:o, s:s, s:b, s:b, s:s}, s:b, s:i}",
			      "CanRemove", 0, "ContainerID", e->container_id, "DetachKeys",
			      json_string_value(json_object_get(cfg, "DetachKeys")) ?: "", "ExitCode",
			      e->exited ? json_integer(e->exit_code) : json_null(), "ID", e->id, "OpenStderr",
			      json_is_true(json_object_get(cfg, "AttachStderr")), "OpenStdin",
			      json_is_true(json_object_get(cfg, "AttachStdin")), "OpenStdout",
			      json_is_true(json_object_get(cfg, "AttachStdout")), "ProcessConfig", "arguments", args,
			      "entrypoint", json_string_value(json_array_get(cmd, 0)) ?: "", "privileged",
			      json_is_true(json_object_get(cfg, "Privileged")), "tty",
			      json_is_true(json_object_get(cfg, "Tty")), "user", user ? user : "", "Running",
			      e->running, "Pid", e->pid);
	pthread_mutex_unlock(&x->mu);
	return j;
}

json_t *berth_exec_ids(struct berth_execs *x, const char *container_id)
{
	json_t *a = json_array();
	pthread_mutex_lock(&x->mu);
	for (struct node *n = x->head; n; n = n->next)
		if (!strcmp(n->e->container_id, container_id))
			json_array_append_new(a, json_string(n->e->id));
	pthread_mutex_unlock(&x->mu);
	return a;
}

void berth_exec_remove(struct berth_execs *x, struct berth_exec *e)
{
	pthread_mutex_lock(&x->mu);
	for (struct node **pp = &x->head; *pp; pp = &(*pp)->next) {
		struct node *n = *pp;
		if (n->e == e) {
			*pp = n->next;
			e->refs--; /* the table's; the caller still holds one */
			free(n);
			break;
		}
	}
	pthread_mutex_unlock(&x->mu);
}

void berth_execs_drop_container(struct berth_execs *x, const char *container_id)
{
	pthread_mutex_lock(&x->mu);
	struct node **pp = &x->head;
	while (*pp) {
		struct node *n = *pp;
		if (!strcmp(n->e->container_id, container_id)) {
			*pp = n->next;
			if (--n->e->refs == 0)
				exec_free(n->e);
			free(n);
		} else {
			pp = &n->next;
		}
	}
	pthread_mutex_unlock(&x->mu);
}

/* ---- operations ---- */

/* docker's "exec_create: <entrypoint> <args joined by spaces>" (and
 * exec_start): the separator is there even without arguments. */
void berth_exec_event(struct berth_daemon *d, struct berth_container *ct, const char *action, struct berth_exec *e)
{
	struct berth_buf what = {0};
	json_t *cmd = jarr(e->config, "Cmd");
	berth_buf_printf(&what, "%s: %s ", action, json_string_value(json_array_get(cmd, 0)) ?: "");
	for (size_t i = 1; i < json_array_size(cmd); i++)
		berth_buf_printf(&what, "%s%s", i > 1 ? " " : "", json_string_value(json_array_get(cmd, i)) ?: "");
	berth_ctr_event(d, ct, berth_buf_str(&what), json_pack("{s:s}", "execID", e->id));
	berth_buf_free(&what);
}

int berth_exec_create(struct berth_daemon *d, struct berth_container *ct, json_t *body, char id_out[65],
		      struct berth_error *err)
{
	pthread_mutex_lock(&ct->mu);
	enum berth_cstate st = ct->state;
	pthread_mutex_unlock(&ct->mu);
	if (st == CS_PAUSED)
		return berth_err(err, BERTH_E_CONFLICT, "Container %s is paused, unpause the container before exec",
				 ct->id);
	if (st != CS_RUNNING)
		return berth_err(err, BERTH_E_CONFLICT, "Container %s is not running", ct->id);
	if (jarr_len(jarr(body, "Cmd")) == 0)
		return berth_err(err, BERTH_E_INVALID, "No exec command specified");
	if (jstr_ne(body, "DetachKeys") && berth_detach_keys_validate(jstr(body, "DetachKeys"), err) < 0)
		return -1;
	struct berth_exec *e = berth_exec_add(d->execs, ct->id, body);
	berth_exec_event(d, ct, "exec_create", e);
	snprintf(id_out, 65, "%s", e->id);
	berth_exec_put(d->execs, e);
	return 0;
}

/* Wait for the exec's exit; record it (unless keep_code: dockerd keeps the
 * 126 of a failed session) and emit exec_die. wfd is a wait already sent
 * to the shim before the start (berth_shim_wait_begin), or -1: a wait sent
 * only after the exec ended can find the shim gone when the container
 * exited right after it. */
static int finish_exec(struct berth_daemon *d, struct berth_exec *e, const char *state_dir, int wfd, bool keep_code)
{
	struct berth_exit ex = {0};
	struct berth_error err = {0};
	int code = 126;
	int rc = wfd >= 0 ? berth_shim_wait_end(wfd, state_dir, e->id, &ex, &err) :
			    berth_shim_wait(state_dir, e->id, -1, &ex, &err);
	if (rc == 0)
		code = ex.exit_code;
	if (!keep_code)
		berth_exec_set(d->execs, e, true, false, true, 0, code);
	struct berth_container *ct = berth_container_get(d->containers, e->container_id, NULL);
	if (ct) {
		char cs[16];
		snprintf(cs, sizeof(cs), "%d", code);
		berth_ctr_event(d, ct, "exec_die", json_pack("{s:s, s:s}", "execID", e->id, "exitCode", cs));
		berth_container_put(d->containers, ct);
	}
	return code;
}

int berth_exec_finish(struct berth_daemon *d, struct berth_exec *e, const char *state_dir, int wfd)
{
	return finish_exec(d, e, state_dir, wfd, false);
}

struct exec_waiter {
	struct berth_daemon *d;
	struct berth_exec *e;
	char *state_dir;
	int wfd;
	bool keep_code;
};

static void exec_wait_main(void *arg)
{
	struct exec_waiter *w = arg;
	struct berth_daemon *d = w->d;
	/* the exec may outlive the daemon (live restore): at close, stop waiting */
	struct pollfd p[2] = {{.fd = w->wfd, .events = POLLIN},
			      {.fd = berth_bgjobs_wake_fd(&d->jobs), .events = POLLIN}};
	int pr = 1;
	if (w->wfd >= 0)
		while ((pr = poll(p, 2, -1)) < 0 && errno == EINTR) {
		}
	if (w->wfd >= 0 && pr > 0 && !p[0].revents && p[1].revents)
		close(w->wfd);
	else
		finish_exec(d, w->e, w->state_dir, w->wfd, w->keep_code);
	berth_exec_put(d->execs, w->e);
	free(w->state_dir);
	free(w);
}

/* Record the exit in the background; takes over the reference to e and wfd. */
static void wait_in_background(struct berth_daemon *d, struct berth_exec *e, const char *state_dir, int wfd,
			       bool keep_code)
{
	struct exec_waiter *w = calloc(1, sizeof(*w));
	char *sd = strdup(state_dir);
	if (w && sd) {
		*w = (struct exec_waiter){.d = d, .e = e, .state_dir = sd, .wfd = wfd, .keep_code = keep_code};
		if (berth_bgjobs_run(&d->jobs, exec_wait_main, w))
			return;
	}
	/* no thread: wait here */
	free(w);
	free(sd);
	finish_exec(d, e, state_dir, wfd, keep_code);
	berth_exec_put(d->execs, e);
}

/* The error text of a failed start, in the stream as dockerd writes it. */
static void stream_error(int cfd, bool framed, const char *msg)
{
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s\r\n", msg);
	berth_stream_write(cfd, framed ? BERTH_STREAM_STDOUT : -1, b.data, b.len);
	berth_buf_free(&b);
}

int berth_exec_start(struct berth_daemon *d, const char *id, const struct berth_exec_start_opts *o,
		     struct berth_error *err)
{
	struct berth_exec *e = berth_exec_get(d->execs, id, err);
	if (!e)
		return -1;
	pthread_mutex_lock(&d->execs->mu);
	bool started = e->started;
	if (!started)
		e->started = true; /* claimed: a second start gets a conflict */
	pthread_mutex_unlock(&d->execs->mu);
	if (started) {
		berth_exec_put(d->execs, e);
		return berth_err(err, BERTH_E_CONFLICT, "Error: Exec command %s is already running", id);
	}
	int rc = -1, sfd = -1, wfd = -1;
	cleanup_free char *state_dir = NULL, *spec_path = NULL;
	cleanup_json json_t *spec = NULL;
	struct berth_container *ct = berth_container_get(d->containers, e->container_id, err);
	if (!ct)
		goto unclaim;
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING;
	pthread_mutex_unlock(&ct->mu);
	if (!running) {
		berth_err(err, BERTH_E_CONFLICT, "Container %s is not running", e->container_id);
		goto unclaim;
	}
	state_dir = berth_ctr_state_dir(d, ct->id);
	spec_path = berth_strdup_printf("%s/config.json", state_dir);
	spec = json_load_file(spec_path, 0, NULL);
	bool tty = jbool(e->config, "Tty", false);
	bool in = jbool(e->config, "AttachStdin", false);
	json_t *process = NULL;
	char *root = spec ? berth_ctr_root_view(ct, spec) : NULL;
	if (spec)
		process = berth_oci_exec_process_build(spec, e->config, root, &d->sysinfo, err);
	else
		berth_err(err, BERTH_E_INTERNAL, "container %s has no runtime spec", ct->id);
	free(root);
	if (!process || berth_shim_exec_create(state_dir, e->id, process, tty, in, err) < 0) {
		json_decref(process);
		berth_exec_set(d->execs, e, true, false, true, 0, 126);
		goto out;
	}
	json_decref(process);
	struct berth_error werr = {0};
	wfd = berth_shim_wait_begin(state_dir, e->id, &werr);
	pid_t pid = 0;
	int code = 0;
	if (o->detach) {
		if (berth_shim_exec_start(state_dir, e->id, &pid, &code, err) < 0) {
			/* dockerd records 126 for any failed start */
			berth_exec_set(d->execs, e, true, false, true, 0, 126);
			goto out;
		}
		berth_exec_set(d->execs, e, true, true, false, pid, 0);
		berth_exec_event(d, ct, "exec_start", e);
		wait_in_background(d, e, state_dir, wfd, false);
		wfd = -1;
		e = NULL;
		rc = 0;
		goto out;
	}
	/* Attach before anything runs: a failed attach fails the request. */
	struct berth_attach_opts ao = {.exec_id = e->id,
				       .in = in,
				       .out = jbool(e->config, "AttachStdout", false),
				       .err = jbool(e->config, "AttachStderr", false) && !o->tty,
				       .mux = !o->tty,
				       .detach_keys = jstr_ne(e->config, "DetachKeys")};
	sfd = berth_shim_attach(state_dir, &ao, err);
	if (sfd < 0) {
		berth_err_prefix(err, "exec attach failed");
		err->kind = BERTH_E_INTERNAL; /* the shim is there: its socket failed */
		berth_exec_set(d->execs, e, true, false, true, 0, 126);
		goto out;
	}
	const void *pending = NULL;
	size_t npending = 0;
	int cfd = o->hijack(o->hijack_ctx, &pending, &npending);
	rc = 0; /* from here on the client has its answer */
	if (cfd < 0) {
		/* the client is gone before anything ran */
		berth_exec_set(d->execs, e, true, false, true, 0, 126);
		goto out;
	}
	if (berth_shim_exec_start(state_dir, e->id, &pid, &code, err) < 0) {
		berth_exec_set(d->execs, e, true, false, true, 0, 126);
		stream_error(cfd, !o->tty, err->msg);
		berth_stream_linger(cfd, true);
		goto out;
	}
	berth_exec_set(d->execs, e, true, true, false, pid, 0);
	berth_exec_event(d, ct, "exec_start", e);
	struct berth_stream_opts so = {.forward_stdin = in, .frame_stdout = tty && !o->tty};
	struct berth_stream_result res = {0};
	berth_stream_copy(cfd, pending, npending, sfd, &so, &res);
	close(sfd);
	sfd = -1;
	struct berth_shim_state st = {0};
	struct berth_error e2 = {0};
	if (res.detached && tty && berth_shim_state(state_dir, e->id, &st, &e2) == 0 && !st.exited &&
	    !strcmp(st.status, "running")) {
		/* The detach keys: dockerd ends the session with its escape error
		 * and records 126; the process goes on (its exit still makes exec_die). */
		berth_exec_set(d->execs, e, true, false, true, pid, 126);
		stream_error(cfd, !o->tty, "exec attach failed: error on attach stdin: read escape sequence");
		wait_in_background(d, e, state_dir, wfd, true);
		wfd = -1;
		e = NULL;
		berth_stream_linger(cfd, res.client_open);
		goto out;
	}
	/* the exit code is recorded before the client sees the end of the
	 * stream: the docker CLI inspects the exec right after */
	finish_exec(d, e, state_dir, wfd, false);
	wfd = -1;
	berth_stream_linger(cfd, res.client_open);
	goto out;
unclaim:
	pthread_mutex_lock(&d->execs->mu);
	e->started = false;
	pthread_mutex_unlock(&d->execs->mu);
out:
	if (sfd >= 0)
		close(sfd);
	if (wfd >= 0)
		close(wfd);
	if (ct)
		berth_container_put(d->containers, ct);
	berth_exec_put(d->execs, e);
	return rc;
}
