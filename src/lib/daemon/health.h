/* Healthchecks at run time (docker's daemon/health.go): one monitor thread
 * per running container whose Config.Healthcheck has a CMD or CMD-SHELL
 * test. Every Interval it runs the test as an exec in the container
 * (exec_create/exec_start/exec_die events as docker), kills it after
 * Timeout, and records the result in State.Health {Status, FailingStreak,
 * Log (last 5)}, which is written with the container's record; a change of
 * Status emits "health_status: <status>". */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct berth_daemon;
struct berth_container;
struct berth_health;

struct berth_health *berth_health_new(void);
/* Stop every monitor (killing running probes) and wait for them. */
void berth_health_free(struct berth_health *h);

/* docker's verifyContainerSettings checks of Config.Healthcheck (NULL: none). */
int berth_health_validate(const json_t *healthcheck, struct berth_error *err);
/* Fill what the user's Healthcheck leaves zero from the image's (docker's merge). */
void berth_health_merge(json_t *cfg, const json_t *img_cfg);

/* With c->mu held, before the record of a start is written: State.Health
 * back to "starting" with no failing streak (its Log kept), created when
 * missing; nothing for a container without a probe. */
void berth_health_reset_locked(struct berth_container *c);
/* Start the container's monitor (replacing a previous one). */
void berth_health_watch(struct berth_daemon *d, struct berth_container *c);
/* Live restore of a running container: reset, write the record, watch. */
void berth_health_restore(struct berth_daemon *d, struct berth_container *c);
/* With c->mu held, when the container exits or is paused: stop its
 * monitor (a running probe is killed); as docker's CloseMonitorChannel,
 * State.Health.Status becomes "unhealthy" when a monitor was running. The
 * caller writes the record. */
void berth_health_stop_locked(struct berth_daemon *d, struct berth_container *c);

/* "none" without State.Health, else its Status ("unhealthy" when empty, as docker). */
const char *berth_health_status(const json_t *state);
/* The suffix of ps STATUS for a running container: " (healthy)",
 * " (health: starting)", " (unhealthy)" or "". */
const char *berth_health_status_suffix(const json_t *state);

/* One probe's result applied to State.Health (docker's handleProbeResult).
 * state: the container's State; started_ns: when it started. Returns true
 * when Status changed. Pure: used by the monitor and the unit test. */
struct berth_health_result {
	int64_t start_ns, end_ns;
	int exit_code;
	const char *output;
};
bool berth_health_apply(json_t *state, const json_t *healthcheck, int64_t started_ns,
			const struct berth_health_result *r);
/* Go's time.Duration.String() for whole-nanosecond durations ("1s", "500ms", "1m30s"). */
void berth_health_duration_string(int64_t ns, char *out, size_t len);
