/* Log drivers: json-file line format (docker's bytes), partial lines,
 * options, rotation (+ compression), reader tail/since/until/follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger/logger.h"
#include "tap.h"

static char dir[256];

static json_t *J(const char *text) { return json_loads(text, 0, NULL); }

static char *slurp(const char *path)
{
	char *text = NULL;
	struct berth_error e;
	if (berth_read_file(path, &text, NULL, 1 << 24, &e) < 0)
		return strdup("");
	return text;
}

static struct berth_logger *open_jf(const char *name, const char *opts, char *path, size_t plen)
{
	snprintf(path, plen, "%s/%s-json.log", dir, name);
	cleanup_json json_t *o = J(opts ? opts : "{}");
	struct berth_log_info info = {
		.container_id = "0123456789abcdef0123", .container_name = "/web", .log_path = path, .opts = o};
	struct berth_error err = {0};
	struct berth_logger *l = berth_logger_open("json-file", &info, &err);
	if (!l)
		printf("# open: %s\n", err.msg);
	return l;
}

static void logline(struct berth_logger *l, enum berth_log_stream s, const char *text, int64_t ts)
{
	struct berth_log_msg m = {.stream = s, .line = text, .len = strlen(text), .ts_ns = ts};
	struct berth_error err;
	berth_logger_log(l, &m, &err);
	berth_logger_flush(l, &err); /* as the shim does after each read */
}

#define T0 1704067200000000000LL /* 2024-01-01T00:00:00Z */

static void test_format(struct tap *t)
{
	char path[512];
	struct berth_logger *l = open_jf("fmt", NULL, path, sizeof(path));
	TAP_OK(t, l != NULL, "json-file opens");
	logline(l, BERTH_LOG_STDOUT, "hello", T0 + 123456789);
	logline(l, BERTH_LOG_STDERR, "a<b>&\"q\"\\\t\x01", T0 + 120000000);
	logline(l, BERTH_LOG_STDOUT, "bad\xff utf8 \xe2\x80\xa8 ok \xc3\xa9", T0);
	logline(l, BERTH_LOG_STDOUT, "", T0 + 100);
	berth_logger_close(l);
	cleanup_free char *got = slurp(path);
	const char *want =
		"{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.123456789Z\"}\n"
		"{\"log\":\"a\\u003cb\\u003e\\u0026\\\"q\\\"\\\\\\u0009\\u0001\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:00.12Z\"}\n"
		"{\"log\":\"bad\\ufffd utf8 \\u2028 ok \xc3\xa9\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n"
		"{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.0000001Z\"}\n";
	TAP_STREQ(t, got, want, "docker's exact bytes (escapes, RFC3339Nano without trailing zeros)");

	/* attrs: labels, env, tag; keys sorted like Go's json.Marshal */
	snprintf(path, sizeof(path), "%s/attrs-json.log", dir);
	cleanup_json json_t *o = J("{\"labels\":\"app,missing\",\"env\":\"TIER\",\"tag\":\"{{.Name}}/{{.ID}}\"}");
	cleanup_json json_t *labels = J("{\"app\":\"w<eb\",\"other\":\"x\"}");
	cleanup_json json_t *env = J("[\"TIER=front\",\"PATH=/bin\"]");
	struct berth_log_info info = {.container_id = "0123456789abcdef0123",
				      .container_name = "/web",
				      .log_path = path,
				      .opts = o,
				      .labels = labels,
				      .env = env};
	struct berth_error err = {0};
	l = berth_logger_open("json-file", &info, &err);
	logline(l, BERTH_LOG_STDOUT, "x", T0);
	berth_logger_close(l);
	cleanup_free char *a = slurp(path);
	TAP_STREQ(
		t, a,
		"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":{\"TIER\":\"front\",\"app\":\"w\\u003ceb\",\"tag\":\"web/0123456789ab\"},"
		"\"time\":\"2024-01-01T00:00:00Z\"}\n",
		"attrs with labels, env and tag");
}

struct collect {
	struct berth_buf b;
	int n;
};
static int collect_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err);
static void collect_close(struct berth_logger *l) { (void)l; }
static const struct berth_log_driver collect_drv = {.name = "collect", .log = collect_log, .close = collect_close};
struct collector {
	struct berth_logger base;
	struct collect c;
};
static int collect_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	(void)err;
	struct collector *c = (struct collector *)l;
	berth_buf_printf(&c->c.b, "[%s %zu%s %lld]", m->stream == BERTH_LOG_STDERR ? "err" : "out", m->len,
			 m->partial ? " partial" : "", (long long)(m->ts_ns - T0));
	c->c.n++;
	return 0;
}

