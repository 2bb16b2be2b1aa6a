/* A path's type in an image layer's filesystem, read from the layers'
 * directories (no container, no mount): see berth_layer_path_mode. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/layer_store_int.h"

#define LOOKUP_MAX_LINKS 40 /* the kernel's limit of symlinks in one resolution */

/* the layers' directories, top first; each pinned until lookup_close */
struct lookup {
	struct berth_layer_store *ls;
	char **ids;
	int *fds;
	size_t n;
	bool overlay; /* layers stacked with overlay whiteouts; else the top one is the whole root */
};

static void lookup_close(struct lookup *lk)
{
	for (size_t i = 0; i < lk->n; i++)
		if (lk->fds[i] >= 0)
			close(lk->fds[i]);
	char **now = NULL;
	pthread_mutex_lock(&lk->ls->lock);
	for (size_t i = 0; lk->ids && lk->ids[i]; i++)
		if (ls_unpin(lk->ls, lk->ids[i]))
			berth_strv_push(&now, lk->ids[i]);
	pthread_mutex_unlock(&lk->ls->lock);
	for (size_t i = 0; now && now[i]; i++)
		ls_remove_unlocked(lk->ls, now[i]);
	berth_strv_free(now);
	berth_strv_free(lk->ids);
	free(lk->fds);
}

static int lookup_open(struct berth_layer_store *ls, const char *chain_id, struct lookup *lk, struct berth_error *err)
{
	*lk = (struct lookup){.ls = ls, .overlay = ls->drv->ops->whiteout == BERTH_WHITEOUT_OVERLAY};
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", chain_id);
	int rc = 0;
	pthread_mutex_lock(&ls->lock);
	while (*cur) {
		struct ls_row r;
		int found = ls_row_get(ls, cur, &r, err);
		if (found <= 0) {
			rc = found < 0 ? -1 : berth_err(err, BERTH_E_NOT_FOUND, "layer %s does not exist", cur);
			break;
		}
		ls_pin(ls, r.cache_id);
		berth_strv_push(&lk->ids, r.cache_id);
		if (!lk->overlay)
			break; /* a full-copy layer holds the whole tree */
		snprintf(cur, sizeof(cur), "%s", r.parent);
	}
	pthread_mutex_unlock(&ls->lock);
	size_t n = berth_strv_len(lk->ids);
	lk->fds = calloc(n ? n : 1, sizeof(int));
	if (!lk->fds) {
		lookup_close(lk);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		cleanup_free char *dir = ls->drv->ops->diff_path(ls->drv, lk->ids[i]);
		lk->fds[i] = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		lk->n++;
		if (lk->fds[i] < 0)
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "open layer %s", lk->ids[i]);
	}
	if (rc < 0)
		lookup_close(lk);
	return rc;
}

/* One directory of the merged view: its fd in each layer that contributes
 * to it, top first. */
struct mdir {
	int *fds;
	size_t n;
};

static void mdir_clear(struct mdir *m)
{
	for (size_t i = 0; i < m->n; i++)
		close(m->fds[i]);
	m->n = 0;
}

/* Look name up in the merged directory m as overlayfs does: the topmost
 * layer that has it decides; a whiteout hides it; a directory merges with
 * the directories below it down to an opaque one or a non-directory.
 * 1 found (*st, *at: the index in m of the layer that has it; a
 * directory's layers in *sub), 0 missing, -1 error. */
