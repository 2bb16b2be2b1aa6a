/* docker save (image/tarexport/save.go, docker 20.10): manifest.json,
 * repositories, <image id>.json, <v1 id>/{VERSION,json,layer.tar}, written as
 * Go's archive/tar writes them (USTAR headers, entries in filepath.Walk order,
 * uname/gname root, layer files dated with the image's creation time,
 * manifest.json and repositories with time 0, two zero blocks at the end). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "image/archive.h"
#include "image/store_int.h"

struct save_img {
	char id[BERTH_DIGEST_LEN + 1];
	struct berth_image img;
	char **refs; /* tagged references (full strings) in the order given */
	bool layer_ref;
};

struct berth_image_save_set {
	struct save_img *v;
	size_t n;
};

void berth_image_save_set_free(struct berth_image_save_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		berth_image_free(&set->v[i].img);
		berth_strv_free(set->v[i].refs);
	}
	free(set->v);
	free(set);
}

static void release_set(struct berth_image_store *s, struct berth_image_save_set *set)
{
	for (size_t i = 0; set && i < set->n; i++)
		if (set->v[i].layer_ref)
			berth_layer_release(s->ls, set->v[i].img.top_chain, NULL, NULL);
}

/* addAssoc */
static int add_assoc(struct berth_image_store *s, struct berth_image_save_set *set, const char *id,
		     const struct berth_ref *ref, struct berth_error *err)
{
	struct save_img *si = NULL;
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].id, id))
			si = &set->v[i];
	if (!si) {
		struct save_img *nv = realloc(set->v, (set->n + 1) * sizeof(*nv));
		if (!nv)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		set->v = nv;
		si = &set->v[set->n];
		memset(si, 0, sizeof(*si));
		si->refs = calloc(1, sizeof(char *));
		snprintf(si->id, sizeof(si->id), "%s", id);
		set->n++;
		struct img_row row;
		if (img_row_get(s, id, &row, err) < 0 || img_load(s, &row, &si->img, err) < 0)
			return -1;
		if (si->img.top_chain[0]) {
			if (berth_layer_ref(s->ls, si->img.top_chain, err) < 0)
				return -1;
			si->layer_ref = true;
		}
	}
	if (!ref || ref->digest[0])
		return 0;
	struct berth_ref t = *ref;
	berth_ref_tag_name_only(&t);
	cleanup_free char *full = berth_ref_string(&t);
	for (size_t i = 0; si->refs[i]; i++)
		if (!strcmp(si->refs[i], full))
			return 0;
	berth_strv_push(&si->refs, full);
	return 0;
}

static int search_id(struct berth_image_store *s, const char *name, char id[BERTH_DIGEST_LEN + 1],
		     struct berth_error *err)
{
	/* imageStore.Search: ID or unambiguous ID prefix only */
	const char *hex = name;
	if (!strncmp(name, "sha256:", 7))
		hex = name + 7;
	struct berth_error tmp;
	if (*hex && strlen(hex) <= 64 && berth_is_hex(hex, strlen(hex)) && berth_image_resolve(s, hex, id, &tmp) == 0 &&
	    berth_str_has_prefix(berth_digest_hex(id), hex))
		return 0;
	return berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", name);
}

