/* Socket connections of the network log drivers. */
#include "logger_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "common/tls_client.h"

#define IO_TIMEOUT_MS 5000

int berth_log_addr_parse(const char *s, const char *driver, enum berth_log_proto proto_default,
			 const char *default_port, struct berth_log_addr *a, struct berth_error *err)
{
	memset(a, 0, sizeof(*a));
	const char *rest = s;
	const char *sep = strstr(s, "://");
	a->proto = proto_default;
	if (sep) {
		size_t n = (size_t)(sep - s);
		if (n == 3 && !strncmp(s, "udp", 3))
			a->proto = LP_UDP;
		else if (n == 3 && !strncmp(s, "tcp", 3))
			a->proto = LP_TCP;
		else if (n == 7 && !strncmp(s, "tcp+tls", 7))
			a->proto = LP_TLS;
		else if (n == 4 && !strncmp(s, "unix", 4))
			a->proto = LP_UNIX;
		else if (n == 8 && !strncmp(s, "unixgram", 8))
			a->proto = LP_UNIXGRAM;
		else
			return berth_err(err, BERTH_E_INVALID, "%s: unsupported scheme: '%.*s'", driver, (int)n, s);
		rest = sep + 3;
	}
	if (a->proto == LP_UNIX || a->proto == LP_UNIXGRAM) {
		if (!*rest || strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return berth_err(err, BERTH_E_INVALID, "%s: invalid socket path '%s'", driver, rest);
		snprintf(a->host, sizeof(a->host), "%s", rest);
		return 0;
	}
	const char *end = rest + strcspn(rest, "/?#");
	const char *colon = NULL;
	const char *h = rest, *he;
	if (*rest == '[') {
		const char *rb = memchr(rest, ']', (size_t)(end - rest));
		if (!rb)
			return berth_err(err, BERTH_E_INVALID, "%s: invalid address '%s'", driver, s);
		h = rest + 1;
		he = rb;
		if (rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memchr(rest, ':', (size_t)(end - rest));
		he = colon ? colon : end;
	}
	if ((size_t)(he - h) >= sizeof(a->host))
		return berth_err(err, BERTH_E_INVALID, "%s: invalid address '%s'", driver, s);
	snprintf(a->host, sizeof(a->host), "%.*s", (int)(he - h), h);
	if (colon) {
		size_t pl = (size_t)(end - colon - 1);
		if (!pl || pl >= sizeof(a->port))
			return berth_err(err, BERTH_E_INVALID, "%s: invalid port in '%s'", driver, s);
		snprintf(a->port, sizeof(a->port), "%.*s", (int)pl, colon + 1);
		for (const char *p = a->port; *p; p++)
			if (*p < '0' || *p > '9')
				return berth_err(err, BERTH_E_INVALID, "%s: invalid port in '%s'", driver, s);
	} else {
		snprintf(a->port, sizeof(a->port), "%s", default_port);
	}
	if (!a->host[0])
		snprintf(a->host, sizeof(a->host), "localhost");
	return 0;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = {.fd = fd, .events = ev};
	for (;;) {
		int r = poll(&p, 1, IO_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return r < 0 ? -1 : 0;
	}
}

/* tcp+tls: a session on the connected fd (docker: tlsconfig.Client with the
 * syslog-tls-* options, the address's host as the server name). */
static int tls_start(struct berth_log_conn *c, struct berth_error *err)
{
	static const struct berth_log_tls none = {0};
	const struct berth_log_tls *t = c->tls ? c->tls : &none;
	if (!c->ctx)
		c->ctx = berth_tls_client_ctx(t->ca, t->cert, t->key, !t->skip_verify, err);
	if (c->ctx)
		c->ssl = berth_tls_client_session(c->ctx, c->fd, c->addr.host, !t->skip_verify, IO_TIMEOUT_MS, err);
	if (!c->ssl) {
		berth_err_prefix(err, "syslog tls %s:%s", c->addr.host, c->addr.port);
		berth_log_conn_close(c);
		return -1;
	}
	return 0;
}

int berth_log_conn_open(struct berth_log_conn *c, struct berth_error *err)
{
	berth_log_conn_close(c);
	struct berth_log_addr *a = &c->addr;
	if (a->proto == LP_UNIX || a->proto == LP_UNIXGRAM) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		size_t hl = strnlen(a->host, sizeof(sun.sun_path) - 1);
		memcpy(sun.sun_path, a->host, hl);
		int fd = socket(AF_UNIX, (a->proto == LP_UNIX ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int e = errno;
			close(fd);
			return berth_err_sys(err, BERTH_E_INTERNAL, e, "dial %s", a->host);
		}
		struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c->fd = fd;
		return 0;
	}
	struct addrinfo hints = {.ai_socktype = a->proto == LP_UDP ? SOCK_DGRAM : SOCK_STREAM};
	struct addrinfo *res = NULL;
	int gr = getaddrinfo(a->host, a->port, &hints, &res);
	if (gr)
		return berth_err(err, BERTH_E_INTERNAL, "dial %s:%s: %s", a->host, a->port, gai_strerror(gr));
	int last = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			int so = 0;
			socklen_t sl = sizeof(so);
			if (wait_fd(fd, POLLOUT) < 0)
				r = -1;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0 || so) {
				errno = so ? so : errno;
				r = -1;
			} else {
				r = 0;
			}
		}
		if (r < 0) {
			last = errno;
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c->fd = fd;
		freeaddrinfo(res);
		return a->proto == LP_TLS ? tls_start(c, err) : 0;
	}
	freeaddrinfo(res);
	return berth_err_sys(err, BERTH_E_INTERNAL, last ? last : ECONNREFUSED, "dial %s:%s", a->host, a->port);
}

static int send_all(int fd, const char *p, size_t len, bool dgram)
{
	if (dgram) {
		ssize_t n;
		do
			n = send(fd, p, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		return n < 0 ? -1 : 0;
	}
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

static int tls_send_all(struct ssl_st *ssl, const char *p, size_t len)
{
	while (len) {
		size_t n = 0;
		errno = 0;
		if (SSL_write_ex(ssl, p, len, &n) != 1) {
			if (!errno)
				errno = EPIPE;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int berth_log_conn_send(struct berth_log_conn *c, const void *data, size_t len, struct berth_error *err)
{
	bool dgram = c->addr.proto == LP_UDP || c->addr.proto == LP_UNIXGRAM;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && berth_log_conn_open(c, err) < 0)
			return -1;
		if (!dgram && attempt == 0) {
			/* a stream the peer closed: find out before writing into it */
			char b;
			ssize_t r = recv(c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
				berth_log_conn_close(c);
				continue;
			}
		}
		if ((c->ssl ? tls_send_all(c->ssl, data, len) : send_all(c->fd, data, len, dgram)) == 0)
			return 0;
		int e = errno;
		berth_log_conn_close(c);
		if (dgram || attempt == 1)
			return berth_err_sys(err, BERTH_E_INTERNAL, e, "write to %s", c->addr.host);
	}
	return berth_err(err, BERTH_E_INTERNAL, "write to %s: connection closed", c->addr.host);
}

void berth_log_conn_close(struct berth_log_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void berth_log_conn_free(struct berth_log_conn *c)
{
	/* the last close of a stream: say goodbye (TLS close_notify) and read
	 * away what the peer sent unasked (a TLS 1.3 server's session tickets):
	 * closing a socket with unread input makes the kernel send RST, and a
	 * peer that gets RST may lose our last lines still in its buffer */
	if (c->ssl)
		SSL_shutdown(c->ssl);
	if (c->fd >= 0 && c->addr.proto != LP_UDP && c->addr.proto != LP_UNIXGRAM) {
		char junk[4096];
		while (recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
	}
	berth_log_conn_close(c);
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
}
