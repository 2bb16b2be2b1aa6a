/* Endpoints: a veth pair between a network's bridge and a sandbox, its
 * address, its published ports (DNAT rules + userland proxies). Each one is
 * recorded in <exec-root>/network/endpoints/<container>-<net12>.json so it can
 * be undone or adopted after a daemon restart. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "network/iptables.h"
#include "network/net_priv.h"
#include "network/nl.h"

extern char **environ;

static char *record_path(struct berth_netctx *n, const char *cid, const char *netid)
{
	return berth_strdup_printf("%s/%.64s-%.12s.json", n->ep_dir, cid, netid);
}

static uint32_t jip(json_t *o, const char *k)
{
	uint32_t a = 0;
	berth_v4addr_parse(json_string_value(json_object_get(o, k)), &a);
	return a;
}

/* The allocator offset of the record's IPv6 address (0: none). */
static uint32_t jip6(struct berth_net *net, json_t *o)
{
	struct in6_addr a;
	uint32_t off = 0;
	const char *s = json_string_value(json_object_get(o, "GlobalIPv6Address"));
	if (!net->v6 || !s || !*s || inet_pton(AF_INET6, s, &a) != 1 || berth_v6_offset(&net->sub6, &a, &off) < 0)
		return 0;
	return BERTH_V6_BASE + off;
}

static bool is_v6(const char *ip) { return ip && strchr(ip, ':'); }

/* The container address a mapping goes to: its IPv4 address, or for an IPv6
 * host address its IPv6 address when it has one (else its IPv4 address, which
 * only the userland proxy can reach: dockerd's fallback). */
static const char *port_target(json_t *rec, json_t *p)
{
	const char *a6 = json_string_value(json_object_get(rec, "GlobalIPv6Address"));
	if (is_v6(json_string_value(json_object_get(p, "HostIp"))) && a6 && *a6)
		return a6;
	return json_string_value(json_object_get(rec, "IPAddress"));
}

/* The port rules of one recorded mapping, appended to r4 (iptables) or r6
 * (ip6tables); none for an IPv6 host address proxied to the IPv4 address. */
static int port_rules(struct berth_netctx *n, json_t *rec, json_t *p, struct berth_ipt_rules *r4,
		      struct berth_ipt_rules *r6)
{
	struct berth_ipt_port in = {.bridge = json_string_value(json_object_get(rec, "Bridge")),
				    .proto = json_string_value(json_object_get(p, "Proto")),
				    .host_ip = json_string_value(json_object_get(p, "HostIp")),
				    .host_port = (int)json_integer_value(json_object_get(p, "HostPort")),
				    .ctr_ip = port_target(rec, p),
				    .ctr_port = (int)json_integer_value(json_object_get(p, "ContainerPort")),
				    .hairpin = !n->opts->userland_proxy};
	if (!in.bridge || !in.proto || !in.host_ip || !in.ctr_ip)
		return -1;
	if (is_v6(in.host_ip) != is_v6(in.ctr_ip))
		return 0;
	return berth_ipt_port_rules(&in, is_v6(in.ctr_ip) ? r6 : r4);
}

/* All port rules of a record. */
static int record_rules(struct berth_netctx *n, json_t *rec, struct berth_ipt_rules *r4, struct berth_ipt_rules *r6)
{
	size_t i;
	json_t *p;
	int rc = 0;
	json_array_foreach(json_object_get(rec, "Ports"), i, p)
		if (port_rules(n, rec, p, r4, r6) < 0)
			rc = -1;
	return rc;
}

/* Remove rules: one iptables-restore for all of them; when that fails (one
 * is missing: a half-made endpoint), rule by rule, each copy. */
static void rules_remove(const char *ipt, const struct berth_ipt_rules *r)
{
	if (r->n && berth_ipt_batch(ipt, r, "-D", NULL) < 0)
		berth_ipt_unapply(ipt, r);
}

/* Is pid a proxy of this mapping? (pids are reused) */
static bool proxy_alive(int pid, const char *ctr_ip, int host_port)
{
	if (pid <= 0)
		return false;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	char *data = NULL;
	size_t len = 0;
	if (berth_read_file(path, &data, &len, 8192, NULL) < 0)
		return false;
	bool ip = false, port = false;
	char hp[16];
	snprintf(hp, sizeof(hp), "%d", host_port);
	for (size_t off = 0; off < len;) {
		const char *a = data + off;
		size_t l = strnlen(a, len - off);
		if (!strcmp(a, ctr_ip))
			ip = true;
		if (!strcmp(a, hp))
			port = true;
		off += l + 1;
	}
	free(data);
	return ip && port;
}

