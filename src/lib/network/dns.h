/* Embedded DNS server for containers on user-defined networks (docker's
 * 127.0.0.11). One server per container sandbox: a thread that binds UDP and
 * TCP port 53 on 127.0.0.11 inside the sandbox's network namespace (setns for
 * the socket calls only, then back to the daemon's namespace), answers A,
 * AAAA and PTR questions from the daemon's table through a callback, and
 * forwards every other question from the daemon's namespace to the host's
 * resolvers (the nameserver lines of the host's /etc/resolv.conf).
 *
 * Message handling is pure and exposed for tests: berth_dns_handle(). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define BERTH_DNS_ADDR "127.0.0.11"
#define BERTH_DNS_TTL 600
#define BERTH_DNS_MAX_ADDRS 16
#define BERTH_DNS_MAX_UPSTREAMS 3

struct berth_dns_addrs {
	int n4, n6;
	struct in_addr v4[BERTH_DNS_MAX_ADDRS];
	struct in6_addr v6[BERTH_DNS_MAX_ADDRS];
};

/* Callbacks into the daemon's name table. key identifies the container (its
 * ID); name is lower case, without the trailing dot.
 * lookup: 1 when the name is known on one of the container's networks (fill
 * out; no address of the asked family gives an empty answer), 0 when not.
 * ptr: 1 and the name (without trailing dot) when the address belongs to a
 * container on one of its networks, 0 when not. */
struct berth_dns_ops {
	int (*lookup)(void *ctx, const char *key, const char *name, struct berth_dns_addrs *out);
	int (*ptr)(void *ctx, const char *key, int family, const void *addr, char *name, size_t len);
	void *ctx;
};

/* Upstream resolvers: up to 3 IPv4/IPv6 nameservers from resolv.conf text. */
struct berth_dns_upstreams {
	int n;
	struct sockaddr_storage addr[BERTH_DNS_MAX_UPSTREAMS];
	socklen_t len[BERTH_DNS_MAX_UPSTREAMS];
};
void berth_dns_upstreams_parse(const char *resolv_conf, struct berth_dns_upstreams *u);

/* Answer one query (pure; no I/O). Returns the reply length (> 0), 0 when
 * the query must be forwarded upstream, -1 when it is to be dropped (not a
 * query, truncated, garbage). */
ssize_t berth_dns_handle(const struct berth_dns_ops *ops, const char *key, const uint8_t *q, size_t qlen, uint8_t *out,
			 size_t cap);
/* A SERVFAIL reply to q (for a failed forward). Returns length or -1. */
ssize_t berth_dns_servfail(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap);

struct berth_dns_server;
/* Start a server for container key. netns_path: the sandbox's namespace (a
 * bind mount or /proc/PID/ns/net), or NULL to stay in the current one (tests).
 * addr/port: where to listen (NULL/0: 127.0.0.11:53); *bound_port gets the
 * port (may be NULL). ops must outlive the server. */
struct berth_dns_server *berth_dns_start(const struct berth_dns_ops *ops, const char *key, const char *netns_path,
					 const char *addr, int port, const struct berth_dns_upstreams *up,
					 int *bound_port, struct berth_error *err);
/* Stop the thread, close the sockets, free. NULL is fine. */
void berth_dns_stop(struct berth_dns_server *s);
