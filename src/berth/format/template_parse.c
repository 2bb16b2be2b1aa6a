/* Go text/template parser (behaviour of text/template/parse/parse.go). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "gofmt.h"
#include "template_int.h"

/* ------------------------------------------------------------------ parser */

struct parser {
	struct berth_tmpl *t;
	struct tmpl_item *items;
	size_t nitems;
	size_t i;  /* next item */
	size_t hi; /* furthest item looked at */
	const char **vars;
	size_t nvars, vcap;
	int range_depth;
	int depth;
	jmp_buf jb;
	char msg[1024];
};

#define MAX_DEPTH 1000

__attribute__((format(printf, 2, 3), noreturn)) static void p_errorf(struct parser *p, const char *fmt, ...)
{
	char m[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	int line = p->nitems ? p->items[p->hi < p->nitems ? p->hi : p->nitems - 1].line : 1;
	snprintf(p->msg, sizeof(p->msg), "template: :%d: %s", line, m);
	longjmp(p->jb, 1);
}

static struct tmpl_item *p_next(struct parser *p)
{
	size_t idx = p->i < p->nitems ? p->i : p->nitems - 1;
	if (idx > p->hi)
		p->hi = idx;
	p->i = idx + 1; /* may be nitems: backup() then returns to the last item */
	return &p->items[idx];
}

static void p_backup(struct parser *p)
{
	if (p->i > 0)
		p->i--;
}

static struct tmpl_item *p_peek(struct parser *p)
{
	size_t i = p->i < p->nitems ? p->i : p->nitems - 1;
	if (i > p->hi)
		p->hi = i;
	return &p->items[i];
}

static struct tmpl_item *p_next_nonspace(struct parser *p)
{
	struct tmpl_item *it;
	do
		it = p_next(p);
	while (it->typ == I_SPACE);
	return it;
}

static struct tmpl_item *p_peek_nonspace(struct parser *p)
{
	struct tmpl_item *it = p_next_nonspace(p);
	p_backup(p);
	return it;
}

/* item.String() */
static void item_string(struct berth_buf *b, const struct tmpl_item *it)
{
	if (it->typ == I_EOF) {
		berth_buf_append(b, "EOF", 3);
	} else if (it->typ == I_ERROR) {
		berth_buf_append(b, it->val, it->len);
	} else if (it->typ > I_KEYWORD) {
		berth_buf_putc(b, '<');
		berth_buf_append(b, it->val, it->len);
		berth_buf_putc(b, '>');
	} else if (go_rune_count(it->val, it->len) > 10) {
		size_t i = 0;
		for (int n = 0; n < 10; n++) {
			unsigned r;
			i += go_decode_rune(it->val + i, it->len - i, &r);
		}
		go_quote(b, it->val, i);
		berth_buf_append(b, "...", 3);
	} else {
		go_quote(b, it->val, it->len);
	}
}

__attribute__((noreturn)) static void p_unexpected(struct parser *p, const struct tmpl_item *it, const char *context)
{
	struct berth_buf b = {0};
	item_string(&b, it);
	char s[256];
	snprintf(s, sizeof(s), "%s", berth_buf_str(&b));
	berth_buf_free(&b);
	if (it->typ == I_ERROR)
		p_errorf(p, "%s", s);
	p_errorf(p, "unexpected %s in %s", s, context);
}

static struct tmpl_item *p_expect(struct parser *p, enum itype t, const char *context)
{
	struct tmpl_item *it = p_next_nonspace(p);
	if (it->typ != t)
		p_unexpected(p, it, context);
	return it;
}

static void *p_alloc(struct parser *p, size_t n)
{
	void *v = calloc(1, n ? n : 1);
	if (!v)
		p_errorf(p, "out of memory");
	return v;
}

static char *p_strndup(struct parser *p, const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		p_errorf(p, "out of memory");
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static struct tnode *new_node(struct parser *p, enum tnode_type type, size_t pos, int line)
{
	struct tnode *n = p_alloc(p, sizeof(*n));
	n->type = type;
	n->pos = pos;
	n->line = line;
	n->next_alloc = p->t->arena;
	p->t->arena = n;
	return n;
}

static void add_kid(struct parser *p, struct tnode *n, struct tnode *kid)
{
	if (n->nkids == n->kcap) {
		size_t nc = n->kcap ? n->kcap * 2 : 4;
		struct tnode **k = realloc(n->kids, nc * sizeof(*k));
		if (!k)
			p_errorf(p, "out of memory");
		n->kids = k;
		n->kcap = nc;
	}
	n->kids[n->nkids++] = kid;
}

static void add_decl(struct parser *p, struct tnode *pipe, struct tnode *v)
{
	struct tnode **d = realloc(pipe->decl, (pipe->ndecl + 1) * sizeof(*d));
	if (!d)
		p_errorf(p, "out of memory");
	pipe->decl = d;
	pipe->decl[pipe->ndecl++] = v;
}

static void push_var(struct parser *p, const char *name)
{
	if (p->nvars == p->vcap) {
		size_t nc = p->vcap ? p->vcap * 2 : 8;
		const char **v = realloc(p->vars, nc * sizeof(*v));
		if (!v)
			p_errorf(p, "out of memory");
		p->vars = v;
		p->vcap = nc;
	}
	p->vars[p->nvars++] = name;
}

/* Split "a.b.c" (or ".a.b" with skip_dot) into n->ident. */
static void set_ident(struct parser *p, struct tnode *n, const char *s, size_t len)
{
	size_t cnt = 1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '.')
			cnt++;
	n->ident = p_alloc(p, cnt * sizeof(char *));
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			n->ident[n->nident++] = p_strndup(p, s + start, i - start);
			start = i + 1;
		}
	}
}

