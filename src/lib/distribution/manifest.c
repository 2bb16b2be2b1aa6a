/* Manifest parsing and platform selection. */
#include "distribution/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MAX_ENTRIES 1024

void berth_manifest_free(struct berth_manifest *m)
{
	if (!m)
		return;
	free(m->layers);
	free(m->entries);
	memset(m, 0, sizeof(*m));
}

static bool mt_is(const char *mt, const char *want) { return mt && strcmp(mt, want) == 0; }

static int parse_desc(const json_t *j, struct berth_descriptor *d, const char *what, struct berth_error *err)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	const char *dg = json_string_value(json_object_get(j, "digest"));
	json_t *sz = json_object_get(j, "size");
	if (!json_is_object(j) || !dg || !berth_digest_valid(dg) || !json_is_integer(sz) || json_integer_value(sz) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: malformed %s descriptor", what);
	snprintf(d->media_type, sizeof(d->media_type), "%s", mt ? mt : "");
	snprintf(d->digest, sizeof(d->digest), "%s", dg);
	d->size = json_integer_value(sz);
	return 0;
}

static bool layer_type_ok(const char *mt)
{
	return mt_is(mt, BERTH_MT_DOCKER_LAYER) || mt_is(mt, BERTH_MT_DOCKER_FOREIGN) ||
	       mt_is(mt, BERTH_MT_OCI_LAYER) || mt_is(mt, BERTH_MT_OCI_LAYER_GZIP) ||
	       mt_is(mt, BERTH_MT_OCI_LAYER_ZSTD) ||
	       mt_is(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") ||
	       mt_is(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar");
}

static int parse_image(json_t *j, struct berth_manifest *out, struct berth_error *err)
{
	out->kind = BERTH_MANIFEST_IMAGE;
	if (parse_desc(json_object_get(j, "config"), &out->config, "config", err) < 0)
		return -1;
	json_t *layers = json_object_get(j, "layers");
	if (!json_is_array(layers))
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: no layers");
	size_t n = json_array_size(layers);
	if (n > 127)
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: too many layers (%zu)", n);
	out->layers = calloc(n ? n : 1, sizeof(*out->layers));
	if (!out->layers)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (parse_desc(json_array_get(layers, i), &out->layers[i], "layer", err) < 0)
			return -1;
		if (!layer_type_ok(out->layers[i].media_type))
			return berth_err(err, BERTH_E_INVALID, "unsupported layer media type %s for layer %s",
					 out->layers[i].media_type[0] ? out->layers[i].media_type : "\"\"",
					 out->layers[i].digest);
	}
	out->nlayers = n;
	return 0;
}

static int parse_index(json_t *j, struct berth_manifest *out, struct berth_error *err)
{
	out->kind = BERTH_MANIFEST_INDEX;
	json_t *ms = json_object_get(j, "manifests");
	if (!json_is_array(ms))
		return berth_err(err, BERTH_E_INVALID, "invalid manifest list: no manifests");
	size_t n = json_array_size(ms);
	if (n > MAX_ENTRIES)
		return berth_err(err, BERTH_E_INVALID, "invalid manifest list: too many entries (%zu)", n);
	out->entries = calloc(n ? n : 1, sizeof(*out->entries));
	if (!out->entries)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(ms, i);
		struct berth_manifest_entry *en = &out->entries[i];
		if (parse_desc(e, &en->d, "manifest", err) < 0)
			return -1;
		json_t *p = json_object_get(e, "platform");
		if (json_is_object(p)) {
			en->has_platform = true;
			snprintf(en->platform.os, sizeof(en->platform.os), "%s",
				 json_string_value(json_object_get(p, "os")) ?: "");
			snprintf(en->platform.arch, sizeof(en->platform.arch), "%s",
				 json_string_value(json_object_get(p, "architecture")) ?: "");
			snprintf(en->platform.variant, sizeof(en->platform.variant), "%s",
				 json_string_value(json_object_get(p, "variant")) ?: "");
		}
	}
	out->nentries = n;
	return 0;
}

static int schema1(const char *ref, struct berth_error *err)
{
	return berth_err(
		err, BERTH_E_INVALID,
		"Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been "
		"removed. Suggest the author of %s to upgrade the image to the OCI Format or Docker Image "
		"manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/",
		ref ? ref : "the image");
}

int berth_manifest_parse(const char *data, size_t len, const char *content_type, const char *ref,
			 struct berth_manifest *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	char ct[128] = "";
	if (content_type) {
		size_t n = strcspn(content_type, ";");
		while (n && content_type[n - 1] == ' ')
			n--;
		snprintf(ct, sizeof(ct), "%.*s", (int)n, content_type);
	}
	if (mt_is(ct, BERTH_MT_DOCKER_V1) || mt_is(ct, BERTH_MT_DOCKER_V1_SIGNED))
		return schema1(ref, err);
	json_error_t je;
	cleanup_json json_t *j = json_loadb(data, len, 0, &je);
	if (!json_is_object(j))
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: %s", j ? "not a JSON object" : je.text);
	json_t *sv = json_object_get(j, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) == 1)
		return schema1(ref, err);
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: unsupported schemaVersion");
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	/* the body's mediaType, if any, must agree with the Content-Type */
	const char *kind = mt && *mt ? mt : ct;
	if (mt && *mt && ct[0] && strcmp(ct, "application/json") && strcmp(ct, "text/plain") && strcmp(mt, ct))
		return berth_err(err, BERTH_E_INVALID, "invalid manifest: mediaType %s does not match Content-Type %s",
				 mt, ct);
	if (!kind[0] || mt_is(kind, "application/json")) /* OCI without mediaType: guess by shape */
		kind = json_object_get(j, "manifests") ? BERTH_MT_OCI_INDEX : BERTH_MT_OCI_MANIFEST;
	snprintf(out->media_type, sizeof(out->media_type), "%s", kind);
	int rc;
	if (mt_is(kind, BERTH_MT_DOCKER_MANIFEST) || mt_is(kind, BERTH_MT_OCI_MANIFEST))
		rc = parse_image(j, out, err);
	else if (mt_is(kind, BERTH_MT_DOCKER_LIST) || mt_is(kind, BERTH_MT_OCI_INDEX))
		rc = parse_index(j, out, err);
	else
		rc = berth_err(err, BERTH_E_INVALID, "unsupported manifest media type and no default available: %s",
			       kind);
	if (rc < 0)
		berth_manifest_free(out);
	return rc;
}

