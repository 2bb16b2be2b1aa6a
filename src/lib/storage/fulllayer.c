/* Layer bookkeeping of the full-copy drivers (vfs, btrfs): see fulllayer.h. */
#include "storage/fulllayer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/changes.h"

char *berth_fulllayer_path(struct berth_graph_driver *d, const char *id)
{
	return berth_strdup_printf("%s/%s/%s", d->home, d->ops->layer_subdir, id);
}

int berth_fulllayer_commit(struct berth_graph_driver *d, const char *tmp_id, const char *id, struct berth_error *err)
{
	cleanup_free char *from = berth_fulllayer_path(d, tmp_id);
	cleanup_free char *to = berth_fulllayer_path(d, id);
	if (!from || !to)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rename(from, to) < 0)
		return berth_err_sys(err, errno == EEXIST || errno == ENOTEMPTY ? BERTH_E_CONFLICT : BERTH_E_INTERNAL,
				     errno, "%s: rename layer %s", d->ops->name, id);
	return 0;
}

bool berth_fulllayer_exists(struct berth_graph_driver *d, const char *id)
{
	cleanup_free char *dir = berth_fulllayer_path(d, id);
	struct stat st;
	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int berth_fulllayer_get(struct berth_graph_driver *d, const char *id, char **path, struct berth_error *err)
{
	if (!berth_fulllayer_exists(d, id))
		return berth_err(err, BERTH_E_NOT_FOUND, "%s: layer %s does not exist", d->ops->name, id);
	*path = berth_fulllayer_path(d, id);
	return *path ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
}

int berth_fulllayer_put(struct berth_graph_driver *d, const char *id, struct berth_error *err)
{
	(void)d;
	(void)id;
	(void)err;
	return 0; /* nothing is mounted */
}

char *berth_fulllayer_diff_path(struct berth_graph_driver *d, const char *id) { return berth_fulllayer_path(d, id); }

int berth_fulllayer_apply_diff(struct berth_graph_driver *d, const char *id, struct berth_reader *in,
			       const struct berth_tar_apply_opts *opts, struct berth_tar_apply_result *res,
			       struct berth_error *err)
{
	cleanup_free char *dir = berth_fulllayer_path(d, id);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_tar_apply_opts o = *opts;
	o.whiteout = BERTH_WHITEOUT_DELETE;
	return berth_driver_apply_diff_at(dir, in, &o, res, err);
}

/* Open id's directory (*nfd) and its parent's (*ofd, -1 without a parent). */
static int open_pair(struct berth_graph_driver *d, const char *id, const char *parent, int *nfd, int *ofd,
		     struct berth_error *err)
{
	cleanup_free char *dir = berth_fulllayer_path(d, id);
	*ofd = -1;
	*nfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (*nfd < 0)
		return berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "%s: layer %s", d->ops->name, id);
	if (parent && *parent) {
		cleanup_free char *pdir = berth_fulllayer_path(d, parent);
		*ofd = pdir ? open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (*ofd < 0) {
			berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "%s: layer %s", d->ops->name, parent);
			close(*nfd);
			*nfd = -1;
			return -1;
		}
	}
	return 0;
}

static void close_pair(int nfd, int ofd)
{
	close(nfd);
	if (ofd >= 0)
		close(ofd);
}

int berth_fulllayer_changes(struct berth_graph_driver *d, const char *id, const char *parent, json_t **out,
			    struct berth_error *err)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, err) < 0)
		return -1;
	int rc = berth_changes_dirs(nfd, ofd, out, err);
	close_pair(nfd, ofd);
	return rc;
}

int berth_fulllayer_export_changes(struct berth_graph_driver *d, const char *id, const char *parent,
				   struct berth_writer *out, struct berth_error *err)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, err) < 0)
		return -1;
	json_t *changes = NULL;
	int rc = berth_changes_dirs(nfd, ofd, &changes, err);
	if (rc == 0)
		rc = berth_changes_export(nfd, changes, d->idmap, out, err);
	json_decref(changes);
	close_pair(nfd, ofd);
	return rc;
}

int64_t berth_fulllayer_diff_size(struct berth_graph_driver *d, const char *id, const char *parent)
{
	int nfd, ofd;
	if (open_pair(d, id, parent, &nfd, &ofd, NULL) < 0)
		return 0;
	json_t *changes = NULL;
	int64_t size = 0;
	if (berth_changes_dirs(nfd, ofd, &changes, NULL) == 0)
		size = berth_changes_size(nfd, changes);
	json_decref(changes);
	close_pair(nfd, ofd);
	return size;
}

char **berth_fulllayer_list(struct berth_graph_driver *d)
{
	cleanup_free char *dir = berth_strdup_printf("%s/%s", d->home, d->ops->layer_subdir);
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
