/* The container side of networks.h: NetworkSettings.Networks entries at
 * create, connect/disconnect, the embedded DNS servers and their name table,
 * legacy links (hosts entries, environment). */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_net.h"
#include "daemon/daemon.h"
#include "daemon/networks.h"
#include "daemon/networks_int.h"
#include "network/dns.h"
#include "network/network.h"
#include "runtime/jget.h"

static json_t *empty_endpoint(void)
{
	return json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig", "Links",
			 "Aliases", "NetworkID", "", "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
			 "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "MacAddress", "",
			 "DriverOpts");
}

/* Is ip inside one of the network's configured subnets? family from ip. */
static bool ip_in_subnets(json_t *net, const char *ip)
{
	unsigned char a[16], s[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, ip, a) != 1)
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(jarr(jobj(net, "IPAM"), "Config"), i, c) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", jstr(c, "Subnet") ? jstr(c, "Subnet") : "");
		char *slash = strchr(buf, '/');
		if (!slash)
			continue;
		*slash = '\0';
		int p = atoi(slash + 1);
		if (inet_pton(fam, buf, s) != 1)
			continue;
		bool ok = true;
		for (int b = 0; b < p && ok; b++)
			ok = ((a[b / 8] ^ s[b / 8]) & (0x80 >> (b % 8))) == 0;
		if (ok)
			return true;
	}
	return false;
}

static bool has_user_subnet(json_t *net) { return json_array_size(jarr(jobj(net, "IPAM"), "Config")) > 0; }

/* Check an EndpointConfig against its network; fills the entry. */
static int endpoint_from_config(json_t *net, json_t *epc, const char *short_id, json_t **out, struct berth_error *err)
{
	bool user = berth_nw_user_defined(net);
	json_t *ipam = jobj(epc, "IPAMConfig");
	const char *v4 = jstr_ne(ipam, "IPv4Address") ? jstr(ipam, "IPv4Address") : NULL;
	const char *v6 = jstr_ne(ipam, "IPv6Address") ? jstr(ipam, "IPv6Address") : NULL;
	unsigned char a[16];
	if (v4 && inet_pton(AF_INET, v4, a) != 1)
		return berth_err(err, BERTH_E_INVALID, "invalid IPv4 address: %s", v4);
	if (v6 && inet_pton(AF_INET6, v6, a) != 1)
		return berth_err(err, BERTH_E_INVALID, "invalid IPv6 address: %s", v6);
	if ((v4 || v6) && !user)
		return berth_err(err, BERTH_E_INVALID,
				 "user specified IP address is supported on user defined networks only");
	if ((v4 || v6) && !has_user_subnet(net))
		return berth_err(err, BERTH_E_INVALID,
				 "user specified IP address is supported only when connecting to networks with user "
				 "configured subnets");
	if (v4 && !ip_in_subnets(net, v4))
		return berth_err(err, BERTH_E_INVALID, "no configured subnet or ip-range contain the IP address %s",
				 v4);
	if (v6 && !ip_in_subnets(net, v6))
		return berth_err(err, BERTH_E_INVALID, "no configured subnet or ip-range contain the IP address %s",
				 v6);
	if (json_array_size(jarr(epc, "Aliases")) && !user)
		return berth_err(err, BERTH_E_INVALID,
				 "network-scoped alias is supported only for containers in user defined networks");
	json_t *ep = empty_endpoint();
	if (json_is_object(ipam) && json_object_size(ipam))
		json_object_set(ep, "IPAMConfig", ipam);
	if (json_array_size(jarr(epc, "Links")))
		json_object_set(ep, "Links", jarr(epc, "Links"));
	json_t *aliases = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(jarr(epc, "Aliases"), i, v)
		json_array_append(aliases, v);
	if (user && short_id)
		json_array_append_new(aliases, json_string(short_id));
	if (json_array_size(aliases))
		json_object_set_new(ep, "Aliases", aliases);
	else
		json_decref(aliases);
	if (json_is_object(jobj(epc, "DriverOpts")) && json_object_size(jobj(epc, "DriverOpts")))
		json_object_set(ep, "DriverOpts", jobj(epc, "DriverOpts"));
	json_object_set_new(ep, "NetworkID", json_string(jstr(net, "Id")));
	*out = ep;
	return 0;
}

