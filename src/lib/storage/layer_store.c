/* Layer store: image layers by chain ID, metadata in SQLite, files through
 * the storage driver, exact export through tar-split. */
#include "storage/layer_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/layer_store_int.h"
#include "storage/tar_split.h"

#define TARSPLIT_NAME "tar-split.zst"

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS layers ("
	" driver TEXT NOT NULL, chain_id TEXT NOT NULL, diff_id TEXT NOT NULL,"
	" parent TEXT NOT NULL DEFAULT '', cache_id TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	" tar_size INTEGER NOT NULL DEFAULT 0, refcount INTEGER NOT NULL DEFAULT 0, depth INTEGER NOT NULL,"
	" exact INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (driver, chain_id));"
	"CREATE TABLE IF NOT EXISTS layer_pending ("
	" driver TEXT NOT NULL, tmp_id TEXT NOT NULL, parent TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (driver, tmp_id));"
	"CREATE TABLE IF NOT EXISTS layer_rw ("
	" driver TEXT NOT NULL, id TEXT NOT NULL, chain_id TEXT NOT NULL DEFAULT '',"
	" init_id TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (driver, id));";

/* ---- SQL helpers ---- */

int ls_exec(struct berth_layer_store *ls, const char *sql, struct berth_error *err)
{
	if (berth_db_exec(ls->db, sql, err) < 0)
		return berth_err_prefix(err, "layer store");
	return 0;
}

/* Nests inside a caller's transaction (a savepoint). */
int ls_tx_begin(struct berth_layer_store *ls, struct berth_error *err) { return berth_db_begin(ls->db, err); }

int ls_tx_commit(struct berth_layer_store *ls, struct berth_error *err) { return berth_db_commit(ls->db, err); }

void ls_tx_rollback(struct berth_layer_store *ls) { berth_db_rollback(ls->db); }

struct berth_stmt *ls_prep(struct berth_layer_store *ls, const char *sql, struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(ls->db, sql, err);
	if (!st) {
		berth_err_prefix(err, "layer store");
		return NULL;
	}
	berth_stmt_bind_text(st, 1, ls->drv->ops->name);
	return st;
}

/* Step a statement to its end; *changes (may be NULL) gets the rows changed. */
static int step_done_n(struct berth_stmt *st, int64_t *changes, struct berth_error *err)
{
	int rc = berth_stmt_step(st, err);
	if (changes)
		*changes = berth_stmt_changes(st);
	berth_stmt_finalize(st);
	if (rc < 0)
		return berth_err_prefix(err, "layer store");
	return 0;
}

static int step_done(struct berth_layer_store *ls, struct berth_stmt *st, struct berth_error *err)
{
	(void)ls;
	return step_done_n(st, NULL, err);
}

static void copy_col(char *dst, size_t n, struct berth_stmt *st, int col)
{
	const char *s = berth_stmt_text(st, col);
	snprintf(dst, n, "%s", s ? s : "");
}

int ls_row_get(struct berth_layer_store *ls, const char *chain_id, struct ls_row *r, struct berth_error *err)
{
	struct berth_stmt *st =
		ls_prep(ls,
			"SELECT chain_id, diff_id, parent, cache_id, size, tar_size, refcount, depth, exact"
			" FROM layers WHERE driver = ?1 AND chain_id = ?2",
			err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 2, chain_id);
	int rc = berth_stmt_step(st, err);
	if (rc == 1) {
		copy_col(r->chain_id, sizeof(r->chain_id), st, 0);
		copy_col(r->diff_id, sizeof(r->diff_id), st, 1);
		copy_col(r->parent, sizeof(r->parent), st, 2);
		copy_col(r->cache_id, sizeof(r->cache_id), st, 3);
		r->size = berth_stmt_int64(st, 4);
		r->tar_size = berth_stmt_int64(st, 5);
		r->refcount = berth_stmt_int(st, 6);
		r->depth = berth_stmt_int(st, 7);
		r->exact = berth_stmt_int(st, 8) != 0;
		berth_stmt_finalize(st);
		return 1;
	}
	berth_stmt_finalize(st);
	return rc == 0 ? 0 : berth_err_prefix(err, "layer store");
}

int ls_ref_locked(struct berth_layer_store *ls, const char *chain_id, int delta, struct berth_error *err)
{
	struct berth_stmt *st =
		ls_prep(ls, "UPDATE layers SET refcount = refcount + ?3 WHERE driver = ?1 AND chain_id = ?2", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 2, chain_id);
	berth_stmt_bind_int64(st, 3, delta);
	int64_t changed = 0;
	if (step_done_n(st, &changed, err) < 0)
		return -1;
	if (changed == 0)
		return berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", chain_id);
	return 0;
}

int ls_release_locked(struct berth_layer_store *ls, const char *chain_id, char ***gone, char ***chains,
		      struct berth_error *err)
{
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", chain_id);
	while (*cur) {
		struct ls_row r;
		int found = ls_row_get(ls, cur, &r, err);
		if (found < 0)
			return -1;
		if (!found)
			return berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", cur);
		if (r.refcount > 1)
			return ls_ref_locked(ls, cur, -1, err);
		struct berth_stmt *st = ls_prep(ls, "DELETE FROM layers WHERE driver = ?1 AND chain_id = ?2", err);
		if (!st)
			return -1;
		berth_stmt_bind_text(st, 2, cur);
		if (step_done(ls, st, err) < 0 || berth_strv_push(gone, r.cache_id) < 0 ||
		    (chains && berth_strv_push(chains, r.chain_id) < 0))
			return -1;
		snprintf(cur, sizeof(cur), "%s", r.parent);
	}
	return 0;
}

/* ---- pins and removal ---- */

static struct ls_pin *find_pin(struct berth_layer_store *ls, const char *id)
{
	for (struct ls_pin *p = ls->pins; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	return NULL;
}

void ls_pin(struct berth_layer_store *ls, const char *driver_id)
{
	struct ls_pin *p = find_pin(ls, driver_id);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || !(p->id = strdup(driver_id))) {
			free(p);
			return; /* no pin: removal will simply not wait */
		}
		p->next = ls->pins;
		ls->pins = p;
	}
	p->n++;
}

