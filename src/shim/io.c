/* Container stdio: reading output (log + attach fan-out), stdin, the
 * attach socket (several clients, docker's stream framing on request,
 * detach keys), tty resize. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/jget.h"
#include "shim.h"

#define HIGH_WATER (1 << 20)
#define LOW_WATER (256 << 10)
#define MAX_HEADER 4096
#define DRAIN_MAX (16 << 20)

/* ---- detach keys (docker's term.ToBytes) ---- */

int io_parse_detach_keys(const char *spec, unsigned char *out, size_t *n)
{
	*n = 0;
	cleanup_free char *copy = strdup(spec);
	char *save = NULL;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (*n >= 16)
			return -1;
		size_t l = strlen(k);
		if (l == 1) {
			out[(*n)++] = (unsigned char)k[0];
			continue;
		}
		if (l != 6 || strncmp(k, "ctrl-", 5))
			return -1;
		char c = k[5];
		if (c >= 'a' && c <= 'z')
			out[(*n)++] = (unsigned char)(c - 'a' + 1);
		else if (c >= 'A' && c <= 'Z')
			out[(*n)++] = (unsigned char)(c - 'A' + 1);
		else if (c == '@')
			out[(*n)++] = 0;
		else if (c == '[')
			out[(*n)++] = 27;
		else if (c == '\\')
			out[(*n)++] = 28;
		else if (c == ']')
			out[(*n)++] = 29;
		else if (c == '^')
			out[(*n)++] = 30;
		else if (c == '_')
			out[(*n)++] = 31;
		else
			return -1;
	}
	return *n ? 0 : -1;
}

/* ---- clients ---- */

static uint32_t client_events(struct shim *s, struct client *c)
{
	(void)s;
	uint32_t ev = 0;
	if (!c->in_done && !(c->want_in && c->p && c->p->inbuf.len > HIGH_WATER))
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->out.len > c->out_off)
		ev |= EPOLLOUT;
	return ev;
}

static void client_update(struct shim *s, struct client *c)
{
	if (!c->dead)
		shim_watch_mod(s, &c->w, client_events(s, c));
}

static void client_kill(struct shim *s, struct client *c)
{
	if (c->dead)
		return;
	shim_watch_del(s, &c->w);
	c->dead = true;
}

static void client_queue(struct shim *s, struct client *c, const void *data, size_t len)
{
	if (c->dead || c->closing)
		return;
	berth_buf_append(&c->out, data, len);
	client_update(s, c);
}

static void client_flush(struct shim *s, struct client *c)
{
	while (c->out.len > c->out_off) {
		ssize_t n =
			send(c->w.fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_kill(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		c->out.len = c->out_off = 0;
		if (c->closing) {
			client_kill(s, c);
			return;
		}
	} else if (c->out_off > (1 << 20)) {
		memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	client_update(s, c);
}

/* Close a client once what it has been sent is written. */
static void client_end(struct shim *s, struct client *c)
{
	if (c->dead)
		return;
	c->closing = true;
	c->in_done = true;
	client_flush(s, c);
}

static void broadcast(struct shim *s, struct proc *p, int idx, const char *data, size_t len)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->dead || c->closing || !c->header_done || c->p != p)
			continue;
		bool want = (idx == 0 || p->tty) ? c->want_out : c->want_err;
		if (!want)
			continue;
		if (c->mux && !p->tty) {
			unsigned char h[8] = {(unsigned char)(idx == 0 ? 1 : 2),
					      0,
					      0,
					      0,
					      (unsigned char)(len >> 24),
					      (unsigned char)(len >> 16),
					      (unsigned char)(len >> 8),
					      (unsigned char)len};
			client_queue(s, c, h, 8);
		}
		client_queue(s, c, data, len);
	}
}

/* ---- container output ---- */

void io_proc_outputs_add(struct shim *s, struct proc *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->out[i].fd < 0)
			continue;
		p->out[i].kind = W_OUT;
		p->out[i].owner = p;
		p->out[i].index = i;
		shim_watch_add(s, &p->out[i], s->paused_output ? 0 : EPOLLIN);
		if (!p->is_exec) {
			p->copier[i] = malloc(sizeof(struct berth_log_copier));
			if (p->copier[i])
				berth_log_copier_init(p->copier[i], i == 0 ? BERTH_LOG_STDOUT : BERTH_LOG_STDERR);
		}
	}
	if (p->in.fd >= 0) {
		p->in.kind = W_IN;
		p->in.owner = p;
		shim_watch_add(s, &p->in, 0);
		if (p->inbuf.len || p->in_close_pending)
			io_stdin_writable(s, p); /* what clients sent before the start */
	}
}

void io_proc_output_close(struct shim *s, struct proc *p, int idx)
{
	struct watch *w = &p->out[idx];
	if (w->fd < 0)
		return;
	shim_watch_del(s, w);
	close(w->fd);
	w->fd = -1;
	if (p->copier[idx]) {
		berth_log_copier_flush(p->copier[idx], s->logger, 0);
		free(p->copier[idx]);
		p->copier[idx] = NULL;
		struct berth_error err = {0};
		berth_logger_flush(s->logger, &err);
	}
}

