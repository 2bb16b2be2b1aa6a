/* docker's archive API on a container root (daemon/archive.go): stat, tar a
 * path out, extract a tar in, export. See archive.h for the safety model. */
#include "daemon/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "daemon/archive_int.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "image/config.h"
#include "storage/layer_store.h"

/* ---------------------------------------------------------------- stat */

void berth_path_stat_free(struct berth_path_stat *st)
{
	free(st->name);
	free(st->link_target);
	st->name = st->link_target = NULL;
}

uint32_t berth_go_filemode(mode_t m)
{
	uint32_t g = (uint32_t)(m & 0777);
	switch (m & S_IFMT) {
	case S_IFDIR: g |= BERTH_GO_MODE_DIR; break;
	case S_IFLNK: g |= BERTH_GO_MODE_SYMLINK; break;
	case S_IFBLK: g |= BERTH_GO_MODE_DEVICE; break;
	case S_IFCHR: g |= BERTH_GO_MODE_DEVICE | BERTH_GO_MODE_CHAR_DEVICE; break;
	case S_IFIFO: g |= BERTH_GO_MODE_NAMED_PIPE; break;
	case S_IFSOCK: g |= BERTH_GO_MODE_SOCKET; break;
	default: break;
	}
	if (m & S_ISUID)
		g |= BERTH_GO_MODE_SETUID;
	if (m & S_ISGID)
		g |= BERTH_GO_MODE_SETGID;
	if (m & S_ISVTX)
		g |= BERTH_GO_MODE_STICKY;
	return g;
}

char *berth_path_stat_encode(const struct berth_path_stat *st)
{
	char mtime[64];
	berth_image_time_format(st->mtime_ns, mtime, sizeof(mtime));
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(st->name ? st->name : ""));
	json_object_set_new(j, "size", json_integer(st->size));
	json_object_set_new(j, "mode", json_integer((json_int_t)st->mode));
	json_object_set_new(j, "mtime", json_string(mtime));
	json_object_set_new(j, "linkTarget", json_string(st->link_target ? st->link_target : ""));
	size_t len = 0;
	cleanup_free char *js = berth_json_dump_go(j, &len);
	json_decref(j);
	if (!js)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)js, (int)len);
	return out;
}

