/* docker load: unpack the outer tar safely, then read a docker-archive or an
 * OCI image layout from it (image/tarexport/load.go and containerd's OCI
 * import are the references for behaviour and messages). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar_in.h"
#include "common/cleanup.h"
#include "image/archive.h"
#include "image/store_int.h"
#include "storage/tar_apply.h"

#define MAX_ENTRIES 100000
#define MAX_JSON_BYTES (32 << 20)
#define MAX_LINK_FOLLOWS 255
#define MAX_INDEX_DEPTH 8

/* ---- the unpacked outer archive ---- */

struct ent {
	char *path; /* cleaned, relative, no trailing '/' */
	char type;  /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
	char *link;
	char digest[BERTH_DIGEST_LEN + 1];
	int64_t size;
};

struct unpacked {
	char *root;
	int rootfd;
	struct ent *v;
	size_t n, cap;
	size_t *tab; /* hash table of index+1, 0 = empty */
	size_t tabcap;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct ent *lookup(struct unpacked *u, const char *path)
{
	if (!u->tabcap)
		return NULL;
	for (size_t i = hash_str(path) & (u->tabcap - 1);; i = (i + 1) & (u->tabcap - 1)) {
		if (!u->tab[i])
			return NULL;
		if (!strcmp(u->v[u->tab[i] - 1].path, path))
			return &u->v[u->tab[i] - 1];
	}
}

static struct ent *add_ent(struct unpacked *u, const char *path)
{
	struct ent *e = lookup(u, path);
	if (e) {
		free(e->link);
		e->link = NULL;
		return e;
	}
	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 64;
		struct ent *nv = realloc(u->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		u->v = nv;
		u->cap = nc;
	}
	if ((u->n + 1) * 2 > u->tabcap) {
		size_t nc = u->tabcap ? u->tabcap * 2 : 128;
		size_t *nt = calloc(nc, sizeof(size_t));
		if (!nt)
			return NULL;
		for (size_t k = 0; k < u->n; k++) {
			size_t i = hash_str(u->v[k].path) & (nc - 1);
			while (nt[i])
				i = (i + 1) & (nc - 1);
			nt[i] = k + 1;
		}
		free(u->tab);
		u->tab = nt;
		u->tabcap = nc;
	}
	e = &u->v[u->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (!e->path)
		return NULL;
	size_t i = hash_str(path) & (u->tabcap - 1);
	while (u->tab[i])
		i = (i + 1) & (u->tabcap - 1);
	u->tab[i] = ++u->n;
	return e;
}

static void unpacked_free(struct unpacked *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].path);
		free(u->v[i].link);
	}
	free(u->v);
	free(u->tab);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->root)
		berth_rm_rf(u->root, NULL);
	free(u->root);
	memset(u, 0, sizeof(*u));
	u->rootfd = -1;
}

/* Clean a tar path: drop "", "." and leading "/", resolve "..", refuse escapes. */
static char *clean_rel(const char *p, bool *escapes)
{
	*escapes = false;
	char **parts = calloc(1, sizeof(char *));
	cleanup_free char *dup = strdup(p);
	if (!parts || !dup) {
		free(parts);
		return NULL;
	}
	char *save = NULL;
	for (char *t = strtok_r(dup, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			size_t n = berth_strv_len(parts);
			if (!n) {
				*escapes = true;
				continue;
			}
			free(parts[n - 1]);
			parts[n - 1] = NULL;
			continue;
		}
		berth_strv_push(&parts, t);
	}
	struct berth_buf b = {0};
	for (size_t i = 0; parts[i]; i++)
		berth_buf_printf(&b, "%s%s", i ? "/" : "", parts[i]);
	berth_strv_free(parts);
	return berth_buf_steal(&b);
}

/* Open the parent directory of rel under rootfd, creating it; returns fd and base name. */
static int open_parent(int rootfd, const char *rel, const char **base, struct berth_error *err)
{
	int dfd = dup(rootfd);
	if (dfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "dup");
	const char *p = rel;
	for (;;) {
		const char *sl = strchr(p, '/');
		if (!sl) {
			*base = p;
			return dfd;
		}
		char comp[256];
		size_t l = (size_t)(sl - p);
		if (l >= sizeof(comp)) {
			close(dfd);
			return berth_err(err, BERTH_E_INVALID, "invalid tar entry name %s", rel);
		}
		memcpy(comp, p, l);
		comp[l] = '\0';
		if (mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			close(dfd);
			return berth_err_sys(err, BERTH_E_INTERNAL, e, "mkdir %s", comp);
		}
		int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dfd);
		if (nfd < 0)
			return berth_err_sys(err, BERTH_E_INVALID, e, "invalid archive: %s is not a directory", comp);
		dfd = nfd;
		p = sl + 1;
	}
}

