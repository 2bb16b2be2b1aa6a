/* Distribution (pull side): manifest parsing, platform selection, auth
 * challenges, insecure-registry rules, registry error messages. */
#include <stdlib.h>
#include <string.h>

#include "distribution/manifest.h"
#include "distribution/registry.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char *schema2 =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":10,\"digest\":\"" D1
	"\"},"
	"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":20,\"digest\":\"" D2
	"\"},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":30,\"digest\":\"" D3 "\"}]}";

static const char *index_json =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" D1 "\","
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" D2 "\","
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":\"" D3 "\","
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}}]}";

static void test_manifests(struct tap *t)
{
	struct berth_manifest m;
	struct berth_error err = {0};
	TAP_OK(t, berth_manifest_parse(schema2, strlen(schema2), BERTH_MT_DOCKER_MANIFEST, "x", &m, &err) == 0,
	       "schema 2 parses: %s", err.msg);
	TAP_OK(t, m.kind == BERTH_MANIFEST_IMAGE && m.nlayers == 2, "schema 2: image with 2 layers");
	TAP_STREQ(t, m.config.digest, D1, "schema 2: config digest");
	TAP_OK(t, m.layers[1].size == 30, "schema 2: layer size");
	berth_manifest_free(&m);

	/* Content-Type absent: the body's mediaType decides */
	TAP_OK(t, berth_manifest_parse(schema2, strlen(schema2), NULL, "x", &m, &err) == 0, "no Content-Type");
	berth_manifest_free(&m);
	/* mismatch between Content-Type and mediaType */
	TAP_OK(t, berth_manifest_parse(schema2, strlen(schema2), BERTH_MT_OCI_MANIFEST, "x", &m, &err) < 0,
	       "mediaType vs Content-Type mismatch refused");

	const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"1\",\"fsLayers\":[]}";
	memset(&err, 0, sizeof(err));
	TAP_OK(t, berth_manifest_parse(s1, strlen(s1), BERTH_MT_DOCKER_V1_SIGNED, "busybox:1", &m, &err) < 0,
	       "schema 1 refused");
	TAP_OK(t, strstr(err.msg, "schema 1 support has been removed") && strstr(err.msg, "busybox:1"),
	       "schema 1 message: %s", err.msg);
	memset(&err, 0, sizeof(err));
	TAP_OK(t,
	       berth_manifest_parse(s1, strlen(s1), "application/json", "b", &m, &err) < 0 &&
		       strstr(err.msg, "schema 1"),
	       "schema 1 by schemaVersion refused");

	const char *bad[] = {
		"not json",
		"[]",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\"}",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"size\":1,\"digest\":\"sha256:zz\"},\"layers\":[]}",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"size\":1,\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":\"text/html\",\"size\":1,"
		"\"digest\":\"" D2 "\"}]}",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"size\":-1,\"digest\":\"" D1 "\"},\"layers\":[]}",
		"{\"schemaVersion\":3}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		int rc = berth_manifest_parse(bad[i], strlen(bad[i]), NULL, "x", &m, &err);
		TAP_OK(t, rc < 0 && err.kind == BERTH_E_INVALID, "malformed manifest %zu refused: %s", i, err.msg);
	}
}

static void test_platforms(struct tap *t)
{
	struct berth_manifest m;
	struct berth_error err = {0};
	TAP_OK(t, berth_manifest_parse(index_json, strlen(index_json), BERTH_MT_OCI_INDEX, "x", &m, &err) == 0,
	       "index parses: %s", err.msg);
	TAP_OK(t, m.kind == BERTH_MANIFEST_INDEX && m.nentries == 3, "index: 3 entries");
	struct berth_platform p;
	TAP_OK(t, berth_platform_parse("linux/amd64", &p, &err) == 0, "parse linux/amd64");
	TAP_OK(t, berth_manifest_select(&m, &p, &err) == 1, "amd64 picks entry 1");
	TAP_OK(t, berth_platform_parse("linux/arm64/v8", &p, &err) == 0, "parse linux/arm64/v8");
	TAP_OK(t, berth_manifest_select(&m, &p, &err) == 0, "arm64/v8 picks entry 0");
	TAP_OK(t,
	       berth_platform_parse("linux/aarch64", &p, &err) == 0 && !strcmp(p.arch, "arm64") &&
		       !strcmp(p.variant, "v8"),
	       "aarch64 normalizes to arm64/v8");
	TAP_OK(t, berth_manifest_select(&m, &p, &err) == 0, "aarch64 picks entry 0");
	TAP_OK(t, berth_platform_parse("linux/arm/v7", &p, &err) == 0, "parse linux/arm/v7");
	TAP_OK(t, berth_manifest_select(&m, &p, &err) == 2, "arm/v7 accepts the arm/v6 entry");
	TAP_OK(t, berth_platform_parse("linux/s390x", &p, &err) == 0, "parse linux/s390x");
	memset(&err, 0, sizeof(err));
	TAP_OK(t, berth_manifest_select(&m, &p, &err) < 0, "s390x: no match");
	TAP_STREQ(t, err.msg, "no matching manifest for linux/s390x in the manifest list entries", "no-match message");
	TAP_OK(t, berth_platform_parse("plan9/amd64", &p, &err) < 0, "unknown os refused");
	TAP_OK(t, berth_platform_parse("linux/amd64/v2/x", &p, &err) < 0, "too many parts refused");
	char buf[64];
	berth_platform_parse("linux/arm64", &p, &err);
	berth_platform_format(&p, buf, sizeof(buf));
	TAP_STREQ(t, buf, "linux/arm64/v8", "format");
	berth_manifest_free(&m);
}

