/* What happens when a container's process ends: the monitor thread waits on
 * shim pidfds; the exit is recorded, the rootfs unmounted, die emitted, then
 * the restart policy (docker's back-off) or --rm applies. Also live restore
 * at daemon start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/span.h"
#include "common/util.h"
#include "daemon/container_autostart.h"
#include "daemon/container_net.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/volumes.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"
#include "storage/layer_store.h"

struct watch {
	struct berth_container *c; /* a reference */
	int pidfd;
	struct watch *prev, *next;
};

struct berth_monitor {
	struct berth_daemon *d;
	int epfd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t mu;
	struct watch *watches; /* still waiting (freed at stop) */
};

static void watch_unlink(struct berth_monitor *m, struct watch *w)
{
	pthread_mutex_lock(&m->mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		m->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&m->mu);
}

/* The exit a shim that has ended left behind. A shim killed before it
 * recorded the exit may leave its container running with nobody holding its
 * stdio: the exit is 255 with why (if given) as its error. One killed after
 * that but before the runtime's delete (the record has no runtime_delete_us)
 * leaves the runtime's state, which a restart would run into. Either way
 * kill and delete what is left, as containerd does after a dead shim. */
static void shim_gone_exit(struct berth_daemon *d, struct berth_container *c, struct berth_exit *ex, const char *why)
{
	cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
	if (berth_shim_read_exit(state_dir, ex, NULL) < 0) {
		berth_ctr_lost_cleanup(d, c);
		ex->exit_code = 255;
		if (why)
			snprintf(ex->error, sizeof(ex->error), "%s", why);
	} else if (ex->runtime_delete_us == 0) {
		berth_ctr_lost_cleanup(d, c);
	}
}

/* A watched shim has ended: its exit is handled, the watch freed. */
static void handle_exit(struct berth_daemon *d, struct watch *w)
{
	struct berth_exit ex = {0};
	shim_gone_exit(d, w->c, &ex, "berth-shim exited without recording an exit status");
	berth_ctr_exited(d, w->c, &ex);
	berth_container_put(d->containers, w->c);
	free(w);
}

struct exit_job {
	struct berth_daemon *d;
	struct watch *w;
};

static void exit_main(void *arg)
{
	struct exit_job *j = arg;
	handle_exit(j->d, j->w);
	free(j);
}

static void *monitor_main(void *arg)
{
	struct berth_monitor *m = arg;
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(m->epfd, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (!w)
				return NULL; /* stop pipe */
			epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
			close(w->pidfd);
			watch_unlink(m, w);
			/* each exit on a thread of its own: the unmount, the
			 * record write and the restart policy of one container
			 * do not hold up the others' (rm -f of many) */
			struct exit_job *j = malloc(sizeof(*j));
			if (j) {
				*j = (struct exit_job){.d = m->d, .w = w};
				if (berth_bgjobs_run(&m->d->jobs, exit_main, j))
					continue;
			}
			free(j);
			handle_exit(m->d, w); /* no thread (closing, out of memory): here */
		}
	}
	return NULL;
}

struct berth_monitor *berth_monitor_start(struct berth_daemon *d, struct berth_error *err)
{
	struct berth_monitor *m = calloc(1, sizeof(*m));
	m->d = d;
	pthread_mutex_init(&m->mu, NULL);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0 || pipe2(m->stop_pipe, O_CLOEXEC) < 0) {
		free(m);
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "monitor");
		return NULL;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->stop_pipe[0], &ev);
	pthread_create(&m->thread, NULL, monitor_main, m);
	return m;
}

void berth_monitor_stop(struct berth_monitor *m)
{
	if (!m)
		return;
	if (write(m->stop_pipe[1], "x", 1) < 0) {
		/* ignore */
	}
	pthread_join(m->thread, NULL);
	while (m->watches) {
		struct watch *w = m->watches;
		m->watches = w->next;
		close(w->pidfd);
		berth_container_put(m->d->containers, w->c);
		free(w);
	}
	pthread_mutex_destroy(&m->mu);
	close(m->epfd);
	close(m->stop_pipe[0]);
	close(m->stop_pipe[1]);
	free(m);
}

