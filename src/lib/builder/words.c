/* docker's shell lexer for Dockerfile variable substitution
 * (moby/buildkit frontend/dockerfile/shell): quotes, escapes, $VAR, ${VAR},
 * ${VAR:-word}, ${VAR:+word}, ${VAR-word}, ${VAR+word}, ${VAR:?msg}. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "builder/parser.h"
#include "common/cleanup.h"
#include "common/util.h"

struct lex {
	const char *s;
	size_t i, n;
	char esc;
	berth_df_lookup_fn lookup;
	void *ctx;
	bool split; /* ProcessWords */
	struct berth_buf cur;
	bool have; /* cur holds a word (maybe empty, from quotes) */
	char **words;
	struct berth_error *err;
};

static void putc_(struct lex *l, char c)
{
	berth_buf_append(&l->cur, &c, 1);
	l->have = true;
}

static void end_word(struct lex *l)
{
	if (l->have) {
		berth_buf_append(&l->cur, "", 1);
		berth_strv_push(&l->words, l->cur.data);
		l->cur.len = 0;
		l->have = false;
	}
}

/* text from an expansion: split at whitespace in ProcessWords mode */
static void put_expanded(struct lex *l, const char *v, bool quoted)
{
	for (; *v; v++) {
		if (l->split && !quoted && isspace((unsigned char)*v))
			end_word(l);
		else
			putc_(l, *v);
	}
	if (quoted)
		l->have = true;
}

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static int word_until(struct lex *l, char stop, struct berth_buf *out);

/* after '$' */
static int dollar(struct lex *l, bool quoted)
{
	if (l->i >= l->n) {
		putc_(l, '$');
		return 0;
	}
	char c = l->s[l->i];
	if (c != '{') {
		if (!name_char(c)) {
			putc_(l, '$');
			return 0;
		}
		size_t st = l->i;
		while (l->i < l->n && name_char(l->s[l->i]))
			l->i++;
		cleanup_free char *name = strndup(l->s + st, l->i - st);
		const char *v = l->lookup(l->ctx, name);
		put_expanded(l, v ? v : "", quoted);
		return 0;
	}
	l->i++; /* { */
	size_t st = l->i;
	while (l->i < l->n && name_char(l->s[l->i]))
		l->i++;
	if (l->i == st || l->i >= l->n)
		return berth_err(l->err, BERTH_E_INVALID, "failed to process \"%s\": missing ':' in substitution",
				 l->s);
	cleanup_free char *name = strndup(l->s + st, l->i - st);
	const char *v = l->lookup(l->ctx, name);
	c = l->s[l->i];
	if (c == '}') {
		l->i++;
		put_expanded(l, v ? v : "", quoted);
		return 0;
	}
	bool colon = false;
	if (c == ':') {
		colon = true;
		l->i++;
		if (l->i >= l->n)
			return berth_err(l->err, BERTH_E_INVALID,
					 "failed to process \"%s\": missing ':' in substitution", l->s);
		c = l->s[l->i];
	}
	if (c != '-' && c != '+' && c != '?')
		return berth_err(l->err, BERTH_E_INVALID,
				 "failed to process \"%s\": unsupported modifier (%c) in substitution", l->s, c);
	l->i++;
	struct berth_buf w = {0};
	if (word_until(l, '}', &w) < 0) {
		berth_buf_free(&w);
		return -1;
	}
	berth_buf_append(&w, "", 1);
	bool set = v && (!colon || *v);
	if (c == '-')
		put_expanded(l, set ? v : w.data, quoted);
	else if (c == '+')
		put_expanded(l, set ? w.data : "", quoted);
	else if (!set) {
		int rc = berth_err(l->err, BERTH_E_INVALID, "failed to process \"%s\": %s: %s", l->s, name,
				   *w.data ? w.data : "is not allowed to be unset");
		berth_buf_free(&w);
		return rc;
	} else
		put_expanded(l, v, quoted);
	berth_buf_free(&w);
	return 0;
}

