/* Image store core: records, references, lookups, blobs, tag/untag, delete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "image/store_int.h"

#define MAX_CONFIG_BYTES (32 << 20)

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS images ("
			     " id TEXT PRIMARY KEY,"
			     " parent TEXT NOT NULL DEFAULT '',"
			     " top_chain TEXT NOT NULL DEFAULT '',"
			     " created_ns INTEGER NOT NULL DEFAULT 0,"
			     " added_ns INTEGER NOT NULL DEFAULT 0,"
			     " last_tag_ns INTEGER NOT NULL DEFAULT 0);"
			     "CREATE INDEX IF NOT EXISTS images_parent ON images(parent);"
			     "CREATE TABLE IF NOT EXISTS image_refs ("
			     " ref TEXT PRIMARY KEY,"
			     " name TEXT NOT NULL,"
			     " is_digest INTEGER NOT NULL DEFAULT 0,"
			     " image_id TEXT NOT NULL);"
			     "CREATE INDEX IF NOT EXISTS image_refs_image ON image_refs(image_id);";

void img_lock(struct berth_image_store *s) { pthread_mutex_lock(&s->mu); }
void img_unlock(struct berth_image_store *s) { pthread_mutex_unlock(&s->mu); }

static int sql_err(struct berth_image_store *s, struct berth_error *err, const char *what)
{
	(void)s;
	return berth_err_prefix(err, "image store: %s", what);
}

/* Run a statement with text parameters (NULL-terminated list). */
static int sql_exec(struct berth_image_store *s, struct berth_error *err, const char *sql, ...)
{
	struct berth_stmt *st;
	if (!(st = berth_db_prepare(s->db, sql, err)))
		return sql_err(s, err, "prepare");
	va_list ap;
	va_start(ap, sql);
	int i = 1;
	for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *))
		berth_stmt_bind_text(st, i++, a);
	va_end(ap);
	int rc = berth_stmt_step(st, err);
	berth_stmt_finalize(st);
	return rc < 0 ? sql_err(s, err, "exec") : 0;
}

struct berth_image_store *berth_image_store_open(const char *data_root, struct berth_db *db,
						 struct berth_layer_store *ls, const struct berth_event_sink *events,
						 struct berth_error *err)
{
	struct berth_image_store *s = calloc(1, sizeof(*s));
	if (!s) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->mu, &a);
	pthread_mutexattr_destroy(&a);
	s->data_root = strdup(data_root);
	s->blob_dir = berth_strdup_printf("%s/image/blobs/sha256", data_root);
	s->tmp_dir = berth_strdup_printf("%s/image/tmp", data_root);
	s->db = db;
	s->ls = ls;
	if (events)
		s->events = *events;
	s->docker_version = strdup(BERTH_VERSION);
	if (!s->data_root || !s->blob_dir || !s->tmp_dir || !s->docker_version) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (berth_mkdir_p(s->blob_dir, 0700, err) < 0)
		goto fail;
	/* leftovers of interrupted loads and saves */
	if (berth_rm_rf(s->tmp_dir, err) < 0 || berth_mkdir_p(s->tmp_dir, 0700, err) < 0)
		goto fail;
	if (berth_db_exec(db, SCHEMA, err) < 0) {
		berth_err_prefix(err, "image store: create tables");
		goto fail;
	}
	return s;
fail:
	berth_image_store_close(s);
	return NULL;
}

void berth_image_store_close(struct berth_image_store *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->data_root);
	free(s->blob_dir);
	free(s->tmp_dir);
	free(s->docker_version);
	free(s);
}

void berth_image_store_set_hooks(struct berth_image_store *s, const struct berth_image_hooks *hooks)
{
	img_lock(s);
	if (hooks)
		s->hooks = *hooks;
	else
		memset(&s->hooks, 0, sizeof(s->hooks));
	img_unlock(s);
}

void berth_image_store_set_docker_version(struct berth_image_store *s, const char *version)
{
	char *v = strdup(version ? version : BERTH_VERSION);
	if (!v)
		return;
	img_lock(s);
	free(s->docker_version);
	s->docker_version = v;
	img_unlock(s);
}

struct berth_layer_store *berth_image_store_layers(struct berth_image_store *s) { return s->ls; }
const char *berth_image_store_data_root(struct berth_image_store *s) { return s->data_root; }

char *img_tmp_path(struct berth_image_store *s, const char *prefix)
{
	char rnd[65];
	berth_random_id(rnd);
	rnd[16] = '\0';
	return berth_strdup_printf("%s/%s-%s", s->tmp_dir, prefix, rnd);
}

/* ---- blobs ---- */

static char *blob_path(struct berth_image_store *s, const char *digest)
{
	return berth_strdup_printf("%s/%s", s->blob_dir, berth_digest_hex(digest));
}

