/* Running the OCI runtime (runc/crun CLI): create, start, exec, kill, delete. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/span.h"
#include "runtime/jget.h"
#include "shim.h"

/* Absolute path of a file in the state dir (our cwd). */
static char *state_path(struct shim *s, const char *name) { return berth_strdup_printf("%s/%s", s->state_dir, name); }

static off_t file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : 0;
}

/* The last error the runtime logged (--log-format json) after offset. */
static void runtime_log_error(struct shim *s, off_t from, char *out, size_t outlen)
{
	cleanup_free char *p = state_path(s, "runtime.log");
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lseek(fd, from, SEEK_SET) < 0)
		return;
	char buf[16384];
	ssize_t n = berth_read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *lvl = jstr(j, "level"), *msg = jstr(j, "msg");
		if (msg && lvl && (!strcmp(lvl, "error") || !strcmp(lvl, "fatal")))
			snprintf(out, outlen, "%s", msg);
		else if (!j && *line)
			snprintf(out, outlen, "%s", line); /* a runtime that does not write json */
		json_decref(j);
	}
}

/* fork+exec the runtime with the given stdio. Returns its pid, -1 if it
 * could not be forked. */
static pid_t spawn_rt(struct shim *s, const char *const *sub, int in, int out, int errfd)
{
	char *argv[64];
	size_t k = 0;
	cleanup_free char *logp = state_path(s, "runtime.log");
	argv[k++] = s->rt_path;
	for (size_t i = 0; s->rt_args && s->rt_args[i] && k < 40; i++)
		argv[k++] = s->rt_args[i];
	argv[k++] = "--root";
	argv[k++] = s->rt_root;
	argv[k++] = "--log";
	argv[k++] = logp;
	argv[k++] = "--log-format";
	argv[k++] = "json";
	for (size_t i = 0; sub[i] && k < 63; i++)
		argv[k++] = (char *)sub[i];
	argv[k] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(in >= 0 ? in : nul, 0);
		dup2(out >= 0 ? out : nul, 1);
		dup2(errfd >= 0 ? errfd : 2, 2);
		/* what we changed must not leak into the runtime (and the container) */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execv(s->rt_path, argv);
		dprintf(2, "exec %s: %s\n", s->rt_path, strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_rt(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* fork+exec the runtime with the given stdio; wait for it. Returns its
 * exit status (0 ok), -1 if it could not run. */
static int run_rt(struct shim *s, const char *const *sub, int in, int out, int errfd)
{
	pid_t pid = spawn_rt(s, sub, in, out, errfd);
	return pid < 0 ? -1 : wait_rt(pid);
}

static pid_t read_pid(const char *name)
{
	char buf[32] = "";
	cleanup_close int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return -1;
	return (pid_t)atoi(buf);
}

/* A listening socket for --console-socket. The runtime chdirs to the
 * bundle, so the path must be absolute: use the state dir when the path
 * fits in sun_path, else a short temporary directory. */
struct console {
	int fd;
	char path[108];
	char tmpdir[64];
};

static int console_listen(struct shim *s, struct console *c, const char *name)
{
	c->tmpdir[0] = '\0';
	cleanup_free char *p = state_path(s, name);
	if (strlen(p) < sizeof(c->path)) {
		snprintf(c->path, sizeof(c->path), "%s", p);
	} else {
		snprintf(c->tmpdir, sizeof(c->tmpdir), "/tmp/berth-shim-XXXXXX");
		if (!mkdtemp(c->tmpdir))
			return -1;
		snprintf(c->path, sizeof(c->path), "%s/c.sock", c->tmpdir);
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->path);
	unlink(c->path);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(c->fd, 1) < 0)
		return -1;
	return 0;
}

static void console_done(struct console *c)
{
	if (c->fd >= 0)
		close(c->fd);
	unlink(c->path);
	if (c->tmpdir[0])
		rmdir(c->tmpdir);
}

/* The pty master the runtime sent over the console socket. */
static int console_recv(struct console *c)
{
	int conn = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return -1;
	char data[256];
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl)};
	int fd = -1;
	if (recvmsg(conn, &m, MSG_CMSG_CLOEXEC) >= 0) {
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(h), sizeof(int));
	}
	close(conn);
	return fd;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* The outputs' own epoll set, made while the pipes are still empty: its
 * ready list keeps the order in which they became readable, so a line the
 * process wrote to stderr before its stdout lines is read (and logged)
 * first. poll() would report both at once and say nothing of the order. */
