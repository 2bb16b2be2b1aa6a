/* Layer formats, shared by every driver: gzip / zstd / bzip2 / xz layers give
 * the diff ID of the plain tar; absolute member names land below the root as
 * docker puts them; a layer writing the same path twice applies as docker
 * applies it and still exports byte for byte; AUFS whiteouts (.wh.<name>,
 * .wh..wh..opq) are converted on apply and back on export.
 * Drivers: overlay2, vfs, and btrfs on a loop filesystem when mkfs.btrfs
 * exists. Runs as root; everything lives under a temp root removed at exit. */
#include <bzlib.h>
#include <lzma.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "storage/driver.h"
#include "storage/layer_store.h"
#include "tap.h"
#include "test_storage_util.h"

static struct tap t;

static void st_bzip2(const struct berth_buf *in, struct berth_buf *out)
{
	unsigned cap = (unsigned)(in->len + in->len / 100 + 1024);
	out->data = malloc(cap);
	out->cap = cap;
	BZ2_bzBuffToBuffCompress(out->data, &cap, in->data, (unsigned)in->len, 9, 0, 0);
	out->len = cap;
}

static void st_xz(const struct berth_buf *in, struct berth_buf *out)
{
	size_t cap = lzma_stream_buffer_bound(in->len), pos = 0;
	out->data = malloc(cap);
	out->cap = cap;
	lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)in->data, in->len, (uint8_t *)out->data,
				&pos, cap);
	out->len = pos;
}

static int reg(struct berth_layer_store *ls, const char *parent, const struct berth_buf *b,
	       struct berth_layer_info *info, struct berth_error *err)
{
	struct st_mem m = {.data = (const unsigned char *)b->data, .len = b->len, .chunk = 5000};
	struct berth_reader r = st_mem_reader(&m);
	return berth_layer_register(ls, parent, &r, NULL, info, err);
}

static bool export_equals(struct berth_layer_store *ls, const char *chain, const struct berth_buf *want)
{
	struct berth_buf out = {0};
	struct berth_writer w = st_buf_writer(&out);
	struct berth_error err = {0};
	int rc = berth_layer_export(ls, chain, &w, &err);
	bool eq = rc == 0 && out.len == want->len && memcmp(out.data, want->data, out.len) == 0;
	if (rc < 0)
		printf("#   export: %s\n", err.msg);
	free(out.data);
	return eq;
}

static bool file_is(const char *root, const char *rel, const char *content)
{
	char *p = berth_strdup_printf("%s/%s", root, rel);
	char *data = NULL;
	size_t len = 0;
	bool ok = berth_read_file(p, &data, &len, 1 << 20, NULL) == 0 && len == strlen(content) &&
		  memcmp(data, content, len) == 0;
	free(data);
	free(p);
	return ok;
}

