/* Container log drivers (docker's --log-driver / --log-opt).
 *
 * A driver is a struct of function pointers in a registry table
 * (logger.c). Writing happens in berth-shim: it splits the container's
 * stdout/stderr into messages with berth_log_copier (docker's 16 KiB
 * partial-line rule) and hands them to berth_logger_log(). Reading happens
 * in berthd for GET /containers/{id}/logs through berth_log_reader_*.
 *
 *   create:  berth_log_opts_validate(driver, opts, &err)       -> 400 on bad options
 *   shim:    l = berth_logger_open(driver, &info, &err); berth_logger_log(l, &msg) ...; berth_logger_close(l)
 *   logs:    r = berth_log_reader_open(driver, path, opts, &ro, &err); berth_log_reader_next(r, &e, &err) ...
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum berth_log_stream { BERTH_LOG_STDOUT = 1, BERTH_LOG_STDERR = 2 };
const char *berth_log_stream_name(enum berth_log_stream s); /* "stdout" / "stderr" */

/* One log message: a line without its '\n', or a chunk of a longer line. */
struct berth_log_msg {
	enum berth_log_stream stream;
	const char *line;
	size_t len;
	int64_t ts_ns;
	bool partial; /* more of this line follows: no '\n' is appended */
};

/* What a driver knows about its container (docker's logger.Info). */
struct berth_log_info {
	const char *container_id;   /* full id */
	const char *container_name; /* with or without leading '/' */
	const char *image_id;       /* "sha256:..." */
	const char *image_name;     /* as the user gave it */
	const char *daemon_name;    /* "berth" when NULL */
	const char *log_path;       /* json-file: containers/<id>/<id>-json.log */
	const json_t *opts;         /* LogConfig.Config: object of strings (may be NULL) */
	const json_t *labels;       /* Config.Labels (object) */
	const json_t *env;          /* Config.Env (array of "K=V") */
	const char *command;        /* Path + Args joined by ' ' (gelf's _command), may be NULL */
	const char *created;        /* Created, RFC 3339 (gelf's _created), may be NULL */
};

struct berth_logger; /* an open driver instance */

/* Delivery policy a remote driver takes from its options (fluentd's
 * fluentd-async, -buffer-limit, -retry-wait, -max-retries). */
struct berth_log_policy {
	bool async;       /* never wait: a full buffer drops messages (as non-blocking) */
	int64_t buffer;   /* queue bytes when max-buffer-size is not given (0: default) */
	long retry_ms;    /* first back-off (0: default 100 ms) */
	long max_retries; /* retries of one message before it is dropped (-1: no limit) */
};
struct berth_log_reader;

struct berth_log_read_opts {
	int64_t since_ns; /* 0 = from the start */
	int64_t until_ns; /* 0 = no end */
	long tail;        /* -1 = all, else the last N entries (lines) */
	bool follow;      /* keep reading new entries, across rotations */
};

struct berth_log_entry {
	enum berth_log_stream stream;
	int64_t ts_ns;
	char *line; /* the logged bytes, including the '\n' when the line was complete */
	size_t len;
	bool partial;  /* line has no trailing '\n' */
	json_t *attrs; /* "attrs" object when the driver stored any, else NULL */
};

struct berth_log_driver {
	const char *name;
	/* non-NULL: the driver is known but not available; open and validate fail with this text */
	const char *not_implemented;
	int (*validate)(const json_t *opts, struct berth_error *err);
	struct berth_logger *(*open)(const struct berth_log_info *info, struct berth_error *err);
	int (*log)(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err);
	void (*close)(struct berth_logger *l);
	/* NULL when the driver cannot read back ("configured logging driver does not support reading") */
	struct berth_log_reader *(*reader_open)(const char *log_path, const struct berth_log_read_opts *o,
						struct berth_error *err);
	/* network drivers: open/log/flush run on the delivery thread (logger_delivery.c), never
	 * on the shim's stdio loop; log() < 0 with err.kind BERTH_E_INVALID drops the message
	 * (permanent refusal), any other error is retried with back-off. */
	bool remote;
	/* send or write what the driver holds (awslogs' batch, the file drivers' write buffer) */
	int (*flush)(struct berth_logger *l, struct berth_error *err);
	/* optional (remote drivers): the driver's own delivery options */
	void (*policy)(const json_t *opts, struct berth_log_policy *p);
};

/* Every driver instance starts with this. */
struct berth_logger {
	const struct berth_log_driver *drv;
};

/* Registry. NULL when unknown. */
const struct berth_log_driver *berth_log_driver_get(const char *name);
/* Names of the drivers that work (for `info` Plugins.Log), NULL-terminated. */
const char *const *berth_log_driver_names(void);

/* Validate driver name + options (at container create). Errors are
 * BERTH_E_INVALID with docker's text: "logger: no log driver named 'x' is
 * registered", "unknown log opt 'x' for json-file log driver", ... */
int berth_log_opts_validate(const char *driver, const json_t *opts, struct berth_error *err);

struct berth_logger *berth_logger_open(const char *driver, const struct berth_log_info *info, struct berth_error *err);
int berth_logger_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err);
/* Write out what log() gathered: the file drivers (and the dual-logging
 * cache) batch their writes; the caller flushes once it has handed over
 * what it read, before it waits for more (close flushes too). */
