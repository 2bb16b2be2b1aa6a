/* Embedded DNS: message handling (pure) and a live server on loopback with a
 * fake upstream. */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "network/dns.h"
#include "tap.h"

static int lookup(void *ctx, const char *key, const char *name, struct berth_dns_addrs *out)
{
	(void)ctx;
	if (strcmp(key, "c1") != 0)
		return 0;
	if (!strcmp(name, "web") || !strcmp(name, "www") || !strcmp(name, "0123456789ab")) {
		inet_pton(AF_INET, "172.30.0.2", &out->v4[out->n4++]);
		return 1;
	}
	if (!strcmp(name, "dual")) {
		inet_pton(AF_INET, "172.30.0.3", &out->v4[out->n4++]);
		inet_pton(AF_INET, "172.31.0.3", &out->v4[out->n4++]);
		inet_pton(AF_INET6, "fd00::3", &out->v6[out->n6++]);
		return 1;
	}
	return 0;
}

static int ptr(void *ctx, const char *key, int family, const void *addr, char *name, size_t len)
{
	(void)ctx;
	(void)key;
	struct in_addr a;
	inet_pton(AF_INET, "172.30.0.2", &a);
	if (family == AF_INET && !memcmp(addr, &a, 4)) {
		snprintf(name, len, "web.mynet");
		return 1;
	}
	struct in6_addr a6;
	inet_pton(AF_INET6, "fd00::3", &a6);
	if (family == AF_INET6 && !memcmp(addr, &a6, 16)) {
		snprintf(name, len, "dual.mynet");
		return 1;
	}
	return 0;
}

static const struct berth_dns_ops ops = {.lookup = lookup, .ptr = ptr};

static size_t build_query(uint8_t *q, uint16_t id, const char *name, uint16_t type)
{
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01; /* RD */
	q[5] = 1;
	size_t w = 12;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		q[w++] = (uint8_t)l;
		memcpy(q + w, p, l);
		w += l;
		p += l;
		if (*p == '.')
			p++;
	}
	q[w++] = 0;
	q[w++] = (uint8_t)(type >> 8);
	q[w++] = (uint8_t)type;
	q[w++] = 0;
	q[w++] = 1;
	return w;
}

static int ancount(const uint8_t *r) { return (r[6] << 8) | r[7]; }

static int rcode(const uint8_t *r) { return r[3] & 0xF; }

/* rdata of the i-th answer (answers follow the question; names are pointers) */
static const uint8_t *rdata(const uint8_t *r, size_t qend, int i, int *len)
{
	const uint8_t *p = r + qend;
	for (int k = 0; k < i; k++)
		p += 12 + ((p[10] << 8) | p[11]);
	*len = (p[10] << 8) | p[11];
	return p + 12;
}

/* A fake upstream: answers one query with a fixed A record 10.9.8.7. */
struct upstream {
	int fd;
	int served;
};

static void *upstream_main(void *arg)
{
	struct upstream *u = arg;
	uint8_t q[512];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pollfd pf = {.fd = u->fd, .events = POLLIN};
	if (poll(&pf, 1, 20000) <= 0)
		return NULL;
	ssize_t n = recvfrom(u->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 12)
		return NULL;
	uint8_t r[600];
	memcpy(r, q, (size_t)n);
	r[2] = 0x81;
	r[3] = 0x80;
	r[7] = 1;
	size_t w = (size_t)n;
	uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7};
	memcpy(r + w, rr, sizeof(rr));
	w += sizeof(rr);
	sendto(u->fd, r, w, 0, (struct sockaddr *)&from, fl);
	u->served++;
	return NULL;
}

static ssize_t udp_ask(int port, const uint8_t *q, size_t ql, uint8_t *r, size_t cap)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ssize_t n = -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && send(fd, q, ql, 0) == (ssize_t)ql) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 20000) > 0)
			n = recv(fd, r, cap, 0);
	}
	close(fd);
	return n;
}

