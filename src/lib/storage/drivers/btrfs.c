/* btrfs driver: every layer is a btrfs subvolume at <home>/subvolumes/<id>;
 * a child layer (and a container's rw layer) is a writable snapshot of its
 * parent, so it starts as a full copy that shares every extent. Like vfs the
 * subvolume is the whole root filesystem and deletions are real deletions.
 * Everything goes through the btrfs ioctls of linux/btrfs.h. Size limits
 * (--storage-opt size=) are qgroup limits on the container's subvolume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/driver.h"
#include "storage/fsutil.h"
#include "storage/fulllayer.h"

/* info's "Build Version" / "Library Version" are, as in docker, those of the
 * btrfs-progs Berth is built against: libbtrfs-dev's btrfs/version.h
 * (scripts/install-deps.sh). Without it meson passes the version `btrfs
 * --version` prints (BERTH_BTRFS_PROGS_VERSION) and the library row is left
 * out, as docker built without libbtrfs leaves out what it does not know. */
#if defined(__has_include)
#if __has_include(<btrfs/version.h>)
#include <btrfs/version.h>
#endif
#endif
#define SUBVOL_ROOT_INO 256 /* BTRFS_FIRST_FREE_OBJECTID: inode of every subvolume's root */

static char *subvols_dir(struct berth_graph_driver *d) { return berth_strdup_printf("%s/subvolumes", d->home); }

static char *bt_path(struct berth_graph_driver *d, const char *id) { return berth_fulllayer_path(d, id); }

static bool is_btrfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)BTRFS_SUPER_MAGIC;
}

static int bt_probe(const char *data_root, unsigned *features, struct berth_error *err)
{
	(void)features;
	if (!is_btrfs(data_root))
		return berth_err(err, BERTH_E_UNSUPPORTED,
				 "prerequisites for driver not satisfied (wrong filesystem?)");
	return 0;
}

static int bt_init(struct berth_graph_driver *d, struct berth_error *err)
{
	if (!is_btrfs(d->home))
		return berth_err(err, BERTH_E_UNSUPPORTED,
				 "prerequisites for driver not satisfied (wrong filesystem?)");
	cleanup_free char *dir = subvols_dir(d);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_mkdir_p(dir, 0700, err);
}

static void bt_cleanup(struct berth_graph_driver *d) { (void)d; }

static int vol_args_name(struct btrfs_ioctl_vol_args *a, const char *name, struct berth_error *err)
{
	memset(a, 0, sizeof(*a));
	if (strlen(name) > BTRFS_PATH_NAME_MAX)
		return berth_err(err, BERTH_E_INVALID, "btrfs: subvolume name too long: %s", name);
	strcpy(a->name, name);
	return 0;
}

/* Subvolume id of the subvolume whose root is fd (0 on error). */
static uint64_t subvol_id(int fd)
{
	struct btrfs_ioctl_ino_lookup_args args = {.treeid = 0, .objectid = SUBVOL_ROOT_INO};
	if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args) < 0)
		return 0;
	return args.treeid;
}

/* Destroy subvolume name in parent_fd, deleting nested subvolumes (ones a
 * container made inside its layer) first. */
static int destroy_subvol(int parent_fd, const char *name, int depth);

static int destroy_nested(int dir_fd, int depth)
{
	if (depth > 64)
		return -1;
	int dfd = dup(dir_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	char **subs = NULL, **dirs = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		struct stat st;
		if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		berth_strv_push(st.st_ino == SUBVOL_ROOT_INO ? &subs : &dirs, e->d_name);
	}
	closedir(d);
	int rc = 0;
	for (size_t i = 0; subs && subs[i]; i++)
		if (destroy_subvol(dir_fd, subs[i], depth + 1) < 0)
			rc = -1;
	for (size_t i = 0; dirs && dirs[i]; i++) {
		int cfd = openat(dir_fd, dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			continue;
		if (destroy_nested(cfd, depth + 1) < 0)
			rc = -1;
		close(cfd);
	}
	berth_strv_free(subs);
	berth_strv_free(dirs);
	return rc;
}

static int destroy_subvol(int parent_fd, const char *name, int depth)
{
	struct btrfs_ioctl_vol_args a;
	if (vol_args_name(&a, name, NULL) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	uint64_t qid = 0;
	int sfd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd >= 0) {
		qid = subvol_id(sfd);
		close(sfd);
	}
	if (ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY, &a) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY)
			return -1;
		/* nested subvolumes inside: remove them, then retry */
		sfd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			return -1;
		int r = destroy_nested(sfd, depth);
		close(sfd);
		if (r < 0 || ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY, &a) < 0)
			return -1;
	}
	if (qid) {
		/* drop the subvolume's qgroup (kept by older kernels); no-op without quotas */
		struct btrfs_ioctl_qgroup_create_args q = {.create = 0, .qgroupid = qid};
		int saved = errno;
		ioctl(parent_fd, BTRFS_IOC_QGROUP_CREATE, &q);
		errno = saved;
	}
	return 0;
}

