/* Image store queries in docker 20.10's shapes: list (GET /images/json),
 * inspect, history, prune and system df; docker's filter arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/store_int.h"

/* ---- filters (api/types/filters) ---- */

char **img_filter_values(const json_t *filters, const char *key)
{
	json_t *v = json_object_get(filters, key);
	if (!v)
		return NULL;
	char **out = calloc(1, sizeof(char *));
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
			berth_strv_push(&out, k);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (json_is_string(x))
				berth_strv_push(&out, json_string_value(x));
		}
	}
	return out;
}

bool img_filter_has(const json_t *filters, const char *key) { return json_object_get(filters, key) != NULL; }

static bool filter_exact(char **vals, const char *v)
{
	for (size_t i = 0; vals && vals[i]; i++)
		if (!strcmp(vals[i], v))
			return true;
	return false;
}

bool img_filter_match_kv(char **want, const json_t *labels)
{
	if (!want || !want[0])
		return true;
	if (!json_is_object(labels) || !json_object_size(labels))
		return false;
	for (size_t i = 0; want[i]; i++) {
		const char *eq = strchr(want[i], '=');
		cleanup_free char *k = eq ? strndup(want[i], (size_t)(eq - want[i])) : strdup(want[i]);
		json_t *v = json_object_get(labels, k);
		if (!v)
			return false;
		if (eq && (!json_is_string(v) || strcmp(json_string_value(v), eq + 1)))
			return false;
	}
	return true;
}

int img_filter_validate(const json_t *filters, const char *const *accepted, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)filters, k, v) {
		bool ok = false;
		for (size_t i = 0; accepted[i]; i++)
			ok |= !strcmp(accepted[i], k);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "Invalid filter '%s'", k);
	}
	return 0;
}

/* invalidFilter{name, values}: "Invalid filter 'dangling=[x y]'" */
static int invalid_filter_values(struct berth_error *err, const char *name, char **vals)
{
	struct berth_buf b = {0};
	for (size_t i = 0; vals && vals[i]; i++)
		berth_buf_printf(&b, "%s%s", i ? " " : "", vals[i]);
	berth_err(err, BERTH_E_INVALID, "Invalid filter '%s=[%s]'", name, berth_buf_str(&b));
	berth_buf_free(&b);
	return -1;
}

/* ---- helpers ---- */

static int64_t unix_secs(int64_t ns)
{
	if (ns == BERTH_IMAGE_TIME_ZERO)
		return -62135596800LL;
	return ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
}

static json_t *labels_json(const json_t *cfg)
{
	json_t *l = img_config_labels(cfg);
	if (!l)
		return json_null();
	json_t *canon = berth_container_config_canon(berth_json_field(cfg, "config"));
	json_t *out = json_incref(json_object_get(canon, "Labels"));
	json_decref(canon);
	return out ? out : json_null();
}

/* Chain IDs of a top layer, top first, with their own sizes. */
struct chain {
	char ids[BERTH_MAX_LAYERS + 8][BERTH_DIGEST_LEN + 1];
	int64_t sizes[BERTH_MAX_LAYERS + 8];
	size_t n;
};

static void chain_walk(struct berth_image_store *s, const char *top, struct chain *c)
{
	c->n = 0;
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", top);
	while (cur[0] && c->n < BERTH_MAX_LAYERS + 8) {
		struct berth_layer_info li;
		if (berth_layer_get(s->ls, cur, &li, NULL) < 0)
			break;
		snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", cur);
		c->sizes[c->n++] = li.size;
		snprintf(cur, sizeof(cur), "%s", li.parent);
	}
}

/* ---- list ---- */

struct list_opts {
	bool all, extra; /* extra: SharedSize and Containers (system df) */
};

static json_t *summary(const struct img_row *row, const json_t *cfg, int64_t size)
{
	json_t *o = json_object();
	json_object_set_new(o, "Containers", json_integer(-1));
	json_object_set_new(o, "Created", json_integer(unix_secs(row->created_ns)));
	json_object_set_new(o, "Id", json_string(row->id));
	json_object_set_new(o, "Labels", labels_json(cfg));
	json_object_set_new(o, "ParentId", json_string(row->parent));
	json_object_set_new(o, "RepoDigests", json_null());
	json_object_set_new(o, "RepoTags", json_null());
	json_object_set_new(o, "SharedSize", json_integer(-1));
	json_object_set_new(o, "Size", json_integer(size));
	json_object_set_new(o, "VirtualSize", json_integer(size));
	return o;
}