static void proxy_stop(int pid, const char *ctr_ip, int host_port)
{
	if (!proxy_alive(pid, ctr_ip, host_port))
		return;
	kill(pid, SIGTERM);
	/* it is our child only when started by this daemon instance */
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid || kill(pid, 0) < 0)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, WNOHANG);
}

/* Start a proxy; it answers on fd 3: "0" ready, "1<message>" failed. */
static int proxy_start(struct berth_netctx *n, const char *proto, const char *host_ip, int host_port,
		       const char *ctr_ip, int ctr_port, int *pid_out, struct berth_error *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	char hp[16], cp[16];
	snprintf(hp, sizeof(hp), "%d", host_port);
	snprintf(cp, sizeof(cp), "%d", ctr_port);
	char *argv[] = {n->proxy_path,
			"-proto",
			(char *)proto,
			"-host-ip",
			(char *)host_ip,
			"-host-port",
			hp,
			"-container-ip",
			(char *)ctr_ip,
			"-container-port",
			cp,
			NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 3);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int rc = posix_spawnp(&pid, n->proxy_path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return berth_err_sys(err, BERTH_E_INTERNAL, rc, "Error starting userland proxy: %s", n->proxy_path);
	}
	char buf[512] = "";
	size_t got = 0;
	struct pollfd p = {.fd = pfd[0], .events = POLLIN};
	while (got < sizeof(buf) - 1) {
		int pr = poll(&p, 1, 15000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		ssize_t r = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
	buf[got] = '\0';
	if (buf[0] != '0') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return berth_err(err, BERTH_E_INTERNAL, "Error starting userland proxy: %s",
				 buf[0] == '1' ? buf + 1 : "no answer from the proxy");
	}
	*pid_out = pid;
	return 0;
}

/* Free port for an ephemeral/range request: bindable on ip (IPv4 or IPv6). */
static bool host_port_free(const char *proto, const char *ip, int port)
{
	int type = !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM;
	int proto_num = !strcmp(proto, "sctp") ? 132 : 0;
	bool v6 = is_v6(ip);
	int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, proto_num);
	if (fd < 0)
		return true;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int one = 1;
	bool ok;
	if (v6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		ok = inet_pton(AF_INET6, ip, &sa6.sin6_addr) == 1 &&
		     bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) == 0;
	} else {
		ok = inet_pton(AF_INET, ip, &sa.sin_addr) == 1 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	}
	close(fd);
	return ok;
}

/* Can this host listen on IPv6 (libnetwork's IsV6Listenable: not booted with
 * ipv6.disable=1)? */
static bool v6_listenable(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* dockerd 20.10's bindings of the mappings (libnetwork allocatePortsInternal):
 * a mapping without a host address takes the default one (--ip): with
 * 0.0.0.0 it also gets a binding on "::" (the same host port, right after it)
 * when the host has IPv6; with an IPv6 --ip it has only that IPv6 binding,
 * with another IPv4 --ip only the IPv4 one. An IPv6 binding goes to the
 * container's IPv6 address, or through the userland proxy to its IPv4
 * address; without either it is dropped, as dockerd drops it. */
static int expand_v6(struct berth_netctx *n, struct berth_port_map **maps, size_t *nm, bool has_v6,
		     struct berth_error *err)
{
	bool reach6 = has_v6 || n->opts->userland_proxy, listen6 = reach6 && v6_listenable();
	bool any4 = !strcmp(n->default_ip, "0.0.0.0");
	struct berth_port_map *v = calloc(*nm * 2 + 1, sizeof(*v));
	if (!v)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < *nm; i++) {
		struct berth_port_map m = (*maps)[i];
		if (is_v6(m.host_ip)) {
			if (reach6)
				v[k++] = m;
			continue;
		}
		if (m.host_ip[0]) {
			v[k++] = m;
			continue;
		}
		if (!n->default_ip6) {
			snprintf(m.host_ip, sizeof(m.host_ip), "%s", n->default_ip);
			v[k++] = m;
		}
		if (listen6 && (any4 || n->default_ip6)) {
			snprintf(m.host_ip, sizeof(m.host_ip), "%s", any4 ? "::" : n->default_ip);
			m.v6_twin = any4;
			v[k++] = m;
		}
	}
	free(*maps);
	*maps = v;
	*nm = k;
	return 0;
}

