/* Tar trees out of directories through fds (see tar.h for the safety model). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"

/* ------------------------------------------------------------ tar writing */

#define TW_BUF (256 * 1024)

struct inode_link {
	dev_t dev;
	ino_t ino;
	char *name; /* NULL: free slot */
};

struct tw {
	struct archive *a;
	struct berth_writer *out;
	struct berth_error *err;
	struct inode_link *ino; /* open-addressing table of files with several links */
	size_t nino, capino;
	char *buf;
	bool out_failed;
	const struct berth_tar_subst *subst;
	size_t nsubst;
	bool kernel_fs_empty;
	dev_t kdev[16]; /* devices known: kernel file system or not */
	bool kdev_is[16];
	size_t nkdev;
	int (*filter)(void *ctx, const char *rel, bool is_dir);
	void *filter_ctx;
	size_t top_len; /* the top's name and its '/' in child names */
	const struct berth_idmap *idmap;
};

/* The first entry name of (dev, ino), or NULL after recording name for it. */
static const char *link_seen(struct tw *t, const struct stat *st, const char *name, bool *oom)
{
	*oom = false;
	if (t->nino * 2 >= t->capino) {
		size_t nc = t->capino ? t->capino * 2 : 256;
		struct inode_link *nt = calloc(nc, sizeof(*nt));
		if (!nt) {
			*oom = true;
			return NULL;
		}
		for (size_t i = 0; i < t->capino; i++) {
			if (!t->ino[i].name)
				continue;
			size_t h = (size_t)(t->ino[i].ino * 31 + t->ino[i].dev) & (nc - 1);
			while (nt[h].name)
				h = (h + 1) & (nc - 1);
			nt[h] = t->ino[i];
		}
		free(t->ino);
		t->ino = nt;
		t->capino = nc;
	}
	size_t h = (size_t)(st->st_ino * 31 + st->st_dev) & (t->capino - 1);
	for (; t->ino[h].name; h = (h + 1) & (t->capino - 1))
		if (t->ino[h].dev == st->st_dev && t->ino[h].ino == st->st_ino)
			return t->ino[h].name;
	t->ino[h] = (struct inode_link){.dev = st->st_dev, .ino = st->st_ino, .name = strdup(name)};
	*oom = t->ino[h].name == NULL;
	t->nino += !*oom;
	return NULL;
}

/* Is the open fd on a kernel file system (cached per device)? */
static bool on_kernel_fs(struct tw *t, int fd, dev_t dev)
{
	if (!t->kernel_fs_empty)
		return false;
	for (size_t i = 0; i < t->nkdev; i++)
		if (t->kdev[i] == dev)
			return t->kdev_is[i];
	bool k = berth_ar_kernel_fs(fd);
	if (t->nkdev < 16) {
		t->kdev[t->nkdev] = dev;
		t->kdev_is[t->nkdev++] = k;
	}
	return k;
}

static la_ssize_t tw_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	struct tw *t = ctx;
	if (t->out->write(t->out->ctx, buf, len) < 0) {
		t->out_failed = true;
		return -1;
	}
	return (la_ssize_t)len;
}

static int tw_fail(struct tw *t, const char *what, const char *name)
{
	if (t->out_failed)
		return berth_err(t->err, BERTH_E_INTERNAL, "write: connection closed");
	return berth_err(t->err, BERTH_E_INTERNAL, "tar %s %s: %s", what, name, archive_error_string(t->a));
}

static char *child_name(const char *prefix, const char *child)
{
	if (!prefix || !*prefix)
		return strdup(child);
	size_t n = strlen(prefix);
	return prefix[n - 1] == '/' ? berth_strdup_printf("%s%s", prefix, child) :
				      berth_strdup_printf("%s/%s", prefix, child);
}

/* One entry. fd: open fd of the file when it is a regular file or
 * directory (for data and xattrs), else -1 and (dirfd, base) names it. */
