/* IPv6 subnets: parsing, overlap, and the offset space in which the IPv4
 * allocator (ipam.c) hands out IPv6 addresses. Pure, unit-tested. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/net_int.h"

static void v6_mask(struct in6_addr *a, int prefix)
{
	for (int i = 0; i < 16; i++) {
		int bits = prefix - i * 8;
		uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		a->s6_addr[i] &= m;
	}
}

int berth_v6net_parse(const char *s, struct berth_v6net *out)
{
	if (!s)
		return -1;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= INET6_ADDRSTRLEN)
		return -1;
	char a[INET6_ADDRSTRLEN];
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	char *end = NULL;
	long p = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || p < 0 || p > 128 || inet_pton(AF_INET6, a, &out->addr) != 1)
		return -1;
	out->prefix = (int)p;
	v6_mask(&out->addr, out->prefix);
	return 0;
}

bool berth_v6net_overlap(const struct berth_v6net *a, const struct berth_v6net *b)
{
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	struct in6_addr x = a->addr, y = b->addr;
	v6_mask(&x, p);
	v6_mask(&y, p);
	return !memcmp(&x, &y, sizeof(x));
}

static int host_bits(const struct berth_v6net *n) { return 128 - n->prefix > 16 ? 16 : 128 - n->prefix; }

void berth_v6_at(const struct berth_v6net *n, uint32_t off, struct in6_addr *out)
{
	*out = n->addr;
	uint32_t low = ((uint32_t)out->s6_addr[12] << 24) | ((uint32_t)out->s6_addr[13] << 16) |
		       ((uint32_t)out->s6_addr[14] << 8) | out->s6_addr[15];
	low |= off; /* host bits of the base are zero and off fits in them */
	for (int i = 0; i < 4; i++)
		out->s6_addr[12 + i] = (uint8_t)(low >> (24 - 8 * i));
}

int berth_v6_offset(const struct berth_v6net *n, const struct in6_addr *a, uint32_t *off)
{
	struct berth_v6net one = {.addr = *a, .prefix = 128};
	if (!berth_v6net_overlap(n, &one))
		return -1;
	int hb = host_bits(n);
	/* bits above the offset space (inside the subnet's host part) must be zero */
	struct in6_addr hi = *a;
	v6_mask(&hi, 128 - hb);
	struct berth_v6net base = {.addr = hi, .prefix = 128};
	struct berth_v6net sub = {.addr = n->addr, .prefix = 128};
	if (!berth_v6net_overlap(&base, &sub))
		return -1;
	uint32_t low = ((uint32_t)a->s6_addr[12] << 24) | ((uint32_t)a->s6_addr[13] << 16) |
		       ((uint32_t)a->s6_addr[14] << 8) | a->s6_addr[15];
	*off = low & ((1u << hb) - 1);
	return 0;
}

int berth_v6_ipam_init(struct berth_ipam *p, const struct berth_v6net *n, uint32_t gw_off, struct berth_error *err)
{
	int hb = host_bits(n);
	if (hb < 2)
		return berth_err(err, BERTH_E_INVALID, "invalid IPv6 subnet size /%d: use at most /126", n->prefix);
	struct berth_v4net space = {BERTH_V6_BASE, 32 - hb};
	return berth_ipam_init(p, &space, NULL, BERTH_V6_BASE + gw_off, err);
}
