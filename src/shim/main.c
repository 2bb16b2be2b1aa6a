/* berth-shim: started by berthd (berth_shim_spawn) in its own session, one
 * per container. Creates and starts the container with the OCI runtime,
 * holds its stdio, logs it, serves attach and control sockets, records the
 * exit status, deletes the container and exits. Single thread, epoll. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/jget.h"
#include "shim.h"

#define DRAIN_NS (2LL * 1000000000LL) /* wait for output EOF after an exit */
#define FLUSH_NS (5LL * 1000000000LL) /* wait for attach clients to take their output */

void shim_log(const char *fmt, ...)
{
	char ts[64];
	berth_time_rfc3339(berth_now_ns(), ts, sizeof(ts));
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "time=\"%s\" pid=%d msg=\"", ts, (int)getpid());
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\"\n");
	va_end(ap);
}

int shim_watch_add(struct shim *s, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -1;
	w->events = events ? events : 0x80000000u; /* registered, maybe with no events */
	return 0;
}

void shim_watch_mod(struct shim *s, struct watch *w, uint32_t events)
{
	if (w->fd < 0 || (w->events & ~0x80000000u) == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	epoll_ctl(s->ep, EPOLL_CTL_MOD, w->fd, &ev);
	w->events = events ? events : 0x80000000u;
}

void shim_watch_del(struct shim *s, struct watch *w)
{
	if (w->fd >= 0 && w->events)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->events = 0;
}

struct proc *shim_find_proc(struct shim *s, const char *exec_id)
{
	if (!exec_id || !*exec_id)
		return &s->init;
	for (struct proc *p = s->execs; p; p = p->next)
		if (!strcmp(p->id, exec_id))
			return p;
	return NULL;
}

/* ---- startup ---- */

static void sync_msg(struct shim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sync_msg(struct shim *s, const char *fmt, ...)
{
	if (s->sync_fd < 0)
		return;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	berth_write_all(s->sync_fd, buf, (size_t)n); /* EPIPE when berthd is gone: SIGPIPE is ignored */
	close(s->sync_fd);
	s->sync_fd = -1;
}

static int listen_unix(const char *name)
{
	/* names are relative to the state dir (our cwd): no sun_path length worries */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
	unlink(name);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, SOMAXCONN) < 0) {
		close(fd);
		return -1;
	}
	chmod(name, 0600);
	return fd;
}

static char *cfg_str(json_t *o, const char *k)
{
	const char *v = jstr(o, k);
	return v ? strdup(v) : NULL;
}

static int load_config(struct shim *s, const char *path)
{
	json_error_t je;
	s->cfg = json_load_file(path, 0, &je);
	if (!s->cfg) {
		shim_log("config %s: %s", path, je.text);
		return -1;
	}
	s->id = cfg_str(s->cfg, "id");
	s->bundle = cfg_str(s->cfg, "bundle");
	s->state_dir = cfg_str(s->cfg, "state_dir");
	json_t *rt = jobj(s->cfg, "runtime");
	s->rt_name = cfg_str(rt, "name");
	s->rt_path = cfg_str(rt, "path");
	s->rt_root = cfg_str(rt, "root");
	size_t i;
	json_t *v;
	json_array_foreach(jarr(rt, "args"), i, v) {
		if (json_is_string(v))
			berth_strv_push(&s->rt_args, json_string_value(v));
	}
	s->init.tty = jbool(s->cfg, "tty", false);
	s->init.open_stdin = jbool(s->cfg, "open_stdin", false);
	s->init.stdin_once = jbool(s->cfg, "stdin_once", false);
	s->want_start = jbool(s->cfg, "start", false);
	s->mnt_target = cfg_str(jobj(s->cfg, "rootfs_mount"), "target");
	/* the root filesystem berthd gave us as fd 4: held at 99 from now on */
	if (s->mnt_target) {
		if (dup3(BERTH_SHIM_ROOTFS_SPAWN_FD, BERTH_SHIM_ROOTFS_FD, O_CLOEXEC) < 0) {
			shim_log("config %s: rootfs_mount without the root filesystem's fd: %s", path, strerror(errno));
			return -1;
		}
		close(BERTH_SHIM_ROOTFS_SPAWN_FD);
		s->mnt_held = true;
	}
	if (!s->id || !s->bundle || !s->state_dir || !s->rt_path || !s->rt_root) {
		shim_log("config %s: id, bundle, state_dir, runtime.path and runtime.root are required", path);
		return -1;
	}
	return 0;
}