static void output_read(struct shim *s, struct watch *w)
{
	struct proc *p = w->owner;
	char buf[65536];
	for (int round = 0; round < 4 && w->fd >= 0; round++) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* EOF, or EIO on a pty whose other side is all closed */
			io_proc_output_close(s, p, w->index);
			return;
		}
		if (p->copier[w->index])
			berth_log_copier_feed(p->copier[w->index], buf, (size_t)n, s->logger, 0);
		broadcast(s, p, w->index, buf, (size_t)n);
	}
}

void io_output_ready(struct shim *s, struct watch *w)
{
	output_read(s, w);
	/* the logger batches its file writes: out before the loop waits again */
	struct berth_error err = {0};
	berth_logger_flush(s->logger, &err);
}

/* Before an exited process's outputs are closed: read what is still in
 * them. The loop may have been busy (runtime commands run synchronously)
 * past the drain deadline while the output sat in the pipe; it must still
 * reach the clients. Bounded, for a background process that keeps writing. */
void io_proc_drain(struct shim *s, struct proc *p)
{
	char buf[65536];
	for (int i = 0; i < 2; i++) {
		size_t total = 0;
		while (p->out[i].fd >= 0 && total < DRAIN_MAX) {
			ssize_t n = read(p->out[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			total += (size_t)n;
			if (p->copier[i])
				berth_log_copier_feed(p->copier[i], buf, (size_t)n, s->logger, 0);
			broadcast(s, p, i, buf, (size_t)n);
		}
	}
	struct berth_error err = {0};
	berth_logger_flush(s->logger, &err);
}

void io_close_stdin(struct shim *s, struct proc *p)
{
	if (p->in.fd < 0) {
		if (p->state == P_NEW && p->open_stdin)
			p->in_close_pending = true; /* closed once the process has it */
		return;
	}
	if (p->inbuf.len && p->state != P_EXITED) {
		p->in_close_pending = true;
		return;
	}
	shim_watch_del(s, &p->in);
	close(p->in.fd);
	p->in.fd = -1;
	p->stdin_closed = true;
	berth_buf_free(&p->inbuf);
}

void io_stdin_writable(struct shim *s, struct proc *p)
{
	size_t off = 0;
	while (off < p->inbuf.len) {
		ssize_t n = write(p->in.fd, p->inbuf.data + off, p->inbuf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* the container closed its stdin */
			p->inbuf.len = 0;
			p->in_close_pending = false;
			io_close_stdin(s, p);
			return;
		}
		off += (size_t)n;
	}
	memmove(p->inbuf.data, p->inbuf.data + off, p->inbuf.len - off);
	p->inbuf.len -= off;
	if (!p->inbuf.len && p->in_close_pending) {
		p->in_close_pending = false;
		io_close_stdin(s, p);
		return;
	}
	shim_watch_mod(s, &p->in, p->inbuf.len ? EPOLLOUT : 0);
}

static void stdin_feed(struct shim *s, struct proc *p, const char *data, size_t len)
{
	/* before its start a process has no stdin yet: keep what comes (docker
	 * run -i: the client attaches, may send, then starts) */
	bool not_yet = p->state == P_NEW && p->open_stdin;
	if ((p->in.fd < 0 && !not_yet) || p->in_close_pending || !len)
		return;
	berth_buf_append(&p->inbuf, data, len);
	if (p->in.fd >= 0 && !not_yet)
		io_stdin_writable(s, p);
}

void io_resize(struct proc *p, int w, int h)
{
	if (!p->tty || p->out[0].fd < 0) {
		p->pend_w = w;
		p->pend_h = h;
		return;
	}
	struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
	ioctl(p->out[0].fd, TIOCSWINSZ, &ws);
}

void io_proc_done(struct shim *s, struct proc *p)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (c->p == p)
			client_end(s, c);
}

/* ---- attach connections ---- */

void io_attach_accept(struct shim *s)
{
	for (;;) {
		int fd = accept4(s->att_listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->w = (struct watch){.kind = W_ATT, .fd = fd, .owner = c};
		c->next = s->clients;
		s->clients = c;
		shim_watch_add(s, &c->w, EPOLLIN | EPOLLRDHUP);
	}
}

/* The client's stdin ended (EOF or detach keys): docker's attach rules. */
static void client_stdin_end(struct shim *s, struct client *c, bool detached)
{
	c->in_done = true;
	struct proc *p = c->p;
	if (c->want_in && p && p->stdin_once && !p->tty)
		io_close_stdin(s, p);
	if (detached || (c->want_in && !(p && p->stdin_once && !p->tty)))
		client_end(s, c);
	else
		client_update(s, c);
}

static void client_stdin(struct shim *s, struct client *c, const char *data, size_t len)
{
	if (!c->want_in || !c->p)
		return;
	if (!c->p->tty) {
		/* docker matches detach keys only with a tty (copyEscapable); without
		 * one stdin is binary data passed on as it is */
		stdin_feed(s, c->p, data, len);
		return;
	}
	char out[8192];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)data[i];
		if (c->nkeys && b == c->keys[c->matched]) {
			if (++c->matched == c->nkeys) {
				stdin_feed(s, c->p, out, n);
				c->matched = 0;
				client_stdin_end(s, c, true);
				return;
			}
			continue;
		}
		if (c->matched) {
			/* not the sequence after all: pass the held keys on */
			stdin_feed(s, c->p, out, n);
			n = 0;
			stdin_feed(s, c->p, (const char *)c->keys, c->matched);
			c->matched = 0;
			if (c->nkeys && b == c->keys[0]) {
				c->matched = 1;
				if (c->nkeys == 1) {
					c->matched = 0;
					client_stdin_end(s, c, true);
					return;
				}
				continue;
			}
		}
		out[n++] = (char)b;
		if (n == sizeof(out)) {
			stdin_feed(s, c->p, out, n);
			n = 0;
		}
	}
	stdin_feed(s, c->p, out, n);
}

