#include "distribution/authconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/cleanup.h"

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

void berth_auth_config_free(struct berth_auth_config *a)
{
	if (!a)
		return;
	free(a->username);
	wipe_free(a->password);
	wipe_free(a->auth);
	free(a->email);
	free(a->serveraddress);
	wipe_free(a->identitytoken);
	wipe_free(a->registrytoken);
	memset(a, 0, sizeof(*a));
}

int berth_auth_config_has_credentials(const struct berth_auth_config *a)
{
	return a && ((a->username && *a->username) || (a->password && *a->password) ||
		     (a->identitytoken && *a->identitytoken) || (a->registrytoken && *a->registrytoken));
}

/* "auth": base64("user:password") → username/password when absent. */
static int split_auth(struct berth_auth_config *a, struct berth_error *err)
{
	if (!a->auth || !*a->auth || (a->username && *a->username))
		return 0;
	char *dec = berth_base64_decode(a->auth, NULL);
	if (!dec)
		return 0; /* not base64: ignored as dockerd ignores what it cannot use */
	char *colon = strchr(dec, ':');
	if (colon) {
		*colon = '\0';
		char *u = strdup(dec), *p = strdup(colon + 1);
		if (!u || !p) {
			free(u);
			wipe_free(p);
			wipe_free(dec);
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
		free(a->username);
		wipe_free(a->password);
		a->username = u;
		a->password = p;
	}
	wipe_free(dec);
	return 0;
}

int berth_auth_config_from_json(const json_t *obj, struct berth_auth_config *out, struct berth_error *err)
{
	static const char *const keys[] = {"username",      "password",      "auth",         "email",
					   "serveraddress", "identitytoken", "registrytoken"};
	memset(out, 0, sizeof(*out));
	char **slots[] = {&out->username,      &out->password,      &out->auth,         &out->email,
			  &out->serveraddress, &out->identitytoken, &out->registrytoken};
	if (!json_is_object(obj))
		return berth_err(err, BERTH_E_INVALID, "invalid auth configuration: not a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcasecmp(k, keys[i]) != 0)
				continue;
			if (json_is_null(v))
				break;
			if (!json_is_string(v)) {
				berth_auth_config_free(out);
				return berth_err(
					err, BERTH_E_INVALID,
					"json: cannot unmarshal %s into Go struct field AuthConfig.%s of type string",
					json_is_number(v)  ? "number" :
					json_is_boolean(v) ? "bool" :
							     "object",
					keys[i]);
			}
			free(*slots[i]);
			*slots[i] = strdup(json_string_value(v));
			if (!*slots[i]) {
				berth_auth_config_free(out);
				return berth_err(err, BERTH_E_INTERNAL, "out of memory");
			}
			break;
		}
	}
	if (split_auth(out, err) < 0) {
		berth_auth_config_free(out);
		return -1;
	}
	return 0;
}

int berth_auth_config_decode(const char *header, struct berth_auth_config *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!header || !*header)
		return 0;
	size_t n = 0;
	char *dec = berth_base64_decode(header, &n);
	if (!dec)
		return 0;
	json_t *j = json_loadb(dec, n, 0, NULL);
	wipe_free(dec);
	if (!j)
		return 0;
	int rc = berth_auth_config_from_json(j, out, err);
	json_decref(j);
	if (rc < 0 && err && err->kind == BERTH_E_INVALID) {
		memset(out, 0, sizeof(*out));
		berth_err_clear(err);
		return 0;
	}
	return rc;
}
