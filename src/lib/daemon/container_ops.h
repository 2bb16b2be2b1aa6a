/* Container lifecycle on top of the container table, the image and layer
 * stores, the OCI spec builder and berth-shim. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/container.h"

struct berth_buf;

struct berth_daemon;
struct berth_exit;

/* POST /containers/create. body: Config fields + HostConfig + NetworkingConfig.
 * *resp = {"Id":..., "Warnings":[...]}. */
int berth_ctr_create(struct berth_daemon *d, const char *name, json_t *body, json_t **resp, struct berth_error *err);
/* Start; already running -> BERTH_E_NOT_MODIFIED. berth_ctr_start_user is the
 * API's: it also resets RestartCount and the back-off, as docker does; req_ns
 * is the request's arrival (CLOCK_MONOTONIC, berth_http_req.recv_ns; 0 =
 * unknown), where the --debug timings start. */
int berth_ctr_start_user(struct berth_daemon *d, struct berth_container *c, int64_t req_ns, struct berth_error *err);
int berth_ctr_start(struct berth_daemon *d, struct berth_container *c, struct berth_error *err);
/* timeout < 0: the container's StopTimeout or 10 s. Not running -> BERTH_E_NOT_MODIFIED. */
int berth_ctr_stop(struct berth_daemon *d, struct berth_container *c, int timeout, struct berth_error *err);
int berth_ctr_restart(struct berth_daemon *d, struct berth_container *c, int timeout, struct berth_error *err);
/* signal: name ("KILL", "SIGHUP") or number; NULL = SIGKILL. */
int berth_ctr_kill(struct berth_daemon *d, struct berth_container *c, const char *signal, struct berth_error *err);
int berth_ctr_remove(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes,
		     struct berth_error *err);
/* The same for the API: req_ns is the request's arrival (CLOCK_MONOTONIC,
 * berth_http_req.recv_ns), the start of the --debug timings' "api parse". */
int berth_ctr_remove_req(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes, int64_t req_ns,
			 struct berth_error *err);
int berth_ctr_pause(struct berth_daemon *d, struct berth_container *c, bool pause, struct berth_error *err);
/* condition: "not-running" (default), "next-exit", "removed". Blocks; gives up
 * when cancelled() returns true (checked about every 200 ms). */
int berth_ctr_wait(struct berth_daemon *d, struct berth_container *c, const char *condition, bool (*cancelled)(void *),
		   void *ctx, int64_t *exit_code, struct berth_error *err);
/* GET /containers/{id}/json (new reference); NULL with err when the
 * document cannot be read back. */
json_t *berth_ctr_inspect(struct berth_daemon *d, struct berth_container *c, bool size, struct berth_error *err);
/* GET /containers/json: the JSON array written into out (appended), built
 * from the documents in memory without a json_t per entry; berth_ctr_list
 * is the same parsed. */
int berth_ctr_list_write(struct berth_daemon *d, json_t *filters, bool all, int limit, bool size, struct berth_buf *out,
			 struct berth_error *err);
json_t *berth_ctr_list(struct berth_daemon *d, json_t *filters, bool all, int limit, bool size,
		       struct berth_error *err);
/* docker's signal names / numbers. -1 when invalid. */
int berth_signal_parse(const char *s);

/* Paths. Caller frees. */
char *berth_ctr_dir(struct berth_daemon *d, const char *id);       /* <data-root>/containers/<id> */
char *berth_ctr_state_dir(struct berth_daemon *d, const char *id); /* <exec-root>/containers/<id> */
/* A running container's root filesystem where berthd can read it: the one
 * its shim holds (overlay2 mounts it only there: berth_shim_rootfs_path),
 * else the spec's root.path; for its user database (exec -u, health
 * checks); caller frees. */
char *berth_ctr_root_view(struct berth_container *c, const json_t *spec);

/* Exit handling (monitor): record the exit, clean up, emit die, apply
 * restart policy or auto-remove. */
void berth_ctr_exited(struct berth_daemon *d, struct berth_container *c, const struct berth_exit *ex);
/* At daemon start: re-adopt running shims, record exits that happened while
 * berthd was down. */
void berth_ctr_restore(struct berth_daemon *d);
/* Emit a container event with docker's attributes (image, name, labels +
 * extra). Takes c->mu; _locked: the caller holds it. */
void berth_ctr_event(struct berth_daemon *d, struct berth_container *c, const char *action, json_t *extra);
void berth_ctr_event_locked(struct berth_daemon *d, struct berth_container *c, const char *action, json_t *extra);

/* The exit monitor: one thread waiting on shim pidfds. */
struct berth_monitor;
struct berth_monitor *berth_monitor_start(struct berth_daemon *d, struct berth_error *err);
void berth_monitor_stop(struct berth_monitor *m);
int berth_monitor_watch(struct berth_monitor *m, struct berth_container *c, int shim_pid);
