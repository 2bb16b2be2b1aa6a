/* Internal to the logger module. */
#pragma once
#include "common/util.h"
#include "logger.h"

extern const struct berth_log_driver berth_log_driver_jsonfile;
extern const struct berth_log_driver berth_log_driver_local;
extern const struct berth_log_driver berth_log_driver_syslog;
extern const struct berth_log_driver berth_log_driver_journald;
extern const struct berth_log_driver berth_log_driver_gelf;
extern const struct berth_log_driver berth_log_driver_fluentd;
extern const struct berth_log_driver berth_log_driver_awslogs;

/* logger_opts.c: options every driver takes (mode, max-buffer-size, cache-*) */
int berth_log_builtin_opts_validate(const json_t *opts, struct berth_error *err);
/* A copy of opts without those (what a driver's validate/open sees). */
json_t *berth_log_driver_opts(const json_t *opts);
/* Go's strconv.ParseBool: 1, 0, or -1. */
int berth_log_parse_bool(const char *s);
/* An option's string value or NULL. */
const char *berth_log_opt(const json_t *opts, const char *k);
/* "unknown log opt" check: keys (NULL-terminated) plus the extra-attribute
 * keys (env, env-regex, labels, labels-regex) and tag when with_common. */
int berth_log_check_keys(const json_t *opts, const char *const *keys, bool with_common, const char *driver,
			 struct berth_error *err);
/* jsonfile_read.c: json-file lines, or local's records when proto. */
struct berth_log_reader *berth_logfile_reader_open(const char *log_path, bool proto,
						   const struct berth_log_read_opts *o, struct berth_error *err);
struct berth_log_reader *berth_jsonfile_reader_open(const char *log_path, const struct berth_log_read_opts *o,
						    struct berth_error *err);

/* Every reader starts with this. */
struct berth_log_reader {
	int (*next)(struct berth_log_reader *r, struct berth_log_entry *e, struct berth_error *err);
	int (*fd)(struct berth_log_reader *r);
	void (*close)(struct berth_log_reader *r);
};

/* logfile.c: the rotated file json-file and local append to (docker's
 * loggerutils.LogFile): rotation at capacity bytes (-1: never) into
 * <path>.1 .. <path>.<max_files-1>, gzip of rotated files when compress.
 * Entries are gathered in wbuf and written once it holds BERTH_LOGFILE_BATCH
 * bytes, before a rotation, and at berth_logfile_flush (the shim flushes
 * after each read of the container's output, before it waits again) and
 * close: one write() per batch instead of one per line. */
#define BERTH_LOGFILE_BATCH (64 << 10)
struct berth_logfile {
	int fd;
	char *path;
	int64_t capacity;
	int max_files;
	bool compress;
	int64_t size; /* including what wbuf holds */
	int64_t last_ts;
	struct berth_buf wbuf;
};
int berth_logfile_open(struct berth_logfile *f, const char *path, int64_t capacity, int max_files, bool compress,
		       struct berth_error *err);
/* One encoded entry (rotates first when the file is full). */
int berth_logfile_write(struct berth_logfile *f, const void *data, size_t len, int64_t ts_ns, struct berth_error *err);
/* Write out what wbuf holds. */
int berth_logfile_flush(struct berth_logfile *f, struct berth_error *err);
/* Flushes, then closes. */
void berth_logfile_close(struct berth_logfile *f);

/* Time formatting for drivers that stamp every line: the date and time of
 * the last second formatted, reused while the second is the same (lines
 * of one read share their time, so most lines format nothing). */
struct berth_log_timecache {
	int64_t sec; /* INT64_MIN: empty */
	size_t baselen;
	char base[32]; /* "2006-01-02T15:04:05" */
};
void berth_log_timecache_init(struct berth_log_timecache *c);
/* berth_log_time_format's text; returns its length. outlen >= 40. */
size_t berth_log_time_format_cached(struct berth_log_timecache *c, int64_t ns, char *out, size_t outlen);

/* logproto.c: docker's LogEntry protobuf records (the local driver's files). */
struct berth_logproto_rec {
	const char *source; /* "stdout" / "stderr" */
	int64_t time_nano;
	const char *line; /* without '\n' */
	size_t len;
	bool partial; /* part of a split line: partial_log_metadata follows */
	bool last;    /* the final part */
	const char *id;
	int32_t ordinal;
	const char *attrs; /* encoded attrs fields (berth_logproto_attrs) or NULL */
	size_t attrs_len;
};
/* Append one framed record: [u32 BE size][LogEntry][u32 BE size]. */
void berth_logproto_encode(struct berth_buf *b, const struct berth_logproto_rec *r);
/* Append the LogEntry attrs fields (repeated LogAttr, sorted by key) for an object of strings. */
void berth_logproto_attrs(struct berth_buf *b, const json_t *attrs);
/* Decode one LogEntry (no frame) into e (line gets '\n' when complete or the
 * last part, as docker's reader does). 0, or -1 when malformed. */
int berth_logproto_decode(const void *data, size_t len, struct berth_log_entry *e);
uint32_t berth_logproto_be32(const void *p);
#define BERTH_LOGPROTO_MAX (1000 * 1000) /* docker's maxMsgLen */