static int write_entry_data(struct berth_tarin *t, int fd, struct ent *e, struct berth_error *err)
{
	struct berth_sha256 *h = berth_sha256_new();
	if (!h)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char buf[65536];
	int64_t total = 0;
	for (;;) {
		ssize_t n = berth_tarin_read(t, buf, sizeof(buf), err);
		if (n < 0) {
			berth_sha256_free(h);
			return berth_err_prefix(err, "invalid tar archive");
		}
		if (n == 0)
			break;
		berth_sha256_update(h, buf, (size_t)n);
		if (berth_write_all(fd, buf, (size_t)n) < 0) {
			berth_sha256_free(h);
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", e->path);
		}
		total += n;
	}
	berth_sha256_final(h, e->digest);
	e->size = total;
	return 0;
}

static int unpack(struct berth_image_store *s, struct berth_reader *in, struct unpacked *u, struct berth_error *err)
{
	u->rootfd = -1;
	u->root = img_tmp_path(s, "load");
	if (!u->root)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (mkdir(u->root, 0700) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", u->root);
	u->rootfd = open(u->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->rootfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", u->root);
	/* The outer archive may be compressed (gzip, bzip2, xz, zstd: by its
	 * magic bytes); no digest of it is needed. */
	struct berth_decompressor *dc = berth_decompressor_new(in, err);
	if (!dc)
		return -1;
	berth_decompressor_no_digest(dc);
	struct berth_error derr = {0};
	struct berth_reader src = berth_decompress_reader(dc, &derr);
	struct berth_tarin *a = berth_tarin_new(&src);
	if (!a) {
		berth_decompressor_free(dc);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	int ret = 0;
	for (;;) {
		struct berth_tarin_entry *ae;
		int r = berth_tarin_next(a, &ae, err);
		if (r == 0)
			break;
		if (r < 0) {
			ret = derr.kind ? berth_err(err, derr.kind, "invalid tar archive: %s", derr.msg) :
					  berth_err_prefix(err, "invalid tar archive");
			goto out;
		}
		if (u->n >= MAX_ENTRIES) {
			ret = berth_err(err, BERTH_E_INVALID, "invalid tar archive: too many entries");
			goto out;
		}
		const char *name = ae->path;
		if (strlen(name) > 4096) {
			ret = berth_err(err, BERTH_E_INVALID, "invalid tar archive: bad entry name");
			goto out;
		}
		bool esc;
		cleanup_free char *rel = clean_rel(name, &esc);
		if (!rel) {
			ret = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			goto out;
		}
		if (esc) {
			ret = berth_err(err, BERTH_E_INVALID,
					"invalid tar archive: entry %s points outside the archive", name);
			goto out;
		}
		if (!*rel)
			continue; /* "./" */
		char type = ae->type;
		const char *hl = ae->linkname;
		struct ent *e;
		if (type == '1') {
			bool esc2;
			cleanup_free char *target = clean_rel(hl, &esc2);
			if (!target || esc2) {
				ret = berth_err(err, BERTH_E_INVALID, "invalid tar archive: hard link %s escapes",
						name);
				goto out;
			}
			e = add_ent(u, rel);
			if (!e)
				goto oom;
			e->type = 'h';
			e->link = steal_ptr(target);
			continue;
		}
		if (type == '2') {
			e = add_ent(u, rel);
			if (!e)
				goto oom;
			e->type = 'l';
			e->link = strdup(hl);
			continue;
		}
		if (type == '5') {
			e = add_ent(u, rel);
			if (!e)
				goto oom;
			e->type = 'd';
			continue;
		}
		if (type != '0')
			continue; /* devices, fifos: nothing an image archive needs */
		const char *base = rel;
		int dfd = open_parent(u->rootfd, rel, &base, err);
		if (dfd < 0) {
			ret = -1;
			goto out;
		}
		int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		int oe = errno;
		close(dfd);
		if (fd < 0) {
			ret = berth_err_sys(err, BERTH_E_INVALID, oe, "invalid archive: cannot create %s", rel);
			goto out;
		}
		e = add_ent(u, rel);
		if (!e) {
			close(fd);
			goto oom;
		}
		e->type = 'f';
		ret = write_entry_data(a, fd, e, err);
		if (ret < 0 && derr.kind)
			berth_err(err, derr.kind, "invalid tar archive: %s", derr.msg);
		close(fd);
		if (ret < 0)
			goto out;
	}
	goto out;
oom:
	ret = berth_err(err, BERTH_E_INTERNAL, "out of memory");
out:
	berth_tarin_free(a);
	berth_decompressor_free(dc);
	return ret;
}

/* symlink.FollowSymlinkInScope over the recorded entries: the regular file
 * entry that path names inside the archive, or NULL (err set). */
static struct ent *resolve(struct unpacked *u, const char *path, struct berth_error *err)
{
	char **todo = calloc(1, sizeof(char *)); /* remaining components, reversed */
	char **done = calloc(1, sizeof(char *));
	struct ent *res = NULL;
	int follows = 0;
	{
		cleanup_free char *dup = strdup(path);
		char **tmp = calloc(1, sizeof(char *));
		char *save = NULL;
		for (char *t = strtok_r(dup, "/", &save); t; t = strtok_r(NULL, "/", &save))
			berth_strv_push(&tmp, t);
		for (size_t i = berth_strv_len(tmp); i-- > 0;)
			berth_strv_push(&todo, tmp[i]);
		berth_strv_free(tmp);
	}
	struct berth_buf cur = {0};
	for (size_t nt; (nt = berth_strv_len(todo)) > 0;) {
		char *c = todo[nt - 1];
		todo[nt - 1] = NULL;
		if (!strcmp(c, ".") || !*c) {
			free(c);
			continue;
		}
		size_t nd = berth_strv_len(done);
		if (!strcmp(c, "..")) {
			free(c);
			if (nd) {
				free(done[nd - 1]);
				done[nd - 1] = NULL;
			}
			continue;
		}
		cur.len = 0;
		for (size_t i = 0; i < nd; i++)
			berth_buf_printf(&cur, "%s/", done[i]);
		berth_buf_printf(&cur, "%s", c);
		struct ent *e = lookup(u, berth_buf_str(&cur));
		if (e && e->type == 'l') {
			free(c);
			if (++follows > MAX_LINK_FOLLOWS) {
				berth_err(err, BERTH_E_INVALID, "invalid archive: too many symlinks in %s", path);
				goto out;
			}
			if (e->link[0] == '/') {
				berth_strv_free(done);
				done = calloc(1, sizeof(char *));
			}
			cleanup_free char *ldup = strdup(e->link);
			char **tmp = calloc(1, sizeof(char *));
			char *save = NULL;
			for (char *t = strtok_r(ldup, "/", &save); t; t = strtok_r(NULL, "/", &save))
				berth_strv_push(&tmp, t);
			for (size_t i = berth_strv_len(tmp); i-- > 0;)
				berth_strv_push(&todo, tmp[i]);
			berth_strv_free(tmp);
			continue;
		}
		berth_strv_push(&done, c);
		free(c);
	}
	cur.len = 0;
	if (cur.data)
		cur.data[0] = 0;
	for (size_t i = 0; done[i]; i++)
		berth_buf_printf(&cur, "%s%s", i ? "/" : "", done[i]);
	res = lookup(u, berth_buf_str(&cur));
	if (res && res->type == 'h')
		res = lookup(u, res->link);
	if (!res || res->type != 'f') {
		res = NULL;
		berth_err(err, BERTH_E_INVALID, "invalid archive: %s: no such file", path);
	}
out:
	berth_buf_free(&cur);
	berth_strv_free(todo);
	berth_strv_free(done);
	return res;
}

static int read_ent(struct unpacked *u, struct ent *e, char **data, size_t *len, struct berth_error *err)
{
	if (e->size > MAX_JSON_BYTES)
		return berth_err(err, BERTH_E_INVALID, "invalid archive: %s is too large", e->path);
	cleanup_free char *p = berth_strdup_printf("%s/%s", u->root, e->path);
	return berth_read_file(p, data, len, MAX_JSON_BYTES, err);
}

static json_t *read_json(struct unpacked *u, struct ent *e, struct berth_error *err)
{
	char *data;
	size_t len;
	if (read_ent(u, e, &data, &len, err) < 0)
		return NULL;
	json_error_t je;
	json_t *j = json_loadb(data, len, 0, &je);
	free(data);
	if (!j)
		berth_err(err, BERTH_E_INVALID, "invalid archive: %s: %s", e->path, je.text);
	return j;
}

/* ---- load state ---- */

struct pending {
	char *config;
	size_t config_len;
	char id[BERTH_DIGEST_LEN + 1];
	char parent[BERTH_DIGEST_LEN + 1];
	char **tags; /* normalized references (full strings) */
	bool created;
};

struct load {
	struct berth_image_store *s;
	const struct berth_image_load_opts *opts;
	struct unpacked u;
	char (*held)[BERTH_DIGEST_LEN + 1]; /* layer references taken */
	size_t nheld, capheld;
	struct pending *imgs;
	size_t nimgs;
	char want_os[32], want_arch[32], want_variant[32];
};

static int hold(struct load *l, const char *chain)
{
	if (l->nheld == l->capheld) {
		size_t nc = l->capheld ? l->capheld * 2 : 16;
		void *nv = realloc(l->held, nc * sizeof(*l->held));
		if (!nv)
			return -1;
		l->held = nv;
		l->capheld = nc;
	}
	snprintf(l->held[l->nheld++], BERTH_DIGEST_LEN + 1, "%s", chain);
	return 0;
}

static void release_held(struct load *l)
{
	for (size_t i = l->nheld; i-- > 0;)
		berth_layer_release(l->s->ls, l->held[i], NULL, NULL);
	l->nheld = 0;
}

struct progress_reader {
	int fd;
	int64_t done, total, last;
	const struct berth_image_load_opts *o;
	char id[13];
};

static ssize_t progress_read(void *ctx, void *buf, size_t len)
{
	struct progress_reader *p = ctx;
	ssize_t n;
	do
		n = read(p->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		p->done += n;
		if (p->o && p->o->progress && (p->done - p->last >= (512 << 10) || p->done == p->total)) {
			p->last = p->done;
			p->o->progress(p->o->ctx, p->id, p->done, p->total);
		}
	}
	return n;
}

/* Register (or reuse) layer i of an image. parent: chain so far ("" for base). */
static int load_layer(struct load *l, struct ent *file, const char *parent, const char *diff_id, const char *short_src,
		      char chain_out[BERTH_DIGEST_LEN + 1], struct berth_error *err)
{
	berth_layer_chain_id(parent[0] ? parent : NULL, diff_id, chain_out);
	struct berth_layer_info li;
	if (berth_layer_get(l->s->ls, chain_out, &li, NULL) == 0 && berth_layer_ref(l->s->ls, chain_out, NULL) == 0)
		return hold(l, chain_out) < 0 ? berth_err(err, BERTH_E_INTERNAL, "out of memory") : 0;
	if (!file)
		return berth_err(err, BERTH_E_INVALID, "layer %s is not in the archive", diff_id);
	cleanup_free char *p = berth_strdup_printf("%s/%s", l->u.root, file->path);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", p);
	struct progress_reader pr = {.fd = fd, .total = file->size, .o = l->opts};
	snprintf(pr.id, sizeof(pr.id), "%s", berth_digest_hex(short_src));
	struct berth_reader rd = {progress_read, &pr};
	if (berth_layer_register(l->s->ls, parent[0] ? parent : NULL, &rd, diff_id, &li, err) < 0)
		return -1;
	if (strcmp(li.chain_id, chain_out)) {
		berth_layer_release(l->s->ls, li.chain_id, NULL, NULL);
		return berth_err(err, BERTH_E_INVALID, "invalid diffID for layer: expected %s, got %s", diff_id,
				 li.diff_id);
	}
	return hold(l, chain_out) < 0 ? berth_err(err, BERTH_E_INTERNAL, "out of memory") : 0;
}

static int check_os(const json_t *cfg, struct berth_error *err)
{
	const char *os = json_string_value(berth_json_field(cfg, "os"));
	if (!os || !*os || !strcmp(os, "linux"))
		return 0;
	if (!strcmp(os, "windows"))
		return berth_err(err, BERTH_E_INVALID, "cannot load windows image on linux");
	return berth_err(err, BERTH_E_INVALID, "unsupported os %s", os);
}

static struct pending *new_pending(struct load *l)
{
	struct pending *np = realloc(l->imgs, (l->nimgs + 1) * sizeof(*np));
	if (!np)
		return NULL;
	l->imgs = np;
	memset(&np[l->nimgs], 0, sizeof(*np));
	np[l->nimgs].tags = calloc(1, sizeof(char *));
	return &np[l->nimgs++];
}

/* Register the layers of a parsed config from a list of entries (NULL entries
 * for layers expected to exist already). */
static int load_layers(struct load *l, const json_t *cfg, struct ent **files, const char *const *srcs, size_t n,
		       struct berth_error *err)
{
	char parent[BERTH_DIGEST_LEN + 1] = "";
	for (size_t i = 0; i < n; i++) {
		const char *diff = json_string_value(
			json_array_get(berth_json_field(berth_json_field(cfg, "rootfs"), "diff_ids"), i));
		char chain[BERTH_DIGEST_LEN + 1];
		if (load_layer(l, files[i], parent, diff, srcs[i], chain, err) < 0)
			return berth_err_prefix(err, "layer %zu", i);
		snprintf(parent, sizeof(parent), "%s", chain);
	}
	return 0;
}

/* ---- docker-archive ---- */

static int load_docker_archive(struct load *l, struct ent *manifest_ent, struct berth_error *err)
{
	cleanup_json json_t *manifest = read_json(&l->u, manifest_ent, err);
	if (!manifest)
		return -1;
	if (!json_is_array(manifest))
		return berth_err(err, BERTH_E_INVALID, "invalid archive: manifest.json is not a list");
	size_t mi;
	json_t *m;
	json_array_foreach(manifest, mi, m) {
		const char *cfg_path = json_string_value(berth_json_field(m, "Config"));
		if (!cfg_path)
			return berth_err(err, BERTH_E_INVALID, "invalid archive: manifest entry %zu has no Config", mi);
		struct ent *ce = resolve(&l->u, cfg_path, err);
		if (!ce)
			return -1;
		struct pending *p = new_pending(l);
		if (!p)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		if (read_ent(&l->u, ce, &p->config, &p->config_len, err) < 0)
			return -1;
		cleanup_json json_t *cfg = berth_image_config_parse(p->config, p->config_len, err);
		if (!cfg || check_os(cfg, err) < 0)
			return -1;
		berth_image_config_id(p->config, p->config_len, p->id);
		json_t *layers = berth_json_field(m, "Layers");
		size_t nl = json_is_array(layers) ? json_array_size(layers) : 0;
		size_t nd = berth_image_config_layers(cfg, NULL, 0);
		if (nl != nd)
			return berth_err(err, BERTH_E_INVALID,
					 "invalid manifest, layers length mismatch: expected %zu, got %zu", nl, nd);
		if (nl > BERTH_MAX_LAYERS)
			return berth_err(err, BERTH_E_INVALID, "max depth exceeded");
		struct ent *files[BERTH_MAX_LAYERS + 1];
		const char *srcs[BERTH_MAX_LAYERS + 1];
		char chain[BERTH_DIGEST_LEN + 1] = "";
		for (size_t i = 0; i < nl; i++) {
			const char *lp = json_string_value(json_array_get(layers, i));
			const char *diff = json_string_value(
				json_array_get(berth_json_field(berth_json_field(cfg, "rootfs"), "diff_ids"), i));
			char next[BERTH_DIGEST_LEN + 1];
			berth_layer_chain_id(chain[0] ? chain : NULL, diff, next);
			struct berth_layer_info li;
			/* a layer already stored needs no file (docker checks the store first) */
			files[i] = NULL;
			if (berth_layer_get(l->s->ls, next, &li, NULL) < 0) {
				if (!lp)
					return berth_err(err, BERTH_E_INVALID, "invalid archive: bad layer path");
				files[i] = resolve(&l->u, lp, err);
				if (!files[i])
					return -1;
			}
			srcs[i] = diff;
			snprintf(chain, sizeof(chain), "%s", next);
		}
		if (load_layers(l, cfg, files, srcs, nl, err) < 0)
			return -1;
		const char *parent = json_string_value(berth_json_field(m, "Parent"));
		if (parent && berth_digest_valid(parent))
			snprintf(p->parent, sizeof(p->parent), "%s", parent);
		json_t *tags = berth_json_field(m, "RepoTags");
		size_t ti;
		json_t *t;
		json_array_foreach(json_is_array(tags) ? tags : NULL, ti, t) {
			const char *ts = json_string_value(t);
			struct berth_ref r;
			if (!ts || berth_ref_parse_normalized(ts, &r, err) < 0)
				return -1;
			if (!r.tag[0] || r.digest[0])
				return berth_err(err, BERTH_E_INVALID, "invalid tag \"%s\"", ts);
			cleanup_free char *full = berth_ref_string(&r);
			berth_strv_push(&p->tags, full);
		}
	}
	return 0;
}

/* ---- OCI image layout ---- */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* A verified blob entry for a descriptor. */
static struct ent *blob(struct load *l, const json_t *desc, struct berth_error *err)
{
	const char *dg = json_string_value(json_object_get(desc, "digest"));
	if (!dg || !strchr(dg, ':'))
		return berth_err(err, BERTH_E_INVALID, "invalid OCI layout: descriptor without digest"), NULL;
	if (!berth_digest_valid(dg)) {
		if (strncmp(dg, "sha256:", 7))
			berth_err(err, BERTH_E_INVALID, "invalid OCI layout: unsupported digest algorithm in %s", dg);
		else
			berth_err(err, BERTH_E_INVALID, "invalid OCI layout: invalid digest %s", dg);
		return NULL;
	}
	cleanup_free char *path = berth_strdup_printf("blobs/sha256/%s", berth_digest_hex(dg));
	struct ent *e = resolve(&l->u, path, err);
	if (!e)
		return berth_err(err, BERTH_E_INVALID, "invalid OCI layout: blob %s not found", dg), NULL;
	if (strcmp(e->digest, dg)) {
		berth_err(err, BERTH_E_INVALID, "invalid OCI layout: blob %s has digest %s", dg, e->digest);
		return NULL;
	}
	json_t *sz = json_object_get(desc, "size");
	if (json_is_integer(sz) && json_integer_value(sz) != e->size) {
		berth_err(err, BERTH_E_INVALID, "invalid OCI layout: blob %s has size %lld, descriptor says %lld", dg,
			  (long long)e->size, (long long)json_integer_value(sz));
		return NULL;
	}
	return e;
}

static int platform_score(struct load *l, const json_t *desc)
{
	json_t *p = json_object_get(desc, "platform");
	if (!json_is_object(p))
		return 1; /* no platform: acceptable */
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	const char *var = json_string_value(json_object_get(p, "variant"));
	if (!os || strcmp(os, l->want_os) || !arch || strcmp(arch, l->want_arch))
		return 0;
	if (!var || !*var)
		return 2;
	if (l->want_variant[0] && !strcmp(var, l->want_variant))
		return 3;
	/* amd64 "v1" is the baseline */
	if (!l->want_variant[0] && !strcmp(arch, "amd64") && !strcmp(var, "v1"))
		return 2;
	return 0;
}

static bool is_index(const json_t *desc, const json_t *doc)
{
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	if (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)))
		return true;
	const char *dmt = json_string_value(json_object_get(doc, "mediaType"));
	if (dmt && (!strcmp(dmt, MT_OCI_INDEX) || !strcmp(dmt, MT_DOCKER_LIST)))
		return true;
	return json_is_array(json_object_get(doc, "manifests")) && !json_object_get(doc, "config");
}

static int load_oci_manifest(struct load *l, const json_t *desc, const char *ref_name, int depth,
			     struct berth_error *err);

static int load_oci_index(struct load *l, const json_t *index, const char *ref_name, int depth, struct berth_error *err)
{
	json_t *ms = json_object_get(index, "manifests");
	int best = 0;
	const json_t *pick = NULL;
	size_t i;
	json_t *d;
	json_array_foreach(json_is_array(ms) ? ms : NULL, i, d) {
		int sc = platform_score(l, d);
		if (sc > best) {
			best = sc;
			pick = d;
		}
	}
	if (!pick)
		return berth_err(err, BERTH_E_NOT_FOUND, "no match for platform in manifest: not found");
	return load_oci_manifest(l, pick, ref_name, depth + 1, err);
}

/* ref.name annotation -> a normalized tag reference, or "" to leave untagged. */
static int oci_tag(const json_t *desc, char **out, struct berth_error *err)
{
	*out = NULL;
	json_t *ann = json_object_get(desc, "annotations");
	const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	if (!name) {
		name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		/* a bare tag ("latest") names no repository: leave the image untagged */
		if (name && !strchr(name, ':') && !strchr(name, '/'))
			name = NULL;
	}
	if (!name)
		return 0;
	struct berth_ref r;
	if (berth_ref_parse_normalized(name, &r, err) < 0)
		return berth_err_prefix(err, "invalid image name %s", name);
	if (r.digest[0])
		return 0;
	berth_ref_tag_name_only(&r);
	*out = berth_ref_string(&r);
	return 0;
}

static int load_oci_manifest(struct load *l, const json_t *desc, const char *ref_name, int depth,
			     struct berth_error *err)
{
	if (depth > MAX_INDEX_DEPTH)
		return berth_err(err, BERTH_E_INVALID, "invalid OCI layout: indexes nested too deeply");
	struct ent *me = blob(l, desc, err);
	if (!me)
		return -1;
	cleanup_json json_t *doc = read_json(&l->u, me, err);
	if (!json_is_object(doc))
		return doc ? berth_err(err, BERTH_E_INVALID, "invalid OCI layout: manifest is not an object") : -1;
	if (is_index(desc, doc))
		return load_oci_index(l, doc, ref_name, depth, err);
	json_t *cdesc = json_object_get(doc, "config");
	if (!json_is_object(cdesc))
		return berth_err(err, BERTH_E_INVALID, "invalid OCI layout: manifest has no config");
	struct ent *ce = blob(l, cdesc, err);
	if (!ce)
		return -1;
	struct pending *p = new_pending(l);
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (read_ent(&l->u, ce, &p->config, &p->config_len, err) < 0)
		return -1;
	cleanup_json json_t *cfg = berth_image_config_parse(p->config, p->config_len, err);
	if (!cfg || check_os(cfg, err) < 0)
		return -1;
	berth_image_config_id(p->config, p->config_len, p->id);
	json_t *layers = json_object_get(doc, "layers");
	size_t nl = json_is_array(layers) ? json_array_size(layers) : 0;
	size_t nd = berth_image_config_layers(cfg, NULL, 0);
	if (nl != nd)
		return berth_err(err, BERTH_E_INVALID,
				 "invalid manifest, layers length mismatch: expected %zu, got %zu", nl, nd);
	if (nl > BERTH_MAX_LAYERS)
		return berth_err(err, BERTH_E_INVALID, "max depth exceeded");
	struct ent *files[BERTH_MAX_LAYERS + 1];
	const char *srcs[BERTH_MAX_LAYERS + 1];
	for (size_t i = 0; i < nl; i++) {
		files[i] = blob(l, json_array_get(layers, i), err);
		if (!files[i])
			return -1;
		srcs[i] = json_string_value(json_object_get(json_array_get(layers, i), "digest"));
	}
	if (load_layers(l, cfg, files, srcs, nl, err) < 0)
		return -1;
	if (ref_name)
		berth_strv_push(&p->tags, ref_name);
	return 0;
}

static int load_oci(struct load *l, struct ent *index_ent, struct berth_error *err)
{
	struct berth_error tmp;
	struct ent *lay = resolve(&l->u, "oci-layout", &tmp);
	if (lay) {
		cleanup_json json_t *lj = read_json(&l->u, lay, err);
		const char *v = json_string_value(json_object_get(lj, "imageLayoutVersion"));
		if (!v || strncmp(v, "1.", 2))
			return berth_err(err, BERTH_E_INVALID, "unsupported OCI layout version %s", v ? v : "(none)");
	}
	cleanup_json json_t *index = read_json(&l->u, index_ent, err);
	if (!json_is_object(index))
		return index ? berth_err(err, BERTH_E_INVALID, "invalid OCI layout: index.json is not an object") : -1;
	json_t *ms = json_object_get(index, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(json_is_array(ms) ? ms : NULL, i, d) {
		cleanup_free char *tag = NULL;
		if (oci_tag(d, &tag, err) < 0)
			return -1;
		if (load_oci_manifest(l, d, tag, 0, err) < 0)
			return -1;
	}
	if (!l->nimgs)
		return berth_err(err, BERTH_E_INVALID, "invalid OCI layout: index.json lists no manifests");
	return 0;
}

/* ---- phase 2: images and tags ---- */

static int commit_images(struct load *l, char ***lines, bool docker_archive, struct berth_error *err)
{
	struct berth_image_store *s = l->s;
	for (size_t i = 0; i < l->nimgs; i++) {
		struct pending *p = &l->imgs[i];
		const char *parent = NULL;
		/* validatedParentLinks: only a parent loaded in the same archive */
		for (size_t k = 0; p->parent[0] && k < l->nimgs; k++)
			if (k != i && !strcmp(l->imgs[k].id, p->parent))
				parent = p->parent;
		char id[BERTH_DIGEST_LEN + 1];
		if (parent && !berth_image_exists(s, parent))
			parent = NULL;
		if (berth_image_create(s, p->config, p->config_len, parent, id, &p->created, err) < 0)
			return -1;
	}
	struct berth_buf ids = {0};
	size_t last_refs = 0;
	for (size_t i = 0; i < l->nimgs; i++) {
		struct pending *p = &l->imgs[i];
		berth_buf_printf(&ids, "Loaded image ID: %s\n", p->id);
		last_refs = 0;
		for (size_t k = 0; p->tags[k]; k++) {
			struct berth_ref r;
			if (berth_ref_parse(p->tags[k], &r, err) < 0) {
				berth_buf_free(&ids);
				return -1;
			}
			char prev[BERTH_DIGEST_LEN + 1];
			cleanup_free char *fam = berth_ref_familiar_string(&r);
			if (img_add_tag(s, p->id, &r, prev, false, err) < 0) {
				berth_buf_free(&ids);
				return -1;
			}
			if (prev[0]) {
				cleanup_free char *msg = berth_strdup_printf(
					"The image %s already exists, renaming the old one with ID %s to empty string",
					fam, prev);
				berth_strv_push(lines, msg);
			}
			cleanup_free char *msg = berth_strdup_printf("Loaded image: %s", fam);
			berth_strv_push(lines, msg);
			last_refs++;
		}
		if (!docker_archive && !last_refs) {
			cleanup_free char *msg = berth_strdup_printf("Loaded image ID: %s", p->id);
			berth_strv_push(lines, msg);
		}
		berth_image_event(s, p->id, p->id, "load");
	}
	/* docker prints the IDs only when the last image of the manifest had no tag */
	if (docker_archive && last_refs == 0) {
		char *save = NULL;
		for (char *t = strtok_r(ids.data, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
			berth_strv_push(lines, t);
	}
	berth_buf_free(&ids);
	return 0;
}

static void rollback_images(struct load *l)
{
	for (size_t i = 0; i < l->nimgs; i++) {
		if (!l->imgs[i].created)
			continue;
		json_t *recs = json_array();
		struct berth_error e = {0};
		img_delete_resolved(l->s, l->imgs[i].id, l->imgs[i].id, true, false, recs, NULL, &e);
		json_decref(recs);
		l->imgs[i].created = false;
	}
}

int berth_image_load(struct berth_image_store *s, struct berth_reader *in, const struct berth_image_load_opts *opts,
		     char ***lines, struct berth_error *err)
{
	struct load l = {.s = s, .opts = opts};
	l.u.rootfd = -1;
	*lines = calloc(1, sizeof(char *));
	snprintf(l.want_os, sizeof(l.want_os), "linux");
	snprintf(l.want_arch, sizeof(l.want_arch), "%s", berth_image_host_arch());
	snprintf(l.want_variant, sizeof(l.want_variant), "%s", berth_image_host_variant());
	if (opts && opts->platform && *opts->platform) {
		char os[32] = "", arch[32] = "", var[32] = "";
		int n = sscanf(opts->platform, "%31[^/]/%31[^/]/%31s", os, arch, var);
		if (n < 2)
			return berth_err(err, BERTH_E_INVALID, "invalid platform %s", opts->platform);
		snprintf(l.want_os, sizeof(l.want_os), "%s", os);
		snprintf(l.want_arch, sizeof(l.want_arch), "%s", arch);
		snprintf(l.want_variant, sizeof(l.want_variant), "%s", n == 3 ? var : "");
	}
	int ret = unpack(s, in, &l.u, err);
	bool docker_archive = false;
	if (ret == 0) {
		struct berth_error tmp;
		struct ent *man = resolve(&l.u, "manifest.json", &tmp);
		struct ent *idx = man ? NULL : resolve(&l.u, "index.json", &tmp);
		/* phase 1 (layers) needs only the layer store: other image requests go on meanwhile */
		if (man) {
			docker_archive = true;
			ret = load_docker_archive(&l, man, err);
		} else if (idx) {
			ret = load_oci(&l, idx, err);
		} else if (resolve(&l.u, "repositories", &tmp)) {
			ret = berth_err(err, BERTH_E_UNSUPPORTED,
					"legacy image archives without manifest.json are not supported");
		} else {
			ret = berth_err(err, BERTH_E_INVALID,
					"invalid archive: no manifest.json (docker) or index.json (OCI) found");
		}
		if (ret == 0) {
			img_lock(s);
			ret = commit_images(&l, lines, docker_archive, err);
			if (ret < 0)
				rollback_images(&l);
			img_unlock(s);
		}
		release_held(&l);
	}
	release_held(&l);
	for (size_t i = 0; i < l.nimgs; i++) {
		free(l.imgs[i].config);
		berth_strv_free(l.imgs[i].tags);
	}
	free(l.imgs);
	free(l.held);
	unpacked_free(&l.u);
	if (ret < 0) {
		berth_strv_free(*lines);
		*lines = NULL;
	}
	return ret;
}
