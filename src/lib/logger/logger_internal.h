/* Internal to the logger module. */
#pragma once
#include "common/util.h"
#include "logger.h"

/* JSON string body (with quotes) the way docker's jsonlog writes it:
 * <, >, & as \u003c..., invalid UTF-8 as \ufffd, U+2028/9 escaped. */
void berth_log_json_string(struct berth_buf *b, const char *s, size_t len);

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
struct berth_log_reader *berth_jsonfile_reader_open(const char *log_path, const struct berth_log_read_opts *o,
						    struct berth_error *err);

/* Every reader starts with this. */
struct berth_log_reader {
	int (*next)(struct berth_log_reader *r, struct berth_log_entry *e, struct berth_error *err);
	int (*fd)(struct berth_log_reader *r);
	void (*close)(struct berth_log_reader *r);
};