void ls_remove_now(struct berth_layer_store *ls, const char *driver_id)
{
	struct berth_error e = {0};
	/* an image layer's shared init layer (rwlayer.c) goes first: it stacks
	 * on the layer, and no container uses either once the layer goes */
	cleanup_free char *init = ls_shares_init(ls) && !berth_str_has_suffix(driver_id, LS_INIT_SUFFIX) ?
					  berth_strdup_printf("%s" LS_INIT_SUFFIX, driver_id) :
					  NULL;
	if (init && ls->drv->ops->exists(ls->drv, init))
		ls->drv->ops->remove(ls->drv, init, &e);
	ls->drv->ops->remove(ls->drv, driver_id, &e);
	cleanup_free char *meta = berth_strdup_printf("%s/%s", ls->meta_dir, driver_id);
	if (meta)
		berth_rm_rf(meta, NULL);
}

bool ls_unpin(struct berth_layer_store *ls, const char *driver_id)
{
	struct ls_pin *p = find_pin(ls, driver_id);
	if (!p || --p->n > 0)
		return false;
	if (p->doomed) {
		p->n = 1; /* now held by the remover until ls_remove_unlocked */
		return true;
	}
	for (struct ls_pin **pp = &ls->pins; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p->id);
	free(p);
	return false;
}

bool ls_claim_removal(struct berth_layer_store *ls, const char *driver_id)
{
	struct ls_pin *p = find_pin(ls, driver_id);
	if (p) {
		p->doomed = true;
		return false;
	}
	ls_pin(ls, driver_id);
	p = find_pin(ls, driver_id);
	if (!p)
		return true; /* out of memory: remove without the guard */
	p->doomed = true;
	return true;
}

void ls_remove_unlocked(struct berth_layer_store *ls, const char *driver_id)
{
	ls_remove_now(ls, driver_id);
	pthread_mutex_lock(&ls->lock);
	struct ls_pin *p = find_pin(ls, driver_id);
	if (p) {
		p->doomed = false;
		ls_unpin(ls, driver_id);
	}
	pthread_mutex_unlock(&ls->lock);
}

