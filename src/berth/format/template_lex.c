/* Go text/template lexer (behaviour of text/template/parse/lex.go). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gofmt.h"
#include "template_int.h"

static const struct {
	const char *word;
	enum itype typ;
} keywords[] = {
	{".", I_DOT},         {"block", I_BLOCK}, {"break", I_BREAK},       {"continue", I_CONTINUE},
	{"define", I_DEFINE}, {"else", I_ELSE},   {"end", I_END},           {"if", I_IF},
	{"range", I_RANGE},   {"nil", I_NIL},     {"template", I_TEMPLATE}, {"with", I_WITH},
};

struct lexer {
	const char *in;
	size_t n;
	size_t pos, start;
	size_t width;
	int paren;
	struct tmpl_item *items;
	size_t nitems, cap;
	char *errmsg;
	/* incremental line counting */
	size_t line_pos;
	int line;
	bool oom;
};

#define L_EOF (-1)

static int line_at(struct lexer *l, size_t pos)
{
	if (pos < l->line_pos) {
		l->line_pos = 0;
		l->line = 1;
	}
	for (; l->line_pos < pos && l->line_pos < l->n; l->line_pos++)
		if (l->in[l->line_pos] == '\n')
			l->line++;
	return l->line;
}

static void emit_at(struct lexer *l, enum itype t, size_t start, size_t end)
{
	if (l->nitems == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 32;
		struct tmpl_item *n = realloc(l->items, nc * sizeof(*n));
		if (!n) {
			l->oom = true;
			return;
		}
		l->items = n;
		l->cap = nc;
	}
	struct tmpl_item *it = &l->items[l->nitems++];
	it->typ = t;
	it->pos = start;
	it->val = l->in + start;
	it->len = end - start;
	it->line = line_at(l, start);
}

static void emit(struct lexer *l, enum itype t)
{
	emit_at(l, t, l->start, l->pos);
	l->start = l->pos;
}

static int lx_next(struct lexer *l)
{
	if (l->pos >= l->n) {
		l->width = 0;
		return L_EOF;
	}
	unsigned r;
	l->width = go_decode_rune(l->in + l->pos, l->n - l->pos, &r);
	l->pos += l->width;
	return (int)r;
}

static void lx_backup(struct lexer *l) { l->pos -= l->width; }

static int lx_peek(struct lexer *l)
{
	int r = lx_next(l);
	lx_backup(l);
	return r;
}

static bool is_space(int r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }

static bool is_alnum(int r)
{
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
	       (r >= 0x80 && r != 0xfffd);
}

static bool has_prefix(const struct lexer *l, size_t pos, const char *p)
{
	size_t k = strlen(p);
	return pos <= l->n && l->n - pos >= k && memcmp(l->in + pos, p, k) == 0;
}

/* "- " after the left delimiter (any space char). */
static bool left_trim_marker(const struct lexer *l, size_t pos)
{
	return pos + 2 <= l->n && l->in[pos] == '-' && is_space((unsigned char)l->in[pos + 1]);
}

/* " -" before the right delimiter. */
static bool right_trim_marker(const struct lexer *l, size_t pos)
{
	return pos + 2 <= l->n && is_space((unsigned char)l->in[pos]) && l->in[pos + 1] == '-';
}

static bool at_right_delim(const struct lexer *l, bool *trim)
{
	*trim = false;
	if (has_prefix(l, l->pos, "}}"))
		return true;
	if (right_trim_marker(l, l->pos) && has_prefix(l, l->pos + 2, "}}")) {
		*trim = true;
		return true;
	}
	return false;
}

static void fmt_U(char *out, size_t len, int r)
{
	/* %#U */
	if (r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0)) {
		struct berth_buf b = {0};
		go_encode_rune(&b, (unsigned)r);
		snprintf(out, len, "U+%04X '%s'", (unsigned)r, berth_buf_str(&b));
		berth_buf_free(&b);
	} else {
		snprintf(out, len, "U+%04X", (unsigned)r);
	}
}