int berth_image_blob_put(struct berth_image_store *s, const void *data, size_t len, char digest[BERTH_DIGEST_LEN + 1],
			 struct berth_error *err)
{
	berth_sha256_digest(data, len, digest);
	cleanup_free char *p = blob_path(s, digest);
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct stat st;
	if (stat(p, &st) == 0 && (size_t)st.st_size == len)
		return 0;
	img_lock(s);
	int r = berth_write_file_atomic(p, data, len, 0600, err);
	img_unlock(s);
	return r;
}

int berth_image_blob_get(struct berth_image_store *s, const char *digest, char **data, size_t *len,
			 struct berth_error *err)
{
	if (!berth_digest_valid(digest))
		return berth_err(err, BERTH_E_INVALID, "invalid digest %s", digest);
	cleanup_free char *p = blob_path(s, digest);
	char *d = NULL;
	size_t n = 0;
	if (berth_read_file(p, &d, &n, MAX_CONFIG_BYTES, err) < 0)
		return -1;
	char got[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest(d, n, got);
	if (strcmp(got, digest)) {
		free(d);
		return berth_err(err, BERTH_E_INTERNAL, "blob %s is corrupt (content digest %s)", digest, got);
	}
	*data = d;
	if (len)
		*len = n;
	return 0;
}

int berth_image_blob_delete(struct berth_image_store *s, const char *digest)
{
	cleanup_free char *p = blob_path(s, digest);
	return p && unlink(p) == 0 ? 0 : -1;
}

/* ---- rows and references ---- */

static void row_from_stmt(struct berth_stmt *st, struct img_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", berth_stmt_text(st, 0));
	snprintf(r->parent, sizeof(r->parent), "%s", berth_stmt_text(st, 1));
	snprintf(r->top_chain, sizeof(r->top_chain), "%s", berth_stmt_text(st, 2));
	r->created_ns = berth_stmt_int64(st, 3);
	r->last_tag_ns = berth_stmt_int64(st, 4);
}

#define ROW_COLS "id, parent, top_chain, created_ns, last_tag_ns"

int img_row_get(struct berth_image_store *s, const char *id, struct img_row *out, struct berth_error *err)
{
	struct berth_stmt *st;
	if ((st = berth_db_prepare(s->db, "SELECT " ROW_COLS " FROM images WHERE id = ?", err)) == NULL)
		return sql_err(s, err, "prepare");
	berth_stmt_bind_text(st, 1, id);
	int rc = berth_stmt_step(st, err), r = 0;
	if (rc == 1)
		row_from_stmt(st, out);
	else if (rc == 0)
		r = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", id);
	else
		r = sql_err(s, err, "select image");
	berth_stmt_finalize(st);
	return r;
}

int img_rows_all(struct berth_image_store *s, struct img_row **rows, size_t *n, struct berth_error *err)
{
	struct berth_stmt *st;
	*rows = NULL;
	*n = 0;
	if ((st = berth_db_prepare(s->db, "SELECT " ROW_COLS " FROM images ORDER BY created_ns DESC, id", err)) == NULL)
		return sql_err(s, err, "prepare");
	int rc;
	size_t cap = 0;
	while ((rc = berth_stmt_step(st, err)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct img_row *nr = realloc(*rows, cap * sizeof(**rows));
			if (!nr)
				break;
			*rows = nr;
		}
		row_from_stmt(st, &(*rows)[(*n)++]);
	}
	berth_stmt_finalize(st);
	if (rc != 0) {
		free(*rows);
		*rows = NULL;
		*n = 0;
		return berth_err(err, BERTH_E_INTERNAL, "image store: list images failed");
	}
	return 0;
}

int64_t img_children(struct berth_image_store *s, const char *id)
{
	struct berth_stmt *st;
	int64_t n = 0;
	if ((st = berth_db_prepare(s->db, "SELECT COUNT(*) FROM images WHERE parent = ?", NULL)) != NULL) {
		berth_stmt_bind_text(st, 1, id);
		if (berth_stmt_step(st, NULL) == 1)
			n = berth_stmt_int64(st, 0);
		berth_stmt_finalize(st);
	}
	return n;
}

void img_refs_free(struct img_refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].full);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int img_refs_of(struct berth_image_store *s, const char *id, struct img_refs *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	struct berth_stmt *st;
	if ((st = berth_db_prepare(s->db, "SELECT ref, is_digest FROM image_refs WHERE image_id = ? ORDER BY ref",
				   err)) == NULL)
		return sql_err(s, err, "prepare");
	berth_stmt_bind_text(st, 1, id);
	int rc;
	while ((rc = berth_stmt_step(st, err)) == 1) {
		struct img_ref *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!nv)
			break;
		out->v = nv;
		struct img_ref *r = &out->v[out->n];
		r->full = strdup(berth_stmt_text(st, 0));
		r->digest = berth_stmt_int(st, 1) != 0;
		if (!r->full || berth_ref_parse(r->full, &r->ref, NULL) < 0) {
			free(r->full);
			continue;
		}
		out->n++;
	}
	berth_stmt_finalize(st);
	if (rc != 0) {
		img_refs_free(out);
		return berth_err(err, BERTH_E_INTERNAL, "image store: list references failed");
	}
	return 0;
}