void ls_claim_all(struct berth_layer_store *ls, char **gone, char ***now)
{
	for (size_t i = 0; gone && gone[i]; i++)
		if (ls_claim_removal(ls, gone[i]))
			berth_strv_push(now, gone[i]);
}

void ls_remove_all_unlocked(struct berth_layer_store *ls, char **now)
{
	for (size_t i = 0; now && now[i]; i++)
		ls_remove_unlocked(ls, now[i]);
	berth_strv_free(now);
}

pthread_mutex_t *ls_id_lock(struct berth_layer_store *ls, const char *id)
{
	uint32_t h = 2166136261u;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &ls->id_locks[h % LS_ID_LOCKS];
}

/* ---- open / sweep ---- */

/* an image layer's shared init layer is the layer's (rwlayer.c): "<cache id>-init" */
static bool init_of(const char *id, char owner[static 130])
{
	size_t n = strlen(id), k = strlen(LS_INIT_SUFFIX);
	if (n <= k || n - k >= 130 || strcmp(id + n - k, LS_INIT_SUFFIX))
		return false;
	memcpy(owner, id, n - k);
	owner[n - k] = 0;
	return true;
}

bool ls_id_referenced(struct berth_layer_store *ls, const char *id)
{
	char owner[130];
	if (init_of(id, owner) && ls_id_referenced(ls, owner))
		return true;
	struct berth_stmt *st = ls_prep(ls,
					"SELECT 1 FROM layers WHERE driver = ?1 AND cache_id = ?2 UNION ALL "
					"SELECT 1 FROM layer_rw WHERE driver = ?1 AND (id = ?2 OR init_id = ?2)",
					NULL);
	if (!st)
		return true; /* when in doubt, keep */
	berth_stmt_bind_text(st, 2, id);
	int rc = berth_stmt_step(st, NULL);
	berth_stmt_finalize(st);
	return rc != 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The ids ls_id_referenced answers true for, sorted (*n of them); NULL on
 * error. */
static char **referenced_ids(struct berth_layer_store *ls, size_t *n)
{
	struct berth_stmt *st = ls_prep(ls,
					"SELECT cache_id FROM layers WHERE driver = ?1 UNION "
					"SELECT id FROM layer_rw WHERE driver = ?1 UNION "
					"SELECT init_id FROM layer_rw WHERE driver = ?1",
					NULL);
	if (!st)
		return NULL;
	size_t len = 0, cap = 64;
	char **v = calloc(cap + 1, sizeof(*v));
	int rc = 0;
	while (v && (rc = berth_stmt_step(st, NULL)) == 1) {
		const char *id = berth_stmt_text(st, 0);
		if (!id || !*id)
			continue;
		if (len == cap) {
			char **nv = realloc(v, (cap * 2 + 1) * sizeof(*v));
			if (!nv) {
				rc = -1;
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[len] = strdup(id);
		v[len + 1] = NULL;
		if (!v[len++]) {
			rc = -1;
			break;
		}
	}
	berth_stmt_finalize(st);
	if (!v || rc < 0) {
		berth_strv_free(v);
		return NULL;
	}
	*n = len;
	qsort(v, len, sizeof(*v), cmp_str);
	return v;
}

static bool strv_sorted_has(char **v, size_t n, const char *s)
{
	return bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Undo interrupted registrations. */
static int sweep_pending(struct berth_layer_store *ls, struct berth_error *err)
{
	char **tmp_ids = NULL, **parents = NULL;
	struct berth_stmt *st = ls_prep(ls, "SELECT tmp_id, parent FROM layer_pending WHERE driver = ?1", err);
	if (!st)
		return -1;
	while (berth_stmt_step(st, NULL) == 1) {
		berth_strv_push(&tmp_ids, berth_stmt_text(st, 0));
		berth_strv_push(&parents, berth_stmt_text(st, 1));
	}
	berth_stmt_finalize(st);
	int rc = 0;
	char **gone = NULL;
	for (size_t i = 0; tmp_ids && tmp_ids[i] && rc == 0; i++) {
		if (ls_tx_begin(ls, err) < 0) {
			rc = -1;
			break;
		}
		struct berth_stmt *d = ls_prep(ls, "DELETE FROM layer_pending WHERE driver = ?1 AND tmp_id = ?2", err);
		if (d) {
			berth_stmt_bind_text(d, 2, tmp_ids[i]);
			rc = step_done(ls, d, err);
		} else {
			rc = -1;
		}
		if (rc == 0 && *parents[i]) {
			struct berth_error e2 = {0};
			if (ls_release_locked(ls, parents[i], &gone, NULL, &e2) < 0 && e2.kind != BERTH_E_NOT_FOUND)
				rc = berth_err(err, e2.kind, "%s", e2.msg);
		}
		if (rc == 0)
			rc = ls_tx_commit(ls, err);
		else
			ls_tx_rollback(ls);
	}
	berth_strv_free(tmp_ids);
	berth_strv_free(parents);
	for (size_t i = 0; gone && gone[i]; i++)
		ls_remove_now(ls, gone[i]);
	berth_strv_free(gone);
	return rc;
}

/* Remove temp and orphaned layer dirs. An image's shared init layer that no
 * container row names goes too: one that a crash left half made is among
 * them (a row names it only once it was whole). The next container makes
 * it again. */
void berth_layer_store_sweep(struct berth_layer_store *ls)
{
	/* every id the records name, read once (a query per directory made
	 * opening a store of 1,000 containers take seconds) */
	size_t nref = 0;
	char **refs = referenced_ids(ls, &nref);
	if (!refs)
		return; /* when in doubt, keep */
	char **ids = ls->drv->ops->list(ls->drv);
	for (size_t i = 0; ids && ids[i]; i++)
		if (berth_str_has_prefix(ids[i], "tmp-") || !strv_sorted_has(refs, nref, ids[i]))
			ls_remove_now(ls, ids[i]);
	berth_strv_free(ids);
	DIR *dir = opendir(ls->meta_dir);
	struct dirent *e;
	char **stale = NULL;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		if (berth_str_has_prefix(e->d_name, "tmp-") || !strv_sorted_has(refs, nref, e->d_name))
			berth_strv_push(&stale, e->d_name);
	}
	berth_strv_free(refs);
	if (dir)
		closedir(dir);
	for (size_t i = 0; stale && stale[i]; i++)
		ls_remove_now(ls, stale[i]);
	berth_strv_free(stale);
}

struct berth_layer_store *berth_layer_store_open(const char *data_root, const char *driver, struct berth_db *db,
						 struct berth_error *err)
{
	struct berth_layer_store *ls = berth_layer_store_open_unswept(data_root, driver, db, err);
	if (ls)
		berth_layer_store_sweep(ls);
	return ls;
}

struct berth_layer_store *berth_layer_store_open_unswept(const char *data_root, const char *driver, struct berth_db *db,
							 struct berth_error *err)
{
	if (!data_root || !db) {
		berth_err(err, BERTH_E_INVALID, "layer store: no data root or database");
		return NULL;
	}
	struct berth_layer_store *ls = calloc(1, sizeof(*ls));
	if (!ls) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ls->lock, NULL);
	pthread_mutex_init(&ls->init_lock, NULL);
	for (size_t i = 0; i < LS_ID_LOCKS; i++)
		pthread_mutex_init(&ls->id_locks[i], NULL);
	/* the shared connection: transactions hold its writer lock (metadata/db.h) */
	ls->db = db;
	ls->data_root = strdup(data_root);
	if (!ls->data_root || berth_mkdir_p(data_root, 0710, err) < 0)
		goto fail;
	ls->drv = berth_graph_driver_open(data_root, driver, err);
	if (!ls->drv)
		goto fail;
	ls->meta_dir = berth_strdup_printf("%s/layerdb/%s", data_root, ls->drv->ops->name);
	if (!ls->meta_dir || berth_mkdir_p(ls->meta_dir, 0700, err) < 0)
		goto fail;
	if (ls_exec(ls, schema, err) < 0 || sweep_pending(ls, err) < 0)
		goto fail;
	return ls;
fail:
	berth_layer_store_close(ls);
	return NULL;
}

int berth_layer_store_set_idmap(struct berth_layer_store *ls, const struct berth_idmap *m, struct berth_error *err)
{
	if (!berth_idmap_enabled(m))
		return 0;
	ls->drv->idmap = m;
	/* vfs and btrfs keep their layers in <home>/<layer_subdir> */
	const char *lsub = ls->drv->ops->layer_subdir;
	cleanup_free char *sub = lsub ? berth_strdup_printf("%s/%s", ls->drv->home, lsub) : NULL;
	if (berth_idmap_share_dir(m, ls->drv->data_root, err) < 0 || berth_idmap_share_dir(m, ls->drv->home, err) < 0)
		return -1;
	struct stat st;
	if (sub && stat(sub, &st) == 0 && berth_idmap_share_dir(m, sub, err) < 0)
		return -1;
	return 0;
}

void berth_layer_store_close(struct berth_layer_store *ls)
{
	if (!ls)
		return;
	/* Mounts stay: containers may still run (live restore). */
	for (struct ls_mount *m = ls->mounts, *n; m; m = n) {
		n = m->next;
		free(m->id);
		free(m->path);
		free(m);
	}
	for (struct ls_pin *p = ls->pins, *n; p; p = n) {
		n = p->next;
		free(p->id);
		free(p);
	}
	berth_graph_driver_close(ls->drv);
	free(ls->meta_dir);
	free(ls->data_root);
	pthread_mutex_destroy(&ls->lock);
	pthread_mutex_destroy(&ls->init_lock);
	for (size_t i = 0; i < LS_ID_LOCKS; i++)
		pthread_mutex_destroy(&ls->id_locks[i]);
	free(ls);
}

const char *berth_layer_store_driver_name(struct berth_layer_store *ls) { return ls->drv->ops->name; }

json_t *berth_layer_store_driver_status(struct berth_layer_store *ls)
{
	pthread_mutex_lock(&ls->lock);
	json_t *s = ls->drv->ops->status(ls->drv);
	pthread_mutex_unlock(&ls->lock);
	return s;
}

void berth_layer_chain_id(const char *parent_chain, const char *diff_id, char out[BERTH_DIGEST_LEN + 1])
{
	if (!parent_chain || !*parent_chain) {
		snprintf(out, BERTH_DIGEST_LEN + 1, "%s", diff_id);
		return;
	}
	char buf[2 * BERTH_DIGEST_LEN + 2];
	int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
	berth_sha256_digest(buf, (size_t)n, out);
}

static void fill_info(const struct ls_row *r, struct berth_layer_info *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	snprintf(out->chain_id, sizeof(out->chain_id), "%s", r->chain_id);
	snprintf(out->diff_id, sizeof(out->diff_id), "%s", r->diff_id);
	snprintf(out->parent, sizeof(out->parent), "%s", r->parent);
	out->size = r->size;
	out->refcount = r->refcount;
	out->depth = r->depth;
}

/* ---- register ---- */

static int pending_add(struct berth_layer_store *ls, const char *tmp_id, const char *parent, struct berth_error *err)
{
	if (ls_tx_begin(ls, err) < 0)
		return -1;
	if (*parent && ls_ref_locked(ls, parent, 1, err) < 0)
		goto fail;
	struct berth_stmt *st =
		ls_prep(ls, "INSERT INTO layer_pending (driver, tmp_id, parent, created) VALUES (?1, ?2, ?3, ?4)", err);
	if (!st)
		goto fail;
	berth_stmt_bind_text(st, 2, tmp_id);
	berth_stmt_bind_text(st, 3, parent);
	berth_stmt_bind_int64(st, 4, berth_now_ns() / 1000000000LL);
	if (step_done(ls, st, err) < 0)
		goto fail;
	return ls_tx_commit(ls, err);
fail:
	ls_tx_rollback(ls);
	return -1;
}

static int pending_del(struct berth_layer_store *ls, const char *tmp_id, struct berth_error *err)
{
	struct berth_stmt *st = ls_prep(ls, "DELETE FROM layer_pending WHERE driver = ?1 AND tmp_id = ?2", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 2, tmp_id);
	return step_done(ls, st, err);
}

/* Registration failed after pending_add: drop everything it made. */
static void register_abort(struct berth_layer_store *ls, const char *tmp_id, const char *parent)
{
	struct berth_error e = {0};
	char **gone = NULL, **now = NULL;
	ls_remove_now(ls, tmp_id); /* ours alone: no lock needed */
	pthread_mutex_lock(&ls->lock);
	if (ls_tx_begin(ls, &e) == 0) {
		if (pending_del(ls, tmp_id, &e) == 0 &&
		    (!*parent || ls_release_locked(ls, parent, &gone, NULL, &e) == 0))
			ls_tx_commit(ls, &e);
		else
			ls_tx_rollback(ls);
	}
	ls_claim_all(ls, gone, &now);
	pthread_mutex_unlock(&ls->lock);
	berth_strv_free(gone);
	ls_remove_all_unlocked(ls, now);
}

/* Under the lock: make the staged layer visible as chain (or reuse an existing one). */
static int register_finish(struct berth_layer_store *ls, const char *tmp_id, const char *parent,
			   const struct berth_tar_apply_result *res, const char *chain, int parent_depth,
			   struct berth_layer_info *out, bool *reused, struct berth_error *err)
{
	struct ls_row r;
	int found = ls_row_get(ls, chain, &r, err);
	if (found < 0)
		return -1;
	if (found) {
		if (ls_tx_begin(ls, err) < 0)
			return -1;
		if (ls_ref_locked(ls, chain, 1, err) < 0 || (*parent && ls_ref_locked(ls, parent, -1, err) < 0) ||
		    pending_del(ls, tmp_id, err) < 0) {
			ls_tx_rollback(ls);
			return -1;
		}
		if (ls_tx_commit(ls, err) < 0)
			return -1;
		r.refcount++;
		fill_info(&r, out);
		*reused = true;
		return 0;
	}
	const char *hex = berth_digest_hex(chain);
	cleanup_free char *meta_from = berth_strdup_printf("%s/%s", ls->meta_dir, tmp_id);
	cleanup_free char *meta_to = berth_strdup_printf("%s/%s", ls->meta_dir, hex);
	if (!meta_from || !meta_to)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct ls_pin *pin = find_pin(ls, hex);
	if (pin && pin->doomed)
		return berth_err(err, BERTH_E_CONFLICT, "layer %s is being removed, try again", chain);
	ls_remove_now(ls, hex); /* an orphan of a crash, if any: not in the table */
	if (ls->drv->ops->commit(ls->drv, tmp_id, hex, err) < 0)
		return -1;
	if (rename(meta_from, meta_to) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "rename %s", meta_from);
		ls_remove_now(ls, hex);
		return -1;
	}
	if (ls_tx_begin(ls, err) < 0)
		goto undo;
	struct berth_stmt *st =
		ls_prep(ls,
			"INSERT INTO layers (driver, chain_id, diff_id, parent, cache_id, size, tar_size,"
			" refcount, depth, exact, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10)",
			err);
	if (!st) {
		ls_tx_rollback(ls);
		goto undo;
	}
	berth_stmt_bind_text(st, 2, chain);
	berth_stmt_bind_text(st, 3, res->diff_id);
	berth_stmt_bind_text(st, 4, parent);
	berth_stmt_bind_text(st, 5, hex);
	berth_stmt_bind_int64(st, 6, res->size);
	berth_stmt_bind_int64(st, 7, res->tar_size);
	berth_stmt_bind_int64(st, 8, parent_depth + 1);
	berth_stmt_bind_int64(st, 9, res->exact_record ? 1 : 0);
	berth_stmt_bind_int64(st, 10, berth_now_ns() / 1000000000LL);
	if (step_done(ls, st, err) < 0 || pending_del(ls, tmp_id, err) < 0) {
		ls_tx_rollback(ls);
		goto undo;
	}
	if (ls_tx_commit(ls, err) < 0)
		goto undo;
	struct ls_row nr = {.size = res->size, .tar_size = res->tar_size, .refcount = 1, .depth = parent_depth + 1};
	snprintf(nr.chain_id, sizeof(nr.chain_id), "%s", chain);
	snprintf(nr.diff_id, sizeof(nr.diff_id), "%s", res->diff_id);
	snprintf(nr.parent, sizeof(nr.parent), "%s", parent);
	fill_info(&nr, out);
	*reused = false;
	return 0;
undo:
	ls_remove_now(ls, hex);
	return -1;
}

/* The layer becomes visible in the database only after its files are on
 * disk: its directory, the driver's files about it and its tar-split record
 * (none of them fsynced one by one: one syncfs per file system instead). */
static int sync_layer(struct berth_layer_store *ls, const char *tmp_id, struct berth_error *err)
{
	cleanup_free char *diff = ls->drv->ops->diff_path(ls->drv, tmp_id);
	cleanup_close int fd = diff ? open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0 || syncfs(fd) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "sync layer %s", tmp_id);
	cleanup_close int mfd = open(ls->meta_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat a, b;
	if (mfd < 0 || fstat(fd, &a) < 0 || fstat(mfd, &b) < 0 || (a.st_dev != b.st_dev && syncfs(mfd) < 0))
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "sync layer metadata %s", tmp_id);
	return 0;
}