static void test_copier(struct tap *t)
{
	struct collector col = {.base = {.drv = &collect_drv}};
	struct berth_log_copier *cp = malloc(sizeof(*cp));
	berth_log_copier_init(cp, BERTH_LOG_STDOUT);
	berth_log_copier_feed(cp, "one\ntw", 6, &col.base, T0 + 1);
	berth_log_copier_feed(cp, "o\nthree", 7, &col.base, T0 + 2);
	berth_log_copier_flush(cp, &col.base, T0 + 3);
	TAP_STREQ(t, berth_buf_str(&col.c.b), "[out 3 1][out 3 2][out 5 partial 3]",
		  "lines split, rest flushed as partial at EOF");
	col.c.b.len = 0;
	char *big = malloc(40000);
	memset(big, 'x', 40000);
	big[20000] = '\n';
	berth_log_copier_feed(cp, big, 20001, &col.base, T0 + 10);
	TAP_STREQ(t, berth_buf_str(&col.c.b), "[out 16384 partial 10][out 3616 10]",
		  "20000-byte line: 16 KiB partial + rest");
	col.c.b.len = 0;
	big[16384] = '\n';
	berth_log_copier_feed(cp, big, 16385, &col.base, T0 + 20);
	TAP_STREQ(t, berth_buf_str(&col.c.b), "[out 16384 partial 20][out 0 20]",
		  "exactly 16 KiB: partial, then empty final piece");
	col.c.b.len = 0;
	big[16383] = '\n';
	berth_log_copier_feed(cp, big, 16384, &col.base, T0 + 30);
	TAP_STREQ(t, berth_buf_str(&col.c.b), "[out 16383 30]", "16383 bytes + newline: one line");
	col.c.b.len = 0;
	for (int i = 0; i < 40; i++)
		berth_log_copier_feed(cp, big, 1000, &col.base, T0 + 40 + i); /* no newline in big[0..999] */
	berth_log_copier_feed(cp, "\n", 1, &col.base, T0 + 99);
	TAP_STREQ(t, berth_buf_str(&col.c.b), "[out 16384 partial 56][out 16384 partial 56][out 7232 56]",
		  "partials keep the first chunk's time");
	free(big);
	free(cp);
	berth_buf_free(&col.c.b);

	/* partial messages in json-file: no "\n" appended */
	char path[512];
	struct berth_logger *l = open_jf("partial", NULL, path, sizeof(path));
	struct berth_log_msg m = {.stream = BERTH_LOG_STDOUT, .line = "abc", .len = 3, .ts_ns = T0, .partial = true};
	struct berth_error err;
	berth_logger_log(l, &m, &err);
	berth_logger_close(l);
	cleanup_free char *got = slurp(path);
	TAP_STREQ(t, got, "{\"log\":\"abc\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
		  "partial line has no newline");
}

