/* Read-write (container) layers: an init layer on the image, "<id>" on top.
 * On overlay2 the init layer is the image's ("<image top layer's cache
 * id>-init", made by the first container of the image and shared by all of
 * them); on vfs and btrfs, and for a container without an image, it is the
 * container's own "<id>-init", as in docker (and in data roots of older
 * berthds, whose containers still work). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/layer_store_int.h"
#include "storage/rwlayer_scan.h"

struct rw_row {
	char chain_id[BERTH_DIGEST_LEN + 1];
	char init_id[160];
};

static bool valid_rw_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 128 || id[0] == '.' || id[0] == '-' || berth_str_has_prefix(id, "tmp-"))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

static struct berth_stmt *rw_prep(struct berth_layer_store *ls, const char *sql, const char *id,
				  struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(ls->db, sql, err);
	if (!st) {
		berth_err_prefix(err, "layer store");
		return NULL;
	}
	berth_stmt_bind_text(st, 1, ls->drv->ops->name);
	berth_stmt_bind_text(st, 2, id);
	return st;
}

/* 1 found, 0 not, -1 error */
static int rw_get(struct berth_layer_store *ls, const char *id, struct rw_row *r, struct berth_error *err)
{
	struct berth_stmt *st =
		rw_prep(ls, "SELECT chain_id, init_id FROM layer_rw WHERE driver = ?1 AND id = ?2", id, err);
	if (!st)
		return -1;
	int rc = berth_stmt_step(st, err);
	if (rc == 1) {
		const char *c = berth_stmt_text(st, 0);
		const char *i = berth_stmt_text(st, 1);
		snprintf(r->chain_id, sizeof(r->chain_id), "%s", c ? c : "");
		snprintf(r->init_id, sizeof(r->init_id), "%s", i ? i : "");
	}
	berth_stmt_finalize(st);
	return rc >= 0 ? rc : berth_err_prefix(err, "layer store");
}

static int rw_get_or_404(struct berth_layer_store *ls, const char *id, struct rw_row *r, struct berth_error *err)
{
	int found = rw_get(ls, id, r, err);
	if (found == 0)
		return berth_err(err, BERTH_E_NOT_FOUND, "no such container layer: %s", id);
	return found < 0 ? -1 : 0;
}

/* docker's init layer: mount targets that must exist in every container. */
static const struct ls_init_entry init_entries[] = {
	{"dev", "pts", 'd', NULL},     {"dev", "shm", 'd', NULL},
	{"", "proc", 'd', NULL},       {"", "sys", 'd', NULL},
	{"", ".dockerenv", 'f', NULL}, {"etc", "resolv.conf", 'f', NULL},
	{"etc", "hosts", 'f', NULL},   {"etc", "hostname", 'f', NULL},
	{"dev", "console", 'f', NULL}, {"etc", "mtab", 'l', "/proc/mounts"},
};

#define N_INIT_ENTRIES (sizeof(init_entries) / sizeof(init_entries[0]))

/* The init entries through the layer's root (a mount, or the directory of a
 * driver whose layers are whole trees). */
