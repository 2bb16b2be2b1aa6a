/* Go-compatible value printing (fmt / strconv / encoding/json behaviour). */
#include "gofmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"

/* ---- runes ---- */

size_t go_decode_rune(const char *s, size_t len, unsigned *r)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = p[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	size_t n;
	unsigned v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*r = 0xfffd;
		return 1;
	}
	if (len < n) {
		*r = 0xfffd;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*r = 0xfffd;
			return 1;
		}
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*r = 0xfffd;
		return 1;
	}
	*r = v;
	return n;
}

size_t go_rune_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; n++) {
		unsigned r;
		i += go_decode_rune(s + i, len - i, &r);
	}
	return n;
}

void go_encode_rune(struct berth_buf *b, unsigned r)
{
	char o[4];
	if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		r = 0xfffd;
	if (r < 0x80) {
		berth_buf_putc(b, (char)r);
	} else if (r < 0x800) {
		o[0] = (char)(0xc0 | (r >> 6));
		o[1] = (char)(0x80 | (r & 0x3f));
		berth_buf_append(b, o, 2);
	} else if (r < 0x10000) {
		o[0] = (char)(0xe0 | (r >> 12));
		o[1] = (char)(0x80 | ((r >> 6) & 0x3f));
		o[2] = (char)(0x80 | (r & 0x3f));
		berth_buf_append(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | (r >> 18));
		o[1] = (char)(0x80 | ((r >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((r >> 6) & 0x3f));
		o[3] = (char)(0x80 | (r & 0x3f));
		berth_buf_append(b, o, 4);
	}
}

const char *go_type_name(const json_t *v)
{
	if (!v)
		return "<nil>";
	switch (json_typeof(v)) {
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float64";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_OBJECT: return "map[string]interface {}";
	case JSON_ARRAY: return "[]interface {}";
	case JSON_NULL: return "<nil>";
	}
	return "<nil>";
}

/* ---- floats ---- */

struct digs {
	char d[32]; /* significant digits, no trailing zeros */
	int nd;     /* number of digits (0 for zero) */
	int dp;     /* decimal point position: value = 0.d * 10^dp */
};

/* Shortest digit string that round-trips (v finite, v >= 0). */
static void digits_shortest(double v, struct digs *g)
{
	g->nd = 0;
	g->dp = 0;
	if (v == 0)
		return;
	char tmp[40];
	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v || p == 17)
			break;
	}
	/* tmp = d[.ddd]e[+-]xx */
	int nd = 0;
	char *e = strchr(tmp, 'e');
	for (char *c = tmp; c < e; c++)
		if (*c >= '0' && *c <= '9')
			g->d[nd++] = *c;
	while (nd > 1 && g->d[nd - 1] == '0')
		nd--;
	g->nd = nd;
	g->dp = atoi(e + 1) + 1;
}

static void fmt_e(struct berth_buf *b, const struct digs *g, int prec, char ech)
{
	berth_buf_putc(b, g->nd ? g->d[0] : '0');
	if (prec > 0) {
		berth_buf_putc(b, '.');
		for (int i = 1; i <= prec; i++)
			berth_buf_putc(b, i < g->nd ? g->d[i] : '0');
	}
	berth_buf_putc(b, ech);
	int exp = g->nd ? g->dp - 1 : 0;
	berth_buf_putc(b, exp < 0 ? '-' : '+');
	if (exp < 0)
		exp = -exp;
	if (exp < 10)
		berth_buf_printf(b, "0%d", exp);
	else
		berth_buf_printf(b, "%d", exp);
}

static void fmt_f(struct berth_buf *b, const struct digs *g, int prec)
{
	if (g->dp > 0) {
		for (int i = 0; i < g->dp; i++)
			berth_buf_putc(b, i < g->nd ? g->d[i] : '0');
	} else {
		berth_buf_putc(b, '0');
	}
	if (prec > 0) {
		berth_buf_putc(b, '.');
		for (int i = 0; i < prec; i++) {
			int j = g->dp + i;
			berth_buf_putc(b, j >= 0 && j < g->nd ? g->d[j] : '0');
		}
	}
}

