#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
}

void berth_config_free(struct berth_config *c)
{
	berth_strv_free(c->hosts);
	berth_strv_free(c->labels);
	free(c->data_root);
	free(c->exec_root);
	free(c->storage_driver);
	free(c->pidfile);
	free(c->config_file);
	free(c->default_runtime);
	free(c->log_driver);
	free(c->shim_path);
	json_decref(c->runtimes);
	json_decref(c->log_opts);
	memset(c, 0, sizeof(*c));
}

static const char *const known_keys[] = {
	"hosts",
	"data-root",
	"graph",
	"exec-root",
	"storage-driver",
	"labels",
	"debug",
	"pidfile",
	"default-runtime",
	"runtimes",
	"log-driver",
	"log-opts",
	"live-restore",
	"log-level",
	"storage-opts",
	"insecure-registries",
	"registry-mirrors",
	"bridge",
	"bip",
	"iptables",
	"ip-forward",
	"ip-masq",
	"default-address-pools",
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
	"userland-proxy",
	"icc",
	"mtu",
	"seccomp-profile",
	"no-new-privileges",
	"cgroup-parent",
	"exec-opts",
	"selinux-enabled",
	"userns-remap",
	"authorization-plugins",
	"tls",
	"tlsverify",
	"tlscacert",
	"tlscert",
	"tlskey",
	"group",
	"default-shm-size",
	"default-cgroupns-mode",
	"ipv6",
	"fixed-cidr",
	"fixed-cidr-v6",
	"allow-nondistributable-artifacts",
	"containerd",
	"oom-score-adjust",
	"raw-logs",
	NULL,
};

static bool key_known(const char *k)
{
	for (int i = 0; known_keys[i]; i++)
		if (!strcmp(known_keys[i], k))
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

static void set_str(char **dst, json_t *v)
{
	if (json_is_string(v)) {
		free(*dst);
		*dst = strdup(json_string_value(v));
	}
}

static void set_strv(char ***dst, json_t *v)
{
	if (!json_is_array(v))
		return;
	berth_strv_free(*dst);
	*dst = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
		if (json_is_string(e))
			berth_strv_push(dst, json_string_value(e));
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

int berth_config_load_file(struct berth_config *c, const char *path, bool required,
			   const struct berth_config_flags *flags, struct berth_error *err)
{
	cleanup_json json_t *j = NULL;
	if (read_json(path, required, &j, err) < 0)
		return -1;
	if (!j)
		return 0;
	struct berth_buf unknown = {0}, conflicts = {0};
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		if (!key_known(k))
			berth_buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", k);
		const char *flagname = !strcmp(k, "hosts") ? "host" : !strcmp(k, "labels") ? "label" : k;
		if (flag_set(flags, flagname)) {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			berth_buf_printf(&conflicts, "%s%s: (from flag: set, from file: %s)", conflicts.len ? ", " : "",
					 k, s ? s : "?");
			free(s);
		}
	}
	if (unknown.len) {
		berth_err(
			err, BERTH_E_INVALID,
			"unable to configure the Docker daemon with file %s: the following directives don't match any configuration option: %s",
			path, unknown.data);
		berth_buf_free(&unknown);
		berth_buf_free(&conflicts);
		return -1;
	}
	if (conflicts.len) {
		berth_err(
			err, BERTH_E_INVALID,
			"unable to configure the Docker daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s",
			path, conflicts.data);
		berth_buf_free(&conflicts);
		return -1;
	}
	set_strv(&c->hosts, json_object_get(j, "hosts"));
	set_str(&c->data_root, json_object_get(j, "data-root"));
	set_str(&c->data_root, json_object_get(j, "graph"));
	set_str(&c->exec_root, json_object_get(j, "exec-root"));
	set_str(&c->storage_driver, json_object_get(j, "storage-driver"));
	set_strv(&c->labels, json_object_get(j, "labels"));
	if (json_is_boolean(json_object_get(j, "debug")))
		c->debug = json_is_true(json_object_get(j, "debug"));
	set_str(&c->pidfile, json_object_get(j, "pidfile"));
	set_str(&c->default_runtime, json_object_get(j, "default-runtime"));
	set_str(&c->log_driver, json_object_get(j, "log-driver"));
	if (json_is_object(json_object_get(j, "runtimes"))) {
		json_decref(c->runtimes);
		c->runtimes = json_deep_copy(json_object_get(j, "runtimes"));
	}
	if (json_is_object(json_object_get(j, "log-opts"))) {
		json_decref(c->log_opts);
		c->log_opts = json_deep_copy(json_object_get(j, "log-opts"));
	}
	if (json_is_boolean(json_object_get(j, "live-restore")))
		c->live_restore = json_is_true(json_object_get(j, "live-restore"));
	return 0;
}

int berth_config_reload(struct berth_config *c, struct berth_error *err)
{
	cleanup_json json_t *j = NULL;
	if (read_json(c->config_file, false, &j, err) < 0)
		return -1;
	if (!j)
		return 0;
	set_strv(&c->labels, json_object_get(j, "labels"));
	if (json_is_boolean(json_object_get(j, "debug")))
		c->debug = json_is_true(json_object_get(j, "debug"));
	return 0;
}