int berth_image_references(struct berth_image_store *s, const char *image_id, char ***tags, char ***digests,
			   struct berth_error *err)
{
	struct img_refs refs;
	if (img_refs_of(s, image_id, &refs, err) < 0)
		return -1;
	*tags = calloc(1, sizeof(char *));
	*digests = calloc(1, sizeof(char *));
	for (size_t i = 0; i < refs.n; i++) {
		cleanup_free char *f = berth_ref_familiar_string(&refs.v[i].ref);
		if (f)
			berth_strv_push(refs.v[i].digest ? digests : tags, f);
	}
	img_refs_free(&refs);
	return 0;
}

int img_load(struct berth_image_store *s, const struct img_row *row, struct berth_image *img, struct berth_error *err)
{
	memset(img, 0, sizeof(*img));
	snprintf(img->id, sizeof(img->id), "%s", row->id);
	snprintf(img->parent, sizeof(img->parent), "%s", row->parent);
	snprintf(img->top_chain, sizeof(img->top_chain), "%s", row->top_chain);
	img->created_ns = row->created_ns;
	if (berth_image_blob_get(s, row->id, &img->config, &img->config_len, err) < 0)
		return berth_err_prefix(err, "image %s", row->id);
	img->json = berth_image_config_parse(img->config, img->config_len, err);
	if (!img->json) {
		berth_image_free(img);
		return -1;
	}
	return 0;
}

void berth_image_free(struct berth_image *img)
{
	if (!img)
		return;
	free(img->config);
	json_decref(img->json);
	img->config = NULL;
	img->json = NULL;
}

json_t *img_config_labels(const json_t *cfg)
{
	json_t *l = berth_json_field(berth_json_field(cfg, "config"), "Labels");
	return json_is_object(l) ? l : NULL;
}

int64_t img_chain_size(struct berth_image_store *s, const char *top_chain)
{
	int64_t total = 0;
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", top_chain);
	for (int depth = 0; cur[0] && depth < 1000; depth++) {
		struct berth_layer_info li;
		if (berth_layer_get(s->ls, cur, &li, NULL) < 0)
			break;
		total += li.size;
		snprintf(cur, sizeof(cur), "%s", li.parent);
	}
	return total;
}

/* ---- lookups (GetImage) ---- */

static int find_ref(struct berth_image_store *s, const char *full, char id[BERTH_DIGEST_LEN + 1])
{
	struct berth_stmt *st;
	int found = 0;
	if ((st = berth_db_prepare(s->db, "SELECT image_id FROM image_refs WHERE ref = ?", NULL)) != NULL) {
		berth_stmt_bind_text(st, 1, full);
		if (berth_stmt_step(st, NULL) == 1) {
			snprintf(id, BERTH_DIGEST_LEN + 1, "%s", berth_stmt_text(st, 0));
			found = 1;
		}
		berth_stmt_finalize(st);
	}
	return found;
}

bool berth_image_exists(struct berth_image_store *s, const char *id)
{
	struct img_row r;
	return img_row_get(s, id, &r, NULL) == 0;
}

/* digestset.Lookup: 1 found, 0 not found, -1 ambiguous. */
static int search_prefix(struct berth_image_store *s, const char *term, char id[BERTH_DIGEST_LEN + 1])
{
	const char *hex = term;
	const char *colon = strchr(term, ':');
	if (colon) {
		if ((size_t)(colon - term) != 6 || strncmp(term, "sha256", 6))
			return 0;
		hex = colon + 1;
	}
	size_t n = strlen(hex);
	if (n > 64 || !berth_is_hex(hex, n))
		return 0;
	char lo[BERTH_DIGEST_LEN + 1];
	snprintf(lo, sizeof(lo), "sha256:%s", hex);
	struct berth_stmt *st;
	int found = 0;
	if ((st = berth_db_prepare(s->db, "SELECT id FROM images WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 2",
				   NULL)) != NULL) {
		berth_stmt_bind_int64(st, 1, (int)strlen(lo));
		berth_stmt_bind_text(st, 2, lo);
		while (berth_stmt_step(st, NULL) == 1) {
			const char *got = berth_stmt_text(st, 0);
			if (found == 1 && strcmp(id, lo)) {
				found = -1;
				break;
			}
			if (found == 0) {
				snprintf(id, BERTH_DIGEST_LEN + 1, "%s", got);
				found = 1;
			}
		}
		berth_stmt_finalize(st);
	}
	return found;
}

