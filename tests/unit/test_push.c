/* dist-push pieces: dockerd's progress strings, X-Registry-Auth decoding,
 * base64, the blob digest <-> diff ID metadata, and the parallel gzip writer
 * the layers are compressed with. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/base64.h"
#include "common/util.h"
#include "distribution/authconfig.h"
#include "distribution/blobmeta.h"
#include "distribution/progress.h"
#include "storage/compress.h"
#include "tap.h"

#define D1 "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"
#define B1 "sha256:af2e80cefc94b27bbf1618d742c50969992f56b832f6835bf0f051344ce2f099"
#define B2 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void test_progress(struct tap *t)
{
	char *s = berth_progress_bar(35840, 1985581);
	TAP_STREQ(t, s, "[>                                                  ]  35.84kB/1.986MB", "bar at 1%%");
	free(s);
	s = berth_progress_bar(2140160, 1985581);
	TAP_STREQ(t, s, "[==================================================>]   2.14MB", "current > total: no total");
	free(s);
	s = berth_progress_bar(36445, 1069091);
	TAP_STREQ(t, s, "[=>                                                 ]  36.45kB/1.069MB", "pull sample");
	free(s);
	s = berth_progress_bar(0, 0);
	TAP_STREQ(t, s, "", "nothing");
	free(s);
	char buf[32];
	berth_progress_human_size(527, buf, sizeof(buf));
	TAP_STREQ(t, buf, "527B", "bytes");
	berth_progress_human_size(98304, buf, sizeof(buf));
	TAP_STREQ(t, buf, "98.3kB", "trailing zero trimmed");
	json_t *m = berth_progress_msg("Preparing", "0ee228408e13", -1, 0);
	char *j = json_dumps(m, JSON_COMPACT);
	TAP_STREQ(t, j, "{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"0ee228408e13\"}",
		  "dockerd's field order");
	free(j);
	json_decref(m);
}

static void test_base64(struct tap *t)
{
	char *e = berth_base64_encode("{}", 2, true);
	TAP_STREQ(t, e, "e30=", "encode");
	size_t n = 0;
	char *d = berth_base64_decode("e30", &n);
	TAP_OK(t, d && n == 2 && !strcmp(d, "{}"), "decode without padding");
	free(e);
	free(d);
	d = berth_base64_decode("_-8=", &n);
	TAP_OK(t, d && n == 2 && (unsigned char)d[0] == 0xff && (unsigned char)d[1] == 0xef, "url alphabet");
	free(d);
	TAP_OK(t, berth_base64_decode("a$b=", NULL) == NULL, "bad character refused");
}

static void test_authconfig(struct tap *t)
{
	struct berth_error err = {0};
	struct berth_auth_config a;
	const char *js = "{\"username\":\"alice\",\"password\":\"pw\",\"serveraddress\":\"127.0.0.1:5000\"}";
	char *h = berth_base64_encode(js, strlen(js), true);
	TAP_OK(t, berth_auth_config_decode(h, &a, &err) == 0, "decode header");
	TAP_STREQ(t, a.username, "alice", "username");
	TAP_STREQ(t, a.password, "pw", "password");
	TAP_STREQ(t, a.serveraddress, "127.0.0.1:5000", "serveraddress");
	TAP_OK(t, berth_auth_config_has_credentials(&a), "has credentials");
	berth_auth_config_free(&a);
	free(h);
	/* "auth" alone is split */
	const char *js2 = "{\"auth\":\"Ym9iOnMzY3I6ZXQ=\"}"; /* bob:s3cr:et */
	h = berth_base64_encode(js2, strlen(js2), false);
	TAP_OK(t,
	       berth_auth_config_decode(h, &a, &err) == 0 && a.username && !strcmp(a.username, "bob") && a.password &&
		       !strcmp(a.password, "s3cr:et"),
	       "auth split at the first colon");
	berth_auth_config_free(&a);
	free(h);
	TAP_OK(t, berth_auth_config_decode("!!notbase64", &a, &err) == 0 && !a.username, "garbage is no credentials");
	TAP_OK(t, berth_auth_config_decode("e30=", &a, &err) == 0 && !berth_auth_config_has_credentials(&a), "{}");
	json_t *bad = json_loads("{\"username\":5}", 0, NULL);
	TAP_OK(t, berth_auth_config_from_json(bad, &a, &err) < 0 && err.kind == BERTH_E_INVALID, "number refused");
	json_decref(bad);
}

