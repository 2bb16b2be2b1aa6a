/* "local" log driver: docker's driver for performance — rotated files,
 * compressed by default (max-size 20m, max-file 5, compress true), at
 * <container dir>/local-logs/container.log. The dual-logging cache of the
 * remote drivers is this driver too.
 *
 * The entries use the json-file line format (one JSON object a line, with
 * the same partial-line and rotation rules) rather than docker's
 * length-prefixed protobuf records: only the daemon reads these files, and
 * sharing the format lets both drivers share one writer and one reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "logger_internal.h"

static const char *const local_keys[] = {"max-file", "max-size", "compress", NULL};

static const char *sopt(const json_t *opts, const char *k)
{
	json_t *v = json_is_object(opts) ? json_object_get(opts, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* json-file options with local's defaults. */
static json_t *as_jsonfile_opts(const json_t *opts)
{
	const char *ms = sopt(opts, "max-size"), *mf = sopt(opts, "max-file"), *c = sopt(opts, "compress");
	json_t *o = json_object();
	json_object_set_new(o, "max-size", json_string(ms ? ms : "20m"));
	json_object_set_new(o, "max-file", json_string(mf ? mf : "5"));
	bool one = mf && !strcmp(mf, "1");
	json_object_set_new(o, "compress", json_string(c ? c : one ? "false" : "true"));
	return o;
}

static int local_validate(const json_t *opts, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		bool ok = false;
		for (size_t i = 0; local_keys[i]; i++)
			ok |= !strcmp(k, local_keys[i]);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "unknown log opt '%s' for log driver local", k);
	}
	const char *ms = sopt(opts, "max-size");
	int64_t n;
	if (ms && (berth_parse_human_size(ms, &n) < 0 || n < 0))
		return berth_err(err, BERTH_E_INVALID, "invalid value for max-size: %s", ms);
	cleanup_json json_t *jo = as_jsonfile_opts(opts);
	return berth_log_driver_jsonfile.validate(jo, err);
}

static struct berth_logger *local_open(const struct berth_log_info *info, struct berth_error *err)
{
	if (local_validate(info->opts, err) < 0)
		return NULL;
	cleanup_json json_t *jo = as_jsonfile_opts(info->opts);
	struct berth_log_info li = *info;
	li.opts = jo;
	if (!li.log_path) {
		berth_err(err, BERTH_E_INVALID, "local: no log path");
		return NULL;
	}
	cleanup_free char *dir = strdup(li.log_path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		struct berth_error e = {0};
		berth_mkdir_p(dir, 0750, &e);
	}
	return berth_log_driver_jsonfile.open(&li, err);
}

const struct berth_log_driver berth_log_driver_local = {
	.name = "local",
	.validate = local_validate,
	.open = local_open,
	.reader_open = berth_jsonfile_reader_open,
};