int berth_networks_container_create(struct berth_daemon *d, json_t *hc, json_t *networking_config, json_t *nets,
				    struct berth_error *err)
{
	const char *nm = jstr(hc, "NetworkMode");
	if (!nm || !strncmp(nm, "container:", 10))
		return 0;
	json_t *epcs = jobj(networking_config, "EndpointsConfig");
	const char *key = !strcmp(nm, "default") ? "bridge" : nm;
	char short_id[13] = "";
	/* the caller's id is not known here: the short-ID alias is added at start */
	cleanup_json json_t *net = berth_nw_find(d, key, err);
	if (!net) {
		if (strcmp(key, "none") && strcmp(key, "host") && strcmp(key, "bridge")) {
			/* 400, not 404: a client pulls the image again on a 404 from create */
			if (err && err->kind == BERTH_E_NOT_FOUND)
				err->kind = BERTH_E_INVALID;
			return -1;
		}
		/* predefined network without a document (no bridge networking) */
		berth_err_clear(err);
		json_object_set_new(nets, key, empty_endpoint());
		return 0;
	}
	const char *name = jstr(net, "Name");
	json_t *epc = jobj(epcs, nm);
	if (!epc)
		epc = jobj(epcs, name);
	json_t *ep = NULL;
	if (endpoint_from_config(net, epc, short_id[0] ? short_id : NULL, &ep, err) < 0)
		return -1;
	json_object_set_new(nets, name, ep);
	const char *k;
	json_t *v;
	json_object_foreach(epcs, k, v) {
		/* "default" is the CLI's name for the default network mode (docker
		 * 28 sends it), which is "none" when the daemon has no bridge */
		if (!strcmp(k, nm) || !strcmp(k, name) || !strcmp(k, "default"))
			continue;
		/* dockerd 20.10 accepts one network at create; the CLI connects the rest */
		cleanup_json json_t *other = berth_nw_find(d, k, err);
		if (!other) {
			if (err && err->kind == BERTH_E_NOT_FOUND)
				err->kind = BERTH_E_INVALID;
			return -1;
		}
		json_t *oep = NULL;
		if (endpoint_from_config(other, v, NULL, &oep, err) < 0)
			return -1;
		json_object_set_new(nets, jstr(other, "Name"), oep);
	}
	return 0;
}

/* ---- connect / disconnect ---- */

static bool running_state(struct berth_container *c)
{
	return c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
}

static int start_dns_locked(struct berth_daemon *d, const char *id, const char *netns, struct berth_error *err);

