/* berth-proxy: the userland proxy of one published port (docker-proxy's
 * role and arguments). berthd starts one per mapping in its own session, so
 * it outlives a daemon restart; it carries traffic the DNAT rules cannot
 * (connections to 127.0.0.1 on the host, and hairpin connections when
 * route_localnet is off).
 *
 *   berth-proxy -proto tcp|udp|sctp -host-ip IP -host-port N
 *               -container-ip IP -container-port N
 *
 * IP is IPv4 or IPv6; an IPv6 host address is bound IPv6-only (an "::" proxy
 * runs beside the 0.0.0.0 one, as docker-proxy's "tcp6" listener).
 *
 * Readiness on fd 3 (when open): "0" once listening, "1<message>" on error.
 * Stops on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* the container's address (IPv4 or IPv6) */
static struct sockaddr_storage ctr_addr;
static socklen_t ctr_len;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(3, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1)) < 0) {
		/* nobody listening: the message goes to stderr only */
	}
	close(3);
	fprintf(stderr, "%s\n", buf);
}

struct pair {
	int a, b;
};

/* Copy both directions until both are closed. */
static void *relay(void *arg)
{
	struct pair *p = arg;
	int fds[2] = {p->a, p->b};
	bool open_in[2] = {true, true};
	char buf[32768];
	while (open_in[0] || open_in[1]) {
		struct pollfd pf[2] = {{.fd = open_in[0] ? fds[0] : -1, .events = POLLIN},
				       {.fd = open_in[1] ? fds[1] : -1, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (!open_in[i] || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				open_in[i] = false;
				shutdown(fds[1 - i], SHUT_WR);
				if (n < 0) /* reset: end both */
					open_in[0] = open_in[1] = false;
				continue;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(fds[1 - i], buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					open_in[0] = open_in[1] = false;
					break;
				}
				off += w;
			}
		}
	}
	close(p->a);
	close(p->b);
	free(p);
	return NULL;
}

static int run_stream(int lfd, int proto)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(100000);
				continue;
			}
			return 1;
		}
		int u = socket(ctr_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, proto);
		if (u < 0 || connect(u, (struct sockaddr *)&ctr_addr, ctr_len) < 0) {
			if (u >= 0)
				close(u);
			close(c);
			continue;
		}
		struct pair *p = malloc(sizeof(*p));
		pthread_t t;
		if (!p || (*p = (struct pair){c, u}, pthread_create(&t, &at, relay, p) != 0)) {
			free(p);
			close(c);
			close(u);
		}
	}
}

/* UDP: one connected upstream socket per client address. */
#define UDP_MAX 1024
struct udp_client {
	struct sockaddr_storage from;
	socklen_t fromlen;
	int fd;
	time_t last;
};

static int run_udp(int lfd)
{
	static struct udp_client cl[UDP_MAX];
	int ncl = 0;
	char buf[65536];
	for (;;) {
		struct pollfd pf[UDP_MAX + 1];
		pf[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < ncl; i++)
			pf[i + 1] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
		if (poll(pf, (nfds_t)ncl + 1, 30000) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		time_t now = time(NULL);
		if (pf[0].revents & POLLIN) {
			struct sockaddr_storage from;
			memset(&from, 0, sizeof(from));
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n >= 0) {
				int k = -1;
				for (int i = 0; i < ncl && k < 0; i++)
					if (cl[i].fromlen == fl && !memcmp(&cl[i].from, &from, fl))
						k = i;
				if (k < 0 && ncl < UDP_MAX) {
					int u = socket(ctr_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
					if (u >= 0 && connect(u, (struct sockaddr *)&ctr_addr, ctr_len) == 0) {
						cl[ncl] = (struct udp_client){from, fl, u, now};
						k = ncl++;
					} else if (u >= 0) {
						close(u);
					}
				}
				if (k >= 0) {
					cl[k].last = now;
					if (send(cl[k].fd, buf, (size_t)n, 0) < 0) {
						/* dropped, as UDP may be */
					}
				}
			}
		}
		for (int i = 0; i < ncl; i++) {
			if (!(pf[i + 1].revents & POLLIN))
				continue;
			ssize_t n = recv(cl[i].fd, buf, sizeof(buf), 0);
			if (n >= 0) {
				cl[i].last = now;
				sendto(lfd, buf, (size_t)n, 0, (struct sockaddr *)&cl[i].from, cl[i].fromlen);
			}
		}
		/* forget clients idle for 90 s (docker-proxy's UDP timeout) */
		for (int i = 0; i < ncl;) {
			if (now - cl[i].last > 90) {
				close(cl[i].fd);
				cl[i] = cl[--ncl];
			} else {
				i++;
			}
		}
	}
}

/* ip (IPv4 or IPv6 text) and port as a socket address. */
static int sockaddr_of(const char *ip, int port, struct sockaddr_storage *out, socklen_t *len)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *proto = "tcp", *hip = "0.0.0.0", *cip = NULL;
	int hport = 0, cport = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "-proto"))
			proto = v;
		else if (!strcmp(k, "-host-ip"))
			hip = v;
		else if (!strcmp(k, "-host-port"))
			hport = atoi(v);
		else if (!strcmp(k, "-container-ip"))
			cip = v;
		else if (!strcmp(k, "-container-port"))
			cport = atoi(v);
		else {
			report("1unknown argument %s", k);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	struct sockaddr_storage host;
	socklen_t host_len = 0;
	if (!cip || hport <= 0 || hport > 65535 || cport <= 0 || cport > 65535 ||
	    sockaddr_of(hip, hport, &host, &host_len) < 0 || sockaddr_of(cip, cport, &ctr_addr, &ctr_len) < 0) {
		report("1usage: berth-proxy -proto P -host-ip IP -host-port N -container-ip IP -container-port N");
		return 2;
	}
	bool v6 = host.ss_family == AF_INET6;
	bool udp = !strcmp(proto, "udp"), sctp = !strcmp(proto, "sctp");
	if (!udp && !sctp && strcmp(proto, "tcp")) {
		report("1unsupported protocol %s", proto);
		return 2;
	}
	int pnum = sctp ? IPPROTO_SCTP : 0;
	int lfd = socket(host.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, pnum);
	if (lfd < 0) {
		report("1%s socket: %s", proto, strerror(errno));
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "::" is IPv6 only: 0.0.0.0 has its own proxy (docker-proxy's "tcp6") */
	if (v6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&host, host_len) < 0 || (!udp && listen(lfd, SOMAXCONN) < 0)) {
		/* docker-proxy's wording (Go's net.Listen error) */
		report(v6 ? "1listen %s6 [%s]:%d: bind: %s" : "1listen %s4 %s:%d: bind: %s", udp ? "udp" : proto, hip,
		       hport, errno == EADDRINUSE ? "address already in use" : strerror(errno));
		return 1;
	}
	if (write(3, "0", 1) < 0) {
		/* started by hand: no readiness pipe */
	}
	close(3);
	return udp ? run_udp(lfd) : run_stream(lfd, pnum);
}