static void test_options(struct tap *t)
{
	struct berth_error err;
	struct {
		const char *driver, *opts, *msg;
	} cases[] = {
		{"json-file",
		 "{\"max-size\":\"10m\",\"max-file\":\"3\",\"compress\":\"true\",\"labels\":\"a\",\"env\":\"B\",\"tag\":\"{{.ID}}\"}",
		 NULL},
		{"json-file", "{\"foo\":\"1\"}", "unknown log opt 'foo' for json-file log driver"},
		{"json-file", "{\"max-size\":\"abc\"}", "invalid size: 'abc'"},
		{"json-file", "{\"max-size\":\"0\"}", "max-size must be a positive number"},
		{"json-file", "{\"max-file\":\"0\"}", "max-file cannot be less than 1"},
		{"json-file", "{\"max-file\":\"x\"}", "strconv.Atoi: parsing \"x\": invalid syntax"},
		{"json-file", "{\"compress\":\"true\",\"max-file\":\"1\",\"max-size\":\"1m\"}",
		 "compress cannot be true when max-file is less than 2 or max-size is not set"},
		{"json-file", "{\"compress\":\"maybe\"}", "strconv.ParseBool: parsing \"maybe\": invalid syntax"},
		{"json-file", "{\"tag\":\"{{.Nope}}\"}", "invalid log tag template: {{.Nope}}"},
		{"none", "{\"anything\":\"goes\"}", NULL},
		{"bogus", "{}", "logger: no log driver named 'bogus' is registered"},
		{"splunk", "{}", "the splunk log driver is not implemented yet"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_json json_t *o = J(cases[i].opts);
		berth_err_clear(&err);
		int rc = berth_log_opts_validate(cases[i].driver, o, &err);
		if (!cases[i].msg)
			TAP_OK(t, rc == 0, "%s %s accepted (%s)", cases[i].driver, cases[i].opts, err.msg);
		else
			TAP_STREQ(t, rc < 0 ? err.msg : "accepted", cases[i].msg, "%s %s", cases[i].driver,
				  cases[i].opts);
	}
	int64_t v;
	TAP_OK(t, berth_parse_human_size("10m", &v) == 0 && v == 10000000, "10m = 10,000,000 (decimal, like docker)");
	TAP_OK(t, berth_parse_human_size("1.5k", &v) == 0 && v == 1500, "1.5k");
	struct berth_log_read_opts ro = {.tail = -1};
	TAP_OK(t,
	       !berth_log_reader_open("none", "/x", &ro, &err) && err.kind == BERTH_E_UNSUPPORTED &&
		       !strcmp(err.msg, "configured logging driver does not support reading"),
	       "none: reading not supported");
}

static int count_entries(const char *path, const struct berth_log_read_opts *ro, char *first, char *last)
{
	struct berth_error err;
	struct berth_log_reader *r = berth_log_reader_open("json-file", path, ro, &err);
	if (!r)
		return -1;
	int n = 0;
	struct berth_log_entry e;
	while (berth_log_reader_next(r, &e, &err) == BERTH_LOG_ENTRY) {
		if (!n && first)
			snprintf(first, 64, "%.*s", (int)e.len - 1, e.line);
		if (last)
			snprintf(last, 64, "%.*s", (int)e.len - 1, e.line);
		n++;
		berth_log_entry_clear(&e);
	}
	berth_log_reader_close(r);
	return n;
}

static void test_rotation_and_read(struct tap *t)
{
	char path[512];
	struct berth_logger *l = open_jf("rot", "{\"max-size\":\"1k\",\"max-file\":\"3\"}", path, sizeof(path));
	char line[64];
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %03d", i);
		logline(l, i % 2 ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT, line, T0 + (int64_t)i * 1000000000LL);
	}
	char p1[600], p2[600], p3[600];
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	struct stat st;
	TAP_OK(t, stat(path, &st) == 0 && stat(p1, &st) == 0 && stat(p2, &st) == 0 && stat(p3, &st) < 0,
	       "max-file 3: .1 and .2 only");
	TAP_OK(t, stat(p1, &st) == 0 && st.st_size >= 1000 && st.st_size < 1000 + 100,
	       "rotated at max-size (one line over at most)");
	char first[64], last[64];
	struct berth_log_read_opts all = {.tail = -1};
	int n = count_entries(path, &all, first, last);
	TAP_OK(t, n > 20 && n < 100 && !strcmp(last, "line 099"), "reads rotated files then the live one (%d, last %s)",
	       n, last);
	struct berth_log_read_opts tail = {.tail = 15};
	n = count_entries(path, &tail, first, last);
	TAP_OK(t, n == 15 && !strcmp(first, "line 085") && !strcmp(last, "line 099"), "tail 15 across files (%s..%s)",
	       first, last);
	struct berth_log_read_opts t0 = {.tail = 0};
	TAP_OK(t, count_entries(path, &t0, NULL, NULL) == 0, "tail 0: nothing");
	struct berth_log_read_opts since = {.tail = -1, .since_ns = T0 + 95LL * 1000000000LL};
	n = count_entries(path, &since, first, last);
	TAP_OK(t, n == 5 && !strcmp(first, "line 095"), "since");
	struct berth_log_read_opts until = {
		.tail = -1, .since_ns = T0 + 90LL * 1000000000LL, .until_ns = T0 + 92LL * 1000000000LL};
	n = count_entries(path, &until, first, last);
	TAP_OK(t, n == 3 && !strcmp(first, "line 090") && !strcmp(last, "line 092"), "since + until");
	struct berth_log_read_opts ts = {.tail = 3, .since_ns = T0 + 98LL * 1000000000LL};
	TAP_OK(t, count_entries(path, &ts, NULL, NULL) == 2, "tail then since");

	/* follow: sees new lines and follows a rotation */
	struct berth_error err;
	struct berth_log_read_opts fo = {.tail = 1, .follow = true};
	struct berth_log_reader *r = berth_log_reader_open("json-file", path, &fo, &err);
	struct berth_log_entry e;
	TAP_OK(t, r && berth_log_reader_next(r, &e, &err) == BERTH_LOG_ENTRY, "follow: tail first");
	berth_log_entry_clear(&e);
	TAP_OK(t, berth_log_reader_next(r, &e, &err) == BERTH_LOG_AGAIN && berth_log_reader_fd(r) >= 0,
	       "follow: then waits");
	int got = 0;
	bool order = true;
	for (int i = 100; i < 140; i++) {
		snprintf(line, sizeof(line), "line %03d", i);
		logline(l, BERTH_LOG_STDOUT, line, T0 + (int64_t)i * 1000000000LL);
		int rc;
		while ((rc = berth_log_reader_next(r, &e, &err)) == BERTH_LOG_ENTRY) {
			char want[64];
			snprintf(want, sizeof(want), "line %03d\n", 100 + got);
			order &= e.len == strlen(want) && !memcmp(e.line, want, e.len);
			got++;
			berth_log_entry_clear(&e);
		}
	}
	TAP_OK(t, got == 40 && order, "follow: every new line once, in order, across rotations (%d)", got);
	berth_log_reader_close(r);
	berth_logger_close(l);

	/* compression */
	l = open_jf("gz", "{\"max-size\":\"1k\",\"max-file\":\"3\",\"compress\":\"true\"}", path, sizeof(path));
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %03d", i);
		logline(l, BERTH_LOG_STDOUT, line, T0 + (int64_t)i * 1000000000LL);
	}
	berth_logger_close(l);
	snprintf(p1, sizeof(p1), "%s.1.gz", path);
	snprintf(p2, sizeof(p2), "%s.2.gz", path);
	snprintf(p3, sizeof(p3), "%s.1", path);
	TAP_OK(t, stat(p1, &st) == 0 && stat(p2, &st) == 0 && stat(p3, &st) < 0, "compress: .1.gz and .2.gz");
	gzFile gz = gzopen(p1, "rb");
	char buf[4096];
	int gl = gz ? gzread(gz, buf, sizeof(buf) - 1) : -1;
	if (gz)
		gzclose(gz);
	TAP_OK(t, gl > 0 && berth_str_has_prefix(buf, "{\"log\":\"line "), "gz holds json lines");
	FILE *f = fopen(p1, "rb");
	unsigned char hdr[64] = {0};
	size_t hl = f ? fread(hdr, 1, sizeof(hdr), f) : 0;
	if (f)
		fclose(f);
	TAP_OK(t, hl > 12 && (hdr[3] & 4) && !memcmp(hdr + 12, "{\"lastTime\":\"2024-01-01T00:", 26),
	       "gzip header extra has lastTime");
	struct berth_log_read_opts tail2 = {.tail = 30};
	n = count_entries(path, &tail2, first, last);
	TAP_OK(t, n == 30 && !strcmp(first, "line 070") && !strcmp(last, "line 099"), "tail through .gz files (%d %s)",
	       n, first);

	/* max-file 1: the file starts over */
	l = open_jf("one", "{\"max-size\":\"200\"}", path, sizeof(path));
	for (int i = 0; i < 10; i++)
		logline(l, BERTH_LOG_STDOUT, "0123456789012345678901234567890123456789", T0);
	berth_logger_close(l);
	snprintf(p1, sizeof(p1), "%s.1", path);
	TAP_OK(t, stat(path, &st) == 0 && st.st_size < 400 && stat(p1, &st) < 0, "max-file 1: truncated, no .1");
}