int berth_path_stat_decode(const char *b64, struct berth_path_stat *st, struct berth_error *err)
{
	memset(st, 0, sizeof(*st));
	size_t n = b64 ? strlen(b64) : 0;
	if (n == 0 || n % 4)
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	cleanup_free unsigned char *raw = malloc(n / 4 * 3 + 1);
	int len = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
	if (len < 0)
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		len--;
	cleanup_json json_t *j = json_loadb((const char *)raw, (size_t)len, 0, NULL);
	if (!json_is_object(j))
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *lt = json_string_value(json_object_get(j, "linkTarget"));
	const char *mt = json_string_value(json_object_get(j, "mtime"));
	st->name = strdup(name ? name : "");
	st->link_target = strdup(lt ? lt : "");
	st->size = json_integer_value(json_object_get(j, "size"));
	st->mode = (uint32_t)json_integer_value(json_object_get(j, "mode"));
	if (mt)
		berth_time_parse(mt, &st->mtime_ns);
	if (!st->name || !st->link_target) {
		berth_path_stat_free(st);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return 0;
}

/* ------------------------------------------------------------ resolution */

/* docker's FollowSymlinkInScope: the absolute path inside the root that path
 * (absolute) leads to, every symlink evaluated inside the root; missing
 * components are taken as they are. */
static char *scope_resolve(int root_fd, const char *path, struct berth_error *err)
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
	out->link_target = S_ISLNK(st->st_mode) ? scope_resolve(root_fd, r->abs, err) : strdup("");
	if (!out->name || !out->link_target) {
		berth_path_stat_free(out);
		return err && err->kind ? -1 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return 0;
}

int berth_root_stat(int root_fd, const char *path, const char *ctr, const struct berth_tar_subst *subst, size_t nsubst,
		    struct berth_path_stat *st, struct berth_error *err)
{
	struct rpath r;
	struct stat s;
	int rc = rpath_open(root_fd, path, ctr, &r, &s, err);
	if (rc == 0)
		rc = fill_stat(root_fd, &r, &s, subst, nsubst, st, err);
	rpath_free(&r);
	return rc;
}

int berth_root_archive(int root_fd, const char *path, const char *ctr, const struct berth_tar_subst *subst,
		       size_t nsubst, berth_archive_begin_fn begin, void *ctx, struct berth_writer *out,
		       struct berth_error *err)
{
	struct rpath r;
	struct stat s;
	struct berth_path_stat ps = {0};
	int rc = rpath_open(root_fd, path, ctr, &r, &s, err);
	if (rc == 0)
		rc = fill_stat(root_fd, &r, &s, subst, nsubst, &ps, err);
	if (rc == 0 && begin && begin(ctx, &ps) < 0)
		rc = berth_err(err, BERTH_E_INTERNAL, "write: connection closed");
	if (rc == 0) {
		bool self = !*r.base || !strcmp(r.base, ".");
		struct berth_tar_src src = {.dirfd = r.dirfd,
					    .base = self ? NULL : r.base,
					    .name = ps.name,
					    .subst = subst,
					    .nsubst = nsubst};
		rc = berth_tar_write(&src, out, err);
	}
	berth_path_stat_free(&ps);
	rpath_free(&r);
	return rc;
}

int berth_root_extract(int root_fd, const char *path, const char *ctr, const struct berth_archive_put_opts *o,
		       struct berth_reader *in, struct berth_error *err)
{
	cleanup_free char *abs = berth_cp_container_abs(path);
	if (!abs)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char eb[128];
	cleanup_close int fd = berth_ar_open(root_fd, abs + 1, O_PATH, BERTH_UNTAR_IN_ROOT);
	struct stat st;
	if (fd < 0 && errno == ENOENT)
		return not_found(err, path, ctr);
	if ((fd < 0 && errno == ENOTDIR) || (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)))
		return berth_err(err, BERTH_E_INTERNAL, "extraction point is not a directory");
	if (fd < 0)
		return berth_err(err, BERTH_E_INTERNAL, "lstat %s: %s", abs, berth_ar_errstr(errno, eb, sizeof(eb)));
	/* extract below the resolved directory (its last element followed, as docker does) */
	cleanup_free char *resolved = scope_resolve(root_fd, abs, err);
	if (!resolved)
		return -1;
	struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_IN_ROOT,
				      .no_overwrite_dir_nondir = o->no_overwrite_dir_nondir,
				      .chown = o->chown,
				      .uid = o->uid,
				      .gid = o->gid,
				      .dest_shown = resolved,
				      .spool_dir = o->spool_dir};
	if (berth_untar(root_fd, resolved + 1, in, &uo, err) < 0)
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

/* ------------------------------------------------------------ containers */

struct ctr_root {
	char *rootfs;
	int fd;
	struct berth_tar_subst subst[3];
	size_t nsubst;
};

/* The container's /etc/hosts, /etc/hostname, /etc/resolv.conf as its bind
 * mounts show them (once berthd wrote the files: first start on). */
static void root_subst(struct berth_container *c, struct ctr_root *r)
{
	static const struct {
		const char *field, *target;
	} files[] = {
		{"HostsPath", "etc/hosts"}, {"HostnamePath", "etc/hostname"}, {"ResolvConfPath", "etc/resolv.conf"}};
	for (size_t i = 0; i < 3; i++) {
		pthread_mutex_lock(&c->mu);
		const char *h = json_string_value(json_object_get(c->doc, files[i].field));
		int hfd = h && *h ? open(h, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
		pthread_mutex_unlock(&c->mu);
		if (hfd < 0)
			continue;
		int tfd = berth_ar_open(r->fd, files[i].target, O_PATH, BERTH_UNTAR_IN_ROOT);
		struct stat st;
		if (tfd >= 0 && fstat(tfd, &st) == 0 && S_ISREG(st.st_mode)) {
			r->subst[r->nsubst++] = (struct berth_tar_subst){.dev = st.st_dev, .ino = st.st_ino, .fd = hfd};
			hfd = -1;
		}
		if (tfd >= 0)
			close(tfd);
		if (hfd >= 0)
			close(hfd);
	}
}

static int root_open(struct berth_daemon *d, struct berth_container *c, struct ctr_root *r, struct berth_error *err)
{
	r->fd = -1;
	r->rootfs = NULL;
	r->nsubst = 0;
	if (berth_rwlayer_mount(d->layers, c->id, &r->rootfs, err) < 0)
		return -1;
	r->fd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		berth_rwlayer_unmount(d->layers, c->id, NULL);
		free(r->rootfs);
		r->rootfs = NULL;
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "open container root");
	}
	root_subst(c, r);
	return 0;
}

