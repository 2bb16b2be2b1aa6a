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
#include "storage/changes.h"
#include "storage/driver.h"
#include "storage/fsutil.h"

static char *vfs_path(struct berth_graph_driver *d, const char *id)
{
	return berth_strdup_printf("%s/dir/%s", d->home, id);
}

static int vfs_probe(const char *data_root, struct berth_error *err)
{
	(void)data_root;
	(void)err;
	return 0;
}

static int vfs_init(struct berth_graph_driver *d, struct berth_error *err)
{
	cleanup_free char *dir = berth_strdup_printf("%s/dir", d->home);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_mkdir_p(dir, 0700, err);
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

static int vfs_commit(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err)
{
	cleanup_free char *from = vfs_path(d, tmp_id);
	cleanup_free char *to = vfs_path(d, id);
	if (!from || !to)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rename(from, to) < 0)
		return berth_err_sys(err, errno == EEXIST || errno == ENOTEMPTY ? BERTH_E_CONFLICT : BERTH_E_INTERNAL,
				     errno, "vfs: rename layer %s", id);
	return 0;
}

static int vfs_remove(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	cleanup_free char *dir = vfs_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_rm_rf(dir, err);
}

static bool vfs_exists(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = vfs_path(d, id);
	struct stat st;
	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int vfs_get(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err)
{
	if (!vfs_exists(d, id))
		return berth_err(err, BERTH_E_NOT_FOUND, "vfs: layer %s does not exist", id);
	*path = vfs_path(d, id);
	return *path ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
}

static int vfs_put(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	(void)d;
	(void)id;
	(void)err;
	return 0;
}

static char *vfs_diff_path(struct berth_graph_driver *d, const char *id) { return vfs_path(d, id); }

static int vfs_apply_diff(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			  const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			  struct berth_error *err)
{
	cleanup_free char *dir = vfs_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_tar_apply_opts o = *opts;
	o.whiteout = BERTH_WHITEOUT_DELETE;
	return berth_driver_apply_diff_at(dir, in, &o, res, err);
}

static int open_pair(struct berth_graph_driver *d, const char *id, const char *parent, int *nfd, int *ofd,
		     struct berth_error *err)
{
	cleanup_free char *dir = vfs_path(d, id);
	*ofd = -1;
	*nfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (*nfd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "vfs: layer %s", id);
	if (parent && *parent) {
		cleanup_free char *pdir = vfs_path(d, parent);
		*ofd = pdir ? open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (*ofd < 0) {
			close(*nfd);
			*nfd = -1;
			return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "vfs: layer %s", parent);
		}
	}
	return 0;
}

static int vfs_changes(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
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

static int vfs_export_changes(struct berth_graph_driver *d, const char *id, const char *parent,
			      struct berth_writer *out, struct berth_error *err)
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

static int64_t vfs_diff_size(struct berth_graph_driver *d, const char *id, const char *parent)
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

static json_t *vfs_metadata(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = vfs_path(d, id);
	return dir ? json_pack("{s:s}", "Dir", dir) : json_object();
}

static json_t *vfs_status(struct berth_graph_driver *d)
{
	(void)d;
	return json_array();
}

static char **vfs_list(struct berth_graph_driver *d)
{
	cleanup_free char *dir = berth_strdup_printf("%s/dir", d->home);
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

const struct berth_graph_driver_ops berth_driver_vfs = {
	.name = "vfs",
	.probe = vfs_probe,
	.init = vfs_init,
	.cleanup = vfs_cleanup,
	.create = vfs_create,
	.commit = vfs_commit,
	.remove = vfs_remove,
	.exists = vfs_exists,
	.get = vfs_get,
	.put = vfs_put,
	.diff_path = vfs_diff_path,
	.apply_diff = vfs_apply_diff,
	.changes = vfs_changes,
	.export_changes = vfs_export_changes,
	.diff_size = vfs_diff_size,
	.metadata = vfs_metadata,
	.status = vfs_status,
	.list = vfs_list,
	.whiteout = BERTH_WHITEOUT_DELETE,
};