static bool exists(const char *root, const char *rel)
{
	char *p = berth_strdup_printf("%s/%s", root, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static void test_compression(struct berth_layer_store *ls, const char *drv)
{
	struct berth_buf plain = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &plain);
	st_tar_dir(&tb, "etc");
	st_tar_file(&tb, "etc/motd", "compressed layers\n");
	char big[20000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + (i * 7 + i / 13) % 26);
	big[sizeof(big) - 1] = '\0';
	st_tar_file(&tb, "big", big);
	st_tar_end(&tb);
	struct berth_error err = {0};
	struct berth_layer_info base;
	TAP_OK(&t, reg(ls, NULL, &plain, &base, &err) == 0, "[%s] plain layer %s", drv, err.msg);
	struct berth_buf c[4] = {0};
	st_gzip(&plain, &c[0]);
	st_zstd(&plain, &c[1]);
	st_bzip2(&plain, &c[2]);
	st_xz(&plain, &c[3]);
	const char *names[] = {"gzip", "zstd", "bzip2", "xz"};
	for (int i = 0; i < 4; i++) {
		struct berth_layer_info info;
		berth_err_clear(&err);
		int rc = reg(ls, NULL, &c[i], &info, &err);
		TAP_OK(&t, rc == 0, "[%s] %s layer registers %s", drv, names[i], rc ? err.msg : "");
		TAP_STREQ(&t, rc == 0 ? info.diff_id : "", base.diff_id, "[%s] %s layer has the plain tar's diff id",
			  drv, names[i]);
		if (rc == 0)
			berth_layer_release(ls, info.chain_id, NULL, NULL);
		free(c[i].data);
	}
	/* a truncated xz stream is refused */
	struct berth_buf x = {0};
	st_xz(&plain, &x);
	x.len /= 2;
	struct berth_layer_info info;
	berth_err_clear(&err);
	TAP_OK(&t, reg(ls, NULL, &x, &info, &err) < 0 && err.kind == BERTH_E_INVALID, "[%s] truncated xz refused: %s",
	       drv, err.msg);
	free(x.data);
	TAP_OK(&t, export_equals(ls, base.chain_id, &plain), "[%s] export gives the plain tar", drv);
	berth_layer_release(ls, base.chain_id, NULL, NULL);
	free(plain.data);
}

/* Mount a container layer on chain and return its rootfs. */
static char *mount_on(struct berth_layer_store *ls, const char *id, const char *chain)
{
	struct berth_error err = {0};
	char *rootfs = NULL;
	if (berth_rwlayer_create(ls, id, chain, &err) < 0 || berth_rwlayer_mount(ls, id, &rootfs, &err) < 0) {
		printf("#   mount %s: %s\n", id, err.msg);
		return NULL;
	}
	return rootfs;
}

static void unmount_rm(struct berth_layer_store *ls, const char *id)
{
	berth_rwlayer_unmount(ls, id, NULL);
	berth_rwlayer_remove(ls, id, NULL);
}

static void test_absolute(struct berth_layer_store *ls, const char *drv)
{
	struct berth_buf tar = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &tar);
	st_tar_dir(&tb, "/etc");
	st_tar_file(&tb, "/etc/abs", "absolute\n");
	st_tar_file(&tb, "/../top", "top\n");
	st_tar_hardlink(&tb, "/etc/abs-link", "/etc/abs");
	st_tar_end(&tb);
	struct berth_error err = {0};
	struct berth_layer_info info;
	int rc = reg(ls, NULL, &tar, &info, &err);
	TAP_OK(&t, rc == 0, "[%s] layer with absolute names registers %s", drv, rc ? err.msg : "");
	if (rc == 0) {
		char *root = mount_on(ls, "abs-test", info.chain_id);
		TAP_OK(&t,
		       root && file_is(root, "etc/abs", "absolute\n") && file_is(root, "top", "top\n") &&
			       file_is(root, "etc/abs-link", "absolute\n"),
		       "[%s] absolute names land below the root as docker puts them", drv);
		free(root);
		unmount_rm(ls, "abs-test");
		TAP_OK(&t, export_equals(ls, info.chain_id, &tar), "[%s] export is byte-identical", drv);
		berth_layer_release(ls, info.chain_id, NULL, NULL);
	}
	/* a relative escape is still refused */
	struct berth_buf bad = {0};
	st_tar_begin(&tb, &bad);
	st_tar_file(&tb, "../escape", "x");
	st_tar_end(&tb);
	berth_err_clear(&err);
	TAP_OK(&t, reg(ls, NULL, &bad, &info, &err) < 0 && err.kind == BERTH_E_INVALID, "[%s] ../escape refused: %s",
	       drv, err.msg);
	free(bad.data);
	free(tar.data);
}

static void test_duplicate(struct berth_layer_store *ls, const char *drv)
{
	struct berth_buf tar = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &tar);
	st_tar_file(&tb, "a", "first version\n");
	st_tar_file(&tb, "b", "b content\n");
	st_tar_dir(&tb, "d");
	st_tar_file(&tb, "d/x", "inside d\n");
	st_tar_file(&tb, "a", "second, longer version\n");
	st_tar_file(&tb, "d", "d is now a file\n");
	st_tar_file(&tb, ".wh.b", "");
	st_tar_end(&tb);
	struct berth_error err = {0};
	struct berth_layer_info info;
	int rc = reg(ls, NULL, &tar, &info, &err);
	TAP_OK(&t, rc == 0, "[%s] layer writing paths twice registers %s", drv, rc ? err.msg : "");
	if (rc < 0) {
		free(tar.data);
		return;
	}
	char *root = mount_on(ls, "dup-test", info.chain_id);
	TAP_OK(&t,
	       root && file_is(root, "a", "second, longer version\n") && file_is(root, "d", "d is now a file\n") &&
		       !exists(root, "b"),
	       "[%s] the last entry wins, as docker applies it", drv);
	free(root);
	unmount_rm(ls, "dup-test");
	TAP_OK(&t, export_equals(ls, info.chain_id, &tar), "[%s] export after the duplicate paths is byte-identical",
	       drv);
	berth_layer_release(ls, info.chain_id, NULL, NULL);
	free(tar.data);
}