static int bt_create(struct berth_graph_driver *d, const char *id, const char *parent, bool rw, struct berth_error *err)
{
	(void)rw;
	cleanup_free char *dir = subvols_dir(d);
	cleanup_close int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: open %s", dir ? dir : "subvolumes");
	struct stat st;
	if (fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return berth_err(err, BERTH_E_CONFLICT, "btrfs: layer %s already exists", id);
	if (!parent || !*parent) {
		struct btrfs_ioctl_vol_args a;
		if (vol_args_name(&a, id, err) < 0)
			return -1;
		if (ioctl(dfd, BTRFS_IOC_SUBVOL_CREATE, &a) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: create subvolume %s", id);
		if (fchmodat(dfd, id, 0755, 0) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: chmod %s", id);
		/* --userns-remap: the container's root owns a base layer's root
		 * (snapshots keep their parent's owners) */
		if (berth_idmap_enabled(d->idmap) && fchownat(dfd, id, berth_idmap_root_uid(d->idmap),
							      berth_idmap_root_gid(d->idmap), AT_SYMLINK_NOFOLLOW) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: chown %s", id);
		return 0;
	}
	cleanup_close int pfd = openat(dfd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "btrfs: open parent layer %s", parent);
	struct btrfs_ioctl_vol_args_v2 a2;
	memset(&a2, 0, sizeof(a2));
	if (strlen(id) > BTRFS_SUBVOL_NAME_MAX)
		return berth_err(err, BERTH_E_INVALID, "btrfs: subvolume name too long: %s", id);
	a2.fd = pfd;
	strcpy(a2.name, id);
	if (ioctl(dfd, BTRFS_IOC_SNAP_CREATE_V2, &a2) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: snapshot %s of %s", id, parent);
	return 0;
}

static int bt_remove(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	cleanup_free char *dir = subvols_dir(d);
	cleanup_close int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: open subvolumes");
	struct stat st;
	if (fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: stat %s", id);
	if (S_ISDIR(st.st_mode) && st.st_ino == SUBVOL_ROOT_INO) {
		if (destroy_subvol(dfd, id, 0) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: delete subvolume %s", id);
		return 0;
	}
	/* not a subvolume (a half-made layer): plain removal */
	if (berth_rm_rf_at(dfd, id) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: remove %s", id);
	return 0;
}

static json_t *bt_metadata(struct berth_graph_driver *d, const char *id)
{
	(void)d;
	(void)id;
	return NULL; /* docker's btrfs driver has no GraphDriver.Data */
}

static json_t *bt_status(struct berth_graph_driver *d)
{
	(void)d;
	json_t *st = json_array();
#if defined(BTRFS_BUILD_VERSION)
	json_array_append_new(st, json_pack("[s,s]", "Build Version", BTRFS_BUILD_VERSION));
#elif defined(BERTH_BTRFS_PROGS_VERSION)
	json_array_append_new(st, json_pack("[s,s]", "Build Version", "Btrfs " BERTH_BTRFS_PROGS_VERSION));
#endif
#if defined(BTRFS_LIB_VERSION)
	char lib[24];
	snprintf(lib, sizeof(lib), "%d", (int)BTRFS_LIB_VERSION);
	json_array_append_new(st, json_pack("[s,s]", "Library Version", lib));
#endif
	return st;
}

static int bt_set_size(struct berth_graph_driver *d, const char *id, uint64_t bytes, struct berth_error *err)
{
	char human[32];
	if (bytes == 0) {
		berth_size_human(0, human, sizeof(human));
		return berth_err(err, BERTH_E_INVALID, "btrfs: invalid storage size: %s", human);
	}
	if (d->min_space && bytes < d->min_space) {
		berth_size_human((double)d->min_space, human, sizeof(human));
		return berth_err(err, BERTH_E_INVALID, "btrfs: storage size cannot be less than %s", human);
	}
	cleanup_free char *dir = bt_path(d, id);
	cleanup_close int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "btrfs: layer %s", id);
	struct btrfs_ioctl_qgroup_limit_args a;
	memset(&a, 0, sizeof(a));
	a.qgroupid = 0; /* the subvolume's own qgroup */
	a.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	a.lim.max_rfer = bytes;
	if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &a) < 0) {
		if (errno == ENOTCONN || errno == ENOENT)
			return berth_err(err, BERTH_E_INVALID,
					 "btrfs: --storage-opt size needs quotas enabled on the filesystem of %s "
					 "(run `btrfs quota enable %s`)",
					 d->data_root, d->data_root);
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "btrfs: set qgroup limit on %s", id);
	}
	return 0;
}

const struct berth_graph_driver_ops berth_driver_btrfs = {
	.name = "btrfs",
	.probe = bt_probe,
	.init = bt_init,
	.cleanup = bt_cleanup,
	.create = bt_create,
	.remove = bt_remove,
	.metadata = bt_metadata,
	.status = bt_status,
	.set_size = bt_set_size,
	BERTH_FULLLAYER_OPS("subvolumes"),
};
