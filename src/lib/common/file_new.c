#include "common/file_new.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/util.h"

int berth_write_file_new(const char *path, const void *data, size_t len, mode_t mode, struct berth_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		berth_err_sys(err, e == EEXIST ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, e, "create %s", path);
		errno = e;
		return -1;
	}
	if (berth_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		berth_err_sys(err, BERTH_E_INTERNAL, e, "write %s", path);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}
