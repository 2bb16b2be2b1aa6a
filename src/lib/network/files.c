/* Network options and a container's /etc/hostname, /etc/hosts, /etc/resolv.conf. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/file_new.h"
#include "common/util.h"
#include "network/net_int.h"

void berth_net_opts_init(struct berth_net_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->iptables = o->ip6tables = o->ip_forward = o->ip_masq = o->icc = o->userland_proxy = true;
}

void berth_net_opts_free(struct berth_net_opts *o)
{
	free(o->bridge);
	free(o->default_bridge_name);
	free(o->bip);
	free(o->fixed_cidr);
	free(o->fixed_cidr_v6);
	free(o->default_ip);
	free(o->userland_proxy_path);
	json_decref(o->default_addr_pools);
	memset(o, 0, sizeof(*o));
}

static int bad_type(struct berth_error *err, const char *key, const char *want)
{
	return berth_err(err, BERTH_E_INVALID, "json: cannot unmarshal into Go struct field Config.%s of type %s", key,
			 want);
}

static int set_s(char **dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_string(v))
		return bad_type(err, key, "string");
	free(*dst);
	*dst = *json_string_value(v) ? strdup(json_string_value(v)) : NULL;
	return 1;
}

int berth_net_opts_apply(struct berth_net_opts *o, const char *key, json_t *v, struct berth_error *err)
{
	struct {
		const char *key;
		bool *b;
	} bools[] = {{"iptables", &o->iptables},
		     {"ip-forward", &o->ip_forward},
		     {"ip-masq", &o->ip_masq},
		     {"icc", &o->icc},
		     {"userland-proxy", &o->userland_proxy},
		     {"ipv6", &o->ipv6},
		     {"ip6tables", &o->ip6tables}};
	for (size_t i = 0; i < sizeof(bools) / sizeof(*bools); i++) {
		if (strcmp(key, bools[i].key))
			continue;
		if (!json_is_boolean(v))
			return bad_type(err, key, "bool");
		*bools[i].b = json_is_true(v);
		return 1;
	}
	if (!strcmp(key, "bridge"))
		return set_s(&o->bridge, key, v, err);
	if (!strcmp(key, "default-bridge-name")) {
		if (json_is_string(v) && (strlen(json_string_value(v)) > 15 || strchr(json_string_value(v), '/')))
			return berth_err(err, BERTH_E_INVALID, "invalid bridge name: %s", json_string_value(v));
		return set_s(&o->default_bridge_name, key, v, err);
	}
	if (!strcmp(key, "userland-proxy-path"))
		return set_s(&o->userland_proxy_path, key, v, err);
	if (!strcmp(key, "bip") || !strcmp(key, "fixed-cidr")) {
		struct berth_v4net n;
		if (json_is_string(v) && *json_string_value(v) &&
		    berth_v4net_parse(json_string_value(v), &n, key[0] == 'b') < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid %s: %s", key, json_string_value(v));
		return set_s(key[0] == 'b' ? &o->bip : &o->fixed_cidr, key, v, err);
	}
	if (!strcmp(key, "fixed-cidr-v6")) {
		struct berth_v6net n;
		if (json_is_string(v) && *json_string_value(v) && berth_v6net_parse(json_string_value(v), &n) < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid fixed-cidr-v6: %s", json_string_value(v));
		return set_s(&o->fixed_cidr_v6, key, v, err);
	}
	if (!strcmp(key, "ip")) { /* IPv4 or IPv6 (dockerd's net.IP) */
		char canon[64];
		bool v6;
		if (json_is_string(v) && *json_string_value(v) &&
		    berth_host_ip_canon(json_string_value(v), canon, sizeof(canon), &v6) < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid IP address: %s", json_string_value(v));
		return set_s(&o->default_ip, key, v, err);
	}
	if (!strcmp(key, "mtu")) {
		if (!json_is_integer(v))
			return bad_type(err, key, "int");
		json_int_t m = json_integer_value(v);
		if (m != 0 && (m < 68 || m > 65535))
			return berth_err(err, BERTH_E_INVALID, "invalid MTU %lld: must be between 68 and 65535",
					 (long long)m);
		o->mtu = (int)m;
		return 1;
	}
	if (!strcmp(key, "default-address-pools")) {
		if (!json_is_array(v))
			return bad_type(err, key, "[]*ipamutils.NetworkToSplit");
		struct berth_pool *p = NULL;
		size_t n = 0;
		if (berth_pools_from_json(v, &p, &n, err) < 0)
			return -1;
		free(p);
		json_decref(o->default_addr_pools);
		o->default_addr_pools = json_array_size(v) ? json_deep_copy(v) : NULL;
		return 1;
	}
	return 0;
}

