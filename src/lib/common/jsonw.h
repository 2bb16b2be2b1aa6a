/* Writing JSON text straight into a berth_buf, byte for byte what jansson's
 * json_dumps(JSON_COMPACT) writes for the same values (its string escapes,
 * its number formats), for responses built without a json_t tree. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "common/util.h"

/* A JSON string of s (valid UTF-8; NULL writes null). */
int berth_jsonw_str(struct berth_buf *b, const char *s);
/* "key": (a key known to need no escaping, e.g. a literal) */
int berth_jsonw_key(struct berth_buf *b, const char *key);
int berth_jsonw_int(struct berth_buf *b, int64_t v);
/* Any jansson value, compact (NULL writes null). */
int berth_jsonw_value(struct berth_buf *b, const json_t *v);
