/* Tar apply: hostile tarballs are refused and leave nothing (directly and
 * through the layer store, both drivers), whiteouts are converted to each
 * driver's form, file types / links / xattrs / modes are kept. */
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/cleanup.h"
#include "storage/fsutil.h"
#include "storage/layer_store.h"
#include "storage/tar_apply.h"
#include "storage/tar_split.h"
#include "tap.h"
#include "test_storage_util.h"

static struct tap t;
static const char *root;
static char canary[300];

static int apply_buf(const char *dir, const struct berth_buf *b, enum berth_whiteout_mode mode,
		     struct berth_tar_apply_result *res, struct berth_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct st_mem m = {.data = (const unsigned char *)b->data, .len = b->len};
	struct berth_reader r = st_mem_reader(&m);
	struct berth_tar_apply_opts o = {.whiteout = mode};
	int rc = berth_tar_apply(fd, &r, &o, res, err);
	close(fd);
	return rc;
}

static bool canary_intact(void)
{
	char *secret = berth_strdup_printf("%s/secret", canary);
	char *data = NULL;
	size_t len = 0;
	bool ok = berth_read_file(secret, &data, &len, 100, NULL) == 0 && len == 7 && !memcmp(data, "secret\n", 7) &&
		  st_count_files(canary) == 1;
	struct stat st;
	ok = ok && stat(secret, &st) == 0 && st.st_nlink == 1;
	ok = ok && access("/etc/x-berth-test", F_OK) != 0 && access("/x-berth-test", F_OK) != 0;
	free(secret);
	free(data);
	return ok;
}

typedef void (*build_fn)(struct berth_buf *b);

static void h_traversal(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	char *n = berth_strdup_printf("../../../../../../../../../..%s/traversal", canary);
	st_tar_file(&tb, n, "pwned\n");
	free(n);
	st_tar_end(&tb);
}

static void h_dotdot(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	char *n = berth_strdup_printf("etc/../../../../../../../../../..%s/dotdot", canary);
	st_tar_file(&tb, n, "pwned\n");
	free(n);
	st_tar_end(&tb);
}

static void h_absolute(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	char *n = berth_strdup_printf("%s/absolute", canary);
	st_tar_file(&tb, n, "pwned\n");
	free(n);
	st_tar_end(&tb);
}

static void h_symlink_root(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_symlink(&tb, "a", "/");
	st_tar_file(&tb, "a/etc/x-berth-test", "pwned\n");
	st_tar_end(&tb);
}

static void h_symlink_canary(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	char *up = berth_strdup_printf("../../../../../../../../../..%s", canary);
	st_tar_symlink(&tb, "etc/escape", up);
	st_tar_file(&tb, "etc/escape/symlink-rel", "pwned\n");
	free(up);
	st_tar_end(&tb);
}

static void h_hardlink_rel(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	st_tar_hardlink(&tb, "etc/passwd", "../../etc/passwd");
	st_tar_end(&tb);
}

static void h_hardlink_abs(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	char *n = berth_strdup_printf("%s/secret", canary);
	st_tar_hardlink(&tb, "secret", n);
	free(n);
	st_tar_end(&tb);
}

static void valid_big(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	char data[2048];
	for (int i = 0; i < 64; i++) {
		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = (char)((i * 131 + (int)j * 7) & 0xff);
		char name[32];
		snprintf(name, sizeof(name), "etc/f%03d", i);
		st_tar_entry(&tb, name, AE_IFREG, 0644, data, sizeof(data), NULL, false);
	}
	st_tar_end(&tb);
}

static void h_truncated_gzip(struct berth_buf *b)
{
	struct berth_buf raw = {0};
	valid_big(&raw);
	st_gzip(&raw, b);
	b->len /= 2;
	berth_buf_free(&raw);
}

