/* Container lifecycle: start, stop, kill, restart, pause, remove, wait, and
 * what happens when a container exits (die events, restart policy, --rm). */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/span.h"
#include "common/util.h"
#include "daemon/container_net.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/userns.h"
#include "daemon/volumes.h"
#include "image/store.h"
#include "logger/logger.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "storage/layer_store.h"

extern char **environ;

static const struct {
	const char *name;
	int num;
} signals[] = {
	{"ABRT", SIGABRT},     {"ALRM", SIGALRM},   {"BUS", SIGBUS},   {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
	{"CONT", SIGCONT},     {"FPE", SIGFPE},     {"HUP", SIGHUP},   {"ILL", SIGILL},   {"INT", SIGINT},
	{"IO", SIGIO},         {"IOT", SIGIOT},     {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
	{"PROF", SIGPROF},     {"PWR", SIGPWR},     {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT},
	{"STOP", SIGSTOP},     {"SYS", SIGSYS},     {"TERM", SIGTERM}, {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
	{"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
	{"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

int berth_signal_parse(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end)
		return n > 0 && n <= 64 ? (int)n : -1;
	const char *p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++)
		if (!strcasecmp(p, signals[i].name))
			return signals[i].num;
	if (!strncasecmp(p, "RTMIN", 5) || !strncasecmp(p, "RTMAX", 5)) {
		int base = toupper((unsigned char)p[3]) == 'I' ? SIGRTMIN : SIGRTMAX;
		if (!p[5])
			return base;
		long off = strtol(p + 5, &end, 10);
		if (!*end)
			return base + (int)off;
	}
	return -1;
}

void berth_ctr_event(struct berth_daemon *d, struct berth_container *c, const char *action, json_t *extra)
{
	pthread_mutex_lock(&c->mu);
	berth_ctr_event_locked(d, c, action, extra);
	pthread_mutex_unlock(&c->mu);
}

void berth_ctr_event_locked(struct berth_daemon *d, struct berth_container *c, const char *action, json_t *extra)
{
	json_t *attrs = json_object();
	/* unreadable: the event without the labels (logged) */
	json_t *cfg = json_object_get(berth_container_doc_or_log(c, "event without labels"), "Config");
	json_t *labels = json_object_get(cfg, "Labels");
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v)
		json_object_set(attrs, k, v);
	json_object_set_new(attrs, "image", json_string(jstr(cfg, "Image") ? jstr(cfg, "Image") : ""));
	json_object_set_new(attrs, "name", json_string(c->name + 1));
	if (extra)
		json_object_update(attrs, extra);
	berth_events_emit(d->events, "container", action, c->id, attrs);
	json_decref(attrs);
	json_decref(extra);
}

static bool is_running_state(enum berth_cstate st)
{
	return st == CS_RUNNING || st == CS_PAUSED || st == CS_RESTARTING;
}

static void unmount_quiet(struct berth_daemon *d, struct berth_container *c)
{
	struct berth_error e = {0};
	if (berth_rwlayer_unmount(d->layers, c->id, &e) < 0)
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: unmount: %s", c->id, e.msg);
}

/* Does a mount of the container's reach the host's (shared propagation)? */
static bool spec_shares_mounts(const json_t *spec)
{
	const char *rp = jstr(jobj(spec, "linux"), "rootfsPropagation");
	if (rp && strstr(rp, "shared"))
		return true;
	size_t i, k;
	json_t *m, *o;
	json_array_foreach(jarr(spec, "mounts"), i, m) {
		json_array_foreach(jarr(m, "options"), k, o) {
			const char *v = json_string_value(o);
			if (v && (!strcmp(v, "shared") || !strcmp(v, "rshared")))
				return true;
		}
	}
	return false;
}

/* Called with c->opmu held. */
static int do_start(struct berth_daemon *d, struct berth_container *c, int64_t req_ns, struct berth_error *err)
{
	struct berth_span sp; /* --debug: one line of phase timings (common/span.h) */
	berth_span_init(&sp, req_ns);
	if (req_ns > 0)
		berth_span_mark(&sp, "api parse");
	pthread_mutex_lock(&c->mu);
	if (c->state == CS_RUNNING || c->state == CS_PAUSED) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(err, BERTH_E_NOT_MODIFIED, "container already started");
	}
	if (c->removed || c->state == CS_REMOVING) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(err, BERTH_E_CONFLICT, "container is marked for removal and cannot be started");
	}
	/* a copy to read without the lock (paths, command, log settings): the
	 * container's tree is used only under c->mu */
	json_t *cdoc = berth_container_doc(c, err);
	cleanup_json json_t *doc = json_deep_copy(cdoc);
	pthread_mutex_unlock(&c->mu);
	if (!cdoc)
		return -1;
	if (!doc)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	cleanup_json json_t *cfg = json_deep_copy(json_object_get(doc, "Config"));
	cleanup_json json_t *hc = json_deep_copy(json_object_get(doc, "HostConfig"));
	char image_id[BERTH_DIGEST_LEN + 1];
	snprintf(image_id, sizeof(image_id), "%s", jstr(doc, "Image") ? jstr(doc, "Image") : "");

	struct berth_image img = {0};
	if (berth_image_get(d->images, image_id, &img, err) < 0)
		return -1;
	char *rootfs = NULL;
	struct berth_mount_args rootfs_args = {.view_fd = -1};
	char *netns = NULL, *ipcns = NULL, *pidns = NULL;
	json_t *spec = NULL;
	int rc = -1;
	cleanup_json json_t *vol_mounts = NULL;
	cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
	cleanup_free char *cgpath = NULL, *rtroot = NULL;
	berth_span_mark(&sp, "image lookup");
	/* files, sandbox, endpoints, NetworkSettings (daemon/container_net.h) */
	if (berth_ctr_net_prepare(d, c, cfg, hc, &netns, err) < 0 || berth_userns_ctr_files(d, doc, err) < 0)
		goto out;
	berth_span_mark(&sp, "network and files");
	ipcns = berth_ctr_ns_for(d, jstr(hc, "IpcMode"), "ipc", err);
	if (ipcns == (char *)-1) {
		ipcns = NULL;
		goto out;
	}
	pidns = berth_ctr_ns_for(d, jstr(hc, "PidMode"), "pid", err);
	if (pidns == (char *)-1) {
		pidns = NULL;
		goto out;
	}
	/* overlay2: a detached mount, which the shim attaches in a mount namespace of the runtime's run */
	int elsewhere = berth_rwlayer_mount_elsewhere(d->layers, c->id, &rootfs, &rootfs_args, err);
	if (elsewhere < 0)
		goto out;
	berth_span_mark(&sp, "rootfs mount");
	const struct berth_runtime *rt = NULL;
	if (berth_runtimes_resolve(d->runtimes, jstr_ne(hc, "Runtime"), &rt, err) < 0)
		goto out_unmount;
	cgpath = berth_strdup_printf("/berth/%s", c->id);
	char view[32];
	snprintf(view, sizeof(view), "/proc/self/fd/%d", rootfs_args.view_fd);
	/* volumes: mount driver-option volumes, name anonymous ones, extra OCI mounts (daemon/volumes.h) */
	if (berth_volumes_container_start(d, c, hc, &vol_mounts, err) < 0)
		goto out_unmount;
	struct berth_spec_input in = {.id = c->id,
				      .config = cfg,
				      .host_config = hc,
				      .image_config = jobj(img.json, "config"),
				      .rootfs = rootfs,
				      .rootfs_view = elsewhere ? view : NULL,
				      .hosts_path = jstr(doc, "HostsPath"),
				      .hostname_path = jstr(doc, "HostnamePath"),
				      .resolv_conf_path = jstr(doc, "ResolvConfPath"),
				      .netns_path = netns,
				      .ipc_ns_path = ipcns,
				      .pid_ns_path = pidns,
				      .cgroup_path = cgpath,
				      .sysinfo = &d->sysinfo,
				      .idmap = &d->idmap,
				      .default_seccomp_profile = d->cfg.sec.seccomp_profile,
				      .seccomp_memo = d->seccomp_memo,
				      .extra_mounts = vol_mounts,
				      .resolve_volume = berth_volumes_resolve,
				      .resolve_ctx = d};
	spec = berth_oci_spec_build(&in, err);
	if (!spec)
		goto out_unmount;
	if (elsewhere && spec_shares_mounts(spec)) {
		/* a shared bind's mounts reach the host only from the host's namespace */
		unmount_quiet(d, c);
		berth_mount_args_free(&rootfs_args);
		elsewhere = 0;
		free(rootfs);
		rootfs = NULL;
		if (berth_rwlayer_mount(d->layers, c->id, &rootfs, err) < 0)
			goto out;
	}
	if (berth_oci_bundle_write(state_dir, spec, err) < 0)
		goto out_unmount;
	rtroot = berth_runtime_root(d->cfg.exec_root, rt->name);
	json_t *lc = jobj(hc, "LogConfig");
	char *log_dir = berth_ctr_dir(d, c->id);
	char *log_file = berth_log_file_path(log_dir, jstr(lc, "Type"), jstr(doc, "LogPath"));
	free(log_dir);
	struct berth_buf log_cmd = {0};
	berth_buf_printf(&log_cmd, "%s", jstr(doc, "Path") ? jstr(doc, "Path") : "");
	for (size_t i = 0; i < json_array_size(jarr(doc, "Args")); i++)
		berth_buf_printf(&log_cmd, " %s", json_string_value(json_array_get(jarr(doc, "Args"), i)));
	struct berth_shim_opts so = {.shim_path = d->cfg.shim_path,
				     .id = c->id,
				     .bundle = state_dir,
				     .state_dir = state_dir,
				     .runtime = rt,
				     .runtime_root = rtroot,
				     .tty = jbool(cfg, "Tty", false),
				     .open_stdin = jbool(cfg, "OpenStdin", false),
				     .stdin_once = jbool(cfg, "StdinOnce", false),
				     .start = false,
				     .log_driver = jstr(lc, "Type"),
				     .log_opts = jobj(lc, "Config"),
				     .log_path = log_file,
				     .container_name = c->name + 1,
				     .image_id = image_id,
				     .image_name = jstr(cfg, "Image"),
				     .labels = jobj(cfg, "Labels"),
				     .env = jarr(cfg, "Env"),
				     .command = log_cmd.data ? log_cmd.data : "",
				     .created = jstr(doc, "Created"),
				     .rootfs_mount = {rootfs_args.target, rootfs_args.view_fd}};
	struct berth_shim_result res = {0};
	berth_span_mark(&sp, "bundle/spec write");
	int spawned = berth_shim_spawn(&so, &res, err);
	int64_t spawn_ns = berth_mono_ns();
	berth_span_add(&sp, "shim spawn", (spawn_ns - sp.last_ns) / 1000);
	free(log_file);
	berth_buf_free(&log_cmd);
	if (spawned < 0) {
		pthread_mutex_lock(&c->mu);
		json_t *st = json_object_get(berth_container_doc_or_log(c, "start error not recorded"), "State");
		json_object_set_new(st, "Error", json_string(err->msg));
		json_object_set_new(st, "ExitCode", json_integer(res.exit_code ? res.exit_code : 128));
		struct berth_container_snap *snap = berth_container_snapshot(c);
		pthread_mutex_unlock(&c->mu);
		berth_container_write(d->containers, snap, NULL);
		goto out_unmount;
	}
	/* let attach requests that wait for this start connect before output flows */
	pthread_mutex_lock(&c->mu);
	c->shim_pid = res.shim_pid;
	c->shim_ready = true;
	pthread_cond_broadcast(&c->cond);
	int64_t deadline = berth_now_ns() + 5000000000LL;
	while (c->attach_waiters > 0 && berth_now_ns() < deadline) {
		berth_cond_wait_ms(&c->cond, &c->mu, 20);
	}
	pthread_mutex_unlock(&c->mu);
	pid_t pid = 0;
	int exit_code = 0;
	int64_t start_us = 0;
	berth_span_skip(&sp);
	if (sp.last_ns - spawn_ns > 1000000) /* attach requests were waited for */
		berth_span_add(&sp, "attach wait", (sp.last_ns - spawn_ns) / 1000);
	if (berth_shim_start(state_dir, &pid, &exit_code, &start_us, err) < 0) {
		pthread_mutex_lock(&c->mu);
		c->shim_ready = false;
		json_t *st = json_object_get(berth_container_doc_or_log(c, "start error not recorded"), "State");
		json_object_set_new(st, "Error", json_string(err->msg));
		json_object_set_new(st, "ExitCode", json_integer(exit_code ? exit_code : 128));
		struct berth_container_snap *snap = berth_container_snapshot(c);
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->mu);
		berth_container_write(d->containers, snap, NULL);
		berth_shim_delete(state_dir, NULL);
		goto out_unmount;
	}
	if (elsewhere) {
		struct berth_error me = {0};
		cleanup_free char *held = berth_shim_rootfs_path(res.shim_pid);
		if (berth_rwlayer_mount_adopt(d->layers, c->id, held, &me) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: root filesystem: %s", c->id, me.msg);
	}
	pthread_mutex_lock(&c->mu);
	c->shim_ready = false;
	c->stop_requested = false;
	berth_container_set_running(c, pid);
	berth_health_reset_locked(c);
	c->shim_pid = res.shim_pid;
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	int64_t started_ns = berth_mono_ns();
	berth_span_add(&sp, "runtime run", start_us); /* create + start: one `runtime run --detach` */
	berth_span_add(&sp, "shim start call", (started_ns - sp.last_ns) / 1000 - start_us);
	sp.last_ns = started_ns;
	berth_container_write(d->containers, snap, NULL);
	berth_span_mark(&sp, "record write");
	berth_monitor_watch(d->monitor, c, res.shim_pid);
	if (atomic_load(&d->log.level) >= BERTH_LOG_DEBUG) {
		char line[512];
		berth_span_format(&sp, line, sizeof(line));
		berth_log(&d->log, BERTH_LOG_DEBUG, "timings start %.12s: %s", c->id, line);
	}
	berth_ctr_event(d, c, "start", NULL);
	berth_health_watch(d, c);
	rc = 0;
	goto out;
out_unmount:
	unmount_quiet(d, c);
	berth_volumes_container_stop(d, c);
out:
	if (rc < 0) {
		berth_ctr_net_release(d, c);
		pthread_mutex_lock(&c->mu);
		c->start_fail_seq++;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->mu);
	}
	json_decref(spec);
	free(rootfs);
	berth_mount_args_free(&rootfs_args);
	free(netns);
	free(ipcns);
	free(pidns);
	berth_image_free(&img);
	return rc;
}

