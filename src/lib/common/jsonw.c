/* JSON text into a berth_buf. See jsonw.h. */
#include "common/jsonw.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int berth_jsonw_str(struct berth_buf *b, const char *s)
{
	if (!s)
		return berth_buf_append(b, "null", 4);
	if (berth_buf_putc(b, '"') < 0)
		return -1;
	const char *run = s;
	for (const char *p = s;; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		if (p > run && berth_buf_append(b, run, (size_t)(p - run)) < 0)
			return -1;
		if (!ch)
			break;
		char esc[8];
		size_t n = 2;
		esc[0] = '\\';
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default: n = (size_t)snprintf(esc, sizeof(esc), "\\u%04X", ch); break;
		}
		if (berth_buf_append(b, esc, n) < 0)
			return -1;
		run = p + 1;
	}
	return berth_buf_putc(b, '"');
}

int berth_jsonw_key(struct berth_buf *b, const char *key)
{
	size_t n = strlen(key);
	if (berth_buf_putc(b, '"') < 0 || berth_buf_append(b, key, n) < 0)
		return -1;
	return berth_buf_append(b, "\":", 2);
}

int berth_jsonw_int(struct berth_buf *b, int64_t v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%" PRId64, v);
	return berth_buf_append(b, s, (size_t)n);
}

static int dump_cb(const char *buffer, size_t size, void *data) { return berth_buf_append(data, buffer, size); }

int berth_jsonw_value(struct berth_buf *b, const json_t *v)
{
	if (!v)
		return berth_buf_append(b, "null", 4);
	int r = 0;
	switch (json_typeof(v)) {
	case JSON_STRING: return berth_jsonw_str(b, json_string_value(v));
	case JSON_INTEGER: return berth_jsonw_int(b, json_integer_value(v));
	case JSON_TRUE: return berth_buf_append(b, "true", 4);
	case JSON_FALSE: return berth_buf_append(b, "false", 5);
	case JSON_NULL: return berth_buf_append(b, "null", 4);
	case JSON_OBJECT: {
		/* keys in the object's order, as json_dumps without JSON_SORT_KEYS */
		const char *k;
		json_t *e;
		bool first = true;
		r |= berth_buf_putc(b, '{');
		json_object_foreach((json_t *)v, k, e) {
			if (!first)
				r |= berth_buf_putc(b, ',');
			first = false;
			r |= berth_jsonw_str(b, k);
			r |= berth_buf_putc(b, ':');
			r |= berth_jsonw_value(b, e);
		}
		r |= berth_buf_putc(b, '}');
		return r ? -1 : 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		r |= berth_buf_putc(b, '[');
		json_array_foreach(v, i, e) {
			if (i)
				r |= berth_buf_putc(b, ',');
			r |= berth_jsonw_value(b, e);
		}
		r |= berth_buf_putc(b, ']');
		return r ? -1 : 0;
	}
	default: /* reals: jansson's own formatting */
		return json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/* ---- Go-style strings ---- */

/* Length of a valid UTF-8 sequence at s (max n bytes), 0 if invalid. Also
 * gives the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		len = 2;
		*cp = c & 0x1f;
		min = 0x80;
	} else if (c < 0xf0) {
		len = 3;
		*cp = c & 0x0f;
		min = 0x800;
	} else if (c < 0xf5) {
		len = 4;
		*cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

void berth_jsonw_go_str(struct berth_buf *b, const char *str, size_t len, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	berth_buf_putc(b, '"');
	size_t start = 0, i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '\\' && c != '"' &&
			    ((flags & BERTH_JSONW_GO_KEEP_HTML) || (c != '<' && c != '>' && c != '&'))) {
				i++;
				continue;
			}
			berth_buf_append(b, s + start, i - start);
			switch (c) {
			case '\\':
			case '"':
				berth_buf_putc(b, '\\');
				berth_buf_putc(b, (char)c);
				break;
			case '\n': berth_buf_append(b, "\\n", 2); break;
			case '\r': berth_buf_append(b, "\\r", 2); break;
			case '\t':
				if (flags & BERTH_JSONW_GO_TAB) {
					berth_buf_append(b, "\\t", 2);
					break;
				}
				/* fall through */
			default: {
				char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
				berth_buf_append(b, u, 6);
			}
			}
			start = ++i;
			continue;
		}
		unsigned cp = 0;
		size_t n = utf8_seq(s + i, len - i, &cp);
		if (!n) {
			berth_buf_append(b, s + start, i - start);
			berth_buf_append(b, "\\ufffd", 6);
			start = ++i;
			continue;
		}
		if (cp == 0x2028 || cp == 0x2029) {
			berth_buf_append(b, s + start, i - start);
			berth_buf_append(b, "\\u202", 5);
			berth_buf_putc(b, hex[cp & 0xf]);
			start = i += n;
			continue;
		}
		i += n;
	}
	berth_buf_append(b, s + start, len - start);
	berth_buf_putc(b, '"');
}
