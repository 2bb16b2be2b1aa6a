/* common/jsonw: the bytes equal json_dumps(JSON_COMPACT) of the same values. */
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "tap.h"

static void same(struct tap *t, json_t *v, const char *what)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	struct berth_buf b = {0};
	int r = berth_jsonw_value(&b, v);
	TAP_OK(t, r == 0, "%s: written", what);
	TAP_STREQ(t, berth_buf_str(&b), want, "%s: as json_dumps", what);
	berth_buf_free(&b);
	free(want);
	json_decref(v);
}

int main(void)
{
	struct tap t = {0};
	char ctl[40];
	for (int i = 1; i < 32; i++)
		ctl[i - 1] = (char)i;
	memcpy(ctl + 31, "\"\\/\x7f", 5);
	same(&t, json_string(ctl), "control characters, quote, backslash, slash, DEL");
	same(&t, json_string("h\xc3\xa9llo \xe2\x80\xa8 \xf0\x9f\x90\xb3 <&>"), "UTF-8, U+2028, emoji, <&>");
	same(&t, json_string(""), "empty string");
	same(&t, json_pack("{s:I, s:I, s:i}", "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN, "zero", 0),
	     "integers");
	same(&t, json_pack("[f, f, f, f]", 0.5, 1.0, -3e100, 1.0 / 3), "reals");
	same(&t, json_pack("{s:b, s:b, s:n, s:{}, s:[], s:[{}, [], n]}", "t", 1, "f", 0, "n", "eo", "ea", "nested"),
	     "literals and empty containers");
	json_t *o = json_object();
	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a\n\"k", json_string("v"));
	json_object_set_new(o, "m", json_pack("{s:{s:[s, s]}}", "x", "y", "p", "q"));
	same(&t, o, "object keys in insertion order, escaped keys");
	struct berth_buf b = {0};
	berth_jsonw_str(&b, NULL);
	berth_buf_putc(&b, ' ');
	berth_jsonw_value(&b, NULL);
	berth_buf_putc(&b, ' ');
	berth_jsonw_key(&b, "Id");
	berth_jsonw_int(&b, -42);
	TAP_STREQ(&t, berth_buf_str(&b), "null null \"Id\":-42", "NULL string/value, key, int");
	berth_buf_free(&b);

	/* Go's escaping (encoding/json with tab, docker's jsonlog without) */
	static const char go_in[] =
		"a\tb<&>\x01\"\\\n\r \xe2\x80\xa8\xe2\x80\xa9 \xff \xc3\xa9 \xed\xa0\x80 \xf0\x9f\x90\xb3";
	berth_jsonw_go_str(&b, go_in, sizeof(go_in) - 1, BERTH_JSONW_GO_TAB);
	TAP_STREQ(&t, berth_buf_str(&b),
		  "\"a\\tb\\u003c\\u0026\\u003e\\u0001\\\"\\\\\\n\\r \\u2028\\u2029 \\ufffd \xc3\xa9 "
		  "\\ufffd\\ufffd\\ufffd \xf0\x9f\x90\xb3\"",
		  "Go string: <&> and control escapes, U+2028/9, each invalid byte (and a surrogate's) as U+FFFD");
	berth_buf_free(&b);
	berth_jsonw_go_str(&b, "a\tb", 3, 0);
	berth_buf_putc(&b, ' ');
	berth_jsonw_go_str(&b, "x\0y", 3, 0);
	TAP_STREQ(&t, berth_buf_str(&b), "\"a\\u0009b\" \"x\\u0000y\"", "jsonlog: tab as \\u0009, NUL within len");
	berth_buf_free(&b);
	berth_jsonw_go_str(&b, "<a&b>", 5, BERTH_JSONW_GO_TAB | BERTH_JSONW_GO_KEEP_HTML);
	TAP_STREQ(&t, berth_buf_str(&b), "\"<a&b>\"", "KEEP_HTML leaves <, & and > alone");
	berth_buf_free(&b);
	return TAP_DONE(&t);
}
