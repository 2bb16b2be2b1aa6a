/* Layer store: chain IDs, registering the busybox fixture, exact export,
 * sharing, refcounts, release, depth limit, crash sweep, driver choice.
 * Runs as root; everything lives under a temp data root removed at exit. */
#include <pthread.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "storage/driver.h"
#include "storage/layer_store.h"
#include "tap.h"
#include "test_storage_util.h"

#define FIXTURE "/work/shared/fixtures/images/busybox-rootfs.tar"
#define FIXTURE_DIFF "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"

static struct tap t;

static void test_chain_id(void)
{
	char out[BERTH_DIGEST_LEN + 1];
	const char *d1 = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *d2 = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	berth_layer_chain_id(NULL, d1, out);
	TAP_STREQ(&t, out, d1, "chain of one layer is its diff id");
	berth_layer_chain_id("", d1, out);
	TAP_STREQ(&t, out, d1, "empty parent is no parent");
	char want[BERTH_DIGEST_LEN + 1];
	char *s = berth_strdup_printf("%s %s", d1, d2);
	berth_sha256_digest(s, strlen(s), want);
	free(s);
	berth_layer_chain_id(d1, d2, out);
	TAP_STREQ(&t, out, want, "chain(d1,d2) = sha256(d1 + ' ' + d2)");
	/* a known value: docker's busybox single-layer chain */
	berth_layer_chain_id(NULL, FIXTURE_DIFF, out);
	TAP_STREQ(&t, out, FIXTURE_DIFF, "fixture chain id");
}

static void test_driver_choice(const char *root)
{
	struct berth_db *db = st_open_db(root);
	struct berth_error err = {0};
	char *r = berth_strdup_printf("%s/choice", root);
	const char *bad[] = {"aufs", "devicemapper", "nosuchdriver"};
	for (size_t i = 0; i < 3; i++) {
		berth_err_clear(&err);
		struct berth_layer_store *ls = berth_layer_store_open(r, bad[i], db, &err);
		TAP_OK(&t, !ls && err.kind == BERTH_E_UNSUPPORTED && strstr(err.msg, "not supported"),
		       "driver %s refused: %s", bad[i], err.msg);
		berth_layer_store_close(ls);
	}
	struct berth_layer_store *ls = berth_layer_store_open(r, NULL, db, &err);
	TAP_OK(&t, ls != NULL, "auto driver opens (%s)", ls ? "" : err.msg);
	if (ls) {
		TAP_STREQ(&t, berth_layer_store_driver_name(ls), "overlay2", "auto picks overlay2 on this host");
		json_t *st = berth_layer_store_driver_status(ls);
		char *s = json_dumps(st, JSON_COMPACT);
		TAP_OK(&t, s && strstr(s, "[\"Supports d_type\",\"true\"]") && strstr(s, "Backing Filesystem"),
		       "driver status %s", s ? s : "(null)");
		free(s);
		json_decref(st);
	}
	berth_layer_store_close(ls);
	TAP_OK(&t, !st_is_mounted_below(r), "probe mounts are gone");
	berth_db_close(db);
	free(r);
}

static int register_buf(struct berth_layer_store *ls, const char *parent, const struct berth_buf *b, const char *expect,
			struct berth_layer_info *info, struct berth_error *err)
{
	struct st_mem m = {.data = (const unsigned char *)b->data, .len = b->len, .chunk = 7000};
	struct berth_reader r = st_mem_reader(&m);
	return berth_layer_register(ls, parent, &r, expect, info, err);
}

