/* Daemon log to stderr: "time=... level=... msg=..." like dockerd's text
 * format. The level lives in the caller's struct (no global state). */
#pragma once
#include <stdatomic.h>

enum berth_log_level { BERTH_LOG_ERROR, BERTH_LOG_WARN, BERTH_LOG_INFO, BERTH_LOG_DEBUG };

struct berth_log {
	atomic_int level;
};

void berth_log(struct berth_log *l, enum berth_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
