/* Log driver registry, generic entry points, the line copier and the
 * blocking read loop. */
#include "logger.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger_internal.h"

const char *berth_log_stream_name(enum berth_log_stream s) { return s == BERTH_LOG_STDERR ? "stderr" : "stdout"; }

/* ---- none ---- */
static int none_validate(const json_t *opts, struct berth_error *err)
{
	(void)opts;
	(void)err;
	return 0; /* docker accepts any option for "none" */
}
static struct berth_logger *none_open(const struct berth_log_info *info, struct berth_error *err);
static int none_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	(void)l;
	(void)m;
	(void)err;
	return 0;
}
static void none_close(struct berth_logger *l) { free(l); }
static const struct berth_log_driver none_driver = {
	.name = "none",
	.validate = none_validate,
	.open = none_open,
	.log = none_log,
	.close = none_close,
};
static struct berth_logger *none_open(const struct berth_log_info *info, struct berth_error *err)
{
	(void)info;
	struct berth_logger *l = calloc(1, sizeof(*l));
	if (!l)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	else
		l->drv = &none_driver;
	return l;
}

#define NOT_YET(n)                                                                                                     \
	{                                                                                                              \
		.name = n, .not_implemented = "the " n " log driver is not implemented yet"                            \
	}

static const struct berth_log_driver not_yet[] = {
	NOT_YET("splunk"),
	NOT_YET("etwlogs"),
	NOT_YET("gcplogs"),
	NOT_YET("logentries"),
};

static const struct berth_log_driver *const registry[] = {
	&berth_log_driver_jsonfile,
	&berth_log_driver_local,
	&none_driver,
	&berth_log_driver_syslog,
	&berth_log_driver_journald,
	&berth_log_driver_gelf,
	&berth_log_driver_fluentd,
	&berth_log_driver_awslogs,
	&not_yet[0],
	&not_yet[1],
	&not_yet[2],
	&not_yet[3],
};

const struct berth_log_driver *berth_log_driver_get(const char *name)
{
	for (size_t i = 0; name && i < sizeof(registry) / sizeof(registry[0]); i++)
		if (!strcmp(registry[i]->name, name))
			return registry[i];
	return NULL;
}

const char *const *berth_log_driver_names(void)
{
	/* as docker's info lists them: "none" is not a plugin */
	static const char *const names[] = {"awslogs",   "fluentd", "gelf",   "journald",
					    "json-file", "local",   "syslog", NULL};
	return names;
}

static const struct berth_log_driver *usable(const char *driver, struct berth_error *err)
{
	const struct berth_log_driver *d = berth_log_driver_get(driver);
	if (!d) {
		berth_err(err, BERTH_E_INVALID, "logger: no log driver named '%s' is registered", driver ? driver : "");
		return NULL;
	}
	if (d->not_implemented) {
		berth_err(err, BERTH_E_UNSUPPORTED, "%s", d->not_implemented);
		return NULL;
	}
	return d;
}

int berth_log_opts_validate(const char *driver, const json_t *opts, struct berth_error *err)
{
	const struct berth_log_driver *d = usable(driver, err);
	if (!d)
		return -1;
	if (opts && !json_is_object(opts))
		return berth_err(err, BERTH_E_INVALID, "log options must be an object of strings");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		if (!json_is_string(v))
			return berth_err(err, BERTH_E_INVALID, "log opt '%s' must be a string", k);
	}
	if (!strcmp(d->name, "none"))
		return 0;
	if (berth_log_builtin_opts_validate(opts, err) < 0)
		return -1;
	cleanup_json json_t *dopts = berth_log_driver_opts(opts);
	return d->validate ? d->validate(dopts, err) : 0;
}

struct berth_logger *berth_logger_open(const char *driver, const struct berth_log_info *info, struct berth_error *err)
{
	const struct berth_log_driver *d = usable(driver, err);
	if (!d)
		return NULL;
	cleanup_json json_t *dopts = berth_log_driver_opts(info->opts);
	if (d->validate && d->validate(dopts, err) < 0)
		return NULL;
	struct berth_log_info di = *info;
	di.opts = dopts;
	return d->open(&di, err);
}

int berth_logger_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	return l ? l->drv->log(l, m, err) : 0;
}

int berth_logger_flush(struct berth_logger *l, struct berth_error *err)
{
	return l && l->drv->flush ? l->drv->flush(l, err) : 0;
}

void berth_logger_close(struct berth_logger *l)
{
	if (l)
		l->drv->close(l);
}

/* ---- copier ---- */

