/* vfs driver: every layer is a full copy of its parent with the diff applied
 * (whiteouts become real deletions). <home>/dir/<id> is the root filesystem. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/driver.h"
#include "storage/fsutil.h"
#include "storage/fulllayer.h"
#include "storage/quota_xfs.h"

static char *vfs_path(struct berth_graph_driver *d, const char *id) { return berth_fulllayer_path(d, id); }

static int vfs_probe(const char *data_root, unsigned *features, struct berth_error *err)
{
	(void)features;
	(void)data_root;
	(void)err;
	return 0;
}

static int vfs_init(struct berth_graph_driver *d, struct berth_error *err)
{
	cleanup_free char *dir = berth_strdup_printf("%s/dir", d->home);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	berth_fs_spread_subdirs(dir); /* each layer in a block group of its own (storage/fsutil.h) */
	return 0;
}

static void vfs_cleanup(struct berth_graph_driver *d) { (void)d; }

static int vfs_create(struct berth_graph_driver *d, const char *id, const char *parent, bool rw,
		      struct berth_error *err)
{
	(void)rw;
	cleanup_free char *dir = vfs_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (mkdir(dir, 0755) < 0)
		return berth_err_sys(err, errno == EEXIST ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, errno,
				     "vfs: create layer %s", id);
	chmod(dir, 0755);
	if (berth_idmap_chown_root(d->idmap, dir, err) < 0) { /* --userns-remap */
		rmdir(dir);
		return -1;
	}
	if (!parent || !*parent)
		return 0;
	cleanup_free char *pdir = vfs_path(d, parent);
	cleanup_close int sfd = pdir ? open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || dfd < 0) {
		berth_err_sys(err, sfd < 0 ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, errno, "vfs: open parent %s",
			      parent);
		berth_rm_rf(dir, NULL);
		return -1;
	}
	if (berth_copy_tree(sfd, dfd, err) < 0) {
		berth_err_prefix(err, "vfs: copy parent layer");
		berth_rm_rf(dir, NULL);
		return -1;
	}
	return 0;
}

static int vfs_remove(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	cleanup_free char *dir = vfs_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_rm_rf(dir, err);
}

static json_t *vfs_metadata(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = vfs_path(d, id);
	return dir ? json_pack("{s:s}", "Dir", dir) : json_object();
}

/* Only where xfs project quotas work (docker's vfs quota rule). */
static int vfs_set_size(struct berth_graph_driver *d, const char *id, uint64_t bytes, struct berth_error *err)
{
	struct berth_error qerr = {0};
	if (berth_xfs_quota_supported(d->home, &qerr) < 0)
		return berth_err(err, BERTH_E_INVALID,
				 "--storage-opt is not supported for vfs on this backing filesystem");
	cleanup_free char *dir = vfs_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_xfs_set_limit(d->home, dir, bytes, err);
}

static json_t *vfs_status(struct berth_graph_driver *d)
{
	(void)d;
	return json_array();
}

const struct berth_graph_driver_ops berth_driver_vfs = {
	.name = "vfs",
	.probe = vfs_probe,
	.init = vfs_init,
	.cleanup = vfs_cleanup,
	.create = vfs_create,
	.remove = vfs_remove,
	.metadata = vfs_metadata,
	.status = vfs_status,
	.set_size = vfs_set_size,
	BERTH_FULLLAYER_OPS("dir"),
};
