/* ustar header fields (see ustar.h). */
#include "common/ustar.h"

#include <stdio.h>
#include <string.h>

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
	uint64_t v;
	return berth_ustar_parse_octal(h + 148, 8, &v) && v == sum_of(h);
}