static void test_challenges(struct tap *t)
{
	struct berth_auth_challenge ch;
	struct berth_error err = {0};
	TAP_OK(t,
	       berth_auth_challenge_parse(
		       "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		       "scope=\"repository:library/busybox:pull\"",
		       &ch, &err) == 0,
	       "bearer challenge parses");
	TAP_STREQ(t, ch.scheme, "bearer", "scheme lower-cased");
	TAP_STREQ(t, ch.realm, "https://auth.docker.io/token", "realm");
	TAP_STREQ(t, ch.service, "registry.docker.io", "service");
	TAP_STREQ(t, ch.scope, "repository:library/busybox:pull", "scope");
	berth_auth_challenge_free(&ch);
	TAP_OK(t, berth_auth_challenge_parse("Basic realm=\"Registry Realm\"", &ch, &err) == 0, "basic parses");
	TAP_STREQ(t, ch.scheme, "basic", "basic scheme");
	TAP_STREQ(t, ch.realm, "Registry Realm", "basic realm with a space");
	berth_auth_challenge_free(&ch);
	TAP_OK(t, berth_auth_challenge_parse("Bearer realm=\"a\\\"b\", error=insufficient_scope", &ch, &err) == 0,
	       "escaped quote and bare token");
	TAP_STREQ(t, ch.realm, "a\"b", "escaped quote kept");
	TAP_STREQ(t, ch.error, "insufficient_scope", "bare value");
	berth_auth_challenge_free(&ch);
	TAP_OK(t, berth_auth_challenge_parse("Bearer realm=\"unterminated", &ch, &err) < 0, "unterminated refused");
	TAP_OK(t, berth_auth_challenge_parse("", &ch, &err) < 0, "empty refused");
	TAP_OK(t, berth_auth_challenge_parse("Bearer realm", &ch, &err) < 0, "parameter without value refused");
}

static void test_endpoints(struct tap *t)
{
	char *ins[] = {"myreg:5000", "10.1.0.0/16", NULL};
	struct berth_registry_config cfg;
	berth_registry_config_init(&cfg);
	cfg.insecure = ins;
	TAP_OK(t, berth_registry_is_insecure(&cfg, "127.0.0.1:5000"), "loopback is insecure");
	TAP_OK(t, berth_registry_is_insecure(&cfg, "127.9.9.9"), "all of 127/8");
	TAP_OK(t, berth_registry_is_insecure(&cfg, "localhost:1"), "localhost");
	TAP_OK(t, berth_registry_is_insecure(&cfg, "[::1]:5000"), "::1");
	TAP_OK(t, berth_registry_is_insecure(&cfg, "myreg:5000"), "listed host:port");
	TAP_OK(t, !berth_registry_is_insecure(&cfg, "myreg:5001"), "other port of a listed host:port");
	TAP_OK(t, berth_registry_is_insecure(&cfg, "10.1.2.3:443"), "CIDR entry");
	TAP_OK(t, !berth_registry_is_insecure(&cfg, "10.2.0.1"), "outside the CIDR");
	TAP_OK(t, !berth_registry_is_insecure(&cfg, "registry-1.docker.io"), "docker hub is secure");
	TAP_STREQ(t, berth_registry_host("docker.io"), "registry-1.docker.io", "docker.io host");
	TAP_STREQ(t, berth_registry_auth_key("docker.io"), "https://index.docker.io/v1/", "docker.io auth key");
	TAP_STREQ(t, berth_registry_auth_key("127.0.0.1:5000"), "127.0.0.1:5000", "other auth key");
	struct berth_error err = {0};
	TAP_OK(t, berth_registry_validate_insecure("http://x", &err) < 0, "insecure entry with scheme refused");
	TAP_OK(t, berth_registry_validate_insecure("10.0.0.0/99", &err) < 0, "bad CIDR refused");
	TAP_OK(t, berth_registry_validate_mirror("ftp://m", &err) < 0, "mirror scheme refused");
	TAP_OK(t, berth_registry_validate_mirror("https://m:5000/", &err) == 0, "mirror ok");
	cfg.insecure = NULL;
	berth_registry_config_free(&cfg);

	struct berth_registry_response resp = {.status = 404};
	resp.body =
		strdup("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{}}]}");
	resp.body_len = strlen(resp.body);
	memset(&err, 0, sizeof(err));
	berth_registry_error_from(&resp, "manifest for x:1 not found", &err);
	TAP_STREQ(t, err.msg, "manifest for x:1 not found: manifest unknown: manifest unknown", "registry error text");
	TAP_OK(t, err.kind == BERTH_E_NOT_FOUND, "404 is not found");
	free(resp.body);
}

int main(void)
{
	struct tap t = {0};
	test_manifests(&t);
	test_platforms(&t);
	test_challenges(&t);
	test_endpoints(&t);
	return TAP_DONE(&t);
}