int berth_logger_flush(struct berth_logger *l, struct berth_error *err);
void berth_logger_close(struct berth_logger *l);

/* Splits a byte stream into log messages as docker's copier does: one
 * message per '\n'-terminated line; a line of 16 KiB or more goes out in
 * 16384-byte partial chunks (all chunks and the final piece carry the
 * first chunk's time). */
#define BERTH_LOG_BUF 16384
struct berth_log_copier {
	enum berth_log_stream stream;
	size_t n;
	int64_t partial_ts; /* 0 when no partial line is pending */
	char buf[BERTH_LOG_BUF];
};
void berth_log_copier_init(struct berth_log_copier *c, enum berth_log_stream stream);
/* Feed bytes; complete messages go to l (may be NULL: dropped). now_ns: 0 = clock. */
int berth_log_copier_feed(struct berth_log_copier *c, const void *data, size_t len, struct berth_logger *l,
			  int64_t now_ns);
/* End of stream: what is buffered goes out as a partial message. */
int berth_log_copier_flush(struct berth_log_copier *c, struct berth_logger *l, int64_t now_ns);

/* ---- delivery (logger_delivery.c): what berth-shim opens ----
 * File drivers (json-file, local) write in the caller's thread. Every other
 * driver runs on a delivery thread behind a queue (docker's mode=blocking |
 * non-blocking, max-buffer-size: when full in non-blocking mode the oldest
 * messages are dropped and counted), reconnects with back-off, and also
 * writes the dual-logging cache (cache-disabled, cache-max-size,
 * cache-max-file, cache-compress) at cache_path in the caller's thread.
 * warn (may be NULL) gets driver errors; it may be called from the thread. */
struct berth_logger *berth_logger_open_delivery(const char *driver, const struct berth_log_info *info,
						const char *cache_path, void (*warn)(void *ctx, const char *msg),
						void *warn_ctx, struct berth_error *err);
/* Messages dropped by the non-blocking buffer so far (0 for other loggers). */
uint64_t berth_logger_dropped(struct berth_logger *l);

/* Where a container's log file is: json-file's LogPath when set, else
 * <ctr_dir>/local-logs/container.log for local, <ctr_dir>/container-cached.log
 * (the dual-logging cache) for the others. Caller frees. */
char *berth_log_file_path(const char *ctr_dir, const char *driver, const char *log_path);
/* Open a reader for `logs` whatever the driver: the file of json-file / local,
 * the cache of the others; "configured logging driver does not support
 * reading" (BERTH_E_UNSUPPORTED) for none and with cache-disabled=true. */
struct berth_log_reader *berth_log_reader_open_cfg(const char *driver, const json_t *opts, const char *path,
						   const struct berth_log_read_opts *o, struct berth_error *err);
/* Whether `logs` can read this config (same rule, without opening). */
bool berth_log_can_read(const char *driver, const json_t *opts);

/* Readers. */
struct berth_log_reader *berth_log_reader_open(const char *driver, const char *log_path,
					       const struct berth_log_read_opts *o, struct berth_error *err);
enum { BERTH_LOG_EOF = 0, BERTH_LOG_ENTRY = 1, BERTH_LOG_AGAIN = 2 };
/* BERTH_LOG_ENTRY (entry filled; free with berth_log_entry_clear), BERTH_LOG_EOF
 * (no more: not following, or past until), BERTH_LOG_AGAIN (following: nothing
 * new yet; wait for berth_log_reader_fd to be readable), or -1 with err. */
int berth_log_reader_next(struct berth_log_reader *r, struct berth_log_entry *e, struct berth_error *err);
/* An fd that becomes readable when new data may be there (follow mode), or -1. */
int berth_log_reader_fd(struct berth_log_reader *r);
void berth_log_reader_close(struct berth_log_reader *r);
void berth_log_entry_clear(struct berth_log_entry *e);

/* Blocking convenience loop over a reader. cb returns 0 to continue, non-zero
 * to stop. In follow mode, waits for new entries until cancel_fd (eg an
 * eventfd the daemon signals when the container stops or the client goes
 * away) becomes readable, then drains what is left and returns. Returns 0,
 * or -1 with err. */
int berth_log_read(const char *driver, const char *log_path, const struct berth_log_read_opts *o, int cancel_fd,
		   int (*cb)(void *ctx, const struct berth_log_entry *e), void *ctx, struct berth_error *err);

/* Shared helpers for drivers (logger_util.c). */
/* docker's ExtraAttributes (labels, labels-regex, env, env-regex) + tag:
 * a JSON object, or NULL when there is none. */
json_t *berth_log_attrs(const struct berth_log_info *info, bool with_tag, struct berth_error *err);
/* Render a log tag template ({{.ID}}, {{.FullID}}, {{.Name}}, {{.ImageID}},
 * {{.ImageFullID}}, {{.ImageName}}, {{.DaemonName}}). NULL + err on a bad template. */
char *berth_log_tag(const struct berth_log_info *info, const char *tmpl, struct berth_error *err);
/* docker's units.FromHumanSize ("10m", "1.5g", "100"): 0 ok, -1 bad. */
int berth_parse_human_size(const char *s, int64_t *out);
/* Go time.RFC3339Nano (trailing zeros of the fraction dropped), UTC. */
void berth_log_time_format(int64_t ns, char *out, size_t outlen);