static int merged_lookup(const struct mdir *m, const char *name, struct stat *st, size_t *at, struct mdir *sub)
{
	sub->n = 0;
	bool have = false;
	for (size_t i = 0; i < m->n; i++) {
		struct stat s;
		if (fstatat(m->fds[i], name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return -1;
		}
		if (berth_ovl_is_whiteout(&s) || (have && !S_ISDIR(s.st_mode)))
			break;
		if (!have) {
			*st = s;
			*at = i;
			have = true;
		}
		if (!S_ISDIR(s.st_mode))
			break;
		int fd = openat(m->fds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		sub->fds[sub->n++] = fd;
		if (berth_ovl_is_opaque(m->fds[i], name))
			break;
	}
	return have ? 1 : 0;
}

/* Resolve path component by component, following symlinks inside the
 * root (as a chroot would), ".." never above it. *fd (when fd is not
 * NULL): the regular file found, opened for reading, else -1. */
static int overlay_mode(struct lookup *lk, const char *path, mode_t *mode, int *fd, struct berth_error *err)
{
	struct mdir cur = {.fds = calloc(lk->n, sizeof(int))}, next = {.fds = calloc(lk->n, sizeof(int))};
	char **stack = NULL; /* the resolved components of cur */
	cleanup_free char *rest = strdup(path);
	int rc = -1, links = 0;
	if (!cur.fds || !next.fds || !rest) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
restart:
	mdir_clear(&cur);
	for (size_t i = 0; i < lk->n; i++) {
		int fd = dup(lk->fds[i]);
		if (fd < 0) {
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "dup");
			goto out;
		}
		cur.fds[cur.n++] = fd;
	}
	/* walk the components of stack again (after ".."), then those of rest */
	{
		char **again = stack;
		stack = NULL;
		struct berth_buf p = {0};
		for (size_t i = 0; again && again[i]; i++)
			berth_buf_printf(&p, "%s/", again[i]);
		berth_buf_printf(&p, "%s", rest);
		berth_strv_free(again);
		free(rest);
		rest = strdup(berth_buf_str(&p));
		berth_buf_free(&p);
		if (!rest) {
			berth_err(err, BERTH_E_INTERNAL, "out of memory");
			goto out;
		}
	}
	*mode = S_IFDIR | 0755; /* the root */
	char *s = rest;
	while (*s) {
		char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);
		char *after = slash ? slash + 1 : s + len;
		if (len == 0 || (len == 1 && s[0] == '.')) {
			s = after;
			continue;
		}
		char name[256];
		if (len >= sizeof(name)) {
			rc = 0;
			goto out;
		}
		memcpy(name, s, len);
		name[len] = 0;
		if (!strcmp(name, "..")) {
			size_t k = berth_strv_len(stack);
			if (k)
				free(stack[k - 1]), stack[k - 1] = NULL;
			memmove(rest, after, strlen(after) + 1);
			goto restart;
		}
		if (!S_ISDIR(*mode)) { /* a component below a file */
			rc = 0;
			goto out;
		}
		struct stat st;
		size_t at = 0;
		int f = merged_lookup(&cur, name, &st, &at, &next);
		if (f < 0) {
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "look up %s", name);
			mdir_clear(&next);
			goto out;
		}
		if (f == 0) {
			rc = 0;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t tl = -1;
			for (size_t i = 0; i < cur.n && tl < 0; i++)
				tl = readlinkat(cur.fds[i], name, target, sizeof(target) - 1);
			if (tl < 0 || ++links > LOOKUP_MAX_LINKS) {
				rc = 0;
				goto out;
			}
			target[tl] = 0;
			cleanup_free char *nrest = berth_strdup_printf("%s/%s", target, after);
			if (!nrest) {
				berth_err(err, BERTH_E_INTERNAL, "out of memory");
				goto out;
			}
			free(rest);
			rest = steal_ptr(nrest);
			if (target[0] == '/') {
				berth_strv_free(stack);
				stack = NULL;
			}
			goto restart;
		}
		*mode = st.st_mode;
		if (fd && S_ISREG(st.st_mode)) {
			if (*fd >= 0)
				close(*fd);
			*fd = openat(cur.fds[at], name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (*fd < 0) {
				berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", name);
				goto out;
			}
		}
		berth_strv_push(&stack, name);
		mdir_clear(&cur);
		struct mdir t = cur;
		cur = next;
		next = t;
		s = after;
	}
	rc = 1;
out:
	if (fd && *fd >= 0 && (rc != 1 || !S_ISREG(*mode))) {
		close(*fd);
		*fd = -1;
	}
	mdir_clear(&cur);
	mdir_clear(&next);
	free(cur.fds);
	free(next.fds);
	berth_strv_free(stack);
	return rc;
}

static int path_lookup(struct berth_layer_store *ls, const char *chain_id, const char *path, mode_t *mode, int *fd,
		       struct berth_error *err)
{
	struct lookup lk;
	if (fd)
		*fd = -1;
	if (lookup_open(ls, chain_id, &lk, err) < 0)
		return -1;
	int rc;
	if (lk.overlay) {
		rc = overlay_mode(&lk, path, mode, fd, err);
	} else {
		/* the top layer is the whole tree: the kernel resolves inside it */
		const char *rel = path;
		while (*rel == '/')
			rel++;
		cleanup_close int pfd = berth_ar_open(lk.fds[0], rel, O_PATH, BERTH_UNTAR_IN_ROOT);
		struct stat st;
		if (pfd >= 0 && fstat(pfd, &st) == 0) {
			*mode = st.st_mode;
			rc = 1;
			if (fd && S_ISREG(st.st_mode)) {
				char proc[64];
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
				*fd = open(proc, O_RDONLY | O_CLOEXEC);
				if (*fd < 0)
					rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", path);
			}
		} else if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
			rc = 0;
		} else {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "look up %s", path);
		}
	}
	lookup_close(&lk);
	return rc;
}

int berth_layer_path_mode(struct berth_layer_store *ls, const char *chain_id, const char *path, mode_t *mode,
			  struct berth_error *err)
{
	return path_lookup(ls, chain_id, path, mode, NULL, err);
}

