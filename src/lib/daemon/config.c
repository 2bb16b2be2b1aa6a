#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

void berth_config_init(struct berth_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_root = strdup("/var/lib/berth");
	c->exec_root = strdup("/run/berth");
	c->config_file = strdup("/etc/berth/daemon.json");
	c->log_driver = strdup("json-file");
	c->log_opts = json_object();
	c->runtimes = json_object();
	berth_net_opts_init(&c->net);
	berth_registry_config_init(&c->registry);
}

void berth_config_free(struct berth_config *c)
{
	berth_strv_free(c->hosts);
	berth_strv_free(c->labels);
	berth_net_opts_free(&c->net);
	berth_registry_config_free(&c->registry);
	free(c->data_root);
	free(c->exec_root);
	free(c->storage_driver);
	berth_strv_free(c->storage_opts);
	free(c->pidfile);
	free(c->config_file);
	free(c->default_runtime);
	free(c->log_driver);
	free(c->shim_path);
	free(c->log_level);
	json_decref(c->runtimes);
	json_decref(c->log_opts);
	berth_sec_config_free(&c->sec);
	memset(c, 0, sizeof(*c));
}

/* Keys Berth implements are handled in berth_config_apply; these are
 * dockerd's other keys: accepted only with their "off" value. */
static const char *const off_only_keys[] = {
	"insecure-registries",
	"registry-mirrors",
	"dns",
	"dns-opts",
	"dns-search",
	"features",
	"experimental",
	"max-concurrent-downloads",
	"max-concurrent-uploads",
	"shutdown-timeout",
	"default-ulimits",
	"init",
	"init-path",
	"no-new-privileges",
	"cgroup-parent",
	"exec-opts",
	"selinux-enabled",
	"group",
	"default-shm-size",
	"default-cgroupns-mode",
	"allow-nondistributable-artifacts",
	"containerd",
	"oom-score-adjust",
	"raw-logs",
	NULL,
};

static bool in_list(const char *const *l, const char *k)
{
	for (int i = 0; l[i]; i++)
		if (!strcmp(l[i], k))
			return true;
	return false;
}

static bool flag_set(const struct berth_config_flags *f, const char *name)
{
	for (int i = 0; f && i < f->n; i++)
		if (!strcmp(f->set[i], name))
			return true;
	return false;
}

static bool is_off(json_t *v)
{
	return json_is_null(v) || json_is_false(v) || (json_is_string(v) && !*json_string_value(v)) ||
	       (json_is_integer(v) && json_integer_value(v) == 0) || (json_is_array(v) && !json_array_size(v)) ||
	       (json_is_object(v) && !json_object_size(v));
}

static const char *json_kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	default: return "null";
	}
}

static int type_err(struct berth_error *err, const char *key, json_t *v, const char *want)
{
	return berth_err(err, BERTH_E_INVALID, "json: cannot unmarshal %s into Go struct field Config.%s of type %s",
			 json_kind(v), key, want);
}

static int set_str(char **dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_string(v))
		return type_err(err, key, v, "string");
	char *d = strdup(json_string_value(v));
	if (!d)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

static int set_strv(char ***dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_array(v))
		return type_err(err, key, v, "[]string");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return type_err(err, key, e, "string");
	berth_strv_free(*dst);
	*dst = NULL;
	json_array_foreach(v, i, e)
		if (berth_strv_push(dst, json_string_value(e)) < 0)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

static int set_bool(bool *dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_boolean(v))
		return type_err(err, key, v, "bool");
	*dst = json_is_true(v);
	return 0;
}

static int set_posint(int *dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_integer(v))
		return type_err(err, key, v, "int");
	json_int_t n = json_integer_value(v);
	if (n <= 0 || n > 1000000)
		return berth_err(err, BERTH_E_INVALID, "invalid value for %s: %lld (must be between 1 and 1000000)",
				 key, (long long)n);
	*dst = (int)n;
	return 0;
}

