/* Restart policies at daemon start: which stopped containers start again,
 * in which order, and cleanup after lost shims. See container_autostart.h. */
#include "daemon/container_autostart.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"

/* "container:<x>" -> x */
static void add_mode_dep(char ***deps, const json_t *hc, const char *key)
{
	const char *m = jstr(hc, key);
	if (m && !strncmp(m, "container:", 10) && m[10])
		berth_strv_push(deps, m + 10);
}

char **berth_ctr_dependencies(struct berth_container *c)
{
	char **deps = NULL;
	pthread_mutex_lock(&c->mu);
	json_t *hc = jobj(berth_container_doc_or_log(c, "dependencies unknown"), "HostConfig");
	size_t i;
	json_t *v;
	json_array_foreach(jarr(hc, "VolumesFrom"), i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s)
			continue;
		/* "name", "name:ro", "name:rw" (the name itself has no ':') */
		const char *colon = strchr(s, ':');
		cleanup_free char *name = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
		if (name && *name)
			berth_strv_push(&deps, name);
	}
	add_mode_dep(&deps, hc, "NetworkMode");
	add_mode_dep(&deps, hc, "IpcMode");
	add_mode_dep(&deps, hc, "PidMode");
	json_array_foreach(jarr(hc, "Links"), i, v) {
		/* "name:alias" as sent, or docker's stored "/name:/self/alias" */
		const char *s = json_string_value(v);
		if (!s || !*s)
			continue;
		if (*s == '/')
			s++;
		const char *colon = strchr(s, ':');
		cleanup_free char *name = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
		if (name && *name)
			berth_strv_push(&deps, name);
	}
	pthread_mutex_unlock(&c->mu);
	return deps;
}

/* A dependency is still on its way up: a restart is pending, or live restore
 * has not looked at it yet (running in the record, no shim adopted). */
static bool pending_locked(struct berth_container *t)
{
	if (t->removed)
		return false;
	if (t->state == CS_RESTARTING)
		return true;
	return (t->state == CS_RUNNING || t->state == CS_PAUSED) && t->shim_pid == 0;
}

void berth_ctr_wait_deps(struct berth_daemon *d, struct berth_container *c)
{
	char **deps = berth_ctr_dependencies(c);
	int64_t deadline = berth_now_ns() + 60 * 1000000000LL;
	for (size_t i = 0; deps && deps[i]; i++) {
		struct berth_container *t = berth_container_get(d->containers, deps[i], NULL);
		if (!t)
			continue;
		if (t != c) {
			pthread_mutex_lock(&t->mu);
			while (pending_locked(t) && berth_now_ns() < deadline && !berth_bgjobs_closing(&d->jobs)) {
				berth_cond_wait_ms(&t->cond, &t->mu, 100);
			}
			pthread_mutex_unlock(&t->mu);
		}
		berth_container_put(d->containers, t);
	}
	berth_strv_free(deps);
}

void berth_ctr_lost_cleanup(struct berth_daemon *d, struct berth_container *c)
{
	pthread_mutex_lock(&c->mu);
	json_t *hc = jobj(berth_container_doc_or_log(c, "runtime unknown"), "HostConfig");
	cleanup_free char *rtname = jstr_ne(hc, "Runtime") ? strdup(jstr(hc, "Runtime")) : NULL;
	pthread_mutex_unlock(&c->mu);
	const struct berth_runtime *rt = NULL;
	struct berth_error err = {0};
	if (!d->runtimes || berth_runtimes_resolve(d->runtimes, rtname, &rt, &err) < 0) {
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: lost shim cleanup: %s", c->id,
			  err.msg[0] ? err.msg : "no runtime");
		return;
	}
	cleanup_free char *root = berth_runtime_root(d->cfg.exec_root, rt->name);
	cleanup_free char *cg = berth_strdup_printf("/berth/%s", c->id);
	if (berth_runtime_force_delete(rt, root, c->id, cg, &err) < 0)
		berth_log(&d->log, BERTH_LOG_DEBUG, "container %.12s: runtime delete after lost shim: %s", c->id,
			  err.msg);
}

