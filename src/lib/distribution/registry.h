/* Registry transport: the ONE client for all registry v2 traffic (pull, push,
 * login, search), on libcurl.
 *
 *  - Endpoints (docker's registry service): "docker.io" is reached as
 *    https://registry-1.docker.io (mirrors first, for pulls), its auth
 *    server address is "https://index.docker.io/v1/"; one-component names
 *    get "library/". Other hosts: https://host[:port]; plain http only when
 *    the host is in insecure-registries (host[:port] or a CIDR holding its
 *    IP) or is in 127.0.0.0/8 / ::1 / "localhost" (then https is tried first,
 *    http after, as docker does; for insecure entries TLS verification is off).
 *  - TLS: system CAs plus <certs_dir>/<host[:port]>/ *.crt (CAs),
 *    *.cert + *.key (client pair), docker's certs.d layout.
 *  - Auth: GET /v2/ ping; a 401 WWW-Authenticate challenge picks Basic
 *    (credentials from the AuthConfig) or Bearer (token from realm with
 *    service and scope "repository:<repo>:<actions>"; Basic credentials or an
 *    identity token (refresh_token, POST form) sent to the realm; tokens are
 *    cached per scope and refetched before expires_in runs out and on a 401).
 *  - Thread-safe: one client may serve several threads at once (parallel
 *    blob downloads / uploads); each request uses its own curl handle.
 *
 * Errors: BERTH_E_NOT_FOUND for 404, BERTH_E_FORBIDDEN for 401/403 after
 * auth ("unauthorized: ..."), BERTH_E_UNAVAILABLE for connection failures,
 * BERTH_E_INVALID for malformed input. Messages use docker's wording where
 * docker has one (registry error bodies become "<code lower>: <message>"
 * as distribution's errcode does, e.g. "manifest unknown: manifest unknown"). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_REGISTRY_DOCKER_IO "docker.io"
#define BERTH_REGISTRY_DOCKER_IO_HOST "registry-1.docker.io"
#define BERTH_REGISTRY_INDEX_SERVER "https://index.docker.io/v1/"
#define BERTH_REGISTRY_CERTS_DIR "/etc/berth/certs.d"
/* docker's error for a registry asking for Basic auth when there are no
 * credentials (berth_registry_do fails with it; pull prefixes the request as
 * Go's url.Error does, push reports it bare as dockerd's does). */
#define BERTH_REGISTRY_NO_BASIC_CREDENTIALS "no basic auth credentials"
#define BERTH_REGISTRY_MAX_MANIFEST (4 * 1024 * 1024) /* docker's maxManifestBodySize */

/* docker's types.AuthConfig: distribution/authconfig.h (dist-push). The
 * transport uses registrytoken as a Bearer token directly, identitytoken as a
 * refresh_token grant (POST form to the realm), username/password as Basic
 * (or Basic to the token realm). Credentials never go into a log. */
struct berth_auth_config;

/* Daemon settings (daemon.json / flags). Owned by the daemon config. */
struct berth_registry_config {
	char **insecure;              /* NULL-terminated: "host", "host:port", "10.0.0.0/8" */
	char **mirrors;               /* NULL-terminated URLs: "https://mirror.example:5000" */
	int max_concurrent_downloads; /* default 3 */
	int max_concurrent_uploads;   /* default 5 */
	const char *certs_dir;        /* NULL: BERTH_REGISTRY_CERTS_DIR */
};
#define BERTH_REGISTRY_DEFAULT_DOWNLOADS 3
#define BERTH_REGISTRY_DEFAULT_UPLOADS 5
/* daemon/config.c's hook: init/free the settings; apply one daemon.json key
 * (or flag given as that key): 0 applied, -1 invalid (err), 1 not a registry
 * key. berth_registry_config_key: true for the keys handled here. */
void berth_registry_config_init(struct berth_registry_config *rc);
void berth_registry_config_free(struct berth_registry_config *rc);
bool berth_registry_config_key(const char *key);
int berth_registry_config_apply(struct berth_registry_config *rc, const char *key, json_t *v, struct berth_error *err);
/* Validate an insecure-registries / registry-mirrors entry (docker's messages). */
int berth_registry_validate_insecure(const char *entry, struct berth_error *err);
int berth_registry_validate_mirror(const char *url, struct berth_error *err);

/* The registry host of a normalized domain: "docker.io" -> "registry-1.docker.io". */
const char *berth_registry_host(const char *domain);
/* The auth config key for a domain: "docker.io" -> "https://index.docker.io/v1/", else the domain. */
const char *berth_registry_auth_key(const char *domain);
/* true when plain http may be used for host[:port] (insecure list or loopback). */
bool berth_registry_is_insecure(const struct berth_registry_config *cfg, const char *hostport);

/* One authenticated session with one repository on one registry. */
struct berth_registry_client;