/* A container's first start writes its files in place (nobody reads them
 * yet), a later one replaces them by rename (a reader sees the old or the
 * new file). */
static int write_net_file(const char *path, const char *data, size_t len, struct berth_error *err)
{
	if (berth_write_file_new(path, data, len, 0644, NULL) == 0)
		return 0;
	return berth_write_file_replace(path, data, len, 0644, err);
}

int berth_net_files_write(const struct berth_net_files *f, struct berth_error *err)
{
	cleanup_free char *hostname = berth_strdup_printf("%s\n", f->hostname ? f->hostname : "");
	if (f->hostname_path && write_net_file(f->hostname_path, hostname, strlen(hostname), err) < 0)
		return -1;
	struct berth_buf hosts = {0};
	if (f->host_network) {
		char *data = NULL;
		if (berth_read_file("/etc/hosts", &data, NULL, 1 << 20, NULL) == 0) {
			berth_buf_printf(&hosts, "%s", data);
			free(data);
		}
	} else {
		berth_buf_printf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
					 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
					 "ff02::2\tip6-allrouters\n");
	}
	size_t i;
	json_t *e;
	json_array_foreach(f->extra_hosts, i, e) {
		const char *h = json_string_value(e);
		const char *colon = h ? strchr(h, ':') : NULL;
		if (colon)
			berth_buf_printf(&hosts, "%s\t%.*s\n", colon + 1, (int)(colon - h), h);
	}
	json_array_foreach(f->more_hosts, i, e)
		if (json_string_value(e))
			berth_buf_printf(&hosts, "%s\n", json_string_value(e));
	/* docker: "<ip>\t<hostname>" (with the domain: "<ip>\t<host>.<domain> <host>"),
	 * for the IPv4 then the IPv6 address */
	const char *own[] = {f->ipv4, f->ipv6};
	for (int k = 0; k < 2 && !f->host_network; k++) {
		if (!own[k] || !*own[k])
			continue;
		if (f->domainname && *f->domainname)
			berth_buf_printf(&hosts, "%s\t%s.%s %s\n", own[k], f->hostname, f->domainname, f->hostname);
		else
			berth_buf_printf(&hosts, "%s\t%s\n", own[k], f->hostname ? f->hostname : "");
	}
	int rc = f->hosts_path ? write_net_file(f->hosts_path, berth_buf_str(&hosts), hosts.len, err) : 0;
	berth_buf_free(&hosts);
	if (rc < 0 || !f->resolv_conf_path)
		return rc;
	/* resolv.conf: the host's, without loopback name servers for a private
	 * network namespace (docker falls back to public defaults then); the
	 * embedded DNS server of user networks instead of them */
	struct berth_buf rcb = {0};
	char *host_rc = NULL;
	berth_read_file("/etc/resolv.conf", &host_rc, NULL, 1 << 20, NULL);
	bool have_ns = false;
	size_t ndns = json_array_size(f->dns), nsearch = json_array_size(f->dns_search),
	       nopts = json_array_size(f->dns_options);
	char *save = NULL;
	for (char *line = host_rc ? strtok_r(host_rc, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "nameserver", 10)) {
			if (ndns || f->embedded_dns)
				continue;
			if (!f->host_network && (strstr(line, " 127.") || strstr(line, " ::1")))
				continue;
			have_ns = true;
		}
		if (!strncmp(line, "search", 6) && nsearch)
			continue;
		if (!strncmp(line, "options", 7) && (nopts || f->embedded_dns))
			continue;
		berth_buf_printf(&rcb, "%s\n", line);
	}
	free(host_rc);
	if (f->embedded_dns) {
		berth_buf_printf(&rcb, "nameserver 127.0.0.11\n");
	} else {
		json_array_foreach(f->dns, i, e)
			berth_buf_printf(&rcb, "nameserver %s\n", json_string_value(e));
		if (!have_ns && !ndns)
			berth_buf_printf(&rcb, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	}
	if (nsearch) {
		berth_buf_printf(&rcb, "search");
		json_array_foreach(f->dns_search, i, e)
			berth_buf_printf(&rcb, " %s", json_string_value(e));
		berth_buf_printf(&rcb, "\n");
	}
	if (nopts || f->embedded_dns) {
		berth_buf_printf(&rcb, "options");
		if (f->embedded_dns)
			berth_buf_printf(&rcb, " ndots:0");
		json_array_foreach(f->dns_options, i, e)
			berth_buf_printf(&rcb, " %s", json_string_value(e));
		berth_buf_printf(&rcb, "\n");
	}
	rc = write_net_file(f->resolv_conf_path, berth_buf_str(&rcb), rcb.len, err);
	berth_buf_free(&rcb);
	return rc;
}