static int do_remove(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes, int64_t req_ns,
		     struct berth_error *err);
static int start_timed(struct berth_daemon *d, struct berth_container *c, int64_t req_ns, struct berth_error *err);

int berth_ctr_start_user(struct berth_daemon *d, struct berth_container *c, int64_t req_ns, struct berth_error *err)
{
	/* a start by the user resets the restart manager, as docker does */
	pthread_mutex_lock(&c->mu);
	bool running = is_running_state(c->state);
	if (!running) {
		json_object_set_new(berth_container_doc_or_log(c, "restart count not reset"), "RestartCount",
				    json_integer(0));
		c->restart_delay_ms = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return start_timed(d, c, req_ns, err);
}

int berth_ctr_start(struct berth_daemon *d, struct berth_container *c, struct berth_error *err)
{
	return start_timed(d, c, 0, err);
}

static int start_timed(struct berth_daemon *d, struct berth_container *c, int64_t req_ns, struct berth_error *err)
{
	pthread_mutex_lock(&c->opmu);
	int rc = do_start(d, c, req_ns, err);
	if (rc < 0 && err->kind != BERTH_E_NOT_MODIFIED) {
		/* docker removes an --rm container whose start failed */
		pthread_mutex_lock(&c->mu);
		json_t *hc = jobj(berth_container_doc_or_log(c, "auto-remove unknown"), "HostConfig");
		bool autoremove = jbool(hc, "AutoRemove", false) && !is_running_state(c->state);
		pthread_mutex_unlock(&c->mu);
		struct berth_error e2 = {0};
		if (autoremove && do_remove(d, c, true, true, 0, &e2) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "auto-remove %.12s after failed start: %s", c->id, e2.msg);
	}
	pthread_mutex_unlock(&c->opmu);
	return rc;
}

static bool is_running(struct berth_container *c)
{
	return c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
}

/* Wait (c->mu held) until the exit counter moves past `seq` or the deadline. */
static bool wait_exit_locked(struct berth_container *c, uint64_t seq, int64_t deadline_ns)
{
	while (c->exit_seq == seq && is_running(c)) {
		if (deadline_ns) {
			struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
					      .tv_nsec = deadline_ns % 1000000000LL};
			if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT)
				return c->exit_seq != seq || !is_running(c);
		} else {
			pthread_cond_wait(&c->cond, &c->mu);
		}
	}
	return true;
}

