/* The `changes` of import/commit: Dockerfile lines applied to a container
 * config the way docker's BuildFromConfig does (buildkit's line parsers, the
 * instruction checks, then the dispatchers with shell-word expansion). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "image/config.h"

#define MAX_CHANGE_BYTES (1 << 20)

struct node {
	char *cmd;      /* lower-case instruction */
	char *original; /* the logical line */
	char **args;    /* NULL-terminated */
	char **flags;   /* "--name=value" words */
	bool json;
	char *hc_type; /* HEALTHCHECK type word */
};

static void node_free(struct node *n)
{
	free(n->cmd);
	free(n->original);
	berth_strv_free(n->args);
	berth_strv_free(n->flags);
	free(n->hc_type);
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

static char *trim_dup(const char *s, size_t n)
{
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	return strndup(s, n);
}

/* buildkit parseWords: quotes and escapes are kept (removed later by expansion). */
static char **parse_words(const char *rest)
{
	char **words = NULL;
	struct berth_buf w = {0};
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	char quote = 0;
	bool blank_ok = false;
	size_t n = strlen(rest);
	for (size_t pos = 0; pos <= n; pos++) {
		char ch = pos < n ? rest[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == n)
				break;
			if (is_space(ch))
				continue;
			phase = IN_WORD;
		}
		if (pos == n) {
			if (blank_ok || w.len)
				berth_strv_push(&words, berth_buf_str(&w));
			break;
		}
		if (phase == IN_WORD) {
			if (is_space(ch)) {
				phase = IN_SPACES;
				if (blank_ok || w.len)
					berth_strv_push(&words, berth_buf_str(&w));
				w.len = 0;
				if (w.data)
					w.data[0] = 0;
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == '\\') {
				if (pos + 1 == n)
					continue;
				berth_buf_putc(&w, ch);
				pos++;
				ch = rest[pos];
			}
			berth_buf_putc(&w, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote)
			phase = IN_WORD;
		if (ch == '\\' && quote != '\'') {
			if (pos + 1 == n) {
				phase = IN_WORD;
				continue;
			}
			pos++;
			berth_buf_putc(&w, ch);
			ch = rest[pos];
		}
		berth_buf_putc(&w, ch);
	}
	berth_buf_free(&w);
	if (!words)
		words = calloc(1, sizeof(char *));
	return words;
}

static char **split_ws(const char *rest)
{
	char **v = calloc(1, sizeof(char *));
	const char *p = rest;
	while (*p) {
		while (*p && is_space(*p))
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && !is_space(*e))
			e++;
		char *w = strndup(p, (size_t)(e - p));
		berth_strv_push(&v, w);
		free(w);
		p = e;
	}
	return v;
}

/* parseJSON: 1 = JSON string array, 0 = not JSON, -1 = non-string element. */
static int parse_json_array(const char *rest, char ***out)
{
	while (is_space(*rest))
		rest++;
	if (*rest != '[')
		return 0;
	json_error_t je;
	json_t *a = json_loads(rest, JSON_DISABLE_EOF_CHECK, &je);
	if (!json_is_array(a)) {
		json_decref(a);
		return 0;
	}
	char **v = calloc(1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			berth_strv_free(v);
			json_decref(a);
			return -1;
		}
		berth_strv_push(&v, json_string_value(e));
	}
	json_decref(a);
	*out = v;
	return 1;
}

#define ERR_NOT_STRING_ARRAY "when using JSON array syntax, arrays must be comprised of strings only"

static int parse_maybe_json(struct node *nd, const char *rest, bool to_list, struct berth_error *err)
{
	if (!*rest && !to_list) {
		nd->args = calloc(1, sizeof(char *));
		return 0;
	}
	int r = parse_json_array(rest, &nd->args);
	if (r < 0)
		return berth_err(err, BERTH_E_INVALID, ERR_NOT_STRING_ARRAY);
	if (r > 0) {
		nd->json = true;
		return 0;
	}
	if (to_list) {
		nd->args = split_ws(rest);
	} else {
		nd->args = calloc(1, sizeof(char *));
		berth_strv_push(&nd->args, rest);
	}
	return 0;
}