int berth_networks_connect(struct berth_daemon *d, const char *ref, json_t *body, struct berth_error *err)
{
	cleanup_json json_t *net = berth_nw_find(d, ref, err);
	if (!net)
		return -1;
	const char *cref = jstr(body, "Container");
	struct berth_container *c = berth_container_get(d->containers, cref ? cref : "", err);
	if (!c)
		return -1;
	const char *name = jstr(net, "Name");
	int rc = -1;
	pthread_mutex_lock(&c->opmu);
	pthread_mutex_lock(&d->networks->mu);
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	json_t *hc = jobj(doc, "HostConfig");
	const char *nm = jstr(hc, "NetworkMode") ? jstr(hc, "NetworkMode") : "";
	json_t *nets = jobj(jobj(doc, "NetworkSettings"), "Networks");
	bool running = running_state(c);
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", c->id);
	json_t *ep = NULL;
	if (!doc) {
		/* err says why */
	} else if (!strcmp(nm, "host") || !strcmp(name, "host")) {
		berth_err(err, BERTH_E_FORBIDDEN,
			  "container cannot be disconnected from host network or connected to host network");
	} else if (!strcmp(nm, "none") || !strncmp(nm, "container:", 10) || !strcmp(name, "none")) {
		berth_err(
			err, BERTH_E_FORBIDDEN,
			"container sharing network namespace with another container or host cannot be connected to any "
			"other network");
	} else if (jobj(nets, name)) {
		berth_err(err, BERTH_E_FORBIDDEN, "endpoint with name %s already exists in network %s", c->name + 1,
			  name);
	} else if (endpoint_from_config(net, jobj(body, "EndpointConfig"), short_id, &ep, err) == 0) {
		rc = 0;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc == 0 && running && d->net) {
		json_t *ipam = jobj(ep, "IPAMConfig");
		struct berth_endpoint_req req = {
			.container_id = c->id,
			.container_name = c->name + 1,
			.network = jstr(net, "Id"),
			.ipv4 = jstr_ne(ipam, "IPv4Address") ? jstr(ipam, "IPv4Address") : NULL,
			.ipv6 = jstr_ne(ipam, "IPv6Address") ? jstr(ipam, "IPv6Address") : NULL,
			.link_local_ips = jarr(ipam, "LinkLocalIPs")};
		json_t *got = NULL, *ports = NULL;
		if (berth_net_endpoint_attach(d->net, &req, &got, &ports, err) < 0) {
			rc = -1;
		} else {
			const char *k;
			json_t *v;
			json_object_foreach(got, k, v)
				json_object_set(ep, k, v);
			json_decref(got);
			json_decref(ports);
		}
	}
	if (rc == 0) {
		pthread_mutex_lock(&c->mu);
		nets = jobj(jobj(berth_container_doc_or_log(c, "network not recorded"), "NetworkSettings"), "Networks");
		if (nets)
			json_object_set(nets, name, ep);
		pthread_mutex_unlock(&c->mu);
		berth_container_save_unlocked(d->containers, c, NULL);
		if (running && berth_nw_user_defined(net) && d->net) {
			cleanup_free char *ns = berth_net_sandbox_path(d->net, c->id);
			struct berth_error derr = {0};
			if (ns && start_dns_locked(d, c->id, ns, &derr) < 0)
				berth_log(&d->log, BERTH_LOG_WARN, "embedded DNS for %.12s: %s", c->id, derr.msg);
		}
		json_t *attrs = json_pack("{s:s, s:s, s:s}", "container", c->id, "name", name, "type", "bridge");
		berth_events_emit(d->events, "network", "connect", jstr(net, "Id"), attrs);
		json_decref(attrs);
	}
	json_decref(ep);
	pthread_mutex_unlock(&d->networks->mu);
	pthread_mutex_unlock(&c->opmu);
	berth_container_put(d->containers, c);
	return rc;
}

