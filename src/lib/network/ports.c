/* Port specs (PortBindings / ExposedPorts) and the host port allocator. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "network/net_int.h"

static int parse_port(const char *s, size_t len, int *out)
{
	if (!len || len > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

int berth_port_key_parse(const char *key, int *port, char *proto, size_t proto_len, struct berth_error *err)
{
	const char *slash = strchr(key, '/');
	size_t plen = slash ? (size_t)(slash - key) : strlen(key);
	const char *pr = slash ? slash + 1 : "tcp";
	if (parse_port(key, plen, port) < 0 || *port == 0)
		return berth_err(err, BERTH_E_INVALID, "invalid port specification: \"%.*s\"", (int)plen, key);
	if (strcmp(pr, "tcp") && strcmp(pr, "udp") && strcmp(pr, "sctp"))
		return berth_err(err, BERTH_E_INVALID, "invalid proto: %s", pr);
	snprintf(proto, proto_len, "%s", pr);
	return 0;
}

/* The order of a container's bindings, as dockerd 20.10 makes it (its ports
 * are allocated in this order, and NetworkSettings.Ports lists a port's
 * bindings in it). dockerd sorts (go-connections nat.SortPortMap) the
 * bindings, grouped by container port in map order, with
 *   less(a, b) = a.hostPort > b.hostPort || a.port > b.port ||
 *                (a.port == b.port && a.proto == "tcp")
 * through Go's insertion sort (up to 12 elements; beyond, any order with
 * the same result where less is consistent). less is not a strict order:
 * several tcp bindings of one port come out reversed, -P ports descending.
 * Here the map order is ascending (port, proto), the API's order of a
 * port's bindings kept; then the same insertion sort. */
static bool docker_less(const struct berth_port_map *a, const struct berth_port_map *b)
{
	return a->host_port > b->host_port || a->ctr_port > b->ctr_port ||
	       (a->ctr_port == b->ctr_port && !strcmp(a->proto, "tcp"));
}

static bool key_before(const struct berth_port_map *a, const struct berth_port_map *b)
{
	return a->ctr_port != b->ctr_port ? a->ctr_port < b->ctr_port : strcmp(a->proto, b->proto) < 0;
}

static void docker_order(struct berth_port_map *v, size_t n)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 1; i < n; i++)
			for (size_t j = i;
			     j > 0 && (pass ? docker_less(&v[j], &v[j - 1]) : key_before(&v[j], &v[j - 1])); j--) {
				struct berth_port_map t = v[j];
				v[j] = v[j - 1];
				v[j - 1] = t;
			}
}

static int push(struct berth_port_map **v, size_t *n, const struct berth_port_map *m, struct berth_error *err)
{
	struct berth_port_map *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	nv[(*n)++] = *m;
	*v = nv;
	return 0;
}

int berth_port_maps_from(json_t *port_bindings, json_t *exposed_ports, bool publish_all, struct berth_port_map **out,
			 size_t *n, struct berth_error *err)
{
	*out = NULL;
	*n = 0;
	struct berth_port_map *v = NULL;
	size_t nv = 0;
	const char *key;
	json_t *val;
	json_object_foreach(json_is_object(port_bindings) ? port_bindings : NULL, key, val) {
		struct berth_port_map m = {0};
		if (berth_port_key_parse(key, &m.ctr_port, m.proto, sizeof(m.proto), err) < 0)
			goto fail;
		size_t i;
		json_t *b;
		json_array_foreach(json_is_array(val) ? val : NULL, i, b) {
			struct berth_port_map bm = m;
			const char *hip = json_string_value(json_object_get(b, "HostIp"));
			const char *hp = json_string_value(json_object_get(b, "HostPort"));
			if (hip && *hip) {
				struct in6_addr tmp;
				if (inet_pton(AF_INET, hip, &tmp) != 1) {
					if (inet_pton(AF_INET6, hip, &tmp) != 1) {
						berth_err(err, BERTH_E_INVALID, "invalid IP address: %s", hip);
						goto fail;
					}
					/* the canonical text ("::1"), as dockerd shows it */
					char canon[INET6_ADDRSTRLEN];
					inet_ntop(AF_INET6, &tmp, canon, sizeof(canon));
					snprintf(bm.host_ip, sizeof(bm.host_ip), "%s", canon);
				} else {
					snprintf(bm.host_ip, sizeof(bm.host_ip), "%s", hip);
				}
			}
			if (hp && *hp) {
				const char *dash = strchr(hp, '-');
				if (parse_port(hp, dash ? (size_t)(dash - hp) : strlen(hp), &bm.host_port) < 0 ||
				    (dash && parse_port(dash + 1, strlen(dash + 1), &bm.host_port_end) < 0) ||
				    (dash && bm.host_port_end < bm.host_port) || (dash && bm.host_port == 0)) {
					berth_err(err, BERTH_E_INVALID, "invalid port specification: \"%s\"", hp);
					goto fail;
				}
				if (!dash)
					bm.host_port_end = bm.host_port;
			}
			if (push(&v, &nv, &bm, err) < 0)
				goto fail;
		}
		if (json_is_array(val) && json_array_size(val))
			continue;
		/* a key with no binding: an ephemeral port on the default address */
		if (push(&v, &nv, &m, err) < 0)
			goto fail;
	}
	if (publish_all) {
		json_object_foreach(json_is_object(exposed_ports) ? exposed_ports : NULL, key, val) {
			struct berth_port_map m = {0};
			if (berth_port_key_parse(key, &m.ctr_port, m.proto, sizeof(m.proto), err) < 0)
				goto fail;
			bool have = false;
			for (size_t i = 0; i < nv && !have; i++)
				have = v[i].ctr_port == m.ctr_port && !strcmp(v[i].proto, m.proto);
			if (!have && push(&v, &nv, &m, err) < 0)
				goto fail;
		}
	}
	docker_order(v, nv);
	*out = v;
	*n = nv;
	return 0;
fail:
	free(v);
	return -1;
}

