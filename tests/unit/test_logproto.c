/* docker's LogEntry protobuf records (the local driver): exact bytes of an
 * encoded record, decoding (partial metadata, attrs, malformed input), and
 * the local driver end to end: split lines, rotation with compression,
 * reading back in order, tail across rotated files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger/logger_internal.h"
#include "tap.h"

static void test_encode_bytes(struct tap *t)
{
	struct berth_buf b = {0};
	struct berth_logproto_rec r = {.source = "stdout", .time_nano = 1, .line = "hi", .len = 2};
	berth_logproto_encode(&b, &r);
	/* 0a 06 "stdout" | 10 01 | 1a 02 "hi", framed by its size (14) before and after */
	static const unsigned char want[] = {0,   0,    0, 14,   0x0a, 6,   's', 't', 'd', 'o', 'u',
					     't', 0x10, 1, 0x1a, 2,    'h', 'i', 0,   0,   0,   14};
	TAP_OK(t, b.len == sizeof(want) && !memcmp(b.data, want, sizeof(want)), "a record is docker's bytes");

	b.len = 0;
	/* a real timestamp: a multi-byte varint; partial metadata of a last part */
	r = (struct berth_logproto_rec){.source = "stderr",
					.time_nano = 1700000000123456789LL,
					.line = "tail",
					.len = 4,
					.partial = true,
					.last = true,
					.id = "abc",
					.ordinal = 3};
	berth_logproto_encode(&b, &r);
	static const unsigned char meta[] = {0x20, 1, 0x2a, 9, 0x08, 1, 0x12, 3, 'a', 'b', 'c', 0x18, 3};
	TAP_OK(t, b.len > 8 + sizeof(meta) && !memcmp(b.data + b.len - 4 - sizeof(meta), meta, sizeof(meta)),
	       "partial metadata: partial=1, {last=1, id, ordinal}");
	struct berth_log_entry e = {0};
	uint32_t size = berth_logproto_be32(b.data);
	TAP_OK(t, size == b.len - 8 && berth_logproto_be32(b.data + b.len - 4) == size, "header = footer = size");
	TAP_OK(t, berth_logproto_decode(b.data + 4, size, &e) == 0, "decodes");
	TAP_OK(t, e.stream == BERTH_LOG_STDERR && e.ts_ns == 1700000000123456789LL, "stream and time");
	TAP_OK(t, e.len == 5 && !memcmp(e.line, "tail\n", 5) && !e.partial, "the last part ends the line");
	berth_log_entry_clear(&e);

	b.len = 0;
	r.last = false;
	r.ordinal = 1;
	berth_logproto_encode(&b, &r);
	TAP_OK(t, berth_logproto_decode(b.data + 4, b.len - 8, &e) == 0 && e.len == 4 && e.partial,
	       "a middle part has no newline");
	berth_log_entry_clear(&e);

	/* attrs, sorted by key */
	cleanup_json json_t *attrs = json_pack("{s:s, s:s}", "zeta", "1", "alpha", "two");
	struct berth_buf ab = {0};
	berth_logproto_attrs(&ab, attrs);
	static const unsigned char aw[] = {0x32, 12,   0x0a, 5,    'a', 'l', 'p', 'h', 'a', 0x12, 3, 't', 'w',
					   'o',  0x32, 9,    0x0a, 4,   'z', 'e', 't', 'a', 0x12, 1, '1'};
	TAP_OK(t, ab.len == sizeof(aw) && !memcmp(ab.data, aw, sizeof(aw)), "attrs: LogAttr fields sorted by key");
	b.len = 0;
	r = (struct berth_logproto_rec){
		.source = "stdout", .time_nano = 5, .line = "x", .len = 1, .attrs = ab.data, .attrs_len = ab.len};
	berth_logproto_encode(&b, &r);
	TAP_OK(t, berth_logproto_decode(b.data + 4, b.len - 8, &e) == 0, "decodes with attrs");
	TAP_STREQ(t, json_string_value(json_object_get(e.attrs, "alpha")), "two", "attr alpha");
	TAP_STREQ(t, json_string_value(json_object_get(e.attrs, "zeta")), "1", "attr zeta");
	berth_log_entry_clear(&e);

	/* malformed: truncated length, bad wire type; unknown fields are skipped */
	static const unsigned char trunc[] = {0x1a, 10, 'a'};
	TAP_OK(t, berth_logproto_decode(trunc, sizeof(trunc), &e) < 0, "truncated bytes field refused");
	static const unsigned char badwt[] = {0x0b, 1};
	TAP_OK(t, berth_logproto_decode(badwt, sizeof(badwt), &e) < 0, "group wire type refused");
	static const unsigned char unk[] = {0x78, 5, 0x1a, 1, 'z'};
	TAP_OK(t, berth_logproto_decode(unk, sizeof(unk), &e) == 0 && e.len == 2 && e.line[0] == 'z',
	       "unknown field skipped");
	berth_log_entry_clear(&e);
	berth_buf_free(&ab);
	berth_buf_free(&b);
}

struct collect {
	struct berth_buf text;
	int n;
};
static int collect_cb(void *ctx, const struct berth_log_entry *e)
{
	struct collect *c = ctx;
	berth_buf_append(&c->text, e->line, e->len);
	c->n++;
	return 0;
}

