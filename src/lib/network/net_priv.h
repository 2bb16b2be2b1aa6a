/* The context and networks (internal to network/). */
#pragma once
#include <pthread.h>

#include "network/net_int.h"

struct berth_net {
	char id[65];
	char name[256];
	char bridge[16];
	char subnet[32];
	json_t *doc;
	struct berth_ipam ipam;
	bool v6;                 /* EnableIPv6 with an IPv6 subnet */
	struct berth_v6net sub6; /* its subnet, */
	char subnet6[64];        /* as CIDR text, */
	struct berth_ipam ipam6; /* its addresses (offsets, net_int.h) */
	uint32_t gw6_off;        /* the gateway's offset */
	bool icc, masq, internal;
	bool existing;   /* -b: made by the user, never deleted */
	bool is_default; /* the network "bridge" */
	int mtu;
	int nendpoints;
};

struct berth_netctx {
	pthread_mutex_t mu; /* networks, IPAM, host ports */
	const struct berth_net_opts *opts;
	struct berth_log *log;
	const char *ipt, *ipt6;
	bool base6_done; /* ip6tables base chains made */
	char *netns_dir, *ep_dir, *proxy_path;
	char default_ip[INET6_ADDRSTRLEN]; /* --ip, canonical ("0.0.0.0" when not given) */
	bool default_ip6;                  /* it is an IPv6 address */
	struct berth_net **nets;
	size_t nnets;
	struct berth_pool *pools;
	size_t npools;
	struct berth_port_alloc ports;
};

struct berth_net *berth_net_find(struct berth_netctx *n, const char *id_or_name);
int berth_net_rules_of(struct berth_netctx *n, const struct berth_net *net, struct berth_ipt_rules *out);
/* The same for the network's IPv6 subnet (ip6tables). */
int berth_net_rules6_of(struct berth_netctx *n, const struct berth_net *net, struct berth_ipt_rules *out);
bool berth_net_route_taken(void *ctx, const struct berth_v4net *cand);
void berth_net_sandbox_remove(struct berth_netctx *n, const char *container_id);
