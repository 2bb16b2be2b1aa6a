/* network create | ls | inspect | rm | connect | disconnect | prune, as
 * docker's CLI (20.10) does them. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_objects.h"
#include "common/cleanup.h"
#include "format/table.h"
#include "output.h"

#define END_OPTS                                                                                                       \
	{                                                                                                              \
		NULL, 0, 0, NULL, NULL                                                                                 \
	}
#define PARSE_OR_RETURN(opts)                                                                                          \
	char **args = NULL;                                                                                            \
	{                                                                                                              \
		int _pr = cli_parse(c, argc, argv, opts, false, &args);                                                \
		if (_pr)                                                                                               \
			return _pr < 0 ? 125 : 0;                                                                      \
	}

static json_t *kv_map(char **list)
{
	json_t *m = json_object();
	for (size_t i = 0; list && list[i]; i++) {
		const char *eq = strchr(list[i], '=');
		cleanup_free char *k = eq ? strndup(list[i], (size_t)(eq - list[i])) : strdup(list[i]);
		json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
	}
	return m;
}

/* CIDR / address parsing for pairing ranges and gateways with subnets. */
struct cidr {
	int fam, prefix;
	unsigned char a[16];
};

static int parse_cidr(const char *s, struct cidr *c)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	c->prefix = -1;
	if (slash) {
		*slash = '\0';
		c->prefix = atoi(slash + 1);
	}
	c->fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->fam, buf, c->a) != 1)
		return -1;
	if (c->prefix < 0)
		c->prefix = c->fam == AF_INET ? 32 : 128;
	return 0;
}

