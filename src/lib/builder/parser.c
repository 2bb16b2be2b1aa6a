/* Dockerfile parser: docker 20.10's grammar (directives, continuations,
 * comments, flags, per-instruction argument forms). */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "builder/parser.h"
#include "common/cleanup.h"
#include "common/util.h"

static const char *const known[] = {"add",        "arg",         "cmd",    "copy",       "entrypoint", "env", "expose",
				    "from",       "healthcheck", "label",  "maintainer", "onbuild",    "run", "shell",
				    "stopsignal", "user",        "volume", "workdir",    NULL};

void berth_df_instr_clear(struct berth_df_instr *in)
{
	free(in->cmd);
	free(in->original);
	berth_strv_free(in->flags);
	berth_strv_free(in->args);
	if (in->sub) {
		berth_df_instr_clear(in->sub);
		free(in->sub);
	}
	memset(in, 0, sizeof(*in));
}

void berth_df_free(struct berth_dockerfile *df)
{
	for (size_t i = 0; i < df->n; i++)
		berth_df_instr_clear(&df->v[i]);
	free(df->v);
	berth_strv_free(df->warnings);
	memset(df, 0, sizeof(*df));
}

static const char *skip_ws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

static char *rtrim_dup(const char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* JSON array of strings -> args; false when s is not one */
static bool parse_json(const char *s, char ***args)
{
	s = skip_ws(s);
	if (*s != '[')
		return false;
	json_error_t je;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
	if (!json_is_array(j)) {
		json_decref(j);
		return false;
	}
	size_t i;
	json_t *e;
	char **v = calloc(1, sizeof(char *));
	json_array_foreach(j, i, e) {
		if (!json_is_string(e)) {
			json_decref(j);
			berth_strv_free(v);
			return false;
		}
		berth_strv_push(&v, json_string_value(e));
	}
	json_decref(j);
	*args = v;
	return true;
}

static char **split_ws(const char *s)
{
	char **v = calloc(1, sizeof(char *));
	s = skip_ws(s);
	while (*s) {
		const char *e = s;
		while (*e && !isspace((unsigned char)*e))
			e++;
		cleanup_free char *w = strndup(s, (size_t)(e - s));
		berth_strv_push(&v, w);
		s = skip_ws(e);
	}
	return v;
}

/* docker's parseWords: whitespace split honouring quotes and the escape
 * character, which are kept in the words */
static char **parse_words(const char *s, char esc)
{
	char **v = calloc(1, sizeof(char *));
	struct berth_buf w = {0};
	char quote = 0;
	bool inword = false;
	for (const char *p = s;; p++) {
		char c = *p;
		if (!c || (!quote && isspace((unsigned char)c))) {
			if (inword) {
				berth_buf_append(&w, "", 1);
				berth_strv_push(&v, w.data);
				w.len = 0;
				inword = false;
			}
			if (!c)
				break;
			continue;
		}
		inword = true;
		if (c == esc && p[1]) {
			berth_buf_append(&w, p, 2);
			p++;
			continue;
		}
		if (quote && c == quote)
			quote = 0;
		else if (!quote && (c == '\'' || c == '"'))
			quote = c;
		berth_buf_append(&w, &c, 1);
	}
	berth_buf_free(&w);
	return v;
}

static int name_val(struct berth_df_instr *in, const char *rest, char esc, int line, struct berth_error *err)
{
	const char *up = !strcmp(in->cmd, "env") ? "ENV" : "LABEL";
	char **words = parse_words(rest, esc);
	int rc = 0;
	in->args = calloc(1, sizeof(char *));
	if (!words[0]) {
		rc = berth_err(err, BERTH_E_INVALID, "dockerfile parse error line %d: %s names can not be blank", line,
			       up);
	} else if (!strchr(words[0], '=')) {
		/* old form: NAME value... */
		const char *r = skip_ws(rest);
		const char *e = r;
		while (*e && !isspace((unsigned char)*e))
			e++;
		const char *val = skip_ws(e);
		if (!*val) {
			rc = berth_err(err, BERTH_E_INVALID,
				       "dockerfile parse error line %d: %s must have two arguments", line, up);
		} else {
			cleanup_free char *k = strndup(r, (size_t)(e - r));
			cleanup_free char *vv = rtrim_dup(val);
			berth_strv_push(&in->args, k);
			berth_strv_push(&in->args, vv);
		}
	} else {
		for (size_t i = 0; words[i]; i++) {
			char *eq = strchr(words[i], '=');
			if (!eq) {
				rc = berth_err(err, BERTH_E_INVALID,
					       "dockerfile parse error line %d: Syntax error - can't find = in \"%s\". "
					       "Must be of the form: name=value",
					       line, words[i]);
				break;
			}
			*eq = 0;
			berth_strv_push(&in->args, words[i]);
			berth_strv_push(&in->args, eq + 1);
		}
	}
	berth_strv_free(words);
	return rc;
}

static bool is_known(const char *cmd)
{
	for (size_t i = 0; known[i]; i++)
		if (!strcmp(known[i], cmd))
			return true;
	return false;
}

static int parse_instr(const char *text, char esc, int line, struct berth_df_instr *in, struct berth_error *err)
{
	const char *s = skip_ws(text);
	const char *e = s;
	while (*e && !isspace((unsigned char)*e))
		e++;
	in->cmd = strndup(s, (size_t)(e - s));
	for (char *p = in->cmd; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	in->original = rtrim_dup(s);
	in->line = line;
	if (!is_known(in->cmd)) {
		cleanup_free char *up = strndup(s, (size_t)(e - s));
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return berth_err(err, BERTH_E_INVALID, "dockerfile parse error line %d: unknown instruction: %s", line,
				 up);
	}
	const char *rest = skip_ws(e);
	/* builder flags: leading --name[=value] words */
	while (rest[0] == '-' && rest[1] == '-') {
		const char *fe = rest;
		while (*fe && !isspace((unsigned char)*fe))
			fe++;
		if (fe == rest + 2) { /* "--" ends the flags */
			rest = skip_ws(fe);
			break;
		}
		cleanup_free char *f = strndup(rest, (size_t)(fe - rest));
		berth_strv_push(&in->flags, f);
		rest = skip_ws(fe);
	}
	const char *c = in->cmd;
	if (!strcmp(c, "env") || !strcmp(c, "label"))
		return name_val(in, rest, esc, line, err);
	if (!strcmp(c, "run") || !strcmp(c, "cmd") || !strcmp(c, "entrypoint") || !strcmp(c, "shell")) {
		if (parse_json(rest, &in->args)) {
			in->json = true;
		} else {
			in->args = calloc(1, sizeof(char *));
			if (*rest) {
				cleanup_free char *r = rtrim_dup(rest);
				berth_strv_push(&in->args, r);
			}
		}
		if (!strcmp(c, "shell") && !in->json)
			return berth_err(
				err, BERTH_E_INVALID,
				"dockerfile parse error line %d: SHELL requires the arguments to be in JSON form",
				line);
		return 0;
	}
	if (!strcmp(c, "add") || !strcmp(c, "copy") || !strcmp(c, "volume")) {
		if (parse_json(rest, &in->args))
			in->json = true;
		else
			in->args = split_ws(rest);
		return 0;
	}
	if (!strcmp(c, "maintainer")) {
		in->args = calloc(1, sizeof(char *));
		cleanup_free char *r = rtrim_dup(rest);
		if (*r)
			berth_strv_push(&in->args, r);
		return 0;
	}
	if (!strcmp(c, "arg")) {
		in->args = parse_words(rest, esc);
		return 0;
	}
	if (!strcmp(c, "healthcheck")) {
		in->args = calloc(1, sizeof(char *));
		const char *we = rest;
		while (*we && !isspace((unsigned char)*we))
			we++;
		cleanup_free char *kind = strndup(rest, (size_t)(we - rest));
		for (char *p = kind; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		berth_strv_push(&in->args, kind);
		const char *cmd = skip_ws(we);
		char **cv = NULL;
		if (parse_json(cmd, &cv)) {
			in->json = true;
			for (size_t i = 0; cv[i]; i++)
				berth_strv_push(&in->args, cv[i]);
			berth_strv_free(cv);
		} else if (*cmd) {
			cleanup_free char *r = rtrim_dup(cmd);
			berth_strv_push(&in->args, r);
		}
		return 0;
	}
	if (!strcmp(c, "onbuild")) {
		in->args = calloc(1, sizeof(char *));
		if (!*rest)
			return berth_err(err, BERTH_E_INVALID,
					 "dockerfile parse error line %d: ONBUILD requires at least one argument",
					 line);
		cleanup_free char *r = rtrim_dup(rest);
		berth_strv_push(&in->args, r);
		in->sub = calloc(1, sizeof(*in->sub));
		if (parse_instr(r, esc, line, in->sub, err) < 0)
			return -1;
		const char *sc = in->sub->cmd;
		if (!strcmp(sc, "onbuild"))
			return berth_err(
				err, BERTH_E_INVALID,
				"dockerfile parse error line %d: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
				line);
		if (!strcmp(sc, "from") || !strcmp(sc, "maintainer")) {
			cleanup_free char *up = strdup(sc);
			for (char *p = up; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			return berth_err(err, BERTH_E_INVALID,
					 "dockerfile parse error line %d: %s isn't allowed as an ONBUILD trigger", line,
					 up);
		}
		return 0;
	}
	in->args = split_ws(rest);
	return 0;
}

int berth_df_parse_line(const char *line, char escape, struct berth_df_instr *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	int rc = parse_instr(line, escape, 1, out, err);
	if (rc < 0)
		berth_df_instr_clear(out);
	return rc;
}

static bool is_comment(const char *l) { return *skip_ws(l) == '#'; }

static bool is_blank(const char *l) { return !*skip_ws(l); }

/* "# name = value" at the top of the file */
static bool directive(const char *l, char **name, char **value)
{
	const char *p = skip_ws(l);
	if (*p != '#')
		return false;
	p = skip_ws(p + 1);
	const char *ns = p;
	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p))
		p++;
	const char *ne = p;
	p = skip_ws(p);
	if (*p != '=')
		return false;
	p = skip_ws(p + 1);
	char *v = rtrim_dup(p);
	if (!*v) {
		free(v);
		return false;
	}
	*name = strndup(ns, (size_t)(ne - ns));
	for (char *q = *name; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	*value = v;
	return true;
}

/* the line ends with the escape character (then only whitespace): strip it */
static bool continues(char *l, char esc)
{
	size_t n = strlen(l);
	while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (n && l[n - 1] == esc) {
		l[n - 1] = 0;
		return true;
	}
	return false;
}

int berth_df_parse(const char *text, size_t len, struct berth_dockerfile *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	out->escape = '\\';
	/* split into lines (\n, \r\n); a BOM is skipped */
	char **lines = calloc(1, sizeof(char *));
	size_t i = 0;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t st = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t e = i;
		if (e > st && text[e - 1] == '\r')
			e--;
		cleanup_free char *l = strndup(text + st, e - st);
		if (strlen(l) != e - st) {
			berth_strv_free(lines);
			return berth_err(err, BERTH_E_INVALID,
					 "dockerfile parse error line %zu: NUL byte in Dockerfile",
					 berth_strv_len(lines) + 1);
		}
		berth_strv_push(&lines, l);
		i++;
	}
	size_t nl = berth_strv_len(lines);
	size_t li = 0;
	/* parser directives */
	bool seen_escape = false, seen_syntax = false;
	for (; li < nl; li++) {
		char *name = NULL, *value = NULL;
		if (!directive(lines[li], &name, &value))
			break;
		int rc = 0;
		if (!strcmp(name, "escape")) {
			if (seen_escape)
				rc = berth_err(
					err, BERTH_E_INVALID,
					"dockerfile parse error line %zu: only one escape parser directive can be used",
					li + 1);
			else if (strcmp(value, "\\") && strcmp(value, "`"))
				rc = berth_err(err, BERTH_E_INVALID,
					       "dockerfile parse error line %zu: invalid ESCAPE '%s'. Must be ` or \\",
					       li + 1, value);
			else
				out->escape = value[0];
			seen_escape = true;
		} else if (!strcmp(name, "syntax")) {
			if (!seen_syntax) {
				cleanup_free char *w = NULL;
				if (asprintf(&w,
					     "[WARNING]: the syntax directive (%s) is ignored by the classic builder",
					     value) > 0)
					berth_strv_push(&out->warnings, w);
			}
			seen_syntax = true;
		}
		free(name);
		free(value);
		if (rc < 0) {
			berth_strv_free(lines);
			return -1;
		}
	}
	int rc = 0;
	bool warned_empty = false;
	while (li < nl && rc == 0) {
		char *l = lines[li];
		if (is_blank(l) || is_comment(l)) {
			li++;
			continue;
		}
		int start = (int)li + 1;
		struct berth_buf b = {0};
		const char *first = skip_ws(l);
		cleanup_free char *cur = strdup(first);
		li++;
		bool cont = continues(cur, out->escape);
		berth_buf_append(&b, cur, strlen(cur));
		while (cont && li < nl) {
			char *n = lines[li++];
			if (is_comment(n))
				continue;
			if (is_blank(n)) {
				if (!warned_empty) {
					cleanup_free char *w = NULL;
					if (asprintf(
						    &w,
						    "[WARNING]: Empty continuation line found in:\n    %s\n"
						    "[WARNING]: Empty continuation lines will become errors in a future release.",
						    first) > 0)
						berth_strv_push(&out->warnings, w);
					warned_empty = true;
				}
				continue;
			}
			cleanup_free char *c2 = strdup(n);
			cont = continues(c2, out->escape);
			berth_buf_append(&b, c2, strlen(c2));
		}
		berth_buf_append(&b, "", 1);
		if (is_blank(b.data)) {
			berth_buf_free(&b);
			continue;
		}
		struct berth_df_instr in = {0};
		rc = parse_instr(b.data, out->escape, start, &in, err);
		in.end_line = (int)li;
		berth_buf_free(&b);
		if (rc < 0) {
			berth_df_instr_clear(&in);
			break;
		}
		struct berth_df_instr *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!nv) {
			berth_df_instr_clear(&in);
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
		out->v = nv;
		out->v[out->n++] = in;
	}
	berth_strv_free(lines);
	if (rc == 0 && out->n == 0)
		rc = berth_err(err, BERTH_E_INVALID, "the Dockerfile (Dockerfile) cannot be empty");
	if (rc < 0)
		berth_df_free(out);
	return rc;
}
