/* json-file log driver: docker's format, one JSON object per line,
 *   {"log":"hello\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}
 * with max-size / max-file / compress rotation (<path>.1, <path>.2[.gz], ...). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/jsonw.h"
#include "logger_internal.h"

struct jsonfile {
	struct berth_logger base;
	struct berth_logfile f;
	char *attrs; /* rendered "attrs" object or NULL */
	struct berth_buf buf;
	struct berth_log_timecache tc;
};

struct jf_opts {
	int64_t capacity;
	int max_files;
	bool compress;
};

static const char *jopt(const json_t *opts, const char *k)
{
	json_t *v = json_is_object(opts) ? json_object_get(opts, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, t[i]))
			return 1;
		if (!strcmp(s, f[i]))
			return 0;
	}
	return -1;
}

static int parse_opts(const json_t *opts, struct jf_opts *o, struct berth_error *err)
{
	static const char *const known[] = {"max-file", "max-size",  "compress", "labels", "labels-regex",
					    "env",      "env-regex", "tag",      NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok |= !strcmp(k, known[i]);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "unknown log opt '%s' for json-file log driver", k);
	}
	o->capacity = -1;
	o->max_files = 1;
	o->compress = false;
	const char *s;
	if ((s = jopt(opts, "max-size"))) {
		if (berth_parse_human_size(s, &o->capacity) < 0)
			return berth_err(err, BERTH_E_INVALID, "invalid size: '%s'", s);
		if (o->capacity <= 0)
			return berth_err(err, BERTH_E_INVALID, "max-size must be a positive number");
	}
	if ((s = jopt(opts, "max-file"))) {
		char *end;
		errno = 0;
		long n = strtol(s, &end, 10);
		if (!*s || *end || errno)
			return berth_err(err, BERTH_E_INVALID, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
		if (n < 1)
			return berth_err(err, BERTH_E_INVALID, "max-file cannot be less than 1");
		o->max_files = n > 100000 ? 100000 : (int)n;
	}
	if ((s = jopt(opts, "compress"))) {
		int b = parse_bool(s);
		if (b < 0)
			return berth_err(err, BERTH_E_INVALID, "strconv.ParseBool: parsing \"%s\": invalid syntax", s);
		o->compress = b;
		if (o->compress && (o->max_files == 1 || o->capacity == -1))
			return berth_err(err, BERTH_E_INVALID,
					 "compress cannot be true when max-file is less than 2 or max-size is not set");
	}
	return 0;
}

static int jf_validate(const json_t *opts, struct berth_error *err)
{
	struct jf_opts o;
	if (parse_opts(opts, &o, err) < 0)
		return -1;
	/* tag and regexes must compile */
	struct berth_log_info dummy = {.opts = opts};
	struct berth_error e = {0};
	json_decref(berth_log_attrs(&dummy, true, &e));
	if (e.kind != BERTH_E_NONE) {
		if (err)
			*err = e;
		return -1;
	}
	return 0;
}

static void jf_close(struct berth_logger *l)
{
	struct jsonfile *j = (struct jsonfile *)l;
	berth_logfile_close(&j->f);
	free(j->attrs);
	berth_buf_free(&j->buf);
	free(j);
}

static struct berth_logger *jf_open(const struct berth_log_info *info, struct berth_error *err);

static int jf_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct jsonfile *j = (struct jsonfile *)l;
	struct berth_buf *b = &j->buf;
	b->len = 0;
	berth_buf_append(b, "{", 1);
	bool first = true;
	if (m->len || !m->partial) {
		berth_buf_append(b, "\"log\":", 6);
		if (m->partial) {
			berth_jsonw_go_str(b, m->line, m->len, 0);
		} else {
			/* escape line + "\n" without copying: escape, then splice "\n" before the closing quote */
			berth_jsonw_go_str(b, m->line, m->len, 0);
			b->len--;
			berth_buf_append(b, "\\n\"", 3);
		}
		first = false;
	}
	if (!first)
		berth_buf_putc(b, ',');
	if (m->stream == BERTH_LOG_STDERR)
		berth_buf_append(b, "\"stream\":\"stderr\"", 17);
	else
		berth_buf_append(b, "\"stream\":\"stdout\"", 17);
	if (j->attrs) {
		berth_buf_append(b, ",\"attrs\":", 9);
		berth_buf_append(b, j->attrs, strlen(j->attrs));
	}
	char ts[64];
	size_t tl = berth_log_time_format_cached(&j->tc, m->ts_ns, ts, sizeof(ts));
	berth_buf_append(b, ",\"time\":\"", 9);
	berth_buf_append(b, ts, tl);
	berth_buf_append(b, "\"}\n", 3);

	return berth_logfile_write(&j->f, b->data, b->len, m->ts_ns, err);
}

static int jf_flush(struct berth_logger *l, struct berth_error *err)
{
	return berth_logfile_flush(&((struct jsonfile *)l)->f, err);
}

/* Go's json.Marshal of map[string]string: sorted keys, compact, HTML-escaped. */
static char *render_attrs(const json_t *a)
{
	if (!a)
		return NULL;
	size_t n = json_object_size(a), k = 0;
	const char **keys = calloc(n, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v)
		keys[k++] = key;
	for (size_t x = 1; x < n; x++)
		for (size_t y = x; y > 0 && strcmp(keys[y - 1], keys[y]) > 0; y--) {
			const char *t = keys[y];
			keys[y] = keys[y - 1];
			keys[y - 1] = t;
		}
	struct berth_buf b = {0};
	berth_buf_putc(&b, '{');
	for (size_t x = 0; x < n; x++) {
		if (x)
			berth_buf_putc(&b, ',');
		berth_jsonw_go_str(&b, keys[x], strlen(keys[x]), 0);
		berth_buf_putc(&b, ':');
		const char *s = json_string_value(json_object_get(a, keys[x]));
		berth_jsonw_go_str(&b, s ? s : "", s ? strlen(s) : 0, 0);
	}
	berth_buf_putc(&b, '}');
	free(keys);
	return berth_buf_steal(&b);
}

const struct berth_log_driver berth_log_driver_jsonfile = {
	.name = "json-file",
	.validate = jf_validate,
	.open = jf_open,
	.log = jf_log,
	.close = jf_close,
	.reader_open = berth_jsonfile_reader_open,
	.flush = jf_flush,
};

static struct berth_logger *jf_open(const struct berth_log_info *info, struct berth_error *err)
{
	struct jf_opts o;
	if (!info->log_path) {
		berth_err(err, BERTH_E_INVALID, "json-file: no log path");
		return NULL;
	}
	if (parse_opts(info->opts, &o, err) < 0)
		return NULL;
	struct berth_error aerr = {0};
	cleanup_json json_t *attrs = berth_log_attrs(info, true, &aerr);
	if (aerr.kind != BERTH_E_NONE) {
		if (err)
			*err = aerr;
		return NULL;
	}
	struct jsonfile *j = calloc(1, sizeof(*j));
	if (!j) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	j->base.drv = &berth_log_driver_jsonfile;
	j->f.fd = -1;
	berth_log_timecache_init(&j->tc);
	j->attrs = render_attrs(attrs);
	if (berth_logfile_open(&j->f, info->log_path, o.capacity, o.max_files, o.compress, err) < 0) {
		jf_close(&j->base);
		return NULL;
	}
	return &j->base;
}
