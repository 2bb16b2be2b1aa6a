/* Tar trees out of and into directories through fds (see archive.h for the
 * safety model), and docker's pkg/archive path rules. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
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

#include "common/cleanup.h"
#include "daemon/archive_int.h"
#include "storage/fsutil.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* ---------------------------------------------------------------- helpers */

int berth_ar_open(int root_fd, const char *rel, int flags, enum berth_untar_resolve mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_MAGICLINKS | (mode == BERTH_UNTAR_IN_ROOT ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
	};
	const char *p = rel && *rel ? rel : ".";
	for (int tries = 0; tries < 64; tries++) {
		int fd = (int)syscall(SYS_openat2, root_fd, p, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN) /* EAGAIN: a rename raced the ".." check */
			return fd;
	}
	return -1;
}

char *berth_ar_quote(const char *s)
{
	struct berth_buf b = {0};
	berth_buf_putc(&b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			berth_buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			berth_buf_printf(&b, "\\n");
		else if (*p == '\t')
			berth_buf_printf(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			berth_buf_printf(&b, "\\x%02x", *p);
		else
			berth_buf_putc(&b, (char)*p);
	}
	berth_buf_putc(&b, '"');
	return berth_buf_steal(&b);
}

const char *berth_ar_errstr(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] && buf[1] && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* ------------------------------------------------------------ path rules */

char *berth_cp_clean(const char *path)
{
	size_t n = strlen(path);
	bool rooted = n > 0 && path[0] == '/';
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t o = 0, dotdot = 0; /* dotdot: where ".." may no longer be backtracked */
	if (rooted) {
		out[o++] = '/';
		dotdot = 1;
	}
	size_t r = rooted ? 1 : 0;
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (o > dotdot) {
				o--;
				while (o > dotdot && out[o] != '/')
					o--;
			} else if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
		} else {
			if ((rooted && o != 1) || (!rooted && o != 0))
				out[o++] = '/';
			while (r < n && path[r] != '/')
				out[o++] = path[r++];
		}
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

static bool has_trailing_sep(const char *p)
{
	size_t n = strlen(p);
	return n > 0 && p[n - 1] == '/';
}

/* Go's filepath.Base. */
char *berth_ar_base(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return strdup(".");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return strdup("/");
	size_t s = n;
	while (s > 0 && p[s - 1] != '/')
		s--;
	return strndup(p + s, n - s);
}

static bool specifies_current_dir(const char *p)
{
	cleanup_free char *b = berth_ar_base(p);
	return b && !strcmp(b, ".");
}

char *berth_cp_preserve_trailing(const char *cleaned, const char *original)
{
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s", cleaned);
	if (!specifies_current_dir(cleaned) && specifies_current_dir(original)) {
		if (!has_trailing_sep(berth_buf_str(&b)))
			berth_buf_putc(&b, '/');
		berth_buf_putc(&b, '.');
	}
	if (!has_trailing_sep(berth_buf_str(&b)) && has_trailing_sep(original))
		berth_buf_putc(&b, '/');
	return berth_buf_steal(&b);
}

int berth_cp_split(const char *path, char **dir, char **base)
{
	*dir = *base = NULL;
	cleanup_free char *c = berth_cp_clean(path);
	if (!c)
		return -1;
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s", c);
	if (specifies_current_dir(path))
		berth_buf_printf(&b, "/.");
	cleanup_free char *p = berth_buf_steal(&b);
	if (!p)
		return -1;
	/* filepath.Dir: everything up to the last separator, cleaned */
	char *slash = strrchr(p, '/');
	if (!slash) {
		*dir = strdup(".");
	} else {
		cleanup_free char *d = strndup(p, (size_t)(slash - p) + 1);
		*dir = d ? berth_cp_clean(d) : NULL;
	}
	*base = berth_ar_base(p);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		return -1;
	}
	return 0;
}

char *berth_cp_container_abs(const char *path)
{
	cleanup_free char *j = berth_strdup_printf("/%s", path);
	cleanup_free char *c = j ? berth_cp_clean(j) : NULL;
	return c ? berth_cp_preserve_trailing(c, path) : NULL;
}

/* ------------------------------------------------------------ tar writing */

#define TW_BUF (256 * 1024)

struct tw {
	struct archive *a;
	struct berth_writer *out;
	struct berth_error *err;
	struct berth_strmap inodes; /* "dev:ino" -> index in links */
	char **links;
	size_t nlinks;
	char *buf;
	bool out_failed;
	const struct berth_tar_subst *subst;
	size_t nsubst;
};

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

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entry names of the directory fd (the fd stays open). NULL + errno on failure. */
static char **sorted_names(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return NULL;
	}
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = realloc(v, cap * sizeof(char *));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = strdup(e->d_name);
		v[n] = NULL;
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(char *));
	if (v)
		qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

/* One entry. fd: open fd of the file when it is a regular file or
 * directory (for data and xattrs), else -1 and (dirfd, base) names it. */
static int tw_entry(struct tw *t, int dirfd, const char *base, int fd, const struct stat *st, const char *name)
{
	cleanup_free char *ename = NULL;
	if (S_ISDIR(st->st_mode) && !has_trailing_sep(name))
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
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	char cap[512];
	ssize_t capn = fd >= 0 ? fgetxattr(fd, "security.capability", cap, sizeof(cap)) :
				 (S_ISLNK(st->st_mode) ?
					  -1 :
					  berth_lgetxattr_at(dirfd, base, "security.capability", cap, sizeof(cap)));
	if (capn > 0)
		archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)capn);
	int rc = 0;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		char key[64];
		snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
		int64_t idx;
		if (berth_strmap_get(&t->inodes, key, &idx)) {
			if (!archive_entry_update_hardlink_utf8(e, t->links[idx]))
				archive_entry_copy_hardlink(e, t->links[idx]);
			archive_entry_set_size(e, 0);
			if (archive_write_header(t->a, e) < ARCHIVE_WARN)
				rc = tw_fail(t, "header", ename);
			archive_entry_free(e);
			return rc;
		}
		if (berth_strv_push(&t->links, ename) < 0 ||
		    berth_strmap_put(&t->inodes, key, (int64_t)t->nlinks) < 0) {
			archive_entry_free(e);
			return berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
		}
		t->nlinks++;
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
	char **names = sorted_names(dirfd);
	if (!names)
		return berth_err_sys(t->err, BERTH_E_INTERNAL, errno, "read directory %s", prefix ? prefix : "/");
	int rc = 0;
	for (size_t i = 0; names[i] && rc == 0; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		cleanup_free char *name = child_name(prefix, names[i]);
		if (!name)
			rc = berth_err(t->err, BERTH_E_INTERNAL, "out of memory");
		else
			rc = tw_add_at(t, dirfd, names[i], name, &st, depth);
	}
	berth_strv_free(names);
	return rc;
}

int berth_tar_write(const struct berth_tar_src *src, struct berth_writer *out, struct berth_error *err)
{
	struct tw t = {.out = out, .err = err, .subst = src->subst, .nsubst = src->nsubst};
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
		if (rc == 0 && fd >= 0)
			rc = tw_walk(&t, fd, src->name, 0);
	}
	if (archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
		rc = tw_fail(&t, "end", "");
out:
	if (t.a)
		archive_write_free(t.a);
	berth_strmap_free(&t.inodes);
	berth_strv_free(t.links);
	free(t.buf);
	return rc;
}
