/* Tar extraction into a directory through fds (docker's pkg/archive Unpack
 * rules; see tar.h for the safety model). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#define UX_BUF (256 * 1024)

struct dirtime {
	char *rel;
	struct timespec ts[2];
};

struct ux {
	int root_fd;
	const char *dest; /* relative to root_fd, "" for root_fd */
	const char *shown;
	const struct berth_untar_opts *o;
	struct berth_error *err;
	char *cache_rel; /* parent directory cache */
	int cache_fd;
	struct dirtime *dirs;
	size_t ndirs, capdirs;
};

/* ---------------------------------------------------------------- names */

static char *join_rel(const char *a, const char *b)
{
	if (!*a)
		return strdup(b);
	if (!*b)
		return strdup(a);
	return berth_strdup_printf("%s/%s", a, b);
}

/* docker's RebaseArchiveEntries on one name. */
static char *rebase(const struct berth_untar_opts *o, const char *name)
{
	if (!o->rebase_to)
		return strdup(name);
	const char *from = o->rebase_from ? o->rebase_from : "";
	if (!strcmp(from, "/"))
		from = "";
	size_t n = strlen(from);
	if (strncmp(name, from, n))
		return strdup(name);
	return berth_strdup_printf("%s%s", o->rebase_to, name + n);
}

/* Go's filepath.Join(dest, p) for messages. */
static char *shown_join(const char *dest, const char *p)
{
	cleanup_free char *j = berth_strdup_printf("%s/%s", dest, p);
	return j ? berth_cp_clean(j) : NULL;
}

/* Where a cleaned name lands below dest: "" for dest itself, NULL when it
 * leaves dest (the cleaned path starts with ".."). */
static char *below(const char *cleaned)
{
	if (cleaned[0] == '/')
		return strdup(cleaned + 1);
	if (!strcmp(cleaned, ".."))
		return NULL;
	if (!strncmp(cleaned, "../", 3))
		return NULL;
	if (!strcmp(cleaned, "."))
		return strdup("");
	return strdup(cleaned);
}

struct ux_names {
	char *rel;  /* below dest ("" = dest) */
	char *hard; /* hard link target below dest, or NULL */
};

static void names_free(struct ux_names *n)
{
	free(n->rel);
	free(n->hard);
	n->rel = n->hard = NULL;
}

static int ux_fail(struct ux *u, const char *fmt, const char *a, const char *b)
{
	cleanup_free char *qa = berth_ar_quote(a ? a : "");
	cleanup_free char *qb = berth_ar_quote(b ? b : "");
	return berth_err(u->err, BERTH_E_INTERNAL, fmt, qa, qb);
}

