/* Layer bookkeeping shared by the drivers whose layer directory is the whole
 * root filesystem of the layer, <home>/<ops->layer_subdir>/<id> (vfs: a full
 * copy of the parent; btrfs: a snapshot of the parent's subvolume). Deletions
 * are real deletions there, so changes and exports compare a layer against
 * its parent's directory. Messages are prefixed with the driver's name. */
#pragma once
#include "storage/driver.h"

/* <home>/<layer_subdir>/<id> (caller frees), NULL without memory. */
char *berth_fulllayer_path(struct berth_graph_driver *d, const char *id);
/* ops members, the same for every such driver */
int berth_fulllayer_commit(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err);
bool berth_fulllayer_exists(struct berth_graph_driver *d, const char *id);
int berth_fulllayer_get(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err);
int berth_fulllayer_put(struct berth_graph_driver *d, const char *id, struct berth_error *err);
char *berth_fulllayer_diff_path(struct berth_graph_driver *d, const char *id);
int berth_fulllayer_apply_diff(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			       const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			       struct berth_error *err);
int berth_fulllayer_changes(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
			    struct berth_error *err);
int berth_fulllayer_export_changes(struct berth_graph_driver *d, const char *id, const char *parent,
				   struct berth_writer *out, struct berth_error *err);
int64_t berth_fulllayer_diff_size(struct berth_graph_driver *d, const char *id, const char *parent);
char **berth_fulllayer_list(struct berth_graph_driver *d);

/* The shared members of such a driver's ops table; subdir: its layer_subdir. */
#define BERTH_FULLLAYER_OPS(subdir)                                                                                    \
	.commit = berth_fulllayer_commit, .exists = berth_fulllayer_exists, .get = berth_fulllayer_get,                \
	.put = berth_fulllayer_put, .diff_path = berth_fulllayer_diff_path, .apply_diff = berth_fulllayer_apply_diff,  \
	.changes = berth_fulllayer_changes, .export_changes = berth_fulllayer_export_changes,                          \
	.diff_size = berth_fulllayer_diff_size, .list = berth_fulllayer_list, .whiteout = BERTH_WHITEOUT_DELETE,       \
	.layer_subdir = (subdir)
