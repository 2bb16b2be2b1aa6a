#include "top.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "storage/layer_store.h"

extern char **environ;

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
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			berth_buf_append(out, buf, (size_t)n);
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static bool pid_in(json_t *pids, int pid)
{
	size_t i;
	json_t *v;
	json_array_foreach(pids, i, v)
		if (json_integer_value(v) == pid)
			return true;
	return false;
}

int berth_ctr_top(struct berth_daemon *d, struct berth_container *ct, const char *ps_args, json_t **out,
		  struct berth_error *err)
{
	*out = NULL;
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED;
	char id[65];
	snprintf(id, sizeof(id), "%s", ct->id);
	json_t *doc = berth_container_doc(ct, err);
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		return -1;
	}
	const char *rtname = jstr_ne(jobj(doc, "HostConfig"), "Runtime");
	char rtn[64];
	snprintf(rtn, sizeof(rtn), "%s", rtname ? rtname : "");
	pthread_mutex_unlock(&ct->mu);
	if (!running)
		return berth_err(err, BERTH_E_CONFLICT, "Container %s is not running", id);
	const struct berth_runtime *rt = NULL;
	if (berth_runtimes_resolve(d->runtimes, rtn[0] ? rtn : NULL, &rt, err) < 0)
		return -1;
	cleanup_free char *root = berth_runtime_root(d->cfg.exec_root, rt->name);
	struct berth_buf pids_out = {0}, ps_out = {0};
	char *rargv[] = {(char *)rt->path, "--root", root, "ps", "--format", "json", id, NULL};
	if (capture(rargv, &pids_out) < 0) {
		berth_buf_free(&pids_out);
		return berth_err(err, BERTH_E_INTERNAL, "runtime ps failed for container %s", id);
	}
	cleanup_json json_t *pids = json_loads(berth_buf_str(&pids_out), 0, NULL);
	berth_buf_free(&pids_out);
	char **argv = NULL;
	berth_strv_push(&argv, "ps");
	if (ps_args && *ps_args) {
		cleanup_free char *copy = strdup(ps_args);
		char *save = NULL;
		for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
			berth_strv_push(&argv, t);
	} else {
		berth_strv_push(&argv, "-ef");
	}
	int prc = capture(argv, &ps_out);
	berth_strv_free(argv);
	if (prc < 0) {
		berth_buf_free(&ps_out);
		return berth_err(err, BERTH_E_INTERNAL, "Error running ps: exit status 1");
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
		return berth_err(err, BERTH_E_INTERNAL, "Couldn't find PID field in ps output");
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
		if (pid_in(pids, pid))
			json_array_append_new(procs, row);
		else
			json_decref(row);
	}
	berth_buf_free(&ps_out);
	*out = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
	return 0;
}

/* filters.Validate's check and "until" (a time or a duration) */
static int prune_filters(json_t *filters, int64_t *until, struct berth_error *err)
{
	static const char *const allowed[] = {"until", "label", "label!", NULL};
	if (berth_filters_check(filters, allowed, err) < 0)
		return -1;
	*until = 0;
	json_t *u = json_array_get(json_object_get(filters, "until"), 0);
	if (u && berth_time_parse(json_string_value(u), until) < 0)
		return berth_err(err, BERTH_E_INVALID, "failed to parse value as time or duration: \"%s\"",
				 json_string_value(u));
	return 0;
}

int berth_ctr_prune(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err)
{
	*out = NULL;
	int64_t until = 0;
	if (prune_filters(filters, &until, err) < 0)
		return -1;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	for (size_t i = 0; i < n; i++) {
		struct berth_container *ct = all[i];
		pthread_mutex_lock(&ct->mu);
		bool stopped = ct->state == CS_EXITED || ct->state == CS_CREATED || ct->state == CS_DEAD;
		int64_t created = ct->created_ns;
		bool keep = stopped && (!until || created < until);
		bool by_label = json_array_size(json_object_get(filters, "label")) ||
				json_array_size(json_object_get(filters, "label!"));
		/* the document only for the label filters; unreadable: not pruned (logged) */
		json_t *doc = keep && by_label ? berth_container_doc_or_log(ct, "not pruned") : NULL;
		if (keep && by_label && !doc)
			keep = false;
		json_t *labels = jobj(jobj(doc, "Config"), "Labels");
		if (keep && json_array_size(json_object_get(filters, "label")) &&
		    !berth_labels_match(json_object_get(filters, "label"), labels))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "label!")) &&
		    berth_labels_match(json_object_get(filters, "label!"), labels))
			keep = false;
		pthread_mutex_unlock(&ct->mu);
		if (!keep)
			continue;
		int64_t sz = berth_rwlayer_size(d->layers, ct->id);
		struct berth_error e2 = {0};
		if (berth_ctr_remove(d, ct, false, false, &e2) == 0) {
			json_array_append_new(deleted, json_string(ct->id));
			reclaimed += sz;
		}
	}
	berth_container_list_free(d->containers, all, n);
	char rs[32];
	snprintf(rs, sizeof(rs), "%lld", (long long)reclaimed);
	json_t *sattrs = json_pack("{s:s}", "reclaimed", rs);
	berth_events_emit(d->events, "container", "prune", "", sattrs);
	json_decref(sattrs);
	if (!json_array_size(deleted)) {
		json_decref(deleted);
		deleted = json_null();
	}
	*out = json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
	return 0;
}

int berth_networks_prune(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err)
{
	*out = NULL;
	/* networksAcceptedFilters, with filters.Validate's message */
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) {
		if (strcmp(k, "until") && strcmp(k, "label") && strcmp(k, "label!"))
			return berth_err(err, BERTH_E_INVALID, "Invalid filter '%s'", k);
	}
	int64_t until = 0;
	if (prune_filters(filters, &until, err) < 0)
		return -1;
	json_t *attrs = json_pack("{s:s}", "reclaimed", "0");
	berth_events_emit(d->events, "network", "prune", "", attrs);
	json_decref(attrs);
	*out = json_pack("{s:n}", "NetworksDeleted");
	return 0;
}