void go_fmt_float(struct berth_buf *b, double v, char verb, int prec)
{
	if (isnan(v)) {
		berth_buf_append(b, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		berth_buf_append(b, v > 0 ? "+Inf" : "-Inf", 4);
		return;
	}
	if (prec >= 0) {
		char tmp[512];
		char f[8];
		if (verb == 'F')
			verb = 'f';
		snprintf(f, sizeof(f), "%%.*%c", verb);
		if (prec > 400)
			prec = 400;
			/* Precision-limited formatting: C's rounding of the exact binary
		 * value agrees with strconv's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(tmp, sizeof(tmp), f, prec, v);
#pragma GCC diagnostic pop
		berth_buf_append(b, tmp, strlen(tmp));
		return;
	}
	if (signbit(v)) {
		berth_buf_putc(b, '-');
		v = -v;
	}
	struct digs g;
	digits_shortest(v, &g);
	switch (verb) {
	case 'e':
	case 'E': fmt_e(b, &g, g.nd > 0 ? g.nd - 1 : 0, verb); break;
	case 'f':
	case 'F': fmt_f(b, &g, g.nd - g.dp > 0 ? g.nd - g.dp : 0); break;
	default: {
		int exp = g.dp - 1;
		if (g.nd == 0)
			exp = 0;
		if (exp < -4 || exp >= 6) {
			fmt_e(b, &g, g.nd > 0 ? g.nd - 1 : 0, verb == 'G' ? 'E' : 'e');
		} else {
			fmt_f(b, &g, g.nd - g.dp > 0 ? g.nd - g.dp : 0);
		}
	}
	}
}

void go_fmt_float_v(struct berth_buf *b, double v) { go_fmt_float(b, v, 'g', -1); }

/* encoding/json float64 encoding. */
static void json_float(struct berth_buf *b, double v)
{
	if (!isfinite(v)) {
		berth_buf_append(b, "null", 4);
		return;
	}
	double a = v < 0 ? -v : v;
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		struct berth_buf t = {0};
		go_fmt_float(&t, v, 'e', -1);
		const char *s = berth_buf_str(&t);
		size_t n = t.len;
		/* clean up e-09 to e-9 */
		if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
			t.data[n - 2] = t.data[n - 1];
			t.len--;
			t.data[t.len] = '\0';
		}
		berth_buf_append(b, t.data, t.len);
		berth_buf_free(&t);
	} else {
		go_fmt_float(b, v, 'f', -1);
	}
}

/* ---- strconv.Quote ---- */

static bool rune_printable(unsigned r)
{
	if (r < 0x20 || r == 0x7f)
		return false;
	if (r >= 0x80 && r < 0xa0)
		return false;
	if (r == 0xad || (r >= 0x2028 && r <= 0x202e) || (r >= 0x200b && r <= 0x200f) || (r >= 0x2060 && r <= 0x206f) ||
	    r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe000 && r <= 0xf8ff))
		return false;
	return true;
}

static void quote_rune_into(struct berth_buf *b, unsigned r, size_t width, const char *raw, char q)
{
	static const char hex[] = "0123456789abcdef";
	if (width == 1 && r == 0xfffd && (unsigned char)raw[0] >= 0x80) {
		berth_buf_printf(b, "\\x%c%c", hex[(unsigned char)raw[0] >> 4], hex[(unsigned char)raw[0] & 15]);
		return;
	}
	if (r == (unsigned char)q || r == '\\') {
		berth_buf_putc(b, '\\');
		berth_buf_putc(b, (char)r);
		return;
	}
	if (rune_printable(r)) {
		berth_buf_append(b, raw, width);
		return;
	}
	switch (r) {
	case '\a': berth_buf_append(b, "\\a", 2); return;
	case '\b': berth_buf_append(b, "\\b", 2); return;
	case '\f': berth_buf_append(b, "\\f", 2); return;
	case '\n': berth_buf_append(b, "\\n", 2); return;
	case '\r': berth_buf_append(b, "\\r", 2); return;
	case '\t': berth_buf_append(b, "\\t", 2); return;
	case '\v': berth_buf_append(b, "\\v", 2); return;
	}
	if (r < ' ' || r == 0x7f)
		berth_buf_printf(b, "\\x%c%c", hex[r >> 4], hex[r & 15]);
	else if (r < 0x10000)
		berth_buf_printf(b, "\\u%04x", r);
	else
		berth_buf_printf(b, "\\U%08x", r);
}

