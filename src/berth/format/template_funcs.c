/* Builtin template functions: Go's text/template builtins and docker's
 * template functions (docker/cli templates package). */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "gofmt.h"
#include "template_int.h"

__attribute__((format(printf, 2, 3))) static int ferr(struct tmpl_errbuf *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static json_t *str_result(struct berth_buf *b)
{
	json_t *s = json_stringn_nocheck(b->data ? b->data : "", b->len);
	berth_buf_free(b);
	return s;
}

bool tmpl_truth(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL: return false;
	case JSON_TRUE: return true;
	case JSON_FALSE: return false;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	}
	return false;
}

/* ---- comparison ---- */

enum bkind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING, K_OTHER };

static enum bkind basic_kind(const json_t *v)
{
	if (!v || json_is_null(v))
		return K_INVALID;
	switch (json_typeof(v)) {
	case JSON_TRUE:
	case JSON_FALSE: return K_BOOL;
	case JSON_INTEGER: return K_INT;
	case JSON_REAL: return K_FLOAT;
	case JSON_STRING: return K_STRING;
	default: return K_OTHER;
	}
}

static double num(const json_t *v) { return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v); }

static bool numeric(enum bkind k) { return k == K_INT || k == K_FLOAT; }

static int f_eq(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	if (n < 2)
		return ferr(e, "missing argument for comparison");
	enum bkind k1 = basic_kind(a[0]);
	for (size_t i = 1; i < n; i++) {
		enum bkind k2 = basic_kind(a[i]);
		bool truth = false;
		if (k1 != k2) {
			/* JSON numbers: integers and reals compare by value (Go would
			 * refuse int vs float64; docker's data is typed, ours is not). */
			if (numeric(k1) && numeric(k2))
				truth = num(a[0]) == num(a[i]);
			else if (k1 != K_INVALID && k2 != K_INVALID)
				return ferr(e, "incompatible types for comparison");
		} else {
			switch (k1) {
			case K_INVALID: truth = true; break;
			case K_BOOL: truth = json_is_true(a[0]) == json_is_true(a[i]); break;
			case K_INT: truth = json_integer_value(a[0]) == json_integer_value(a[i]); break;
			case K_FLOAT: truth = json_real_value(a[0]) == json_real_value(a[i]); break;
			case K_STRING:
				truth = json_string_length(a[0]) == json_string_length(a[i]) &&
					memcmp(json_string_value(a[0]), json_string_value(a[i]),
					       json_string_length(a[0])) == 0;
				break;
			case K_OTHER: return ferr(e, "non-comparable type %s", go_type_name(a[0]));
			}
		}
		if (truth) {
			*out = json_true();
			return 0;
		}
	}
	*out = json_false();
	return 0;
}

static int f_ne(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	json_t *r = NULL;
	if (f_eq(a, n, &r, e) < 0)
		return -1;
	*out = json_boolean(!json_is_true(r));
	json_decref(r);
	return 0;
}

/* <0, 0, >0 into *cmp; -1 on error. */
static int compare(json_t *const *a, int *cmp, struct tmpl_errbuf *e)
{
	enum bkind k1 = basic_kind(a[0]), k2 = basic_kind(a[1]);
	if (k1 == K_INVALID || k1 == K_OTHER || k2 == K_INVALID || k2 == K_OTHER)
		return ferr(e, "invalid type for comparison");
	if (k1 != k2 && !(numeric(k1) && numeric(k2)))
		return ferr(e, "incompatible types for comparison");
	switch (k1) {
	case K_BOOL: return ferr(e, "invalid type for comparison");
	case K_INT:
		if (k2 == K_INT) {
			long long x = json_integer_value(a[0]), y = json_integer_value(a[1]);
			*cmp = x < y ? -1 : x > y;
			return 0;
		}
		/* fallthrough */
	case K_FLOAT: {
		double x = num(a[0]), y = num(a[1]);
		*cmp = x < y ? -1 : x > y;
		return 0;
	}
	case K_STRING: {
		size_t l1 = json_string_length(a[0]), l2 = json_string_length(a[1]);
		int c = memcmp(json_string_value(a[0]), json_string_value(a[1]), l1 < l2 ? l1 : l2);
		*cmp = c ? c : (l1 < l2 ? -1 : l1 > l2);
		return 0;
	}
	default: return ferr(e, "invalid type for comparison");
	}
}

