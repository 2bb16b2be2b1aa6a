/* docker diff semantics (moby pkg/archive changes) and diff tarballs. */
#include "storage/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"
#include "storage/fsutil.h"

/* Sorted names in a directory (NULL-terminated), or NULL on error. */
static char **list_dir(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	char **v = calloc(1, sizeof(char *));
	struct dirent *e;
	while (v && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (berth_strv_push(&v, e->d_name) < 0) {
			berth_strv_free(v);
			v = NULL;
		}
	}
	closedir(d);
	return v;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char **sorted_names(int dirfd)
{
	char **v = list_dir(dirfd);
	if (v)
		qsort(v, berth_strv_len(v), sizeof(char *), cmp_names);
	return v;
}

static char *join_path(const char *dir, const char *name)
{
	return berth_strdup_printf("%s/%s", dir, name); /* dir "" gives "/name" */
}

static int add_change(json_t *arr, const char *path, int kind)
{
	return json_array_append_new(arr, json_pack("{s:s,s:i}", "Path", path, "Kind", kind));
}

static bool same_fs_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

/* lstat of abs path "/a/b" below root, never following symlinks. */
static int stat_below(int root_fd, const char *path, struct stat *st)
{
	cleanup_free char *dir = NULL;
	const char *base;
	if (berth_path_split(path + 1, &dir, &base) < 0)
		return -1;
	cleanup_close int dfd = berth_open_dir_beneath(root_fd, dir, false);
	if (dfd < 0)
		return -1;
	return fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW);
}

/* ---- overlay ---- */

struct ov_ctx {
	const int *lowers;
	size_t nlower;
	json_t *out;
	struct berth_strmap changed_dirs;
	struct berth_error *err;
};

static int ov_walk(struct ov_ctx *c, int dirfd, const char *rel)
{
	char **names = sorted_names(dirfd);
	if (!names)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "read directory %s", *rel ? rel : "/");
	int rc = 0;
	for (size_t i = 0; names[i] && rc == 0; i++) {
		cleanup_free char *path = join_path(rel, names[i]);
		struct stat st;
		if (!path || fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished while we looked: the container is running */
		int kind = BERTH_CHANGE_ADD;
		bool record = true;
		bool in_lower = false;
		struct stat lst;
		for (size_t l = 0; l < c->nlower; l++) {
			if (stat_below(c->lowers[l], path, &lst) == 0) {
				in_lower = true;
				break;
			}
		}
		if (berth_ovl_is_whiteout(&st) ||
		    (S_ISDIR(st.st_mode) && in_lower && berth_ovl_is_opaque(dirfd, names[i]))) {
			kind = BERTH_CHANGE_DELETE;
		} else if (in_lower) {
			if (S_ISDIR(lst.st_mode) && S_ISDIR(st.st_mode) && lst.st_size == st.st_size &&
			    lst.st_mode == st.st_mode && same_fs_time(lst.st_mtim, st.st_mtim))
				record = false;
			kind = BERTH_CHANGE_MODIFY;
		}
		if (record) {
			if (S_ISDIR(st.st_mode))
				berth_strmap_put(&c->changed_dirs, path, 1);
			if (kind != BERTH_CHANGE_MODIFY && *rel && !berth_strmap_get(&c->changed_dirs, rel, NULL)) {
				add_change(c->out, rel, BERTH_CHANGE_MODIFY);
				berth_strmap_put(&c->changed_dirs, rel, 1);
			}
			add_change(c->out, path, kind);
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				rc = ov_walk(c, sub, path);
				close(sub);
			}
		}
	}
	berth_strv_free(names);
	return rc;
}

int berth_changes_overlay(int upper_fd, const int *lower_fds, size_t nlower, json_t **out, struct berth_error *err)
{
	struct ov_ctx c = {.lowers = lower_fds, .nlower = nlower, .out = json_array(), .err = err};
	int rc = ov_walk(&c, upper_fd, "");
	berth_strmap_free(&c.changed_dirs);
	if (rc < 0) {
		json_decref(c.out);
		return -1;
	}
	*out = c.out;
	return 0;
}

/* ---- full trees (vfs) ---- */

