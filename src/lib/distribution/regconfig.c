/* Daemon settings of the registry client: insecure-registries,
 * registry-mirrors, max-concurrent-downloads / -uploads (daemon.json keys
 * and flags; daemon/config.c calls in here). */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "distribution/registry.h"

void berth_registry_config_init(struct berth_registry_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->max_concurrent_downloads = BERTH_REGISTRY_DEFAULT_DOWNLOADS;
	rc->max_concurrent_uploads = BERTH_REGISTRY_DEFAULT_UPLOADS;
}

void berth_registry_config_free(struct berth_registry_config *rc)
{
	berth_strv_free(rc->insecure);
	berth_strv_free(rc->mirrors);
	rc->insecure = rc->mirrors = NULL;
}

bool berth_registry_config_key(const char *key)
{
	return !strcmp(key, "insecure-registries") || !strcmp(key, "registry-mirrors") ||
	       !strcmp(key, "max-concurrent-downloads") || !strcmp(key, "max-concurrent-uploads");
}

static int strv_from(char ***dst, const char *key, json_t *v, int (*check)(const char *, struct berth_error *),
		     struct berth_error *err)
{
	if (!json_is_array(v))
		return berth_err(err, BERTH_E_INVALID, "%s: expected a list of strings", key);
	size_t i;
	json_t *e;
	char **out = NULL;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || check(json_string_value(e), err) < 0 ||
		    berth_strv_push(&out, json_string_value(e)) < 0) {
			if (!json_is_string(e))
				berth_err(err, BERTH_E_INVALID, "%s: expected a list of strings", key);
			berth_strv_free(out);
			return -1;
		}
	}
	berth_strv_free(*dst);
	*dst = out;
	return 0;
}

int berth_registry_config_apply(struct berth_registry_config *rc, const char *key, json_t *v, struct berth_error *err)
{
	if (!strcmp(key, "insecure-registries"))
		return strv_from(&rc->insecure, key, v, berth_registry_validate_insecure, err);
	if (!strcmp(key, "registry-mirrors"))
		return strv_from(&rc->mirrors, key, v, berth_registry_validate_mirror, err);
	if (!strcmp(key, "max-concurrent-downloads") || !strcmp(key, "max-concurrent-uploads")) {
		if (!json_is_integer(v))
			return berth_err(err, BERTH_E_INVALID, "%s: expected an integer", key);
		json_int_t n = json_integer_value(v);
		if (n < 1 || n > 1000)
			return berth_err(err, BERTH_E_INVALID, "invalid max concurrent %s: %lld",
					 key[15] == 'd' ? "downloads" : "uploads", (long long)n);
		if (key[15] == 'd')
			rc->max_concurrent_downloads = (int)n;
		else
			rc->max_concurrent_uploads = (int)n;
		return 0;
	}
	return 1;
}