static int outputs_epoll(struct proc *p)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; ep >= 0 && i < 2; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(1 + i)};
		if (p->out[i].fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, p->out[i].fd, &ev) < 0) {
			close(ep);
			return -1;
		}
	}
	return ep;
}

/* Wait for the runtime (pid) while reading the process's output pipes: with
 * `run` and `exec` the process runs before the runtime exits, and what it
 * writes meanwhile is read (logged, sent to clients) as it comes, in the
 * order it was written (outputs_epoll). Without the epoll set or a pidfd
 * (out of descriptors) the runtime is only waited for: both commands are
 * --detach and end without waiting for the process, so nothing blocks; the
 * outputs are read by the main loop afterwards, stdout first. */
static int wait_rt_reading(struct shim *s, struct proc *p, pid_t pid, int ep)
{
	int pfd = ep >= 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	struct epoll_event pev = {.events = EPOLLIN, .data.u32 = 0};
	if (pfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &pev) < 0) {
		if (pfd >= 0)
			close(pfd);
		if (ep >= 0)
			close(ep);
		return wait_rt(pid);
	}
	bool paused = false, done = false;
	while (!done) {
		if (paused != s->paused_output) { /* back-pressure: stop or resume reading */
			paused = s->paused_output;
			for (int i = 0; i < 2; i++) {
				struct epoll_event ev = {.events = paused ? 0 : EPOLLIN, .data.u32 = (uint32_t)(1 + i)};
				if (p->out[i].fd >= 0)
					epoll_ctl(ep, EPOLL_CTL_MOD, p->out[i].fd, &ev);
			}
		}
		struct epoll_event evs[3];
		int n = epoll_wait(ep, evs, 3, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint32_t i = evs[k].data.u32;
			if (i == 0)
				done = true;
			else if (p->out[i - 1].fd >= 0)
				io_output_ready(s, &p->out[i - 1]);
		}
		io_check_backpressure(s);
	}
	close(ep);
	close(pfd);
	return wait_rt(pid);
}

/* Create the process's stdio (pipes, or a console socket for a tty), run the
 * runtime subcommand, keep our ends and watch them (io_proc_outputs_add). */