static int not_found(struct berth_error *err, struct berth_ref *r)
{
	berth_ref_tag_name_only(r);
	cleanup_free char *f = berth_ref_familiar_string(r);
	return berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", f ? f : "?");
}

int berth_image_resolve(struct berth_image_store *s, const char *name, char id[BERTH_DIGEST_LEN + 1],
			struct berth_error *err)
{
	struct berth_ref r;
	if (berth_ref_parse_any(name, &r, err) < 0)
		return -1;
	cleanup_free char *full = NULL;
	img_lock(s);
	int ret = -1;
	if (!berth_ref_is_named(&r)) {
		if (strlen(r.digest) == BERTH_DIGEST_LEN && berth_image_exists(s, r.digest)) {
			memcpy(id, r.digest, BERTH_DIGEST_LEN + 1);
			ret = 0;
		} else {
			ret = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", r.digest);
		}
		goto out;
	}
	struct berth_ref lookup = r;
	if (lookup.digest[0])
		lookup.tag[0] = '\0';
	berth_ref_tag_name_only(&lookup);
	full = berth_ref_string(&lookup);
	if (full && find_ref(s, full, id) && berth_image_exists(s, id)) {
		ret = 0;
		goto out;
	}
	if (search_prefix(s, name, id) == 1) {
		ret = 0;
		goto out;
	}
	ret = not_found(err, &r);
out:
	img_unlock(s);
	return ret;
}

int berth_image_get(struct berth_image_store *s, const char *name, struct berth_image *out, struct berth_error *err)
{
	char id[BERTH_DIGEST_LEN + 1];
	struct img_row row;
	img_lock(s);
	int r = berth_image_resolve(s, name, id, err);
	if (r == 0)
		r = img_row_get(s, id, &row, err);
	if (r == 0)
		r = img_load(s, &row, out, err);
	img_unlock(s);
	return r;
}

int64_t berth_image_count(struct berth_image_store *s)
{
	struct berth_stmt *st;
	int64_t n = 0;
	if ((st = berth_db_prepare(s->db, "SELECT COUNT(*) FROM images", NULL)) != NULL) {
		if (berth_stmt_step(st, NULL) == 1)
			n = berth_stmt_int64(st, 0);
		berth_stmt_finalize(st);
	}
	return n;
}

/* ---- events ---- */

void berth_image_event(struct berth_image_store *s, const char *image_id, const char *name, const char *action)
{
	if (!s->events.emit)
		return;
	json_t *attrs = json_object();
	struct img_row row;
	if (img_row_get(s, image_id, &row, NULL) == 0) {
		struct berth_image img;
		if (img_load(s, &row, &img, NULL) == 0) {
			json_t *labels = img_config_labels(img.json);
			if (labels)
				json_object_update(attrs, labels);
			berth_image_free(&img);
		}
	}
	json_object_set_new(attrs, "name", json_string(name ? name : image_id));
	berth_event_sink_emit(&s->events, "image", action, image_id, attrs);
	json_decref(attrs);
}

/* ---- create ---- */

int berth_image_create(struct berth_image_store *s, const char *config, size_t len, const char *parent,
		       char id[BERTH_DIGEST_LEN + 1], bool *created, struct berth_error *err)
{
	if (created)
		*created = false;
	cleanup_json json_t *cfg = berth_image_config_parse(config, len, err);
	if (!cfg)
		return -1;
	berth_image_config_id(config, len, id);
	size_t n = berth_image_config_layers(cfg, NULL, 0);
	if (n > BERTH_MAX_LAYERS)
		return berth_err(err, BERTH_E_INVALID, "max depth exceeded");
	char top[BERTH_DIGEST_LEN + 1];
	berth_image_config_chain(cfg, n, top);
	img_lock(s);
	int ret = -1;
	bool ref_taken = false;
	if (berth_image_exists(s, id)) {
		ret = 0;
		goto out;
	}
	if (parent && *parent && !berth_image_exists(s, parent)) {
		ret = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", parent);
		goto out;
	}
	if (n) {
		if (berth_layer_ref(s->ls, top, err) < 0) {
			berth_err_prefix(err, "failed to get layer %s", top);
			goto out;
		}
		ref_taken = true;
	}
	char dg[BERTH_DIGEST_LEN + 1];
	if (berth_image_blob_put(s, config, len, dg, err) < 0)
		goto out;
	int64_t created_ns = berth_image_config_created(cfg);
	char cbuf[32], abuf[32];
	snprintf(cbuf, sizeof(cbuf), "%lld", (long long)created_ns);
	snprintf(abuf, sizeof(abuf), "%lld", (long long)berth_now_ns());
	if (sql_exec(s, err, "INSERT INTO images (id, parent, top_chain, created_ns, added_ns) VALUES (?, ?, ?, ?, ?)",
		     id, parent ? parent : "", top, cbuf, abuf, NULL) < 0) {
		berth_image_blob_delete(s, id);
		goto out;
	}
	ref_taken = false;
	if (created)
		*created = true;
	ret = 0;
out:
	if (ref_taken)
		berth_layer_release(s->ls, top, NULL, NULL);
	img_unlock(s);
	return ret;
}

