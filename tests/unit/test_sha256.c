/* common/sha256.c against OpenSSL (the tests link it): both block
 * functions (SHA extensions when the CPU has them, plain C), every length
 * around the padding boundaries, random lengths, and updates split at
 * every offset of a message. */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/sha256.h"
#include "tap.h"

static void ours(const unsigned char *p, size_t n, size_t split, int force_c, unsigned char *out)
{
	struct berth_sha256_raw r;
	berth_sha256_raw_init(&r);
	if (force_c)
		r.blocks = berth_sha256_raw_blocks_c;
	berth_sha256_raw_update(&r, p, split);
	berth_sha256_raw_update(&r, p + split, n - split);
	berth_sha256_raw_final(&r, out);
}

static int same(const unsigned char *p, size_t n, size_t split, int force_c)
{
	unsigned char a[32], b[32];
	ours(p, n, split, force_c, a);
	SHA256(p, n, b);
	return memcmp(a, b, 32) == 0;
}

int main(void)
{
	struct tap t = {0};
	size_t max = 1 << 20;
	unsigned char *buf = malloc(max);
	srand(42);
	for (size_t i = 0; i < max; i++)
		buf[i] = (unsigned char)rand();

	char d[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest("abc", 3, d);
	TAP_STREQ(&t, d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "FIPS 180-2 'abc'");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	berth_sha256_digest(two, strlen(two), d);
	TAP_STREQ(&t, d, "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		  "FIPS 180-2 two blocks");

	for (int force_c = 0; force_c < 2; force_c++) {
		int bad = 0;
		for (size_t n = 0; n <= 300; n++)
			bad += !same(buf, n, 0, force_c);
		TAP_OK(&t, bad == 0, "%s: lengths 0..300 match OpenSSL (%d differ)", force_c ? "C" : "default", bad);
		bad = 0;
		for (int i = 0; i < 200; i++) {
			size_t n = (size_t)rand() % max;
			bad += !same(buf, n, n ? (size_t)rand() % n : 0, force_c);
		}
		TAP_OK(&t, bad == 0, "%s: 200 random lengths up to 1 MiB, split updates, match (%d differ)",
		       force_c ? "C" : "default", bad);
		bad = 0;
		for (size_t s = 0; s <= 200; s++)
			bad += !same(buf, 200, s, force_c);
		TAP_OK(&t, bad == 0, "%s: a 200-byte message split at every offset matches (%d differ)",
		       force_c ? "C" : "default", bad);
	}
	struct berth_sha256 *h = berth_sha256_new();
	for (size_t i = 0; i < max; i += 4093)
		berth_sha256_update(h, buf + i, i + 4093 <= max ? 4093 : max - i);
	berth_sha256_final(h, d);
	unsigned char md[32];
	SHA256(buf, max, md);
	char want[BERTH_DIGEST_LEN + 1] = "sha256:";
	for (int i = 0; i < 32; i++)
		sprintf(want + 7 + 2 * i, "%02x", md[i]);
	TAP_STREQ(&t, d, want, "streaming context over 1 MiB in odd chunks");
	free(buf);
	return TAP_DONE(&t);
}
