#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct berth_sha256 {
	EVP_MD_CTX *ctx;
};

struct berth_sha256 *berth_sha256_new(void)
{
	struct berth_sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		berth_sha256_free(h);
		return NULL;
	}
	return h;
}

void berth_sha256_update(struct berth_sha256 *h, const void *data, size_t len) { EVP_DigestUpdate(h->ctx, data, len); }

void berth_sha256_final(struct berth_sha256 *h, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 7 + i * 2, "%02x", md[i]);
	berth_sha256_free(h);
}

void berth_sha256_free(struct berth_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void berth_sha256_digest(const void *data, size_t len, char *out)
{
	struct berth_sha256 *h = berth_sha256_new();
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
