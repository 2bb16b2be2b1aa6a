/* Layer tar extraction with safe path resolution and tar-split recording. */
#include "storage/tar_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive/tar.h"
#include "archive/tar_in.h"
#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/tar_split.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define QUEUE_MAX (64u << 20) /* raw bytes kept for tar-split between two file contents */

struct dirtime {
	char *path;
	struct timespec ts[2];
};

struct apply_ctx {
	int root_fd;
	const struct berth_tar_apply_opts *opts;
	struct berth_decompressor *dc;
	struct berth_error *err;
	struct berth_tarin *tar;
	struct berth_error terr; /* the tar reader's (err may hold a read error meanwhile) */
	bool read_failed;
	unsigned char chunk[65536];
	/* tar-split: raw bytes [qbase, qbase + qlen) not yet recorded */
	struct berth_tarsplit_writer *ts;
	unsigned char *q;
	size_t qlen, qcap;
	uint64_t qbase, skip_until, read_pos;
	struct berth_strmap written; /* paths this layer wrote: 1 = file recorded by reference */
	struct dirtime *dirs;
	size_t ndirs, capdirs;
	char *cached_dir;
	int cached_fd;
	int64_t size, entries;
	int64_t nrecorded; /* file records written so far (their ordinals start at 1) */
	bool ts_broken;
};

/* ---- raw stream queue ---- */

static int queue_append(struct apply_ctx *c, const unsigned char *data, size_t n)
{
	uint64_t start = c->read_pos;
	c->read_pos += n;
	if (!c->ts)
		return 0;
	if (c->read_pos <= c->skip_until)
		return 0;
	if (start < c->skip_until) {
		data += c->skip_until - start;
		n -= (size_t)(c->skip_until - start);
	}
	if (c->qlen + n > QUEUE_MAX)
		return berth_err(c->err, BERTH_E_INVALID, "tar stream: too much non-file data to record");
	if (c->qlen + n > c->qcap) {
		size_t ncap = c->qcap ? c->qcap : 65536;
		while (ncap < c->qlen + n)
			ncap *= 2;
		unsigned char *nq = realloc(c->q, ncap);
		if (!nq)
			return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
		c->q = nq;
		c->qcap = ncap;
	}
	memcpy(c->q + c->qlen, data, n);
	c->qlen += n;
	return 0;
}

/* Record [qbase, pos) as raw bytes and [pos, pos + size) as rel's content. */
static int queue_file(struct apply_ctx *c, uint64_t pos, uint64_t size, const char *rel)
{
	if (pos < c->qbase || pos > c->qbase + c->qlen)
		return berth_err(c->err, BERTH_E_INTERNAL, "tar-split: lost track of the stream position");
	size_t head = (size_t)(pos - c->qbase);
	if (berth_tarsplit_segment(c->ts, c->q, head, c->err) < 0 || berth_tarsplit_file(c->ts, rel, size, c->err) < 0)
		return -1;
	size_t have = c->qlen - head;
	size_t drop = (uint64_t)have < size ? have : (size_t)size;
	memmove(c->q, c->q + head + drop, have - drop);
	c->qlen = have - drop;
	c->qbase = pos + size;
	if (c->qlen == 0)
		c->skip_until = pos + size;
	return 0;
}

/* The tar reader's source: the decompressed stream, queued for tar-split. */
static ssize_t read_cb(void *ctx, void *buf, size_t len)
{
	struct apply_ctx *c = ctx;
	ssize_t n = berth_decompressor_read(c->dc, buf, len, c->err);
	if (n < 0 || queue_append(c, buf, n > 0 ? (size_t)n : 0) < 0) {
		c->read_failed = true;
		errno = EIO;
		return -1;
	}
	return n;
}

/* Keep the content of file record `ordinal` (the file at rel) in the
 * tar-split side directory "<record>.dup/<ordinal>", so export still has the
 * bytes after the layer replaced or deleted the file. */
