/* Internals shared by the image store's files (store.c, query.c, archive.c,
 * save.c, import.c). Not for other modules. */
#pragma once
#include <pthread.h>

#include "common/event_sink.h"
#include "image/config.h"
#include "image/store.h"
#include "metadata/db.h"
#include "storage/layer_store.h"

struct berth_image_store {
	char *data_root;
	char *blob_dir; /* <data_root>/image/blobs/sha256 */
	char *tmp_dir;  /* <data_root>/image/tmp */
	struct berth_db *db;
	pthread_mutex_t mu; /* recursive */
	struct berth_layer_store *ls;
	struct berth_event_sink events; /* emit NULL: no events */
	struct berth_image_hooks hooks;
	char *docker_version;
	unsigned tmp_seq;
};

void img_lock(struct berth_image_store *s);
void img_unlock(struct berth_image_store *s);

/* One row of image_refs, parsed. */
struct img_ref {
	char *full; /* "docker.io/library/busybox:latest" */
	bool digest;
	struct berth_ref ref;
};
struct img_refs {
	struct img_ref *v;
	size_t n;
};
void img_refs_free(struct img_refs *r);
/* References of an image, sorted by full string (docker's lexical order). */
int img_refs_of(struct berth_image_store *s, const char *id, struct img_refs *out, struct berth_error *err);

/* Image row (no config) */
struct img_row {
	char id[BERTH_DIGEST_LEN + 1];
	char parent[BERTH_DIGEST_LEN + 1];
	char top_chain[BERTH_DIGEST_LEN + 1];
	int64_t created_ns;
	int64_t last_tag_ns;
};
int img_row_get(struct berth_image_store *s, const char *id, struct img_row *out, struct berth_error *err);
/* All rows (ordered by created desc). */
int img_rows_all(struct berth_image_store *s, struct img_row **rows, size_t *n, struct berth_error *err);
/* Number of images whose parent is id. */
int64_t img_children(struct berth_image_store *s, const char *id);
/* Load the config of a row into img. */
int img_load(struct berth_image_store *s, const struct img_row *row, struct berth_image *img, struct berth_error *err);

/* Layer sizes along an image's chain: total (image Size) ; own size of chain layer. */
int64_t img_chain_size(struct berth_image_store *s, const char *top_chain);

/* Docker's delete for one resolved image; appends records; *reclaimed adds the
 * sizes of removed layers. */
int img_delete_resolved(struct berth_image_store *s, const char *name, const char *id, bool force, bool prune,
			json_t *records, int64_t *reclaimed, struct berth_error *err);

/* Point a tag at an image. tag_image: as TagImageWithReference (LastTagTime and
 * a "tag" event); false: as docker load's setLoadedTag (reference store only). */
int img_add_tag(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref,
		char previous[BERTH_DIGEST_LEN + 1], bool tag_image, struct berth_error *err);

/* Labels object of a parsed config (borrowed, may be NULL). */
json_t *img_config_labels(const json_t *cfg);

/* Filters in docker's format: values of key (NULL-terminated, caller frees) or NULL when absent. */
char **img_filter_values(const json_t *filters, const char *key);
bool img_filter_has(const json_t *filters, const char *key);
/* MatchKVList */
bool img_filter_match_kv(char **want, const json_t *labels);
/* Unknown filter keys: "Invalid filter 'x'" */
int img_filter_validate(const json_t *filters, const char *const *accepted, struct berth_error *err);

/* A fresh temp path under tmp_dir (not created). Caller frees. */
char *img_tmp_path(struct berth_image_store *s, const char *prefix);
