/* Storage driver registry and selection. */
#include "storage/driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"

extern const struct berth_graph_driver_ops berth_driver_overlay2;
extern const struct berth_graph_driver_ops berth_driver_vfs;
extern const struct berth_graph_driver_ops berth_driver_aufs;
extern const struct berth_graph_driver_ops berth_driver_devicemapper;
extern const struct berth_graph_driver_ops berth_driver_btrfs;
extern const struct berth_graph_driver_ops berth_driver_zfs;

/* Order matters for nothing but listing; auto choice is explicit below. */
const struct berth_graph_driver_ops *const berth_graph_driver_table[] = {
	&berth_driver_overlay2,
	&berth_driver_vfs,
	&berth_driver_aufs,
	&berth_driver_devicemapper,
	&berth_driver_btrfs,
	&berth_driver_zfs,
	NULL,
};

const struct berth_graph_driver_ops *berth_graph_driver_lookup(const char *name)
{
	for (size_t i = 0; berth_graph_driver_table[i]; i++)
		if (!strcmp(berth_graph_driver_table[i]->name, name))
			return berth_graph_driver_table[i];
	return NULL;
}

struct berth_graph_driver *berth_graph_driver_open(const char *data_root, const char *name, struct berth_error *err)
{
	const struct berth_graph_driver_ops *ops;
	bool probed = false;
	unsigned features = 0;
	if (!name || !*name) {
		struct berth_error probe_err = {0};
		ops = &berth_driver_btrfs;
		if (ops->probe(data_root, &features, &probe_err) < 0)
			ops = &berth_driver_overlay2;
		if (ops == &berth_driver_overlay2 && ops->probe(data_root, &features, &probe_err) < 0)
			ops = &berth_driver_vfs;
		probed = true;
	} else {
		ops = berth_graph_driver_lookup(name);
		if (!ops) {
			berth_err(
				err, BERTH_E_UNSUPPORTED,
				"error initializing graphdriver: driver \"%s\" not supported on this host (unknown driver)",
				name);
			return NULL;
		}
	}
	if (!probed && ops->probe && ops->probe(data_root, &features, err) < 0) {
		berth_err_prefix(err, "error initializing graphdriver");
		return NULL;
	}
	struct berth_graph_driver *d = calloc(1, sizeof(*d));
	if (!d) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	d->ops = ops;
	d->probe_features = features;
	d->data_root = strdup(data_root);
	d->home = berth_strdup_printf("%s/%s", data_root, ops->name);
	if (!d->data_root || !d->home) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		berth_graph_driver_close(d);
		return NULL;
	}
	if (berth_mkdir_p(d->home, 0710, err) < 0 || ops->init(d, err) < 0) {
		berth_graph_driver_close(d);
		return NULL;
	}
	return d;
}

void berth_mount_args_free(struct berth_mount_args *a)
{
	free(a->target);
	a->target = NULL;
	if (a->view_fd >= 0)
		close(a->view_fd);
	a->view_fd = -1;
}

void berth_graph_driver_close(struct berth_graph_driver *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->cleanup)
		d->ops->cleanup(d);
	free(d->data_root);
	free(d->home);
	free(d);
}

const char *berth_backing_fs_name(const char *path)
{
	struct statfs sf;
	if (statfs(path, &sf) < 0)
		return "<unknown>";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53: return "extfs";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x794c7630: return "overlayfs";
	case 0x2fc12fc1: return "zfs";
	case 0x6969: return "nfs";
	case 0xF2F52010: return "f2fs";
	case 0x65735546: return "fuseblk";
	case 0x5346544e: return "ntfs";
	default: return "<unknown>";
	}
}

bool berth_fs_supports_dtype(const char *path)
{
	cleanup_free char *probe = berth_strdup_printf("%s/.dtype-probe-%d", path, getpid());
	if (!probe || mkdir(probe, 0700) < 0)
		return false;
	cleanup_free char *file = berth_strdup_printf("%s/f", probe);
	int fd = file ? open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600) : -1;
	bool ok = false;
	if (fd >= 0) {
		close(fd);
		DIR *d = opendir(probe);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (!strcmp(e->d_name, "f"))
				ok = e->d_type == DT_REG;
		if (d)
			closedir(d);
		unlink(file);
	}
	rmdir(probe);
	return ok;
}

int berth_driver_apply_diff_at(const char *dir, struct berth_reader *in, const struct berth_tar_apply_opts *opts,
			       struct berth_tar_apply_result *res, struct berth_error *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", dir);
	return berth_tar_apply(fd, in, opts, res, err);
}