/* Reserve host ports for the mappings of expand_v6 (n->mu held): a mapping
 * and its "::" twin get the same port. On error none is kept. */
static int reserve_ports(struct berth_netctx *n, struct berth_port_map *maps, size_t nm, const char *epname,
			 const char *epid, struct berth_error *err)
{
	int lo, hi;
	berth_ports_ephemeral_range(&lo, &hi);
	size_t i;
	for (i = 0; i < nm; i++) {
		struct berth_port_map *m = &maps[i];
		if (m->v6_twin) { /* its port was chosen with the IPv4 mapping before it */
			if (berth_ports_add(&n->ports, m->proto, m->host_ip, m->host_port) < 0) {
				berth_err(err, BERTH_E_INTERNAL, "out of memory");
				goto fail;
			}
			continue;
		}
		struct berth_port_map *twin = i + 1 < nm && maps[i + 1].v6_twin ? &maps[i + 1] : NULL;
		int from = m->host_port ? m->host_port : lo, to = m->host_port ? m->host_port_end : hi;
		int got = 0;
		for (int p = from; p <= to && !got; p++) {
			if (berth_ports_taken(&n->ports, m->proto, m->host_ip, p) ||
			    (twin && berth_ports_taken(&n->ports, m->proto, twin->host_ip, p)))
				continue;
			if (from != to &&
			    (!host_port_free(m->proto, m->host_ip, p) || (twin && !host_port_free(m->proto, "::", p))))
				continue;
			got = p;
		}
		if (!got && twin && from == to && !berth_ports_taken(&n->ports, m->proto, m->host_ip, from))
			m = twin; /* the message names the address that is taken */
		if (!got) {
			if (from == to)
				berth_err(
					err, BERTH_E_INTERNAL,
					"driver failed programming external connectivity on endpoint %s (%s): Bind for "
					"%s:%d failed: port is already allocated",
					epname, epid, m->host_ip, from);
			else
				berth_err(
					err, BERTH_E_INTERNAL,
					"driver failed programming external connectivity on endpoint %s (%s): all ports "
					"are allocated",
					epname, epid);
			goto fail;
		}
		if (berth_ports_add(&n->ports, m->proto, m->host_ip, got) < 0) {
			berth_err(err, BERTH_E_INTERNAL, "out of memory");
			goto fail;
		}
		m->host_port = m->host_port_end = got;
		if (twin)
			twin->host_port = twin->host_port_end = got;
	}
	return 0;
fail:
	for (size_t j = 0; j < i; j++)
		berth_ports_remove(&n->ports, maps[j].proto, maps[j].host_ip, maps[j].host_port);
	return -1;
}

/* Undo a recorded endpoint; `reserved`: its address/ports are held by n. */
static void teardown(struct berth_netctx *n, json_t *rec, bool reserved)
{
	const char *ctr_ip = json_string_value(json_object_get(rec, "IPAddress"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(rec, "Ports"), i, p) {
		int hport = (int)json_integer_value(json_object_get(p, "HostPort"));
		if (ctr_ip)
			proxy_stop((int)json_integer_value(json_object_get(p, "ProxyPid")), port_target(rec, p), hport);
	}
	/* (ip6tables ones too with --ip6tables=false: an earlier daemon may have made them) */
	if (n->opts->iptables) {
		struct berth_ipt_rules r4 = {0}, r6 = {0};
		record_rules(n, rec, &r4, &r6);
		rules_remove(n->ipt, &r4);
		rules_remove(n->ipt6, &r6);
		berth_ipt_rules_free(&r4);
		berth_ipt_rules_free(&r6);
	}
	const char *veth = json_string_value(json_object_get(rec, "Veth"));
	int fd = berth_nl_open(NULL, NULL);
	if (fd >= 0 && veth) {
		berth_nl_link_del(fd, veth, NULL);
	}
	if (fd >= 0)
		close(fd);
	if (!reserved)
		return;
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, json_string_value(json_object_get(rec, "NetworkID")));
	if (net) {
		berth_ipam_release(&net->ipam, jip(rec, "IPAddress"));
		if (jip6(net, rec))
			berth_ipam_release(&net->ipam6, jip6(net, rec));
		if (net->nendpoints > 0)
			net->nendpoints--;
	}
	json_array_foreach(json_object_get(rec, "Ports"), i, p)
		berth_ports_remove(&n->ports, json_string_value(json_object_get(p, "Proto")),
				   json_string_value(json_object_get(p, "HostIp")),
				   (int)json_integer_value(json_object_get(p, "HostPort")));
	pthread_mutex_unlock(&n->mu);
}

