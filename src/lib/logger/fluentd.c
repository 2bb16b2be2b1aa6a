/* "fluentd" log driver: the Forward protocol (Message mode: a msgpack
 * array [tag, time, record]) over TCP or a unix socket.
 *   fluentd-address  host:port, tcp://host:port, unix:///path (default localhost:24224)
 *   fluentd-async, fluentd-async-connect, fluentd-buffer-limit,
 *   fluentd-retry-wait, fluentd-max-retries, fluentd-sub-second-precision,
 *   fluentd-request-ack, tag (default {{.ID}})
 * record: container_id, container_name ("/name"), source, log, plus the
 * labels / env attributes; partial_message "true" on a partial line.
 * Delivery already runs on the delivery thread with back-off, so async,
 * buffer-limit, retry-wait and max-retries shape that: buffer-limit is the
 * number of messages held (rather than dropped) while the endpoint is down
 * in docker; here the delivery queue's mode / max-buffer-size decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "logger_internal.h"
#include "logger_net.h"

static const char *const keys[] = {"fluentd-address",
				   "fluentd-async",
				   "fluentd-async-connect",
				   "fluentd-buffer-limit",
				   "fluentd-retry-wait",
				   "fluentd-max-retries",
				   "fluentd-sub-second-precision",
				   "fluentd-request-ack",
				   NULL};

struct fl {
	struct berth_logger base;
	struct berth_log_conn conn;
	char *tag;
	bool subsec;
	json_t *extra;
	struct berth_buf b;
};

/* ---- msgpack (only what the record needs) ---- */
static void mp_be(struct berth_buf *b, uint64_t v, int bytes)
{
	unsigned char t[8];
	for (int i = 0; i < bytes; i++)
		t[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	berth_buf_append(b, t, (size_t)bytes);
}
static void mp_hdr(struct berth_buf *b, uint8_t fix, uint8_t fixmax, uint8_t c8, uint8_t c16, uint8_t c32, size_t n)
{
	if (n <= fixmax) {
		berth_buf_putc(b, (char)(fix | n));
	} else if (c8 && n <= 0xff) {
		berth_buf_putc(b, (char)c8);
		mp_be(b, n, 1);
	} else if (n <= 0xffff) {
		berth_buf_putc(b, (char)c16);
		mp_be(b, n, 2);
	} else {
		berth_buf_putc(b, (char)c32);
		mp_be(b, n, 4);
	}
}
static void mp_str(struct berth_buf *b, const char *s, size_t n)
{
	mp_hdr(b, 0xa0, 31, 0xd9, 0xda, 0xdb, n);
	berth_buf_append(b, s, n);
}
static void mp_cstr(struct berth_buf *b, const char *s) { mp_str(b, s ? s : "", s ? strlen(s) : 0); }
static void mp_array(struct berth_buf *b, size_t n) { mp_hdr(b, 0x90, 15, 0, 0xdc, 0xdd, n); }
static void mp_map(struct berth_buf *b, size_t n) { mp_hdr(b, 0x80, 15, 0, 0xde, 0xdf, n); }
static void mp_uint(struct berth_buf *b, uint64_t v)
{
	if (v < 128) {
		berth_buf_putc(b, (char)v);
	} else if (v <= 0xffffffffULL) {
		berth_buf_putc(b, (char)0xce);
		mp_be(b, v, 4);
	} else {
		berth_buf_putc(b, (char)0xcf);
		mp_be(b, v, 8);
	}
}

static int parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	static const char *const units[] = {"ns", "us", "µs", "ms", "s", "m", "h", NULL};
	for (size_t i = 0; units[i]; i++)
		if (!strcmp(end, units[i]))
			return 0;
	return !*end && v == 0 ? 0 : -1;
}

/* A Go duration of one unit ("500ms", "2s") in milliseconds; 0 when absent or bad. */
static long duration_ms(const char *s)
{
	if (!s || parse_duration(s) < 0)
		return 0;
	char *end;
	double v = strtod(s, &end);
	static const struct {
		const char *u;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].u))
			return v * units[i].ms < 1 ? 1 : (long)(v * units[i].ms);
	return 0;
}

/* docker's fluentd options with effect on delivery: fluentd-async (never
 * wait, drop when the buffer is full), fluentd-buffer-limit (bytes queued),
 * fluentd-retry-wait (first back-off, default 1s), fluentd-max-retries
 * (then the message is dropped; default unlimited). */
static void fl_policy(const json_t *opts, struct berth_log_policy *p)
{
	p->async = berth_log_parse_bool(berth_log_opt(opts, "fluentd-async")) == 1;
	const char *bl = berth_log_opt(opts, "fluentd-buffer-limit");
	p->buffer = bl ? strtoll(bl, NULL, 10) : 0;
	long rw = duration_ms(berth_log_opt(opts, "fluentd-retry-wait"));
	p->retry_ms = rw ? rw : 1000;
	const char *mr = berth_log_opt(opts, "fluentd-max-retries");
	p->max_retries = mr ? strtol(mr, NULL, 10) : -1;
	if (p->max_retries < -1)
		p->max_retries = -1;
}

