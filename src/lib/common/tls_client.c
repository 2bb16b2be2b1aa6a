/* TLS client context and session (see tls_client.h). */
#include "common/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <unistd.h>

#include "common/tls_pump.h"

int berth_tls_load_err(struct berth_error *err, const char *fmt, const char *a, const char *b)
{
	char why[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	char head[700];
	snprintf(head, sizeof(head), fmt, a, b);
	return berth_err(err, BERTH_E_INVALID, "%s: %s", head, why[0] ? why : "invalid PEM data");
}

SSL_CTX *berth_tls_client_ctx(const char *ca, const char *cert, const char *key, bool verify, struct berth_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		berth_err(err, BERTH_E_INTERNAL, "tls: cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (verify) {
		if (ca) {
			if (access(ca, R_OK) < 0) {
				berth_err_sys(err, BERTH_E_INVALID, errno,
					      "could not read CA certificate \"%s\": open %s", ca, ca);
				goto fail;
			}
			if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
				berth_tls_load_err(err, "failed to append certificates from PEM file: \"%s\"%s", ca,
						   "");
				goto fail;
			}
		} else {
			SSL_CTX_set_default_verify_paths(ctx);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (cert || key) {
		if (!cert || !key) {
			berth_err(err, BERTH_E_INVALID,
				  "TLS: both a certificate and a key are needed (cert: \"%s\", key: \"%s\")",
				  cert ? cert : "", key ? key : "");
			goto fail;
		}
		if (access(cert, R_OK) < 0 || access(key, R_OK) < 0) {
			const char *bad = access(cert, R_OK) < 0 ? cert : key;
			berth_err_sys(err, BERTH_E_INVALID, errno,
				      "Could not load X509 key pair (cert: \"%s\", key: \"%s\"): open %s", cert, key,
				      bad);
			goto fail;
		}
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			berth_tls_load_err(err, "Could not load X509 key pair (cert: \"%s\", key: \"%s\")", cert, key);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *berth_tls_client_session(SSL_CTX *ctx, int fd, const char *host, bool verify, int timeout_ms,
			      struct berth_error *err)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		berth_err(err, BERTH_E_INTERNAL, "tls: cannot create a session");
		return NULL;
	}
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, host);
	if (verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(vp, host);
		else
			X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	if (berth_tls_handshake(ssl, false, timeout_ms, err) < 0) {
		long vr = SSL_get_verify_result(ssl);
		if (verify && vr != X509_V_OK)
			berth_err(err, BERTH_E_UNAVAILABLE, "tls: failed to verify certificate: %s",
				  X509_verify_cert_error_string(vr));
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
