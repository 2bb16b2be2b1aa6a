#include "storage/tar_split.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "storage/fsutil.h"

#define TS_MAGIC "BTSPLIT1"
#define TS_SEGMENT 1
#define TS_FILE 2
#define TS_END 3
#define TS_MAX_PATH 65536

struct berth_tarsplit_writer {
	char *path;
	int fd;
	ZSTD_CCtx *cctx;
	unsigned char out[65536];
	bool finished;
};

static int ts_emit(struct berth_tarsplit_writer *w, const void *data, size_t len, ZSTD_EndDirective mode,
		   struct berth_error *err)
{
	ZSTD_inBuffer in = {data, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {w->out, sizeof(w->out), 0};
		size_t rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(rem))
			return berth_err(err, BERTH_E_INTERNAL, "tar-split: zstd: %s", ZSTD_getErrorName(rem));
		if (out.pos && berth_write_all(w->fd, w->out, out.pos) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", w->path);
		if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size)
			return 0;
	}
}

static int ts_varint(struct berth_tarsplit_writer *w, uint64_t v, struct berth_error *err)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	return ts_emit(w, b, n, ZSTD_e_continue, err);
}

struct berth_tarsplit_writer *berth_tarsplit_writer_new(const char *path, struct berth_error *err)
{
	struct berth_tarsplit_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	w->fd = -1;
	w->path = strdup(path);
	w->cctx = ZSTD_createCCtx();
	if (!w->path || !w->cctx) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		berth_tarsplit_writer_free(w);
		return NULL;
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 3);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", path);
		berth_tarsplit_writer_free(w);
		return NULL;
	}
	if (ts_emit(w, TS_MAGIC, 8, ZSTD_e_continue, err) < 0) {
		berth_tarsplit_writer_free(w);
		return NULL;
	}
	return w;
}

int berth_tarsplit_segment(struct berth_tarsplit_writer *w, const void *data, size_t len, struct berth_error *err)
{
	if (!len)
		return 0;
	unsigned char t = TS_SEGMENT;
	if (ts_emit(w, &t, 1, ZSTD_e_continue, err) < 0 || ts_varint(w, len, err) < 0)
		return -1;
	return ts_emit(w, data, len, ZSTD_e_continue, err);
}

int berth_tarsplit_file(struct berth_tarsplit_writer *w, const char *path, uint64_t size, struct berth_error *err)
{
	unsigned char t = TS_FILE;
	size_t pl = strlen(path);
	if (ts_emit(w, &t, 1, ZSTD_e_continue, err) < 0 || ts_varint(w, pl, err) < 0 ||
	    ts_emit(w, path, pl, ZSTD_e_continue, err) < 0 || ts_varint(w, size, err) < 0)
		return -1;
	return 0;
}

int berth_tarsplit_writer_finish(struct berth_tarsplit_writer *w, uint64_t total, struct berth_error *err)
{
	unsigned char t = TS_END;
	if (ts_emit(w, &t, 1, ZSTD_e_continue, err) < 0 || ts_varint(w, total, err) < 0 ||
	    ts_emit(w, NULL, 0, ZSTD_e_end, err) < 0)
		return -1;
	/* no fsync: the layer store syncs the layer's file systems (this
	 * record's too) before the layer is registered (sync_layer) */
	close(w->fd);
	w->fd = -1;
	w->finished = true;
	return 0;
}

void berth_tarsplit_writer_free(struct berth_tarsplit_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->path)
		unlink(w->path);
	ZSTD_freeCCtx(w->cctx);
	free(w->path);
	free(w);
}

/* ---- reader ---- */

struct ts_reader {
	int fd;
	ZSTD_DCtx *dctx;
	unsigned char in[65536];
	ZSTD_inBuffer inb;
	unsigned char out[65536];
	size_t out_pos, out_len;
	bool in_eof;
	size_t last_ret;
};

static ssize_t ts_fill(struct ts_reader *r)
{
	while (r->out_pos == r->out_len) {
		if (r->inb.pos == r->inb.size && !r->in_eof) {
			ssize_t n = read(r->fd, r->in, sizeof(r->in));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (n == 0)
				r->in_eof = true;
			r->inb = (ZSTD_inBuffer){r->in, (size_t)n, 0};
		}
		if (r->inb.pos == r->inb.size && r->in_eof)
			return 0;
		ZSTD_outBuffer out = {r->out, sizeof(r->out), 0};
		size_t ret = ZSTD_decompressStream(r->dctx, &out, &r->inb);
		if (ZSTD_isError(ret)) {
			errno = EBADMSG;
			return -1;
		}
		r->out_pos = 0;
		r->out_len = out.pos;
	}
	return (ssize_t)(r->out_len - r->out_pos);
}