static struct tnode *new_field(struct parser *p, size_t pos, int line, const char *s, size_t len)
{
	struct tnode *n = new_node(p, TN_FIELD, pos, line);
	set_ident(p, n, s + 1, len - 1); /* drop the leading '.' */
	return n;
}

static struct tnode *new_variable(struct parser *p, size_t pos, int line, const char *s, size_t len)
{
	struct tnode *n = new_node(p, TN_VARIABLE, pos, line);
	set_ident(p, n, s, len);
	return n;
}

/* strconv.UnquoteChar-like: decode one (possibly escaped) char of a quoted
 * literal at s[*i]; appends to b. Returns false on syntax error. For char
 * constants *rune_out receives the value. */
static bool unquote_char(const char *s, size_t len, size_t *i, char q, struct berth_buf *b, long long *rune_out)
{
	unsigned char c = (unsigned char)s[*i];
	if (c == (unsigned char)q && (q == '\'' || q == '"'))
		return false;
	if (c != '\\') {
		unsigned r;
		size_t w = go_decode_rune(s + *i, len - *i, &r);
		berth_buf_append(b, s + *i, w);
		*rune_out = r;
		*i += w;
		return true;
	}
	if (*i + 1 >= len)
		return false;
	char e = s[*i + 1];
	*i += 2;
	long long v;
	switch (e) {
	case 'a': v = '\a'; break;
	case 'b': v = '\b'; break;
	case 'f': v = '\f'; break;
	case 'n': v = '\n'; break;
	case 'r': v = '\r'; break;
	case 't': v = '\t'; break;
	case 'v': v = '\v'; break;
	case '\\': v = '\\'; break;
	case '\'':
	case '"':
		if (e != q)
			return false;
		v = e;
		break;
	case 'x':
	case 'u':
	case 'U': {
		int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
		if (*i + (size_t)n > len)
			return false;
		v = 0;
		for (int k = 0; k < n; k++) {
			int h = berth_hexval((unsigned char)s[*i + (size_t)k]);
			if (h < 0)
				return false;
			v = v * 16 + h;
		}
		*i += (size_t)n;
		if (e == 'x') {
			char byte = (char)v;
			berth_buf_append(b, &byte, 1);
			*rune_out = v;
			return true;
		}
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return false;
		go_encode_rune(b, (unsigned)v);
		*rune_out = v;
		return true;
	}
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7': {
		if (*i + 2 > len)
			return false;
		v = e - '0';
		for (int k = 0; k < 2; k++) {
			char d = s[*i + (size_t)k];
			if (d < '0' || d > '7')
				return false;
			v = v * 8 + (d - '0');
		}
		*i += 2;
		if (v > 255)
			return false;
		char byte = (char)v;
		berth_buf_append(b, &byte, 1);
		*rune_out = v;
		return true;
	}
	default: return false;
	}
	char ch = (char)v;
	berth_buf_append(b, &ch, 1);
	*rune_out = v;
	return true;
}

/* strconv.Unquote of a "..." or `...` token. Returns false on syntax error. */
static bool unquote(const char *s, size_t len, struct berth_buf *b)
{
	if (len < 2 || s[len - 1] != s[0])
		return false;
	if (s[0] == '`') {
		for (size_t i = 1; i + 1 < len; i++)
			if (s[i] != '\r')
				berth_buf_putc(b, s[i]);
		berth_buf_append(b, "", 0);
		return true;
	}
	if (s[0] != '"')
		return false;
	berth_buf_append(b, "", 0);
	for (size_t i = 1; i < len - 1;) {
		long long r;
		if (s[i] == '\n')
			return false;
		if (!unquote_char(s, len - 1, &i, '"', b, &r))
			return false;
	}
	return true;
}

static bool parse_go_uint(const char *s, unsigned long long *out)
{
	int base = 10;
	const char *d = s;
	if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
		base = 16;
		d += 2;
	} else if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O')) {
		base = 8;
		d += 2;
	} else if (d[0] == '0' && (d[1] == 'b' || d[1] == 'B')) {
		base = 2;
		d += 2;
	} else if (d[0] == '0' && d[1]) {
		base = 8;
		d += 1;
	}
	if (!*d)
		return false;
	unsigned long long v = 0;
	bool any = false;
	for (; *d; d++) {
		if (*d == '_' && base != 10)
			continue;
		int h = berth_hexval((unsigned char)*d);
		if (h < 0 || h >= base)
			return false;
		if (v > (~0ULL - (unsigned)h) / (unsigned)base)
			return false; /* overflow */
		v = v * (unsigned)base + (unsigned)h;
		any = true;
	}
	*out = v;
	return any;
}

