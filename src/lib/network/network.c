/* The network context: bridge networks (bridge + rules + IPAM), sandboxes. */
#include "network/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/util.h"
#include "network/iptables.h"
#include "network/net_int.h"
#include "network/net_priv.h"
#include "network/nl.h"

static const char *opt_str(json_t *doc, const char *k)
{
	return json_string_value(json_object_get(json_object_get(doc, "Options"), k));
}

static bool opt_bool(json_t *doc, const char *k, bool def)
{
	const char *v = opt_str(doc, k);
	return v ? !strcmp(v, "true") || !strcmp(v, "1") : def;
}

struct berth_net *berth_net_find(struct berth_netctx *n, const char *id_or_name)
{
	if (!id_or_name)
		return NULL;
	for (size_t i = 0; i < n->nnets; i++)
		if (!strcmp(n->nets[i]->id, id_or_name) || !strcmp(n->nets[i]->name, id_or_name))
			return n->nets[i];
	size_t l = strlen(id_or_name);
	struct berth_net *hit = NULL;
	for (size_t i = 0; l >= 1 && i < n->nnets; i++)
		if (!strncmp(n->nets[i]->id, id_or_name, l)) {
			if (hit)
				return NULL;
			hit = n->nets[i];
		}
	return hit;
}

static void net_free(struct berth_net *net)
{
	if (!net)
		return;
	berth_ipam_free(&net->ipam);
	berth_ipam_free(&net->ipam6);
	json_decref(net->doc);
	free(net);
}

static int rules_for(struct berth_netctx *n, const struct berth_net *net, const char *subnet,
		     struct berth_ipt_rules *out)
{
	struct berth_ipt_net in = {.bridge = net->bridge,
				   .subnet = subnet,
				   .icc = net->icc,
				   .masquerade = net->masq,
				   .internal = net->internal,
				   .hairpin = !n->opts->userland_proxy};
	return berth_ipt_network_rules(&in, out);
}

int berth_net_rules_of(struct berth_netctx *n, const struct berth_net *net, struct berth_ipt_rules *out)
{
	return rules_for(n, net, net->subnet, out);
}

int berth_net_rules6_of(struct berth_netctx *n, const struct berth_net *net, struct berth_ipt_rules *out)
{
	return rules_for(n, net, net->subnet6, out);
}

static int sysctl_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, v, strlen(v));
	close(fd);
	return w == (ssize_t)strlen(v) ? 0 : -1;
}

static bool same_rule(const struct berth_ipt_rule *a, const struct berth_ipt_rule *b)
{
	if (strcmp(a->table, b->table) || strcmp(a->chain, b->chain))
		return false;
	size_t i = 0;
	for (; a->args[i] && b->args[i]; i++)
		if (strcmp(a->args[i], b->args[i]))
			return false;
	return !a->args[i] && !b->args[i];
}

/* Rules a daemon started with the other --userland-proxy/--icc/--ip-masq
 * left for this bridge go (they would shadow the current ones). */
static void remove_other_mode(struct berth_netctx *n, const struct berth_net *net)
{
	struct berth_ipt_rules cur = {0};
	if (berth_net_rules_of(n, net, &cur) < 0) {
		berth_ipt_rules_free(&cur);
		return;
	}
	for (int variant = 0; variant < 8; variant++) {
		struct berth_ipt_net in = {.bridge = net->bridge,
					   .subnet = net->subnet,
					   .icc = variant & 1,
					   .masquerade = variant & 2,
					   .internal = net->internal,
					   .hairpin = variant & 4};
		struct berth_ipt_rules other = {0};
		if (berth_ipt_network_rules(&in, &other) == 0) {
			for (size_t i = 0; i < other.n; i++) {
				bool keep = false;
				for (size_t j = 0; j < cur.n && !keep; j++)
					keep = same_rule(&other.v[i], &cur.v[j]);
				if (!keep)
					berth_ipt_remove(n->ipt, &other.v[i]);
			}
		}
		berth_ipt_rules_free(&other);
	}
	berth_ipt_rules_free(&cur);
}

/* IPv6 of a bridge: enabled, its gateway address, forwarding, the
 * ip6tables base chains (once) and the network's rules in them. */