static int send_signal(struct berth_daemon *d, struct berth_container *c, int sig, bool all, struct berth_error *err)
{
	cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
	if (berth_shim_kill(state_dir, NULL, sig, all, err) < 0)
		return -1;
	cleanup_free char *s = berth_strdup_printf("%d", sig);
	berth_ctr_event(d, c, "kill", json_pack("{s:s}", "signal", s));
	return 0;
}

static int do_stop(struct berth_daemon *d, struct berth_container *c, int timeout, struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	if (c->state == CS_RESTARTING) {
		/* stop wins over a pending restart */
		c->stop_requested = true;
		berth_container_set_state(c, CS_EXITED);
		struct berth_container_snap *snap = berth_container_snapshot(c);
		pthread_mutex_unlock(&c->mu);
		berth_container_write(d->containers, snap, NULL);
		return 0;
	}
	if (!is_running(c)) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(err, BERTH_E_NOT_MODIFIED, "container already stopped");
	}
	c->stop_requested = true;
	uint64_t seq = c->exit_seq;
	/* unreadable: SIGTERM and 10 s (logged) */
	json_t *cfg = json_object_get(berth_container_doc_or_log(c, "stop settings unknown"), "Config");
	int sig = berth_signal_parse(jstr_ne(cfg, "StopSignal") ? jstr(cfg, "StopSignal") : "SIGTERM");
	if (sig <= 0)
		sig = SIGTERM;
	if (timeout < 0)
		timeout = (int)jint(cfg, "StopTimeout", 10);
	bool paused = c->state == CS_PAUSED;
	pthread_mutex_unlock(&c->mu);
	if (paused)
		berth_ctr_pause(d, c, false, NULL);
	struct berth_error e2 = {0};
	if (send_signal(d, c, sig, false, &e2) < 0)
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: stop signal: %s", c->id, e2.msg);
	pthread_mutex_lock(&c->mu);
	bool done = wait_exit_locked(c, seq, berth_now_ns() + (int64_t)timeout * 1000000000LL);
	pthread_mutex_unlock(&c->mu);
	if (!done) {
		berth_log(&d->log, BERTH_LOG_INFO,
			  "Container %s failed to exit within %d seconds of signal %d - using the force", c->id,
			  timeout, sig);
		if (send_signal(d, c, SIGKILL, true, &e2) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: kill: %s", c->id, e2.msg);
		pthread_mutex_lock(&c->mu);
		done = wait_exit_locked(c, seq, berth_now_ns() + 30000000000LL);
		pthread_mutex_unlock(&c->mu);
		if (!done)
			return berth_err(
				err, BERTH_E_INTERNAL,
				"cannot stop container: %s: tried to kill container, but did not receive an exit event",
				c->id);
	}
	berth_ctr_event(d, c, "stop", NULL);
	return 0;
}