/* ---- references ---- */

/* A tag is the reference row and the image's last-tag time: one transaction. */
struct tag_tx {
	struct berth_image_store *s;
	const char *full, *name, *image_id, *now;
};

static int tag_tx_run(struct berth_db *db, void *ctx, struct berth_error *err)
{
	(void)db;
	struct tag_tx *t = ctx;
	if (sql_exec(t->s, err,
		     "INSERT OR REPLACE INTO image_refs (ref, name, is_digest, image_id) VALUES (?, ?, 0, ?)", t->full,
		     t->name, t->image_id, NULL) < 0)
		return -1;
	if (t->now &&
	    sql_exec(t->s, err, "UPDATE images SET last_tag_ns = ? WHERE id = ?", t->now, t->image_id, NULL) < 0)
		return -1;
	return 0;
}

int berth_image_tag_reference(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref_in,
			      char previous[BERTH_DIGEST_LEN + 1], struct berth_error *err)
{
	return img_add_tag(s, image_id, ref_in, previous, true, err);
}

int img_add_tag(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref_in,
		char previous[BERTH_DIGEST_LEN + 1], bool tag_image, struct berth_error *err)
{
	if (previous)
		previous[0] = '\0';
	struct berth_ref ref = *ref_in;
	if (!berth_ref_is_named(&ref))
		return berth_err(err, BERTH_E_INVALID, "invalid reference format");
	if (ref.digest[0])
		return berth_err(err, BERTH_E_INVALID, "refusing to create a tag with a digest reference");
	cleanup_free char *fam_name = berth_ref_familiar_name(&ref);
	if (fam_name && !strcmp(fam_name, "sha256"))
		return berth_err(err, BERTH_E_INVALID,
				 "refusing to create an ambiguous tag using digest algorithm as name");
	berth_ref_tag_name_only(&ref);
	cleanup_free char *full = berth_ref_string(&ref);
	cleanup_free char *name = berth_ref_name(&ref);
	cleanup_free char *fam = berth_ref_familiar_string(&ref);
	if (!full || !name || !fam)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	img_lock(s);
	int ret = -1;
	if (!berth_image_exists(s, image_id)) {
		ret = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", image_id);
		goto out;
	}
	char prev[BERTH_DIGEST_LEN + 1];
	if (find_ref(s, full, prev) && previous && strcmp(prev, image_id))
		snprintf(previous, BERTH_DIGEST_LEN + 1, "%s", prev);
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)berth_now_ns());
	struct tag_tx tx = {s, full, name, image_id, tag_image ? now : NULL};
	if (berth_db_tx(s->db, tag_tx_run, &tx, err) < 0)
		goto out;
	if (tag_image) {
		berth_image_event(s, image_id, fam, "tag");
	}
	ret = 0;
out:
	img_unlock(s);
	return ret;
}

int berth_image_add_digest_reference(struct berth_image_store *s, const char *image_id, const struct berth_ref *ref_in,
				     struct berth_error *err)
{
	struct berth_ref ref = *ref_in;
	if (!berth_ref_is_named(&ref) || !ref.digest[0])
		return berth_err(err, BERTH_E_INVALID, "reference must have a digest");
	ref.tag[0] = '\0';
	cleanup_free char *full = berth_ref_string(&ref);
	cleanup_free char *name = berth_ref_name(&ref);
	if (!full || !name)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	img_lock(s);
	int r = berth_image_exists(s, image_id) ?
			sql_exec(
				s, err,
				"INSERT OR REPLACE INTO image_refs (ref, name, is_digest, image_id) VALUES (?, ?, 1, ?)",
				full, name, image_id, NULL) :
			berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", image_id);
	img_unlock(s);
	return r;
}

