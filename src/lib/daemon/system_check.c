/* berth system check: see system_check.h. */
#include "daemon/system_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "image/store.h"
#include "metadata/db.h"
#include "storage/check.h"
#include "storage/layer_store.h"

static void problem(json_t *p, const char *type, const char *id, const char *action, const char *msg)
{
	json_array_append_new(
		p, json_pack("{s:s, s:s, s:s, s:s}", "Type", type, "ID", id, "Message", msg, "Action", action));
}

/* The first bad chain the image's layers need, or NULL. */
static const char *needs_bad(struct berth_daemon *d, const char *top_chain, char **bad)
{
	if (!top_chain || !*top_chain || !bad || !bad[0])
		return NULL;
	char **anc = berth_layer_ancestry(d->layers, top_chain);
	const char *hit = NULL;
	for (size_t i = 0; anc && anc[i] && !hit; i++)
		for (size_t j = 0; bad[j] && !hit; j++)
			if (!strcmp(anc[i], bad[j]))
				hit = bad[j];
	berth_strv_free(anc);
	return hit;
}

/* Write what is about to be removed to <data-root>/quarantine/<hex>.json. */
static int quarantine_record(struct berth_daemon *d, const char *image_id, const char *reason, struct berth_error *err)
{
	cleanup_free char *dir = berth_strdup_printf("%s/quarantine", d->cfg.data_root);
	if (!dir || berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char **tags = NULL, **digests = NULL;
	berth_image_references(d->images, image_id, &tags, &digests, NULL);
	json_t *t = json_array(), *g = json_array();
	for (size_t i = 0; tags && tags[i]; i++)
		json_array_append_new(t, json_string(tags[i]));
	for (size_t i = 0; digests && digests[i]; i++)
		json_array_append_new(g, json_string(digests[i]));
	berth_strv_free(tags);
	berth_strv_free(digests);
	char ts[64];
	berth_time_rfc3339(berth_now_ns(), ts, sizeof(ts));
	cleanup_json json_t *rec = json_pack("{s:s, s:o, s:o, s:s, s:s}", "Id", image_id, "RepoTags", t, "RepoDigests",
					     g, "Reason", reason, "Time", ts);
	cleanup_free char *s = rec ? json_dumps(rec, JSON_INDENT(2)) : NULL;
	cleanup_free char *path = berth_strdup_printf("%s/%s.json", dir, berth_digest_hex(image_id));
	if (!s || !path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_write_file_atomic(path, s, strlen(s), 0600, err);
}

static void check_references(struct berth_daemon *d, bool repair, json_t *P, int64_t *nrefs)
{
	struct berth_stmt *st = berth_db_prepare(
		d->db, "SELECT ref, image_id, image_id IN (SELECT id FROM images) FROM image_refs ORDER BY ref", NULL);
	char **dangling = NULL;
	while (st && berth_stmt_step(st, NULL) == 1) {
		(*nrefs)++;
		const char *ref = berth_stmt_text(st, 0), *img = berth_stmt_text(st, 1);
		if (berth_stmt_int(st, 2) == 0 && ref) {
			char msg[512];
			snprintf(msg, sizeof(msg), "reference points at image %s, which does not exist",
				 img ? img : "");
			problem(P, "dangling-reference", ref, repair ? "removed" : "would remove", msg);
			berth_strv_push(&dangling, ref);
		}
	}
	berth_stmt_finalize(st);
	for (size_t i = 0; repair && dangling && dangling[i]; i++) {
		struct berth_stmt *del = berth_db_prepare(
			d->db, "DELETE FROM image_refs WHERE ref = ?1 AND image_id NOT IN (SELECT id FROM images)",
			NULL);
		if (del) {
			berth_stmt_bind_text(del, 1, dangling[i]);
			berth_stmt_exec(del, NULL);
			berth_stmt_finalize(del);
		}
	}
	berth_strv_free(dangling);
}

json_t *berth_system_check(struct berth_daemon *d, bool repair, struct berth_error *err)
{
	struct berth_store_check sc;
	if (berth_layer_store_check(d->layers, repair, &sc, err) < 0)
		return NULL;
	json_t *P = json_incref(sc.problems);
	int64_t nimages = 0, nrefs = 0, ncontainers = 0;

	/* containers: their images and their layers; a container being
	 * created has its name reserved (hidden) before its layer is made, so
	 * the layers are listed after the owners, hidden ones included */
	pthread_mutex_lock(&d->store_lock);
	size_t nown = 0;
	struct berth_container **owners = berth_container_list_all_ex(d->containers, &nown, true);
	char **rw_ids = berth_rwlayer_ids(d->layers);
	for (size_t j = 0; rw_ids && rw_ids[j]; j++) {
		bool owned = false;
		for (size_t i = 0; i < nown && !owned; i++)
			owned = !strcmp(owners[i]->id, rw_ids[j]);
		if (owned)
			continue;
		problem(P, "orphan-rw-layer", rw_ids[j], repair ? "removed" : "would remove",
			"container layer belongs to no container");
		if (repair) {
			struct berth_error e = {0};
			if (berth_rwlayer_remove(d->layers, rw_ids[j], &e) < 0)
				berth_daemon_warn(d, "system check: remove %s: %s", rw_ids[j], e.msg);
		}
	}
	berth_strv_free(rw_ids);
	pthread_mutex_unlock(&d->store_lock);
	berth_container_list_free(d->containers, owners, nown);
	size_t nc = 0;
	struct berth_container **cs = berth_container_list_all(d->containers, &nc);
	char **used_images = NULL, **used_by = NULL;
	for (size_t i = 0; i < nc; i++) {
		struct berth_container *c = cs[i];
		pthread_mutex_lock(&c->mu);
		const char *img = c->image[0] ? c->image : NULL;
		cleanup_free char *image = img ? strdup(img) : NULL;
		bool skip = c->removed;
		pthread_mutex_unlock(&c->mu);
		if (skip)
			continue;
		ncontainers++;
		if (image && *image) {
			berth_strv_push(&used_images, image);
			berth_strv_push(&used_by, c->id);
		}
		char chain[BERTH_DIGEST_LEN + 1];
		struct berth_error e = {0};
		if (berth_rwlayer_image(d->layers, c->id, chain, &e) < 0) {
			char msg[1200];
			snprintf(msg, sizeof(msg), "container has no writable layer: %s", e.msg);
			problem(P, "missing-rw-layer", c->id, "none: remove the container", msg);
		}
		if (image && *image && !berth_image_exists(d->images, image)) {
			char msg[300];
			snprintf(msg, sizeof(msg), "container's image %s does not exist", image);
			problem(P, "missing-image", c->id, "none: the container keeps its layers", msg);
		}
	}
	berth_container_list_free(d->containers, cs, nc);

	/* images: config against ID, layers present and healthy */
	struct berth_error lerr = {0};
	cleanup_json json_t *list = berth_image_list(d->images, NULL, true, &lerr);
	size_t idx;
	json_t *it;
	char **quarantine = NULL, **reasons = NULL;
	json_array_foreach(list, idx, it) {
		const char *id = json_string_value(json_object_get(it, "Id"));
		if (!id)
			continue;
		nimages++;
		struct berth_image img;
		struct berth_error e = {0};
		char msg[1200];
		if (berth_image_get(d->images, id, &img, &e) < 0) {
			snprintf(msg, sizeof(msg), "image config does not match its ID: %s", e.msg);
			problem(P, "corrupt-image", id, repair ? "quarantined" : "would quarantine", msg);
			berth_strv_push(&quarantine, id);
			berth_strv_push(&reasons, msg);
			continue;
		}
		char got[BERTH_DIGEST_LEN + 1];
		berth_sha256_digest(img.config, img.config_len, got);
		const char *bad = NULL;
		if (strcmp(got, id) != 0) {
			snprintf(msg, sizeof(msg), "image config has digest %s", got);
			problem(P, "corrupt-image", id, repair ? "quarantined" : "would quarantine", msg);
			bad = id;
		} else if (img.top_chain[0] &&
			   berth_layer_get(d->layers, img.top_chain, &(struct berth_layer_info){0}, NULL) < 0) {
			snprintf(msg, sizeof(msg), "image layer %s does not exist", img.top_chain);
			problem(P, "missing-image-layer", id, repair ? "quarantined" : "would quarantine", msg);
			bad = id;
		} else if ((bad = needs_bad(d, img.top_chain, sc.bad_chains))) {
			snprintf(msg, sizeof(msg), "image needs corrupt or missing layer %s", bad);
		}
		if (bad) {
			berth_strv_push(&quarantine, id);
			berth_strv_push(&reasons, msg);
		}
		berth_image_free(&img);
	}
	check_references(d, repair, P, &nrefs);

	/* quarantine: images a container uses are kept (reported) */
	for (size_t i = 0; quarantine && quarantine[i]; i++) {
		const char *id = quarantine[i];
		const char *user = NULL;
		for (size_t j = 0; used_images && used_images[j]; j++)
			if (!strcmp(used_images[j], id))
				user = used_by[j];
		bool listed = false;
		size_t n = json_array_size(P);
		for (size_t k = 0; k < n; k++) {
			json_t *p = json_array_get(P, k);
			if (!strcmp(json_string_value(json_object_get(p, "ID")), id))
				listed = true;
		}
		char action[200];
		if (user)
			snprintf(action, sizeof(action), "none: used by container %.12s", user);
		else
			snprintf(action, sizeof(action), "%s", repair ? "quarantined" : "would quarantine");
		if (!listed)
			problem(P, "image-needs-bad-layer", id, action, reasons[i]);
		else if (user)
			for (size_t k = 0; k < n; k++) {
				json_t *p = json_array_get(P, k);
				if (!strcmp(json_string_value(json_object_get(p, "ID")), id))
					json_object_set_new(p, "Action", json_string(action));
			}
		if (!repair || user)
			continue;
		struct berth_error e = {0};
		if (quarantine_record(d, id, reasons[i], &e) < 0) {
			berth_daemon_warn(d, "system check: quarantine record for %s: %s", id, e.msg);
			continue;
		}
		pthread_mutex_lock(&d->store_lock);
		json_t *res = berth_image_delete(d->images, id, true, true, &e);
		pthread_mutex_unlock(&d->store_lock);
		if (!res)
			berth_daemon_warn(d, "system check: quarantine of %s: %s", id, e.msg);
		json_decref(res);
	}
	/* layers marked bad that no image needs and no container uses: quarantined by the images above */
	berth_strv_free(quarantine);
	berth_strv_free(reasons);
	berth_strv_free(used_images);
	berth_strv_free(used_by);
	json_t *out = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b}", "Problems", P, "Checked", "Layers",
				(json_int_t)sc.layers, "VerifiedLayers", (json_int_t)sc.verified, "UnverifiableLayers",
				(json_int_t)sc.unverifiable, "ContainerLayers", (json_int_t)sc.rw_layers, "Images",
				(json_int_t)nimages, "References", (json_int_t)nrefs, "Containers",
				(json_int_t)ncontainers, "Repair", repair);
	berth_store_check_free(&sc);
	if (!out)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return out;
}