int berth_config_apply(struct berth_config *c, const char *key, json_t *v, struct berth_error *err)
{
	if (!strcmp(key, "hosts"))
		return set_strv(&c->hosts, key, v, err);
	if (!strcmp(key, "data-root") || !strcmp(key, "graph"))
		return set_str(&c->data_root, key, v, err);
	if (!strcmp(key, "exec-root"))
		return set_str(&c->exec_root, key, v, err);
	if (!strcmp(key, "storage-driver"))
		return set_str(&c->storage_driver, key, v, err);
	if (!strcmp(key, "storage-opts"))
		return set_strv(&c->storage_opts, key, v, err);
	if (!strcmp(key, "labels"))
		return set_strv(&c->labels, key, v, err);
	if (!strcmp(key, "debug"))
		return set_bool(&c->debug, key, v, err);
	if (!strcmp(key, "pidfile"))
		return set_str(&c->pidfile, key, v, err);
	if (!strcmp(key, "default-runtime"))
		return set_str(&c->default_runtime, key, v, err);
	if (!strcmp(key, "log-driver"))
		return set_str(&c->log_driver, key, v, err);
	if (!strcmp(key, "runtimes") || !strcmp(key, "log-opts")) {
		if (!json_is_object(v))
			return type_err(err, key, v, "map");
		json_t *copy = json_deep_copy(v);
		if (!copy)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		json_t **dst = key[0] == 'r' ? &c->runtimes : &c->log_opts;
		json_decref(*dst);
		*dst = copy;
		return 0;
	}
	if (!strcmp(key, "live-restore")) {
		bool b = false;
		if (set_bool(&b, key, v, err) < 0)
			return -1;
		if (!b)
			return berth_err(err, BERTH_E_INVALID,
					 "live-restore: false is not supported yet (Berth always keeps containers "
					 "running across daemon restarts)");
		c->live_restore = true;
		return 0;
	}
	if (!strcmp(key, "log-level")) {
		if (!json_is_string(v))
			return type_err(err, key, v, "string");
		const char *l = json_string_value(v);
		if (strcmp(l, "debug") && strcmp(l, "info") && strcmp(l, "warn") && strcmp(l, "error") &&
		    strcmp(l, "fatal"))
			return berth_err(err, BERTH_E_INVALID, "unable to parse logging level: %s", l);
		if (set_str(&c->log_level, key, v, err) < 0)
			return -1;
		if (!strcmp(l, "debug"))
			c->debug = true;
		return 0;
	}
	if (!strcmp(key, "max-connections"))
		return set_posint(&c->max_connections, key, v, err);
	if (!strcmp(key, "http-idle-timeout"))
		return set_posint(&c->http_idle_timeout, key, v, err);
	if (!strcmp(key, "http-read-timeout"))
		return set_posint(&c->http_read_timeout, key, v, err);
	if (berth_sec_config_key(key))
		return berth_sec_config_apply(c, key, v, err);
	int net = berth_net_opts_apply(&c->net, key, v, err); /* bridge, bip, iptables, ... */
	if (net != 0)
		return net < 0 ? -1 : 0;
	if (berth_registry_config_key(key))
		return berth_registry_config_apply(&c->registry, key, v, err);
	if (in_list(off_only_keys, key)) {
		if (is_off(v))
			return 0;
		return berth_err(err, BERTH_E_INVALID, "%s is not supported yet", key);
	}
	return berth_err(err, BERTH_E_INVALID, "the following directives don't match any configuration option: %s",
			 key);
}

static int read_json(const char *path, bool required, json_t **out, struct berth_error *err)
{
	*out = NULL;
	cleanup_free char *data = NULL;
	size_t len = 0;
	struct berth_error e2 = {0};
	if (berth_read_file(path, &data, &len, 1 << 20, &e2) < 0) {
		if (e2.kind == BERTH_E_NOT_FOUND && !required)
			return 0;
		return berth_err(err, BERTH_E_INVALID, "unable to configure the Docker daemon with file %s: %s", path,
				 e2.msg);
	}
	json_error_t je;
	*out = json_loadb(data, len, 0, &je);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return berth_err(err, BERTH_E_INVALID, "unable to configure the Docker daemon with file %s: %s", path,
				 je.text[0] ? je.text : "not a JSON object");
	}
	return 0;
}

static bool key_known(const char *k)
{
	static const char *const impl[] = {"hosts",
					   "data-root",
					   "graph",
					   "exec-root",
					   "storage-driver",
					   "storage-opts",
					   "labels",
					   "debug",
					   "pidfile",
					   "default-runtime",
					   "runtimes",
					   "log-driver",
					   "log-opts",
					   "live-restore",
					   "log-level",
					   "max-connections",
					   "http-idle-timeout",
					   "http-read-timeout",
					   "tls",
					   "tlsverify",
					   "tlscert",
					   "tlskey",
					   "tlscacert",
					   "seccomp-profile",
					   "bridge",
					   "bip",
					   "fixed-cidr",
					   "mtu",
					   "ip",
					   "iptables",
					   "ip-forward",
					   "ip-masq",
					   "icc",
					   "userland-proxy",
					   "userland-proxy-path",
					   "default-address-pools",
					   "ipv6",
					   "fixed-cidr-v6",
					   "ip6tables",
					   NULL};
	return in_list(impl, k) || in_list(off_only_keys, k) || berth_sec_config_key(k) || berth_registry_config_key(k);
}