/* Validate one header and work out where it goes. */
static int ux_check(struct ux *u, struct archive_entry *e, struct ux_names *n)
{
	memset(n, 0, sizeof(*n));
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		raw = archive_entry_pathname_utf8(e);
	if (!raw)
		return berth_err(u->err, BERTH_E_INTERNAL, "archive/tar: invalid entry name");
	cleanup_free char *rb = rebase(u->o, raw);
	cleanup_free char *cleaned = rb ? berth_cp_clean(rb) : NULL;
	if (!cleaned)
		return berth_err(u->err, BERTH_E_INTERNAL, "out of memory");
	n->rel = below(cleaned);
	if (!n->rel)
		return ux_fail(u, "%s is outside of %s", cleaned, u->shown);
	if (strlen(n->rel) >= PATH_MAX - strlen(u->dest) - 2) {
		names_free(n);
		return berth_err(u->err, BERTH_E_INTERNAL, "archive/tar: name too long");
	}
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	if (!hl)
		hl = archive_entry_hardlink_utf8(e);
	if (hl) {
		cleanup_free char *rh = rebase(u->o, hl);
		cleanup_free char *ch = rh ? berth_cp_clean(rh) : NULL;
		n->hard = ch ? below(ch) : NULL;
		if (!n->hard || !*n->hard) {
			cleanup_free char *t = shown_join(u->shown, rh ? rh : hl);
			names_free(n);
			return ux_fail(u, "invalid hardlink %s -> %s", t, rh ? rh : hl);
		}
		return 0;
	}
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		if (!target)
			target = archive_entry_symlink_utf8(e);
		if (!target) {
			names_free(n);
			return berth_err(u->err, BERTH_E_INTERNAL, "archive/tar: invalid symlink target");
		}
		if (target[0] != '/') {
			/* docker: the target, taken from the link's directory, must stay in dest */
			cleanup_free char *dir = NULL, *base = NULL;
			cleanup_free char *p = berth_strdup_printf("/%s", n->rel);
			if (!p || berth_cp_split(p, &dir, &base) < 0) {
				names_free(n);
				return berth_err(u->err, BERTH_E_INTERNAL, "out of memory");
			}
			cleanup_free char *j = dir[1] ? berth_strdup_printf("%s/%s", dir + 1, target) : strdup(target);
			cleanup_free char *c = j ? berth_cp_clean(j) : NULL;
			if (!c || !strcmp(c, "..") || !strncmp(c, "../", 3) || c[0] == '/') {
				cleanup_free char *t = shown_join(u->shown, n->rel);
				names_free(n);
				return ux_fail(u, "invalid symlink %s -> %s", t, target);
			}
		}
		return 0;
	}
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFCHR && type != AE_IFBLK && type != AE_IFIFO) {
		names_free(n);
		return berth_err(u->err, BERTH_E_INTERNAL, "unhandled tar header type %d", (int)(type >> 12));
	}
	return 0;
}

/* ------------------------------------------------------------ directories */

/* Open dest/rel (a directory), making missing components 0755. */
static int open_dir(struct ux *u, const char *rel, int depth)
{
	cleanup_free char *full = join_rel(u->dest, rel);
	if (!full)
		return -1;
	int fd = berth_ar_open(u->root_fd, full, O_PATH | O_DIRECTORY, u->o->resolve);
	if (fd >= 0 || errno != ENOENT || !*rel || depth > 256)
		return fd;
	cleanup_free char *copy = strdup(rel);
	if (!copy)
		return -1;
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	cleanup_close int pfd = open_dir(u, slash ? copy : "", depth + 1);
	if (pfd < 0)
		return -1;
	if (mkdirat(pfd, base, 0755) < 0) {
		if (errno != EEXIST)
			return -1;
	} else if (berth_idmap_enabled(u->o->idmap) && !u->o->no_lchown &&
		   fchownat(pfd, base, berth_idmap_root_uid(u->o->idmap), berth_idmap_root_gid(u->o->idmap),
			    AT_SYMLINK_NOFOLLOW) < 0) {
		return -1; /* made by docker's MkdirAllAndChownNew with the remapped root */
	}
	return berth_ar_open(u->root_fd, full, O_PATH | O_DIRECTORY, u->o->resolve);
}

/* The parent directory fd of rel (cached; do not close). */
static int parent_fd(struct ux *u, const char *parent)
{
	if (u->cache_fd >= 0 && u->cache_rel && !strcmp(u->cache_rel, parent))
		return u->cache_fd;
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	free(u->cache_rel);
	u->cache_rel = strdup(parent);
	u->cache_fd = u->cache_rel ? open_dir(u, parent, 0) : -1;
	if (u->cache_fd >= 0 && u->o->no_kernel_fs && berth_ar_kernel_fs(u->cache_fd)) {
		close(u->cache_fd);
		u->cache_fd = -1;
		errno = EROFS;
	}
	if (u->cache_fd < 0) {
		int e = errno;
		free(u->cache_rel);
		u->cache_rel = NULL;
		errno = e;
	}
	return u->cache_fd;
}

static void drop_cache(struct ux *u)
{
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	u->cache_fd = -1;
	free(u->cache_rel);
	u->cache_rel = NULL;
}

/* ------------------------------------------------------------- metadata */

/* Owner, xattrs, mode and times of (pfd, base); fd, when >= 0, is the
 * created regular file. rel names it below dest, shown in messages. */