static void push_str(json_t *o, const char *key, const char *v)
{
	json_t *a = json_object_get(o, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	json_array_append_new(a, json_string(v));
}

static json_t *list_images(struct berth_image_store *s, const json_t *filters, const struct list_opts *lo,
			   struct berth_error *err)
{
	static const char *const accepted[] = {"dangling", "label", "before", "since", "reference", NULL};
	if (filters && img_filter_validate(filters, accepted, err) < 0)
		return NULL;
	bool dangling_only = false;
	char **dv = img_filter_values(filters, "dangling");
	if (dv) {
		if (filter_exact(dv, "true")) {
			dangling_only = true;
		} else if (!filter_exact(dv, "false") && dv[0]) {
			invalid_filter_values(err, "dangling", dv);
			berth_strv_free(dv);
			return NULL;
		}
		berth_strv_free(dv);
	}
	int64_t before = 0, since = 0;
	bool has_before = false, has_since = false;
	static const char *const walk[] = {"before", "since"};
	for (int w = 0; w < 2; w++) {
		char **vals = img_filter_values(filters, walk[w]);
		for (size_t i = 0; vals && vals[i]; i++) {
			char id[BERTH_DIGEST_LEN + 1];
			struct img_row r;
			if (berth_image_resolve(s, vals[i], id, err) < 0 || img_row_get(s, id, &r, err) < 0) {
				berth_strv_free(vals);
				return NULL;
			}
			if (w == 0) {
				before = r.created_ns;
				has_before = true;
			} else {
				since = r.created_ns;
				has_since = true;
			}
		}
		berth_strv_free(vals);
	}
	char **labels = img_filter_values(filters, "label");
	char **patterns = img_filter_values(filters, "reference");
	bool has_dangling = img_filter_has(filters, "dangling");

	struct img_row *rows = NULL;
	size_t nrows = 0;
	json_t *out = NULL;
	struct chain *ch = NULL;
	json_t *layer_refs = NULL; /* chain id -> count (extra) */
	json_t *kept_chains = NULL;
	if (img_rows_all(s, &rows, &nrows, err) < 0)
		goto done;
	out = json_array();
	ch = malloc(sizeof(*ch));
	layer_refs = json_object();
	kept_chains = json_array();
	for (size_t i = 0; i < nrows; i++) {
		const struct img_row *row = &rows[i];
		int64_t children = img_children(s, row->id);
		if (dangling_only && children > 0)
			continue; /* Heads() */
		if (has_before && row->created_ns >= before)
			continue;
		if (has_since && row->created_ns <= since)
			continue;
		struct berth_image img;
		if (img_load(s, row, &img, NULL) < 0)
			continue;
		if (labels && labels[0]) {
			if (!berth_json_field(img.json, "config") ||
			    !img_filter_match_kv(labels, img_config_labels(img.json))) {
				berth_image_free(&img);
				continue;
			}
		}
		chain_walk(s, row->top_chain, ch);
		if (row->top_chain[0] && ch->n == 0) {
			berth_image_free(&img); /* layer vanished meanwhile */
			continue;
		}
		int64_t size = 0;
		for (size_t k = 0; k < ch->n; k++)
			size += ch->sizes[k];
		json_t *sum = summary(row, img.json, size);
		berth_image_free(&img);
		struct img_refs refs;
		if (img_refs_of(s, row->id, &refs, NULL) < 0)
			refs.n = 0, refs.v = NULL;
		bool any = false;
		bool tagged = false;
		for (size_t k = 0; k < refs.n; k++) {
			if (patterns) {
				bool found = false;
				for (size_t p = 0; patterns[p] && !found; p++)
					found = berth_ref_familiar_match(patterns[p], &refs.v[k].ref);
				if (!found)
					continue;
			}
			cleanup_free char *f = berth_ref_familiar_string(&refs.v[k].ref);
			push_str(sum, refs.v[k].digest ? "RepoDigests" : "RepoTags", f ? f : "");
			any = true;
			tagged |= !refs.v[k].digest;
		}
		img_refs_free(&refs);
		if (!any) {
			if (!(lo->all || children == 0) || (has_dangling && !dangling_only) || patterns) {
				json_decref(sum);
				continue;
			}
			push_str(sum, "RepoDigests", "<none>@<none>");
			push_str(sum, "RepoTags", "<none>:<none>");
		} else if (dangling_only && tagged) {
			json_decref(sum);
			continue;
		}
		if (lo->extra) {
			int64_t nc = s->hooks.count_containers ? s->hooks.count_containers(s->hooks.ctx, row->id) : 0;
			json_object_set_new(sum, "Containers", json_integer(nc));
			json_t *cl = json_array();
			for (size_t k = 0; k < ch->n; k++) {
				json_t *c = json_object_get(layer_refs, ch->ids[k]);
				json_object_set_new(layer_refs, ch->ids[k],
						    json_integer(c ? json_integer_value(c) + 1 : 1));
				json_t *pair = json_pack("[s,I]", ch->ids[k], (json_int_t)ch->sizes[k]);
				json_array_append_new(cl, pair);
			}
			json_array_append_new(kept_chains, cl);
		}
		json_array_append_new(out, sum);
	}
	if (lo->extra) {
		for (size_t i = 0; i < json_array_size(out); i++) {
			json_t *cl = json_array_get(kept_chains, i);
			int64_t shared = 0;
			size_t k;
			json_t *pair;
			json_array_foreach(cl, k, pair) {
				const char *cid = json_string_value(json_array_get(pair, 0));
				if (json_integer_value(json_object_get(layer_refs, cid)) > 1)
					shared += json_integer_value(json_array_get(pair, 1));
			}
			json_object_set_new(json_array_get(out, i), "SharedSize", json_integer(shared));
		}
	}
done:
	free(rows);
	free(ch);
	json_decref(layer_refs);
	json_decref(kept_chains);
	berth_strv_free(labels);
	berth_strv_free(patterns);
	return out;
}

json_t *berth_image_list(struct berth_image_store *s, const json_t *filters, bool all, struct berth_error *err)
{
	struct list_opts lo = {.all = all};
	img_lock(s);
	json_t *r = list_images(s, filters, &lo, err);
	img_unlock(s);
	return r;
}

json_t *berth_image_df(struct berth_image_store *s, struct berth_error *err)
{
	struct list_opts lo = {.all = false, .extra = true};
	img_lock(s);
	json_t *images = list_images(s, NULL, &lo, err);
	json_t *out = NULL;
	if (images) {
		/* LayersSize: every layer some non-intermediate image uses, once */
		struct img_row *rows = NULL;
		size_t n = 0;
		json_t *seen = json_object();
		int64_t total = 0;
		struct chain *ch = malloc(sizeof(*ch));
		if (ch && img_rows_all(s, &rows, &n, NULL) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct img_refs refs;
				size_t nrefs = 0;
				if (img_refs_of(s, rows[i].id, &refs, NULL) == 0) {
					nrefs = refs.n;
					img_refs_free(&refs);
				}
				if (nrefs == 0 && img_children(s, rows[i].id) > 0)
					continue;
				chain_walk(s, rows[i].top_chain, ch);
				for (size_t k = 0; k < ch->n; k++) {
					if (json_object_get(seen, ch->ids[k]))
						continue;
					json_object_set_new(seen, ch->ids[k], json_true());
					total += ch->sizes[k];
				}
			}
		}
		free(ch);
		free(rows);
		json_decref(seen);
		out = json_object();
		json_object_set_new(out, "LayersSize", json_integer(total));
		json_object_set_new(out, "Images", images);
	}
	img_unlock(s);
	return out;
}