static void h_truncated_zstd(struct berth_buf *b)
{
	struct berth_buf raw = {0};
	valid_big(&raw);
	st_zstd(&raw, b);
	b->len -= 10;
	berth_buf_free(&raw);
}

static void h_truncated_tar(struct berth_buf *b)
{
	valid_big(b);
	b->len = b->len / 2 + 100;
}

static void h_huge_size(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "etc/huge");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)1 << 50);
	archive_write_header(tb.a, e);
	archive_entry_free(e);
	archive_write_data(tb.a, "AAAAAAAAAAAAAAAA", 16);
	/* Closing pads the entry to its 1 PiB size: the write callback stops that
	 * at its cap; keep only what was written up to here. */
	size_t keep = b->len;
	archive_write_free(tb.a);
	tb.a = NULL;
	b->len = keep;
}

static void h_garbage(struct berth_buf *b)
{
	for (int i = 0; i < 10000; i++) {
		char c = (char)((i * 2654435761u) >> 13);
		berth_buf_append(b, &c, 1);
	}
}

static void h_whiteout_dotdot(struct berth_buf *b)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	st_tar_file(&tb, "etc/.wh..", NULL);
	st_tar_end(&tb);
}

static const struct {
	const char *name;
	build_fn build;
} hostile[] = {
	{"../ traversal", h_traversal},
	{"dir/../../ climbing out", h_dotdot},
	{"symlink a -> / then a/etc/x", h_symlink_root},
	{"symlink to ../ outside then a file through it", h_symlink_canary},
	{"hard link to ../../etc/passwd", h_hardlink_rel},
	{"hard link to an absolute outside file", h_hardlink_abs},
	{"truncated gzip", h_truncated_gzip},
	{"truncated zstd", h_truncated_zstd},
	{"truncated tar", h_truncated_tar},
	{"huge size header", h_huge_size},
	{"not a tar", h_garbage},
	{"whiteout of ..", h_whiteout_dotdot},
};

static void test_hostile_store(const char *driver)
{
	char *base = berth_strdup_printf("%s/hostile-%s", root, driver);
	char *data = berth_strdup_printf("%s/data", base);
	berth_mkdir_p(data, 0700, NULL);
	struct berth_db *db = st_open_db(base);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(data, driver, db, &err);
	TAP_OK(&t, ls != NULL, "[%s] open %s", driver, ls ? "" : err.msg);
	if (!ls)
		return;
	int empty = st_count_files(data); /* what the driver keeps for itself (overlay2: its .probe) */
	/* a base layer, so vfs copies and overlay lower files exist too */
	struct berth_buf good = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &good);
	st_tar_dir(&tb, "etc/");
	st_tar_file(&tb, "etc/ok", "ok\n");
	st_tar_end(&tb);
	struct st_mem m = {.data = (const unsigned char *)good.data, .len = good.len};
	struct berth_reader r = st_mem_reader(&m);
	struct berth_layer_info base_info;
	TAP_OK(&t, berth_layer_register(ls, NULL, &r, NULL, &base_info, &err) == 0, "[%s] control layer", driver);
	int before = st_count_files(data);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		for (int on_parent = 0; on_parent < 2; on_parent++) {
			struct berth_buf b = {0};
			hostile[i].build(&b);
			struct st_mem hm = {.data = (const unsigned char *)b.data, .len = b.len, .chunk = 4096};
			struct berth_reader hr = st_mem_reader(&hm);
			struct berth_layer_info info;
			berth_err_clear(&err);
			int rc =
				berth_layer_register(ls, on_parent ? base_info.chain_id : NULL, &hr, NULL, &info, &err);
			TAP_OK(&t, rc < 0 && err.kind == BERTH_E_INVALID, "[%s] %s%s refused: %s", driver,
			       hostile[i].name, on_parent ? " (on a parent)" : "", err.msg);
			TAP_OK(&t, st_count_files(data) == before && canary_intact(),
			       "[%s] %s%s: no leftovers, nothing outside", driver, hostile[i].name,
			       on_parent ? " (on a parent)" : "");
			berth_buf_free(&b);
		}
	}
	struct berth_layer_info after;
	TAP_OK(&t, berth_layer_get(ls, base_info.chain_id, &after, &err) == 0 && after.refcount == 1,
	       "[%s] parent refcount unchanged by the failures", driver);
	berth_layer_release(ls, base_info.chain_id, NULL, &err);
	TAP_OK(&t, st_count_files(data) == empty, "[%s] data root empty after release", driver);
	berth_layer_store_close(ls);
	berth_db_close(db);
	berth_buf_free(&good);
	free(base);
	free(data);
}

