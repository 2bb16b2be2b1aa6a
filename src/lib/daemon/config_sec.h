/* Security keys of the daemon configuration (flags and daemon.json): TLS
 * (tls, tlsverify, tlscacert, tlscert, tlskey), authorization-plugins and
 * seccomp-profile, userns-remap. Kept apart from config.c; config.c routes these keys here. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

#define BERTH_DEFAULT_CERT_DIR "/etc/berth"

struct berth_sec_config {
	bool tls;       /* --tls or --tlsverify */
	bool tlsverify; /* require client certificates signed by tlscacert */
	char *tlscacert, *tlscert, *tlskey;
	char **authz_plugins;  /* --authorization-plugin, chain order; NULL-terminated */
	char *seccomp_profile; /* daemon default profile: its JSON text (NULL: builtin) */
	char *seccomp_path;    /* where it was read from, or "unconfined" */
	char *userns_remap;    /* --userns-remap spec ("default", "user[:group]"); NULL: off */
};

struct berth_config;
bool berth_sec_config_key(const char *key);
int berth_sec_config_apply(struct berth_config *c, const char *key, json_t *v, struct berth_error *err);
/* After flags and file: default cert paths under /etc/berth when TLS is on. */
int berth_sec_config_finish(struct berth_config *c, struct berth_error *err);
/* SIGHUP: the reloadable security keys (authorization-plugins) from the
 * file's JSON object j. Missing key: the chain given at start stays. */
int berth_sec_config_reload(struct berth_config *c, json_t *j, struct berth_error *err);
void berth_sec_config_free(struct berth_sec_config *s);
