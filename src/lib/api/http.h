/* HTTP/1.1 server for the Engine API: one thread per connection (streaming
 * endpoints — logs -f, events, attach, pull progress — are plain blocking
 * code), requests parsed with http-parser, bodies read on demand (so a 1 GB
 * `load` streams), responses whole, chunked or hijacked (101 UPGRADED). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_API_VERSION "1.41"
#define BERTH_API_MIN_VERSION "1.12"
#define BERTH_HTTP_MAX_PARAMS 4

struct berth_kv {
	char *k, *v;
};

struct berth_http_req {
	char method[16];
	char *path;     /* decoded, without query; version prefix removed by the router */
	char *raw_path; /* as received */
	struct berth_kv *query;
	size_t nquery;
	struct berth_kv *headers;
	size_t nheaders;
	bool keep_alive, upgrade, has_body;
	int api_minor;   /* 1.<api_minor>; 41 when unversioned */
	int64_t recv_ns; /* CLOCK_MONOTONIC when its first byte arrived (common/span.h) */
	char *params[BERTH_HTTP_MAX_PARAMS];
	int nparams;
};

struct berth_http_conn;
typedef void (*berth_http_handler)(void *ctx, struct berth_http_req *req, struct berth_http_conn *c);

/* Server bounds (0 fields take the defaults). Beyond max_conns open
 * connections a new client gets 503 at once. idle_timeout_s: a keep-alive
 * connection with no request in progress is closed. read_timeout_s: the whole
 * header block must arrive within it, and a body may pause at most that long
 * between two reads (a short body gets 400 then). Streams and hijacked
 * connections have no timeout. */
struct berth_http_limits {
	int max_conns;      /* default min(4096, (RLIMIT_NOFILE - 256) / 2) */
	int idle_timeout_s; /* default 180 */
	int read_timeout_s; /* default 120 */
};
void berth_http_default_limits(struct berth_http_limits *l);

struct berth_http_server;
struct berth_http_server *berth_http_server_new(berth_http_handler handler, void *ctx, const char *server_name);
/* Listen on "unix://PATH" (mode 0660), "tcp://host:port", or "fd://N" / "fd://"
 * (socket activation: LISTEN_FDS). Call before berth_http_server_start. */
int berth_http_server_listen(struct berth_http_server *s, const char *addr, struct berth_error *err);
/* Accept in a background thread. */
int berth_http_server_start(struct berth_http_server *s, struct berth_error *err);
/* Stop accepting, close listeners (unlinking unix sockets), wait for nothing. */
void berth_http_server_stop(struct berth_http_server *s);
/* Stop, then free once connection threads are gone: waits up to 5 s for
 * connections that are finishing; call it when berth_http_server_active()
 * has dropped to 0 or is about to. */
void berth_http_server_free(struct berth_http_server *s);
int berth_http_server_active(struct berth_http_server *s);
/* TLS for the tcp:// listeners added after this call (unix sockets stay
 * plain, as docker's); borrowed, must outlive the server. */
struct berth_tls_server;
void berth_http_server_set_tls(struct berth_http_server *s, struct berth_tls_server *tls);
/* Middleware (the API layer's request and response interceptors; authz).
 * before() runs ahead of the handler; it returns false after answering to
 * stop the request. A state it leaves in *state (non-NULL) makes the server
 * hold a whole response back until after() has seen it (after() may then
 * replace it; streamed and hijacked responses are already on the wire).
 * after() runs once the handler returned, in reverse order, and owns state;
 * with r == NULL it only frees state (the request was stopped). */
struct berth_http_middleware {
	bool (*before)(void *ctx, struct berth_http_req *r, struct berth_http_conn *c, void **state);
	void (*after)(void *ctx, struct berth_http_req *r, struct berth_http_conn *c, void *state);
	void *ctx;
};
/* Up to 4, before berth_http_server_start. */
int berth_http_server_use(struct berth_http_server *s, const struct berth_http_middleware *m);
/* For middleware: Content-Length (-1 chunked, 0 none); read the body up to
 * max bytes into out and put it back for the handler (1: whole body, 0:
 * longer than max, -1: read error); the response as sent or held. */
