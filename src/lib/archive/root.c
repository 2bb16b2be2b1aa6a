/* docker's archive operations on a container root (daemon/archive.go's
 * StatPath, ArchivePath, ExtractToDir) through fds (see tar.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"

/* ------------------------------------------------------------ resolution */

char *berth_root_resolve(int root_fd, const char *path, struct berth_error *err)
{
	struct berth_buf res = {0};
	cleanup_free char *pending = strdup(path);
	int links = 0;
	if (!pending)
		goto oom;
	for (;;) {
		char *p = pending;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *e = strchr(p, '/');
		size_t clen = e ? (size_t)(e - p) : strlen(p);
		cleanup_free char *comp = strndup(p, clen);
		cleanup_free char *rest = strdup(e ? e : "");
		if (!comp || !rest)
			goto oom;
		if (!strcmp(comp, ".")) {
			/* nothing */
		} else if (!strcmp(comp, "..")) {
			char *slash = res.len ? strrchr(res.data, '/') : NULL;
			if (slash)
				res.len = (size_t)(slash - res.data);
			if (res.data)
				res.data[res.len] = '\0';
		} else {
			size_t keep = res.len;
			berth_buf_printf(&res, "/%s", comp);
			cleanup_close int fd =
				berth_ar_open(root_fd, res.data + 1, O_PATH | O_NOFOLLOW, BERTH_UNTAR_IN_ROOT);
			struct stat st;
			if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
				if (++links > 255) {
					berth_buf_free(&res);
					berth_err(err, BERTH_E_INTERNAL, "too many links in %s", path);
					return NULL;
				}
				char target[PATH_MAX + 1];
				ssize_t n = readlinkat(fd, "", target, PATH_MAX);
				if (n >= 0) {
					target[n] = '\0';
					res.len = target[0] == '/' ? 0 : keep;
					res.data[res.len] = '\0';
					free(pending);
					pending = berth_strdup_printf("%s%s", target, rest);
					if (!pending)
						goto oom;
					continue;
				}
			}
		}
		free(pending);
		pending = steal_ptr(rest);
	}
	if (!res.len)
		berth_buf_printf(&res, "/");
	return berth_buf_steal(&res);
oom:
	berth_buf_free(&res);
	berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return NULL;
}

static int not_found(struct berth_error *err, const char *path, const char *ctr)
{
	return berth_err(err, BERTH_E_NOT_FOUND, "Could not find the file %s in container %s", path, ctr ? ctr : "");
}

/* A container path split docker's way (ResolvePath): the directory part
 * resolved inside the root (fd), the last element not followed. */
struct rpath {
	char *abs;  /* "/" + path, cleaned, trailing "/" or "/." kept */
	int dirfd;  /* O_PATH of the resolved directory part */
	char *base; /* last element; "" or "." mean dirfd itself */
};

static void rpath_free(struct rpath *r)
{
	free(r->abs);
	free(r->base);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->abs = r->base = NULL;
	r->dirfd = -1;
}

static int rpath_open(int root_fd, const char *path, const char *ctr, struct rpath *r, struct stat *st,
		      struct berth_error *err)
{
	r->dirfd = -1;
	r->base = NULL;
	r->abs = berth_cp_container_abs(path);
	if (!r->abs)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *slash = strrchr(r->abs, '/');
	cleanup_free char *dir = strndup(r->abs + 1, (size_t)(slash - r->abs));
	r->base = strdup(slash + 1);
	if (!dir || !r->base)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char eb[128];
	r->dirfd = berth_ar_open(root_fd, dir, O_PATH | O_DIRECTORY, BERTH_UNTAR_IN_ROOT);
	if (r->dirfd < 0) {
		if (errno == ENOENT)
			return not_found(err, path, ctr);
		return berth_err(err, BERTH_E_INTERNAL, "lstat %s: %s", r->abs, berth_ar_errstr(errno, eb, sizeof(eb)));
	}
	int rc = !*r->base || !strcmp(r->base, ".") ? fstat(r->dirfd, st) :
						      fstatat(r->dirfd, r->base, st, AT_SYMLINK_NOFOLLOW);
	if (rc < 0) {
		if (errno == ENOENT)
			return not_found(err, path, ctr);
		return berth_err(err, BERTH_E_INTERNAL, "lstat %s: %s", r->abs, berth_ar_errstr(errno, eb, sizeof(eb)));
	}
	return 0;
}