/* Add a record's port rules. fresh (a new endpoint: its addresses and ports
 * were just allocated, so its rules cannot be there): all of them in one
 * iptables-restore per family, whatever the number of rules already in the
 * chains (`iptables -C` reads the whole chain: a check per rule made the
 * 100th container's start slower than the 1st's); else (adoption) each rule
 * checked with -C and added where missing. All or nothing. */
static int rules_add(const char *ipt, const struct berth_ipt_rules *r, bool fresh, struct berth_error *err)
{
	if (!r->n)
		return 0;
	if (!fresh)
		return berth_ipt_apply(ipt, r, err);
	if (berth_ipt_batch(ipt, r, "-A", NULL) == 0)
		return 0;
	/* (no iptables-restore, or a table committed before the other failed):
	 * what went in goes, then rule by rule */
	berth_ipt_unapply(ipt, r);
	return berth_ipt_apply(ipt, r, err);
}

/* Rules and proxies of the record's ports (made where missing). */
static int publish(struct berth_netctx *n, json_t *rec, const char *epname, bool fresh, struct berth_error *err)
{
	if (n->opts->iptables) {
		struct berth_ipt_rules r4 = {0}, r6 = {0};
		int rc = record_rules(n, rec, &r4, &r6);
		if (rc < 0)
			berth_err(err, BERTH_E_INTERNAL, "bad port record");
		/* --ip6tables=false: an IPv6 binding has its proxy only */
		if (rc == 0)
			rc = rules_add(n->ipt, &r4, fresh, err);
		if (rc == 0 && n->opts->ip6tables && rules_add(n->ipt6, &r6, fresh, err) < 0) {
			berth_ipt_unapply(n->ipt, &r4);
			rc = -1;
		}
		berth_ipt_rules_free(&r4);
		berth_ipt_rules_free(&r6);
		if (rc < 0)
			return -1;
	}
	if (!n->opts->userland_proxy)
		return 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(rec, "Ports"), i, p) {
		const char *proto = json_string_value(json_object_get(p, "Proto"));
		const char *hip = json_string_value(json_object_get(p, "HostIp"));
		const char *cip = port_target(rec, p);
		int hport = (int)json_integer_value(json_object_get(p, "HostPort"));
		int cport = (int)json_integer_value(json_object_get(p, "ContainerPort"));
		if (proxy_alive((int)json_integer_value(json_object_get(p, "ProxyPid")), cip, hport))
			continue;
		int pid = 0;
		struct berth_error e = {0};
		if (proxy_start(n, proto, hip, hport, cip, cport, &pid, &e) < 0)
			return berth_err(err, BERTH_E_INTERNAL,
					 "driver failed programming external connectivity on endpoint %s (%s): %s",
					 epname, json_string_value(json_object_get(rec, "EndpointID")), e.msg);
		json_object_set_new(p, "ProxyPid", json_integer(pid));
	}
	return 0;
}

