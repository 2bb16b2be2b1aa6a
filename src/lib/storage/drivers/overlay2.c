/* overlay2 driver, docker's layout:
 *   <home>/<id>/diff     the layer's files (whiteouts: char 0:0, opaque xattr)
 *   <home>/<id>/link     short id; <home>/l/<short> -> ../<id>/diff
 *   <home>/<id>/lower    "l/AAA:l/BBB" (parent first), absent for base layers
 *   <home>/<id>/work, merged   for mounted writable (container) layers; not
 *                            the -init layer, written without a mount (rwlayer.c)
 * Mounts use the short relative lowerdir paths from inside <home>: a child
 * (sharing the daemon's memory) chdirs there and mounts, so the daemon's threads never change cwd
 * and deep images stay within the one-page mount-option limit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file_new.h"
#include "storage/changes.h"
#include "storage/driver.h"
#include "storage/fsutil.h"
#include "storage/quota_xfs.h"

#define LINK_LEN 26

/* Extra mount options, the first set the kernel accepts. Redirects and
 * metacopy must stay off: the native diff reads whole files and directories
 * from the upper dir, as docker's does. */
static const char *const mount_extras[] = {",index=off,redirect_dir=off,metacopy=off", ",index=off", ""};

#define N_EXTRAS (sizeof(mount_extras) / sizeof(mount_extras[0]))

struct ov_priv {
	const char *extra;
	/* held by set_link and repair_links: a repair must not remove the
	 * l/.tmp-<link> of a set_link in progress */
	pthread_mutex_t link_lock;
};

static char *layer_path(struct berth_graph_driver *d, const char *id, const char *sub)
{
	return sub ? berth_strdup_printf("%s/%s/%s", d->home, id, sub) : berth_strdup_printf("%s/%s", d->home, id);
}

struct mount_args {
	const char *dir, *target, *opts;
	unsigned long flags;
	int err; /* written by the child: the parent's memory (CLONE_VM) */
};

static int mount_child(void *arg)
{
	struct mount_args *a = arg;
	a->err = 0;
	if (a->dir && chdir(a->dir) < 0)
		a->err = errno;
	else if (mount("overlay", a->target, "overlay", a->flags, a->opts) < 0)
		a->err = errno;
	return 0; /* clone's wrapper exits (no noreturn call on this stack: ASan) */
}

/* Run mount(2) in a child whose cwd is dir (NULL: no chdir). errno on
 * failure. The child shares the daemon's memory and the parent waits for it
 * (CLONE_VM | CLONE_VFORK, as posix_spawn): a fork copied the page tables of
 * the whole daemon for every container start. Without CLONE_FS its chdir is
 * its own. It only makes system calls. */
static int mount_in_child(const char *dir, const char *target, const char *opts, unsigned long flags)
{
	struct mount_args a = {.dir = dir, .target = target, .opts = opts, .flags = flags, .err = EIO};
	size_t stack_size = 64 * 1024;
	char *stack = malloc(stack_size);
	if (!stack)
		return -1;
	pid_t pid = clone(mount_child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	int e = errno;
	if (pid < 0) {
		free(stack);
		errno = e;
		return -1;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			free(stack);
			return -1;
		}
	}
	free(stack);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		a.err = EIO;
	if (a.err == 0)
		return 0;
	errno = a.err;
	return -1;
}

static int probe_mount(const char *base, const char *extra)
{
	cleanup_free char *opts =
		berth_strdup_printf("lowerdir=%s/l2:%s/l1,upperdir=%s/u,workdir=%s/w%s", base, base, base, base, extra);
	cleanup_free char *merged = berth_strdup_printf("%s/m", base);
	if (!opts || !merged)
		return -1;
	if (mount_in_child(NULL, merged, opts, 0) < 0)
		return -1;
	umount2(merged, MNT_DETACH);
	return 0;
}

