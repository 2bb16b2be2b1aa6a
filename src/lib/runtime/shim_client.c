/* Client side of the berth-shim protocol. */
#include "shim_client.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "jget.h"

#define DEFAULT_TIMEOUT_MS 30000
#define CALL_TIMEOUT_MS 60000

/* ---- helpers ---- */

static int connect_in(const char *state_dir, const char *name, struct berth_error *err)
{
	/* through /proc/self/fd so that long state dirs fit in sun_path */
	cleanup_close int dfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_err_sys(err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
				     "shim state %s", state_dir);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socket");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd, name);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return berth_err_sys(err, e == ENOENT || e == ECONNREFUSED ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, e,
				     "connect to shim %s/%s", state_dir, name);
	}
	return fd;
}

/* write() to a socket without SIGPIPE if the shim went away */
static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one '\n'-terminated line (byte by byte: nothing past it is consumed). */
static char *read_line_fd(int fd, int timeout_ms, struct berth_error *err)
{
	struct berth_buf b = {0};
	int64_t deadline = timeout_ms < 0 ? 0 : berth_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int left = -1;
		if (deadline) {
			int64_t l = (deadline - berth_now_ns()) / 1000000;
			if (l <= 0) {
				berth_buf_free(&b);
				berth_err(err, BERTH_E_UNAVAILABLE, "timed out waiting for the shim");
				return NULL;
			}
			left = (int)l;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue;
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			berth_buf_free(&b);
			berth_err(err, BERTH_E_UNAVAILABLE, "shim closed the connection");
			return NULL;
		}
		if (c == '\n')
			return berth_buf_steal(&b);
		if (b.len > (1 << 20)) {
			berth_buf_free(&b);
			berth_err(err, BERTH_E_INTERNAL, "shim reply too long");
			return NULL;
		}
		berth_buf_putc(&b, c);
	}
}

static enum berth_err_kind kind_of(const char *k)
{
	if (!k)
		return BERTH_E_INTERNAL;
	if (!strcmp(k, "invalid"))
		return BERTH_E_INVALID;
	if (!strcmp(k, "not_found"))
		return BERTH_E_NOT_FOUND;
	if (!strcmp(k, "conflict"))
		return BERTH_E_CONFLICT;
	return BERTH_E_INTERNAL;
}

/* Send a request on fd, read the reply. */
static json_t *exchange(int fd, json_t *req, int timeout_ms, struct berth_error *err)
{
	cleanup_free char *text = json_dumps(req, JSON_COMPACT);
	if (!text) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	size_t len = strlen(text);
	text[len] = '\n';
	int wr = send_all(fd, text, len + 1);
	text[len] = '\0';
	if (wr < 0) {
		berth_err_sys(err, BERTH_E_UNAVAILABLE, errno, "write to shim");
		return NULL;
	}
	cleanup_free char *line = read_line_fd(fd, timeout_ms, err);
	if (!line)
		return NULL;
	json_error_t je;
	json_t *r = json_loads(line, 0, &je);
	if (!json_is_object(r)) {
		json_decref(r);
		berth_err(err, BERTH_E_INTERNAL, "bad reply from shim: %s", je.text);
		return NULL;
	}
	if (!jbool(r, "ok", false)) {
		berth_err(err, kind_of(jstr(r, "kind")), "%s", jstr(r, "error") ? jstr(r, "error") : "shim error");
		if (err)
			err->code = 0;
		return r; /* caller checks err / ok (for exit_code) */
	}
	return r;
}

/* One request on a fresh control connection. Returns the reply (also on an
 * "ok": false reply, with err filled), NULL on transport errors. */
static json_t *call(const char *state_dir, json_t *req, struct berth_error *err)
{
	cleanup_json json_t *owned = req;
	cleanup_close int fd = connect_in(state_dir, "control.sock", err);
	if (fd < 0)
		return NULL;
	return exchange(fd, owned, CALL_TIMEOUT_MS, err);
}

static int call_ok(const char *state_dir, json_t *req, struct berth_error *err)
{
	berth_err_clear(err);
	cleanup_json json_t *r = call(state_dir, req, err);
	if (!r || !jbool(r, "ok", false))
		return -1;
	return 0;
}