static int fill_stat(int root_fd, const struct rpath *r, const struct stat *st0, const struct berth_tar_subst *subst,
		     size_t nsubst, struct berth_path_stat *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	struct stat hs;
	const struct stat *st = st0;
	for (size_t i = 0; S_ISREG(st0->st_mode) && i < nsubst; i++)
		if (st0->st_dev == subst[i].dev && st0->st_ino == subst[i].ino && fstat(subst[i].fd, &hs) == 0)
			st = &hs;
	out->name = berth_ar_base(r->abs);
	out->size = st->st_size;
	out->mode = berth_go_filemode(st->st_mode);
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->link_target = S_ISLNK(st->st_mode) ? berth_root_resolve(root_fd, r->abs, err) : strdup("");
	if (!out->name || !out->link_target) {
		berth_path_stat_free(out);
		return err && err->kind ? -1 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return 0;
}

int berth_root_stat(const struct berth_root *root, const char *path, const char *ctr, struct berth_path_stat *st,
		    struct berth_error *err)
{
	struct rpath r;
	struct stat s;
	int rc = rpath_open(root->fd, path, ctr, &r, &s, err);
	if (rc == 0)
		rc = fill_stat(root->fd, &r, &s, root->subst, root->nsubst, st, err);
	rpath_free(&r);
	return rc;
}

int berth_root_archive(const struct berth_root *root, const char *path, const char *ctr, berth_archive_begin_fn begin,
		       void *ctx, struct berth_writer *out, struct berth_error *err)
{
	struct rpath r;
	struct stat s;
	struct berth_path_stat ps = {0};
	int rc = rpath_open(root->fd, path, ctr, &r, &s, err);
	if (rc == 0)
		rc = fill_stat(root->fd, &r, &s, root->subst, root->nsubst, &ps, err);
	if (rc == 0 && begin && begin(ctx, &ps) < 0)
		rc = berth_err(err, BERTH_E_INTERNAL, "write: connection closed");
	if (rc == 0) {
		bool self = !*r.base || !strcmp(r.base, ".");
		struct berth_tar_src src = {.dirfd = r.dirfd,
					    .base = self ? NULL : r.base,
					    .name = ps.name,
					    .subst = root->subst,
					    .nsubst = root->nsubst,
					    .kernel_fs_empty = root->kernel_fs_empty,
					    .idmap = root->idmap};
		rc = berth_tar_write(&src, out, err);
	}
	berth_path_stat_free(&ps);
	rpath_free(&r);
	return rc;
}

int berth_root_extract(const struct berth_root *root, const char *path, const char *ctr,
		       const struct berth_archive_put_opts *o, struct berth_reader *in, struct berth_error *err)
{
	cleanup_free char *abs = berth_cp_container_abs(path);
	if (!abs)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char eb[128];
	cleanup_close int fd = berth_ar_open(root->fd, abs + 1, O_PATH, BERTH_UNTAR_IN_ROOT);
	struct stat st;
	if (fd < 0 && errno == ENOENT)
		return not_found(err, path, ctr);
	if ((fd < 0 && errno == ENOTDIR) || (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)))
		return berth_err(err, BERTH_E_INTERNAL, "extraction point is not a directory");
	if (fd < 0)
		return berth_err(err, BERTH_E_INTERNAL, "lstat %s: %s", abs, berth_ar_errstr(errno, eb, sizeof(eb)));
	/* extract below the resolved directory (its last element followed, as docker does) */
	cleanup_free char *resolved = berth_root_resolve(root->fd, abs, err);
	if (!resolved)
		return -1;
	struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_IN_ROOT,
				      .no_overwrite_dir_nondir = o->no_overwrite_dir_nondir,
				      .chown = o->chown,
				      .uid = o->uid,
				      .gid = o->gid,
				      .dest_shown = resolved,
				      .spool_dir = o->spool_dir,
				      .no_kernel_fs = root->kernel_fs_empty,
				      .idmap = root->idmap};
	if (berth_untar(root->fd, resolved + 1, in, &uo, err) < 0)
		return berth_err_prefix(err, "Error processing tar file(exit status 1)");
	return 0;
}

/* ----------------------------------------------------------- user lookup */

static char *read_root_file(int root_fd, const char *rel)
{
	cleanup_close int fd = berth_ar_open(root_fd, rel, O_RDONLY, BERTH_UNTAR_IN_ROOT);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20))
		return NULL;
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? berth_read_all(fd, buf, (size_t)st.st_size) : -1;
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;
	if (!*s || *s == '-')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 0xffffffffUL)
		return false;
	*out = v;
	return true;
}

/* Find in an /etc/passwd or /etc/group body the line whose field 0 (name) or
 * field 2 (id) matches; *id3 gets field 3 (passwd: gid). */
static bool db_find(const char *db, const char *name, unsigned long num, bool by_num, unsigned long *id,
		    unsigned long *id3)
{
	for (const char *line = db; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		cleanup_free char *l = strndup(line, len);
		line = nl ? nl + 1 : NULL;
		if (!l || l[0] == '#')
			continue;
		char *f[4] = {0};
		char *p = l;
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		unsigned long v, v3 = 0;
		if (!f[2] || !parse_id(f[2], &v))
			continue;
		if (f[3])
			parse_id(f[3], &v3);
		if ((by_num && v == num) || (!by_num && !strcmp(f[0], name))) {
			*id = v;
			if (id3)
				*id3 = v3;
			return true;
		}
	}
	return false;
}

int berth_root_lookup_user(int root_fd, const char *spec, uid_t *uid, gid_t *gid, struct berth_error *err)
{
	cleanup_free char *s = strdup(spec ? spec : "");
	if (!s)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *colon = strchr(s, ':');
	const char *group = NULL;
	if (colon) {
		*colon = '\0';
		group = colon + 1;
	}
	cleanup_free char *passwd = read_root_file(root_fd, "etc/passwd");
	unsigned long u = 0, g = 0, num;
	bool numeric = parse_id(s, &num);
	if (!*s) {
		u = 0;
	} else if (!db_find(passwd, s, numeric ? num : 0, numeric, &u, &g)) {
		if (!numeric)
			return berth_err(err, BERTH_E_INTERNAL,
					 "unable to find user %s: no matching entries in passwd file", s);
		u = num;
		g = 0;
	}
	if (group && *group) {
		cleanup_free char *groups = read_root_file(root_fd, "etc/group");
		bool gnum = parse_id(group, &num);
		if (!db_find(groups, group, gnum ? num : 0, gnum, &g, NULL)) {
			if (!gnum)
				return berth_err(err, BERTH_E_INTERNAL,
						 "unable to find group %s: no matching entries in group file", group);
			g = num;
		}
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}