struct berth_image_save_set *berth_image_save_prepare(struct berth_image_store *s, char *const *names, size_t n,
						      struct berth_error *err)
{
	struct berth_image_save_set *set = calloc(1, sizeof(*set));
	if (!set) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	img_lock(s);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct berth_ref ref;
		char id[BERTH_DIGEST_LEN + 1];
		if (berth_ref_parse_any(names[i], &ref, err) < 0) {
			r = -1;
			break;
		}
		if (!berth_ref_is_named(&ref)) {
			if (strlen(ref.digest) != BERTH_DIGEST_LEN || !berth_image_exists(s, ref.digest)) {
				r = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", ref.digest);
				break;
			}
			r = add_assoc(s, set, ref.digest, NULL, err);
			continue;
		}
		cleanup_free char *fname = berth_ref_familiar_name(&ref);
		if (fname && !strcmp(fname, "sha256")) {
			r = search_id(s, names[i], id, err);
			if (r == 0)
				r = add_assoc(s, set, id, NULL, err);
			continue;
		}
		if (!ref.tag[0] && !ref.digest[0]) {
			/* every reference of the repository */
			cleanup_free char *name = berth_ref_name(&ref);
			struct berth_stmt *st;
			size_t found = 0;
			if ((st = berth_db_prepare(s->db,
						   "SELECT ref, image_id FROM image_refs WHERE name = ? ORDER BY ref",
						   NULL)) != NULL) {
				berth_stmt_bind_text(st, 1, name);
				while (r == 0 && berth_stmt_step(st, NULL) == 1) {
					struct berth_ref rr;
					const char *full = berth_stmt_text(st, 0);
					const char *iid = berth_stmt_text(st, 1);
					if (berth_ref_parse(full, &rr, NULL) < 0)
						continue;
					found++;
					char iidc[BERTH_DIGEST_LEN + 1];
					snprintf(iidc, sizeof(iidc), "%s", iid);
					r = add_assoc(s, set, iidc, &rr, err);
				}
				berth_stmt_finalize(st);
			}
			if (r == 0 && !found) {
				r = search_id(s, names[i], id, err);
				if (r == 0)
					r = add_assoc(s, set, id, NULL, err);
			}
			continue;
		}
		struct berth_ref lookup = ref;
		if (lookup.digest[0])
			lookup.tag[0] = '\0';
		cleanup_free char *full = berth_ref_string(&lookup);
		struct berth_stmt *st;
		bool got = false;
		if ((st = berth_db_prepare(s->db, "SELECT image_id FROM image_refs WHERE ref = ?", NULL)) != NULL) {
			berth_stmt_bind_text(st, 1, full);
			if (berth_stmt_step(st, NULL) == 1) {
				snprintf(id, sizeof(id), "%s", berth_stmt_text(st, 0));
				got = true;
			}
			berth_stmt_finalize(st);
		}
		if (!got) {
			r = berth_err(err, BERTH_E_NOT_FOUND, "reference does not exist");
			break;
		}
		r = add_assoc(s, set, id, &ref, err);
	}
	if (r == 0 && set->n == 0)
		r = berth_err(err, BERTH_E_INVALID, "no images to save");
	if (r < 0) {
		release_set(s, set);
		berth_image_save_set_free(set);
		set = NULL;
	}
	img_unlock(s);
	return set;
}

/* ---- Go archive/tar output ---- */

struct tar_out {
	struct berth_writer *w;
	int64_t written;
};

static int tw(struct tar_out *t, const void *d, size_t n)
{
	if (t->w->write(t->w->ctx, d, n) < 0)
		return -1;
	t->written += (int64_t)n;
	return 0;
}

static void octal(char *field, size_t width, uint64_t v)
{
	/* width-1 zero-padded digits, then NUL */
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), (unsigned long long)v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

static int tar_header(struct tar_out *t, const char *name, char type, unsigned mode, int64_t mtime, uint64_t size,
		      const char *link)
{
	if (strlen(name) > 100 || (link && strlen(link) > 100))
		return -1;
	if (size >= 077777777777ULL) {
		/* a PAX record carries sizes USTAR cannot */
		char rec[96];
		char body[48];
		int blen = snprintf(body, sizeof(body), " size=%llu\n", (unsigned long long)size);
		int total = blen;
		int digits = 1;
		for (;;) {
			int l = snprintf(rec, sizeof(rec), "%d", total + digits);
			if (l == digits)
				break;
			digits = l;
		}
		snprintf(rec, sizeof(rec), "%d%s", total + digits, body);
		char pname[101];
		const char *slash = strrchr(name, '/');
		if (slash && slash[1])
			snprintf(pname, sizeof(pname), "%.*s/PaxHeaders.0/%s", (int)(slash - name), name, slash + 1);
		else
			snprintf(pname, sizeof(pname), "PaxHeaders.0/%s", name);
		if (tar_header(t, pname, 'x', 0644, mtime, strlen(rec), NULL) < 0)
			return -1;
		char blk[512] = {0};
		memcpy(blk, rec, strlen(rec));
		if (tw(t, blk, 512) < 0)
			return -1;
		size = 0;
	}
	char h[512];
	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	octal(h + 100, 8, mode);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, (uint64_t)(mtime < 0 ? 0 : mtime));
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	octal(h + 329, 8, 0);
	octal(h + 337, 8, 0);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	char ck[8];
	snprintf(ck, sizeof(ck), "%06o", sum);
	memcpy(h + 148, ck, 6);
	h[154] = '\0';
	h[155] = ' ';
	return tw(t, h, sizeof(h));
}

static int tar_pad(struct tar_out *t, uint64_t size)
{
	static const char zero[512];
	size_t pad = (size_t)((512 - size % 512) % 512);
	return pad ? tw(t, zero, pad) : 0;
}

