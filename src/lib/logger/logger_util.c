/* Helpers shared by log drivers: docker's JSON string escaping, extra
 * attributes, tag templates, sizes and times. */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "logger_internal.h"

void berth_log_timecache_init(struct berth_log_timecache *c)
{
	c->sec = INT64_MIN;
	c->baselen = 0;
}

size_t berth_log_time_format_cached(struct berth_log_timecache *c, int64_t ns, char *out, size_t outlen)
{
	int64_t s = ns / 1000000000LL;
	long frac = (long)(ns % 1000000000LL);
	if (frac < 0) {
		frac += 1000000000L;
		s--;
	}
	if (s != c->sec) {
		time_t t = (time_t)s;
		struct tm tm;
		gmtime_r(&t, &tm);
		c->baselen = strftime(c->base, sizeof(c->base), "%Y-%m-%dT%H:%M:%S", &tm);
		c->sec = s;
	}
	/* base, then ".fraction" without its trailing zeros (Go's RFC3339Nano), then 'Z' */
	char f[10];
	size_t n = 0;
	if (frac) {
		f[0] = '.';
		for (int i = 9; i >= 1; i--) {
			f[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		n = 10;
		while (f[n - 1] == '0')
			n--;
	}
	size_t len = c->baselen + n + 1;
	if (len >= outlen) {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, c->base, c->baselen);
	memcpy(out + c->baselen, f, n);
	out[len - 1] = 'Z';
	out[len] = '\0';
	return len;
}

void berth_log_time_format(int64_t ns, char *out, size_t outlen)
{
	struct berth_log_timecache c;
	berth_log_timecache_init(&c);
	berth_log_time_format_cached(&c, ns, out, outlen);
}

int berth_parse_human_size(const char *s, int64_t *out)
{
	/* go-units FromHumanSize: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ with decimal units */
	const char *p = s;
	if (!p || !isdigit((unsigned char)*p))
		return -1;
	char *end;
	double v = strtod(p, &end);
	if (end == p)
		return -1;
	p = end;
	if (*p == ' ')
		p++;
	double mul = 1;
	switch (*p) {
	case 'k':
	case 'K':
		mul = 1e3;
		p++;
		break;
	case 'm':
	case 'M':
		mul = 1e6;
		p++;
		break;
	case 'g':
	case 'G':
		mul = 1e9;
		p++;
		break;
	case 't':
	case 'T':
		mul = 1e12;
		p++;
		break;
	case 'p':
	case 'P':
		mul = 1e15;
		p++;
		break;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

static const char *opt(const struct berth_log_info *info, const char *k)
{
	json_t *v = json_is_object(info->opts) ? json_object_get(info->opts, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *berth_log_tag(const struct berth_log_info *info, const char *tmpl, struct berth_error *err)
{
	struct berth_buf b = {0};
	const char *name = info->container_name ? info->container_name : "";
	if (*name == '/')
		name++;
	const char *img = info->image_id ? info->image_id : "";
	const char *imghex = strchr(img, ':') ? strchr(img, ':') + 1 : img;
	const char *id = info->container_id ? info->container_id : "";
	for (const char *p = tmpl; *p;) {
		const char *o = strstr(p, "{{");
		if (!o) {
			berth_buf_printf(&b, "%s", p);
			break;
		}
		berth_buf_append(&b, p, (size_t)(o - p));
		const char *c = strstr(o, "}}");
		if (!c)
			goto bad;
		char field[64];
		const char *f = o + 2;
		while (*f == ' ')
			f++;
		size_t fl = (size_t)(c - f);
		while (fl && f[fl - 1] == ' ')
			fl--;
		if (fl >= sizeof(field))
			goto bad;
		snprintf(field, sizeof(field), "%.*s", (int)fl, f);
		if (!strcmp(field, ".ID"))
			berth_buf_printf(&b, "%.12s", id);
		else if (!strcmp(field, ".FullID"))
			berth_buf_printf(&b, "%s", id);
		else if (!strcmp(field, ".Name"))
			berth_buf_printf(&b, "%s", name);
		else if (!strcmp(field, ".ImageID"))
			berth_buf_printf(&b, "%.12s", imghex);
		else if (!strcmp(field, ".ImageFullID"))
			berth_buf_printf(&b, "%s", img);
		else if (!strcmp(field, ".ImageName"))
			berth_buf_printf(&b, "%s", info->image_name ? info->image_name : "");
		else if (!strcmp(field, ".DaemonName"))
			berth_buf_printf(&b, "%s", info->daemon_name ? info->daemon_name : "berth");
		else
			goto bad;
		p = c + 2;
	}
	return berth_buf_steal(&b);
bad:
	berth_buf_free(&b);
	berth_err(err, BERTH_E_INVALID, "invalid log tag template: %s", tmpl);
	return NULL;
}

static bool in_csv(const char *csv, const char *k)
{
	size_t kl = strlen(k);
	for (const char *p = csv; p && *p;) {
		size_t l = strcspn(p, ",");
		if (l == kl && !strncmp(p, k, l))
			return true;
		p += l;
		if (*p)
			p++;
	}
	return false;
}

static int regex_or_null(const char *re, regex_t *out, bool *have, struct berth_error *err)
{
	*have = false;
	if (!re)
		return 0;
	if (regcomp(out, re, REG_EXTENDED | REG_NOSUB))
		return berth_err(err, BERTH_E_INVALID, "error parsing regexp: %s", re);
	*have = true;
	return 0;
}

json_t *berth_log_attrs(const struct berth_log_info *info, bool with_tag, struct berth_error *err)
{
	berth_err_clear(err);
	cleanup_json json_t *a = json_object();
	const char *labels = opt(info, "labels"), *env = opt(info, "env");
	regex_t lre, ere;
	bool have_lre, have_ere;
	if (regex_or_null(opt(info, "labels-regex"), &lre, &have_lre, err) < 0)
		return NULL;
	if (regex_or_null(opt(info, "env-regex"), &ere, &have_ere, err) < 0) {
		if (have_lre)
			regfree(&lre);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)info->labels, k, v) {
		if (!json_is_string(v))
			continue;
		if ((labels && in_csv(labels, k)) || (have_lre && !regexec(&lre, k, 0, NULL, 0)))
			json_object_set(a, k, v);
	}
	size_t i;
	json_array_foreach(info->env, i, v) {
		const char *e = json_string_value(v);
		const char *eq = e ? strchr(e, '=') : NULL;
		if (!eq)
			continue;
		char key[256];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - e), e);
		if ((env && in_csv(env, key)) || (have_ere && !regexec(&ere, key, 0, NULL, 0)))
			json_object_set_new(a, key, json_string(eq + 1));
	}
	if (have_lre)
		regfree(&lre);
	if (have_ere)
		regfree(&ere);
	const char *tag = opt(info, "tag");
	if (with_tag && tag) {
		char *t = berth_log_tag(info, tag, err);
		if (!t)
			return NULL;
		if (*t)
			json_object_set_new(a, "tag", json_string(t));
		free(t);
	}
	return json_object_size(a) ? steal_ptr(a) : NULL;
}
