/* Registry manifests: Docker schema 2, OCI image manifest, Docker manifest
 * list and OCI image index; platform selection. Pure parsing, no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

#define BERTH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define BERTH_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define BERTH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BERTH_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define BERTH_MT_DOCKER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define BERTH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define BERTH_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* The Accept header value of a manifest GET (schema 1 is asked for too, so
 * it can be refused clearly instead of as "manifest unknown"). */
#define BERTH_MANIFEST_ACCEPT                                                                                          \
	"Accept: " BERTH_MT_DOCKER_MANIFEST ", " BERTH_MT_DOCKER_LIST ", " BERTH_MT_OCI_MANIFEST                       \
	", " BERTH_MT_OCI_INDEX ", " BERTH_MT_DOCKER_V1_SIGNED ", " BERTH_MT_DOCKER_V1

#define BERTH_MAX_CONFIG_SIZE (8 * 1024 * 1024)

struct berth_descriptor {
	char media_type[128];
	char digest[BERTH_DIGEST_LEN + 1];
	int64_t size;
};

struct berth_platform {
	char os[32];
	char arch[32];
	char variant[32];
};

struct berth_manifest_entry {
	struct berth_descriptor d;
	struct berth_platform platform;
	bool has_platform;
};

enum berth_manifest_kind { BERTH_MANIFEST_IMAGE, BERTH_MANIFEST_INDEX };

struct berth_manifest {
	enum berth_manifest_kind kind;
	char media_type[128];
	/* image */
	struct berth_descriptor config;
	struct berth_descriptor *layers;
	size_t nlayers;
	/* index */
	struct berth_manifest_entry *entries;
	size_t nentries;
};

/* content_type: the response's Content-Type (may be NULL; the body's
 * mediaType decides when it is absent or generic). Schema 1 is refused with
 * docker's deprecation message naming ref (may be NULL). Layers must be tar,
 * tar+gzip or tar+zstd (docker and OCI types). */
int berth_manifest_parse(const char *data, size_t len, const char *content_type, const char *ref,
			 struct berth_manifest *out, struct berth_error *err);
void berth_manifest_free(struct berth_manifest *m);

/* "linux", "linux/arm64", "linux/arm64/v8" (normalized as containerd's
 * platforms package: aarch64 -> arm64, x86_64 -> amd64, arm64 variant v8,
 * arm variant v7 by default). "" or NULL: the host's platform. */
int berth_platform_parse(const char *s, struct berth_platform *out, struct berth_error *err);
void berth_platform_host(struct berth_platform *out);
/* "linux/arm64/v8" */
void berth_platform_format(const struct berth_platform *p, char *out, size_t len);
/* Index of the entry of an index that best matches want, or -1 with
 * docker's "no matching manifest for linux/arm64/v8 in the manifest list entries". */
int berth_manifest_select(const struct berth_manifest *index, const struct berth_platform *want,
			  struct berth_error *err);