static void test_local_driver(struct tap *t, const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/local-logs/container.log", dir);
	cleanup_json json_t *opts = json_pack("{s:s, s:s}", "max-size", "20k", "max-file", "3");
	struct berth_log_info info = {.container_id = "c1", .log_path = path, .opts = opts};
	struct berth_error err = {0};
	struct berth_logger *l = berth_logger_open("local", &info, &err);
	TAP_OK(t, l != NULL, "local opens (%s)", err.msg);
	if (!l)
		return;
	char line[64];
	for (int i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof(line), "line %03d", i);
		struct berth_log_msg m = {.stream = i % 2 ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT,
					  .line = line,
					  .len = (size_t)n,
					  .ts_ns = 1000 + i};
		berth_logger_log(l, &m, &err);
	}
	/* a 40000-byte line through the copier: parts of 16 KiB */
	struct berth_log_copier c;
	berth_log_copier_init(&c, BERTH_LOG_STDOUT);
	char *big = malloc(40001);
	memset(big, 'x', 40000);
	big[40000] = '\n';
	berth_log_copier_feed(&c, big, 40001, l, 5000);
	free(big);
	berth_logger_close(l);

	char p2[600];
	struct stat st;
	snprintf(p2, sizeof(p2), "%s.1.gz", path);
	TAP_OK(t, stat(p2, &st) == 0, "rotated file is compressed");
	snprintf(p2, sizeof(p2), "%s.3.gz", path);
	TAP_OK(t, stat(p2, &st) < 0, "max-file=3 keeps two rotated files");

	/* tail 3: the big line's parts are entries of their own, the first in
	 * the rotated file */
	struct collect col = {0};
	struct berth_log_read_opts ro = {.tail = 3};
	TAP_OK(t, berth_log_read("local", path, &ro, -1, collect_cb, &col, &err) == 0, "read tail");
	TAP_OK(t, col.n == 3, "tail 3 gives three entries (%d)", col.n);
	TAP_OK(t, col.text.len == 40000 + 1 && col.text.data[col.text.len - 1] == '\n',
	       "a split line reads back whole with one newline (%zu)", col.text.len);
	berth_buf_free(&col.text);

	/* everything that is left, in order */
	col = (struct collect){0};
	ro = (struct berth_log_read_opts){.tail = -1};
	berth_log_read("local", path, &ro, -1, collect_cb, &col, &err);
	berth_buf_putc(&col.text, 0);
	char *last = strstr(col.text.data, "line 199\n");
	TAP_OK(t, last != NULL, "last small line is there");
	int prev = -1, ordered = 1, count = 0;
	for (char *p = col.text.data; (p = strstr(p, "line ")); p += 5) {
		int v = atoi(p + 5);
		ordered &= v == prev + 1 || prev == -1;
		prev = v;
		count++;
	}
	TAP_OK(t, ordered && count > 10 && prev == 199, "lines are in order up to the last (%d)", count);
	berth_buf_free(&col.text);

	/* since/until on record times */
	col = (struct collect){0};
	ro = (struct berth_log_read_opts){.tail = -1, .since_ns = 1198, .until_ns = 1199};
	berth_log_read("local", path, &ro, -1, collect_cb, &col, &err);
	berth_buf_putc(&col.text, 0);
	TAP_STREQ(t, col.text.data, "line 198\nline 199\n", "since/until");
	berth_buf_free(&col.text);
}

static void test_local_opts(struct tap *t)
{
	static const struct {
		const char *opts, *msg;
	} bad[] = {
		{"{\"max-size\":\"abc\"}", "invalid value for max-size: abc: invalid size: 'abc'"},
		{"{\"max-file\":\"x\"}", "invalid value for max-file: x: strconv.Atoi: parsing \"x\": invalid syntax"},
		{"{\"max-file\":\"1\"}", "compression cannot be enabled when max file count is 1"},
		{"{\"compress\":\"maybe\"}",
		 "invalid boolean value for compress: strconv.ParseBool: parsing \"maybe\": invalid syntax"},
		{"{\"max-file\":\"-1\",\"compress\":\"false\"}", "max-file must not be negative"},
		{"{\"tag\":\"x\"}", "unknown log opt 'tag' for log driver local"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cleanup_json json_t *o = json_loads(bad[i].opts, 0, NULL);
		struct berth_error err = {0};
		TAP_OK(t, berth_log_opts_validate("local", o, &err) < 0 && !strcmp(err.msg, bad[i].msg), "%s: %s",
		       bad[i].opts, err.msg);
	}
	cleanup_json json_t *ok =
		json_loads("{\"max-file\":\"1\",\"compress\":\"false\",\"max-size\":\"1m\"}", 0, NULL);
	struct berth_error err = {0};
	TAP_OK(t, berth_log_opts_validate("local", ok, &err) == 0, "max-file=1 without compression is fine");
}

int main(void)
{
	struct tap t = {0};
	char dir[] = "/tmp/test_logproto.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_encode_bytes(&t);
	test_local_driver(&t, dir);
	test_local_opts(&t);
	struct berth_error e;
	berth_rm_rf(dir, &e);
	return TAP_DONE(&t);
}