static char *mkdir_in_root(const char *name)
{
	char *p = berth_strdup_printf("%s/%s", root, name);
	berth_mkdir_p(p, 0755, NULL);
	return p;
}

static bool file_is(const char *dir, const char *rel, const char *content)
{
	char *p = berth_strdup_printf("%s/%s", dir, rel);
	char *data = NULL;
	size_t len = 0;
	bool ok = berth_read_file(p, &data, &len, 1 << 20, NULL) == 0 && len == strlen(content) &&
		  !memcmp(data, content, len);
	free(p);
	free(data);
	return ok;
}

static bool exists(const char *dir, const char *rel)
{
	char *p = berth_strdup_printf("%s/%s", dir, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static void whiteout_layer(struct berth_buf *b, bool new_first)
{
	struct st_tar tb;
	st_tar_begin(&tb, b);
	st_tar_dir(&tb, "etc/");
	st_tar_file(&tb, "etc/.wh.hostname", NULL);
	st_tar_dir(&tb, "var/");
	st_tar_dir(&tb, "var/tmp/");
	if (new_first)
		st_tar_file(&tb, "var/tmp/new", "kept\n");
	st_tar_file(&tb, "var/tmp/.wh..wh..opq", NULL);
	if (!new_first)
		st_tar_file(&tb, "var/tmp/new", "kept\n");
	st_tar_file(&tb, ".wh..wh.plnk", NULL); /* aufs metadata: ignored */
	st_tar_end(&tb);
}

static void test_whiteouts(void)
{
	struct berth_buf b = {0};
	whiteout_layer(&b, false);
	struct berth_tar_apply_result res;
	struct berth_error err = {0};

	char *ov = mkdir_in_root("wh-overlay");
	int rc = apply_buf(ov, &b, BERTH_WHITEOUT_OVERLAY, &res, &err);
	TAP_OK(&t, rc == 0, "overlay whiteout layer applies %s", rc ? err.msg : "");
	char *p = berth_strdup_printf("%s/etc/hostname", ov);
	struct stat st;
	TAP_OK(&t, lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
	       "overlay: .wh.hostname became a 0:0 char device");
	free(p);
	p = berth_strdup_printf("%s/var/tmp", ov);
	char v[4] = {0};
	TAP_OK(&t, lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y',
	       "overlay: opaque dir has trusted.overlay.opaque=y");
	free(p);
	TAP_OK(&t,
	       !exists(ov, "etc/.wh.hostname") && !exists(ov, "var/tmp/.wh..wh..opq") && !exists(ov, ".wh..wh.plnk"),
	       "overlay: no .wh. files left");
	TAP_OK(&t, file_is(ov, "var/tmp/new", "kept\n"), "overlay: new file in opaque dir");

	for (int order = 0; order < 2; order++) {
		char *vfs = mkdir_in_root(order ? "wh-vfs-newfirst" : "wh-vfs");
		/* what the lower layer had */
		struct berth_buf lower = {0};
		struct st_tar tb;
		st_tar_begin(&tb, &lower);
		st_tar_file(&tb, "etc/hostname", "box\n");
		st_tar_file(&tb, "etc/keep", "keep\n");
		st_tar_file(&tb, "var/tmp/old", "old\n");
		st_tar_file(&tb, "var/tmp/sub/deep", "deep\n");
		st_tar_end(&tb);
		apply_buf(vfs, &lower, BERTH_WHITEOUT_DELETE, &res, &err);
		struct berth_buf wb = {0};
		whiteout_layer(&wb, order == 1);
		rc = apply_buf(vfs, &wb, BERTH_WHITEOUT_DELETE, &res, &err);
		TAP_OK(&t, rc == 0 && !exists(vfs, "etc/hostname") && file_is(vfs, "etc/keep", "keep\n"),
		       "vfs%s: .wh.hostname deleted the file, kept its neighbour", order ? " (new first)" : "");
		TAP_OK(&t,
		       !exists(vfs, "var/tmp/old") && !exists(vfs, "var/tmp/sub") &&
			       file_is(vfs, "var/tmp/new", "kept\n"),
		       "vfs%s: opaque dir emptied of lower files, this layer's file kept", order ? " (new first)" : "");
		TAP_OK(&t, !exists(vfs, "etc/.wh.hostname") && !exists(vfs, "var/tmp/.wh..wh..opq"),
		       "vfs%s: no .wh. files left", order ? " (new first)" : "");
		berth_buf_free(&lower);
		berth_buf_free(&wb);
		free(vfs);
	}
	berth_buf_free(&b);
	free(ov);
}

static void test_types(void)
{
	struct berth_buf b = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &b);
	st_tar_entry(&tb, "./", AE_IFDIR, 0711, NULL, 0, NULL, false);
	st_tar_file(&tb, "data/one", "linked\n");
	st_tar_hardlink(&tb, "data/two", "data/one");
	st_tar_entry(&tb, "bin/suid", AE_IFREG, 04755, "x", 1, NULL, false);
	st_tar_entry(&tb, "run/fifo", AE_IFIFO, 0600, NULL, 0, NULL, false);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "dev/null");
	archive_entry_set_filetype(e, AE_IFCHR);
	archive_entry_set_perm(e, 0666);
	archive_entry_set_rdevmajor(e, 1);
	archive_entry_set_rdevminor(e, 3);
	archive_write_header(tb.a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "xattr");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	archive_entry_set_uid(e, 1234);
	archive_entry_set_gid(e, 5678);
	archive_entry_xattr_add_entry(e, "user.berth", "yes", 3);
	archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
	archive_write_header(tb.a, e);
	archive_entry_free(e);
	/* a symlink to an outside file replaced by a regular file of the same name */
	st_tar_symlink(&tb, "etc/secret", "/etc/passwd");
	st_tar_file(&tb, "etc/secret", "mine\n");
	st_tar_end(&tb);

	char *dir = mkdir_in_root("types");
	struct berth_tar_apply_result res;
	struct berth_error err = {0};
	int rc = apply_buf(dir, &b, BERTH_WHITEOUT_OVERLAY, &res, &err);
	TAP_OK(&t, rc == 0, "types layer applies %s", rc ? err.msg : "");
	struct stat a, c;
	char *p1 = berth_strdup_printf("%s/data/one", dir), *p2 = berth_strdup_printf("%s/data/two", dir);
	TAP_OK(&t, stat(p1, &a) == 0 && stat(p2, &c) == 0 && a.st_ino == c.st_ino && a.st_nlink == 2,
	       "hard link shares the inode");
	char *p3 = berth_strdup_printf("%s/bin/suid", dir);
	TAP_OK(&t, stat(p3, &a) == 0 && (a.st_mode & 07777) == 04755, "setuid mode kept");
	char *p4 = berth_strdup_printf("%s/run/fifo", dir);
	TAP_OK(&t, lstat(p4, &a) == 0 && S_ISFIFO(a.st_mode), "fifo created");
	char *p5 = berth_strdup_printf("%s/dev/null", dir);
	TAP_OK(&t, lstat(p5, &a) == 0 && S_ISCHR(a.st_mode) && a.st_rdev == makedev(1, 3), "char device 1:3 created");
	char *p6 = berth_strdup_printf("%s/xattr", dir);
	char v[16] = {0};
	TAP_OK(&t, lstat(p6, &a) == 0 && a.st_uid == 1234 && a.st_gid == 5678, "owner kept");
	TAP_OK(&t, lgetxattr(p6, "user.berth", v, sizeof(v)) == 3 && !memcmp(v, "yes", 3), "user xattr kept");
	TAP_OK(&t, lgetxattr(p6, "trusted.overlay.redirect", v, sizeof(v)) < 0, "trusted.overlay.* xattr dropped");
	TAP_OK(&t, lstat(dir, &a) == 0 && (a.st_mode & 07777) == 0711, "root entry mode applied");
	TAP_OK(&t, file_is(dir, "etc/secret", "mine\n") && canary_intact(), "symlink replaced by a file, not followed");
	TAP_OK(&t, res.entries == 9 && res.size == (int64_t)strlen("linked\n") + 1 + 5 + strlen("/etc/passwd"),
	       "entries %lld size %lld", (long long)res.entries, (long long)res.size);

	/* a tar writing the same file twice applies (last wins) and is still rebuilt exactly */
	struct berth_buf d = {0};
	st_tar_begin(&tb, &d);
	st_tar_file(&tb, "twice", "first\n");
	st_tar_file(&tb, "twice", "second\n");
	st_tar_end(&tb);
	char *dd = mkdir_in_root("twice");
	char *tsp = berth_strdup_printf("%s/twice.ts", root);
	int fd = open(dd, O_RDONLY | O_DIRECTORY);
	struct st_mem m = {.data = (const unsigned char *)d.data, .len = d.len};
	struct berth_reader r = st_mem_reader(&m);
	struct berth_tar_apply_opts o = {.whiteout = BERTH_WHITEOUT_OVERLAY, .tarsplit_path = tsp};
	rc = berth_tar_apply(fd, &r, &o, &res, &err);
	close(fd);
	TAP_OK(&t, rc == 0 && file_is(dd, "twice", "second\n") && res.exact_record && access(tsp, F_OK) == 0,
	       "duplicate file: applied, last wins, exact record kept");
	struct berth_buf rebuilt = {0};
	struct berth_writer w = st_buf_writer(&rebuilt);
	fd = open(dd, O_RDONLY | O_DIRECTORY);
	rc = berth_tarsplit_export(tsp, fd, res.diff_id, &w, &err);
	close(fd);
	TAP_OK(&t, rc == 0 && rebuilt.len == d.len && !memcmp(rebuilt.data, d.data, d.len),
	       "duplicate file: exported byte for byte");
	berth_buf_free(&rebuilt);
	char *dup = berth_strdup_printf("%s" BERTH_TARSPLIT_DUP_SUFFIX, tsp);
	berth_rm_rf(dup, NULL);
	unlink(tsp);
	free(dup);
	free(tsp);
	free(dd);
	berth_buf_free(&d);
	berth_buf_free(&b);
	free(dir);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	free(p5);
	free(p6);
}