int berth_networks_disconnect(struct berth_daemon *d, const char *ref, json_t *body, struct berth_error *err)
{
	cleanup_json json_t *net = berth_nw_find(d, ref, err);
	if (!net)
		return -1;
	const char *cref = jstr(body, "Container");
	bool force = json_is_true(json_object_get(body, "Force"));
	struct berth_container *c = berth_container_get(d->containers, cref ? cref : "", err);
	if (!c)
		return -1;
	const char *name = jstr(net, "Name");
	int rc = 0;
	pthread_mutex_lock(&c->opmu);
	pthread_mutex_lock(&d->networks->mu);
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	json_t *nets = jobj(jobj(doc, "NetworkSettings"), "Networks");
	bool running = running_state(c);
	const char *nm = jstr(jobj(doc, "HostConfig"), "NetworkMode");
	if (!doc)
		rc = -1;
	else if (!strcmp(name, "host") || (nm && !strcmp(nm, "host")))
		rc = berth_err(err, BERTH_E_FORBIDDEN,
			       "container cannot be disconnected from host network or connected to host network");
	else if (!jobj(nets, name))
		rc = berth_err(err, BERTH_E_FORBIDDEN, "container %s is not connected to network %s", c->id, name);
	pthread_mutex_unlock(&c->mu);
	if (rc == 0 && running && d->net) {
		struct berth_error derr = {0};
		if (berth_net_endpoint_detach(d->net, c->id, jstr(net, "Id"), &derr) < 0 && !force &&
		    derr.kind != BERTH_E_NOT_FOUND) {
			*err = derr;
			rc = -1;
		}
	}
	if (rc == 0) {
		pthread_mutex_lock(&c->mu);
		nets = jobj(jobj(berth_container_doc_or_log(c, "network not recorded"), "NetworkSettings"), "Networks");
		json_object_del(nets, name);
		pthread_mutex_unlock(&c->mu);
		berth_container_save_unlocked(d->containers, c, NULL);
		json_t *attrs = json_pack("{s:s, s:s, s:s}", "container", c->id, "name", name, "type", "bridge");
		berth_events_emit(d->events, "network", "disconnect", jstr(net, "Id"), attrs);
		json_decref(attrs);
	}
	pthread_mutex_unlock(&d->networks->mu);
	pthread_mutex_unlock(&c->opmu);
	berth_container_put(d->containers, c);
	return rc;
}

/* ---- embedded DNS ---- */

bool berth_networks_uses_embedded_dns(struct berth_daemon *d, json_t *doc)
{
	(void)d;
	const char *k;
	json_t *v;
	json_object_foreach(jobj(jobj(doc, "NetworkSettings"), "Networks"), k, v) {
		if (!berth_nw_predefined(k))
			return true;
	}
	return false;
}

static int start_dns_locked(struct berth_daemon *d, const char *id, const char *netns, struct berth_error *err)
{
	struct berth_networks *ns = d->networks;
	for (struct berth_nw_dns *s = ns->dns; s; s = s->next)
		if (!strcmp(s->id, id))
			return 0;
	struct berth_nw_dns *e = calloc(1, sizeof(*e));
	if (!e)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->server = berth_dns_start(&ns->dns_ops, id, netns, NULL, 0, &ns->upstreams, NULL, err);
	if (!e->server) {
		free(e);
		return -1;
	}
	e->next = ns->dns;
	ns->dns = e;
	return 0;
}

int berth_networks_container_started(struct berth_daemon *d, const char *container_id, const char *netns_path,
				     struct berth_error *err)
{
	struct berth_container *c = berth_container_get(d->containers, container_id, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		berth_container_put(d->containers, c);
		return -1;
	}
	bool user = berth_networks_uses_embedded_dns(d, doc);
	/* docker's short-ID alias on user networks */
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", c->id);
	const char *k;
	json_t *ep;
	json_object_foreach(jobj(jobj(doc, "NetworkSettings"), "Networks"), k, ep) {
		if (berth_nw_predefined(k))
			continue;
		json_t *al = jarr(ep, "Aliases");
		bool have = false;
		size_t i;
		json_t *v;
		json_array_foreach(al, i, v)
			have = have || !strcmp(json_string_value(v), short_id);
		if (have)
			continue;
		if (!al) {
			al = json_array();
			json_object_set_new(ep, "Aliases", al);
		}
		json_array_append_new(al, json_string(short_id));
	}
	pthread_mutex_unlock(&c->mu);
	berth_container_put(d->containers, c);
	if (!user)
		return 0;
	pthread_mutex_lock(&d->networks->mu);
	int rc = start_dns_locked(d, container_id, netns_path, err);
	pthread_mutex_unlock(&d->networks->mu);
	return rc;
}

void berth_networks_container_stopped(struct berth_daemon *d, const char *container_id)
{
	struct berth_networks *ns = d->networks;
	if (!ns)
		return;
	struct berth_nw_dns *found = NULL;
	pthread_mutex_lock(&ns->mu);
	for (struct berth_nw_dns **pp = &ns->dns; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->id, container_id)) {
			found = *pp;
			*pp = found->next;
			break;
		}
	}
	pthread_mutex_unlock(&ns->mu);
	if (found) {
		berth_dns_stop(found->server);
		free(found);
	}
}

