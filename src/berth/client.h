/* Engine API client for the CLI: HTTP/1.1 over a unix socket or TCP,
 * responses parsed with http-parser; streaming and hijacked connections. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/util.h"

struct ssl_ctx_st;
struct berth_client {
	char *host; /* "unix:///path" or "tcp://h:p" */
	char *api;  /* "/v1.41" */
	/* X-Registry-Auth value sent with every request while set (pull, push;
	 * credentials.h makes it). Not owned. */
	const char *registry_auth;
	/* X-Registry-Config value sent while set (build). Not owned. */
	const char *registry_config;
	/* TLS on tcp:// and https:// (tls.c), or NULL */
	struct ssl_ctx_st *ssl_ctx;
	bool tls_verify;
};

struct berth_response {
	int status;
	struct berth_buf body;
	char *content_type;
	char *api_version;
	char *path_stat; /* X-Docker-Container-Path-Stat (archive API), or NULL */
	bool truncated;  /* the connection ended before the body did */
};

/* Resolve the host from -H, BERTH_HOST, DOCKER_HOST, default. */
int berth_client_init(struct berth_client *cl, const char *host);
void berth_client_free(struct berth_client *cl);
void berth_response_free(struct berth_response *r);

/* Send a request; the body is either JSON (may be NULL) or a raw stream.
 * on_data (may be NULL) receives the body as it arrives instead of buffering
 * (returns -1 to stop). Returns -1 only for transport errors. */
typedef int (*berth_client_data_cb)(void *ctx, const char *data, size_t len);
int berth_client_do(struct berth_client *cl, const char *method, const char *path, json_t *body,
		    struct berth_reader *stream_body, const char *content_type, berth_client_data_cb on_data, void *ctx,
		    struct berth_response *resp, struct berth_error *err);
/* Convenience: JSON in, JSON out (resp body parsed into *out when 2xx). Error
 * responses become err with the daemon's message (kind from status). */
int berth_client_json(struct berth_client *cl, const char *method, const char *path, json_t *body, json_t **out,
		      struct berth_error *err);
/* Hijack: send a request with Upgrade: tcp; on 101/200 returns the socket fd
 * (bytes after the headers are delivered in *pending). */
int berth_client_hijack(struct berth_client *cl, const char *method, const char *path, json_t *body,
			struct berth_buf *pending, struct berth_error *err);
/* Connect to the daemon (unix:// or tcp://); returns the socket fd. */
int berth_client_dial(struct berth_client *cl, struct berth_error *err);
/* URL-encode a query value. */
char *berth_urlencode(const char *s);
/* Turn an error response into err: message from {"message":...}. Returns -1. */
int berth_client_error(struct berth_response *resp, struct berth_error *err);