/* docker joins an absolute member name to the layer root: it lands inside. */
static void test_absolute_inside(void)
{
	struct berth_buf b = {0};
	h_absolute(&b);
	char *dir = berth_strdup_printf("%s/abs", root);
	berth_mkdir_p(dir, 0755, NULL);
	struct berth_tar_apply_result res;
	struct berth_error err = {0};
	int rc = apply_buf(dir, &b, BERTH_WHITEOUT_DELETE, &res, &err);
	char *inside = berth_strdup_printf("%s%s/absolute", dir, canary);
	TAP_OK(&t, rc == 0 && access(inside, F_OK) == 0 && canary_intact(),
	       "absolute member name lands below the root, nothing outside %s", rc ? err.msg : "");
	berth_rm_rf(dir, NULL);
	free(inside);
	free(dir);
	berth_buf_free(&b);
}

/* --userns-remap: owners shift into the host range, and parents the tar only
 * implies (no entry of their own) belong to the remapped root, not host root. */
static void test_remap_implied_parents(void)
{
	struct berth_idmap m = {.nuid = 1, .ngid = 1};
	m.uids[0] = (struct berth_idrange){.container = 0, .host = 200000, .size = 65536};
	m.gids[0] = (struct berth_idrange){.container = 0, .host = 300000, .size = 65536};
	struct berth_buf b = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &b);
	st_tar_file(&tb, "a/b/c", "implied\n");
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "x/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0750);
	archive_entry_set_uid(e, 5);
	archive_entry_set_gid(e, 6);
	archive_write_header(tb.a, e);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "x/y/z");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 1000);
	archive_write_header(tb.a, e);
	archive_entry_free(e);
	st_tar_end(&tb);

	char *dir = mkdir_in_root("remap");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct st_mem mem = {.data = (const unsigned char *)b.data, .len = b.len};
	struct berth_reader r = st_mem_reader(&mem);
	struct berth_tar_apply_opts o = {.whiteout = BERTH_WHITEOUT_OVERLAY, .idmap = &m};
	struct berth_tar_apply_result res;
	struct berth_error err = {0};
	int rc = berth_tar_apply(fd, &r, &o, &res, &err);
	close(fd);
	TAP_OK(&t, rc == 0, "remapped layer applies %s", rc ? err.msg : "");
	static const struct {
		const char *rel;
		uid_t uid;
		gid_t gid;
	} want[] = {{"a", 200000, 300000}, {"a/b", 200000, 300000}, {"a/b/c", 200000, 300000},
		    {"x", 200005, 300006}, {"x/y", 200000, 300000}, {"x/y/z", 201000, 301000}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *p = berth_strdup_printf("%s/%s", dir, want[i].rel);
		struct stat st;
		TAP_OK(&t, lstat(p, &st) == 0 && st.st_uid == want[i].uid && st.st_gid == want[i].gid,
		       "remap: %s owned by %u:%u (is %u:%u)", want[i].rel, (unsigned)want[i].uid, (unsigned)want[i].gid,
		       (unsigned)st.st_uid, (unsigned)st.st_gid);
		free(p);
	}
	berth_rm_rf(dir, NULL);
	free(dir);
	berth_buf_free(&b);
}