static int save_dup(struct apply_ctx *c, const char *rel, int64_t ordinal)
{
	cleanup_free char *dir = berth_strdup_printf("%s" BERTH_TARSPLIT_DUP_SUFFIX, c->opts->tarsplit_path);
	if (!dir || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return -1;
	cleanup_free char *dst = berth_strdup_printf("%s/%lld", dir, (long long)ordinal);
	cleanup_close int in = berth_open_beneath(c->root_fd, rel, O_RDONLY);
	if (!dst || in < 0)
		return -1;
	cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	char buf[16384];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (berth_write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
	return fsync(out);
}

/* A file this layer recorded by reference is being removed or replaced (or
 * a directory holding such files): save their bytes for export. If that
 * fails, give up on the exact record. */
static void note_removed(struct apply_ctx *c, const char *rel, bool was_dir)
{
	if (!c->ts)
		return;
	int64_t v;
	bool ok = true;
	if (berth_strmap_get(&c->written, rel, &v) && v >= 1) {
		ok = save_dup(c, rel, v) == 0;
		if (ok)
			berth_strmap_put(&c->written, rel, 0);
	}
	if (was_dir && ok) {
		size_t rl = strlen(rel);
		for (size_t i = 0; ok && i < c->written.cap; i++) {
			const char *k = c->written.keys[i];
			if (!k || c->written.vals[i] < 1 || strncmp(k, rel, rl) != 0 || (rl && k[rl] != '/'))
				continue;
			ok = save_dup(c, k, c->written.vals[i]) == 0;
			if (ok)
				c->written.vals[i] = 0;
		}
	}
	if (!ok) {
		berth_tarsplit_writer_free(c->ts);
		c->ts = NULL;
		c->ts_broken = true;
	}
}

/* ---- path helpers ---- */

static void drop_cache(struct apply_ctx *c)
{
	free(c->cached_dir);
	c->cached_dir = NULL;
	if (c->cached_fd >= 0)
		close(c->cached_fd);
	c->cached_fd = -1;
}

static int parent_error(struct apply_ctx *c, const char *name, int e)
{
	if (e == ELOOP)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: a parent directory is a symlink",
				 name);
	if (e == ENOTDIR)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: a parent is not a directory", name);
	return berth_err_sys(c->err, BERTH_E_INTERNAL, e, "tar entry %s", name);
}

/* fd of directory dir (created if missing); owned by the cache. */
static int get_dir(struct apply_ctx *c, const char *dir, const char *name)
{
	if (c->cached_dir && !strcmp(c->cached_dir, dir))
		return c->cached_fd;
	drop_cache(c);
	/* parents the tar implies (no entry of their own) belong to the
	 * container's root: the remapped one under --userns-remap */
	bool remap = berth_idmap_enabled(c->opts->idmap);
	int fd = berth_open_dir_beneath_owned(c->root_fd, dir, true,
					      remap ? berth_idmap_root_uid(c->opts->idmap) : (uid_t)-1,
					      remap ? berth_idmap_root_gid(c->opts->idmap) : (gid_t)-1);
	if (fd < 0)
		return parent_error(c, name, errno);
	c->cached_dir = strdup(dir);
	if (!c->cached_dir) {
		close(fd);
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	}
	c->cached_fd = fd;
	return fd;
}

static int defer_dir_time(struct apply_ctx *c, const char *rel, const struct berth_tarin_entry *e)
{
	if (c->ndirs == c->capdirs) {
		size_t ncap = c->capdirs ? c->capdirs * 2 : 64;
		struct dirtime *nd = realloc(c->dirs, ncap * sizeof(*nd));
		if (!nd)
			return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
		c->dirs = nd;
		c->capdirs = ncap;
	}
	struct dirtime *d = &c->dirs[c->ndirs];
	d->path = strdup(rel);
	if (!d->path)
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	berth_tarin_times(e, d->ts);
	c->ndirs++;
	return 0;
}

static bool xattr_allowed(const char *key)
{
	if (!strcmp(key, "security.capability"))
		return true;
	if (berth_str_has_prefix(key, "user."))
		return true;
	return berth_str_has_prefix(key, "trusted.") && !berth_str_has_prefix(key, "trusted.overlay.");
}

/* Owner, mode, xattrs and (non-directory) times of (dfd, base); fd is the
 * open regular file or -1. */
static int set_meta(struct apply_ctx *c, int dfd, const char *base, int fd, const struct berth_tarin_entry *e,
		    const char *name)
{
	int64_t uid = e->uid, gid = e->gid;
	if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: bad owner %lld:%lld", name,
				 (long long)uid, (long long)gid);
	bool is_link = e->type == '2';
	uint32_t hu = (uint32_t)uid, hg = (uint32_t)gid;
	berth_idmap_shift(c->opts->idmap, &hu, &hg); /* --userns-remap */
	int r = fd >= 0 ? fchown(fd, hu, hg) : fchownat(dfd, base, hu, hg, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "chown %s", name);
	if (!is_link) {
		mode_t perm = e->mode & 07777;
		r = fd >= 0 ? fchmod(fd, perm) : berth_ar_chmod_nofollow(dfd, base, perm);
		if (r < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "chmod %s", name);
	}
	for (size_t i = 0; i < e->nxattrs; i++) {
		const char *key = e->xattrs[i].key;
		const void *val = e->xattrs[i].val;
		size_t vlen = e->xattrs[i].len;
		if (!xattr_allowed(key))
			continue;
		r = fd >= 0 ? fsetxattr(fd, key, val, vlen, 0) : berth_lsetxattr_at(dfd, base, key, val, vlen);
		if (r < 0 && errno != ENOTSUP && errno != EPERM)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "set xattr %s on %s", key, name);
	}
	if (e->type == '5')
		return 0; /* after all children, see finish_dir_times */
	struct timespec ts[2];
	berth_tarin_times(e, ts);
	r = fd >= 0 ? futimens(fd, ts) : utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && errno != EOPNOTSUPP)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "set times of %s", name);
	return 0;
}