__attribute__((format(printf, 2, 3))) static void lx_errorf(struct lexer *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&l->errmsg, fmt, ap) < 0)
		l->errmsg = NULL;
	va_end(ap);
	emit_at(l, I_ERROR, l->start, l->start);
	if (l->nitems && l->errmsg) {
		struct tmpl_item *it = &l->items[l->nitems - 1];
		it->val = l->errmsg;
		it->len = strlen(l->errmsg);
		it->line = line_at(l, l->pos);
	}
}

static size_t rtrim_len(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && is_space((unsigned char)s[n - 1 - k]))
		k++;
	return k;
}

static size_t ltrim_len(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && is_space((unsigned char)s[k]))
		k++;
	return k;
}

static bool at_terminator(struct lexer *l)
{
	int r = lx_peek(l);
	if (is_space(r))
		return true;
	switch (r) {
	case L_EOF:
	case '.':
	case ',':
	case '|':
	case ':':
	case ')':
	case '(':
	case '}': /* first rune of the right delimiter */ return true;
	}
	return false;
}

static bool accept(struct lexer *l, const char *valid)
{
	int r = lx_next(l);
	if (r != L_EOF && r < 0x80 && strchr(valid, r))
		return true;
	lx_backup(l);
	return false;
}

static void accept_run(struct lexer *l, const char *valid)
{
	for (;;) {
		int r = lx_next(l);
		if (r == L_EOF || r >= 0x80 || !strchr(valid, r))
			break;
	}
	lx_backup(l);
}

static bool scan_number(struct lexer *l)
{
	accept(l, "+-");
	const char *digits = "0123456789_";
	if (accept(l, "0")) {
		if (accept(l, "xX"))
			digits = "0123456789abcdefABCDEF_";
		else if (accept(l, "oO"))
			digits = "01234567_";
		else if (accept(l, "bB"))
			digits = "01_";
	}
	accept_run(l, digits);
	if (accept(l, "."))
		accept_run(l, digits);
	if (strlen(digits) == 11 && accept(l, "eE")) {
		accept(l, "+-");
		accept_run(l, "0123456789_");
	}
	if (strlen(digits) == 23 && accept(l, "pP")) {
		accept(l, "+-");
		accept_run(l, "0123456789_");
	}
	accept(l, "i");
	if (is_alnum(lx_peek(l))) {
		lx_next(l);
		return false;
	}
	return true;
}

enum lstate { LS_TEXT, LS_LEFT, LS_RIGHT, LS_INSIDE, LS_DONE };

static enum lstate lex_left(struct lexer *l);
static enum lstate lex_inside(struct lexer *l);

static enum lstate lex_text(struct lexer *l)
{
	const char *p = l->pos < l->n ? memmem(l->in + l->pos, l->n - l->pos, "{{", 2) : NULL;
	if (p) {
		size_t x = (size_t)(p - l->in);
		size_t trim = 0;
		if (left_trim_marker(l, x + 2))
			trim = rtrim_len(l->in + l->start, x - l->start);
		l->pos = x - trim;
		if (l->pos > l->start)
			emit(l, I_TEXT);
		l->pos = x;
		l->start = l->pos;
		return LS_LEFT;
	}
	l->pos = l->n;
	if (l->pos > l->start)
		emit(l, I_TEXT);
	emit(l, I_EOF);
	return LS_DONE;
}

static enum lstate lex_comment(struct lexer *l)
{
	l->pos += 2;
	const char *e = l->pos < l->n ? memmem(l->in + l->pos, l->n - l->pos, "*/", 2) : NULL;
	if (!e) {
		lx_errorf(l, "unclosed comment");
		return LS_DONE;
	}
	l->pos = (size_t)(e - l->in) + 2;
	bool trim;
	if (!at_right_delim(l, &trim)) {
		lx_errorf(l, "comment ends before closing delimiter");
		return LS_DONE;
	}
	if (trim)
		l->pos += 2;
	l->pos += 2;
	if (trim)
		l->pos += ltrim_len(l->in + l->pos, l->n - l->pos);
	l->start = l->pos;
	return LS_TEXT;
}

