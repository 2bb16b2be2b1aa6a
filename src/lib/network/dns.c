/* Embedded DNS server (see dns.h). */
#include "network/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

#define T_A 1
#define T_PTR 12
#define T_AAAA 28
#define C_IN 1
#define RC_FORMERR 1
#define RC_SERVFAIL 2
#define RC_NOTIMP 4
#define DNS_MAX_MSG 4096
#define FORWARD_TIMEOUT_MS 2000
#define TCP_TIMEOUT_S 2

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Read the (uncompressed) question name at *off into out (lower case, dots,
 * no trailing dot). Returns 0, or -1 for a bad name. */
static int read_qname(const uint8_t *m, size_t len, size_t *off, char *out, size_t cap)
{
	size_t o = *off, w = 0;
	for (;;) {
		if (o >= len)
			return -1;
		uint8_t l = m[o++];
		if (l == 0)
			break;
		if (l & 0xC0) /* no compression in a question */
			return -1;
		if (o + l > len || w + l + 2 > cap || w + l + 1 > 254)
			return -1;
		if (w)
			out[w++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			char ch = (char)m[o + i];
			if (ch == '\0' || ch == '.')
				return -1;
			out[w++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
		}
		o += l;
	}
	out[w] = '\0';
	*off = o;
	return 0;
}

/* Encode a dotted name; returns bytes written or -1. */
static int write_name(const char *name, uint8_t *out, size_t cap)
{
	size_t w = 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || w + l + 1 >= cap)
			return -1;
		out[w++] = (uint8_t)l;
		memcpy(out + w, p, l);
		w += l;
		p += l;
		if (*p == '.')
			p++;
	}
	if (w + 1 > cap || w + 1 > 255)
		return -1;
	out[w++] = 0;
	return (int)w;
}

