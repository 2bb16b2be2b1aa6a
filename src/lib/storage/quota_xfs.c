/* XFS project quotas for overlay2's --storage-opt size= (docker's rule: only
 * where the backing filesystem is xfs mounted with pquota). Each limited
 * layer directory gets its own project id (inherited by what is created
 * below it) and a hard block limit on that project. */
#include "storage/quota_xfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define XFS_MAGIC 0x58465342
#define OVERLAY_QUOTA_MSG "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"

/* A block device node for the filesystem holding home (quotactl wants one);
 * docker keeps the same "backingFsBlockDev" in the driver's home. */
static char *backing_dev(const char *home, struct berth_error *err)
{
	struct stat st;
	if (stat(home, &st) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "stat %s", home);
		return NULL;
	}
	char *dev = berth_strdup_printf("%s/backingFsBlockDev", home);
	if (!dev) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	unlink(dev);
	if (mknod(dev, S_IFBLK | 0600, st.st_dev) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", dev);
		free(dev);
		return NULL;
	}
	return dev;
}

int berth_xfs_quota_supported(const char *home, struct berth_error *err)
{
	struct statfs sf;
	if (statfs(home, &sf) < 0 || (unsigned long)sf.f_type != XFS_MAGIC)
		return berth_err(err, BERTH_E_INVALID, OVERLAY_QUOTA_MSG);
	cleanup_free char *dev = backing_dev(home, err);
	if (!dev)
		return -1;
	struct fs_quota_stat qs;
	memset(&qs, 0, sizeof(qs));
	int rc = quotactl(QCMD(Q_XGETQSTAT, PRJQUOTA), dev, 0, (caddr_t)&qs);
	if (rc < 0 || !(qs.qs_flags & FS_QUOTA_PDQ_ENFD))
		return berth_err(err, BERTH_E_INVALID, OVERLAY_QUOTA_MSG);
	return 0;
}

int berth_xfs_set_limit(const char *home, const char *dir, uint64_t bytes, struct berth_error *err)
{
	if (berth_xfs_quota_supported(home, err) < 0)
		return -1;
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "stat %s", dir);
	/* project id from the directory's inode: unique per filesystem, never 0 */
	uint32_t projid = (uint32_t)(st.st_ino & 0x7fffffff);
	if (projid == 0)
		projid = 1;
	struct fsxattr fsx;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "get project of %s", dir);
	fsx.fsx_projid = projid;
	fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
	if (ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "set project of %s", dir);
	cleanup_free char *dev = berth_strdup_printf("%s/backingFsBlockDev", home);
	struct fs_disk_quota d;
	memset(&d, 0, sizeof(d));
	d.d_version = FS_DQUOT_VERSION;
	d.d_id = projid;
	d.d_flags = FS_PROJ_QUOTA;
	d.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT;
	d.d_blk_hardlimit = bytes / 512;
	d.d_blk_softlimit = bytes / 512;
	if (!dev || quotactl(QCMD(Q_XSETQLIM, PRJQUOTA), dev, (int)projid, (caddr_t)&d) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "set quota limit on %s", dir);
	return 0;
}