/* *features: 1 + the index in mount_extras of the options the kernel accepts. */
static int ov_probe_dir(const char *home, unsigned *features, struct berth_error *err)
{
	char rnd[65];
	berth_random_id(rnd);
	cleanup_free char *base = berth_strdup_printf("%s/tmp-probe-%.12s", home, rnd);
	if (!base || mkdir(base, 0700) < 0)
		return berth_err_sys(err, BERTH_E_UNSUPPORTED, errno, "overlay2: cannot create probe dir in %s", home);
	const char *subs[] = {"l1", "l2", "u", "w", "m"};
	int rc = 0;
	for (size_t i = 0; i < 5 && rc == 0; i++) {
		cleanup_free char *p = berth_strdup_printf("%s/%s", base, subs[i]);
		if (!p || mkdir(p, 0700) < 0)
			rc = berth_err_sys(err, BERTH_E_UNSUPPORTED, errno, "overlay2: probe mkdir");
	}
	if (rc == 0) {
		size_t i;
		for (i = 0; i < N_EXTRAS; i++)
			if (probe_mount(base, mount_extras[i]) == 0)
				break;
		if (i < N_EXTRAS)
			*features = (unsigned)i + 1;
		else
			rc = berth_err_sys(err, BERTH_E_UNSUPPORTED, errno,
					   "driver not supported on this host: overlay2 (overlay mount on %s failed)",
					   berth_backing_fs_name(home));
	}
	berth_rm_rf(base, NULL);
	return rc;
}

static int ov_probe_uncached(const char *home, unsigned *features, struct berth_error *err);

/* What the probe found is kept in <home>/.probe for this boot of this kernel
 * on this filesystem: a daemon start mounted, unmounted and removed a probe
 * tree (tens of milliseconds on a busy disk) to learn the same again. */
static char *probe_key(const char *home)
{
	struct stat st;
	cleanup_free char *boot = NULL, *rel = NULL;
	if (stat(home, &st) < 0 || berth_read_file("/proc/sys/kernel/random/boot_id", &boot, NULL, 256, NULL) < 0 ||
	    berth_read_file("/proc/sys/kernel/osrelease", &rel, NULL, 256, NULL) < 0)
		return NULL;
	return berth_strdup_printf("%.*s|%.*s|%llu|%llu|%s", (int)strcspn(boot, "\n"), boot, (int)strcspn(rel, "\n"),
				   rel, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
				   berth_backing_fs_name(home));
}

static bool probe_cached(const char *home, const char *key, unsigned *features)
{
	cleanup_free char *path = berth_strdup_printf("%s/.probe", home);
	cleanup_free char *text = NULL;
	if (!path || !key || berth_read_file(path, &text, NULL, 4096, NULL) < 0)
		return false;
	size_t kl = strlen(key);
	unsigned f = 0;
	if (strncmp(text, key, kl) || text[kl] != ' ' || sscanf(text + kl + 1, "%u", &f) != 1 || f < 1 || f > N_EXTRAS)
		return false;
	*features = f;
	return true;
}

static int ov_probe(const char *data_root, unsigned *features, struct berth_error *err)
{
	cleanup_free char *home = berth_strdup_printf("%s/overlay2", data_root);
	if (!home || berth_mkdir_p(home, 0710, err) < 0)
		return -1;
	cleanup_free char *key = probe_key(home);
	if (probe_cached(home, key, features))
		return 0;
	int rc = ov_probe_uncached(home, features, err);
	if (rc == 0 && key) {
		cleanup_free char *path = berth_strdup_printf("%s/.probe", home);
		cleanup_free char *text = berth_strdup_printf("%s %u\n", key, *features);
		if (path && text)
			berth_write_file_replace(path, text, strlen(text), 0600, NULL);
	}
	return rc;
}

static int ov_probe_uncached(const char *home, unsigned *features, struct berth_error *err)
{
	const char *fs = berth_backing_fs_name(home);
	if (!strcmp(fs, "overlayfs") || !strcmp(fs, "aufs") || !strcmp(fs, "ecryptfs"))
		return berth_err(err, BERTH_E_UNSUPPORTED,
				 "driver not supported on this host: overlay2 is not supported over %s", fs);
	if (!berth_fs_supports_dtype(home))
		return berth_err(err, BERTH_E_UNSUPPORTED,
				 "driver not supported on this host: overlay2 needs d_type support on the backing "
				 "filesystem (%s)",
				 fs);
	return ov_probe_dir(home, features, err);
}