static int spawn_with_stdio(struct shim *s, struct proc *p, const char **sub, size_t nsub, const char *console_name,
			    const char *what, char *errbuf, size_t errlen)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err2[2] = {-1, -1};
	struct console con = {.fd = -1};
	if (p->tty) {
		if (console_listen(s, &con, console_name) < 0) {
			snprintf(errbuf, errlen, "console socket: %s", strerror(errno));
			console_done(&con);
			return -1;
		}
		sub[nsub++] = "--console-socket";
		sub[nsub++] = con.path;
	} else {
		if ((p->open_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
		    pipe2(err2, O_CLOEXEC) < 0) {
			snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
			int fds[] = {in[0], in[1], out[0], out[1], err2[0], err2[1]};
			for (size_t i = 0; i < 6; i++)
				if (fds[i] >= 0)
					close(fds[i]);
			return -1;
		}
		set_nonblock(out[0]);
		set_nonblock(err2[0]);
		p->out[0].fd = out[0];
		p->out[1].fd = err2[0];
		if (in[1] >= 0) {
			set_nonblock(in[1]);
			p->in.fd = in[1];
		}
		io_proc_outputs_add(s, p);
	}
	sub[nsub++] = s->id;
	sub[nsub] = NULL;
	cleanup_free char *logp = state_path(s, "runtime.log");
	off_t off = file_size(logp);
	int ep = p->tty ? -1 : outputs_epoll(p);
	pid_t pid = spawn_rt(s, sub, in[0], out[1], p->tty ? -1 : err2[1]);
	if (pid < 0 && ep >= 0)
		close(ep);
	int rc = pid < 0 ? -1 : p->tty ? wait_rt(pid) : wait_rt_reading(s, p, pid, ep);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err2[1] >= 0)
		close(err2[1]);
	if (rc != 0) {
		char msg[900] = "";
		runtime_log_error(s, off, msg, sizeof(msg));
		if (!msg[0])
			snprintf(msg, sizeof(msg), "%s exited with status %d", s->rt_path, rc);
		snprintf(errbuf, errlen, "OCI runtime %s failed: %s: unknown", what, msg);
		for (int i = 0; i < 2; i++)
			io_proc_output_close(s, p, i);
		if (p->in.fd >= 0) {
			shim_watch_del(s, &p->in);
			close(p->in.fd);
			p->in.fd = -1;
		}
		console_done(&con);
		return -1;
	}
	if (p->tty) {
		int master = console_recv(&con);
		console_done(&con);
		if (master < 0) {
			snprintf(errbuf, errlen, "OCI runtime %s failed: no console from the runtime: unknown", what);
			return -1;
		}
		set_nonblock(master);
		p->out[0].fd = master;
		if (p->open_stdin)
			p->in.fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		if (p->pend_w || p->pend_h)
			io_resize(p, p->pend_w, p->pend_h);
		io_proc_outputs_add(s, p);
	}
	return 0;
}

/* A size asked for before the start goes into the spec (process.consoleSize):
 * `run` starts the process right after it made the pty, before the shim
 * could resize it (create + start had the process wait in between). */
static void spec_console_size(struct shim *s, int w, int h)
{
	cleanup_free char *cfg = berth_strdup_printf("%s/config.json", s->bundle);
	cleanup_json json_t *spec = json_load_file(cfg, 0, NULL);
	json_t *proc = jobj(spec, "process");
	if (!proc)
		return;
	json_object_set_new(proc, "consoleSize", json_pack("{s:i, s:i}", "height", h, "width", w));
	cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
	struct berth_error err = {0};
	if (!text || berth_write_file_replace(cfg, text, strlen(text), 0600, &err) < 0)
		shim_log("console size in %s: %s", cfg, err.msg);
}

#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* The root filesystem berthd gave us (docs/shim-protocol.md,
 * "rootfs_mount"): a detached mount, held by BERTH_SHIM_ROOTFS_FD,
 * attached at its target in a mount namespace made for the runtime's run,
 * a slave of the host's, so neither the host's mount table nor the copy
 * of it every later container's runtime makes and reads lists it. */
