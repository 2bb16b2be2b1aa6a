/* docker import (daemon/images/image_import.go). */
#include "image/import.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/store_int.h"

/* Parse repo[:tag] + tag into ref; *has_ref false when no repository given. */
static int import_ref(const struct berth_image_import_opts *o, struct berth_ref *ref, bool *has_ref,
		      struct berth_error *err)
{
	*has_ref = false;
	if (!o->repo || !*o->repo)
		return 0;
	if (berth_ref_parse_normalized(o->repo, ref, err) < 0)
		return -1;
	if (ref->digest[0])
		return berth_err(err, BERTH_E_INVALID, "cannot import digest reference");
	if (o->tag && *o->tag && berth_ref_with_tag(ref, o->tag, err) < 0)
		return -1;
	*has_ref = true;
	return 0;
}

static json_t *import_container_config(const struct berth_image_import_opts *o, struct berth_error *err)
{
	const char *os = o->os && *o->os ? o->os : "linux";
	if (strcmp(os, "linux")) {
		berth_err(err, BERTH_E_INVALID, "operating system is not supported");
		return NULL;
	}
	json_t *cfg = berth_container_config_canon(NULL);
	if (berth_image_changes_apply(cfg, o->changes, o->n_changes, err) < 0) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

int berth_image_import_check(const struct berth_image_import_opts *o, struct berth_error *err)
{
	struct berth_ref ref;
	bool has;
	if (import_ref(o, &ref, &has, err) < 0)
		return -1;
	json_t *cfg = import_container_config(o, err);
	if (!cfg)
		return -1;
	json_decref(cfg);
	return 0;
}

int berth_image_import(struct berth_image_store *s, struct berth_reader *in, const struct berth_image_import_opts *o,
		       char id[BERTH_DIGEST_LEN + 1], struct berth_error *err)
{
	struct berth_ref ref;
	bool has_ref;
	if (import_ref(o, &ref, &has_ref, err) < 0)
		return -1;
	json_t *cc = import_container_config(o, err);
	if (!cc)
		return -1;
	struct berth_layer_info li;
	if (berth_layer_register(s->ls, NULL, in, NULL, &li, err) < 0) {
		json_decref(cc);
		return -1;
	}
	const char *src = o->src && *o->src ? o->src : "-";
	cleanup_free char *msg =
		o->message && *o->message ? strdup(o->message) : berth_strdup_printf("Imported from %s", src);
	img_lock(s);
	struct berth_import_config ic = {
		.arch = o->arch && *o->arch ? o->arch : berth_image_host_arch(),
		.os = o->os && *o->os ? o->os : "linux",
		.comment = msg,
		.docker_version = s->docker_version,
		.created_ns = berth_now_ns(),
		.diff_id = li.diff_id,
	};
	size_t len = 0;
	cleanup_free char *config = berth_image_config_build_import(&ic, cc, &len); /* takes cc */
	int ret = -1;
	bool created = false;
	if (!config) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	if (berth_image_create(s, config, len, NULL, id, &created, err) < 0)
		goto out;
	if (has_ref && berth_image_tag_reference(s, id, &ref, NULL, err) < 0) {
		if (created) {
			json_t *recs = json_array();
			struct berth_error e2 = {0};
			img_delete_resolved(s, id, id, true, false, recs, NULL, &e2);
			json_decref(recs);
		}
		goto out;
	}
	berth_image_event(s, id, id, "import");
	ret = 0;
out:
	img_unlock(s);
	berth_layer_release(s->ls, li.chain_id, NULL, NULL);
	return ret;
}