int berth_layer_register(struct berth_layer_store *ls, const char *parent_chain, struct berth_reader *in,
			 const char *expected_diff_id, struct berth_layer_info *out, struct berth_error *err)
{
	const char *parent = parent_chain ? parent_chain : "";
	if (*parent && !berth_digest_valid(parent))
		return berth_err(err, BERTH_E_INVALID, "invalid parent layer ID \"%s\"", parent);
	if (expected_diff_id && !berth_digest_valid(expected_diff_id))
		return berth_err(err, BERTH_E_INVALID, "invalid diff ID \"%s\"", expected_diff_id);
	char rnd[65], tmp_id[40];
	berth_random_id(rnd);
	snprintf(tmp_id, sizeof(tmp_id), "tmp-%.32s", rnd);
	struct ls_row pr = {0};
	const char *parent_cache = NULL;

	pthread_mutex_lock(&ls->lock);
	if (*parent) {
		int found = ls_row_get(ls, parent, &pr, err);
		if (found <= 0) {
			pthread_mutex_unlock(&ls->lock);
			return found < 0 ? -1 : berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", parent);
		}
		if (pr.depth >= BERTH_MAX_LAYERS) {
			pthread_mutex_unlock(&ls->lock);
			return berth_err(err, BERTH_E_INVALID, "max depth exceeded");
		}
		parent_cache = pr.cache_id;
	}
	int rc = pending_add(ls, tmp_id, parent, err);
	pthread_mutex_unlock(&ls->lock);
	if (rc < 0)
		return -1;

	/* Extraction runs without the lock: tmp_id is ours, the parent is pinned by its reference. */
	struct berth_tar_apply_result res;
	cleanup_free char *meta = berth_strdup_printf("%s/%s", ls->meta_dir, tmp_id);
	cleanup_free char *ts = berth_strdup_printf("%s/%s/" TARSPLIT_NAME, ls->meta_dir, tmp_id);
	if (!meta || !ts) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (mkdir(meta, 0700) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", meta);
		goto fail;
	}
	if (ls->drv->ops->create(ls->drv, tmp_id, parent_cache, false, err) < 0)
		goto fail;
	struct berth_tar_apply_opts opts = {
		.whiteout = ls->drv->ops->whiteout, .tarsplit_path = ts, .idmap = ls->drv->idmap};
	if (ls->drv->ops->apply_diff(ls->drv, tmp_id, in, &opts, &res, err) < 0)
		goto fail;
	if (sync_layer(ls, tmp_id, err) < 0)
		goto fail;
	if (expected_diff_id && strcmp(expected_diff_id, res.diff_id) != 0) {
		berth_err(err, BERTH_E_INVALID, "layer content does not match its diff ID: expected %s, got %s",
			  expected_diff_id, res.diff_id);
		goto fail;
	}
	char chain[BERTH_DIGEST_LEN + 1];
	berth_layer_chain_id(parent, res.diff_id, chain);
	bool reused = false;
	pthread_mutex_lock(&ls->lock);
	rc = register_finish(ls, tmp_id, parent, &res, chain, pr.depth, out, &reused, err);
	pthread_mutex_unlock(&ls->lock);
	if (rc == 0 && reused)
		ls_remove_now(ls, tmp_id); /* the same layer was already there */
	if (rc == 0)
		return 0;
fail:
	register_abort(ls, tmp_id, parent);
	return -1;
}