static int rootfs_attach(struct shim *s, char *errbuf, size_t errlen)
{
	if (!s->mnt_held) /* berthd mounted it */
		return 0;
	const char *what = "open the mount namespace";
	/* setns back sets cwd to the namespace's root: the state dir again from this */
	s->host_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->host_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (s->host_ns < 0 || s->host_cwd < 0)
		goto fail;
	what = "unshare the mount namespace";
	if (unshare(CLONE_NEWNS) < 0)
		goto fail;
	what = "make the mount namespace a slave";
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		goto fail;
	what = "attach the root filesystem";
	if (syscall(SYS_move_mount, BERTH_SHIM_ROOTFS_FD, "", AT_FDCWD, s->mnt_target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		goto fail;
	return 0;
fail:
	snprintf(errbuf, errlen, "%s at %s: %s", what, s->mnt_target, strerror(errno));
	return -1;
}

/* After the runtime's run: back to the host's mount namespace, so that the
 * one made for the run goes at once with its copies of the host's mounts
 * (kept, they would hold other containers' network namespaces, volumes and
 * root filesystems after the host unmounted them). The container's
 * namespace and our fd keep the root filesystem. */
static void rootfs_leave_ns(struct shim *s)
{
	if (s->host_ns < 0 && s->host_cwd < 0)
		return;
	if (s->host_ns >= 0 && (setns(s->host_ns, CLONE_NEWNS) < 0 || fchdir(s->host_cwd) < 0))
		shim_log("back to the host's mount namespace: %s", strerror(errno));
	if (s->host_ns >= 0)
		close(s->host_ns);
	if (s->host_cwd >= 0)
		close(s->host_cwd);
	s->host_ns = s->host_cwd = -1;
}

void rt_rootfs_unmount(struct shim *s)
{
	if (s->mnt_held)
		close(BERTH_SHIM_ROOTFS_FD);
	s->mnt_held = false;
}

int rt_run(struct shim *s, char *errbuf, size_t errlen)
{
	if (rootfs_attach(s, errbuf, errlen) < 0) {
		rootfs_leave_ns(s);
		rt_rootfs_unmount(s);
		return -1;
	}
	if (s->init.tty && s->init.pend_w > 0 && s->init.pend_h > 0)
		spec_console_size(s, s->init.pend_w, s->init.pend_h);
	cleanup_free char *pidf = state_path(s, "init.pid");
	unlink(pidf);
	const char *sub[16] = {"run", "--detach", "--bundle", s->bundle, "--pid-file", pidf};
	s->rt_ran = true;
	int64_t t0 = berth_mono_ns();
	int rc = spawn_with_stdio(s, &s->init, sub, 6, "console.sock", "create", errbuf, errlen);
	if (rc < 0 && strstr(errbuf, "container with given ID already exists")) {
		/* the runtime's state of an earlier run that was not deleted (a
		 * shim killed at its end): delete it, as berthd would, and again */
		const char *del[] = {"delete", "--force", s->id, NULL};
		run_rt(s, del, -1, -1, -1);
		const char *again[16] = {"run", "--detach", "--bundle", s->bundle, "--pid-file", pidf};
		memcpy(sub, again, sizeof(again));
		rc = spawn_with_stdio(s, &s->init, sub, 6, "console.sock", "create", errbuf, errlen);
	}
	s->run_us = (berth_mono_ns() - t0) / 1000;
	rootfs_leave_ns(s);
	if (rc < 0) {
		rt_rootfs_unmount(s);
		/* docker's text names the runtime's create, which `run` did */
		char *r = strstr(errbuf, " run failed: ");
		if (r && (size_t)(r - errbuf) < 64) {
			char rest[1024];
			snprintf(rest, sizeof(rest), "%s", r + 13);
			snprintf(r, errlen - (size_t)(r - errbuf), " create failed: %s", rest);
		}
		return -1;
	}
	s->init.pid = read_pid(pidf);
	if (s->init.pid <= 0) {
		snprintf(errbuf, errlen, "OCI runtime create failed: no pid file: unknown");
		return -1;
	}
	s->init.state = P_RUNNING;
	s->init.started_ns = berth_now_ns();
	return 0;
}

int rt_exec(struct shim *s, struct proc *p, char *errbuf, size_t errlen)
{
	char pidname[128], conname[128];
	snprintf(pidname, sizeof(pidname), "exec-%s.pid", p->id);
	snprintf(conname, sizeof(conname), "exec-%.16s.sock", p->id);
	cleanup_free char *pidf = state_path(s, pidname);
	unlink(pidf);
	const char *sub[16] = {"exec", "--process", p->process_file, "--pid-file", pidf, "-d"};
	if (spawn_with_stdio(s, p, sub, 6, conname, "exec", errbuf, errlen) < 0)
		return -1;
	p->pid = read_pid(pidf);
	unlink(pidf);
	if (p->pid <= 0) {
		snprintf(errbuf, errlen, "OCI runtime exec failed: no pid file: unknown");
		return -1;
	}
	p->state = P_RUNNING;
	p->started_ns = berth_now_ns();
	return 0;
}

/* rmdir <every controller>/<rel> (a failed create leaves its cgroup
 * behind). False when one is still there (processes in it: EBUSY). */
static bool rmdir_cgroup(const char *rel)
{
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	char p[1024];
	bool gone = true;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, rel);
		if (rmdir(p) < 0 && errno != ENOENT && errno != ENOTDIR)
			gone = false;
	}
	snprintf(p, sizeof(p), "/sys/fs/cgroup%s", rel);
	if (rmdir(p) < 0 && errno != ENOENT && errno != ENOTDIR)
		gone = false;
	return gone;
}

