/* Registry login check and v1 search (login.h). */
#include "distribution/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"

/* "https://host:port/v1/" / "host:port" / "" → the domain ("docker.io" for the index). */
static char *server_domain(const char *server)
{
	if (!server || !*server)
		return strdup("docker.io");
	const char *s = server;
	if (berth_str_has_prefix(s, "https://"))
		s += 8;
	else if (berth_str_has_prefix(s, "http://"))
		s += 7;
	char *h = strndup(s, strcspn(s, "/"));
	if (h && (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io") || !strcmp(h, "docker.io"))) {
		free(h);
		return strdup("docker.io");
	}
	return h;
}

int berth_registry_login(const struct berth_registry_config *cfg, const struct berth_auth_config *auth,
			 char **identity_token, struct berth_error *err)
{
	if (identity_token)
		*identity_token = NULL;
	cleanup_free char *domain = server_domain(auth ? auth->serveraddress : NULL);
	if (!domain)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (!*domain)
		return berth_err(err, BERTH_E_INVALID, "unable to parse server address: empty host");
	struct berth_registry_client *c = berth_registry_client_new(cfg, domain, NULL, auth, 0, err);
	if (!c)
		return -1;
	struct berth_error e = {0};
	int rc = berth_registry_client_login(c, identity_token, &e);
	if (rc < 0) {
		const char *base = berth_registry_client_base(c);
		if (e.code >= 400 && e.code < 600)
			berth_err(err, BERTH_E_INTERNAL, "login attempt to %s/v2/ failed with status: %d %s", base,
				  e.code,
				  e.code == 401 ? "Unauthorized" :
				  e.code == 403 ? "Forbidden" :
						  "Error");
		else if (e.kind == BERTH_E_FORBIDDEN)
			berth_err(err, BERTH_E_FORBIDDEN, "Get \"%s/v2/\": %s", base, e.msg);
		else
			*err = e;
	}
	berth_registry_client_free(c);
	return rc;
}

/* ---- search ------------------------------------------------------------------ */

static int bool_filter(json_t *filters, const char *key, int *want, struct berth_error *err)
{
	json_t *v = json_object_get(filters, key);
	*want = -1;
	if (!v)
		return 0;
	if (json_array_size(v) == 1 && !strcmp(json_string_value(json_array_get(v, 0)) ?: "", "true"))
		*want = 1;
	else if (json_array_size(v) == 1 && !strcmp(json_string_value(json_array_get(v, 0)) ?: "", "false"))
		*want = 0;
	else {
		struct berth_buf b = {0};
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			berth_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(x) ?: "");
		berth_err(err, BERTH_E_INVALID, "Invalid filter '%s=[%s]'", key, berth_buf_str(&b));
		berth_buf_free(&b);
		return -1;
	}
	return 0;
}

static char *query_escape(const char *s)
{
	struct berth_buf b = {0};
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~')
			berth_buf_putc(&b, (char)*p);
		else if (*p == ' ')
			berth_buf_putc(&b, '+');
		else
			berth_buf_printf(&b, "%%%02X", *p);
	}
	char *r = berth_buf_steal(&b);
	return r ? r : strdup("");
}

json_t *berth_registry_search(const struct berth_registry_config *cfg, const struct berth_auth_config *auth,
			      const char *term, int64_t limit, json_t *filters, struct berth_error *err)
{
	static const char *const allowed[] = {"is-automated", "is-official", "stars", NULL};
	if (filters && berth_filters_check(filters, allowed, err) < 0)
		return NULL;
	int want_auto, want_official;
	if (bool_filter(filters, "is-automated", &want_auto, err) < 0 ||
	    bool_filter(filters, "is-official", &want_official, err) < 0)
		return NULL;
	long long min_stars = 0;
	json_t *stars = json_object_get(filters, "stars");
	size_t i;
	json_t *x;
	json_array_foreach(stars, i, x) {
		const char *s = json_string_value(x);
		char *end = NULL;
		long long v = s ? strtoll(s, &end, 10) : 0;
		if (!s || !*s || *end) {
			berth_err(err, BERTH_E_INVALID, "Invalid filter 'stars=%s'", s ? s : "");
			return NULL;
		}
		if (v > min_stars)
			min_stars = v;
	}
	if (limit == 0)
		limit = 25;
	if (limit < 1 || limit > 100) {
		berth_err(err, BERTH_E_INVALID, "Limit %lld is outside the range of [1, 100]", (long long)limit);
		return NULL;
	}
	if (strstr(term, "://")) {
		berth_err(err, BERTH_E_INVALID, "invalid repository name (ex: \"registry.domain.tld/myrepos\")");
		return NULL;
	}
	/* splitReposSearchTerm */
	cleanup_free char *domain = NULL;
	const char *remote = term;
	const char *slash = strchr(term, '/');
	if (slash) {
		cleanup_free char *first = strndup(term, (size_t)(slash - term));
		if (first && (strchr(first, '.') || strchr(first, ':') || !strcmp(first, "localhost"))) {
			domain = steal_ptr(first);
			remote = slash + 1;
		}
	}
	if (!domain)
		domain = strdup("docker.io");
	bool official = !strcmp(domain, "docker.io");
	if (official && berth_str_has_prefix(remote, "library/"))
		remote += 8;
	/* the v1 index of docker.io is index.docker.io */
	const char *host = official ? "index.docker.io" : domain;
	struct berth_registry_client *c = berth_registry_client_new(cfg, host, NULL, auth, 0, err);
	if (!c)
		return NULL;
	cleanup_free char *q = query_escape(remote);
	cleanup_free char *path = berth_strdup_printf("/v1/search?q=%s&n=%lld", q, (long long)limit);
	struct berth_registry_request req = {.method = "GET", .path = path};
	struct berth_registry_response resp;
	json_t *res = NULL;
	if (berth_registry_do(c, &req, &resp, err) == 0) {
		if (resp.status != 200) {
			berth_registry_error_from(&resp, NULL, err);
			berth_err_prefix(err, "Unexpected status code %ld", resp.status);
		} else {
			json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
			json_t *results = json_object_get(j, "results");
			if (!json_is_array(results)) {
				berth_err(err, BERTH_E_INTERNAL, "invalid search answer from %s", host);
			} else {
				res = json_array();
				json_array_foreach(results, i, x) {
					bool a = json_is_true(json_object_get(x, "is_automated"));
					bool o = json_is_true(json_object_get(x, "is_official"));
					json_int_t st = json_integer_value(json_object_get(x, "star_count"));
					if ((want_auto >= 0 && a != (want_auto == 1)) ||
					    (want_official >= 0 && o != (want_official == 1)) || st < min_stars)
						continue;
					const char *name = json_string_value(json_object_get(x, "name"));
					const char *desc = json_string_value(json_object_get(x, "description"));
					json_array_append_new(res, json_pack("{s:I, s:b, s:s, s:b, s:s}", "star_count",
									     st, "is_official", o, "name",
									     name ? name : "", "is_automated", a,
									     "description", desc ? desc : ""));
				}
			}
			json_decref(j);
		}
		berth_registry_response_free(&resp);
	}
	berth_registry_client_free(c);
	return res;
}
