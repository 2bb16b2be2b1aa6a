/* Docker image references, parsed and normalized exactly as
 * docker/distribution's reference package (the version docker 20.10 vendors):
 *
 *   busybox                -> docker.io/library/busybox        (familiar: busybox)
 *   busybox:1.36           -> docker.io/library/busybox:1.36
 *   localhost:5000/a/b:t   -> localhost:5000/a/b:t
 *   quay.io/x/y@sha256:..  -> quay.io/x/y@sha256:...
 *
 * A domain is the part before the first '/' when it contains '.' or ':' or is
 * "localhost"; otherwise docker.io is assumed (and "library/" for one-component
 * names). Errors carry docker's messages and kind BERTH_E_INVALID. */
#pragma once
#include <stdbool.h>

#include "common/error.h"

#define BERTH_REF_NAME_MAX 255 /* NameTotalLengthMax */
#define BERTH_REF_TAG_MAX 128

struct berth_ref {
	char domain[BERTH_REF_NAME_MAX + 1]; /* "" when a plain parse found none */
	char path[BERTH_REF_NAME_MAX + 1];   /* "" for a digest-only reference */
	char tag[BERTH_REF_TAG_MAX + 1];     /* "" when none */
	char digest[160];                    /* "" when none; "sha256:<hex>" */
};

/* reference.Parse: the string as written, no defaults. */
int berth_ref_parse(const char *s, struct berth_ref *out, struct berth_error *err);
/* reference.ParseNormalizedNamed: adds docker.io / library/; no default tag.
 * Rejects 64-hex names ("invalid repository name (...), cannot specify
 * 64-byte hexadecimal strings") and upper-case repository names. */
int berth_ref_parse_normalized(const char *s, struct berth_ref *out, struct berth_error *err);
/* reference.ParseAnyReference: a 64-hex string or "sha256:<hex>" gives a
 * digest-only reference (path ""), anything else ParseNormalizedNamed. */
int berth_ref_parse_any(const char *s, struct berth_ref *out, struct berth_error *err);

/* true when the reference has a name (not digest-only). */
bool berth_ref_is_named(const struct berth_ref *r);
/* reference.TagNameOnly: a name without tag and digest gets "latest". */
void berth_ref_tag_name_only(struct berth_ref *r);
/* reference.WithTag (validates the tag: "invalid tag format"); keeps the digest. */
int berth_ref_with_tag(struct berth_ref *r, const char *tag, struct berth_error *err);
/* reference.TrimNamed: drop tag and digest. */
void berth_ref_trim(struct berth_ref *r);
bool berth_ref_tag_valid(const char *tag);

/* The caller frees the results of these (NULL only on out of memory). */
/* "docker.io/library/busybox" */
char *berth_ref_name(const struct berth_ref *r);
/* "docker.io/library/busybox:latest", "name@sha256:..", "name:tag@sha256:..", or the digest alone. */
char *berth_ref_string(const struct berth_ref *r);
/* "busybox", "localhost:5000/a/b", "quay.io/x/y" */
char *berth_ref_familiar_name(const struct berth_ref *r);
/* "busybox:latest", "quay.io/x/y@sha256:..." */
char *berth_ref_familiar_string(const struct berth_ref *r);

/* reference.FamiliarMatch: shell glob (path.Match rules) against the familiar
 * string, then against the familiar name. */
bool berth_ref_familiar_match(const char *pattern, const struct berth_ref *r);

/* Normalize for display: parse (normalized) and return the familiar string,
 * or NULL with err set. */
char *berth_ref_normalize_familiar(const char *s, struct berth_error *err);