static int set_meta(struct ux *u, struct archive_entry *e, int pfd, const char *base, int fd, const char *rel,
		    const char *shown)
{
	mode_t type = archive_entry_filetype(e);
	bool link = archive_entry_hardlink(e) || archive_entry_hardlink_utf8(e);
	char eb[128];
	if (!u->o->no_lchown) {
		uint32_t uid = u->o->chown ? u->o->uid : (uint32_t)archive_entry_uid(e);
		uint32_t gid = u->o->chown ? u->o->gid : (uint32_t)archive_entry_gid(e);
		berth_idmap_shift(u->o->idmap, &uid, &gid); /* --userns-remap */
		int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return berth_err(u->err, BERTH_E_INTERNAL, "lchown %s: %s", shown,
					 berth_ar_errstr(errno, eb, sizeof(eb)));
	}
	const char *xname;
	const void *xval;
	size_t xlen;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
		int r = fd >= 0 ? fsetxattr(fd, xname, xval, xlen, 0) :
				  berth_ar_setxattr_at(pfd, base, xname, xval, xlen);
		if (r < 0 && errno != ENOTSUP && errno != EPERM)
			return berth_err(u->err, BERTH_E_INTERNAL, "lsetxattr %s %s: %s", xname, shown,
					 berth_ar_errstr(errno, eb, sizeof(eb)));
	}
	if (type != AE_IFLNK || link) {
		mode_t perm = archive_entry_perm(e) & 07777;
		int r = fd >= 0 ? fchmod(fd, perm) : berth_ar_chmod_nofollow(pfd, base, perm);
		if (r < 0)
			return berth_err(u->err, BERTH_E_INTERNAL, "chmod %s: %s", shown,
					 berth_ar_errstr(errno, eb, sizeof(eb)));
	}
	struct timespec ts[2];
	berth_tar_entry_times(e, ts);
	if (type == AE_IFDIR && !link) { /* set last, after everything inside was written */
		if (u->ndirs == u->capdirs) {
			size_t nc = u->capdirs ? u->capdirs * 2 : 64;
			struct dirtime *nd = realloc(u->dirs, nc * sizeof(*nd));
			if (!nd)
				return berth_err(u->err, BERTH_E_INTERNAL, "out of memory");
			u->dirs = nd;
			u->capdirs = nc;
		}
		u->dirs[u->ndirs].rel = strdup(rel);
		memcpy(u->dirs[u->ndirs].ts, ts, sizeof(ts));
		if (u->dirs[u->ndirs].rel)
			u->ndirs++;
		return 0;
	}
	int r = fd >= 0 ? futimens(fd, ts) : utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && errno != ENOTSUP)
		return berth_err(u->err, BERTH_E_INTERNAL, "chtimes %s: %s", shown,
				 berth_ar_errstr(errno, eb, sizeof(eb)));
	return 0;
}

/* --------------------------------------------------------------- entries */

static int write_data(struct ux *u, struct archive *a, int fd, struct archive_entry *e, const char *rel)
{
	char eb[128];
	switch (berth_tar_entry_data(a, fd, archive_entry_size_is_set(e) ? archive_entry_size(e) : -1)) {
	case 0: return 0;
	case BERTH_TAR_DATA_WRITE:
		return berth_err(u->err, BERTH_E_INTERNAL, "write %s: %s", rel, berth_ar_errstr(errno, eb, sizeof(eb)));
	case BERTH_TAR_DATA_BEYOND: return berth_err(u->err, BERTH_E_INTERNAL, "archive/tar: invalid tar header");
	default: return berth_err(u->err, BERTH_E_INTERNAL, "%s", archive_error_string(a));
	}
}

