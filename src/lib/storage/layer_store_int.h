/* Internals shared by layer_store.c and rwlayer.c. Call with ls->lock held
 * unless noted. */
#pragma once
#include <pthread.h>

#include "storage/driver.h"
#include "storage/layer_store.h"

/* Driver ids in use outside the lock (export, diff): removal waits for them. */
struct ls_pin {
	char *id;
	int n;
	bool doomed; /* metadata gone; remove the dirs when the last user leaves */
	struct ls_pin *next;
};

struct ls_mount {
	char *id;
	char *path; /* held by another process: /proc/<pid>/fd/<n> (berth_rwlayer_mount_adopt) */
	int count;
	bool elsewhere; /* made by another process (berth_rwlayer_mount_elsewhere) */
	struct ls_mount *next;
};

#define LS_ID_LOCKS 64
/* an init layer's id: its image layer's cache id (shared) or an old
 * container id (one per container, before the init layer was shared) */
#define LS_INIT_SUFFIX "-init"

struct berth_layer_store {
	pthread_mutex_t lock;
	/* Mount, unmount and remove of one container layer, by a hash of its
	 * id: the mount(2)/umount(2) run under it, not under lock, so the
	 * starts and removals of different containers do not wait for each
	 * other. Taken before lock, never while holding it. */
	pthread_mutex_t id_locks[LS_ID_LOCKS];
	/* The making of an image's shared init layer ("<top cache id>-init",
	 * rwlayer.c): one maker, the others wait and find it made. Taken
	 * without lock held. */
	pthread_mutex_t init_lock;
	struct berth_db *db; /* metadata/db.h, shared */
	struct berth_graph_driver *drv;
	char *data_root;
	char *meta_dir; /* <data_root>/layerdb/<driver>: tar-split records */
	struct ls_pin *pins;
	struct ls_mount *mounts;
};

/* Do an image's containers share its init layer ("<cache id>-init",
 * rwlayer.c)? Where the init layer is a few entries in a directory
 * (overlay2); on vfs and btrfs it is a whole copy or a snapshot of the
 * image, which a shared one would keep on disk as long as the image. */
static inline bool ls_shares_init(const struct berth_layer_store *ls)
{
	return ls->drv->ops->whiteout == BERTH_WHITEOUT_OVERLAY;
}

struct ls_row {
	char chain_id[BERTH_DIGEST_LEN + 1];
	char diff_id[BERTH_DIGEST_LEN + 1];
	char parent[BERTH_DIGEST_LEN + 1];
	char cache_id[129];
	int64_t size, tar_size;
	int refcount, depth;
	bool exact;
};

/* docker's init layer: mount targets every container needs (rwlayer.c) */
struct ls_init_entry {
	const char *dir; /* "" (the root) or one component */
	const char *base;
	char type; /* d dir, f file, l symlink */
	const char *target;
};

/* Write the entries into upper, the empty diff dir of an init layer stacked
 * with overlay whiteouts on the image layer chain_id, as creating them
 * through an overlay mount of it would (lookup.c): an entry whose
 * directory is not a directory of the image, or which the image has, is
 * skipped; a directory of the image is copied up first (owner, mode,
 * xattrs, times). No mount, no work dir. */
/* Make entry x in directory dfd (owned by the container's root with
 * --userns-remap). */
int ls_init_make(int dfd, const struct ls_init_entry *x, const struct berth_idmap *idmap, struct berth_error *err);
int ls_init_overlay(struct berth_layer_store *ls, const char *chain_id, int upper, const struct ls_init_entry *e,
		    size_t n, const struct berth_idmap *idmap, struct berth_error *err);

pthread_mutex_t *ls_id_lock(struct berth_layer_store *ls, const char *id);
int ls_exec(struct berth_layer_store *ls, const char *sql, struct berth_error *err);
int ls_tx_begin(struct berth_layer_store *ls, struct berth_error *err);
int ls_tx_commit(struct berth_layer_store *ls, struct berth_error *err);
void ls_tx_rollback(struct berth_layer_store *ls);
/* 1 found, 0 not found, -1 error. */
int ls_row_get(struct berth_layer_store *ls, const char *chain_id, struct ls_row *r, struct berth_error *err);
int ls_ref_locked(struct berth_layer_store *ls, const char *chain_id, int delta, struct berth_error *err);
/* Drop one reference (cascading to parents) inside a transaction; driver ids
 * to delete are pushed on *gone, chain IDs removed on *chains (may be NULL). */
int ls_release_locked(struct berth_layer_store *ls, const char *chain_id, char ***gone, char ***chains,
		      struct berth_error *err);
/* Removal of a layer's directories happens without the lock (it can take
 * seconds); the id stays pinned ("doomed") meanwhile so nobody reuses it.
 * ls_claim_removal (lock held) returns true when the caller must call
 * ls_remove_unlocked(id) after dropping the lock; false when a reader still
 * uses it (the last ls_unpin then returns true instead). */
bool ls_claim_removal(struct berth_layer_store *ls, const char *driver_id);
void ls_remove_unlocked(struct berth_layer_store *ls, const char *driver_id);
/* Claims every id of gone (lock held), moving the ones to remove now into *now. */
void ls_claim_all(struct berth_layer_store *ls, char **gone, char ***now);
/* Removes every id of now (lock NOT held) and frees it. */
void ls_remove_all_unlocked(struct berth_layer_store *ls, char **now);
void ls_pin(struct berth_layer_store *ls, const char *driver_id);
bool ls_unpin(struct berth_layer_store *ls, const char *driver_id);
/* A statement with ?1 bound to the driver name (layer_store.c). */
struct berth_stmt *ls_prep(struct berth_layer_store *ls, const char *sql, struct berth_error *err);
/* Remove a driver id's directories and tar-split metadata now (an image
 * layer's shared init layer first). */
void ls_remove_now(struct berth_layer_store *ls, const char *driver_id);
/* Is id a cache id of a layer or an rw / init id of a container layer, or
 * the shared init layer of a layer that is? */
bool ls_id_referenced(struct berth_layer_store *ls, const char *id);
