/* "local" log driver: docker's driver for performance. Entries are docker's
 * LogEntry protobuf records (logproto.c) in <container dir>/local-logs/
 * container.log, rotated at max-size (default 20m) into max-file (default 5)
 * files, the rotated ones gzip-compressed unless compress=false (logfile.c).
 * A line longer than 16 KiB is stored as parts with docker's
 * partial_log_metadata (one random id per line, ordinals from 1, last on the
 * final part). The dual-logging cache of the remote drivers is this driver
 * too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "logger_internal.h"

static const char *const local_keys[] = {"max-file", "max-size", "compress", NULL};

struct local_opts {
	int64_t max_size;
	int max_file;
	bool compress;
};

static int parse_local_opts(const json_t *opts, struct local_opts *o, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		bool ok = false;
		for (size_t i = 0; local_keys[i]; i++)
			ok |= !strcmp(k, local_keys[i]);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "unknown log opt '%s' for log driver local", k);
	}
	o->max_size = 20 * 1024 * 1024;
	o->max_file = 5;
	o->compress = true;
	const char *s;
	if ((s = berth_log_opt(opts, "max-size")) && berth_parse_human_size(s, &o->max_size) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid value for max-size: %s: invalid size: '%s'", s, s);
	if ((s = berth_log_opt(opts, "max-file"))) {
		char *end;
		errno = 0;
		long n = strtol(s, &end, 10);
		if (!*s || *end || errno || n > 1000000 || n < -1000000)
			return berth_err(err, BERTH_E_INVALID,
					 "invalid value for max-file: %s: strconv.Atoi: parsing \"%s\": invalid syntax",
					 s, s);
		o->max_file = (int)n;
	}
	if ((s = berth_log_opt(opts, "compress"))) {
		int b = berth_log_parse_bool(s);
		if (b < 0)
			return berth_err(
				err, BERTH_E_INVALID,
				"invalid boolean value for compress: strconv.ParseBool: parsing \"%s\": invalid "
				"syntax",
				s);
		o->compress = b;
	}
	if (o->max_size < 0)
		return berth_err(err, BERTH_E_INVALID, "max-size must not be negative");
	if (o->max_file < 0)
		return berth_err(err, BERTH_E_INVALID, "max-file must not be negative");
	if (o->compress && o->max_file <= 1)
		return berth_err(err, BERTH_E_INVALID, "compression cannot be enabled when max file count is 1");
	return 0;
}

static int local_validate(const json_t *opts, struct berth_error *err)
{
	struct local_opts o;
	return parse_local_opts(opts, &o, err);
}

struct split {
	char id[65]; /* partial_log_metadata.id of the line being split, "" when none */
	int32_t ordinal;
};

struct local {
	struct berth_logger base;
	struct berth_logfile f;
	struct split split[2]; /* per stream */
	struct berth_buf buf;
};

static int local_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct local *lc = (struct local *)l;
	struct split *sp = &lc->split[m->stream == BERTH_LOG_STDERR];
	struct berth_logproto_rec r = {
		.source = berth_log_stream_name(m->stream), .time_nano = m->ts_ns, .line = m->line, .len = m->len};
	if (m->partial || sp->id[0]) {
		if (!sp->id[0]) {
			berth_random_id(sp->id);
			sp->ordinal = 0;
		}
		r.partial = true;
		r.id = sp->id;
		r.ordinal = ++sp->ordinal;
		r.last = !m->partial;
		if (r.last)
			sp->id[0] = '\0';
	}
	lc->buf.len = 0;
	berth_logproto_encode(&lc->buf, &r);
	return berth_logfile_write(&lc->f, lc->buf.data, lc->buf.len, m->ts_ns, err);
}

static int local_flush(struct berth_logger *l, struct berth_error *err)
{
	return berth_logfile_flush(&((struct local *)l)->f, err);
}

static void local_close(struct berth_logger *l)
{
	struct local *lc = (struct local *)l;
	berth_logfile_close(&lc->f);
	berth_buf_free(&lc->buf);
	free(lc);
}

static struct berth_logger *local_open(const struct berth_log_info *info, struct berth_error *err);

struct berth_log_reader *berth_local_reader_open(const char *log_path, const struct berth_log_read_opts *o,
						 struct berth_error *err)
{
	return berth_logfile_reader_open(log_path, true, o, err);
}

const struct berth_log_driver berth_log_driver_local = {
	.name = "local",
	.validate = local_validate,
	.open = local_open,
	.log = local_log,
	.close = local_close,
	.reader_open = berth_local_reader_open,
	.flush = local_flush,
};

static struct berth_logger *local_open(const struct berth_log_info *info, struct berth_error *err)
{
	struct local_opts o;
	if (parse_local_opts(info->opts, &o, err) < 0)
		return NULL;
	if (!info->log_path) {
		berth_err(err, BERTH_E_INVALID, "log path is missing -- this is a bug and should not happen");
		return NULL;
	}
	cleanup_free char *dir = strdup(info->log_path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = 0;
		struct berth_error e = {0};
		berth_mkdir_p(dir, 0750, &e);
	}
	struct local *lc = calloc(1, sizeof(*lc));
	if (!lc) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	lc->base.drv = &berth_log_driver_local;
	if (berth_logfile_open(&lc->f, info->log_path, o.max_size > 0 ? o.max_size : -1,
			       o.max_file > 0 ? o.max_file : 1, o.compress, err) < 0) {
		berth_buf_free(&lc->buf);
		free(lc);
		return NULL;
	}
	return &lc->base;
}