static int tar_mem(struct tar_out *t, const char *name, int64_t mtime, const char *data, size_t len)
{
	if (tar_header(t, name, '0', 0100644, mtime, len, NULL) < 0 || (len && tw(t, data, len) < 0))
		return -1;
	return tar_pad(t, len);
}

/* ---- v1 compatibility configs ---- */

/* image.V1Image marshalled by Go (struct field order, omitempty rules). */
static json_t *v1_image(const json_t *cfg, bool full, const char *v1id, const char *parent_hex, const char *os)
{
	json_t *o = json_object();
	if (v1id)
		json_object_set_new(o, "id", json_string(v1id));
	if (parent_hex && *parent_hex)
		json_object_set_new(o, "parent", json_string(parent_hex));
	char ts[64];
	if (!full) {
		json_object_set_new(o, "created", json_string("1970-01-01T00:00:00Z"));
		json_object_set_new(o, "container_config", berth_container_config_canon(NULL));
		if (os && *os)
			json_object_set_new(o, "os", json_string(os));
		return o;
	}
#define STR(key)                                                                                                       \
	do {                                                                                                           \
		const char *v_ = json_string_value(berth_json_field(cfg, key));                                        \
		if (v_ && *v_)                                                                                         \
			json_object_set_new(o, key, json_string(v_));                                                  \
	} while (0)
	STR("comment");
	int64_t ns = berth_image_config_created(cfg);
	berth_image_time_format(ns, ts, sizeof(ts));
	json_object_set_new(o, "created", json_string(ts));
	STR("container");
	json_object_set_new(o, "container_config",
			    berth_container_config_canon(berth_json_field(cfg, "container_config")));
	STR("docker_version");
	STR("author");
	json_t *c = berth_json_field(cfg, "config");
	if (json_is_object(c))
		json_object_set_new(o, "config", berth_container_config_canon(c));
	STR("architecture");
	STR("variant");
	if (os && *os)
		json_object_set_new(o, "os", json_string(os));
	json_t *size = berth_json_field(cfg, "Size");
	if (json_is_integer(size) && json_integer_value(size))
		json_object_set_new(o, "Size", json_integer(json_integer_value(size)));
#undef STR
	return o;
}

/* v1.CreateID: sha256 of the V1Image JSON (no id) plus layer_id and parent, top-level keys sorted. */
static void v1_create_id(const json_t *v1, const char *chain, const char *parent, char out[65])
{
	json_t *m = json_deep_copy(v1);
	json_object_set_new(m, "layer_id", json_string(chain));
	if (parent && *parent)
		json_object_set_new(m, "parent", json_string(parent));
	size_t n = json_object_size(m), i = 0;
	const char **keys = calloc(n, sizeof(char *));
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	json_t *sorted = json_object();
	for (i = 0; i < n; i++)
		json_object_set(sorted, keys[i], json_object_get(m, keys[i]));
	size_t len;
	char *bytes = berth_json_dump_go(sorted, &len);
	char dg[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest(bytes, len, dg);
	snprintf(out, 65, "%s", berth_digest_hex(dg));
	free(bytes);
	free(keys);
	json_decref(sorted);
	json_decref(m);
}

/* ---- the entry list ---- */

struct item {
	char *top;   /* top-level name (dir or file) */
	char *child; /* "" for the top entry itself */
	char type;   /* '0' file, '5' dir, '2' symlink */
	int64_t mtime;
	char *data; /* in-memory content */
	size_t len;
	char chain[BERTH_DIGEST_LEN + 1]; /* layer.tar: export this chain */
	char *link;
};

struct items {
	struct item *v;
	size_t n;
};

static struct item *item_add(struct items *it, const char *top, const char *child, char type, int64_t mtime)
{
	struct item *nv = realloc(it->v, (it->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	it->v = nv;
	struct item *i = &nv[it->n++];
	memset(i, 0, sizeof(*i));
	i->top = strdup(top);
	i->child = strdup(child);
	i->type = type;
	i->mtime = mtime;
	return i;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->top, y->top);
	return c ? c : strcmp(x->child, y->child);
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].top);
		free(it->v[i].child);
		free(it->v[i].data);
		free(it->v[i].link);
	}
	free(it->v);
}