/* What `runc delete --force` does for a container that ran and whose
 * processes are all gone, done here: an exec of runc (a Go binary) costs
 * 6-15 ms, and berthd learns of the exit when the shim exits. runc's
 * destroy of a stopped container is: its cgroups removed, its state
 * directory <root>/<id> removed (berth's specs have no hooks). Only for
 * runc, only with a pid namespace of the container's own (its init's
 * death ended every process in it: runc would otherwise kill what is left
 * in the cgroup first), and only when every cgroup could be removed (no
 * process left); otherwise false and the runtime does it. */
static bool rt_delete_fast(struct shim *s)
{
	if (!s->rt_name || strcmp(s->rt_name, "runc") || s->init.error[0])
		return false;
	cleanup_free char *cfg = berth_strdup_printf("%s/config.json", s->bundle);
	cleanup_json json_t *spec = json_load_file(cfg, 0, NULL);
	json_t *linux_ = jobj(spec, "linux");
	const char *cg = jstr(linux_, "cgroupsPath");
	if (!cg || cg[0] != '/' || strstr(cg, ".."))
		return false;
	bool own_pidns = false;
	size_t i;
	json_t *ns;
	json_array_foreach(jarr(linux_, "namespaces"), i, ns) {
		if (jstr(ns, "type") && !strcmp(jstr(ns, "type"), "pid") && !jstr_ne(ns, "path"))
			own_pidns = true;
	}
	if (!own_pidns || !rmdir_cgroup(cg))
		return false;
	cleanup_free char *state = berth_strdup_printf("%s/%s/state.json", s->rt_root, s->id);
	if (access(state, F_OK) < 0)
		return false; /* not runc's layout after all: let it say */
	cleanup_free char *dir = berth_strdup_printf("%s/%s", s->rt_root, s->id);
	struct berth_error err = {0};
	return berth_rm_rf(dir, &err) == 0;
}

void rt_delete_begin(struct shim *s)
{
	if (!s->rt_ran || s->delete_pid > 0 || s->delete_done)
		return;
	const char *sub[] = {"delete", "--force", s->id, NULL};
	s->delete_t0 = berth_mono_ns();
	if (rt_delete_fast(s)) {
		s->delete_done = true;
		s->delete_us = (berth_mono_ns() - s->delete_t0) / 1000;
		if (!s->delete_us)
			s->delete_us = 1; /* 0 would mean "not deleted" to berthd */
		return;
	}
	s->delete_pid = spawn_rt(s, sub, -1, -1, -1);
}

bool rt_delete_reaped(struct shim *s, pid_t pid)
{
	if (s->delete_pid <= 0 || pid != s->delete_pid)
		return false;
	s->delete_pid = 0;
	s->delete_done = true;
	s->delete_us = (berth_mono_ns() - s->delete_t0) / 1000;
	return true;
}

void rt_delete(struct shim *s)
{
	if (s->delete_pid > 0) {
		wait_rt(s->delete_pid);
		rt_delete_reaped(s, s->delete_pid);
	} else if (!s->delete_done) {
		const char *sub[] = {"delete", "--force", s->id, NULL};
		int64_t t0 = berth_mono_ns();
		run_rt(s, sub, -1, -1, -1);
		s->delete_us = (berth_mono_ns() - t0) / 1000;
		s->delete_done = true;
	}
	cleanup_free char *cfg = berth_strdup_printf("%s/config.json", s->bundle);
	cleanup_json json_t *spec = json_load_file(cfg, 0, NULL);
	const char *cg = jstr(jobj(spec, "linux"), "cgroupsPath");
	if (cg && cg[0] == '/' && !strstr(cg, ".."))
		rmdir_cgroup(cg);
}