/* ---- references ---- */

int berth_layer_ref(struct berth_layer_store *ls, const char *chain_id, struct berth_error *err)
{
	pthread_mutex_lock(&ls->lock);
	int rc = ls_ref_locked(ls, chain_id, 1, err);
	pthread_mutex_unlock(&ls->lock);
	return rc;
}

int berth_layer_release_list(struct berth_layer_store *ls, const char *chain_id, char ***removed_chains,
			     struct berth_error *err)
{
	char **gone = NULL, **chains = NULL, **now = NULL;
	pthread_mutex_lock(&ls->lock);
	int rc = ls_tx_begin(ls, err);
	if (rc == 0) {
		rc = ls_release_locked(ls, chain_id, &gone, &chains, err);
		if (rc == 0)
			rc = ls_tx_commit(ls, err);
		else
			ls_tx_rollback(ls);
	}
	if (rc == 0)
		ls_claim_all(ls, gone, &now);
	pthread_mutex_unlock(&ls->lock);
	berth_strv_free(gone);
	ls_remove_all_unlocked(ls, now);
	if (rc == 0 && removed_chains)
		*removed_chains = chains ? chains : calloc(1, sizeof(char *));
	else
		berth_strv_free(chains);
	return rc;
}

int berth_layer_release(struct berth_layer_store *ls, const char *chain_id, int *removed, struct berth_error *err)
{
	char **chains = NULL;
	int rc = berth_layer_release_list(ls, chain_id, &chains, err);
	if (rc == 0 && removed)
		*removed = (int)berth_strv_len(chains);
	berth_strv_free(chains);
	return rc;
}

