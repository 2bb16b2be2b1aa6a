/* network/: IPv6 subnets and their addresses (network/net_int.h, ipam6.c). */
#include <arpa/inet.h>
#include <string.h>

#include "network/net_int.h"
#include "tap.h"

static bool is(const struct in6_addr *a, const char *s)
{
	struct in6_addr b;
	return inet_pton(AF_INET6, s, &b) == 1 && !memcmp(a, &b, sizeof(b));
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	struct berth_v6net n, m;
	TAP_OK(&t, berth_v6net_parse("fd42:1::/64", &n) == 0 && n.prefix == 64 && is(&n.addr, "fd42:1::"), "parsed");
	TAP_OK(&t, berth_v6net_parse("fd42:1::5/64", &m) == 0 && is(&m.addr, "fd42:1::"), "host bits cleared");
	TAP_OK(&t, berth_v6net_parse("fd42:1::/129", &m) < 0, "prefix > 128 refused");
	TAP_OK(&t, berth_v6net_parse("fd42:1::", &m) < 0 && berth_v6net_parse("10.0.0.0/8", &m) < 0,
	       "no prefix, IPv4: refused");
	TAP_OK(&t,
	       berth_v6net_parse("fd42::/16", &m) == 0 && berth_v6net_overlap(&n, &m) && berth_v6net_overlap(&m, &n),
	       "fd42::/16 overlaps fd42:1::/64");
	TAP_OK(&t, berth_v6net_parse("fd42:2::/64", &m) == 0 && !berth_v6net_overlap(&n, &m), "disjoint /64s");

	struct in6_addr a;
	berth_v6_at(&n, 0x1234, &a);
	TAP_OK(&t, is(&a, "fd42:1::1234"), "address at an offset");
	uint32_t off = 0;
	inet_pton(AF_INET6, "fd42:1::33", &a);
	TAP_OK(&t, berth_v6_offset(&n, &a, &off) == 0 && off == 0x33, "offset of an address");
	inet_pton(AF_INET6, "fd42:1::1:33", &a);
	TAP_OK(&t, berth_v6_offset(&n, &a, &off) < 0, "beyond the offset space: refused");
	inet_pton(AF_INET6, "fd42:2::33", &a);
	TAP_OK(&t, berth_v6_offset(&n, &a, &off) < 0, "outside the subnet: refused");

	struct berth_ipam p;
	uint32_t got = 0;
	TAP_OK(&t, berth_v6_ipam_init(&p, &n, 1, &err) == 0, "allocator over the subnet");
	TAP_OK(&t, berth_ipam_request(&p, 0, &got, &err) == 0 && got == BERTH_V6_BASE + 2, "first is ::2");
	TAP_OK(&t, berth_ipam_request(&p, BERTH_V6_BASE + 0x33, &got, &err) == 0, "a static one");
	TAP_OK(&t, berth_ipam_request(&p, BERTH_V6_BASE + 0x33, &got, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "the same twice: in use");
	berth_ipam_free(&p);
	TAP_OK(&t, berth_v6net_parse("fd42:1::/127", &m) == 0 && berth_v6_ipam_init(&p, &m, 1, &err) < 0,
	       "a /127 is too small");
	berth_ipam_free(&p);
	return TAP_DONE(&t);
}