static int ux_entry(struct ux *u, struct archive *a, struct archive_entry *e)
{
	struct ux_names n;
	if (ux_check(u, e, &n) < 0)
		return -1;
	int rc = -1;
	char eb[128];
	mode_t type = archive_entry_filetype(e);
	bool is_dir = type == AE_IFDIR && !n.hard;
	cleanup_free char *shown = shown_join(u->shown, n.rel);
	cleanup_free char *parent = strdup(n.rel);
	cleanup_close int fd = -1;
	if (!shown || !parent) {
		berth_err(u->err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	if (!*n.rel) { /* dest itself: never replaced, its metadata left alone */
		if (!is_dir)
			ux_fail(u, "cannot overwrite directory %s with non-directory %s", u->shown, u->shown);
		else
			rc = 0;
		goto out;
	}
	const char *base = n.rel;
	char *slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		base = n.rel + (slash - parent) + 1;
	} else {
		parent[0] = '\0';
	}
	int pfd = parent_fd(u, parent);
	if (pfd < 0) {
		berth_err(u->err, BERTH_E_INTERNAL, "mkdir %s: %s", shown, berth_ar_errstr(errno, eb, sizeof(eb)));
		goto out;
	}
	struct stat ex;
	bool exists_dir = false;
	if (fstatat(pfd, base, &ex, AT_SYMLINK_NOFOLLOW) == 0) {
		if (u->o->no_overwrite_dir_nondir && S_ISDIR(ex.st_mode) && !is_dir) {
			ux_fail(u, "cannot overwrite directory %s with non-directory %s", shown, u->shown);
			goto out;
		}
		if (u->o->no_overwrite_dir_nondir && !S_ISDIR(ex.st_mode) && is_dir) {
			ux_fail(u, "cannot overwrite non-directory %s with directory %s", shown, u->shown);
			goto out;
		}
		exists_dir = S_ISDIR(ex.st_mode) && is_dir;
		if (!exists_dir && berth_ar_remove_at(pfd, base) < 0) {
			berth_err(u->err, BERTH_E_INTERNAL, "remove %s: %s", shown,
				  berth_ar_errstr(errno, eb, sizeof(eb)));
			goto out;
		}
	}
	int r = 0;
	mode_t perm = archive_entry_perm(e) & 07777;
	if (n.hard) {
		cleanup_free char *tdir = strdup(n.hard);
		char *ts = tdir ? strrchr(tdir, '/') : NULL;
		const char *tbase = ts ? n.hard + (ts - tdir) + 1 : n.hard;
		if (ts)
			*ts = '\0';
		else if (tdir)
			tdir[0] = '\0';
		cleanup_close int tfd = tdir ? open_dir(u, tdir, 0) : -1;
		if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0) {
			cleanup_free char *t = shown_join(u->shown, n.hard);
			berth_err(u->err, BERTH_E_INTERNAL, "link %s %s: %s", t ? t : n.hard, shown,
				  berth_ar_errstr(errno, eb, sizeof(eb)));
			goto out;
		}
	} else if (type == AE_IFDIR) {
		if (!exists_dir)
			r = mkdirat(pfd, base, perm & 0777);
	} else if (type == AE_IFREG) {
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			r = -1;
		else if (write_data(u, a, fd, e, shown) < 0)
			goto out;
	} else if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		r = symlinkat(target ? target : archive_entry_symlink_utf8(e), pfd, base);
	} else {
		dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
		r = mknodat(pfd, base, type | (perm & 0777), dev);
	}
	if (r < 0) {
		berth_err(u->err, BERTH_E_INTERNAL, "create %s: %s", shown, berth_ar_errstr(errno, eb, sizeof(eb)));
		goto out;
	}
	rc = set_meta(u, e, pfd, base, fd, n.rel, shown);
out:
	names_free(&n);
	return rc;
}

static void set_dir_times(struct ux *u)
{
	drop_cache(u);
	for (size_t i = 0; i < u->ndirs; i++) {
		char *rel = u->dirs[i].rel;
		char *slash = strrchr(rel, '/');
		if (slash)
			*slash = '\0';
		cleanup_free char *full = join_rel(u->dest, slash ? rel : "");
		cleanup_close int pfd =
			full ? berth_ar_open(u->root_fd, full, O_PATH | O_DIRECTORY, u->o->resolve) : -1;
		if (pfd >= 0)
			utimensat(pfd, slash ? slash + 1 : rel, u->dirs[i].ts, AT_SYMLINK_NOFOLLOW);
	}
}

