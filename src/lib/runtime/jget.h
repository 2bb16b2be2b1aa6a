/* Small typed getters over jansson objects, tolerant of missing/null
 * members (docker's API sends null for unset fields). Internal to the
 * runtime and logger modules. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

static inline json_t *jget(const json_t *o, const char *k) { return json_is_object(o) ? json_object_get(o, k) : NULL; }

static inline const char *jstr(const json_t *o, const char *k)
{
	json_t *v = jget(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Non-empty string or NULL. */
static inline const char *jstr_ne(const json_t *o, const char *k)
{
	const char *s = jstr(o, k);
	return s && *s ? s : NULL;
}

static inline int64_t jint(const json_t *o, const char *k, int64_t def)
{
	json_t *v = jget(o, k);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

static inline bool jbool(const json_t *o, const char *k, bool def)
{
	json_t *v = jget(o, k);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

/* Array member or NULL (null and missing both give NULL). */
static inline json_t *jarr(const json_t *o, const char *k)
{
	json_t *v = jget(o, k);
	return json_is_array(v) ? v : NULL;
}

static inline json_t *jobj(const json_t *o, const char *k)
{
	json_t *v = jget(o, k);
	return json_is_object(v) ? v : NULL;
}

static inline size_t jarr_len(const json_t *a) { return json_is_array(a) ? json_array_size(a) : 0; }

static inline const char *jarr_str(const json_t *a, size_t i)
{
	json_t *v = json_array_get(a, i);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
