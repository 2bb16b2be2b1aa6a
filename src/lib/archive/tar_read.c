/* Shared tar reading (libarchive over a berth_reader) and the small fd
 * helpers every extractor needs (see tar.h). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* ---------------------------------------------------------------- reading */

struct archive *berth_tar_reader_new(bool filters)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	if (filters) {
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_bzip2(a);
		archive_read_support_filter_xz(a);
		archive_read_support_filter_zstd(a);
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	return a;
}

ssize_t berth_tar_source_read(struct archive *a, void *ctx, const void **out)
{
	struct berth_tar_source *r = ctx;
	ssize_t n;
	do
		n = r->in->read(r->in->ctx, r->buf, r->bufsize);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno ? errno : EIO;
		r->failed = true;
		archive_set_error(a, e, "read: %s", strerror(e));
		return -1;
	}
	if (n > 0 && r->spool_fd >= 0 && berth_write_all(r->spool_fd, r->buf, (size_t)n) < 0) {
		archive_set_error(a, errno, "spool: %s", strerror(errno));
		return -1;
	}
	*out = r->buf;
	return n;
}

void berth_tar_source_drain(struct archive *a, struct berth_tar_source *src)
{
	const void *p;
	while (berth_tar_source_read(a, src, &p) > 0)
		;
}

int berth_tar_entry_data(struct archive *a, int fd, int64_t size)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int64_t end = 0;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return BERTH_TAR_DATA_ARCHIVE;
		if (size >= 0 && (off < 0 || (int64_t)len > size || off > size - (int64_t)len))
			return BERTH_TAR_DATA_BEYOND;
		for (const char *p = buf; len > 0;) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					errno = EIO;
				return BERTH_TAR_DATA_WRITE;
			}
			p += n;
			off += n;
			len -= (size_t)n;
		}
		if (off > end)
			end = off;
	}
	if (size > end && ftruncate(fd, size) < 0)
		return BERTH_TAR_DATA_WRITE;
	return 0;
}

void berth_tar_entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e)) {
		struct timespec at = {.tv_sec = archive_entry_atime(e), .tv_nsec = archive_entry_atime_nsec(e)};
		if (at.tv_sec > ts[1].tv_sec || (at.tv_sec == ts[1].tv_sec && at.tv_nsec > ts[1].tv_nsec))
			ts[0] = at;
	}
}

/* ------------------------------------------------------------ fd helpers */

int berth_ar_chmod_nofollow(int dirfd, const char *base, mode_t mode)
{
	if (syscall(SYS_fchmodat2, dirfd, base, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == EOPNOTSUPP)
		return 0; /* a symlink (a hard link to one): symlinks have no mode */
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	cleanup_close int fd = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (S_ISLNK(st.st_mode))
		return 0;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return chmod(p, mode);
}

/* Empty the directory fd (closed here), never crossing into a mount. */
static int empty_dir(int fd, dev_t dev, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = errno == ENOENT ? 0 : -1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT ? -1 : 0;
			continue;
		}
		if (st.st_dev != dev || depth > 4096) {
			errno = st.st_dev != dev ? EBUSY : ELOOP;
			rc = -1;
			continue;
		}
		int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0 || empty_dir(cfd, dev, depth + 1) < 0 ||
		    (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT))
			rc = errno == ENOENT ? 0 : -1;
	}
	int e = errno;
	closedir(d);
	errno = e;
	return rc;
}

int berth_ar_remove_at(int dirfd, const char *name)
{
	struct stat st, pst;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (fstat(dirfd, &pst) < 0)
		return -1;
	if (pst.st_dev != st.st_dev) {
		errno = EBUSY;
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (empty_dir(fd, st.st_dev, 0) < 0)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

/* "/proc/self/fd/N" of an O_PATH fd of (dirfd, name), not following name. */
static int pinned(int dirfd, const char *name, char *p, size_t len)
{
	int fd = *name ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(dirfd);
	if (fd >= 0)
		snprintf(p, len, "/proc/self/fd/%d", fd);
	return fd;
}

ssize_t berth_ar_getxattr_at(int dirfd, const char *name, const char *key, void *val, size_t len)
{
	char p[64];
	cleanup_close int fd = pinned(dirfd, name, p, sizeof(p));
	return fd < 0 ? -1 : getxattr(p, key, val, len);
}

int berth_ar_setxattr_at(int dirfd, const char *name, const char *key, const void *val, size_t len)
{
	char p[64];
	cleanup_close int fd = pinned(dirfd, name, p, sizeof(p));
	return fd < 0 ? -1 : setxattr(p, key, val, len, 0);
}

bool berth_ar_kernel_fs(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case 0x19800202: /* mqueue */
	case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case BPF_FS_MAGIC:
	case PSTOREFS_MAGIC:
	case SELINUX_MAGIC:
	case NSFS_MAGIC: return true;
	default: return false;
	}
}
