/* Container layer changes (docker diff) and diff tarballs (for commit).
 * A change is {"Path": "/abs/path", "Kind": 0 modify | 1 add | 2 delete}. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/idmap.h"
#include "common/util.h"

enum berth_change_kind { BERTH_CHANGE_MODIFY = 0, BERTH_CHANGE_ADD = 1, BERTH_CHANGE_DELETE = 2 };

/* overlay: walk the upper dir; lower_fds are the lower layers' diff dirs, top first. */
int berth_changes_overlay(int upper_fd, const int *lower_fds, size_t nlower, json_t **out, struct berth_error *err);
/* Copy drivers: compare a full tree with its parent's (old_fd -1: empty). */
int berth_changes_dirs(int new_fd, int old_fd, json_t **out, struct berth_error *err);
/* Bytes of the added/modified non-directories in changes (hard links once). */
int64_t berth_changes_size(int root_fd, json_t *changes);
/* Tar (pax) of changes, sorted by path, content read below root_fd; deletions
 * become ".wh.<name>" entries. idmap (--userns-remap, may be NULL): owners
 * are mapped back to container ids. */
int berth_changes_export(int root_fd, json_t *changes, const struct berth_idmap *idmap, struct berth_writer *out,
			 struct berth_error *err);
/* Tar of an overlay upper dir with whiteouts in AUFS form (char 0:0 ->
 * ".wh.<name>", opaque dir -> "<dir>/.wh..wh..opq"). */
int berth_overlay_export_upper(int upper_fd, const struct berth_idmap *idmap, struct berth_writer *out,
			       struct berth_error *err);