static struct tnode *new_number(struct parser *p, const struct tmpl_item *it)
{
	struct tnode *n = new_node(p, TN_NUMBER, it->pos, it->line);
	n->quoted = p_strndup(p, it->val, it->len);
	const char *text = n->quoted;
	if (it->typ == I_CHARCONST) {
		struct berth_buf b = {0};
		size_t i = 1;
		long long r = 0;
		bool ok = it->len >= 3 && unquote_char(text, it->len, &i, '\'', &b, &r);
		berth_buf_free(&b);
		if (!ok)
			p_errorf(p, "invalid syntax");
		if (i != it->len - 1)
			p_errorf(p, "malformed character constant: %s", text);
		n->is_int = n->is_float = true;
		n->ival = r;
		n->fval = (double)r;
		return n;
	}
	if (it->typ == I_COMPLEX)
		p_errorf(p, "complex constants are not supported: %s", text);
	/* integers */
	const char *t = text;
	bool neg = false;
	if (*t == '+' || *t == '-') {
		neg = *t == '-';
		t++;
	}
	unsigned long long u;
	if (parse_go_uint(t, &u)) {
		if (!neg && u <= (unsigned long long)LLONG_MAX) {
			n->is_int = true;
			n->ival = (long long)u;
		} else if (neg && u <= (unsigned long long)LLONG_MAX + 1ULL) {
			n->is_int = true;
			n->ival = u == (unsigned long long)LLONG_MAX + 1ULL ? LLONG_MIN : -(long long)u;
		}
	}
	if (n->is_int) {
		n->is_float = true;
		n->fval = (double)n->ival;
		return n;
	}
	/* floats */
	char clean[128];
	size_t k = 0;
	for (const char *c = text; *c && k + 1 < sizeof(clean); c++)
		if (*c != '_')
			clean[k++] = *c;
	clean[k] = '\0';
	char *end = NULL;
	errno = 0;
	double f = k ? strtod(clean, &end) : 0;
	bool ok = k && end && *end == '\0' && strspn(clean, "+-0123456789.eEpPxXabcdefABCDEF") == k &&
		  strcspn(clean, "0123456789") < k;
	if (ok) {
		if (!strpbrk(text, ".eEpP")) {
			struct berth_buf q = {0};
			go_quote(&q, text, strlen(text));
			char s[160];
			snprintf(s, sizeof(s), "%s", berth_buf_str(&q));
			berth_buf_free(&q);
			p_errorf(p, "integer overflow: %s", s);
		}
		n->is_float = true;
		n->fval = f;
		/* range first: the cast is undefined outside it */
		if (f > -9.2e18 && f < 9.2e18 && f == (double)(long long)f) {
			n->is_int = true;
			n->ival = (long long)f;
		}
		return n;
	}
	struct berth_buf q = {0};
	go_quote(&q, text, strlen(text));
	char s[160];
	snprintf(s, sizeof(s), "%s", berth_buf_str(&q));
	berth_buf_free(&q);
	p_errorf(p, "illegal number syntax: %s", s);
}

static bool has_function(struct parser *p, const char *name)
{
	if (tmpl_find_func(p->t, name, false))
		return true;
	return tmpl_find_builtin(name, false) != NULL;
}

static struct tnode *parse_pipeline(struct parser *p, const char *context, enum itype end);
static struct tnode *parse_list(struct parser *p, struct tnode **next);
static struct tnode *parse_if(struct parser *p);
static struct tnode *parse_with(struct parser *p);

