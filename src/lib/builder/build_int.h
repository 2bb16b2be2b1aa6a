/* Builder internals shared by build.c, dispatch.c and copy.c. */
#pragma once
#include <jansson.h>

#include "builder/builder.h"
#include "builder/parser.h"
#include "common/span.h"

/* docker's layer store refuses a chain deeper than 125 ("max depth exceeded");
 * the builder checks before running a layer-making step */
#define BERTH_BUILD_MAX_LAYERS 125

struct stage_ref {
	char *name; /* alias (lower case) or NULL */
	char id[BERTH_ID_SZ];
};

struct bctx {
	const struct berth_build_ops *ops;
	struct berth_db *db;
	const struct berth_build_opts *o;
	struct berth_error *err;
	int64_t exit_code;
	char escape;
	int step, total;
	bool emitted;
	/* the stage being built */
	char id[BERTH_ID_SZ]; /* "" for scratch */
	json_t *cfg;          /* the image's container config (canonical) */
	int nlayers;
	bool cmd_set;
	char *author;
	json_t *args;        /* ARGs declared in this stage: name -> value|null */
	json_t *global_args; /* ARGs before the first FROM */
	json_t *used;        /* build args consumed: name -> true */
	bool cache_broken;
	struct stage_ref *stages;
	size_t nstages;
	int64_t created_ns;        /* 0: now */
	json_t *cache_sources;     /* --cache-from images found: [{"id", "image"}] */
	bool work_made;            /* o->work_dir exists (made at the first step that runs) */
	struct bld_reaper *reaper; /* removes containers while the build goes on (build.c) */
	struct berth_span *sp;     /* the step's timings (debug log), NULL when not logged */
};

/* end of a phase of the step's timings (nothing when they are not logged) */
static inline void bld_mark(struct bctx *b, const char *phase)
{
	if (b->sp)
		berth_span_mark(b->sp, phase);
}

/* o->work_dir, made at first use (a build whose steps all hit the cache
 * writes nothing there); NULL with b->err filled */
const char *bld_work(struct bctx *b);
/* where to put scratch files: small ones (bounded by the in-memory
 * context's size) on the memory filesystem when the context is there, the
 * rest in the work directory; NULL with b->err filled */
const char *bld_scratch(struct bctx *b, bool small);
/* an unnamed temporary file in the work directory (or dir, NULL: b->err
 * is filled already); -1 with b->err filled */
int bld_tmpfile(struct bctx *b);
int bld_tmpfile_in(struct bctx *b, const char *dir);

/* {"stream": text} unless quiet */
void bld_stream(struct bctx *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the variable lookup for substitution (Env, then ARGs in play) */
const char *bld_lookup(void *ctx, const char *name);
/* substitute one word / several words */
char *bld_word(struct bctx *b, const char *w);
/* shell of the config (SHELL or /bin/sh -c), new reference */
json_t *bld_shell(struct bctx *b);
/* Finish a step that makes no layer: cache probe, else an image with a new
 * config and no layer. comment: docker's "#(nop) " text. */
int bld_meta(struct bctx *b, const char *comment);
/* Finish a step with a layer made in container ctr (or probe the cache
 * first when ctr is NULL: returns 1 on a hit). */
int bld_cache_probe(struct bctx *b, const char *key, const char *created_by);
/* the Cmd docker records for a step that runs nothing ("#(nop) ..."), and
 * its history created_by (the words joined by spaces) */
json_t *bld_nop_cmd(struct bctx *b, const char *comment);
char *bld_cmd_text(const json_t *cmd);
char *bld_nop_text(struct bctx *b, const char *comment);
int bld_commit_ctr(struct bctx *b, const char *ctr, json_t *container_config, const char *key);
char *bld_key(struct bctx *b, const char *kind, const char *text, const char *extra);
/* a container body for a step from the current image and config */
json_t *bld_ctr_body(struct bctx *b);
void bld_remove(struct bctx *b, const char *ctr, bool always);
/* remove ctr (a container the build is done with) in the background; the
 * build waits for every one before it returns */
void bld_remove_later(struct bctx *b, const char *ctr);
/* a created (never started) container of the current image, to read its files */
int bld_probe_ctr(struct bctx *b, char ctr[65], struct berth_error *err);

/* FROM / COPY --from image: local, else pulled (--pull: always pulled) */
int bld_get_image(struct bctx *b, const char *name, char id[BERTH_ID_SZ]);

/* cache_from.c: docker's --cache-from (image/cache's ImageCache) */
int bld_cache_sources_load(struct bctx *b);
void bld_cache_sources_free(struct bctx *b);
/* may a hit of the local cache be used? (with --cache-from: only an image
 * of a source's chain, as docker) */
bool bld_cache_local_ok(struct bctx *b, const char *image);
/* 1: a source's history continues the current image with created_by (id
 * filled: the source or an image restored from it), 0: none, -1: error */
int bld_cache_from_probe(struct bctx *b, const char *created_by, char id[BERTH_ID_SZ]);

/* chown.c: --chown=user[:group], names from the image's /etc/passwd and /etc/group */
int bld_parse_chown(struct bctx *b, const char *spec, uid_t *uid, gid_t *gid);
/* the --chown spec after substitution (caller frees; NULL with b->err on a
 * bad format); *names: a user or group name, read from the image's files
 * by bld_parse_chown (the spec, not the ids, goes in the cache key then:
 * the parent image decides the ids, so the cache needs no probe container) */
char *bld_chown_spec(struct bctx *b, const char *spec, bool *names);

/* dispatch.c */
int bld_dispatch(struct bctx *b, struct berth_df_instr *in);
/* copy.c */
/* the COPY/ADD checksum of (pfd, base) named rel: names, modes, sizes,
 * contents, not mtimes (ctx_index_hash hashes an index the same way) */
void bld_hash_tree(struct berth_sha256 *h, int pfd, const char *base, const char *rel, int depth);
int bld_copy(struct bctx *b, struct berth_df_instr *in, bool add);
int bld_workdir_create(struct bctx *b, const char *dir);
/* url.c: ADD of a URL */
char *bld_url_name(const char *url);
int bld_fetch_url(struct bctx *b, const char *url, int dirfd, const char *name);
