/* A file written where none exists yet (O_EXCL): no temporary name and no
 * rename, for files in a directory just made or made once. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Create path (mode, less the umask) with data. Fails with errno EEXIST
 * (err kind CONFLICT) when path exists; a failed write removes the file. Not
 * atomic for a reader: use berth_write_file_replace for files others may be
 * reading. */
int berth_write_file_new(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err);