static int ov_init(struct berth_graph_driver *d, struct berth_error *err)
{
	struct ov_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	pthread_mutex_init(&p->link_lock, NULL);
	d->priv = p;
	cleanup_free char *l = berth_strdup_printf("%s/l", d->home);
	if (!l || berth_mkdir_p(l, 0700, err) < 0)
		return -1;
	berth_fs_spread_subdirs(d->home); /* each layer's inodes in a block group of its own */
	/* Links left missing, dangling or half-made by an interrupted
	 * create/commit/remove are not scanned for here (a stat per link, two
	 * links per container): the first mount or lower-dir open that misses
	 * one repairs them all (repair_links). The capability check already ran
	 * in ov_probe (berth_graph_driver_open always probes first). */
	unsigned f = d->probe_features;
	if (f < 1 || f > N_EXTRAS) {
		if (ov_probe_dir(d->home, &f, err) < 0)
			return -1;
	}
	p->extra = mount_extras[f - 1];
	return 0;
}

static void ov_cleanup(struct berth_graph_driver *d)
{
	struct ov_priv *p = d->priv;
	if (p)
		pthread_mutex_destroy(&p->link_lock);
	free(p);
	d->priv = NULL;
}

static char *read_small(const char *path)
{
	char *s = NULL;
	size_t len;
	if (berth_read_file(path, &s, &len, 65536, NULL) < 0)
		return NULL;
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

static void new_link_id(char out[LINK_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char raw[LINK_LEN];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	for (int i = 0; i < LINK_LEN; i++)
		out[i] = alphabet[raw[i] & 31];
	out[LINK_LEN] = '\0';
}

/* Point l/<link> at ../<id>/diff (atomically replacing an older link).
 * Caller holds link_lock. */
static int set_link_locked(struct berth_graph_driver *d, const char *link, const char *id, struct berth_error *err)
{
	cleanup_free char *target = berth_strdup_printf("../%s/diff", id);
	cleanup_free char *lp = berth_strdup_printf("%s/l/%s", d->home, link);
	cleanup_free char *tmp = berth_strdup_printf("%s/l/.tmp-%s", d->home, link);
	if (!target || !lp || !tmp)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, lp) < 0) {
		int e = errno;
		unlink(tmp);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "overlay2: link %s", lp);
	}
	return 0;
}

static int set_link(struct berth_graph_driver *d, const char *link, const char *id, struct berth_error *err)
{
	struct ov_priv *p = d->priv;
	pthread_mutex_lock(&p->link_lock);
	int rc = set_link_locked(d, link, id, err);
	pthread_mutex_unlock(&p->link_lock);
	return rc;
}

/* l/<link> of a new layer: a fresh random name, made in place (no
 * temporary name and rename); the atomic replace if a repair_links made it
 * meanwhile. */
static int new_link(struct berth_graph_driver *d, const char *link, const char *id, struct berth_error *err)
{
	struct ov_priv *p = d->priv;
	cleanup_free char *target = berth_strdup_printf("../%s/diff", id);
	cleanup_free char *lp = berth_strdup_printf("%s/l/%s", d->home, link);
	if (!target || !lp)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	pthread_mutex_lock(&p->link_lock);
	int rc = 0;
	if (symlink(target, lp) < 0)
		rc = errno == EEXIST ? set_link_locked(d, link, id, err) :
				       berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: link %s", lp);
	pthread_mutex_unlock(&p->link_lock);
	return rc;
}

/* After a crash: every layer's l/<link> made to point at ../<id>/diff again
 * (missing: crash inside create; pointing at ../tmp-x/diff: crash inside
 * commit), then half-made (.tmp-) and dangling links removed. Runs when a
 * mount or open finds a lower link missing, not at start: one readlink per
 * layer. */