static void exit_from_json(const json_t *j, struct berth_exit *e)
{
	memset(e, 0, sizeof(*e));
	e->pid = (pid_t)jint(j, "pid", 0);
	e->exit_code = (int)jint(j, "exit_code", 0);
	e->signal = (int)jint(j, "signal", 0);
	e->oom_killed = jbool(j, "oom_killed", false);
	if (jstr_ne(j, "started_at"))
		berth_time_parse(jstr(j, "started_at"), &e->started_ns);
	if (jstr_ne(j, "finished_at"))
		berth_time_parse(jstr(j, "finished_at"), &e->finished_ns);
	const char *em = jstr(j, "error");
	if (em)
		snprintf(e->error, sizeof(e->error), "%s", em);
	e->runtime_delete_us = jint(j, "runtime_delete_us", 0);
}

static bool valid_id(const char *id)
{
	if (!id || !*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

/* ---- spawn ---- */

char *berth_shim_find_binary(void)
{
	const char *env = getenv("BERTH_SHIM");
	if (env && access(env, X_OK) == 0)
		return strdup(env);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *dir = dirname(self);
		static const char *const rel[] = {"berth-shim",
						  "../shim/berth-shim",
						  "../../src/shim/berth-shim",
						  "../src/shim/berth-shim",
						  "../libexec/berth/berth-shim",
						  NULL};
		for (size_t i = 0; rel[i]; i++) {
			char *p = berth_strdup_printf("%s/%s", dir, rel[i]);
			if (p && access(p, X_OK) == 0) {
				char *r = realpath(p, NULL);
				free(p);
				return r;
			}
			free(p);
		}
	}
	const char *path = getenv("PATH");
	cleanup_free char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = berth_strdup_printf("%s/berth-shim", d);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static json_t *shim_config(const struct berth_shim_opts *o)
{
	json_t *rt = json_pack("{s:s, s:s, s:s}", "name", o->runtime->name, "path", o->runtime->path, "root",
			       o->runtime_root);
	if (o->runtime->args) {
		json_t *a = json_array();
		for (size_t i = 0; o->runtime->args[i]; i++)
			json_array_append_new(a, json_string(o->runtime->args[i]));
		json_object_set_new(rt, "args", a);
	}
	json_t *log = json_pack("{s:s}", "driver", o->log_driver ? o->log_driver : "json-file");
	if (o->log_path)
		json_object_set_new(log, "path", json_string(o->log_path));
	if (o->log_opts)
		json_object_set_new(log, "opts", json_deep_copy(o->log_opts));
	if (o->container_name)
		json_object_set_new(log, "container_name", json_string(o->container_name));
	if (o->image_id)
		json_object_set_new(log, "image_id", json_string(o->image_id));
	if (o->image_name)
		json_object_set_new(log, "image_name", json_string(o->image_name));
	if (o->labels)
		json_object_set_new(log, "labels", json_deep_copy(o->labels));
	if (o->env)
		json_object_set_new(log, "env", json_deep_copy(o->env));
	if (o->command)
		json_object_set_new(log, "command", json_string(o->command));
	if (o->created)
		json_object_set_new(log, "created", json_string(o->created));
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:o}", "id", o->id, "bundle", o->bundle,
				"state_dir", o->state_dir, "runtime", rt, "tty", o->tty, "open_stdin", o->open_stdin,
				"stdin_once", o->stdin_once, "start", o->start, "log", log);
	if (cfg && o->rootfs_mount.target &&
	    json_object_set_new(cfg, "rootfs_mount", json_pack("{s:s}", "target", o->rootfs_mount.target)) < 0) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

char *berth_shim_rootfs_path(pid_t shim_pid)
{
	return berth_strdup_printf("/proc/%d/fd/%d", (int)shim_pid, BERTH_SHIM_ROOTFS_FD);
}

/* The shim to run: berth-shim-lean (static musl, a quarter of the RSS)
 * beside berth-shim when the log driver writes a local file or nothing;
 * the full shim for the remote drivers, whose libcurl/OpenSSL a static
 * binary cannot load. */
static char *shim_binary(const struct berth_shim_opts *o)
{
	/* BERTH_SHIM (tests, CI's full-shim suites) wins over berthd's default */
	const char *env = getenv("BERTH_SHIM");
	if (env && *env && access(env, X_OK) == 0)
		return strdup(env);
	char *shim = o->shim_path ? strdup(o->shim_path) : berth_shim_find_binary();
	const char *drv = o->log_driver ? o->log_driver : "json-file";
	if (!shim || (strcmp(drv, "json-file") && strcmp(drv, "local") && strcmp(drv, "none")))
		return shim;
	const char *slash = strrchr(shim, '/');
	if (!slash || strcmp(slash + 1, "berth-shim"))
		return shim; /* a shim named otherwise (berthd --shim) is run as it is */
	char *lean = berth_strdup_printf("%.*s/berth-shim-lean", (int)(slash - shim), shim);
	if (lean && access(lean, X_OK) == 0) {
		free(shim);
		return lean;
	}
	free(lean);
	return shim;
}

int berth_shim_spawn(const struct berth_shim_opts *o, struct berth_shim_result *res, struct berth_error *err)
{
	memset(res, 0, sizeof(*res));
	if (!o->id || !o->bundle || !o->state_dir || !o->runtime || !o->runtime_root)
		return berth_err(err, BERTH_E_INTERNAL,
				 "shim spawn: id, bundle, state_dir, runtime and runtime_root are required");
	if (o->state_dir[0] != '/' || o->bundle[0] != '/')
		return berth_err(err, BERTH_E_INTERNAL, "shim spawn: state_dir and bundle must be absolute");
	cleanup_free char *shim = shim_binary(o);
	if (!shim)
		return berth_err(err, BERTH_E_UNAVAILABLE, "berth-shim not found (next to the daemon or in PATH)");
	if (berth_mkdir_p(o->state_dir, 0711, err) < 0 || berth_mkdir_p(o->runtime_root, 0700, err) < 0)
		return -1;
	cleanup_json json_t *cfg = shim_config(o);
	cleanup_free char *text = json_dumps(cfg, JSON_INDENT(1));
	cleanup_free char *cfg_path = berth_strdup_printf("%s/shim.json", o->state_dir);
	cleanup_free char *log_path = berth_strdup_printf("%s/shim.log", o->state_dir);
	if (!text || !cfg_path || !log_path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_write_file_replace(cfg_path, text, strlen(text), 0600, err) < 0)
		return -1;

	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	/* The shim must not stay berthd's child (it outlives the daemon and is
	 * nobody's zombie): it is spawned (vfork + exec, no copy of berthd's
	 * page tables — a fork of the daemon was a quarter of its CPU per
	 * container) in a session of its own, and with --detach forks itself
	 * once, its first process exiting at once; that one is reaped here. */
	char *const argv[] = {"berth-shim", "--detach", "--config", cfg_path, "--sync-fd", "3", NULL};
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int rootfd = o->rootfs_mount.target ? fcntl(o->rootfs_mount.fd, F_DUPFD_CLOEXEC, 100) : -1;
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	int rc = nul < 0 || (o->rootfs_mount.target && rootfd < 0) ? errno : 0;
	pid_t mid = -1;
	if (!rc) {
		/* the sources are all >= 3 (0-2 are open in berthd): none is
		 * overwritten before it is copied; a dup2 onto itself clears
		 * close-on-exec as POSIX asks */
		posix_spawn_file_actions_adddup2(&fa, nul, 0);
		posix_spawn_file_actions_adddup2(&fa, nul, 1);
		posix_spawn_file_actions_adddup2(&fa, logfd >= 0 ? logfd : nul, 2);
		posix_spawn_file_actions_adddup2(&fa, sp[1], 3);
		if (rootfd >= 0) /* >= 100: not one of the targets above */
			posix_spawn_file_actions_adddup2(&fa, rootfd, BERTH_SHIM_ROOTFS_SPAWN_FD);
		posix_spawn_file_actions_addclosefrom_np(&fa, rootfd >= 0 ? BERTH_SHIM_ROOTFS_SPAWN_FD + 1 : 4);
		sigset_t none, all;
		sigemptyset(&none);
		sigemptyset(&all);
		for (int sig = 1; sig < 32; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaddset(&all, sig);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		rc = posix_spawn(&mid, shim, &fa, &at, argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (nul >= 0)
		close(nul);
	if (logfd >= 0)
		close(logfd);
	if (rootfd >= 0)
		close(rootfd);
	if (rc) {
		close(sp[0]);
		close(sp[1]);
		return berth_err(err, BERTH_E_INTERNAL, "cannot execute berth-shim: errno %d", rc);
	}
	close(sp[1]);
	int st;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
	}
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	struct berth_error lerr = {0};
	cleanup_free char *line = read_line_fd(sp[0], timeout, &lerr);
	close(sp[0]);
	cleanup_free char *pidp = berth_strdup_printf("%s/shim.pid", o->state_dir);
	cleanup_free char *pidtxt = NULL;
	struct berth_error perr = {0};
	if (berth_read_file(pidp, &pidtxt, NULL, 64, &perr) == 0)
		res->shim_pid = (pid_t)atoi(pidtxt);
	if (!line)
		return berth_err(err, BERTH_E_UNAVAILABLE, "berth-shim did not report: %s (see %s)", lerr.msg,
				 log_path);
	if (!strcmp(line, "ready"))
		return 0; /* nothing runs until berth_shim_start() */
	if (!strncmp(line, "started ", 8)) {
		char *end = NULL;
		res->pid = (pid_t)strtol(line + 8, &end, 10);
		if (end && *end == ' ')
			res->create_us = strtoll(end + 1, NULL, 10);
		res->started = line[0] == 's';
		return 0;
	}
	if (!strncmp(line, "error ", 6)) {
		char *msg = NULL;
		res->exit_code = (int)strtol(line + 6, &msg, 10);
		while (msg && *msg == ' ')
			msg++;
		enum berth_err_kind k =
			res->exit_code == 126 || res->exit_code == 127 ? BERTH_E_INVALID : BERTH_E_INTERNAL;
		if (!res->exit_code)
			res->exit_code = 128;
		return berth_err(err, k, "%s", msg && *msg ? msg : "shim error");
	}
	return berth_err(err, BERTH_E_INTERNAL, "unexpected report from berth-shim: %s", line);
}

/* ---- control calls ---- */

static json_t *req_exec(const char *op, const char *exec_id)
{
	json_t *r = json_pack("{s:s}", "op", op);
	if (exec_id)
		json_object_set_new(r, "exec", json_string(exec_id));
	return r;
}

int berth_shim_state(const char *state_dir, const char *exec_id, struct berth_shim_state *st, struct berth_error *err)
{
	memset(st, 0, sizeof(*st));
	berth_err_clear(err);
	cleanup_json json_t *r = call(state_dir, req_exec("state", exec_id), err);
	if (!r || !jbool(r, "ok", false))
		return -1;
	snprintf(st->status, sizeof(st->status), "%s", jstr(r, "status") ? jstr(r, "status") : "");
	st->pid = (pid_t)jint(r, "pid", 0);
	st->tty = jbool(r, "tty", false);
	st->stdin_open = jbool(r, "stdin_open", false);
	st->paused = jbool(r, "paused", false);
	if (jstr_ne(r, "started_at"))
		berth_time_parse(jstr(r, "started_at"), &st->started_ns);
	if (jobj(r, "exit")) {
		st->exited = true;
		exit_from_json(jobj(r, "exit"), &st->exit);
	}
	return 0;
}

int berth_shim_start(const char *state_dir, pid_t *pid, int *exit_code, int64_t *runtime_us, struct berth_error *err)
{
	berth_err_clear(err);
	cleanup_json json_t *r = call(state_dir, json_pack("{s:s}", "op", "start"), err);
	if (!r)
		return -1;
	if (!jbool(r, "ok", false)) {
		if (exit_code)
			*exit_code = (int)jint(r, "exit_code", 128);
		return -1;
	}
	if (pid)
		*pid = (pid_t)jint(r, "pid", 0);
	if (runtime_us)
		*runtime_us = jint(r, "runtime_us", 0);
	return 0;
}

int berth_shim_kill(const char *state_dir, const char *exec_id, int sig, bool all, struct berth_error *err)
{
	json_t *r = req_exec("kill", exec_id);
	json_object_set_new(r, "signal", json_integer(sig));
	if (all)
		json_object_set_new(r, "all", json_true());
	return call_ok(state_dir, r, err);
}

int berth_shim_resize(const char *state_dir, const char *exec_id, int width, int height, struct berth_error *err)
{
	json_t *r = req_exec("resize", exec_id);
	json_object_set_new(r, "width", json_integer(width));
	json_object_set_new(r, "height", json_integer(height));
	return call_ok(state_dir, r, err);
}

int berth_shim_pause(const char *state_dir, struct berth_error *err)
{
	return call_ok(state_dir, json_pack("{s:s}", "op", "pause"), err);
}

int berth_shim_resume(const char *state_dir, struct berth_error *err)
{
	return call_ok(state_dir, json_pack("{s:s}", "op", "resume"), err);
}

int berth_shim_update(const char *state_dir, const json_t *resources, struct berth_error *err)
{
	return call_ok(state_dir, json_pack("{s:s, s:O}", "op", "update", "resources", resources), err);
}

int berth_shim_delete(const char *state_dir, struct berth_error *err)
{
	return call_ok(state_dir, json_pack("{s:s}", "op", "delete"), err);
}

int berth_shim_exec_create(const char *state_dir, const char *exec_id, const json_t *process, bool tty, bool open_stdin,
			   struct berth_error *err)
{
	if (!valid_id(exec_id))
		return berth_err(err, BERTH_E_INVALID, "invalid exec id");
	json_t *r = json_pack("{s:s, s:s, s:O, s:b, s:b}", "op", "exec_create", "exec", exec_id, "process", process,
			      "tty", tty, "stdin", open_stdin);
	return call_ok(state_dir, r, err);
}

int berth_shim_exec_start(const char *state_dir, const char *exec_id, pid_t *pid, int *exit_code,
			  struct berth_error *err)
{
	berth_err_clear(err);
	cleanup_json json_t *r = call(state_dir, req_exec("exec_start", exec_id), err);
	if (!r)
		return -1;
	if (!jbool(r, "ok", false)) {
		if (exit_code)
			*exit_code = (int)jint(r, "exit_code", 126);
		return -1;
	}
	if (pid)
		*pid = (pid_t)jint(r, "pid", 0);
	return 0;
}

int berth_shim_wait_begin(const char *state_dir, const char *exec_id, struct berth_error *err)
{
	int fd = connect_in(state_dir, "control.sock", err);
	if (fd < 0)
		return -1;
	cleanup_json json_t *req = req_exec("wait", exec_id);
	cleanup_free char *text = json_dumps(req, JSON_COMPACT);
	size_t len = strlen(text);
	text[len] = '\n';
	if (send_all(fd, text, len + 1) < 0) {
		int e = errno;
		close(fd);
		return berth_err_sys(err, BERTH_E_UNAVAILABLE, e, "write to shim");
	}
	return fd;
}

int berth_shim_wait_end(int fd, const char *state_dir, const char *exec_id, struct berth_exit *out,
			struct berth_error *err)
{
	berth_err_clear(err);
	struct berth_error terr = {0};
	cleanup_free char *line = fd >= 0 ? read_line_fd(fd, -1, &terr) : NULL;
	if (fd >= 0)
		close(fd);
	if (!line) {
		/* the shim is gone (it exits right after recording the exit): the file has it */
		if (!exec_id && state_dir && berth_shim_read_exit(state_dir, out, err) == 0)
			return 0;
		return berth_err(err, BERTH_E_NOT_FOUND, "%s", terr.msg[0] ? terr.msg : "the shim is gone");
	}
	cleanup_json json_t *r = json_loads(line, 0, NULL);
	if (!jbool(r, "ok", false))
		return berth_err(err, kind_of(jstr(r, "kind")), "%s",
				 jstr(r, "error") ? jstr(r, "error") : "wait failed");
	exit_from_json(r, out);
	return 0;
}

int berth_shim_wait(const char *state_dir, const char *exec_id, int timeout_ms, struct berth_exit *out,
		    struct berth_error *err)
{
	struct berth_error cerr = {0};
	int fd = berth_shim_wait_begin(state_dir, exec_id, &cerr);
	if (fd < 0)
		return berth_shim_wait_end(-1, state_dir, exec_id, out, err);
	if (timeout_ms >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr;
		while ((pr = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
		}
		if (pr == 0) {
			close(fd);
			return berth_err(err, BERTH_E_UNAVAILABLE, "timed out waiting for the exit");
		}
	}
	return berth_shim_wait_end(fd, state_dir, exec_id, out, err);
}

int berth_detach_keys_validate(const char *keys, struct berth_error *err)
{
	if (!keys || !*keys)
		return 0;
	cleanup_free char *copy = strdup(keys);
	char *save = NULL;
	int n = 0;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save), n++) {
		size_t l = strlen(k);
		if (l == 1)
			continue;
		if (l == 6 && !strncmp(k, "ctrl-", 5) &&
		    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@[\\]^_", k[5]))
			continue;
		return berth_err(err, BERTH_E_INVALID, "Invalid detach keys (%s) provided", keys);
	}
	if (!n || n > 16)
		return berth_err(err, BERTH_E_INVALID, "Invalid detach keys (%s) provided", keys);
	return 0;
}

int berth_shim_attach(const char *state_dir, const struct berth_attach_opts *o, struct berth_error *err)
{
	if (berth_detach_keys_validate(o->detach_keys, err) < 0)
		return -1;
	int fd = connect_in(state_dir, "attach.sock", err);
	if (fd < 0)
		return -1;
	cleanup_json json_t *h =
		json_pack("{s:b, s:b, s:b, s:b}", "stdin", o->in, "stdout", o->out, "stderr", o->err, "mux", o->mux);
	if (o->exec_id)
		json_object_set_new(h, "exec", json_string(o->exec_id));
	if (o->detach_keys && *o->detach_keys)
		json_object_set_new(h, "detach_keys", json_string(o->detach_keys));
	berth_err_clear(err);
	cleanup_json json_t *r = exchange(fd, h, CALL_TIMEOUT_MS, err);
	if (!r || !jbool(r, "ok", false)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- exit file, liveness, reconnect ---- */

int berth_shim_read_exit(const char *state_dir, struct berth_exit *out, struct berth_error *err)
{
	cleanup_free char *p = berth_strdup_printf("%s/exit.json", state_dir);
	cleanup_free char *text = NULL;
	if (berth_read_file(p, &text, NULL, 1 << 20, err) < 0)
		return -1;
	cleanup_json json_t *j = json_loads(text, 0, NULL);
	if (!json_is_object(j))
		return berth_err(err, BERTH_E_INTERNAL, "%s: not valid JSON", p);
	exit_from_json(j, out);
	return 0;
}

int berth_shim_alive(const char *state_dir, pid_t *shim_pid)
{
	cleanup_free char *p = berth_strdup_printf("%s/shim.pid", state_dir);
	cleanup_free char *text = NULL;
	struct berth_error e = {0};
	if (berth_read_file(p, &text, NULL, 64, &e) < 0)
		return 0;
	pid_t pid = (pid_t)atoi(text);
	if (pid <= 0 || kill(pid, 0) < 0)
		return 0;
	/* the pid may have been reused: it must be a berth-shim with our config */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cleanup_free char *cmd = NULL;
	size_t len = 0;
	if (berth_read_file(path, &cmd, &len, 65536, &e) < 0)
		return 0;
	cleanup_free char *cfg = berth_strdup_printf("%s/shim.json", state_dir);
	bool is_shim = false, has_cfg = false;
	for (size_t off = 0; off < len; off += strlen(cmd + off) + 1) {
		if (berth_str_has_suffix(cmd + off, "berth-shim"))
			is_shim = true;
		if (!strcmp(cmd + off, cfg))
			has_cfg = true;
	}
	if (!is_shim || !has_cfg)
		return 0;
	if (shim_pid)
		*shim_pid = pid;
	return 1;
}

int berth_shim_reconnect(const char *state_dir, struct berth_shim_state *st, struct berth_error *err)
{
	memset(st, 0, sizeof(*st));
	pid_t pid;
	if (berth_shim_alive(state_dir, &pid)) {
		if (berth_shim_state(state_dir, NULL, st, err) == 0)
			return st->exited ? BERTH_SHIM_EXITED : BERTH_SHIM_RUNNING;
		/* alive but not answering (finishing up): fall through to the exit file */
	}
	struct berth_error e = {0};
	if (berth_shim_read_exit(state_dir, &st->exit, &e) == 0) {
		st->exited = true;
		snprintf(st->status, sizeof(st->status), "stopped");
		return BERTH_SHIM_EXITED;
	}
	return BERTH_SHIM_LOST;
}

int berth_shim_pidfd(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int berth_shim_cleanup(const char *state_dir, struct berth_error *err)
{
	if (berth_shim_alive(state_dir, NULL))
		return berth_err(err, BERTH_E_CONFLICT, "the container's shim is still running");
	return berth_rm_rf(state_dir, err);
}
