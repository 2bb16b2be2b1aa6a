/* An index of an uncompressed context tar in memory (see ctx_index.h). */
#include "builder/ctx_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/patterns.h"
#include "archive/tar.h"
#include "archive/ustar.h"
#include "common/util.h"

/* tree order: '/' sorts before every other byte (names hold none below 0x20) */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x == '/')
			x = 1;
		if (y == '/')
			y = 1;
		if (x != y || !x)
			return (int)x - (int)y;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	return path_cmp(((const struct ctx_entry *)a)->path, ((const struct ctx_entry *)b)->path);
}

/* a clean relative name (leading "./" and a trailing '/' dropped), or NULL */
static char *clean_name(const char *raw, size_t n)
{
	while (n >= 2 && raw[0] == '.' && raw[1] == '/') {
		raw += 2;
		n -= 2;
	}
	while (n && raw[n - 1] == '/')
		n--;
	if (!n || raw[0] == '/')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)raw[i] < 0x20 || (raw[i] == '/' && (i + 1 == n || raw[i + 1] == '/')))
			return NULL;
	char *s = strndup(raw, n);
	/* no "." or ".." component */
	for (char *c = s; c && *c;) {
		char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.')) {
			free(s);
			return NULL;
		}
		c = e ? e + 1 : NULL;
	}
	return s;
}

static int parse(struct ctx_index *ix, const char *tar, size_t len)
{
	size_t off = 0, cap = 0;
	for (;;) {
		struct berth_ustar_entry e;
		int r = berth_ustar_next(tar, len, &off, &e);
		if (r <= 0)
			return r == 0 ? 1 : 0; /* anything odd: libarchive decides */
		bool is_dir = e.type == '5';
		size_t rn = strlen(e.name);
		char *path = NULL;
		/* directories and regular files with clean names only: links,
		 * devices, fifos, global headers and old-style directories ("x/"
		 * as a file) leave it to the extraction */
		if ((is_dir || ((e.type == '0' || e.type == '\0' || e.type == '7') && !(rn && e.name[rn - 1] == '/'))))
			path = clean_name(e.name, rn);
		free(e.name);
		if (!path)
			return 0;
		if (ix->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct ctx_entry *nv = realloc(ix->v, nc * sizeof(*nv));
			if (!nv) {
				free(path);
				return -1;
			}
			ix->v = nv;
			cap = nc;
		}
		ix->v[ix->n++] = (struct ctx_entry){.path = path,
						    .mode = (mode_t)(e.mode & 07777) | (is_dir ? S_IFDIR : S_IFREG),
						    .size = is_dir ? 0 : e.size,
						    .off = e.data};
	}
}

static const struct ctx_entry *find(const struct ctx_index *ix, const char *path)
{
	struct ctx_entry key = {.path = (char *)path};
	return ix->n ? bsearch(&key, ix->v, ix->n, sizeof(key), entry_cmp) : NULL;
}

static const struct ctx_entry *parent_of(const struct ctx_index *ix, const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl)
		return NULL;
	char *p = strndup(path, (size_t)(sl - path));
	const struct ctx_entry *e = p ? find(ix, p) : NULL;
	free(p);
	return e;
}

void ctx_index_free(struct ctx_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->v[i].path);
	free(ix->v);
	*ix = (struct ctx_index){0};
}

int ctx_index_build(struct ctx_index *ix, const char *tar, size_t len)
{
	*ix = (struct ctx_index){.tar = tar, .len = len};
	int rc = parse(ix, tar, len);
	if (rc == 1 && ix->n)
		qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	for (size_t i = 0; rc == 1 && i < ix->n; i++) {
		if (i && !path_cmp(ix->v[i - 1].path, ix->v[i].path))
			rc = 0; /* a duplicate: the later one wins on disk */
		else if (strchr(ix->v[i].path, '/')) {
			const struct ctx_entry *p = parent_of(ix, ix->v[i].path);
			if (!p || !S_ISDIR(p->mode))
				rc = 0; /* a parent made implicitly, or a file as a parent */
		}
	}
	if (rc != 1) {
		ctx_index_free(ix);
		return rc;
	}
	ix->tar = tar;
	ix->len = len;
	return 1;
}

const struct ctx_entry *ctx_index_find(const struct ctx_index *ix, const char *path)
{
	if (!*path || !strcmp(path, "."))
		return NULL;
	const struct ctx_entry *e = find(ix, path);
	return e && !e->excluded ? e : NULL;
}

void ctx_index_apply_ignore(struct ctx_index *ix, const void *patterns, const char *keep)
{
	for (size_t i = 0; i < ix->n; i++) {
		struct ctx_entry *e = &ix->v[i];
		const struct ctx_entry *p = parent_of(ix, e->path);
		if (p && p->excluded) {
			e->excluded = true;
			continue;
		}
		bool kept = !strcmp(e->path, ".dockerignore") || (keep && !strcmp(e->path, keep));
		e->excluded = !kept &&
			      berth_patterns_tar_filter((void *)patterns, e->path, S_ISDIR(e->mode)) == BERTH_TAR_SKIP;
	}
}

/* one node as hash_tree hashes it: its name (with the NUL), "|mode|size|", its bytes */
static void hash_one(struct berth_sha256 *h, const char *name, mode_t mode, uint64_t size, const char *data)
{
	char hdr[128];
	int n = snprintf(hdr, sizeof(hdr), "|%o|%lld|", (unsigned)mode, S_ISDIR(mode) ? 0LL : (long long)size);
	berth_sha256_update(h, name, strlen(name) + 1);
	berth_sha256_update(h, hdr, (size_t)n);
	if (S_ISREG(mode) && size)
		berth_sha256_update(h, data, (size_t)size);
}

int ctx_index_hash(const struct ctx_index *ix, const char *path, const char *label, struct berth_sha256 *h,
		   bool *is_dir)
{
	bool root = !*path || !strcmp(path, ".");
	size_t first = 0, plen = 0;
	if (root) {
		/* the context directory: made 0700 by the daemon (a tar with a root entry is not indexed) */
		hash_one(h, label, S_IFDIR | 0700, 0, NULL);
	} else {
		const struct ctx_entry *e = ctx_index_find(ix, path);
		if (!e)
			return 0;
		hash_one(h, label, e->mode, e->size, ix->tar + e->off);
		*is_dir = S_ISDIR(e->mode);
		if (!*is_dir)
			return 1;
		first = (size_t)(e - ix->v) + 1;
		plen = strlen(path);
	}
	*is_dir = true;
	/* the descendants follow in tree order, which is hash_tree's order */
	struct berth_buf name = {0};
	for (size_t i = first; i < ix->n; i++) {
		const struct ctx_entry *d = &ix->v[i];
		if (!root && (strncmp(d->path, path, plen) || d->path[plen] != '/'))
			break;
		if (d->excluded)
			continue;
		name.len = 0;
		berth_buf_printf(&name, "%s%s%s", label, root ? "/" : "", d->path + plen);
		hash_one(h, berth_buf_str(&name), d->mode, d->size, ix->tar + d->off);
	}
	berth_buf_free(&name);
	return 1;
}