/* ---- inspect ---- */

json_t *berth_image_inspect(struct berth_image_store *s, const char *name, struct berth_error *err)
{
	char id[BERTH_DIGEST_LEN + 1];
	struct img_row row;
	struct berth_image img;
	img_lock(s);
	if (berth_image_resolve(s, name, id, err) < 0) {
		/* docker's LookupImage wraps the lookup error */
		berth_err_prefix(err, "no such image: %s", name);
		img_unlock(s);
		return NULL;
	}
	if (img_row_get(s, id, &row, err) < 0 || img_load(s, &row, &img, err) < 0) {
		img_unlock(s);
		return NULL;
	}
	const json_t *c = img.json;
	json_t *o = json_object();
	json_object_set_new(o, "Id", json_string(row.id));
	json_t *tags = json_array(), *digests = json_array();
	struct img_refs refs;
	if (img_refs_of(s, row.id, &refs, NULL) == 0) {
		for (size_t i = 0; i < refs.n; i++) {
			cleanup_free char *f = berth_ref_familiar_string(&refs.v[i].ref);
			json_array_append_new(refs.v[i].digest ? digests : tags, json_string(f ? f : ""));
		}
		img_refs_free(&refs);
	}
	json_object_set_new(o, "RepoTags", tags);
	json_object_set_new(o, "RepoDigests", digests);
	json_object_set_new(o, "Parent", json_string(row.parent));
	const char *comment = json_string_value(berth_json_field(c, "comment"));
	json_t *hist = berth_json_field(c, "history");
	if ((!comment || !*comment) && json_is_array(hist) && json_array_size(hist))
		comment =
			json_string_value(berth_json_field(json_array_get(hist, json_array_size(hist) - 1), "comment"));
	json_object_set_new(o, "Comment", json_string(comment ? comment : ""));
	char ts[64];
	berth_image_config_created_str(c, ts, sizeof(ts));
	json_object_set_new(o, "Created", json_string(ts));
	const char *container = json_string_value(berth_json_field(c, "container"));
	json_object_set_new(o, "Container", json_string(container ? container : ""));
	json_object_set_new(o, "ContainerConfig",
			    berth_container_config_canon(berth_json_field(c, "container_config")));
	const char *dv = json_string_value(berth_json_field(c, "docker_version"));
	json_object_set_new(o, "DockerVersion", json_string(dv ? dv : ""));
	const char *author = json_string_value(berth_json_field(c, "author"));
	json_object_set_new(o, "Author", json_string(author ? author : ""));
	json_t *cfg = berth_json_field(c, "config");
	json_object_set_new(o, "Config", json_is_object(cfg) ? berth_container_config_canon(cfg) : json_null());
	const char *arch = json_string_value(berth_json_field(c, "architecture"));
	json_object_set_new(o, "Architecture", json_string(arch ? arch : ""));
	const char *variant = json_string_value(berth_json_field(c, "variant"));
	if (variant && *variant)
		json_object_set_new(o, "Variant", json_string(variant));
	const char *os = json_string_value(berth_json_field(c, "os"));
	json_object_set_new(o, "Os", json_string(os && *os ? os : "linux"));
	const char *osv = json_string_value(json_object_get(c, "os.version"));
	if (osv && *osv)
		json_object_set_new(o, "OsVersion", json_string(osv));
	int64_t size = img_chain_size(s, row.top_chain);
	json_object_set_new(o, "Size", json_integer(size));
	json_object_set_new(o, "VirtualSize", json_integer(size));
	const char *drv = berth_layer_store_driver_name(s->ls);
	json_t *gd = row.top_chain[0] ? berth_layer_graph_data(s->ls, row.top_chain) : NULL;
	json_object_set_new(o, "GraphDriver",
			    json_pack("{s:o,s:s}", "Data", gd ? gd : json_object(), "Name", drv ? drv : ""));
	json_t *rootfs = berth_json_field(c, "rootfs");
	json_t *rf = json_object();
	const char *rtype = json_string_value(berth_json_field(rootfs, "type"));
	json_object_set_new(rf, "Type", json_string(rtype ? rtype : ""));
	json_t *ids = berth_json_field(rootfs, "diff_ids");
	if (json_is_array(ids) && json_array_size(ids))
		json_object_set(rf, "Layers", ids);
	json_object_set_new(o, "RootFS", rf);
	berth_image_time_format(row.last_tag_ns ? row.last_tag_ns : BERTH_IMAGE_TIME_ZERO, ts, sizeof(ts));
	json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", ts));
	berth_image_free(&img);
	img_unlock(s);
	return o;
}