/* ---- whiteouts ---- */

static int apply_opaque(struct apply_ctx *c, const char *dir, const char *name)
{
	int dfd = get_dir(c, dir, name);
	if (dfd < 0)
		return -1;
	if (c->opts->whiteout == BERTH_WHITEOUT_OVERLAY) {
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "mark %s opaque", dir);
		return 0;
	}
	/* Delete what lower layers had here, keep what this layer wrote. */
	cleanup_close int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "open %s", dir);
	DIR *d = fdopendir(lfd);
	if (!d)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "open %s", dir);
	lfd = -1;
	char **victims = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *rel = *dir ? berth_strdup_printf("%s/%s", dir, de->d_name) : strdup(de->d_name);
		if (rel && !berth_strmap_get(&c->written, rel, NULL))
			berth_strv_push(&victims, de->d_name);
	}
	closedir(d);
	int rc = 0;
	for (size_t i = 0; victims && victims[i]; i++) {
		if (berth_rm_rf_at(dfd, victims[i]) < 0) {
			rc = berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "remove %s/%s", dir, victims[i]);
			break;
		}
	}
	berth_strv_free(victims);
	drop_cache(c);
	return rc;
}

static int apply_whiteout(struct apply_ctx *c, const char *dir, const char *target, const struct berth_tarin_entry *e,
			  const char *name)
{
	if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
		return berth_err(c->err, BERTH_E_INVALID, "invalid whiteout %s", name);
	cleanup_free char *trel = *dir ? berth_strdup_printf("%s/%s", dir, target) : strdup(target);
	if (!trel)
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	if (c->opts->whiteout == BERTH_WHITEOUT_DELETE) {
		cleanup_close int dfd = berth_open_dir_beneath(c->root_fd, dir, false);
		if (dfd < 0)
			return errno == ENOENT ? 0 : parent_error(c, name, errno);
		struct stat tst;
		if (fstatat(dfd, target, &tst, AT_SYMLINK_NOFOLLOW) == 0)
			note_removed(c, trel, S_ISDIR(tst.st_mode));
		if (berth_rm_rf_at(dfd, target) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "remove %s", name);
		drop_cache(c);
		return 0;
	}
	int dfd = get_dir(c, dir, name);
	if (dfd < 0)
		return -1;
	struct stat st;
	if (fstatat(dfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		note_removed(c, trel, S_ISDIR(st.st_mode));
		if (berth_rm_rf_at(dfd, target) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "remove %s", name);
		if (S_ISDIR(st.st_mode)) {
			drop_cache(c);
			if ((dfd = get_dir(c, dir, name)) < 0)
				return -1;
		}
	}
	if (mknodat(dfd, target, S_IFCHR | 0, makedev(0, 0)) < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "create whiteout for %s", name);
	int64_t uid = e->uid, gid = e->gid;
	if (uid >= 0 && gid >= 0 && uid < UINT32_MAX && gid < UINT32_MAX) {
		uint32_t hu = (uint32_t)uid, hg = (uint32_t)gid;
		berth_idmap_shift(c->opts->idmap, &hu, &hg);
		fchownat(dfd, target, hu, hg, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

/* ---- entries ---- */

/* docker cleans a member name and joins it to the layer root, so "/etc/x"
 * lands at etc/x and ".." directly below "/" stays at the root. Relative
 * names are returned as they are (berth_path_clean refuses escapes). */
static char *root_relative(const char *name)
{
	if (name[0] != '/')
		return strdup(name);
	size_t n = strlen(name);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		const char *q = p;
		while (*q && *q != '/')
			q++;
		size_t len = (size_t)(q - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p = q;
	}
	out[o] = '\0';
	return out;
}

static char *clean_member(const char *name)
{
	cleanup_free char *r = root_relative(name);
	return r ? berth_path_clean(r) : NULL;
}

/* The entry's data into fd at the offsets it gives (holes of sparse
 * entries kept), fd then extended to size. */
static int write_data(struct apply_ctx *c, int fd, int64_t size, const char *name)
{
	int64_t end = 0;
	for (;;) {
		const void *buf;
		size_t len;
		int64_t off;
		int r = berth_tarin_block(c->tar, &buf, &len, &off, &c->terr);
		if (r < 0) {
			if (c->read_failed)
				return berth_err_prefix(c->err, "tar entry %s", name);
			return berth_err(c->err, BERTH_E_INVALID, "tar entry %s: %s", name, c->terr.msg);
		}
		if (r == 0)
			break;
		if (off < 0 || (int64_t)len > size || off > size - (int64_t)len)
			return berth_err(c->err, BERTH_E_INVALID, "tar entry %s: data beyond its size", name);
		if (off + (int64_t)len > end)
			end = off + (int64_t)len;
		for (const char *p = buf; len > 0;) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return berth_err_sys(c->err, BERTH_E_INTERNAL, n ? errno : EIO, "write %s", name);
			p += n;
			off += n;
			len -= (size_t)n;
		}
	}
	if (size > end && ftruncate(fd, size) < 0)
		return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "write %s", name);
	return 0;
}

static int make_node(struct apply_ctx *c, const struct berth_tarin_entry *e, int dfd, const char *base, const char *rel,
		     const char *name)
{
	if (e->type == '1') {
		const char *hardlink = e->linkname;
		cleanup_free char *target = clean_member(hardlink);
		if (!target || !*target)
			return berth_err(c->err, BERTH_E_INVALID,
					 "invalid tar entry %s: hard link target %s is outside the layer", name,
					 hardlink);
		cleanup_free char *tdir = NULL;
		const char *tbase;
		if (berth_path_split(target, &tdir, &tbase) < 0)
			return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
		cleanup_close int tfd = berth_open_dir_beneath(c->root_fd, tdir, false);
		if (tfd < 0)
			return errno == ENOENT ? berth_err(c->err, BERTH_E_INVALID,
							   "invalid tar entry %s: hard link target %s does not exist",
							   name, hardlink) :
						 parent_error(c, name, errno);
		struct stat tst;
		if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(tst.st_mode))
			return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: bad hard link target %s", name,
					 hardlink);
		if (linkat(tfd, tbase, dfd, base, 0) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "link %s", name);
		return 0;
	}
	switch (e->type) {
	case '0': {
		int64_t size = e->size;
		cleanup_close int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "create %s", name);
		int64_t recorded = 0;
		if (c->ts && size > 0 && !e->is_sparse) {
			if (queue_file(c, e->data_offset, (uint64_t)size, rel) < 0)
				return -1;
			recorded = ++c->nrecorded;
		}
		if (write_data(c, fd, size, name) < 0)
			return -1;
		c->size += size;
		if (set_meta(c, dfd, base, fd, e, name) < 0)
			return -1;
		return berth_strmap_put(&c->written, rel, recorded) < 0 ?
			       berth_err(c->err, BERTH_E_INTERNAL, "out of memory") :
			       1;
	}
	case '5':
		if (mkdirat(dfd, base, 0700) < 0 && errno != EEXIST)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "mkdir %s", name);
		return 0;
	case '2': {
		const char *target = e->linkname;
		if (!*target)
			return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: empty symlink target", name);
		if (symlinkat(target, dfd, base) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "symlink %s", name);
		c->size += (int64_t)strlen(target); /* docker's layer size counts symlinks (du-style) */
		return 0;
	}
	case '3':
	case '4':
	case '6': {
		mode_t type = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
		if (mknodat(dfd, base, type | 0600, makedev(e->devmajor, e->devminor)) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "mknod %s", name);
		return 0;
	}
	default:
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: unsupported file type %c", name,
				 e->type);
	}
}