static int f_lt(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	int c;
	if (compare(a, &c, e) < 0)
		return -1;
	*out = json_boolean(c < 0);
	return 0;
}

static int f_le(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	int c;
	if (compare(a, &c, e) < 0)
		return -1;
	*out = json_boolean(c <= 0);
	return 0;
}

static int f_gt(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	int c;
	if (compare(a, &c, e) < 0)
		return -1;
	*out = json_boolean(c > 0);
	return 0;
}

static int f_ge(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	int c;
	if (compare(a, &c, e) < 0)
		return -1;
	*out = json_boolean(c >= 0);
	return 0;
}

static int f_not(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	*out = json_boolean(!tmpl_truth(a[0]));
	return 0;
}

static int f_call(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)out;
	if (!a[0] || json_is_null(a[0]))
		return ferr(e, "call of nil");
	return ferr(e, "non-function of type %s", go_type_name(a[0]));
}

/* ---- length, indexing ---- */

static int f_len(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	const json_t *v = a[0];
	if (!v || json_is_null(v))
		return ferr(e, "len of nil pointer");
	switch (json_typeof(v)) {
	case JSON_STRING: *out = json_integer((json_int_t)json_string_length(v)); return 0;
	case JSON_ARRAY: *out = json_integer((json_int_t)json_array_size(v)); return 0;
	case JSON_OBJECT: *out = json_integer((json_int_t)json_object_size(v)); return 0;
	default: return ferr(e, "len of type %s", go_type_name(v));
	}
}

static int index_arg(const json_t *idx, size_t cap, long long *x, struct tmpl_errbuf *e)
{
	if (!idx || json_is_null(idx))
		return ferr(e, "cannot index slice/array with nil");
	if (!json_is_integer(idx))
		return ferr(e, "cannot index slice/array with type %s", go_type_name(idx));
	*x = json_integer_value(idx);
	if (*x < 0 || (unsigned long long)*x > cap)
		return ferr(e, "index out of range: %lld", *x);
	return 0;
}

static int f_index(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	json_t *item = a[0];
	if (!item || json_is_null(item))
		return ferr(e, "index of untyped nil");
	json_incref(item);
	for (size_t i = 1; i < n; i++) {
		const json_t *idx = a[i];
		json_t *next = NULL;
		if (json_is_null(item)) {
			json_decref(item);
			return ferr(e, "index of nil pointer");
		}
		switch (json_typeof(item)) {
		case JSON_ARRAY:
		case JSON_STRING: {
			size_t len = json_is_array(item) ? json_array_size(item) : json_string_length(item);
			long long x = -1;
			if (index_arg(idx, len, &x, e) < 0) {
				json_decref(item);
				return -1;
			}
			if ((size_t)x == len) {
				json_decref(item);
				return ferr(e, "index out of range: %lld", x);
			}
			if (json_is_array(item))
				next = json_incref(json_array_get(item, (size_t)x));
			else
				next = json_integer((unsigned char)json_string_value(item)[x]);
			break;
		}
		case JSON_OBJECT:
			if (!idx || json_is_null(idx)) {
				json_decref(item);
				return ferr(e, "value is nil; should be of type string");
			}
			if (!json_is_string(idx)) {
				json_decref(item);
				return ferr(e, "value has type %s; should be string", go_type_name(idx));
			}
			next = json_object_get(item, json_string_value(idx));
			/* Missing key: the zero value. docker's maps of interest
			 * (labels, options) are map[string]string, so "". */
			next = next ? json_incref(next) : json_string("");
			break;
		default: {
			const char *tn = go_type_name(item);
			json_decref(item);
			return ferr(e, "can't index item of type %s", tn);
		}
		}
		json_decref(item);
		item = next;
	}
	*out = item;
	return 0;
}

static int f_slice(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	json_t *item = a[0];
	if (!item || json_is_null(item))
		return ferr(e, "slice of untyped nil");
	if (n - 1 > 3)
		return ferr(e, "too many slice indexes: %zu", n - 1);
	size_t len;
	if (json_is_string(item)) {
		if (n - 1 == 3)
			return ferr(e, "cannot 3-index slice a string");
		len = json_string_length(item);
	} else if (json_is_array(item)) {
		len = json_array_size(item);
	} else {
		return ferr(e, "can't slice item of type %s", go_type_name(item));
	}
	long long idx[3] = {0, (long long)len, (long long)len};
	for (size_t i = 1; i < n; i++)
		if (index_arg(a[i], len, &idx[i - 1], e) < 0)
			return -1;
	if (idx[0] > idx[1])
		return ferr(e, "invalid slice index: %lld > %lld", idx[0], idx[1]);
	if (n - 1 == 3 && idx[1] > idx[2])
		return ferr(e, "invalid slice index: %lld > %lld", idx[1], idx[2]);
	if (json_is_string(item)) {
		*out = json_stringn_nocheck(json_string_value(item) + idx[0], (size_t)(idx[1] - idx[0]));
		return 0;
	}
	json_t *r = json_array();
	for (long long i = idx[0]; i < idx[1]; i++)
		json_array_append(r, json_array_get(item, (size_t)i));
	*out = r;
	return 0;
}

