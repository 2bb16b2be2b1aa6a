/* Daemon configuration: flags and daemon.json, merged with docker's rule
 * (a key given both as a flag and in the file is an error). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "daemon/config_sec.h"
#include "distribution/registry.h"
#include "network/network.h"

struct berth_config {
	char **hosts;    /* -H, NULL-terminated */
	char *data_root; /* --data-root */
	char *exec_root; /* --exec-root */
	char *storage_driver;
	char **storage_opts; /* --storage-opt / "storage-opts": "key=value" (storage/driver.h) */
	char **labels;       /* key=value */
	bool debug;
	char *pidfile;
	char *config_file;
	char *default_runtime; /* NULL: probe */
	json_t *runtimes;      /* {"name":{"path":"..."}} */
	char *log_driver;
	json_t *log_opts; /* {"k":"v"} */
	bool live_restore;
	char *shim_path; /* berth-shim binary (defaults beside berthd) */
	char *log_level; /* NULL, "debug", "info", "warn", "error", "fatal" */
	/* HTTP server bounds (0: the server's defaults) */
	int max_connections;
	int http_idle_timeout;     /* seconds */
	int http_read_timeout;     /* seconds */
	bool tls_disabled;         /* --tls=false / "tls": false given explicitly */
	struct berth_net_opts net; /* bridge, bip, iptables, ... (network/network.h) */
	/* TLS, authorization plugins, seccomp (config_sec.c) */
	struct berth_sec_config sec;
	struct berth_registry_config registry; /* insecure-registries, mirrors, max-concurrent-* */
};

void berth_config_init(struct berth_config *c);
void berth_config_free(struct berth_config *c);

/* Flag names as given on the command line (without "--"), e.g. "debug",
 * "data-root", "label"; used for the conflict check. */
struct berth_config_flags {
	const char *set[32];
	int n;
};

/* Read the file (missing file is fine unless `required`), validate keys and
 * merge into c. Keys set by flags (names in flags) conflict with the file. */
int berth_config_load_file(struct berth_config *c, const char *path, bool required,
			   const struct berth_config_flags *flags, struct berth_error *err);
/* Apply one option (daemon.json key, or a flag given as the same key with a
 * JSON value). Every key either takes effect or fails naming itself: keys
 * Berth does not implement are accepted only with their "off" value (false,
 * "", 0, [], {}), otherwise "<key> is not supported yet". */
int berth_config_apply(struct berth_config *c, const char *key, json_t *v, struct berth_error *err);
/* Check listen addresses: tcp:// without TLS is refused on a non-loopback
 * address unless tls_disabled (docker 27's rule); *warning gets docker's
 * warning text (free it) for a plaintext tcp listener that is allowed. */
int berth_config_check_hosts(const struct berth_config *c, char **warning, struct berth_error *err);
/* Re-read only the reloadable keys (labels, debug) for SIGHUP. */
int berth_config_reload(struct berth_config *c, struct berth_error *err);