static int apply_entry(struct apply_ctx *c, const struct berth_tarin_entry *e)
{
	const char *name = e->path;
	if (!*name)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry: empty name");
	cleanup_free char *rel = clean_member(name);
	if (!rel)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: path escapes the layer root", name);
	if (strlen(rel) >= PATH_MAX)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry: path too long");
	int64_t size = e->size;
	if (size < 0 || size > BERTH_TAR_MAX_ENTRY_SIZE)
		return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: size %lld out of range", name,
				 (long long)size);
	c->entries++;
	bool is_dir = e->type == '5', hard = e->type == '1';

	if (!*rel) { /* the root itself ("./") */
		if (!is_dir)
			return berth_err(c->err, BERTH_E_INVALID, "invalid tar entry %s: root is not a directory",
					 name);
		if (set_meta(c, c->root_fd, ".", -1, e, name) < 0)
			return -1;
		return defer_dir_time(c, "", e);
	}
	cleanup_free char *dir = NULL;
	const char *base;
	if (berth_path_split(rel, &dir, &base) < 0)
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");

	if (berth_str_has_prefix(base, WH_PREFIX)) {
		if (!strcmp(base, WH_OPAQUE))
			return apply_opaque(c, dir, name);
		if (berth_str_has_prefix(base, WH_META_PREFIX))
			return 0; /* aufs metadata: ignored, as docker does */
		return apply_whiteout(c, dir, base + strlen(WH_PREFIX), e, name);
	}

	int dfd = get_dir(c, dir, name);
	if (dfd < 0)
		return -1;
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(S_ISDIR(st.st_mode) && is_dir)) {
		note_removed(c, rel, S_ISDIR(st.st_mode));
		if (berth_rm_rf_at(dfd, base) < 0)
			return berth_err_sys(c->err, BERTH_E_INTERNAL, errno, "replace %s", name);
		if (S_ISDIR(st.st_mode)) {
			drop_cache(c);
			if ((dfd = get_dir(c, dir, name)) < 0)
				return -1;
		}
	}
	int r = make_node(c, e, dfd, base, rel, name);
	if (r < 0)
		return -1;
	if (r == 1)
		return 0; /* regular file: done (metadata set on its fd) */
	if (!hard && set_meta(c, dfd, base, -1, e, name) < 0)
		return -1;
	if (is_dir && defer_dir_time(c, rel, e) < 0)
		return -1;
	if (!berth_strmap_get(&c->written, rel, NULL) && berth_strmap_put(&c->written, rel, 0) < 0)
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