static int write_record(struct berth_netctx *n, json_t *rec, struct berth_error *err)
{
	cleanup_free char *path = record_path(n, json_string_value(json_object_get(rec, "ContainerID")),
					      json_string_value(json_object_get(rec, "NetworkID")));
	cleanup_free char *s = json_dumps(rec, JSON_COMPACT);
	if (!path || !s)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_write_file_atomic(path, s, strlen(s), 0600, err);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* --link-local-ip: each one must be link-local (169.254.0.0/16, fe80::/10);
 * with nl >= 0 they are added to ifname in that namespace, as docker does
 * (/16, /64). */
static int link_local(json_t *ips, int nl, const char *ifname, struct berth_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(ips, i, v) {
		const char *s = json_string_value(v);
		struct in_addr a4;
		struct in6_addr a6;
		bool v4 = s && inet_pton(AF_INET, s, &a4) == 1, v6 = !v4 && s && inet_pton(AF_INET6, s, &a6) == 1;
		if (!(v4 && (ntohl(a4.s_addr) >> 16) == 0xa9fe) &&
		    !(v6 && a6.s6_addr[0] == 0xfe && (a6.s6_addr[1] & 0xc0) == 0x80))
			return berth_err(err, BERTH_E_INVALID, "invalid link local IP address: %s", s ? s : "");
		if (nl >= 0 && (v4 ? berth_nl_addr_add(nl, ifname, a4, 16, err) :
				     berth_nl_addr6_add(nl, ifname, &a6, 64, err)) < 0)
			return -1;
	}
	return 0;
}

/* An IPv6 address of the network for an endpoint (n->mu held): *off is its
 * allocator offset, 0 when the network has no IPv6. */
static int request_v6(struct berth_net *net, const struct in6_addr *want, uint32_t *off, struct berth_error *err)
{
	*off = 0;
	if (!net->v6) {
		if (want)
			return berth_err(err, BERTH_E_INVALID,
					 "invalid IPv6 address: network %s has no IPv6 subnet (EnableIPv6)", net->name);
		return 0;
	}
	uint32_t w = 0;
	if (want) {
		char s[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, want, s, sizeof(s));
		if (berth_v6_offset(&net->sub6, want, &w) < 0)
			return berth_err(err, BERTH_E_INVALID,
					 "no configured subnet or ip-range contain the IP address %s", s);
		w += BERTH_V6_BASE;
		if (w == BERTH_V6_BASE || berth_ipam_used(&net->ipam6, w))
			return berth_err(err, BERTH_E_CONFLICT, "Address already in use");
	}
	if (berth_ipam_request(&net->ipam6, w, off, NULL) < 0)
		return berth_err(err, BERTH_E_UNAVAILABLE,
				 "no available IPv6 addresses on this network's address pools");
	return 0;
}

/* Count the endpoints recorded for a container (its next interface name). */
static int count_records(struct berth_netctx *n, const char *cid)
{
	DIR *d = opendir(n->ep_dir);
	if (!d)
		return 0;
	int c = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (!strncmp(e->d_name, cid, 64) && e->d_name[64] == '-')
			c++;
	closedir(d);
	return c;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* *o with its keys in byte order: dockerd's JSON of a Go map (NetworkSettings.Ports). */
static void sort_keys(json_t **o)
{
	size_t n = json_object_size(*o), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	json_t *s = json_object();
	if (!keys || !s) {
		free(keys);
		json_decref(s);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(*o, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		json_object_set(s, keys[i], json_object_get(*o, keys[i]));
	free(keys);
	json_decref(*o);
	*o = s;
}

int berth_net_endpoint_attach(struct berth_netctx *n, const struct berth_endpoint_req *req, json_t **endpoint,
			      json_t **ports, struct berth_error *err)
{
	*endpoint = NULL;
	if (ports)
		*ports = NULL;
	char epid[65];
	berth_random_id(epid);
	const char *epname = req->container_name ? req->container_name : req->container_id;
	uint32_t want = 0;
	if (req->ipv4 && *req->ipv4 && berth_v4addr_parse(req->ipv4, &want) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid IPv4 address: %s", req->ipv4);
	struct in6_addr want6;
	if (req->ipv6 && *req->ipv6 && inet_pton(AF_INET6, req->ipv6, &want6) != 1)
		return berth_err(err, BERTH_E_INVALID, "invalid IPv6 address: %s", req->ipv6);
	if (link_local(req->link_local_ips, -1, NULL, err) < 0)
		return -1;
	uint8_t mac[6];
	if (req->mac && *req->mac && parse_mac(req->mac, mac) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid MAC address: %s", req->mac);
	struct berth_port_map *maps = NULL;
	size_t nm = 0;
	if (berth_port_maps_from(req->port_bindings, req->exposed_ports, req->publish_all, &maps, &nm, err) < 0)
		return -1;
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, req->network);
	if (!net) {
		pthread_mutex_unlock(&n->mu);
		free(maps);
		return berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", req->network);
	}
	cleanup_free char *rpath = record_path(n, req->container_id, net->id);
	if (access(rpath, F_OK) == 0) {
		pthread_mutex_unlock(&n->mu);
		free(maps);
		return berth_err(err, BERTH_E_FORBIDDEN, "endpoint with name %s already exists in network %s", epname,
				 net->name);
	}
	uint32_t ip;
	if (berth_ipam_request(&net->ipam, want, &ip, err) < 0) {
		pthread_mutex_unlock(&n->mu);
		free(maps);
		return -1;
	}
	uint32_t off6 = 0;
	if (request_v6(net, req->ipv6 && *req->ipv6 ? &want6 : NULL, &off6, err) < 0) {
		berth_ipam_release(&net->ipam, ip);
		pthread_mutex_unlock(&n->mu);
		free(maps);
		return -1;
	}
	if (expand_v6(n, &maps, &nm, off6 != 0, err) < 0 || reserve_ports(n, maps, nm, epname, epid, err) < 0) {
		if (off6)
			berth_ipam_release(&net->ipam6, off6);
		berth_ipam_release(&net->ipam, ip);
		pthread_mutex_unlock(&n->mu);
		free(maps);
		return -1;
	}
	net->nendpoints++;
	char netid[65], bridge[16], ips[20], gws[20];
	snprintf(netid, sizeof(netid), "%s", net->id);
	snprintf(bridge, sizeof(bridge), "%s", net->bridge);
	int prefix = net->ipam.subnet.prefix, mtu = net->mtu;
	bool internal = net->internal, icc = net->icc;
	berth_v4_fmt(ip, ips, sizeof(ips));
	berth_v4_fmt(net->ipam.gateway, gws, sizeof(gws));
	char ip6s[INET6_ADDRSTRLEN] = "", gw6s[INET6_ADDRSTRLEN] = "";
	int prefix6 = 0;
	struct in6_addr a6 = {0}, g6 = {0};
	if (off6) {
		berth_v6_at(&net->sub6, off6 - BERTH_V6_BASE, &a6);
		berth_v6_at(&net->sub6, net->gw6_off, &g6);
		inet_ntop(AF_INET6, &a6, ip6s, sizeof(ip6s));
		inet_ntop(AF_INET6, &g6, gw6s, sizeof(gw6s));
		prefix6 = net->sub6.prefix;
	}
	pthread_mutex_unlock(&n->mu);

	if (!(req->mac && *req->mac)) {
		uint8_t m[6] = {0x02, 0x42, (uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip};
		memcpy(mac, m, 6);
	}
	char macs[24];
	snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	char veth[16], rid[65];
	berth_random_id(rid);
	snprintf(veth, sizeof(veth), "veth%.7s", rid);
	char ifname[16];
	if (req->ifname)
		snprintf(ifname, sizeof(ifname), "%s", req->ifname);
	else
		snprintf(ifname, sizeof(ifname), "eth%d", count_records(n, req->container_id));
	json_t *rec =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:[]}", "ContainerID", req->container_id,
			  "NetworkID", netid, "EndpointID", epid, "Bridge", bridge, "Veth", veth, "IPAddress", ips,
			  "IPPrefixLen", prefix, "Gateway", gws, "MacAddress", macs, "IfName", ifname, "Ports");
	if (rec && off6) {
		json_object_set_new(rec, "GlobalIPv6Address", json_string(ip6s));
		json_object_set_new(rec, "GlobalIPv6PrefixLen", json_integer(prefix6));
		json_object_set_new(rec, "IPv6Gateway", json_string(gw6s));
	}
	for (size_t i = 0; rec && i < nm; i++)
		json_array_append_new(json_object_get(rec, "Ports"),
				      json_pack("{s:s, s:s, s:i, s:i, s:i}", "Proto", maps[i].proto, "HostIp",
						maps[i].host_ip, "HostPort", maps[i].host_port, "ContainerPort",
						maps[i].ctr_port, "ProxyPid", 0));
	free(maps);
	if (!rec) {
		json_t *min = json_pack("{s:s, s:s, s:s, s:[]}", "NetworkID", netid, "IPAddress", ips,
					"GlobalIPv6Address", ip6s, "Ports");
		if (min)
			teardown(n, min, true);
		json_decref(min);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	int nlfd = -1, nsnl = -1, nsfd = -1;
	cleanup_free char *sbpath = berth_net_sandbox_path(n, req->container_id);
	nsfd = open(sbpath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "open sandbox %s", sbpath);
		goto fail;
	}
	if ((nlfd = berth_nl_open(NULL, err)) < 0)
		goto fail;
	if (berth_nl_veth_add(nlfd, veth, ifname, nsfd, mac, mtu, err) < 0)
		goto fail;
	int bidx = berth_nl_link_index(nlfd, bridge);
	if (!bidx) {
		berth_err(err, BERTH_E_INTERNAL, "bridge %s is gone", bridge);
		goto fail;
	}
	if (berth_nl_link_set(nlfd, veth, true, bidx, 0, err) < 0)
		goto fail;
	/* --icc=false: besides the FORWARD DROP rule (which sees bridged
	 * traffic only with br_netfilter), isolate the port at layer 2 */
	if (!icc && berth_nl_brport_isolated(nlfd, veth, err) < 0)
		goto fail;
	if (!n->opts->userland_proxy) {
		cleanup_free char *hp = berth_strdup_printf("/sys/class/net/%s/brport/hairpin_mode", veth);
		int hfd = open(hp, O_WRONLY | O_CLOEXEC);
		if (hfd >= 0) {
			if (write(hfd, "1", 1) != 1)
				berth_log(n->log, BERTH_LOG_WARN, "hairpin mode on %s", veth);
			close(hfd);
		}
	}
	if ((nsnl = berth_nl_open(sbpath, err)) < 0)
		goto fail;
	struct in_addr a = {.s_addr = htonl(ip)};
	if (berth_nl_link_set(nsnl, "lo", true, 0, 0, err) < 0 || berth_nl_addr_add(nsnl, ifname, a, prefix, err) < 0 ||
	    berth_nl_link_set(nsnl, ifname, true, 0, 0, err) < 0)
		goto fail;
	if (off6 && berth_nl_addr6_add(nsnl, ifname, &a6, prefix6, err) < 0)
		goto fail;
	if (link_local(req->link_local_ips, nsnl, ifname, err) < 0)
		goto fail;
	if (req->default_route && !internal) {
		struct in_addr g;
		inet_pton(AF_INET, gws, &g);
		if (berth_nl_route_default(nsnl, ifname, g, err) < 0)
			goto fail;
		if (off6 && berth_nl_route6_default(nsnl, ifname, &g6, err) < 0)
			goto fail;
	}
	if (publish(n, rec, epname, true, err) < 0)
		goto fail;
	if (write_record(n, rec, err) < 0)
		goto fail;
	close(nlfd);
	close(nsnl);
	close(nsfd);
	*endpoint = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "NetworkID", netid, "EndpointID", epid,
			      "Gateway", internal ? "" : gws, "IPAddress", ips, "IPPrefixLen", prefix, "IPv6Gateway",
			      internal ? "" : gw6s, "GlobalIPv6Address", ip6s, "GlobalIPv6PrefixLen", prefix6,
			      "MacAddress", macs);
	if (ports) {
		*ports = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(json_is_object(req->exposed_ports) ? req->exposed_ports : NULL, k, v) {
			int cp;
			char pr[8];
			if (berth_port_key_parse(k, &cp, pr, sizeof(pr), NULL) == 0) {
				cleanup_free char *key = berth_strdup_printf("%d/%s", cp, pr);
				json_object_set_new(*ports, key, json_null());
			}
		}
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(rec, "Ports"), i, p) {
			cleanup_free char *key = berth_strdup_printf(
				"%d/%s", (int)json_integer_value(json_object_get(p, "ContainerPort")),
				json_string_value(json_object_get(p, "Proto")));
			json_t *arr = json_object_get(*ports, key);
			if (!json_is_array(arr)) {
				arr = json_array();
				json_object_set_new(*ports, key, arr);
			}
			char hp[16];
			snprintf(hp, sizeof(hp), "%d", (int)json_integer_value(json_object_get(p, "HostPort")));
			json_array_append_new(
				arr, json_pack("{s:O, s:s}", "HostIp", json_object_get(p, "HostIp"), "HostPort", hp));
		}
		sort_keys(ports);
	}
	json_decref(rec);
	return 0;
fail:
	if (nlfd >= 0)
		close(nlfd);
	if (nsnl >= 0)
		close(nsnl);
	if (nsfd >= 0)
		close(nsfd);
	teardown(n, rec, true);
	json_decref(rec);
	return -1;
}

static json_t *read_record(const char *path) { return json_load_file(path, 0, NULL); }

int berth_net_endpoint_detach(struct berth_netctx *n, const char *container_id, const char *network,
			      struct berth_error *err)
{
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, network);
	char netid[65] = "";
	if (net)
		snprintf(netid, sizeof(netid), "%s", net->id);
	pthread_mutex_unlock(&n->mu);
	if (!net)
		return berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", network);
	cleanup_free char *path = record_path(n, container_id, netid);
	json_t *rec = read_record(path);
	if (!rec)
		return berth_err(err, BERTH_E_NOT_FOUND, "container %.12s is not connected to network %s", container_id,
				 network);
	teardown(n, rec, true);
	json_decref(rec);
	unlink(path);
	return 0;
}

/* Each record file of a container (cid NULL: all): cb(path, rec). */
static void each_record(struct berth_netctx *n, const char *cid,
			void (*cb)(struct berth_netctx *, const char *, json_t *, void *), void *ctx)
{
	DIR *d = opendir(n->ep_dir);
	if (!d)
		return;
	char **names = NULL;
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (cid && (strncmp(e->d_name, cid, 64) || e->d_name[64] != '-'))
			continue;
		berth_strv_push(&names, e->d_name);
	}
	closedir(d);
	for (size_t i = 0; names && names[i]; i++) {
		cleanup_free char *path = berth_strdup_printf("%s/%s", n->ep_dir, names[i]);
		json_t *rec = read_record(path);
		if (rec)
			cb(n, path, rec, ctx);
		else
			unlink(path);
		json_decref(rec);
	}
	berth_strv_free(names);
}