static int v6_setup(struct berth_netctx *n, struct berth_net *net, int fd, struct berth_error *err)
{
	cleanup_free char *p = berth_strdup_printf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", net->bridge);
	if (sysctl_write(p, "0") < 0)
		return berth_err(err, BERTH_E_INTERNAL, "cannot enable IPv6 on %s (is IPv6 disabled on this host?)",
				 net->bridge);
	struct in6_addr gw;
	berth_v6_at(&net->sub6, net->gw6_off, &gw);
	if (berth_nl_addr6_add(fd, net->bridge, &gw, net->sub6.prefix, err) < 0)
		return -1;
	if (n->opts->ip_forward && sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1") < 0)
		berth_log(n->log, BERTH_LOG_WARN, "cannot enable IPv6 forwarding");
	if (!n->opts->iptables || !n->opts->ip6tables) /* --ip6tables=false: no ip6tables rule */
		return 0;
	if (!n->base6_done && berth_ipt_setup_base(n->ipt6, !n->opts->userland_proxy, err) < 0)
		return -1;
	n->base6_done = true;
	struct berth_ipt_rules rules = {0};
	if (berth_net_rules6_of(n, net, &rules) < 0) {
		berth_ipt_rules_free(&rules);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	int rc = berth_ipt_apply(n->ipt6, &rules, err);
	berth_ipt_rules_free(&rules);
	return rc;
}

static void v6_teardown(struct berth_netctx *n, struct berth_net *net)
{
	if (!net->v6 || !n->opts->iptables)
		return;
	struct berth_ipt_rules rules = {0};
	if (berth_net_rules6_of(n, net, &rules) == 0)
		berth_ipt_unapply(n->ipt6, &rules);
	berth_ipt_rules_free(&rules);
}

/* Make the bridge (unless it exists), its address, its rules. */
static int net_setup(struct berth_netctx *n, struct berth_net *net, struct berth_error *err)
{
	cleanup_close int fd = berth_nl_open(NULL, err);
	if (fd < 0)
		return -1;
	bool made = false;
	if (!berth_nl_link_index(fd, net->bridge)) {
		if (net->existing)
			return berth_err(err, BERTH_E_INVALID, "bridge device %s not found", net->bridge);
		if (berth_nl_bridge_add(fd, net->bridge, net->mtu, err) < 0)
			return -1;
		made = true;
	}
	struct in_addr have;
	int have_prefix = 0;
	if (berth_nl_addr_get(fd, net->bridge, &have, &have_prefix) < 0) {
		struct in_addr gw = {.s_addr = htonl(net->ipam.gateway)};
		if (berth_nl_addr_add(fd, net->bridge, gw, net->ipam.subnet.prefix, err) < 0)
			goto fail;
	}
	if (net->v6 && v6_setup(n, net, fd, err) < 0)
		goto fail;
	if (berth_nl_link_set(fd, net->bridge, true, 0, 0, err) < 0)
		goto fail;
	if (!n->opts->userland_proxy) {
		cleanup_free char *p = berth_strdup_printf("/proc/sys/net/ipv4/conf/%s/route_localnet", net->bridge);
		sysctl_write(p, "1");
	}
	if (n->opts->iptables) {
		remove_other_mode(n, net);
		struct berth_ipt_rules rules = {0};
		if (berth_net_rules_of(n, net, &rules) < 0) {
			berth_err(err, BERTH_E_INTERNAL, "out of memory");
			goto fail;
		}
		int rc = berth_ipt_apply(n->ipt, &rules, err);
		berth_ipt_rules_free(&rules);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	v6_teardown(n, net);
	if (made)
		berth_nl_link_del(fd, net->bridge, NULL);
	return -1;
}

/* The IPv6 part of a network document: EnableIPv6 with an IPv6 subnet in
 * c6 (NULL: none). A new user network with EnableIPv6 needs one (docker has
 * no default IPv6 pool); the default bridge with --ipv6 and no
 * --fixed-cidr-v6 gets only the kernel's link-local addresses. */
static int v6_from_doc(struct berth_netctx *n, struct berth_net *net, json_t *doc, json_t *c6, bool create,
		       struct berth_error *err)
{
	if (!json_is_true(json_object_get(doc, "EnableIPv6")))
		return 0;
	if (!c6) {
		if (create)
			return berth_err(err, BERTH_E_UNAVAILABLE,
					 "could not find an available, non-overlapping IPv6 address pool among the "
					 "defaults to assign to the network");
		return 0;
	}
	const char *s = json_string_value(json_object_get(c6, "Subnet"));
	const char *g = json_string_value(json_object_get(c6, "Gateway"));
	if (berth_v6net_parse(s, &net->sub6) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid subnet %s : invalid CIDR address: %s", s, s);
	net->gw6_off = 1;
	if (g && *g) {
		struct in6_addr ga;
		if (inet_pton(AF_INET6, g, &ga) != 1)
			return berth_err(err, BERTH_E_INVALID, "invalid gateway address %s", g);
		if (berth_v6_offset(&net->sub6, &ga, &net->gw6_off) < 0)
			return berth_err(err, BERTH_E_INVALID, "no matching subnet for gateway %s", g);
	}
	if (berth_v6_ipam_init(&net->ipam6, &net->sub6, net->gw6_off, err) < 0)
		return -1;
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &net->sub6.addr, a, sizeof(a));
	snprintf(net->subnet6, sizeof(net->subnet6), "%s/%d", a, net->sub6.prefix);
	net->v6 = true;
	if (create && !(g && *g)) {
		struct in6_addr gw;
		berth_v6_at(&net->sub6, net->gw6_off, &gw);
		inet_ntop(AF_INET6, &gw, a, sizeof(a));
		json_object_set_new(c6, "Gateway", json_string(a));
	}
	(void)n;
	return 0;
}

/* Build a network from its document (no I/O). */
static struct berth_net *net_from_doc(struct berth_netctx *n, json_t *doc, bool create, struct berth_error *err)
{
	const char *id = json_string_value(json_object_get(doc, "Id"));
	const char *name = json_string_value(json_object_get(doc, "Name"));
	if (!id || !name || strlen(id) < 12)
		return berth_err(err, BERTH_E_INVALID, "network document without Id or Name"), NULL;
	const char *drv = json_string_value(json_object_get(doc, "Driver"));
	if (drv && *drv && strcmp(drv, "bridge"))
		return berth_err(err, BERTH_E_INVALID, "network driver %s is not supported (only bridge)", drv), NULL;
	struct berth_net *net = calloc(1, sizeof(*net));
	if (!net)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory"), NULL;
	snprintf(net->id, sizeof(net->id), "%s", id);
	snprintf(net->name, sizeof(net->name), "%s", name);
	const char *br = opt_str(doc, "com.docker.network.bridge.name");
	if (br && (strlen(br) > 15 || !*br || strchr(br, '/') || strchr(br, ' '))) {
		berth_err(err, BERTH_E_INVALID, "invalid bridge name: %s", br);
		goto fail;
	}
	if (br)
		snprintf(net->bridge, sizeof(net->bridge), "%s", br);
	else
		snprintf(net->bridge, sizeof(net->bridge), "br-%.12s", id);
	net->icc = opt_bool(doc, "com.docker.network.bridge.enable_icc", true);
	net->masq = opt_bool(doc, "com.docker.network.bridge.enable_ip_masquerade", true);
	net->internal = json_is_true(json_object_get(doc, "Internal"));
	const char *mtu = opt_str(doc, "com.docker.network.driver.mtu");
	net->mtu = mtu ? atoi(mtu) : n->opts->mtu;
	json_t *ipam = json_object_get(doc, "IPAM");
	json_t *cfgs = json_object_get(ipam, "Config");
	json_t *c0 = NULL, *c6 = NULL;
	size_t n4 = 0, n6 = 0, ci;
	json_t *cv;
	json_array_foreach(cfgs, ci, cv) {
		const char *cs = json_string_value(json_object_get(cv, "Subnet"));
		if (cs && strchr(cs, ':')) {
			if (!n6++)
				c6 = cv;
		} else if (!n4++) {
			c0 = cv;
		}
	}
	struct berth_v4net subnet = {0}, range = {0};
	const char *s = json_string_value(json_object_get(c0, "Subnet"));
	const char *r = json_string_value(json_object_get(c0, "IPRange"));
	const char *g = json_string_value(json_object_get(c0, "Gateway"));
	if (n6 > 1) {
		berth_err(err, BERTH_E_INVALID, "more than one IPv6 pool per network is not supported yet");
		goto fail;
	}
	if (v6_from_doc(n, net, doc, c6, create, err) < 0)
		goto fail;
	if (n4 > 1) {
		berth_err(err, BERTH_E_INVALID, "more than one IPv4 pool per network is not supported yet");
		goto fail;
	}
	if (s && *s) {
		if (berth_v4net_parse(s, &subnet, true) < 0) {
			berth_err(err, BERTH_E_INVALID, "invalid subnet %s : invalid CIDR address: %s", s, s);
			goto fail;
		}
		subnet.addr &= berth_v4_mask(subnet.prefix);
	} else {
		if (!create) {
			berth_err(err, BERTH_E_INVALID, "network %s has no subnet", name);
			goto fail;
		}
		struct berth_v4net *used = calloc(n->nnets + 1, sizeof(*used));
		for (size_t i = 0; used && i < n->nnets; i++)
			used[i] = n->nets[i]->ipam.subnet;
		int rc = used ? berth_pools_pick(n->pools, n->npools, used, n->nnets, berth_net_route_taken, n,
						 &subnet) :
				-1;
		free(used);
		if (rc < 0) {
			berth_err(
				err, BERTH_E_UNAVAILABLE,
				"could not find an available, non-overlapping IPv4 address pool among the defaults to "
				"assign to the network");
			goto fail;
		}
	}
	if (r && *r && berth_v4net_parse(r, &range, true) < 0) {
		berth_err(err, BERTH_E_INVALID, "invalid ip-range %s", r);
		goto fail;
	}
	uint32_t gw = subnet.addr + 1;
	if (g && *g && berth_v4addr_parse(g, &gw) < 0) {
		berth_err(err, BERTH_E_INVALID, "invalid gateway address %s", g);
		goto fail;
	}
	if (g && *g && !berth_v4net_contains(&subnet, gw)) {
		berth_err(err, BERTH_E_INVALID, "no matching subnet for gateway %s", g);
		goto fail;
	}
	if (berth_ipam_init(&net->ipam, &subnet, r && *r ? &range : NULL, gw, err) < 0)
		goto fail;
	char a[20];
	berth_v4_fmt(subnet.addr, a, sizeof(a));
	snprintf(net->subnet, sizeof(net->subnet), "%s/%d", a, subnet.prefix);
	if (create) {
		for (size_t i = 0; i < n->nnets; i++) {
			if (berth_v4net_overlap(&n->nets[i]->ipam.subnet, &subnet)) {
				berth_err(err, BERTH_E_FORBIDDEN, "Pool overlaps with other one on this address space");
				goto fail;
			}
			if (net->v6 && n->nets[i]->v6 && berth_v6net_overlap(&n->nets[i]->sub6, &net->sub6)) {
				berth_err(err, BERTH_E_FORBIDDEN, "Pool overlaps with other one on this address space");
				goto fail;
			}
			if (!strcmp(n->nets[i]->bridge, net->bridge)) {
				berth_err(err, BERTH_E_CONFLICT, "bridge %s is already used by network %s", net->bridge,
					  n->nets[i]->name);
				goto fail;
			}
		}
		/* write what was picked into the document, as docker shows it */
		char gws[20];
		berth_v4_fmt(gw, gws, sizeof(gws));
		if (!json_is_object(ipam)) {
			ipam = json_pack("{s:s, s:o, s:[]}", "Driver", "default", "Options", json_object(), "Config");
			json_object_set_new(doc, "IPAM", ipam);
		}
		if (!json_is_array(json_object_get(ipam, "Config")))
			json_object_set_new(ipam, "Config", json_array());
		cfgs = json_object_get(ipam, "Config");
		if (!c0) {
			c0 = json_object();
			json_array_insert_new(cfgs, 0, c0);
		}
		json_object_set_new(c0, "Subnet", json_string(net->subnet));
		json_object_set_new(c0, "Gateway", json_string(gws));
	}
	net->doc = json_incref(doc);
	return net;
fail:
	net_free(net);
	return NULL;
}

bool berth_net_route_taken(void *ctx, const struct berth_v4net *cand)
{
	(void)ctx;
	int fd = berth_nl_open(NULL, NULL);
	if (fd < 0)
		return false;
	bool hit = berth_nl_route_overlaps(fd, (struct in_addr){htonl(cand->addr)}, cand->prefix);
	close(fd);
	return hit;
}

int berth_net_network_add(struct berth_netctx *n, json_t *doc, bool create, struct berth_error *err)
{
	pthread_mutex_lock(&n->mu);
	int rc = -1;
	const char *id = json_string_value(json_object_get(doc, "Id"));
	if (id && berth_net_find(n, id)) {
		if (create)
			berth_err(err, BERTH_E_CONFLICT, "network with name %s already exists",
				  json_string_value(json_object_get(doc, "Name")));
		else
			rc = 0;
		goto out;
	}
	struct berth_net *net = net_from_doc(n, doc, create, err);
	if (!net)
		goto out;
	struct berth_net **nv = realloc(n->nets, (n->nnets + 1) * sizeof(*nv));
	if (!nv) {
		net_free(net);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	n->nets = nv;
	if (net_setup(n, net, err) < 0) {
		net_free(net);
		goto out;
	}
	n->nets[n->nnets++] = net;
	rc = 0;
out:
	pthread_mutex_unlock(&n->mu);
	return rc;
}

static void net_teardown(struct berth_netctx *n, struct berth_net *net)
{
	v6_teardown(n, net);
	if (n->opts->iptables) {
		struct berth_ipt_rules rules = {0};
		if (berth_net_rules_of(n, net, &rules) == 0)
			berth_ipt_unapply(n->ipt, &rules);
		berth_ipt_rules_free(&rules);
	}
	if (!net->existing) {
		int fd = berth_nl_open(NULL, NULL);
		if (fd >= 0) {
			berth_nl_link_del(fd, net->bridge, NULL);
			close(fd);
		}
	}
}

int berth_net_network_remove(struct berth_netctx *n, const char *id_or_name, struct berth_error *err)
{
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, id_or_name);
	int rc = -1;
	if (!net) {
		berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", id_or_name);
	} else if (net->nendpoints > 0) {
		berth_err(err, BERTH_E_FORBIDDEN, "error while removing network: network %s id %s has active endpoints",
			  net->name, net->id);
	} else {
		net_teardown(n, net);
		for (size_t i = 0; i < n->nnets; i++)
			if (n->nets[i] == net)
				n->nets[i] = n->nets[--n->nnets];
		net_free(net);
		rc = 0;
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

json_t *berth_net_network_get(struct berth_netctx *n, const char *id_or_name, struct berth_error *err)
{
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, id_or_name);
	json_t *doc = net ? json_incref(net->doc) : NULL;
	pthread_mutex_unlock(&n->mu);
	if (!doc)
		berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", id_or_name);
	return doc;
}

json_t *berth_net_default_network(struct berth_netctx *n)
{
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, BERTH_NET_DEFAULT_NAME);
	json_t *doc = net && net->is_default ? json_incref(net->doc) : NULL;
	pthread_mutex_unlock(&n->mu);
	return doc;
}

/* The default bridge's document: -b (existing, its address), else
 * berth0 (or --default-bridge-name) with --bip or a free pool. */
static json_t *default_doc(struct berth_netctx *n, bool *existing, struct berth_error *err)
{
	const struct berth_net_opts *o = n->opts;
	const char *br = o->bridge && *o->bridge ? o->bridge :
			 o->default_bridge_name  ? o->default_bridge_name :
						   BERTH_NET_DEFAULT_BRIDGE;
	*existing = o->bridge && *o->bridge;
	if (*existing && o->bip)
		return berth_err(err, BERTH_E_INVALID,
				 "You specified -b & --bip, mutually exclusive options. Please specify only one"),
		       NULL;
	cleanup_close int fd = berth_nl_open(NULL, err);
	if (fd < 0)
		return NULL;
	char subnet[32] = "", gw[20] = "";
	struct in_addr have;
	int prefix = 0;
	bool has_addr = berth_nl_link_index(fd, br) && berth_nl_addr_get(fd, br, &have, &prefix) == 0;
	if (*existing && !berth_nl_link_index(fd, br))
		return berth_err(err, BERTH_E_INVALID, "bridge device %s not found (-b needs an existing bridge)", br),
		       NULL;
	if (*existing && !has_addr)
		return berth_err(err, BERTH_E_INVALID, "bridge %s has no IPv4 address", br), NULL;
	if (o->bip) {
		struct berth_v4net b;
		berth_v4net_parse(o->bip, &b, true);
		berth_v4_fmt(b.addr, gw, sizeof(gw));
		char na[20];
		berth_v4_fmt(b.addr & berth_v4_mask(b.prefix), na, sizeof(na));
		snprintf(subnet, sizeof(subnet), "%s/%d", na, b.prefix);
	} else if (has_addr) {
		uint32_t a = ntohl(have.s_addr);
		berth_v4_fmt(a, gw, sizeof(gw));
		char na[20];
		berth_v4_fmt(a & berth_v4_mask(prefix), na, sizeof(na));
		snprintf(subnet, sizeof(subnet), "%s/%d", na, prefix);
	} else {
		struct berth_v4net *used = calloc(n->nnets + 1, sizeof(*used));
		struct berth_v4net pick;
		for (size_t i = 0; used && i < n->nnets; i++)
			used[i] = n->nets[i]->ipam.subnet;
		int rc = used ? berth_pools_pick(n->pools, n->npools, used, n->nnets, berth_net_route_taken, n, &pick) :
				-1;
		free(used);
		if (rc < 0)
			return berth_err(
				       err, BERTH_E_UNAVAILABLE,
				       "could not find an available, non-overlapping IPv4 address pool among the defaults "
				       "to assign to the network"),
			       NULL;
		char na[20];
		berth_v4_fmt(pick.addr, na, sizeof(na));
		berth_v4_fmt(pick.addr + 1, gw, sizeof(gw));
		snprintf(subnet, sizeof(subnet), "%s/%d", na, pick.prefix);
	}
	char id[BERTH_DIGEST_LEN + 1];
	cleanup_free char *seed = berth_strdup_printf("berth default bridge %s %s", br, subnet);
	berth_sha256_digest(seed, strlen(seed), id);
	json_t *cfg0 = json_pack("{s:s, s:s}", "Subnet", subnet, "Gateway", gw);
	if (o->fixed_cidr)
		json_object_set_new(cfg0, "IPRange", json_string(o->fixed_cidr));
	char mtu[16];
	snprintf(mtu, sizeof(mtu), "%d", o->mtu ? o->mtu : 1500);
	json_t *cfg6 = o->ipv6 && o->fixed_cidr_v6 ? json_pack("{s:s}", "Subnet", o->fixed_cidr_v6) : NULL;
	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:[o]}, s:b, s:b, s:b, s:{s:s}, s:b, s:{s:s, "
		"s:s, s:s, s:s, s:s, s:s}, s:o}",
		"Name", BERTH_NET_DEFAULT_NAME, "Id", berth_digest_hex(id), "Created", "", "Scope", "local", "Driver",
		"bridge", "EnableIPv6", o->ipv6, "IPAM", "Driver", "default", "Options", "Config", cfg0, "Internal", 0,
		"Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Options",
		"com.docker.network.bridge.default_bridge", "true", "com.docker.network.bridge.enable_icc",
		o->icc ? "true" : "false", "com.docker.network.bridge.enable_ip_masquerade",
		o->ip_masq ? "true" : "false", "com.docker.network.bridge.host_binding_ipv4", n->default_ip,
		"com.docker.network.bridge.name", br, "com.docker.network.driver.mtu", mtu, "Labels", json_object());
	if (doc && cfg6)
		json_array_append(json_object_get(json_object_get(doc, "IPAM"), "Config"), cfg6);
	json_decref(cfg6);
	return doc;
}

struct berth_netctx *berth_net_open(const struct berth_net_opts *opts, const char *exec_root, const char *proxy_path,
				    struct berth_log *log, struct berth_error *err)
{
	struct berth_netctx *n = calloc(1, sizeof(*n));
	if (!n)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory"), NULL;
	pthread_mutex_init(&n->mu, NULL);
	n->opts = opts;
	n->log = log;
	n->ipt = "iptables";
	n->ipt6 = "ip6tables";
	n->netns_dir = berth_strdup_printf("%s/netns", exec_root);
	n->ep_dir = berth_strdup_printf("%s/network/endpoints", exec_root);
	n->proxy_path = strdup(opts->userland_proxy_path ? opts->userland_proxy_path :
			       proxy_path                ? proxy_path :
							   "berth-proxy");
	if (!n->netns_dir || !n->ep_dir || !n->proxy_path) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto fail;
	}
	snprintf(n->default_ip, sizeof(n->default_ip), "0.0.0.0");
	if (opts->default_ip &&
	    berth_host_ip_canon(opts->default_ip, n->default_ip, sizeof(n->default_ip), &n->default_ip6) < 0) {
		berth_err(err, BERTH_E_INVALID, "invalid IP address: %s", opts->default_ip);
		goto fail;
	}
	if (berth_pools_from_json(opts->default_addr_pools, &n->pools, &n->npools, err) < 0)
		goto fail;
	if (berth_mkdir_p(n->netns_dir, 0755, err) < 0 || berth_mkdir_p(n->ep_dir, 0700, err) < 0)
		goto fail;
	bool enabled = !(opts->bridge && !strcmp(opts->bridge, "none"));
	if (opts->ip_forward && enabled && sysctl_write("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		berth_log(log, BERTH_LOG_WARN, "cannot enable IPv4 forwarding");
	if (opts->iptables && enabled && berth_ipt_setup_base(n->ipt, !opts->userland_proxy, err) < 0)
		goto fail;
	if (enabled) {
		bool existing = false;
		json_t *doc = default_doc(n, &existing, err);
		if (!doc)
			goto fail;
		int rc = berth_net_network_add(n, doc, false, err);
		json_decref(doc);
		if (rc < 0)
			goto fail;
		n->nets[n->nnets - 1]->existing = existing;
		n->nets[n->nnets - 1]->is_default = true;
	}
	return n;
fail:
	berth_net_close(n);
	return NULL;
}

void berth_net_close(struct berth_netctx *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nnets; i++)
		net_free(n->nets[i]);
	free(n->nets);
	free(n->pools);
	berth_ports_free(&n->ports);
	free(n->netns_dir);
	free(n->ep_dir);
	free(n->proxy_path);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* ---- sandboxes ---- */

char *berth_net_sandbox_path(struct berth_netctx *n, const char *container_id)
{
	return berth_strdup_printf("%s/%.12s", n->netns_dir, container_id);
}

struct sb_job {
	const char *path;
	int err;
};

static void *sandbox_thread(void *arg)
{
	struct sb_job *j = arg;
	/* this thread's own network namespace; the thread ends right after */
	if (unshare(CLONE_NEWNET) < 0) {
		j->err = errno;
		return NULL;
	}
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/task/%ld/ns/net", (long)gettid());
	if (mount(self, j->path, NULL, MS_BIND, NULL) < 0)
		j->err = errno;
	return NULL;
}

static bool is_nsfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == 0x6e736673; /* NSFS_MAGIC */
}

char *berth_net_sandbox_create(struct berth_netctx *n, const char *container_id, struct berth_error *err)
{
	char *path = berth_net_sandbox_path(n, container_id);
	if (!path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory"), NULL;
	if (is_nsfs(path))
		return path;
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "create sandbox %s", path);
		free(path);
		return NULL;
	}
	close(fd);
	struct sb_job j = {.path = path};
	pthread_t t;
	if (pthread_create(&t, NULL, sandbox_thread, &j) != 0) {
		j.err = EAGAIN;
	} else {
		pthread_join(t, NULL);
	}
	if (j.err) {
		berth_err_sys(err, BERTH_E_INTERNAL, j.err, "create network namespace %s", path);
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

void berth_net_sandbox_remove(struct berth_netctx *n, const char *container_id)
{
	cleanup_free char *path = berth_net_sandbox_path(n, container_id);
	if (!path)
		return;
	for (int i = 0; i < 4 && is_nsfs(path); i++)
		umount2(path, MNT_DETACH);
	unlink(path);
}
