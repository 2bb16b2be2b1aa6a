/* Push (POST /images/{name}/push): an image's layers, config and schema 2
 * manifest to a registry, with dockerd 20.10's progress messages.
 *
 * Layers are exported byte-exact from the layer store and gzip-compressed on
 * worker threads (storage/compress.h) straight into the body of one streamed
 * PATCH while their compressed digest is computed; the PUT ?digest= that
 * closes the upload carries it. The config goes up in one monolithic PUT
 * ?digest=. The compressed digest of every
 * layer pushed or pulled is remembered (blobmeta.h): a blob the registry
 * already has in this repository is skipped after a HEAD ("Layer already
 * exists"), one held by another repository of the same registry is mounted
 * (POST ?mount=&from=, "Mounted from other/repo"), so a second push
 * compresses and sends nothing. Layers go up in parallel, at most
 * registry->max_concurrent_uploads at a time ("Waiting" for the rest). A
 * failed upload is tried again (5 attempts, "Retrying in N seconds" as
 * dockerd) from the compressed copy the first attempt kept, not compressed
 * again. */
#pragma once
#include <jansson.h>

#include "common/error.h"
#include "common/log.h"
#include "distribution/authconfig.h"
#include "distribution/registry.h"
#include "image/store.h"
#include "metadata/db.h"

struct berth_push_opts {
	struct berth_image_store *images;
	struct berth_db *db;
	const struct berth_registry_config *registry; /* may be NULL: defaults */
	const struct berth_auth_config *auth;         /* may be NULL: anonymous */
	/* Progress: one message at a time (serialized by push), borrowed. */
	void (*emit)(void *ctx, json_t *msg);
	void *ctx;
	/* Optional: true when the client has gone (the push stops). */
	int (*cancelled)(void *ctx);
	struct berth_log *log; /* may be NULL */
	/* Where a layer's compressed copy is kept for a retry (an unnamed file in
	 * <data_root>/distribution); NULL: a retry compresses again. */
	const char *data_root;
};

/* name: the repository as in the URL ("127.0.0.1:5000/a/b", may carry a
 * tag); tag: NULL or "" pushes every tag of the repository. Errors come back
 * with dockerd's messages ("An image does not exist locally with the tag: x",
 * "tag does not exist: x:t", the registry's "unauthorized: ..."); the
 * caller writes them into the stream once it has started. */
int berth_push(const struct berth_push_opts *o, const char *name, const char *tag, struct berth_error *err);