static void repair_links(struct berth_graph_driver *d)
{
	struct ov_priv *p = d->priv;
	pthread_mutex_lock(&p->link_lock);
	DIR *dir = opendir(d->home);
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "l") || !strcmp(e->d_name, "backingFsBlockDev"))
			continue;
		cleanup_free char *linkf = layer_path(d, e->d_name, "link");
		cleanup_free char *link = linkf ? read_small(linkf) : NULL;
		if (!link || strlen(link) != LINK_LEN || strchr(link, '/'))
			continue;
		cleanup_free char *lp = berth_strdup_printf("%s/l/%s", d->home, link);
		cleanup_free char *want = berth_strdup_printf("../%s/diff", e->d_name);
		char target[PATH_MAX];
		ssize_t n = lp ? readlink(lp, target, sizeof(target) - 1) : -1;
		if (n >= 0)
			target[n] = '\0';
		if (want && (n < 0 || strcmp(target, want) != 0)) {
			struct berth_error ignored = {0};
			set_link_locked(d, link, e->d_name, &ignored);
		}
	}
	if (dir)
		closedir(dir);
	cleanup_free char *l = berth_strdup_printf("%s/l", d->home);
	dir = l ? opendir(l) : NULL;
	while (dir && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (berth_str_has_prefix(e->d_name, ".tmp-") || fstatat(dirfd(dir), e->d_name, &st, 0) < 0)
			unlinkat(dirfd(dir), e->d_name, 0);
	}
	if (dir)
		closedir(dir);
	pthread_mutex_unlock(&p->link_lock);
}

static int mkdir_sub(struct berth_graph_driver *d, const char *id, const char *sub, mode_t mode,
		     struct berth_error *err)
{
	cleanup_free char *p = layer_path(d, id, sub);
	if (!p || mkdir(p, mode) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: mkdir %s", p ? p : sub);
	chmod(p, mode);
	return berth_idmap_chown_root(d->idmap, p, err); /* --userns-remap: the container's root owns them */
}

static int ov_create(struct berth_graph_driver *d, const char *id, const char *parent, bool rw, struct berth_error *err)
{
	cleanup_free char *dir = layer_path(d, id, NULL);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (mkdir(dir, 0700) < 0)
		return berth_err_sys(err, errno == EEXIST ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, errno,
				     "overlay2: create layer %s", id);
	char link[LINK_LEN + 1];
	new_link_id(link);
	/* no fsync: the layer store syncs the file system once before it
	 * records the layer (berth_layer_register, berth_rwlayer_create); in
	 * the directory just made, no temporary name and rename either */
	int (*write_file)(const char *, const void *, size_t, mode_t, struct berth_error *) = berth_write_file_new;
	cleanup_free char *linkf = layer_path(d, id, "link");
	if (berth_idmap_share_dir(d->idmap, dir, err) < 0 || mkdir_sub(d, id, "diff", 0755, err) < 0 || !linkf ||
	    write_file(linkf, link, LINK_LEN, 0644, err) < 0)
		goto fail;
	if (parent && *parent) {
		cleanup_free char *plinkf = layer_path(d, parent, "link");
		cleanup_free char *plowerf = layer_path(d, parent, "lower");
		cleanup_free char *plink = plinkf ? read_small(plinkf) : NULL;
		if (!plink) {
			berth_err(err, BERTH_E_NOT_FOUND, "overlay2: parent layer %s not found", parent);
			goto fail;
		}
		cleanup_free char *plower = plowerf ? read_small(plowerf) : NULL;
		cleanup_free char *lower = plower && *plower ? berth_strdup_printf("l/%s:%s", plink, plower) :
							       berth_strdup_printf("l/%s", plink);
		cleanup_free char *lowerf = layer_path(d, id, "lower");
		if (!lower || !lowerf || write_file(lowerf, lower, strlen(lower), 0644, err) < 0)
			goto fail;
	}
	if (rw && (mkdir_sub(d, id, "work", 0700, err) < 0 || mkdir_sub(d, id, "merged", 0700, err) < 0))
		goto fail;
	if (new_link(d, link, id, err) < 0)
		goto fail;
	return 0;
fail:
	berth_rm_rf(dir, NULL);
	return -1;
}

static int ov_commit(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err)
{
	cleanup_free char *from = layer_path(d, tmp_id, NULL);
	cleanup_free char *to = layer_path(d, id, NULL);
	cleanup_free char *linkf = layer_path(d, id, "link");
	if (!from || !to || !linkf)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rename(from, to) < 0)
		return berth_err_sys(err, errno == EEXIST || errno == ENOTEMPTY ? BERTH_E_CONFLICT : BERTH_E_INTERNAL,
				     errno, "overlay2: rename layer %s", id);
	cleanup_free char *link = read_small(linkf);
	if (!link)
		return berth_err(err, BERTH_E_INTERNAL, "overlay2: layer %s has no link", id);
	return set_link(d, link, id, err);
}