/* ---- history ---- */

json_t *berth_image_history(struct berth_image_store *s, const char *name, struct berth_error *err)
{
	char id[BERTH_DIGEST_LEN + 1];
	struct img_row row;
	struct berth_image img;
	img_lock(s);
	if (berth_image_resolve(s, name, id, err) < 0 || img_row_get(s, id, &row, err) < 0 ||
	    img_load(s, &row, &img, err) < 0) {
		img_unlock(s);
		return NULL;
	}
	json_t *out = json_array();
	json_t *hist = berth_json_field(img.json, "history");
	size_t nlayers = berth_image_config_layers(img.json, NULL, 0), layer = 0;
	size_t i;
	json_t *h;
	json_array_foreach(json_is_array(hist) ? hist : NULL, i, h) {
		int64_t lsize = 0;
		if (!json_is_true(berth_json_field(h, "empty_layer"))) {
			if (layer >= nlayers) {
				json_decref(out);
				out = NULL;
				berth_err(err, BERTH_E_INTERNAL, "too many non-empty layers in History section");
				break;
			}
			char chain[BERTH_DIGEST_LEN + 1];
			berth_image_config_chain(img.json, ++layer, chain);
			struct berth_layer_info li;
			if (berth_layer_get(s->ls, chain, &li, err) < 0) {
				json_decref(out);
				out = NULL;
				break;
			}
			lsize = li.size;
		}
		int64_t ns;
		const char *cs = json_string_value(berth_json_field(h, "created"));
		if (!cs || berth_time_parse(cs, &ns) < 0)
			ns = BERTH_IMAGE_TIME_ZERO;
		const char *cb = json_string_value(berth_json_field(h, "created_by"));
		const char *cm = json_string_value(berth_json_field(h, "comment"));
		json_t *e = json_object();
		json_object_set_new(e, "Comment", json_string(cm ? cm : ""));
		json_object_set_new(e, "Created", json_integer(unix_secs(ns)));
		json_object_set_new(e, "CreatedBy", json_string(cb ? cb : ""));
		json_object_set_new(e, "Id", json_string("<missing>"));
		json_object_set_new(e, "Size", json_integer(lsize));
		json_object_set_new(e, "Tags", json_null());
		json_array_insert_new(out, 0, e);
	}
	/* image IDs and tags, walking the parent chain */
	char cur[BERTH_DIGEST_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", row.id);
	for (i = 0; out && i < json_array_size(out) && cur[0]; i++) {
		json_t *e = json_array_get(out, i);
		json_object_set_new(e, "Id", json_string(cur));
		char **tags = NULL, **digests = NULL;
		if (berth_image_references(s, cur, &tags, &digests, NULL) == 0 && tags[0]) {
			json_t *ta = json_array();
			for (size_t k = 0; tags[k]; k++)
				json_array_append_new(ta, json_string(tags[k]));
			json_object_set_new(e, "Tags", ta);
		}
		berth_strv_free(tags);
		berth_strv_free(digests);
		struct img_row pr;
		if (img_row_get(s, cur, &pr, NULL) < 0 || !pr.parent[0] || !berth_image_exists(s, pr.parent))
			break;
		snprintf(cur, sizeof(cur), "%s", pr.parent);
	}
	berth_image_free(&img);
	img_unlock(s);
	return out;
}

/* ---- prune ---- */

/* timetypes.GetTimestamp + ParseTimestamps: a duration before now, RFC3339, or unix time. */
static int parse_until(const char *v, int64_t *ns, struct berth_error *err)
{
	int64_t d;
	if (berth_go_duration_parse(v, &d) == 0) {
		*ns = berth_now_ns() - d;
		return 0;
	}
	if (berth_time_parse(v, ns) == 0)
		return 0;
	return berth_err(err, BERTH_E_INVALID, "failed to parse value as time or duration: \"%s\"", v);
}

json_t *berth_image_prune(struct berth_image_store *s, const json_t *filters, struct berth_error *err)
{
	static const char *const accepted[] = {"dangling", "label", "label!", "until", NULL};
	if (filters && img_filter_validate(filters, accepted, err) < 0)
		return NULL;
	bool dangling_only = true;
	char **dv = img_filter_values(filters, "dangling");
	if (dv) {
		if (filter_exact(dv, "false") || filter_exact(dv, "0")) {
			dangling_only = false;
		} else if (!filter_exact(dv, "true") && !filter_exact(dv, "1")) {
			invalid_filter_values(err, "dangling", dv);
			berth_strv_free(dv);
			return NULL;
		}
		berth_strv_free(dv);
	}
	int64_t until = 0;
	bool has_until = false;
	char **uv = img_filter_values(filters, "until");
	if (uv && uv[0]) {
		int r = 0;
		if (uv[1])
			r = berth_err(err, BERTH_E_INVALID, "more than one until filter specified");
		else
			r = parse_until(uv[0], &until, err);
		berth_strv_free(uv);
		if (r < 0)
			return NULL;
		has_until = true;
	} else {
		berth_strv_free(uv);
	}
	char **labels = img_filter_values(filters, "label");
	char **nlabels = img_filter_values(filters, "label!");

	img_lock(s);
	struct img_row *rows = NULL;
	size_t n = 0;
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	if (img_rows_all(s, &rows, &n, err) < 0) {
		img_unlock(s);
		json_decref(deleted);
		berth_strv_free(labels);
		berth_strv_free(nlabels);
		return NULL;
	}
	/* choose the candidates first (topImages), then delete */
	bool *pick = calloc(n ? n : 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		int64_t children = img_children(s, rows[i].id);
		if (dangling_only && children > 0)
			continue;
		struct img_refs refs;
		size_t nrefs = 0;
		if (img_refs_of(s, rows[i].id, &refs, NULL) == 0) {
			nrefs = refs.n;
			img_refs_free(&refs);
		}
		if (nrefs == 0 && children > 0)
			continue;
		if (has_until && rows[i].created_ns > until)
			continue;
		struct berth_image img;
		if (img_load(s, &rows[i], &img, NULL) < 0)
			continue;
		if (berth_json_field(img.json, "config")) {
			json_t *l = img_config_labels(img.json);
			bool ok = img_filter_match_kv(labels, l);
			if (ok && nlabels && nlabels[0] && img_filter_match_kv(nlabels, l))
				ok = false;
			if (!ok) {
				berth_image_free(&img);
				continue;
			}
		}
		berth_image_free(&img);
		pick[i] = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (!pick[i] || !berth_image_exists(s, rows[i].id))
			continue;
		struct img_refs refs;
		if (img_refs_of(s, rows[i].id, &refs, NULL) < 0)
			continue;
		json_t *recs = json_array();
		if (refs.n) {
			bool should = !dangling_only;
			if (!should) {
				bool has_tag = false;
				for (size_t k = 0; k < refs.n; k++)
					has_tag |= !refs.v[k].digest;
				should = !has_tag;
			}
			for (size_t k = 0; should && k < refs.n; k++) {
				char id[BERTH_DIGEST_LEN + 1];
				struct berth_error e2 = {0};
				if (berth_image_resolve(s, refs.v[k].full, id, &e2) < 0)
					continue;
				img_delete_resolved(s, refs.v[k].full, id, false, true, recs, &reclaimed, &e2);
			}
		} else {
			struct berth_error e2 = {0};
			img_delete_resolved(s, berth_digest_hex(rows[i].id), rows[i].id, false, true, recs, &reclaimed,
					    &e2);
		}
		img_refs_free(&refs);
		json_array_extend(deleted, recs);
		json_decref(recs);
	}
	free(pick);
	free(rows);
	berth_strv_free(labels);
	berth_strv_free(nlabels);
	if (s->events.emit) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)reclaimed);
		json_t *attrs = json_pack("{s:s}", "reclaimed", buf);
		berth_event_sink_emit(&s->events, "image", "prune", "", attrs);
		json_decref(attrs);
	}
	img_unlock(s);
	json_t *out = json_object();
	json_object_set_new(out, "ImagesDeleted", json_array_size(deleted) ? deleted : json_null());
	if (!json_array_size(deleted))
		json_decref(deleted);
	json_object_set_new(out, "SpaceReclaimed", json_integer(reclaimed));
	return out;
}
