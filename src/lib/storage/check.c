/* Layer store check: see check.h. */
#include "storage/check.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "metadata/db.h"
#include "storage/layer_store_int.h"

struct chk_layer {
	char chain[BERTH_DIGEST_LEN + 1];
	char parent[BERTH_DIGEST_LEN + 1];
	char cache[129];
	bool exact;
};

static void add_problem(json_t *problems, const char *type, const char *id, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_problem(json_t *problems, const char *type, const char *id, const char *action, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(
		problems, json_pack("{s:s, s:s, s:s, s:s}", "Type", type, "ID", id, "Message", msg, "Action", action));
}

static bool pinned(struct berth_layer_store *ls, const char *id)
{
	for (struct ls_pin *p = ls->pins; p; p = p->next)
		if (!strcmp(p->id, id))
			return true;
	return false;
}

static bool mounted_by_store(struct berth_layer_store *ls, const char *id)
{
	for (struct ls_mount *m = ls->mounts; m; m = m->next)
		if (!strcmp(m->id, id))
			return true;
	return false;
}

static bool pending(char **tmp, const char *id)
{
	for (size_t i = 0; tmp && tmp[i]; i++)
		if (!strcmp(tmp[i], id))
			return true;
	return false;
}

/* Layer rows (lock held). */
static int load_layers(struct berth_layer_store *ls, struct chk_layer **out, size_t *n, struct berth_error *err)
{
	struct berth_stmt *st = ls_prep(
		ls, "SELECT chain_id, parent, cache_id, exact FROM layers WHERE driver = ?1 ORDER BY depth", err);
	if (!st)
		return -1;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int r;
	while ((r = berth_stmt_step(st, err)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			struct chk_layer *nl = realloc(*out, cap * sizeof(**out));
			if (!nl) {
				berth_stmt_finalize(st);
				return berth_err(err, BERTH_E_INTERNAL, "out of memory");
			}
			*out = nl;
		}
		struct chk_layer *l = &(*out)[(*n)++];
		const char *c0 = berth_stmt_text(st, 0), *c1 = berth_stmt_text(st, 1), *c2 = berth_stmt_text(st, 2);
		snprintf(l->chain, sizeof(l->chain), "%s", c0 ? c0 : "");
		snprintf(l->parent, sizeof(l->parent), "%s", c1 ? c1 : "");
		snprintf(l->cache, sizeof(l->cache), "%s", c2 ? c2 : "");
		l->exact = berth_stmt_int(st, 3) != 0;
	}
	berth_stmt_finalize(st);
	return r < 0 ? -1 : 0;
}

static bool has_chain(const struct chk_layer *ls, size_t n, const char *chain)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ls[i].chain, chain))
			return true;
	return false;
}

/* Mount points below home (from this process's mount table). */
static char **mounts_below(const char *home)
{
	char **v = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	size_t hl = strlen(home);
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (strncmp(mp, home, hl) == 0 && mp[hl] == '/')
			berth_strv_push(&v, mp);
	}
	fclose(f);
	return v;
}

/* Driver id of a mount point below home: the first component under it (btrfs: under subvolumes/). */
static char *mount_owner(const char *home, const char *mp)
{
	const char *rel = mp + strlen(home) + 1;
	if (berth_str_has_prefix(rel, "subvolumes/"))
		rel += strlen("subvolumes/");
	const char *slash = strchr(rel, '/');
	return slash ? strndup(rel, (size_t)(slash - rel)) : strdup(rel);
}

static int scan_locked(struct berth_layer_store *ls, bool repair, struct berth_store_check *out,
		       struct chk_layer *layers, size_t nlayers, struct berth_error *err)
{
	const struct berth_graph_driver_ops *ops = ls->drv->ops;
	json_t *P = out->problems;
	/* pending registrations are in flight: their tmp ids are not orphans */
	char **tmp = NULL;
	struct berth_stmt *st = ls_prep(ls, "SELECT tmp_id FROM layer_pending WHERE driver = ?1", err);
	if (!st)
		return -1;
	while (berth_stmt_step(st, NULL) == 1)
		berth_strv_push(&tmp, berth_stmt_text(st, 0));
	berth_stmt_finalize(st);

	for (size_t i = 0; i < nlayers; i++) {
		struct chk_layer *l = &layers[i];
		if (*l->parent && !has_chain(layers, nlayers, l->parent)) {
			add_problem(P, "broken-chain", l->chain, repair ? "quarantined" : "would quarantine",
				    "layer's parent %s does not exist", l->parent);
			berth_strv_push(&out->bad_chains, l->chain);
		} else if (!ops->exists(ls->drv, l->cache)) {
			add_problem(P, "missing-layer", l->chain, repair ? "quarantined" : "would quarantine",
				    "layer directory %s is missing", l->cache);
			berth_strv_push(&out->bad_chains, l->chain);
		}
	}

	st = ls_prep(ls, "SELECT id, chain_id, init_id FROM layer_rw WHERE driver = ?1", err);
	if (!st) {
		berth_strv_free(tmp);
		return -1;
	}
	while (berth_stmt_step(st, NULL) == 1) {
		const char *id = berth_stmt_text(st, 0), *chain = berth_stmt_text(st, 1),
			   *init = berth_stmt_text(st, 2);
		out->rw_layers++;
		if (!id)
			continue;
		if (!ops->exists(ls->drv, id) || (init && *init && !ops->exists(ls->drv, init)))
			add_problem(P, "missing-rw-layer", id, "none: remove the container",
				    "container layer directory is missing");
		else if (chain && *chain && !has_chain(layers, nlayers, chain))
			add_problem(P, "missing-rw-layer", id, "none: remove the container",
				    "container layer's image layer %s does not exist", chain);
	}
	berth_stmt_finalize(st);

