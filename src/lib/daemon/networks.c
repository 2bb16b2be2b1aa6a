/* Networks of the Engine API (see networks.h). */
#include "daemon/networks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/filters.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/networks_int.h"
#include "network/dns.h"
#include "network/network.h"
#include "runtime/jget.h"

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
			     "doc TEXT NOT NULL)";
/* docker allows two networks of one name (CheckDuplicate false) */
static const char *const MIGRATIONS[] = {
	"CREATE TABLE networks_v1 (id TEXT PRIMARY KEY, name TEXT NOT NULL, doc TEXT NOT NULL);"
	"INSERT INTO networks_v1 (id, name, doc) SELECT id, name, doc FROM networks;"
	"DROP TABLE networks; ALTER TABLE networks_v1 RENAME TO networks;"
	"CREATE INDEX networks_name ON networks (name);",
	NULL};

enum nw_ambiguous { NW_AMBIGUOUS_FIND, NW_AMBIGUOUS_INSPECT, NW_AMBIGUOUS_REMOVE };

static const char *const PREDEFINED[] = {"bridge", "host", "none", NULL};

bool berth_nw_predefined(const char *name)
{
	for (int i = 0; PREDEFINED[i]; i++)
		if (!strcmp(name, PREDEFINED[i]))
			return true;
	return false;
}

/* ---- the store ---- */

static json_t *load_all(struct berth_daemon *d, struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(d->db, "SELECT doc FROM networks ORDER BY name", err);
	if (!st)
		return NULL;
	json_t *out = json_array();
	int rc;
	while ((rc = berth_stmt_step(st, err)) == 1) {
		json_t *doc = json_loads(berth_stmt_text(st, 0) ? berth_stmt_text(st, 0) : "", 0, NULL);
		if (json_is_object(doc))
			json_array_append_new(out, doc);
		else
			json_decref(doc);
	}
	berth_stmt_finalize(st);
	if (rc < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int store_put(struct berth_daemon *d, json_t *doc, struct berth_error *err)
{
	cleanup_free char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_stmt *st =
		berth_db_prepare(d->db, "INSERT OR REPLACE INTO networks (id, name, doc) VALUES (?, ?, ?)", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, jstr(doc, "Id"));
	berth_stmt_bind_text(st, 2, jstr(doc, "Name"));
	berth_stmt_bind_text(st, 3, text);
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

static int store_del(struct berth_daemon *d, const char *id, struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(d->db, "DELETE FROM networks WHERE id = ?", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, id);
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

static void predefined_id(const char *name, char out[65])
{
	char dg[80];
	char *seed = berth_strdup_printf("berth-predefined-network-%s", name);
	berth_sha256_digest(seed, strlen(seed), dg);
	free(seed);
	snprintf(out, 65, "%s", berth_digest_hex(dg));
}

static json_t *predefined_doc(struct berth_daemon *d, const char *name)
{
	if (!strcmp(name, "bridge")) {
		json_t *b = d->net ? berth_net_default_network(d->net) : NULL;
		return b;
	}
	char id[65];
	predefined_id(name, id);
	char created[64];
	berth_time_rfc3339(d->started_ns, created, sizeof(created));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:[]}, s:b, s:b, s:b, s:{s:s}, s:b, s:{}, s:{}}",
			 "Name", name, "Id", id, "Created", created, "Scope", "local", "Driver",
			 !strcmp(name, "none") ? "null" : "host", "EnableIPv6", 0, "IPAM", "Driver", "default",
			 "Options", "Config", "Internal", 0, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "",
			 "ConfigOnly", 0, "Options", "Labels");
}

/* Every network document (predefined first, then user networks by name), a
 * new array. */
json_t *berth_nw_all(struct berth_daemon *d, struct berth_error *err)
{
	json_t *user = load_all(d, err);
	if (!user)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; PREDEFINED[i]; i++) {
		json_t *p = predefined_doc(d, PREDEFINED[i]);
		if (p)
			json_array_append_new(out, p);
	}
	json_array_extend(out, user);
	json_decref(user);
	return out;
}

/* docker's lookup order: full ID, name, then a unique ID prefix. Several
 * networks may share a name (created with CheckDuplicate false): the name is
 * then ambiguous, worded as the caller's dockerd code path words it. */
