#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int berth_err(struct berth_error *err, enum berth_err_kind kind, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->kind = kind;
	err->code = 0;
	return -1;
}

int berth_err_sys(struct berth_error *err, enum berth_err_kind kind, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
	err->kind = kind;
	err->code = code;
	return -1;
}

int berth_err_prefix(struct berth_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[512], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s: %s", prefix, old);
	snprintf(err->msg, sizeof(err->msg), "%.*s", (int)sizeof(err->msg) - 1, berth_buf_str(&b));
	berth_buf_free(&b);
	return -1;
}

void berth_err_clear(struct berth_error *err)
{
	if (err) {
		err->kind = BERTH_E_NONE;
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int berth_err_http_status(enum berth_err_kind kind)
{
	switch (kind) {
	case BERTH_E_NONE: return 200;
	case BERTH_E_INVALID: return 400;
	case BERTH_E_FORBIDDEN: return 403;
	case BERTH_E_NOT_FOUND: return 404;
	case BERTH_E_CONFLICT: return 409;
	case BERTH_E_NOT_MODIFIED: return 304;
	case BERTH_E_UNAVAILABLE: return 503;
	case BERTH_E_UNSUPPORTED: return 501;
	case BERTH_E_INTERNAL: return 500;
	}
	return 500;
}
