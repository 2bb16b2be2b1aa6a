#include "tls_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void berth_tls_errstr(SSL *ssl, int ret, char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e) {
		ERR_error_string_n(e, buf, len);
		ERR_clear_error();
		return;
	}
	int se = ssl ? SSL_get_error(ssl, ret) : SSL_ERROR_SYSCALL;
	if (se == SSL_ERROR_SYSCALL)
		snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed by peer");
	else if (se == SSL_ERROR_ZERO_RETURN)
		snprintf(buf, len, "connection closed by peer");
	else
		snprintf(buf, len, "TLS error %d", se);
}

int berth_tls_handshake(SSL *ssl, bool server, int timeout_ms, struct berth_error *err)
{
	int fd = SSL_get_fd(ssl);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "tls handshake");
	int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
	int rc = -1;
	ERR_clear_error();
	for (;;) {
		errno = 0;
		int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (r == 1) {
			rc = 0;
			break;
		}
		int se = SSL_get_error(ssl, r);
		short ev = se == SSL_ERROR_WANT_READ ? POLLIN : se == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (!ev) {
			char why[256];
			berth_tls_errstr(ssl, r, why, sizeof(why));
			berth_err(err, BERTH_E_UNAVAILABLE, "tls: handshake failed: %s", why);
			break;
		}
		int left = -1;
		if (deadline) {
			int64_t l = deadline - mono_ms();
			if (l <= 0) {
				berth_err(err, BERTH_E_UNAVAILABLE, "tls: handshake timed out");
				break;
			}
			left = (int)l;
		}
		struct pollfd p = {.fd = fd, .events = ev};
		if (poll(&p, 1, left) < 0 && errno != EINTR) {
			berth_err_sys(err, BERTH_E_UNAVAILABLE, errno, "tls: handshake");
			break;
		}
	}
	fcntl(fd, F_SETFL, fl);
	return rc;
}

struct pump {
	SSL *ssl;
	int net, loc;
	char obuf[16384]; /* bytes read from loc, not yet taken by SSL_write */
	size_t olen;
	berth_tls_error_cb on_error;
	void *ctx;
};

static void report(struct pump *p, int ret)
{
	char why[256];
	berth_tls_errstr(p->ssl, ret, why, sizeof(why));
	if (p->on_error)
		p->on_error(p->ctx, why);
}

static int loc_write(int fd, const char *d, size_t n)
{
	while (n) {
		ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	bool net_eof = false, loc_eof = false, sent_close = false;
	char buf[16384];
	for (;;) {
		/* TLS -> local, as long as records are there */
		while (!net_eof) {
			ERR_clear_error();
			int n = SSL_read(p->ssl, buf, sizeof(buf));
			if (n > 0) {
				if (loc_write(p->loc, buf, (size_t)n) < 0)
					goto done; /* the local side is gone */
				continue;
			}
			int se = SSL_get_error(p->ssl, n);
			if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
				break;
			if (se != SSL_ERROR_ZERO_RETURN && !(se == SSL_ERROR_SYSCALL && n == 0)) {
				report(p, n);
				goto done; /* broken session */
			}
			net_eof = true;
			shutdown(p->loc, SHUT_WR);
		}
		/* local -> TLS */
		if (p->olen) {
			ERR_clear_error();
			int n = SSL_write(p->ssl, p->obuf, (int)p->olen);
			if (n > 0) {
				p->olen = 0;
			} else {
				int se = SSL_get_error(p->ssl, n);
				if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE)
					goto done;
			}
		}
		if (loc_eof && !p->olen && !sent_close) {
			SSL_shutdown(p->ssl); /* close_notify: the peer reads EOF */
			sent_close = true;
			shutdown(p->net, SHUT_WR);
		}
		if (net_eof && loc_eof && !p->olen)
			break;
		struct pollfd pf[2];
		pf[0] = (struct pollfd){.fd = p->net,
					.events = (short)((net_eof ? 0 : POLLIN) | (p->olen ? POLLOUT : 0))};
		pf[1] = (struct pollfd){.fd = (loc_eof || p->olen) ? -1 : p->loc, .events = POLLIN};
		if (!pf[0].events)
			pf[0].fd = -1;
		if (pf[0].fd < 0 && pf[1].fd < 0)
			break;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents) {
			ssize_t n = read(p->loc, p->obuf, sizeof(p->obuf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				loc_eof = true;
			else
				p->olen = (size_t)n;
		}
		if (net_eof && (pf[0].revents & (POLLERR | POLLHUP)) && p->olen)
			goto done;
	}
done:
	if (!sent_close)
		SSL_shutdown(p->ssl);
	SSL_free(p->ssl);
	close(p->net);
	close(p->loc);
	berth_tls_error_cb cb = p->on_error;
	void *cctx = p->ctx;
	free(p);
	OPENSSL_thread_stop(); /* this thread's OpenSSL state, before anyone waits on us */
	if (cb)
		cb(cctx, NULL); /* ended */
	return NULL;
}

int berth_tls_pump_start(SSL *ssl, int netfd, berth_tls_error_cb on_error, void *ctx, struct berth_error *err)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socketpair");
	struct pump *p = calloc(1, sizeof(*p));
	int fl = fcntl(netfd, F_GETFL);
	if (!p || fl < 0 || fcntl(netfd, F_SETFL, fl | O_NONBLOCK) < 0) {
		free(p);
		close(sp[0]);
		close(sp[1]);
		return berth_err(err, BERTH_E_INTERNAL, "tls: cannot start the stream pump");
	}
	SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	p->ssl = ssl;
	p->on_error = on_error;
	p->ctx = ctx;
	p->net = netfd;
	p->loc = sp[1];
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	int rc = pthread_create(&t, &attr, pump_main, p);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		fcntl(netfd, F_SETFL, fl);
		free(p);
		close(sp[0]);
		close(sp[1]);
		return berth_err(err, BERTH_E_INTERNAL, "tls: cannot start the stream pump");
	}
	return sp[0];
}