/* A host address of the allocator: "" or NULL is 0.0.0.0. -1 when invalid. */
static int host_addr(const char *s, struct berth_port_used *u)
{
	u->v6 = false;
	u->ip = 0;
	memset(&u->ip6, 0, sizeof(u->ip6));
	if (!s || !*s)
		return 0;
	if (berth_v4addr_parse(s, &u->ip) == 0)
		return 0;
	if (inet_pton(AF_INET6, s, &u->ip6) != 1)
		return -1;
	u->v6 = true;
	return 0;
}

int berth_host_ip_canon(const char *s, char *out, size_t len, bool *v6)
{
	struct berth_port_used u;
	if (!s || !*s || host_addr(s, &u) < 0)
		return -1;
	if (u.v6 && IN6_IS_ADDR_V4MAPPED(&u.ip6)) { /* Go's To4(): an IPv4 address */
		memcpy(&u.ip, &u.ip6.s6_addr[12], 4);
		u.ip = ntohl(u.ip);
		u.v6 = false;
	}
	*v6 = u.v6;
	if (u.v6)
		return inet_ntop(AF_INET6, &u.ip6, out, (socklen_t)len) ? 0 : -1;
	berth_v4_fmt(u.ip, out, len);
	return 0;
}

int berth_net_ip_valid(const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	bool v6;
	return berth_host_ip_canon(s, buf, sizeof(buf), &v6);
}

static bool host_any(const struct berth_port_used *u) { return u->v6 ? IN6_IS_ADDR_UNSPECIFIED(&u->ip6) : !u->ip; }

/* Same family, and one of them is the unspecified address or both are equal. */
static bool host_clash(const struct berth_port_used *a, const struct berth_port_used *b)
{
	if (a->v6 != b->v6)
		return false;
	if (host_any(a) || host_any(b))
		return true;
	return a->v6 ? !memcmp(&a->ip6, &b->ip6, sizeof(a->ip6)) : a->ip == b->ip;
}

bool berth_ports_taken(const struct berth_port_alloc *a, const char *proto, const char *ip, int port)
{
	struct berth_port_used k;
	if (host_addr(ip, &k) < 0)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].port == port && !strcmp(a->v[i].proto, proto) && host_clash(&a->v[i], &k))
			return true;
	return false;
}

int berth_ports_add(struct berth_port_alloc *a, const char *proto, const char *ip, int port)
{
	struct berth_port_used k = {0};
	if (host_addr(ip, &k) < 0)
		return -1;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct berth_port_used *nv = realloc(a->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	struct berth_port_used *u = &a->v[a->n++];
	*u = k;
	snprintf(u->proto, sizeof(u->proto), "%s", proto);
	u->port = port;
	return 0;
}

void berth_ports_remove(struct berth_port_alloc *a, const char *proto, const char *ip, int port)
{
	struct berth_port_used k;
	if (host_addr(ip, &k) < 0)
		return;
	for (size_t i = 0; i < a->n; i++) {
		struct berth_port_used *u = &a->v[i];
		if (u->port == port && u->v6 == k.v6 && !strcmp(u->proto, proto) &&
		    (k.v6 ? !memcmp(&u->ip6, &k.ip6, sizeof(k.ip6)) : u->ip == k.ip)) {
			a->v[i] = a->v[--a->n];
			return;
		}
	}
}

void berth_ports_free(struct berth_port_alloc *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void berth_ports_ephemeral_range(int *lo, int *hi)
{
	*lo = 49153;
	*hi = 65535;
	char *data = NULL;
	if (berth_read_file("/proc/sys/net/ipv4/ip_local_port_range", &data, NULL, 256, NULL) < 0)
		return;
	int a, b;
	if (sscanf(data, "%d %d", &a, &b) == 2 && a > 0 && b >= a && b <= 65535) {
		*lo = a;
		*hi = b;
	}
	free(data);
}