static struct tnode *parse_term(struct parser *p)
{
	struct tmpl_item *tok = p_next_nonspace(p);
	switch (tok->typ) {
	case I_ERROR: p_errorf(p, "%.*s", (int)tok->len, tok->val);
	case I_IDENT: {
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)tok->len, tok->val);
		if (!has_function(p, name)) {
			struct berth_buf q = {0};
			go_quote(&q, tok->val, tok->len);
			char s[300];
			snprintf(s, sizeof(s), "%s", berth_buf_str(&q));
			berth_buf_free(&q);
			p_errorf(p, "function %s not defined", s);
		}
		struct tnode *n = new_node(p, TN_IDENT, tok->pos, tok->line);
		n->text = p_strndup(p, tok->val, tok->len);
		n->text_len = tok->len;
		return n;
	}
	case I_DOT: return new_node(p, TN_DOT, tok->pos, tok->line);
	case I_NIL: return new_node(p, TN_NIL, tok->pos, tok->line);
	case I_VARIABLE: {
		for (size_t i = 0; i < p->nvars; i++)
			if (strlen(p->vars[i]) == tok->len && memcmp(p->vars[i], tok->val, tok->len) == 0)
				return new_variable(p, tok->pos, tok->line, tok->val, tok->len);
		struct berth_buf q = {0};
		go_quote(&q, tok->val, tok->len);
		char s[300];
		snprintf(s, sizeof(s), "%s", berth_buf_str(&q));
		berth_buf_free(&q);
		p_errorf(p, "undefined variable %s", s);
	}
	case I_FIELD: return new_field(p, tok->pos, tok->line, tok->val, tok->len);
	case I_BOOL: {
		struct tnode *n = new_node(p, TN_BOOL, tok->pos, tok->line);
		n->bval = tok->len == 4;
		return n;
	}
	case I_CHARCONST:
	case I_COMPLEX:
	case I_NUMBER: return new_number(p, tok);
	case I_LPAREN: {
		if (++p->depth > MAX_DEPTH)
			p_errorf(p, "max expression depth exceeded");
		struct tnode *pipe = parse_pipeline(p, "parenthesized pipeline", I_RPAREN);
		p->depth--;
		struct tmpl_item *t2 = p_next(p);
		if (t2->typ != I_RPAREN) {
			struct berth_buf b = {0};
			item_string(&b, t2);
			char s[256];
			snprintf(s, sizeof(s), "%s", berth_buf_str(&b));
			berth_buf_free(&b);
			p_errorf(p, "unclosed right paren: unexpected %s", s);
		}
		return pipe;
	}
	case I_STRING:
	case I_RAWSTRING: {
		struct berth_buf b = {0};
		if (!unquote(tok->val, tok->len, &b)) {
			berth_buf_free(&b);
			p_errorf(p, "invalid syntax");
		}
		struct tnode *n = new_node(p, TN_STRING, tok->pos, tok->line);
		n->text_len = b.len;
		n->text = berth_buf_steal(&b);
		n->quoted = p_strndup(p, tok->val, tok->len);
		return n;
	}
	default: break;
	}
	p_backup(p);
	return NULL;
}

static struct tnode *parse_operand(struct parser *p)
{
	struct tnode *node = parse_term(p);
	if (!node)
		return NULL;
	if (p_peek(p)->typ != I_FIELD)
		return node;
	struct tmpl_item *first = p_peek(p);
	size_t cpos = first->pos;
	int cline = first->line;
	struct berth_buf fields = {0};
	while (p_peek(p)->typ == I_FIELD) {
		struct tmpl_item *f = p_next(p);
		berth_buf_append(&fields, f->val, f->len);
	}
	switch (node->type) {
	case TN_FIELD:
	case TN_VARIABLE: {
		struct berth_buf s = {0};
		tmpl_node_string(&s, node);
		berth_buf_append(&s, fields.data, fields.len);
		berth_buf_free(&fields);
		struct tnode *n = node->type == TN_FIELD ? new_field(p, cpos, cline, s.data, s.len) :
							   new_variable(p, cpos, cline, s.data, s.len);
		berth_buf_free(&s);
		return n;
	}
	case TN_BOOL:
	case TN_STRING:
	case TN_NUMBER:
	case TN_NIL:
	case TN_DOT: {
		berth_buf_free(&fields);
		struct berth_buf s = {0}, q = {0};
		tmpl_node_string(&s, node);
		go_quote(&q, berth_buf_str(&s), s.len);
		char m[300];
		snprintf(m, sizeof(m), "%s", berth_buf_str(&q));
		berth_buf_free(&s);
		berth_buf_free(&q);
		p_errorf(p, "unexpected . after term %s", m);
	}
	default: break;
	}
	struct tnode *chain = new_node(p, TN_CHAIN, cpos, cline);
	chain->node = node;
	/* fields are ".A.B": drop the leading dot */
	char *fs = fields.len > 1 ? strndup(fields.data + 1, fields.len - 1) : NULL;
	berth_buf_free(&fields);
	if (!fs)
		p_errorf(p, "out of memory");
	chain->text = fs; /* owned by the node from here on */
	chain->text_len = strlen(fs);
	set_ident(p, chain, fs, chain->text_len);
	return chain;
}

static struct tnode *parse_command(struct parser *p)
{
	struct tmpl_item *first = p_peek_nonspace(p);
	struct tnode *cmd = new_node(p, TN_COMMAND, first->pos, first->line);
	for (;;) {
		p_peek_nonspace(p);
		struct tnode *op = parse_operand(p);
		if (op)
			add_kid(p, cmd, op);
		struct tmpl_item *tok = p_next(p);
		switch (tok->typ) {
		case I_SPACE: continue;
		case I_ERROR: p_errorf(p, "%.*s", (int)tok->len, tok->val);
		case I_RDELIM:
		case I_RPAREN: p_backup(p); break;
		case I_PIPE: break;
		default: p_unexpected(p, tok, "operand");
		}
		break;
	}
	if (cmd->nkids == 0)
		p_errorf(p, "empty command");
	return cmd;
}

static void check_pipeline(struct parser *p, struct tnode *pipe, const char *context)
{
	if (pipe->nkids == 0)
		p_errorf(p, "missing value for %s", context);
	for (size_t i = 1; i < pipe->nkids; i++) {
		switch (pipe->kids[i]->kids[0]->type) {
		case TN_BOOL:
		case TN_DOT:
		case TN_NIL:
		case TN_NUMBER:
		case TN_STRING: p_errorf(p, "non executable command in pipeline stage %zu", i + 1);
		default: break;
		}
	}
}