void go_quote(struct berth_buf *b, const char *s, size_t len)
{
	berth_buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned r;
		size_t w = go_decode_rune(s + i, len - i, &r);
		quote_rune_into(b, r, w, s + i, '"');
		i += w;
	}
	berth_buf_putc(b, '"');
}

static void quote_rune(struct berth_buf *b, long long r)
{
	if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		r = 0xfffd;
	struct berth_buf t = {0};
	go_encode_rune(&t, (unsigned)r);
	berth_buf_putc(b, '\'');
	quote_rune_into(b, (unsigned)r, t.len, t.data, '\'');
	berth_buf_putc(b, '\'');
	berth_buf_free(&t);
}

/* ---- JSON ---- */

static void json_str_enc(struct berth_buf *b, const char *s, size_t len, bool escape_html)
{
	berth_jsonw_go_str(b, s, len, BERTH_JSONW_GO_TAB | (escape_html ? 0 : BERTH_JSONW_GO_KEEP_HTML));
}

void go_json_encode(struct berth_buf *b, const json_t *v, bool escape_html)
{
	if (!v) {
		berth_buf_append(b, "null", 4);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL: berth_buf_append(b, "null", 4); break;
	case JSON_TRUE: berth_buf_append(b, "true", 4); break;
	case JSON_FALSE: berth_buf_append(b, "false", 5); break;
	case JSON_INTEGER: berth_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: json_float(b, json_real_value(v)); break;
	case JSON_STRING: json_str_enc(b, json_string_value(v), json_string_length(v), escape_html); break;
	case JSON_ARRAY: {
		berth_buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				berth_buf_putc(b, ',');
			go_json_encode(b, json_array_get(v, i), escape_html);
		}
		berth_buf_putc(b, ']');
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *val;
		bool first = true;
		berth_buf_putc(b, '{');
		json_object_foreach((json_t *)v, k, val) {
			if (!first)
				berth_buf_putc(b, ',');
			first = false;
			json_str_enc(b, k, strlen(k), escape_html);
			berth_buf_putc(b, ':');
			go_json_encode(b, val, escape_html);
		}
		berth_buf_putc(b, '}');
		break;
	}
	}
}

static void newline_indent(struct berth_buf *b, const char *prefix, const char *indent, int depth)
{
	berth_buf_putc(b, '\n');
	berth_buf_append(b, prefix, strlen(prefix));
	for (int i = 0; i < depth; i++)
		berth_buf_append(b, indent, strlen(indent));
}

static void json_indent(struct berth_buf *b, const json_t *v, const char *prefix, const char *indent, bool esc,
			int depth)
{
	if (v && json_is_array(v) && json_array_size(v) > 0) {
		berth_buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				berth_buf_putc(b, ',');
			newline_indent(b, prefix, indent, depth + 1);
			json_indent(b, json_array_get(v, i), prefix, indent, esc, depth + 1);
		}
		newline_indent(b, prefix, indent, depth);
		berth_buf_putc(b, ']');
		return;
	}
	if (v && json_is_object(v) && json_object_size(v) > 0) {
		const char *k;
		json_t *val;
		bool first = true;
		berth_buf_putc(b, '{');
		json_object_foreach((json_t *)v, k, val) {
			if (!first)
				berth_buf_putc(b, ',');
			first = false;
			newline_indent(b, prefix, indent, depth + 1);
			json_str_enc(b, k, strlen(k), esc);
			berth_buf_append(b, ": ", 2);
			json_indent(b, val, prefix, indent, esc, depth + 1);
		}
		newline_indent(b, prefix, indent, depth);
		berth_buf_putc(b, '}');
		return;
	}
	go_json_encode(b, v, esc);
}

