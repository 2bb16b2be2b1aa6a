/* The build context as a hand-written ustar stream (build_tar.c). */
#pragma once
#include <stdbool.h>

/* Write the tree below dirfd (its children, sorted, filtered as
 * berth_tar_src's filter) to out as a ustar stream with its end blocks.
 * Returns 1 when done, 0 when the tree holds something only
 * berth_tar_write handles (hard links, xattrs, special files, long names,
 * mounts, read errors; out may hold a partial stream: truncate it), -1
 * when writing out failed. */
int cli_context_tar(int dirfd, int (*filter)(void *ctx, const char *rel, bool is_dir), void *fctx, int out);
