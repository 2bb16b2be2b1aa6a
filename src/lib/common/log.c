#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util.h"

void berth_log(struct berth_log *l, enum berth_log_level lvl, const char *fmt, ...)
{
	if (l && (int)lvl > atomic_load(&l->level))
		return;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char ts[64], msg[2048];
	berth_time_rfc3339(berth_now_ns(), ts, sizeof(ts));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "time=\"%s\" level=%s msg=\"%s\"\n", ts, names[lvl], msg);
}
