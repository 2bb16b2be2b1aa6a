/* A native streaming tar reader (no libarchive): what docker's Go
 * archive/tar accepts in layers and docker-archives. ustar, V7 and old GNU
 * headers (checksum signed or unsigned, octal or base-256 numbers), pax 'x'
 * records (path, linkpath, size, uid, gid, mtime/atime with fractions,
 * SCHILY.xattr.*, LIBARCHIVE.xattr.*, SCHILY.devmajor/devminor, GNU.sparse.*),
 * pax 'g' global headers (ignored), GNU 'L'/'K' long names, GNU sparse files
 * (old GNU 'S' with extension blocks, pax sparse 0.0, 0.1 and 1.0).
 *
 * Types are reported as in the tar: '0' a regular file ('\0', '7' and any
 * unknown typeflag are reported as '0', as libarchive does; a '\0' or '0'
 * entry named "x/" as '5'), '1' hard link, '2' symlink, '3' char device,
 * '4' block device, '5' directory ('D' GNU dumpdir too), '6' fifo. Only
 * regular files have data; the other types have none whatever their size
 * field says (Go and libarchive agree).
 *
 * Hostile input gives an error ("invalid tar header", "unexpected EOF", ...),
 * never a crash; memory is bounded (pax records and long names up to 1 MiB,
 * sparse maps up to 65536 segments). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_TARIN_MAX_SPECIAL (1u << 20) /* pax record / long name bytes */
#define BERTH_TARIN_MAX_SPARSE 65536u      /* sparse map segments */

struct berth_tarin_xattr {
	char *key;
	char *val; /* raw bytes (not NUL-terminated for the caller's sake; one is added) */
	size_t len;
};

struct berth_tarin_sparse {
	int64_t off, len; /* a data segment of the file; everything else is a hole */
};

/* One entry; owned by the reader and valid until the next call. */
struct berth_tarin_entry {
	char *path;     /* never NULL */
	char *linkname; /* hard link or symlink target; "" when none */
	char type;      /* see above */
	uint32_t mode;  /* the mode field's permission bits (07777) */
	int64_t uid, gid;
	int64_t size; /* the file's size (the real size of a sparse file); 0 for non-files */
	struct timespec mtime, atime;
	bool atime_set;
	uint32_t devmajor, devminor;
	struct berth_tarin_xattr *xattrs;
	size_t nxattrs;
	struct berth_tarin_sparse *sparse; /* NULL unless sparse */
	size_t nsparse;
	bool is_sparse;
	uint64_t data_offset; /* stream offset of the entry's data as stored (after a 1.0 sparse map) */
};

struct berth_tarin;
/* A reader over in (plain tar; decompress before). */
struct berth_tarin *berth_tarin_new(struct berth_reader *in);
void berth_tarin_free(struct berth_tarin *t);
/* The next entry (the previous one's unread data is skipped): 1 with *e set,
 * 0 at the end of the archive (end blocks, or EOF at a header boundary),
 * -1 with err filled (kind INVALID for a bad archive; a failing source's
 * errno is kept in the message). */
int berth_tarin_next(struct berth_tarin *t, struct berth_tarin_entry **e, struct berth_error *err);
/* The current entry's data as stored, one block at a time: 1 with *buf,
 * *len and the file offset *off of the block (sparse entries jump over
 * holes), 0 at its end, -1 on error. */
int berth_tarin_block(struct berth_tarin *t, const void **buf, size_t *len, int64_t *off, struct berth_error *err);
/* The current entry's contents in order, holes read as zeros: bytes, 0 at
 * its end, -1 on error. */
ssize_t berth_tarin_read(struct berth_tarin *t, void *buf, size_t len, struct berth_error *err);
/* Stream bytes consumed so far (the position of the next unread byte). */
uint64_t berth_tarin_offset(const struct berth_tarin *t);
/* atime/mtime as for utimensat; the access time is never before the
 * modification time (docker's rule, as berth_tar_entry_times). */
void berth_tarin_times(const struct berth_tarin_entry *e, struct timespec ts[2]);
