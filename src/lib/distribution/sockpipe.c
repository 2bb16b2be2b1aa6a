/* Producer thread behind a socketpair (sockpipe.h). */
#include "distribution/sockpipe.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int berth_sockpipe_start(struct berth_sockpipe *sp, void *(*fn)(void *), void *arg, const int *rc,
			 struct berth_error *err)
{
	int sv[2];
	*sp = (struct berth_sockpipe){.rfd = -1, .wfd = -1, .rc = rc};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socketpair");
	sp->rfd = sv[0];
	sp->wfd = sv[1];
	int bufsz = 4 << 20; /* best effort: the kernel caps it */
	setsockopt(sp->wfd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sp->rfd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (pthread_create(&sp->th, NULL, fn, arg) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "cannot start a thread");
	sp->running = true;
	return 0;
}

int berth_sockpipe_send(struct berth_sockpipe *sp, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = send(sp->wfd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

void berth_sockpipe_done(struct berth_sockpipe *sp) { shutdown(sp->wfd, SHUT_WR); }

static void join(struct berth_sockpipe *sp)
{
	if (sp->running)
		pthread_join(sp->th, NULL);
	sp->running = false;
}

ssize_t berth_sockpipe_read(struct berth_sockpipe *sp, void *buf, size_t len, bool *ended)
{
	ssize_t n;
	do
		n = recv(sp->rfd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0 && sp->running) {
		join(sp);
		if (*sp->rc < 0) {
			errno = EIO;
			return -1;
		}
		if (ended)
			*ended = true;
	}
	return n;
}

void berth_sockpipe_close(struct berth_sockpipe *sp)
{
	if (sp->rfd >= 0)
		shutdown(sp->rfd, SHUT_RDWR);
	join(sp);
	if (sp->rfd >= 0)
		close(sp->rfd);
	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->rfd = sp->wfd = -1;
}