/* the word of a ${V:-word} up to the closing brace, processed (quotes, $) */
static int word_until(struct lex *l, char stop, struct berth_buf *out)
{
	struct lex sub = *l;
	sub.cur = (struct berth_buf){0};
	sub.have = false;
	sub.split = false;
	sub.words = NULL;
	int depth = 0;
	while (sub.i < sub.n) {
		char c = sub.s[sub.i];
		if (c == stop && depth == 0)
			break;
		sub.i++;
		if (c == sub.esc && sub.i < sub.n) {
			putc_(&sub, sub.s[sub.i++]);
		} else if (c == '\'') {
			while (sub.i < sub.n && sub.s[sub.i] != '\'')
				putc_(&sub, sub.s[sub.i++]);
			sub.i++;
		} else if (c == '$') {
			if (dollar(&sub, true) < 0) {
				berth_buf_free(&sub.cur);
				return -1;
			}
		} else if (c == '"') {
			/* quotes inside the word are removed */
		} else {
			putc_(&sub, c);
		}
	}
	if (sub.i >= sub.n) {
		berth_buf_free(&sub.cur);
		return berth_err(l->err, BERTH_E_INVALID, "failed to process \"%s\": syntax error: missing '}'", l->s);
	}
	sub.i++; /* the brace */
	l->i = sub.i;
	berth_buf_append(out, sub.cur.data ? sub.cur.data : "", sub.cur.len);
	berth_buf_free(&sub.cur);
	return 0;
}

static int lex_run(struct lex *l)
{
	while (l->i < l->n) {
		char c = l->s[l->i++];
		if (c == l->esc) {
			if (l->i >= l->n) {
				putc_(l, c);
				break;
			}
			putc_(l, l->s[l->i++]);
		} else if (c == '\'') {
			l->have = true;
			while (l->i < l->n && l->s[l->i] != '\'')
				putc_(l, l->s[l->i++]);
			if (l->i >= l->n)
				return berth_err(
					l->err, BERTH_E_INVALID,
					"failed to process \"%s\": unexpected end of statement while looking for matching single-quote",
					l->s);
			l->i++;
		} else if (c == '"') {
			l->have = true;
			for (;;) {
				if (l->i >= l->n)
					return berth_err(
						l->err, BERTH_E_INVALID,
						"failed to process \"%s\": unexpected end of statement while looking for matching double-quote",
						l->s);
				char d = l->s[l->i++];
				if (d == '"')
					break;
				if (d == l->esc && l->i < l->n) {
					char e = l->s[l->i];
					if (e == '"' || e == '$' || e == l->esc) {
						putc_(l, e);
						l->i++;
					} else
						putc_(l, d);
				} else if (d == '$') {
					if (dollar(l, true) < 0)
						return -1;
				} else
					putc_(l, d);
			}
		} else if (c == '$') {
			if (dollar(l, false) < 0)
				return -1;
		} else if (l->split && isspace((unsigned char)c)) {
			end_word(l);
		} else {
			putc_(l, c);
		}
	}
	return 0;
}

char *berth_df_word(const char *word, char escape, berth_df_lookup_fn lookup, void *ctx, struct berth_error *err)
{
	struct lex l = {.s = word, .n = strlen(word), .esc = escape, .lookup = lookup, .ctx = ctx, .err = err};
	if (lex_run(&l) < 0) {
		berth_buf_free(&l.cur);
		return NULL;
	}
	berth_buf_append(&l.cur, "", 1);
	return l.cur.data; /* owned */
}

char **berth_df_words(const char *word, char escape, berth_df_lookup_fn lookup, void *ctx, struct berth_error *err)
{
	struct lex l = {
		.s = word, .n = strlen(word), .esc = escape, .lookup = lookup, .ctx = ctx, .err = err, .split = true};
	if (lex_run(&l) < 0) {
		berth_buf_free(&l.cur);
		berth_strv_free(l.words);
		return NULL;
	}
	end_word(&l);
	berth_buf_free(&l.cur);
	if (!l.words)
		l.words = calloc(1, sizeof(char *));
	return l.words;
}
