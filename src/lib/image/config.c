/* Image config parsing and Go-compatible JSON serialization. */
#include "image/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/jsonw.h"

json_t *berth_json_field(const json_t *obj, const char *name)
{
	if (!json_is_object(obj))
		return NULL;
	json_t *v = json_object_get(obj, name);
	if (v)
		return v;
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)obj, k, val) {
		if (!strcasecmp(k, name))
			return val;
	}
	return NULL;
}

json_t *berth_image_config_parse(const char *data, size_t len, struct berth_error *err)
{
	json_error_t je;
	json_t *cfg = json_loadb(data, len, JSON_DISABLE_EOF_CHECK & 0, &je);
	if (!cfg) {
		berth_err(err, BERTH_E_INVALID, "invalid image config: %s", je.text);
		return NULL;
	}
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		berth_err(err, BERTH_E_INVALID, "invalid image config: not a JSON object");
		return NULL;
	}
	json_t *rootfs = berth_json_field(cfg, "rootfs");
	if (!json_is_object(rootfs)) {
		json_decref(cfg);
		berth_err(err, BERTH_E_INVALID, "invalid image JSON, no RootFS key");
		return NULL;
	}
	json_t *ids = berth_json_field(rootfs, "diff_ids");
	if (ids && !json_is_null(ids)) {
		if (!json_is_array(ids)) {
			json_decref(cfg);
			berth_err(err, BERTH_E_INVALID, "invalid image config: rootfs.diff_ids is not an array");
			return NULL;
		}
		size_t i;
		json_t *d;
		json_array_foreach(ids, i, d) {
			if (!berth_digest_valid(json_string_value(d))) {
				/* d belongs to cfg: build the message before freeing it */
				berth_err(err, BERTH_E_INVALID, "invalid image config: bad diff ID %s",
					  json_is_string(d) ? json_string_value(d) : "(not a string)");
				json_decref(cfg);
				return NULL;
			}
		}
	}
	return cfg;
}

size_t berth_image_config_layers(const json_t *cfg, const char **diff_ids, size_t max)
{
	json_t *ids = berth_json_field(berth_json_field(cfg, "rootfs"), "diff_ids");
	size_t n = json_is_array(ids) ? json_array_size(ids) : 0;
	for (size_t i = 0; i < n && i < max; i++)
		diff_ids[i] = json_string_value(json_array_get(ids, i));
	return n;
}

void berth_image_config_chain(const json_t *cfg, size_t n, char out[BERTH_DIGEST_LEN + 1])
{
	json_t *ids = berth_json_field(berth_json_field(cfg, "rootfs"), "diff_ids");
	out[0] = '\0';
	for (size_t i = 0; i < n && i < json_array_size(ids); i++) {
		const char *d = json_string_value(json_array_get(ids, i));
		if (i == 0) {
			snprintf(out, BERTH_DIGEST_LEN + 1, "%s", d);
		} else {
			char buf[2 * BERTH_DIGEST_LEN + 2];
			snprintf(buf, sizeof(buf), "%s %s", out, d);
			berth_sha256_digest(buf, strlen(buf), out);
		}
	}
}

int64_t berth_image_config_created(const json_t *cfg)
{
	const char *s = json_string_value(berth_json_field(cfg, "created"));
	int64_t ns;
	if (!s || berth_time_parse(s, &ns) < 0)
		return BERTH_IMAGE_TIME_ZERO;
	return ns;
}

void berth_image_config_id(const char *data, size_t len, char out[BERTH_DIGEST_LEN + 1])
{
	berth_sha256_digest(data, len, out);
}

void berth_image_time_format(int64_t ns, char *out, size_t outlen)
{
	if (ns == BERTH_IMAGE_TIME_ZERO) {
		snprintf(out, outlen, "0001-01-01T00:00:00Z");
		return;
	}
	char buf[64];
	berth_time_rfc3339(ns, buf, sizeof(buf));
	/* trim trailing zeros of the fraction (Go's RFC3339Nano) */
	char *dot = strchr(buf, '.');
	if (dot) {
		char *z = strchr(dot, 'Z');
		char *e = z;
		while (e > dot + 1 && e[-1] == '0')
			e--;
		if (e == dot + 1)
			e = dot;
		memmove(e, z, strlen(z) + 1);
	}
	snprintf(out, outlen, "%s", buf);
}

void berth_image_config_created_str(const json_t *cfg, char *out, size_t outlen)
{
	const char *s = json_string_value(berth_json_field(cfg, "created"));
	int64_t ns;
	if (!s || berth_time_parse(s, &ns) < 0) {
		berth_image_time_format(BERTH_IMAGE_TIME_ZERO, out, outlen);
		return;
	}
	size_t n = strlen(s);
	if (n && (s[n - 1] == 'Z' || s[n - 1] == 'z'))
		berth_image_time_format(ns, out, outlen);
	else
		snprintf(out, outlen, "%s", s); /* keeps the zone offset as Go does */
}

