/* A container's network at start and exit: its network namespace (sandbox),
 * its endpoints (network/network.h), its /etc/hosts, resolv.conf, hostname,
 * and NetworkSettings in its document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/util.h"
#include "daemon/container_net.h"
#include "daemon/daemon.h"
#include "daemon/networks.h"
#include "network/network.h"
#include "runtime/jget.h"

static bool mode_is(const char *m, const char *v) { return m && !strcmp(m, v); }

bool berth_ctr_net_uses_bridge(const char *mode)
{
	return !mode || !*mode || mode_is(mode, "default") || mode_is(mode, "bridge");
}

/* For --network/--ipc/--pid container:<x>: the target's namespace path
 * (ns is "net", "ipc" or "pid"). NULL when the mode is not container:,
 * (char *)-1 with err on a missing or stopped target. */
char *berth_ctr_ns_for(struct berth_daemon *d, const char *mode, const char *ns, struct berth_error *err)
{
	if (!mode || strncmp(mode, "container:", 10))
		return NULL;
	struct berth_container *t = berth_container_get(d->containers, mode + 10, err);
	if (!t)
		return (char *)-1;
	pthread_mutex_lock(&t->mu);
	json_t *tdoc = berth_container_doc(t, err);
	if (!tdoc) {
		pthread_mutex_unlock(&t->mu);
		berth_container_put(d->containers, t);
		return (char *)-1;
	}
	int pid = (int)jint(jobj(tdoc, "State"), "Pid", 0);
	bool running = t->state == CS_RUNNING || t->state == CS_PAUSED;
	char id[65];
	snprintf(id, sizeof(id), "%s", t->id);
	pthread_mutex_unlock(&t->mu);
	berth_container_put(d->containers, t);
	if (!running || pid <= 0) {
		berth_err(err, BERTH_E_CONFLICT, "cannot join %s of a non running container: %s",
			  !strcmp(ns, "net") ? "network" : ns, id);
		return (char *)-1;
	}
	return berth_strdup_printf("/proc/%d/ns/%s", pid, ns);
}

/* The networks a container is attached to at start: its NetworkMode's
 * (default: "bridge") and the other keys of NetworkSettings.Networks. */
static char **networks_of(const char *mode, json_t *nets)
{
	char **v = NULL;
	const char *k;
	json_t *e;
	const char *first = berth_ctr_net_uses_bridge(mode) ? BERTH_NET_DEFAULT_NAME : mode;
	/* --network by ID (or a prefix of it): the endpoint's key is the name */
	if (!json_object_get(nets, first))
		json_object_foreach(nets, k, e) {
			if (jstr_ne(e, "NetworkID") && berth_str_has_prefix(jstr(e, "NetworkID"), first)) {
				first = k;
				break;
			}
		}
	berth_strv_push(&v, first);
	json_object_foreach(nets, k, e) {
		bool have = false;
		for (size_t i = 0; v && v[i] && !have; i++)
			have = !strcmp(v[i], k);
		if (!have && strcmp(k, "default"))
			berth_strv_push(&v, k);
	}
	return v;
}

