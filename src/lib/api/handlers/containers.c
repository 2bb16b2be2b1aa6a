/* Container endpoints: create, start, stop, restart, kill, wait, remove,
 * list, inspect, pause, unpause, rename, top, prune. Streams (logs, attach,
 * exec) are in containers_io.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "api/handlers/input.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/exec.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "storage/layer_store.h"

extern char **environ;

struct berth_container *berth_api_container(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	struct berth_container *ct = berth_container_get(d->containers, r->params[0], &err);
	if (!ct)
		berth_http_respond_error(c, &err);
	return ct;
}

static void ctr_create(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *body = NULL;
	if (!berth_api_require_json(r, c))
		return;
	if (berth_http_body_json(c, 4 << 20, &body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	/* dockerd decodes the whole body into its Go structs before anything else */
	if (berth_input_check_create(body, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	if (!body || json_is_null(body)) {
		berth_http_respond_msg(c, 400, "Config cannot be empty in order to create a container");
		return;
	}
	json_t *resp = NULL;
	if (berth_ctr_create(d, berth_http_query(r, "name"), body, &resp, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 201, resp);
}

static void respond_op(struct berth_http_conn *c, int rc, struct berth_error *err)
{
	if (rc < 0 && err->kind == BERTH_E_NOT_MODIFIED)
		berth_http_respond_empty(c, 304);
	else if (rc < 0)
		berth_http_respond_error(c, err);
	else
		berth_http_respond_empty(c, 204);
}

static void ctr_start(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_start_user(d, ct, &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static int query_timeout(struct berth_http_req *r)
{
	const char *t = berth_http_query(r, "t");
	return t && *t ? atoi(t) : -1;
}

static void ctr_stop(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_stop(d, ct, query_timeout(r), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_restart(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_restart(d, ct, query_timeout(r), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_kill(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_kill(d, ct, berth_http_query(r, "signal"), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_pause(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int rc = berth_ctr_pause(d, ct, berth_str_has_suffix(r->path, "/pause"), &err);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static bool conn_gone(void *ctx) { return berth_http_peer_gone(ctx); }

static void ctr_wait(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	int64_t code = 0;
	const char *cond = berth_http_query(r, "condition");
	if (cond && *cond && strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	/* docker sends the headers at once and the body at the exit */
	berth_http_stream_begin(c, 200, "application/json");
	int rc = berth_ctr_wait(d, ct, cond, conn_gone, c, &code, &err);
	berth_container_put(d->containers, ct);
	if (rc < 0)
		return;
	json_t *j = json_pack("{s:I, s:n}", "StatusCode", (json_int_t)code, "Error");
	berth_http_stream_json(c, j);
	json_decref(j);
}

static void ctr_delete(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	if (berth_http_query_bool(r, "link", false)) {
		berth_container_put(d->containers, ct);
		berth_http_respond_msg(c, 400, "Conflict, cannot remove the default link name of the container");
		return;
	}
	int rc = berth_ctr_remove(d, ct, berth_http_query_bool(r, "force", false), berth_http_query_bool(r, "v", false),
				  &err);
	if (rc == 0)
		berth_execs_drop_container(d->execs, ct->id);
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

static void ctr_list(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	int limit = (int)berth_http_query_int(r, "limit", -1);
	if (berth_http_query_bool(r, "latest", false))
		limit = 1;
	json_t *list = berth_ctr_list(d, filters, berth_http_query_bool(r, "all", false), limit,
				      berth_http_query_bool(r, "size", false), &err);
	if (!list) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, list);
}

static void ctr_inspect(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	json_t *j = berth_ctr_inspect(d, ct, berth_http_query_bool(r, "size", false));
	json_t *ids = berth_exec_ids(d->execs, ct->id);
	json_object_set_new(j, "ExecIDs", json_array_size(ids) ? ids : json_null());
	if (!json_array_size(ids))
		json_decref(ids);
	berth_container_put(d->containers, ct);
	berth_http_respond_json(c, 200, j);
}

static void ctr_rename(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	struct berth_error err = {0};
	const char *name = berth_http_query(r, "name");
	char old[256];
	snprintf(old, sizeof(old), "%s", ct->name + 1);
	int rc = name && *name ? berth_container_rename(d->containers, ct, name, &err) :
				 berth_err(&err, BERTH_E_INVALID, "Neither old nor new names may be empty");
	if (rc == 0)
		berth_ctr_event(d, ct, "rename", json_pack("{s:s}", "oldName", old));
	berth_container_put(d->containers, ct);
	respond_op(c, rc, &err);
}

/* Run a program, capture stdout. */
static int capture(char *const argv[], struct berth_buf *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -1;
	}
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		berth_buf_append(out, buf, (size_t)n);
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void ctr_top(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_container *ct = berth_api_container(d, r, c);
	if (!ct)
		return;
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED;
	char id[65];
	snprintf(id, sizeof(id), "%s", ct->id);
	const char *rtname = jstr_ne(jobj(ct->doc, "HostConfig"), "Runtime");
	char rtn[64];
	snprintf(rtn, sizeof(rtn), "%s", rtname ? rtname : "");
	pthread_mutex_unlock(&ct->mu);
	berth_container_put(d->containers, ct);
	if (!running) {
		berth_http_respond_msg(c, 409, "Container %s is not running", id);
		return;
	}
	struct berth_error err = {0};
	const struct berth_runtime *rt = NULL;
	if (berth_runtimes_resolve(d->runtimes, rtn[0] ? rtn : NULL, &rt, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	cleanup_free char *root = berth_runtime_root(d->cfg.exec_root, rt->name);
	struct berth_buf pids_out = {0}, ps_out = {0};
	char *rargv[] = {(char *)rt->path, "--root", root, "ps", "--format", "json", id, NULL};
	if (capture(rargv, &pids_out) < 0) {
		berth_buf_free(&pids_out);
		berth_http_respond_msg(c, 500, "runtime ps failed for container %s", id);
		return;
	}
	cleanup_json json_t *pids = json_loads(berth_buf_str(&pids_out), 0, NULL);
	berth_buf_free(&pids_out);
	const char *ps_args = berth_http_query(r, "ps_args");
	char **argv = NULL;
	berth_strv_push(&argv, "ps");
	if (ps_args && *ps_args) {
		cleanup_free char *copy = strdup(ps_args);
		char *save = NULL;
		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
			berth_strv_push(&argv, t);
	} else {
		berth_strv_push(&argv, "-ef");
	}
	int prc = capture(argv, &ps_out);
	berth_strv_free(argv);
	if (prc < 0) {
		berth_buf_free(&ps_out);
		berth_http_respond_msg(c, 500, "Error running ps: exit status 1");
		return;
	}
	/* header, then keep rows whose PID column is one of the container's */
	json_t *titles = json_array(), *procs = json_array();
	char *save = NULL;
	char *line = strtok_r(ps_out.data ? ps_out.data : (char[]){0}, "\n", &save);
	int pid_col = -1, ncols = 0;
	if (line) {
		char *s2 = NULL;
		for (char *t = strtok_r(line, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2)) {
			if (!strcmp(t, "PID"))
				pid_col = ncols;
			json_array_append_new(titles, json_string(t));
			ncols++;
		}
	}
	if (pid_col < 0) {
		json_decref(titles);
		json_decref(procs);
		berth_buf_free(&ps_out);
		berth_http_respond_msg(c, 500, "Couldn't find PID field in ps output");
		return;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		json_t *row = json_array();
		char *p = line;
		for (int col = 0; col < ncols; col++) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (col == ncols - 1) {
				json_array_append_new(row, json_string(p));
				break;
			}
			char *e = p;
			while (*e && *e != ' ' && *e != '\t')
				e++;
			json_array_append_new(row, json_stringn(p, (size_t)(e - p)));
			p = e;
		}
		int pid = atoi(json_string_value(json_array_get(row, (size_t)pid_col)) ?: "0");
		bool mine = false;
		size_t i;
		json_t *v;
		json_array_foreach(pids, i, v)
			if (json_integer_value(v) == pid)
				mine = true;
		if (mine)
			json_array_append_new(procs, row);
		else
			json_decref(row);
	}
	berth_buf_free(&ps_out);
	berth_http_respond_json(c, 200, json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs));
}

static void ctr_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	static const char *const allowed[] = {"until", "label", "label!", NULL};
	if (berth_api_filters_check(filters, allowed, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	int64_t until = 0;
	json_t *u = json_array_get(json_object_get(filters, "until"), 0);
	if (u) {
		if (berth_time_parse(json_string_value(u), &until) < 0) {
			berth_http_respond_msg(c, 400, "failed to parse value as time or duration: \"%s\"",
					       json_string_value(u));
			return;
		}
	}
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	for (size_t i = 0; i < n; i++) {
		struct berth_container *ct = all[i];
		pthread_mutex_lock(&ct->mu);
		bool stopped = ct->state == CS_EXITED || ct->state == CS_CREATED || ct->state == CS_DEAD;
		int64_t created = 0;
		berth_time_parse(jstr(ct->doc, "Created"), &created);
		json_t *labels = jobj(jobj(ct->doc, "Config"), "Labels");
		bool keep = stopped && (!until || created < until);
		if (keep && json_array_size(json_object_get(filters, "label")) &&
		    !berth_api_labels_match(json_object_get(filters, "label"), labels))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "label!")) &&
		    berth_api_labels_match(json_object_get(filters, "label!"), labels))
			keep = false;
		pthread_mutex_unlock(&ct->mu);
		if (!keep)
			continue;
		int64_t sz = berth_rwlayer_size(d->layers, ct->id);
		if (berth_ctr_remove(d, ct, false, false, &err) == 0) {
			json_array_append_new(deleted, json_string(ct->id));
			reclaimed += sz;
		}
	}
	berth_container_list_free(d->containers, all, n);
	json_t *sattrs = json_object();
	char rs[32];
	snprintf(rs, sizeof(rs), "%lld", (long long)reclaimed);
	json_object_set_new(sattrs, "reclaimed", json_string(rs));
	berth_events_emit(d->events, "container", "prune", "", sattrs);
	json_decref(sattrs);
	bool any = json_array_size(deleted) > 0;
	if (!any) {
		json_decref(deleted);
		deleted = json_null();
	}
	berth_http_respond_json(
		c, 200, json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed));
}

const struct berth_route berth_routes_containers[] = {
	{"POST", "/containers/create", ctr_create},
	{"GET", "/containers/json", ctr_list},
	{"POST", "/containers/prune", ctr_prune},
	{"GET", "/containers/{id}/json", ctr_inspect},
	{"POST", "/containers/{id}/start", ctr_start},
	{"POST", "/containers/{id}/stop", ctr_stop},
	{"POST", "/containers/{id}/restart", ctr_restart},
	{"POST", "/containers/{id}/kill", ctr_kill},
	{"POST", "/containers/{id}/pause", ctr_pause},
	{"POST", "/containers/{id}/unpause", ctr_pause},
	{"POST", "/containers/{id}/wait", ctr_wait},
	{"POST", "/containers/{id}/rename", ctr_rename},
	{"GET", "/containers/{id}/top", ctr_top},
	{"DELETE", "/containers/{id}", ctr_delete},
	{NULL, NULL, NULL},
};