int berth_ctr_stop(struct berth_daemon *d, struct berth_container *c, int timeout, struct berth_error *err)
{
	pthread_mutex_lock(&c->opmu);
	int rc = do_stop(d, c, timeout, err);
	pthread_mutex_unlock(&c->opmu);
	return rc;
}

int berth_ctr_restart(struct berth_daemon *d, struct berth_container *c, int timeout, struct berth_error *err)
{
	pthread_mutex_lock(&c->opmu);
	struct berth_error e2 = {0};
	int rc = do_stop(d, c, timeout, &e2);
	if (rc < 0 && e2.kind != BERTH_E_NOT_MODIFIED) {
		*err = e2;
		pthread_mutex_unlock(&c->opmu);
		return -1;
	}
	rc = do_start(d, c, 0, err);
	pthread_mutex_unlock(&c->opmu);
	if (rc == 0)
		berth_ctr_event(d, c, "restart", NULL);
	return rc;
}

int berth_ctr_kill(struct berth_daemon *d, struct berth_container *c, const char *signal, struct berth_error *err)
{
	int sig = signal && *signal ? berth_signal_parse(signal) : SIGKILL;
	if (sig <= 0)
		return berth_err(err, BERTH_E_INVALID, "Invalid signal: %s", signal);
	pthread_mutex_lock(&c->mu);
	if (!is_running(c) || c->state == CS_RESTARTING) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
	}
	/* docker: any kill through the API counts as a manual stop (no restart) */
	c->stop_requested = true;
	uint64_t seq = c->exit_seq;
	pthread_mutex_unlock(&c->mu);
	if (send_signal(d, c, sig, false, err) < 0)
		return -1;
	if (sig != SIGKILL)
		return 0;
	/* docker's Kill(): SIGKILL (a frozen container is thawed so that it
	 * takes effect), then wait for the container to be gone */
	pthread_mutex_lock(&c->mu);
	bool paused = c->state == CS_PAUSED;
	pthread_mutex_unlock(&c->mu);
	if (paused)
		berth_ctr_pause(d, c, false, NULL);
	pthread_mutex_lock(&c->mu);
	bool done = wait_exit_locked(c, seq, berth_now_ns() + 10000000000LL);
	pthread_mutex_unlock(&c->mu);
	if (!done)
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: no exit 10 s after SIGKILL", c->id);
	return 0;
}