/* Exactly len bytes, or -1 (truncated/corrupt). */
static int ts_read(struct ts_reader *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t avail = ts_fill(r);
		if (avail <= 0)
			return -1;
		size_t n = (size_t)avail < len ? (size_t)avail : len;
		memcpy(p, r->out + r->out_pos, n);
		r->out_pos += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int ts_read_varint(struct ts_reader *r, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		unsigned char b;
		if (ts_read(r, &b, 1) < 0)
			return -1;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

#define EXPORT_BUF 65536

struct export_out {
	struct berth_writer *w;
	struct berth_sha256 *h;
	uint64_t total;
};

static int out_write(struct export_out *o, const void *data, size_t len, struct berth_error *err)
{
	berth_sha256_update(o->h, data, len);
	o->total += len;
	if (o->w->write(o->w->ctx, data, len) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write layer stream");
	return 0;
}

static int export_file(struct export_out *o, int root_fd, int dup_fd, uint64_t ordinal, const char *rel, uint64_t size,
		       char *buf, struct berth_error *err)
{
	cleanup_close int fd = -1;
	if (dup_fd >= 0) {
		char name[32];
		snprintf(name, sizeof(name), "%llu", (unsigned long long)ordinal);
		fd = openat(dup_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		fd = berth_open_beneath(root_fd, rel, O_RDONLY);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "layer file %s", rel);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return berth_err(err, BERTH_E_INTERNAL, "layer file %s changed since it was registered", rel);
	while (size) {
		size_t want = size < EXPORT_BUF ? (size_t)size : EXPORT_BUF;
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return berth_err(err, BERTH_E_INTERNAL, "layer file %s: short read", rel);
		if (out_write(o, buf, (size_t)n, err) < 0)
			return -1;
		size -= (uint64_t)n;
	}
	return 0;
}

static int export_records(struct ts_reader *r, struct export_out *o, int root_fd, int dup_fd, char *buf,
			  struct berth_error *err)
{
	uint64_t ordinal = 0;
	char magic[8];
	if (ts_read(r, magic, 8) < 0 || memcmp(magic, TS_MAGIC, 8) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "tar-split: bad header");
	for (;;) {
		unsigned char t;
		uint64_t len;
		if (ts_read(r, &t, 1) < 0 || ts_read_varint(r, &len) < 0)
			return berth_err(err, BERTH_E_INTERNAL, "tar-split: truncated");
		if (t == TS_END) {
			if (len != o->total)
				return berth_err(err, BERTH_E_INTERNAL, "tar-split: length mismatch");
			return 0;
		}
		if (t == TS_SEGMENT) {
			while (len) {
				size_t n = len < EXPORT_BUF ? (size_t)len : EXPORT_BUF;
				if (ts_read(r, buf, n) < 0)
					return berth_err(err, BERTH_E_INTERNAL, "tar-split: truncated");
				if (out_write(o, buf, n, err) < 0)
					return -1;
				len -= n;
			}
		} else if (t == TS_FILE) {
			if (len == 0 || len > TS_MAX_PATH)
				return berth_err(err, BERTH_E_INTERNAL, "tar-split: bad record");
			cleanup_free char *path = malloc(len + 1);
			uint64_t size;
			if (!path || ts_read(r, path, len) < 0 || ts_read_varint(r, &size) < 0)
				return berth_err(err, BERTH_E_INTERNAL, "tar-split: truncated");
			path[len] = '\0';
			if (memchr(path, '\0', len))
				return berth_err(err, BERTH_E_INTERNAL, "tar-split: bad record");
			if (export_file(o, root_fd, dup_fd, ++ordinal, path, size, buf, err) < 0)
				return -1;
		} else {
			return berth_err(err, BERTH_E_INTERNAL, "tar-split: unknown record %u", t);
		}
	}
}

int berth_tarsplit_export(const char *path, int root_fd, const char *diff_id, struct berth_writer *out,
			  struct berth_error *err)
{
	/* Buffers on the heap: callers run on small thread stacks. */
	struct ts_reader *r = calloc(1, sizeof(*r));
	char *buf = malloc(EXPORT_BUF);
	if (!r || !buf) {
		free(r);
		free(buf);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		free(r);
		free(buf);
		return berth_err_sys(err, e == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL, e, "open %s", path);
	}
	r->dctx = ZSTD_createDCtx();
	struct export_out o = {.w = out, .h = berth_sha256_new()};
	int rc = -1;
	if (!r->dctx || !o.h)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	else {
		cleanup_free char *dup = berth_strdup_printf("%s" BERTH_TARSPLIT_DUP_SUFFIX, path);
		cleanup_close int dup_fd = dup ? open(dup, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		rc = export_records(r, &o, root_fd, dup_fd, buf, err);
	}
	close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	free(r);
	free(buf);
	if (rc < 0) {
		berth_sha256_free(o.h);
		return -1;
	}
	char got[BERTH_DIGEST_LEN + 1];
	berth_sha256_final(o.h, got);
	if (diff_id && strcmp(got, diff_id) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "exported layer has digest %s, expected %s", got, diff_id);
	return 0;
}