struct dir_ctx {
	json_t *out;
	struct berth_error *err;
};

static bool caps_differ(int ofd, int nfd, const char *name)
{
	char a[256], b[256];
	ssize_t na = berth_lgetxattr_at(ofd, name, "security.capability", a, sizeof(a));
	ssize_t nb = berth_lgetxattr_at(nfd, name, "security.capability", b, sizeof(b));
	if (na < 0 && nb < 0)
		return false;
	return na != nb || memcmp(a, b, (size_t)na) != 0;
}

static bool stat_differs(const struct stat *o, const struct stat *n)
{
	if (o->st_mode != n->st_mode || o->st_uid != n->st_uid || o->st_gid != n->st_gid || o->st_rdev != n->st_rdev)
		return true;
	if (!S_ISDIR(o->st_mode) && (!same_fs_time(o->st_mtim, n->st_mtim) || o->st_size != n->st_size))
		return true;
	return false;
}

static bool strv_has(char **v, const char *s)
{
	return v && bsearch(&s, v, berth_strv_len(v), sizeof(char *), cmp_names) != NULL;
}

/* new_fd: directory in the new tree; old_fd: same directory in the old tree or -1. */
static int dir_walk(struct dir_ctx *c, int new_fd, int old_fd, const char *rel, bool self_recorded)
{
	size_t at_entry = json_array_size(c->out);
	char **nn = sorted_names(new_fd);
	char **on = old_fd >= 0 ? sorted_names(old_fd) : NULL;
	if (!nn || (old_fd >= 0 && !on)) {
		berth_strv_free(nn);
		berth_strv_free(on);
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "read directory %s", *rel ? rel : "/");
	}
	int rc = 0;
	for (size_t i = 0; nn[i] && rc == 0; i++) {
		cleanup_free char *path = join_path(rel, nn[i]);
		struct stat ns, os;
		if (!path || fstatat(new_fd, nn[i], &ns, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool in_old =
			old_fd >= 0 && strv_has(on, nn[i]) && fstatat(old_fd, nn[i], &os, AT_SYMLINK_NOFOLLOW) == 0;
		bool recorded = false;
		if (!in_old) {
			add_change(c->out, path, BERTH_CHANGE_ADD);
			recorded = true;
		} else if (stat_differs(&os, &ns) || caps_differ(old_fd, new_fd, nn[i])) {
			add_change(c->out, path, BERTH_CHANGE_MODIFY);
			recorded = true;
		}
		if (S_ISDIR(ns.st_mode)) {
			cleanup_close int nsub = openat(new_fd, nn[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			cleanup_close int osub =
				in_old && S_ISDIR(os.st_mode) ?
					openat(old_fd, nn[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
					-1;
			if (nsub >= 0)
				rc = dir_walk(c, nsub, osub, path, recorded);
		}
	}
	for (size_t i = 0; on && on[i] && rc == 0; i++) {
		if (strv_has(nn, on[i]))
			continue;
		cleanup_free char *path = join_path(rel, on[i]);
		if (path)
			add_change(c->out, path, BERTH_CHANGE_DELETE);
	}
	if (rc == 0 && json_array_size(c->out) > at_entry && !self_recorded && *rel)
		json_array_insert_new(c->out, at_entry,
				      json_pack("{s:s,s:i}", "Path", rel, "Kind", BERTH_CHANGE_MODIFY));
	berth_strv_free(nn);
	berth_strv_free(on);
	return rc;
}

int berth_changes_dirs(int new_fd, int old_fd, json_t **out, struct berth_error *err)
{
	struct dir_ctx c = {.out = json_array(), .err = err};
	if (dir_walk(&c, new_fd, old_fd, "", true) < 0) {
		json_decref(c.out);
		return -1;
	}
	*out = c.out;
	return 0;
}

int64_t berth_changes_size(int root_fd, json_t *changes)
{
	int64_t size = 0;
	struct berth_strmap seen = {0};
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		if (json_integer_value(json_object_get(ch, "Kind")) == BERTH_CHANGE_DELETE)
			continue;
		const char *path = json_string_value(json_object_get(ch, "Path"));
		struct stat st;
		if (!path || path[0] != '/' || stat_below(root_fd, path, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (st.st_nlink > 1) {
			char key[48];
			snprintf(key, sizeof(key), "%llu", (unsigned long long)st.st_ino);
			if (berth_strmap_get(&seen, key, NULL))
				continue;
			berth_strmap_put(&seen, key, 1);
		}
		size += st.st_size;
	}
	berth_strmap_free(&seen);
	return size;
}

/* ---- tar writing ---- */

struct tar_out {
	struct archive *a;
	struct berth_writer *w;
	struct berth_strmap inodes; /* "dev:ino" -> index into links */
	char **links;
	const struct berth_idmap *idmap; /* --userns-remap: owners mapped back to container ids */
	struct berth_error *err;
};

static la_ssize_t tw_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	struct tar_out *t = ctx;
	return t->w->write(t->w->ctx, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

static int tar_open(struct tar_out *t, struct berth_writer *w, struct berth_error *err)
{
	t->w = w;
	t->err = err;
	t->a = archive_write_new();
	if (!t->a)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_per_block(t->a, 512);
	archive_write_set_bytes_in_last_block(t->a, 1);
	if (archive_write_open(t->a, t, NULL, tw_write, NULL) != ARCHIVE_OK)
		return berth_err(err, BERTH_E_INTERNAL, "tar: %s", archive_error_string(t->a));
	return 0;
}

static int tar_close(struct tar_out *t, int rc)
{
	if (t->a) {
		if (archive_write_close(t->a) != ARCHIVE_OK && rc == 0)
			rc = berth_err(t->err, BERTH_E_INTERNAL, "tar: %s", archive_error_string(t->a));
		archive_write_free(t->a);
	}
	berth_strmap_free(&t->inodes);
	berth_strv_free(t->links);
	return rc;
}

static int tar_header(struct tar_out *t, struct archive_entry *e, const char *name)
{
	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		return berth_err(t->err, BERTH_E_INTERNAL, "tar header %s: %s", name, archive_error_string(t->a));
	return 0;
}

static int tar_whiteout(struct tar_out *t, const char *dir, const char *base, const struct stat *st)
{
	cleanup_free char *name =
		*dir ? berth_strdup_printf("%s/.wh.%s", dir, base) : berth_strdup_printf(".wh.%s", base);
	struct archive_entry *e = archive_entry_new();
	if (!name || !e) {
		archive_entry_free(e);
		return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, 0);
	if (st) {
		archive_entry_set_perm(e, st->st_mode & 0777);
		berth_tar_entry_set_owner(e, st, t->idmap);
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	} else {
		archive_entry_set_mtime(e, time(NULL), 0);
	}
	int rc = tar_header(t, e, name);
	archive_entry_free(e);
	return rc;
}

/* Add (dirfd, base) as "name" (relative, no leading '/'). */
static int tar_add(struct tar_out *t, int dirfd, const char *base, const char *name, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
	int rc = 0;
	cleanup_free char *dname = S_ISDIR(st->st_mode) ? berth_strdup_printf("%s/", name) : strdup(name);
	archive_entry_set_pathname(e, dname ? dname : name);
	archive_entry_set_mode(e, st->st_mode);
	berth_tar_entry_set_owner(e, st, t->idmap);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	char cap[256];
	ssize_t capn = berth_lgetxattr_at(dirfd, base, "security.capability", cap, sizeof(cap));
	if (capn > 0)
		archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)capn);
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		char key[64];
		snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
		int64_t idx;
		if (berth_strmap_get(&t->inodes, key, &idx)) {
			archive_entry_set_hardlink(e, t->links[idx]);
			archive_entry_set_size(e, 0);
			rc = tar_header(t, e, name);
			archive_entry_free(e);
			return rc;
		}
		berth_strv_push(&t->links, name);
		berth_strmap_put(&t->inodes, key, (int64_t)berth_strv_len(t->links) - 1);
	}
	if (S_ISLNK(st->st_mode)) {
		cleanup_free char *target = malloc(PATH_MAX + 1);
		ssize_t n = target ? readlinkat(dirfd, base, target, PATH_MAX) : -1;
		if (n < 0) {
			archive_entry_free(e);
			return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "readlink %s", name);
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	cleanup_close int fd = -1;
	if (S_ISREG(st->st_mode)) {
		fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			archive_entry_free(e);
			return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "open %s", name);
		}
		archive_entry_set_size(e, st->st_size);
	} else {
		archive_entry_set_size(e, 0);
	}
	rc = tar_header(t, e, name);
	archive_entry_free(e);
	if (rc < 0 || fd < 0)
		return rc;
	enum { BUFSZ = 65536 };
	cleanup_free char *buf = malloc(BUFSZ);
	if (!buf)
		return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
	int64_t left = st->st_size;
	while (left > 0) {
		ssize_t n = read(fd, buf, left < BUFSZ ? (size_t)left : BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "read %s", name);
		if (n == 0) { /* shrank meanwhile: pad with zeros as the header promised */
			n = (ssize_t)(left < BUFSZ ? left : BUFSZ);
			memset(buf, 0, (size_t)n);
		}
		if (archive_write_data(t->a, buf, (size_t)n) < 0)
			return berth_err(t->err, BERTH_E_INTERNAL, "tar data %s: %s", name, archive_error_string(t->a));
		left -= n;
	}
	return 0;
}

static int cmp_change_path(const void *a, const void *b)
{
	const char *pa = json_string_value(json_object_get(*(json_t *const *)a, "Path"));
	const char *pb = json_string_value(json_object_get(*(json_t *const *)b, "Path"));
	return strcmp(pa ? pa : "", pb ? pb : "");
}

int berth_changes_export(int root_fd, json_t *changes, const struct berth_idmap *idmap, struct berth_writer *out,
			 struct berth_error *err)
{
	size_t n = json_array_size(changes);
	json_t **v = calloc(n + 1, sizeof(json_t *));
	if (!v)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(changes, i);
	qsort(v, n, sizeof(json_t *), cmp_change_path);
	struct tar_out t = {.idmap = idmap};
	int rc = tar_open(&t, out, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *path = json_string_value(json_object_get(v[i], "Path"));
		if (!path || path[0] != '/' || !path[1])
			continue;
		cleanup_free char *dir = NULL;
		const char *base;
		if (berth_path_split(path + 1, &dir, &base) < 0) {
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
		if (json_integer_value(json_object_get(v[i], "Kind")) == BERTH_CHANGE_DELETE) {
			rc = tar_whiteout(&t, dir, base, NULL);
			continue;
		}
		cleanup_close int dfd = berth_open_dir_beneath(root_fd, dir, false);
		struct stat st;
		if (dfd < 0 || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		rc = tar_add(&t, dfd, base, path + 1, &st);
	}
	free(v);
	return tar_close(&t, rc);
}

static int upper_walk(struct tar_out *t, int dirfd, const char *rel)
{
	char **names = sorted_names(dirfd);
	if (!names)
		return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "read directory %s", rel);
	int rc = 0;
	for (size_t i = 0; names[i] && rc == 0; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		cleanup_free char *path = *rel ? berth_strdup_printf("%s/%s", rel, names[i]) : strdup(names[i]);
		if (!path) {
			rc = berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
		if (berth_ovl_is_whiteout(&st)) {
			rc = tar_whiteout(t, rel, names[i], &st);
			continue;
		}
		rc = tar_add(t, dirfd, names[i], path, &st);
		if (rc == 0 && S_ISDIR(st.st_mode)) {
			if (berth_ovl_is_opaque(dirfd, names[i]))
				rc = tar_whiteout(t, path, ".wh..opq", &st);
			int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (rc == 0 && sub >= 0)
				rc = upper_walk(t, sub, path);
			if (sub >= 0)
				close(sub);
		}
	}
	berth_strv_free(names);
	return rc;
}

int berth_overlay_export_upper(int upper_fd, const struct berth_idmap *idmap, struct berth_writer *out,
			       struct berth_error *err)
{
	struct tar_out t = {.idmap = idmap};
	int rc = tar_open(&t, out, err);
	if (rc == 0)
		rc = upper_walk(&t, upper_fd, "");
	return tar_close(&t, rc);
}