static struct tnode *parse_pipeline(struct parser *p, const char *context, enum itype end)
{
	struct tmpl_item *tok = p_peek_nonspace(p);
	struct tnode *pipe = new_node(p, TN_PIPE, tok->pos, tok->line);
decls:;
	struct tmpl_item *v = p_peek_nonspace(p);
	if (v->typ == I_VARIABLE) {
		size_t vidx = p->i;
		p_next(p);
		struct tmpl_item *next = p_peek_nonspace(p);
		if (next->typ == I_ASSIGN || next->typ == I_DECLARE) {
			pipe->is_assign = next->typ == I_ASSIGN;
			p_next_nonspace(p);
			add_decl(p, pipe, new_variable(p, v->pos, v->line, v->val, v->len));
			struct tnode *d = pipe->decl[pipe->ndecl - 1];
			push_var(p, d->ident[0]);
		} else if (next->typ == I_CHAR && next->len == 1 && next->val[0] == ',') {
			p_next_nonspace(p);
			add_decl(p, pipe, new_variable(p, v->pos, v->line, v->val, v->len));
			struct tnode *d = pipe->decl[pipe->ndecl - 1];
			push_var(p, d->ident[0]);
			if (strcmp(context, "range") == 0 && pipe->ndecl < 2) {
				switch (p_peek_nonspace(p)->typ) {
				case I_VARIABLE:
				case I_RDELIM:
				case I_RPAREN: goto decls;
				default: p_errorf(p, "range can only initialize variables");
				}
			}
			p_errorf(p, "too many declarations in %s", context);
		} else {
			p->i = vidx;
		}
	}
	for (;;) {
		struct tmpl_item *t = p_next_nonspace(p);
		if (t->typ == end) {
			check_pipeline(p, pipe, context);
			if (t->typ == I_RPAREN)
				p_backup(p);
			return pipe;
		}
		switch (t->typ) {
		case I_BOOL:
		case I_CHARCONST:
		case I_COMPLEX:
		case I_DOT:
		case I_FIELD:
		case I_IDENT:
		case I_NUMBER:
		case I_NIL:
		case I_RAWSTRING:
		case I_STRING:
		case I_VARIABLE:
		case I_LPAREN:
			p_backup(p);
			add_kid(p, pipe, parse_command(p));
			break;
		default: p_unexpected(p, t, context);
		}
	}
}

static struct tnode *parse_control(struct parser *p, enum tnode_type type, const char *context)
{
	size_t nvars = p->nvars;
	if (++p->depth > MAX_DEPTH)
		p_errorf(p, "max expression depth exceeded");
	struct tnode *pipe = parse_pipeline(p, context, I_RDELIM);
	struct tnode *n = new_node(p, type, pipe->pos, pipe->line);
	n->pipe = pipe;
	struct tnode *next;
	if (type == TN_RANGE)
		p->range_depth++;
	n->list = parse_list(p, &next);
	if (type == TN_RANGE)
		p->range_depth--;
	if (next->type == TN_ELSE) {
		if (type == TN_IF && p_peek(p)->typ == I_IF) {
			p_next(p);
			n->else_list = new_node(p, TN_LIST, next->pos, next->line);
			add_kid(p, n->else_list, parse_if(p));
		} else if (type == TN_WITH && p_peek(p)->typ == I_WITH) {
			p_next(p);
			n->else_list = new_node(p, TN_LIST, next->pos, next->line);
			add_kid(p, n->else_list, parse_with(p));
		} else {
			n->else_list = parse_list(p, &next);
			if (next->type != TN_END) {
				struct berth_buf s = {0};
				tmpl_node_string(&s, next);
				char m[256];
				snprintf(m, sizeof(m), "%s", berth_buf_str(&s));
				berth_buf_free(&s);
				p_errorf(p, "expected end; found %s", m);
			}
		}
	}
	p->nvars = nvars;
	p->depth--;
	return n;
}

static struct tnode *parse_if(struct parser *p) { return parse_control(p, TN_IF, "if"); }
static struct tnode *parse_with(struct parser *p) { return parse_control(p, TN_WITH, "with"); }

static char *parse_template_name(struct parser *p, struct tmpl_item *tok, const char *context)
{
	if (tok->typ != I_STRING && tok->typ != I_RAWSTRING)
		p_unexpected(p, tok, context);
	struct berth_buf b = {0};
	if (!unquote(tok->val, tok->len, &b)) {
		berth_buf_free(&b);
		p_errorf(p, "invalid syntax");
	}
	return berth_buf_steal(&b);
}

static bool is_space(int r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }

static bool is_empty_tree(const struct tnode *root)
{
	for (size_t k = 0; root && k < root->nkids; k++) {
		const struct tnode *c = root->kids[k];
		if (c->type != TN_TEXT)
			return false;
		for (size_t j = 0; j < c->text_len; j++)
			if (!is_space((unsigned char)c->text[j]))
				return false;
	}
	return true;
}