int berth_image_tag(struct berth_image_store *s, const char *source, const char *repo, const char *tag, char **familiar,
		    struct berth_error *err)
{
	char id[BERTH_DIGEST_LEN + 1];
	if (berth_image_resolve(s, source, id, err) < 0)
		return -1;
	struct berth_ref r;
	if (berth_ref_parse_normalized(repo ? repo : "", &r, err) < 0)
		return -1;
	if (tag && *tag) {
		berth_ref_trim(&r);
		if (berth_ref_with_tag(&r, tag, err) < 0)
			return -1;
	}
	if (berth_image_tag_reference(s, id, &r, NULL, err) < 0)
		return -1;
	if (familiar) {
		berth_ref_tag_name_only(&r);
		*familiar = berth_ref_familiar_string(&r);
	}
	return 0;
}

/* Delete a reference row; *image_id gets what it pointed to. 1 deleted, 0 absent. */
static int ref_delete(struct berth_image_store *s, const struct berth_ref *ref, char image_id[BERTH_DIGEST_LEN + 1],
		      struct berth_error *err)
{
	cleanup_free char *full = berth_ref_string(ref);
	if (!full)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (!find_ref(s, full, image_id))
		return 0;
	if (sql_exec(s, err, "DELETE FROM image_refs WHERE ref = ?", full, NULL) < 0)
		return -1;
	return 1;
}

int berth_image_untag(struct berth_image_store *s, const struct berth_ref *ref_in, struct berth_error *err)
{
	struct berth_ref ref = *ref_in;
	berth_ref_tag_name_only(&ref);
	char id[BERTH_DIGEST_LEN + 1];
	img_lock(s);
	int r = ref_delete(s, &ref, id, err);
	if (r == 0) {
		cleanup_free char *f = berth_ref_familiar_string(&ref);
		r = berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", f ? f : "?");
	} else if (r > 0) {
		berth_image_event(s, id, id, "untag");
		r = 0;
	}
	img_unlock(s);
	return r;
}

/* ---- delete (daemon/images/image_delete.go) ---- */

enum {
	CONFLICT_CHILD = 1,
	CONFLICT_RUNNING = 2,
	CONFLICT_ACTIVE_REF = 4,
	CONFLICT_STOPPED = 8,
	CONFLICT_HARD = CONFLICT_CHILD | CONFLICT_RUNNING,
	CONFLICT_SOFT = CONFLICT_ACTIVE_REF | CONFLICT_STOPPED,
};

struct conflict {
	bool set, hard, used;
	char msg[256];
};

static const char *short_id(const char *id, char out[13])
{
	const char *h = berth_digest_hex(id);
	snprintf(out, 13, "%s", h);
	return out;
}

static bool find_container(struct berth_image_store *s, const char *id, enum berth_image_use which, char cid[65])
{
	return s->hooks.find_container && s->hooks.find_container(s->hooks.ctx, id, which, cid);
}

static struct conflict check_conflict(struct berth_image_store *s, const char *id, int mask)
{
	struct conflict c = {0};
	char cid[65];
	char sc[13];
	if ((mask & CONFLICT_CHILD) && img_children(s, id) > 0) {
		c = (struct conflict){true, true, false, "image has dependent child images"};
		return c;
	}
	if ((mask & CONFLICT_RUNNING) && find_container(s, id, BERTH_IMAGE_USE_RUNNING, cid)) {
		c = (struct conflict){.set = true, .hard = true, .used = true};
		snprintf(c.msg, sizeof(c.msg), "image is being used by running container %s", short_id(cid, sc));
		return c;
	}
	if (mask & CONFLICT_ACTIVE_REF) {
		struct img_refs refs;
		if (img_refs_of(s, id, &refs, NULL) == 0) {
			size_t n = refs.n;
			img_refs_free(&refs);
			if (n) {
				c = (struct conflict){true, false, false,
						      "image is referenced in multiple repositories"};
				return c;
			}
		}
	}
	if ((mask & CONFLICT_STOPPED) && find_container(s, id, BERTH_IMAGE_USE_STOPPED, cid)) {
		c = (struct conflict){.set = true, .used = true};
		snprintf(c.msg, sizeof(c.msg), "image is being used by stopped container %s", short_id(cid, sc));
	}
	return c;
}

static int conflict_err(struct berth_error *err, const char *id, const struct conflict *c)
{
	char sc[13];
	return berth_err(err, BERTH_E_CONFLICT, "conflict: unable to delete %s (%s) - %s", short_id(id, sc),
			 c->hard ? "cannot be forced" : "must be forced", c->msg);
}

