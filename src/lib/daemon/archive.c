/* docker's archive API on containers (daemon/archive.go): stat, tar a path
 * out, extract a tar in, export, on the view of the container's files that
 * its processes have (mounts included; see archive.h). */
#include "daemon/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "image/config.h"
#include "storage/layer_store.h"

/* ---------------------------------------------------------------- stat */

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
	return berth_base64_encode(js, len, false);
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
		/* unreadable: the layer's own file (logged) */
		const char *h = json_string_value(
			json_object_get(berth_container_doc_or_log(c, "network files unknown"), files[i].field));
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

/* ---- the container's view: its root with its mounts in place ---- */

/* One work item on the view: fn runs with the root as the container sees it. */
typedef int (*view_fn)(const struct berth_root *root, void *arg, struct berth_error *err);

struct view_mount {
	const char *src, *dst; /* host path; cleaned absolute container path */
	bool rw;
};

struct view_job {
	const char *rootfs;
	struct ctr_root *r;
	struct view_mount *m;
	size_t nm;
	view_fn fn;
	void *arg;
	const struct berth_idmap *idmap;
	struct berth_error *err;
	int rc;
};

static size_t depth_of(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int cmp_mount(const void *a, const void *b)
{
	const struct view_mount *x = a, *y = b;
	size_t dx = depth_of(x->dst), dy = depth_of(y->dst);
	return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x->dst, y->dst);
}

/* Open (creating as needed) the mount point rel inside the root: a directory,
 * or an empty file for a file source. */
static int mount_point(int root_fd, const char *rel, bool dir, int depth)
{
	int fd = berth_ar_open(root_fd, rel, O_PATH, BERTH_UNTAR_IN_ROOT);
	if (fd >= 0 || errno != ENOENT || depth > 256)
		return fd;
	cleanup_free char *parent = strdup(rel);
	if (!parent)
		return -1;
	char *slash = strrchr(parent, '/');
	const char *base = slash ? rel + (slash - parent) + 1 : rel;
	if (slash)
		*slash = '\0';
	cleanup_close int pfd = slash ? mount_point(root_fd, parent, true, depth + 1) : dup(root_fd);
	if (pfd < 0)
		return -1;
	int r = dir ? mkdirat(pfd, base, 0755) : -1;
	if (!dir) {
		int f = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		r = f < 0 ? -1 : close(f);
	}
	if (r < 0 && errno != EEXIST)
		return -1;
	return berth_ar_open(root_fd, rel, O_PATH, BERTH_UNTAR_IN_ROOT);
}

static int fd_path(char *buf, size_t len, int fd)
{
	return snprintf(buf, len, "/proc/thread-self/fd/%d", fd) < (int)len ? 0 : -1;
}

/* Bind one volume or bind mount source over its mount point (this thread's
 * private mount namespace). A source that is gone is left out, as the
 * container could not start with it either. */
