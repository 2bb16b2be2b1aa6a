/* Control socket: one JSON object per line each way (docs/shim-protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/jget.h"
#include "shim.h"

#define MAX_REQUEST (1 << 20)

static void ctl_update(struct shim *s, struct ctl *c)
{
	if (c->dead)
		return;
	uint32_t ev = 0;
	if (!c->closing)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->out.len > c->out_off)
		ev |= EPOLLOUT;
	shim_watch_mod(s, &c->w, ev);
}

static void ctl_kill(struct shim *s, struct ctl *c)
{
	if (c->dead)
		return;
	shim_watch_del(s, &c->w);
	c->dead = true;
}

static void ctl_flush(struct shim *s, struct ctl *c)
{
	while (c->out.len > c->out_off) {
		ssize_t n =
			send(c->w.fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			ctl_kill(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		c->out.len = c->out_off = 0;
		if (c->closing) {
			ctl_kill(s, c);
			return;
		}
	}
	ctl_update(s, c);
}

static void send_json(struct shim *s, struct ctl *c, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text) {
		berth_buf_append(&c->out, text, strlen(text));
		berth_buf_putc(&c->out, '\n');
		free(text);
	}
	ctl_flush(s, c);
}

static void send_err(struct shim *s, struct ctl *c, const char *kind, const char *msg, int exit_code)
{
	json_t *j = json_pack("{s:b, s:s, s:s}", "ok", 0, "kind", kind, "error", msg);
	if (exit_code)
		json_object_set_new(j, "exit_code", json_integer(exit_code));
	send_json(s, c, j);
}

static const char *state_name(enum pstate st)
{
	switch (st) {
	case P_NEW: return "new";
	case P_CREATED: return "created";
	case P_RUNNING: return "running";
	case P_EXITED: return "stopped";
	}
	return "unknown";
}

static json_t *proc_state(const struct proc *p, bool paused)
{
	char st[64];
	berth_time_rfc3339(p->started_ns, st, sizeof(st));
	json_t *j =
		json_pack("{s:b, s:s, s:i, s:b, s:b, s:s}", "ok", 1, "status", state_name(p->state), "pid", (int)p->pid,
			  "tty", p->tty, "stdin_open", p->in.fd >= 0, "started_at", p->started_ns ? st : "");
	if (p->state == P_EXITED && p->finalized)
		json_object_set_new(j, "exit", proc_exit_json(p));
	if (paused && p->state == P_RUNNING)
		json_object_set_new(j, "paused", json_true());
	return j;
}

static bool valid_exec_id(const char *id)
{
	if (!id || !*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

static void op_exec_create(struct shim *s, struct ctl *c, json_t *req)
{
	const char *id = jstr(req, "exec");
	json_t *proc = jobj(req, "process");
	if (!valid_exec_id(id) || !proc) {
		send_err(s, c, "invalid", "exec_create needs a valid exec id and a process", 0);
		return;
	}
	if (shim_find_proc(s, id)) {
		send_err(s, c, "conflict", "exec id already in use", 0);
		return;
	}
	if (s->init.state != P_RUNNING) {
		send_err(s, c, "conflict", "container is not running", 0);
		return;
	}
	struct proc *p = calloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->is_exec = true;
	p->tty = jbool(req, "tty", false);
	p->open_stdin = jbool(req, "stdin", false);
	p->stdin_once = true; /* docker execs close stdin when the client's stdin ends */
	p->out[0].fd = p->out[1].fd = p->in.fd = -1;
	p->state = P_NEW;
	char name[128];
	snprintf(name, sizeof(name), "exec-%s.json", id);
	p->process_file = berth_strdup_printf("%s/%s", s->state_dir, name);
	json_object_set_new(proc, "terminal", json_boolean(p->tty));
	cleanup_free char *text = json_dumps(proc, JSON_COMPACT);
	struct berth_error err = {0};
	if (!text || berth_write_file_replace(name, text, strlen(text), 0600, &err) < 0) {
		send_err(s, c, "internal", err.msg[0] ? err.msg : "cannot write exec process", 0);
		free(p->process_file);
		free(p);
		return;
	}
	p->next = s->execs;
	s->execs = p;
	send_json(s, c, json_pack("{s:b}", "ok", 1));
}

