/* Apply a layer tarball (plain, gzip or zstd) inside a root directory.
 *
 * The stream is decompressed here (zlib / libzstd) so the sha256 of the
 * uncompressed bytes (the diff ID) is computed as it streams; libarchive only
 * parses plain tar. Every path is resolved component by component from the
 * root fd with O_NOFOLLOW: '..' that escapes, absolute names, symlinked
 * parents, hard links leaving the root and absurd sizes are refused.
 * The caller owns cleanup of root on error (extract into a temp dir). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/idmap.h"
#include "common/util.h"

enum berth_whiteout_mode {
	BERTH_WHITEOUT_OVERLAY, /* .wh.x -> char device 0:0; .wh..wh..opq -> trusted.overlay.opaque=y */
	BERTH_WHITEOUT_DELETE,  /* .wh.x -> remove x; .wh..wh..opq -> remove what lower layers put there */
};

enum berth_compression {
	BERTH_COMPRESSION_NONE,
	BERTH_COMPRESSION_GZIP,
	BERTH_COMPRESSION_ZSTD,
	BERTH_COMPRESSION_BZIP2,
	BERTH_COMPRESSION_XZ,
};

#define BERTH_TAR_MAX_ENTRY_SIZE (1LL << 40) /* 1 TiB: bigger header sizes are refused */

struct berth_tar_apply_opts {
	enum berth_whiteout_mode whiteout;
	/* When set, a tar-split record (see tar_split.h) is written to this path,
	 * so the exact stream can be rebuilt from the extracted files. */
	const char *tarsplit_path;
	/* --userns-remap: owners are shifted into these host ranges (NULL: as in the tar) */
	const struct berth_idmap *idmap;
};

struct berth_tar_apply_result {
	char diff_id[BERTH_DIGEST_LEN + 1]; /* sha256 of the uncompressed stream */
	int64_t size;     /* docker's layer size: regular files (hard links once) + symlink target lengths */
	int64_t tar_size; /* uncompressed stream length */
	enum berth_compression compression;
	int64_t entries;
	/* tar-split written (false when the stream replaced a file it had
	 * written before: the exact stream cannot be rebuilt then). */
	bool exact_record;
};

int berth_tar_apply(int root_fd, struct berth_reader *in, const struct berth_tar_apply_opts *opts,
		    struct berth_tar_apply_result *res, struct berth_error *err);

/* Compression from the first bytes of a stream. */
enum berth_compression berth_detect_compression(const void *buf, size_t len);

/* A reader that decompresses (auto-detected from the magic bytes: gzip,
 * zstd, bzip2, xz or plain) and hashes what it returns. Reusable by any
 * layer consumer (load, import, pull); berth_decompress_reader wraps it as a
 * plain berth_reader.
 * berth_decompressor_finish drains the input to EOF (hashing the rest) and
 * writes the digest of every uncompressed byte. */
struct berth_decompressor;
struct berth_decompressor *berth_decompressor_new(struct berth_reader *in, struct berth_error *err);
/* Returns bytes (0 at end of data, -1 on error with err filled). */
ssize_t berth_decompressor_read(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err);
int berth_decompressor_finish(struct berth_decompressor *dc, char digest[BERTH_DIGEST_LEN + 1], int64_t *total,
			      struct berth_error *err);
enum berth_compression berth_decompressor_kind(struct berth_decompressor *dc);
/* Stop hashing (a stream whose digest nobody needs); finish then fails. */
void berth_decompressor_no_digest(struct berth_decompressor *dc);
void berth_decompressor_free(struct berth_decompressor *dc);
/* docker's name of a compression ("gzip", "zstd", "bzip2", "xz", "none"). */
const char *berth_compression_name(enum berth_compression c);
/* A berth_reader over dc (read returns -1 with errno EIO on a decompression
 * error; the message stays in *err, which must outlive the reader). */
struct berth_reader berth_decompress_reader(struct berth_decompressor *dc, struct berth_error *err);