/* Takes ownership of name. */
static void add_def(struct parser *p, char *name, struct tnode *root)
{
	struct berth_tmpl *t = p->t;
	for (size_t i = 0; i < t->ndefs; i++) {
		if (strcmp(t->defs[i].name, name) != 0)
			continue;
		if (is_empty_tree(t->defs[i].root)) {
			free(name);
			t->defs[i].root = root;
			return;
		}
		if (!is_empty_tree(root)) {
			struct berth_buf q = {0};
			go_quote(&q, name, strlen(name));
			char m[300];
			snprintf(m, sizeof(m), "%s", berth_buf_str(&q));
			berth_buf_free(&q);
			free(name);
			p_errorf(p, "template: multiple definition of template %s", m);
		}
		free(name);
		return;
	}
	struct tmpl_def *d = realloc(t->defs, (t->ndefs + 1) * sizeof(*d));
	if (!d) {
		free(name);
		p_errorf(p, "out of memory");
	}
	t->defs = d;
	t->defs[t->ndefs].name = name;
	t->defs[t->ndefs].root = root;
	t->ndefs++;
}

static struct tnode *parse_template_control(struct parser *p, bool block)
{
	const char *context = block ? "block clause" : "template clause";
	struct tmpl_item *tok = p_next_nonspace(p);
	char *name = parse_template_name(p, tok, context);
	struct tnode *n = new_node(p, TN_TEMPLATE, tok->pos, tok->line);
	n->text = name;
	n->text_len = strlen(name);
	if (block) {
		n->pipe = parse_pipeline(p, context, I_RDELIM);
		struct tnode *end;
		size_t nvars = p->nvars;
		int range_depth = p->range_depth;
		p->nvars = 1; /* a block body is its own template: only $, no enclosing range */
		p->range_depth = 0;
		struct tnode *root = parse_list(p, &end);
		p->nvars = nvars;
		p->range_depth = range_depth;
		if (end->type != TN_END) {
			struct berth_buf s = {0};
			tmpl_node_string(&s, end);
			char m[256];
			snprintf(m, sizeof(m), "%s", berth_buf_str(&s));
			berth_buf_free(&s);
			p_errorf(p, "unexpected %s in %s", m, context);
		}
		add_def(p, p_strndup(p, name, n->text_len), root);
		return n;
	}
	if (p_next_nonspace(p)->typ != I_RDELIM) {
		p_backup(p);
		n->pipe = parse_pipeline(p, context, I_RDELIM);
	}
	return n;
}

static struct tnode *parse_action(struct parser *p)
{
	struct tmpl_item *tok = p_next_nonspace(p);
	switch (tok->typ) {
	case I_BLOCK: return parse_template_control(p, true);
	case I_BREAK:
	case I_CONTINUE: {
		bool brk = tok->typ == I_BREAK;
		struct tmpl_item *t2 = p_next_nonspace(p);
		if (t2->typ != I_RDELIM)
			p_unexpected(p, t2, brk ? "{{break}}" : "{{continue}}");
		if (p->range_depth == 0)
			p_errorf(p, "%s outside {{range}}", brk ? "{{break}}" : "{{continue}}");
		return new_node(p, brk ? TN_BREAK : TN_CONTINUE, tok->pos, tok->line);
	}
	case I_ELSE: {
		struct tmpl_item *pk = p_peek_nonspace(p);
		if (pk->typ == I_IF || pk->typ == I_WITH)
			return new_node(p, TN_ELSE, pk->pos, pk->line);
		struct tmpl_item *t2 = p_expect(p, I_RDELIM, "else");
		return new_node(p, TN_ELSE, t2->pos, t2->line);
	}
	case I_END: {
		struct tmpl_item *t2 = p_expect(p, I_RDELIM, "end");
		return new_node(p, TN_END, t2->pos, t2->line);
	}
	case I_IF: return parse_if(p);
	case I_RANGE: return parse_control(p, TN_RANGE, "range");
	case I_TEMPLATE: return parse_template_control(p, false);
	case I_WITH: return parse_with(p);
	default: break;
	}
	p_backup(p);
	struct tmpl_item *pk = p_peek(p);
	size_t pos = pk->pos;
	int line = pk->line;
	struct tnode *pipe = parse_pipeline(p, "command", I_RDELIM);
	struct tnode *n = new_node(p, TN_ACTION, pos, line);
	n->pipe = pipe;
	return n;
}

static struct tnode *parse_text_or_action(struct parser *p)
{
	struct tmpl_item *tok = p_next_nonspace(p);
	switch (tok->typ) {
	case I_TEXT: {
		struct tnode *n = new_node(p, TN_TEXT, tok->pos, tok->line);
		n->text = p_strndup(p, tok->val, tok->len);
		n->text_len = tok->len;
		return n;
	}
	case I_LDELIM: return parse_action(p);
	default: p_unexpected(p, tok, "input");
	}
}