void go_json_encode_indent(struct berth_buf *b, const json_t *v, const char *prefix, const char *indent,
			   bool escape_html)
{
	json_indent(b, v, prefix ? prefix : "", indent ? indent : "", escape_html, 0);
}

/* ---- fmt ---- */

struct spec {
	bool minus, plus, sharp, space, zero;
	bool has_width, has_prec;
	int width, prec;
};

static int cmp_keys(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sorted keys of an object (caller frees the array, not the strings). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	size_t cnt = json_object_size(o), i = 0;
	const char **keys = calloc(cnt ? cnt : 1, sizeof(*keys));
	if (!keys) {
		*n = 0;
		return NULL;
	}
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)o, k, val) {
		(void)val;
		if (i < cnt)
			keys[i++] = k;
	}
	qsort(keys, i, sizeof(*keys), cmp_keys);
	*n = i;
	return keys;
}

/* Write s with width padding (width counted in runes). */
static void pad_str(struct berth_buf *b, const struct spec *sp, const char *s, size_t len)
{
	size_t runes = sp->has_width ? go_rune_count(s, len) : 0;
	size_t w = sp->has_width && sp->width > 0 ? (size_t)sp->width : 0;
	if (!sp->has_width || runes >= w) {
		berth_buf_append(b, s, len);
		return;
	}
	size_t pad = w - runes;
	if (sp->minus) {
		berth_buf_append(b, s, len);
		for (size_t i = 0; i < pad; i++)
			berth_buf_putc(b, ' ');
	} else {
		for (size_t i = 0; i < pad; i++)
			berth_buf_putc(b, sp->zero ? '0' : ' ');
		berth_buf_append(b, s, len);
	}
}

static void fmt_value(struct berth_buf *b, const json_t *v, unsigned verb, const struct spec *sp, int depth);

static void bad_verb(struct berth_buf *b, const json_t *v, unsigned verb)
{
	berth_buf_append(b, "%!", 2);
	go_encode_rune(b, verb);
	berth_buf_putc(b, '(');
	if (!v || json_is_null(v)) {
		berth_buf_append(b, "<nil>", 5);
	} else {
		struct spec none = {0};
		berth_buf_printf(b, "%s=", go_type_name(v));
		fmt_value(b, v, 'v', &none, 0);
	}
	berth_buf_putc(b, ')');
}

static void fmt_integer(struct berth_buf *b, long long v, unsigned verb, const struct spec *sp)
{
	int base = 10;
	bool upper = false;
	switch (verb) {
	case 'b': base = 2; break;
	case 'o':
	case 'O': base = 8; break;
	case 'x': base = 16; break;
	case 'X':
		base = 16;
		upper = true;
		break;
	}
	bool neg = v < 0;
	unsigned long long u = neg ? (unsigned long long)0 - (unsigned long long)v : (unsigned long long)v;
	char digits[80];
	int nd = 0;
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int prec = 1;
	if (sp->has_prec) {
		prec = sp->prec;
		if (prec == 0 && u == 0) {
			struct spec s2 = *sp;
			s2.zero = false;
			pad_str(b, &s2, "", 0);
			return;
		}
	} else if (sp->zero && sp->has_width && !sp->minus) {
		prec = sp->width;
		if (neg || sp->plus || sp->space)
			prec--;
	}
	do {
		digits[nd++] = dig[u % (unsigned)base];
		u /= (unsigned)base;
	} while (u && nd < 70);
	struct berth_buf t = {0};
	if (neg)
		berth_buf_putc(&t, '-');
	else if (sp->plus)
		berth_buf_putc(&t, '+');
	else if (sp->space)
		berth_buf_putc(&t, ' ');
	if (verb == 'O')
		berth_buf_append(&t, "0o", 2);
	else if (sp->sharp && base == 16)
		berth_buf_append(&t, upper ? "0X" : "0x", 2);
	else if (sp->sharp && base == 2)
		berth_buf_append(&t, "0b", 2);
	else if (sp->sharp && base == 8 && !(prec > nd))
		berth_buf_putc(&t, '0');
	for (int i = nd; i < prec && i < 4096; i++)
		berth_buf_putc(&t, '0');
	while (nd > 0)
		berth_buf_putc(&t, digits[--nd]);
	struct spec s2 = *sp;
	s2.zero = false;
	pad_str(b, &s2, berth_buf_str(&t), t.len);
	berth_buf_free(&t);
}