static int run_runtime(struct berth_daemon *d, struct berth_container *c, const char *verb, struct berth_error *err)
{
	const struct berth_runtime *rt = NULL;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	const char *rtn = jstr_ne(jobj(doc, "HostConfig"), "Runtime");
	cleanup_free char *rtname = rtn ? strdup(rtn) : NULL;
	pthread_mutex_unlock(&c->mu);
	if (!doc || berth_runtimes_resolve(d->runtimes, rtname, &rt, err) < 0)
		return -1;
	cleanup_free char *root = berth_runtime_root(d->cfg.exec_root, rt->name);
	char *argv[] = {(char *)rt->path, "--root", root, (char *)verb, c->id, NULL};
	pid_t pid;
	if (posix_spawn(&pid, rt->path, NULL, NULL, argv, environ) != 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "run %s", rt->path);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "Cannot %s container %s: %s %s failed", verb, c->id, rt->name,
				 verb);
	return 0;
}

int berth_ctr_pause(struct berth_daemon *d, struct berth_container *c, bool pause, struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	if (!is_running(c) || c->state == CS_RESTARTING)
		rc = berth_err(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
	else if (pause && c->state == CS_PAUSED)
		rc = berth_err(err, BERTH_E_CONFLICT, "Container %s is already paused", c->id);
	else if (!pause && c->state != CS_PAUSED)
		rc = berth_err(err, BERTH_E_CONFLICT, "Container %s is not paused", c->id);
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return -1;
	if (run_runtime(d, c, pause ? "pause" : "resume", err) < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	if (is_running(c))
		berth_container_set_state(c, pause ? CS_PAUSED : CS_RUNNING);
	if (pause)
		berth_health_stop_locked(d, c); /* docker stops the checks of a paused container */
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	berth_container_write(d->containers, snap, NULL);
	berth_ctr_event(d, c, pause ? "pause" : "unpause", NULL);
	if (!pause)
		berth_health_watch(d, c);
	return 0;
}

/* A shim whose start failed reports the error before it has finished up
 * (runtime delete, cgroup removal) and exited: wait for it (bounded), so that
 * its state directory can go with the container. */
static void wait_shim_gone(const char *state_dir)
{
	pid_t pid = 0;
	if (berth_shim_alive(state_dir, &pid) != 1)
		return;
	int fd = berth_shim_pidfd(pid);
	if (fd < 0)
		return;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, 10000) < 0 && errno == EINTR) {
	}
	close(fd);
}