static void test_store(const char *root, const char *driver)
{
	char *dr = berth_strdup_printf("%s/%s", root, driver);
	berth_mkdir_p(dr, 0700, NULL);
	struct berth_db *db = st_open_db(dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(dr, driver, db, &err);
	TAP_OK(&t, ls != NULL, "[%s] open store %s", driver, ls ? "" : err.msg);
	if (!ls)
		return;
	char *layers_dir =
		!strcmp(driver, "vfs") ? berth_strdup_printf("%s/vfs/dir", dr) : berth_strdup_printf("%s/overlay2", dr);
	const char *skip = !strcmp(driver, "vfs") ? NULL : "l";

	struct berth_buf fixture = {0};
	TAP_OK(&t, st_read_file(FIXTURE, &fixture) == 0, "[%s] read fixture", driver);

	/* register from an fd, as callers will */
	struct berth_layer_info info;
	int fd = open(FIXTURE, O_RDONLY | O_CLOEXEC);
	struct berth_reader fr = berth_reader_fd(fd);
	int rc = berth_layer_register(ls, NULL, &fr, FIXTURE_DIFF, &info, &err);
	close(fd);
	TAP_OK(&t, rc == 0, "[%s] register busybox fixture %s", driver, rc ? err.msg : "");
	TAP_STREQ(&t, info.diff_id, FIXTURE_DIFF, "[%s] diff id", driver);
	TAP_STREQ(&t, info.chain_id, FIXTURE_DIFF, "[%s] chain id", driver);
	TAP_OK(&t, info.refcount == 1 && info.depth == 1 && info.parent[0] == '\0', "[%s] refcount 1, depth 1", driver);
	TAP_OK(&t, info.size == 1985581, "[%s] size %lld as docker reports it", driver, (long long)info.size);
	TAP_OK(&t, st_count_dir(layers_dir, skip) == 1, "[%s] one layer dir", driver);
	char *hex_dir = !strcmp(driver, "vfs") ?
				berth_strdup_printf("%s/%s", layers_dir, berth_digest_hex(FIXTURE_DIFF)) :
				berth_strdup_printf("%s/%s/diff", layers_dir, berth_digest_hex(FIXTURE_DIFF));
	char *bb = berth_strdup_printf("%s/bin/busybox", hex_dir);
	struct stat st;
	TAP_OK(&t, stat(bb, &st) == 0 && st.st_size == 1982256 && (st.st_mode & 0777) == 0755,
	       "[%s] bin/busybox extracted with its mode", driver);
	char *ln = berth_strdup_printf("%s/bin/sh", hex_dir);
	char target[64] = {0};
	TAP_OK(&t, readlink(ln, target, sizeof(target) - 1) > 0 && !strcmp(target, "/bin/busybox"),
	       "[%s] applet symlink kept", driver);
	TAP_OK(&t, lstat(hex_dir, &st) == 0 && st.st_mtime == 1704067200, "[%s] root dir mtime from the tar", driver);

	/* exact export */
	struct berth_buf out = {0};
	struct berth_writer w = st_buf_writer(&out);
	rc = berth_layer_export(ls, FIXTURE_DIFF, &w, &err);
	TAP_OK(&t, rc == 0, "[%s] export %s", driver, rc ? err.msg : "");
	TAP_OK(&t, out.len == fixture.len && memcmp(out.data, fixture.data, fixture.len) == 0,
	       "[%s] export is byte-identical (%zu vs %zu bytes)", driver, out.len, fixture.len);
	berth_buf_free(&out);

	/* second registration (gzip) shares the layer */
	struct berth_buf gz = {0};
	st_gzip(&fixture, &gz);
	rc = register_buf(ls, NULL, &gz, NULL, &info, &err);
	TAP_OK(&t, rc == 0 && !strcmp(info.chain_id, FIXTURE_DIFF) && info.refcount == 2,
	       "[%s] gzip registration reuses the layer, refcount 2 %s", driver, rc ? err.msg : "");
	TAP_OK(&t, st_count_dir(layers_dir, skip) == 1, "[%s] still one layer dir", driver);
	struct berth_buf zs = {0};
	st_zstd(&fixture, &zs);
	rc = register_buf(ls, NULL, &zs, FIXTURE_DIFF, &info, &err);
	TAP_OK(&t, rc == 0 && info.refcount == 3, "[%s] zstd registration: same diff id, refcount 3 %s", driver,
	       rc ? err.msg : "");

	/* a wrong expected diff id leaves nothing */
	int files_before = st_count_files(dr);
	rc = register_buf(ls, NULL, &gz, "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			  &info, &err);
	TAP_OK(&t, rc < 0 && err.kind == BERTH_E_INVALID && strstr(err.msg, "diff ID"), "[%s] diff id mismatch: %s",
	       driver, err.msg);
	TAP_OK(&t, st_count_files(dr) == files_before, "[%s] mismatch left no files", driver);

	/* a child layer, then cascade on release */
	struct berth_buf top = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &top);
	st_tar_dir(&tb, "etc/");
	st_tar_file(&tb, "etc/layer-b", "b\n");
	st_tar_file(&tb, "bin/.wh.cat", NULL);
	st_tar_end(&tb);
	struct berth_layer_info child;
	rc = register_buf(ls, FIXTURE_DIFF, &top, NULL, &child, &err);
	char want_chain[BERTH_DIGEST_LEN + 1];
	berth_layer_chain_id(FIXTURE_DIFF, child.diff_id, want_chain);
	TAP_OK(&t,
	       rc == 0 && !strcmp(child.chain_id, want_chain) && child.depth == 2 &&
		       !strcmp(child.parent, FIXTURE_DIFF),
	       "[%s] child layer on the fixture %s", driver, rc ? err.msg : "");
	struct berth_layer_info pinfo;
	berth_layer_get(ls, FIXTURE_DIFF, &pinfo, &err);
	TAP_OK(&t, pinfo.refcount == 4, "[%s] child holds a reference on its parent (%d)", driver, pinfo.refcount);
	out = (struct berth_buf){0};
	w = st_buf_writer(&out);
	rc = berth_layer_export(ls, child.chain_id, &w, &err);
	TAP_OK(&t, rc == 0 && out.len == top.len && memcmp(out.data, top.data, top.len) == 0,
	       "[%s] child export identical (whiteout entry included) %s", driver, rc ? err.msg : "");
	berth_buf_free(&out);

	int removed = -1;
	for (int i = 0; i < 3; i++)
		berth_layer_release(ls, FIXTURE_DIFF, &removed, &err);
	berth_layer_get(ls, FIXTURE_DIFF, &pinfo, &err);
	TAP_OK(&t, removed == 0 && pinfo.refcount == 1, "[%s] releases keep the layer while the child uses it", driver);

	/* persistence across reopen */
	berth_layer_store_close(ls);
	ls = berth_layer_store_open(dr, driver, db, &err);
	TAP_OK(&t, ls && berth_layer_get(ls, child.chain_id, &info, &err) == 0 && info.refcount == 1,
	       "[%s] layers survive a reopen", driver);
	TAP_OK(&t, berth_layer_store_total_size(ls) > 1900000, "[%s] total size", driver);

	char **gone = NULL;
	rc = berth_layer_release_list(ls, child.chain_id, &gone, &err);
	TAP_OK(&t,
	       rc == 0 && berth_strv_len(gone) == 2 && !strcmp(gone[0], child.chain_id) &&
		       !strcmp(gone[1], FIXTURE_DIFF),
	       "[%s] releasing the child cascades to the base", driver);
	berth_strv_free(gone);
	TAP_OK(&t, st_count_dir(layers_dir, skip) == 0, "[%s] layer dirs removed", driver);
	TAP_OK(&t, berth_layer_get(ls, FIXTURE_DIFF, &info, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "[%s] released layer is gone", driver);
	char *meta = berth_strdup_printf("%s/layerdb/%s", dr, driver);
	TAP_OK(&t, st_count_dir(meta, NULL) == 0, "[%s] tar-split records removed", driver);
	if (strcmp(driver, "vfs") != 0) {
		char *l = berth_strdup_printf("%s/l", layers_dir);
		TAP_OK(&t, st_count_dir(l, NULL) == 0, "[%s] short links removed", driver);
		free(l);
	}
	TAP_OK(&t, berth_layer_release(ls, FIXTURE_DIFF, NULL, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "[%s] release of a missing layer: not found", driver);

	/* crash leftovers: a pending registration holding a parent ref and its temp dirs */
	rc = register_buf(ls, NULL, &top, NULL, &info, &err);
	char *tmpd = !strcmp(driver, "vfs") ? berth_strdup_printf("%s/tmp-crashed", layers_dir) :
					      berth_strdup_printf("%s/tmp-crashed/diff", layers_dir);
	berth_mkdir_p(tmpd, 0700, NULL);
	char *sql = berth_strdup_printf("INSERT INTO layer_pending (driver, tmp_id, parent) VALUES ('%s', "
					"'tmp-crashed', '%s'); UPDATE layers SET refcount = refcount + 1",
					driver, info.chain_id);
	berth_db_exec(db, sql, NULL);
	char *orphan = berth_strdup_printf("%s/%s", layers_dir,
					   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	berth_mkdir_p(orphan, 0700, NULL);
	berth_layer_store_close(ls);
	ls = berth_layer_store_open(dr, driver, db, &err);
	struct stat s2;
	TAP_OK(&t, ls && stat(tmpd, &s2) < 0 && stat(orphan, &s2) < 0, "[%s] open sweeps temp and orphan dirs", driver);
	TAP_OK(&t, ls && berth_layer_get(ls, info.chain_id, &info, &err) == 0 && info.refcount == 1,
	       "[%s] sweep gave back the pending reference", driver);
	berth_layer_release(ls, info.chain_id, NULL, &err);

	berth_layer_store_close(ls);
	berth_db_close(db);
	berth_buf_free(&fixture);
	berth_buf_free(&gz);
	berth_buf_free(&zs);
	berth_buf_free(&top);
	free(dr);
	free(layers_dir);
	free(hex_dir);
	free(bb);
	free(ln);
	free(meta);
	free(tmpd);
	free(sql);
	free(orphan);
}

static void test_depth(const char *root)
{
	char *dr = berth_strdup_printf("%s/depth", root);
	berth_mkdir_p(dr, 0700, NULL);
	struct berth_db *db = st_open_db(dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(dr, "overlay2", db, &err);
	char parent[BERTH_DIGEST_LEN + 1] = "";
	char first[BERTH_DIGEST_LEN + 1] = "";
	int ok = 0;
	for (int i = 0; ls && i < BERTH_MAX_LAYERS; i++) {
		struct berth_buf b = {0};
		struct st_tar tb;
		st_tar_begin(&tb, &b);
		char name[32], content[32];
		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(content, sizeof(content), "%d\n", i);
		st_tar_file(&tb, name, content);
		st_tar_end(&tb);
		struct berth_layer_info info;
		if (register_buf(ls, parent, &b, NULL, &info, &err) == 0 && info.depth == i + 1) {
			ok++;
			if (i > 0)
				berth_layer_release(ls, parent, NULL, &err); /* keep one ref on the top only */
			snprintf(parent, sizeof(parent), "%s", info.chain_id);
			if (i == 0)
				snprintf(first, sizeof(first), "%s", info.chain_id);
		}
		berth_buf_free(&b);
	}
	TAP_OK(&t, ok == BERTH_MAX_LAYERS, "%d layers deep registered", ok);
	struct berth_buf b = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &b);
	st_tar_file(&tb, "one-too-many", "x");
	st_tar_end(&tb);
	struct berth_layer_info info;
	int rc = ls ? register_buf(ls, parent, &b, NULL, &info, &err) : -1;
	TAP_OK(&t, rc < 0 && !strcmp(err.msg, "max depth exceeded"), "layer %d: \"%s\"", BERTH_MAX_LAYERS + 1, err.msg);
	berth_buf_free(&b);

	/* a container on the deepest image mounts (short lowerdir links fit the page) */
	char *rootfs = NULL;
	rc = ls ? berth_rwlayer_create(ls, "deep", parent, &err) : -1;
	if (rc == 0)
		rc = berth_rwlayer_mount(ls, "deep", &rootfs, &err);
	char *f0 = rootfs ? berth_strdup_printf("%s/f000", rootfs) : NULL;
	char *f124 = rootfs ? berth_strdup_printf("%s/f124", rootfs) : NULL;
	struct stat st;
	TAP_OK(&t, rc == 0 && f0 && stat(f0, &st) == 0 && stat(f124, &st) == 0,
	       "container on a %d-layer image mounts and sees every layer %s", BERTH_MAX_LAYERS, rc ? err.msg : "");
	if (rc == 0) {
		berth_rwlayer_unmount(ls, "deep", &err);
		berth_rwlayer_remove(ls, "deep", &err);
	}
	free(rootfs);
	free(f0);
	free(f124);
	int removed = 0;
	if (ls)
		berth_layer_release(ls, parent, &removed, &err);
	TAP_OK(&t, removed == BERTH_MAX_LAYERS, "releasing the top frees all %d layers", removed);
	(void)first;
	berth_layer_store_close(ls);
	berth_db_close(db);
	free(dr);
}

/* ---- concurrency: parallel registrations; export racing a release ---- */

struct reg_arg {
	struct berth_layer_store *ls;
	const struct berth_buf *data;
	int rc;
	struct berth_layer_info info;
};

static void *reg_thread(void *p)
{
	struct reg_arg *a = p;
	struct berth_error err = {0};
	a->rc = register_buf(a->ls, NULL, a->data, FIXTURE_DIFF, &a->info, &err);
	return NULL;
}

struct slow_writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, released;
	struct berth_sha256 *h;
};

static int slow_write(void *ctx, const void *buf, size_t len)
{
	struct slow_writer *s = ctx;
	pthread_mutex_lock(&s->mu);
	s->started = true;
	pthread_cond_broadcast(&s->cv);
	while (!s->released)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	berth_sha256_update(s->h, buf, len);
	return 0;
}

struct exp_arg {
	struct berth_layer_store *ls;
	struct slow_writer *sw;
	int rc;
};

static void *export_thread(void *p)
{
	struct exp_arg *a = p;
	struct berth_error err = {0};
	struct berth_writer w = {slow_write, a->sw};
	a->rc = berth_layer_export(a->ls, FIXTURE_DIFF, &w, &err);
	return NULL;
}

static void test_concurrency(const char *root)
{
	char *dr = berth_strdup_printf("%s/concurrent", root);
	berth_mkdir_p(dr, 0700, NULL);
	struct berth_db *db = st_open_db(dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(dr, "overlay2", db, &err);
	struct berth_buf fixture = {0};
	st_read_file(FIXTURE, &fixture);
	struct reg_arg args[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct reg_arg){.ls = ls, .data = &fixture};
		pthread_create(&th[i], NULL, reg_thread, &args[i]);
	}
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].rc == 0;
	}
	struct berth_layer_info info = {0};
	berth_layer_get(ls, FIXTURE_DIFF, &info, &err);
	char *home = berth_strdup_printf("%s/overlay2", dr);
	TAP_OK(&t, ok == 4 && info.refcount == 4 && st_count_dir(home, "l") == 1,
	       "4 parallel registrations: one layer, refcount %d", info.refcount);
	for (int i = 0; i < 3; i++)
		berth_layer_release(ls, FIXTURE_DIFF, NULL, &err);

	/* export in progress while the last reference goes */
	struct slow_writer sw = {.h = berth_sha256_new()};
	pthread_mutex_init(&sw.mu, NULL);
	pthread_cond_init(&sw.cv, NULL);
	struct exp_arg ea = {.ls = ls, .sw = &sw};
	pthread_t et;
	pthread_create(&et, NULL, export_thread, &ea);
	pthread_mutex_lock(&sw.mu);
	while (!sw.started)
		pthread_cond_wait(&sw.cv, &sw.mu);
	pthread_mutex_unlock(&sw.mu);
	int removed = 0;
	berth_layer_release(ls, FIXTURE_DIFF, &removed, &err);
	char *diff = berth_strdup_printf("%s/%s/diff/bin/busybox", home, berth_digest_hex(FIXTURE_DIFF));
	struct stat st;
	TAP_OK(&t, removed == 1 && berth_layer_get(ls, FIXTURE_DIFF, &info, &err) < 0 && stat(diff, &st) == 0,
	       "released during an export: gone from the store, files kept for the reader");
	pthread_mutex_lock(&sw.mu);
	sw.released = true;
	pthread_cond_broadcast(&sw.cv);
	pthread_mutex_unlock(&sw.mu);
	pthread_join(et, NULL);
	char got[BERTH_DIGEST_LEN + 1];
	berth_sha256_final(sw.h, got);
	TAP_OK(&t, ea.rc == 0 && !strcmp(got, FIXTURE_DIFF), "the export finished with the right bytes");
	TAP_OK(&t, stat(diff, &st) < 0 && st_count_dir(home, "l") == 0, "files removed after the export ended");
	berth_layer_store_close(ls);
	berth_db_close(db);
	berth_buf_free(&fixture);
	free(dr);
	free(home);
	free(diff);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP storage tests need root\n");
		return 0;
	}
	const char *root = st_make_root("storage-test");
	test_chain_id();
	test_driver_choice(root);
	test_store(root, "overlay2");
	test_store(root, "vfs");
	test_depth(root);
	test_concurrency(root);
	TAP_OK(&t, !st_is_mounted_below(root), "no mounts left under the test root");
	return TAP_DONE(&t);
}
