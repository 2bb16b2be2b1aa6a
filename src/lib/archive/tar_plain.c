/* A plain tree as a ustar stream, written by hand (ustar.h): the usual
 * build context (directories, regular files, symlinks) goes out without
 * loading libarchive (about 2 ms of a cached rebuild). Anything else makes
 * it give up, and the caller writes the tree with berth_tar_write instead. */
#include "archive/ustar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"
#include "common/util.h"

#define QT_FLUSH (256 * 1024)

struct qtar {
	int out;
	struct berth_buf buf;
	dev_t dev;
	int (*filter)(void *ctx, const char *rel, bool is_dir);
	void *fctx;
};

enum { QT_OK = 0, QT_GIVE_UP = 1, QT_ERR = -1 };

static int qt_flush(struct qtar *q, bool all)
{
	if (q->buf.len < QT_FLUSH && !all)
		return QT_OK;
	if (q->buf.len && berth_write_all(q->out, q->buf.data, q->buf.len) < 0)
		return QT_ERR;
	q->buf.len = 0;
	return QT_OK;
}

/* name in ustar's name/prefix fields; false when it does not fit */
static bool put_name(char *h, const char *name)
{
	size_t n = strlen(name);
	if (n <= 100) {
		memcpy(h, name, n);
		return true;
	}
	/* prefix (up to 155) '/' name (up to 100) */
	for (const char *s = name + n - 1; s > name; s--) {
		if (*s != '/')
			continue;
		size_t pre = (size_t)(s - name), rest = n - pre - 1;
		if (rest > 100)
			return false;
		if (pre <= 155 && rest > 0) {
			memcpy(h + 345, name, pre);
			memcpy(h, s + 1, rest);
			return true;
		}
	}
	return false;
}

static int qt_header(struct qtar *q, const char *name, const struct stat *st, char type, uint64_t size,
		     const char *link)
{
	char h[512] = {0};
	if (!put_name(h, name) || (link && strlen(link) > 100))
		return QT_GIVE_UP;
	if (!berth_ustar_octal(h + 100, 8, st->st_mode & 07777) || !berth_ustar_octal(h + 108, 8, st->st_uid) ||
	    !berth_ustar_octal(h + 116, 8, st->st_gid) || !berth_ustar_octal(h + 124, 12, size) ||
	    !berth_ustar_octal(h + 136, 12, st->st_mtim.tv_sec < 0 ? 0 : (uint64_t)st->st_mtim.tv_sec))
		return QT_GIVE_UP;
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	berth_ustar_finish(h);
	berth_buf_append(&q->buf, h, sizeof(h));
	return qt_flush(q, false);
}

static int qt_file(struct qtar *q, int dfd, const char *base, const char *name, const struct stat *st)
{
	if (st->st_nlink > 1)
		return QT_GIVE_UP; /* hard links: berth_tar_write's link entries */
	cleanup_close int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return QT_GIVE_UP; /* its error message */
	char cap[4];
	if (fgetxattr(fd, "security.capability", cap, sizeof(cap)) >= 0 || errno == ERANGE)
		return QT_GIVE_UP; /* a pax xattr record */
	int rc = qt_header(q, name, st, '0', (uint64_t)st->st_size, NULL);
	if (rc != QT_OK)
		return rc;
	uint64_t left = (uint64_t)st->st_size;
	char data[65536];
	while (left) {
		size_t want = left < sizeof(data) ? (size_t)left : sizeof(data);
		ssize_t n = read(fd, data, want);
		if (n <= 0)
			return QT_GIVE_UP; /* changed or unreadable: let the full writer report it */
		if (berth_buf_append(&q->buf, data, (size_t)n) < 0)
			return QT_ERR;
		left -= (uint64_t)n;
		if (qt_flush(q, false) < 0)
			return QT_ERR;
	}
	static const char zero[512];
	size_t pad = (size_t)((512 - (uint64_t)st->st_size % 512) % 512);
	berth_buf_append(&q->buf, zero, pad);
	return QT_OK;
}

static int qt_walk(struct qtar *q, int dfd, const char *prefix, int depth)
{
	if (depth > 256)
		return QT_GIVE_UP;
	char **names = berth_ar_sorted_names(dfd);
	if (!names)
		return QT_GIVE_UP;
	size_t n = berth_strv_len(names);
	int rc = QT_OK;
	for (size_t i = 0; i < n && rc == QT_OK; i++) {
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		cleanup_free char *rel = *prefix ? berth_strdup_printf("%s/%s", prefix, names[i]) : strdup(names[i]);
		if (!rel) {
			rc = QT_ERR;
			break;
		}
		bool isdir = S_ISDIR(st.st_mode);
		int f = q->filter ? q->filter(q->fctx, rel, isdir) : BERTH_TAR_KEEP;
		if (f == BERTH_TAR_SKIP || (f == BERTH_TAR_DESCEND && !isdir))
			continue;
		if (isdir) {
			if (st.st_dev != q->dev)
				rc = QT_GIVE_UP; /* a mount inside the context */
			cleanup_free char *dname = berth_strdup_printf("%s/", rel);
			if (rc == QT_OK && f == BERTH_TAR_KEEP)
				rc = dname ? qt_header(q, dname, &st, '5', 0, NULL) : QT_ERR;
			cleanup_close int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (rc == QT_OK)
				rc = cfd >= 0 ? qt_walk(q, cfd, rel, depth + 1) : QT_GIVE_UP;
		} else if (S_ISREG(st.st_mode)) {
			rc = qt_file(q, dfd, names[i], rel, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char t[128];
			ssize_t l = readlinkat(dfd, names[i], t, sizeof(t) - 1);
			if (l <= 0 || (size_t)l >= sizeof(t) - 1)
				rc = QT_GIVE_UP;
			else {
				t[l] = 0;
				rc = qt_header(q, rel, &st, '2', 0, t);
			}
		} else
			rc = QT_GIVE_UP; /* devices, fifos, sockets */
	}
	berth_strv_free(names);
	return rc;
}

int berth_tar_write_plain(int dirfd, int (*filter)(void *ctx, const char *rel, bool is_dir), void *fctx, int out)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return 0;
	struct qtar q = {.out = out, .dev = st.st_dev, .filter = filter, .fctx = fctx};
	int rc = qt_walk(&q, dirfd, "", 0);
	if (rc == QT_OK) {
		static const char end[1024];
		berth_buf_append(&q.buf, end, sizeof(end));
		rc = qt_flush(&q, true);
	}
	berth_buf_free(&q.buf);
	return rc == QT_OK ? 1 : rc == QT_GIVE_UP ? 0 : -1;
}