/* ---- container.Config canonical form ---- */

static json_t *str_or_empty(const json_t *v) { return json_string(json_is_string(v) ? json_string_value(v) : ""); }

static json_t *strv_or_null(const json_t *v, bool accept_string)
{
	if (accept_string && json_is_string(v)) {
		json_t *a = json_array();
		json_array_append_new(a, json_string(json_string_value(v)));
		return a;
	}
	if (!json_is_array(v))
		return json_null();
	json_t *a = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
		json_array_append_new(a, str_or_empty(e));
	return a;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* An object copy with sorted keys; values pass through conv (NULL: {} for set
 * maps, strings for string maps). */
static json_t *sorted_map(const json_t *v, bool string_values)
{
	if (!json_is_object(v))
		return json_null();
	size_t n = json_object_size(v), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(char *));
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)v, k, val)
		keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_str);
	json_t *o = json_object();
	for (i = 0; i < n; i++) {
		json_t *x = json_object_get(v, keys[i]);
		json_object_set_new(o, keys[i], string_values ? str_or_empty(x) : json_object());
	}
	free(keys);
	return o;
}

static bool truthy(const json_t *v) { return json_is_true(v); }

static json_t *health_canon(const json_t *h)
{
	json_t *o = json_object();
	json_t *test = berth_json_field(h, "Test");
	if (json_is_array(test) && json_array_size(test))
		json_object_set_new(o, "Test", strv_or_null(test, false));
	static const char *const ints[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *v = berth_json_field(h, ints[i]);
		if (json_is_integer(v) && json_integer_value(v))
			json_object_set_new(o, ints[i], json_integer(json_integer_value(v)));
	}
	return o;
}

json_t *berth_container_config_canon(const json_t *src)
{
	json_t *o = json_object();
#define F(name) berth_json_field(src, name)
	json_object_set_new(o, "Hostname", str_or_empty(F("Hostname")));
	json_object_set_new(o, "Domainname", str_or_empty(F("Domainname")));
	json_object_set_new(o, "User", str_or_empty(F("User")));
	json_object_set_new(o, "AttachStdin", json_boolean(truthy(F("AttachStdin"))));
	json_object_set_new(o, "AttachStdout", json_boolean(truthy(F("AttachStdout"))));
	json_object_set_new(o, "AttachStderr", json_boolean(truthy(F("AttachStderr"))));
	json_t *ports = F("ExposedPorts");
	if (json_is_object(ports) && json_object_size(ports))
		json_object_set_new(o, "ExposedPorts", sorted_map(ports, false));
	json_object_set_new(o, "Tty", json_boolean(truthy(F("Tty"))));
	json_object_set_new(o, "OpenStdin", json_boolean(truthy(F("OpenStdin"))));
	json_object_set_new(o, "StdinOnce", json_boolean(truthy(F("StdinOnce"))));
	json_object_set_new(o, "Env", strv_or_null(F("Env"), false));
	json_object_set_new(o, "Cmd", strv_or_null(F("Cmd"), true));
	json_t *hc = F("Healthcheck");
	if (json_is_object(hc))
		json_object_set_new(o, "Healthcheck", health_canon(hc));
	if (truthy(F("ArgsEscaped")))
		json_object_set_new(o, "ArgsEscaped", json_true());
	json_object_set_new(o, "Image", str_or_empty(F("Image")));
	json_object_set_new(o, "Volumes", sorted_map(F("Volumes"), false));
	json_object_set_new(o, "WorkingDir", str_or_empty(F("WorkingDir")));
	json_object_set_new(o, "Entrypoint", strv_or_null(F("Entrypoint"), true));
	if (truthy(F("NetworkDisabled")))
		json_object_set_new(o, "NetworkDisabled", json_true());
	const char *mac = json_string_value(F("MacAddress"));
	if (mac && *mac)
		json_object_set_new(o, "MacAddress", json_string(mac));
	json_object_set_new(o, "OnBuild", strv_or_null(F("OnBuild"), false));
	json_object_set_new(o, "Labels", sorted_map(F("Labels"), true));
	const char *sig = json_string_value(F("StopSignal"));
	if (sig && *sig)
		json_object_set_new(o, "StopSignal", json_string(sig));
	json_t *st = F("StopTimeout");
	if (json_is_integer(st))
		json_object_set_new(o, "StopTimeout", json_integer(json_integer_value(st)));
	json_t *shell = F("Shell");
	if ((json_is_array(shell) && json_array_size(shell)) || json_is_string(shell))
		json_object_set_new(o, "Shell", strv_or_null(shell, true));
#undef F
	return o;
}

/* ---- Go encoding/json compatible output ---- */

