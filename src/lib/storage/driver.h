/* Storage (graph) driver interface: a struct of function pointers per driver
 * plus a registry table (name -> ops). The layer store is the only user.
 *
 * A driver stores layers by id (a hex string chosen by the layer store, or a
 * temporary "tmp-..." id while a layer is staged). Every layer has a "diff
 * path": the directory holding the files this layer adds (overlay2: diff/;
 * vfs: the full copy). Drivers are not thread-safe on their own: the layer
 * store serialises calls on the same id. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/idmap.h"
#include "common/util.h"
#include "storage/tar_apply.h"

struct berth_graph_driver;

/* A mount for another process to attach at target: view_fd, a detached
 * mount (fsmount: in no mount table), which berthd reads and writes
 * meanwhile (berth_mount_args_free closes it). */
struct berth_mount_args {
	char *target;
	int view_fd;
};
void berth_mount_args_free(struct berth_mount_args *a);

struct berth_graph_driver_ops {
	const char *name;
	/* 0 when the driver can work on data_root on this host; otherwise -1 with
	 * BERTH_E_UNSUPPORTED and the reason. May create and remove probe dirs.
	 * *features: what the check found (driver-specific; overlay2: the mount
	 * options the kernel accepts), handed to init in d->probe_features so the
	 * check runs once per open. */
	int (*probe)(const char *data_root, unsigned *features, struct berth_error *err);
	int (*init)(struct berth_graph_driver *d, struct berth_error *err);
	void (*cleanup)(struct berth_graph_driver *d);
	/* New layer id on top of parent (NULL/"" for none). rw: a container layer
	 * (gets whatever a writable mount needs). */
	int (*create)(struct berth_graph_driver *d, const char *id, const char *parent, bool rw,
		      struct berth_error *err);
	/* Move a staged layer (tmp_id) to its final id, atomically (rename). */
	int (*commit)(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err);
	int (*remove)(struct berth_graph_driver *d, const char *id, struct berth_error *err);
	bool (*exists)(struct berth_graph_driver *d, const char *id);
	/* Mount (if needed) and return the root filesystem path (caller frees).
	 * Not refcounted here: the layer store counts. */
	int (*get)(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err);
	/* Optional: the mount get would make for a container layer, detached,
	 * for another process to attach (in a mount namespace of its own): 1
	 * with a filled, 0 when get mounts nothing or the kernel cannot (a's
	 * fields unset), -1 on error. */
	int (*mount_args)(struct berth_graph_driver *d, const char *id, struct berth_mount_args *a,
			  struct berth_error *err);
	int (*put)(struct berth_graph_driver *d, const char *id, struct berth_error *err);
	/* Directory with this layer's own files (caller frees). */
	char *(*diff_path)(struct berth_graph_driver *d, const char *id);
	/* Extract a layer stream into id's diff path with the driver's whiteout form. */
	int (*apply_diff)(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			  const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			  struct berth_error *err);
	/* docker's [{"Path": "/x", "Kind": 0|1|2}] of id against its parent
	 * (parent = driver id of the layer below, needed by copy drivers). */
	int (*changes)(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
		       struct berth_error *err);
	/* The layer's changes as a tar with AUFS whiteouts (.wh.<name>, .wh..wh..opq). */
	int (*export_changes)(struct berth_graph_driver *d, const char *id, const char *parent,
			      struct berth_writer *out, struct berth_error *err);
	/* Bytes of the files this layer adds/changes. */
	int64_t (*diff_size)(struct berth_graph_driver *d, const char *id, const char *parent);
	/* docker's GraphDriver.Data for id (overlay2: LowerDir/MergedDir/UpperDir/WorkDir). */
	json_t *(*metadata)(struct berth_graph_driver *d, const char *id);
	/* docker's [["Backing Filesystem","extfs"],...] */
	json_t *(*status)(struct berth_graph_driver *d);
	/* Names of every layer id present (tmp ones included), NULL-terminated. */
	char **(*list)(struct berth_graph_driver *d);
	/* Limit a container layer to bytes (--storage-opt size=). NULL: the
	 * driver has no size limits on this host (the layer store refuses with
	 * the driver's message, see berth_driver_size_unsupported). */
	int (*set_size)(struct berth_graph_driver *d, const char *id, uint64_t bytes, struct berth_error *err);
	/* How the driver represents deletions in a diff path. */
	enum berth_whiteout_mode whiteout;
	/* Full-copy drivers (vfs, btrfs): the folder of <home> holding one
	 * directory per layer (storage/fulllayer.h); NULL for others. */
	const char *layer_subdir;
};

struct berth_graph_driver {
	const struct berth_graph_driver_ops *ops;
	char *data_root;
	char *home;            /* <data_root>/<name> */
	uint64_t min_space;    /* btrfs.min_space: smallest size= accepted (0: any) */
	uint64_t default_size; /* overlay2.size / vfs size: limit of every container layer (0: none) */
	/* --userns-remap (NULL or off: none): layer roots belong to the remapped
	 * root, per-layer directories are traversable by it (overlay2, vfs) */
	const struct berth_idmap *idmap;
	unsigned probe_features; /* from ops->probe, which berth_graph_driver_open always runs first */
	void *priv;
};

/* Registry: NULL-terminated table of every known driver (supported or not). */
extern const struct berth_graph_driver_ops *const berth_graph_driver_table[];
const struct berth_graph_driver_ops *berth_graph_driver_lookup(const char *name);

/* Open a driver by name, or pick one (name NULL/"") in docker's priority:
 * btrfs when data_root is on btrfs, overlay2 when overlayfs works on
 * data_root (real test mount, d_type), else vfs. */
struct berth_graph_driver *berth_graph_driver_open(const char *data_root, const char *name, struct berth_error *err);
void berth_graph_driver_close(struct berth_graph_driver *d);
/* The daemon's --storage-opt / daemon.json "storage-opts" ("key=value" each,
 * NULL-terminated), validated as docker's driver Init validates them:
 * btrfs.min_space (btrfs), overlay2.size and overlay2.override_kernel_check
 * (overlay2), size (vfs). A bad option fails with docker's wording and
 * changes nothing (driver_opts.c). */
int berth_graph_driver_set_options(struct berth_graph_driver *d, char *const *opts, struct berth_error *err);

/* Helpers shared by drivers. */
/* "extfs", "xfs", "tmpfs", ... as docker names the backing filesystem. */
const char *berth_backing_fs_name(const char *path);
/* true when readdir on path's filesystem returns real d_type values. */
bool berth_fs_supports_dtype(const char *path);
int berth_driver_apply_diff_at(const char *dir, struct berth_reader *in, const struct berth_tar_apply_opts *opts,
			       struct berth_tar_apply_result *res, struct berth_error *err);
