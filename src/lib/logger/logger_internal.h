/* Internal to the logger module. */
#pragma once
#include "common/util.h"
#include "logger.h"

/* JSON string body (with quotes) the way docker's jsonlog writes it:
 * <, >, & as \u003c..., invalid UTF-8 as \ufffd, U+2028/9 escaped. */
void berth_log_json_string(struct berth_buf *b, const char *s, size_t len);

extern const struct berth_log_driver berth_log_driver_jsonfile;
extern const struct berth_log_driver berth_log_driver_local;
struct berth_log_reader *berth_jsonfile_reader_open(const char *log_path, const struct berth_log_read_opts *o,
						    struct berth_error *err);

/* Every reader starts with this. */
struct berth_log_reader {
	int (*next)(struct berth_log_reader *r, struct berth_log_entry *e, struct berth_error *err);
	int (*fd)(struct berth_log_reader *r);
	void (*close)(struct berth_log_reader *r);
};