static int ov_remove(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	cleanup_free char *dir = layer_path(d, id, NULL);
	cleanup_free char *merged = layer_path(d, id, "merged");
	cleanup_free char *linkf = layer_path(d, id, "link");
	if (!dir || !merged || !linkf)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	cleanup_free char *link = read_small(linkf);
	if (link && strlen(link) == LINK_LEN && !strchr(link, '/')) {
		cleanup_free char *lp = berth_strdup_printf("%s/l/%s", d->home, link);
		if (lp)
			unlink(lp);
	}
	struct stat st;
	if (lstat(merged, &st) == 0 && berth_is_mountpoint(merged))
		umount2(merged, MNT_DETACH);
	return berth_rm_rf(dir, err);
}

static bool ov_exists(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *p = layer_path(d, id, "diff");
	struct stat st;
	return p && stat(p, &st) == 0;
}

/* A lower list ("l/A:l/B", relative to overlay2/) relative to a layer's
 * directory instead: "../l/A:../l/B". NULL when out of memory. */
static char *up_lower(const char *lower)
{
	size_t n = 1;
	for (const char *c = lower; *c; c++)
		n += *c == ':';
	char *out = malloc(strlen(lower) + 3 * n + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *c = lower;;) {
		const char *end = strchr(c, ':');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		o = stpcpy(o, "../");
		memcpy(o, c, len);
		o += len;
		if (!end)
			break;
		*o++ = ':';
		c = end + 1;
	}
	*o = '\0';
	return out;
}

/* Where id is mounted and from what: 1 with *merged its mount point, *lower
 * its lower file ("l/A:l/B") and *rw (a container layer); 0 when there is
 * nothing to mount (no lower: *merged is the diff dir, the root filesystem
 * itself; or a mount point of a daemon before this one), -1 on error. */