static int write_layer(struct berth_image_store *s, struct tar_out *t, const char *name, const struct item *it,
		       struct berth_error *err)
{
	cleanup_free char *tmp = img_tmp_path(s, "save");
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", tmp);
	unlink(tmp);
	struct berth_writer fw = berth_writer_fd(fd);
	int r = berth_layer_export(s->ls, it->chain, &fw, err);
	struct stat st;
	if (r == 0 && (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		r = berth_err_sys(err, BERTH_E_INTERNAL, errno, "layer export file");
	if (r == 0 && tar_header(t, name, '0', 0100644, it->mtime, (uint64_t)st.st_size, NULL) < 0)
		r = berth_err(err, BERTH_E_INTERNAL, "write failed");
	char buf[65536];
	int64_t left = r == 0 ? st.st_size : 0;
	while (r == 0 && left > 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = berth_err(err, BERTH_E_INTERNAL, "layer export file shrank");
			break;
		}
		if (tw(t, buf, (size_t)n) < 0)
			r = berth_err(err, BERTH_E_INTERNAL, "write failed");
		left -= n;
	}
	if (r == 0 && tar_pad(t, (uint64_t)st.st_size) < 0)
		r = berth_err(err, BERTH_E_INTERNAL, "write failed");
	close(fd);
	return r;
}

static int64_t created_secs(const json_t *cfg)
{
	int64_t ns = berth_image_config_created(cfg);
	if (ns == BERTH_IMAGE_TIME_ZERO || ns < 0)
		return 0;
	return ns / 1000000000LL;
}

static int build_items(struct berth_image_save_set *set, struct items *it, struct berth_error *err)
{
	json_t *manifest = json_array();
	json_t *repos = json_object(); /* familiar name -> {tag: v1id} */
	json_t *saved_v1 = json_object();
	json_t *diff_paths = json_object(); /* diff id -> "<v1id>/layer.tar" */
	int ret = 0;
	for (size_t i = 0; i < set->n && ret == 0; i++) {
		struct save_img *si = &set->v[i];
		const json_t *cfg = si->img.json;
		size_t nl = berth_image_config_layers(cfg, NULL, 0);
		if (nl == 0) {
			ret = berth_err(err, BERTH_E_INVALID, "empty export - not implemented");
			break;
		}
		const char *os = json_string_value(berth_json_field(cfg, "os"));
		int64_t mt = created_secs(cfg);
		char parent[65] = "";
		json_t *layers = json_array();
		for (size_t k = 0; k < nl; k++) {
			char chain[BERTH_DIGEST_LEN + 1];
			berth_image_config_chain(cfg, k + 1, chain);
			bool top = k == nl - 1;
			json_t *v1 = v1_image(cfg, top, NULL, NULL, top ? os : NULL);
			char v1id[65];
			char parent_dg[BERTH_DIGEST_LEN + 1] = "";
			if (parent[0])
				snprintf(parent_dg, sizeof(parent_dg), "sha256:%s", parent);
			v1_create_id(v1, chain, parent_dg, v1id);
			json_decref(v1);
			json_array_append_new(layers, json_pack("s+", v1id, "/layer.tar"));
			if (!json_object_get(saved_v1, v1id)) {
				json_object_set_new(saved_v1, v1id, json_true());
				json_t *v1f = v1_image(cfg, top, v1id, parent, os);
				size_t jl;
				char *jb = berth_json_dump_go(v1f, &jl);
				json_decref(v1f);
				struct item *d = item_add(it, v1id, "", '5', mt);
				struct item *ver = item_add(it, v1id, "VERSION", '0', mt);
				if (ver) {
					ver->data = strdup("1.0");
					ver->len = 3;
				}
				struct item *js = item_add(it, v1id, "json", '0', mt);
				if (js) {
					js->data = jb;
					js->len = jl;
				} else {
					free(jb);
				}
				const char *diff = json_string_value(json_array_get(
					berth_json_field(berth_json_field(cfg, "rootfs"), "diff_ids"), k));
				struct item *lt = item_add(it, v1id, "layer.tar", '0', mt);
				if (!d || !ver || !js || !lt) {
					ret = berth_err(err, BERTH_E_INTERNAL, "out of memory");
					break;
				}
				json_t *old = json_object_get(diff_paths, diff);
				if (old) {
					lt->type = '2';
					lt->link = berth_strdup_printf("../%s", json_string_value(old));
				} else {
					snprintf(lt->chain, sizeof(lt->chain), "%s", chain);
					json_object_set_new(diff_paths, diff, json_pack("s+", v1id, "/layer.tar"));
				}
			}
			snprintf(parent, sizeof(parent), "%s", v1id);
		}
		/* config */
		cleanup_free char *cname = berth_strdup_printf("%s.json", berth_digest_hex(si->id));
		struct item *ci = item_add(it, cname, "", '0', mt);
		if (!ci) {
			json_decref(layers);
			ret = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
		ci->data = malloc(si->img.config_len ? si->img.config_len : 1);
		memcpy(ci->data, si->img.config, si->img.config_len);
		ci->len = si->img.config_len;
		/* manifest item */
		json_t *mi = json_object();
		json_object_set_new(mi, "Config", json_string(cname));
		json_t *tags = json_null();
		for (size_t k = 0; si->refs[k]; k++) {
			struct berth_ref r;
			if (berth_ref_parse(si->refs[k], &r, NULL) < 0)
				continue;
			cleanup_free char *fam = berth_ref_familiar_string(&r);
			cleanup_free char *fname = berth_ref_familiar_name(&r);
			if (!json_is_array(tags))
				tags = json_array();
			json_array_append_new(tags, json_string(fam));
			json_t *rm = json_object_get(repos, fname);
			if (!rm) {
				rm = json_object();
				json_object_set_new(repos, fname, rm);
			}
			json_object_set_new(rm, r.tag, json_string(parent));
		}
		json_object_set_new(mi, "RepoTags", tags);
		json_object_set_new(mi, "Layers", layers);
		/* validatedParentLinks */
		if (si->img.parent[0])
			for (size_t k = 0; k < set->n; k++)
				if (k != i && !strcmp(set->v[k].id, si->img.parent))
					json_object_set_new(mi, "Parent", json_string(si->img.parent));
		json_array_append_new(manifest, mi);
	}
	if (ret == 0) {
		if (json_object_size(repos)) {
			size_t len;
			char *b = berth_json_dump_go_sorted(repos, &len);
			struct item *ri = item_add(it, "repositories", "", '0', 0);
			if (ri) {
				ri->data = realloc(b, len + 1);
				ri->data[len] = '\n';
				ri->len = len + 1;
			} else {
				free(b);
			}
		}
		size_t len;
		char *b = berth_json_dump_go(manifest, &len);
		struct item *mi = item_add(it, "manifest.json", "", '0', 0);
		if (mi) {
			mi->data = realloc(b, len + 1);
			mi->data[len] = '\n';
			mi->len = len + 1;
		} else {
			free(b);
		}
	}
	json_decref(manifest);
	json_decref(repos);
	json_decref(saved_v1);
	json_decref(diff_paths);
	return ret;
}

int berth_image_save_write(struct berth_image_store *s, struct berth_image_save_set *set, struct berth_writer *out,
			   struct berth_error *err)
{
	struct items it = {0};
	int ret = build_items(set, &it, err);
	if (ret == 0) {
		qsort(it.v, it.n, sizeof(*it.v), item_cmp);
		struct tar_out t = {out, 0};
		for (size_t i = 0; i < it.n && ret == 0; i++) {
			struct item *x = &it.v[i];
			cleanup_free char *name =
				x->child[0] ? berth_strdup_printf("%s/%s", x->top, x->child) :
					      berth_strdup_printf("%s%s", x->top, x->type == '5' ? "/" : "");
			if (x->type == '5') {
				if (tar_header(&t, name, '5', 040755, x->mtime, 0, NULL) < 0)
					ret = berth_err(err, BERTH_E_INTERNAL, "write failed");
			} else if (x->type == '2') {
				if (tar_header(&t, name, '2', 0120777, x->mtime, 0, x->link) < 0)
					ret = berth_err(err, BERTH_E_INTERNAL, "write failed");
			} else if (x->chain[0]) {
				ret = write_layer(s, &t, name, x, err);
			} else if (tar_mem(&t, name, x->mtime, x->data, x->len) < 0) {
				ret = berth_err(err, BERTH_E_INTERNAL, "write failed");
			}
		}
		static const char zero[1024];
		if (ret == 0 && tw(&t, zero, sizeof(zero)) < 0)
			ret = berth_err(err, BERTH_E_INTERNAL, "write failed");
	}
	items_free(&it);
	if (ret == 0)
		for (size_t i = 0; i < set->n; i++)
			berth_image_event(s, set->v[i].id, set->v[i].id, "save");
	release_set(s, set);
	berth_image_save_set_free(set);
	return ret;
}

int berth_image_save(struct berth_image_store *s, char *const *names, size_t n, struct berth_writer *out,
		     struct berth_error *err)
{
	struct berth_image_save_set *set = berth_image_save_prepare(s, names, n, err);
	if (!set)
		return -1;
	return berth_image_save_write(s, set, out, err);
}