static json_t *find_net(struct berth_daemon *d, const char *ref, enum nw_ambiguous how, struct berth_error *err)
{
	if (!ref || !*ref) {
		berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", ref ? ref : "");
		return NULL;
	}
	json_t *all = berth_nw_all(d, err);
	if (!all)
		return NULL;
	json_t *by_name = NULL, *by_prefix = NULL;
	int names = 0, prefixes = 0;
	size_t i;
	json_t *n;
	json_array_foreach(all, i, n) {
		if (!strcmp(jstr(n, "Id"), ref)) {
			json_t *found = json_incref(n);
			json_decref(all);
			return found;
		}
		if (!strcmp(jstr(n, "Name"), ref) && !names++)
			by_name = n;
		if (berth_str_has_prefix(jstr(n, "Id"), ref) && !prefixes++)
			by_prefix = n;
	}
	json_t *found = names == 1 ? json_incref(by_name) : !names && prefixes == 1 ? json_incref(by_prefix) : NULL;
	json_decref(all);
	if (found)
		return found;
	if (names > 1 && how == NW_AMBIGUOUS_INSPECT)
		berth_err(err, BERTH_E_INVALID, "%d matches found based on name: network %s is ambiguous", names, ref);
	else if (names > 1)
		berth_err(err, BERTH_E_INVALID, "network %s is ambiguous (%d matches found %s name)", ref, names,
			  how == NW_AMBIGUOUS_REMOVE ? "based on" : "on");
	else if (prefixes > 1)
		berth_err(err, BERTH_E_INVALID, "network %s is ambiguous (%d matches found based on ID prefix)", ref,
			  prefixes);
	else
		berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", ref);
	return NULL;
}

json_t *berth_nw_find(struct berth_daemon *d, const char *ref, struct berth_error *err)
{
	return find_net(d, ref, NW_AMBIGUOUS_FIND, err);
}

bool berth_nw_user_defined(json_t *net) { return !berth_nw_predefined(jstr(net, "Name")); }

/* ---- containers of a network ---- */

/* An endpoint (key k of NetworkSettings.Networks) is on the network: by its
 * NetworkID when it has one (two networks may share a name), else by name. */
static bool endpoint_of(const char *k, json_t *ep, const char *name, const char *id)
{
	return jstr_ne(ep, "NetworkID") ? !strcmp(jstr(ep, "NetworkID"), id) : !strcmp(k, name);
}

static json_t *containers_of(struct berth_daemon *d, json_t *net)
{
	json_t *out = json_object();
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	const char *name = jstr(net, "Name"), *id = jstr(net, "Id");
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool resident = berth_container_doc_resident(c); /* a scan: one document at a time */
		/* unreadable: left out of the list (logged) */
		json_t *eps = jobj(jobj(berth_container_doc_or_log(c, "not listed in its networks"), "NetworkSettings"),
				   "Networks");
		const char *k;
		json_t *ep;
		json_object_foreach(eps, k, ep) {
			if (!endpoint_of(k, ep, name, id))
				continue;
			if (!jstr_ne(ep, "EndpointID"))
				continue;
			char v4[80] = "", v6[80] = "";
			if (jstr_ne(ep, "IPAddress"))
				snprintf(v4, sizeof(v4), "%s/%d", jstr(ep, "IPAddress"),
					 (int)json_integer_value(json_object_get(ep, "IPPrefixLen")));
			if (jstr_ne(ep, "GlobalIPv6Address"))
				snprintf(v6, sizeof(v6), "%s/%d", jstr(ep, "GlobalIPv6Address"),
					 (int)json_integer_value(json_object_get(ep, "GlobalIPv6PrefixLen")));
			json_object_set_new(out, c->id,
					    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name + 1, "EndpointID",
						      jstr(ep, "EndpointID"), "MacAddress",
						      jstr(ep, "MacAddress") ? jstr(ep, "MacAddress") : "",
						      "IPv4Address", v4, "IPv6Address", v6));
		}
		berth_container_doc_unread(c, resident);
		pthread_mutex_unlock(&c->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return out;
}

