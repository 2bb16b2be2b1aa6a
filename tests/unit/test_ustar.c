/* archive/ustar.c: the plain-tar reader on good and hostile input (under
 * ASan in CI: a record that reads past its end fails there). */
#include <stdlib.h>
#include <string.h>

#include "archive/ustar.h"
#include "tap.h"

/* append a header (and its data, padded) to buf at *len */
static void put(char *buf, size_t *len, const char *name, char type, const char *data, size_t n)
{
	char *h = buf + *len;
	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	berth_ustar_octal(h + 100, 8, 0644);
	berth_ustar_octal(h + 108, 8, 0);
	berth_ustar_octal(h + 116, 8, 0);
	berth_ustar_octal(h + 124, 12, n);
	berth_ustar_octal(h + 136, 12, 0);
	h[156] = type;
	berth_ustar_finish(h);
	*len += 512;
	memset(buf + *len, 0, (n + 511) / 512 * 512);
	memcpy(buf + *len, data, n);
	*len += (n + 511) / 512 * 512;
}

static void end(char *buf, size_t *len)
{
	memset(buf + *len, 0, 1024);
	*len += 1024;
}

int main(void)
{
	struct tap t = {0};
	char *buf = calloc(1, 1 << 16);
	size_t len = 0, off = 0;
	struct berth_ustar_entry e;

	static const char pax[] = "14 path=a/b/c\n9 size=3\n";
	put(buf, &len, "PaxHeaders/x", 'x', pax, sizeof(pax) - 1);
	put(buf, &len, "x", '0', "hey", 3);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	put(buf, &len, "././@LongLink", 'L', longname, sizeof(longname));
	put(buf, &len, "short", '5', "", 0);
	end(buf, &len);
	int r = berth_ustar_next(buf, len, &off, &e);
	TAP_OK(&t,
	       r == 1 && !strcmp(e.name, "a/b/c") && e.size == 3 && e.type == '0' && !memcmp(buf + e.data, "hey", 3),
	       "pax path and size apply to the next entry");
	if (r == 1)
		free(e.name);
	r = berth_ustar_next(buf, len, &off, &e);
	TAP_OK(&t, r == 1 && !strcmp(e.name, longname) && e.type == '5', "a GNU long name applies to the next entry");
	if (r == 1)
		free(e.name);
	TAP_OK(&t, berth_ustar_next(buf, len, &off, &e) == 0, "end blocks: 0");
	off = 0;
	TAP_OK(&t, berth_ustar_next(buf, 1024 + 512, &off, &e) == -1, "truncated: -1");

	/* hostile pax records: the length ends before the record's space, so a
	 * reader trusting the space would scan backwards past the record */
	static const char *bad[] = {"2\n 9 path=x\n", "3 \n", "99 path=x\n", "-5 path=x\n", "5 p\n", "x path=y\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		len = off = 0;
		put(buf, &len, "PaxHeaders/x", 'x', bad[i], strlen(bad[i]));
		put(buf, &len, "x", '0', "", 0);
		end(buf, &len);
		TAP_OK(&t, berth_ustar_next(buf, len, &off, &e) == -1, "hostile pax record %zu refused", i);
	}
	len = off = 0;
	put(buf, &len, "x", '0', "", 0);
	buf[148] ^= 1; /* checksum */
	end(buf, &len);
	TAP_OK(&t, berth_ustar_next(buf, len, &off, &e) == -1, "bad checksum refused");
	free(buf);
	return TAP_DONE(&t);
}