static struct tnode *parse_list(struct parser *p, struct tnode **next)
{
	struct tmpl_item *pk = p_peek_nonspace(p);
	struct tnode *list = new_node(p, TN_LIST, pk->pos, pk->line);
	while (p_peek_nonspace(p)->typ != I_EOF) {
		struct tnode *n = parse_text_or_action(p);
		if (n->type == TN_END || n->type == TN_ELSE) {
			*next = n;
			return list;
		}
		add_kid(p, list, n);
	}
	p_errorf(p, "unexpected EOF");
}

static void parse_definition(struct parser *p)
{
	const char *context = "define clause";
	struct tmpl_item *tok = p_next_nonspace(p);
	if (tok->typ != I_STRING && tok->typ != I_RAWSTRING)
		p_unexpected(p, tok, context);
	char *name = parse_template_name(p, tok, context);
	/* keep name reachable if we longjmp: stash in a node */
	struct tnode *holder = new_node(p, TN_TEXT, tok->pos, tok->line);
	holder->text = name;
	p_expect(p, I_RDELIM, context);
	size_t nvars = p->nvars;
	p->nvars = 1;
	struct tnode *end;
	struct tnode *root = parse_list(p, &end);
	p->nvars = nvars;
	if (end->type != TN_END) {
		struct berth_buf s = {0};
		tmpl_node_string(&s, end);
		char m[256];
		snprintf(m, sizeof(m), "%s", berth_buf_str(&s));
		berth_buf_free(&s);
		p_errorf(p, "unexpected %s in %s", m, context);
	}
	holder->text = NULL;
	add_def(p, name, root);
}

static void parse_top(struct parser *p)
{
	struct tnode *root = new_node(p, TN_LIST, p_peek(p)->pos, p_peek(p)->line);
	p->t->root = root;
	while (p_peek(p)->typ != I_EOF) {
		if (p_peek(p)->typ == I_LDELIM) {
			size_t di = p->i;
			p_next(p);
			if (p_next_nonspace(p)->typ == I_DEFINE) {
				parse_definition(p);
				continue;
			}
			p->i = di;
		}
		struct tnode *n = parse_text_or_action(p);
		if (n->type == TN_END || n->type == TN_ELSE) {
			struct berth_buf s = {0};
			tmpl_node_string(&s, n);
			char m[256];
			snprintf(m, sizeof(m), "%s", berth_buf_str(&s));
			berth_buf_free(&s);
			p_errorf(p, "unexpected %s", m);
		}
		add_kid(p, root, n);
	}
}

/* ------------------------------------------------------------------ API */

void berth_tmpl_free(struct berth_tmpl *t)
{
	if (!t)
		return;
	struct tnode *n = t->arena;
	while (n) {
		struct tnode *next = n->next_alloc;
		free(n->text);
		free(n->quoted);
		for (size_t i = 0; i < n->nident; i++)
			free(n->ident[i]);
		free(n->ident);
		free(n->kids);
		free(n->decl);
		free(n);
		n = next;
	}
	for (size_t i = 0; i < t->ndefs; i++)
		free(t->defs[i].name);
	free(t->defs);
	free(t->funcs);
	free(t->text);
	free(t);
}

