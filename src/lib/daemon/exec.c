#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

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