/* ---- printing ---- */

static int f_print(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	struct berth_buf b = {0};
	go_sprint(&b, a, n);
	*out = str_result(&b);
	return 0;
}

static int f_println(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	struct berth_buf b = {0};
	go_sprintln(&b, a, n);
	*out = str_result(&b);
	return 0;
}

static int f_printf(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	struct berth_buf b = {0};
	go_sprintf(&b, json_string_value(a[0]), json_string_length(a[0]), a + 1, n - 1);
	*out = str_result(&b);
	return 0;
}

/* text/template evalArgs: one string argument as is, else fmt.Sprint with
 * missing values shown as "<no value>". */
static void eval_args(struct berth_buf *b, json_t *const *a, size_t n)
{
	if (n == 1 && a[0] && json_is_string(a[0])) {
		berth_buf_append(b, json_string_value(a[0]), json_string_length(a[0]));
		return;
	}
	json_t **tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp)
		return;
	for (size_t i = 0; i < n; i++)
		tmp[i] = a[i] ? json_incref(a[i]) : json_string("<no value>");
	go_sprint(b, tmp, n);
	for (size_t i = 0; i < n; i++)
		json_decref(tmp[i]);
	free(tmp);
}

static int f_html(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	struct berth_buf s = {0}, b = {0};
	eval_args(&s, a, n);
	berth_buf_append(&b, "", 0);
	for (size_t i = 0; i < s.len; i++) {
		switch (s.data[i]) {
		case '"': berth_buf_append(&b, "&#34;", 5); break;
		case '\'': berth_buf_append(&b, "&#39;", 5); break;
		case '&': berth_buf_append(&b, "&amp;", 5); break;
		case '<': berth_buf_append(&b, "&lt;", 4); break;
		case '>': berth_buf_append(&b, "&gt;", 4); break;
		case '\0': berth_buf_append(&b, "\xef\xbf\xbd", 3); break;
		default: berth_buf_putc(&b, s.data[i]);
		}
	}
	berth_buf_free(&s);
	*out = str_result(&b);
	return 0;
}