static int setup_init_layer(const char *root, const struct berth_idmap *idmap, struct berth_error *err)
{
	cleanup_close int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", root);
	for (size_t i = 0; i < N_INIT_ENTRIES; i++) {
		const struct ls_init_entry *x = &init_entries[i];
		/* Never through the image's symlinks (an /etc -> /host link stays untouched). */
		cleanup_close int dfd = berth_open_dir_beneath(rfd, x->dir, true);
		if (dfd < 0)
			continue;
		struct stat st;
		if (fstatat(dfd, x->base, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (ls_init_make(dfd, x, idmap, err) < 0)
			return -1;
	}
	return 0;
}

/* The init layer init_id on parent (NULL: none) with its entries. Layers
 * stacked by overlay (direct): written straight into its diff dir, looked
 * up in the image's layer dirs (ls_init_overlay) -- a mount and unmount of
 * it (with the kernel's probes of a work dir) per container otherwise, and
 * the layer has no work/ nor merged/. Others: through a mount of it. On
 * failure what was made is removed. */
static int init_layer(struct berth_layer_store *ls, const char *init_id, const char *chain, const char *parent,
		      bool direct, struct berth_error *err)
{
	const struct berth_graph_driver_ops *ops = ls->drv->ops;
	if (ops->create(ls->drv, init_id, parent, !direct, err) < 0)
		return -1;
	int rc;
	if (direct) {
		cleanup_free char *diff = ops->diff_path(ls->drv, init_id);
		cleanup_close int ufd = diff ? open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		rc = ufd < 0 ? berth_err_sys(err, BERTH_E_INTERNAL, errno, "open init layer %s", init_id) :
			       ls_init_overlay(ls, chain, ufd, init_entries, N_INIT_ENTRIES, ls->drv->idmap, err);
	} else {
		char *root = NULL;
		rc = ops->get(ls->drv, init_id, &root, err);
		if (rc == 0) {
			rc = setup_init_layer(root, ls->drv->idmap, err);
			free(root);
			if (ops->put(ls->drv, init_id, rc < 0 ? NULL : err) < 0)
				rc = -1;
		}
	}
	if (rc < 0)
		ops->remove(ls->drv, init_id, NULL);
	return rc;
}

/* An image's init layer, shared by its containers (ls_shares_init): made by
 * the first one (the image's top layer is pinned by the caller, and the
 * init layer goes only with it: ls_remove_now). A crash leaves a layer no
 * container row names, which the next open sweeps. */
static int shared_init_layer(struct berth_layer_store *ls, const char *init_id, const char *chain, const char *parent,
			     struct berth_error *err)
{
	pthread_mutex_lock(&ls->init_lock);
	int rc = ls->drv->ops->exists(ls->drv, init_id) ? 0 : init_layer(ls, init_id, chain, parent, true, err);
	pthread_mutex_unlock(&ls->init_lock);
	return rc;
}

static int sync_layer_fs(struct berth_layer_store *ls, const char *id, struct berth_error *err)
{
	cleanup_free char *dir = ls->drv->ops->diff_path(ls->drv, id);
	cleanup_close int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0 || syncfs(fd) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "sync container layer %s", id);
	return 0;
}

int berth_rwlayer_create(struct berth_layer_store *ls, const char *id, const char *image_chain_id,
			 struct berth_error *err)
{
	if (!valid_rw_id(id))
		return berth_err(err, BERTH_E_INVALID, "invalid container layer id \"%s\"", id ? id : "");
	const char *chain = image_chain_id ? image_chain_id : "";
	char init_id[160];
	snprintf(init_id, sizeof(init_id), "%s" LS_INIT_SUFFIX, id);
	const struct berth_graph_driver_ops *ops = ls->drv->ops;
	pthread_mutex_lock(&ls->lock);
	struct rw_row rr;
	struct ls_row lr = {0};
	int rc = rw_get(ls, id, &rr, err);
	if (rc > 0)
		rc = berth_err(err, BERTH_E_CONFLICT, "container layer %s already exists", id);
	if (rc == 0 && *chain) {
		int found = ls_row_get(ls, chain, &lr, err);
		if (found == 0)
			rc = berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", chain);
		else if (found < 0)
			rc = -1;
	}
	/* the image's top layer stays on disk while its directories are made
	 * without the lock (a concurrent image delete removes it after us) */
	if (rc == 0 && *chain)
		ls_pin(ls, lr.cache_id);
	pthread_mutex_unlock(&ls->lock);
	if (rc < 0)
		return -1;
	/* Directories first, the row last: a crash in between leaves orphans the next open sweeps. */
	bool made_init = false, made_rw = false, locked = false;
	bool shared = *chain && ls_shares_init(ls);
	if (shared)
		snprintf(init_id, sizeof(init_id), "%s" LS_INIT_SUFFIX, lr.cache_id);
	if (shared ? shared_init_layer(ls, init_id, chain, lr.cache_id, err) < 0 :
		     init_layer(ls, init_id, chain, *chain ? lr.cache_id : NULL, false, err) < 0)
		goto fail;
	made_init = !shared;
	if (ops->create(ls->drv, id, init_id, true, err) < 0)
		goto fail;
	made_rw = true;
	/* the driver's files about both layers are not fsynced one by one:
	 * one syncfs makes them durable before the row is written */
	if (sync_layer_fs(ls, id, err) < 0)
		goto fail;
	pthread_mutex_lock(&ls->lock);
	locked = true;
	if (ls_tx_begin(ls, err) < 0)
		goto fail;
	struct berth_stmt *st =
		rw_prep(ls, "INSERT INTO layer_rw (driver, id, chain_id, init_id, created) VALUES (?1, ?2, ?3, ?4, ?5)",
			id, err);
	if (!st || (*chain && ls_ref_locked(ls, chain, 1, err) < 0)) {
		berth_stmt_finalize(st);
		ls_tx_rollback(ls);
		goto fail;
	}
	berth_stmt_bind_text(st, 3, chain);
	berth_stmt_bind_text(st, 4, init_id);
	berth_stmt_bind_int64(st, 5, berth_now_ns() / 1000000000LL);
	rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	if (rc < 0) {
		berth_err_prefix(err, "layer store");
		ls_tx_rollback(ls);
		goto fail;
	}
	if (ls_tx_commit(ls, err) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = -1;
	if (locked) {
		pthread_mutex_unlock(&ls->lock);
		locked = false;
	}
	if (made_rw)
		ops->remove(ls->drv, id, NULL);
	if (made_init)
		ops->remove(ls->drv, init_id, NULL);
out:
	if (!locked)
		pthread_mutex_lock(&ls->lock);
	bool rm_parent = *chain && ls_unpin(ls, lr.cache_id);
	pthread_mutex_unlock(&ls->lock);
	if (rm_parent)
		ls_remove_unlocked(ls, lr.cache_id);
	return rc;
}

/* Is init_id the container's own init layer ("<id>-init": no image, or a
 * data root of an older berthd), not its image's shared one? */
static bool own_init(const char *id, const char *init_id)
{
	size_t n = strlen(id);
	return !strncmp(init_id, id, n) && !strcmp(init_id + n, LS_INIT_SUFFIX);
}

static struct ls_mount *find_mount(struct berth_layer_store *ls, const char *id)
{
	for (struct ls_mount *m = ls->mounts; m; m = m->next)
		if (!strcmp(m->id, id))
			return m;
	return NULL;
}

/* A new reference entry (count 1) for a mount at path; NULL when out of memory. */
static struct ls_mount *add_mount(struct berth_layer_store *ls, const char *id, const char *path, bool elsewhere)
{
	struct ls_mount *m = calloc(1, sizeof(*m));
	if (!m || !(m->id = strdup(id)) || !(m->path = strdup(path))) {
		if (m)
			free(m->id);
		free(m);
		return NULL;
	}
	m->count = 1;
	m->elsewhere = elsewhere;
	pthread_mutex_lock(&ls->lock);
	m->next = ls->mounts;
	ls->mounts = m;
	pthread_mutex_unlock(&ls->lock);
	return m;
}

int berth_rwlayer_mount(struct berth_layer_store *ls, const char *id, char **rootfs, struct berth_error *err)
{
	pthread_mutex_t *il = ls_id_lock(ls, id);
	pthread_mutex_lock(il);
	pthread_mutex_lock(&ls->lock);
	struct rw_row r;
	int rc = rw_get_or_404(ls, id, &r, err);
	struct ls_mount *m = rc == 0 ? find_mount(ls, id) : NULL;
	if (m) {
		*rootfs = strdup(m->path);
		if (*rootfs)
			m->count++;
		else
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	pthread_mutex_unlock(&ls->lock);
	if (rc == 0 && !m) {
		/* the mount without the store's lock: the id lock keeps this
		 * layer's unmount and removal out meanwhile */
		cleanup_free char *path = NULL;
		rc = ls->drv->ops->get(ls->drv, id, &path, err);
		if (rc == 0 && (!(*rootfs = strdup(path)) || !add_mount(ls, id, path, false))) {
			free(*rootfs);
			*rootfs = NULL;
			ls->drv->ops->put(ls->drv, id, NULL);
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
	}
	pthread_mutex_unlock(il);
	return rc;
}

int berth_rwlayer_mount_elsewhere(struct berth_layer_store *ls, const char *id, char **rootfs,
				  struct berth_mount_args *a, struct berth_error *err)
{
	*a = (struct berth_mount_args){.view_fd = -1};
	if (!ls->drv->ops->mount_args)
		return berth_rwlayer_mount(ls, id, rootfs, err);
	pthread_mutex_t *il = ls_id_lock(ls, id);
	pthread_mutex_lock(il);
	pthread_mutex_lock(&ls->lock);
	struct rw_row r;
	int rc = rw_get_or_404(ls, id, &r, err);
	bool mounted = rc == 0 && find_mount(ls, id);
	pthread_mutex_unlock(&ls->lock);
	if (rc == 0 && !mounted) {
		rc = ls->drv->ops->mount_args(ls->drv, id, a, err);
		if (rc > 0 && (!(*rootfs = strdup(a->target)) || !add_mount(ls, id, a->target, true))) {
			free(*rootfs);
			berth_mount_args_free(a);
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
	}
	pthread_mutex_unlock(il);
	if (rc != 0)
		return rc < 0 ? -1 : 1;
	return berth_rwlayer_mount(ls, id, rootfs, err);
}

/* Is held a root filesystem other than the (unmounted) mount point here? */
static bool held_elsewhere(const char *held, const char *mdir)
{
	cleanup_free char *dot = berth_strdup_printf("%s/.", held);
	struct stat a, b;
	return dot && stat(dot, &a) == 0 && S_ISDIR(a.st_mode) && stat(mdir, &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino != b.st_ino) && !berth_is_mountpoint(mdir);
}

int berth_rwlayer_mount_adopt(struct berth_layer_store *ls, const char *id, const char *held, struct berth_error *err)
{
	pthread_mutex_t *il = ls_id_lock(ls, id);
	pthread_mutex_lock(il);
	pthread_mutex_lock(&ls->lock);
	struct ls_mount *m = find_mount(ls, id);
	char *path = m && m->elsewhere ? strdup(held) : NULL;
	if (path) { /* handed out: held by that process now */
		free(m->path);
		m->path = path;
	} else if (m && !m->elsewhere) {
		m->count++;
	}
	pthread_mutex_unlock(&ls->lock);
	int rc = m && m->elsewhere && !path ? berth_err(err, BERTH_E_INTERNAL, "out of memory") : 0;
	if (!m) { /* a daemon before this one started it: held elsewhere, or mounted here */
		cleanup_free char *mdir = ls->drv->ops->mount_args ? berth_rwlayer_mount_dir(ls, id) : NULL;
		if (mdir && held_elsewhere(held, mdir))
			rc = add_mount(ls, id, held, true) ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
		else
			rc = 1;
	}
	pthread_mutex_unlock(il);
	if (rc <= 0)
		return rc;
	cleanup_free char *rootfs = NULL;
	return berth_rwlayer_mount(ls, id, &rootfs, err);
}

static void drop_mount(struct berth_layer_store *ls, struct ls_mount *m)
{
	for (struct ls_mount **pp = &ls->mounts; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	free(m->id);
	free(m->path);
	free(m);
}

int berth_rwlayer_unmount(struct berth_layer_store *ls, const char *id, struct berth_error *err)
{
	pthread_mutex_t *il = ls_id_lock(ls, id);
	pthread_mutex_lock(il);
	pthread_mutex_lock(&ls->lock);
	struct rw_row r;
	int rc = rw_get_or_404(ls, id, &r, err);
	struct ls_mount *m = rc == 0 ? find_mount(ls, id) : NULL;
	bool last = rc == 0 && (!m || --m->count == 0);
	pthread_mutex_unlock(&ls->lock);
	if (last) {
		/* last user, or mounted by an earlier daemon: unmount (the id
		 * lock keeps a new mount of it waiting) */
		rc = ls->drv->ops->put(ls->drv, id, err);
		pthread_mutex_lock(&ls->lock);
		if (rc == 0 && m)
			drop_mount(ls, m);
		else if (m)
			m->count = 1;
		pthread_mutex_unlock(&ls->lock);
	}
	pthread_mutex_unlock(il);
	return rc;
}

int berth_rwlayer_remove(struct berth_layer_store *ls, const char *id, struct berth_error *err)
{
	pthread_mutex_t *il = ls_id_lock(ls, id);
	pthread_mutex_lock(il);
	pthread_mutex_lock(&ls->lock);
	struct rw_row r;
	char **gone = NULL, **now = NULL;
	int rc = rw_get_or_404(ls, id, &r, err);
	struct ls_mount *m = rc == 0 ? find_mount(ls, id) : NULL;
	pthread_mutex_unlock(&ls->lock);
	if (rc < 0)
		goto out_id;
	/* the unmount without the store's lock (the id lock is held) */
	if (ls->drv->ops->put(ls->drv, id, err) < 0) {
		rc = -1;
		goto out_id;
	}
	pthread_mutex_lock(&ls->lock);
	if (m)
		drop_mount(ls, m);
	if ((rc = ls_tx_begin(ls, err)) < 0)
		goto out;
	struct berth_stmt *st = rw_prep(ls, "DELETE FROM layer_rw WHERE driver = ?1 AND id = ?2", id, err);
	rc = st && berth_stmt_exec(st, err) == 0 ? 0 : berth_err_prefix(err, "layer store");
	berth_stmt_finalize(st);
	if (rc == 0 && *r.chain_id)
		rc = ls_release_locked(ls, r.chain_id, &gone, NULL, err);
	if (rc == 0)
		rc = ls_tx_commit(ls, err);
	else
		ls_tx_rollback(ls);
	if (rc == 0) {
		if (ls_claim_removal(ls, id))
			berth_strv_push(&now, id);
		if (own_init(id, r.init_id) && ls_claim_removal(ls, r.init_id))
			berth_strv_push(&now, r.init_id);
		ls_claim_all(ls, gone, &now);
	}
out:
	pthread_mutex_unlock(&ls->lock);
out_id:
	pthread_mutex_unlock(il);
	berth_strv_free(gone);
	ls_remove_all_unlocked(ls, now);
	return rc;
}

/* Look the layer up and pin it (and its init layer) so it survives a
 * concurrent remove while we read it without the lock. */
static int rw_pin(struct berth_layer_store *ls, const char *id, struct rw_row *r, struct berth_error *err)
{
	pthread_mutex_lock(&ls->lock);
	int rc = rw_get_or_404(ls, id, r, err);
	if (rc == 0) {
		ls_pin(ls, id);
		if (*r->init_id)
			ls_pin(ls, r->init_id);
	}
	pthread_mutex_unlock(&ls->lock);
	return rc;
}

static void rw_unpin(struct berth_layer_store *ls, const char *id, struct rw_row *r)
{
	pthread_mutex_lock(&ls->lock);
	bool rm_id = ls_unpin(ls, id);
	bool rm_init = *r->init_id && ls_unpin(ls, r->init_id);
	pthread_mutex_unlock(&ls->lock);
	if (rm_id)
		ls_remove_unlocked(ls, id);
	if (rm_init)
		ls_remove_unlocked(ls, r->init_id);
}

int64_t berth_rwlayer_size(struct berth_layer_store *ls, const char *id)
{
	struct rw_row r;
	if (rw_pin(ls, id, &r, NULL) < 0)
		return 0;
	int64_t size = ls->drv->ops->diff_size(ls->drv, id, r.init_id);
	rw_unpin(ls, id, &r);
	return size;
}

int berth_rwlayer_changes(struct berth_layer_store *ls, const char *id, json_t **changes, struct berth_error *err)
{
	struct rw_row r;
	if (rw_pin(ls, id, &r, err) < 0)
		return -1;
	int rc = ls->drv->ops->changes(ls->drv, id, r.init_id, changes, err);
	rw_unpin(ls, id, &r);
	return rc;
}

int berth_rwlayer_export_diff(struct berth_layer_store *ls, const char *id, struct berth_writer *out,
			      struct berth_error *err)
{
	struct rw_row r;
	if (rw_pin(ls, id, &r, err) < 0)
		return -1;
	int rc = ls->drv->ops->export_changes(ls->drv, id, r.init_id, out, err);
	rw_unpin(ls, id, &r);
	return rc;
}

json_t *berth_rwlayer_graph_data(struct berth_layer_store *ls, const char *id)
{
	struct rw_row r;
	json_t *m = NULL;
	pthread_mutex_lock(&ls->lock);
	if (rw_get(ls, id, &r, NULL) == 1 && ls->drv->ops->metadata)
		m = ls->drv->ops->metadata(ls->drv, id);
	pthread_mutex_unlock(&ls->lock);
	return m;
}

int berth_rwlayer_image(struct berth_layer_store *ls, const char *id, char out[BERTH_DIGEST_LEN + 1],
			struct berth_error *err)
{
	struct rw_row r;
	pthread_mutex_lock(&ls->lock);
	int rc = rw_get_or_404(ls, id, &r, err);
	pthread_mutex_unlock(&ls->lock);
	if (rc == 0)
		snprintf(out, BERTH_DIGEST_LEN + 1, "%s", r.chain_id);
	return rc;
}

int berth_rwlayer_create_opts(struct berth_layer_store *ls, const char *id, const char *image_chain_id,
			      const json_t *storage_opt, struct berth_error *err)
{
	uint64_t size = 0;
	bool want_size = false;
	const char *key;
	json_t *val;
	const char *drv = ls->drv->ops->name;
	json_object_foreach((json_t *)storage_opt, key, val) {
		if (strcasecmp(key, "size") != 0)
			return berth_err(err, BERTH_E_INVALID, "Unknown option %s", key);
		if (!json_is_string(val) || berth_parse_ram_bytes(json_string_value(val), &size) < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid size: '%s'",
					 json_is_string(val) ? json_string_value(val) : "");
		want_size = true;
	}
	if (!want_size && ls->drv->default_size) { /* the daemon's overlay2.size / vfs size */
		size = ls->drv->default_size;
		want_size = true;
	}
	if (want_size && !ls->drv->ops->set_size)
		return berth_err(err, BERTH_E_INVALID, "--storage-opt is not supported for %s", drv);
	if (berth_rwlayer_create(ls, id, image_chain_id, err) < 0)
		return -1;
	if (!want_size)
		return 0;
	pthread_mutex_lock(&ls->lock);
	int rc = ls->drv->ops->set_size(ls->drv, id, size, err);
	pthread_mutex_unlock(&ls->lock);
	if (rc < 0) {
		berth_rwlayer_remove(ls, id, NULL);
		return -1;
	}
	return 0;
}

int berth_layer_store_set_options(struct berth_layer_store *ls, char *const *opts, struct berth_error *err)
{
	pthread_mutex_lock(&ls->lock);
	int rc = berth_graph_driver_set_options(ls->drv, opts, err);
	pthread_mutex_unlock(&ls->lock);
	return rc;
}
