#include "hijack.h"

#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "stdcopy.h"

/* ---- deferred requests ---- */

struct ctr_pending {
	int fd;
	http_parser p;
	http_parser_settings st;
	struct berth_buf body;
	int status;
	bool headers_done, done;
	char *host;
};

static int pend_headers(http_parser *p)
{
	struct ctr_pending *pr = p->data;
	pr->status = p->status_code;
	pr->headers_done = true;
	return 0;
}

static int pend_body(http_parser *p, const char *at, size_t len)
{
	struct ctr_pending *pr = p->data;
	return berth_buf_append(&pr->body, at, len) < 0 ? -1 : 0;
}

static int pend_done(http_parser *p)
{
	struct ctr_pending *pr = p->data;
	pr->done = true;
	return 0;
}

/* Read and parse one chunk; returns 0, or -1 on EOF/error. */
static int pend_read(struct ctr_pending *pr)
{
	char buf[8192];
	ssize_t n;
	do
		n = read(pr->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	size_t used = http_parser_execute(&pr->p, &pr->st, buf, (size_t)n);
	if (n == 0)
		return -1;
	if (used != (size_t)n)
		return -1;
	return 0;
}

void ctr_request_free(struct ctr_pending *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	berth_buf_free(&p->body);
	free(p->host);
	free(p);
}

static int pend_error(struct ctr_pending *pr, struct berth_error *err)
{
	struct berth_response resp = {.status = pr->status, .body = pr->body};
	berth_client_error(&resp, err);
	return -1;
}

struct ctr_pending *ctr_request_begin(struct berth_client *cl, const char *method, const char *path, json_t *body,
				      struct berth_error *err)
{
	int fd = berth_client_dial(cl, err);
	if (fd < 0)
		return NULL;
	struct ctr_pending *pr = calloc(1, sizeof(*pr));
	pr->fd = fd;
	pr->host = strdup(cl->host);
	http_parser_init(&pr->p, HTTP_RESPONSE);
	pr->p.data = pr;
	pr->st.on_headers_complete = pend_headers;
	pr->st.on_body = pend_body;
	pr->st.on_message_complete = pend_done;
	cleanup_free char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct berth_buf h = {0};
	berth_buf_printf(&h, "%s %s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: Berth-Client/" BERTH_VERSION "\r\n",
			 method, cl->api, path);
	if (js)
		berth_buf_printf(&h, "Content-Type: application/json\r\n");
	berth_buf_printf(&h, "Content-Length: %zu\r\n\r\n", js ? strlen(js) : 0);
	if (js)
		berth_buf_append(&h, js, strlen(js));
	int rc = berth_write_all(fd, h.data, h.len);
	berth_buf_free(&h);
	if (rc < 0) {
		berth_err(err, BERTH_E_UNAVAILABLE, "error during connect: %s", strerror(errno));
		ctr_request_free(pr);
		return NULL;
	}
	while (!pr->headers_done) {
		if (pend_read(pr) < 0) {
			berth_err(err, BERTH_E_UNAVAILABLE, "error during connect: unexpected EOF from %s", cl->host);
			ctr_request_free(pr);
			return NULL;
		}
	}
	if (pr->status >= 300) {
		while (!pr->done && pend_read(pr) == 0)
			;
		pend_error(pr, err);
		ctr_request_free(pr);
		return NULL;
	}
	return pr;
}

int ctr_request_finish(struct ctr_pending *pr, struct ctr_signals *sig, json_t **out, struct berth_error *err)
{
	*out = NULL;
	while (!pr->done) {
		struct pollfd pfd[2] = {{.fd = pr->fd, .events = POLLIN}, {.fd = sig ? sig->fd : -1, .events = POLLIN}};
		int n = poll(pfd, sig && sig->fd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "poll");
		if (sig && sig->fd >= 0 && (pfd[1].revents & POLLIN))
			ctr_signals_dispatch(sig);
		if (pfd[0].revents && pend_read(pr) < 0 && !pr->done)
			return berth_err(err, BERTH_E_UNAVAILABLE, "unexpected EOF from %s", pr->host);
	}
	json_error_t je;
	*out = json_loadb(pr->body.data ? pr->body.data : "", pr->body.len, 0, &je);
	if (!*out)
		return berth_err(err, BERTH_E_INTERNAL, "invalid JSON from daemon: %s", je.text);
	return 0;
}

/* ---- signals ---- */

static const struct {
	int sig;
	const char *name;
} signal_names[] = {
	{SIGABRT, "ABRT"}, {SIGALRM, "ALRM"}, {SIGBUS, "BUS"},       {SIGCONT, "CONT"},     {SIGFPE, "FPE"},
	{SIGHUP, "HUP"},   {SIGILL, "ILL"},   {SIGINT, "INT"},       {SIGIO, "IO"},         {SIGPROF, "PROF"},
	{SIGPWR, "PWR"},   {SIGQUIT, "QUIT"}, {SIGSEGV, "SEGV"},     {SIGSTKFLT, "STKFLT"}, {SIGSYS, "SYS"},
	{SIGTERM, "TERM"}, {SIGTRAP, "TRAP"}, {SIGTSTP, "TSTP"},     {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"},
	{SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGVTALRM, "VTALRM"}, {SIGXCPU, "XCPU"},     {SIGXFSZ, "XFSZ"},
};

/* Signals docker's CLI forwards (all but CHLD, PIPE and the Go runtime's URG;
 * WINCH resizes instead). */
static bool forwardable(int s)
{
	return s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGPIPE && s != SIGWINCH && s != SIGURG &&
	       (s < 32 || s >= SIGRTMIN);
}

static bool terminating(int s) { return s == SIGINT || s == SIGTERM || s == SIGHUP || s == SIGQUIT; }

int ctr_signals_start(struct ctr_signals *s, struct berth_client *cl, const char *id, bool proxy, bool is_exec)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->cl = cl;
	s->id = strdup(id);
	s->proxy = proxy;
	s->is_exec = is_exec;
	sigemptyset(&s->set);
	for (int i = 1; i <= SIGRTMAX; i++)
		if ((proxy && forwardable(i)) || terminating(i))
			sigaddset(&s->set, i);
	sigprocmask(SIG_BLOCK, &s->set, &s->old);
	s->fd = signalfd(-1, &s->set, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->fd < 0 ? -1 : 0;
}

int ctr_resize(struct berth_client *cl, const char *id, bool is_exec, unsigned h, unsigned w)
{
	if (h == 0 && w == 0)
		return 0;
	cleanup_free char *path =
		berth_strdup_printf("/%s/%s/resize?h=%u&w=%u", is_exec ? "exec" : "containers", id, h, w);
	struct berth_error err = {0};
	return berth_client_json(cl, "POST", path, NULL, NULL, &err);
}

static int resize_now(struct ctr_signals *s)
{
	unsigned h, w;
	berth_tty_size(1, &h, &w);
	return ctr_resize(s->cl, s->id, s->is_exec, h, w);
}

void ctr_signals_monitor_tty(struct ctr_signals *s, bool first_bump)
{
	if (first_bump) {
		unsigned h, w;
		berth_tty_size(1, &h, &w);
		ctr_resize(s->cl, s->id, s->is_exec, h + 1, w + 1);
	}
	/* initTtySize: retry a few times, the process may not be ready yet */
	if (resize_now(s) < 0) {
		int i;
		for (i = 0; i < 5; i++) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			if (resize_now(s) == 0)
				break;
		}
		if (i == 5)
			fprintf(stderr, "failed to resize tty, using default size\n");
	}
	s->resize = true;
	sigset_t w;
	sigemptyset(&w);
	sigaddset(&w, SIGWINCH);
	sigaddset(&s->set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &w, NULL);
	if (s->fd >= 0)
		signalfd(s->fd, &s->set, SFD_CLOEXEC | SFD_NONBLOCK);
	else
		s->fd = signalfd(-1, &s->set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void forward(struct ctr_signals *s, int signo)
{
	const char *name = NULL;
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (signal_names[i].sig == signo)
			name = signal_names[i].name;
	char num[16];
	if (!name) {
		snprintf(num, sizeof(num), "%d", signo);
		name = num;
	}
	cleanup_free char *path = berth_strdup_printf("/containers/%s/kill?signal=%s", s->id, name);
	struct berth_error err = {0};
	berth_client_json(s->cl, "POST", path, NULL, NULL, &err);
}

void ctr_signals_dispatch(struct ctr_signals *s)
{
	struct signalfd_siginfo si;
	while (s->fd >= 0 && read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;
		if (signo == SIGWINCH) {
			if (s->resize)
				resize_now(s);
			continue;
		}
		if (s->proxy && forwardable(signo)) {
			forward(s, signo);
			continue;
		}
		if (terminating(signo)) {
			/* not ours to forward: die of it, with the terminal restored */
			berth_tty_restore();
			ctr_signals_stop(s);
			signal(signo, SIG_DFL);
			raise(signo);
			_exit(128 + signo);
		}
	}
}

void ctr_signals_stop(struct ctr_signals *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		/* drop what is still pending before unblocking */
		struct timespec zero = {0, 0};
		while (sigtimedwait(&s->set, NULL, &zero) > 0)
			;
		sigprocmask(SIG_SETMASK, &s->old, NULL);
	}
	free(s->id);
	s->id = NULL;
}

/* ---- hijacked stream ---- */

void ctr_stream_set_keys(struct ctr_stream *st, const char *spec)
{
	struct berth_error err = {0};
	int n = spec && *spec ? berth_detach_keys_parse(spec, st->keys, &err) : -1;
	if (n < 0) {
		if (spec && *spec)
			fprintf(stderr, "WARNING: invalid detach escape keys, using default: %s\n", err.msg);
		memcpy(st->keys, berth_default_detach_keys, sizeof(berth_default_detach_keys));
		n = (int)sizeof(berth_default_detach_keys);
	}
	st->nkeys = (size_t)n;
}

struct out_ctx {
	bool out, err;
};

static int write_stream(void *ctx, int stream, const char *data, size_t len)
{
	struct out_ctx *o = ctx;
	if (stream == BERTH_STD_ERR ? !o->err : !o->out)
		return 0;
	return berth_write_all(stream == BERTH_STD_ERR ? 2 : 1, data, len);
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctr_stream_run(struct ctr_stream *st, struct berth_error *err)
{
	bool raw = false;
	fflush(stdout);
	if (st->in && st->tty && isatty(0)) {
		if (berth_tty_make_raw(0, err) < 0)
			return berth_err_prefix(err, "unable to setup input stream");
		raw = true;
	}
	struct berth_escape esc;
	berth_escape_init(&esc, st->keys, st->detach_check ? st->nkeys : 0);
	struct out_ctx oc = {st->out, st->err};
	struct berth_stdcopy sc;
	berth_stdcopy_init(&sc, write_stream, &oc);
	bool in_open = st->in;
	bool want_out = st->out || st->err;
	int rc = CTR_STREAM_DONE;
	char *buf = malloc(65536);
	struct berth_buf fwd = {0};
	for (;;) {
		struct pollfd pfd[3];
		int n = 0, ifd = -1, sfd = -1;
		pfd[n++] = (struct pollfd){.fd = st->fd, .events = POLLIN};
		if (in_open) {
			ifd = n;
			pfd[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
		}
		if (st->sig && st->sig->fd >= 0) {
			sfd = n;
			pfd[n++] = (struct pollfd){.fd = st->sig->fd, .events = POLLIN};
		}
		int pr = poll(pfd, (nfds_t)n, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "poll");
			break;
		}
		if (sfd >= 0 && (pfd[sfd].revents & POLLIN))
			ctr_signals_dispatch(st->sig);
		if (pfd[0].revents) {
			ssize_t r = read(st->fd, buf, 65536);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0)
				break; /* output ended */
			if (st->tty) {
				if (want_out && berth_write_all(1, buf, (size_t)r) < 0) {
					rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "write");
					break;
				}
			} else if (berth_stdcopy_feed(&sc, buf, (size_t)r, err) < 0) {
				rc = -1;
				break;
			}
		}
		if (ifd >= 0 && pfd[ifd].revents) {
			ssize_t r = read(0, buf, 65536);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				in_open = false;
				if (raw) {
					berth_tty_restore();
					raw = false;
				}
				shutdown(st->fd, SHUT_WR);
				if (!want_out)
					break;
				continue;
			}
			fwd.len = 0;
			int detached = berth_escape_filter(&esc, buf, (size_t)r, &fwd);
			if (fwd.len && send_all(st->fd, fwd.data, fwd.len) < 0)
				in_open = false;
			if (detached) {
				rc = CTR_STREAM_DETACHED;
				break;
			}
		}
	}
	if (raw)
		berth_tty_restore();
	berth_buf_free(&fwd);
	free(buf);
	berth_stdcopy_free(&sc);
	return rc;
}