static void test_path_clean(void)
{
	struct {
		const char *in, *out;
	} cases[] = {{"./a/b/", "a/b"},
		     {"a//b/./c", "a/b/c"},
		     {"a/../b", "b"},
		     {"./", ""},
		     {".", ""},
		     {"a/b/../../c", "c"},
		     {"../a", NULL},
		     {"a/../../b", NULL},
		     {"/etc/passwd", NULL},
		     {"..", NULL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = berth_path_clean(cases[i].in);
		bool ok = cases[i].out ? got && !strcmp(got, cases[i].out) : got == NULL;
		TAP_OK(&t, ok, "clean \"%s\" -> %s", cases[i].in, got ? got : "(refused)");
		free(got);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP storage tests need root\n");
		return 0;
	}
	root = st_make_root("tar-test");
	snprintf(canary, sizeof(canary), "%s/canary", root);
	char *secret = berth_strdup_printf("%s/secret", canary);
	berth_mkdir_p(canary, 0755, NULL);
	berth_write_file_atomic(secret, "secret\n", 7, 0644, NULL);
	free(secret);
	test_path_clean();
	test_absolute_inside();
	test_hostile_store("overlay2");
	test_hostile_store("vfs");
	test_whiteouts();
	test_types();
	test_remap_implied_parents();
	TAP_OK(&t, !st_is_mounted_below(root), "no mounts left");
	return TAP_DONE(&t);
}