/* ---- platforms ---------------------------------------------------------------- */

static void normalize(struct berth_platform *p)
{
	for (char *c = p->os; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	for (char *c = p->arch; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	if (!strcmp(p->arch, "x86_64") || !strcmp(p->arch, "x86-64"))
		snprintf(p->arch, sizeof(p->arch), "amd64");
	else if (!strcmp(p->arch, "aarch64"))
		snprintf(p->arch, sizeof(p->arch), "arm64");
	else if (!strcmp(p->arch, "i386") || !strcmp(p->arch, "i686"))
		snprintf(p->arch, sizeof(p->arch), "386");
	else if (!strcmp(p->arch, "armhf"))
		snprintf(p->arch, sizeof(p->arch), "arm");
	if (!strcmp(p->arch, "arm64") && !p->variant[0])
		snprintf(p->variant, sizeof(p->variant), "v8");
	if (!strcmp(p->arch, "arm") && !p->variant[0])
		snprintf(p->variant, sizeof(p->variant), "v7");
	if (!strcmp(p->arch, "arm64") && !strcmp(p->variant, "8"))
		snprintf(p->variant, sizeof(p->variant), "v8");
}

void berth_platform_host(struct berth_platform *out)
{
	memset(out, 0, sizeof(*out));
	struct utsname u;
	snprintf(out->os, sizeof(out->os), "linux");
	const char *m = uname(&u) == 0 ? u.machine : "amd64";
	size_t n = strlen(m) < sizeof(out->arch) ? strlen(m) : sizeof(out->arch) - 1;
	memcpy(out->arch, m, n);
	out->arch[n] = '\0';
	normalize(out);
}

int berth_platform_parse(const char *s, struct berth_platform *out, struct berth_error *err)
{
	berth_platform_host(out);
	if (!s || !*s)
		return 0;
	char tmp[128];
	if (strlen(s) >= sizeof(tmp))
		return berth_err(err, BERTH_E_INVALID,
				 "\"%s\": unknown operating system or architecture: invalid argument", s);
	snprintf(tmp, sizeof(tmp), "%s", s);
	char *parts[4] = {0};
	int n = 0;
	for (char *save = NULL, *t = strtok_r(tmp, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == 3)
			return berth_err(err, BERTH_E_INVALID, "\"%s\": invalid platform format: invalid argument", s);
		parts[n++] = t;
	}
	if (n == 0)
		return berth_err(err, BERTH_E_INVALID, "\"%s\": invalid platform format: invalid argument", s);
	struct berth_platform host = *out;
	memset(out, 0, sizeof(*out));
	snprintf(out->os, sizeof(out->os), "%s", parts[0]);
	if (n >= 2)
		snprintf(out->arch, sizeof(out->arch), "%s", parts[1]);
	else if (!strcmp(parts[0], "linux"))
		snprintf(out->arch, sizeof(out->arch), "%s", host.arch);
	if (n == 3)
		snprintf(out->variant, sizeof(out->variant), "%s", parts[2]);
	if (strcmp(out->os, "linux") && strcmp(out->os, "windows") && strcmp(out->os, "darwin") &&
	    strcmp(out->os, "freebsd"))
		return berth_err(err, BERTH_E_INVALID,
				 "\"%s\": unknown operating system or architecture: invalid argument", s);
	normalize(out);
	return 0;
}

void berth_platform_format(const struct berth_platform *p, char *out, size_t len)
{
	snprintf(out, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

/* 0: no match; higher is better. */
static int score(const struct berth_manifest_entry *e, const struct berth_platform *want)
{
	if (!e->has_platform)
		return 0;
	struct berth_platform p = e->platform;
	normalize(&p);
	if (strcmp(p.os, want->os) || strcmp(p.arch, want->arch))
		return 0;
	if (!strcmp(p.variant, want->variant))
		return 3;
	if (!p.variant[0])
		return 2;
	if (!strcmp(p.arch, "amd64") && !want->variant[0] && !strcmp(p.variant, "v1"))
		return 2;
	/* arm: an older variant runs on a newer cpu (v6 image on a v7 host) */
	if (!strcmp(p.arch, "arm") && want->variant[0] && p.variant[0] && strcmp(p.variant, want->variant) < 0)
		return 1;
	return 0;
}

int berth_manifest_select(const struct berth_manifest *index, const struct berth_platform *want,
			  struct berth_error *err)
{
	int best = -1, best_score = 0;
	for (size_t i = 0; i < index->nentries; i++) {
		int s = score(&index->entries[i], want);
		if (s > best_score) {
			best = (int)i;
			best_score = s;
		}
	}
	if (best < 0) {
		char p[128];
		berth_platform_format(want, p, sizeof(p));
		return berth_err(err, BERTH_E_NOT_FOUND, "no matching manifest for %s in the manifest list entries", p);
	}
	return best;
}
