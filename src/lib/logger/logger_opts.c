/* Options every log driver takes (docker's built-in log opts: mode,
 * max-buffer-size and the dual-logging cache-* options), where a
 * container's log file is, and reading `logs` whatever the driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger_internal.h"

static const char *const builtin[] = {
	"mode", "max-buffer-size", "cache-disabled", "cache-max-size", "cache-max-file", "cache-compress", NULL};

const char *berth_log_opt(const json_t *opts, const char *k)
{
	json_t *v = json_is_object(opts) ? json_object_get(opts, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int berth_log_parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; s && i < 6; i++) {
		if (!strcmp(s, t[i]))
			return 1;
		if (!strcmp(s, f[i]))
			return 0;
	}
	return -1;
}

int berth_log_builtin_opts_validate(const json_t *opts, struct berth_error *err)
{
	const char *mode = berth_log_opt(opts, "mode");
	if (mode && *mode && strcmp(mode, "blocking") && strcmp(mode, "non-blocking"))
		return berth_err(err, BERTH_E_INVALID, "logger: logging mode not supported: %s", mode);
	const char *mb = berth_log_opt(opts, "max-buffer-size");
	if (mb) {
		if (!mode || strcmp(mode, "non-blocking"))
			return berth_err(err, BERTH_E_INVALID,
					 "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
		int64_t n;
		if (berth_parse_human_size(mb, &n) < 0)
			return berth_err(err, BERTH_E_INVALID,
					 "error parsing option max-buffer-size: invalid size: '%s'", mb);
	}
	const char *cd = berth_log_opt(opts, "cache-disabled");
	if (cd && *cd && berth_log_parse_bool(cd) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid value for option cache-disabled: %s", cd);
	const char *ms = berth_log_opt(opts, "cache-max-size");
	int64_t n;
	if (ms && (berth_parse_human_size(ms, &n) < 0 || n <= 0))
		return berth_err(err, BERTH_E_INVALID, "invalid value for option cache-max-size: %s", ms);
	const char *mf = berth_log_opt(opts, "cache-max-file");
	if (mf) {
		char *end;
		long v = strtol(mf, &end, 10);
		if (!*mf || *end || v < 1)
			return berth_err(err, BERTH_E_INVALID, "invalid value for option cache-max-file: %s", mf);
	}
	const char *cc = berth_log_opt(opts, "cache-compress");
	if (cc && berth_log_parse_bool(cc) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid value for option cache-compress: %s", cc);
	return 0;
}

json_t *berth_log_driver_opts(const json_t *opts)
{
	json_t *o = json_is_object(opts) ? json_deep_copy(opts) : json_object();
	for (size_t i = 0; builtin[i]; i++)
		json_object_del(o, builtin[i]);
	return o;
}

int berth_log_check_keys(const json_t *opts, const char *const *keys, bool with_common, const char *driver,
			 struct berth_error *err)
{
	static const char *const common[] = {"env", "env-regex", "labels", "labels-regex", "tag", NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		bool ok = false;
		for (size_t i = 0; keys[i] && !ok; i++)
			ok = !strcmp(k, keys[i]);
		for (size_t i = 0; with_common && common[i] && !ok; i++)
			ok = !strcmp(k, common[i]);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "unknown log opt '%s' for %s log driver", k, driver);
	}
	return 0;
}

char *berth_log_file_path(const char *ctr_dir, const char *driver, const char *log_path)
{
	if (log_path && *log_path)
		return strdup(log_path);
	if (driver && !strcmp(driver, "local"))
		return berth_strdup_printf("%s/local-logs/container.log", ctr_dir);
	return berth_strdup_printf("%s/container-cached.log", ctr_dir);
}

bool berth_log_can_read(const char *driver, const json_t *opts)
{
	const struct berth_log_driver *d = berth_log_driver_get(driver);
	if (!d || d->not_implemented || !strcmp(d->name, "none"))
		return false;
	if (d->reader_open)
		return true;
	return berth_log_parse_bool(berth_log_opt(opts, "cache-disabled")) != 1;
}

struct berth_log_reader *berth_log_reader_open_cfg(const char *driver, const json_t *opts, const char *path,
						   const struct berth_log_read_opts *o, struct berth_error *err)
{
	if (!berth_log_can_read(driver, opts)) {
		berth_err(err, BERTH_E_UNSUPPORTED, "configured logging driver does not support reading");
		return NULL;
	}
	const struct berth_log_driver *d = berth_log_driver_get(driver);
	if (d->reader_open)
		return d->reader_open(path, o, err);
	/* the dual-logging cache, written by the local driver */
	return berth_log_driver_local.reader_open(path, o, err);
}
