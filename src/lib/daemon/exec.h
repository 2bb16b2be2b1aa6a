/* Exec instances (docker exec): created by POST /containers/{id}/exec,
 * started by POST /exec/{id}/start, inspected by GET /exec/{id}/json. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_exec {
	char id[65];
	char container_id[65];
	json_t *config; /* ExecConfig as posted */
	bool started, running, exited;
	int pid;
	int exit_code;
	int refs;
};

struct berth_execs;
struct berth_execs *berth_execs_new(void);
void berth_execs_free(struct berth_execs *x);
/* config is borrowed (copied). Returns the new id in id_out. */
struct berth_exec *berth_exec_add(struct berth_execs *x, const char *container_id, json_t *config);
struct berth_exec *berth_exec_get(struct berth_execs *x, const char *id, struct berth_error *err);
void berth_exec_put(struct berth_execs *x, struct berth_exec *e);
/* Update under the table lock. */
void berth_exec_set(struct berth_execs *x, struct berth_exec *e, bool started, bool running, bool exited, int pid,
		    int exit_code);
/* GET /exec/{id}/json shape. */
json_t *berth_exec_inspect(struct berth_execs *x, struct berth_exec *e);
/* Exec ids of a container (for ExecIDs), new array. */
json_t *berth_exec_ids(struct berth_execs *x, const char *container_id);
/* Take one exec out of the table (the caller keeps its reference). */
void berth_exec_remove(struct berth_execs *x, struct berth_exec *e);
/* Forget a container's execs (on remove). */
void berth_execs_drop_container(struct berth_execs *x, const char *container_id);

/* ---- exec operations (POST /containers/{id}/exec, POST /exec/{id}/start) ---- */
struct berth_daemon;
struct berth_container;

/* Validate (container running, not paused, a command, detach keys) and
 * register an exec; emits exec_create. id_out gets the new exec's id. */
int berth_exec_create(struct berth_daemon *d, struct berth_container *ct, json_t *body, char id_out[65],
		      struct berth_error *err);

/* Switch the client to a raw stream (101 UPGRADED): returns its fd (owned
 * by the caller, valid until berth_exec_start returns) and the bytes it
 * sent past the request; -1 when the client is gone. */
typedef int (*berth_hijack_fn)(void *ctx, const void **pending, size_t *npending);

struct berth_exec_start_opts {
	bool detach;
	bool tty; /* the start request's Tty: like dockerd, output is framed (stdcopy) exactly when false,
		     whatever the exec's own Tty, and without it stderr is not sent */
	berth_hijack_fn hijack;
	void *hijack_ctx;
};

/* Start an exec. Detached: runs it and returns (a waiter records the exit).
 * Attached: connects to the shim first (a failed attach fails the request,
 * nothing runs), calls o->hijack, runs the exec, copies the streams until
 * the exec ends (its exit code is recorded before the client sees the end)
 * or the client detaches (the detach keys of a tty exec: dockerd's
 * "read escape sequence" error ends the session, exit code 126).
 * Returns -1 with err when nothing was sent to the client yet (answer with
 * the error); once hijacked, errors go into the stream and 0 is returned. */
int berth_exec_start(struct berth_daemon *d, const char *id, const struct berth_exec_start_opts *o,
		     struct berth_error *err);

/* For runners without a client (daemon/health.c): docker's
 * "exec_start: <entrypoint> <args>" style event, and waiting for a started
 * exec's end (records its exit code, emits exec_die; returns the code; wfd:
 * a berth_shim_wait_begin sent before the start, or -1). */
void berth_exec_event(struct berth_daemon *d, struct berth_container *ct, const char *action, struct berth_exec *e);
int berth_exec_finish(struct berth_daemon *d, struct berth_exec *e, const char *state_dir, int wfd);