static enum lstate lex_left(struct lexer *l)
{
	l->pos += 2;
	bool trim = left_trim_marker(l, l->pos);
	size_t after = trim ? 2 : 0;
	if (has_prefix(l, l->pos + after, "/*")) {
		l->pos += after;
		l->start = l->pos;
		return lex_comment(l);
	}
	emit(l, I_LDELIM);
	l->pos += after;
	l->start = l->pos;
	l->paren = 0;
	return LS_INSIDE;
}

static enum lstate lex_right(struct lexer *l)
{
	bool trim = right_trim_marker(l, l->pos);
	if (trim) {
		l->pos += 2;
		l->start = l->pos;
	}
	l->pos += 2;
	emit(l, I_RDELIM);
	if (trim) {
		l->pos += ltrim_len(l->in + l->pos, l->n - l->pos);
		l->start = l->pos;
	}
	return LS_TEXT;
}

static enum lstate lex_space(struct lexer *l)
{
	int nspaces = 0;
	for (;;) {
		int r = lx_peek(l);
		if (!is_space(r))
			break;
		lx_next(l);
		nspaces++;
	}
	/* A trim-marked closing delimiter: the last space belongs to " -}}". */
	if (right_trim_marker(l, l->pos - 1) && has_prefix(l, l->pos + 1, "}}")) {
		l->pos--;
		if (nspaces == 1)
			return lex_right(l);
	}
	emit(l, I_SPACE);
	return LS_INSIDE;
}

static enum lstate lex_field_or_var(struct lexer *l, enum itype typ)
{
	if (at_terminator(l)) {
		emit(l, typ == I_VARIABLE ? I_VARIABLE : I_DOT);
		return LS_INSIDE;
	}
	int r;
	for (;;) {
		r = lx_next(l);
		if (!is_alnum(r)) {
			lx_backup(l);
			break;
		}
	}
	if (!at_terminator(l)) {
		char u[32];
		fmt_U(u, sizeof(u), r);
		lx_errorf(l, "bad character %s", u);
		return LS_DONE;
	}
	emit(l, typ);
	return LS_INSIDE;
}

static enum lstate lex_identifier(struct lexer *l)
{
	int r;
	for (;;) {
		r = lx_next(l);
		if (!is_alnum(r)) {
			lx_backup(l);
			break;
		}
	}
	if (!at_terminator(l)) {
		char u[32];
		fmt_U(u, sizeof(u), r);
		lx_errorf(l, "bad character %s", u);
		return LS_DONE;
	}
	size_t len = l->pos - l->start;
	const char *w = l->in + l->start;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].word) == len && memcmp(keywords[i].word, w, len) == 0) {
			emit(l, keywords[i].typ);
			return LS_INSIDE;
		}
	}
	if (w[0] == '.')
		emit(l, I_FIELD);
	else if ((len == 4 && memcmp(w, "true", 4) == 0) || (len == 5 && memcmp(w, "false", 5) == 0))
		emit(l, I_BOOL);
	else
		emit(l, I_IDENT);
	return LS_INSIDE;
}

static enum lstate lex_quote(struct lexer *l, int q, enum itype typ, const char *unterminated)
{
	for (;;) {
		int r = lx_next(l);
		if (r == '\\' && q != '`') {
			r = lx_next(l);
			if (r != L_EOF && r != '\n')
				continue;
			lx_errorf(l, "%s", unterminated);
			return LS_DONE;
		}
		if (r == L_EOF || (r == '\n' && q != '`')) {
			lx_errorf(l, "%s", unterminated);
			return LS_DONE;
		}
		if (r == q)
			break;
	}
	emit(l, typ);
	return LS_INSIDE;
}

