#include "storage/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

char *berth_path_clean(const char *name)
{
	if (!name || name[0] == '/')
		return NULL;
	size_t n = strlen(name);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t olen = 0;
	const char *p = name;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t clen = e ? (size_t)(e - p) : strlen(p);
		if (clen == 0 || (clen == 1 && p[0] == '.')) {
			/* skip */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (olen == 0) {
				free(out);
				return NULL; /* escapes the root */
			}
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--; /* the separator */
		} else {
			if (olen)
				out[olen++] = '/';
			memcpy(out + olen, p, clen);
			olen += clen;
		}
		p += clen;
		if (*p == '/')
			p++;
	}
	out[olen] = '\0';
	return out;
}

int berth_path_split(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*dir = strdup("");
		*base = path;
	} else {
		*dir = strndup(path, (size_t)(slash - path));
		*base = slash + 1;
	}
	return *dir ? 0 : -1;
}

static int classify_open_failure(int dfd, const char *name, int e)
{
	struct stat st;
	if ((e == ELOOP || e == ENOTDIR) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
	return e;
}

int berth_open_dir_beneath(int root_fd, const char *rel, bool create)
{
	return berth_open_dir_beneath_owned(root_fd, rel, create, (uid_t)-1, (gid_t)-1);
}

int berth_open_dir_beneath_owned(int root_fd, const char *rel, bool create, uid_t uid, gid_t gid)
{
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	const char *p = rel;
	char comp[NAME_MAX + 1];
	while (*p) {
		const char *e = strchr(p, '/');
		size_t clen = e ? (size_t)(e - p) : strlen(p);
		if (clen > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		p += clen;
		if (*p == '/')
			p++;
		if (clen == 0)
			continue;
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int e2 = errno;
				close(fd);
				errno = e2;
				return -1;
			}
			fchmodat(fd, comp, 0755, 0);
			if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
			    fchownat(fd, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
				int e2 = errno;
				close(fd);
				errno = e2;
				return -1;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e2 = classify_open_failure(fd, comp, errno);
			close(fd);
			errno = e2;
			return -1;
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

int berth_open_beneath(int root_fd, const char *rel, int flags)
{
	if (!*rel)
		return openat(root_fd, ".", flags | O_CLOEXEC);
	cleanup_free char *dir = NULL;
	const char *base;
	if (berth_path_split(rel, &dir, &base) < 0)
		return -1;
	cleanup_close int dfd = berth_open_dir_beneath(root_fd, dir, false);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		errno = classify_open_failure(dfd, base, errno);
		return -1;
	}
	return fd;
}

int berth_empty_dir_at(int dirfd)
{
	int dup_fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return -1;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (berth_rm_rf_at(dirfd, e->d_name) < 0) {
			rc = -1;
			break;
		}
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

int berth_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -1;
		return 0;
	}
	struct stat pst;
	if (fstat(dirfd, &pst) == 0 && pst.st_dev != st.st_dev) {
		errno = EBUSY; /* a mount point: never descend */
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = berth_empty_dir_at(fd);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		errno = saved;
		return -1;
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

static char *proc_path(int dirfd, const char *name) { return berth_strdup_printf("/proc/self/fd/%d/%s", dirfd, name); }

int berth_lsetxattr_at(int dirfd, const char *name, const char *key, const void *val, size_t len)
{
	if (!*name || !strcmp(name, "."))
		return fsetxattr(dirfd, key, val, len, 0);
	cleanup_free char *p = proc_path(dirfd, name);
	return p ? lsetxattr(p, key, val, len, 0) : -1;
}

ssize_t berth_lgetxattr_at(int dirfd, const char *name, const char *key, void *val, size_t len)
{
	if (!*name || !strcmp(name, "."))
		return fgetxattr(dirfd, key, val, len);
	cleanup_free char *p = proc_path(dirfd, name);
	return p ? lgetxattr(p, key, val, len) : -1;
}

bool berth_ovl_is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0); }

bool berth_ovl_is_opaque(int dirfd, const char *name)
{
	char v[4];
	ssize_t n = berth_lgetxattr_at(dirfd, name, "trusted.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

ssize_t berth_llistxattr_at(int dirfd, const char *name, char *list, size_t len)
{
	if (!*name || !strcmp(name, "."))
		return flistxattr(dirfd, list, len);
	cleanup_free char *p = proc_path(dirfd, name);
	return p ? llistxattr(p, list, len) : -1;
}

int berth_copy_xattrs_at(int sfd, const char *sname, int dfd, const char *dname)
{
	return berth_copy_xattrs_at_except(sfd, sname, dfd, dname, NULL);
}

int berth_copy_xattrs_at_except(int sfd, const char *sname, int dfd, const char *dname, const char *skip_prefix)
{
	ssize_t n = berth_llistxattr_at(sfd, sname, NULL, 0);
	if (n <= 0)
		return 0;
	cleanup_free char *list = malloc((size_t)n + 1);
	if (!list)
		return -1;
	n = berth_llistxattr_at(sfd, sname, list, (size_t)n);
	if (n <= 0)
		return 0;
	list[n] = '\0';
	for (char *k = list; k < list + n; k += strlen(k) + 1) {
		if (skip_prefix && berth_str_has_prefix(k, skip_prefix))
			continue;
		ssize_t vl = berth_lgetxattr_at(sfd, sname, k, NULL, 0);
		if (vl < 0)
			continue;
		cleanup_free char *v = malloc((size_t)vl + 1);
		if (!v)
			return -1;
		vl = berth_lgetxattr_at(sfd, sname, k, v, (size_t)vl);
		if (vl < 0)
			continue;
		if (berth_lsetxattr_at(dfd, dname, k, v, (size_t)vl) < 0 && errno != ENOTSUP && errno != EPERM)
			return -1;
	}
	return 0;
}

bool berth_is_mountpoint(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
	    (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	struct stat a, b;
	cleanup_free char *parent = berth_strdup_printf("%s/..", path);
	if (!parent || lstat(path, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev;
}

/* ---- copy tree ---- */

struct copy_ctx {
	int dst_root;
	struct berth_strmap inodes; /* "dev:ino" -> index into paths */
	char **paths;
	struct berth_error *err;
};

static int copy_meta(int sfd, const char *name, int dfd, const struct stat *st)
{
	if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return -1;
	if (berth_copy_xattrs_at(sfd, name, dfd, name) < 0)
		return -1;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != EOPNOTSUPP)
		return -1;
	return 0;
}

static int copy_by_read(int in, int out)
{
	char *buf = malloc(65536);
	if (!buf)
		return -1;
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (berth_write_all(out, buf, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	int e = errno;
	free(buf);
	errno = e;
	return rc;
}

static int copy_file_data(int in, int out)
{
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	bool use_cfr = true;
	for (;;) {
		if (use_cfr) {
			ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n > 0)
				continue;
			if (n == 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
				return -1;
			use_cfr = false;
		}
		return copy_by_read(in, out);
	}
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd, const char *rel);

static int copy_entry(struct copy_ctx *c, int sfd, int dfd, const char *name, const char *rel)
{
	struct stat st;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "stat %s", rel);
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		char key[64];
		snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		int64_t idx;
		if (berth_strmap_get(&c->inodes, key, &idx)) {
			cleanup_free char *tdir = NULL;
			const char *tbase;
			if (berth_path_split(c->paths[idx], &tdir, &tbase) < 0)
				return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
			cleanup_close int tfd = berth_open_dir_beneath(c->dst_root, tdir, false);
			if (tfd < 0 || linkat(tfd, tbase, dfd, name, 0) < 0)
				return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "link %s", rel);
			return 0;
		}
		if (berth_strv_push(&c->paths, rel) < 0 ||
		    berth_strmap_put(&c->inodes, key, (int64_t)berth_strv_len(c->paths) - 1) < 0)
			return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "mkdir %s", rel);
		cleanup_close int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s2 < 0 || d2 < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "open %s", rel);
		if (copy_dir(c, s2, d2, rel) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		cleanup_close int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "open %s", rel);
		cleanup_close int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "create %s", rel);
		if (copy_file_data(in, out) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "copy %s", rel);
	} else if (S_ISLNK(st.st_mode)) {
		/* heap buffer: this frame recurses once per directory level */
		cleanup_free char *target = malloc(PATH_MAX + 1);
		ssize_t n = target ? readlinkat(sfd, name, target, PATH_MAX) : -1;
		if (n < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "readlink %s", rel);
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "symlink %s", rel);
	} else {
		if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "mknod %s", rel);
	}
	if (copy_meta(sfd, name, dfd, &st) < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "set attributes of %s", rel);
	return 0;
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd, const char *rel)
{
	int dup_fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "open %s", rel);
	cleanup_dir DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "opendir %s", rel);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *crel = *rel ? berth_strdup_printf("%s/%s", rel, e->d_name) : strdup(e->d_name);
		if (!crel)
			return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
		if (copy_entry(c, sfd, dfd, e->d_name, crel) < 0)
			return -1;
	}
	return 0;
}