static void fmt_float_spec(struct berth_buf *b, double v, unsigned verb, const struct spec *sp)
{
	struct berth_buf t = {0};
	int prec = -1;
	if (sp->has_prec)
		prec = sp->prec;
	else if (verb == 'e' || verb == 'E' || verb == 'f' || verb == 'F')
		prec = 6;
	char cv = verb == 'v' ? 'g' : (char)verb;
	go_fmt_float(&t, v, cv, prec);
	const char *s = berth_buf_str(&t);
	bool special = isinf(v) || isnan(v);
	if (isinf(v)) {
		/* Go always shows the sign of an infinity ("+Inf"), space flag aside. */
		const char *inf = v > 0 ? (sp->space && !sp->plus ? " Inf" : "+Inf") : "-Inf";
		struct spec s2 = *sp;
		s2.zero = false;
		pad_str(b, &s2, inf, 4);
		berth_buf_free(&t);
		return;
	}
	struct berth_buf o = {0};
	/* Sign handling: Go always has a sign slot. */
	const char *body = s;
	char sign = 0;
	if (*body == '-' || *body == '+') {
		sign = *body;
		body++;
	}
	if (sign == '+' && !sp->plus)
		sign = sp->space ? ' ' : 0;
	else if (!sign && sp->plus && !isnan(v))
		sign = '+';
	else if (!sign && sp->space)
		sign = ' ';
	if (isnan(v) && sp->plus)
		sign = '+';
	size_t blen = strlen(body);
	if (sp->zero && sp->has_width && !sp->minus && !special) {
		size_t need = (size_t)(sp->width > 0 ? sp->width : 0);
		size_t have = blen + (sign ? 1 : 0);
		if (sign)
			berth_buf_putc(&o, sign);
		for (size_t i = have; i < need; i++)
			berth_buf_putc(&o, '0');
		berth_buf_append(&o, body, blen);
		berth_buf_append(b, o.data, o.len);
	} else {
		if (sign)
			berth_buf_putc(&o, sign);
		berth_buf_append(&o, body, blen);
		struct spec s2 = *sp;
		s2.zero = false;
		pad_str(b, &s2, o.data, o.len);
	}
	berth_buf_free(&o);
	berth_buf_free(&t);
}

static void fmt_string(struct berth_buf *b, const char *s, size_t len, unsigned verb, const struct spec *sp,
		       const json_t *v)
{
	switch (verb) {
	case 'v':
	case 's': {
		if (sp->has_prec) {
			/* truncate to prec runes */
			size_t i = 0, n = 0;
			while (i < len && (int)n < sp->prec) {
				unsigned r;
				i += go_decode_rune(s + i, len - i, &r);
				n++;
			}
			len = i;
		}
		pad_str(b, sp, s, len);
		return;
	}
	case 'q': {
		struct berth_buf t = {0};
		if (sp->sharp && !memchr(s, '`', len)) {
			berth_buf_putc(&t, '`');
			berth_buf_append(&t, s, len);
			berth_buf_putc(&t, '`');
		} else {
			go_quote(&t, s, len);
		}
		pad_str(b, sp, berth_buf_str(&t), t.len);
		berth_buf_free(&t);
		return;
	}
	case 'x':
	case 'X': {
		struct berth_buf t = {0};
		const char *dig = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
		size_t n = len;
		if (sp->has_prec && (size_t)sp->prec < n)
			n = (size_t)sp->prec;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (sp->space && i > 0)
				berth_buf_putc(&t, ' ');
			if (sp->sharp && (sp->space || i == 0))
				berth_buf_append(&t, verb == 'X' ? "0X" : "0x", 2);
			berth_buf_putc(&t, dig[c >> 4]);
			berth_buf_putc(&t, dig[c & 15]);
		}
		pad_str(b, sp, berth_buf_str(&t), t.len);
		berth_buf_free(&t);
		return;
	}
	}
	bad_verb(b, v, verb);
}