static bool cidr_contains(const struct cidr *n, const struct cidr *x)
{
	if (n->fam != x->fam)
		return false;
	for (int b = 0; b < n->prefix; b++)
		if ((n->a[b / 8] ^ x->a[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

/* --ip-range or --gateway value v (parsed as x) into the config of the
 * subnet holding it: docker's messages for two on one subnet and for none. */
static int assign_to_subnet(json_t *out, const struct cidr *sn, size_t ns, char **subnets, const struct cidr *x,
			    const char *v, const char *key, const char *what, const char *prep, struct berth_error *err)
{
	bool match = false;
	for (size_t j = 0; j < ns; j++) {
		if (!cidr_contains(&sn[j], x))
			continue;
		json_t *cfg = json_array_get(out, j);
		if (json_object_get(cfg, key))
			return berth_err(err, BERTH_E_INVALID,
					 "cannot configure multiple %ss (%s, %s) %s the same subnet (%s)", what, v,
					 json_string_value(json_object_get(cfg, key)), prep, subnets[j]);
		json_object_set_new(cfg, key, json_string(v));
		match = true;
	}
	if (!match)
		return berth_err(err, BERTH_E_INVALID, "no matching subnet for %s %s", what, v);
	return 0;
}

/* docker's consolidateIpam. */
static json_t *ipam_configs(char **subnets, char **ranges, char **gateways, char **aux, struct berth_error *err)
{
	size_t ns = berth_strv_len(subnets);
	if (berth_strv_len(gateways) > ns || berth_strv_len(ranges) > ns) {
		berth_err(err, BERTH_E_INVALID, "every ip-range or gateway must have a corresponding subnet");
		return NULL;
	}
	json_t *out = json_array();
	struct cidr *sn = calloc(ns + 1, sizeof(*sn));
	for (size_t i = 0; i < ns; i++) {
		if (parse_cidr(subnets[i], &sn[i]) < 0) {
			berth_err(err, BERTH_E_INVALID, "invalid CIDR address: %s", subnets[i]);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (cidr_contains(&sn[j], &sn[i]) || cidr_contains(&sn[i], &sn[j])) {
				berth_err(err, BERTH_E_INVALID,
					  "multiple overlapping subnet configuration is not supported");
				goto fail;
			}
		json_array_append_new(out, json_pack("{s:s, s:{}}", "Subnet", subnets[i], "AuxiliaryAddresses"));
	}
	for (size_t i = 0; ranges && ranges[i]; i++) {
		struct cidr r;
		if (parse_cidr(ranges[i], &r) < 0) {
			berth_err(err, BERTH_E_INVALID, "invalid CIDR address: %s", ranges[i]);
			goto fail;
		}
		if (assign_to_subnet(out, sn, ns, subnets, &r, ranges[i], "IPRange", "range", "on", err) < 0)
			goto fail;
	}
	for (size_t i = 0; gateways && gateways[i]; i++) {
		struct cidr g;
		if (parse_cidr(gateways[i], &g) < 0) {
			berth_err(
				err, BERTH_E_INVALID,
				"invalid argument \"%s\" for \"--gateway\" flag: invalid string being converted to IP address: %s",
				gateways[i], gateways[i]);
			goto fail;
		}
		if (assign_to_subnet(out, sn, ns, subnets, &g, gateways[i], "Gateway", "gateway", "for", err) < 0)
			goto fail;
	}
	for (size_t i = 0; aux && aux[i]; i++) {
		const char *eq = strchr(aux[i], '=');
		struct cidr a;
		bool match = false;
		if (!eq || parse_cidr(eq + 1, &a) < 0) {
			berth_err(err, BERTH_E_INVALID, "invalid aux-address %s", aux[i]);
			goto fail;
		}
		for (size_t j = 0; j < ns; j++) {
			if (!cidr_contains(&sn[j], &a))
				continue;
			cleanup_free char *k = strndup(aux[i], (size_t)(eq - aux[i]));
			json_object_set_new(json_object_get(json_array_get(out, j), "AuxiliaryAddresses"), k,
					    json_string(eq + 1));
			match = true;
		}
		if (!match) {
			berth_err(err, BERTH_E_INVALID, "no matching subnet for aux-address %s", eq + 1);
			goto fail;
		}
	}
	free(sn);
	return out;
fail:
	free(sn);
	json_decref(out);
	return NULL;
}

static int cmd_network_create(struct cli *c, int argc, char **argv)
{
	char *driver = NULL, *ipam_driver = NULL, *scope = NULL, *config_from = NULL;
	char **subnets = NULL, **ranges = NULL, **gateways = NULL, **aux = NULL, **ipam_opts = NULL, **opts_l = NULL,
	     **labels = NULL;
	bool internal = false, attachable = false, ipv6 = false, ingress = false, config_only = false;
	const struct cli_opt opts[] = {
		{"attachable", 0, OPT_BOOL, &attachable, "Enable manual container attachment"},
		{"aux-address", 0, OPT_LIST, &aux, "Auxiliary IPv4 or IPv6 addresses used by Network driver"},
		{"config-from", 0, OPT_STR, &config_from, "The network from which to copy the configuration"},
		{"config-only", 0, OPT_BOOL, &config_only, "Create a configuration only network"},
		{"driver", 'd', OPT_STR, &driver, "Driver to manage the Network (default \"bridge\")"},
		{"gateway", 0, OPT_LIST, &gateways, "IPv4 or IPv6 Gateway for the master subnet"},
		{"ingress", 0, OPT_BOOL, &ingress, "Create swarm routing-mesh network"},
		{"internal", 0, OPT_BOOL, &internal, "Restrict external access to the network"},
		{"ip-range", 0, OPT_LIST, &ranges, "Allocate container ip from a sub-range"},
		{"ipam-driver", 0, OPT_STR, &ipam_driver, "IP Address Management Driver (default \"default\")"},
		{"ipam-opt", 0, OPT_LIST, &ipam_opts, "Set IPAM driver specific options (default map[])"},
		{"ipv6", 0, OPT_BOOL, &ipv6, "Enable IPv6 networking"},
		{"label", 0, OPT_LIST, &labels, "Set metadata on a network"},
		{"opt", 'o', OPT_LIST, &opts_l, "Set driver specific options (default map[])"},
		{"scope", 0, OPT_STR, &scope, "Control the network's scope"},
		{"subnet", 0, OPT_LIST, &subnets, "Subnet in CIDR format that represents a network segment"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	cleanup_json json_t *body = NULL, *res = NULL;
	if (berth_strv_len(args) != 1) {
		cli_args_error(c, "requires exactly 1 argument");
		rc = 1;
		goto out;
	}
	struct berth_error err = {0};
	json_t *cfgs = ipam_configs(subnets, ranges, gateways, aux, &err);
	if (!cfgs) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
		goto out;
	}
	body = json_pack("{s:s, s:b, s:s, s:s, s:b, s:{s:s, s:o, s:o}, s:b, s:b, s:b, s:b, s:o, s:o}", "Name", args[0],
			 "CheckDuplicate", 1, "Driver", driver ? driver : "bridge", "Scope", scope ? scope : "",
			 "EnableIPv6", ipv6, "IPAM", "Driver", ipam_driver ? ipam_driver : "default", "Config", cfgs,
			 "Options", kv_map(ipam_opts), "Internal", internal, "Attachable", attachable, "Ingress",
			 ingress, "ConfigOnly", config_only, "Options", kv_map(opts_l), "Labels", kv_map(labels));
	if (config_from && *config_from)
		json_object_set_new(body, "ConfigFrom", json_pack("{s:s}", "Network", config_from));
	if (berth_client_json(&c->cl, "POST", "/networks/create", body, &res, &err) < 0)
		rc = cli_daemon_error(c, &err);
	else
		printf("%s\n", json_string_value(json_object_get(res, "Id")) ?: "");
out:
	berth_strv_free(args);
	berth_strv_free(subnets);
	berth_strv_free(ranges);
	berth_strv_free(gateways);
	berth_strv_free(aux);
	berth_strv_free(ipam_opts);
	berth_strv_free(opts_l);
	berth_strv_free(labels);
	free(driver);
	free(ipam_driver);
	free(scope);
	free(config_from);
	return rc;
}

static const struct berth_header_map network_headers[] = {
	{"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
	{"IPv6", "IPV6"},     {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
	{NULL, NULL},
};

static int cmp_name(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	return strcmp(json_string_value(json_object_get(a, "Name")) ?: "",
		      json_string_value(json_object_get(b, "Name")) ?: "");
}

static json_t *network_row(json_t *n, bool no_trunc)
{
	char id[80];
	snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, json_string_value(json_object_get(n, "Id")) ?: "");
	struct berth_buf lb = {0};
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(n, "Labels"), k, v)
		berth_buf_printf(&lb, "%s%s=%s", lb.len ? "," : "", k, json_string_value(v) ?: "");
	json_t *row =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Name",
			  json_string_value(json_object_get(n, "Name")) ?: "", "Driver",
			  json_string_value(json_object_get(n, "Driver")) ?: "", "Scope",
			  json_string_value(json_object_get(n, "Scope")) ?: "", "IPv6",
			  json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false", "Internal",
			  json_is_true(json_object_get(n, "Internal")) ? "true" : "false", "Labels", berth_buf_str(&lb),
			  "CreatedAt", json_string_value(json_object_get(n, "Created")) ?: "");
	berth_buf_free(&lb);
	return row;
}

static int cmd_network_ls(struct cli *c, int argc, char **argv)
{
	bool quiet = false, no_trunc = false;
	char *format = NULL;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 'f', OPT_LIST, &filters, "Provide filter values (e.g. 'driver=bridge')"},
		{"format", 0, OPT_STR, &format, "Pretty-print networks using a Go template"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Do not truncate the output"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Only display network IDs"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	cleanup_json json_t *list = NULL, *rows = NULL;
	cleanup_free char *path = NULL;
	if ((rc = cli_objects_check(c, args, filters)) != 0)
		goto out;
	path = cli_objects_path("/networks", filters);
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "GET", path, NULL, &list, &err) < 0) {
		rc = cli_daemon_error(c, &err);
		goto out;
	}
	size_t n = json_array_size(list);
	json_t **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	qsort(v, n, sizeof(*v), cmp_name);
	rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, network_row(v[i], no_trunc));
	free(v);
	const char *deflt = quiet ? "{{.ID}}" : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
	if (berth_format_list(quiet ? NULL : format, deflt, network_headers, rows, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 64;
	}
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	free(format);
	return rc;
}

static int cmd_network_inspect(struct cli *c, int argc, char **argv)
{
	char *format = NULL;
	bool verbose = false;
	const struct cli_opt opts[] = {
		{"format", 'f', OPT_STR, &format, "Format the output using the given Go template"},
		{"verbose", 'v', OPT_BOOL, &verbose, "Verbose output for diagnostics"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		free(format);
		return 1;
	}
	rc = cli_objects_inspect(c, args, "/networks", "network", format);
	berth_strv_free(args);
	free(format);
	return rc;
}

static int cmd_network_rm(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {END_OPTS};
	PARSE_OR_RETURN(opts);
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		return 1;
	}
	int rc = cli_objects_remove(c, args, "/networks", "", "network");
	berth_strv_free(args);
	return rc;
}

static int cmd_network_connect(struct cli *c, int argc, char **argv)
{
	char *ip = NULL, *ip6 = NULL;
	char **aliases = NULL, **links = NULL, **llips = NULL, **dopts = NULL;
	const struct cli_opt opts[] = {
		{"alias", 0, OPT_LIST, &aliases, "Add network-scoped alias for the container"},
		{"driver-opt", 0, OPT_LIST, &dopts, "driver options for the network"},
		{"ip", 0, OPT_STR, &ip, "IPv4 address (e.g., 172.30.100.104)"},
		{"ip6", 0, OPT_STR, &ip6, "IPv6 address (e.g., 2001:db8::33)"},
		{"link", 0, OPT_LIST, &links, "Add link to another container"},
		{"link-local-ip", 0, OPT_LIST, &llips, "Add a link-local address for the container"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	cleanup_json json_t *body = NULL;
	cleanup_free char *enc = NULL, *p = NULL;
	if (berth_strv_len(args) != 2) {
		cli_args_error(c, "requires exactly 2 arguments");
		rc = 1;
		goto out;
	}
	unsigned char a[16];
	if ((ip && *ip && inet_pton(AF_INET, ip, a) != 1) || (ip6 && *ip6 && inet_pton(AF_INET6, ip6, a) != 1)) {
		const char *bad = ip && *ip && inet_pton(AF_INET, ip, a) != 1 ? ip : ip6;
		fprintf(stderr,
			"invalid argument \"%s\" for \"--%s\" flag: invalid string being converted to IP address: %s\n"
			"See '%s --help'.\n",
			bad, bad == ip ? "ip" : "ip6", bad, c->cmdpath);
		rc = 125;
		goto out;
	}
	json_t *ipam = json_object();
	if (ip && *ip)
		json_object_set_new(ipam, "IPv4Address", json_string(ip));
	if (ip6 && *ip6)
		json_object_set_new(ipam, "IPv6Address", json_string(ip6));
	json_t *ll = json_array();
	for (size_t i = 0; llips && llips[i]; i++)
		json_array_append_new(ll, json_string(llips[i]));
	if (json_array_size(ll))
		json_object_set_new(ipam, "LinkLocalIPs", ll);
	else
		json_decref(ll);
	json_t *al = json_array(), *lk = json_array();
	for (size_t i = 0; aliases && aliases[i]; i++)
		json_array_append_new(al, json_string(aliases[i]));
	for (size_t i = 0; links && links[i]; i++)
		json_array_append_new(lk, json_string(links[i]));
	body = json_pack("{s:s, s:{s:o, s:o, s:o, s:o}}", "Container", args[1], "EndpointConfig", "IPAMConfig", ipam,
			 "Links", lk, "Aliases", al, "DriverOpts", kv_map(dopts));
	enc = berth_urlencode(args[0]);
	p = berth_strdup_printf("/networks/%s/connect", enc);
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "POST", p, body, NULL, &err) < 0)
		rc = cli_daemon_error(c, &err);
out:
	berth_strv_free(args);
	berth_strv_free(aliases);
	berth_strv_free(links);
	berth_strv_free(llips);
	berth_strv_free(dopts);
	free(ip);
	free(ip6);
	return rc;
}

static int cmd_network_disconnect(struct cli *c, int argc, char **argv)
{
	bool force = false;
	const struct cli_opt opts[] = {
		{"force", 'f', OPT_BOOL, &force, "Force the container to disconnect from a network"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	if (berth_strv_len(args) != 2) {
		cli_args_error(c, "requires exactly 2 arguments");
		rc = 1;
	} else {
		cleanup_json json_t *body = json_pack("{s:s, s:b}", "Container", args[1], "Force", force);
		cleanup_free char *enc = berth_urlencode(args[0]);
		cleanup_free char *p = berth_strdup_printf("/networks/%s/disconnect", enc);
		struct berth_error err = {0};
		if (berth_client_json(&c->cl, "POST", p, body, NULL, &err) < 0)
			rc = cli_daemon_error(c, &err);
	}
	berth_strv_free(args);
	return rc;
}

static int cmd_network_prune(struct cli *c, int argc, char **argv)
{
	bool force = false;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 0, OPT_LIST, &filters, "Provide filter values (e.g. 'until=<timestamp>')"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts);
	int rc = 0;
	cleanup_json json_t *res = NULL;
	cleanup_free char *path = NULL;
	if ((rc = cli_objects_check(c, args, filters)) != 0)
		goto out;
	path = cli_objects_path("/networks/prune", filters);
	if (cli_objects_prune(c, force, "This will remove all custom networks not used by at least one container.",
			      path, &res, &rc))
		cli_objects_print_deleted("Deleted Networks", json_object_get(res, "NetworksDeleted"));
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	return rc;
}

static int cmd_network(struct cli *c, int argc, char **argv)
{
	(void)c;
	FILE *out = argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? stderr : stdout;
	if (out == stderr)
		fprintf(stderr, "berth: 'network %s' is not a berth command.\nSee 'berth network --help'\n", argv[1]);
	else
		fprintf(out, "\nUsage:  berth network COMMAND\n\nManage networks\n\nCommands:\n"
			     "  connect     Connect a container to a network\n"
			     "  create      Create a network\n"
			     "  disconnect  Disconnect a container from a network\n"
			     "  inspect     Display detailed information on one or more networks\n"
			     "  ls          List networks\n"
			     "  prune       Remove all unused networks\n"
			     "  rm          Remove one or more networks\n\n"
			     "Run 'berth network COMMAND --help' for more information on a command.\n");
	return out == stderr ? 1 : 0;
}

const struct cli_cmd cli_cmds_network[] = {
	{"network", cmd_network, NULL, "Manage networks"},
	{"network create", cmd_network_create, NULL, NULL},
	{"network ls", cmd_network_ls, NULL, NULL},
	{"network list", cmd_network_ls, NULL, NULL},
	{"network inspect", cmd_network_inspect, NULL, NULL},
	{"network rm", cmd_network_rm, NULL, NULL},
	{"network remove", cmd_network_rm, NULL, NULL},
	{"network connect", cmd_network_connect, NULL, NULL},
	{"network disconnect", cmd_network_disconnect, NULL, NULL},
	{"network prune", cmd_network_prune, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