/* ENV/LABEL: "k v" (legacy) or k=v pairs. args = k1, v1, k2, v2... */
static int parse_name_val(struct node *nd, const char *rest, const char *key, struct berth_error *err)
{
	char **words = parse_words(rest);
	nd->args = calloc(1, sizeof(char *));
	if (!words[0]) {
		berth_strv_free(words);
		return 0;
	}
	if (!strchr(words[0], '=')) {
		berth_strv_free(words);
		const char *p = rest;
		while (*p && !is_space(*p))
			p++;
		const char *v = p;
		while (*v && is_space(*v))
			v++;
		if (!*p || !*v)
			return berth_err(err, BERTH_E_INVALID, "%s must have two arguments", key);
		char *k = strndup(rest, (size_t)(p - rest));
		berth_strv_push(&nd->args, k);
		berth_strv_push(&nd->args, v);
		free(k);
		return 0;
	}
	for (size_t i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq) {
			int r = berth_err(err, BERTH_E_INVALID,
					  "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
					  words[i]);
			berth_strv_free(words);
			return r;
		}
		*eq = '\0';
		berth_strv_push(&nd->args, words[i]);
		berth_strv_push(&nd->args, eq + 1);
	}
	berth_strv_free(words);
	return 0;
}

/* Leading --flag words (buildkit extractBuilderFlags, simplified). */
static const char *extract_flags(const char *rest, char ***flags)
{
	*flags = calloc(1, sizeof(char *));
	const char *p = rest;
	for (;;) {
		while (*p && is_space(*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			return p;
		const char *e = p;
		while (*e && !is_space(*e))
			e++;
		if (e - p == 2)
			return e; /* "--" ends the flags */
		char *f = strndup(p + 2, (size_t)(e - p - 2));
		berth_strv_push(flags, f);
		free(f);
		p = e;
	}
}

static int parse_line(const char *line, struct node *nd, struct berth_error *err);

static int parse_args(struct node *nd, const char *rest, struct berth_error *err)
{
	const char *c = nd->cmd;
	if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint") || !strcmp(c, "run") || !strcmp(c, "shell"))
		return parse_maybe_json(nd, rest, false, err);
	if (!strcmp(c, "volume") || !strcmp(c, "add") || !strcmp(c, "copy"))
		return parse_maybe_json(nd, rest, true, err);
	if (!strcmp(c, "env"))
		return parse_name_val(nd, rest, "ENV", err);
	if (!strcmp(c, "label"))
		return parse_name_val(nd, rest, "LABEL", err);
	if (!strcmp(c, "expose") || !strcmp(c, "from")) {
		nd->args = split_ws(rest);
		return 0;
	}
	if (!strcmp(c, "healthcheck")) {
		const char *e = rest;
		while (*e && !is_space(*e))
			e++;
		nd->args = calloc(1, sizeof(char *));
		if (e == rest)
			return 0;
		nd->hc_type = strndup(rest, (size_t)(e - rest));
		while (*e && is_space(*e))
			e++;
		struct node sub = {0};
		sub.cmd = strdup("cmd");
		int r = parse_maybe_json(&sub, e, false, err);
		if (r == 0) {
			berth_strv_push(&nd->args, nd->hc_type);
			for (size_t i = 0; sub.args && sub.args[i]; i++)
				berth_strv_push(&nd->args, sub.args[i]);
			nd->json = sub.json;
		}
		node_free(&sub);
		return r;
	}
	if (!strcmp(c, "onbuild")) {
		nd->args = calloc(1, sizeof(char *));
		if (!*rest)
			return 0;
		struct node sub = {0};
		int r = parse_line(rest, &sub, err);
		if (r == 0)
			berth_strv_push(&nd->args, sub.cmd);
		node_free(&sub);
		return r;
	}
	/* user, workdir, stopsignal, maintainer, ...: the whole rest */
	nd->args = calloc(1, sizeof(char *));
	if (*rest)
		berth_strv_push(&nd->args, rest);
	return 0;
}

static int parse_line(const char *line, struct node *nd, struct berth_error *err)
{
	memset(nd, 0, sizeof(*nd));
	nd->original = trim_dup(line, strlen(line));
	const char *p = nd->original;
	const char *e = p;
	while (*e && !is_space(*e))
		e++;
	nd->cmd = strndup(p, (size_t)(e - p));
	for (char *q = nd->cmd; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	const char *rest = extract_flags(e, &nd->flags);
	cleanup_free char *r = trim_dup(rest, strlen(rest));
	return parse_args(nd, r, err);
}

/* ---- shell word expansion (buildkit shell lexer, the parts commit needs) ---- */

static const char *env_get(json_t *env, const char *name, size_t nlen, bool *found)
{
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (!s)
			continue;
		const char *eq = strchr(s, '=');
		size_t kl = eq ? (size_t)(eq - s) : strlen(s);
		if (kl == nlen && !strncmp(s, name, nlen)) {
			*found = true;
			return eq ? eq + 1 : "";
		}
	}
	*found = false;
	return "";
}

struct lexer {
	const char *s;
	size_t pos, n;
	json_t *env;
	bool split; /* ProcessWords: unquoted blanks separate words */
	struct berth_error *err;
};

static int lex_stop_on(struct lexer *lx, char stop, struct berth_buf *out, char ***words);

static int lex_dollar(struct lexer *lx, struct berth_buf *out)
{
	lx->pos++; /* '$' */
	if (lx->pos >= lx->n || lx->s[lx->pos] != '{') {
		size_t st = lx->pos;
		if (st < lx->n && isdigit((unsigned char)lx->s[st])) {
			lx->pos++;
		} else {
			while (lx->pos < lx->n && (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_'))
				lx->pos++;
		}
		if (lx->pos == st)
			return berth_buf_putc(out, '$');
		bool f;
		const char *v = env_get(lx->env, lx->s + st, lx->pos - st, &f);
		return berth_buf_append(out, v, strlen(v));
	}
	lx->pos++;
	if (lx->pos >= lx->n)
		return berth_err(lx->err, BERTH_E_INVALID, "syntax error: missing '}'");
	if (strchr("{}:", lx->s[lx->pos]))
		return berth_err(lx->err, BERTH_E_INVALID, "syntax error: bad substitution");
	size_t st = lx->pos;
	while (lx->pos < lx->n && (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_'))
		lx->pos++;
	size_t nl = lx->pos - st;
	if (lx->pos >= lx->n)
		return berth_err(lx->err, BERTH_E_INVALID, "syntax error: missing '}'");
	char ch = lx->s[lx->pos++];
	bool found;
	const char *val = env_get(lx->env, lx->s + st, nl, &found);
	if (ch == '}')
		return berth_buf_append(out, val, strlen(val));
	if (ch == ':' || ch == '?') {
		char mod = ch == '?' ? '?' : (lx->pos < lx->n ? lx->s[lx->pos++] : 0);
		struct berth_buf word = {0};
		bool saved = lx->split;
		lx->split = false;
		int r = lex_stop_on(lx, '}', &word, NULL);
		lx->split = saved;
		if (r < 0) {
			berth_buf_free(&word);
			return r;
		}
		const char *w = berth_buf_str(&word);
		const char *res = val;
		if (mod == '+')
			res = *val ? w : "";
		else if (mod == '-')
			res = *val ? val : w;
		else if (mod == '?') {
			if (!found || (ch == ':' && !*val)) {
				r = berth_err(
					lx->err, BERTH_E_INVALID, "%.*s: %s", (int)nl, lx->s + st,
					*w ? w :
					     (!found ? "is not allowed to be unset" : "is not allowed to be empty"));
				berth_buf_free(&word);
				return r;
			}
		} else {
			berth_buf_free(&word);
			return berth_err(lx->err, BERTH_E_INVALID, "unsupported modifier (%c) in substitution", mod);
		}
		berth_buf_append(out, res, strlen(res));
		berth_buf_free(&word);
		return 0;
	}
	return berth_err(lx->err, BERTH_E_INVALID, "missing ':' in substitution");
}

static void flush_word(struct berth_buf *out, char ***words, bool *have)
{
	if (*have || out->len) {
		berth_strv_push(words, berth_buf_str(out));
		out->len = 0;
		if (out->data)
			out->data[0] = 0;
	}
	*have = false;
}

static int lex_stop_on(struct lexer *lx, char stop, struct berth_buf *out, char ***words)
{
	bool have = false; /* a quoted empty string still makes a word */
	while (lx->pos < lx->n) {
		char ch = lx->s[lx->pos];
		if (stop && ch == stop) {
			lx->pos++;
			return 0;
		}
		if (ch == '\'') {
			lx->pos++;
			have = true;
			const char *end = memchr(lx->s + lx->pos, '\'', lx->n - lx->pos);
			if (!end)
				return berth_err(lx->err, BERTH_E_INVALID,
						 "unexpected end of statement while looking for matching single-quote");
			berth_buf_append(out, lx->s + lx->pos, (size_t)(end - (lx->s + lx->pos)));
			lx->pos = (size_t)(end - lx->s) + 1;
			continue;
		}
		if (ch == '"') {
			lx->pos++;
			have = true;
			for (;;) {
				if (lx->pos >= lx->n)
					return berth_err(
						lx->err, BERTH_E_INVALID,
						"unexpected end of statement while looking for matching double-quote");
				char c = lx->s[lx->pos];
				if (c == '"') {
					lx->pos++;
					break;
				}
				if (c == '$') {
					if (lex_dollar(lx, out) < 0)
						return -1;
					continue;
				}
				lx->pos++;
				if (c == '\\') {
					if (lx->pos >= lx->n)
						continue;
					char nx = lx->s[lx->pos];
					if (nx == '"' || nx == '$' || nx == '\\') {
						c = nx;
						lx->pos++;
					}
				}
				berth_buf_putc(out, c);
			}
			continue;
		}
		if (ch == '$') {
			if (!lx->split) {
				if (lex_dollar(lx, out) < 0)
					return -1;
			} else {
				struct berth_buf tmp = {0};
				if (lex_dollar(lx, &tmp) < 0) {
					berth_buf_free(&tmp);
					return -1;
				}
				for (const char *p = berth_buf_str(&tmp); *p; p++) {
					if (is_space(*p))
						flush_word(out, words, &have);
					else
						berth_buf_putc(out, *p);
				}
				berth_buf_free(&tmp);
			}
			continue;
		}
		if (ch == '\\') {
			lx->pos++;
			if (lx->pos < lx->n)
				berth_buf_putc(out, lx->s[lx->pos++]);
			continue;
		}
		if (lx->split && is_space(ch)) {
			lx->pos++;
			flush_word(out, words, &have);
			continue;
		}
		berth_buf_putc(out, ch);
		lx->pos++;
	}
	if (stop)
		return berth_err(lx->err, BERTH_E_INVALID, "syntax error: missing '}'");
	if (words)
		flush_word(out, words, &have);
	return 0;
}

/* ProcessWord: one word, quotes removed, variables expanded. */
static char *expand_word(const char *w, json_t *env, struct berth_error *err)
{
	struct lexer lx = {w, 0, strlen(w), env, false, err};
	struct berth_buf out = {0};
	if (lex_stop_on(&lx, 0, &out, NULL) < 0) {
		berth_buf_free(&out);
		return NULL;
	}
	return berth_buf_steal(&out);
}

/* ProcessWords: split into words after expansion. */
static char **expand_words(const char *w, json_t *env, struct berth_error *err)
{
	struct lexer lx = {w, 0, strlen(w), env, true, err};
	struct berth_buf out = {0};
	char **words = calloc(1, sizeof(char *));
	int r = lex_stop_on(&lx, 0, &out, &words);
	berth_buf_free(&out);
	if (r < 0) {
		berth_strv_free(words);
		return NULL;
	}
	return words;
}

/* ---- dispatchers ---- */

static json_t *obj_field(json_t *cfg, const char *name)
{
	json_t *o = json_object_get(cfg, name);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, name, o);
	}
	return o;
}

static json_t *arr_field(json_t *cfg, const char *name)
{
	json_t *a = json_object_get(cfg, name);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(cfg, name, a);
	}
	return a;
}

static json_t *strv_json(char **v, size_t from)
{
	json_t *a = json_array();
	for (size_t i = from; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static bool parse_port(const char *s, unsigned long *out)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535 || s[0] == '-' || s[0] == '+')
		return false;
	*out = v;
	return true;
}

static int expose_one(json_t *ports, const char *raw, struct berth_error *err)
{
	const char *cp = strrchr(raw, ':');
	cp = cp ? cp + 1 : raw;
	cleanup_free char *cport = strdup(cp);
	char *slash = strchr(cport, '/');
	const char *proto = "tcp";
	if (slash) {
		*slash = '\0';
		if (slash[1])
			proto = slash + 1;
		char *more = strchr(slash + 1, '/');
		if (more)
			*more = '\0';
	}
	if (!*cport)
		return berth_err(err, BERTH_E_INVALID, "No port specified: %s<empty>", raw);
	unsigned long start, end;
	char *dash = strchr(cport, '-');
	bool ok;
	if (dash) {
		*dash = '\0';
		ok = parse_port(cport, &start) && parse_port(dash + 1, &end) && end >= start;
		*dash = '-';
	} else {
		ok = parse_port(cport, &start);
		end = start;
	}
	if (!ok)
		return berth_err(err, BERTH_E_INVALID, "Invalid containerPort: %s", cport);
	char lproto[16];
	snprintf(lproto, sizeof(lproto), "%s", proto);
	for (char *q = lproto; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (strcmp(lproto, "tcp") && strcmp(lproto, "udp") && strcmp(lproto, "sctp"))
		return berth_err(err, BERTH_E_INVALID, "Invalid proto: %s", proto);
	for (unsigned long p = start; p <= end; p++) {
		char key[32];
		snprintf(key, sizeof(key), "%lu/%s", p, lproto);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

static bool signal_valid(const char *raw)
{
	char *end;
	long n = strtol(raw, &end, 10);
	if (*raw && !*end)
		return n != 0;
	static const char *const names[] = {
		"ABRT", "ALRM", "BUS",  "CHLD", "CLD",  "CONT", "FPE",    "HUP",    "ILL",  "INT",  "IO",    "IOT",
		"KILL", "PIPE", "POLL", "PROF", "PWR",  "QUIT", "SEGV",   "STKFLT", "STOP", "SYS",  "TERM",  "TRAP",
		"TSTP", "TTIN", "TTOU", "URG",  "USR1", "USR2", "VTALRM", "WINCH",  "XCPU", "XFSZ", "RTMIN", "RTMAX"};
	char up[32];
	snprintf(up, sizeof(up), "%s", raw);
	for (char *q = up; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	const char *s = !strncmp(up, "SIG", 3) ? up + 3 : up;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return true;
	int k;
	char tail;
	if (sscanf(s, "RTMIN+%d%c", &k, &tail) == 1 && k >= 1 && k <= 15)
		return true;
	if (sscanf(s, "RTMAX-%d%c", &k, &tail) == 1 && k >= 1 && k <= 14)
		return true;
	return false;
}

/* filepath.Clean for absolute unix paths */
static char *clean_path(const char *p)
{
	char **parts = calloc(1, sizeof(char *));
	cleanup_free char *dup = strdup(p);
	char *save = NULL;
	for (char *t = strtok_r(dup, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			size_t n = berth_strv_len(parts);
			if (n) {
				free(parts[n - 1]);
				parts[n - 1] = NULL;
			}
			continue;
		}
		berth_strv_push(&parts, t);
	}
	struct berth_buf b = {0};
	for (size_t i = 0; parts[i]; i++)
		berth_buf_printf(&b, "/%s", parts[i]);
	berth_strv_free(parts);
	if (!b.len)
		berth_buf_putc(&b, '/');
	return berth_buf_steal(&b);
}

static int health_flag(char **flags, const char *name, const char **val, struct berth_error *err)
{
	*val = NULL;
	for (size_t i = 0; flags && flags[i]; i++) {
		const char *f = flags[i];
		const char *eq = strchr(f, '=');
		size_t kl = eq ? (size_t)(eq - f) : strlen(f);
		if (kl == strlen(name) && !strncmp(f, name, kl)) {
			if (!eq)
				return berth_err(err, BERTH_E_INVALID, "Missing a value on flag: %s", name);
			*val = eq + 1;
		}
	}
	return 0;
}

static int dispatch_healthcheck(json_t *cfg, struct node *nd, struct berth_error *err)
{
	static const char *const known[] = {"interval", "timeout", "start-period", "retries"};
	for (size_t i = 0; nd->flags[i]; i++) {
		size_t kl = strcspn(nd->flags[i], "=");
		bool ok = false;
		for (size_t k = 0; k < 4; k++)
			ok |= strlen(known[k]) == kl && !strncmp(known[k], nd->flags[i], kl);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "Unknown flag: %.*s", (int)kl, nd->flags[i]);
	}
	if (!nd->args[0])
		return berth_err(err, BERTH_E_INVALID, "HEALTHCHECK requires at least one argument");
	char typ[32];
	snprintf(typ, sizeof(typ), "%s", nd->args[0]);
	for (char *q = typ; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	json_t *hc = json_object();
	if (!strcmp(typ, "NONE")) {
		if (nd->args[1] && (nd->json || *nd->args[1])) {
			json_decref(hc);
			return berth_err(err, BERTH_E_INVALID, "HEALTHCHECK NONE takes no arguments");
		}
		json_t *t = json_array();
		json_array_append_new(t, json_string("NONE"));
		json_object_set_new(hc, "Test", t);
		json_object_set_new(cfg, "Healthcheck", hc);
		return 0;
	}
	if (strcmp(typ, "CMD")) {
		json_decref(hc);
		return berth_err(err, BERTH_E_INVALID, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
	}
	if (!nd->args[1] || (!nd->json && !*nd->args[1])) {
		json_decref(hc);
		return berth_err(err, BERTH_E_INVALID, "Missing command after HEALTHCHECK CMD");
	}
	json_t *t = json_array();
	json_array_append_new(t, json_string(nd->json ? "CMD" : "CMD-SHELL"));
	for (size_t i = 1; nd->args[i]; i++)
		json_array_append_new(t, json_string(nd->args[i]));
	json_object_set_new(hc, "Test", t);
	static const char *const dur[][2] = {
		{"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"}};
	for (size_t k = 0; k < 3; k++) {
		const char *v;
		if (health_flag(nd->flags, dur[k][0], &v, err) < 0) {
			json_decref(hc);
			return -1;
		}
		if (!v || !*v)
			continue;
		int64_t ns;
		if (berth_go_duration_parse(v, &ns) < 0) {
			json_decref(hc);
			return berth_err(err, BERTH_E_INVALID, "time: invalid duration \"%s\"", v);
		}
		if (ns < 1000000) {
			json_decref(hc);
			return berth_err(err, BERTH_E_INVALID, "Interval \"%s\" cannot be less than 1ms", dur[k][0]);
		}
		json_object_set_new(hc, dur[k][1], json_integer(ns));
	}
	const char *rv;
	if (health_flag(nd->flags, "retries", &rv, err) < 0) {
		json_decref(hc);
		return -1;
	}
	if (rv && *rv) {
		char *end;
		long r = strtol(rv, &end, 10);
		if (*end) {
			json_decref(hc);
			return berth_err(err, BERTH_E_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", rv);
		}
		if (r < 1) {
			json_decref(hc);
			return berth_err(err, BERTH_E_INVALID, "--retries must be at least 1 (not %ld)", r);
		}
		json_object_set_new(hc, "Retries", json_integer(r));
	}
	json_object_set_new(cfg, "Healthcheck", hc);
	return 0;
}

static int dispatch(json_t *cfg, struct node *nd, bool *cmd_set, struct berth_error *err)
{
	const char *c = nd->cmd;
	json_t *env = json_object_get(cfg, "Env");
	cleanup_json json_t *no_env = json_array();
	if (!json_is_array(env))
		env = no_env;
	size_t nargs = berth_strv_len(nd->args);

	if (strcmp(c, "healthcheck") && nd->flags[0])
		return berth_err(err, BERTH_E_INVALID, "Unknown flag: %.*s", (int)strcspn(nd->flags[0], "="),
				 nd->flags[0]);
	if (!strcmp(c, "env") || !strcmp(c, "label")) {
		const char *up = c[0] == 'e' ? "ENV" : "LABEL";
		if (nargs == 0)
			return berth_err(err, BERTH_E_INVALID, "%s requires at least one argument", up);
		/* expand every pair against the environment before this instruction */
		cleanup_json json_t *env_before = json_deep_copy(env);
		for (size_t i = 0; i + 1 < nargs; i += 2) {
			if (!*nd->args[i])
				return berth_err(err, BERTH_E_INVALID, "%s names can not be blank", up);
			cleanup_free char *k = expand_word(nd->args[i], env_before, err);
			if (!k)
				return -1;
			cleanup_free char *v = expand_word(nd->args[i + 1], env_before, err);
			if (!v)
				return -1;
			if (c[0] == 'l') {
				json_object_set_new(obj_field(cfg, "Labels"), k, json_string(v));
				continue;
			}
			json_t *envs = arr_field(cfg, "Env");
			cleanup_free char *kv = berth_strdup_printf("%s=%s", k, v);
			bool replaced = false;
			size_t j;
			json_t *e;
			json_array_foreach(envs, j, e) {
				const char *s = json_string_value(e);
				if (!s)
					continue;
				size_t kl = strcspn(s, "=");
				if (kl == strlen(k) && !strncmp(s, k, kl)) {
					json_array_set_new(envs, j, json_string(kv));
					replaced = true;
					break;
				}
			}
			if (!replaced)
				json_array_append_new(envs, json_string(kv));
		}
		return 0;
	}
	if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint")) {
		json_t *v;
		if (nd->json) {
			v = strv_json(nd->args, 0);
		} else if (nargs == 0 || (nargs == 1 && !*nd->args[0])) {
			v = c[0] == 'e' ? json_null() : json_array();
			if (c[0] == 'c') {
				json_array_append_new(v, json_string("/bin/sh"));
				json_array_append_new(v, json_string("-c"));
				json_array_append_new(v, json_string(""));
			}
		} else {
			v = json_array();
			json_array_append_new(v, json_string("/bin/sh"));
			json_array_append_new(v, json_string("-c"));
			json_array_append_new(v, json_string(nd->args[0]));
		}
		if (c[0] == 'c') {
			json_object_set_new(cfg, "Cmd", v);
			if (nargs)
				*cmd_set = true;
		} else {
			if (json_is_array(v) && json_array_size(v) == 0) {
				json_decref(v);
				v = json_null();
			}
			json_object_set_new(cfg, "Entrypoint", v);
			if (!*cmd_set)
				json_object_set_new(cfg, "Cmd", json_null());
		}
		json_object_del(cfg, "ArgsEscaped");
		return 0;
	}
	if (!strcmp(c, "expose")) {
		if (nargs == 0)
			return berth_err(err, BERTH_E_INVALID, "EXPOSE requires at least one argument");
		json_t *ports = obj_field(cfg, "ExposedPorts");
		for (size_t i = 0; i < nargs; i++) {
			char **ws = expand_words(nd->args[i], env, err);
			if (!ws)
				return -1;
			for (size_t k = 0; ws[k]; k++) {
				if (expose_one(ports, ws[k], err) < 0) {
					berth_strv_free(ws);
					return -1;
				}
			}
			berth_strv_free(ws);
		}
		return 0;
	}
	if (!strcmp(c, "user") || !strcmp(c, "workdir") || !strcmp(c, "stopsignal")) {
		const char *up = c[0] == 'u' ? "USER" : c[0] == 'w' ? "WORKDIR" : "STOPSIGNAL";
		if (nargs != 1)
			return berth_err(err, BERTH_E_INVALID, "%s requires exactly one argument", up);
		cleanup_free char *v = expand_word(nd->args[0], env, err);
		if (!v)
			return -1;
		if (c[0] == 'u') {
			json_object_set_new(cfg, "User", json_string(v));
		} else if (c[0] == 's') {
			if (!signal_valid(v))
				return berth_err(err, BERTH_E_INVALID, "Invalid signal: %s", v);
			json_object_set_new(cfg, "StopSignal", json_string(v));
		} else {
			if (!*v)
				return berth_err(err, BERTH_E_INVALID, "cannot normalize nothing");
			const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
			cleanup_free char *joined = NULL;
			if (v[0] == '/') {
				joined = strdup(v);
			} else {
				cleanup_free char *tmp = berth_strdup_printf("/%s/%s", cur ? cur : "", v);
				joined = clean_path(tmp);
			}
			json_object_set_new(cfg, "WorkingDir", json_string(joined));
		}
		return 0;
	}
	if (!strcmp(c, "volume")) {
		if (nargs == 0)
			return berth_err(err, BERTH_E_INVALID, "VOLUME requires at least one argument");
		json_t *vols = obj_field(cfg, "Volumes");
		for (size_t i = 0; i < nargs; i++) {
			cleanup_free char *t = trim_dup(nd->args[i], strlen(nd->args[i]));
			if (!*t)
				return berth_err(err, BERTH_E_INVALID, "VOLUME specified can not be an empty string");
			cleanup_free char *v = expand_word(t, env, err);
			if (!v)
				return -1;
			if (!*v)
				return berth_err(err, BERTH_E_INVALID, "VOLUME specified can not be an empty string");
			json_object_set_new(vols, v, json_object());
		}
		return 0;
	}
	if (!strcmp(c, "onbuild")) {
		if (nargs == 0)
			return berth_err(err, BERTH_E_INVALID, "ONBUILD requires at least one argument");
		char trig[32];
		snprintf(trig, sizeof(trig), "%s", nd->args[0]);
		for (char *q = trig; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		if (!strcmp(trig, "ONBUILD"))
			return berth_err(err, BERTH_E_INVALID, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
		if (!strcmp(trig, "MAINTAINER") || !strcmp(trig, "FROM"))
			return berth_err(err, BERTH_E_INVALID, "%s isn't allowed as an ONBUILD trigger", trig);
		const char *expr = nd->original;
		while (*expr && !is_space(*expr))
			expr++;
		while (*expr && is_space(*expr))
			expr++;
		json_array_append_new(arr_field(cfg, "OnBuild"), json_string(expr));
		return 0;
	}
	if (!strcmp(c, "healthcheck"))
		return dispatch_healthcheck(cfg, nd, err);
	return berth_err(err, BERTH_E_INVALID, "%s is not a valid change command", c);
}

static bool valid_change(const char *c)
{
	static const char *const ok[] = {"cmd",     "entrypoint", "healthcheck", "env",    "expose", "label",
					 "onbuild", "stopsignal", "user",        "volume", "workdir"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(c, ok[i]))
			return true;
	return false;
}

int berth_image_changes_apply(json_t *config, char *const *changes, size_t n, struct berth_error *err)
{
	if (!n)
		return 0;
	struct berth_buf all = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			berth_buf_putc(&all, '\n');
		berth_buf_append(&all, changes[i], strlen(changes[i]));
		if (all.len > MAX_CHANGE_BYTES) {
			berth_buf_free(&all);
			return berth_err(err, BERTH_E_INVALID, "changes too long");
		}
	}
	/* logical lines: skip blank and comment lines, join continuations */
	struct node *nodes = NULL;
	size_t nn = 0;
	int ret = 0;
	struct berth_buf line = {0};
	const char *p = berth_buf_str(&all);
	while (*p && !ret) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		cleanup_free char *raw = trim_dup(p, len);
		p = e ? e + 1 : p + len;
		if (!line.len && (!*raw || raw[0] == '#'))
			continue;
		if (line.len && raw[0] == '#')
			continue;
		size_t rl = strlen(raw);
		bool cont = rl && raw[rl - 1] == '\\';
		berth_buf_append(&line, raw, cont ? rl - 1 : rl);
		if (cont && *p)
			continue;
		nodes = realloc(nodes, (nn + 1) * sizeof(*nodes));
		ret = parse_line(berth_buf_str(&line), &nodes[nn], err);
		nn++;
		line.len = 0;
		if (line.data)
			line.data[0] = 0;
	}
	berth_buf_free(&line);
	berth_buf_free(&all);
	for (size_t i = 0; !ret && i < nn; i++)
		if (!valid_change(nodes[i].cmd))
			ret = berth_err(err, BERTH_E_INVALID, "%s is not a valid change command", nodes[i].cmd);
	bool cmd_set = false;
	for (size_t i = 0; !ret && i < nn; i++)
		ret = dispatch(config, &nodes[i], &cmd_set, err);
	for (size_t i = 0; i < nn; i++)
		node_free(&nodes[i]);
	free(nodes);
	if (ret)
		return -1;
	/* back to Go's field order and map ordering */
	json_t *canon = berth_container_config_canon(config);
	json_object_clear(config);
	json_object_update(config, canon);
	json_decref(canon);
	return 0;
}