static void fmt_value(struct berth_buf *b, const json_t *v, unsigned verb, const struct spec *sp, int depth)
{
	if (verb == 'T') {
		const char *tn = go_type_name(v);
		pad_str(b, sp, tn, strlen(tn));
		return;
	}
	if (!v || json_is_null(v)) {
		if (verb == 'v')
			pad_str(b, sp, "<nil>", 5);
		else
			bad_verb(b, NULL, verb);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING: fmt_string(b, json_string_value(v), json_string_length(v), verb, sp, v); return;
	case JSON_TRUE:
	case JSON_FALSE:
		if (verb == 'v' || verb == 't') {
			const char *s = json_is_true(v) ? "true" : "false";
			pad_str(b, sp, s, strlen(s));
		} else {
			bad_verb(b, v, verb);
		}
		return;
	case JSON_INTEGER: {
		long long i = json_integer_value(v);
		switch (verb) {
		case 'v':
		case 'd':
		case 'b':
		case 'o':
		case 'O':
		case 'x':
		case 'X': fmt_integer(b, i, verb == 'v' ? 'd' : verb, sp); return;
		case 'c': {
			struct berth_buf t = {0};
			go_encode_rune(&t, i < 0 || i > 0x10ffff ? 0xfffd : (unsigned)i);
			pad_str(b, sp, t.data, t.len);
			berth_buf_free(&t);
			return;
		}
		case 'q': {
			struct berth_buf t = {0};
			quote_rune(&t, i);
			pad_str(b, sp, t.data, t.len);
			berth_buf_free(&t);
			return;
		}
		case 'U': {
			struct berth_buf t = {0};
			berth_buf_printf(&t, "U+%04llX", (unsigned long long)i);
			if (sp->sharp && i >= 0 && i <= 0x10ffff && rune_printable((unsigned)i)) {
				berth_buf_append(&t, " '", 2);
				go_encode_rune(&t, (unsigned)i);
				berth_buf_putc(&t, '\'');
			}
			pad_str(b, sp, t.data, t.len);
			berth_buf_free(&t);
			return;
		}
		}
		bad_verb(b, v, verb);
		return;
	}
	case JSON_REAL:
		switch (verb) {
		case 'v':
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G': fmt_float_spec(b, json_real_value(v), verb, sp); return;
		}
		bad_verb(b, v, verb);
		return;
	case JSON_ARRAY: {
		if (depth > 100) {
			berth_buf_append(b, "[...]", 5);
			return;
		}
		berth_buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				berth_buf_putc(b, ' ');
			fmt_value(b, json_array_get(v, i), verb, sp, depth + 1);
		}
		berth_buf_putc(b, ']');
		return;
	}
	case JSON_OBJECT: {
		if (depth > 100) {
			berth_buf_append(b, "map[...]", 8);
			return;
		}
		size_t n;
		const char **keys = sorted_keys(v, &n);
		berth_buf_append(b, "map[", 4);
		for (size_t i = 0; i < n; i++) {
			if (i)
				berth_buf_putc(b, ' ');
			json_t *k = json_string(keys[i]);
			fmt_value(b, k, verb, sp, depth + 1);
			json_decref(k);
			berth_buf_putc(b, ':');
			fmt_value(b, json_object_get(v, keys[i]), verb, sp, depth + 1);
		}
		berth_buf_putc(b, ']');
		free(keys);
		return;
	}
	case JSON_NULL: break;
	}
}

void go_print_value(struct berth_buf *b, const json_t *v)
{
	if (!v) {
		berth_buf_append(b, "<no value>", 10);
		return;
	}
	struct spec none = {0};
	fmt_value(b, v, 'v', &none, 0);
}

void go_sprint(struct berth_buf *b, json_t *const *args, size_t n)
{
	struct spec none = {0};
	bool prev_string = false;
	for (size_t i = 0; i < n; i++) {
		bool is_string = args[i] && json_is_string(args[i]);
		if (i > 0 && !is_string && !prev_string)
			berth_buf_putc(b, ' ');
		fmt_value(b, args[i], 'v', &none, 0);
		prev_string = is_string;
	}
}