/* Does any container (running or not) refer to the network? */
static bool network_in_use(struct berth_daemon *d, json_t *net, bool endpoints_only)
{
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	bool used = false;
	for (size_t i = 0; i < n && !used; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool resident = berth_container_doc_resident(c);
		json_t *doc = berth_container_doc_or_log(c, "counted as using every network");
		json_t *ep = jobj(jobj(jobj(doc, "NetworkSettings"), "Networks"), jstr(net, "Name"));
		if (ep && !endpoint_of(jstr(net, "Name"), ep, jstr(net, "Name"), jstr(net, "Id")))
			ep = NULL;
		if (!doc || (ep && (!endpoints_only || jstr_ne(ep, "EndpointID"))))
			used = true;
		berth_container_doc_unread(c, resident);
		pthread_mutex_unlock(&c->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return used;
}

static json_t *with_containers(struct berth_daemon *d, json_t *net)
{
	json_t *doc = json_deep_copy(net);
	json_t *opts = json_incref(json_object_get(doc, "Options"));
	json_object_del(doc, "Options");
	json_object_set_new(doc, "Containers", containers_of(d, net));
	/* docker's key order puts Options and Labels last */
	json_object_set_new(doc, "Options", opts ? opts : json_object());
	json_t *labels = json_incref(json_object_get(doc, "Labels"));
	json_object_del(doc, "Labels");
	json_object_set_new(doc, "Labels", labels ? labels : json_object());
	return doc;
}

json_t *berth_networks_inspect(struct berth_daemon *d, const char *ref, struct berth_error *err)
{
	cleanup_json json_t *net = find_net(d, ref, NW_AMBIGUOUS_INSPECT, err);
	if (!net)
		return NULL;
	return with_containers(d, net);
}

/* ---- list ---- */

static bool match_name_or_id(json_t *values, const char *s, bool prefix_ok)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v) {
		const char *f = json_string_value(v);
		if (!f)
			continue;
		if (prefix_ok ? berth_str_has_prefix(s, f) : strstr(s, f) != NULL)
			return true;
	}
	return false;
}

json_t *berth_networks_list(struct berth_daemon *d, json_t *filters, struct berth_error *err)
{
	static const char *const allowed[] = {"dangling", "driver", "id", "label", "name", "scope", "type", NULL};
	if (berth_filters_check(filters, allowed, err) < 0)
		return NULL;
	json_t *type = json_object_get(filters, "type");
	size_t i;
	json_t *v;
	json_array_foreach(type, i, v) {
		const char *t = json_string_value(v);
		if (!t || (strcmp(t, "custom") && strcmp(t, "builtin"))) {
			berth_err(err, BERTH_E_INVALID, "invalid filter: 'type'='%s'", t ? t : "");
			return NULL;
		}
	}
	json_t *dangling = json_object_get(filters, "dangling");
	json_array_foreach(dangling, i, v) {
		const char *t = json_string_value(v);
		if (!t || (strcmp(t, "true") && strcmp(t, "false") && strcmp(t, "1") && strcmp(t, "0"))) {
			berth_err(err, BERTH_E_INVALID, "invalid filter 'dangling=%s'", t ? t : "");
			return NULL;
		}
	}
	cleanup_json json_t *all = berth_nw_all(d, err);
	if (!all)
		return NULL;
	json_t *out = json_array();
	json_t *n;
	json_array_foreach(all, i, n) {
		const char *name = jstr(n, "Name"), *id = jstr(n, "Id");
		if (json_array_size(json_object_get(filters, "name")) &&
		    !match_name_or_id(json_object_get(filters, "name"), name, false))
			continue;
		if (json_array_size(json_object_get(filters, "id")) &&
		    !match_name_or_id(json_object_get(filters, "id"), id, true))
			continue;
		if (json_array_size(json_object_get(filters, "driver")) &&
		    !berth_filter_has(json_object_get(filters, "driver"), jstr(n, "Driver")))
			continue;
		if (json_array_size(json_object_get(filters, "scope")) &&
		    !berth_filter_has(json_object_get(filters, "scope"), "local"))
			continue;
		if (json_array_size(json_object_get(filters, "label")) &&
		    !berth_labels_match(json_object_get(filters, "label"), json_object_get(n, "Labels")))
			continue;
		bool builtin = berth_nw_predefined(name);
		if (json_array_size(type) && !berth_filter_has(type, builtin ? "builtin" : "custom"))
			continue;
		if (json_array_size(dangling)) {
			const char *dv = json_string_value(json_array_get(dangling, 0));
			bool want = !strcmp(dv, "true") || !strcmp(dv, "1");
			bool is_dangling = !builtin && !network_in_use(d, n, true);
			if (want != is_dangling)
				continue;
		}
		json_array_append_new(out, with_containers(d, n));
	}
	return out;
}

