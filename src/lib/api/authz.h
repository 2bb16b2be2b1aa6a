/* Authorization plugins, docker's protocol (pkg/authorization): a chain of
 * plugins asked before every request (AuthZPlugin.AuthZReq) and after it
 * (AuthZPlugin.AuthZRes), as an HTTP-server middleware. Plugins are found
 * by name as docker finds them (authz_plugins.c): NAME.sock (or
 * NAME/NAME.sock) in /run/berth/plugins and /run/docker/plugins,
 * NAME.spec / NAME.json in /etc/berth/plugins, /usr/lib/berth/plugins,
 * /etc/docker/plugins, /usr/lib/docker/plugins. BERTH_PLUGIN_DIRS (a
 * colon-separated list) replaces all of these directories (tests).
 * Credentials never reach a plugin: /auth bodies are not sent and
 * X-Registry-Auth / X-Registry-Config / Authorization headers are redacted. */
#pragma once
#include <stdbool.h>

#include "api/http.h"
#include "common/error.h"

struct berth_authz;
struct berth_authz *berth_authz_new(void);
void berth_authz_free(struct berth_authz *a);
/* Replace the chain (names in order, NULL-terminated; NULL or empty: no
 * authorization). Each plugin is found and activated first (Implements
 * must hold "authz"); on any failure the old chain stays and err says why
 * ("Error validating authorization plugin: ..."). */
int berth_authz_set_plugins(struct berth_authz *a, char *const *names, struct berth_error *err);
/* The middleware to install with berth_http_server_use. */
struct berth_http_middleware berth_authz_middleware(struct berth_authz *a);
/* Per-call timeout (ms) for plugin requests; default 10 s. */
void berth_authz_set_timeout(struct berth_authz *a, int ms);
