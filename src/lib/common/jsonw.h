/* Writing JSON text straight into a berth_buf, byte for byte what jansson's
 * json_dumps(JSON_COMPACT) writes for the same values (its string escapes,
 * its number formats), for responses built without a json_t tree. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* A JSON string of s (valid UTF-8; NULL writes null). */
int berth_jsonw_str(struct berth_buf *b, const char *s);
/* "key": (a key known to need no escaping, e.g. a literal) */
int berth_jsonw_key(struct berth_buf *b, const char *key);
int berth_jsonw_int(struct berth_buf *b, int64_t v);
/* Any jansson value, compact (NULL writes null). */
int berth_jsonw_value(struct berth_buf *b, const json_t *v);

/* A JSON string of the len bytes at s as Go writes it (encoding/json and
 * docker's jsonlog): <, > and & as \u003c..., U+2028/U+2029 escaped, each
 * invalid UTF-8 byte as \ufffd. Flags: */
enum {
	BERTH_JSONW_GO_TAB = 1,       /* \t as "\t" (encoding/json), not "\u0009" (jsonlog: json-file lines) */
	BERTH_JSONW_GO_KEEP_HTML = 2, /* <, >, & as they are (an Encoder with SetEscapeHTML(false)) */
};
void berth_jsonw_go_str(struct berth_buf *b, const char *s, size_t len, unsigned flags);
