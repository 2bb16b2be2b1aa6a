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

static int cmp_map(const void *a, const void *b)
{
	const struct berth_port_map *x = a, *y = b;
	if (x->ctr_port != y->ctr_port)
		return x->ctr_port - y->ctr_port;
	int c = strcmp(x->proto, y->proto);
	return c ? c : strcmp(x->host_ip, y->host_ip);
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
					if (inet_pton(AF_INET6, hip, &tmp) == 1)
						berth_err(
							err, BERTH_E_INVALID,
							"IPv6 host addresses of published ports are not supported yet: %s",
							hip);
					else
						berth_err(err, BERTH_E_INVALID, "invalid IP address: %s", hip);
					goto fail;
				}
				snprintf(bm.host_ip, sizeof(bm.host_ip), "%s", hip);
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
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_map);
	*out = v;
	*n = nv;
	return 0;
fail:
	free(v);
	return -1;
}

bool berth_ports_taken(const struct berth_port_alloc *a, const char *proto, uint32_t ip, int port)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].port == port && !strcmp(a->v[i].proto, proto) && (!ip || !a->v[i].ip || a->v[i].ip == ip))
			return true;
	return false;
}

int berth_ports_add(struct berth_port_alloc *a, const char *proto, uint32_t ip, int port)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct berth_port_used *nv = realloc(a->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	struct berth_port_used *u = &a->v[a->n++];
	snprintf(u->proto, sizeof(u->proto), "%s", proto);
	u->ip = ip;
	u->port = port;
	return 0;
}

void berth_ports_remove(struct berth_port_alloc *a, const char *proto, uint32_t ip, int port)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].port == port && a->v[i].ip == ip && !strcmp(a->v[i].proto, proto)) {
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
