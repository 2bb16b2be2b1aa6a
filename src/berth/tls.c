#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "common/tls_client.h"
#include "common/tls_pump.h"
#include "common/util.h"

static char *file_in(const char *dir, const char *name, const char *given, bool *is_default)
{
	*is_default = !given;
	if (given)
		return strdup(given);
	return berth_strdup_printf("%s/%s", dir, name);
}

int cli_tls_bool_flag(struct berth_cli_tls_opts *o, const char *a)
{
	bool v = a[5] == 'v';
	const char *eq = strchr(a, '=');
	bool b = !eq || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "1");
	if (eq && !b && strcmp(eq + 1, "false") && strcmp(eq + 1, "0")) {
		fprintf(stderr,
			"invalid argument \"%s\" for \"%.*s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\n",
			eq + 1, (int)(eq - a), a, eq + 1);
		return -1;
	}
	if (v) {
		o->verify = b;
		o->verify_set = true;
	} else {
		o->tls = b;
		o->tls_set = true;
	}
	return 0;
}

int cli_tls_file_flag(struct berth_cli_tls_opts *o, const char *a, const char *next)
{
	const char *eq = strchr(a, '=');
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	const char **dst = n == 11 && !strncmp(a, "--tlscacert", 11) ? &o->ca :
			   n == 9 && !strncmp(a, "--tlscert", 9)     ? &o->cert :
			   n == 8 && !strncmp(a, "--tlskey", 8)      ? &o->key :
								       NULL;
	if (!dst || (!eq && !next))
		return -1;
	*dst = eq ? eq + 1 : next;
	return eq ? 0 : 1;
}

int berth_client_tls_setup(struct berth_client *cl, const struct berth_cli_tls_opts *o, struct berth_error *err)
{
	const char *env_verify = getenv("DOCKER_TLS_VERIFY");
	bool verify = o->verify_set ? o->verify : (env_verify && *env_verify);
	bool https = berth_str_has_prefix(cl->host, "https://");
	bool tls = o->tls || verify || o->verify_set || https || o->ca || o->cert || o->key;
	if (o->tls_set && !o->tls && !verify && !https)
		tls = false;
	if (!tls)
		return 0;
	if (berth_str_has_prefix(cl->host, "unix://") || cl->host[0] == '/')
		return 0; /* docker uses TLS on tcp only */
	const char *dir = getenv("BERTH_CERT_PATH");
	if (!dir || !*dir)
		dir = getenv("DOCKER_CERT_PATH");
	char *home_dir = NULL;
	if (!dir || !*dir) {
		const char *home = getenv("HOME");
		home_dir = berth_strdup_printf("%s/.docker", home && *home ? home : "/root");
		dir = home_dir;
	}
	bool dca, dcert, dkey;
	char *ca = file_in(dir, "ca.pem", o->ca, &dca), *cert = file_in(dir, "cert.pem", o->cert, &dcert),
	     *key = file_in(dir, "key.pem", o->key, &dkey);
	free(home_dir);
	/* docker: a default file that does not exist is skipped */
	if (dca && access(ca, F_OK) < 0) {
		free(ca);
		ca = NULL;
	}
	if (dcert && access(cert, F_OK) < 0) {
		free(cert);
		cert = NULL;
	}
	if (dkey && access(key, F_OK) < 0) {
		free(key);
		key = NULL;
	}
	int rc = -1;
	SSL_CTX *ctx = berth_tls_client_ctx(ca, cert, key, verify, err);
	if (!ctx)
		goto out;
	cl->ssl_ctx = ctx;
	cl->tls_verify = verify;
	ctx = NULL;
	signal(SIGPIPE, SIG_IGN); /* a daemon that hangs up must not kill the CLI */
	rc = 0;
out:
	SSL_CTX_free(ctx);
	free(ca);
	free(cert);
	free(key);
	return rc;
}

/* The reason the last session broke (the daemon's alert), for the message
 * the CLI prints when the connection ends early. The CLI is one process
 * with one daemon connection at a time in most commands. */
static char last_error[256];
static pthread_mutex_t last_error_mu = PTHREAD_MUTEX_INITIALIZER;

static pthread_cond_t pumps_cv = PTHREAD_COND_INITIALIZER;
static int pumps;        /* running pump threads */
static int pump_fds[16]; /* their local ends, shut down at exit */

static void on_pump_error(void *ctx, const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&last_error_mu);
	if (msg) {
		snprintf(last_error, sizeof(last_error), "%s", msg);
	} else {
		pumps--;
		pthread_cond_broadcast(&pumps_cv);
	}
	pthread_mutex_unlock(&last_error_mu);
}

/* At exit: end the sessions still open (a hijacked exec's) and give their
 * pumps a moment to finish, so no TLS state is left behind. */
static void stop_pumps(void)
{
	pthread_mutex_lock(&last_error_mu);
	for (int i = 0; i < 16; i++)
		if (pump_fds[i] > 0)
			shutdown(pump_fds[i], SHUT_RDWR);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	while (pumps > 0 && pthread_cond_timedwait(&pumps_cv, &last_error_mu, &until) == 0)
		;
	pthread_mutex_unlock(&last_error_mu);
}

bool berth_client_tls_last_error(char *buf, size_t len)
{
	pthread_mutex_lock(&last_error_mu);
	bool have = last_error[0] != '\0';
	if (have)
		snprintf(buf, len, "%s", last_error);
	pthread_mutex_unlock(&last_error_mu);
	return have;
}

int berth_client_tls_wrap(struct berth_client *cl, int fd, const char *host, struct berth_error *err)
{
	SSL *ssl = berth_tls_client_session(cl->ssl_ctx, fd, host, cl->tls_verify, 30000, err);
	if (!ssl) {
		berth_err_prefix(err, "error during connect");
		return -1;
	}
	pthread_mutex_lock(&last_error_mu);
	if (pumps++ == 0 && !pump_fds[15])
		atexit(stop_pumps);
	pthread_mutex_unlock(&last_error_mu);
	int nfd = berth_tls_pump_start(ssl, fd, on_pump_error, NULL, err);
	pthread_mutex_lock(&last_error_mu);
	if (nfd < 0) {
		pumps--;
	} else {
		for (int i = 0; i < 15; i++)
			if (pump_fds[i] <= 0) {
				pump_fds[i] = nfd;
				break;
			}
	}
	pump_fds[15] = 1; /* atexit registered */
	pthread_mutex_unlock(&last_error_mu);
	if (nfd < 0)
		SSL_free(ssl);
	return nfd;
}

/* The context outlives the client: pump threads may still hold sessions on
 * it while the process exits (freeing it then races with their SSL_free). */
static SSL_CTX *kept_ctx;

void berth_client_tls_free(struct berth_client *cl)
{
	/* a unix-socket client never loaded OpenSSL: freeing NULL through the
	 * lazy forwarder would look the library up at every CLI exit */
	if (!cl->ssl_ctx)
		return;
	if (!kept_ctx)
		kept_ctx = cl->ssl_ctx;
	else
		SSL_CTX_free(cl->ssl_ctx);
	cl->ssl_ctx = NULL;
}
