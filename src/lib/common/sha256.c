#include "sha256.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define BERTH_SHA_NI 1
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void berth_sha256_raw_blocks_c(uint32_t h[8], const unsigned char *p, size_t n)
{
	for (; n > 0; n--, p += 64) {
		uint32_t w[64];
		for (int i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (int i = 16; i < 64; i++) {
			uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int i = 0; i < 64; i++) {
			uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
			uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
	}
}

#ifdef BERTH_SHA_NI
/* The SHA extensions keep the state as two vectors, ABEF and CDGH; each
 * sha256rnds2 does two rounds with W+K in the low half of its third
 * operand, and sha256msg1/msg2 extend the schedule four words at a time:
 * W[t..t+3] = msg2(msg1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..t-1]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	/* lanes listed from lane 0 */
	__m128i t = _mm_loadu_si128((const __m128i *)&h[0]);  /* A B C D */
	__m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]); /* E F G H */
	t = _mm_shuffle_epi32(t, 0xB1);                       /* B A D C */
	s1 = _mm_shuffle_epi32(s1, 0x1B);                     /* H G F E */
	__m128i s0 = _mm_alignr_epi8(t, s1, 8);               /* F E B A: "ABEF" */
	s1 = _mm_blend_epi16(s1, t, 0xF0);                    /* H G D C: "CDGH" */
	for (; n > 0; n--, p += 64) {
		__m128i save0 = s0, save1 = s1, m[4];
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			__m128i *w = &m[g & 3];
			if (g < 4) {
				*w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
			} else {
				__m128i x1 = m[(g + 1) & 3], x2 = m[(g + 2) & 3], x3 = m[(g + 3) & 3];
				__m128i v = _mm_add_epi32(_mm_sha256msg1_epu32(*w, x1), _mm_alignr_epi8(x3, x2, 4));
				*w = _mm_sha256msg2_epu32(v, x3);
			}
			__m128i wk = _mm_add_epi32(*w, _mm_loadu_si128((const __m128i *)&K[4 * g]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
		}
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);   /* lanes A B E F */
	s1 = _mm_shuffle_epi32(s1, 0xB1);  /* lanes G H C D */
	s0 = _mm_blend_epi16(t, s1, 0xF0); /* A B C D */
	s1 = _mm_alignr_epi8(s1, t, 8);    /* E F G H */
	_mm_storeu_si128((__m128i *)&h[0], s0);
	_mm_storeu_si128((__m128i *)&h[4], s1);
}
#endif

bool berth_sha256_raw_init(struct berth_sha256_raw *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof(iv));
	s->bytes = 0;
	s->nbuf = 0;
	s->blocks = berth_sha256_raw_blocks_c;
#ifdef BERTH_SHA_NI
	if (berth_sha256_raw_fast()) {
		s->blocks = blocks_ni;
		return true;
	}
#endif
	return false;
}

bool berth_sha256_raw_fast(void)
{
#ifdef BERTH_SHA_NI
	/* Two cpuids are a VM exit each under KVM/Firecracker (1.5% of
	 * berthd's CPU in 100 parallel run -d, several hash contexts per
	 * container): GCC's __builtin_cpu_supports reads what libgcc asked
	 * once at start-up (no state of ours). clang has no "sha" there: it
	 * asks cpuid (leaf 7 EBX bit 29 SHA; leaf 1 ECX SSSE3, SSE4.1). */
#if defined(__clang__)
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) && __get_cpuid(1, &a, &b, &c, &d) &&
	       (c & bit_SSSE3) && (c & bit_SSE4_1);
#else
	return __builtin_cpu_supports("sha") && __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
#endif
#else
	return false;
#endif
}

void berth_sha256_raw_update(struct berth_sha256_raw *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	s->bytes += len;
	if (s->nbuf) {
		size_t take = 64 - s->nbuf < len ? 64 - s->nbuf : len;
		memcpy(s->buf + s->nbuf, p, take);
		s->nbuf += take;
		p += take;
		len -= take;
		if (s->nbuf < 64)
			return;
		s->blocks(s->h, s->buf, 1);
		s->nbuf = 0;
	}
	if (len >= 64) {
		s->blocks(s->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(s->buf, p, len);
	s->nbuf = len;
}

void berth_sha256_raw_final(struct berth_sha256_raw *s, unsigned char out[BERTH_SHA256_SIZE])
{
	uint64_t bits = s->bytes * 8;
	s->buf[s->nbuf++] = 0x80;
	if (s->nbuf > 56) {
		memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
		s->blocks(s->h, s->buf, 1);
		s->nbuf = 0;
	}
	memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
	for (int i = 0; i < 8; i++)
		s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	s->blocks(s->h, s->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}
