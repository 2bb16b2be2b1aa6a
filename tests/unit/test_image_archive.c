/* docker load / save with the fixtures: the docker-archive gives docker's image
 * ID, save reproduces docker's bytes, the OCI and multi-platform archives load,
 * and corrupt or hostile archives leave nothing behind. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/archive.h"
#include "image/store.h"
#include "storage/layer_store.h"
#include "tap.h"
#include "test_image_util.h"
#include "test_storage_util.h"

#define DOCKER_ID "sha256:6d8f264bf1f91212333cd15d084aef66a11190ddbca4b32adcccdc2a22ec2ab7"
#define OCI_ID "sha256:a41b21958f0e1611e22cd3a2042379bccf63b6036b19f7ab995eb1d3d801b452"
#define MULTI_AMD64_ID "sha256:8bf1ca92402f4db6568291a8014ce6cc7312dbc39ce86f382d0562b65d5ef54d"
#define MULTI_ARM64_ID "sha256:2e76a5fab1601ae94e8da1d898a80c08f34e8e0b1281642701cf737c58a59370"
#define DOCKER_ARCHIVE_SHA "sha256:01874d03963bfbd68c06fdacb6e0727e05897ab235725f0fa714b0c7ee20924a"
#define ROOTFS_DIFF "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"

struct env {
	struct berth_db *db;
	struct berth_layer_store *ls;
	struct berth_image_store *is;
};

static int open_env(struct env *e, const char *root, const char *sub)
{
	char *dir = berth_strdup_printf("%s/%s", root, sub);
	berth_mkdir_p(dir, 0700, NULL);
	struct berth_error err = {0};
	e->db = st_open_db(dir);
	e->ls = berth_layer_store_open(dir, "vfs", e->db, &err);
	e->is = e->ls ? berth_image_store_open(dir, e->db, e->ls, NULL, &err) : NULL;
	if (!e->is)
		printf("# open %s: %s\n", dir, err.msg);
	free(dir);
	return e->is ? 0 : -1;
}

static void close_env(struct env *e)
{
	berth_image_store_close(e->is);
	berth_layer_store_close(e->ls);
	berth_db_close(e->db);
}

static int progress_calls;
static void on_progress(void *ctx, const char *id, int64_t cur, int64_t total)
{
	(void)ctx;
	(void)id;
	if (cur > 0 && cur <= total)
		progress_calls++;
}

static int load_buf(struct env *e, const struct berth_buf *b, const char *platform, char ***lines,
		    struct berth_error *err)
{
	struct st_mem m = {(const unsigned char *)b->data, b->len, 0, 7000};
	struct berth_reader rd = st_mem_reader(&m);
	struct berth_image_load_opts o = {.platform = platform, .progress = on_progress};
	return berth_image_load(e->is, &rd, &o, lines, err);
}

static char *joined(char **lines)
{
	struct berth_buf b = {0};
	for (size_t i = 0; lines && lines[i]; i++)
		berth_buf_printf(&b, "%s%s", i ? "|" : "", lines[i]);
	return berth_buf_steal(&b);
}

/* Copy a tar, letting edit() change an entry's content (return a new buffer) or drop it. */
typedef bool (*edit_fn)(const char *name, struct berth_buf *content);

static void rewrite_tar(const struct berth_buf *in, struct berth_buf *out, edit_fn edit)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_open_memory(a, in->data, in->len);
	struct st_tar t;
	st_tar_begin(&t, out);
	struct archive_entry *ae;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		struct berth_buf c = {0};
		char buf[65536];
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			berth_buf_append(&c, buf, (size_t)n);
		bool keep = edit ? edit(name, &c) : true;
		if (keep) {
			mode_t type = archive_entry_filetype(ae);
			const char *ln = archive_entry_symlink(ae);
			st_tar_entry(&t, name, type, archive_entry_perm(ae), c.data, c.len, ln, false);
		}
		berth_buf_free(&c);
	}
	st_tar_end(&t);
	archive_read_free(a);
}

static bool flip_config(const char *name, struct berth_buf *c)
{
	if (strstr(name, "a41b21958f0e1611e22cd3a2042379bccf63b6036b19f7ab995eb1d3d801b452"))
		c->data[10] ^= 1;
	return true;
}

