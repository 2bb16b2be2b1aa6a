/* Layer store: read-only image layers identified by chain ID, stored once,
 * reference counted; and read-write container layers on top of them.
 * Backed by a storage driver (drivers/NAME.c behind struct berth_graph_driver).
 * Metadata lives in the daemon's SQLite database (tables created here).
 * Thread-safe: every call takes the store's own mutex. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/idmap.h"
#include "common/util.h"
#include "metadata/db.h"
#include "storage/driver.h"

#define BERTH_MAX_LAYERS 125 /* docker's maxLayerDepth; more gives "max depth exceeded" */

struct berth_layer_store;

struct berth_layer_info {
	char chain_id[BERTH_DIGEST_LEN + 1];
	char diff_id[BERTH_DIGEST_LEN + 1];
	char parent[BERTH_DIGEST_LEN + 1]; /* "" for a base layer */
	int64_t size;                      /* bytes of this layer's own files */
	int refcount;
	int depth; /* 1 for a base layer */
};

/* db: the daemon's database; tables "layers", "layer_pending", "layer_rw" are
 * created in it. For a file database the store uses its own connection to the
 * same file (WAL), so never call the store while holding a write transaction
 * open on your connection (it would wait for it).
 * driver: "overlay2", "vfs", ... or NULL/"" to pick (overlay2 where the kernel
 * supports it on data_root's filesystem, else vfs). "aufs"/"devicemapper"/unknown
 * names fail with a clear "not supported on this host" (BERTH_E_UNSUPPORTED). */
struct berth_layer_store *berth_layer_store_open(const char *data_root, const char *driver, struct berth_db *db,
						 struct berth_error *err);
/* The same without removing the directories of no layer (temp and orphaned
 * ones: a directory per container, a kill -9 midway): the caller runs
 * berth_layer_store_sweep before it creates or removes any layer (berthd:
 * while the API is held back, after /_ping answers). */
struct berth_layer_store *berth_layer_store_open_unswept(const char *data_root, const char *driver, struct berth_db *db,
							 struct berth_error *err);
void berth_layer_store_sweep(struct berth_layer_store *ls);
void berth_layer_store_close(struct berth_layer_store *ls);
/* --userns-remap: layers registered from now on are unpacked with owners
 * shifted into m's host ranges, layer roots belong to the remapped root and
 * the driver's directories are traversable by it (docker's layout; overlay2
 * and vfs). Call right after open; m must outlive the store. */
int berth_layer_store_set_idmap(struct berth_layer_store *ls, const struct berth_idmap *m, struct berth_error *err);
const char *berth_layer_store_driver_name(struct berth_layer_store *ls);
/* [["Backing Filesystem","extfs"],["Supports d_type","true"],...] as docker's info shows. */
json_t *berth_layer_store_driver_status(struct berth_layer_store *ls);

/* The daemon's --storage-opt list ("key=value" each, NULL-terminated):
 * btrfs.min_space, overlay2.size, overlay2.override_kernel_check, vfs size;
 * checked with docker's wording (storage/driver.h). */
int berth_layer_store_set_options(struct berth_layer_store *ls, char *const *opts, struct berth_error *err);

/* Apply a layer tarball (plain tar, gzip or zstd: detected from magic bytes)
 * on top of parent_chain (NULL or "" for a base layer). Computes the diff ID
 * (sha256 of the uncompressed tar stream, read to EOF). If expected_diff_id is
 * non-NULL and differs: error, nothing kept. If the resulting chain ID already
 * exists, the new extraction is discarded and the existing layer reused. The
 * resulting layer's refcount is incremented (the caller owns one reference).
 * Hostile entries (.., escapes through symlinks, hard links out of the layer,
 * absurd sizes, truncated data) fail with BERTH_E_INVALID and leave nothing. */
int berth_layer_register(struct berth_layer_store *ls, const char *parent_chain, struct berth_reader *in,
			 const char *expected_diff_id, struct berth_layer_info *out, struct berth_error *err);
/* Take / drop a reference. Dropping the last one removes the layer and drops
 * its reference on the parent. *removed (may be NULL) lists how many layers went.
 * A layer's refcount counts its owners: callers' references, each child
 * layer registered on it, each container layer created from it. So an image
 * may keep just one reference on its top layer (releasing the intermediate
 * ones register returned) or one per layer; both work if released alike. */
int berth_layer_ref(struct berth_layer_store *ls, const char *chain_id, struct berth_error *err);
int berth_layer_release(struct berth_layer_store *ls, const char *chain_id, int *removed, struct berth_error *err);
/* Same; *removed_chains (may be NULL) gets the chain IDs removed, top first
 * (NULL-terminated, free with berth_strv_free) for rmi's "Deleted:" lines. */
int berth_layer_release_list(struct berth_layer_store *ls, const char *chain_id, char ***removed_chains,
			     struct berth_error *err);
int berth_layer_get(struct berth_layer_store *ls, const char *chain_id, struct berth_layer_info *out,
		    struct berth_error *err);
/* chain ID of diff IDs: chain(d1) = d1; chain(d1..dn) = sha256(chain(d1..dn-1) + " " + dn). */
/* The type of path (absolute; symlinks followed inside the root, as a
 * chroot would) in the filesystem of layer chain_id, read from the layers'
 * own directories (overlay whiteouts and opaque directories honoured): 1 and
 * *mode (st_mode) when it exists, 0 when it does not, -1 on error. */