enum berth_registry_action {
	BERTH_REGISTRY_PULL = 1,
	BERTH_REGISTRY_PUSH = 2, /* scope "pull,push" */
};

/* domain: normalized ("docker.io", "127.0.0.1:5000"); repo: path without domain
 * ("library/busybox"), or NULL for a registry-level session (login: the
 * challenge is answered without a repository scope; Bearer asks for an
 * offline token so an identity token comes back when the issuer gives one).
 * auth may be NULL (anonymous). Pings the endpoints in order (mirrors first
 * for docker.io pulls, then https, then http where allowed) and keeps the
 * first that answers /v2/ with 200 or 401. The client copies what it needs. */
struct berth_registry_client *berth_registry_client_new(const struct berth_registry_config *cfg, const char *domain,
							const char *repo, const struct berth_auth_config *auth,
							int actions, struct berth_error *err);
void berth_registry_client_free(struct berth_registry_client *c);
/* "https://127.0.0.1:5000" (no trailing slash) of the endpoint in use. */
const char *berth_registry_client_base(struct berth_registry_client *c);
const char *berth_registry_client_repo(struct berth_registry_client *c);
/* Authenticate now (login): 0 when the credentials are accepted (or none are
 * needed); *identity_token (may be NULL) gets a refresh token the issuer
 * returned, or NULL. A rejection is BERTH_E_FORBIDDEN with the registry's message. */
int berth_registry_client_login(struct berth_registry_client *c, char **identity_token, struct berth_error *err);
/* Add a scope (cross-repository mount: "repository:other/name:pull"). */
int berth_registry_client_add_scope(struct berth_registry_client *c, const char *scope, struct berth_error *err);

/* Streaming callback for a response body; return <0 to abort (the request then
 * fails with the error the callback set in *err or "aborted"). */
typedef int (*berth_registry_data_fn)(void *ctx, const void *buf, size_t len);

struct berth_registry_request {
	const char *method; /* GET, HEAD, PUT, POST, PATCH, DELETE */
	/* "/v2/<repo>/manifests/<ref>" (relative to the endpoint) or an absolute
	 * URL (an upload Location; relative Locations are resolved by the caller
	 * through berth_registry_resolve_url). */
	const char *path;
	const char *const *headers; /* NULL-terminated "Name: value" (Accept, Content-Type, ...) */
	/* Request body: a buffer, or a reader of body_size bytes (-1: chunked). */
	const void *body;
	size_t body_len;
	struct berth_reader *body_reader;
	int64_t body_size;
	/* Range: bytes=<range_start>- when > 0 (resume a blob download). A
	 * server that ignores Range (200) is handled here: the first range_start
	 * bytes are dropped, so on_data always gets the bytes from range_start on. */
	int64_t range_start;
	/* Response body: streamed to on_data when set (only for 2xx answers;
	 * error bodies are always buffered), else buffered up to max_body bytes
	 * (0: BERTH_REGISTRY_MAX_MANIFEST); more is an error. */
	berth_registry_data_fn on_data;
	void *ctx;
	size_t max_body;
	bool no_follow; /* do not follow redirects (uploads); GETs of blobs follow them */
};

struct berth_registry_response {
	long status;
	char *body; /* buffered body (NUL-terminated), or NULL */
	size_t body_len;
	char *content_type;
	char *docker_content_digest;
	char *location;
	char *range;            /* Range header of an upload status */
	int64_t content_length; /* -1 when absent */
};
void berth_registry_response_free(struct berth_registry_response *r);

/* One request with auth (a 401 refreshes the token once and retries when the
 * body can be replayed). Any HTTP status is returned in resp->status (0 and
 * <0 only for transport errors: connection, TLS, an aborted callback).
 * Follows 3xx for GET/HEAD (blobs served from storage redirects). */
int berth_registry_do(struct berth_registry_client *c, const struct berth_registry_request *req,
		      struct berth_registry_response *resp, struct berth_error *err);
/* Turn a non-2xx response into an error: kind by status, message from the
 * registry's {"errors":[{"code","message","detail"}]} body ("manifest unknown:
 * manifest unknown") or the status text. prefix (may be NULL) goes first,
 * "<prefix>: <message>". Returns -1. */
int berth_registry_error_from(const struct berth_registry_response *resp, const char *prefix, struct berth_error *err);
/* A Location header relative to the endpoint made absolute (caller frees). */
char *berth_registry_resolve_url(struct berth_registry_client *c, const char *location);

/* Parse one WWW-Authenticate value: scheme ("basic"/"bearer", lower-cased)
 * and its parameters (realm, service, scope, error ...). Exposed for tests. */
struct berth_auth_challenge {
	char scheme[16];
	char *realm;
	char *service;
	char *scope;
	char *error;
};
int berth_auth_challenge_parse(const char *header, struct berth_auth_challenge *out, struct berth_error *err);
void berth_auth_challenge_free(struct berth_auth_challenge *ch);
