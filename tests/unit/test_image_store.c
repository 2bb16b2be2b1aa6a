/* Image store: import, lookups, tag/untag, docker's delete semantics and
 * messages, list filters, inspect/history shapes, prune, df, events. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "daemon/events.h"
#include "image/import.h"
#include "image/store.h"
#include "storage/layer_store.h"
#include "tap.h"
#include "test_image_util.h"
#include "test_storage_util.h"

#define ROOTFS_DIFF "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"

struct env {
	struct berth_db *db;
	struct berth_layer_store *ls;
	struct berth_image_store *is;
	struct berth_events *ev;
	struct berth_event_sink sink;
};

static const char *running_container;
static bool hook_find(void *ctx, const char *image_id, enum berth_image_use which, char cid[65])
{
	const char *target = ctx;
	if (!running_container || strcmp(image_id, target))
		return false;
	if (which == BERTH_IMAGE_USE_STOPPED)
		return false;
	snprintf(cid, 65, "%s", running_container);
	return true;
}
static int64_t hook_count(void *ctx, const char *image_id) { return hook_find(ctx, image_id, 0, (char[65]){0}); }

static char *dump(json_t *j) { return j ? json_dumps(j, JSON_COMPACT) : strdup("(null)"); }

static int import_rootfs(struct env *e, struct berth_buf *rootfs, const char *repo, char *const *changes, size_t nch,
			 char id[BERTH_DIGEST_LEN + 1], struct berth_error *err)
{
	struct st_mem m = {(const unsigned char *)rootfs->data, rootfs->len, 0, 0};
	struct berth_reader rd = st_mem_reader(&m);
	struct berth_image_import_opts o = {.repo = repo, .changes = changes, .n_changes = nch};
	return berth_image_import(e->is, &rd, &o, id, err);
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	const char *root = st_make_root("image-store");
	struct env e = {0};
	e.db = st_open_db(root);
	e.ls = berth_layer_store_open(root, "vfs", e.db, &err);
	if (!e.ls) {
		printf("# layer store: %s\n", err.msg);
		TAP_OK(&t, 0, "layer store opens");
		return TAP_DONE(&t);
	}
	e.ev = berth_events_new(256);
	e.sink = berth_events_sink(e.ev);
	e.is = berth_image_store_open(root, e.db, e.ls, &e.sink, &err);
	TAP_OK(&t, e.is != NULL, "image store opens: %s", e.is ? "" : err.msg);
	if (!e.is)
		return TAP_DONE(&t);
	berth_image_store_set_docker_version(e.is, "20.10.24");
	struct berth_events_sub *sub = berth_events_subscribe(e.ev, 0);

	struct berth_buf rootfs = {0};
	TAP_OK(&t, st_read_file(fixture_path("busybox-rootfs.tar"), &rootfs) == 0, "read rootfs fixture");

	/* ---- import ---- */
	char id[BERTH_DIGEST_LEN + 1];
	char *changes[] = {"CMD [\"/bin/sh\"]", "ENV A=1", "LABEL tier=base"};
	int r = import_rootfs(&e, &rootfs, "busybox", changes, 3, id, &err);
	TAP_OK(&t, r == 0, "import: %s", r ? err.msg : id);
	json_t *insp = berth_image_inspect(e.is, "busybox", &err);
	TAP_OK(&t, insp != NULL, "inspect busybox");
	TAP_STREQ(&t, json_string_value(json_object_get(insp, "Id")), id, "inspect Id");
	TAP_STREQ(&t, json_string_value(json_array_get(json_object_get(insp, "RepoTags"), 0)), "busybox:latest",
		  "inspect RepoTags");
	TAP_STREQ(&t, json_string_value(json_object_get(insp, "Comment")), "Imported from -", "inspect Comment");
	TAP_STREQ(&t, json_string_value(json_object_get(insp, "DockerVersion")), "20.10.24", "inspect DockerVersion");
	TAP_STREQ(&t, json_string_value(json_object_get(insp, "Os")), "linux", "inspect Os");
	json_t *cfg = json_object_get(insp, "Config");
	TAP_STREQ(&t, json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)), "/bin/sh",
		  "inspect Config.Cmd");
	TAP_STREQ(&t, json_string_value(json_object_get(json_object_get(cfg, "Labels"), "tier")), "base",
		  "inspect Config.Labels");
	TAP_STREQ(&t, json_string_value(json_array_get(json_object_get(json_object_get(insp, "RootFS"), "Layers"), 0)),
		  ROOTFS_DIFF, "inspect RootFS.Layers");
	TAP_OK(&t, json_integer_value(json_object_get(insp, "Size")) > 1000000, "inspect Size %lld",
	       (long long)json_integer_value(json_object_get(insp, "Size")));
	TAP_OK(&t,
	       strcmp(json_string_value(json_object_get(json_object_get(insp, "Metadata"), "LastTagTime")),
		      "0001-01-01T00:00:00Z") != 0,
	       "LastTagTime set by the tag");
	const char *keys[] = {"Id",
			      "RepoTags",
			      "RepoDigests",
			      "Parent",
			      "Comment",
			      "Created",
			      "Container",
			      "ContainerConfig",
			      "DockerVersion",
			      "Author",
			      "Config",
			      "Architecture",
			      "Os",
			      "Size",
			      "VirtualSize",
			      "GraphDriver",
			      "RootFS",
			      "Metadata"};
	size_t ki = 0;
	const char *k;
	json_t *v;
	bool order = true;
	json_object_foreach(insp, k, v) {
		if (ki >= sizeof(keys) / sizeof(keys[0]) || strcmp(k, keys[ki++]))
			order = false;
	}
	TAP_OK(&t, order && ki == sizeof(keys) / sizeof(keys[0]), "inspect has docker's fields in docker's order");
	json_decref(insp);

	json_t *hist = berth_image_history(e.is, "busybox:latest", &err);
	TAP_OK(&t, json_array_size(hist) == 1, "history has one entry");
	json_t *h0 = json_array_get(hist, 0);
	TAP_STREQ(&t, json_string_value(json_object_get(h0, "Id")), id, "history Id");
	TAP_STREQ(&t, json_string_value(json_array_get(json_object_get(h0, "Tags"), 0)), "busybox:latest",
		  "history Tags");
	TAP_STREQ(&t, json_string_value(json_object_get(h0, "Comment")), "Imported from -", "history Comment");
	TAP_OK(&t, json_integer_value(json_object_get(h0, "Size")) > 1000000, "history Size");
	json_decref(hist);

	/* ---- lookups ---- */
	char rid[BERTH_DIGEST_LEN + 1];
	char shortid[13];
	snprintf(shortid, sizeof(shortid), "%s", berth_digest_hex(id));
	TAP_OK(&t, berth_image_resolve(e.is, shortid, rid, &err) == 0 && !strcmp(rid, id), "resolve short ID");
	char pre[20];
	snprintf(pre, sizeof(pre), "sha256:%.6s", berth_digest_hex(id));
	TAP_OK(&t, berth_image_resolve(e.is, pre, rid, &err) == 0 && !strcmp(rid, id), "resolve sha256: prefix");
	TAP_OK(&t, berth_image_resolve(e.is, berth_digest_hex(id), rid, &err) == 0, "resolve full hex");
	TAP_OK(&t, berth_image_resolve(e.is, "docker.io/library/busybox:latest", rid, &err) == 0,
	       "resolve full reference");
	TAP_OK(&t,
	       berth_image_resolve(e.is, "nosuch", rid, &err) < 0 && err.kind == BERTH_E_NOT_FOUND &&
		       !strcmp(err.msg, "No such image: nosuch:latest"),
	       "missing image message: %s", err.msg);
	TAP_OK(&t, berth_image_resolve(e.is, "Bad:Name", rid, &err) < 0 && err.kind == BERTH_E_INVALID,
	       "invalid reference is INVALID");
	TAP_OK(&t,
	       berth_image_inspect(e.is, "nosuch", &err) == NULL && err.kind == BERTH_E_NOT_FOUND &&
		       !strcmp(err.msg, "no such image: nosuch: No such image: nosuch:latest"),
	       "inspect of a missing image (docker's wrapped message): %s", err.msg);
	TAP_OK(&t,
	       berth_image_history(e.is, "nosuch", &err) == NULL && !strcmp(err.msg, "No such image: nosuch:latest"),
	       "history of a missing image");

	/* ---- second image sharing the layer ---- */
	char id2[BERTH_DIGEST_LEN + 1];
	char *changes2[] = {"CMD [\"/bin/echo\"]", "LABEL tier=app"};
	TAP_OK(&t, import_rootfs(&e, &rootfs, "app:v1", changes2, 2, id2, &err) == 0 && strcmp(id, id2),
	       "import a second image");
	struct berth_layer_info li;
	TAP_OK(&t, berth_layer_get(e.ls, ROOTFS_DIFF, &li, &err) == 0 && li.refcount == 2,
	       "both images share one layer (refcount %d)", li.refcount);

	/* ---- list ---- */
	json_t *list = berth_image_list(e.is, NULL, false, &err);
	TAP_OK(&t, json_array_size(list) == 2, "list shows two images");
	json_t *l0 = json_array_get(list, 0);
	const char *lkeys[] = {"Containers",  "Created",  "Id",         "Labels", "ParentId",
			       "RepoDigests", "RepoTags", "SharedSize", "Size",   "VirtualSize"};
	ki = 0;
	order = true;
	json_object_foreach(l0, k, v) {
		if (ki >= 10 || strcmp(k, lkeys[ki++]))
			order = false;
	}
	TAP_OK(&t, order && ki == 10, "list entries have docker's fields");
	TAP_OK(&t,
	       json_integer_value(json_object_get(l0, "SharedSize")) == -1 &&
		       json_integer_value(json_object_get(l0, "Containers")) == -1,
	       "SharedSize and Containers are -1");
	json_decref(list);
	json_t *f = json_pack("{s:{s:b}}", "label", "tier=app", 1);
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t,
	       json_array_size(list) == 1 &&
		       !strcmp(json_string_value(json_object_get(json_array_get(list, 0), "Id")), id2),
	       "label=tier=app filter");
	json_decref(list);
	json_decref(f);
	f = json_pack("{s:[s]}", "reference", "app*");
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t, json_array_size(list) == 1, "reference=app* (legacy array form)");
	json_decref(list);
	json_decref(f);
	f = json_pack("{s:{s:b}}", "dangling", "maybe", 1);
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t, !list && !strcmp(err.msg, "Invalid filter 'dangling=[maybe]'"), "bad dangling value: %s", err.msg);
	json_decref(f);
	f = json_pack("{s:{s:b}}", "bogus", "x", 1);
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t, !list && !strcmp(err.msg, "Invalid filter 'bogus'"), "unknown filter: %s", err.msg);
	json_decref(f);
	f = json_pack("{s:{s:b}}", "since", "busybox", 1);
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t, list && json_array_size(list) <= 1, "since filter");
	json_decref(list);
	json_decref(f);

	/* ---- tag, untag, delete semantics ---- */
	char *fam = NULL;
	TAP_OK(&t,
	       berth_image_tag(e.is, "busybox", "other/name", "t1", &fam, &err) == 0 && fam &&
		       !strcmp(fam, "other/name:t1"),
	       "tag busybox other/name:t1");
	free(fam);
	TAP_OK(&t,
	       berth_image_tag(e.is, "busybox", "sha256", "x", NULL, &err) < 0 &&
		       !strcmp(err.msg, "refusing to create an ambiguous tag using digest algorithm as name"),
	       "tag sha256:x refused");
	TAP_OK(&t, berth_image_tag(e.is, "busybox", "Upper", NULL, NULL, &err) < 0 && err.kind == BERTH_E_INVALID,
	       "tag with an upper-case repo refused");
	TAP_OK(&t,
	       berth_image_tag(e.is, "busybox", "ok", "bad tag", NULL, &err) < 0 &&
		       !strcmp(err.msg, "invalid tag format"),
	       "bad tag refused");
	json_t *recs = berth_image_delete(e.is, shortid, false, true, &err);
	char expect[256];
	snprintf(expect, sizeof(expect),
		 "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories",
		 shortid);
	TAP_OK(&t, !recs && err.kind == BERTH_E_CONFLICT && !strcmp(err.msg, expect), "rmi by ID with two names: %s",
	       err.msg);
	recs = berth_image_delete(e.is, "other/name:t1", false, true, &err);
	char *s = dump(recs);
	TAP_STREQ(&t, s, "[{\"Untagged\":\"other/name:t1\"}]", "rmi of one of two tags only untags");
	free(s);
	json_decref(recs);

	/* running container: cannot be forced */
	running_container = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
	struct berth_image_hooks hooks = {hook_find, hook_count, id};
	berth_image_store_set_hooks(e.is, &hooks);
	recs = berth_image_delete(e.is, shortid, true, true, &err);
	snprintf(
		expect, sizeof(expect),
		"conflict: unable to delete %s (cannot be forced) - image is being used by running container abcdef012345",
		shortid);
	TAP_OK(&t, !recs && err.kind == BERTH_E_CONFLICT && !strcmp(err.msg, expect), "running container conflict: %s",
	       err.msg);
	recs = berth_image_delete(e.is, "busybox", false, true, &err);
	TAP_OK(&t,
	       !recs && err.kind == BERTH_E_CONFLICT &&
		       berth_str_has_prefix(
			       err.msg,
			       "conflict: unable to remove repository reference \"busybox\" (must force) - container abcdef012345 is using its referenced image"),
	       "untag of an image a container uses: %s", err.msg);
	json_t *df = berth_image_df(e.is, &err);
	json_t *dfimgs = json_object_get(df, "Images");
	int64_t containers = 0;
	for (size_t i = 0; i < json_array_size(dfimgs); i++)
		containers += json_integer_value(json_object_get(json_array_get(dfimgs, i), "Containers"));
	TAP_OK(&t, df && containers == 1, "df counts containers");
	TAP_OK(&t, json_integer_value(json_object_get(json_array_get(dfimgs, 0), "SharedSize")) > 0,
	       "df SharedSize counts the shared layer");
	TAP_OK(&t, json_integer_value(json_object_get(df, "LayersSize")) == li.size, "df LayersSize counts it once");
	json_decref(df);
	running_container = NULL;
	berth_image_store_set_hooks(e.is, NULL);

	recs = berth_image_delete(e.is, "busybox", false, true, &err);
	s = dump(recs);
	snprintf(expect, sizeof(expect), "[{\"Untagged\":\"busybox:latest\"},{\"Deleted\":\"%s\"}]", id);
	TAP_STREQ(&t, s, expect, "rmi busybox: untag + delete, layer kept (shared)");
	free(s);
	json_decref(recs);
	TAP_OK(&t, berth_layer_get(e.ls, ROOTFS_DIFF, &li, &err) == 0 && li.refcount == 1, "layer refcount back to 1");

	/* untagged (dangling) image, prune */
	char id3[BERTH_DIGEST_LEN + 1];
	char *changes3[] = {"CMD [\"/bin/true\"]"};
	TAP_OK(&t, import_rootfs(&e, &rootfs, NULL, changes3, 1, id3, &err) == 0, "import untagged");
	f = json_pack("{s:{s:b}}", "dangling", "true", 1);
	list = berth_image_list(e.is, f, false, &err);
	TAP_OK(&t,
	       json_array_size(list) == 1 && !strcmp(json_string_value(json_array_get(
							     json_object_get(json_array_get(list, 0), "RepoTags"), 0)),
						     "<none>:<none>"),
	       "dangling=true lists the untagged image as <none>:<none>");
	json_decref(list);
	json_decref(f);
	json_t *pr = berth_image_prune(e.is, NULL, &err);
	s = dump(json_object_get(pr, "ImagesDeleted"));
	snprintf(expect, sizeof(expect), "[{\"Deleted\":\"%s\"}]", id3);
	TAP_STREQ(&t, s, expect, "prune deletes the dangling image");
	free(s);
	TAP_OK(&t, json_integer_value(json_object_get(pr, "SpaceReclaimed")) == 0, "no layer reclaimed (shared)");
	json_decref(pr);

	/* the last image goes with its layer */
	recs = berth_image_delete(e.is, "app:v1", false, true, &err);
	s = dump(recs);
	snprintf(expect, sizeof(expect), "[{\"Untagged\":\"app:v1\"},{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"}]", id2,
		 ROOTFS_DIFF);
	TAP_STREQ(&t, s, expect, "rmi of the last image deletes its layer too");
	free(s);
	json_decref(recs);
	TAP_OK(&t, berth_layer_get(e.ls, ROOTFS_DIFF, &li, NULL) < 0, "layer removed");
	TAP_OK(&t, berth_image_count(e.is) == 0, "no images left");

	/* prune -a with until/label */
	TAP_OK(&t, import_rootfs(&e, &rootfs, "keep:1", changes2, 2, id2, &err) == 0, "import keep:1");
	f = json_pack("{s:[s],s:[s]}", "dangling", "false", "label", "tier=nomatch");
	pr = berth_image_prune(e.is, f, &err);
	TAP_OK(&t, pr && json_is_null(json_object_get(pr, "ImagesDeleted")),
	       "prune -a with a non-matching label keeps");
	json_decref(pr);
	json_decref(f);
	f = json_pack("{s:[s]}", "dangling", "false");
	pr = berth_image_prune(e.is, f, &err);
	TAP_OK(&t,
	       pr && json_array_size(json_object_get(pr, "ImagesDeleted")) == 3 &&
		       json_integer_value(json_object_get(pr, "SpaceReclaimed")) > 1000000,
	       "prune -a removes the tagged image and its layer: %s", (s = dump(pr)));
	free(s);
	json_decref(pr);
	json_decref(f);

	/* state survives a restart (reopen on the same database and data root) */
	TAP_OK(&t, import_rootfs(&e, &rootfs, "persist:1", changes2, 2, id2, &err) == 0, "import persist:1");
	berth_image_store_close(e.is);
	e.is = berth_image_store_open(root, e.db, e.ls, &e.sink, &err);
	TAP_OK(&t,
	       e.is && berth_image_resolve(e.is, "persist:1", rid, &err) == 0 && !strcmp(rid, id2) &&
		       berth_image_count(e.is) == 1,
	       "image and tag found after reopening the store");
	recs = berth_image_delete(e.is, "persist:1", false, true, &err);
	TAP_OK(&t, json_array_size(recs) == 3, "and deleted with its layer");
	json_decref(recs);

	/* import errors */
	struct berth_image_import_opts bad = {
		.repo = "busybox@sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"};
	TAP_OK(&t, berth_image_import_check(&bad, &err) < 0 && !strcmp(err.msg, "cannot import digest reference"),
	       "import into a digest reference refused");
	char *badch[] = {"RUN echo"};
	struct berth_image_import_opts bad2 = {.changes = badch, .n_changes = 1};
	TAP_OK(&t, berth_image_import_check(&bad2, &err) < 0 && !strcmp(err.msg, "run is not a valid change command"),
	       "import with RUN refused");
	struct st_mem junk = {(const unsigned char *)"not a tar at all, definitely not", 32, 0, 0};
	struct berth_reader jr = st_mem_reader(&junk);
	struct berth_image_import_opts ok = {.repo = "junk"};
	TAP_OK(&t, berth_image_import(e.is, &jr, &ok, id, &err) < 0 && berth_image_count(e.is) == 0,
	       "import of garbage fails and leaves nothing: %s", err.msg);

	/* events */
	int tags = 0, deletes = 0, untags = 0, imports = 0, prunes = 0;
	json_t *evj;
	while ((evj = berth_events_next(sub, berth_now_ns() + 200000000LL))) {
		const char *a = json_string_value(json_object_get(evj, "Action"));
		tags += a && !strcmp(a, "tag");
		deletes += a && !strcmp(a, "delete");
		untags += a && !strcmp(a, "untag");
		imports += a && !strcmp(a, "import");
		prunes += a && !strcmp(a, "prune");
		json_decref(evj);
	}
	TAP_OK(&t, imports == 5 && tags >= 5 && deletes >= 5 && untags >= 3 && prunes == 3,
	       "events: import %d tag %d untag %d delete %d prune %d", imports, tags, untags, deletes, prunes);
	berth_events_unsubscribe(sub);

	berth_buf_free(&rootfs);
	berth_image_store_close(e.is);
	berth_layer_store_close(e.ls);
	berth_events_free(e.ev);
	berth_db_close(e.db);
	return TAP_DONE(&t);
}
