/* The rotated log file that json-file and local write (docker's
 * loggerutils.LogFile): entries are appended to <path>; once it holds
 * max-size bytes it becomes <path>.1 (gzip-compressed to <path>.1.gz with
 * docker's {"lastTime": ...} header extra when compress is on), older
 * files shift up to <path>.<max-file - 1>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "logger_internal.h"

/* gzip <src> into <src>.gz with docker's header extra {"lastTime": ...}, then unlink src. */
static int compress_file(const char *src, int64_t last_ts, struct berth_error *err)
{
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", src);
	cleanup_free char *dst = berth_strdup_printf("%s.gz", src);
	cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", dst);
	char ts[64];
	berth_log_time_format(last_ts, ts, sizeof(ts));
	char extra[96];
	int elen = snprintf(extra, sizeof(extra), "{\"lastTime\":\"%s\"}", ts);
	z_stream z = {0};
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return berth_err(err, BERTH_E_INTERNAL, "deflateInit failed");
	gz_header h = {0};
	h.extra = (Bytef *)extra;
	h.extra_len = (uInt)elen;
	h.os = 255;
	deflateSetHeader(&z, &h);
	unsigned char ibuf[65536], obuf[65536];
	int rc = 0, flush;
	do {
		ssize_t n = read(in, ibuf, sizeof(ibuf));
		if (n < 0) {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "read %s", src);
			break;
		}
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = ibuf;
		z.avail_in = (uInt)n;
		do {
			z.next_out = obuf;
			z.avail_out = sizeof(obuf);
			deflate(&z, flush);
			if (berth_write_all(out, obuf, sizeof(obuf) - z.avail_out) < 0) {
				rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", dst);
				flush = Z_FINISH;
				break;
			}
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	deflateEnd(&z);
	if (rc < 0) {
		unlink(dst);
		return -1;
	}
	unlink(src);
	return 0;
}

int berth_logfile_flush(struct berth_logfile *f, struct berth_error *err)
{
	if (!f->wbuf.len)
		return 0;
	size_t len = f->wbuf.len;
	f->wbuf.len = 0;
	if (f->fd < 0)
		return berth_err(err, BERTH_E_INTERNAL, "log file is not open");
	if (berth_write_all(f->fd, f->wbuf.data, len) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", f->path);
	return 0;
}

static int rotate(struct berth_logfile *j, struct berth_error *err)
{
	/* what is gathered belongs to the file being rotated out */
	berth_logfile_flush(j, err);
	close(j->fd);
	j->fd = -1;
	const char *ext = j->compress ? ".gz" : "";
	if (j->max_files >= 2) {
		char from[4096], to[4096];
		snprintf(to, sizeof(to), "%s.%d%s", j->path, j->max_files - 1, ext);
		unlink(to);
		for (int i = j->max_files - 1; i > 1; i--) {
			snprintf(to, sizeof(to), "%s.%d%s", j->path, i, ext);
			snprintf(from, sizeof(from), "%s.%d%s", j->path, i - 1, ext);
			if (rename(from, to) < 0 && errno != ENOENT)
				berth_err_sys(err, BERTH_E_INTERNAL, errno, "rotate %s", from);
		}
		snprintf(to, sizeof(to), "%s.1", j->path);
		if (rename(j->path, to) < 0 && errno != ENOENT)
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "rotate %s", j->path);
		else if (j->compress)
			compress_file(to, j->last_ts, err);
	} else {
		/* one file: start over (readers holding the old one finish it) */
		unlink(j->path);
	}
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (j->fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", j->path);
	j->size = 0;
	return 0;
}

int berth_logfile_open(struct berth_logfile *f, const char *path, int64_t capacity, int max_files, bool compress,
		       struct berth_error *err)
{
	memset(f, 0, sizeof(*f));
	f->capacity = capacity;
	f->max_files = max_files;
	f->compress = compress;
	f->path = strdup(path);
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (!f->path || f->fd < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", path);
		berth_logfile_close(f);
		return -1;
	}
	struct stat st;
	f->size = fstat(f->fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

int berth_logfile_write(struct berth_logfile *f, const void *data, size_t len, int64_t ts_ns, struct berth_error *err)
{
	if (f->capacity != -1 && f->size >= f->capacity && rotate(f, err) < 0)
		return -1;
	if (f->fd < 0)
		return berth_err(err, BERTH_E_INTERNAL, "log file is not open");
	if (berth_buf_append(&f->wbuf, data, len) < 0)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	f->size += (int64_t)len;
	f->last_ts = ts_ns;
	return f->wbuf.len >= BERTH_LOGFILE_BATCH ? berth_logfile_flush(f, err) : 0;
}

void berth_logfile_close(struct berth_logfile *f)
{
	struct berth_error err = {0};
	berth_logfile_flush(f, &err);
	berth_buf_free(&f->wbuf);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->path);
	f->path = NULL;
}
