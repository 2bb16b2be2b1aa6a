/* .dockerignore patterns with docker's semantics (pkg/fileutils
 * PatternMatcher and the CLI's ReadAll): one pattern a line, '#' comments,
 * '!' exceptions, the last matching pattern wins, patterns cleaned like
 * filepath.Clean with a leading '/' dropped, '*' '?' '[...]' within one
 * path element, '**' across elements, and a pattern matching a parent
 * directory matches everything below it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "archive/patterns.h"
#include "archive/tar.h"
#include "common/util.h"

struct berth_pattern {
	char *pat;
	bool exclusion;
	int ndirs; /* path elements in pat */
};

struct berth_patterns {
	struct berth_pattern *v;
	size_t n;
	bool has_exclusions;
};

static int count_dirs(const char *p)
{
	int n = 1;
	for (; *p; p++)
		if (*p == '/')
			n++;
	return n;
}

struct berth_patterns *berth_patterns_parse(const char *text, size_t len)
{
	struct berth_patterns *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	size_t i = 0;
	while (i < len) {
		size_t st = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t e = i++;
		while (st < e && isspace((unsigned char)text[st]))
			st++;
		while (e > st && isspace((unsigned char)text[e - 1]))
			e--;
		if (st == e || text[st] == '#')
			continue;
		bool excl = false;
		if (text[st] == '!') {
			excl = true;
			st++;
			while (st < e && isspace((unsigned char)text[st]))
				st++;
		}
		char *raw = strndup(text + st, e - st);
		char *clean = raw ? berth_cp_clean(raw) : NULL;
		free(raw);
		if (!clean)
			continue;
		char *p = clean;
		while (*p == '/')
			p++;
		if (!*p) { /* "/" cleans to nothing: docker keeps "." out of the matcher */
			free(clean);
			continue;
		}
		struct berth_pattern *nv = realloc(ps->v, (ps->n + 1) * sizeof(*nv));
		if (!nv) {
			free(clean);
			break;
		}
		ps->v = nv;
		ps->v[ps->n++] = (struct berth_pattern){.pat = strdup(p), .exclusion = excl, .ndirs = count_dirs(p)};
		free(clean);
		if (excl)
			ps->has_exclusions = true;
	}
	return ps;
}

void berth_patterns_free(struct berth_patterns *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].pat);
	free(ps->v);
	free(ps);
}

bool berth_patterns_empty(const struct berth_patterns *ps) { return !ps || ps->n == 0; }

bool berth_patterns_has_exclusions(const struct berth_patterns *ps) { return ps && ps->has_exclusions; }

/* [...] at p (after '['): *adv set past ']' */
static bool class_match(const char *p, char c, size_t *adv)
{
	size_t i = 0;
	bool neg = false, ok = false;
	if (p[i] == '^' || p[i] == '!') {
		neg = true;
		i++;
	}
	bool first = true;
	while (p[i] && (first || p[i] != ']')) {
		first = false;
		char lo = p[i];
		if (lo == '\\' && p[i + 1])
			lo = p[++i];
		char hi = lo;
		if (p[i + 1] == '-' && p[i + 2] && p[i + 2] != ']') {
			hi = p[i + 2];
			if (hi == '\\' && p[i + 3])
				hi = p[++i + 2];
			i += 2;
		}
		if (c >= lo && c <= hi)
			ok = true;
		i++;
	}
	if (p[i] != ']') {
		*adv = 0;
		return false;
	}
	*adv = i + 1;
	return ok != neg;
}

static bool glob(const char *p, const char *s)
{
	for (;;) {
		if (!*p)
			return !*s;
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '/') {
				/* "**" + "/": zero or more whole elements */
				if (glob(p + 1, s))
					return true;
				for (const char *q = s; *q; q++)
					if (*q == '/' && glob(p + 1, q + 1))
						return true;
				return false;
			}
			for (const char *q = s;; q++) {
				if (glob(p, q))
					return true;
				if (!*q)
					return false;
			}
		}
		if (*p == '*') {
			p++;
			for (const char *q = s;; q++) {
				if (glob(p, q))
					return true;
				if (!*q || *q == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
		} else if (*p == '[') {
			size_t adv;
			if (*s == '/' || !class_match(p + 1, *s, &adv))
				return false;
			p += adv + 1;
			s++;
			continue;
		} else if (*p == '\\' && p[1]) {
			p++;
			if (*p != *s)
				return false;
		} else if (*p != *s)
			return false;
		p++;
		s++;
	}
}

static bool pattern_match(const struct berth_pattern *pt, const char *path)
{
	if (glob(pt->pat, path))
		return true;
	/* a pattern matching a parent directory matches everything below it */
	int n = 0;
	for (const char *q = path; *q; q++) {
		if (*q != '/')
			continue;
		if (++n == pt->ndirs) {
			char *pre = strndup(path, (size_t)(q - path));
			bool m = pre && glob(pt->pat, pre);
			free(pre);
			return m;
		}
	}
	return false;
}

bool berth_patterns_matches(const struct berth_patterns *ps, const char *path)
{
	if (!ps)
		return false;
	char *clean = berth_cp_clean(path);
	if (!clean)
		return false;
	const char *p = clean;
	while (*p == '/')
		p++;
	bool m = false;
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].exclusion == !m)
			continue; /* cannot change the outcome */
		if (pattern_match(&ps->v[i], p))
			m = !ps->v[i].exclusion;
	}
	free(clean);
	return m;
}

int berth_patterns_tar_filter(void *ctx, const char *rel, bool is_dir)
{
	const struct berth_patterns *ps = ctx;
	if (!berth_patterns_matches(ps, rel))
		return BERTH_TAR_KEEP;
	if (is_dir && ps->has_exclusions)
		return BERTH_TAR_DESCEND;
	return BERTH_TAR_SKIP;
}
