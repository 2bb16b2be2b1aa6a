/* TLS client pieces shared by the CLI (src/berth/tls.c) and the syslog log
 * driver (logger/logger_net.c): a client context from docker's CA / cert /
 * key options, and a session on a connected socket with the server name
 * checked, handshaken within a deadline. */
#pragma once
#include <openssl/ssl.h>
#include <stdbool.h>

#include "common/error.h"

/* TLS 1.2+. verify: peer checked against ca (a PEM file), or the system's
 * roots when ca is NULL; else no verification. cert and key (PEM files)
 * both or neither. Errors carry docker's wording ("could not read CA
 * certificate ...", "Could not load X509 key pair ..."). */
SSL_CTX *berth_tls_client_ctx(const char *ca, const char *cert, const char *key, bool verify, struct berth_error *err);

/* A session on the connected fd: SNI for a name, the name or IP checked
 * against the certificate when verify, handshake within timeout_ms. NULL
 * with err ("tls: failed to verify certificate: ..." when that is why). */
SSL *berth_tls_client_session(SSL_CTX *ctx, int fd, const char *host, bool verify, int timeout_ms,
			      struct berth_error *err);

/* err = fmt (with a, b) + ": " + OpenSSL's last error (or "invalid PEM
 * data"), kind INVALID; clears OpenSSL's error queue. Returns -1. */
int berth_tls_load_err(struct berth_error *err, const char *fmt, const char *a, const char *b);