static void logger_warn(void *ctx, const char *msg)
{
	(void)ctx;
	shim_log("%s", msg);
}

/* The log driver. A remote driver (syslog, gelf, ...) runs on a delivery
 * thread behind a queue, so the stdio loop never waits on the network;
 * log.path is then the dual-logging cache. */
static void open_logger(struct shim *s)
{
	json_t *l = jobj(s->cfg, "log");
	const char *driver = jstr(l, "driver") ? jstr(l, "driver") : "json-file";
	struct berth_log_info info = {
		.container_id = s->id,
		.container_name = jstr(l, "container_name"),
		.image_id = jstr(l, "image_id"),
		.image_name = jstr(l, "image_name"),
		.daemon_name = jstr(l, "daemon_name"),
		.log_path = jstr(l, "path"),
		.opts = jobj(l, "opts"),
		.labels = jobj(l, "labels"),
		.env = jarr(l, "env"),
		.command = jstr(l, "command"),
		.created = jstr(l, "created"),
	};
	struct berth_error err = {0};
	s->logger = berth_logger_open_delivery(driver, &info, jstr(l, "path"), logger_warn, NULL, &err);
	if (!s->logger)
		shim_log("log driver %s: %s (container output is not logged)", driver, err.msg);
}

/* ---- exits ---- */

json_t *proc_exit_json(const struct proc *p)
{
	char st[64], fin[64];
	berth_time_rfc3339(p->started_ns, st, sizeof(st));
	berth_time_rfc3339(p->finished_ns, fin, sizeof(fin));
	json_t *j = json_pack("{s:i, s:i, s:i, s:b, s:s, s:s}", "pid", (int)p->pid, "exit_code", p->exit_code, "signal",
			      p->signal, "oom_killed", p->oom_killed, "started_at", p->started_ns ? st : "",
			      "finished_at", fin);
	if (p->error[0])
		json_object_set_new(j, "error", json_string(p->error));
	return j;
}

static void write_exit_file(struct shim *s)
{
	cleanup_json json_t *j = proc_exit_json(&s->init);
	if (s->delete_us)
		json_object_set_new(j, "runtime_delete_us", json_integer(s->delete_us));
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	struct berth_error err = {0};
	if (berth_write_file_replace("exit.json", text, strlen(text), 0600, &err) < 0)
		shim_log("write exit.json: %s", err.msg);
}

static void proc_exited(struct shim *s, struct proc *p, int status)
{
	p->state = P_EXITED;
	p->finished_ns = berth_now_ns();
	if (p->error[0] && p->exit_code) {
		/* killed after a failed start: keep the start error's code */
	} else if (WIFSIGNALED(status)) {
		p->signal = WTERMSIG(status);
		p->exit_code = 128 + p->signal;
	} else {
		p->exit_code = WEXITSTATUS(status);
	}
	if (p == &s->init)
		p->oom_killed = shim_oom_killed(s);
	p->drain_deadline_ns = p->finished_ns + DRAIN_NS;
	shim_log("%s%s exited: code %d%s", p->is_exec ? "exec " : "container", p->id, p->exit_code,
		 p->oom_killed ? " (OOM killed)" : "");
}

void shim_run_failed(struct shim *s, const char *errbuf)
{
	struct proc *p = &s->init;
	snprintf(p->error, sizeof(p->error), "%s", errbuf);
	p->exit_code = rt_error_exit_code(errbuf);
	if (!p->exit_code)
		p->exit_code = 128;
	p->state = P_EXITED;
	p->finished_ns = berth_now_ns();
	p->drain_deadline_ns = p->finished_ns;
	shim_log("container could not be run: %s", errbuf);
}

static void reap(struct shim *s)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			break;
		if (rt_delete_reaped(s, pid))
			continue;
		if (s->init.pid == pid && s->init.state != P_EXITED) {
			proc_exited(s, &s->init, st);
			continue;
		}
		for (struct proc *p = s->execs; p; p = p->next)
			if (p->pid == pid && p->state != P_EXITED)
				proc_exited(s, p, st);
		/* anything else: an orphan of the container re-parented to us (we are its subreaper) */
	}
}

