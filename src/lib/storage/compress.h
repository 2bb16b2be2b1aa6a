/* Parallel gzip writer (the compressing side of decompress.c): one valid
 * gzip member, produced as pigz does. The input is cut into blocks of
 * BERTH_GZIP_BLOCK bytes; worker threads deflate the blocks independently
 * (raw deflate primed with the previous block's last 32 KiB as dictionary,
 * ended by a sync flush, the last block by Z_FINISH), and the blocks are
 * written in order behind one gzip header, with the combined CRC-32 and size
 * as trailer. Any gzip reader (zlib, Go's compress/gzip, gzip(1)) reads it as
 * a single member. The output is deterministic for a given input and level
 * (block boundaries do not depend on how the input is written or on the
 * number of threads).
 *
 * A block whose samples do not compress (random or already-compressed data)
 * is stored (deflate level 0) instead of searched for matches: at level 6
 * zlib spends as long on such a block as on text and gains nothing.
 *
 * The output goes to `out` from the thread that calls write and finish, in
 * order; the workers only compress. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_GZIP_BLOCK (256 * 1024)

struct berth_gzip_writer;

/* level: zlib level 1..9 (-1: 6, zlib's and Go's default); threads: worker
 * threads (0: the online CPUs, at most 8; 1: compress in the caller). */
struct berth_gzip_writer *berth_gzip_writer_new(int level, int threads, const struct berth_writer *out,
						struct berth_error *err);
/* Compress len bytes (the writer's state is unusable after an error). */
int berth_gzip_write(struct berth_gzip_writer *g, const void *buf, size_t len, struct berth_error *err);
/* Compress what is left and write the trailer. */
int berth_gzip_finish(struct berth_gzip_writer *g, struct berth_error *err);
/* Stops the workers; frees. NULL is fine. */
void berth_gzip_writer_free(struct berth_gzip_writer *g);