/* "d.c.b.a.in-addr.arpa" or 32 nibbles + "ip6.arpa" -> address. */
static int parse_ptr_name(const char *name, int *family, uint8_t addr[16])
{
	if (berth_str_has_suffix(name, ".in-addr.arpa")) {
		unsigned a, b, c, d;
		char rest[32];
		int n = 0;
		if (sscanf(name, "%3u.%3u.%3u.%3u.%31s%n", &d, &c, &b, &a, rest, &n) != 5 ||
		    strcmp(rest, "in-addr.arpa") != 0 || a > 255 || b > 255 || c > 255 || d > 255)
			return -1;
		addr[0] = (uint8_t)a;
		addr[1] = (uint8_t)b;
		addr[2] = (uint8_t)c;
		addr[3] = (uint8_t)d;
		*family = AF_INET;
		return 0;
	}
	if (berth_str_has_suffix(name, ".ip6.arpa") && strlen(name) == 64 + strlen("ip6.arpa")) {
		memset(addr, 0, 16);
		for (int i = 0; i < 32; i++) {
			char ch = name[i * 2];
			if (name[i * 2 + 1] != '.')
				return -1;
			int v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
			if (v < 0)
				return -1;
			int nib = 31 - i; /* first label is the lowest nibble */
			addr[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		}
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Header + question of q copied, flags of a reply. */
static ssize_t reply_head(const uint8_t *q, size_t qend, uint8_t *out, size_t cap, int rcode, bool aa, int qd)
{
	if (qend > cap)
		return -1;
	memcpy(out, q, qend);
	uint16_t qf = get16(q + 2);
	uint16_t f = (uint16_t)(0x8000 | (qf & 0x7800) | (qf & 0x0100) | 0x0080 | (rcode & 0xF));
	if (aa)
		f |= 0x0400;
	put16(out + 2, f);
	put16(out + 4, (uint16_t)qd);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	return (ssize_t)qend;
}

static int add_rr(uint8_t *out, size_t cap, size_t *w, uint16_t type, const void *rdata, size_t rdlen)
{
	if (*w + 12 + rdlen > cap)
		return -1;
	uint8_t *p = out + *w;
	put16(p, 0xC00C); /* the question's name */
	put16(p + 2, type);
	put16(p + 4, C_IN);
	p[6] = 0;
	p[7] = 0;
	put16(p + 8, BERTH_DNS_TTL);
	put16(p + 10, (uint16_t)rdlen);
	memcpy(p + 12, rdata, rdlen);
	*w += 12 + rdlen;
	put16(out + 6, (uint16_t)(get16(out + 6) + 1));
	return 0;
}

ssize_t berth_dns_servfail(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	if (qlen < 12 || (q[2] & 0x80))
		return -1;
	size_t off = 12;
	char name[256];
	if (get16(q + 4) != 1 || read_qname(q, qlen, &off, name, sizeof(name)) < 0 || off + 4 > qlen)
		return reply_head(q, 12, out, cap, RC_SERVFAIL, false, 0);
	return reply_head(q, off + 4, out, cap, RC_SERVFAIL, false, 1);
}

ssize_t berth_dns_handle(const struct berth_dns_ops *ops, const char *key, const uint8_t *q, size_t qlen, uint8_t *out,
			 size_t cap)
{
	if (qlen < 12 || qlen > DNS_MAX_MSG || (q[2] & 0x80))
		return -1; /* too short, or a response: drop */
	int opcode = (q[2] >> 3) & 0xF;
	if (opcode != 0)
		return reply_head(q, 12, out, cap, RC_NOTIMP, false, 0);
	if (get16(q + 4) != 1)
		return reply_head(q, 12, out, cap, RC_FORMERR, false, 0);
	size_t off = 12;
	char name[256];
	if (read_qname(q, qlen, &off, name, sizeof(name)) < 0 || off + 4 > qlen)
		return reply_head(q, 12, out, cap, RC_FORMERR, false, 0);
	uint16_t qtype = get16(q + off), qclass = get16(q + off + 2);
	size_t qend = off + 4;
	if (qclass != C_IN || !ops)
		return 0;
	if (qtype == T_PTR) {
		int fam;
		uint8_t addr[16];
		char host[256];
		if (!ops->ptr || parse_ptr_name(name, &fam, addr) < 0 ||
		    ops->ptr(ops->ctx, key, fam, addr, host, sizeof(host)) != 1)
			return 0;
		uint8_t rd[256];
		int rl = write_name(host, rd, sizeof(rd));
		if (rl < 0)
			return 0;
		ssize_t w = reply_head(q, qend, out, cap, 0, true, 1);
		size_t ww = (size_t)w;
		if (w < 0 || add_rr(out, cap, &ww, T_PTR, rd, (size_t)rl) < 0)
			return -1;
		return (ssize_t)ww;
	}
	if (!ops->lookup)
		return 0;
	struct berth_dns_addrs a;
	memset(&a, 0, sizeof(a));
	if (!name[0] || ops->lookup(ops->ctx, key, name, &a) != 1)
		return 0;
	ssize_t w = reply_head(q, qend, out, cap, 0, true, 1);
	if (w < 0)
		return -1;
	size_t ww = (size_t)w;
	if (qtype == T_A)
		for (int i = 0; i < a.n4 && i < BERTH_DNS_MAX_ADDRS; i++)
			if (add_rr(out, cap, &ww, T_A, &a.v4[i], 4) < 0)
				return -1;
	if (qtype == T_AAAA)
		for (int i = 0; i < a.n6 && i < BERTH_DNS_MAX_ADDRS; i++)
			if (add_rr(out, cap, &ww, T_AAAA, &a.v6[i], 16) < 0)
				return -1;
	return (ssize_t)ww; /* a known name: other types get an empty answer */
}

void berth_dns_upstreams_parse(const char *text, struct berth_dns_upstreams *u)
{
	memset(u, 0, sizeof(*u));
	const char *p = text;
	while (p && *p && u->n < BERTH_DNS_MAX_UPSTREAMS) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		char line[256];
		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			char word[32], addr[128];
			if (sscanf(line, " %31s %127s", word, addr) == 2 && !strcmp(word, "nameserver")) {
				char *pct = strchr(addr, '%'); /* zone index: not supported */
				struct sockaddr_in *s4 = (struct sockaddr_in *)&u->addr[u->n];
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&u->addr[u->n];
				if (!pct && inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
					s4->sin_family = AF_INET;
					s4->sin_port = htons(53);
					u->len[u->n++] = sizeof(*s4);
				} else if (!pct && inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
					s6->sin6_family = AF_INET6;
					s6->sin6_port = htons(53);
					u->len[u->n++] = sizeof(*s6);
				}
			}
		}
		p = eol ? eol + 1 : NULL;
	}
}

/* ---- the server ---- */

struct berth_dns_server {
	const struct berth_dns_ops *ops;
	char *key;
	char *netns_path;
	char addr[64];
	int port;
	struct berth_dns_upstreams up;
	int udp, tcp, wake[2];
	pthread_t thread;
	/* start handshake */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int state; /* 0 starting, 1 running, -1 failed */
	struct berth_error err;
};

/* Forward q to the upstreams in turn; reply length or -1. */
static ssize_t forward(struct berth_dns_server *s, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	for (int i = 0; i < s->up.n; i++) {
		int fd = socket(s->up.addr[i].ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		ssize_t n = -1;
		if (connect(fd, (struct sockaddr *)&s->up.addr[i], s->up.len[i]) == 0 &&
		    send(fd, q, qlen, 0) == (ssize_t)qlen) {
			int64_t deadline = berth_now_ns() + (int64_t)FORWARD_TIMEOUT_MS * 1000000;
			for (;;) {
				int64_t left = (deadline - berth_now_ns()) / 1000000;
				struct pollfd pf = {.fd = fd, .events = POLLIN};
				if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
					break;
				ssize_t r = recv(fd, out, cap, 0);
				if (r >= 12 && out[0] == q[0] && out[1] == q[1] && (out[2] & 0x80)) {
					n = r;
					break;
				}
				if (r < 0 && errno != EINTR && errno != EAGAIN)
					break;
			}
		}
		close(fd);
		if (n > 0)
			return n;
	}
	return -1;
}

static ssize_t answer(struct berth_dns_server *s, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	ssize_t n = berth_dns_handle(s->ops, s->key, q, qlen, out, cap);
	if (n != 0)
		return n;
	n = forward(s, q, qlen, out, cap);
	if (n > 0)
		return n;
	return berth_dns_servfail(q, qlen, out, cap);
}

static void serve_udp(struct berth_dns_server *s)
{
	uint8_t q[DNS_MAX_MSG], out[DNS_MAX_MSG];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(s->udp, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return;
	/* plain DNS over UDP: at most 512 bytes unless the client said more (EDNS); keep it simple */
	ssize_t r = answer(s, q, (size_t)n, out, sizeof(out));
	if (r > 0)
		sendto(s->udp, out, (size_t)r, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&from, fl);
}

static void serve_tcp(struct berth_dns_server *s)
{
	int fd = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = {.tv_sec = TCP_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	uint8_t q[DNS_MAX_MSG], out[DNS_MAX_MSG + 2];
	for (int k = 0; k < 16; k++) {
		uint8_t lb[2];
		if (berth_read_all(fd, lb, 2) != 2)
			break;
		size_t l = get16(lb);
		if (l == 0 || l > sizeof(q) || berth_read_all(fd, q, l) != (ssize_t)l)
			break;
		ssize_t r = answer(s, q, l, out + 2, sizeof(out) - 2);
		if (r <= 0)
			break;
		put16(out, (uint16_t)r);
		if (berth_write_all(fd, out, (size_t)r + 2) < 0)
			break;
	}
	close(fd);
}

static int open_sockets(struct berth_dns_server *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	if (inet_pton(AF_INET, s->addr, &sa.sin_addr) != 1)
		return berth_err(&s->err, BERTH_E_INVALID, "invalid DNS listen address %s", s->addr);
	s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->udp < 0 || bind(s->udp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: bind udp %s:%d", s->addr,
				     s->port);
	socklen_t sl = sizeof(sa);
	if (getsockname(s->udp, (struct sockaddr *)&sa, &sl) < 0)
		return berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: getsockname");
	s->port = ntohs(sa.sin_port);
	int one = 1;
	s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->tcp < 0 || setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->tcp, 16) < 0)
		return berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: bind tcp %s:%d", s->addr,
				     s->port);
	return 0;
}

/* Make the sockets inside the sandbox's namespace, then come back. */
static int setup(struct berth_dns_server *s)
{
	if (!s->netns_path)
		return open_sockets(s);
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: open own network namespace");
	int ns = open(s->netns_path, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		close(self);
		return berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: open %s", s->netns_path);
	}
	int rc = -1;
	if (setns(ns, CLONE_NEWNET) < 0) {
		berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: setns %s", s->netns_path);
	} else {
		rc = open_sockets(s);
		if (setns(self, CLONE_NEWNET) < 0) /* cannot forward from the container's side: give up */
			rc = berth_err_sys(&s->err, BERTH_E_INTERNAL, errno, "embedded DNS: setns back");
	}
	close(ns);
	close(self);
	return rc;
}

static void *server_main(void *arg)
{
	struct berth_dns_server *s = arg;
	int rc = setup(s);
	pthread_mutex_lock(&s->mu);
	s->state = rc < 0 ? -1 : 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	if (rc < 0)
		return NULL;
	for (;;) {
		struct pollfd pf[3] = {{.fd = s->wake[0], .events = POLLIN},
				       {.fd = s->udp, .events = POLLIN},
				       {.fd = s->tcp, .events = POLLIN}};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN)
			serve_udp(s);
		if (pf[2].revents & POLLIN)
			serve_tcp(s);
	}
	return NULL;
}