int berth_layer_open_file(struct berth_layer_store *ls, const char *chain_id, const char *path, int *fd,
			  struct berth_error *err)
{
	mode_t mode = 0;
	int rc = path_lookup(ls, chain_id, path, &mode, fd, err);
	if (rc == 1 && !S_ISREG(mode))
		rc = 0;
	return rc;
}

int ls_init_make(int dfd, const struct ls_init_entry *x, const struct berth_idmap *idmap, struct berth_error *err)
{
	int r = 0;
	if (x->type == 'd') {
		r = mkdirat(dfd, x->base, 0755);
	} else if (x->type == 'f') {
		int fd = openat(dfd, x->base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
		if (fd >= 0)
			close(fd);
		r = fd < 0 ? -1 : 0;
	} else {
		r = symlinkat(x->target, dfd, x->base);
	}
	if (r < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "init layer: create %s/%s", x->dir, x->base);
	/* --userns-remap: owned by the container's root, as docker's initlayer */
	if (berth_idmap_enabled(idmap) &&
	    fchownat(dfd, x->base, berth_idmap_root_uid(idmap), berth_idmap_root_gid(idmap), AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "init layer: chown %s/%s", x->dir, x->base);
	return 0;
}

/* The kernel's copy-up of directory name of layer lfd into upper: owner,
 * mode, xattrs but overlayfs's own, times. */
static int copy_up_dir(int lfd, const char *name, const struct stat *st, int upper)
{
	if (mkdirat(upper, name, 0700) < 0)
		return -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (fchownat(upper, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(upper, name, st->st_mode & 07777, 0) < 0 ||
	    berth_copy_xattrs_at_except(lfd, name, upper, name, "trusted.overlay.") < 0 ||
	    utimensat(upper, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return 0;
}

/* The directory e->dir of the merged view (upper over the layers in root),
 * made in upper when needed: the upper's fd, -2 when it is no directory
 * (the entry is skipped), -1 error. *dm: its layers, top first. */
static int init_dir(const struct mdir *root, int upper, const char *dir, struct mdir *dm, bool need_upper)
{
	struct stat st;
	size_t at = 0;
	int f = merged_lookup(root, dir, &st, &at, dm);
	if (f < 0)
		return -1;
	if (f == 1 && !S_ISDIR(st.st_mode))
		return -2;
	if (!need_upper)
		return -3;
	if (f == 0) { /* as berth_open_dir_beneath makes a missing one */
		if (mkdirat(upper, dir, 0755) < 0 || fchmodat(upper, dir, 0755, 0) < 0)
			return -1;
	} else if (at != 0 && copy_up_dir(root->fds[at], dir, &st, upper) < 0) {
		return -1;
	}
	return openat(upper, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int ls_init_overlay(struct berth_layer_store *ls, const char *chain_id, int upper, const struct ls_init_entry *e,
		    size_t n, const struct berth_idmap *idmap, struct berth_error *err)
{
	struct lookup lk;
	if (lookup_open(ls, chain_id, &lk, err) < 0)
		return -1;
	/* the upper on top: what an earlier entry made is seen by the next */
	struct mdir root = {.fds = calloc(lk.n + 1, sizeof(int))}, dm = {.fds = calloc(lk.n + 1, sizeof(int))},
		    bm = {.fds = calloc(lk.n + 1, sizeof(int))};
	int rc = 0;
	if (!root.fds || !dm.fds || !bm.fds) {
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= lk.n; i++) {
		int fd = dup(i == 0 ? upper : lk.fds[i - 1]);
		if (fd < 0) {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "dup");
			goto out;
		}
		root.fds[root.n++] = fd;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct ls_init_entry *x = &e[i];
		const struct mdir *in = &root;
		int dfd = -1;
		if (*x->dir) {
			int r = init_dir(&root, upper, x->dir, &dm, false);
			if (r == -2) {
				mdir_clear(&dm);
				continue;
			}
			if (r == -1) {
				rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "init layer: look up %s", x->dir);
				break;
			}
			in = &dm;
		}
		struct stat st;
		size_t at;
		int f = merged_lookup(in, x->base, &st, &at, &bm);
		mdir_clear(&bm);
		if (f != 0) {
			mdir_clear(&dm);
			if (f < 0) {
				rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "init layer: look up %s/%s", x->dir,
						   x->base);
				break;
			}
			continue; /* the image has it */
		}
		if (*x->dir) {
			mdir_clear(&dm);
			dfd = init_dir(&root, upper, x->dir, &dm, true);
			mdir_clear(&dm);
		} else {
			dfd = dup(upper);
		}
		if (dfd < 0)
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "init layer: %s", x->dir);
		else
			rc = ls_init_make(dfd, x, idmap, err);
		if (dfd >= 0)
			close(dfd);
	}
out:
	mdir_clear(&root);
	mdir_clear(&dm);
	mdir_clear(&bm);
	free(root.fds);
	free(dm.fds);
	free(bm.fds);
	lookup_close(&lk);
	return rc;
}