static int bind_one(int root_fd, const struct view_mount *m, struct berth_error *err)
{
	cleanup_close int sfd = open(m->src, O_PATH | O_CLOEXEC);
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return 0;
	/* symlinks on the way evaluated inside the root first (FollowSymlinkInScope), so
	 * missing directories are made where the container will find them */
	cleanup_free char *dst = berth_root_resolve(root_fd, m->dst, err);
	if (!dst)
		return -1;
	cleanup_close int dfd = mount_point(root_fd, dst + 1, S_ISDIR(st.st_mode), 0);
	struct stat dstat;
	if (dfd < 0 || fstat(dfd, &dstat) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mount point %s", m->dst);
	if (S_ISDIR(st.st_mode) != S_ISDIR(dstat.st_mode))
		return berth_err(err, BERTH_E_INTERNAL, "mount point %s: not a %s", m->dst,
				 S_ISDIR(st.st_mode) ? "directory" : "file");
	char sp[64], dp[64];
	if (fd_path(sp, sizeof(sp), sfd) < 0 || fd_path(dp, sizeof(dp), dfd) < 0 ||
	    mount(sp, dp, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mount %s on %s", m->src, m->dst);
	if (m->rw)
		return 0;
	cleanup_close int mfd = berth_ar_open(root_fd, dst + 1, O_PATH, BERTH_UNTAR_IN_ROOT);
	if (mfd < 0 || fd_path(dp, sizeof(dp), mfd) < 0 ||
	    mount(NULL, dp, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, NULL) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "remount %s read-only", m->dst);
	return 0;
}

static int view_in_ns(struct view_job *j)
{
	if (unshare(CLONE_FS | CLONE_NEWNS) < 0)
		return berth_err_sys(j->err, BERTH_E_INTERNAL, errno, "unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return berth_err_sys(j->err, BERTH_E_INTERNAL, errno, "make mounts private");
	/* opened here, after unshare, so walks from it see this namespace's mounts */
	cleanup_close int fd = open(j->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(j->err, BERTH_E_INTERNAL, errno, "open container root");
	for (size_t i = 0; i < j->nm; i++)
		if (bind_one(fd, &j->m[i], j->err) < 0)
			return -1;
	struct berth_root root = {.fd = fd, .subst = j->r->subst, .nsubst = j->r->nsubst, .idmap = j->idmap};
	return j->fn(&root, j->arg, j->err);
}

static void *view_thread(void *p)
{
	struct view_job *j = p;
	j->rc = view_in_ns(j);
	return NULL; /* the namespace and its mounts go with the thread */
}

/* The mounts of doc.Mounts with a host source (volumes, bind mounts), sorted
 * parents first. Strings point into mounts. */
static struct view_mount *view_mounts(json_t *mounts, size_t *n)
{
	*n = 0;
	struct view_mount *v = calloc(json_array_size(mounts) + 1, sizeof(*v));
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if (!v || !src || !*src || !dst || dst[0] != '/' || !strcmp(dst, "/"))
			continue;
		v[(*n)++] = (struct view_mount){.src = src, .dst = dst, .rw = !json_is_false(json_object_get(m, "RW"))};
	}
	if (v)
		qsort(v, *n, sizeof(*v), cmp_mount);
	return v;
}

/* A running container's root through its init's /proc entry, or -1. */
static int live_root(struct berth_container *c)
{
	pthread_mutex_lock(&c->mu);
	bool live = c->state == CS_RUNNING || c->state == CS_PAUSED;
	/* unreadable: not live; the caller's next read of it reports the error */
	json_t *doc = live ? berth_container_doc_or_log(c, "pid unknown") : NULL;
	json_int_t pid = json_integer_value(json_object_get(json_object_get(doc, "State"), "Pid"));
	pthread_mutex_unlock(&c->mu);
	if (!live || pid <= 0)
		return -1;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%lld/root", (long long)pid);
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* still the same process: the pid was not reused meanwhile */
	pthread_mutex_lock(&c->mu);
	live = (c->state == CS_RUNNING || c->state == CS_PAUSED) &&
	       json_integer_value(json_object_get(
		       json_object_get(berth_container_doc_or_log(c, "pid unknown"), "State"), "Pid")) == pid;
	pthread_mutex_unlock(&c->mu);
	if (!live) {
		close(fd);
		return -1;
	}
	return fd;
}

static int with_view(struct berth_daemon *d, struct berth_container *c, view_fn fn, void *arg, struct berth_error *err)
{
	int lfd = live_root(c);
	if (lfd >= 0) {
		struct berth_root root = {.fd = lfd, .kernel_fs_empty = true, .idmap = &d->idmap};
		int rc = fn(&root, arg, err);
		close(lfd);
		return rc;
	}
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	cleanup_json json_t *mounts = json_deep_copy(json_object_get(doc, "Mounts"));
	pthread_mutex_unlock(&c->mu);
	if (!doc)
		return -1;
	struct ctr_root r;
	if (root_open(d, c, &r, err) < 0)
		return -1;
	size_t nm = 0;
	cleanup_free struct view_mount *m = view_mounts(mounts, &nm);
	int rc;
	if (!m) {
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
	} else if (nm == 0) {
		struct berth_root root = {.fd = r.fd, .subst = r.subst, .nsubst = r.nsubst, .idmap = &d->idmap};
		rc = fn(&root, arg, err);
	} else {
		struct view_job j = {.rootfs = r.rootfs,
				     .r = &r,
				     .m = m,
				     .nm = nm,
				     .fn = fn,
				     .arg = arg,
				     .idmap = &d->idmap,
				     .err = err};
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 8u << 20);
		int e = pthread_create(&t, &attr, view_thread, &j);
		pthread_attr_destroy(&attr);
		if (e != 0)
			rc = berth_err_sys(err, BERTH_E_INTERNAL, e, "thread");
		else {
			pthread_join(t, NULL);
			rc = j.rc;
		}
	}
	root_close(d, c, &r);
	return rc;
}

/* ---- the operations ---- */

struct op {
	const char *ref, *path;
	struct berth_path_stat *st;
	berth_archive_begin_fn begin;
	void *ctx;
	struct berth_writer *out;
	struct berth_reader *in;
	struct berth_archive_put_opts put;
	const char *user;
	bool copy_uid_gid, ro_rootfs;
	json_t *mounts;
};

static int op_stat(const struct berth_root *root, void *arg, struct berth_error *err)
{
	struct op *o = arg;
	return berth_root_stat(root, o->path, o->ref, o->st, err);
}

static int op_get(const struct berth_root *root, void *arg, struct berth_error *err)
{
	struct op *o = arg;
	return berth_root_archive(root, o->path, o->ref, o->begin, o->ctx, o->out, err);
}

/* docker's checkIfPathIsInAVolume on the resolved destination: a read-only
 * mount refuses, a path on no mount needs a writable root filesystem. */
static int put_allowed(const struct berth_root *root, struct op *o, struct berth_error *err)
{
	cleanup_free char *abs = berth_cp_container_abs(o->path);
	cleanup_free char *res = abs ? berth_root_resolve(root->fd, abs, err) : NULL;
	if (!res)
		return err->kind ? -1 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t i, best = 0;
	json_t *m, *on = NULL;
	json_array_foreach(o->mounts, i, m) { /* the innermost mount holding the path */
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		size_t n = dst ? strlen(dst) : 0;
		while (n > 1 && dst[n - 1] == '/')
			n--;
		if (n > best && !strncmp(res, dst, n) && (res[n] == '\0' || res[n] == '/')) {
			best = n;
			on = m;
		}
	}
	if (on && json_is_false(json_object_get(on, "RW")))
		return berth_err(err, BERTH_E_INTERNAL, "mounted volume is marked read-only");
	if (on)
		return 0;
	if (o->ro_rootfs)
		return berth_err(err, BERTH_E_INTERNAL, "container rootfs is marked read-only");
	return 0;
}

static int op_put(const struct berth_root *root, void *arg, struct berth_error *err)
{
	struct op *o = arg;
	if (put_allowed(root, o, err) < 0)
		return -1;
	if (o->copy_uid_gid && *o->user) {
		o->put.chown = true;
		if (berth_root_lookup_user(root->fd, o->user, &o->put.uid, &o->put.gid, err) < 0)
			return -1;
	}
	return berth_root_extract(root, o->path, o->ref, &o->put, o->in, err);
}

int berth_ctr_archive_stat(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			   struct berth_path_stat *st, struct berth_error *err)
{
	struct op o = {.ref = ref, .path = path, .st = st};
	return with_view(d, c, op_stat, &o, err);
}

int berth_ctr_archive_get(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  berth_archive_begin_fn begin, void *ctx, struct berth_writer *out, struct berth_error *err)
{
	struct op o = {.ref = ref, .path = path, .begin = begin, .ctx = ctx, .out = out};
	int rc = with_view(d, c, op_get, &o, err);
	if (rc == 0)
		berth_ctr_event(d, c, "archive-path", NULL);
	return rc;
}

int berth_ctr_archive_put(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  bool no_overwrite_dir_nondir, bool copy_uid_gid, struct berth_reader *in,
			  struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	bool ro = json_is_true(json_object_get(json_object_get(doc, "HostConfig"), "ReadonlyRootfs"));
	const char *u = json_string_value(json_object_get(json_object_get(doc, "Config"), "User"));
	cleanup_free char *user = strdup(u ? u : "");
	cleanup_json json_t *mounts = json_deep_copy(json_object_get(doc, "Mounts"));
	pthread_mutex_unlock(&c->mu);
	if (!user)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct op o = {.ref = ref,
		       .path = path,
		       .in = in,
		       .put = {.no_overwrite_dir_nondir = no_overwrite_dir_nondir, .spool_dir = d->cfg.data_root},
		       .user = user,
		       .copy_uid_gid = copy_uid_gid,
		       .ro_rootfs = ro,
		       .mounts = mounts};
	int rc = with_view(d, c, op_put, &o, err);
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
		struct berth_tar_src src = {.dirfd = r.fd,
					    .base = NULL,
					    .name = NULL,
					    .subst = r.subst,
					    .nsubst = r.nsubst,
					    .idmap = &d->idmap};
		rc = berth_tar_write(&src, out, err);
	}
	root_close(d, c, &r);
	if (rc == 0)
		berth_ctr_event(d, c, "export", NULL);
	return rc;
}