/* The flag a daemon.json key conflicts with. */
static const char *key_flag(const char *k)
{
	return !strcmp(k, "hosts") ? "host" : !strcmp(k, "labels") ? "label" : !strcmp(k, "graph") ? "data-root" : k;
}

int berth_config_load_file(struct berth_config *c, const char *path, bool required,
			   const struct berth_config_flags *flags, struct berth_error *err)
{
	cleanup_json json_t *j = NULL;
	if (read_json(path, required, &j, err) < 0)
		return -1;
	if (!j)
		return 0;
	struct berth_buf unknown = {0}, conflicts = {0}, bad = {0};
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		if (!key_known(k))
			berth_buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", k);
		if (flag_set(flags, key_flag(k))) {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			berth_buf_printf(&conflicts, "%s%s: (from flag: set, from file: %s)", conflicts.len ? ", " : "",
					 k, s ? s : "?");
			free(s);
		}
	}
	int rc = -1;
	if (unknown.len) {
		berth_err(
			err, BERTH_E_INVALID,
			"unable to configure the Docker daemon with file %s: the following directives don't match any configuration option: %s",
			path, unknown.data);
		goto out;
	}
	if (conflicts.len) {
		berth_err(
			err, BERTH_E_INVALID,
			"unable to configure the Docker daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s",
			path, conflicts.data);
		goto out;
	}
	/* every problem at once, each naming its key */
	json_object_foreach(j, k, v) {
		struct berth_error e = {0};
		if (berth_config_apply(c, k, v, &e) < 0)
			berth_buf_printf(&bad, "%s%s", bad.len ? "; " : "", e.msg);
	}
	if (bad.len) {
		berth_err(err, BERTH_E_INVALID, "unable to configure the Docker daemon with file %s: %s", path,
			  bad.data);
		goto out;
	}
	rc = 0;
out:
	berth_buf_free(&unknown);
	berth_buf_free(&conflicts);
	berth_buf_free(&bad);
	return rc;
}

static bool host_is_loopback(const char *host)
{
	if (!*host)
		return false; /* all interfaces */
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
		return false;
	bool all = true;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)a->ai_addr;
			all = all && (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)a->ai_addr;
			all = all && IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		} else {
			all = false;
		}
	}
	freeaddrinfo(ai);
	return all;
}

int berth_config_check_hosts(const struct berth_config *c, char **warning, struct berth_error *err)
{
	*warning = NULL;
	for (size_t i = 0; c->hosts && c->hosts[i]; i++) {
		const char *h = c->hosts[i];
		if (strncmp(h, "tcp://", 6))
			continue;
		cleanup_free char *hp = strdup(h + 6);
		if (!hp)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		char *colon = strrchr(hp, ':');
		if (colon && !strchr(colon, ']'))
			*colon = '\0';
		char *host = hp;
		if (*host == '[') {
			host++;
			char *rb = strchr(host, ']');
			if (rb)
				*rb = '\0';
		}
		if (c->sec.tls)
			continue; /* TLS-protected listener */
		if (!c->tls_disabled && !host_is_loopback(host))
			return berth_err(
				err, BERTH_E_INVALID,
				"failed to load listeners: API is accessible on http://%s without encryption. Access to the "
				"remote API is equivalent to root access on the host. Refer to the 'Docker daemon attack "
				"surface' section in the documentation for more information: "
				"https://docs.docker.com/go/attack-surface/ (use --tlsverify with "
				"--tlscacert, --tlscert and --tlskey, or add --tls=false to start anyway)",
				h + 6);
		if (!*warning)
			*warning = berth_strdup_printf(
				"Binding to IP address without --tlsverify is insecure and gives root access on this "
				"machine to everyone who has access to your network. host=\"%s\"",
				h);
	}
	return 0;
}

int berth_config_reload(struct berth_config *c, struct berth_error *err)
{
	cleanup_json json_t *j = NULL;
	if (read_json(c->config_file, false, &j, err) < 0)
		return -1;
	if (!j)
		return 0;
	if (json_is_array(json_object_get(j, "labels")) &&
	    set_strv(&c->labels, "labels", json_object_get(j, "labels"), err) < 0)
		return -1;
	if (json_is_boolean(json_object_get(j, "debug")))
		c->debug = json_is_true(json_object_get(j, "debug"));
	return berth_sec_config_reload(c, j, err);
}