/* isSingleReference */
static bool single_reference(const struct img_refs *refs)
{
	if (refs->n <= 1)
		return refs->n == 1;
	const struct img_ref *single = NULL;
	cleanup_free char *canon_name = NULL;
	size_t n_canon_names = 0;
	for (size_t i = 0; i < refs->n; i++) {
		const struct img_ref *r = &refs->v[i];
		if (r->digest) {
			char *nm = berth_ref_name(&r->ref);
			if (!canon_name) {
				canon_name = nm;
				n_canon_names = 1;
			} else {
				if (strcmp(canon_name, nm))
					n_canon_names++;
				free(nm);
			}
		} else if (!single) {
			single = r;
		} else {
			return false;
		}
	}
	if (!single)
		single = &refs->v[0];
	cleanup_free char *sn = berth_ref_name(&single->ref);
	return n_canon_names == 1 && canon_name && sn && !strcmp(canon_name, sn);
}

static bool is_id_prefix(const char *id, const char *p)
{
	return berth_str_has_prefix(id, p) || berth_str_has_prefix(berth_digest_hex(id), p);
}

static void add_record(json_t *records, const char *key, const char *val)
{
	json_t *o = json_object();
	json_object_set_new(o, key, json_string(val));
	json_array_append_new(records, o);
}

static int remove_ref_record(struct berth_image_store *s, const char *id, const struct berth_ref *ref, json_t *records,
			     struct berth_error *err)
{
	struct berth_ref r = *ref;
	berth_ref_tag_name_only(&r);
	char got[BERTH_DIGEST_LEN + 1];
	if (ref_delete(s, &r, got, err) < 0)
		return -1;
	cleanup_free char *f = berth_ref_familiar_string(&r);
	add_record(records, "Untagged", f ? f : "");
	berth_image_event(s, id, id, "untag");
	return 0;
}

static bool is_dangling(struct berth_image_store *s, const char *id)
{
	struct img_refs refs;
	if (img_refs_of(s, id, &refs, NULL) < 0)
		return false;
	size_t n = refs.n;
	img_refs_free(&refs);
	return n == 0 && img_children(s, id) == 0;
}

struct delete_tx {
	struct berth_image_store *s;
	const char *id;
	const struct img_refs *refs;
};

static int delete_tx_run(struct berth_db *db, void *ctx, struct berth_error *err)
{
	(void)db;
	struct delete_tx *t = ctx;
	for (size_t i = 0; i < t->refs->n; i++) {
		struct berth_ref r = t->refs->v[i].ref;
		berth_ref_tag_name_only(&r);
		cleanup_free char *full = berth_ref_string(&r);
		if (!full)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		if (sql_exec(t->s, err, "DELETE FROM image_refs WHERE ref = ?", full, NULL) < 0)
			return -1;
	}
	return sql_exec(t->s, err, "DELETE FROM images WHERE id = ?", t->id, NULL);
}