static enum lstate lex_number(struct lexer *l)
{
	if (!scan_number(l)) {
		struct berth_buf q = {0};
		go_quote(&q, l->in + l->start, l->pos - l->start);
		lx_errorf(l, "bad number syntax: %s", berth_buf_str(&q));
		berth_buf_free(&q);
		return LS_DONE;
	}
	int sign = lx_peek(l);
	if (sign == '+' || sign == '-') {
		if (!scan_number(l) || l->in[l->pos - 1] != 'i') {
			struct berth_buf q = {0};
			go_quote(&q, l->in + l->start, l->pos - l->start);
			lx_errorf(l, "bad number syntax: %s", berth_buf_str(&q));
			berth_buf_free(&q);
			return LS_DONE;
		}
		emit(l, I_COMPLEX);
	} else {
		emit(l, I_NUMBER);
	}
	return LS_INSIDE;
}

static enum lstate lex_inside(struct lexer *l)
{
	bool trim;
	if (at_right_delim(l, &trim)) {
		if (l->paren == 0)
			return lex_right(l);
		lx_errorf(l, "unclosed left paren");
		return LS_DONE;
	}
	int r = lx_next(l);
	if (r == L_EOF) {
		lx_errorf(l, "unclosed action");
		return LS_DONE;
	}
	if (is_space(r)) {
		lx_backup(l);
		return lex_space(l);
	}
	switch (r) {
	case '=': emit(l, I_ASSIGN); return LS_INSIDE;
	case ':':
		if (lx_next(l) != '=') {
			lx_errorf(l, "expected :=");
			return LS_DONE;
		}
		emit(l, I_DECLARE);
		return LS_INSIDE;
	case '|': emit(l, I_PIPE); return LS_INSIDE;
	case '"': return lex_quote(l, '"', I_STRING, "unterminated quoted string");
	case '`': return lex_quote(l, '`', I_RAWSTRING, "unterminated raw quoted string");
	case '\'': return lex_quote(l, '\'', I_CHARCONST, "unterminated character constant");
	case '$': return lex_field_or_var(l, I_VARIABLE);
	case '.':
		if (l->pos < l->n) {
			char c = l->in[l->pos];
			if (c < '0' || c > '9')
				return lex_field_or_var(l, I_FIELD);
		}
		lx_backup(l);
		return lex_number(l);
	case '(':
		emit(l, I_LPAREN);
		l->paren++;
		return LS_INSIDE;
	case ')':
		emit(l, I_RPAREN);
		l->paren--;
		if (l->paren < 0) {
			lx_errorf(l, "unexpected right paren");
			return LS_DONE;
		}
		return LS_INSIDE;
	}
	if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
		lx_backup(l);
		return lex_number(l);
	}
	if (is_alnum(r)) {
		lx_backup(l);
		return lex_identifier(l);
	}
	if (r < 0x7f && r >= 0x20) {
		emit(l, I_CHAR);
		return LS_INSIDE;
	}
	char u[32];
	fmt_U(u, sizeof(u), r);
	lx_errorf(l, "unrecognized character in action: %s", u);
	return LS_DONE;
}

int tmpl_lex(const char *in, size_t n, struct tmpl_item **items, size_t *nitems, char **errmsg)
{
	struct lexer l = {.in = in, .n = n, .line = 1};
	enum lstate s = LS_TEXT;
	while (s != LS_DONE && !l.oom) {
		switch (s) {
		case LS_TEXT: s = lex_text(&l); break;
		case LS_LEFT: s = lex_left(&l); break;
		case LS_RIGHT: s = lex_right(&l); break;
		case LS_INSIDE: s = lex_inside(&l); break;
		case LS_DONE: break;
		}
	}
	*items = l.items;
	*nitems = l.nitems;
	*errmsg = l.errmsg;
	return l.oom || l.nitems == 0 ? -1 : 0;
}
