/* The image builder: docker 20.10's classic builder (Dockerfile steps run as
 * containers and committed, docker's cache rules and JSON stream).
 *
 * The builder sits at the image level: it never includes daemon/ headers.
 * The daemon hands it a struct berth_build_ops (daemon/build_ops.c) whose
 * callbacks create, run, copy into, commit and remove containers on the same
 * path as `berth run` and POST /commit. Cache entries live in the metadata
 * database (table build_cache), so they survive restarts. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "metadata/db.h"

#define BERTH_ID_SZ (BERTH_DIGEST_LEN + 1)

typedef void (*berth_build_out_fn)(void *octx, const char *data, size_t len);

struct berth_build_ops {
	void *ctx;
	/* GetImage: id and parsed image config (new reference). NOT_FOUND when missing. */
	int (*image_get)(void *ctx, const char *ref, char id[BERTH_ID_SZ], json_t **image, struct berth_error *err);
	/* Pull ref from its registry (may be NULL: no registry support), as
	 * dockerd's builder does: dockerd's JSON progress messages go to
	 * progress (borrowed); auth_configs is X-Registry-Config ({"host":
	 * AuthConfig}, may be NULL). */
	int (*image_pull)(void *ctx, const char *ref, const char *platform, const json_t *auth_configs,
			  void (*progress)(void *pctx, json_t *msg), void *pctx, struct berth_error *err);
	/* Is ancestor the image id itself or one of its parents (local chain)? */
	bool (*image_is_ancestor)(void *ctx, const char *ancestor, const char *id);
	/* docker's cache-from restore: a new image of parent (NULL: none) plus
	 * entry `index` of source's history (and its layer unless empty_layer),
	 * with config; docker's restoreCachedImage. */
	int (*image_restore)(void *ctx, const char *parent, const char *source, size_t index, const json_t *config,
			     char id[BERTH_ID_SZ], struct berth_error *err);
	/* Create a container: body is a POST /containers/create body. */
	int (*ctr_create)(void *ctx, json_t *body, char id[65], struct berth_error *err);
	/* Is path (absolute, symlinks followed inside the root) a directory in
	 * the image's filesystem? 1 yes, 0 no, -1 error. Read from the image's
	 * layers: no container. */
	int (*image_is_dir)(void *ctx, const char *image, const char *path, struct berth_error *err);
	/* The regular file at path in the image's filesystem, opened for
	 * reading (read from its layers, as image_is_dir): 1 and *fd, 0 when
	 * there is none, -1 on error. */
	int (*image_open_file)(void *ctx, const char *image, const char *path, int *fd, struct berth_error *err);
	/* Does path exist in the container (created) as a directory? 1 yes, 0 no, -1 error. */
	int (*ctr_is_dir)(void *ctx, const char *ctr, const char *path, struct berth_error *err);
	/* Tar of path in the container (docker's archive GET: entries named after its base name). */
	int (*ctr_get)(void *ctx, const char *ctr, const char *path, struct berth_writer *out, struct berth_error *err);
	/* Start, stream stdout+stderr to out, wait; exit code. */
	int (*ctr_run)(void *ctx, const char *ctr, berth_build_out_fn out, void *octx, int64_t *exit_code,
		       struct berth_error *err);
	int (*ctr_remove)(void *ctx, const char *ctr);
	/* Commit: ctr NULL makes an image with no new layer. config is the new
	 * image's config, container_config the one recorded (its Cmd is the
	 * history's created_by), created_ns its time. */
	int (*commit)(void *ctx, const char *ctr, const char *parent, const json_t *config,
		      const json_t *container_config, const char *author, int64_t created_ns, char id[BERTH_ID_SZ],
		      struct berth_error *err);
	/* An image with a new layer made of the tar (a diff on parent's layers). */
	int (*commit_tar)(void *ctx, const char *parent, struct berth_reader *tar, const json_t *config,
			  const json_t *container_config, const char *author, int64_t created_ns, char id[BERTH_ID_SZ],
			  struct berth_error *err);
	int (*tag)(void *ctx, const char *id, const char *name, struct berth_error *err);
};

struct berth_build_opts {
	struct berth_build_context *context; /* the builder reads it only */
	const char *work_dir;                /* scratch space for this build (the builder writes there) */
	const char *dockerfile;              /* its text */
	size_t dockerfile_len;
	char **tags;          /* NULL-terminated, may be NULL */
	json_t *buildargs;    /* {"NAME": "value"|null} or NULL */
	json_t *labels;       /* {"k": "v"} or NULL */
	json_t *host_config;  /* merged into every RUN container's HostConfig (may be NULL) */
	json_t *auth_configs; /* X-Registry-Config, decoded (may be NULL) */
	char **cache_from;    /* --cache-from images, NULL-terminated (may be NULL) */
	const char *target;
	const char *platform;
	bool nocache, rm, forcerm, quiet, pull;
	bool reproducible;           /* SOURCE_DATE_EPOCH or 0 */
	int64_t source_date_epoch_s; /* -1: none */
	/* stream messages ({"stream":...}, {"aux":...}); the first one starts the response */
	void (*emit)(void *ectx, json_t *msg);
	void *ectx;
	bool (*cancelled)(void *ectx);
	/* debug log: per-step timings when its level is debug (may be NULL) */
	struct berth_log *log;
};