static void finish_dir_times(struct apply_ctx *c)
{
	/* deepest first does not matter: setting a dir's times does not touch its parent */
	for (size_t i = c->ndirs; i-- > 0;) {
		int fd = berth_open_dir_beneath(c->root_fd, c->dirs[i].path, false);
		if (fd < 0)
			continue;
		futimens(fd, c->dirs[i].ts);
		close(fd);
	}
}

static int run_archive(struct apply_ctx *c)
{
	struct berth_reader src = {.read = read_cb, .ctx = c}; /* decompressed here, see read_cb */
	c->tar = berth_tarin_new(&src);
	if (!c->tar)
		return berth_err(c->err, BERTH_E_INTERNAL, "out of memory");
	int rc = 0;
	for (;;) {
		struct berth_tarin_entry *e;
		int r = berth_tarin_next(c->tar, &e, &c->terr);
		if (r == 0)
			break;
		if (r < 0) {
			rc = c->read_failed ? -1 :
					      berth_err(c->err, c->terr.kind, "invalid layer tar: %s", c->terr.msg);
			break;
		}
		if (apply_entry(c, e) < 0) {
			rc = -1;
			break;
		}
	}
	berth_tarin_free(c->tar);
	c->tar = NULL;
	return rc;
}

int berth_tar_apply(int root_fd, struct berth_reader *in, const struct berth_tar_apply_opts *opts,
		    struct berth_tar_apply_result *res, struct berth_error *err)
{
	/* The context (64 KiB read buffer) lives on the heap: callers run on small thread stacks. */
	struct apply_ctx *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct apply_ctx *c = cp;
	c->root_fd = root_fd;
	c->opts = opts;
	c->err = err;
	c->cached_fd = -1;
	struct berth_error local;
	if (!c->err)
		c->err = &local;
	memset(res, 0, sizeof(*res));
	int rc = -1;
	c->dc = berth_decompressor_new(in, c->err);
	if (!c->dc)
		goto out;
	if (opts->tarsplit_path && !(c->ts = berth_tarsplit_writer_new(opts->tarsplit_path, c->err)))
		goto out;
	if (run_archive(c) < 0)
		goto out;
	drop_cache(c);
	finish_dir_times(c);
	/* Everything after the end-of-archive blocks still counts for the digest. */
	for (;;) {
		ssize_t n = berth_decompressor_read(c->dc, c->chunk, sizeof(c->chunk), c->err);
		if (n < 0 || queue_append(c, c->chunk, n > 0 ? (size_t)n : 0) < 0)
			goto out;
		if (n == 0)
			break;
	}
	if (berth_decompressor_finish(c->dc, res->diff_id, &res->tar_size, c->err) < 0)
		goto out;
	if (c->ts && (berth_tarsplit_segment(c->ts, c->q, c->qlen, c->err) < 0 ||
		      berth_tarsplit_writer_finish(c->ts, (uint64_t)res->tar_size, c->err) < 0))
		goto out;
	res->exact_record = c->ts != NULL;
	res->size = c->size;
	res->entries = c->entries;
	res->compression = berth_decompressor_kind(c->dc);
	rc = 0;
out:
	drop_cache(c);
	berth_tarsplit_writer_free(c->ts);
	berth_decompressor_free(c->dc);
	berth_strmap_free(&c->written);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	free(c->q);
	free(c);
	return rc;
}
