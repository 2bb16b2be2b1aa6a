#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

/* Our SHA-extension code where the CPU has it (OpenSSL never loads), else
 * OpenSSL (common/sha256.h says why). */
struct berth_sha256 {
	struct berth_sha256_raw r;
	EVP_MD_CTX *evp;
};

struct berth_sha256 *berth_sha256_new(void)
{
	struct berth_sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (berth_sha256_raw_init(&h->r))
		return h;
	if (!(h->evp = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->evp, EVP_sha256(), NULL) != 1) {
		berth_sha256_free(h);
		return NULL;
	}
	return h;
}

void berth_sha256_update(struct berth_sha256 *h, const void *data, size_t len)
{
	if (h->evp)
		EVP_DigestUpdate(h->evp, data, len);
	else
		berth_sha256_raw_update(&h->r, data, len);
}

static void digest_string(struct berth_sha256 *h, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	if (h->evp)
		EVP_DigestFinal_ex(h->evp, md, NULL);
	else
		berth_sha256_raw_final(&h->r, md);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < BERTH_SHA256_SIZE; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[BERTH_DIGEST_LEN] = '\0';
}

void berth_sha256_final(struct berth_sha256 *h, char *out)
{
	digest_string(h, out);
	berth_sha256_free(h);
}

void berth_sha256_free(struct berth_sha256 *h)
{
	if (!h)
		return;
	if (h->evp)
		EVP_MD_CTX_free(h->evp);
	free(h);
}

void berth_sha256_digest(const void *data, size_t len, char *out)
{
	struct berth_sha256 *h = berth_sha256_new();
	if (!h) {
		out[0] = '\0';
		return;
	}
	berth_sha256_update(h, data, len);
	berth_sha256_final(h, out);
}

bool berth_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != BERTH_DIGEST_LEN)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

const char *berth_digest_hex(const char *d)
{
	const char *c = strchr(d, ':');
	return c ? c + 1 : d;
}
