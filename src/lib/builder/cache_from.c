/* --cache-from, as docker's classic builder (image/cache ImageCache): the
 * images given are cache sources even when they are not children of the
 * current image in the local store (pulled or loaded images have no local
 * parent chain). A source matches a step when its history continues the
 * current image's (same history entries and layers so far) and its next
 * history entry was created by the step's command; the step's image is then
 * the source itself (its last entry) or an image restored from the source's
 * entry and layer. With sources, a hit of the local cache counts only when
 * it is in a source's chain, as docker does. */
#include <string.h>

#include "builder/build_int.h"
#include "common/cleanup.h"

int bld_cache_sources_load(struct bctx *b)
{
	b->cache_sources = json_array();
	for (size_t i = 0; b->o->cache_from && b->o->cache_from[i]; i++) {
		char id[BERTH_ID_SZ];
		json_t *img = NULL;
		struct berth_error e = {0};
		/* docker: "Could not look up %s for cache resolution, skipping" */
		if (b->ops->image_get(b->ops->ctx, b->o->cache_from[i], id, &img, &e) < 0)
			continue;
		json_array_append_new(b->cache_sources, json_pack("{s:s, s:o}", "id", id, "image", img));
	}
	return 0;
}

void bld_cache_sources_free(struct bctx *b)
{
	json_decref(b->cache_sources);
	b->cache_sources = NULL;
}

bool bld_cache_local_ok(struct bctx *b, const char *image)
{
	if (!b->o->cache_from || !b->o->cache_from[0])
		return true;
	if (!b->ops->image_is_ancestor)
		return false;
	size_t i;
	json_t *s;
	json_array_foreach(b->cache_sources, i, s) {
		if (b->ops->image_is_ancestor(b->ops->ctx, image, json_string_value(json_object_get(s, "id"))))
			return true;
	}
	return false;
}

static const char *str_or_empty(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* image.History equality */
static bool history_eq(const json_t *a, const json_t *b)
{
	static const char *const keys[] = {"created", "author", "created_by", "comment"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(str_or_empty(a, keys[i]), str_or_empty(b, keys[i])))
			return false;
	return json_is_true(json_object_get(a, "empty_layer")) == json_is_true(json_object_get(b, "empty_layer"));
}

static json_t *diff_ids(const json_t *img) { return json_object_get(json_object_get(img, "rootfs"), "diff_ids"); }

/* docker's isValidParent: img's history and layers start with parent's */
static bool valid_parent(const json_t *img, const json_t *parent)
{
	const json_t *ih = json_object_get(img, "history"), *ph = json_object_get(parent, "history");
	if (!json_array_size(ih))
		return false;
	if (!parent || (!json_array_size(ph) && !json_array_size(diff_ids(parent))))
		return true;
	if (json_array_size(ph) >= json_array_size(ih) ||
	    json_array_size(diff_ids(parent)) > json_array_size(diff_ids(img)))
		return false;
	for (size_t i = 0; i < json_array_size(ph); i++)
		if (!history_eq(json_array_get(ph, i), json_array_get(ih, i)))
			return false;
	for (size_t i = 0; i < json_array_size(diff_ids(parent)); i++)
		if (!json_equal(json_array_get(diff_ids(parent), i), json_array_get(diff_ids(img), i)))
			return false;
	return true;
}

int bld_cache_from_probe(struct bctx *b, const char *created_by, char id[BERTH_ID_SZ])
{
	if (!json_array_size(b->cache_sources) || !b->ops->image_restore)
		return 0;
	json_t *parent = NULL;
	if (*b->id) {
		char pid[BERTH_ID_SZ];
		struct berth_error e = {0};
		if (b->ops->image_get(b->ops->ctx, b->id, pid, &parent, &e) < 0)
			return 0;
	}
	size_t nh = json_array_size(json_object_get(parent, "history"));
	int rc = 0;
	size_t i;
	json_t *s;
	json_array_foreach(b->cache_sources, i, s) {
		json_t *img = json_object_get(s, "image");
		const char *sid = json_string_value(json_object_get(s, "id"));
		json_t *h = json_object_get(img, "history");
		if (!valid_parent(img, parent) || nh >= json_array_size(h) ||
		    strcmp(str_or_empty(json_array_get(h, nh), "created_by"), created_by))
			continue;
		if (json_array_size(h) - 1 == nh) {
			snprintf(id, BERTH_ID_SZ, "%s", sid);
		} else {
			struct berth_error e = {0};
			if (b->ops->image_restore(b->ops->ctx, *b->id ? b->id : NULL, sid, nh, b->cfg, id, &e) < 0)
				continue;
		}
		/* docker sticks to the source that matched */
		json_t *keep = json_incref(s);
		json_array_clear(b->cache_sources);
		json_array_append_new(b->cache_sources, keep);
		rc = 1;
		break;
	}
	json_decref(parent);
	return rc;
}
