/* Docker's list and event filters. See filters.h. */
#include "common/filters.h"

#include <stdio.h>
#include <string.h>

int berth_filters_check(json_t *filters, const char *const *allowed, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) {
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(allowed[i], k);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "invalid filter '%s'", k);
	}
	return 0;
}

bool berth_labels_match(json_t *values, json_t *labels)
{
	size_t i;
	json_t *e;
	json_array_foreach(values, i, e) {
		const char *f = json_string_value(e);
		if (!f)
			continue;
		const char *eq = strchr(f, '=');
		if (!eq) {
			if (!json_object_get(labels, f))
				return false;
			continue;
		}
		char key[512];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - f), f);
		const char *have = json_string_value(json_object_get(labels, key));
		if (!have || strcmp(have, eq + 1))
			return false;
	}
	return true;
}

bool berth_filter_has(json_t *values, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(values, i, e)
		if (s && json_string_value(e) && !strcmp(json_string_value(e), s))
			return true;
	return false;
}

static const char *const event_filter_keys[] = {"container", "event",   "image",  "label",  "type",
						"volume",    "network", "daemon", "plugin", "node",
						"service",   "secret",  "config", "scope",  NULL};

int berth_event_filters_check(json_t *filters, struct berth_error *err)
{
	return berth_filters_check(filters, event_filter_keys, err);
}

bool berth_event_matches(json_t *filters, json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "Type"));
	const char *action = json_string_value(json_object_get(msg, "Action"));
	json_t *actor = json_object_get(msg, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	json_t *attrs = json_object_get(actor, "Attributes");
	json_t *v;
	if ((v = json_object_get(filters, "type")) && json_array_size(v) && !berth_filter_has(v, type))
		return false;
	if ((v = json_object_get(filters, "event")) && json_array_size(v)) {
		char base[128];
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(action ? action : "", ":"), action ? action : "");
		if (!berth_filter_has(v, action) && !berth_filter_has(v, base))
			return false;
	}
	if ((v = json_object_get(filters, "scope")) && json_array_size(v) && !berth_filter_has(v, "local"))
		return false;
	if ((v = json_object_get(filters, "label")) && json_array_size(v) && !berth_labels_match(v, attrs))
		return false;
	const char *name = json_string_value(json_object_get(attrs, "name"));
	static const char *const keyed[] = {"container", "volume", "network", "daemon", "plugin", NULL};
	for (int i = 0; keyed[i]; i++) {
		if (!(v = json_object_get(filters, keyed[i])) || !json_array_size(v))
			continue;
		if (strcmp(type ? type : "", keyed[i]))
			return false;
		bool hit = berth_filter_has(v, id) || berth_filter_has(v, name);
		size_t k;
		json_t *e;
		json_array_foreach(v, k, e) {
			const char *s = json_string_value(e);
			if (s && id && strlen(s) >= 1 && !strncmp(id, s, strlen(s)))
				hit = true;
		}
		if (!hit)
			return false;
	}
	if ((v = json_object_get(filters, "image")) && json_array_size(v)) {
		const char *img =
			!strcmp(type ? type : "", "image") ? id : json_string_value(json_object_get(attrs, "image"));
		const char *iname = json_string_value(json_object_get(attrs, "name"));
		if (!berth_filter_has(v, img) && !(type && !strcmp(type, "image") && berth_filter_has(v, iname)))
			return false;
	}
	return true;
}