struct berth_tmpl *berth_tmpl_parse_funcs(const char *src, const struct berth_tmpl_func *funcs, size_t nfuncs,
					  struct berth_error *err)
{
	struct berth_tmpl *t = calloc(1, sizeof(*t));
	if (!t) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	t->text = strdup(src ? src : "");
	if (nfuncs) {
		t->funcs = calloc(nfuncs, sizeof(*t->funcs));
		if (t->funcs) {
			memcpy(t->funcs, funcs, nfuncs * sizeof(*funcs));
			t->nfuncs = nfuncs;
		}
	}
	if (!t->text || (nfuncs && !t->funcs)) {
		berth_tmpl_free(t);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	struct tmpl_item *items = NULL;
	size_t nitems = 0;
	char *lexmsg = NULL;
	if (tmpl_lex(t->text, strlen(t->text), &items, &nitems, &lexmsg) < 0) {
		free(items);
		free(lexmsg);
		berth_tmpl_free(t);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	/* The parser needs an EOF or ERROR at the end (always present). */
	struct parser *p = calloc(1, sizeof(*p));
	if (!p) {
		free(items);
		free(lexmsg);
		berth_tmpl_free(t);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	p->t = t;
	p->items = items;
	p->nitems = nitems;
	static const char dollar[] = "$";
	if (setjmp(p->jb) == 0) {
		push_var(p, dollar);
		parse_top(p);
	} else {
		berth_err(err, BERTH_E_INVALID, "%s", p->msg);
		berth_tmpl_free(p->t);
		p->t = NULL;
	}
	struct berth_tmpl *res = p->t;
	free(p->vars);
	free(p);
	free(items);
	free(lexmsg);
	return res;
}

struct berth_tmpl *berth_tmpl_parse(const char *src, struct berth_error *err)
{
	return berth_tmpl_parse_funcs(src, NULL, 0, err);
}

const struct tmpl_def *tmpl_find_def(const struct berth_tmpl *t, const char *name)
{
	for (size_t i = 0; i < t->ndefs; i++)
		if (strcmp(t->defs[i].name, name) == 0)
			return &t->defs[i];
	return NULL;
}

const struct berth_tmpl_func *tmpl_find_func(const struct berth_tmpl *t, const char *name, bool method)
{
	for (size_t i = t->nfuncs; i > 0; i--) {
		const struct berth_tmpl_func *f = &t->funcs[i - 1];
		if (f->name && f->method == method && strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

void tmpl_node_location(const struct berth_tmpl *t, const struct tnode *n, int *line, int *col)
{
	size_t pos = n->pos;
	size_t len = strlen(t->text);
	if (pos > len)
		pos = len;
	int l = 1;
	size_t ls = 0;
	for (size_t i = 0; i < pos; i++) {
		if (t->text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	}
	*line = l;
	*col = (int)(pos - ls);
}

static void list_string(struct berth_buf *b, const struct tnode *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nkids; i++)
		tmpl_node_string(b, l->kids[i]);
}

static void idents(struct berth_buf *b, char *const *id, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			berth_buf_putc(b, '.');
		berth_buf_append(b, id[i], strlen(id[i]));
	}
}

static void control_string(struct berth_buf *b, const char *kw, const struct tnode *n)
{
	berth_buf_printf(b, "{{%s ", kw);
	tmpl_node_string(b, n->pipe);
	berth_buf_append(b, "}}", 2);
	list_string(b, n->list);
	if (n->else_list) {
		berth_buf_append(b, "{{else}}", 8);
		list_string(b, n->else_list);
	}
	berth_buf_append(b, "{{end}}", 7);
}

void tmpl_node_string(struct berth_buf *b, const struct tnode *n)
{
	if (!n)
		return;
	switch (n->type) {
	case TN_TEXT: berth_buf_append(b, n->text, n->text_len); break;
	case TN_ACTION:
		berth_buf_append(b, "{{", 2);
		tmpl_node_string(b, n->pipe);
		berth_buf_append(b, "}}", 2);
		break;
	case TN_IF: control_string(b, "if", n); break;
	case TN_RANGE: control_string(b, "range", n); break;
	case TN_WITH: control_string(b, "with", n); break;
	case TN_LIST: list_string(b, n); break;
	case TN_TEMPLATE:
		berth_buf_append(b, "{{template ", 11);
		go_quote(b, n->text, n->text_len);
		if (n->pipe) {
			berth_buf_putc(b, ' ');
			tmpl_node_string(b, n->pipe);
		}
		berth_buf_append(b, "}}", 2);
		break;
	case TN_BREAK: berth_buf_append(b, "{{break}}", 9); break;
	case TN_CONTINUE: berth_buf_append(b, "{{continue}}", 12); break;
	case TN_END: berth_buf_append(b, "{{end}}", 7); break;
	case TN_ELSE: berth_buf_append(b, "{{else}}", 8); break;
	case TN_PIPE:
		for (size_t i = 0; i < n->ndecl; i++) {
			if (i)
				berth_buf_append(b, ", ", 2);
			tmpl_node_string(b, n->decl[i]);
		}
		if (n->ndecl)
			berth_buf_append(b, n->is_assign ? " = " : " := ", n->is_assign ? 3 : 4);
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				berth_buf_append(b, " | ", 3);
			tmpl_node_string(b, n->kids[i]);
		}
		break;
	case TN_COMMAND:
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				berth_buf_putc(b, ' ');
			if (n->kids[i]->type == TN_PIPE) {
				berth_buf_putc(b, '(');
				tmpl_node_string(b, n->kids[i]);
				berth_buf_putc(b, ')');
			} else {
				tmpl_node_string(b, n->kids[i]);
			}
		}
		break;
	case TN_FIELD:
		for (size_t i = 0; i < n->nident; i++) {
			berth_buf_putc(b, '.');
			berth_buf_append(b, n->ident[i], strlen(n->ident[i]));
		}
		break;
	case TN_VARIABLE: idents(b, n->ident, n->nident); break;
	case TN_IDENT: berth_buf_append(b, n->text, n->text_len); break;
	case TN_DOT: berth_buf_putc(b, '.'); break;
	case TN_NIL: berth_buf_append(b, "nil", 3); break;
	case TN_BOOL: berth_buf_append(b, n->bval ? "true" : "false", n->bval ? 4 : 5); break;
	case TN_NUMBER:
	case TN_STRING: berth_buf_append(b, n->quoted, strlen(n->quoted)); break;
	case TN_CHAIN:
		if (n->node && n->node->type == TN_PIPE) {
			berth_buf_putc(b, '(');
			tmpl_node_string(b, n->node);
			berth_buf_putc(b, ')');
		} else {
			tmpl_node_string(b, n->node);
		}
		for (size_t i = 0; i < n->nident; i++) {
			berth_buf_putc(b, '.');
			berth_buf_append(b, n->ident[i], strlen(n->ident[i]));
		}
		break;
	}
}
