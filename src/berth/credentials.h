/* Registry credentials of the CLI, in docker's config.json format:
 *   {"auths": {"<server>": {"auth": base64("user:password"), "identitytoken": "..."}},
 *    "credsStore": "<helper>", "credHelpers": {"<server>": "<helper>"}}
 * A helper is run as docker runs it: `docker-credential-<helper> get|store|erase`
 * (get/erase: the server address on stdin; store: {"ServerURL","Username","Secret"}
 * on stdin; get answers that JSON on stdout; an identity token is stored with
 * Username "<token>").
 *
 * The config directory: $BERTH_CONFIG, else $DOCKER_CONFIG, else ~/.berth —
 * unless ~/.berth/config.json does not exist and ~/.docker/config.json does,
 * then ~/.docker (read and written there, as docker would). Other keys of the
 * file are kept when it is written (0600, atomically). */
#pragma once
#include <stdbool.h>

#include "common/error.h"

struct berth_cred {
	char *username, *password, *identitytoken, *serveraddress; /* may be NULL */
};
void berth_cred_free(struct berth_cred *c); /* wipes the secrets */

/* Caller frees. */
char *berth_cred_config_dir(void);
char *berth_cred_config_path(void);
/* The key docker files credentials under: "", "docker.io", "index.docker.io",
 * "registry-1.docker.io" and "https://index.docker.io/v1/" give
 * "https://index.docker.io/v1/"; "https://host:5000/v2/" gives "host:5000"
 * (registry.ConvertToHostname). Caller frees. */
char *berth_cred_server_key(const char *server);
/* Credentials for a server key (also matches auths entries written as
 * "http(s)://host/..."). 1 found, 0 none (out zeroed), -1 error. */
int berth_cred_get(const char *key, struct berth_cred *out, struct berth_error *err);
/* Store (helper for the key, credsStore, else the file); with an identity
 * token the password is not stored. *where (may be NULL) gets the file path
 * when the password was written into the file (the CLI warns), else NULL. */
int berth_cred_store(const char *key, const struct berth_cred *c, char **where, struct berth_error *err);
/* Remove the key (and its http:// / https:// spellings) from the file and the
 * helper. 1 removed, 0 it was not there, -1 error (message for a warning). */
int berth_cred_erase(const char *key, struct berth_error *err);
/* True when the file has an auths entry for key (docker's "logged in"). */
bool berth_cred_logged_in(const char *key);

/* docker's X-Registry-Auth: base64url of the AuthConfig JSON. Caller frees. */
char *berth_cred_encode(const struct berth_cred *c);
/* X-Registry-Auth for the registry of an image reference ("busybox",
 * "127.0.0.1:5000/a/b:1"): its stored credentials, or base64url("{}") when
 * none. NULL only when out of memory. */
char *berth_cred_registry_auth_header(const char *image);
/* docker's X-Registry-Config (build): base64url of {"<server>": AuthConfig}
 * for every server of the config file's auths and credHelpers that has
 * credentials. NULL only when out of memory. */
char *berth_cred_all_header(void);