static bool tar_has(const struct berth_buf *tar, const char *name)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	bool found = false;
	if (archive_read_open_memory(a, tar->data, tar->len) == ARCHIVE_OK) {
		struct archive_entry *e;
		while (archive_read_next_header(a, &e) == ARCHIVE_OK)
			if (!strcmp(archive_entry_pathname(e), name))
				found = true;
	}
	archive_read_free(a);
	return found;
}

/* l1, then l2 on top of it */
static int reg_two(struct berth_layer_store *ls, const char *drv, const char *what, const struct berth_buf *l1,
		   const struct berth_buf *l2, struct berth_layer_info *i1, struct berth_layer_info *i2)
{
	struct berth_error err = {0};
	int rc = reg(ls, NULL, l1, i1, &err);
	if (rc == 0)
		rc = reg(ls, i1->chain_id, l2, i2, &err);
	TAP_OK(&t, rc == 0, "[%s] %s register %s", drv, what, rc ? err.msg : "");
	return rc;
}

static void test_whiteouts(struct berth_layer_store *ls, const char *drv)
{
	struct berth_buf l1 = {0}, l2 = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &l1);
	st_tar_dir(&tb, "d");
	st_tar_file(&tb, "d/x", "x\n");
	st_tar_file(&tb, "d/y", "y\n");
	st_tar_file(&tb, "f", "f\n");
	st_tar_file(&tb, "g", "g\n");
	st_tar_dir(&tb, "keep");
	st_tar_file(&tb, "keep/k", "k\n");
	st_tar_end(&tb);
	st_tar_begin(&tb, &l2);
	st_tar_file(&tb, ".wh.f", "");
	st_tar_dir(&tb, "d");
	st_tar_file(&tb, "d/.wh..wh..opq", "");
	st_tar_file(&tb, "d/z", "z\n");
	st_tar_end(&tb);
	struct berth_error err = {0};
	struct berth_layer_info i1, i2;
	if (reg_two(ls, drv, "layers with AUFS whiteouts", &l1, &l2, &i1, &i2) < 0)
		goto out;
	char *root = mount_on(ls, "wh-test", i2.chain_id);
	TAP_OK(&t,
	       root && !exists(root, "f") && file_is(root, "g", "g\n") && file_is(root, "d/z", "z\n") &&
		       !exists(root, "d/x") && !exists(root, "d/y") && file_is(root, "keep/k", "k\n"),
	       "[%s] .wh.f deletes f, .wh..wh..opq hides the lower d", drv);
	TAP_OK(&t, export_equals(ls, i2.chain_id, &l2), "[%s] the whiteout layer exports byte-identical", drv);
	/* container changes: delete g and keep/k, replace keep by an opaque dir */
	if (root) {
		char *p = berth_strdup_printf("%s/g", root);
		unlink(p);
		free(p);
		p = berth_strdup_printf("%s/keep", root);
		berth_rm_rf(p, NULL);
		mkdir(p, 0755);
		free(p);
		p = berth_strdup_printf("%s/keep/new", root);
		berth_write_file_atomic(p, "new\n", 4, 0644, NULL);
		free(p);
	}
	struct berth_buf diff = {0};
	struct berth_writer w = st_buf_writer(&diff);
	berth_err_clear(&err);
	int rc = berth_rwlayer_export_diff(ls, "wh-test", &w, &err);
	TAP_OK(&t, rc == 0 && tar_has(&diff, ".wh.g") && tar_has(&diff, "keep/new") && !tar_has(&diff, "keep/k"),
	       "[%s] container export has the AUFS whiteout .wh.g %s", drv, rc ? err.msg : "");
	TAP_OK(&t, rc == 0 && (tar_has(&diff, "keep/.wh..wh..opq") || tar_has(&diff, "keep/.wh.k")),
	       "[%s] replaced directory exported with an AUFS whiteout", drv);
	free(root);
	unmount_rm(ls, "wh-test");
	struct berth_layer_info i3;
	berth_err_clear(&err);
	rc = rc == 0 ? reg(ls, i2.chain_id, &diff, &i3, &err) : -1;
	TAP_OK(&t, rc == 0, "[%s] commit the container diff %s", drv, rc ? err.msg : "");
	if (rc == 0) {
		root = mount_on(ls, "wh-test2", i3.chain_id);
		TAP_OK(&t,
		       root && !exists(root, "g") && !exists(root, "f") && file_is(root, "keep/new", "new\n") &&
			       !exists(root, "keep/k") && file_is(root, "d/z", "z\n"),
		       "[%s] committed whiteouts apply", drv);
		free(root);
		unmount_rm(ls, "wh-test2");
		TAP_OK(&t, export_equals(ls, i3.chain_id, &diff), "[%s] committed layer exports byte-identical", drv);
		berth_layer_release(ls, i3.chain_id, NULL, NULL);
	}
	free(diff.data);
	berth_layer_release(ls, i2.chain_id, NULL, NULL);
	berth_layer_release(ls, i1.chain_id, NULL, NULL);
