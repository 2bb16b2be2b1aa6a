/* An index of an uncompressed context tar held in memory (ctx_index.c):
 * names, types, modes, sizes and where each file's bytes are. A build whose
 * COPY/ADD steps hit the cache hashes their sources from it and never
 * extracts the context. Only the plain case is indexed (directories and
 * regular files, clean names, each parent present, no duplicates); anything
 * else (symlinks, hard links, special files, compressed or malformed
 * archives) leaves the index unusable, and the context is extracted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"

struct ctx_entry {
	char *path;  /* clean, relative, no trailing '/' */
	mode_t mode; /* S_IFREG or S_IFDIR | permission bits, as extracted */
	uint64_t size;
	size_t off;    /* of the data in the tar */
	bool excluded; /* by the daemon's reading of .dockerignore */
};

struct ctx_index {
	struct ctx_entry *v; /* in tree order: component by component, names by bytes */
	size_t n;
	const char *tar; /* not owned */
	size_t len;
};

/* Index tar[0..len); 1: usable, 0: not the plain case (ix empty), -1: out of memory. */
int ctx_index_build(struct ctx_index *ix, const char *tar, size_t len);
void ctx_index_free(struct ctx_index *ix);
/* The entry of a clean relative path ("" or "." is the root: NULL), or NULL. */
const struct ctx_entry *ctx_index_find(const struct ctx_index *ix, const char *path);
/* Mark what the .dockerignore patterns drop (keep: a path never dropped). */
void ctx_index_apply_ignore(struct ctx_index *ix, const void *patterns, const char *keep);
/* Hash path (clean, relative; "." the root) as copy.c's hash_tree hashes the
 * extracted tree, under the name label: 1 done (*is_dir set), 0 not found. */
int ctx_index_hash(const struct ctx_index *ix, const char *path, const char *label, struct berth_sha256 *h,
		   bool *is_dir);
