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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/changes.h"
#include "storage/driver.h"
#include "storage/fsutil.h"

/* docker reports the btrfs-progs it was built with; Berth uses the ioctls
 * directly and reports the btrfs-progs generation of this platform. */
#define BTRFS_BUILD_VERSION "Btrfs v6.2"
#define BTRFS_LIB_VERSION "102"
#define SUBVOL_ROOT_INO 256 /* BTRFS_FIRST_FREE_OBJECTID: inode of every subvolume's root */

static char *subvols_dir(struct berth_graph_driver *d) { return berth_strdup_printf("%s/subvolumes", d->home); }

static char *bt_path(struct berth_graph_driver *d, const char *id)
{
	return berth_strdup_printf("%s/subvolumes/%s", d->home, id);
}

static bool is_btrfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)BTRFS_SUPER_MAGIC;
}

static int bt_probe(const char *data_root, struct berth_error *err)
{
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

static int bt_commit(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err)
{
	cleanup_free char *from = bt_path(d, tmp_id);
	cleanup_free char *to = bt_path(d, id);
	if (!from || !to)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rename(from, to) < 0)
		return berth_err_sys(err, errno == EEXIST || errno == ENOTEMPTY ? BERTH_E_CONFLICT : BERTH_E_INTERNAL,
				     errno, "btrfs: rename layer %s", id);
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

static bool bt_exists(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = bt_path(d, id);
	struct stat st;
	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int bt_get(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err)
{
	if (!bt_exists(d, id))
		return berth_err(err, BERTH_E_NOT_FOUND, "btrfs: layer %s does not exist", id);
	*path = bt_path(d, id);
	return *path ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
}

static int bt_put(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	(void)d;
	(void)id;
	(void)err;
	return 0;
}

static char *bt_diff_path(struct berth_graph_driver *d, const char *id) { return bt_path(d, id); }

static int bt_apply_diff(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			 const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			 struct berth_error *err)
{
	cleanup_free char *dir = bt_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_tar_apply_opts o = *opts;
	o.whiteout = BERTH_WHITEOUT_DELETE;
	return berth_driver_apply_diff_at(dir, in, &o, res, err);
}

static int open_pair(struct berth_graph_driver *d, const char *id, const char *parent, int *nfd, int *ofd,
		     struct berth_error *err)
{
	cleanup_free char *dir = bt_path(d, id);
	*ofd = -1;
	*nfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (*nfd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "btrfs: layer %s", id);
	if (parent && *parent) {
		cleanup_free char *pdir = bt_path(d, parent);
		*ofd = pdir ? open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (*ofd < 0) {
			close(*nfd);
			*nfd = -1;
			return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "btrfs: layer %s", parent);
		}
	}
	return 0;
}

static int bt_changes(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
		      struct berth_error *err)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, err) < 0)
		return -1;
	int rc = berth_changes_dirs(nfd, ofd, out, err);
	close(nfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

static int bt_export_changes(struct berth_graph_driver *d, const char *id, const char *parent, struct berth_writer *out,
			     struct berth_error *err)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, err) < 0)
		return -1;
	json_t *changes = NULL;
	int rc = berth_changes_dirs(nfd, ofd, &changes, err);
	if (rc == 0)
		rc = berth_changes_export(nfd, changes, out, err);
	json_decref(changes);
	close(nfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

static int64_t bt_diff_size(struct berth_graph_driver *d, const char *id, const char *parent)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, NULL) < 0)
		return 0;
	json_t *changes = NULL;
	int64_t size = 0;
	if (berth_changes_dirs(nfd, ofd, &changes, NULL) == 0)
		size = berth_changes_size(nfd, changes);
	json_decref(changes);
	close(nfd);
	if (ofd >= 0)
		close(ofd);
	return size;
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
	return json_pack("[[s,s],[s,s]]", "Build Version", BTRFS_BUILD_VERSION, "Library Version", BTRFS_LIB_VERSION);
}

static char **bt_list(struct berth_graph_driver *d)
{
	cleanup_free char *dir = subvols_dir(d);
	char **v = calloc(1, sizeof(char *));
	DIR *dd = dir ? opendir(dir) : NULL;
	struct dirent *e;
	while (v && dd && (e = readdir(dd))) {
		if (e->d_name[0] == '.')
			continue;
		berth_strv_push(&v, e->d_name);
	}
	if (dd)
		closedir(dd);
	return v;
}

static int bt_set_size(struct berth_graph_driver *d, const char *id, uint64_t bytes, struct berth_error *err)
{
	if (d->min_space && bytes < d->min_space)
		return berth_err(err, BERTH_E_INVALID, "btrfs: storage size cannot be less than %llu bytes",
				 (unsigned long long)d->min_space);
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
	.commit = bt_commit,
	.remove = bt_remove,
	.exists = bt_exists,
	.get = bt_get,
	.put = bt_put,
	.diff_path = bt_diff_path,
	.apply_diff = bt_apply_diff,
	.changes = bt_changes,
	.export_changes = bt_export_changes,
	.diff_size = bt_diff_size,
	.metadata = bt_metadata,
	.status = bt_status,
	.list = bt_list,
	.set_size = bt_set_size,
	.whiteout = BERTH_WHITEOUT_DELETE,
};