/* ---- create ---- */

static bool name_valid(const char *s)
{
	/* docker: [a-zA-Z0-9][a-zA-Z0-9_.-]* is not enforced for networks; it refuses
	 * only names it cannot use as a key. Keep printable, no '/'. */
	if (!*s || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '/' || *p == 0x7f)
			return false;
	return true;
}

static int check_cidr(const char *what, const char *s, bool v6_ok, struct berth_error *err)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	unsigned char a[16];
	if (slash) {
		*slash = '\0';
		char *end;
		long p = strtol(slash + 1, &end, 10);
		bool v4 = inet_pton(AF_INET, buf, a) == 1;
		if (*end || slash[1] == '\0' || p < 0 || p > (v4 ? 32 : 128) ||
		    (!v4 && (!v6_ok || inet_pton(AF_INET6, buf, a) != 1)))
			return berth_err(err, BERTH_E_INVALID, "invalid %s %s", what, s);
		return 0;
	}
	return berth_err(err, BERTH_E_INVALID, "invalid %s %s", what, s);
}

static int check_ip(const char *what, const char *s, struct berth_error *err)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return 0;
	return berth_err(err, BERTH_E_INVALID, "invalid %s address %s", what, s);
}

/* Is there a network of this name? dockerd 20.10 then refuses a create with
 * CheckDuplicate and warns otherwise. */
static bool same_name(struct berth_daemon *d, const char *name, char **warning)
{
	cleanup_json json_t *all = berth_nw_all(d, NULL);
	size_t i;
	json_t *n;
	json_array_foreach(all, i, n) {
		if (!strcmp(jstr(n, "Name"), name)) {
			*warning = berth_strdup_printf("Network with name %s (id : %s) already exists", name,
						       jstr(n, "Id"));
			return true;
		}
	}
	return false;
}

