/* The CLI's TLS settings, docker's rules: --tls, --tlsverify (default from
 * DOCKER_TLS_VERIFY), --tlscacert/--tlscert/--tlskey defaulting to ca.pem,
 * cert.pem, key.pem in BERTH_CERT_PATH, DOCKER_CERT_PATH or ~/.docker (a
 * default file that does not exist is skipped); any of these flags, or an
 * https:// host, turns TLS on. Connections are TLS sessions carried by a
 * pump thread (common/tls_pump.h), so the CLI keeps working on plain fds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct berth_client;

struct berth_cli_tls_opts {
	bool tls, tls_set;
	bool verify, verify_set;
	const char *ca, *cert, *key; /* NULL: defaults */
};

/* Global flags: "--tls[=bool]" / "--tlsverify[=bool]" (-1: bad value,
 * message printed); "--tlscacert[=F]", "--tlscert", "--tlskey" with the
 * value inline or in next (returns how many extra args were used, -1 for
 * an unknown flag or a missing value). */
int cli_tls_bool_flag(struct berth_cli_tls_opts *o, const char *arg);
int cli_tls_file_flag(struct berth_cli_tls_opts *o, const char *arg, const char *next);
/* Decide from flags and environment; loads the files. 0 with TLS off too. */
int berth_client_tls_setup(struct berth_client *cl, const struct berth_cli_tls_opts *o, struct berth_error *err);
/* Handshake on a connected socket to host (name or IP, for verification);
 * returns the fd to use instead (fd is owned by the session then), -1 with
 * err (fd still the caller's). */
int berth_client_tls_wrap(struct berth_client *cl, int fd, const char *host, struct berth_error *err);
void berth_client_tls_free(struct berth_client *cl);
/* Why the last TLS session broke (e.g. "tls: unknown ca" alert), if it did. */
bool berth_client_tls_last_error(char *buf, size_t len);