/* imageDeleteHelper */
static int delete_helper(struct berth_image_store *s, const char *id, json_t *records, bool force, bool prune,
			 bool quiet, int64_t *reclaimed, struct berth_error *err)
{
	struct conflict c = check_conflict(s, id, force ? CONFLICT_HARD : CONFLICT_HARD | CONFLICT_SOFT);
	if (c.set) {
		if (quiet && (!is_dangling(s, id) || c.used))
			return 0;
		return conflict_err(err, id, &c);
	}
	struct img_row row;
	if (img_row_get(s, id, &row, err) < 0)
		return -1;
	struct img_refs refs;
	if (img_refs_of(s, id, &refs, err) < 0)
		return -1;

	/* the layers this image's reference keeps alive, top first (their sizes for prune) */
	char(*chains)[BERTH_DIGEST_LEN + 1] = malloc((BERTH_MAX_LAYERS + 8) * sizeof(*chains));
	int64_t *sizes = malloc((BERTH_MAX_LAYERS + 8) * sizeof(*sizes));
	size_t nch = 0;
	if (!chains || !sizes) {
		free(chains);
		free(sizes);
		img_refs_free(&refs);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", row.top_chain);
	while (cur[0] && nch < BERTH_MAX_LAYERS + 8) {
		struct berth_layer_info li;
		if (berth_layer_get(s->ls, cur, &li, NULL) < 0)
			break;
		snprintf(chains[nch], sizeof(chains[nch]), "%s", cur);
		sizes[nch++] = li.size;
		snprintf(cur, sizeof(cur), "%s", li.parent);
	}
	/* the references and the image record go in one transaction (no layer
	 * store call inside: it takes its own lock before the database's) */
	struct delete_tx dtx = {s, id, &refs};
	if (berth_db_tx(s->db, delete_tx_run, &dtx, err) < 0) {
		img_refs_free(&refs);
		free(chains);
		free(sizes);
		return -1;
	}
	for (size_t i = 0; i < refs.n; i++) {
		struct berth_ref r = refs.v[i].ref;
		berth_ref_tag_name_only(&r);
		cleanup_free char *f = berth_ref_familiar_string(&r);
		add_record(records, "Untagged", f ? f : "");
		berth_image_event(s, id, id, "untag");
	}
	img_refs_free(&refs);
	berth_image_blob_delete(s, id);
	char **removed = NULL;
	if (row.top_chain[0]) {
		struct berth_error lerr = {0};
		if (berth_layer_release_list(s->ls, row.top_chain, &removed, &lerr) < 0)
			removed = NULL; /* the image is gone; a layer left behind is not the client's problem */
	}
	berth_image_event(s, id, id, "delete");
	add_record(records, "Deleted", id);
	for (size_t i = 0; removed && removed[i]; i++) {
		add_record(records, "Deleted", removed[i]);
		for (size_t k = 0; reclaimed && k < nch; k++)
			if (!strcmp(chains[k], removed[i]))
				*reclaimed += sizes[k];
	}
	berth_strv_free(removed);
	free(chains);
	free(sizes);
	if (!prune || !row.parent[0])
		return 0;
	return delete_helper(s, row.parent, records, false, true, true, reclaimed, err);
}

static void go_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s && o + 3 < outlen; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

int img_delete_resolved(struct berth_image_store *s, const char *name, const char *id, bool force, bool prune,
			json_t *records, int64_t *reclaimed, struct berth_error *err)
{
	struct img_refs refs;
	if (img_refs_of(s, id, &refs, err) < 0)
		return -1;
	bool removed_repo_ref = false;
	int ret = -1;
	if (!is_id_prefix(id, name)) {
		char cid[65];
		if (!force && single_reference(&refs) && find_container(s, id, BERTH_IMAGE_USE_ANY, cid)) {
			char q[600], sc[13], si[13];
			go_quote(name, q, sizeof(q));
			ret = berth_err(
				err, BERTH_E_CONFLICT,
				"conflict: unable to remove repository reference %s (must force) - container %s is "
				"using its referenced image %s",
				q, short_id(cid, sc), short_id(id, si));
			goto out;
		}
		struct berth_ref parsed;
		if (berth_ref_parse_normalized(name, &parsed, err) < 0)
			goto out;
		berth_ref_tag_name_only(&parsed);
		if (remove_ref_record(s, id, &parsed, records, err) < 0)
			goto out;
		img_refs_free(&refs);
		if (img_refs_of(s, id, &refs, err) < 0)
			goto out;
		size_t remaining = refs.n;
		if (!parsed.digest[0]) {
			/* only digest references left in that repository: remove them too */
			cleanup_free char *pname = berth_ref_name(&parsed);
			bool tag_left = false;
			for (size_t i = 0; i < refs.n; i++) {
				cleanup_free char *n = berth_ref_name(&refs.v[i].ref);
				if (!refs.v[i].digest && n && pname && !strcmp(n, pname))
					tag_left = true;
			}
			if (!tag_left) {
				remaining = 0;
				for (size_t i = 0; i < refs.n; i++) {
					cleanup_free char *n = berth_ref_name(&refs.v[i].ref);
					if (refs.v[i].digest && n && pname && !strcmp(n, pname)) {
						char got[BERTH_DIGEST_LEN + 1];
						if (ref_delete(s, &refs.v[i].ref, got, err) < 0)
							goto out;
						cleanup_free char *f = berth_ref_familiar_string(&refs.v[i].ref);
						add_record(records, "Untagged", f ? f : "");
					} else {
						remaining++;
					}
				}
			}
		}
		if (remaining > 0) {
			ret = 0;
			goto out;
		}
		removed_repo_ref = true;
	} else if (single_reference(&refs)) {
		int mask = CONFLICT_HARD;
		if (!force)
			mask |= CONFLICT_SOFT & ~CONFLICT_ACTIVE_REF;
		struct conflict c = check_conflict(s, id, mask);
		if (c.set) {
			ret = conflict_err(err, id, &c);
			goto out;
		}
		for (size_t i = 0; i < refs.n; i++)
			if (remove_ref_record(s, id, &refs.v[i].ref, records, err) < 0)
				goto out;
	}
	ret = delete_helper(s, id, records, force, prune, removed_repo_ref, reclaimed, err);
out:
	img_refs_free(&refs);
	return ret;
}

json_t *berth_image_delete(struct berth_image_store *s, const char *name, bool force, bool prune,
			   struct berth_error *err)
{
	char id[BERTH_DIGEST_LEN + 1];
	img_lock(s);
	json_t *records = NULL;
	if (berth_image_resolve(s, name, id, err) == 0) {
		records = json_array();
		if (img_delete_resolved(s, name, id, force, prune, records, NULL, err) < 0) {
			json_decref(records);
			records = NULL;
		}
	}
	img_unlock(s);
	return records;
}