	/* driver directories nobody owns */
	char **ids = ops->list(ls->drv);
	for (size_t i = 0; ids && ids[i]; i++) {
		if (pending(tmp, ids[i]) || pinned(ls, ids[i]) || ls_id_referenced(ls, ids[i]))
			continue;
		add_problem(P, "orphan-layer", ids[i], repair ? "removed" : "would remove",
			    "driver directory belongs to no layer and no container");
		if (repair)
			ls_remove_now(ls, ids[i]);
	}
	berth_strv_free(ids);

	/* tar-split metadata nobody owns */
	DIR *dir = opendir(ls->meta_dir);
	struct dirent *e;
	char **stale = NULL;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || pending(tmp, e->d_name) || pinned(ls, e->d_name))
			continue;
		if (!ls_id_referenced(ls, e->d_name))
			berth_strv_push(&stale, e->d_name);
	}
	if (dir)
		closedir(dir);
	for (size_t i = 0; stale && stale[i]; i++) {
		add_problem(P, "orphan-metadata", stale[i], repair ? "removed" : "would remove",
			    "layer metadata belongs to no layer");
		if (repair) {
			cleanup_free char *m = berth_strdup_printf("%s/%s", ls->meta_dir, stale[i]);
			if (m)
				berth_rm_rf(m, NULL);
		}
	}
	berth_strv_free(stale);

	/* mounts below the driver's home the store did not make (or forgot) */
	char **mps = mounts_below(ls->drv->home);
	for (size_t i = 0; mps && mps[i]; i++) {
		cleanup_free char *owner = mount_owner(ls->drv->home, mps[i]);
		if (!owner || mounted_by_store(ls, owner))
			continue;
		add_problem(P, "stale-mount", mps[i], repair ? "unmounted" : "would unmount",
			    "mount of %s that no running container uses", owner);
		if (repair)
			umount2(mps[i], MNT_DETACH);
	}
	berth_strv_free(mps);
	berth_strv_free(tmp);
	return 0;
}

static int null_write(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(int64_t *)ctx += (int64_t)len;
	return 0;
}

int berth_layer_store_check(struct berth_layer_store *ls, bool repair, struct berth_store_check *out,
			    struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	out->problems = json_array();
	if (!out->problems)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct chk_layer *layers = NULL;
	size_t n = 0;
	/* every id lock too: a mount in progress is not in ls->mounts yet */
	for (size_t i = 0; i < LS_ID_LOCKS; i++)
		pthread_mutex_lock(&ls->id_locks[i]);
	pthread_mutex_lock(&ls->lock);
	int rc = load_layers(ls, &layers, &n, err);
	if (rc == 0)
		rc = scan_locked(ls, repair, out, layers, n, err);
	pthread_mutex_unlock(&ls->lock);
	for (size_t i = LS_ID_LOCKS; i-- > 0;)
		pthread_mutex_unlock(&ls->id_locks[i]);
	if (rc < 0) {
		free(layers);
		berth_store_check_free(out);
		return -1;
	}
	out->layers = (int64_t)n;
	/* re-hash every present layer through its tar-split record (no lock:
	 * berth_layer_export pins the layer while it reads) */
	for (size_t i = 0; i < n; i++) {
		struct chk_layer *l = &layers[i];
		if (pending(out->bad_chains, l->chain))
			continue;
		if (!l->exact) {
			out->unverifiable++;
			continue;
		}
		int64_t bytes = 0;
		struct berth_writer w = {.write = null_write, .ctx = &bytes};
		struct berth_error e = {0};
		if (berth_layer_export(ls, l->chain, &w, &e) < 0) {
			struct berth_layer_info still;
			if (berth_layer_get(ls, l->chain, &still, NULL) < 0)
				continue; /* removed meanwhile */
			add_problem(out->problems, "corrupt-layer", l->chain,
				    repair ? "quarantined" : "would quarantine", "%s", e.msg);
			berth_strv_push(&out->bad_chains, l->chain);
		} else {
			out->verified++;
		}
	}
	free(layers);
	if (!out->bad_chains)
		out->bad_chains = calloc(1, sizeof(char *));
	return 0;
}

void berth_store_check_free(struct berth_store_check *c)
{
	json_decref(c->problems);
	c->problems = NULL;
	berth_strv_free(c->bad_chains);
	c->bad_chains = NULL;
}

char **berth_layer_ancestry(struct berth_layer_store *ls, const char *chain_id)
{
	char **v = calloc(1, sizeof(char *));
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", chain_id ? chain_id : "");
	for (int depth = 0; v && *cur && depth <= BERTH_MAX_LAYERS; depth++) {
		berth_strv_push(&v, cur);
		struct berth_layer_info info;
		if (berth_layer_get(ls, cur, &info, NULL) < 0)
			break;
		snprintf(cur, sizeof(cur), "%s", info.parent);
	}
	return v;
}

char **berth_rwlayer_ids(struct berth_layer_store *ls)
{
	char **v = calloc(1, sizeof(char *));
	pthread_mutex_lock(&ls->lock);
	struct berth_stmt *st = ls_prep(ls, "SELECT id FROM layer_rw WHERE driver = ?1 ORDER BY id", NULL);
	while (st && v && berth_stmt_step(st, NULL) == 1)
		berth_strv_push(&v, berth_stmt_text(st, 0));
	berth_stmt_finalize(st);
	pthread_mutex_unlock(&ls->lock);
	return v;
}