/* An exited process whose output has drained (or timed out): close it out. */
static void finalize(struct shim *s, struct proc *p)
{
	io_proc_drain(s, p);
	for (int i = 0; i < 2; i++)
		io_proc_output_close(s, p, i);
	io_close_stdin(s, p);
	if (p == &s->init) {
		for (int i = 0; i < 2; i++)
			if (p->copier[i])
				berth_log_copier_flush(p->copier[i], s->logger, 0);
		struct berth_error err = {0};
		berth_logger_flush(s->logger, &err); /* every line is in the file before the exit is */
		rt_rootfs_unmount(s);                /* released before berthd may start it again */
		write_exit_file(s);
	}
	p->finalized = true;
	ctl_notify_exit(s, p);
	io_proc_done(s, p);
	if (p == &s->init)
		rt_delete_begin(s); /* while berthd handles the exit */
}

static int64_t next_deadline(struct shim *s)
{
	int64_t d = 0;
	for (struct proc *p = &s->init; p; p = p == &s->init ? s->execs : p->next)
		if (p->state == P_EXITED && !p->finalized && (!d || p->drain_deadline_ns < d))
			d = p->drain_deadline_ns;
	return d;
}

static bool outputs_open(const struct proc *p) { return p->out[0].fd >= 0 || p->out[1].fd >= 0; }

static void check_exits(struct shim *s)
{
	int64_t now = berth_now_ns();
	for (struct proc *p = &s->init; p; p = p == &s->init ? s->execs : p->next)
		if (p->state == P_EXITED && !p->finalized && (!outputs_open(p) || now >= p->drain_deadline_ns))
			finalize(s, p);
}

static bool clients_flushed(struct shim *s)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (!c->dead)
			return false;
	for (struct ctl *c = s->ctls; c; c = c->next)
		if (!c->dead && (c->out.len > c->out_off))
			return false;
	return true;
}

/* execs die with the container; let their waits be answered before leaving */
static bool execs_done(struct shim *s)
{
	for (struct proc *p = s->execs; p; p = p->next)
		if (p->state != P_NEW && !p->finalized)
			return false;
	return true;
}

static void arm_timer(struct shim *s, int64_t deadline)
{
	struct itimerspec its = {0};
	if (deadline) {
		int64_t left = deadline - berth_now_ns();
		if (left < 1000000)
			left = 1000000;
		its.it_value.tv_sec = left / 1000000000LL;
		its.it_value.tv_nsec = left % 1000000000LL;
	}
	timerfd_settime(s->timer.fd, 0, &its, NULL);
}

static int run(struct shim *s)
{
	int64_t flush_deadline = 0;
	struct epoll_event evs[64];
	for (;;) {
		int64_t d = next_deadline(s);
		if (flush_deadline && (!d || flush_deadline < d))
			d = flush_deadline;
		arm_timer(s, d);
		int n = epoll_wait(s->ep, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			shim_log("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			uint32_t ev = evs[i].events;
			switch (w->kind) {
			case W_SIGNAL: {
				struct signalfd_siginfo si;
				while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
				}
				reap(s);
				break;
			}
			case W_TIMER: {
				uint64_t x;
				if (read(w->fd, &x, sizeof(x)) < 0) {
				}
				break;
			}
			case W_CTL_LISTEN: ctl_accept(s); break;
			case W_ATT_LISTEN: io_attach_accept(s); break;
			case W_CTL: ctl_event(s, w->owner, ev); break;
			case W_ATT: io_attach_event(s, w->owner, ev); break;
			case W_OUT: io_output_ready(s, w); break;
			case W_IN: io_stdin_writable(s, w->owner); break;
			}
		}
		check_exits(s);
		io_check_backpressure(s);
		io_reap_dead(s);
		ctl_reap_dead(s);
		if (s->init.finalized) {
			if (!flush_deadline)
				flush_deadline = berth_now_ns() + FLUSH_NS;
			if ((clients_flushed(s) && execs_done(s)) || berth_now_ns() >= flush_deadline)
				return 0;
		}
	}
}

static void proc_free(struct proc *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->out[i].fd >= 0)
			close(p->out[i].fd);
		free(p->copier[i]);
	}
	if (p->in.fd >= 0)
		close(p->in.fd);
	berth_buf_free(&p->inbuf);
	free(p->process_file);
}