void go_sprintln(struct berth_buf *b, json_t *const *args, size_t n)
{
	struct spec none = {0};
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			berth_buf_putc(b, ' ');
		fmt_value(b, args[i], 'v', &none, 0);
	}
	berth_buf_putc(b, '\n');
}

static bool int_arg(json_t *const *args, size_t n, size_t *argi, int *out)
{
	if (*argi >= n)
		return false;
	const json_t *a = args[(*argi)++];
	if (!a || !json_is_integer(a))
		return false;
	long long v = json_integer_value(a);
	if (v > 1000000 || v < -1000000)
		return false;
	*out = (int)v;
	return true;
}

void go_sprintf(struct berth_buf *b, const char *fmt, size_t end, json_t *const *args, size_t n)
{
	size_t argi = 0;
	size_t i = 0;
	while (i < end) {
		size_t lasti = i;
		while (i < end && fmt[i] != '%')
			i++;
		if (i > lasti)
			berth_buf_append(b, fmt + lasti, i - lasti);
		if (i >= end)
			break;
		i++; /* skip % */
		struct spec sp = {0};
		for (; i < end; i++) {
			char c = fmt[i];
			if (c == '#')
				sp.sharp = true;
			else if (c == '0')
				sp.zero = !sp.minus;
			else if (c == '+')
				sp.plus = true;
			else if (c == '-') {
				sp.minus = true;
				sp.zero = false;
			} else if (c == ' ')
				sp.space = true;
			else
				break;
		}
		/* width */
		if (i < end && fmt[i] == '*') {
			i++;
			if (!int_arg(args, n, &argi, &sp.width)) {
				berth_buf_append(b, "%!(BADWIDTH)", 12);
			} else {
				sp.has_width = true;
				if (sp.width < 0) {
					sp.minus = true;
					sp.zero = false;
					sp.width = -sp.width;
				}
			}
		} else {
			while (i < end && fmt[i] >= '0' && fmt[i] <= '9') {
				if (sp.width < 1000000)
					sp.width = sp.width * 10 + (fmt[i] - '0');
				sp.has_width = true;
				i++;
			}
		}
		/* precision */
		if (i < end && fmt[i] == '.') {
			i++;
			sp.has_prec = true;
			if (i < end && fmt[i] == '*') {
				i++;
				if (!int_arg(args, n, &argi, &sp.prec)) {
					berth_buf_append(b, "%!(BADPREC)", 11);
					sp.has_prec = false;
				} else if (sp.prec < 0) {
					sp.prec = 0;
					sp.has_prec = false;
				}
			} else {
				while (i < end && fmt[i] >= '0' && fmt[i] <= '9') {
					if (sp.prec < 1000000)
						sp.prec = sp.prec * 10 + (fmt[i] - '0');
					i++;
				}
			}
		}
		if (i >= end) {
			berth_buf_append(b, "%!(NOVERB)", 10);
			break;
		}
		unsigned verb;
		i += go_decode_rune(fmt + i, end - i, &verb);
		if (verb == '%') {
			berth_buf_putc(b, '%');
			continue;
		}
		if (argi >= n) {
			berth_buf_append(b, "%!", 2);
			go_encode_rune(b, verb);
			berth_buf_append(b, "(MISSING)", 9);
			continue;
		}
		fmt_value(b, args[argi++], verb, &sp, 0);
	}
	if (argi < n) {
		berth_buf_append(b, "%!(EXTRA ", 9);
		struct spec none = {0};
		for (size_t k = argi; k < n; k++) {
			if (k > argi)
				berth_buf_append(b, ", ", 2);
			if (!args[k] || json_is_null(args[k])) {
				berth_buf_append(b, "<nil>", 5);
			} else {
				berth_buf_printf(b, "%s=", go_type_name(args[k]));
				fmt_value(b, args[k], 'v', &none, 0);
			}
		}
		berth_buf_putc(b, ')');
	}
}