int berth_copy_tree(int src_fd, int dst_fd, struct berth_error *err)
{
	struct copy_ctx c = {.dst_root = dst_fd, .err = err};
	int rc = copy_dir(&c, src_fd, dst_fd, "");
	berth_strmap_free(&c.inodes);
	berth_strv_free(c.paths);
	if (rc < 0)
		return -1;
	struct stat st;
	if (fstat(src_fd, &st) < 0 || copy_meta(src_fd, ".", dst_fd, &st) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "copy root attributes");
	return 0;
}

/* ---- string map ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int strmap_grow(struct berth_strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	char **keys = calloc(ncap, sizeof(char *));
	int64_t *vals = calloc(ncap, sizeof(int64_t));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = str_hash(m->keys[i]) & (ncap - 1);
		while (keys[j])
			j = (j + 1) & (ncap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	return 0;
}

int berth_strmap_put(struct berth_strmap *m, const char *key, int64_t val)
{
	if ((m->len + 1) * 10 >= m->cap * 7 && strmap_grow(m) < 0)
		return -1;
	size_t j = str_hash(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (!strcmp(m->keys[j], key)) {
			m->vals[j] = val;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = strdup(key);
	if (!m->keys[j])
		return -1;
	m->vals[j] = val;
	m->len++;
	return 0;
}

bool berth_strmap_get(const struct berth_strmap *m, const char *key, int64_t *val)
{
	if (!m->cap)
		return false;
	size_t j = str_hash(key) & (m->cap - 1);
	while (m->keys[j]) {
		if (!strcmp(m->keys[j], key)) {
			if (val)
				*val = m->vals[j];
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}

void berth_strmap_free(struct berth_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void berth_fs_spread_subdirs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	int flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
		flags |= FS_TOPDIR_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &flags); /* not ext2/3/4: not supported, nothing to spread */
	}
	close(fd);
}