static ssize_t tcp_ask(int port, const uint8_t *q, size_t ql, uint8_t *r, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ssize_t n = -1;
	uint8_t buf[600];
	buf[0] = (uint8_t)(ql >> 8);
	buf[1] = (uint8_t)ql;
	memcpy(buf + 2, q, ql);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && write(fd, buf, ql + 2) == (ssize_t)(ql + 2)) {
		uint8_t lb[2];
		if (read(fd, lb, 2) == 2) {
			size_t l = (size_t)((lb[0] << 8) | lb[1]);
			size_t got = 0;
			while (got < l && got < cap) {
				ssize_t k = read(fd, r + got, cap - got);
				if (k <= 0)
					break;
				got += (size_t)k;
			}
			n = (ssize_t)got;
		}
	}
	close(fd);
	return n;
}

int main(void)
{
	struct tap t = {0};
	uint8_t q[512], r[4096];
	size_t ql;
	ssize_t n;
	int len;

	ql = build_query(q, 0x1234, "web", 1);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && r[0] == 0x12 && r[1] == 0x34 && (r[2] & 0x80) && rcode(r) == 0 && ancount(r) == 1,
	       "A for a container name: one answer");
	const uint8_t *d = rdata(r, ql, 0, &len);
	TAP_OK(&t, len == 4 && d[0] == 172 && d[1] == 30 && d[2] == 0 && d[3] == 2, "A rdata is 172.30.0.2");
	TAP_OK(&t, r[ql + 8] == 0x02 && r[ql + 9] == 0x58, "TTL 600");

	ql = build_query(q, 1, "WWW", 1);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && ancount(r) == 1, "alias, case-insensitive");
	ql = build_query(q, 1, "0123456789ab", 1);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && ancount(r) == 1, "short ID");
	ql = build_query(q, 1, "web", 1);
	n = berth_dns_handle(&ops, "other", q, ql, r, sizeof(r));
	TAP_OK(&t, n == 0, "name of another network's container is forwarded, not answered");

	ql = build_query(q, 2, "dual", 1);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && ancount(r) == 2, "two networks: two A records");
	ql = build_query(q, 2, "dual", 28);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	d = rdata(r, ql, 0, &len);
	TAP_OK(&t, n > 0 && ancount(r) == 1 && len == 16 && d[0] == 0xfd && d[15] == 3, "AAAA answer fd00::3");
	ql = build_query(q, 2, "web", 28);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && ancount(r) == 0 && rcode(r) == 0, "AAAA of a v4-only name: empty NOERROR");

	ql = build_query(q, 3, "2.0.30.172.in-addr.arpa", 12);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	d = rdata(r, ql, 0, &len);
	TAP_OK(&t, n > 0 && ancount(r) == 1 && len == 11 && d[0] == 3 && !memcmp(d + 1, "web", 3) && d[4] == 5,
	       "PTR of a container address");
	ql = build_query(q, 3, "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", 12);
	n = berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r));
	TAP_OK(&t, n > 0 && ancount(r) == 1, "PTR of a v6 container address");
	ql = build_query(q, 3, "9.0.30.172.in-addr.arpa", 12);
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) == 0, "PTR of an unknown address is forwarded");
	ql = build_query(q, 4, "example.com", 1);
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) == 0, "unknown name is forwarded");

	/* bad packets */
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, 5, r, sizeof(r)) == -1, "short packet dropped");
	ql = build_query(q, 5, "web", 1);
	q[2] |= 0x80;
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) == -1, "a response is dropped");
	ql = build_query(q, 5, "web", 1);
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql - 3, r, sizeof(r)) > 0 && rcode(r) == 1,
	       "truncated question: FORMERR");
	ql = build_query(q, 5, "web", 1);
	q[12] = 0xC0; /* compression pointer in the question */
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) > 0 && rcode(r) == 1,
	       "pointer in question: FORMERR");
	ql = build_query(q, 5, "web", 1);
	q[12] = 60; /* label longer than the packet */
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) > 0 && rcode(r) == 1, "label overrun: FORMERR");
	ql = build_query(q, 5, "web", 1);
	q[5] = 2;
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) > 0 && rcode(r) == 1, "two questions: FORMERR");
	ql = build_query(q, 5, "web", 1);
	q[2] = 0x10; /* opcode 2 */
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, sizeof(r)) > 0 && rcode(r) == 4, "other opcode: NOTIMP");
	ql = build_query(q, 5, "web", 1);
	TAP_OK(&t, berth_dns_handle(&ops, "c1", q, ql, r, ql + 5) == -1, "reply larger than the buffer: dropped");
	/* random garbage never crashes */
	srand(7);
	int bad = 0;
	for (int i = 0; i < 20000; i++) {
		size_t l = (size_t)(rand() % 80);
		for (size_t k = 0; k < l; k++)
			q[k] = (uint8_t)rand();
		if (l > 5 && i % 2) {
			q[4] = 0;
			q[5] = 1;
			q[2] &= 0x07;
		}
		ssize_t x = berth_dns_handle(&ops, "c1", q, l, r, sizeof(r));
		if (x > (ssize_t)sizeof(r))
			bad++;
	}
	TAP_OK(&t, bad == 0, "20000 random packets handled");

	struct berth_dns_upstreams up;
	berth_dns_upstreams_parse("# c\nsearch x\nnameserver 127.0.0.53\nnameserver ::1\nnameserver fe80::1%eth0\n"
				  "nameserver bogus\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n",
				  &up);
	TAP_OK(&t, up.n == 3 && up.addr[0].ss_family == AF_INET && up.addr[1].ss_family == AF_INET6,
	       "resolv.conf: three usable nameservers");

	/* live: server on 127.0.0.1:<ephemeral> with a fake upstream */
	struct upstream u = {0};
	u.fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof(sa);
	bind(u.fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(u.fd, (struct sockaddr *)&sa, &sl);
	char conf[128];
	snprintf(conf, sizeof(conf), "nameserver 127.0.0.1\n");
	berth_dns_upstreams_parse(conf, &up);
	((struct sockaddr_in *)&up.addr[0])->sin_port = sa.sin_port;
	pthread_t ut;
	pthread_create(&ut, NULL, upstream_main, &u);

	struct berth_error err = {0};
	int port = 0;
	struct berth_dns_server *s = berth_dns_start(&ops, "c1", NULL, "127.0.0.1", 0, &up, &port, &err);
	TAP_OK(&t, s && port > 0, "server started (%s)", err.msg);
	if (s) {
		ql = build_query(q, 0x42, "web", 1);
		n = udp_ask(port, q, ql, r, sizeof(r));
		TAP_OK(&t, n > 0 && ancount(r) == 1 && r[0] == 0 && r[1] == 0x42, "udp: local answer");
		n = tcp_ask(port, q, ql, r, sizeof(r));
		TAP_OK(&t, n > 0 && ancount(r) == 1, "tcp: local answer");
		ql = build_query(q, 0x43, "example.com", 1);
		n = udp_ask(port, q, ql, r, sizeof(r));
		d = n > 0 ? rdata(r, ql, 0, &len) : NULL;
		TAP_OK(&t, n > 0 && ancount(r) == 1 && d && d[0] == 10 && d[3] == 7 && r[1] == 0x43,
		       "udp: other names forwarded upstream");
		n = udp_ask(port, q, 3, r, sizeof(r)); /* dropped: the next query still works */
		ql = build_query(q, 0x44, "www", 1);
		n = udp_ask(port, q, ql, r, sizeof(r));
		TAP_OK(&t, n > 0 && ancount(r) == 1, "server alive after a bad packet");
		berth_dns_stop(s);
	}
	pthread_join(ut, NULL);
	TAP_OK(&t, u.served == 1, "upstream asked once");
	close(u.fd);

	struct berth_dns_server *s2 = berth_dns_start(&ops, "c1", "/nonexistent/ns", NULL, 0, &up, NULL, &err);
	TAP_OK(&t, !s2 && strstr(err.msg, "/nonexistent/ns"), "missing namespace: clear error");
	return TAP_DONE(&t);
}
