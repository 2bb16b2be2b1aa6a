#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/tls_client.h"
#include "common/tls_pump.h"

struct berth_tls_server {
	SSL_CTX *ctx;
};

/* Go's crypto/tls defaults as docker's tlsconfig narrows them: ECDHE key
 * exchange with AEAD ciphers only (TLS 1.3 suites are all AEAD). */
#define TLS12_CIPHERS                                                                                                  \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                     \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static int readable(const char *what, const char *path, struct berth_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return berth_err_sys(err, BERTH_E_INVALID, errno, "%s: open %s", what, path);
	fclose(f);
	return 0;
}

struct berth_tls_server *berth_tls_server_new(const struct berth_tls_server_opts *o, struct berth_error *err)
{
	if (!o->cert || !*o->cert || !o->key || !*o->key) {
		berth_err(err, BERTH_E_INVALID, "TLS needs --tlscert and --tlskey");
		return NULL;
	}
	char what[700];
	snprintf(what, sizeof(what), "Could not load X509 key pair (cert: \"%s\", key: \"%s\")", o->cert, o->key);
	if (readable(what, o->cert, err) < 0 || readable(what, o->key, err) < 0)
		return NULL;
	if (o->verify) {
		if (!o->ca || !*o->ca) {
			berth_err(err, BERTH_E_INVALID, "--tlsverify needs a CA certificate (--tlscacert)");
			return NULL;
		}
		char cw[600];
		snprintf(cw, sizeof(cw), "could not read CA certificate \"%s\"", o->ca);
		if (readable(cw, o->ca, err) < 0)
			return NULL;
	}
	struct berth_tls_server *s = calloc(1, sizeof(*s));
	if (!s || !(s->ctx = SSL_CTX_new(TLS_server_method()))) {
		free(s);
		berth_err(err, BERTH_E_INTERNAL, "tls: cannot create a context");
		return NULL;
	}
	SSL_CTX *ctx = s->ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		berth_tls_load_err(err, "tls: %s%s", "cipher list", "");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		berth_tls_load_err(err, "Error reading X509 key pair (cert: \"%s\", key: \"%s\")", o->cert, o->key);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		berth_tls_load_err(
			err,
			"Error reading X509 key pair (cert: \"%s\", key: \"%s\"). Make sure the key is not encrypted",
			o->cert, o->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		berth_tls_load_err(err, "Error reading X509 key pair (cert: \"%s\", key: \"%s\")", o->cert, o->key);
		goto fail;
	}
	if (o->ca && *o->ca && o->verify) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
			berth_tls_load_err(err, "could not read CA certificate \"%s\"%s", o->ca, "");
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return s;
fail:
	berth_tls_server_free(s);
	return NULL;
}

void berth_tls_server_free(struct berth_tls_server *s)
{
	if (!s)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

static ssize_t tls_read(struct berth_transport *t, void *buf, size_t len)
{
	SSL *ssl = t->impl;
	ERR_clear_error();
	int n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int se = SSL_get_error(ssl, n);
	if (se == SSL_ERROR_ZERO_RETURN || (se == SSL_ERROR_SYSCALL && n == 0))
		return 0;
	errno = EIO;
	return -1;
}

static ssize_t tls_write(struct berth_transport *t, const void *buf, size_t len)
{
	SSL *ssl = t->impl;
	ERR_clear_error();
	int n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	errno = EPIPE;
	return -1;
}

static size_t tls_pending(struct berth_transport *t) { return (size_t)SSL_pending((SSL *)t->impl); }

static int tls_detach(struct berth_transport *t, struct berth_error *err)
{
	int fd = berth_tls_pump_start(t->impl, t->fd, NULL, NULL, err);
	if (fd >= 0) {
		t->impl = NULL; /* the pump owns the session and the socket now */
		t->fd = -1;
	}
	return fd;
}

static void tls_close(struct berth_transport *t)
{
	SSL *ssl = t->impl;
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->impl = NULL;
}

static const struct berth_transport_ops tls_ops = {
	.name = "tls",
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
	.detach = tls_detach,
	.close = tls_close,
};

/* After a refused handshake (the alert is sent): let the client read the
 * alert. A TLS 1.3 client sends its certificate and its first request
 * without waiting; closing with them unread makes the kernel answer RST,
 * and the client then reports "connection reset by peer" instead of
 * "bad certificate". So: FIN after the alert, then read away what comes
 * until the client closes (at most LINGER_MS). */
#define LINGER_MS 500
static void linger_refused(int fd)
{
	shutdown(fd, SHUT_WR);
	char junk[4096];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (int waited = 0; waited < LINGER_MS; waited += 50) {
		if (poll(&p, 1, 50) < 0)
			return;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return; /* the client closed (or reset): done */
	}
}

int berth_tls_server_wrap(struct berth_tls_server *s, int fd, int timeout_ms, struct berth_transport *t,
			  struct berth_error *err)
{
	SSL *ssl = SSL_new(s->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return berth_err(err, BERTH_E_INTERNAL, "tls: cannot create a session");
	}
	if (berth_tls_handshake(ssl, true, timeout_ms, err) < 0) {
		SSL_free(ssl);
		linger_refused(fd);
		return -1;
	}
	*t = (struct berth_transport){.ops = &tls_ops, .fd = fd, .impl = ssl, .authn_method = ""};
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (peer) {
		if (SSL_get_verify_result(ssl) == X509_V_OK) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, t->peer_user,
						  sizeof(t->peer_user));
			t->authn_method = "TLS";
		}
		X509_free(peer);
	}
	return 0;
}