static bool split_link(const char *l, char *name, size_t nl, char *alias, size_t al);

/* The user networks of a container, a new array of names. links (may be
 * NULL): --link name:alias on a user network (NetworkSettings.Networks.X.Links)
 * is an alias of the linked container in that network's DNS for the linking
 * container only (libnetwork's endpoint aliases): a new object network name
 * -> {alias (lower case): container name}. */
static json_t *user_networks_of(struct berth_daemon *d, const char *id, json_t **links)
{
	struct berth_error err = {0};
	struct berth_container *c = berth_container_get(d->containers, id, &err);
	if (!c)
		return NULL;
	json_t *out = json_array();
	if (links)
		*links = json_object();
	pthread_mutex_lock(&c->mu);
	const char *k;
	json_t *ep;
	/* unreadable: no user networks (logged) */
	json_object_foreach(
		jobj(jobj(berth_container_doc_or_log(c, "networks unknown"), "NetworkSettings"), "Networks"), k, ep) {
		if (!berth_nw_predefined(k))
			json_array_append_new(out, json_string(k));
		size_t i;
		json_t *v;
		json_array_foreach(links ? jarr(ep, "Links") : NULL, i, v) {
			char name[256], alias[256];
			if (!json_string_value(v) ||
			    !split_link(json_string_value(v), name, sizeof(name), alias, sizeof(alias)))
				continue;
			for (char *p = alias; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (!json_object_get(*links, k))
				json_object_set_new(*links, k, json_object());
			json_object_set_new(json_object_get(*links, k), alias, json_string(name));
		}
	}
	pthread_mutex_unlock(&c->mu);
	berth_container_put(d->containers, c);
	return out;
}

static bool name_matches(struct berth_container *c, json_t *ep, const char *q)
{
	if (!strcasecmp(c->name + 1, q))
		return true;
	if (strlen(q) == 12 && !strncmp(c->id, q, 12))
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(jarr(ep, "Aliases"), i, v) {
		if (json_string_value(v) && !strcasecmp(json_string_value(v), q))
			return true;
	}
	return false;
}

int berth_nw_dns_lookup(void *ctx, const char *key, const char *name, struct berth_dns_addrs *out)
{
	struct berth_daemon *d = ctx;
	cleanup_json json_t *links = NULL;
	cleanup_json json_t *mine = user_networks_of(d, key, &links);
	if (!json_array_size(mine))
		return 0;
	int found = 0;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		if (running_state(c)) {
			size_t j;
			json_t *nv;
			json_array_foreach(mine, j, nv) {
				const char *netname = json_string_value(nv);
				json_t *ep = jobj(
					jobj(jobj(berth_container_doc_or_log(c, "not resolved"), "NetworkSettings"),
					     "Networks"),
					netname);
				if (!ep || !jstr_ne(ep, "IPAddress"))
					continue;
				/* "name" or "name.network" */
				char q[256];
				snprintf(q, sizeof(q), "%s", name);
				size_t ql = strlen(q), nl = strlen(netname);
				if (ql > nl + 1 && q[ql - nl - 1] == '.' && !strcasecmp(q + ql - nl, netname))
					q[ql - nl - 1] = '\0';
				char lq[256];
				snprintf(lq, sizeof(lq), "%s", q);
				for (char *p = lq; *p; p++)
					*p = (char)tolower((unsigned char)*p);
				const char *linked = json_string_value(json_object_get(jobj(links, netname), lq));
				if (linked ? strcasecmp(c->name + 1, linked) : !name_matches(c, ep, q))
					continue;
				found = 1;
				if (out->n4 < BERTH_DNS_MAX_ADDRS &&
				    inet_pton(AF_INET, jstr(ep, "IPAddress"), &out->v4[out->n4]) == 1)
					out->n4++;
				if (jstr_ne(ep, "GlobalIPv6Address") && out->n6 < BERTH_DNS_MAX_ADDRS &&
				    inet_pton(AF_INET6, jstr(ep, "GlobalIPv6Address"), &out->v6[out->n6]) == 1)
					out->n6++;
			}
		}
		pthread_mutex_unlock(&c->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return found;
}

int berth_nw_dns_ptr(void *ctx, const char *key, int family, const void *addr, char *name, size_t len)
{
	struct berth_daemon *d = ctx;
	cleanup_json json_t *mine = user_networks_of(d, key, NULL);
	if (!json_array_size(mine))
		return 0;
	char want[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, addr, want, sizeof(want)))
		return 0;
	int found = 0;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	for (size_t i = 0; i < n && !found; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		size_t j;
		json_t *nv;
		json_array_foreach(mine, j, nv) {
			const char *netname = json_string_value(nv);
			if (!running_state(c)) /* before the document: a stopped one is not read */
				break;
			json_t *ep = jobj(jobj(jobj(berth_container_doc_or_log(c, "not resolved"), "NetworkSettings"),
					       "Networks"),
					  netname);
			const char *ip = jstr(ep, family == AF_INET ? "IPAddress" : "GlobalIPv6Address");
			if (ip && !strcmp(ip, want)) {
				snprintf(name, len, "%s.%s", c->name + 1, netname);
				found = 1;
				break;
			}
		}
		pthread_mutex_unlock(&c->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return found;
}

/* ---- legacy links ---- */

/* "name:alias" (API) or "/name:/ctr/alias" (stored) -> name, alias. */
static bool split_link(const char *l, char *name, size_t nl, char *alias, size_t al)
{
	const char *colon = strchr(l, ':');
	const char *n = l[0] == '/' ? l + 1 : l;
	if (colon) {
		snprintf(name, nl, "%.*s", (int)(colon - n), n);
		const char *a = strrchr(colon + 1, '/');
		snprintf(alias, al, "%s", a ? a + 1 : colon + 1);
	} else {
		snprintf(name, nl, "%s", n);
		snprintf(alias, al, "%s", n);
	}
	return name[0] && alias[0];
}

/* The linked container's address on the default bridge, its exposed ports,
 * env and short id. */
struct link_target {
	char ip[64], id12[13], name[256];
	json_t *ports; /* ["80/tcp", ...] sorted */
	json_t *env;
};

static int link_target(struct berth_daemon *d, const char *name, struct link_target *t)
{
	struct berth_error err = {0};
	struct berth_container *c = berth_container_get(d->containers, name, &err);
	if (!c)
		return -1;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc_or_log(c, "link target unknown");
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		berth_container_put(d->containers, c);
		return -1;
	}
	json_t *nets = jobj(jobj(doc, "NetworkSettings"), "Networks");
	const char *ip = jstr(jobj(nets, "bridge"), "IPAddress");
	snprintf(t->ip, sizeof(t->ip), "%s", ip ? ip : "");
	snprintf(t->id12, sizeof(t->id12), "%.12s", c->id);
	snprintf(t->name, sizeof(t->name), "%s", c->name + 1);
	t->ports = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(jobj(jobj(doc, "Config"), "ExposedPorts"), k, v)
		json_array_append_new(t->ports, json_string(k));
	t->env = json_deep_copy(jarr(jobj(doc, "Config"), "Env"));
	pthread_mutex_unlock(&c->mu);
	berth_container_put(d->containers, c);
	return 0;
}

/* Links give hosts entries and variables on the default bridge only; on a
 * user network they are DNS aliases (user_networks_of). */
static bool legacy_links(json_t *doc)
{
	return berth_ctr_net_uses_bridge(jstr(jobj(doc, "HostConfig"), "NetworkMode"));
}

json_t *berth_networks_link_hosts(struct berth_daemon *d, json_t *doc)
{
	json_t *out = json_array();
	if (!legacy_links(doc))
		return out;
	size_t i;
	json_t *v;
	json_array_foreach(jarr(jobj(doc, "HostConfig"), "Links"), i, v) {
		char name[256], alias[256];
		if (!json_string_value(v) ||
		    !split_link(json_string_value(v), name, sizeof(name), alias, sizeof(alias)))
			continue;
		struct link_target t = {0};
		if (link_target(d, name, &t) < 0)
			continue;
		if (t.ip[0]) {
			char *line = strcmp(alias, t.name) ?
					     berth_strdup_printf("%s\t%s %s %s", t.ip, alias, t.id12, t.name) :
					     berth_strdup_printf("%s\t%s %s", t.ip, alias, t.id12);
			json_array_append_new(out, json_string(line));
			free(line);
		}
		json_decref(t.ports);
		json_decref(t.env);
	}
	return out;
}

json_t *berth_networks_link_inspect(struct berth_daemon *d, json_t *doc)
{
	json_t *links = jarr(jobj(doc, "HostConfig"), "Links");
	if (!legacy_links(doc) || !json_array_size(links))
		return json_null();
	const char *self = jstr(doc, "Name") ? jstr(doc, "Name") : "/";
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(links, i, v) {
		char name[256], alias[256];
		if (!json_string_value(v) ||
		    !split_link(json_string_value(v), name, sizeof(name), alias, sizeof(alias)))
			continue;
		struct berth_container *t = berth_container_get(d->containers, name, NULL);
		if (!t)
			continue; /* gone: dockerd's link graph lost it with the container */
		pthread_mutex_lock(&t->mu);
		char *s = berth_strdup_printf("%s:%s/%s", t->name, self, alias);
		pthread_mutex_unlock(&t->mu);
		berth_container_put(d->containers, t);
		json_array_append_new(out, json_string(s));
		free(s);
	}
	if (json_array_size(out))
		return out;
	json_decref(out);
	return json_null();
}

static int port_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a), *y = json_string_value(*(json_t *const *)b);
	int px = atoi(x), py = atoi(y);
	return px != py ? (px < py ? -1 : 1) : strcmp(x, y);
}