static void op_exec_start(struct shim *s, struct ctl *c, json_t *req)
{
	struct proc *p = shim_find_proc(s, jstr(req, "exec"));
	if (!p || !p->is_exec) {
		send_err(s, c, "not_found", "No such exec instance", 0);
		return;
	}
	if (p->state != P_NEW) {
		send_err(s, c, "conflict", "exec has already been started", 0);
		return;
	}
	if (s->init.state != P_RUNNING) {
		send_err(s, c, "conflict", "container is not running", 0);
		return;
	}
	char errbuf[1024];
	if (rt_exec(s, p, errbuf, sizeof(errbuf)) < 0) {
		p->state = P_EXITED;
		p->exit_code = rt_error_exit_code(errbuf);
		if (!p->exit_code)
			p->exit_code = 126;
		p->finished_ns = berth_now_ns();
		snprintf(p->error, sizeof(p->error), "%s", errbuf);
		p->finalized = true;
		unlink(p->process_file);
		send_err(s, c, "invalid", errbuf, p->exit_code);
		ctl_notify_exit(s, p);
		io_proc_done(s, p);
		return;
	}
	unlink(p->process_file);
	send_json(s, c, json_pack("{s:b, s:i}", "ok", 1, "pid", (int)p->pid));
}

/* The container runs now (`runtime run --detach`): the attach clients that
 * berthd connected first see all of its output. */
static void op_start(struct shim *s, struct ctl *c)
{
	if (s->init.state != P_NEW) {
		send_err(s, c, "conflict",
			 s->init.state == P_RUNNING ? "container already started" : "container is not created", 0);
		return;
	}
	char errbuf[1024];
	if (rt_run(s, errbuf, sizeof(errbuf)) < 0) {
		shim_run_failed(s, errbuf);
		int code = s->init.exit_code;
		send_err(s, c, code == 126 || code == 127 ? "invalid" : "internal", errbuf, code);
		return;
	}
	shim_oom_setup(s);
	send_json(s, c,
		  json_pack("{s:b, s:i, s:I, s:b}", "ok", 1, "pid", (int)s->init.pid, "runtime_us",
			    (json_int_t)s->run_us, "run", 1));
}

static void handle(struct shim *s, struct ctl *c, const char *line)
{
	json_error_t je;
	cleanup_json json_t *req = json_loads(line, 0, &je);
	const char *op = jstr(req, "op");
	if (!op) {
		send_err(s, c, "invalid", "request must be a JSON object with \"op\"", 0);
		return;
	}
	if (!strcmp(op, "state")) {
		struct proc *p = shim_find_proc(s, jstr(req, "exec"));
		if (!p)
			send_err(s, c, "not_found", "No such exec instance", 0);
		else
			send_json(s, c, proc_state(p, p == &s->init && s->paused));
	} else if (!strcmp(op, "start")) {
		op_start(s, c);
	} else if (!strcmp(op, "kill")) {
		char errbuf[512];
		int sig = (int)jint(req, "signal", 15);
		if (sig <= 0 || sig > 64)
			send_err(s, c, "invalid", "invalid signal", 0);
		else if (jstr_ne(req, "exec")) {
			struct proc *p = shim_find_proc(s, jstr(req, "exec"));
			if (!p || p->state != P_RUNNING)
				send_err(s, c, "conflict", "exec is not running", 0);
			else if (kill(p->pid, sig) < 0)
				send_err(s, c, "internal", strerror(errno), 0);
			else
				send_json(s, c, json_pack("{s:b}", "ok", 1));
		} else if (rt_kill(s, sig, jbool(req, "all", false), errbuf, sizeof(errbuf)) < 0)
			send_err(s, c, "conflict", errbuf, 0);
		else
			send_json(s, c, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(op, "resize")) {
		struct proc *p = shim_find_proc(s, jstr(req, "exec"));
		int w = (int)jint(req, "width", 0), h = (int)jint(req, "height", 0);
		if (!p)
			send_err(s, c, "not_found", "No such exec instance", 0);
		else if (!p->tty)
			send_err(s, c, "conflict", "process has no tty", 0);
		else if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
			send_err(s, c, "invalid", "invalid tty size", 0);
		else {
			io_resize(p, w, h);
			send_json(s, c, json_pack("{s:b}", "ok", 1));
		}
	} else if (!strcmp(op, "exec_create")) {
		op_exec_create(s, c, req);
	} else if (!strcmp(op, "exec_start")) {
		op_exec_start(s, c, req);
	} else if (!strcmp(op, "wait")) {
		struct proc *p = shim_find_proc(s, jstr(req, "exec"));
		if (!p) {
			send_err(s, c, "not_found", "No such exec instance", 0);
		} else if (p->finalized) {
			json_t *r = proc_exit_json(p);
			json_object_set_new(r, "ok", json_true());
			send_json(s, c, r);
		} else {
			snprintf(c->wait_for, sizeof(c->wait_for), "%s", p->id);
			c->wait_active = true;
		}
	} else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
		bool pause = !strcmp(op, "pause");
		char errbuf[1024];
		if (s->init.state != P_RUNNING)
			send_err(s, c, "conflict", "container is not running", 0);
		else if (s->paused == pause)
			send_err(s, c, "conflict", pause ? "container is already paused" : "container is not paused",
				 0);
		else if (rt_simple(s, op, NULL, errbuf, sizeof(errbuf)) < 0)
			send_err(s, c, "internal", errbuf, 0);
		else {
			s->paused = pause;
			send_json(s, c, json_pack("{s:b}", "ok", 1));
		}
	} else if (!strcmp(op, "update")) {
		/* {"op":"update","resources":{OCI linux.resources}} -> runc update --resources <file> */
		json_t *res = jobj(req, "resources");
		char errbuf[1024];
		struct berth_error err = {0};
		cleanup_free char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
		cleanup_free char *path = berth_strdup_printf("%s/update.json", s->state_dir);
		if (!text)
			send_err(s, c, "invalid", "update needs \"resources\"", 0);
		else if (s->init.state != P_RUNNING && s->init.state != P_CREATED)
			send_err(s, c, "conflict", "container is not running", 0);
		else if (berth_write_file_atomic("update.json", text, strlen(text), 0600, &err) < 0)
			send_err(s, c, "internal", err.msg, 0);
		else {
			const char *args[] = {"--resources", path, NULL};
			int r = rt_simple(s, "update", args, errbuf, sizeof(errbuf));
			unlink("update.json");
			if (r < 0)
				send_err(s, c, "internal", errbuf, 0);
			else
				send_json(s, c, json_pack("{s:b}", "ok", 1));
		}
	} else if (!strcmp(op, "delete")) {
		/* a created-but-never-started (or stopped) container: let it go */
		if (s->init.state == P_RUNNING) {
			send_err(s, c, "conflict", "container is running", 0);
		} else {
			if (s->init.state == P_NEW) {
				/* never run: nothing to record, the loop ends */
				s->init.state = P_EXITED;
				s->init.finalized = true;
				io_proc_done(s, &s->init);
			}
			send_json(s, c, json_pack("{s:b}", "ok", 1));
		}
	} else {
		send_err(s, c, "invalid", "unknown op", 0);
	}
}