int berth_monitor_watch(struct berth_monitor *m, struct berth_container *c, int shim_pid)
{
	int fd = berth_shim_pidfd(shim_pid);
	if (fd < 0) {
		/* already gone: handle the exit right away */
		struct berth_exit ex = {0};
		shim_gone_exit(m->d, c, &ex, NULL);
		berth_ctr_exited(m->d, c, &ex);
		return 0;
	}
	struct watch *w = calloc(1, sizeof(*w));
	struct berth_error err = {0};
	w->c = berth_container_get(m->d->containers, c->id, &err);
	w->pidfd = fd;
	if (!w->c) {
		close(fd);
		free(w);
		return -1;
	}
	pthread_mutex_lock(&m->mu);
	w->next = m->watches;
	if (w->next)
		w->next->prev = w;
	m->watches = w;
	pthread_mutex_unlock(&m->mu);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct restart_job {
	struct berth_daemon *d;
	struct berth_container *c;
	int delay_ms;
	bool remove;
};

static void restart_main(void *arg)
{
	struct restart_job *j = arg;
	struct berth_error err = {0};
	if (j->remove) {
		if (berth_ctr_remove(j->d, j->c, true, true, &err) < 0)
			berth_log(&j->d->log, BERTH_LOG_WARN, "auto-remove %.12s: %s", j->c->id, err.msg);
	} else {
		/* a daemon that closes meanwhile leaves it Restarting: the next
		 * start takes it up (berth_ctr_restore) */
		bool go = berth_bgjobs_sleep(&j->d->jobs, j->delay_ms);
		if (go)
			berth_ctr_wait_deps(j->d, j->c); /* --volumes-from / container: targets first */
		pthread_mutex_lock(&j->c->mu);
		go = go && j->c->state == CS_RESTARTING && !j->c->stop_requested && !j->c->removed;
		pthread_mutex_unlock(&j->c->mu);
		if (go && berth_ctr_start(j->d, j->c, &err) < 0) {
			berth_log(&j->d->log, BERTH_LOG_ERROR, "restart %.12s: %s", j->c->id, err.msg);
			pthread_mutex_lock(&j->c->mu);
			if (j->c->state == CS_RESTARTING)
				berth_container_set_state(j->c, CS_EXITED);
			struct berth_container_snap *snap = berth_container_snapshot(j->c);
			pthread_mutex_unlock(&j->c->mu);
			berth_container_write(j->d->containers, snap, NULL);
		}
	}
	berth_container_put(j->d->containers, j->c);
	free(j);
}

static void spawn_job(struct berth_daemon *d, struct berth_container *c, int delay_ms, bool remove)
{
	struct restart_job *j = calloc(1, sizeof(*j));
	struct berth_error err = {0};
	if (!j)
		return;
	j->d = d;
	j->c = berth_container_get(d->containers, c->id, &err);
	j->delay_ms = delay_ms;
	j->remove = remove;
	/* not started while the daemon closes: a Restarting record is taken
	 * up at the next start */
	if (!j->c || !berth_bgjobs_run(&d->jobs, restart_main, j)) {
		if (j->c)
			berth_container_put(d->containers, j->c);
		free(j);
	}
}

void berth_ctr_exited(struct berth_daemon *d, struct berth_container *c, const struct berth_exit *ex)
{
	/* As docker: the rootfs is unmounted before the exit is recorded and die
	 * is emitted before waiters (stop, rm -f, wait) see it, so a removal never
	 * races with this unmount and "stop"/"destroy" always follow "die". */
	struct berth_span sp; /* --debug: one line of phase timings (common/span.h) */
	berth_span_init(&sp, 0);
	if (ex->finished_ns > 0) { /* the shim's clock is the host's: from its exit record to here */
		int64_t since_us = (berth_now_ns() - ex->finished_ns) / 1000;
		berth_span_add(&sp, "exit notification", since_us - ex->runtime_delete_us);
		berth_span_add(&sp, "runtime delete", ex->runtime_delete_us);
	}
	struct berth_error e = {0};
	if (berth_rwlayer_unmount(d->layers, c->id, &e) < 0)
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: unmount: %s", c->id, e.msg);
	berth_span_mark(&sp, "unmount");
	berth_ctr_net_release(d, c); /* endpoints, rules, proxies, sandbox (daemon/container_net.h) */
	berth_span_mark(&sp, "network release");
	cleanup_free char *code = berth_strdup_printf("%d", ex->exit_code);
	pthread_mutex_lock(&c->mu);
	int64_t ran_ns = c->started_ns ? berth_now_ns() - c->started_ns : 0;
	berth_container_set_exited(c, ex->exit_code, ex->oom_killed, ex->finished_ns, ex->error[0] ? ex->error : NULL);
	berth_health_stop_locked(d, c);
	/* unreadable: no restart policy (logged) */
	json_t *doc = berth_container_doc_or_log(c, "restart policy unknown");
	json_t *hc = json_object_get(doc, "HostConfig");
	json_t *rp = jobj(hc, "RestartPolicy");
	const char *policy = jstr(rp, "Name") ? jstr(rp, "Name") : "";
	int64_t max = jint(rp, "MaximumRetryCount", 0);
	int64_t count = jint(doc, "RestartCount", 0);
	bool restart = false;
	if (!c->stop_requested && !c->removed) {
		if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped"))
			restart = true;
		else if (!strcmp(policy, "on-failure") && ex->exit_code != 0 && (max == 0 || count < max))
			restart = true;
	}
	bool autoremove = jbool(hc, "AutoRemove", false) && !restart;
	if (restart) {
		/* docker's back-off: 100 ms doubling, reset after 10 s of running */
		if (ran_ns >= 10000000000LL || c->restart_delay_ms == 0)
			c->restart_delay_ms = 100;
		else
			c->restart_delay_ms = c->restart_delay_ms >= 30000 ?
						      60000 :
						      c->restart_delay_ms * 2; /* docker caps at 1 min */
		json_object_set_new(doc, "RestartCount", json_integer(count + 1));
		berth_container_set_state(c, CS_RESTARTING);
	}
	int delay = c->restart_delay_ms;
	struct berth_container_snap *snap = berth_container_snapshot(c);
	berth_ctr_event_locked(d, c, "die", json_pack("{s:s}", "exitCode", code));
	if (ex->oom_killed)
		berth_ctr_event_locked(d, c, "oom", NULL);
	pthread_mutex_unlock(&c->mu);
	berth_container_write(d->containers, snap, NULL);
	berth_span_mark(&sp, "record write");
	berth_volumes_container_stop(d, c); /* "unmount" events, driver-option volumes (daemon/volumes.h) */
	if (atomic_load(&d->log.level) >= BERTH_LOG_DEBUG) {
		char line[512];
		berth_span_format(&sp, line, sizeof(line));
		berth_log(&d->log, BERTH_LOG_DEBUG, "timings exit %.12s: %s", c->id, line);
	}
	if (restart)
		spawn_job(d, c, delay, false);
	else if (autoremove)
		spawn_job(d, c, 0, true);
}

void berth_ctr_restore(struct berth_daemon *d)
{
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		enum berth_cstate st = c->state;
		pthread_mutex_unlock(&c->mu);
		if (st != CS_RUNNING && st != CS_PAUSED && st != CS_RESTARTING)
			continue;
		cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
		struct berth_shim_state ss = {0};
		struct berth_error err = {0};
		int found = st == CS_RESTARTING ? BERTH_SHIM_LOST : berth_shim_reconnect(state_dir, &ss, &err);
		pid_t shim_pid = 0;
		if (found == BERTH_SHIM_RUNNING && berth_shim_alive(state_dir, &shim_pid) == 1) {
			/* take the mount reference again (the mount itself is still
			 * there: the host's, or the one the shim holds) */
			cleanup_free char *held = berth_shim_rootfs_path(shim_pid);
			if (berth_rwlayer_mount_adopt(d->layers, c->id, held, &err) < 0)
				berth_log(&d->log, BERTH_LOG_WARN, "restore %.12s: %s", c->id, err.msg);
			pthread_mutex_lock(&c->mu);
			c->shim_pid = shim_pid;
			c->started_ns = ss.started_ns;
			pthread_mutex_unlock(&c->mu);
			berth_monitor_watch(d->monitor, c, shim_pid);
			berth_health_restore(d, c);
			berth_log(&d->log, BERTH_LOG_INFO, "restored container %.12s (shim %d)", c->id, shim_pid);
			continue;
		}
		struct berth_exit ex = {0};
		if (found == BERTH_SHIM_EXITED && ss.exited) {
			ex = ss.exit;
		} else if (berth_shim_read_exit(state_dir, &ex, NULL) < 0) {
			if (st == CS_RESTARTING) {
				pthread_mutex_lock(&c->mu);
				ex.exit_code =
					(int)jint(jobj(berth_container_doc_or_log(c, "exit code unknown"), "State"),
						  "ExitCode", 255);
				pthread_mutex_unlock(&c->mu);
			} else {
				ex.exit_code = 255;
			}
			if (st != CS_RESTARTING)
				snprintf(ex.error, sizeof(ex.error), "container's shim was lost while berthd was down");
		}
		/* a shim killed after it recorded the exit but before the
		 * runtime's delete leaves the runtime's state too */
		if (found == BERTH_SHIM_LOST || ex.runtime_delete_us == 0)
			berth_ctr_lost_cleanup(d, c);
		char *rootfs = NULL;
		if (berth_rwlayer_mount(d->layers, c->id, &rootfs, NULL) == 0)
			free(rootfs);
		berth_ctr_exited(d, c, &ex);
		berth_shim_cleanup(state_dir, NULL);
	}
	berth_container_list_free(d->containers, all, n);
	berth_ctr_net_restore(d); /* adopt running containers' endpoints, remove the others' */
	berth_ctr_autostart(d);   /* stopped containers their restart policy starts at daemon start */
}