json_t *berth_networks_link_env(struct berth_daemon *d, json_t *doc)
{
	json_t *out = json_array();
	if (!legacy_links(doc))
		return out;
	const char *self = jstr(doc, "Name") ? jstr(doc, "Name") : "/";
	size_t i;
	json_t *v;
	json_array_foreach(jarr(jobj(doc, "HostConfig"), "Links"), i, v) {
		char name[256], alias[256];
		if (!json_string_value(v) ||
		    !split_link(json_string_value(v), name, sizeof(name), alias, sizeof(alias)))
			continue;
		struct link_target t = {0};
		if (link_target(d, name, &t) < 0 || !t.ip[0]) {
			json_decref(t.ports);
			json_decref(t.env);
			continue;
		}
		char A[256];
		size_t k = 0;
		for (; alias[k] && k < sizeof(A) - 1; k++)
			A[k] = alias[k] == '-' ? '_' : (char)toupper((unsigned char)alias[k]);
		A[k] = '\0';
		char *s = berth_strdup_printf("%s_NAME=%s/%s", A, self, alias);
		json_array_append_new(out, json_string(s));
		free(s);
		size_t np = json_array_size(t.ports);
		json_t **pv = np ? calloc(np, sizeof(*pv)) : NULL;
		for (size_t p = 0; pv && p < np; p++)
			pv[p] = json_array_get(t.ports, p);
		if (pv)
			qsort(pv, np, sizeof(*pv), port_cmp);
		for (size_t p = 0; pv && p < np; p++) {
			int port = atoi(json_string_value(pv[p]));
			const char *slash = strchr(json_string_value(pv[p]), '/');
			const char *proto = slash ? slash + 1 : "tcp";
			char P[16];
			size_t q = 0;
			for (; proto[q] && q < sizeof(P) - 1; q++)
				P[q] = (char)toupper((unsigned char)proto[q]);
			P[q] = '\0';
			if (p == 0) {
				s = berth_strdup_printf("%s_PORT=%s://%s:%d", A, proto, t.ip, port);
				json_array_append_new(out, json_string(s));
				free(s);
			}
			char *lines[4] = {
				berth_strdup_printf("%s_PORT_%d_%s=%s://%s:%d", A, port, P, proto, t.ip, port),
				berth_strdup_printf("%s_PORT_%d_%s_ADDR=%s", A, port, P, t.ip),
				berth_strdup_printf("%s_PORT_%d_%s_PORT=%d", A, port, P, port),
				berth_strdup_printf("%s_PORT_%d_%s_PROTO=%s", A, port, P, proto)};
			for (int l = 0; l < 4; l++) {
				json_array_append_new(out, json_string(lines[l]));
				free(lines[l]);
			}
		}
		free(pv);
		json_array_foreach(t.env, k, v) {
			const char *e = json_string_value(v);
			const char *eq = e ? strchr(e, '=') : NULL;
			if (!eq || !strncmp(e, "HOME=", 5) || !strncmp(e, "PATH=", 5))
				continue;
			s = berth_strdup_printf("%s_ENV_%s", A, e);
			json_array_append_new(out, json_string(s));
			free(s);
		}
		json_decref(t.ports);
		json_decref(t.env);
	}
	return out;
}