static void reply(struct shim *s, struct client *c, bool ok, const char *error)
{
	cleanup_json json_t *r = ok ? json_pack("{s:b}", "ok", 1) : json_pack("{s:b, s:s}", "ok", 0, "error", error);
	cleanup_free char *text = json_dumps(r, JSON_COMPACT);
	client_queue(s, c, text, strlen(text));
	client_queue(s, c, "\n", 1);
}

/* First line from a client: {"stdin":bool,"stdout":bool,"stderr":bool,
 * "exec":"id","detach_keys":"ctrl-p,ctrl-q","mux":bool} */
static int client_header(struct shim *s, struct client *c, const char *line)
{
	json_error_t je;
	cleanup_json json_t *h = json_loads(line, 0, &je);
	if (!json_is_object(h)) {
		reply(s, c, false, "invalid attach header");
		return -1;
	}
	struct proc *p = shim_find_proc(s, jstr(h, "exec"));
	if (!p) {
		reply(s, c, false, "No such exec instance");
		return -1;
	}
	c->p = p;
	c->want_in = jbool(h, "stdin", false);
	c->want_out = jbool(h, "stdout", false);
	c->want_err = jbool(h, "stderr", false);
	c->mux = jbool(h, "mux", false);
	const char *keys = jstr_ne(h, "detach_keys");
	if (io_parse_detach_keys(keys ? keys : "ctrl-p,ctrl-q", c->keys, &c->nkeys) < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "Invalid detach keys (%s) provided", keys);
		reply(s, c, false, msg);
		return -1;
	}
	c->header_done = true;
	reply(s, c, true, NULL);
	if (p->finalized)
		client_end(s, c); /* nothing more will come */
	return 0;
}

void io_attach_event(struct shim *s, struct client *c, uint32_t ev)
{
	if (c->dead)
		return;
	if (ev & EPOLLOUT)
		client_flush(s, c);
	if (c->dead)
		return;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char buf[16384];
		for (int round = 0; round < 4 && !c->dead && !c->in_done; round++) {
			ssize_t n = recv(c->w.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				if (!c->header_done) {
					client_kill(s, c);
					return;
				}
				client_stdin_end(s, c, false);
				break;
			}
			size_t off = 0;
			if (!c->header_done) {
				char *nl = memchr(buf, '\n', (size_t)n);
				size_t take = nl ? (size_t)(nl - buf) : (size_t)n;
				berth_buf_append(&c->hdr, buf, take);
				if (c->hdr.len > MAX_HEADER) {
					client_kill(s, c);
					return;
				}
				if (!nl)
					continue;
				off = take + 1;
				if (client_header(s, c, berth_buf_str(&c->hdr)) < 0) {
					client_end(s, c);
					return;
				}
				berth_buf_free(&c->hdr);
			}
			if ((size_t)n > off && !c->in_done)
				client_stdin(s, c, buf + off, (size_t)n - off);
		}
	}
	if (!c->dead && (ev & (EPOLLHUP | EPOLLERR)))
		client_kill(s, c); /* the peer is gone in both directions */
	if (!c->dead)
		client_update(s, c);
}

void io_check_backpressure(struct shim *s)
{
	size_t max = 0;
	for (struct client *c = s->clients; c; c = c->next)
		if (!c->dead && c->out.len - c->out_off > max)
			max = c->out.len - c->out_off;
	bool pause = s->paused_output ? max > LOW_WATER : max > HIGH_WATER;
	if (pause != s->paused_output) {
		s->paused_output = pause;
		for (struct proc *p = &s->init; p; p = p == &s->init ? s->execs : p->next)
			for (int i = 0; i < 2; i++)
				if (p->out[i].fd >= 0)
					shim_watch_mod(s, &p->out[i], pause ? 0 : EPOLLIN);
	}
	for (struct client *c = s->clients; c; c = c->next)
		client_update(s, c);
}

void io_reap_dead(struct shim *s)
{
	struct client **pp = &s->clients;
	while (*pp) {
		struct client *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		close(c->w.fd);
		berth_buf_free(&c->out);
		berth_buf_free(&c->hdr);
		free(c);
	}
}
