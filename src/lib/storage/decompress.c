/* Auto-detecting decompressing + hashing reader for layer streams. */
#include <bzlib.h>
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "storage/tar_apply.h"

#define DC_BUF 65536

struct berth_decompressor {
	struct berth_reader *in;
	enum berth_compression kind;
	unsigned char inbuf[DC_BUF];
	size_t in_pos, in_len;
	bool in_eof;
	z_stream zs;
	bool z_init, z_end;
	ZSTD_DCtx *zd;
	size_t z_last;
	bz_stream bz;
	bool bz_init, bz_end;
	lzma_stream xz;
	bool xz_init, xz_end;
	struct berth_error *rd_err; /* berth_decompress_reader */
	struct berth_sha256 *h;
	int64_t total;
};

enum berth_compression berth_detect_compression(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return BERTH_COMPRESSION_GZIP;
	if (len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return BERTH_COMPRESSION_ZSTD;
	if (len >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return BERTH_COMPRESSION_BZIP2;
	if (len >= 6 && b[0] == 0xfd && !memcmp(b + 1, "7zXZ", 4) && b[5] == 0)
		return BERTH_COMPRESSION_XZ;
	return BERTH_COMPRESSION_NONE;
}

const char *berth_compression_name(enum berth_compression c)
{
	switch (c) {
	case BERTH_COMPRESSION_GZIP: return "gzip";
	case BERTH_COMPRESSION_ZSTD: return "zstd";
	case BERTH_COMPRESSION_BZIP2: return "bzip2";
	case BERTH_COMPRESSION_XZ: return "xz";
	default: return "none";
	}
}

/* Refill the input buffer when empty. Returns 0 or -1. */
static int dc_refill(struct berth_decompressor *dc, struct berth_error *err)
{
	if (dc->in_pos < dc->in_len || dc->in_eof)
		return 0;
	for (;;) {
		ssize_t n = dc->in->read(dc->in->ctx, dc->inbuf, sizeof(dc->inbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read layer stream");
		dc->in_pos = 0;
		dc->in_len = (size_t)n;
		if (n == 0)
			dc->in_eof = true;
		return 0;
	}
}

struct berth_decompressor *berth_decompressor_new(struct berth_reader *in, struct berth_error *err)
{
	struct berth_decompressor *dc = calloc(1, sizeof(*dc));
	if (!dc || !(dc->h = berth_sha256_new())) {
		free(dc);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	dc->in = in;
	/* Read at least 6 bytes (or to EOF) to see the magic. */
	while (dc->in_len < 6 && !dc->in_eof) {
		ssize_t n = in->read(in->ctx, dc->inbuf + dc->in_len, sizeof(dc->inbuf) - dc->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			berth_err_sys(err, BERTH_E_INTERNAL, errno, "read layer stream");
			berth_decompressor_free(dc);
			return NULL;
		}
		if (n == 0)
			dc->in_eof = true;
		dc->in_len += (size_t)n;
	}
	dc->kind = berth_detect_compression(dc->inbuf, dc->in_len);
	if (dc->kind == BERTH_COMPRESSION_GZIP) {
		if (inflateInit2(&dc->zs, 16 + MAX_WBITS) != Z_OK) {
			berth_err(err, BERTH_E_INTERNAL, "zlib init failed");
			berth_decompressor_free(dc);
			return NULL;
		}
		dc->z_init = true;
	} else if (dc->kind == BERTH_COMPRESSION_ZSTD) {
		dc->zd = ZSTD_createDCtx();
		if (!dc->zd) {
			berth_err(err, BERTH_E_INTERNAL, "out of memory");
			berth_decompressor_free(dc);
			return NULL;
		}
	} else if (dc->kind == BERTH_COMPRESSION_BZIP2) {
		if (BZ2_bzDecompressInit(&dc->bz, 0, 0) != BZ_OK) {
			berth_err(err, BERTH_E_INTERNAL, "bzip2 init failed");
			berth_decompressor_free(dc);
			return NULL;
		}
		dc->bz_init = true;
	} else if (dc->kind == BERTH_COMPRESSION_XZ) {
		lzma_stream init = LZMA_STREAM_INIT;
		dc->xz = init;
		if (lzma_stream_decoder(&dc->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
			berth_err(err, BERTH_E_INTERNAL, "xz init failed");
			berth_decompressor_free(dc);
			return NULL;
		}
		dc->xz_init = true;
	}
	return dc;
}

static ssize_t read_bzip2(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err)
{
	for (;;) {
		if (dc_refill(dc, err) < 0)
			return -1;
		if (dc->bz_end) {
			if (dc->in_pos == dc->in_len)
				return 0;
			/* another bzip2 stream follows (pbzip2 and friends) */
			BZ2_bzDecompressEnd(&dc->bz);
			memset(&dc->bz, 0, sizeof(dc->bz));
			if (BZ2_bzDecompressInit(&dc->bz, 0, 0) != BZ_OK) {
				dc->bz_init = false;
				return berth_err(err, BERTH_E_INTERNAL, "bzip2 init failed");
			}
			dc->bz_end = false;
		}
		if (dc->in_pos == dc->in_len && dc->in_eof)
			return berth_err(err, BERTH_E_INVALID, "unexpected EOF in bzip2 layer stream");
		dc->bz.next_in = (char *)dc->inbuf + dc->in_pos;
		dc->bz.avail_in = (unsigned)(dc->in_len - dc->in_pos);
		dc->bz.next_out = buf;
		dc->bz.avail_out = (unsigned)(len > (1u << 30) ? (1u << 30) : len);
		unsigned before = dc->bz.avail_out;
		int r = BZ2_bzDecompress(&dc->bz);
		dc->in_pos = dc->in_len - dc->bz.avail_in;
		size_t produced = before - dc->bz.avail_out;
		if (r == BZ_STREAM_END)
			dc->bz_end = true;
		else if (r != BZ_OK)
			return berth_err(err, BERTH_E_INVALID, "bzip2 layer stream: corrupt data (%d)", r);
		if (produced)
			return (ssize_t)produced;
	}
}

static ssize_t read_xz(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err)
{
	for (;;) {
		if (dc->xz_end)
			return 0;
		if (dc_refill(dc, err) < 0)
			return -1;
		dc->xz.next_in = dc->inbuf + dc->in_pos;
		dc->xz.avail_in = dc->in_len - dc->in_pos;
		dc->xz.next_out = buf;
		dc->xz.avail_out = len;
		lzma_ret r = lzma_code(&dc->xz, dc->in_eof && dc->in_pos == dc->in_len ? LZMA_FINISH : LZMA_RUN);
		dc->in_pos = dc->in_len - dc->xz.avail_in;
		size_t produced = len - dc->xz.avail_out;
		if (r == LZMA_STREAM_END)
			dc->xz_end = true;
		else if (r == LZMA_BUF_ERROR && dc->in_eof && dc->in_pos == dc->in_len && !produced)
			return berth_err(err, BERTH_E_INVALID, "unexpected EOF in xz layer stream");
		else if (r != LZMA_OK && r != LZMA_BUF_ERROR)
			return berth_err(err, BERTH_E_INVALID, "xz layer stream: corrupt data (%d)", (int)r);
		if (produced)
			return (ssize_t)produced;
		if (r == LZMA_OK && dc->in_eof && dc->in_pos == dc->in_len && !produced)
			continue; /* LZMA_FINISH drains on the next call */
	}
}

static ssize_t read_gzip(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err)
{
	for (;;) {
		if (dc_refill(dc, err) < 0)
			return -1;
		if (dc->z_end) {
			if (dc->in_pos == dc->in_len)
				return 0; /* clean end */
			/* another gzip member follows */
			inflateReset(&dc->zs);
			dc->z_end = false;
		}
		if (dc->in_pos == dc->in_len && dc->in_eof)
			return berth_err(err, BERTH_E_INVALID, "unexpected EOF in gzip layer stream");
		dc->zs.next_in = dc->inbuf + dc->in_pos;
		dc->zs.avail_in = (uInt)(dc->in_len - dc->in_pos);
		dc->zs.next_out = buf;
		dc->zs.avail_out = (uInt)(len > (1u << 30) ? (1u << 30) : len);
		uInt before = dc->zs.avail_out;
		int r = inflate(&dc->zs, Z_NO_FLUSH);
		dc->in_pos = dc->in_len - dc->zs.avail_in;
		size_t produced = before - dc->zs.avail_out;
		if (r == Z_STREAM_END)
			dc->z_end = true;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return berth_err(err, BERTH_E_INVALID, "gzip layer stream: %s",
					 dc->zs.msg ? dc->zs.msg : "corrupt data");
		if (produced)
			return (ssize_t)produced;
	}
}

static ssize_t read_zstd(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err)
{
	for (;;) {
		if (dc_refill(dc, err) < 0)
			return -1;
		ZSTD_inBuffer in = {dc->inbuf + dc->in_pos, dc->in_len - dc->in_pos, 0};
		ZSTD_outBuffer out = {buf, len, 0};
		if (in.size == 0 && dc->in_eof) {
			/* flush whatever is still buffered in the context */
			size_t r = ZSTD_decompressStream(dc->zd, &out, &in);
			if (ZSTD_isError(r))
				return berth_err(err, BERTH_E_INVALID, "zstd layer stream: %s", ZSTD_getErrorName(r));
			if (out.pos)
				return (ssize_t)out.pos;
			if (dc->z_last != 0)
				return berth_err(err, BERTH_E_INVALID, "unexpected EOF in zstd layer stream");
			return 0;
		}
		size_t r = ZSTD_decompressStream(dc->zd, &out, &in);
		dc->in_pos += in.pos;
		if (ZSTD_isError(r))
			return berth_err(err, BERTH_E_INVALID, "zstd layer stream: %s", ZSTD_getErrorName(r));
		dc->z_last = r;
		if (out.pos)
			return (ssize_t)out.pos;
	}
}

ssize_t berth_decompressor_read(struct berth_decompressor *dc, void *buf, size_t len, struct berth_error *err)
{
	ssize_t n;
	if (dc->kind == BERTH_COMPRESSION_GZIP) {
		n = read_gzip(dc, buf, len, err);
	} else if (dc->kind == BERTH_COMPRESSION_ZSTD) {
		n = read_zstd(dc, buf, len, err);
	} else if (dc->kind == BERTH_COMPRESSION_BZIP2) {
		n = read_bzip2(dc, buf, len, err);
	} else if (dc->kind == BERTH_COMPRESSION_XZ) {
		n = read_xz(dc, buf, len, err);
	} else {
		if (dc_refill(dc, err) < 0)
			return -1;
		size_t avail = dc->in_len - dc->in_pos;
		n = (ssize_t)(avail < len ? avail : len);
		memcpy(buf, dc->inbuf + dc->in_pos, (size_t)n);
		dc->in_pos += (size_t)n;
	}
	if (n > 0) {
		if (dc->h)
			berth_sha256_update(dc->h, buf, (size_t)n);
		dc->total += n;
	}
	return n;
}

int berth_decompressor_finish(struct berth_decompressor *dc, char digest[BERTH_DIGEST_LEN + 1], int64_t *total,
			      struct berth_error *err)
{
	char *scratch = malloc(DC_BUF);
	if (!scratch)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (;;) {
		ssize_t n = berth_decompressor_read(dc, scratch, DC_BUF, err);
		if (n <= 0) {
			free(scratch);
			if (n < 0)
				return -1;
			break;
		}
	}
	if (!dc->h)
		return berth_err(err, BERTH_E_INTERNAL, "no digest kept");
	berth_sha256_final(dc->h, digest);
	dc->h = NULL;
	if (total)
		*total = dc->total;
	return 0;
}

enum berth_compression berth_decompressor_kind(struct berth_decompressor *dc) { return dc->kind; }

void berth_decompressor_no_digest(struct berth_decompressor *dc)
{
	berth_sha256_free(dc->h);
	dc->h = NULL;
}

void berth_decompressor_free(struct berth_decompressor *dc)
{
	if (!dc)
		return;
	if (dc->z_init)
		inflateEnd(&dc->zs);
	ZSTD_freeDCtx(dc->zd);
	if (dc->bz_init)
		BZ2_bzDecompressEnd(&dc->bz);
	if (dc->xz_init)
		lzma_end(&dc->xz);
	berth_sha256_free(dc->h);
	free(dc);
}

static ssize_t dc_reader_read(void *ctx, void *buf, size_t len)
{
	struct berth_decompressor *dc = ctx;
	ssize_t n = berth_decompressor_read(dc, buf, len, dc->rd_err);
	if (n < 0)
		errno = EIO;
	return n;
}

struct berth_reader berth_decompress_reader(struct berth_decompressor *dc, struct berth_error *err)
{
	dc->rd_err = err;
	return (struct berth_reader){.read = dc_reader_read, .ctx = dc};
}