int64_t berth_http_content_length(struct berth_http_conn *c);
int berth_http_body_peek(struct berth_http_conn *c, size_t max, struct berth_buf *out);
int berth_http_response_status(struct berth_http_conn *c);
const char *berth_http_response_headers(struct berth_http_conn *c); /* "Name: value\r\n" lines */
const void *berth_http_response_body(struct berth_http_conn *c, size_t *len);
/* Replace a held whole response with {"message": msg}; -1 when it was
 * already sent (streams, hijacks). */
int berth_http_response_replace(struct berth_http_conn *c, int status, const char *msg);
/* Call before berth_http_server_start. */
void berth_http_server_set_limits(struct berth_http_server *s, const struct berth_http_limits *l);
const struct berth_http_limits *berth_http_server_limits(struct berth_http_server *s);
/* Connections answered 503 so far (over the cap, out of fds or threads). */
unsigned berth_http_server_refused(struct berth_http_server *s);
/* Connections accepted so far (served or being served). */
uint64_t berth_http_server_accepted(struct berth_http_server *s);
/* Serve one already-accepted connection synchronously on the calling thread
 * until it closes; closes fd at the end (fuzzing, tests). */
void berth_http_serve_fd(struct berth_http_server *s, int fd);

/* Request accessors. */
const char *berth_http_query(const struct berth_http_req *r, const char *name);
/* docker's boolean query rule: "", "0", "false", "no"... are false; absent -> def. */
bool berth_http_query_bool(const struct berth_http_req *r, const char *name, bool def);
int64_t berth_http_query_int(const struct berth_http_req *r, const char *name, int64_t def);
const char *berth_http_header(const struct berth_http_req *r, const char *name);
/* Parse the `filters` query (JSON {"k":["v"]} or legacy {"k":{"v":true}}) into
 * {"k":["v",...]} (new ref); NULL + err on bad JSON. Absent -> empty object. */
json_t *berth_http_filters(const struct berth_http_req *r, struct berth_error *err);

/* Body. */
ssize_t berth_http_body_read(struct berth_http_conn *c, void *buf, size_t len);
struct berth_reader berth_http_body_reader(struct berth_http_conn *c);
/* Whole body as JSON (max bytes). Empty body: *out = NULL, returns 0. */
int berth_http_body_json(struct berth_http_conn *c, size_t max, json_t **out, struct berth_error *err);

/* Responses. Headers common to every response are added. */
int berth_http_respond(struct berth_http_conn *c, int status, const char *ctype, const void *body, size_t len);
/* extra_headers: "Name: value\r\n" lines, or NULL. */
int berth_http_respond_ex(struct berth_http_conn *c, int status, const char *ctype, const char *extra_headers,
			  const void *body, size_t len);
int berth_http_respond_json(struct berth_http_conn *c, int status, json_t *j); /* steals j */
int berth_http_respond_error(struct berth_http_conn *c, const struct berth_error *err);
int berth_http_respond_msg(struct berth_http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int berth_http_respond_empty(struct berth_http_conn *c, int status); /* 204/304/200 with no body */
/* Chunked streaming. */
int berth_http_stream_begin(struct berth_http_conn *c, int status, const char *ctype);
/* Same with extra "Name: value\r\n" header lines (or NULL). */
int berth_http_stream_begin_ex(struct berth_http_conn *c, int status, const char *ctype, const char *extra_headers);
int berth_http_stream_write(struct berth_http_conn *c, const void *data, size_t len);
int berth_http_stream_json(struct berth_http_conn *c, json_t *j); /* borrows j; adds "\n" */
int berth_http_stream_end(struct berth_http_conn *c);
struct berth_writer berth_http_stream_writer(struct berth_http_conn *c);
/* Hijack: answer 101 UPGRADED (if the client asked for Upgrade) or 200 and hand
 * the raw socket over. Bytes the client already sent past the request are
 * returned in *pending and *npending (owned by the conn). The conn closes the fd
 * after the handler returns. */
int berth_http_hijack(struct berth_http_conn *c, const char *ctype, const void **pending, size_t *npending);
int berth_http_fd(struct berth_http_conn *c);
/* True when the peer has hung up (poll POLLRDHUP); for long streams. */
bool berth_http_peer_gone(struct berth_http_conn *c);
bool berth_http_responded(struct berth_http_conn *c);
/* The authenticated peer: subject CN of a verified TLS client certificate
 * ("" without one) and how it was authenticated ("TLS" or ""). */
const char *berth_http_peer_user(struct berth_http_conn *c);
const char *berth_http_peer_authn(struct berth_http_conn *c);