static void server_free(struct berth_dns_server *s)
{
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s->key);
	free(s->netns_path);
	free(s);
}

struct berth_dns_server *berth_dns_start(const struct berth_dns_ops *ops, const char *key, const char *netns_path,
					 const char *addr, int port, const struct berth_dns_upstreams *up,
					 int *bound_port, struct berth_error *err)
{
	struct berth_dns_server *s = calloc(1, sizeof(*s));
	if (!s) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	s->udp = s->tcp = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->ops = ops;
	s->key = strdup(key ? key : "");
	s->netns_path = netns_path ? strdup(netns_path) : NULL;
	snprintf(s->addr, sizeof(s->addr), "%s", addr ? addr : BERTH_DNS_ADDR);
	s->port = addr ? port : (port ? port : 53);
	if (up)
		s->up = *up;
	if (!s->key || (netns_path && !s->netns_path) || pipe2(s->wake, O_CLOEXEC) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "embedded DNS");
		server_free(s);
		return NULL;
	}
	int prc = pthread_create(&s->thread, NULL, server_main, s);
	if (prc != 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, prc, "embedded DNS: thread");
		server_free(s);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	while (s->state == 0)
		pthread_cond_wait(&s->cond, &s->mu);
	int state = s->state;
	pthread_mutex_unlock(&s->mu);
	if (state < 0) {
		pthread_join(s->thread, NULL);
		if (err)
			*err = s->err;
		server_free(s);
		return NULL;
	}
	if (bound_port)
		*bound_port = s->port;
	return s;
}

void berth_dns_stop(struct berth_dns_server *s)
{
	if (!s)
		return;
	char b = 1;
	while (write(s->wake[1], &b, 1) < 0 && errno == EINTR)
		;
	pthread_join(s->thread, NULL);
	server_free(s);
}
