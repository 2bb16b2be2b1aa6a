/* Connections of the network log drivers (internal to logger/). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

enum berth_log_proto { LP_UDP, LP_TCP, LP_TLS, LP_UNIX, LP_UNIXGRAM };

struct berth_log_addr {
	enum berth_log_proto proto;
	char host[256]; /* host, or the socket path for unix / unixgram */
	char port[16];
};

/* "udp://h:p", "tcp://h:p", "tcp+tls://h:p", "unix:///path", "unixgram:///path",
 * or with allow_bare "h:p" (proto_default). default_port when none given.
 * driver names the driver in error messages. */
int berth_log_addr_parse(const char *s, const char *driver, enum berth_log_proto proto_default,
			 const char *default_port, struct berth_log_addr *a, struct berth_error *err);

/* tcp+tls: docker's syslog-tls-ca-cert / -cert / -key / -skip-verify. */
struct berth_log_tls {
	const char *ca, *cert, *key; /* PEM files, or NULL (ca NULL: the system's roots) */
	bool skip_verify;
};

struct ssl_st;
struct ssl_ctx_st;
struct berth_log_conn {
	struct berth_log_addr addr;
	int fd;                          /* -1 when not connected */
	const struct berth_log_tls *tls; /* for LP_TLS (NULL: verify with the system's roots) */
	struct ssl_ctx_st *ctx;          /* LP_TLS: made at the first connect, freed by _free */
	struct ssl_st *ssl;              /* LP_TLS: the session on fd */
};

/* Connect (5 s timeouts on connect and send). */
int berth_log_conn_open(struct berth_log_conn *c, struct berth_error *err);
/* Send one record (a datagram, or bytes on a stream). Reconnects once
 * when the stream was closed by the peer. Closes on error. */
int berth_log_conn_send(struct berth_log_conn *c, const void *data, size_t len, struct berth_error *err);
void berth_log_conn_close(struct berth_log_conn *c);
/* The driver is done with c: a stream ends politely (TLS close_notify;
 * unread input is read away, so close sends no RST that could cost the
 * peer our last lines), then c is closed and its TLS context freed. */
void berth_log_conn_free(struct berth_log_conn *c);
