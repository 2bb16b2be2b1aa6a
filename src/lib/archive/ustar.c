/* ustar header fields and a reader of plain tars in memory (see ustar.h). */
#include "archive/ustar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

bool berth_ustar_octal(char *f, size_t w, uint64_t v)
{
	if (w < 2 || (w - 1 < 22 && v >> (3 * (w - 1))))
		return false;
	snprintf(f, w, "%0*llo", (int)(w - 1), (unsigned long long)v);
	return true;
}

bool berth_ustar_parse_octal(const char *f, size_t w, uint64_t *v)
{
	size_t i = 0;
	uint64_t r = 0;
	while (i < w && f[i] == ' ')
		i++;
	size_t start = i;
	for (; i < w && f[i] >= '0' && f[i] <= '7'; i++) {
		if (r >> 60)
			return false;
		r = r * 8 + (uint64_t)(f[i] - '0');
	}
	if (i == start || (i < w && f[i] != 0 && f[i] != ' '))
		return false;
	*v = r;
	return true;
}

static unsigned sum_of(const char h[512])
{
	unsigned sum = 8 * ' '; /* the checksum field counts as spaces */
	for (size_t i = 0; i < 512; i++)
		if (i < 148 || i >= 156)
			sum += (unsigned char)h[i];
	return sum;
}

/* the sum with bytes as signed chars (some old tars wrote that) */
static long signed_sum_of(const char h[512])
{
	long sum = 8 * ' ';
	for (size_t i = 0; i < 512; i++)
		if (i < 148 || i >= 156)
			sum += (signed char)h[i];
	return sum;
}

bool berth_ustar_parse_number(const char *f, size_t w, int64_t *v)
{
	const unsigned char *u = (const unsigned char *)f;
	if (w && (u[0] & 0x80)) { /* GNU base-256: big-endian two's complement, bit 7 of byte 0 the marker */
		bool neg = u[0] & 0x40;
		uint64_t r = 0;
		for (size_t i = 0; i < w; i++) {
			unsigned char b = i ? u[i] : (unsigned char)(u[0] & 0x7f);
			if (neg)
				b = (unsigned char)~b & (i ? 0xff : 0x7f);
			if (r >> 55)
				return false;
			r = r << 8 | b;
		}
		if (r > INT64_MAX)
			return false;
		*v = neg ? -(int64_t)r - 1 : (int64_t)r;
		return true;
	}
	/* octal as Go reads it: spaces and NULs around the digits, empty is 0 */
	size_t a = 0, b = w;
	while (a < b && (f[a] == ' ' || f[a] == 0))
		a++;
	while (b > a && (f[b - 1] == ' ' || f[b - 1] == 0))
		b--;
	uint64_t r = 0;
	for (size_t i = a; i < b; i++) {
		if (f[i] < '0' || f[i] > '7' || r >> 60)
			return false;
		r = r * 8 + (uint64_t)(f[i] - '0');
	}
	*v = (int64_t)r;
	return true;
}

void berth_ustar_finish(char h[512])
{
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	snprintf(h + 148, 8, "%06o", sum_of(h));
	h[155] = ' ';
}

bool berth_ustar_checksum_ok(const char h[512])
{
	int64_t v;
	return berth_ustar_parse_number(h + 148, 8, &v) && h[148] != 0 &&
	       (v == (int64_t)sum_of(h) || v == (int64_t)signed_sum_of(h));
}

/* pax records: path and size; false for what a plain reader does not take */
static bool pax_records(const char *p, size_t n, char **path, uint64_t *size, bool *has_size)
{
	while (n) {
		char *sp = memchr(p, ' ', n < 24 ? n : 24);
		if (!sp)
			return false;
		size_t rl = strtoul(p, NULL, 10);
		/* "LEN key=value\n": the space inside the record, before its newline */
		if (rl == 0 || rl > n || p[rl - 1] != '\n' || sp >= p + rl - 1)
			return false;
		const char *kv = sp + 1, *end = p + rl - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return false;
		size_t kl = (size_t)(eq - kv);
		if (kl == 4 && !memcmp(kv, "path", 4)) {
			free(*path);
			*path = strndup(eq + 1, (size_t)(end - eq - 1));
		} else if (kl == 4 && !memcmp(kv, "size", 4)) {
			*size = strtoull(eq + 1, NULL, 10);
			*has_size = true;
		} else if ((kl == 8 && !memcmp(kv, "linkpath", 8)) || (kl > 10 && !memcmp(kv, "GNU.sparse", 10)))
			return false;
		p += rl;
		n -= rl;
	}
	return true;
}

static bool zero_block(const char *h)
{
	for (size_t i = 0; i < 512; i++)
		if (h[i])
			return false;
	return true;
}

int berth_ustar_next(const char *tar, size_t len, size_t *off, struct berth_ustar_entry *e)
{
	char *long_name = NULL;
	uint64_t pax_size = 0;
	bool has_pax_size = false;
	for (;;) {
		if (*off + 512 > len)
			break; /* no end blocks */
		const char *h = tar + *off;
		if (zero_block(h)) {
			free(long_name);
			return 0;
		}
		uint64_t size, mode;
		if (!berth_ustar_checksum_ok(h) || !berth_ustar_parse_octal(h + 124, 12, &size))
			break;
		char type = h[156];
		if (has_pax_size && type != 'x' && type != 'L')
			size = pax_size;
		if (size > len || *off + 512 + size > len)
			break;
		const char *data = h + 512;
		size_t here = *off;
		*off += 512 + (size_t)((size + 511) / 512 * 512);
		if (type == 'x') {
			if (!pax_records(data, (size_t)size, &long_name, &pax_size, &has_pax_size))
				break;
			continue;
		}
		if (type == 'L') {
			free(long_name);
			long_name = strndup(data, strnlen(data, (size_t)size));
			continue;
		}
		if (!berth_ustar_parse_octal(h + 100, 8, &mode))
			break;
		if (!long_name) {
			size_t nl = strnlen(h, 100), pl = memcmp(h + 257, "ustar", 5) ? 0 : strnlen(h + 345, 155);
			long_name =
				pl ? berth_strdup_printf("%.*s/%.*s", (int)pl, h + 345, (int)nl, h) : strndup(h, nl);
			if (!long_name)
				return -1;
		}
		*e = (struct berth_ustar_entry){
			.name = long_name, .type = type, .mode = mode, .size = size, .data = here + 512};
		return 1;
	}
	free(long_name);
	return -1;
}
