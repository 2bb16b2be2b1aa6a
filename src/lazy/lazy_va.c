/* The variadic functions of the lazily loaded libraries (lazy.h), which
 * scripts/gen-lazy-stubs.py cannot forward: the argument's type is known
 * from the call's other arguments. */
#define CURL_DISABLE_TYPECHECK 1
#include <archive.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>

#include "lazy.h"

typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	static _Atomic(void *) cache;
	setopt_fn f = (setopt_fn)berth_lazy_resolve(&cache, "libcurl.so.4", __func__, true);
	if (!f)
		return CURLE_FAILED_INIT;
	/* one argument, whose type follows from the option's number range */
	va_list ap;
	va_start(ap, option);
	CURLcode rc;
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = f(curl, option, va_arg(ap, long));
	else if (option >= CURLOPTTYPE_FUNCTIONPOINT && option < CURLOPTTYPE_OFF_T)
		rc = f(curl, option, va_arg(ap, void (*)(void)));
	else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
		rc = f(curl, option, va_arg(ap, curl_off_t));
	else
		rc = f(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	static _Atomic(void *) cache;
	getinfo_fn f = (getinfo_fn)berth_lazy_resolve(&cache, "libcurl.so.4", __func__, true);
	if (!f)
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	CURLcode rc = f(curl, info, va_arg(ap, void *)); /* always where the answer goes */
	va_end(ap);
	return rc;
}

typedef void (*set_error_fn)(struct archive *, int, const char *, ...);

void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	static _Atomic(void *) cache;
	static atomic_uint gen;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a is alive: libarchive is loaded (it is unloaded when idle, lazy.h) */
	pthread_rwlock_rdlock(&berth_lazy_lib_archive.use);
	set_error_fn f = (set_error_fn)berth_lazy_uresolve(&berth_lazy_lib_archive, &cache, &gen, __func__, true);
	if (f)
		f(a, err, "%s", msg);
	pthread_rwlock_unlock(&berth_lazy_lib_archive.use);
}