/* Entries are gathered and written at flush (or once a batch is full), whole. */
static void test_batching(struct tap *t)
{
	char path[512];
	struct berth_logger *l = open_jf("batch", NULL, path, sizeof(path));
	struct berth_log_msg m = {.stream = BERTH_LOG_STDOUT, .line = "x", .len = 1, .ts_ns = T0};
	struct berth_error err;
	for (int i = 0; i < 3; i++)
		berth_logger_log(l, &m, &err);
	struct stat st;
	TAP_OK(t, stat(path, &st) == 0 && st.st_size == 0, "batched: nothing written before flush");
	TAP_OK(t, berth_logger_flush(l, &err) == 0 && stat(path, &st) == 0 && st.st_size == 3 * 62,
	       "batched: flush writes the gathered lines (%lld bytes)", (long long)st.st_size);
	char big[200];
	memset(big, 'y', sizeof(big));
	m.line = big;
	m.len = sizeof(big);
	for (int i = 0; i < 1000; i++)
		berth_logger_log(l, &m, &err);
	cleanup_free char *text = slurp(path);
	size_t len = strlen(text);
	TAP_OK(t, len > 3 * 62 && len < 3 * 62 + 1000 * 261 && text[len - 1] == '\n',
	       "batched: a full batch is written without flush, whole lines only (%zu bytes)", len);
	berth_logger_close(l);
	free(text);
	text = slurp(path);
	TAP_OK(t, strlen(text) == 3 * 62 + 1000 * 261, "batched: close writes the rest");
}

int main(void)
{
	struct tap t = {0};
	snprintf(dir, sizeof(dir), "/tmp/berth-logger-test-%d", (int)getpid());
	struct berth_error err;
	berth_mkdir_p(dir, 0755, &err);
	test_format(&t);
	test_batching(&t);
	test_copier(&t);
	test_options(&t);
	test_rotation_and_read(&t);
	berth_rm_rf(dir, &err);
	return TAP_DONE(&t);
}
