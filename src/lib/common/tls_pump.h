/* TLS helpers shared by berthd (api/tls.c) and the CLI (src/berth/tls.c):
 * a handshake bounded by a deadline and a "pump" that turns a TLS session
 * into a plain socket, so code written for raw fds (hijacked attach/exec
 * streams, the CLI's reader loops, poll, shutdown(SHUT_WR)) works over TLS
 * unchanged. */
#pragma once
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Run SSL_accept (server) or SSL_connect on ssl (its fd already set),
 * waiting at most timeout_ms (<= 0: no limit). The fd is left blocking.
 * On failure err names OpenSSL's reason. */
int berth_tls_handshake(SSL *ssl, bool server, int timeout_ms, struct berth_error *err);

/* Describe the last OpenSSL error (or the SSL_get_error code) into buf. */
void berth_tls_errstr(SSL *ssl, int ret, char *buf, size_t len);

/* Hand a connected TLS session to a background thread that copies bytes
 * between it and one end of a socketpair; returns the other end (the
 * caller's "connection"). The thread owns ssl and netfd from then on:
 * a half-close of the returned fd (shutdown SHUT_WR) sends close_notify,
 * close_notify or EOF from the peer becomes EOF (SHUT_WR) on the returned
 * fd, and closing it ends the session. A session that breaks (an alert
 * from the peer: bad certificate...) is reported to on_error (may be NULL)
 * before the returned fd sees EOF; on_error(ctx, NULL) tells that the pump
 * has ended. -1 on failure (ssl, netfd still the
 * caller's). */
typedef void (*berth_tls_error_cb)(void *ctx, const char *msg);
int berth_tls_pump_start(SSL *ssl, int netfd, berth_tls_error_cb on_error, void *ctx, struct berth_error *err);
