/* SHA-256 (FIPS 180-4) with the x86 SHA extensions, written here so that
 * hashing a layer or a config does not load OpenSSL: dlopen of libcrypto and
 * its provider set-up add about 4 MiB to a process (docs/ARCHITECTURE.md,
 * "Heavy libraries load at first use"). digest.c uses it where the CPU has
 * the extensions (as fast as OpenSSL) and OpenSSL elsewhere (its vector
 * code beats the plain C block function here, kept for the tests). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BERTH_SHA256_SIZE 32

struct berth_sha256_raw {
	uint32_t h[8];
	uint64_t bytes; /* message length so far */
	unsigned char buf[64];
	size_t nbuf;
	void (*blocks)(uint32_t h[8], const unsigned char *p, size_t n); /* n whole 64-byte blocks */
};

/* True when the CPU has the SHA extensions (init then uses them). */
bool berth_sha256_raw_fast(void);
/* Returns whether it uses the SHA extensions (one cpuid check). */
bool berth_sha256_raw_init(struct berth_sha256_raw *s);
void berth_sha256_raw_update(struct berth_sha256_raw *s, const void *data, size_t len);
void berth_sha256_raw_final(struct berth_sha256_raw *s, unsigned char out[BERTH_SHA256_SIZE]);
/* The portable block function (init picks the SHA-extension one when it
 * can; tests set this one to check both). */
void berth_sha256_raw_blocks_c(uint32_t h[8], const unsigned char *p, size_t n);