int berth_layer_path_mode(struct berth_layer_store *ls, const char *chain_id, const char *path, mode_t *mode,
			  struct berth_error *err);
/* The regular file at path in layer chain_id's filesystem (resolved as
 * berth_layer_path_mode does), opened for reading: 1 and *fd, 0 when there
 * is no regular file there, -1 on error. */
int berth_layer_open_file(struct berth_layer_store *ls, const char *chain_id, const char *path, int *fd,
			  struct berth_error *err);
void berth_layer_chain_id(const char *parent_chain, const char *diff_id, char out[BERTH_DIGEST_LEN + 1]);
/* Write the layer's uncompressed tar, byte-identical to what was registered
 * (so its sha256 is the diff ID; verified while streaming). */
int berth_layer_export(struct berth_layer_store *ls, const char *chain_id, struct berth_writer *out,
		       struct berth_error *err);
/* Sum of sizes of every stored layer (for system df), number of layers. */
int64_t berth_layer_store_total_size(struct berth_layer_store *ls);
/* docker's GraphDriver.Data of an image's top layer: overlay2
 * {"LowerDir","MergedDir","UpperDir","WorkDir"}, vfs {"Dir"}. NULL if unknown. */
json_t *berth_layer_graph_data(struct berth_layer_store *ls, const char *chain_id);

/* Read-write container layers (issue 3+). id is the container id (1-128 of
 * [A-Za-z0-9_.-]). As in docker, an init layer sits between the image and
 * the container's layer, holding empty /etc/hosts, /etc/hostname,
 * /etc/resolv.conf, /.dockerenv, /dev/console, /dev/pts, /dev/shm, /proc,
 * /sys and /etc/mtab -> /proc/mounts where the image lacks them, so bind
 * mount targets do not show up in changes. On overlay2, unlike docker's
 * "<id>-init" per container, it is the image's: "<top layer's cache
 * id>-init", made by its first container, shared by the rest, removed with
 * the layer (vfs, btrfs and a container without an image: its own
 * "<id>-init", removed with it). The container layer holds one
 * reference on the image's top layer until berth_rwlayer_remove. */
int berth_rwlayer_create(struct berth_layer_store *ls, const char *id, const char *image_chain_id,
			 struct berth_error *err);
/* The same with the container's HostConfig.StorageOpt (JSON object of
 * strings, NULL for none): "size" (docker's units, 1024-based) limits the
 * writable layer where the driver can (btrfs: qgroup, needs quotas on;
 * overlay2: xfs with pquota only); other keys or drivers are refused with
 * docker's messages and nothing is left behind. */
int berth_rwlayer_create_opts(struct berth_layer_store *ls, const char *id, const char *image_chain_id,
			      const json_t *storage_opt, struct berth_error *err);
/* Mounts (refcounted) and returns the rootfs path (caller frees). */
int berth_rwlayer_mount(struct berth_layer_store *ls, const char *id, char **rootfs, struct berth_error *err);
int berth_rwlayer_unmount(struct berth_layer_store *ls, const char *id, struct berth_error *err);
/* A start's root filesystem where the driver lets another process mount it
 * (overlay2: berth-shim, in a mount namespace of the runtime's run, so the
 * host's mount table and every later container's copy of it stay short): 1 with
 * *a filled (berth_mount_args_free) and the reference taken as by
 * berth_rwlayer_mount, which berth_rwlayer_unmount drops (nothing to
 * unmount here); 0 when it was mounted here instead (already mounted, or a
 * driver without mount_args); *rootfs the mount point either way. */
int berth_rwlayer_mount_elsewhere(struct berth_layer_store *ls, const char *id, char **rootfs,
				  struct berth_mount_args *a, struct berth_error *err);
/* The handed-out mount is made and held at held (a path through another
 * process: berth-shim's /proc/<pid>/fd/N): the next berth_rwlayer_mount
 * (cp, export) gets that path. Without a handed-out mount (a daemon
 * restart: a running container's shim) the reference is taken again: at
 * held when the mount point here has nothing mounted and held has a root
 * filesystem, else as berth_rwlayer_mount. */
int berth_rwlayer_mount_adopt(struct berth_layer_store *ls, const char *id, const char *held, struct berth_error *err);
int berth_rwlayer_remove(struct berth_layer_store *ls, const char *id, struct berth_error *err);
/* Size of the container's own writable files. */
int64_t berth_rwlayer_size(struct berth_layer_store *ls, const char *id);
/* docker diff: [{"Path":"/etc","Kind":0},{"Path":"/etc/x","Kind":1},...]
 * Kind 0 modified, 1 added, 2 deleted. Caller owns *changes. */
int berth_rwlayer_changes(struct berth_layer_store *ls, const char *id, json_t **changes, struct berth_error *err);
/* The container's changes as an uncompressed tar with AUFS whiteouts
 * (".wh.<name>", "<dir>/.wh..wh..opq"), ready for berth_layer_register (commit). */
int berth_rwlayer_export_diff(struct berth_layer_store *ls, const char *id, struct berth_writer *out,
			      struct berth_error *err);
/* GraphDriver.Data for a container (container inspect). NULL if unknown. */
json_t *berth_rwlayer_graph_data(struct berth_layer_store *ls, const char *id);
/* Image chain ID the container layer was created from ("" for none). */
int berth_rwlayer_image(struct berth_layer_store *ls, const char *id, char out[BERTH_DIGEST_LEN + 1],
			struct berth_error *err);