json_t *berth_networks_create(struct berth_daemon *d, json_t *body, struct berth_error *err)
{
	struct berth_networks *ns = d->networks;
	const char *name = jstr(body, "Name");
	if (!name || !*name) {
		berth_err(err, BERTH_E_INVALID, "network name must not be empty");
		return NULL;
	}
	if (berth_nw_predefined(name)) {
		berth_err(err, BERTH_E_FORBIDDEN, "operation is not permitted on predefined %s network ", name);
		return NULL;
	}
	if (!name_valid(name)) {
		berth_err(err, BERTH_E_INVALID, "invalid network name \"%s\"", name);
		return NULL;
	}
	const char *driver = jstr_ne(body, "Driver") ? jstr(body, "Driver") : "bridge";
	if (!strcmp(driver, "host") || !strcmp(driver, "null")) {
		berth_err(err, BERTH_E_FORBIDDEN, "only one instance of \"%s\" network is allowed", driver);
		return NULL;
	}
	if (strcmp(driver, "bridge") != 0) {
		berth_err(err, BERTH_E_NOT_FOUND, "plugin \"%s\" not found", driver);
		return NULL;
	}
	if (!d->net) {
		berth_err(err, BERTH_E_UNAVAILABLE, "networking is not available on this daemon");
		return NULL;
	}
	json_t *ipam = jobj(body, "IPAM");
	if (ipam && jstr_ne(ipam, "Driver") && strcmp(jstr(ipam, "Driver"), "default")) {
		berth_err(err, BERTH_E_NOT_FOUND, "plugin \"%s\" not found", jstr(ipam, "Driver"));
		return NULL;
	}
	bool v6 = json_is_true(json_object_get(body, "EnableIPv6"));
	json_t *cfgs = json_array();
	size_t i;
	json_t *pc;
	json_array_foreach(jarr(ipam, "Config"), i, pc) {
		json_t *c = json_object();
		const char *keys[] = {"Subnet", "IPRange", "Gateway"};
		for (int k = 0; k < 3; k++) {
			const char *v = jstr(pc, keys[k]);
			if (!v || !*v)
				continue;
			if ((k < 2 && check_cidr(k == 0 ? "subnet" : "ip-range", v, true, err) < 0) ||
			    (k == 2 && check_ip("gateway", v, err) < 0)) {
				json_decref(c);
				json_decref(cfgs);
				return NULL;
			}
			json_object_set_new(c, keys[k], json_string(v));
		}
		if (json_object_size(jobj(pc, "AuxiliaryAddresses")))
			json_object_set(c, "AuxiliaryAddresses", jobj(pc, "AuxiliaryAddresses"));
		if (!json_object_get(c, "Subnet") && json_object_size(c)) {
			json_decref(c);
			json_decref(cfgs);
			berth_err(err, BERTH_E_INVALID, "ip-range or gateway given without a subnet");
			return NULL;
		}
		if (strchr(jstr(c, "Subnet") ? jstr(c, "Subnet") : "", ':') && !v6) {
			json_decref(c);
			json_decref(cfgs);
			berth_err(err, BERTH_E_FORBIDDEN,
				  "IPv6 subnet %s given but IPv6 is not enabled on the network (EnableIPv6)",
				  jstr(pc, "Subnet"));
			return NULL;
		}
		json_array_append_new(cfgs, c);
	}
	pthread_mutex_lock(&ns->mu);
	cleanup_free char *warning = NULL;
	if (same_name(d, name, &warning) && json_is_true(json_object_get(body, "CheckDuplicate"))) {
		pthread_mutex_unlock(&ns->mu);
		json_decref(cfgs);
		berth_err(err, BERTH_E_CONFLICT, "network with name %s already exists", name);
		return NULL;
	}
	char id[65];
	berth_random_id(id);
	char created[64];
	berth_time_rfc3339(berth_now_ns(), created, sizeof(created));
	json_t *opts = json_is_object(json_object_get(body, "Options")) ? json_deep_copy(jobj(body, "Options")) :
									  json_object();
	json_t *labels =
		json_is_object(json_object_get(body, "Labels")) ? json_deep_copy(jobj(body, "Labels")) : json_object();
	json_t *ipam_opts = json_is_object(json_object_get(ipam, "Options")) ? json_deep_copy(jobj(ipam, "Options")) :
									       json_object();
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:o, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, "
				"s:o, s:o}",
				"Name", name, "Id", id, "Created", created, "Scope", "local", "Driver", "bridge",
				"EnableIPv6", v6, "IPAM", "Driver", "default", "Options", ipam_opts, "Config", cfgs,
				"Internal", json_is_true(json_object_get(body, "Internal")), "Attachable",
				json_is_true(json_object_get(body, "Attachable")), "Ingress", 0, "ConfigFrom",
				"Network", "", "ConfigOnly", 0, "Options", opts, "Labels", labels);
	if (!doc) {
		pthread_mutex_unlock(&ns->mu);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (berth_net_network_add(d->net, doc, true, err) < 0) {
		pthread_mutex_unlock(&ns->mu);
		json_decref(doc);
		return NULL;
	}
	if (store_put(d, doc, err) < 0) {
		berth_net_network_remove(d->net, id, NULL);
		pthread_mutex_unlock(&ns->mu);
		json_decref(doc);
		return NULL;
	}
	pthread_mutex_unlock(&ns->mu);
	json_t *attrs = json_pack("{s:s, s:s}", "name", name, "type", "bridge");
	berth_events_emit(d->events, "network", "create", id, attrs);
	json_decref(attrs);
	json_decref(doc);
	return json_pack("{s:s, s:s}", "Id", id, "Warning", warning ? warning : "");
}

/* ---- remove / prune ---- */

static int remove_locked(struct berth_daemon *d, json_t *net, struct berth_error *err)
{
	const char *name = jstr(net, "Name"), *id = jstr(net, "Id");
	if (berth_nw_predefined(name))
		return berth_err(err, BERTH_E_FORBIDDEN, "%s is a pre-defined network and cannot be removed", name);
	if (network_in_use(d, net, true))
		return berth_err(err, BERTH_E_FORBIDDEN,
				 "error while removing network: network %s id %s has active endpoints", name, id);
	struct berth_error rerr = {0};
	if (d->net && berth_net_network_remove(d->net, id, &rerr) < 0 && rerr.kind != BERTH_E_NOT_FOUND) {
		*err = rerr;
		return -1;
	}
	if (store_del(d, id, err) < 0)
		return -1;
	json_t *attrs = json_pack("{s:s, s:s}", "name", name, "type", "bridge");
	berth_events_emit(d->events, "network", "destroy", id, attrs);
	json_decref(attrs);
	return 0;
}

