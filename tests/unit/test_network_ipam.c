/* network/: subnets, address pools and IPAM (network/net_int.h). */
#include <stdlib.h>

#include "network/net_int.h"
#include "tap.h"

static bool taken_172_17(void *ctx, const struct berth_v4net *c)
{
	(void)ctx;
	return c->addr == ((172u << 24) | (17u << 16)); /* a host route on 172.17/16 */
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	struct berth_v4net n;
	TAP_OK(&t, berth_v4net_parse("10.1.2.0/24", &n, false) == 0 && n.prefix == 24 && n.addr == 0x0a010200,
	       "CIDR parsed");
	TAP_OK(&t, berth_v4net_parse("10.1.2.5/24", &n, false) < 0, "host bits refused for a subnet");
	TAP_OK(&t, berth_v4net_parse("10.1.2.5/24", &n, true) == 0 && n.addr == 0x0a010205, "allowed for --bip");
	TAP_OK(&t, berth_v4net_parse("10.1.2.0/33", &n, false) < 0, "prefix > 32 refused");
	TAP_OK(&t, berth_v4net_parse("10.1.2/24", &n, false) < 0, "short address refused");
	TAP_OK(&t, berth_v4net_parse("10.1.2.0", &n, false) < 0, "no prefix refused");
	struct berth_v4net a = {0x0a000000, 8}, b = {0x0a010000, 16}, c = {0x0b000000, 16};
	TAP_OK(&t, berth_v4net_overlap(&a, &b) && berth_v4net_overlap(&b, &a), "10/8 overlaps 10.1/16");
	TAP_OK(&t, !berth_v4net_overlap(&a, &c), "10/8 does not overlap 11/16");

	/* pools: docker's defaults start at 172.17/16; a host route skips it */
	struct berth_pool *pools = NULL;
	size_t np = 0;
	TAP_OK(&t, berth_pools_from_json(NULL, &pools, &np, &err) == 0 && np == 16, "docker's default pools");
	struct berth_v4net pick;
	TAP_OK(&t,
	       berth_pools_pick(pools, np, NULL, 0, NULL, NULL, &pick) == 0 && pick.addr == 0xac110000 &&
		       pick.prefix == 16,
	       "first pick is 172.17.0.0/16");
	TAP_OK(&t, berth_pools_pick(pools, np, NULL, 0, taken_172_17, NULL, &pick) == 0 && pick.addr == 0xac120000,
	       "172.17/16 overlapping a route: next is 172.18.0.0/16");
	struct berth_v4net used[] = {{0xac110000, 16}, {0xac120000, 16}};
	TAP_OK(&t, berth_pools_pick(pools, np, used, 2, NULL, NULL, &pick) == 0 && pick.addr == 0xac130000,
	       "networks in use are skipped");
	free(pools);
	json_t *custom = json_loads("[{\"base\":\"10.10.0.0/16\",\"size\":24}]", 0, NULL);
	TAP_OK(&t, berth_pools_from_json(custom, &pools, &np, &err) == 0 && np == 1, "--default-address-pool");
	struct berth_v4net used2[] = {{0x0a0a0000, 24}};
	TAP_OK(&t,
	       berth_pools_pick(pools, np, used2, 1, NULL, NULL, &pick) == 0 && pick.addr == 0x0a0a0100 &&
		       pick.prefix == 24,
	       "10.10.1.0/24 after 10.10.0.0/24");
	free(pools);
	json_decref(custom);
	custom = json_loads("[{\"base\":\"10.10.0.0/16\",\"size\":8}]", 0, NULL);
	TAP_OK(&t, berth_pools_from_json(custom, &pools, &np, &err) < 0, "size smaller than the base refused");
	json_decref(custom);

	/* IPAM */
	struct berth_ipam p;
	struct berth_v4net sub = {0xc0a80500, 24};
	TAP_OK(&t, berth_ipam_init(&p, &sub, NULL, 0xc0a80501, &err) == 0, "ipam on 192.168.5.0/24");
	uint32_t ip = 0;
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) == 0 && ip == 0xc0a80502, "first address .2 (gateway .1)");
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) == 0 && ip == 0xc0a80503, "then .3");
	berth_ipam_release(&p, 0xc0a80502);
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) == 0 && ip == 0xc0a80502, "a released address is reused");
	TAP_OK(&t, berth_ipam_request(&p, 0xc0a80503, &ip, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "static address in use: conflict");
	TAP_STREQ(&t, err.msg, "Address already in use", "docker's message");
	TAP_OK(&t, berth_ipam_request(&p, 0xc0a80501, &ip, &err) < 0, "the gateway is never handed out");
	TAP_OK(&t, berth_ipam_request(&p, 0xc0a806ff, &ip, &err) < 0 && err.kind == BERTH_E_INVALID,
	       "address outside the subnet refused");
	TAP_OK(&t, berth_ipam_request(&p, 0xc0a80564, &ip, &err) == 0 && ip == 0xc0a80564, "static .100");
	berth_ipam_release(&p, 0xc0a80501);
	TAP_OK(&t, berth_ipam_used(&p, 0xc0a80501), "releasing the gateway keeps it reserved");
	berth_ipam_free(&p);

	/* a small subnet runs out; the broadcast address is never used */
	struct berth_v4net s30 = {0x0a000000, 30};
	TAP_OK(&t, berth_ipam_init(&p, &s30, NULL, 0x0a000001, &err) == 0, "a /30");
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) == 0 && ip == 0x0a000002, "one address");
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) < 0 && err.kind == BERTH_E_UNAVAILABLE, "then exhausted");
	berth_ipam_free(&p);

	/* --fixed-cidr: dynamic addresses from the range only */
	struct berth_v4net big = {0xac110000, 16}, range = {0xac110a00, 24};
	TAP_OK(&t, berth_ipam_init(&p, &big, &range, 0xac110001, &err) == 0, "range inside the subnet");
	TAP_OK(&t, berth_ipam_request(&p, 0, &ip, &err) == 0 && ip == 0xac110a00, "first of the range");
	berth_ipam_free(&p);
	struct berth_v4net outside = {0x0a000000, 24};
	TAP_OK(&t, berth_ipam_init(&p, &big, &outside, 0xac110001, &err) < 0, "range outside the subnet refused");
	berth_ipam_free(&p);
	return TAP_DONE(&t);
}
