/* Reference parsing and normalization, checked against docker/distribution's
 * behaviour (valid forms, familiar forms, error messages). */
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"
#include "tap.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ok_case {
	const char *in, *full, *familiar, *domain, *path, *tag, *digest;
};

struct bad_case {
	const char *in, *msg;
};

static void check_ok(struct tap *t, const struct ok_case *c)
{
	struct berth_ref r;
	struct berth_error err = {0};
	int rc = berth_ref_parse_normalized(c->in, &r, &err);
	TAP_OK(t, rc == 0, "parse '%s'%s%s", c->in, rc ? ": " : "", rc ? err.msg : "");
	if (rc)
		return;
	char *full = berth_ref_string(&r), *fam = berth_ref_familiar_string(&r);
	TAP_STREQ(t, full, c->full, "'%s' full string", c->in);
	TAP_STREQ(t, fam, c->familiar, "'%s' familiar string", c->in);
	TAP_OK(t,
	       !strcmp(r.domain, c->domain) && !strcmp(r.path, c->path) && !strcmp(r.tag, c->tag) &&
		       !strcmp(r.digest, c->digest),
	       "'%s' parts (%s | %s | %s | %s)", c->in, r.domain, r.path, r.tag, r.digest);
	free(full);
	free(fam);
}

static void check_bad(struct tap *t, const struct bad_case *c)
{
	struct berth_ref r;
	struct berth_error err = {0};
	int rc = berth_ref_parse_normalized(c->in, &r, &err);
	TAP_OK(t, rc < 0 && err.kind == BERTH_E_INVALID, "'%.40s' rejected", c->in);
	TAP_STREQ(t, err.msg, c->msg, "'%.40s' message", c->in);
}

