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
/* Forget a container's execs (on remove). */
void berth_execs_drop_container(struct berth_execs *x, const char *container_id);
