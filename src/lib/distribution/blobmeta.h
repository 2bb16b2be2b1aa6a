/* Distribution metadata: which compressed registry blob is which layer.
 * Pull records (diff ID, blob digest, repository) for every layer it
 * registers; push looks up the blobs known for a diff ID (skip the upload
 * when the registry has one; mount it from another repository of the same
 * registry) and records what it uploaded, so a second push compresses and
 * sends nothing. Table "dist_blobs" in the daemon's database. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "metadata/db.h"

/* CREATE TABLE IF NOT EXISTS; idempotent, cheap: call it at open. */
int berth_blobmeta_init(struct berth_db *db, struct berth_error *err);
/* Layer diff_id is blob digest (media_type, size bytes) in repo, the
 * normalized "host[:port]/path" name (e.g. "127.0.0.1:5000/a/b",
 * "docker.io/library/busybox"). Insert or refresh. */
int berth_blobmeta_add(struct berth_db *db, const char *diff_id, const char *digest, const char *media_type,
		       int64_t size, const char *repo, struct berth_error *err);
/* Diff ID of a blob: 1 found (out filled), 0 unknown, -1 error. */
int berth_blobmeta_diff_id(struct berth_db *db, const char *digest, char out[BERTH_DIGEST_LEN + 1],
			   struct berth_error *err);

struct berth_blobmeta {
	char digest[BERTH_DIGEST_LEN + 1];
	char *media_type; /* "" when unknown */
	int64_t size;     /* -1 when unknown */
	char *repo;
};
/* Every blob known for diff_id, most recently used first. *out NULL and *n 0
 * when none. Free with berth_blobmeta_free. */
int berth_blobmeta_list(struct berth_db *db, const char *diff_id, struct berth_blobmeta **out, size_t *n,
			struct berth_error *err);
void berth_blobmeta_free(struct berth_blobmeta *v, size_t n);
/* Forget that repo has digest (the registry answered 404 for it). */
int berth_blobmeta_remove(struct berth_db *db, const char *digest, const char *repo, struct berth_error *err);