int main(void)
{
	struct tap t = {0};
	static const struct ok_case oks[] = {
		{"busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", "", ""},
		{"busybox:latest", "docker.io/library/busybox:latest", "busybox:latest", "docker.io", "library/busybox",
		 "latest", ""},
		{"docker.io/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", "", ""},
		{"index.docker.io/busybox:1", "docker.io/library/busybox:1", "busybox:1", "docker.io",
		 "library/busybox", "1", ""},
		{"library/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", "", ""},
		{"docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar", "docker.io",
		 "library/foo/bar", "", ""},
		{"foo/bar:Tag_1.0-x", "docker.io/foo/bar:Tag_1.0-x", "foo/bar:Tag_1.0-x", "docker.io", "foo/bar",
		 "Tag_1.0-x", ""},
		{"localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000", "a/b",
		 "tag", ""},
		{"localhost/foo", "localhost/foo", "localhost/foo", "localhost", "foo", "", ""},
		{"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io",
		 "library/localhost", "5000", ""},
		{"quay.io/x/y", "quay.io/x/y", "quay.io/x/y", "quay.io", "x/y", "", ""},
		{"UPPER.io/foo", "UPPER.io/foo", "UPPER.io/foo", "UPPER.io", "foo", "", ""},
		{"foo:5000/bar", "foo:5000/bar", "foo:5000/bar", "foo:5000", "bar", "", ""},
		{"ab/a-b.c_d__e---f", "docker.io/ab/a-b.c_d__e---f", "ab/a-b.c_d__e---f", "docker.io",
		 "ab/a-b.c_d__e---f", "", ""},
		/* a "domain" that fails the domain grammar falls back to a plain path (as in Go) */
		{"a_b.c/g", "a_b.c/g", "a_b.c/g", "", "a_b.c/g", "", ""},
		{"busybox@sha256:" HEX64, "docker.io/library/busybox@sha256:" HEX64, "busybox@sha256:" HEX64,
		 "docker.io", "library/busybox", "", "sha256:" HEX64},
		{"r.io/busybox:1.0@sha256:" HEX64, "r.io/busybox:1.0@sha256:" HEX64, "r.io/busybox:1.0@sha256:" HEX64,
		 "r.io", "busybox", "1.0", "sha256:" HEX64},
	};
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++)
		check_ok(&t, &oks[i]);

	static const struct bad_case bads[] = {
		{"Busybox", "invalid reference format: repository name must be lowercase"},
		{"foo/Bar:tag", "invalid reference format: repository name must be lowercase"},
		{HEX64, "invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings"},
		{"", "invalid reference format"},
		{":tag", "invalid reference format"},
		{"a/", "invalid reference format"},
		{"-busybox", "invalid reference format"},
		{"busy___box", "invalid reference format"},
		{"busy.-box", "invalid reference format"},
		{"busybox:", "invalid reference format"},
		{"busybox:-tag", "invalid reference format"},
		{"busybox@sha256:abc", "invalid reference format"},
		{"busybox@sha256:0123456789abcdef0123456789abcdef", "invalid checksum digest length"},
		{"busybox@sha256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		 "invalid checksum digest format"},
		{"busybox@foo:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
		{"a b", "invalid reference format"},
		{"localhost:abc/foo", "invalid reference format"},
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		check_bad(&t, &bads[i]);

	/* name length */
	char longname[400];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "x.io/", 5);
	longname[5 + 250] = '\0';
	struct bad_case len_ok = {longname, NULL};
	struct berth_ref r;
	struct berth_error err = {0};
	TAP_OK(&t, berth_ref_parse_normalized(len_ok.in, &r, &err) == 0, "name of 255 chars accepted");
	longname[5 + 250] = 'a';
	longname[5 + 251] = '\0';
	struct bad_case too_long = {longname, "repository name must not be more than 255 characters"};
	check_bad(&t, &too_long);
	char longtag[200];
	memset(longtag, 't', sizeof(longtag));
	memcpy(longtag, "busybox:", 8);
	longtag[8 + 128] = '\0';
	TAP_OK(&t, berth_ref_parse_normalized(longtag, &r, &err) == 0, "tag of 128 chars accepted");
	longtag[8 + 128] = 't';
	longtag[8 + 129] = '\0';
	struct bad_case tag_long = {longtag, "invalid reference format"};
	check_bad(&t, &tag_long);

	/* plain Parse keeps the string as written */
	TAP_OK(&t, berth_ref_parse("foo/bar", &r, &err) == 0 && !strcmp(r.domain, "foo") && !strcmp(r.path, "bar"),
	       "Parse: foo/bar has domain foo");
	TAP_OK(&t,
	       berth_ref_parse("", &r, &err) < 0 &&
		       !strcmp(err.msg, "repository name must have at least one component"),
	       "Parse: empty name message");

	/* ParseAnyReference */
	TAP_OK(&t,
	       berth_ref_parse_any(HEX64, &r, &err) == 0 && !berth_ref_is_named(&r) &&
		       !strcmp(r.digest, "sha256:" HEX64),
	       "any: 64 hex is a digest");
	TAP_OK(&t, berth_ref_parse_any("sha256:" HEX64, &r, &err) == 0 && !berth_ref_is_named(&r), "any: sha256:hex");
	TAP_OK(&t, berth_ref_parse_any("6d8f", &r, &err) == 0 && !strcmp(r.path, "library/6d8f"),
	       "any: short hex is a name");

	/* tag helpers */
	berth_ref_parse_normalized("busybox", &r, &err);
	berth_ref_tag_name_only(&r);
	char *s = berth_ref_familiar_string(&r);
	TAP_STREQ(&t, s, "busybox:latest", "TagNameOnly adds latest");
	free(s);
	TAP_OK(&t, berth_ref_with_tag(&r, "bad tag", &err) < 0 && !strcmp(err.msg, "invalid tag format"),
	       "WithTag rejects a bad tag");
	TAP_OK(&t, berth_ref_with_tag(&r, "v2", &err) == 0 && !strcmp(r.tag, "v2"), "WithTag sets the tag");

	/* FamiliarMatch */
	berth_ref_parse_normalized("busybox:latest", &r, &err);
	TAP_OK(&t, berth_ref_familiar_match("busy*", &r), "busy* matches busybox:latest");
	TAP_OK(&t, berth_ref_familiar_match("busybox", &r), "busybox matches busybox:latest (name)");
	TAP_OK(&t, !berth_ref_familiar_match("alpine*", &r), "alpine* does not match");
	berth_ref_parse_normalized("localhost:5000/a/b:t", &r, &err);
	TAP_OK(&t, berth_ref_familiar_match("localhost:5000/a/*", &r), "glob with registry");
	TAP_OK(&t, !berth_ref_familiar_match("*", &r), "* does not cross /");

	s = berth_ref_normalize_familiar("docker.io/library/busybox:1", &err);
	TAP_STREQ(&t, s, "busybox:1", "normalize familiar");
	free(s);
	return TAP_DONE(&t);
}
