/* Docker reference grammar (docker/distribution reference, as vendored by
 * docker 20.10), matched by hand instead of with a regex engine:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] component ("/" component)*
 *   domain     := dcomp ("." dcomp)* [":" [0-9]+]
 *   dcomp      := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   component  := [a-z0-9]+ (sep [a-z0-9]+)*      sep := "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := alg ":" [0-9a-fA-F]{32,}       alg := [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)*
 */
#include "image/reference.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO "library"

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return isascii((unsigned char)c) && isalnum((unsigned char)c); }
static bool is_word(char c) { return is_alnum(c) || c == '_'; }
static bool is_xdigit(char c) { return isascii((unsigned char)c) && isxdigit((unsigned char)c); }

/* One path component in s[0..n). */
static bool match_component(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
	}
}

/* component ("/" component)* */
static bool match_path(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!match_component(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool match_domain_component(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool match_domain(const char *s, size_t n)
{
	size_t host_end = n;
	const char *colon = memchr(s, ':', n);
	if (colon) {
		host_end = (size_t)(colon - s);
		size_t plen = n - host_end - 1;
		if (plen == 0)
			return false;
		for (size_t i = host_end + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
	}
	size_t start = 0;
	for (size_t i = 0; i <= host_end; i++) {
		if (i == host_end || s[i] == '.') {
			if (!match_domain_component(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool berth_ref_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > BERTH_REF_TAG_MAX || !is_word(tag[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
			return false;
	return true;
}

/* The digest regexp (syntax only). */
static bool match_digest_syntax(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		return false;
	size_t n = (size_t)(colon - s), i = 0;
	for (;;) {
		if (i >= n || !isalpha((unsigned char)s[i]) || !isascii((unsigned char)s[i]))
			return false;
		i++;
		while (i < n && is_alnum(s[i]))
			i++;
		if (i == n)
			break;
		if (!strchr("-_+.", s[i]))
			return false;
		i++;
	}
	size_t hex = 0;
	for (const char *p = colon + 1; *p; p++, hex++)
		if (!is_xdigit(*p))
			return false;
	return hex >= 32;
}

/* go-digest's Digest.Validate. Returns NULL when valid, else docker's message. */
static const char *digest_validate(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d || colon[1] == '\0')
		return "invalid checksum digest format";
	size_t alen = (size_t)(colon - d);
	size_t want = 0;
	if (alen == 6 && !strncmp(d, "sha256", 6))
		want = 64;
	else if (alen == 6 && !strncmp(d, "sha384", 6))
		want = 96;
	else if (alen == 6 && !strncmp(d, "sha512", 6))
		want = 128;
	if (!want) {
		/* DigestRegexpAnchored: [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+ */
		bool ok = true;
		size_t i = 0;
		for (;;) {
			size_t st = i;
			while (i < alen && is_lower_alnum(d[i]))
				i++;
			if (i == st) {
				ok = false;
				break;
			}
			if (i == alen)
				break;
			if (!strchr(".+_-", d[i])) {
				ok = false;
				break;
			}
			i++;
		}
		for (const char *p = colon + 1; ok && *p; p++)
			if (!is_alnum(*p) && !strchr("=_-", *p))
				ok = false;
		return ok ? "unsupported digest algorithm" : "invalid checksum digest format";
	}
	const char *hex = colon + 1;
	if (strlen(hex) != want)
		return "invalid checksum digest length";
	for (const char *p = hex; *p; p++)
		if (!is_lower_alnum(*p) || (*p > 'f'))
			return "invalid checksum digest format";
	return NULL;
}

struct split {
	const char *name;
	size_t name_len;
	size_t domain_len; /* 0 when no domain */
	const char *tag;
	size_t tag_len;
	const char *digest;
};

/* Match the whole reference grammar; fills sp on success. */
static bool match_reference(const char *s, struct split *sp)
{
	memset(sp, 0, sizeof(*sp));
	const char *at = strchr(s, '@');
	size_t nt_len = at ? (size_t)(at - s) : strlen(s);
	if (at) {
		if (!match_digest_syntax(at + 1))
			return false;
		sp->digest = at + 1;
	}
	/* tag: after the last ':' when no '/' follows it */
	size_t name_len = nt_len;
	for (size_t i = nt_len; i-- > 0;) {
		if (s[i] == '/')
			break;
		if (s[i] == ':') {
			sp->tag = s + i + 1;
			sp->tag_len = nt_len - i - 1;
			name_len = i;
			break;
		}
	}
	if (sp->tag) {
		char tag[BERTH_REF_TAG_MAX + 2];
		if (sp->tag_len == 0 || sp->tag_len > BERTH_REF_TAG_MAX)
			return false;
		memcpy(tag, sp->tag, sp->tag_len);
		tag[sp->tag_len] = '\0';
		if (!berth_ref_tag_valid(tag))
			return false;
	}
	sp->name = s;
	sp->name_len = name_len;
	if (name_len == 0)
		return false;
	const char *slash = memchr(s, '/', name_len);
	if (slash) {
		size_t dl = (size_t)(slash - s);
		if (match_domain(s, dl) && match_path(slash + 1, name_len - dl - 1)) {
			sp->domain_len = dl;
			return true;
		}
	}
	return match_path(s, name_len);
}

int berth_ref_parse(const char *s, struct berth_ref *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	struct split sp;
	if (!match_reference(s, &sp)) {
		if (!*s)
			return berth_err(err, BERTH_E_INVALID, "repository name must have at least one component");
		cleanup_free char *low = strdup(s);
		if (!low)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		struct split sp2;
		if (match_reference(low, &sp2))
			return berth_err(err, BERTH_E_INVALID,
					 "invalid reference format: repository name must be lowercase");
		return berth_err(err, BERTH_E_INVALID, "invalid reference format");
	}
	if (sp.name_len > BERTH_REF_NAME_MAX)
		return berth_err(err, BERTH_E_INVALID, "repository name must not be more than %d characters",
				 BERTH_REF_NAME_MAX);
	if (sp.digest) {
		const char *msg = digest_validate(sp.digest);
		if (msg)
			return berth_err(err, BERTH_E_INVALID, "%s", msg);
		snprintf(out->digest, sizeof(out->digest), "%s", sp.digest);
	}
	if (sp.domain_len) {
		memcpy(out->domain, sp.name, sp.domain_len);
		out->domain[sp.domain_len] = '\0';
		size_t pl = sp.name_len - sp.domain_len - 1;
		memcpy(out->path, sp.name + sp.domain_len + 1, pl);
		out->path[pl] = '\0';
	} else {
		memcpy(out->path, sp.name, sp.name_len);
		out->path[sp.name_len] = '\0';
	}
	if (sp.tag) {
		memcpy(out->tag, sp.tag, sp.tag_len);
		out->tag[sp.tag_len] = '\0';
	}
	return 0;
}

static bool is_64hex(const char *s) { return strlen(s) == 64 && berth_is_hex(s, 64); }

int berth_ref_parse_normalized(const char *s, struct berth_ref *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	if (is_64hex(s))
		return berth_err(err, BERTH_E_INVALID,
				 "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
	/* splitDockerDomain */
	const char *slash = strchr(s, '/');
	struct berth_buf full = {0};
	const char *remainder;
	char domain[BERTH_REF_NAME_MAX + 1];
	bool has_domain = false;
	if (slash) {
		size_t dl = (size_t)(slash - s);
		bool special = memchr(s, '.', dl) || memchr(s, ':', dl) || (dl == 9 && !strncmp(s, "localhost", 9));
		if (special && dl <= BERTH_REF_NAME_MAX) {
			memcpy(domain, s, dl);
			domain[dl] = '\0';
			remainder = slash + 1;
			has_domain = true;
		}
	}
	if (!has_domain) {
		snprintf(domain, sizeof(domain), "%s", DEFAULT_DOMAIN);
		remainder = s;
	}
	if (!strcmp(domain, LEGACY_DEFAULT_DOMAIN))
		snprintf(domain, sizeof(domain), "%s", DEFAULT_DOMAIN);
	bool add_library = !strcmp(domain, DEFAULT_DOMAIN) && !strchr(remainder, '/');
	/* remote name (before the first ':') must be lower-case */
	const char *colon = strchr(remainder, ':');
	size_t rn = colon ? (size_t)(colon - remainder) : strlen(remainder);
	for (size_t i = 0; i < rn; i++)
		if (isupper((unsigned char)remainder[i]))
			return berth_err(err, BERTH_E_INVALID,
					 "invalid reference format: repository name must be lowercase");
	if (berth_buf_printf(&full, "%s/%s%s", domain, add_library ? OFFICIAL_REPO "/" : "", remainder) < 0)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	int r = berth_ref_parse(berth_buf_str(&full), out, err);
	berth_buf_free(&full);
	return r;
}

int berth_ref_parse_any(const char *s, struct berth_ref *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	if (is_64hex(s)) {
		snprintf(out->digest, sizeof(out->digest), "sha256:%s", s);
		return 0;
	}
	if (strlen(s) < sizeof(out->digest) && strchr(s, ':') && !digest_validate(s)) {
		snprintf(out->digest, sizeof(out->digest), "%s", s);
		return 0;
	}
	return berth_ref_parse_normalized(s, out, err);
}

bool berth_ref_is_named(const struct berth_ref *r) { return r->path[0] != '\0'; }

void berth_ref_tag_name_only(struct berth_ref *r)
{
	if (berth_ref_is_named(r) && !r->tag[0] && !r->digest[0])
		snprintf(r->tag, sizeof(r->tag), "latest");
}

int berth_ref_with_tag(struct berth_ref *r, const char *tag, struct berth_error *err)
{
	if (!berth_ref_tag_valid(tag))
		return berth_err(err, BERTH_E_INVALID, "invalid tag format");
	snprintf(r->tag, sizeof(r->tag), "%s", tag);
	return 0;
}

void berth_ref_trim(struct berth_ref *r)
{
	r->tag[0] = '\0';
	r->digest[0] = '\0';
}

char *berth_ref_name(const struct berth_ref *r)
{
	if (r->domain[0])
		return berth_strdup_printf("%s/%s", r->domain, r->path);
	return strdup(r->path);
}

static char *with_suffixes(char *name, const struct berth_ref *r)
{
	if (!name)
		return NULL;
	char *s = berth_strdup_printf("%s%s%s%s%s", name, r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "",
				      r->digest);
	free(name);
	return s;
}

char *berth_ref_string(const struct berth_ref *r)
{
	if (!berth_ref_is_named(r))
		return strdup(r->digest);
	return with_suffixes(berth_ref_name(r), r);
}

char *berth_ref_familiar_name(const struct berth_ref *r)
{
	if (!strcmp(r->domain, DEFAULT_DOMAIN)) {
		const char *p = r->path;
		const char *sl = strchr(p, '/');
		if (sl && !strchr(sl + 1, '/') && (size_t)(sl - p) == strlen(OFFICIAL_REPO) &&
		    !strncmp(p, OFFICIAL_REPO, strlen(OFFICIAL_REPO)))
			return strdup(sl + 1);
		return strdup(p);
	}
	return berth_ref_name(r);
}

char *berth_ref_familiar_string(const struct berth_ref *r)
{
	if (!berth_ref_is_named(r))
		return strdup(r->digest);
	return with_suffixes(berth_ref_familiar_name(r), r);
}

bool berth_ref_familiar_match(const char *pattern, const struct berth_ref *r)
{
	cleanup_free char *fs = berth_ref_familiar_string(r);
	if (fs && fnmatch(pattern, fs, FNM_PATHNAME) == 0)
		return true;
	if (!berth_ref_is_named(r))
		return false;
	cleanup_free char *fn = berth_ref_familiar_name(r);
	return fn && fnmatch(pattern, fn, FNM_PATHNAME) == 0;
}

char *berth_ref_normalize_familiar(const char *s, struct berth_error *err)
{
	struct berth_ref r;
	if (berth_ref_parse_normalized(s, &r, err) < 0)
		return NULL;
	char *out = berth_ref_familiar_string(&r);
	if (!out)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return out;
}