static void release_cb(struct berth_netctx *n, const char *path, json_t *rec, void *ctx)
{
	teardown(n, rec, ctx != NULL);
	unlink(path);
}

void berth_net_container_release(struct berth_netctx *n, const char *container_id)
{
	if (!n)
		return;
	each_record(n, container_id, release_cb, (void *)1);
	berth_net_sandbox_remove(n, container_id);
}

struct restore_ctx {
	bool (*is_running)(void *, const char *);
	void *ctx;
	bool stale_pass;
};

static void restore_cb(struct berth_netctx *n, const char *path, json_t *rec, void *arg)
{
	struct restore_ctx *r = arg;
	const char *cid = json_string_value(json_object_get(rec, "ContainerID"));
	bool running = cid && r->is_running(r->ctx, cid);
	if (r->stale_pass) {
		if (!running) {
			berth_log(n->log, BERTH_LOG_INFO, "network: removing the endpoint of stopped container %.12s",
				  cid ? cid : "?");
			teardown(n, rec, false);
			unlink(path);
			if (cid)
				berth_net_sandbox_remove(n, cid);
		}
		return;
	}
	if (!running)
		return;
	/* adopt: hold its address and ports, make missing rules and proxies */
	pthread_mutex_lock(&n->mu);
	struct berth_net *net = berth_net_find(n, json_string_value(json_object_get(rec, "NetworkID")));
	if (net) {
		uint32_t ip = jip(rec, "IPAddress"), got;
		if (!berth_ipam_used(&net->ipam, ip))
			berth_ipam_request(&net->ipam, ip, &got, NULL);
		uint32_t off6 = jip6(net, rec);
		if (off6 && !berth_ipam_used(&net->ipam6, off6))
			berth_ipam_request(&net->ipam6, off6, &got, NULL);
		net->nendpoints++;
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(rec, "Ports"), i, p)
		berth_ports_add(&n->ports, json_string_value(json_object_get(p, "Proto")),
				json_string_value(json_object_get(p, "HostIp")),
				(int)json_integer_value(json_object_get(p, "HostPort")));
	pthread_mutex_unlock(&n->mu);
	struct berth_error e = {0};
	if (publish(n, rec, cid, false, &e) < 0)
		berth_log(n->log, BERTH_LOG_WARN, "network: adopting %.12s: %s", cid, e.msg);
	if (write_record(n, rec, &e) < 0)
		berth_log(n->log, BERTH_LOG_WARN, "network: adopting %.12s: %s", cid, e.msg);
}

void berth_net_restore(struct berth_netctx *n, bool (*is_running)(void *ctx, const char *container_id), void *ctx)
{
	if (!n)
		return;
	struct restore_ctx r = {.is_running = is_running, .ctx = ctx};
	each_record(n, NULL, restore_cb, &r);
	r.stale_pass = true;
	each_record(n, NULL, restore_cb, &r);
	/* sandboxes of no running container */
	DIR *d = opendir(n->netns_dir);
	if (!d)
		return;
	char **names = NULL;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			berth_strv_push(&names, e->d_name);
	closedir(d);
	for (size_t i = 0; names && names[i]; i++)
		if (!is_running(ctx, names[i]))
			berth_net_sandbox_remove(n, names[i]);
	berth_strv_free(names);
}