static void clear_settings(json_t *ns)
{
	static const char *const strs[] = {"SandboxID", "SandboxKey", "EndpointID",  "Gateway",
					   "IPAddress", "MacAddress", "IPv6Gateway", "GlobalIPv6Address"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
		json_object_set_new(ns, strs[i], json_string(""));
	json_object_set_new(ns, "IPPrefixLen", json_integer(0));
	json_object_set_new(ns, "GlobalIPv6PrefixLen", json_integer(0));
	json_object_set_new(ns, "Ports", json_object());
	const char *k;
	json_t *e;
	json_object_foreach(json_object_get(ns, "Networks"), k, e) {
		static const char *const es[] = {"EndpointID", "Gateway",     "IPAddress",
						 "MacAddress", "IPv6Gateway", "GlobalIPv6Address"};
		for (size_t i = 0; i < sizeof(es) / sizeof(*es); i++)
			json_object_set_new(e, es[i], json_string(""));
		json_object_set_new(e, "IPPrefixLen", json_integer(0));
		json_object_set_new(e, "GlobalIPv6PrefixLen", json_integer(0));
	}
}

int berth_ctr_net_prepare(struct berth_daemon *d, struct berth_container *c, json_t *cfg, json_t *hc, char **netns,
			  struct berth_error *err)
{
	*netns = NULL;
	const char *mode = jstr(hc, "NetworkMode");
	bool host = mode_is(mode, "host");
	json_t *def = d->net ? berth_net_default_network(d->net) : NULL;
	bool none = mode_is(mode, "none") || (berth_ctr_net_uses_bridge(mode) && !def);
	json_decref(def);
	/* the paths copied under the lock: the tree is not ours to keep */
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	cleanup_free char *hostname_path = doc && jstr(doc, "HostnamePath") ? strdup(jstr(doc, "HostnamePath")) : NULL;
	cleanup_free char *hosts_path = doc && jstr(doc, "HostsPath") ? strdup(jstr(doc, "HostsPath")) : NULL;
	cleanup_free char *resolv_path =
		doc && jstr(doc, "ResolvConfPath") ? strdup(jstr(doc, "ResolvConfPath")) : NULL;
	pthread_mutex_unlock(&c->mu);
	if (!doc)
		return -1;
	struct berth_net_files files = {.hostname_path = hostname_path,
					.hosts_path = hosts_path,
					.resolv_conf_path = resolv_path,
					.hostname = host ? d->hostname : jstr(cfg, "Hostname"),
					.domainname = jstr(cfg, "Domainname"),
					.host_network = host,
					.extra_hosts = jarr(hc, "ExtraHosts"),
					.dns = jarr(hc, "Dns"),
					.dns_search = jarr(hc, "DnsSearch"),
					.dns_options = jarr(hc, "DnsOptions")};
	if (host) {
		*netns = strdup("host");
		return berth_net_files_write(&files, err);
	}
	if (mode && !strncmp(mode, "container:", 10)) {
		char *p = berth_ctr_ns_for(d, mode, "net", err);
		if (p == (char *)-1)
			return -1;
		*netns = p;
		return berth_net_files_write(&files, err);
	}
	if (none)
		return berth_net_files_write(&files, err); /* a new, empty namespace */
	if (!d->net)
		return berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", mode);
	/* bridge networks: a sandbox, then one endpoint per network */
	char *sb = berth_net_sandbox_create(d->net, c->id, err);
	if (!sb)
		return -1;
	pthread_mutex_lock(&c->mu);
	doc = berth_container_doc(c, err);
	cleanup_json json_t *nets = json_deep_copy(jobj(jobj(doc, "NetworkSettings"), "Networks"));
	pthread_mutex_unlock(&c->mu);
	if (!doc) {
		free(sb);
		berth_net_container_release(d->net, c->id);
		return -1;
	}
	char **names = networks_of(mode, nets);
	json_t *results = json_object();
	json_t *ports = NULL;
	bool user_net = false;
	const char *first_ip = NULL, *first_ip6 = NULL;
	for (size_t i = 0; names && names[i]; i++) {
		json_t *ec = jobj(nets, names[i]);
		if (!ec && !strcmp(names[i], BERTH_NET_DEFAULT_NAME))
			ec = jobj(nets, "default");
		json_t *ipam = jobj(ec, "IPAMConfig");
		struct berth_endpoint_req req = {.container_id = c->id,
						 .container_name = c->name + 1,
						 /* by ID: two networks may share a name */
						 .network = jstr_ne(ec, "NetworkID") ? jstr(ec, "NetworkID") : names[i],
						 .ipv4 = jstr_ne(ipam, "IPv4Address"),
						 .ipv6 = jstr_ne(ipam, "IPv6Address"),
						 .link_local_ips = jarr(ipam, "LinkLocalIPs"),
						 .mac = i == 0 ? jstr_ne(cfg, "MacAddress") : NULL,
						 .port_bindings = i == 0 ? jobj(hc, "PortBindings") : NULL,
						 .exposed_ports = i == 0 ? jobj(cfg, "ExposedPorts") : NULL,
						 .publish_all = i == 0 && jbool(hc, "PublishAllPorts", false),
						 .default_route = i == 0};
		json_t *ep = NULL, *pp = NULL;
		if (berth_net_endpoint_attach(d->net, &req, &ep, i == 0 ? &pp : NULL, err) < 0)
			goto fail;
		if (i == 0)
			ports = pp;
		json_t *netdoc = berth_net_network_get(d->net, req.network, NULL);
		bool is_default =
			netdoc && !strcmp(jstr(netdoc, "Name") ? jstr(netdoc, "Name") : "", BERTH_NET_DEFAULT_NAME);
		user_net = user_net || !is_default;
		json_decref(netdoc);
		json_object_set_new(results, names[i], ep);
		if (!first_ip) {
			first_ip = jstr(ep, "IPAddress");
			first_ip6 = jstr(ep, "GlobalIPv6Address");
		}
	}
	/* net-api (daemon/networks.h): legacy links -> /etc/hosts lines and environment */
	pthread_mutex_lock(&c->mu);
	doc = berth_container_doc(c, err);
	json_t *docsnap = json_deep_copy(doc);
	pthread_mutex_unlock(&c->mu);
	if (!doc)
		goto fail;
	json_t *link_hosts = d->networks ? berth_networks_link_hosts(d, docsnap) : NULL;
	json_t *link_env = d->networks ? berth_networks_link_env(d, docsnap) : NULL;
	json_decref(docsnap);
	if (json_array_size(link_env)) {
		if (!json_is_array(json_object_get(cfg, "Env")))
			json_object_set_new(cfg, "Env", json_array());
		json_array_extend(json_object_get(cfg, "Env"), link_env);
	}
	json_decref(link_env);
	files.more_hosts = link_hosts;
	files.ipv4 = first_ip;
	files.ipv6 = first_ip6;
	files.embedded_dns = user_net;
	int frc = berth_net_files_write(&files, err);
	json_decref(link_hosts);
	if (frc < 0)
		goto fail;
	char sbid[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest(sb, strlen(sb), sbid);
	pthread_mutex_lock(&c->mu);
	doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		goto fail;
	}
	json_t *ns = json_object_get(doc, "NetworkSettings");
	json_t *docnets = json_object_get(ns, "Networks");
	if (!json_is_object(docnets)) {
		docnets = json_object();
		json_object_set_new(ns, "Networks", docnets);
	}
	json_object_del(docnets, "default");
	const char *k;
	json_t *ep;
	json_object_foreach(results, k, ep) {
		json_t *cur = json_object_get(docnets, k);
		if (!json_is_object(cur)) {
			cur = json_pack("{s:n, s:n, s:n, s:n}", "IPAMConfig", "Links", "Aliases", "DriverOpts");
			json_object_set_new(docnets, k, cur);
		}
		json_object_update(cur, ep);
	}
	json_t *first = json_object_get(results, names[0]);
	json_object_set_new(ns, "SandboxID", json_string(berth_digest_hex(sbid)));
	json_object_set_new(ns, "SandboxKey", json_string(sb));
	json_object_set_new(ns, "Ports", ports ? ports : json_object());
	ports = NULL;
	if (!strcmp(names[0], BERTH_NET_DEFAULT_NAME)) {
		/* the legacy top-level fields describe the default bridge endpoint */
		static const char *const f[] = {
			"EndpointID", "Gateway",     "IPAddress",         "IPPrefixLen",
			"MacAddress", "IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen"};
		for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
			json_object_set(ns, f[i], json_object_get(first, f[i]));
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(results);
	berth_strv_free(names);
	/* net-api: embedded DNS at 127.0.0.11 in the sandbox, short-ID aliases (daemon/networks.h) */
	if (d->networks && berth_networks_container_started(d, c->id, sb, err) < 0) {
		berth_networks_container_stopped(d, c->id);
		berth_net_container_release(d->net, c->id);
		free(sb);
		return -1;
	}
	*netns = sb;
	return 0;
fail:
	json_decref(ports);
	json_decref(results);
	berth_strv_free(names);
	free(sb);
	berth_net_container_release(d->net, c->id);
	return -1;
}

void berth_ctr_net_release(struct berth_daemon *d, struct berth_container *c)
{
	if (!d->net)
		return;
	berth_networks_container_stopped(d, c->id); /* net-api: its DNS server */
	berth_net_container_release(d->net, c->id);
	pthread_mutex_lock(&c->mu);
	json_t *ns = json_object_get(berth_container_doc_or_log(c, "network settings not cleared"), "NetworkSettings");
	if (json_is_object(ns) && jstr_ne(ns, "SandboxKey"))
		clear_settings(ns);
	pthread_mutex_unlock(&c->mu);
}

static bool running_cb(void *ctx, const char *id)
{
	struct berth_daemon *d = ctx;
	struct berth_container *c = berth_container_get(d->containers, id, NULL);
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	bool running = c->state == CS_RUNNING || c->state == CS_PAUSED;
	pthread_mutex_unlock(&c->mu);
	berth_container_put(d->containers, c);
	return running;
}

void berth_ctr_net_restore(struct berth_daemon *d)
{
	if (d->net)
		berth_net_restore(d->net, running_cb, d);
}

json_t *berth_ctr_net_list_ports(json_t *doc)
{
	json_t *out = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(jobj(jobj(doc, "NetworkSettings"), "Ports"), k, v) {
		int port = 0;
		char proto[8];
		if (berth_port_key_parse(k, &port, proto, sizeof(proto), NULL) < 0)
			continue;
		if (!json_array_size(v)) {
			json_array_append_new(out, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", proto));
			continue;
		}
		size_t i;
		json_t *b;
		json_array_foreach(v, i, b)
			json_array_append_new(
				out, json_pack("{s:s, s:i, s:i, s:s}", "IP", jstr(b, "HostIp") ? jstr(b, "HostIp") : "",
					       "PrivatePort", port, "PublicPort",
					       atoi(jstr(b, "HostPort") ? jstr(b, "HostPort") : "0"), "Type", proto));
	}
	return out;
}