void berth_networks_restore(struct berth_daemon *d)
{
	if (!d->networks || !d->net)
		return;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool want = running_state(c) &&
			    berth_networks_uses_embedded_dns(d, berth_container_doc_or_log(c, "no embedded DNS"));
		pthread_mutex_unlock(&c->mu);
		if (!want)
			continue;
		cleanup_free char *ns = berth_net_sandbox_path(d->net, c->id);
		struct berth_error err = {0};
		pthread_mutex_lock(&d->networks->mu);
		if (ns && start_dns_locked(d, c->id, ns, &err) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "embedded DNS for %.12s: %s", c->id, err.msg);
		pthread_mutex_unlock(&d->networks->mu);
	}
	berth_container_list_free(d->containers, all, n);
}

int berth_networks_remove_link(struct berth_daemon *d, const char *name, struct berth_error *err)
{
	char full[512];
	snprintf(full, sizeof(full), "%s%s", name[0] == '/' ? "" : "/", name);
	char *slash = strrchr(full, '/');
	if (slash == full)
		return berth_err(err, BERTH_E_INVALID,
				 "Conflict, cannot remove the default link name of the container");
	*slash = '\0';
	const char *alias = slash + 1;
	struct berth_container *c = berth_container_get(d->containers, full, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		berth_container_put(d->containers, c);
		return -1;
	}
	json_t *hc = jobj(doc, "HostConfig");
	json_t *links = jarr(hc, "Links");
	json_t *keep = json_array();
	bool found = false;
	size_t i;
	json_t *v;
	json_array_foreach(links, i, v) {
		char ln[256], la[256];
		if (json_string_value(v) && split_link(json_string_value(v), ln, sizeof(ln), la, sizeof(la)) &&
		    !strcmp(la, alias))
			found = true;
		else
			json_array_append(keep, v);
	}
	if (found && json_array_size(keep))
		json_object_set_new(hc, "Links", keep);
	else if (found)
		json_object_set_new(hc, "Links", json_null());
	if (!found || !json_array_size(keep))
		json_decref(keep);
	pthread_mutex_unlock(&c->mu);
	int rc = 0;
	if (!found)
		rc = berth_err(err, BERTH_E_NOT_FOUND, "Could not find entity for %s/%s", full, alias);
	else
		rc = berth_container_save_unlocked(d->containers, c, err);
	berth_container_put(d->containers, c);
	return rc;
}