static bool flip_layer(const char *name, struct berth_buf *c)
{
	if (strstr(name, "2de15519dcfd45c6f6f57d987b8853408ebbd44257ea9e6dc5574a227ee4f1fd"))
		c->data[c->len / 2] ^= 0x20;
	return true;
}

static bool wrong_diff(const char *name, struct berth_buf *c)
{
	if (!strcmp(name, "6d8f264bf1f91212333cd15d084aef66a11190ddbca4b32adcccdc2a22ec2ab7.json")) {
		char *p = strstr(c->data, "0ee228408e");
		if (p)
			memcpy(p, "1ee228408e", 10);
	}
	return true;
}

static bool evil_layer_path(const char *name, struct berth_buf *c)
{
	if (!strcmp(name, "manifest.json")) {
		berth_buf_free(c);
		berth_buf_printf(
			c, "[{\"Config\":\"6d8f264bf1f91212333cd15d084aef66a11190ddbca4b32adcccdc2a22ec2ab7.json\","
			   "\"RepoTags\":[\"evil:1\"],\"Layers\":[\"../../../../etc/passwd\"]}]");
	}
	return true;
}

static void expect_nothing(struct tap *t, struct env *e, const char *what)
{
	struct berth_layer_info li;
	TAP_OK(t, berth_image_count(e->is) == 0 && berth_layer_get(e->ls, ROOTFS_DIFF, &li, NULL) < 0,
	       "%s leaves no image and no layer", what);
	char *tmp = berth_strdup_printf("%s/image/tmp", berth_image_store_data_root(e->is));
	TAP_OK(t, st_count_dir(tmp, NULL) == 0, "%s leaves no temp files", what);
	free(tmp);
}

