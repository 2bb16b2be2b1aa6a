/* Pull: tag or digest -> manifest (list) -> config + layers, as dockerd's
 * puller does (POST /images/create?fromImage=).
 *
 * The layer whose turn to be registered has come is streamed from the
 * registry through the decompressor into the layer store (compressed digest
 * checked at the end of the stream, diff ID by the store; a mismatch discards
 * the half-applied layer). The layers after it are fetched meanwhile
 * (max-concurrent-downloads in all) into the staging area
 * <data_root>/distribution/ ("partial/<hex>" while downloading, "blobs/<hex>"
 * once the sha256 matched). A failed or killed pull leaves no layer and no
 * image visible, and the next pull resumes partial blobs by Range and reuses
 * verified ones. Layers are registered in order (chain ID reuse); the image
 * appears only when all of them are in. */
#pragma once
#include <jansson.h>

#include "common/error.h"
#include "distribution/registry.h"
#include "image/store.h"
#include "metadata/db.h"

struct berth_auth_config;

struct berth_pull_opts {
	const struct berth_registry_config *cfg;
	struct berth_image_store *images;
	struct berth_db *db; /* for the blob metadata (digest <-> diff ID) */
	const char *data_root;
	const char *from_image; /* fromImage: "busybox", "127.0.0.1:5000/a/b:1", "x@sha256:..." */
	const char *tag;        /* tag parameter (tag or digest); NULL/"": from from_image, else all tags */
	const char *platform;   /* "linux/arm64/v8"; NULL/"": the host's */
	const struct berth_auth_config *auth; /* may be NULL */
	/* dockerd's JSON progress messages, in order, one at a time (borrowed).
	 * The first call comes after the manifest was found, so an error before
	 * it (unknown name or tag, auth) can still be answered with a status. */
	void (*progress)(void *ctx, json_t *msg);
	void *ctx;
	/* Set by berth_pull: true once progress was called (errors then go in-stream). */
	bool started;
};

/* 0 when done (the final "Status: ..." line was sent); -1 with err:
 * BERTH_E_NOT_FOUND "manifest for x:tag not found: manifest unknown: manifest unknown",
 * BERTH_E_INVALID (bad reference, platform, schema 1, digest mismatch), ... */
int berth_pull(struct berth_pull_opts *o, struct berth_error *err);

/* Release layer references held by pulls that were killed (journals under
 * <data_root>/distribution/held/ that no running pull owns), and drop staged
 * blobs untouched for a day. Called at berthd's start and at the start of
 * every pull; cheap when there is nothing. */
void berth_pull_recover(struct berth_image_store *images, const char *data_root);
