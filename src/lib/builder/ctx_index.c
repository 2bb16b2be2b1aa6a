/* An index of an uncompressed context tar in memory (see ctx_index.h). */
#include "builder/ctx_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/patterns.h"
#include "archive/tar.h"
#include "common/ustar.h"
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

/* pax records: path and size; false for what the index does not take */
static bool pax_records(const char *p, size_t n, char **path, uint64_t *size, bool *has_size)
{
	while (n) {
		char *sp = memchr(p, ' ', n < 24 ? n : 24);
		if (!sp)
			return false;
		size_t rl = strtoul(p, NULL, 10);
		if (rl == 0 || rl > n || p[rl - 1] != '\n')
			return false;
		const char *kv = sp + 1, *end = p + rl - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return false;
		size_t kl = (size_t)(eq - kv);
		if (kl == 4 && !memcmp(kv, "path", 4)) {
			free(*path);
			*path = strndup(eq + 1, (size_t)(end - eq - 1));
		} else if (kl == 4 && !memcmp(kv, "size", 4)) {
			*size = strtoull(eq + 1, NULL, 10);
			*has_size = true;
		} else if ((kl == 8 && !memcmp(kv, "linkpath", 8)) || (kl > 10 && !memcmp(kv, "GNU.sparse", 10)))
			return false;
		p += rl;
		n -= rl;
	}
	return true;
}

static bool zero_block(const char *h)
{
	for (size_t i = 0; i < 512; i++)
		if (h[i])
			return false;
	return true;
}

static int parse(struct ctx_index *ix, const char *tar, size_t len)
{
	size_t off = 0, cap = 0;
	char *long_name = NULL;
	uint64_t pax_size = 0;
	bool has_pax_size = false;
	int rc = 0;
	for (;;) {
		if (off + 512 > len)
			goto out; /* no end blocks: libarchive decides */
		const char *h = tar + off;
		if (zero_block(h)) {
			rc = 1;
			goto out;
		}
		uint64_t size;
		if (!berth_ustar_checksum_ok(h) || !berth_ustar_parse_octal(h + 124, 12, &size))
			goto out;
		char type = h[156];
		if (has_pax_size && type != 'x' && type != 'L')
			size = pax_size;
		if (size > len || off + 512 + size > len)
			goto out;
		const char *data = h + 512;
		size_t next = off + 512 + (size_t)((size + 511) / 512 * 512);
		if (type == 'x') {
			if (!pax_records(data, (size_t)size, &long_name, &pax_size, &has_pax_size))
				goto out;
			off = next;
			continue;
		}
		if (type == 'L') {
			free(long_name);
			long_name = strndup(data, strnlen(data, (size_t)size));
			off = next;
			continue;
		}
		bool is_dir = type == '5';
		if (!is_dir && type != '0' && type != '\0' && type != '7')
			goto out; /* links, devices, fifos, global headers, GNU extensions */
		char raw[257];
		const char *name = long_name;
		if (!name) {
			size_t nl = strnlen(h, 100), pl = memcmp(h + 257, "ustar", 5) ? 0 : strnlen(h + 345, 155);
			if (pl)
				snprintf(raw, sizeof(raw), "%.*s/%.*s", (int)pl, h + 345, (int)nl, h);
			else
				snprintf(raw, sizeof(raw), "%.*s", (int)nl, h);
			name = raw;
		}
		size_t rn = strlen(name);
		if (!is_dir && rn && name[rn - 1] == '/')
			goto out; /* an old-style directory */
		uint64_t mode;
		char *path = clean_name(name, rn);
		if (!path || !berth_ustar_parse_octal(h + 100, 8, &mode)) {
			free(path);
			goto out;
		}
		if (ix->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct ctx_entry *nv = realloc(ix->v, nc * sizeof(*nv));
			if (!nv) {
				free(path);
				rc = -1;
				goto out;
			}
			ix->v = nv;
			cap = nc;
		}
		ix->v[ix->n++] = (struct ctx_entry){.path = path,
						    .mode = (mode_t)(mode & 07777) | (is_dir ? S_IFDIR : S_IFREG),
						    .size = is_dir ? 0 : size,
						    .off = off + 512};
		free(long_name);
		long_name = NULL;
		has_pax_size = false;
		off = next;
	}
out:
	free(long_name);
	return rc;
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
