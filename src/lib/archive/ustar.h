/* Plain tar without libarchive, for the hot paths that only ever see the
 * plain case (the build context): ustar header fields (POSIX.1-1988 tar:
 * octal numbers, magic, checksum), a writer of plain trees and a reader of
 * plain tars held in memory. Anything beyond the plain case makes them give
 * up, and the caller uses the libarchive side of the module (tar.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* v as w-1 octal digits and a NUL in f; false when it does not fit */
bool berth_ustar_octal(char *f, size_t w, uint64_t v);
/* an octal field (leading spaces, digits, then NUL or space); false when malformed */
bool berth_ustar_parse_octal(const char *f, size_t w, uint64_t *v);
/* a numeric field as Go's archive/tar reads it: GNU base-256 (high bit of
 * the first byte set; negative values too) or octal between spaces and NULs
 * (all blank: 0); false when malformed or beyond int64 */
bool berth_ustar_parse_number(const char *f, size_t w, int64_t *v);
/* set the magic ("ustar\0", "00") and then the checksum of a filled header */
void berth_ustar_finish(char h[512]);
/* the header's checksum field matches its bytes (summed as unsigned or as
 * signed chars, as Go and libarchive accept) */
bool berth_ustar_checksum_ok(const char h[512]);

/* Write the tree below dirfd (its children, sorted, filtered as
 * berth_tar_src's filter) to out as a ustar stream with its end blocks
 * (tar_plain.c). Returns 1 when done, 0 when the tree holds something only
 * berth_tar_write handles (hard links, xattrs, special files, long names,
 * mounts, read errors; out may hold a partial stream: truncate it), -1
 * when writing out failed. */
int berth_tar_write_plain(int dirfd, int (*filter)(void *ctx, const char *rel, bool is_dir), void *fctx, int out);

/* An entry of a tar read from memory by berth_ustar_next. */
struct berth_ustar_entry {
	char *name;    /* owned: a pax path, a GNU long name, or prefix/name; as written */
	char type;     /* the typeflag ('0' or NUL a file, '5' a directory, ...) */
	uint64_t mode; /* the mode field */
	uint64_t size; /* of the data (a pax size wins) */
	size_t data;   /* offset of the data in the tar */
};

/* The entry at *off of the uncompressed tar tar[0..len), following pax
 * ('x': path, size) and GNU long-name ('L') headers; *off moves past it.
 * 1: an entry (free e->name), 0: the end blocks, -1: anything a plain
 * reader does not take (a bad checksum or field, truncation, no end
 * blocks, a pax linkpath or sparse record) or out of memory. */
int berth_ustar_next(const char *tar, size_t len, size_t *off, struct berth_ustar_entry *e);