static int tw_entry(struct tw *t, int dirfd, const char *base, int fd, const struct stat *st, const char *name)
{
	cleanup_free char *ename = NULL;
	if (S_ISDIR(st->st_mode) && !(*name && name[strlen(name) - 1] == '/'))
		ename = berth_strdup_printf("%s/", name);
	else
		ename = strdup(name);
	struct archive_entry *e = archive_entry_new();
	if (!e || !ename) {
		archive_entry_free(e);
		return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
	}
	/* names are bytes; valid UTF-8 ones are given as UTF-8 so the PAX
	 * records need no hdrcharset=BINARY (whatever the process locale) */
	if (!archive_entry_update_pathname_utf8(e, ename))
		archive_entry_copy_pathname(e, ename);
	archive_entry_set_mode(e, st->st_mode);
	berth_tar_entry_set_owner(e, st, t->idmap);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	char cap[512];
	ssize_t capn = fd >= 0 ? fgetxattr(fd, "security.capability", cap, sizeof(cap)) :
				 (S_ISLNK(st->st_mode) ?
					  -1 :
					  berth_ar_getxattr_at(dirfd, base, "security.capability", cap, sizeof(cap)));
	if (capn > 0)
		archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)capn);
	int rc = 0;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		bool oom;
		const char *first = link_seen(t, st, ename, &oom);
		if (oom) {
			archive_entry_free(e);
			return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
		}
		if (first) {
			if (!archive_entry_update_hardlink_utf8(e, first))
				archive_entry_copy_hardlink(e, first);
			archive_entry_set_size(e, 0);
			if (archive_write_header(t->a, e) < ARCHIVE_WARN)
				rc = tw_fail(t, "header", ename);
			archive_entry_free(e);
			return rc;
		}
	}
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, base, target, PATH_MAX);
		if (n < 0) {
			archive_entry_free(e);
			return errno == ENOENT || errno == EINVAL ?
				       0 :
				       berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "readlink %s", name);
		}
		target[n] = '\0';
		if (!archive_entry_update_symlink_utf8(e, target))
			archive_entry_copy_symlink(e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	bool data = S_ISREG(st->st_mode) && fd >= 0;
	archive_entry_set_size(e, data ? st->st_size : 0);
	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		rc = tw_fail(t, "header", ename);
	archive_entry_free(e);
	if (rc < 0 || !data)
		return rc;
	int64_t left = st->st_size;
	while (left > 0) {
		size_t want = left < TW_BUF ? (size_t)left : TW_BUF;
		ssize_t n = read(fd, t->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "read %s", name);
		if (n == 0) { /* shrank meanwhile: pad with zeros as the header promised */
			memset(t->buf, 0, want);
			n = (ssize_t)want;
		}
		if (archive_write_data(t->a, t->buf, (size_t)n) < 0)
			return tw_fail(t, "data", name);
		left -= n;
	}
	return 0;
}

static int tw_walk(struct tw *t, int dirfd, const char *prefix, int depth);

/* (dirfd, base) found by a walk with stat st: add it, descend into directories. */
static int tw_add_at(struct tw *t, int dirfd, const char *base, const char *name, const struct stat *lst, int depth)
{
	if (S_ISSOCK(lst->st_mode))
		return 0;
	if (t->kernel_fs_empty && (S_ISREG(lst->st_mode) || S_ISDIR(lst->st_mode))) {
		cleanup_close int pfd = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (pfd >= 0 && on_kernel_fs(t, pfd, lst->st_dev)) /* no contents, no descent */
			return tw_entry(t, dirfd, base, -1, lst, name);
	}
	if (S_ISREG(lst->st_mode) || S_ISDIR(lst->st_mode)) {
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(lst->st_mode) ? O_DIRECTORY : O_NONBLOCK);
		cleanup_close int fd = openat(dirfd, base, flags);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != lst->st_ino || st.st_dev != lst->st_dev ||
		    (st.st_mode & S_IFMT) != (lst->st_mode & S_IFMT)) {
			if (fd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != ENXIO)
				return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "open %s", name);
			return 0; /* replaced or removed meanwhile */
		}
		for (size_t i = 0; S_ISREG(st.st_mode) && i < t->nsubst; i++) {
			struct stat hs;
			if (st.st_dev == t->subst[i].dev && st.st_ino == t->subst[i].ino &&
			    fstat(t->subst[i].fd, &hs) == 0 && S_ISREG(hs.st_mode) &&
			    lseek(t->subst[i].fd, 0, SEEK_SET) == 0) {
				hs.st_nlink = 1;
				return tw_entry(t, dirfd, base, t->subst[i].fd, &hs, name);
			}
		}
		int rc = tw_entry(t, dirfd, base, fd, &st, name);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = tw_walk(t, fd, name, depth + 1);
		return rc;
	}
	return tw_entry(t, dirfd, base, -1, lst, name);
}