/* ----------------------------------------------------------------- reading */

static int archive_fail(struct ux *u, struct archive *a)
{
	const char *m = archive_error_string(a);
	if (!m || strstr(m, "runcated") || strstr(m, "nrecognized archive"))
		m = "unexpected EOF";
	return berth_err(u->err, BERTH_E_INTERNAL, "%s", m);
}

/* The next header: 1, 0 at the end, -1 (err set) on a broken archive. */
static int next_entry(struct ux *u, struct archive *a, struct archive_entry **e)
{
	int h = archive_read_next_header(a, e);
	if (h == ARCHIVE_EOF)
		return 0;
	return h < ARCHIVE_WARN ? archive_fail(u, a) : 1;
}

static int open_spool(const char *dir)
{
	int fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	cleanup_free char *tmpl = berth_strdup_printf("%s/.untar-XXXXXX", dir);
	if (!tmpl)
		return -1;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/* First pass: copy the stream to the spool while checking every header. */
static int ux_validate(struct ux *u, struct berth_reader *in, int spool_fd)
{
	struct berth_tar_source r = {.in = in, .spool_fd = spool_fd, .buf = malloc(UX_BUF), .bufsize = UX_BUF};
	struct archive *a = berth_tar_reader_new(true);
	int rc = 0;
	if (!a || !r.buf) {
		rc = berth_err(u->err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	if (archive_read_open(a, &r, NULL, berth_tar_source_read, NULL) != ARCHIVE_OK) {
		rc = archive_fail(u, a);
		goto out;
	}
	struct archive_entry *e;
	while ((rc = next_entry(u, a, &e)) > 0) {
		struct ux_names n;
		if ((rc = ux_check(u, e, &n)) < 0)
			break;
		names_free(&n);
		if (archive_read_data_skip(a) < ARCHIVE_WARN) {
			rc = archive_fail(u, a);
			break;
		}
	}
	/* drain what follows the end blocks, so the spool is the whole body */
	if (rc == 0)
		berth_tar_source_drain(a, &r);
out:
	if (a)
		archive_read_free(a);
	free(r.buf);
	return rc;
}

int berth_untar(int root_fd, const char *dest, struct berth_reader *in, const struct berth_untar_opts *o,
		struct berth_error *err)
{
	struct ux u = {.root_fd = root_fd,
		       .dest = dest && strcmp(dest, ".") ? dest : "",
		       .shown = o->dest_shown ? o->dest_shown : (dest && *dest ? dest : "."),
		       .o = o,
		       .err = err,
		       .cache_fd = -1};
	cleanup_close int spool = -1;
	int rc = 0;
	struct archive *a = NULL;
	struct berth_tar_source r = {.in = in, .spool_fd = -1, .buf = NULL, .bufsize = UX_BUF};
	if (o->spool_dir) {
		spool = open_spool(o->spool_dir);
		if (spool < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "spool in %s", o->spool_dir);
		if (ux_validate(&u, in, spool) < 0)
			return -1;
		if (lseek(spool, 0, SEEK_SET) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "spool");
	}
	a = berth_tar_reader_new(true);
	if (!a)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	int orc;
	if (spool >= 0) {
		orc = archive_read_open_fd(a, spool, UX_BUF);
	} else {
		r.buf = malloc(UX_BUF);
		orc = r.buf ? archive_read_open(a, &r, NULL, berth_tar_source_read, NULL) : ARCHIVE_FATAL;
	}
	if (orc != ARCHIVE_OK) {
		rc = archive_fail(&u, a);
		goto out;
	}
	struct archive_entry *e;
	while ((rc = next_entry(&u, a, &e)) > 0) {
		if ((rc = ux_entry(&u, a, e)) < 0)
			break;
	}
	if (rc == 0 && spool < 0) /* leave the body consumed */
		berth_tar_source_drain(a, &r);
	set_dir_times(&u);
out:
	drop_cache(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].rel);
	free(u.dirs);
	if (a)
		archive_read_free(a);
	free(r.buf);
	return rc;
}