int berth_networks_remove(struct berth_daemon *d, const char *ref, struct berth_error *err)
{
	cleanup_json json_t *net = find_net(d, ref, NW_AMBIGUOUS_REMOVE, err);
	if (!net)
		return -1;
	pthread_mutex_lock(&d->networks->mu);
	int rc = remove_locked(d, net, err);
	pthread_mutex_unlock(&d->networks->mu);
	return rc;
}

int berth_networks_prune_unused(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err)
{
	*out = NULL;
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) {
		if (strcmp(k, "until") && strcmp(k, "label") && strcmp(k, "label!"))
			return berth_err(err, BERTH_E_INVALID, "Invalid filter '%s'", k);
	}
	int64_t until = 0;
	json_t *u = json_array_get(json_object_get(filters, "until"), 0);
	if (u && berth_time_parse(json_string_value(u), &until) < 0)
		return berth_err(err, BERTH_E_INVALID, "failed to parse value as time or duration: \"%s\"",
				 json_string_value(u));
	cleanup_json json_t *all = berth_nw_all(d, err);
	if (!all)
		return -1;
	json_t *deleted = json_array();
	size_t i;
	json_t *n;
	pthread_mutex_lock(&d->networks->mu);
	json_array_foreach(all, i, n) {
		if (berth_nw_predefined(jstr(n, "Name")) || network_in_use(d, n, false))
			continue;
		int64_t created = 0;
		berth_time_parse(jstr(n, "Created"), &created);
		if (until && created >= until)
			continue;
		if (json_array_size(json_object_get(filters, "label")) &&
		    !berth_labels_match(json_object_get(filters, "label"), json_object_get(n, "Labels")))
			continue;
		if (json_array_size(json_object_get(filters, "label!")) &&
		    berth_labels_match(json_object_get(filters, "label!"), json_object_get(n, "Labels")))
			continue;
		struct berth_error rerr = {0};
		if (remove_locked(d, n, &rerr) == 0)
			json_array_append_new(deleted, json_string(jstr(n, "Name")));
	}
	pthread_mutex_unlock(&d->networks->mu);
	json_t *attrs = json_pack("{s:s}", "reclaimed", "0");
	berth_events_emit(d->events, "network", "prune", "", attrs);
	json_decref(attrs);
	if (!json_array_size(deleted)) {
		json_decref(deleted);
		deleted = json_null();
	}
	*out = json_pack("{s:o}", "NetworksDeleted", deleted);
	return 0;
}

/* ---- open / close ---- */

struct berth_networks *berth_networks_open(struct berth_daemon *d, struct berth_error *err)
{
	if (berth_db_exec(d->db, SCHEMA, err) < 0 || berth_db_migrate(d->db, "networks", MIGRATIONS, err) < 0)
		return NULL;
	struct berth_networks *ns = calloc(1, sizeof(*ns));
	if (!ns) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ns->mu, NULL);
	ns->d = d;
	ns->dns_ops.lookup = berth_nw_dns_lookup;
	ns->dns_ops.ptr = berth_nw_dns_ptr;
	ns->dns_ops.ctx = d;
	cleanup_free char *rc = NULL;
	size_t rl = 0;
	if (berth_read_file("/etc/resolv.conf", &rc, &rl, 1 << 16, NULL) == 0)
		berth_dns_upstreams_parse(rc, &ns->upstreams);
	json_t *user = load_all(d, err);
	if (!user) {
		berth_networks_close(ns);
		return NULL;
	}
	size_t i;
	json_t *n;
	json_array_foreach(user, i, n) {
		struct berth_error aerr = {0};
		if (d->net && berth_net_network_add(d->net, n, false, &aerr) < 0)
			berth_log(&d->log, BERTH_LOG_ERROR, "network %s: %s", jstr(n, "Name"), aerr.msg);
	}
	json_decref(user);
	return ns;
}

void berth_networks_close(struct berth_networks *ns)
{
	if (!ns)
		return;
	for (struct berth_nw_dns *s = ns->dns, *next; s; s = next) {
		next = s->next;
		berth_dns_stop(s->server);
		free(s);
	}
	pthread_mutex_destroy(&ns->mu);
	free(ns);
}