static int parse_address(const char *s, struct berth_log_addr *a, struct berth_error *err)
{
	if (!s || !*s)
		s = "localhost:24224";
	if (strstr(s, "://") && strncmp(s, "tcp://", 6) && strncmp(s, "unix://", 7)) {
		const char *sep = strstr(s, "://");
		return berth_err(err, BERTH_E_INVALID, "unsupported scheme: '%.*s'", (int)(sep - s), s);
	}
	return berth_log_addr_parse(s, "fluentd", LP_TCP, "24224", a, err);
}

static int fl_validate(const json_t *opts, struct berth_error *err)
{
	if (berth_log_check_keys(opts, keys, true, "fluentd", err) < 0)
		return -1;
	struct berth_log_addr a;
	if (parse_address(berth_log_opt(opts, "fluentd-address"), &a, err) < 0)
		return -1;
	static const char *const bools[] = {"fluentd-async", "fluentd-async-connect", "fluentd-sub-second-precision",
					    "fluentd-request-ack", NULL};
	for (size_t i = 0; bools[i]; i++) {
		const char *v = berth_log_opt(opts, bools[i]);
		if (v && berth_log_parse_bool(v) < 0)
			return berth_err(err, BERTH_E_INVALID, "strconv.ParseBool: parsing \"%s\": invalid syntax", v);
	}
	static const char *const ints[] = {"fluentd-buffer-limit", "fluentd-max-retries", NULL};
	for (size_t i = 0; ints[i]; i++) {
		const char *v = berth_log_opt(opts, ints[i]);
		char *end;
		if (v && (strtoll(v, &end, 10), !*v || *end))
			return berth_err(err, BERTH_E_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
	}
	const char *rw = berth_log_opt(opts, "fluentd-retry-wait");
	if (rw && parse_duration(rw) < 0)
		return berth_err(err, BERTH_E_INVALID, "time: invalid duration \"%s\"", rw);
	return 0;
}

static void fl_close(struct berth_logger *l)
{
	struct fl *f = (struct fl *)l;
	berth_log_conn_free(&f->conn);
	free(f->tag);
	json_decref(f->extra);
	berth_buf_free(&f->b);
	free(f);
}

static int fl_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct fl *f = (struct fl *)l;
	struct berth_buf *b = &f->b;
	b->len = 0;
	int64_t ts = m->ts_ns ? m->ts_ns : berth_now_ns();
	size_t len = m->len;
	if (len && m->line[len - 1] == '\n')
		len--;
	mp_array(b, 3);
	mp_cstr(b, f->tag);
	if (f->subsec) {
		/* EventTime: ext 0, seconds and nanoseconds, big-endian */
		berth_buf_putc(b, (char)0xd7);
		berth_buf_putc(b, 0);
		mp_be(b, (uint64_t)(ts / 1000000000LL), 4);
		mp_be(b, (uint64_t)(ts % 1000000000LL), 4);
	} else {
		mp_uint(b, (uint64_t)(ts / 1000000000LL));
	}
	mp_map(b, json_object_size(f->extra) + 2 + (m->partial ? 1 : 0));
	const char *k;
	json_t *v;
	json_object_foreach(f->extra, k, v) {
		mp_cstr(b, k);
		mp_cstr(b, json_string_value(v));
	}
	mp_cstr(b, "source");
	mp_cstr(b, berth_log_stream_name(m->stream));
	mp_cstr(b, "log");
	mp_str(b, m->line, len);
	if (m->partial) {
		mp_cstr(b, "partial_message");
		mp_cstr(b, "true");
	}
	return berth_log_conn_send(&f->conn, b->data, b->len, err);
}

static struct berth_logger *fl_open(const struct berth_log_info *info, struct berth_error *err)
{
	if (fl_validate(info->opts, err) < 0)
		return NULL;
	struct fl *f = calloc(1, sizeof(*f));
	if (!f) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	f->base.drv = &berth_log_driver_fluentd;
	f->conn.fd = -1;
	parse_address(berth_log_opt(info->opts, "fluentd-address"), &f->conn.addr, err);
	f->subsec = berth_log_parse_bool(berth_log_opt(info->opts, "fluentd-sub-second-precision")) == 1;
	const char *t = berth_log_opt(info->opts, "tag");
	f->tag = berth_log_tag(info, t ? t : "{{.ID}}", err);
	struct berth_error aerr = {0};
	f->extra = berth_log_attrs(info, false, &aerr);
	if (!f->extra)
		f->extra = json_object();
	const char *name = info->container_name ? info->container_name : "";
	char slashed[300];
	snprintf(slashed, sizeof(slashed), "%s%s", *name == '/' ? "" : "/", name);
	json_object_set_new(f->extra, "container_id", json_string(info->container_id ? info->container_id : ""));
	json_object_set_new(f->extra, "container_name", json_string(slashed));
	if (!f->tag || aerr.kind != BERTH_E_NONE || berth_log_conn_open(&f->conn, err) < 0) {
		if (aerr.kind != BERTH_E_NONE && err)
			*err = aerr;
		fl_close(&f->base);
		return NULL;
	}
	return &f->base;
}

const struct berth_log_driver berth_log_driver_fluentd = {
	.name = "fluentd",
	.validate = fl_validate,
	.open = fl_open,
	.log = fl_log,
	.close = fl_close,
	.remote = true,
	.policy = fl_policy,
};
