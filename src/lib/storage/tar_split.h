/* Tar-split: rebuild a layer's exact tar stream from its extracted files.
 *
 * While a layer is applied, the uncompressed stream is cut into raw segments
 * (headers, padding, trailers, data of entries that are not stored as files)
 * and references (path, size) to regular files whose content now lives in the
 * layer directory. The records are zstd-compressed into one small file:
 *
 *   "BTSPLIT1" then records: 0x01 <varint len> <bytes>        raw segment
 *                            0x02 <varint len> <path> <varint size>  file
 *                            0x03 <varint total>               end
 *
 * Export replays the records, reading file content below the layer root, and
 * checks the sha256 of what it wrote against the diff ID. A layer that wrote
 * the same path twice (or deleted a file it wrote) keeps the earlier content
 * of file record N (1-based) in "<record>.dup/N"; export reads it from there. */
#pragma once
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

#define BERTH_TARSPLIT_DUP_SUFFIX ".dup"

struct berth_tarsplit_writer;

struct berth_tarsplit_writer *berth_tarsplit_writer_new(const char *path, struct berth_error *err);
int berth_tarsplit_segment(struct berth_tarsplit_writer *w, const void *data, size_t len, struct berth_error *err);
int berth_tarsplit_file(struct berth_tarsplit_writer *w, const char *path, uint64_t size, struct berth_error *err);
/* Writes the end record, flushes and fsyncs. */
int berth_tarsplit_writer_finish(struct berth_tarsplit_writer *w, uint64_t total, struct berth_error *err);
/* Frees; a writer that was not finished removes its file. */
void berth_tarsplit_writer_free(struct berth_tarsplit_writer *w);

/* Rebuild the stream into out. File content is read below root_fd (no
 * symlinks followed). If diff_id is non-NULL the sha256 of the output must
 * match it, else an error (after the bytes were written). */
int berth_tarsplit_export(const char *path, int root_fd, const char *diff_id, struct berth_writer *out,
			  struct berth_error *err);