int rt_kill(struct shim *s, int sig, bool all, char *errbuf, size_t errlen)
{
	if (s->init.state != P_CREATED && s->init.state != P_RUNNING) {
		snprintf(errbuf, errlen, "container is not running");
		return -1;
	}
	if (!all) {
		if (kill(s->init.pid, sig) < 0) {
			snprintf(errbuf, errlen, "kill: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	char signame[16];
	snprintf(signame, sizeof(signame), "%d", sig);
	const char *sub[] = {"kill", "--all", s->id, signame, NULL};
	if (run_rt(s, sub, -1, -1, -1) != 0) {
		snprintf(errbuf, errlen, "OCI runtime kill failed");
		return -1;
	}
	return 0;
}

int rt_simple(struct shim *s, const char *what, const char *const *args, char *errbuf, size_t errlen)
{
	const char *sub[16] = {what};
	size_t k = 1;
	for (size_t i = 0; args && args[i] && k < 14; i++)
		sub[k++] = args[i];
	sub[k++] = s->id;
	sub[k] = NULL;
	cleanup_free char *logp = state_path(s, "runtime.log");
	off_t off = file_size(logp);
	if (run_rt(s, sub, -1, -1, -1) != 0) {
		char msg[900] = "";
		runtime_log_error(s, off, msg, sizeof(msg));
		snprintf(errbuf, errlen, "OCI runtime %s failed: %s: unknown", what, msg[0] ? msg : "runtime error");
		return -1;
	}
	return 0;
}

int rt_error_exit_code(const char *msg)
{
	/* docker's translateContainerdStartErr */
	static const char *const notfound[] = {"executable file not found", "no such file or directory",
					       "system cannot find the file specified", "not a directory", NULL};
	char low[1024];
	size_t i = 0;
	for (; msg[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)(msg[i] >= 'A' && msg[i] <= 'Z' ? msg[i] + 32 : msg[i]);
	low[i] = '\0';
	if (strstr(low, "permission denied"))
		return 126;
	for (size_t k = 0; notfound[k]; k++)
		if (strstr(low, notfound[k]))
			return 127;
	return 0;
}
/* s->oom_file = root cg / file; false (and none) when it does not fit */
static bool oom_path(struct shim *s, const char *root, const char *cg, const char *file)
{
	int n = snprintf(s->oom_file, sizeof(s->oom_file), "%s%s/%s", root, cg, file);
	if (n < 0 || (size_t)n >= sizeof(s->oom_file)) {
		s->oom_file[0] = '\0';
		return false;
	}
	return true;
}

/* ---- OOM: the memory cgroup's oom_kill counter ---- */

void shim_oom_setup(struct shim *s)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)s->init.pid);
	cleanup_fclose FILE *f = fopen(p, "re");
	char line[1024];
	char v1[512] = "", v2[512] = "";
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		if (!*ctrls)
			snprintf(v2, sizeof(v2), "%s", path);
		else {
			char cbuf[256];
			snprintf(cbuf, sizeof(cbuf), "%s", ctrls);
			for (char *save = NULL, *t = strtok_r(cbuf, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (!strcmp(t, "memory"))
					snprintf(v1, sizeof(v1), "%s", path);
		}
	}
	if (v1[0])
		oom_path(s, "/sys/fs/cgroup/memory", v1, "memory.oom_control");
	else if (v2[0] && oom_path(s, "/sys/fs/cgroup", v2, "memory.events") && access(s->oom_file, R_OK) < 0)
		oom_path(s, "/sys/fs/cgroup/unified", v2, "memory.events");
	s->oom_base = 0; /* the container's cgroup is fresh */
}

bool shim_oom_killed(struct shim *s)
{
	if (!s->oom_file[0])
		return false;
	cleanup_fclose FILE *f = fopen(s->oom_file, "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		long n;
		if (sscanf(line, "oom_kill %ld", &n) == 1)
			return n > s->oom_base;
	}
	return false;
}