out:
	free(l1.data);
	free(l2.data);
}

/* The daemon's --storage-opt list, checked per driver with docker 20.10's
 * wording; a list with one bad option changes nothing. */
struct opt_case {
	const char *drv; /* NULL: every driver */
	const char *opts[3];
	const char *want; /* NULL: accepted; else a part of the error */
};

static const struct opt_case opt_cases[] = {
	{NULL, {"novalue"}, "Unable to parse key/value option: novalue"},
	{"btrfs", {"foo=bar"}, "Unknown option foo"},
	{"btrfs", {"btrfs.min_space=abc"}, "invalid size: 'abc'"},
	{"btrfs", {"btrfs.min_space=1G", "overlay2.size=1G"}, "Unknown option overlay2.size"},
	{"btrfs", {"BTRFS.MIN_SPACE=0"}, NULL},
	{"overlay2", {"foo=1"}, "overlay2: unknown option foo"},
	{"overlay2", {"overlay2.override_kernel_check=maybe"}, "strconv.ParseBool: parsing \"maybe\": invalid syntax"},
	{"overlay2", {"overlay2.override_kernel_check=true"}, NULL},
	{"overlay2", {"overlay2.size=10M"}, "Storage Option overlay2.size only supported for backingFS XFS. Found "},
	{"overlay2", {"overlay2.size=1x"}, "invalid size: '1x'"},
	{"vfs", {"foo=1"}, "unknown option foo for vfs"},
	{"vfs", {"Size=10M"}, "unknown option Size for vfs"},
	{"vfs", {"size=10M"}, "Filesystem does not support, or has not enabled quotas"},
	{"vfs", {"size=0"}, NULL},
};

static void test_daemon_opts(struct berth_layer_store *ls, const char *drv)
{
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];
		if (c->drv && strcmp(c->drv, drv) != 0)
			continue;
		struct berth_error err = {0};
		int rc = berth_layer_store_set_options(ls, (char *const *)c->opts, &err);
		TAP_OK(&t, c->want ? rc < 0 && strstr(err.msg, c->want) != NULL : rc == 0, "[%s] storage-opts %s: %s",
		       drv, c->opts[0], c->want ? err.msg : "accepted");
	}
	/* nothing of a refused list took effect: no default size, no min_space */
	struct berth_error err = {0};
	json_t *none = json_object();
	TAP_OK(&t, berth_rwlayer_create_opts(ls, "opt-none", NULL, none, &err) == 0,
	       "[%s] refused lists changed nothing %s", drv, err.msg);
	berth_rwlayer_remove(ls, "opt-none", NULL);
	json_decref(none);
}

