/* ustar header fields (POSIX.1-1988 tar): octal numbers, magic, checksum.
 * For code that writes or reads plain tar headers without libarchive. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* v as w-1 octal digits and a NUL in f; false when it does not fit */
bool berth_ustar_octal(char *f, size_t w, uint64_t v);
/* an octal field (leading spaces, digits, then NUL or space); false when malformed */
bool berth_ustar_parse_octal(const char *f, size_t w, uint64_t *v);
/* set the magic ("ustar\0", "00") and then the checksum of a filled header */
void berth_ustar_finish(char h[512]);
/* the header's checksum field matches its bytes */
bool berth_ustar_checksum_ok(const char h[512]);