static int f_js(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	static const char hex[] = "0123456789ABCDEF";
	struct berth_buf s = {0}, b = {0};
	eval_args(&s, a, n);
	berth_buf_append(&b, "", 0);
	for (size_t i = 0; i < s.len;) {
		unsigned char c = (unsigned char)s.data[i];
		if (c < 0x80) {
			switch (c) {
			case '\\': berth_buf_append(&b, "\\\\", 2); break;
			case '\'': berth_buf_append(&b, "\\'", 2); break;
			case '"': berth_buf_append(&b, "\\\"", 2); break;
			case '<': berth_buf_append(&b, "\\u003C", 6); break;
			case '>': berth_buf_append(&b, "\\u003E", 6); break;
			case '&': berth_buf_append(&b, "\\u0026", 6); break;
			case '=': berth_buf_append(&b, "\\u003D", 6); break;
			default:
				if (c < ' ')
					berth_buf_printf(&b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
				else
					berth_buf_putc(&b, (char)c);
			}
			i++;
			continue;
		}
		unsigned r;
		size_t w = go_decode_rune(s.data + i, s.len - i, &r);
		if (r >= 0xa0 && r != 0xfffd)
			berth_buf_append(&b, s.data + i, w);
		else
			berth_buf_printf(&b, "\\u%04X", r);
		i += w;
	}
	berth_buf_free(&s);
	*out = str_result(&b);
	return 0;
}

static int f_urlquery(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)e;
	static const char hex[] = "0123456789ABCDEF";
	struct berth_buf s = {0}, b = {0};
	eval_args(&s, a, n);
	berth_buf_append(&b, "", 0);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.data[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~')
			berth_buf_putc(&b, (char)c);
		else if (c == ' ')
			berth_buf_putc(&b, '+');
		else
			berth_buf_printf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	berth_buf_free(&s);
	*out = str_result(&b);
	return 0;
}

/* ---- docker functions ---- */

static int f_json(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	struct berth_buf b = {0};
	go_json_encode(&b, a[0], false);
	*out = str_result(&b);
	return 0;
}

static int f_split(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	const char *s = json_string_value(a[0]);
	size_t len = json_string_length(a[0]);
	const char *sep = json_string_value(a[1]);
	size_t slen = json_string_length(a[1]);
	json_t *r = json_array();
	if (slen == 0) {
		for (size_t i = 0; i < len;) {
			unsigned rr;
			size_t w = go_decode_rune(s + i, len - i, &rr);
			json_array_append_new(r, json_stringn_nocheck(s + i, w));
			i += w;
		}
	} else {
		size_t start = 0;
		for (size_t i = 0; i + slen <= len;) {
			if (memcmp(s + i, sep, slen) == 0) {
				json_array_append_new(r, json_stringn_nocheck(s + start, i - start));
				i += slen;
				start = i;
			} else {
				i++;
			}
		}
		json_array_append_new(r, json_stringn_nocheck(s + start, len - start));
	}
	*out = r;
	return 0;
}

static int f_join(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	struct berth_buf b = {0};
	berth_buf_append(&b, "", 0);
	for (size_t i = 0; i < json_array_size(a[0]); i++) {
		if (i)
			berth_buf_append(&b, json_string_value(a[1]), json_string_length(a[1]));
		const json_t *el = json_array_get(a[0], i);
		berth_buf_append(&b, json_string_value(el), json_string_length(el));
	}
	*out = str_result(&b);
	return 0;
}

/* Case mapping of one rune (ASCII fast path, C.UTF-8 locale for the rest). */
static unsigned map_rune(unsigned r, int mode, locale_t loc)
{
	if (r < 0x80) {
		if (mode > 0 && r >= 'a' && r <= 'z')
			return r - 32;
		if (mode < 0 && r >= 'A' && r <= 'Z')
			return r + 32;
		return r;
	}
	if (loc == (locale_t)0)
		return r;
	return mode > 0 ? (unsigned)towupper_l((wint_t)r, loc) : (unsigned)towlower_l((wint_t)r, loc);
}

static int map_case(json_t *const *a, json_t **out, int mode, bool title)
{
	const char *s = json_string_value(a[0]);
	size_t len = json_string_length(a[0]);
	bool ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	locale_t loc = ascii ? (locale_t)0 : newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	struct berth_buf b = {0};
	berth_buf_append(&b, "", 0);
	unsigned prev = ' ';
	for (size_t i = 0; i < len;) {
		unsigned r;
		size_t w = go_decode_rune(s + i, len - i, &r);
		if (title) {
			/* strings.Title: upper-case runes that follow a separator */
			bool sep;
			if (prev < 0x80)
				sep = !((prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z') ||
					(prev >= 'A' && prev <= 'Z') || prev == '_');
			else
				sep = loc != (locale_t)0 && iswspace_l((wint_t)prev, loc);
			unsigned m = sep ? map_rune(r, 1, loc) : r;
			if (m == r)
				berth_buf_append(&b, s + i, w);
			else
				go_encode_rune(&b, m);
			prev = r;
		} else {
			unsigned m = map_rune(r, mode, loc);
			if (m == r)
				berth_buf_append(&b, s + i, w);
			else
				go_encode_rune(&b, m);
		}
		i += w;
	}
	if (loc != (locale_t)0)
		freelocale(loc);
	*out = str_result(&b);
	return 0;
}

static int f_lower(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	return map_case(a, out, -1, false);
}

static int f_upper(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	return map_case(a, out, 1, false);
}

static int f_title(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	return map_case(a, out, 1, true);
}

static int f_pad(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	long long l = json_integer_value(a[1]), r = json_integer_value(a[2]);
	if (json_string_length(a[0]) == 0) {
		*out = json_incref(a[0]);
		return 0;
	}
	if (l < 0 || r < 0)
		return ferr(e, "strings: negative Repeat count");
	if (l > 1 << 20 || r > 1 << 20)
		return ferr(e, "strings: Repeat output length overflow");
	struct berth_buf b = {0};
	for (long long i = 0; i < l; i++)
		berth_buf_putc(&b, ' ');
	berth_buf_append(&b, json_string_value(a[0]), json_string_length(a[0]));
	for (long long i = 0; i < r; i++)
		berth_buf_putc(&b, ' ');
	*out = str_result(&b);
	return 0;
}

static int f_truncate(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	long long l = json_integer_value(a[1]);
	size_t len = json_string_length(a[0]);
	if ((long long)len < l) {
		*out = json_incref(a[0]);
		return 0;
	}
	if (l < 0)
		return ferr(e, "runtime error: slice bounds out of range [:%lld]", l);
	*out = json_stringn_nocheck(json_string_value(a[0]), (size_t)l);
	return 0;
}

/* Header mode: return the first argument unchanged. */
static int f_first(json_t *const *a, size_t n, json_t **out, struct tmpl_errbuf *e)
{
	(void)n;
	(void)e;
	*out = json_incref(a[0]);
	return 0;
}

#define ANY PT_ANY
#define STR PT_STRING
#define INT PT_INT
#define STRV PT_STRV

static const struct tmpl_builtin builtins[] = {
	{"and", NULL, 1, true, {ANY}, ANY, TB_AND},
	{"call", f_call, 1, true, {ANY}, ANY, TB_NONE},
	{"html", f_html, 0, true, {ANY}, ANY, TB_NONE},
	{"index", f_index, 1, true, {ANY}, ANY, TB_NONE},
	{"slice", f_slice, 1, true, {ANY}, ANY, TB_NONE},
	{"js", f_js, 0, true, {ANY}, ANY, TB_NONE},
	{"len", f_len, 1, false, {ANY}, ANY, TB_NONE},
	{"not", f_not, 1, false, {ANY}, ANY, TB_NONE},
	{"or", NULL, 1, true, {ANY}, ANY, TB_OR},
	{"print", f_print, 0, true, {ANY}, ANY, TB_NONE},
	{"printf", f_printf, 1, true, {STR}, ANY, TB_NONE},
	{"println", f_println, 0, true, {ANY}, ANY, TB_NONE},
	{"urlquery", f_urlquery, 0, true, {ANY}, ANY, TB_NONE},
	{"eq", f_eq, 1, true, {ANY}, ANY, TB_NONE},
	{"ge", f_ge, 2, false, {ANY, ANY}, ANY, TB_NONE},
	{"gt", f_gt, 2, false, {ANY, ANY}, ANY, TB_NONE},
	{"le", f_le, 2, false, {ANY, ANY}, ANY, TB_NONE},
	{"lt", f_lt, 2, false, {ANY, ANY}, ANY, TB_NONE},
	{"ne", f_ne, 2, false, {ANY, ANY}, ANY, TB_NONE},
	/* docker/cli templates.basicFunctions */
	{"json", f_json, 1, false, {ANY}, ANY, TB_NONE},
	{"split", f_split, 2, false, {STR, STR}, ANY, TB_NONE},
	{"join", f_join, 2, false, {STRV, STR}, ANY, TB_NONE},
	{"title", f_title, 1, false, {STR}, ANY, TB_NONE},
	{"lower", f_lower, 1, false, {STR}, ANY, TB_NONE},
	{"upper", f_upper, 1, false, {STR}, ANY, TB_NONE},
	{"pad", f_pad, 3, false, {STR, INT, INT}, ANY, TB_NONE},
	{"truncate", f_truncate, 2, false, {STR, INT}, ANY, TB_NONE},
};

/* docker/cli templates.HeaderFunctions */
static const struct tmpl_builtin header_builtins[] = {
	{"json", f_first, 1, false, {STR}, ANY, TB_NONE},
	{"split", f_first, 2, false, {STR, STR}, ANY, TB_NONE},
	{"join", f_first, 2, false, {STR, STR}, ANY, TB_NONE},
	{"title", f_first, 1, false, {STR}, ANY, TB_NONE},
	{"lower", f_first, 1, false, {STR}, ANY, TB_NONE},
	{"upper", f_first, 1, false, {STR}, ANY, TB_NONE},
	{"truncate", f_first, 2, false, {STR, INT}, ANY, TB_NONE},
};

const struct tmpl_builtin *tmpl_find_builtin(const char *name, bool header)
{
	if (header)
		for (size_t i = 0; i < sizeof(header_builtins) / sizeof(header_builtins[0]); i++)
			if (strcmp(header_builtins[i].name, name) == 0)
				return &header_builtins[i];
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}