static void test_storage_opts(struct berth_layer_store *ls, const char *drv)
{
	struct berth_error err = {0};
	json_t *bad = json_pack("{s:s}", "nosuch", "1");
	TAP_OK(&t,
	       berth_rwlayer_create_opts(ls, "opt-test", NULL, bad, &err) < 0 &&
		       strstr(err.msg, "Unknown option nosuch"),
	       "[%s] unknown storage opt refused: %s", drv, err.msg);
	json_decref(bad);
	bool btrfs = !strcmp(drv, "btrfs");
	test_daemon_opts(ls, drv);
	berth_err_clear(&err);
	char *min_space[] = {"btrfs.min_space=20M", NULL};
	int rc = berth_layer_store_set_options(ls, min_space, &err);
	TAP_OK(&t, btrfs ? rc == 0 : rc < 0, "[%s] btrfs.min_space %s %s", drv, btrfs ? "taken" : "refused", err.msg);
	json_t *small = json_pack("{s:s}", "size", "10M");
	berth_err_clear(&err);
	rc = berth_rwlayer_create_opts(ls, "opt-test", NULL, small, &err);
	TAP_OK(&t,
	       rc < 0 && (btrfs ? strstr(err.msg, "btrfs: storage size cannot be less than 20.97MB") != NULL :
				  strstr(err.msg, "--storage-opt") != NULL),
	       "[%s] size=10M refused: %s", drv, err.msg);
	json_decref(small);
	char path[512];
	snprintf(path, sizeof(path), "%s", "opt-test");
	TAP_OK(&t, berth_rwlayer_image(ls, path, (char[BERTH_DIGEST_LEN + 1]){0}, NULL) < 0,
	       "[%s] a refused container layer leaves nothing", drv);
}

/* berth_layer_path_mode: a path's type read from the layers' directories
 * (whiteouts, opaque directories, symlinks inside the root) */
static void test_path_mode(struct berth_layer_store *ls, const char *drv)
{
	/* name, kind ('d' directory, 'f' file, 'l' symlink), content or target; "-" between the layers */
	static const char *const ents[][3] = {{"d", "d", ""},
					      {"d/x", "f", "x"},
					      {"f", "f", "f"},
					      {"g", "f", "g"},
					      {"h", "d", ""},
					      {"keep", "d", ""},
					      {"keep/k", "f", "k"},
					      {"abs", "l", "/keep"},
					      {"rel", "l", "keep"},
					      {"loop", "l", "loop"},
					      {"esc", "l", "../../../.."},
					      {"opt", "d", ""},
					      {"opt/bin", "d", ""},
					      {"usr", "d", ""},
					      {"usr/local", "l", "../opt"},
					      {"-", "", ""},
					      {".wh.f", "f", ""},
					      {"d", "d", ""},
					      {"d/.wh..wh..opq", "f", ""},
					      {"d/z", "f", "z"},
					      {"g", "d", ""},
					      {"h", "f", "h"},
					      {"lnk", "l", "d"}};
	struct berth_buf l1 = {0}, l2 = {0};
	struct st_tar tb;
	st_tar_begin(&tb, &l1);
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if (!strcmp(ents[i][0], "-")) {
			st_tar_end(&tb);
			st_tar_begin(&tb, &l2);
		} else if (ents[i][1][0] == 'd')
			st_tar_dir(&tb, ents[i][0]);
		else if (ents[i][1][0] == 'f')
			st_tar_file(&tb, ents[i][0], ents[i][2]);
		else
			st_tar_symlink(&tb, ents[i][0], ents[i][2]);
	}
	st_tar_end(&tb);
	struct berth_error err = {0};
	struct berth_layer_info i1, i2;
	if (reg_two(ls, drv, "path mode layers", &l1, &l2, &i1, &i2) < 0)
		goto out;
	static const struct {
		const char *path;
		int want; /* 0 missing, 'd' directory, 'f' file */
	} cases[] = {
		{"/", 'd'},           {"/d", 'd'},     {"/d/x", 0},         {"/d/z", 'f'},           {"/f", 0},
		{"/f/x", 0},          {"/g", 'd'},     {"/h", 'f'},         {"/abs", 'd'},           {"/abs/k", 'f'},
		{"/rel/k", 'f'},      {"/loop", 0},    {"/usr/local", 'd'}, {"/usr/local/bin", 'd'}, {"/esc", 'd'},
		{"/esc/keep/k", 'f'}, {"/lnk/z", 'f'}, {"/d/../keep", 'd'}, {"/../../keep", 'd'},    {"/nope", 0},
		{"/usr/nope/..", 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mode_t m = 0;
		int r = berth_layer_path_mode(ls, i2.chain_id, cases[i].path, &m, &err);
		int got = r < 0 ? -1 : r == 0 ? 0 : S_ISDIR(m) ? 'd' : S_ISREG(m) ? 'f' : '?';
		TAP_OK(&t, got == cases[i].want, "[%s] path mode of %s: %c (want %c)", drv, cases[i].path,
		       got > 0  ? got :
		       got == 0 ? '-' :
				  '!',
		       cases[i].want ? cases[i].want : '-');
	}
	mode_t m = 0;
	TAP_OK(&t, berth_layer_path_mode(ls, i1.chain_id, "/f", &m, &err) == 1 && S_ISREG(m),
	       "[%s] the lower layer alone still has /f", drv);
	/* open_file: the file the path leads to, from the layer that has it */
	static const char *const files[][2] = {
		{"/abs/k", "k"}, {"/lnk/z", "z"}, {"/h", "h"}, {"/d", NULL}, {"/f", NULL}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = -1;
		int r = berth_layer_open_file(ls, i2.chain_id, files[i][0], &fd, &err);
		char buf[16] = "";
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		bool ok = files[i][1] ?
				  r == 1 && n == (ssize_t)strlen(files[i][1]) && !memcmp(buf, files[i][1], (size_t)n) :
				  r == 0 && fd < 0;
		TAP_OK(&t, ok, "[%s] open_file %s: %d", drv, files[i][0], r);
	}
	berth_layer_release(ls, i2.chain_id, NULL, NULL);
	berth_layer_release(ls, i1.chain_id, NULL, NULL);
out:
	berth_buf_free(&l1);
	berth_buf_free(&l2);
}