static int do_remove(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes, int64_t req_ns,
		     struct berth_error *err)
{
	struct berth_span sp; /* --debug: one line of phase timings (common/span.h) */
	berth_span_init(&sp, req_ns);
	if (req_ns > 0)
		berth_span_mark(&sp, "api parse");
	pthread_mutex_lock(&c->mu);
	if (c->removed || c->state == CS_REMOVING) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(err, BERTH_E_CONFLICT, "removal of container %s is already in progress", c->name + 1);
	}
	if (c->state == CS_PAUSED && !force) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(
			err, BERTH_E_CONFLICT,
			"You cannot remove a paused container %s. Unpause and then stop the container before attempting removal or force remove",
			c->id);
	}
	if (is_running(c) && !force) {
		pthread_mutex_unlock(&c->mu);
		return berth_err(
			err, BERTH_E_CONFLICT,
			"You cannot remove a running container %s. Stop the container before attempting removal or force remove",
			c->id);
	}
	bool running = is_running(c) && c->state != CS_RESTARTING;
	c->stop_requested = true;
	uint64_t seq = c->exit_seq;
	/* SIGKILL to the init of a container with its own pid namespace ends
	 * every process in it (no runtime exec: the shim signals it); one
	 * sharing the host's or another container's needs the runtime's
	 * kill --all */
	bool all = jstr_ne(jobj(berth_container_doc_or_log(c, "pid mode unknown"), "HostConfig"), "PidMode") != NULL;
	pthread_mutex_unlock(&c->mu);
	if (running) {
		if (c->state == CS_PAUSED)
			berth_ctr_pause(d, c, false, NULL);
		struct berth_error e2 = {0};
		send_signal(d, c, SIGKILL, all, &e2);
		pthread_mutex_lock(&c->mu);
		bool done = wait_exit_locked(c, seq, berth_now_ns() + 30000000000LL);
		pthread_mutex_unlock(&c->mu);
		if (!done)
			return berth_err(err, BERTH_E_INTERNAL, "Could not kill running container %s, cannot remove",
					 c->id);
		berth_span_mark(&sp, "kill and exit");
	}
	pthread_mutex_lock(&c->mu);
	berth_container_set_state(c, CS_REMOVING);
	pthread_mutex_unlock(&c->mu);
	cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
	cleanup_free char *cdir = berth_ctr_dir(d, c->id);
	struct berth_error e2 = {0};
	wait_shim_gone(state_dir);
	berth_span_mark(&sp, "shim exit wait");
	berth_shim_cleanup(state_dir, &e2);
	berth_span_mark(&sp, "shim cleanup");
	if (berth_rwlayer_remove(d->layers, c->id, &e2) < 0) {
		pthread_mutex_lock(&c->mu);
		berth_container_set_state(c, CS_DEAD);
		json_object_set_new(json_object_get(berth_container_doc_or_log(c, "error not recorded"), "State"),
				    "Error", json_string(e2.msg));
		struct berth_container_snap *snap = berth_container_snapshot(c);
		pthread_mutex_unlock(&c->mu);
		berth_container_write(d->containers, snap, NULL);
		return berth_err(err, BERTH_E_INTERNAL, "unable to remove filesystem for %s: %s", c->id, e2.msg);
	}
	berth_span_mark(&sp, "unmount and layer remove");
	berth_rm_rf(cdir, NULL);
	if (berth_container_delete(d->containers, c, err) < 0)
		return -1;
	berth_span_mark(&sp, "record write");
	berth_volumes_container_remove(d, c, volumes); /* rm -v: anonymous volumes (daemon/volumes.h) */
	berth_ctr_event(d, c, "destroy", NULL);
	if (atomic_load(&d->log.level) >= BERTH_LOG_DEBUG) {
		char line[512];
		berth_span_format(&sp, line, sizeof(line));
		berth_log(&d->log, BERTH_LOG_DEBUG, "timings remove %.12s: %s", c->id, line);
	}
	return 0;
}