static int tw_walk(struct tw *t, int dirfd, const char *prefix, int depth)
{
	if (depth > 4096)
		return berth_err(t->err, BERTH_E_INTERNAL, "%s: directory tree too deep", prefix ? prefix : "/");
	char **names = berth_ar_sorted_names(dirfd);
	if (!names)
		return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "read directory %s", prefix ? prefix : "/");
	int rc = 0;
	for (size_t i = 0; names[i] && rc == 0; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		cleanup_free char *name = child_name(prefix, names[i]);
		int f = BERTH_TAR_KEEP;
		if (name && t->filter)
			f = t->filter(t->filter_ctx, name + t->top_len, S_ISDIR(st.st_mode));
		if (!name)
			rc = berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
		else if (f == BERTH_TAR_DESCEND && S_ISDIR(st.st_mode)) {
			cleanup_close int cfd =
				openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0)
				rc = tw_walk(t, cfd, name, depth + 1);
		} else if (f == BERTH_TAR_KEEP)
			rc = tw_add_at(t, dirfd, names[i], name, &st, depth);
	}
	berth_strv_free(names);
	return rc;
}

void berth_tar_entry_set_owner(struct archive_entry *e, const struct stat *st, const struct berth_idmap *m)
{
	uint32_t uid = st->st_uid, gid = st->st_gid;
	berth_idmap_unshift(m, &uid, &gid); /* --userns-remap: no-op when m is off */
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
}

int berth_tar_write(const struct berth_tar_src *src, struct berth_writer *out, struct berth_error *err)
{
	struct tw t = {.out = out,
		       .err = err,
		       .subst = src->subst,
		       .nsubst = src->nsubst,
		       .kernel_fs_empty = src->kernel_fs_empty,
		       .filter = src->filter,
		       .filter_ctx = src->filter_ctx,
		       .idmap = src->idmap,
		       .top_len = !src->name || !*src->name               ? 0 :
				  src->name[strlen(src->name) - 1] == '/' ? strlen(src->name) :
									    strlen(src->name) + 1};
	t.buf = malloc(TW_BUF);
	t.a = archive_write_new();
	int rc = 0;
	if (!t.buf || !t.a) {
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	archive_write_set_format_pax_restricted(t.a);
	archive_write_set_bytes_per_block(t.a, 64 * 1024);
	archive_write_set_bytes_in_last_block(t.a, 1);
	if (archive_write_open(t.a, &t, NULL, tw_write_cb, NULL) != ARCHIVE_OK) {
		rc = berth_err(err, BERTH_E_INTERNAL, "tar: %s", archive_error_string(t.a));
		goto out;
	}
	if (src->base && *src->base) {
		struct stat st;
		if (fstatat(src->dirfd, src->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = berth_err_sys(err, errno == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno,
					   "lstat %s", src->name ? src->name : src->base);
		else
			rc = tw_add_at(&t, src->dirfd, src->base, src->name ? src->name : src->base, &st, 0);
	} else {
		cleanup_close int fd = openat(src->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "open directory");
		else if (src->name)
			rc = tw_entry(&t, fd, "", fd, &st, src->name);
		if (rc == 0 && fd >= 0 && !on_kernel_fs(&t, fd, st.st_dev))
			rc = tw_walk(&t, fd, src->name, 0);
	}
	if (archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
		rc = tw_fail(&t, "end", "");
out:
	if (t.a)
		archive_write_free(t.a);
	for (size_t i = 0; i < t.capino; i++)
		free(t.ino[i].name);
	free(t.ino);
	free(t.buf);
	return rc;
}