static void run_driver(const char *base, const char *drv)
{
	char *dr = berth_strdup_printf("%s/%s", base, drv);
	berth_mkdir_p(dr, 0700, NULL);
	struct berth_db *db = st_open_db(dr);
	struct berth_error err = {0};
	struct berth_layer_store *ls = berth_layer_store_open(dr, drv, db, &err);
	TAP_OK(&t, ls != NULL, "[%s] open store %s", drv, ls ? "" : err.msg);
	if (ls) {
		test_compression(ls, drv);
		test_absolute(ls, drv);
		test_duplicate(ls, drv);
		test_whiteouts(ls, drv);
		test_path_mode(ls, drv);
		TAP_OK(&t, berth_layer_store_total_size(ls) == 0, "[%s] every layer released", drv);
		test_storage_opts(ls, drv);
	}
	berth_layer_store_close(ls);
	berth_db_close(db);
	free(dr);
}

/* A btrfs loop filesystem below root (NULL when mkfs.btrfs is missing). */
static char *make_btrfs(const char *root)
{
	if (access("/usr/sbin/mkfs.btrfs", X_OK) != 0 && access("/sbin/mkfs.btrfs", X_OK) != 0)
		return NULL;
	char *img = berth_strdup_printf("%s/btrfs.img", root);
	char *mnt = berth_strdup_printf("%s/btrfs", root);
	char *cmd = berth_strdup_printf("truncate -s 300M %s && mkfs.btrfs -q %s >/dev/null 2>&1 && mkdir -p %s && "
					"mount -o loop %s %s",
					img, img, mnt, img, mnt);
	int rc = system(cmd);
	free(cmd);
	free(img);
	if (rc != 0) {
		free(mnt);
		return NULL;
	}
	return mnt;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP storage tests need root\n");
		return 0;
	}
	const char *root = st_make_root("storage-formats");
	run_driver(root, "overlay2");
	run_driver(root, "vfs");
	char *bt = make_btrfs(root);
	if (bt && berth_graph_driver_lookup("btrfs") && berth_graph_driver_lookup("btrfs")->init)
		run_driver(bt, "btrfs");
	else
		printf("# btrfs: skipped (no mkfs.btrfs, no loop device or no btrfs driver)\n");
	free(bt);
	st_cleanup_root(root);
	TAP_OK(&t, !st_is_mounted_below(root), "no mounts left under the test root");
	return TAP_DONE(&t);
}