bool berth_ctr_should_autostart(struct berth_container *c)
{
	pthread_mutex_lock(&c->mu);
	bool go = false;
	json_t *doc = NULL;
	if (c->has_been_started && !c->removed && c->state == CS_EXITED &&
	    (doc = berth_container_doc_or_log(c, "restart policy unknown")) != NULL) {
		json_t *rp = jobj(jobj(doc, "HostConfig"), "RestartPolicy");
		const char *policy = jstr(rp, "Name") ? jstr(rp, "Name") : "";
		json_t *st = jobj(doc, "State");
		int64_t code = jint(st, "ExitCode", 0);
		if (!strcmp(policy, "always")) {
			go = true;
		} else if (!strcmp(policy, "unless-stopped")) {
			/* While berthd runs, an unless-stopped container that exits is
			 * restarted unless the user stopped it; so a stopped one was
			 * stopped by the user, except when its restart failed (then
			 * State.Error says why, and docker would try again). */
			const char *e = jstr(st, "Error");
			go = e && *e;
		} else if (!strcmp(policy, "on-failure")) {
			int64_t max = jint(rp, "MaximumRetryCount", 0);
			go = code != 0 && (max == 0 || jint(doc, "RestartCount", 0) < max);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return go;
}

struct autostart_job {
	struct berth_daemon *d;
	struct berth_container *c; /* a reference */
};

static void autostart_main(void *arg)
{
	struct autostart_job *j = arg;
	struct berth_container *c = j->c;
	berth_ctr_wait_deps(j->d, c);
	pthread_mutex_lock(&c->mu);
	bool go = c->state == CS_RESTARTING && !c->stop_requested && !c->removed;
	if (go)
		json_object_set_new(berth_container_doc_or_log(c, "restart count not reset"), "RestartCount",
				    json_integer(0));
	pthread_mutex_unlock(&c->mu);
	struct berth_error err = {0};
	if (go && berth_ctr_start(j->d, c, &err) < 0) {
		berth_log(&j->d->log, BERTH_LOG_ERROR, "failed to start container %.12s: %s", c->id, err.msg);
		pthread_mutex_lock(&c->mu);
		if (c->state == CS_RESTARTING)
			berth_container_set_state(c, CS_EXITED);
		struct berth_container_snap *snap = berth_container_snapshot(c);
		pthread_mutex_unlock(&c->mu);
		berth_container_write(j->d->containers, snap, NULL);
	}
	berth_container_put(j->d->containers, c);
	free(j);
}

void berth_ctr_autostart(struct berth_daemon *d)
{
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	bool *pick = calloc(n + 1, sizeof(*pick));
	/* mark them all first, so dependents see their dependencies pending */
	for (size_t i = 0; i < n && pick; i++) {
		if (!berth_ctr_should_autostart(all[i]))
			continue;
		pthread_mutex_lock(&all[i]->mu);
		if (all[i]->state == CS_EXITED) {
			berth_container_set_state(all[i], CS_RESTARTING);
			pick[i] = true;
		}
		pthread_mutex_unlock(&all[i]->mu);
	}
	for (size_t i = 0; i < n && pick; i++) {
		if (!pick[i])
			continue;
		berth_log(&d->log, BERTH_LOG_INFO, "starting container %.12s (restart policy)", all[i]->id);
		struct autostart_job *j = calloc(1, sizeof(*j));
		struct berth_error err = {0};
		if (j) {
			j->d = d;
			j->c = berth_container_get(d->containers, all[i]->id, &err);
		}
		if (!j || !j->c || !berth_bgjobs_run(&d->jobs, autostart_main, j)) {
			pthread_mutex_lock(&all[i]->mu);
			if (all[i]->state == CS_RESTARTING)
				berth_container_set_state(all[i], CS_EXITED);
			pthread_mutex_unlock(&all[i]->mu);
			if (j && j->c)
				berth_container_put(d->containers, j->c);
			free(j);
		}
	}
	free(pick);
	berth_container_list_free(d->containers, all, n);
}
