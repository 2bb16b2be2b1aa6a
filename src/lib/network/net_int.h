/* Internals of network/: IPAM, port allocation, iptables rule generation.
 * The pure parts (no I/O) are unit-tested (tests/unit/test_network_*.c). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "network/network.h"

/* ---- IPv4 subnets and IPAM ---- */
struct berth_v4net {
	uint32_t addr; /* host order */
	int prefix;
};
int berth_v4net_parse(const char *s, struct berth_v4net *out, bool allow_host_bits);
int berth_v4addr_parse(const char *s, uint32_t *out);
void berth_v4_fmt(uint32_t a, char *out, size_t len); /* dotted quad */
static inline uint32_t berth_v4_mask(int prefix) { return prefix <= 0 ? 0 : prefix >= 32 ? ~0u : ~0u << (32 - prefix); }
bool berth_v4net_overlap(const struct berth_v4net *a, const struct berth_v4net *b);
bool berth_v4net_contains(const struct berth_v4net *n, uint32_t a);

/* Address pools: docker's defaults, or "base"/"size" pairs. Pick the first
 * subnet of the pools overlapping none of `used` (n_used) and for which
 * taken(ctx, candidate) is false. 0 ok, -1 when all are used. */
struct berth_pool {
	struct berth_v4net base;
	int size;
};
int berth_pools_from_json(json_t *pools, struct berth_pool **out, size_t *n, struct berth_error *err);
int berth_pools_pick(const struct berth_pool *pools, size_t npools, const struct berth_v4net *used, size_t n_used,
		     bool (*taken)(void *ctx, const struct berth_v4net *cand), void *ctx, struct berth_v4net *out);

struct berth_ipam {
	struct berth_v4net subnet;
	struct berth_v4net range; /* where dynamic addresses come from */
	uint32_t gateway;
	uint8_t *bits; /* one bit per address of the subnet */
	uint32_t size;
};
int berth_ipam_init(struct berth_ipam *p, const struct berth_v4net *subnet, const struct berth_v4net *range,
		    uint32_t gateway, struct berth_error *err);
void berth_ipam_free(struct berth_ipam *p);
/* Request an address: want 0 = lowest free in the range. */
int berth_ipam_request(struct berth_ipam *p, uint32_t want, uint32_t *out, struct berth_error *err);
void berth_ipam_release(struct berth_ipam *p, uint32_t a);
bool berth_ipam_used(const struct berth_ipam *p, uint32_t a);

/* ---- host ports ---- */
struct berth_port_alloc {
	struct berth_port_used {
		char proto[8];
		bool v6;
		uint32_t ip;         /* IPv4: 0 = all IPv4 addresses */
		struct in6_addr ip6; /* IPv6: :: = all IPv6 addresses */
		int port;
	} * v;
	size_t n, cap;
};
/* ip: an IPv4 or IPv6 host address ("" or NULL: 0.0.0.0). Each family is its
 * own space: 0.0.0.0 clashes with every IPv4 address, :: with every IPv6 one. */
bool berth_ports_taken(const struct berth_port_alloc *a, const char *proto, const char *ip, int port);
int berth_ports_add(struct berth_port_alloc *a, const char *proto, const char *ip, int port);
void berth_ports_remove(struct berth_port_alloc *a, const char *proto, const char *ip, int port);
void berth_ports_free(struct berth_port_alloc *a);
/* A host address (--ip, HostIp) in its canonical text ("::1", "10.0.0.1"):
 * 0 with *v6 set, -1 when s is neither an IPv4 nor an IPv6 address. */
int berth_host_ip_canon(const char *s, char *out, size_t len, bool *v6);
/* The ephemeral range from /proc/sys/net/ipv4/ip_local_port_range (docker's
 * fallback 49153-65535 when unreadable). */
void berth_ports_ephemeral_range(int *lo, int *hi);

/* ---- iptables rules ---- */
struct berth_ipt_rule {
	const char *table; /* "nat", "filter" */
	const char *chain;
	bool insert; /* -I (at the top) instead of -A */
	char **args; /* strv: the match and target */
};
struct berth_ipt_rules {
	struct berth_ipt_rule *v;
	size_t n;
};
void berth_ipt_rules_free(struct berth_ipt_rules *r);
/* A bridge network's rules (docker's layout with BERTH* chains). */
struct berth_ipt_net {
	const char *bridge;
	const char *subnet; /* CIDR */
	bool icc, masquerade, internal, hairpin;
};
int berth_ipt_network_rules(const struct berth_ipt_net *n, struct berth_ipt_rules *out);
/* One published port's rules (ip6tables ones when ctr_ip is IPv6). */
struct berth_ipt_port {
	const char *bridge;
	const char *proto;
	const char *host_ip; /* "0.0.0.0" or "::" = any */
	int host_port;
	const char *ctr_ip;
	int ctr_port;
	bool hairpin;
};
int berth_ipt_port_rules(const struct berth_ipt_port *p, struct berth_ipt_rules *out);
/* The input of one `iptables-restore --noflush` that does op ("-A": each
 * rule appended, or inserted for the insert ones; "-D": each deleted) per
 * table ("*nat ... COMMIT"). NULL when an argument would need quoting. */
char *berth_ipt_restore_text(const struct berth_ipt_rules *r, const char *op);
/* The argv of `iptables -w -t TABLE <-C|-A|-I|-D> CHAIN args...` (strv). */
char **berth_ipt_argv(const char *iptables, const struct berth_ipt_rule *r, const char *op);

/* ---- IPv6 subnets ----
 * An IPv6 network's addresses are handed out by the IPv4 allocator above
 * over host offsets: the low min(128-prefix, 16) bits of the address (the
 * first 65536 addresses of the subnet, docker's IPAM also goes up from
 * ::2). berth_v6_ipam_init sets p up over that offset space. */
struct berth_v6net {
	struct in6_addr addr;
	int prefix;
};
/* "fd00::/64" (host bits cleared). -1 when invalid. */
int berth_v6net_parse(const char *s, struct berth_v6net *out);
bool berth_v6net_overlap(const struct berth_v6net *a, const struct berth_v6net *b);
/* The address at offset off of the subnet. */
void berth_v6_at(const struct berth_v6net *n, uint32_t off, struct in6_addr *out);
/* The offset of a, -1 when a is outside the subnet or beyond the offset space. */
int berth_v6_offset(const struct berth_v6net *n, const struct in6_addr *a, uint32_t *off);
int berth_v6_ipam_init(struct berth_ipam *p, const struct berth_v6net *n, uint32_t gw_off, struct berth_error *err);
#define BERTH_V6_BASE 0x0a000000u /* where the offsets start in the allocator's space */
