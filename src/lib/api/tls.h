/* TLS for berthd's tcp:// listeners (OpenSSL): TLS 1.2+, ECDHE+AEAD
 * ciphers, optional client-certificate verification against a CA
 * (--tlsverify). Connections are wrapped in a struct berth_transport. */
#pragma once
#include <stdbool.h>

#include "api/transport.h"
#include "common/error.h"

struct berth_tls_server_opts {
	const char *cert, *key; /* required */
	const char *ca;         /* required when verify */
	bool verify;            /* require a client certificate signed by ca */
};

struct berth_tls_server;
/* Loads and checks the files; a missing or unreadable file, a key that does
 * not match the certificate or a bad CA fails with a message naming it. */
struct berth_tls_server *berth_tls_server_new(const struct berth_tls_server_opts *o, struct berth_error *err);
void berth_tls_server_free(struct berth_tls_server *s);
/* Handshake on an accepted fd (at most timeout_ms) and wrap it. On failure
 * fd is NOT closed. */
int berth_tls_server_wrap(struct berth_tls_server *s, int fd, int timeout_ms, struct berth_transport *t,
			  struct berth_error *err);