static void test_blobmeta(struct tap *t)
{
	char dir[] = "/tmp/berth-test-push.XXXXXX";
	if (!mkdtemp(dir)) {
		TAP_OK(t, 0, "mkdtemp");
		return;
	}
	char *path = berth_strdup_printf("%s/berth.db", dir);
	struct berth_error err = {0};
	struct berth_db *db = berth_db_open(path, NULL, &err);
	TAP_OK(t, db && berth_blobmeta_init(db, &err) == 0 && berth_blobmeta_init(db, &err) == 0, "init twice");
	TAP_OK(t,
	       berth_blobmeta_add(db, D1, B1, "application/vnd.docker.image.rootfs.diff.tar.gzip", 1069091,
				  "127.0.0.1:5000/a/b", &err) == 0,
	       "add");
	TAP_OK(t, berth_blobmeta_add(db, D1, B2, "", -1, "127.0.0.1:5000/c", &err) == 0, "add another blob");
	TAP_OK(t, berth_blobmeta_add(db, D1, B1, "x", 5, "", &err) < 0, "empty repo refused");
	char out[BERTH_DIGEST_LEN + 1];
	TAP_OK(t, berth_blobmeta_diff_id(db, B1, out, &err) == 1 && !strcmp(out, D1), "digest -> diff ID");
	TAP_OK(t, berth_blobmeta_diff_id(db, D1, out, &err) == 0, "unknown digest");
	struct berth_blobmeta *v = NULL;
	size_t n = 0;
	TAP_OK(t, berth_blobmeta_list(db, D1, &v, &n, &err) == 0 && n == 2, "two blobs for the diff ID");
	TAP_OK(t,
	       n == 2 && !strcmp(v[0].digest, B2) && !strcmp(v[1].repo, "127.0.0.1:5000/a/b") && v[1].size == 1069091,
	       "newest first, fields kept");
	berth_blobmeta_free(v, n);
	TAP_OK(t, berth_blobmeta_remove(db, B2, "127.0.0.1:5000/c", &err) == 0, "remove");
	TAP_OK(t, berth_blobmeta_list(db, D1, &v, &n, &err) == 0 && n == 1, "one left");
	berth_blobmeta_free(v, n);
	berth_db_close(db);
	berth_rm_rf(dir, NULL);
	free(path);
}

static int buf_write(void *ctx, const void *data, size_t len) { return berth_buf_append(ctx, data, len); }
static int fail_write(void *ctx, const void *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	return -1;
}

/* gzip of in (len bytes) with threads, written in pieces of step bytes. */
static bool gz(const unsigned char *in, size_t len, int threads, size_t step, struct berth_buf *out)
{
	struct berth_writer w = {buf_write, out};
	struct berth_error e = {0};
	struct berth_gzip_writer *g = berth_gzip_writer_new(-1, threads, &w, &e);
	bool ok = g != NULL;
	for (size_t off = 0; ok && off < len; off += step)
		ok = berth_gzip_write(g, in + off, len - off < step ? len - off : step, &e) == 0;
	ok = ok && berth_gzip_finish(g, &e) == 0;
	berth_gzip_writer_free(g);
	return ok;
}

/* One gzip member that inflates to exactly want. */
static bool gunzip_is(const struct berth_buf *gzb, const unsigned char *want, size_t len)
{
	z_stream zs = {0};
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return false;
	unsigned char *got = malloc(len + 1);
	zs.next_in = (unsigned char *)gzb->data;
	zs.avail_in = (uInt)gzb->len;
	zs.next_out = got;
	zs.avail_out = (uInt)len + 1;
	int r = inflate(&zs, Z_FINISH);
	bool ok = r == Z_STREAM_END && zs.avail_in == 0 && zs.total_out == len && !memcmp(got, want, len);
	inflateEnd(&zs);
	free(got);
	return ok;
}

static void test_gzip(struct tap *t)
{
	/* 1 MiB of text, 1.5 MiB of noise, 700 KiB of text + 3 bytes: blocks of both kinds and a short last one */
	size_t text1 = 1 << 20, noise = 3 << 19, len = text1 + noise + (700 << 10) + 3;
	unsigned char *in = malloc(len);
	static const char *words[] = {"berth ", "layer ", "digest ", "registry ", "manifest\n", "blob "};
	uint32_t x = 12345;
	for (size_t i = 0; i < len;) {
		x = x * 1103515245u + 12345u;
		if (i >= text1 && i < text1 + noise) {
			in[i++] = (unsigned char)(x >> 23);
			continue;
		}
		const char *w = words[(x >> 16) % 6];
		for (size_t k = 0; w[k] && i < len && (i < text1 || i >= text1 + noise); k++)
			in[i++] = (unsigned char)w[k];
	}
	struct berth_buf one = {0}, two = {0}, four = {0}, empty = {0};
	TAP_OK(t, gz(in, len, 1, len, &one), "gzip in the caller");
	TAP_OK(t, gz(in, len, 2, 1000003, &two), "gzip on 2 threads");
	TAP_OK(t, gz(in, len, 4, 777, &four), "gzip on 4 threads, small writes");
	TAP_OK(t, gunzip_is(&one, in, len), "one gzip member with the input");
	TAP_OK(t,
	       one.len == two.len && one.len == four.len && !memcmp(one.data, two.data, one.len) &&
		       !memcmp(one.data, four.data, one.len),
	       "same bytes whatever the threads and writes");
	TAP_OK(t, one.len < noise + (len - noise) / 5, "the text compressed (%zu bytes)", one.len);
	TAP_OK(t, gz(in, 0, 2, 1, &empty) && gunzip_is(&empty, in, 0), "empty input: an empty gzip member");
	struct berth_writer w = {fail_write, NULL};
	struct berth_error e = {0};
	struct berth_gzip_writer *g = berth_gzip_writer_new(6, 2, &w, &e);
	int rc = 0;
	for (int i = 0; i < 40 && rc == 0; i++)
		rc = berth_gzip_write(g, in, 100000, &e);
	if (rc == 0)
		rc = berth_gzip_finish(g, &e);
	TAP_OK(t, rc < 0 && e.msg[0], "a failing output fails the stream: %s", e.msg);
	berth_gzip_writer_free(g);
	berth_buf_free(&one);
	berth_buf_free(&two);
	berth_buf_free(&four);
	berth_buf_free(&empty);
	free(in);
}

int main(void)
{
	struct tap t = {0};
	test_progress(&t);
	test_base64(&t);
	test_authconfig(&t);
	test_blobmeta(&t);
	test_gzip(&t);
	return TAP_DONE(&t);
}
