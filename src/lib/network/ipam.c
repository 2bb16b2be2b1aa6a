/* IPv4 subnets, address pools and per-network address allocation. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/net_int.h"

int berth_v4addr_parse(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void berth_v4_fmt(uint32_t a, char *out, size_t len)
{
	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int berth_v4net_parse(const char *s, struct berth_v4net *out, bool allow_host_bits)
{
	if (!s)
		return -1;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || strlen(s) > 31)
		return -1;
	char ip[32];
	snprintf(ip, sizeof(ip), "%.*s", (int)(slash - s), s);
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (*end || !slash[1] || p < 0 || p > 32)
		return -1;
	uint32_t a;
	if (berth_v4addr_parse(ip, &a) < 0)
		return -1;
	if (!allow_host_bits && (a & ~berth_v4_mask((int)p)))
		return -1;
	out->addr = a;
	out->prefix = (int)p;
	return 0;
}

bool berth_v4net_overlap(const struct berth_v4net *a, const struct berth_v4net *b)
{
	uint32_t m = berth_v4_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
	return (a->addr & m) == (b->addr & m);
}

bool berth_v4net_contains(const struct berth_v4net *n, uint32_t a)
{
	uint32_t m = berth_v4_mask(n->prefix);
	return (a & m) == (n->addr & m);
}

int berth_pools_from_json(json_t *pools, struct berth_pool **out, size_t *n, struct berth_error *err)
{
	*out = NULL;
	*n = 0;
	if (!pools || !json_array_size(pools)) {
		/* docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s */
		struct berth_pool *p = calloc(16, sizeof(*p));
		if (!p)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		for (int i = 0; i < 15; i++)
			p[i] = (struct berth_pool){{(172u << 24) | ((17u + (uint32_t)i) << 16), 16}, 16};
		p[15] = (struct berth_pool){{(192u << 24) | (168u << 16), 16}, 20};
		*out = p;
		*n = 16;
		return 0;
	}
	struct berth_pool *p = calloc(json_array_size(pools), sizeof(*p));
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(pools, i, e) {
		const char *base = json_string_value(json_object_get(e, "base"));
		json_int_t size = json_integer_value(json_object_get(e, "size"));
		if (berth_v4net_parse(base, &p[i].base, false) < 0) {
			free(p);
			return berth_err(err, BERTH_E_INVALID, "invalid base pool %s", base ? base : "");
		}
		if (size < p[i].base.prefix || size > 30) {
			free(p);
			return berth_err(err, BERTH_E_INVALID, "invalid pools size: %lld", (long long)size);
		}
		p[i].size = (int)size;
	}
	*out = p;
	*n = json_array_size(pools);
	return 0;
}

int berth_pools_pick(const struct berth_pool *pools, size_t npools, const struct berth_v4net *used, size_t n_used,
		     bool (*taken)(void *ctx, const struct berth_v4net *cand), void *ctx, struct berth_v4net *out)
{
	for (size_t i = 0; i < npools; i++) {
		uint64_t count = 1ull << (pools[i].size - pools[i].base.prefix);
		for (uint64_t k = 0; k < count && k < 65536; k++) {
			struct berth_v4net c = {pools[i].base.addr + (uint32_t)(k << (32 - pools[i].size)),
						pools[i].size};
			bool clash = false;
			for (size_t u = 0; u < n_used && !clash; u++)
				clash = berth_v4net_overlap(&c, &used[u]);
			if (clash || (taken && taken(ctx, &c)))
				continue;
			*out = c;
			return 0;
		}
	}
	return -1;
}

int berth_ipam_init(struct berth_ipam *p, const struct berth_v4net *subnet, const struct berth_v4net *range,
		    uint32_t gateway, struct berth_error *err)
{
	memset(p, 0, sizeof(*p));
	if (subnet->prefix < 8 || subnet->prefix > 30)
		return berth_err(err, BERTH_E_INVALID, "invalid subnet size /%d: use /8 to /30", subnet->prefix);
	p->subnet = (struct berth_v4net){subnet->addr & berth_v4_mask(subnet->prefix), subnet->prefix};
	p->range = range ? *range : p->subnet;
	p->range.addr &= berth_v4_mask(p->range.prefix);
	if (!berth_v4net_contains(&p->subnet, p->range.addr) || p->range.prefix < p->subnet.prefix)
		return berth_err(err, BERTH_E_INVALID, "Invalid range: the IP range must be inside the subnet");
	p->size = 1u << (32 - subnet->prefix);
	p->bits = calloc(p->size / 8 + 1, 1);
	if (!p->bits)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	p->gateway = gateway;
	/* network address, broadcast and gateway are never handed out */
	p->bits[0] |= 1;
	uint32_t last = p->size - 1;
	p->bits[last / 8] |= (uint8_t)(1u << (last % 8));
	if (berth_v4net_contains(&p->subnet, gateway)) {
		uint32_t g = gateway - p->subnet.addr;
		p->bits[g / 8] |= (uint8_t)(1u << (g % 8));
	}
	return 0;
}

void berth_ipam_free(struct berth_ipam *p)
{
	free(p->bits);
	p->bits = NULL;
}

bool berth_ipam_used(const struct berth_ipam *p, uint32_t a)
{
	if (!berth_v4net_contains(&p->subnet, a))
		return false;
	uint32_t o = a - p->subnet.addr;
	return p->bits[o / 8] & (1u << (o % 8));
}

int berth_ipam_request(struct berth_ipam *p, uint32_t want, uint32_t *out, struct berth_error *err)
{
	if (want) {
		char s[20];
		berth_v4_fmt(want, s, sizeof(s));
		if (!berth_v4net_contains(&p->subnet, want))
			return berth_err(err, BERTH_E_INVALID,
					 "no configured subnet or ip-range contain the IP address %s", s);
		if (berth_ipam_used(p, want))
			return berth_err(err, BERTH_E_CONFLICT, "Address already in use");
		uint32_t o = want - p->subnet.addr;
		p->bits[o / 8] |= (uint8_t)(1u << (o % 8));
		*out = want;
		return 0;
	}
	uint32_t start = p->range.addr - p->subnet.addr, n = 1u << (32 - p->range.prefix);
	for (uint32_t o = start; o < start + n && o < p->size; o++) {
		if (p->bits[o / 8] & (1u << (o % 8)))
			continue;
		p->bits[o / 8] |= (uint8_t)(1u << (o % 8));
		*out = p->subnet.addr + o;
		return 0;
	}
	return berth_err(err, BERTH_E_UNAVAILABLE, "no available IPv4 addresses on this network's address pools");
}

void berth_ipam_release(struct berth_ipam *p, uint32_t a)
{
	if (!berth_v4net_contains(&p->subnet, a) || a == p->gateway)
		return;
	uint32_t o = a - p->subnet.addr;
	if (o == 0 || o == p->size - 1)
		return;
	p->bits[o / 8] &= (uint8_t) ~(1u << (o % 8));
}