int berth_ctr_remove(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes,
		     struct berth_error *err)
{
	return berth_ctr_remove_req(d, c, force, volumes, 0, err);
}

int berth_ctr_remove_req(struct berth_daemon *d, struct berth_container *c, bool force, bool volumes, int64_t req_ns,
			 struct berth_error *err)
{
	pthread_mutex_lock(&c->opmu);
	int rc = do_remove(d, c, force, volumes, req_ns, err);
	pthread_mutex_unlock(&c->opmu);
	return rc;
}

int berth_ctr_wait(struct berth_daemon *d, struct berth_container *c, const char *condition, bool (*cancelled)(void *),
		   void *ctx, int64_t *exit_code, struct berth_error *err)
{
	(void)d;
	bool next_exit = condition && !strcmp(condition, "next-exit");
	bool removed = condition && !strcmp(condition, "removed");
	if (condition && *condition && !next_exit && !removed && strcmp(condition, "not-running"))
		return berth_err(err, BERTH_E_INVALID, "invalid condition: \"%s\"", condition);
	pthread_mutex_lock(&c->mu);
	uint64_t seq = c->exit_seq;
	for (;;) {
		bool done;
		if (removed)
			done = c->removed;
		else if (next_exit)
			done = c->exit_seq != seq || c->removed;
		else /* not-running: as dockerd, the first exit ends the wait even
		      * when a restart policy starts the container again */
			done = !is_running(c) || c->exit_seq != seq || c->removed;
		if (done)
			break;
		berth_cond_wait_ms(&c->cond, &c->mu, 200);
		if (cancelled && cancelled(ctx)) {
			pthread_mutex_unlock(&c->mu);
			return berth_err(err, BERTH_E_UNAVAILABLE, "client went away");
		}
	}
	json_t *doc = berth_container_doc(c, err);
	*exit_code = jint(jobj(doc, "State"), "ExitCode", 0);
	pthread_mutex_unlock(&c->mu);
	return doc ? 0 : -1;
}