static void go_real(struct berth_buf *b, double d)
{
	if (!(d - d == 0)) { /* NaN or Inf */
		berth_buf_printf(b, "0");
		return;
	}
	if (d > -1e18 && d < 1e18 && d == (double)(long long)d) {
		berth_buf_printf(b, "%.0f", d);
		return;
	}
	char tmp[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	berth_buf_printf(b, "%s", tmp);
}

static void go_dump(struct berth_buf *b, const json_t *v, bool sort)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(char *));
		const char *k;
		json_t *val;
		json_object_foreach((json_t *)v, k, val)
			keys[i++] = k;
		if (sort)
			qsort(keys, n, sizeof(char *), cmp_str);
		berth_buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				berth_buf_putc(b, ',');
			berth_jsonw_go_str(b, keys[i], strlen(keys[i]), BERTH_JSONW_GO_TAB);
			berth_buf_putc(b, ':');
			go_dump(b, json_object_get(v, keys[i]), sort);
		}
		berth_buf_putc(b, '}');
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		berth_buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				berth_buf_putc(b, ',');
			go_dump(b, json_array_get(v, i), sort);
		}
		berth_buf_putc(b, ']');
		break;
	}
	case JSON_STRING: berth_jsonw_go_str(b, json_string_value(v), json_string_length(v), BERTH_JSONW_GO_TAB); break;
	case JSON_INTEGER: berth_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: go_real(b, json_real_value(v)); break;
	case JSON_TRUE: berth_buf_append(b, "true", 4); break;
	case JSON_FALSE: berth_buf_append(b, "false", 5); break;
	case JSON_NULL: berth_buf_append(b, "null", 4); break;
	}
}

static char *dump(const json_t *v, size_t *len, bool sort)
{
	struct berth_buf b = {0};
	go_dump(&b, v, sort);
	if (!b.data)
		return NULL;
	if (len)
		*len = b.len;
	return berth_buf_steal(&b);
}

char *berth_json_dump_go(const json_t *v, size_t *len) { return dump(v, len, false); }
char *berth_json_dump_go_sorted(const json_t *v, size_t *len) { return dump(v, len, true); }

char *berth_image_config_build_import(const struct berth_import_config *ic, json_t *container_config, size_t *len)
{
	char created[64];
	berth_image_time_format(ic->created_ns, created, sizeof(created));
	json_t *o = json_object();
	json_object_set_new(o, "architecture", json_string(ic->arch));
	if (ic->comment && *ic->comment)
		json_object_set_new(o, "comment", json_string(ic->comment));
	json_object_set_new(o, "config", container_config);
	json_object_set_new(o, "container_config", berth_container_config_canon(NULL));
	json_object_set_new(o, "created", json_string(created));
	if (ic->docker_version && *ic->docker_version)
		json_object_set_new(o, "docker_version", json_string(ic->docker_version));
	json_t *h = json_object();
	json_object_set_new(h, "created", json_string(created));
	if (ic->comment && *ic->comment)
		json_object_set_new(h, "comment", json_string(ic->comment));
	json_t *hist = json_array();
	json_array_append_new(hist, h);
	json_object_set_new(o, "history", hist);
	json_object_set_new(o, "os", json_string(ic->os));
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_t *ids = json_array();
	json_array_append_new(ids, json_string(ic->diff_id));
	json_object_set_new(rootfs, "diff_ids", ids);
	json_object_set_new(o, "rootfs", rootfs);
	char *out = berth_json_dump_go(o, len);
	json_decref(o);
	return out;
}

const char *berth_image_host_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	static const struct {
		const char *m, *arch;
	} map[] = {{"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},
		   {"armv6l", "arm"},      {"i686", "386"},      {"i386", "386"},
		   {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(u.machine, map[i].m))
			return map[i].arch;
	return "amd64";
}

const char *berth_image_host_variant(void)
{
	const char *a = berth_image_host_arch();
	if (!strcmp(a, "arm64"))
		return "v8";
	if (!strcmp(a, "arm")) {
		struct utsname u;
		if (uname(&u) == 0 && !strcmp(u.machine, "armv6l"))
			return "v6";
		return "v7";
	}
	return "";
}

int berth_go_duration_parse(const char *s, int64_t *ns)
{
	if (!s || !*s)
		return -1;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -1;
	long double total = 0;
	while (*s) {
		const char *st = s;
		long double v = 0;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (*s++ - '0');
		bool digits = s > st;
		if (*s == '.') {
			s++;
			long double scale = 0.1L;
			while (*s >= '0' && *s <= '9') {
				v += (*s++ - '0') * scale;
				scale /= 10;
				digits = true;
			}
		}
		if (!digits)
			return -1;
		static const struct {
			const char *u;
			long double mult;
		} units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
			     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
		size_t best = 0, bi = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);
			if (!strncmp(s, units[i].u, l) && l > best) {
				best = l;
				bi = i;
			}
		}
		if (!best)
			return -1;
		total += v * units[bi].mult;
		s += best;
	}
	if (total > 9.2e18L)
		return -1;
	*ns = (int64_t)(neg ? -total : total);
	return 0;
}