static int sha_write(void *ctx, const void *buf, size_t len)
{
	berth_sha256_update(ctx, buf, len);
	return 0;
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	const char *root = st_make_root("image-archive");
	struct env a, b, c;
	if (open_env(&a, root, "a") < 0 || open_env(&b, root, "b") < 0 || open_env(&c, root, "c") < 0) {
		TAP_OK(&t, 0, "stores open");
		return TAP_DONE(&t);
	}
	struct berth_buf docker = {0}, oci = {0}, multi = {0};
	TAP_OK(&t,
	       st_read_file(fixture_path("busybox-docker-archive.tar"), &docker) == 0 &&
		       st_read_file(fixture_path("busybox-oci-archive.tar"), &oci) == 0 &&
		       st_read_file(fixture_path("busybox-multiarch-oci-archive.tar"), &multi) == 0,
	       "read fixtures");

	/* docker-archive */
	char **lines = NULL;
	int r = load_buf(&a, &docker, NULL, &lines, &err);
	char *s = joined(lines);
	TAP_OK(&t, r == 0, "load docker-archive%s%s", r ? ": " : "", r ? err.msg : "");
	TAP_STREQ(&t, s, "Loaded image: busybox:latest", "docker-archive output");
	free(s);
	berth_strv_free(lines);
	TAP_OK(&t, progress_calls > 0, "layer progress reported");
	char id[BERTH_DIGEST_LEN + 1] = "";
	berth_image_resolve(a.is, "busybox", id, &err);
	TAP_STREQ(&t, id, DOCKER_ID, "docker-archive gives docker's image ID");
	json_t *li0 = berth_image_inspect(a.is, "busybox", &err);
	TAP_STREQ(&t, json_string_value(json_object_get(json_object_get(li0, "Metadata"), "LastTagTime")),
		  "0001-01-01T00:00:00Z", "load does not set LastTagTime (as docker)");
	json_decref(li0);

	/* save reproduces docker's bytes */
	struct berth_buf saved = {0};
	struct berth_writer w = st_buf_writer(&saved);
	char *names[] = {"busybox:latest"};
	r = berth_image_save(a.is, names, 1, &w, &err);
	char dg[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest(saved.data, saved.len, dg);
	TAP_OK(&t, r == 0, "save busybox:latest%s%s", r ? ": " : "", r ? err.msg : "");
	TAP_OK(&t, saved.len == docker.len, "save size %zu (docker %zu)", saved.len, docker.len);
	TAP_STREQ(&t, dg, DOCKER_ARCHIVE_SHA, "save is byte-identical to docker's save");
	if (strcmp(dg, DOCKER_ARCHIVE_SHA)) {
		size_t i = 0;
		while (i < saved.len && i < docker.len && saved.data[i] == docker.data[i])
			i++;
		printf("# first difference at byte %zu\n", i);
	}
	TAP_OK(&t,
	       berth_image_save(a.is, (char *[]){"nosuch:tag"}, 1, &w, &err) < 0 && err.kind == BERTH_E_NOT_FOUND &&
		       !strcmp(err.msg, "reference does not exist"),
	       "save of a missing tag: %s", err.msg);
	TAP_OK(&t, berth_image_save(a.is, (char *[]){"abcdef"}, 1, &w, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "save of a missing name: %s", err.msg);

	/* round trip into another store, by ID (untagged) */
	struct berth_buf byid = {0};
	struct berth_writer w2 = st_buf_writer(&byid);
	r = berth_image_save(a.is, (char *[]){"6d8f264bf1f9"}, 1, &w2, &err);
	TAP_OK(&t, r == 0, "save by short ID");
	r = load_buf(&b, &byid, NULL, &lines, &err);
	s = joined(lines);
	TAP_STREQ(&t, r == 0 ? s : err.msg, "Loaded image ID: " DOCKER_ID, "untagged save loads back with the same ID");
	free(s);
	berth_strv_free(lines);
	r = load_buf(&b, &saved, NULL, &lines, &err);
	s = joined(lines);
	TAP_STREQ(&t, r == 0 ? s : err.msg, "Loaded image: busybox:latest", "tagged save loads back");
	free(s);
	berth_strv_free(lines);
	TAP_OK(&t, berth_image_resolve(b.is, "busybox:latest", id, &err) == 0 && !strcmp(id, DOCKER_ID),
	       "round trip keeps the ID");

	/* OCI archive: the tag moves */
	r = load_buf(&a, &oci, NULL, &lines, &err);
	s = joined(lines);
	TAP_STREQ(&t, r == 0 ? s : err.msg,
		  "The image busybox:latest already exists, renaming the old one with ID " DOCKER_ID
		  " to empty string|Loaded image: busybox:latest",
		  "OCI archive output");
	free(s);
	berth_strv_free(lines);
	TAP_OK(&t, berth_image_resolve(a.is, "busybox", id, &err) == 0 && !strcmp(id, OCI_ID),
	       "OCI image ID is the config digest");
	struct berth_layer_info li;
	TAP_OK(&t, berth_layer_get(a.ls, ROOTFS_DIFF, &li, &err) == 0 && li.refcount == 2,
	       "docker and OCI images share the layer (refcount %d)", li.refcount);

	/* multi-platform: the host's entry */
	r = load_buf(&a, &multi, NULL, &lines, &err);
	TAP_OK(&t, r == 0, "load multi-platform OCI%s%s", r ? ": " : "", r ? err.msg : "");
	berth_strv_free(lines);
	TAP_OK(&t, berth_image_resolve(a.is, "busybox", id, &err) == 0 && !strcmp(id, MULTI_AMD64_ID),
	       "multi-platform picks linux/amd64 (%s)", id);
	json_t *insp = berth_image_inspect(a.is, "busybox", &err);
	TAP_STREQ(&t, json_string_value(json_object_get(insp, "Architecture")), "amd64", "picked image is amd64");
	json_decref(insp);
	r = load_buf(&c, &multi, "linux/arm64/v8", &lines, &err);
	berth_strv_free(lines);
	TAP_OK(&t, r == 0 && berth_image_resolve(c.is, "busybox", id, &err) == 0 && !strcmp(id, MULTI_ARM64_ID),
	       "platform linux/arm64/v8 picks the arm64 entry");
	json_t *recs = berth_image_delete(c.is, "busybox", true, true, &err);
	json_decref(recs);
	r = load_buf(&c, &multi, "linux/s390x", &lines, &err);
	TAP_OK(&t, r < 0 && !strcmp(err.msg, "no match for platform in manifest: not found"),
	       "no matching platform: %s", err.msg);
	expect_nothing(&t, &c, "no matching platform");

	/* save of several images, then load them all into a clean store */
	struct berth_buf several = {0};
	struct berth_writer w3 = st_buf_writer(&several);
	r = berth_image_save(a.is, (char *[]){"busybox:latest", DOCKER_ID, OCI_ID}, 3, &w3, &err);
	TAP_OK(&t, r == 0, "save three images");
	r = load_buf(&c, &several, NULL, &lines, &err);
	TAP_OK(&t, r == 0 && berth_image_count(c.is) == 3, "three images load back");
	berth_strv_free(lines);
	TAP_OK(&t, berth_layer_get(c.ls, ROOTFS_DIFF, &li, &err) == 0 && li.refcount == 3, "one layer, three users");
	/* clean c again */
	for (const char *n = DOCKER_ID; n; n = !strcmp(n, DOCKER_ID) ? OCI_ID :
					       !strcmp(n, OCI_ID)    ? MULTI_AMD64_ID :
								       NULL)
		json_decref(berth_image_delete(c.is, n, true, true, &err));
	expect_nothing(&t, &c, "deleting everything");

	/* corrupt archives leave nothing */
	struct berth_buf bad = {0};
	rewrite_tar(&oci, &bad, flip_config);
	r = load_buf(&c, &bad, NULL, &lines, &err);
	TAP_OK(&t, r < 0 && err.kind == BERTH_E_INVALID && strstr(err.msg, "has digest"), "corrupt config blob: %s",
	       err.msg);
	expect_nothing(&t, &c, "corrupt config blob");
	berth_buf_free(&bad);
	rewrite_tar(&oci, &bad, flip_layer);
	r = load_buf(&c, &bad, NULL, &lines, &err);
	TAP_OK(&t, r < 0 && err.kind == BERTH_E_INVALID, "corrupt layer blob: %s", err.msg);
	expect_nothing(&t, &c, "corrupt layer blob");
	berth_buf_free(&bad);
	rewrite_tar(&docker, &bad, wrong_diff);
	r = load_buf(&c, &bad, NULL, &lines, &err);
	TAP_OK(&t, r < 0, "docker-archive with a wrong diff ID: %s", err.msg);
	expect_nothing(&t, &c, "wrong diff ID");
	berth_buf_free(&bad);
	rewrite_tar(&docker, &bad, evil_layer_path);
	r = load_buf(&c, &bad, NULL, &lines, &err);
	TAP_OK(&t, r < 0 && err.kind == BERTH_E_INVALID, "layer path outside the archive: %s", err.msg);
	expect_nothing(&t, &c, "layer path outside the archive");
	berth_buf_free(&bad);
	{
		struct st_tar tt;
		st_tar_begin(&tt, &bad);
		st_tar_file(&tt, "../escape", "x");
		st_tar_end(&tt);
		r = load_buf(&c, &bad, NULL, &lines, &err);
		TAP_OK(&t, r < 0 && strstr(err.msg, "outside"), "tar entry with ..: %s", err.msg);
		char *esc = berth_strdup_printf("%s/c/image/escape", root);
		TAP_OK(&t, access(esc, F_OK) < 0, "nothing written outside the temp dir");
		free(esc);
		berth_buf_free(&bad);
	}
	struct berth_buf half = {docker.data, docker.len / 2, 0};
	r = load_buf(&c, &half, NULL, &lines, &err);
	TAP_OK(&t, r < 0, "truncated archive rejected: %s", err.msg);
	expect_nothing(&t, &c, "truncated archive");
	struct berth_buf empty = {0};
	{
		struct st_tar tt;
		st_tar_begin(&tt, &empty);
		st_tar_file(&tt, "hello.txt", "x");
		st_tar_end(&tt);
	}
	r = load_buf(&c, &empty, NULL, &lines, &err);
	TAP_OK(&t, r < 0 && err.kind == BERTH_E_INVALID, "archive without manifest: %s", err.msg);
	berth_buf_free(&empty);

	/* the saved tar's sha256 through a streaming writer */
	struct berth_sha256 *h = berth_sha256_new();
	struct berth_writer hw = {sha_write, h};
	r = berth_image_save(a.is, (char *[]){DOCKER_ID}, 1, &hw, &err);
	berth_sha256_final(h, dg);
	TAP_OK(&t, r == 0, "streaming save");

	berth_buf_free(&saved);
	berth_buf_free(&byid);
	berth_buf_free(&several);
	berth_buf_free(&docker);
	berth_buf_free(&oci);
	berth_buf_free(&multi);
	close_env(&a);
	close_env(&b);
	close_env(&c);
	return TAP_DONE(&t);
}