int berth_layer_get(struct berth_layer_store *ls, const char *chain_id, struct berth_layer_info *out,
		    struct berth_error *err)
{
	struct ls_row r;
	pthread_mutex_lock(&ls->lock);
	int found = ls_row_get(ls, chain_id, &r, err);
	pthread_mutex_unlock(&ls->lock);
	if (found < 0)
		return -1;
	if (!found)
		return berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", chain_id);
	fill_info(&r, out);
	return 0;
}

int berth_layer_export(struct berth_layer_store *ls, const char *chain_id, struct berth_writer *out,
		       struct berth_error *err)
{
	struct ls_row r;
	pthread_mutex_lock(&ls->lock);
	int found = ls_row_get(ls, chain_id, &r, err);
	if (found > 0 && r.exact)
		ls_pin(ls, r.cache_id);
	pthread_mutex_unlock(&ls->lock);
	if (found < 0)
		return -1;
	if (!found)
		return berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", chain_id);
	if (!r.exact)
		return berth_err(err, BERTH_E_UNSUPPORTED,
				 "layer %s cannot be exported byte for byte: its tar replaced files it had written",
				 chain_id);
	cleanup_free char *ts = berth_strdup_printf("%s/%s/" TARSPLIT_NAME, ls->meta_dir, r.cache_id);
	cleanup_free char *diff = ls->drv->ops->diff_path(ls->drv, r.cache_id);
	int rc = -1;
	if (!ts || !diff) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	} else {
		cleanup_close int root = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", diff);
		else
			rc = berth_tarsplit_export(ts, root, r.diff_id, out, err);
	}
	pthread_mutex_lock(&ls->lock);
	bool remove = ls_unpin(ls, r.cache_id);
	pthread_mutex_unlock(&ls->lock);
	if (remove)
		ls_remove_unlocked(ls, r.cache_id);
	return rc;
}

int64_t berth_layer_store_total_size(struct berth_layer_store *ls)
{
	pthread_mutex_lock(&ls->lock);
	int64_t total = 0;
	struct berth_stmt *st = ls_prep(ls, "SELECT COALESCE(SUM(size), 0) FROM layers WHERE driver = ?1", NULL);
	if (st && berth_stmt_step(st, NULL) == 1)
		total = berth_stmt_int64(st, 0);
	berth_stmt_finalize(st);
	pthread_mutex_unlock(&ls->lock);
	return total;
}

json_t *berth_layer_graph_data(struct berth_layer_store *ls, const char *chain_id)
{
	struct ls_row r;
	json_t *m = NULL;
	pthread_mutex_lock(&ls->lock);
	if (ls_row_get(ls, chain_id, &r, NULL) == 1 && ls->drv->ops->metadata)
		m = ls->drv->ops->metadata(ls->drv, r.cache_id);
	pthread_mutex_unlock(&ls->lock);
	return m;
}