void ctl_notify_exit(struct shim *s, struct proc *p)
{
	for (struct ctl *c = s->ctls; c; c = c->next) {
		if (c->dead || !c->wait_active || strcmp(c->wait_for, p->id))
			continue;
		c->wait_active = false;
		json_t *r = proc_exit_json(p);
		json_object_set_new(r, "ok", json_true());
		send_json(s, c, r);
	}
}

void ctl_accept(struct shim *s)
{
	for (;;) {
		int fd = accept4(s->ctl_listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ctl *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->w = (struct watch){.kind = W_CTL, .fd = fd, .owner = c};
		c->next = s->ctls;
		s->ctls = c;
		shim_watch_add(s, &c->w, EPOLLIN | EPOLLRDHUP);
	}
}

void ctl_event(struct shim *s, struct ctl *c, uint32_t ev)
{
	if (c->dead)
		return;
	if (c->closing && (ev & (EPOLLHUP | EPOLLERR))) {
		ctl_kill(s, c);
		return;
	}
	if (ev & EPOLLOUT)
		ctl_flush(s, c);
	if (c->dead)
		return;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char buf[8192];
		ssize_t n = recv(c->w.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* the client is done sending: answer what it asked (a pending
			 * wait included), then close */
			c->closing = true;
			if ((ev & (EPOLLHUP | EPOLLERR)) || n < 0) {
				ctl_kill(s, c); /* gone in both directions: nobody to answer */
				return;
			}
			if (!c->wait_active)
				ctl_flush(s, c);
			else
				ctl_update(s, c);
			return;
		}
		berth_buf_append(&c->in, buf, (size_t)n);
		if (c->in.len > MAX_REQUEST) {
			ctl_kill(s, c);
			return;
		}
		char *nl;
		while (!c->dead && c->in.len && (nl = memchr(c->in.data, '\n', c->in.len))) {
			*nl = '\0';
			handle(s, c, c->in.data);
			size_t used = (size_t)(nl - c->in.data) + 1;
			memmove(c->in.data, c->in.data + used, c->in.len - used);
			c->in.len -= used;
		}
	}
}

void ctl_reap_dead(struct shim *s)
{
	struct ctl **pp = &s->ctls;
	while (*pp) {
		struct ctl *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		close(c->w.fd);
		berth_buf_free(&c->in);
		berth_buf_free(&c->out);
		free(c);
	}
}
