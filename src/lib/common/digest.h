/* sha256 digests (common/sha256.c or OpenSSL) in docker's "sha256:<64 hex>" form. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define BERTH_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct berth_sha256; /* streaming context */
struct berth_sha256 *berth_sha256_new(void);
void berth_sha256_update(struct berth_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (size >= BERTH_DIGEST_LEN + 1) and frees h. */
void berth_sha256_final(struct berth_sha256 *h, char *out);
void berth_sha256_free(struct berth_sha256 *h);
void berth_sha256_digest(const void *data, size_t len, char *out);
/* "sha256:" + 64 lowercase hex. */
bool berth_digest_valid(const char *d);
/* Hex part of a digest (after "sha256:"), or the string itself. */
const char *berth_digest_hex(const char *d);
