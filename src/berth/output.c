#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "format/table.h"
#include "format/template.h"
#include "format/units.h"

int output_template(const char *format, json_t *data)
{
	struct berth_error err = {0};
	json_t *items = json_array();
	json_array_append(items, data);
	int rc = berth_format_inspect(format, items, stdout, &err);
	json_decref(items);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 64;
	}
	return 0;
}

void output_bytes_size(int64_t n, char *out, size_t len) { berth_bytes_size((double)n, out, len); }

char *output_time_arg(const char *v)
{
	char buf[64];
	struct berth_error err = {0};
	if (berth_get_timestamp(v, berth_now_ns(), buf, sizeof(buf), &err) < 0)
		return strdup(v);
	return strdup(buf);
}

char *output_filters_query(char **filters)
{
	cleanup_json json_t *j = json_object();
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *f = filters[i];
		const char *eq = strchr(f, '=');
		char key[256];
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - f) : (int)strlen(f), f);
		json_t *vals = json_object_get(j, key);
		if (!vals) {
			vals = json_object();
			json_object_set_new(j, key, vals);
		}
		json_object_set_new(vals, eq ? eq + 1 : "", json_true());
	}
	cleanup_free char *s = json_dumps(j, JSON_COMPACT);
	return berth_urlencode(s);
}

void output_short_id(const char *id, int no_trunc, char *out, size_t len)
{
	if (!id)
		id = "";
	if (no_trunc) {
		snprintf(out, len, "%s", id);
		return;
	}
	const char *h = strchr(id, ':');
	h = h ? h + 1 : id;
	snprintf(out, len, "%.12s", h);
}

void output_created_since(int64_t unix_secs, char *out, size_t len)
{
	char d[64];
	berth_human_duration(berth_now_ns() - unix_secs * 1000000000LL, d, sizeof(d));
	snprintf(out, len, "%s ago", d);
}

void output_time_string(int64_t unix_secs, char *out, size_t len)
{
	time_t t = (time_t)unix_secs;
	struct tm tm;
	localtime_r(&t, &tm);
	char base[64], zone[16], name[16];
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	strftime(name, sizeof(name), "%Z", &tm);
	snprintf(out, len, "%s %s %s", base, zone, name);
}

int output_json_messages(const char *data, size_t len, int quiet)
{
	int rc = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *m = json_loadb(p, l, 0, NULL);
		if (m) {
			const char *e = json_string_value(json_object_get(m, "error"));
			const char *s = json_string_value(json_object_get(m, "stream"));
			const char *st = json_string_value(json_object_get(m, "status"));
			if (e) {
				fprintf(stderr, "%s\n", e);
				rc = 1;
			} else if (s && !quiet) {
				fputs(s, stdout);
			} else if (st && !quiet) {
				const char *id = json_string_value(json_object_get(m, "id"));
				if (id)
					printf("%s: %s\n", id, st);
				else
					printf("%s%s", st, berth_str_has_suffix(st, "\n") ? "" : "\n");
			}
			json_decref(m);
		}
		p += l + 1;
	}
	return rc;
}

int output_list(const char *format, const char *default_table, const struct berth_header_map *headers, json_t *rows,
		int err_rc)
{
	struct berth_error err = {0};
	if (berth_format_list(format, default_table, headers, rows, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return err_rc;
	}
	return 0;
}