static void root_close(struct berth_daemon *d, struct berth_container *c, struct ctr_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	for (size_t i = 0; i < r->nsubst; i++)
		close(r->subst[i].fd);
	r->nsubst = 0;
	if (r->rootfs) {
		struct berth_error e = {0};
		if (berth_rwlayer_unmount(d->layers, c->id, &e) < 0 && e.kind != BERTH_E_NOT_FOUND)
			berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: unmount: %s", c->id, e.msg);
	}
	free(r->rootfs);
	r->rootfs = NULL;
	r->fd = -1;
}

int berth_ctr_archive_stat(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			   struct berth_path_stat *st, struct berth_error *err)
{
	struct ctr_root r;
	if (root_open(d, c, &r, err) < 0)
		return -1;
	int rc = berth_root_stat(r.fd, path, ref, r.subst, r.nsubst, st, err);
	root_close(d, c, &r);
	return rc;
}

int berth_ctr_archive_get(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  berth_archive_begin_fn begin, void *ctx, struct berth_writer *out, struct berth_error *err)
{
	struct ctr_root r;
	if (root_open(d, c, &r, err) < 0)
		return -1;
	int rc = berth_root_archive(r.fd, path, ref, r.subst, r.nsubst, begin, ctx, out, err);
	root_close(d, c, &r);
	if (rc == 0)
		berth_ctr_event(d, c, "archive-path", NULL);
	return rc;
}

int berth_ctr_archive_put(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  bool no_overwrite_dir_nondir, bool copy_uid_gid, struct berth_reader *in,
			  struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	bool ro = json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "ReadonlyRootfs"));
	const char *u = json_string_value(json_object_get(json_object_get(c->doc, "Config"), "User"));
	cleanup_free char *user = strdup(u ? u : "");
	pthread_mutex_unlock(&c->mu);
	if (ro)
		return berth_err(err, BERTH_E_INTERNAL, "container rootfs is marked read-only");
	if (!user)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct ctr_root r;
	if (root_open(d, c, &r, err) < 0)
		return -1;
	struct berth_archive_put_opts o = {.no_overwrite_dir_nondir = no_overwrite_dir_nondir,
					   .spool_dir = d->cfg.data_root};
	int rc = 0;
	if (copy_uid_gid && *user) {
		o.chown = true;
		rc = berth_root_lookup_user(r.fd, user, &o.uid, &o.gid, err);
	}
	if (rc == 0)
		rc = berth_root_extract(r.fd, path, ref, &o, in, err);
	root_close(d, c, &r);
	if (rc == 0)
		berth_ctr_event(d, c, "extract-to-dir", NULL);
	return rc;
}

int berth_ctr_export(struct berth_daemon *d, struct berth_container *c, berth_archive_begin_fn begin, void *ctx,
		     struct berth_writer *out, struct berth_error *err)
{
	struct ctr_root r;
	if (root_open(d, c, &r, err) < 0)
		return -1;
	int rc = 0;
	if (begin && begin(ctx, NULL) < 0)
		rc = berth_err(err, BERTH_E_INTERNAL, "write: connection closed");
	if (rc == 0) {
		struct berth_tar_src src = {
			.dirfd = r.fd, .base = NULL, .name = NULL, .subst = r.subst, .nsubst = r.nsubst};
		rc = berth_tar_write(&src, out, err);
	}
	root_close(d, c, &r);
	if (rc == 0)
		berth_ctr_event(d, c, "export", NULL);
	return rc;
}