/* Run a build. An error before anything was emitted (a Dockerfile parse
 * error) is answered by the API with a status (400); after that the caller
 * sends it in band (errorDetail; *exit_code > 0 for a failing RUN). */
int berth_build(const struct berth_build_ops *ops, struct berth_db *db, const struct berth_build_opts *o,
		char id[BERTH_ID_SZ], int64_t *exit_code, struct berth_error *err);

/* ---- cache (cache.c) ---- */
int berth_build_cache_init(struct berth_db *db, struct berth_error *err);
/* 1 hit (image id filled), 0 miss, -1 error */
int berth_build_cache_get(struct berth_db *db, const char *parent, const char *key, char image[BERTH_ID_SZ]);
int berth_build_cache_put(struct berth_db *db, const char *parent, const char *key, const char *image);
/* Drop every entry; returns how many, or -1. */
int64_t berth_build_cache_prune(struct berth_db *db, struct berth_error *err);

/* ---- context (context.c) ---- */
/* Extract a context tar (plain, gzip, bzip2, xz, zstd) into dir safely,
 * then drop what its .dockerignore excludes (for contexts that arrive
 * unfiltered), keeping the Dockerfile and .dockerignore. */
int berth_build_context_extract(struct berth_reader *in, const char *dir, const char *dockerfile,
				struct berth_error *err);
/* GET url (http, https; redirects followed) into fd; *content_type (may be
 * NULL; caller frees) and *mtime (Last-Modified, -1 when none). docker's
 * "failed to GET <url> with status <code>". */
int berth_build_download(const char *url, int fd, char **content_type, int64_t *mtime, struct berth_error *err);
/* The uploaded context. A body that ends within BERTH_BUILD_MEM_CONTEXT bytes
 * stays in memory: when it is a plain uncompressed tar it is indexed and
 * only extracted when a step needs its files (COPY/ADD sources are hashed
 * from the index: a cached rebuild extracts nothing); otherwise it is
 * extracted at once on a memory filesystem (/dev/shm, when it is a tmpfs).
 * A larger body is extracted below work. Extraction is
 * berth_build_context_extract's (.dockerignore honoured). */
#define BERTH_BUILD_MEM_CONTEXT (32u << 20)
struct berth_build_context;
int berth_build_context_open(struct berth_reader *in, const char *data_root, const char *work, const char *dockerfile,
			     struct berth_build_context **out, struct berth_error *err);
/* a context already extracted in dir (remote contexts); dir is not removed */
struct berth_build_context *berth_build_context_of_dir(const char *dir);
/* The directory on the memory filesystem (/dev/shm) that the context uses
 * or will use when it fits in memory (made at the first call), else NULL.
 * Steps stage small trees below it (siblings of "context"); it goes with
 * the context. */
const char *berth_build_context_mem_dir(struct berth_build_context *c);
/* the context directory's fd (extracted at the first call); owned by the context */
int berth_build_context_fd(struct berth_build_context *c, struct berth_error *err);
/* Hash path (clean, relative; "." the root) as the extracted tree would be
 * hashed for COPY/ADD, under the name label, without extracting: 1 done
 * (*is_dir set), 0 when only the extracted tree can tell (not indexed,
 * not found). */
int berth_build_context_hash(struct berth_build_context *c, const char *path, const char *label, struct berth_sha256 *h,
			     bool *is_dir);
/* the Dockerfile named by the request (see berth_build_context_dockerfile) */
int berth_build_context_read_dockerfile(struct berth_build_context *c, const char *name, char **text, size_t *len,
					struct berth_error *err);
/* removes what it made on /dev/shm */
void berth_build_context_free(struct berth_build_context *c);
/* The name prefix of data_root's directories on the memory filesystem:
 * "berth-build-<16 hex of data_root>-" (caller frees). */
char *berth_build_mem_prefix(const char *data_root);
/* At daemon start: what builds a crash interrupted left behind, the work
 * directories below <data_root>/builder and this data root's directories
 * on /dev/shm (never another daemon's). */
void berth_build_recover(const char *data_root);
/* POST /build?remote=: docker's remote contexts. A git URL (git://, git@,
 * github.com/, or an http(s) URL ending in .git; docker's URL#ref:dir) is
 * cloned with git; an http(s) URL is downloaded: a tar (plain or
 * compressed) is the context, text is the Dockerfile alone. The context ends
 * in dir as berth_build_context_extract leaves it. */
int berth_build_context_remote(const char *remote, const char *work, const char *dir, const char *dockerfile,
			       struct berth_error *err);
/* Read the Dockerfile named by the request (relative, nested, or absolute
 * inside the context; docker's "Cannot locate specified Dockerfile: X"). */
int berth_build_context_dockerfile(const char *dir, const char *name, char **text, size_t *len,
				   struct berth_error *err);