/* Free everything (at exit: keeps leak checkers quiet and the code honest). */
static void shim_free(struct shim *s)
{
	for (struct client *c = s->clients; c; c = c->next)
		c->dead = true;
	io_reap_dead(s);
	for (struct ctl *c = s->ctls; c; c = c->next)
		c->dead = true;
	ctl_reap_dead(s);
	proc_free(&s->init);
	while (s->execs) {
		struct proc *p = s->execs;
		s->execs = p->next;
		proc_free(p);
		free(p);
	}
	berth_logger_close(s->logger);
	s->logger = NULL;
	free(s->id);
	free(s->bundle);
	free(s->mnt_target);
	free(s->state_dir);
	free(s->rt_name);
	free(s->rt_path);
	free(s->rt_root);
	berth_strv_free(s->rt_args);
	json_decref(s->cfg);
	int fds[] = {s->ep, s->sig.fd, s->timer.fd, s->ctl_listen.fd, s->att_listen.fd, s->sync_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void usage(void)
{
	fprintf(stderr, "usage: berth-shim [--detach] --config <state_dir>/shim.json [--sync-fd N]\n"
			"berth-shim is started by berthd; see docs/shim-protocol.md\n");
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	int sync_fd = -1;
	bool detach = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--detach"))
			detach = true;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
		else if (!strcmp(argv[i], "--sync-fd") && i + 1 < argc)
			sync_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--version")) {
			printf("berth-shim %s\n", BERTH_VERSION);
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (!config) {
		usage();
		return 2;
	}
	/* --detach: berthd spawned us without forking itself; our first
	 * process exits at once (berthd reaps it), the second is the shim,
	 * nobody's child (re-parented to init or a subreaper) */
	if (detach) {
		pid_t pid = fork();
		if (pid < 0) {
			dprintf(sync_fd, "error 0 shim: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0)
			_exit(0);
	}
	struct shim s = {.sync_fd = sync_fd, .ep = -1, .host_ns = -1, .host_cwd = -1};
	s.init.out[0].fd = s.init.out[1].fd = s.init.in.fd = -1;
	s.init.pend_w = s.init.pend_h = 0;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	s.sig.fd = s.timer.fd = s.ctl_listen.fd = s.att_listen.fd = -1;
	if (load_config(&s, config) < 0) {
		sync_msg(&s, "error 0 shim: cannot load %s", config);
		shim_free(&s);
		return 1;
	}
	if (chdir(s.state_dir) < 0) {
		sync_msg(&s, "error 0 shim: chdir %s: %s", s.state_dir, strerror(errno));
		shim_free(&s);
		return 1;
	}
	/* the container's processes re-parent to us when the runtime exits */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* berth-shim-lean too is "berth-shim" to ps and pgrep -x */
	prctl(PR_SET_NAME, "berth-shim");
	char pidbuf[32];
	int pl = snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	struct berth_error err = {0};
	berth_write_file_replace("shim.pid", pidbuf, (size_t)pl, 0600, &err);
	unlink("exit.json");

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	s.sig = (struct watch){.kind = W_SIGNAL, .fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)};
	s.timer = (struct watch){.kind = W_TIMER, .fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)};
	s.ctl_listen = (struct watch){.kind = W_CTL_LISTEN, .fd = listen_unix("control.sock")};
	s.att_listen = (struct watch){.kind = W_ATT_LISTEN, .fd = listen_unix("attach.sock")};
	if (s.ep < 0 || s.sig.fd < 0 || s.timer.fd < 0 || s.ctl_listen.fd < 0 || s.att_listen.fd < 0) {
		sync_msg(&s, "error 0 shim: setup in %s: %s", s.state_dir, strerror(errno));
		shim_free(&s);
		return 1;
	}
	shim_watch_add(&s, &s.sig, EPOLLIN);
	shim_watch_add(&s, &s.timer, EPOLLIN);
	shim_watch_add(&s, &s.ctl_listen, EPOLLIN);
	shim_watch_add(&s, &s.att_listen, EPOLLIN);

	open_logger(&s);
	if (s.want_start) {
		/* nothing to attach first: create and start in one runtime exec */
		char errbuf[1024];
		if (rt_run(&s, errbuf, sizeof(errbuf)) < 0) {
			shim_run_failed(&s, errbuf);
			write_exit_file(&s);
			sync_msg(&s, "error %d %s", s.init.exit_code, errbuf);
			rt_delete(&s);
			unlink("control.sock");
			unlink("attach.sock");
			shim_free(&s);
			return 1;
		}
		shim_oom_setup(&s);
		sync_msg(&s, "started %d %lld", (int)s.init.pid, (long long)s.run_us);
	} else {
		/* attach clients connect first; `start` runs the container */
		sync_msg(&s, "ready");
	}
	int rc = run(&s);
	unlink("control.sock");
	unlink("attach.sock");
	if (s.rt_ran) {
		rt_delete(&s);
		if (s.init.finalized)
			write_exit_file(&s); /* again, with the runtime delete's duration */
	}
	shim_log("exiting");
	shim_free(&s);
	return rc < 0 ? 1 : 0;
}
