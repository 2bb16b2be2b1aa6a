#include "config_sec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "config.h"

static const char *const keys[] = {
	"tls",          "tlsverify", "tlscacert", "tlscert", "tlskey", "authorization-plugins", "seccomp-profile",
	"userns-remap", NULL};

bool berth_sec_config_key(const char *key)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

static int type_err(struct berth_error *err, const char *key, json_t *v, const char *want)
{
	const char *k = json_is_object(v)  ? "object" :
			json_is_array(v)   ? "array" :
			json_is_string(v)  ? "string" :
			json_is_number(v)  ? "number" :
			json_is_boolean(v) ? "bool" :
					     "null";
	return berth_err(err, BERTH_E_INVALID, "json: cannot unmarshal %s into Go struct field Config.%s of type %s", k,
			 key, want);
}

static int set_path(char **dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_string(v))
		return type_err(err, key, v, "string");
	const char *p = json_string_value(v);
	if (*p && access(p, R_OK) < 0)
		return berth_err_sys(err, BERTH_E_INVALID, errno, "%s: could not load %s: open %s", key, p, p);
	char *d = *p ? strdup(p) : NULL;
	if (*p && !d)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

static int set_plugins(char ***dst, const char *key, json_t *v, struct berth_error *err)
{
	if (!json_is_array(v))
		return type_err(err, key, v, "[]string");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return type_err(err, key, e, "string");
		const char *n = json_string_value(e);
		if (!*n || strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, ".."))
			return berth_err(err, BERTH_E_INVALID, "%s: invalid plugin name \"%s\"", key, n);
	}
	char **out = NULL;
	json_array_foreach(v, i, e)
		if (berth_strv_push(&out, json_string_value(e)) < 0) {
			berth_strv_free(out);
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
	berth_strv_free(*dst);
	*dst = out;
	return 0;
}

int berth_sec_config_apply(struct berth_config *c, const char *key, json_t *v, struct berth_error *err)
{
	struct berth_sec_config *s = &c->sec;
	if (!strcmp(key, "tls") || !strcmp(key, "tlsverify")) {
		if (!json_is_boolean(v))
			return type_err(err, key, v, "bool");
		bool b = json_is_true(v);
		if (key[3] == 'v') {
			s->tlsverify = b;
			if (b)
				s->tls = true; /* --tlsverify implies --tls */
		} else {
			s->tls = b || s->tlsverify;
		}
		if (!b && !s->tls)
			c->tls_disabled = true; /* given explicitly: a plaintext tcp:// listener is wanted */
		return 0;
	}
	if (!strcmp(key, "tlscacert"))
		return set_path(&s->tlscacert, key, v, err);
	if (!strcmp(key, "tlscert"))
		return set_path(&s->tlscert, key, v, err);
	if (!strcmp(key, "tlskey"))
		return set_path(&s->tlskey, key, v, err);
	if (!strcmp(key, "authorization-plugins"))
		return set_plugins(&s->authz_plugins, key, v, err);
	if (!strcmp(key, "seccomp-profile")) {
		if (!json_is_string(v))
			return type_err(err, key, v, "string");
		const char *p = json_string_value(v);
		free(s->seccomp_profile);
		free(s->seccomp_path);
		s->seccomp_profile = s->seccomp_path = NULL;
		if (!*p || !strcmp(p, "builtin"))
			return 0;
		if (!strcmp(p, "unconfined")) {
			/* a profile without defaultAction or rules: no seccomp filter */
			s->seccomp_profile = strdup("{}");
			s->seccomp_path = strdup(p);
			return 0;
		}
		size_t len = 0;
		struct berth_error e2 = {0};
		if (berth_read_file(p, &s->seccomp_profile, &len, 4 << 20, &e2) < 0)
			return berth_err(err, BERTH_E_INVALID,
					 "seccomp-profile: opening seccomp profile (%s) failed: %s", p, e2.msg);
		json_error_t je;
		json_t *j = json_loads(s->seccomp_profile, 0, &je);
		if (!j || !json_is_object(j)) {
			json_decref(j);
			free(s->seccomp_profile);
			s->seccomp_profile = NULL;
			return berth_err(err, BERTH_E_INVALID,
					 "seccomp-profile: decoding seccomp profile (%s) failed: %s", p,
					 j ? "not a JSON object" : je.text);
		}
		json_decref(j);
		s->seccomp_path = strdup(p);
		return 0;
	}
	if (!strcmp(key, "userns-remap")) { /* resolved at daemon start (common/idmap.h) */
		if (!json_is_string(v))
			return type_err(err, key, v, "string");
		free(s->userns_remap);
		s->userns_remap = *json_string_value(v) ? strdup(json_string_value(v)) : NULL;
		return 0;
	}
	return berth_err(err, BERTH_E_INVALID, "unknown security option %s", key);
}

static int default_path(char **dst, const char *name)
{
	if (*dst)
		return 0;
	*dst = berth_strdup_printf("%s/%s", BERTH_DEFAULT_CERT_DIR, name);
	return *dst ? 0 : -1;
}

int berth_sec_config_finish(struct berth_config *c, struct berth_error *err)
{
	struct berth_sec_config *s = &c->sec;
	if (!s->tls)
		return 0;
	if (default_path(&s->tlscert, "cert.pem") < 0 || default_path(&s->tlskey, "key.pem") < 0 ||
	    (s->tlsverify && default_path(&s->tlscacert, "ca.pem") < 0))
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

int berth_sec_config_reload(struct berth_config *c, json_t *j, struct berth_error *err)
{
	json_t *v = json_object_get(j, "authorization-plugins");
	if (!v)
		return 0;
	return set_plugins(&c->sec.authz_plugins, "authorization-plugins", v, err);
}

void berth_sec_config_free(struct berth_sec_config *s)
{
	free(s->tlscacert);
	free(s->tlscert);
	free(s->tlskey);
	berth_strv_free(s->authz_plugins);
	free(s->seccomp_profile);
	free(s->seccomp_path);
	free(s->userns_remap);
	memset(s, 0, sizeof(*s));
}
