/* Image store: image records and repository references (tags, digests) in the
 * daemon's SQLite database (tables "images", "image_refs"), image configs as
 * content-addressed blobs under <data_root>/image/blobs/sha256/<hex>. Every
 * image holds one reference on its top layer (chain ID) in the layer store.
 *
 * Lookups follow docker's GetImage: a reference (name[:tag], name@digest),
 * a full ID ("sha256:<hex>" or "<hex>"), or an unambiguous ID prefix
 * ("6d8f26", "sha256:6d8f"). Not found: BERTH_E_NOT_FOUND "No such image: x:latest".
 *
 * JSON results use docker 20.10's shapes and field order. Thread-safe (one
 * store mutex); hooks are called with it held and must not call back. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "image/reference.h"
#include "metadata/db.h"

struct berth_image_store;
struct berth_layer_store;
struct berth_event_sink;

enum berth_image_use {
	BERTH_IMAGE_USE_ANY,
	BERTH_IMAGE_USE_RUNNING,
	BERTH_IMAGE_USE_STOPPED,
};

/* Container knowledge the daemon supplies (all optional). */
struct berth_image_hooks {
	/* First container using image_id that is in state `which`: fill its full ID, return true. */
	bool (*find_container)(void *ctx, const char *image_id, enum berth_image_use which, char container_id[65]);
	/* Number of containers using image_id (system df). */
	int64_t (*count_containers)(void *ctx, const char *image_id);
	void *ctx;
};

/* events: where the store reports image events (copied; NULL: none; the
 * daemon passes berth_events_sink()). Creates the tables (IF NOT EXISTS) and
 * directories, and removes leftovers of interrupted loads/saves. */
struct berth_image_store *berth_image_store_open(const char *data_root, struct berth_db *db,
						 struct berth_layer_store *ls, const struct berth_event_sink *events,
						 struct berth_error *err);
void berth_image_store_close(struct berth_image_store *s);
void berth_image_store_set_hooks(struct berth_image_store *s, const struct berth_image_hooks *hooks);
/* Version written as docker_version into configs made here (import); default BERTH_VERSION. */
void berth_image_store_set_docker_version(struct berth_image_store *s, const char *version);
struct berth_layer_store *berth_image_store_layers(struct berth_image_store *s);
const char *berth_image_store_data_root(struct berth_image_store *s);

struct berth_image {
	char id[BERTH_DIGEST_LEN + 1];        /* "sha256:<hex>" (the config digest) */
	char parent[BERTH_DIGEST_LEN + 1];    /* "" when none */
	char top_chain[BERTH_DIGEST_LEN + 1]; /* "" for an image without layers */
	int64_t created_ns;                   /* from the config; BERTH_IMAGE_TIME_ZERO if none */
	char *config;                         /* exact config bytes */
	size_t config_len;
	json_t *json; /* parsed config */
};
void berth_image_free(struct berth_image *img); /* frees the members, not img */

/* GetImage. */
int berth_image_get(struct berth_image_store *s, const char *name, struct berth_image *out, struct berth_error *err);
int berth_image_resolve(struct berth_image_store *s, const char *name, char id[BERTH_DIGEST_LEN + 1],
			struct berth_error *err);
bool berth_image_exists(struct berth_image_store *s, const char *id);
int64_t berth_image_count(struct berth_image_store *s);

/* Create an image from config bytes whose layers (rootfs.diff_ids) are already
 * in the layer store; takes one reference on the top chain ID. parent may be
 * NULL. An existing identical image is not an error (*created = false). No event. */
int berth_image_create(struct berth_image_store *s, const char *config, size_t len, const char *parent,
		       char id[BERTH_DIGEST_LEN + 1], bool *created, struct berth_error *err);

/* POST /images/{name}/tag: source resolved by GetImage, repo parsed normalized,
 * tag optional ("latest"). *familiar (may be NULL) gets "repo:tag" (caller frees).
 * Emits "tag". */
int berth_image_tag(struct berth_image_store *s, const char *source, const char *repo, const char *tag, char **familiar,
		    struct berth_error *err);
/* Point ref (name, name:tag; a missing tag means latest) at image_id. Emits "tag".
 * *previous (may be NULL) gets the image ID the tag was moved away from, or "". */
int berth_image_tag_reference(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref,
			      char previous[BERTH_DIGEST_LEN + 1], struct berth_error *err);
/* Record name@digest (pull). No event. */
int berth_image_add_digest_reference(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref,
				     struct berth_error *err);
/* Remove one reference (no image deletion). Emits "untag". */
int berth_image_untag(struct berth_image_store *s, const struct berth_ref *ref, struct berth_error *err);
/* Familiar tags / digests of an image, sorted as docker sorts them (NULL-terminated; caller frees). */
int berth_image_references(struct berth_image_store *s, const char *image_id, char ***tags, char ***digests,
			   struct berth_error *err);

/* DELETE /images/{name}?force=&noprune=: docker's semantics and response
 * [{"Untagged": "busybox:latest"}, {"Deleted": "sha256:..."}, ...] (new reference).
 * Conflicts are BERTH_E_CONFLICT with docker's messages. prune = !noprune. */
json_t *berth_image_delete(struct berth_image_store *s, const char *name, bool force, bool prune,
			   struct berth_error *err);

/* GET /images/json. filters: docker's filter JSON, parsed ({"key":{"v":true}} or
 * {"key":["v"]}), may be NULL. Keys: dangling, label, before, since, reference. */
json_t *berth_image_list(struct berth_image_store *s, const json_t *filters, bool all, struct berth_error *err);
/* GET /images/{name}/json */
json_t *berth_image_inspect(struct berth_image_store *s, const char *name, struct berth_error *err);
/* GET /images/{name}/history */
json_t *berth_image_history(struct berth_image_store *s, const char *name, struct berth_error *err);
/* POST /images/prune: {"ImagesDeleted": [...]|null, "SpaceReclaimed": n}. Keys:
 * dangling (default true), until, label, label!. Emits "prune". */
json_t *berth_image_prune(struct berth_image_store *s, const json_t *filters, struct berth_error *err);
/* GET /system/df images part: {"LayersSize": n, "Images": [summaries with SharedSize and Containers]}. */
json_t *berth_image_df(struct berth_image_store *s, struct berth_error *err);

/* Content-addressed blobs (configs; manifests for distribution). put writes
 * atomically and returns the digest; get verifies it (BERTH_E_INTERNAL on a
 * corrupt blob, BERTH_E_NOT_FOUND when absent). */
int berth_image_blob_put(struct berth_image_store *s, const void *data, size_t len, char digest[BERTH_DIGEST_LEN + 1],
			 struct berth_error *err);
int berth_image_blob_get(struct berth_image_store *s, const char *digest, char **data, size_t *len,
			 struct berth_error *err);
int berth_image_blob_delete(struct berth_image_store *s, const char *digest);

/* Emit an image event ("load", "save", "import", ...) with docker's attributes
 * (the image's labels + name). */
void berth_image_event(struct berth_image_store *s, const char *image_id, const char *name, const char *action);
