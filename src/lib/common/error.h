/* Error convention: fallible functions return int (<0 on error) or NULL and
 * fill a struct berth_error. The API layer maps kind -> HTTP status. */
#pragma once
#include <stdarg.h>

enum berth_err_kind {
	BERTH_E_NONE = 0,
	BERTH_E_INVALID,      /* 400 */
	BERTH_E_FORBIDDEN,    /* 403 */
	BERTH_E_NOT_FOUND,    /* 404 */
	BERTH_E_CONFLICT,     /* 409 */
	BERTH_E_NOT_MODIFIED, /* 304 */
	BERTH_E_UNAVAILABLE,  /* 503 */
	BERTH_E_UNSUPPORTED,  /* 501 / "not supported on this host" */
	BERTH_E_INTERNAL,     /* 500 */
};

struct berth_error {
	enum berth_err_kind kind;
	int code; /* errno-style, 0 if none */
	char msg[1024];
};

/* Fill err (may be NULL) and return -1. printf-style message. */
int berth_err(struct berth_error *err, enum berth_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with errno text appended as ": strerror(code)". */
int berth_err_sys(struct berth_error *err, enum berth_err_kind kind, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prefix an existing message: "prefix: old message". Returns -1. */
int berth_err_prefix(struct berth_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berth_err_clear(struct berth_error *err);
int berth_err_http_status(enum berth_err_kind kind);