static int ov_mount_point(struct berth_graph_driver *d, const char *id, char **merged, char **lower, bool *rw,
			  struct berth_error *err)
{
	*merged = *lower = NULL;
	cleanup_free char *lowerf = layer_path(d, id, "lower");
	cleanup_free char *work = layer_path(d, id, "work");
	cleanup_free char *m = layer_path(d, id, "merged");
	if (!lowerf || !work || !m)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (!ov_exists(d, id))
		return berth_err(err, BERTH_E_NOT_FOUND, "overlay2: layer %s does not exist", id);
	cleanup_free char *low = read_small(lowerf);
	if (!low || !*low) { /* nothing below: the diff dir is the root filesystem */
		*merged = layer_path(d, id, "diff");
		return *merged ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	struct stat st;
	*rw = stat(work, &st) == 0;
	if (!*rw && mkdir(m, 0700) < 0 && errno != EEXIST)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: mkdir %s", m);
	*merged = steal_ptr(m);
	if (berth_is_mountpoint(*merged)) /* mounted before a daemon restart */
		return 0;
	*lower = steal_ptr(low);
	return 1;
}

static int ov_get(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err)
{
	struct ov_priv *p = d->priv;
	cleanup_free char *merged = NULL, *lower = NULL;
	bool rw = false;
	int rc = ov_mount_point(d, id, &merged, &lower, &rw, err);
	if (rc <= 0) {
		*path = rc == 0 ? steal_ptr(merged) : NULL;
		return rc;
	}
	cleanup_free char *opts = NULL;
	cleanup_free char *mdir = NULL; /* the mount's cwd, its relative paths' base */
	long page = sysconf(_SC_PAGESIZE);
	if (rw) {
		/* from the layer's own directory: "upperdir=diff,workdir=work"
		 * instead of two 64-digit ids makes the line of every container's
		 * rootfs in /proc/self/mountinfo a third shorter, and runc reads
		 * that file, every container's line, several times per start */
		cleanup_free char *up = up_lower(lower);
		opts = up ? berth_strdup_printf("lowerdir=%s,upperdir=diff,workdir=work%s", up, p->extra) : NULL;
		if (opts && (long)strlen(opts) < page) {
			mdir = layer_path(d, id, NULL);
		} else {
			free(opts);
			opts = berth_strdup_printf("lowerdir=%s,upperdir=%s/diff,workdir=%s/work%s", lower, id, id,
						   p->extra);
		}
	} else {
		cleanup_free char *linkf = layer_path(d, id, "link");
		cleanup_free char *link = linkf ? read_small(linkf) : NULL;
		if (!link)
			return berth_err(err, BERTH_E_INTERNAL, "overlay2: layer %s has no link", id);
		opts = berth_strdup_printf("lowerdir=l/%s:%s%s", link, lower, p->extra);
	}
	if (!opts)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if ((long)strlen(opts) >= page)
		return berth_err(err, BERTH_E_INVALID, "overlay2: mount options for layer %s are too long (%zu bytes)",
				 id, strlen(opts));
	const char *base = mdir ? mdir : d->home;
	rc = mount_in_child(base, merged, opts, rw ? 0 : MS_RDONLY);
	if (rc < 0 && errno == ENOENT) { /* a lower's l/ link lost in a crash */
		repair_links(d);
		rc = mount_in_child(base, merged, opts, rw ? 0 : MS_RDONLY);
	}
	if (rc < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: mount %s", merged);
	*path = steal_ptr(merged);
	return 0;
}

/* A container layer's overlay (lower: its lower file) as a detached mount
 * (fsopen/fsmount: in no mount namespace, so in no mount table), with
 * absolute paths: an fd, -1 where the kernel has no "lowerdir+" (before
 * 6.8) or a path is too long. */
static int detached_view(struct berth_graph_driver *d, const char *id, const char *lower)
{
	struct ov_priv *p = d->priv;
	cleanup_free char *lowers = strdup(lower);
	cleanup_free char *up = layer_path(d, id, "diff");
	cleanup_free char *work = layer_path(d, id, "work");
	cleanup_close int fc = lowers && up && work ? fsopen("overlay", FSOPEN_CLOEXEC) : -1;
	bool ok = fc >= 0 && strlen(up) < 256 && strlen(work) < 256;
	char *save = NULL;
	for (char *tok = ok ? strtok_r(lowers, ":", &save) : NULL; tok && ok; tok = strtok_r(NULL, ":", &save)) {
		char path[256];
		ok = snprintf(path, sizeof(path), "%s/%s", d->home, tok) < (int)sizeof(path) &&
		     fsconfig(fc, FSCONFIG_SET_STRING, "lowerdir+", path, 0) == 0;
	}
	ok = ok && fsconfig(fc, FSCONFIG_SET_STRING, "upperdir", up, 0) == 0 &&
	     fsconfig(fc, FSCONFIG_SET_STRING, "workdir", work, 0) == 0;
	/* the probed extras: ",index=off,redirect_dir=off,metacopy=off" */
	char extra[128];
	snprintf(extra, sizeof(extra), "%s", p->extra);
	for (char *opt = ok ? strtok_r(extra, ",", &save) : NULL; opt && ok; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		if (eq)
			*eq = '\0';
		ok = fsconfig(fc, FSCONFIG_SET_STRING, opt, eq ? eq + 1 : NULL, 0) == 0;
	}
	if (!ok || fsconfig(fc, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fc, FSMOUNT_CLOEXEC, 0);
}

/* A container layer's mount for another process to attach (berth-shim, in
 * a mount namespace of its own), detached: berthd reads the user database
 * and makes the working directory in it before. 0 when there is none to
 * make (ov_get's path is the root filesystem) or the kernel has no
 * "lowerdir+" (before 6.8). */
static int ov_mount_args(struct berth_graph_driver *d, const char *id, struct berth_mount_args *a,
			 struct berth_error *err)
{
	bool rw = false;
	cleanup_free char *lower = NULL;
	int rc = ov_mount_point(d, id, &a->target, &lower, &rw, err);
	if (rc > 0 && rw) {
		a->view_fd = detached_view(d, id, lower);
		if (a->view_fd < 0 && errno == ENOENT) { /* a lower's l/ link lost in a crash */
			repair_links(d);
			a->view_fd = detached_view(d, id, lower);
		}
	}
	if (rc <= 0 || !rw || a->view_fd < 0) {
		berth_mount_args_free(a);
		return rc < 0 ? -1 : 0;
	}
	return 1;
}

static int ov_put(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	cleanup_free char *merged = layer_path(d, id, "merged");
	if (!merged)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct stat st;
	if (lstat(merged, &st) < 0 || !berth_is_mountpoint(merged))
		return 0;
	if (umount2(merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: unmount %s", merged);
	return 0;
}

static char *ov_diff_path(struct berth_graph_driver *d, const char *id) { return layer_path(d, id, "diff"); }

static int ov_apply_diff(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			 const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			 struct berth_error *err)
{
	cleanup_free char *diff = layer_path(d, id, "diff");
	if (!diff)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_tar_apply_opts o = *opts;
	o.whiteout = BERTH_WHITEOUT_OVERLAY;
	return berth_driver_apply_diff_at(diff, in, &o, res, err);
}

/* fds of the lower diff dirs of id, top first. */
static int open_lowers(struct berth_graph_driver *d, const char *id, int **fds, size_t *n, struct berth_error *err)
{
	*fds = NULL;
	*n = 0;
	cleanup_free char *lowerf = layer_path(d, id, "lower");
	cleanup_free char *lower = lowerf ? read_small(lowerf) : NULL;
	if (!lower || !*lower)
		return 0;
	size_t cap = 1;
	for (const char *s = lower; *s; s++)
		cap += *s == ':';
	*fds = calloc(cap, sizeof(int));
	if (!*fds)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *save = NULL;
	for (char *tok = strtok_r(lower, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		if (strncmp(tok, "l/", 2) != 0 || strchr(tok + 2, '/') || strstr(tok, ".."))
			continue;
		cleanup_free char *p = berth_strdup_printf("%s/%s", d->home, tok);
		int fd = p ? open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (fd < 0 && p && errno == ENOENT) { /* lost in a crash */
			repair_links(d);
			fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (fd < 0) {
			for (size_t i = 0; i < *n; i++)
				close((*fds)[i]);
			free(*fds);
			*fds = NULL;
			*n = 0;
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "overlay2: open lower %s", tok);
		}
		(*fds)[(*n)++] = fd;
	}
	return 0;
}

static int ov_changes(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
		      struct berth_error *err)
{
	(void)parent;
	cleanup_free char *diff = layer_path(d, id, "diff");
	cleanup_close int ufd = diff ? open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (ufd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "overlay2: layer %s", id);
	int *fds;
	size_t n;
	if (open_lowers(d, id, &fds, &n, err) < 0)
		return -1;
	int rc = berth_changes_overlay(ufd, fds, n, out, err);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return rc;
}

static int ov_export_changes(struct berth_graph_driver *d, const char *id, const char *parent, struct berth_writer *out,
			     struct berth_error *err)
{
	(void)parent;
	cleanup_free char *diff = layer_path(d, id, "diff");
	cleanup_close int ufd = diff ? open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (ufd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "overlay2: layer %s", id);
	return berth_overlay_export_upper(ufd, d->idmap, out, err);
}

static int64_t ov_diff_size(struct berth_graph_driver *d, const char *id, const char *parent)
{
	(void)parent;
	cleanup_free char *diff = layer_path(d, id, "diff");
	return diff ? berth_dir_size(diff) : 0;
}

static json_t *ov_metadata(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = layer_path(d, id, NULL);
	if (!dir)
		return json_object();
	json_t *m = json_object();
	json_object_set_new(m, "MergedDir", json_sprintf("%s/merged", dir));
	json_object_set_new(m, "UpperDir", json_sprintf("%s/diff", dir));
	json_object_set_new(m, "WorkDir", json_sprintf("%s/work", dir));
	cleanup_free char *lowerf = layer_path(d, id, "lower");
	cleanup_free char *lower = lowerf ? read_small(lowerf) : NULL;
	if (lower && *lower) {
		struct berth_buf b = {0};
		char *save = NULL;
		bool repaired = false;
		for (char *tok = strtok_r(lower, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
			cleanup_free char *lp = berth_strdup_printf("%s/%s", d->home, tok);
			char target[PATH_MAX];
			ssize_t n = lp ? readlink(lp, target, sizeof(target) - 1) : -1;
			if (n < 0 && lp && errno == ENOENT && !repaired) { /* lost in a crash */
				repair_links(d);
				repaired = true;
				n = readlink(lp, target, sizeof(target) - 1);
			}
			if (n <= 0)
				continue;
			target[n] = '\0';
			/* "../<id>/diff" relative to l/ */
			berth_buf_printf(&b, "%s%s/%s", b.len ? ":" : "", d->home,
					 berth_str_has_prefix(target, "../") ? target + 3 : target);
		}
		json_object_set_new(m, "LowerDir", json_string(berth_buf_str(&b)));
		berth_buf_free(&b);
	}
	return m;
}

static json_t *ov_status(struct berth_graph_driver *d)
{
	return json_pack("[[s,s],[s,s],[s,s],[s,s]]", "Backing Filesystem", berth_backing_fs_name(d->home),
			 "Supports d_type", berth_fs_supports_dtype(d->home) ? "true" : "false", "Native Overlay Diff",
			 "true", "userxattr", "false");
}

static char **ov_list(struct berth_graph_driver *d)
{
	char **v = calloc(1, sizeof(char *));
	DIR *dir = opendir(d->home);
	struct dirent *e;
	while (v && dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "l") || !strcmp(e->d_name, "backingFsBlockDev"))
			continue;
		berth_strv_push(&v, e->d_name);
	}
	if (dir)
		closedir(dir);
	return v;
}

/* docker's rule: size limits only where the backing fs is xfs with pquota. */
static int ov_set_size(struct berth_graph_driver *d, const char *id, uint64_t bytes, struct berth_error *err)
{
	cleanup_free char *dir = layer_path(d, id, NULL);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_xfs_set_limit(d->home, dir, bytes, err);
}

const struct berth_graph_driver_ops berth_driver_overlay2 = {
	.name = "overlay2",
	.probe = ov_probe,
	.init = ov_init,
	.cleanup = ov_cleanup,
	.create = ov_create,
	.commit = ov_commit,
	.remove = ov_remove,
	.exists = ov_exists,
	.get = ov_get,
	.mount_args = ov_mount_args,
	.put = ov_put,
	.diff_path = ov_diff_path,
	.apply_diff = ov_apply_diff,
	.changes = ov_changes,
	.export_changes = ov_export_changes,
	.diff_size = ov_diff_size,
	.metadata = ov_metadata,
	.status = ov_status,
	.list = ov_list,
	.set_size = ov_set_size,
	.whiteout = BERTH_WHITEOUT_OVERLAY,
};