void berth_log_copier_init(struct berth_log_copier *c, enum berth_log_stream stream)
{
	c->stream = stream;
	c->n = 0;
	c->partial_ts = 0;
}

static int emit(struct berth_log_copier *c, struct berth_logger *l, const char *p, size_t len, bool partial,
		int64_t now)
{
	struct berth_log_msg m = {.stream = c->stream, .line = p, .len = len, .partial = partial};
	if (partial) {
		if (!c->partial_ts)
			c->partial_ts = now;
		m.ts_ns = c->partial_ts;
	} else {
		m.ts_ns = c->partial_ts ? c->partial_ts : now;
		c->partial_ts = 0;
	}
	struct berth_error e;
	return l ? berth_logger_log(l, &m, &e) : 0;
}

int berth_log_copier_feed(struct berth_log_copier *c, const void *data, size_t len, struct berth_logger *l,
			  int64_t now_ns)
{
	const char *p = data;
	int rc = 0;
	int64_t now = now_ns ? now_ns : berth_now_ns();
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t seg = nl ? (size_t)(nl - p) : len;
		size_t space = BERTH_LOG_BUF - c->n;
		if (seg < space && nl) {
			/* the line ends within the buffer */
			const char *line = p;
			if (c->n) {
				memcpy(c->buf + c->n, p, seg);
				line = c->buf;
			}
			if (emit(c, l, line, c->n + seg, false, now) < 0)
				rc = -1;
			c->n = 0;
			p += seg + 1;
			len -= seg + 1;
			continue;
		}
		/* no newline within what fits: fill the buffer */
		size_t take = seg < space ? seg : space;
		memcpy(c->buf + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n == BERTH_LOG_BUF) {
			if (emit(c, l, c->buf, c->n, true, now) < 0)
				rc = -1;
			c->n = 0;
		}
	}
	return rc;
}

int berth_log_copier_flush(struct berth_log_copier *c, struct berth_logger *l, int64_t now_ns)
{
	int rc = 0;
	if (c->n)
		rc = emit(c, l, c->buf, c->n, true, now_ns ? now_ns : berth_now_ns());
	c->n = 0;
	c->partial_ts = 0;
	return rc;
}

/* ---- reading ---- */

struct berth_log_reader *berth_log_reader_open(const char *driver, const char *log_path,
					       const struct berth_log_read_opts *o, struct berth_error *err)
{
	const struct berth_log_driver *d = usable(driver, err);
	if (!d)
		return NULL;
	if (!d->reader_open) {
		berth_err(err, BERTH_E_UNSUPPORTED, "configured logging driver does not support reading");
		return NULL;
	}
	return d->reader_open(log_path, o, err);
}

int berth_log_reader_next(struct berth_log_reader *r, struct berth_log_entry *e, struct berth_error *err)
{
	return r->next(r, e, err);
}

int berth_log_reader_fd(struct berth_log_reader *r) { return r->fd ? r->fd(r) : -1; }

void berth_log_reader_close(struct berth_log_reader *r)
{
	if (r)
		r->close(r);
}

void berth_log_entry_clear(struct berth_log_entry *e)
{
	free(e->line);
	json_decref(e->attrs);
	memset(e, 0, sizeof(*e));
}

int berth_log_read(const char *driver, const char *log_path, const struct berth_log_read_opts *o, int cancel_fd,
		   int (*cb)(void *ctx, const struct berth_log_entry *e), void *ctx, struct berth_error *err)
{
	struct berth_log_reader *r = berth_log_reader_open(driver, log_path, o, err);
	if (!r)
		return -1;
	int rc = 0;
	bool cancelled = false;
	for (;;) {
		struct berth_log_entry e = {0};
		int n = berth_log_reader_next(r, &e, err);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == BERTH_LOG_EOF)
			break;
		if (n == BERTH_LOG_ENTRY) {
			int stop = cb(ctx, &e);
			berth_log_entry_clear(&e);
			if (stop)
				break;
			continue;
		}
		/* AGAIN */
		if (cancelled)
			break;
		struct pollfd p[2] = {{.fd = berth_log_reader_fd(r), .events = POLLIN},
				      {.fd = cancel_fd, .events = POLLIN}};
		/* the timeout is only a safety net against missed notifications */
		int pr = poll(p, 2, 1000);
		if (pr < 0 && errno != EINTR) {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "poll");
			break;
		}
		if (cancel_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			cancelled = true; /* one more pass to drain what was written before the cancel */
	}
	berth_log_reader_close(r);
	return rc;
}
