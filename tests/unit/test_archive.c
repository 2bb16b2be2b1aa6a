/* archive/ (and daemon/archive's stat header): docker's cp path rules, the stat header, tar out of and into
 * a root through fds, and that nothing ever leaves the root (symlinks to "/"
 * and "../..", tar path escapes, a directory swapped for a symlink mid-copy). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/archive.h"
#include "tap.h"

static struct tap T;
#define RT(fd_) (&(struct berth_root){.fd = (fd_)})
#define rstat(root, path, ctr, st, err) berth_root_stat(RT(root), path, ctr, st, err)
static char tmp[256];

/* ------------------------------------------------------------- helpers */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int buf_write(void *ctx, const void *data, size_t len) { return berth_buf_append(ctx, data, len); }

/* "name type[ -> link]" lines of a tar in memory, in order. */
static char *list_tar(const struct berth_buf *b)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	struct berth_buf out = {0};
	if (archive_read_open_memory(a, b->data ? b->data : "", b->len) != ARCHIVE_OK) {
		archive_read_free(a);
		return strdup("(bad tar)");
	}
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char t = '?';
		switch (archive_entry_filetype(e)) {
		case AE_IFDIR: t = 'd'; break;
		case AE_IFREG: t = 'f'; break;
		case AE_IFLNK: t = 'l'; break;
		case AE_IFIFO: t = 'p'; break;
		case AE_IFCHR: t = 'c'; break;
		default: break;
		}
		if (archive_entry_hardlink(e))
			t = 'h';
		berth_buf_printf(&out, "%s %c", archive_entry_pathname(e), t);
		if (archive_entry_symlink(e))
			berth_buf_printf(&out, " -> %s", archive_entry_symlink(e));
		if (archive_entry_hardlink(e))
			berth_buf_printf(&out, " => %s", archive_entry_hardlink(e));
		berth_buf_printf(&out, "\n");
	}
	archive_read_free(a);
	return berth_buf_steal(&out);
}

/* A tar in memory from (name, type, content-or-target) triples. */
struct tent {
	const char *name;
	char type; /* f d l h */
	const char *data;
};
static void make_tar(struct berth_buf *b, const struct tent *v, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	size_t used = 0;
	size_t cap = 1 << 20;
	char *mem = malloc(cap);
	archive_write_open_memory(a, mem, cap, &used);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, v[i].name);
		archive_entry_set_mtime(e, 1700000000, 0);
		if (v[i].type == 'd') {
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
		} else if (v[i].type == 'l') {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, v[i].data);
		} else if (v[i].type == 'h') {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, v[i].data);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0640);
			archive_entry_set_uid(e, 1234);
			archive_entry_set_gid(e, 5678);
			archive_entry_set_size(e, (la_int64_t)strlen(v[i].data));
		}
		archive_write_header(a, e);
		if (v[i].type == 'f')
			archive_write_data(a, v[i].data, strlen(v[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	b->len = 0;
	berth_buf_append(b, mem, used);
	free(mem);
}

static int open_root(const char *sub)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmp, sub);
	return open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static bool exists(const char *fmt, const char *a)
{
	char p[512];
	snprintf(p, sizeof(p), fmt, tmp, a);
	struct stat st;
	return lstat(p, &st) == 0;
}

static char *read_text(const char *rel)
{
	char p[512], *data = NULL;
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	if (berth_read_file(p, &data, NULL, 1 << 20, NULL) < 0)
		return NULL;
	return data;
}

/* ------------------------------------------------------------ path rules */

static void test_path_rules(void)
{
	struct {
		const char *in, *want;
	} clean[] = {{"", "."},       {"/", "/"},           {"//a//b/", "/a/b"},    {"a/../..", ".."},
		     {"/../x", "/x"}, {"./a/./b/.", "a/b"}, {"../../x", "../../x"}, {"a/b/../../../c", "../c"}};
	for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
		char *c = berth_cp_clean(clean[i].in);
		TAP_STREQ(&T, c, clean[i].want, "clean(\"%s\")", clean[i].in);
		free(c);
	}
	struct {
		const char *in, *want;
	} abs[] = {{"etc/passwd", "/etc/passwd"}, {"/etc/", "/etc/"}, {"/etc/.", "/etc/."},  {"/", "/"},
		   {"/a/../../b/", "/b/"},        {".", "/."},        {"/etc/./", "/etc/./"}};
	for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++) {
		char *c = berth_cp_container_abs(abs[i].in);
		TAP_STREQ(&T, c, abs[i].want, "container abs(\"%s\")", abs[i].in);
		free(c);
	}
	struct {
		const char *in, *dir, *base;
	} split[] = {{"/a/b/.", "/a/b", "."}, {"/", "/", "/"}, {"a", ".", "a"}, {"/a/b/", "/a", "b"}, {"/a", "/", "a"}};
	for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++) {
		char *d = NULL, *b = NULL;
		berth_cp_split(split[i].in, &d, &b);
		TAP_OK(&T, d && b && !strcmp(d, split[i].dir) && !strcmp(b, split[i].base), "split(\"%s\") = %s, %s",
		       split[i].in, d ? d : "?", b ? b : "?");
		free(d);
		free(b);
	}
}

static void test_stat_header(void)
{
	TAP_OK(&T, berth_go_filemode(S_IFDIR | 0755) == 2147484141u, "dir mode as Go's FileMode");
	TAP_OK(&T, berth_go_filemode(S_IFLNK | 0777) == 134218239u, "symlink mode as Go's FileMode");
	TAP_OK(&T, berth_go_filemode(S_IFIFO | 0644) == 33554852u, "fifo mode as Go's FileMode");
	TAP_OK(&T, berth_go_filemode(S_IFCHR | 0644) == 69206436u, "char device mode as Go's FileMode");
	struct berth_path_stat st = {
		.name = "passwd", .size = 75, .mode = 420, .mtime_ns = 1704067200000000000LL, .link_target = ""};
	char *enc = berth_path_stat_encode(&st);
	/* bytes dockerd 20.10 sends for busybox's /etc/passwd */
	TAP_STREQ(
		&T, enc,
		"eyJuYW1lIjoicGFzc3dkIiwic2l6ZSI6NzUsIm1vZGUiOjQyMCwibXRpbWUiOiIyMDI0LTAxLTAxVDAwOjAwOjAwWiIsImxpbmtUYXJnZXQiOiIifQ==",
		"stat header identical to dockerd's");
	struct berth_path_stat back;
	struct berth_error err = {0};
	TAP_OK(&T,
	       berth_path_stat_decode(enc, &back, &err) == 0 && !strcmp(back.name, "passwd") && back.size == 75 &&
		       back.mode == 420 && back.mtime_ns == st.mtime_ns,
	       "stat header decodes back");
	berth_path_stat_free(&back);
	free(enc);
	TAP_OK(&T, berth_path_stat_decode("!!", &back, &err) < 0, "bad stat header refused");
}

/* ------------------------------------------------------------ tree setup */

static void make_tree(void)
{
	sh("set -e; cd %s && mkdir -p outside root/etc root/data/sub root/tmp && echo secret > outside/secret && "
	   "printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/:/bin/false\\napp:x:1000:1001::/:/bin/sh\\n' > root/etc/passwd && "
	   "printf 'root:x:0:\\nstaff:x:50:\\n' > root/etc/group && "
	   "echo hello > root/data/sub/f && ln root/data/sub/f root/data/hl && ln -s sub root/data/rl && "
	   "ln -s / root/data/root && ln -s ../.. root/data/up && ln -s /data root/lnk && "
	   "ln -s %s/outside root/hostabs && ln -s ../../outside root/hostrel && mkfifo root/data/fifo && "
	   "chmod 0750 root/data/sub && chown 42:43 root/data/sub/f",
	   tmp, tmp);
}

static void test_stat(void)
{
	int root = open_root("root");
	struct berth_path_stat st;
	struct berth_error err = {0};
	TAP_OK(&T,
	       rstat(root, "/etc/passwd", "c", &st, &err) == 0 && !strcmp(st.name, "passwd") && st.mode == 0644 &&
		       !*st.link_target,
	       "stat a file");
	berth_path_stat_free(&st);
	TAP_OK(&T,
	       rstat(root, "/lnk", "c", &st, &err) == 0 && (st.mode & BERTH_GO_MODE_SYMLINK) &&
		       !strcmp(st.link_target, "/data"),
	       "stat a symlink: not followed, linkTarget resolved in the root");
	berth_path_stat_free(&st);
	TAP_OK(&T,
	       rstat(root, "/lnk/", "c", &st, &err) == 0 && (st.mode & BERTH_GO_MODE_DIR) && !strcmp(st.name, "lnk"),
	       "a trailing '/' follows the symlink");
	berth_path_stat_free(&st);
	TAP_OK(&T, rstat(root, "/data/up", "c", &st, &err) == 0 && !strcmp(st.link_target, "/"),
	       "../.. resolves to the root, not above it");
	berth_path_stat_free(&st);
	TAP_OK(&T,
	       rstat(root, "/hostabs", "c", &st, &err) == 0 && !strncmp(st.link_target, tmp, strlen(tmp)) &&
		       !strcmp(st.link_target + strlen(tmp), "/outside"),
	       "an absolute host path is a path inside the root (%s)", st.link_target ? st.link_target : "");
	berth_path_stat_free(&st);
	TAP_OK(&T, rstat(root, "/hostabs/secret", "c", &st, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "the host's directory is not reachable through an absolute symlink: %s", err.msg);
	TAP_OK(&T, rstat(root, "/hostrel/secret", "c", &st, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "nor through ../..");
	TAP_OK(&T, rstat(root, "/data/up/etc/passwd", "c", &st, &err) == 0, "../.. then down stays inside");
	berth_path_stat_free(&st);
	berth_err_clear(&err);
	TAP_OK(&T,
	       rstat(root, "/nonexist", "c1", &st, &err) < 0 &&
		       !strcmp(err.msg, "Could not find the file /nonexist in container c1"),
	       "docker's not-found message");
	TAP_OK(&T,
	       rstat(root, "/etc/passwd/", "c1", &st, &err) < 0 && err.kind == BERTH_E_INTERNAL &&
		       strstr(err.msg, "not a directory"),
	       "file with a trailing '/': %s", err.msg);
	TAP_OK(&T, rstat(root, "/", "c", &st, &err) == 0 && !strcmp(st.name, "/"), "stat / is named \"/\"");
	berth_path_stat_free(&st);
	TAP_OK(&T, rstat(root, "/etc/.", "c", &st, &err) == 0 && !strcmp(st.name, "."), "stat dir/. is named \".\"");
	berth_path_stat_free(&st);
	close(root);
}

static char *archive_list(int root, const char *path, struct berth_error *err)
{
	struct berth_buf b = {0};
	struct berth_writer w = {buf_write, &b};
	char *l = NULL;
	if (berth_root_archive(RT(root), path, "c", NULL, NULL, &w, err) == 0)
		l = list_tar(&b);
	berth_buf_free(&b);
	return l;
}

static void test_archive_out(void)
{
	int root = open_root("root");
	struct berth_error err = {0};
	char *l = archive_list(root, "/data", &err);
	TAP_STREQ(
		&T, l,
		"data/ d\ndata/fifo p\ndata/hl f\ndata/rl l -> sub\ndata/root l -> /\ndata/sub/ d\ndata/sub/f h => data/hl\n"
		"data/up l -> ../..\n",
		"a directory: sorted names, symlinks kept, hard link to the first name");
	free(l);
	l = archive_list(root, "/data/.", &err);
	TAP_OK(&T, l && !strncmp(l, "./ d\n./fifo p\n", 14), "dir/. gives ./ names");
	free(l);
	l = archive_list(root, "/lnk/", &err);
	TAP_OK(&T, l && !strncmp(l, "lnk/ d\nlnk/fifo p\n", 18), "symlink/ archives the target under the link's name");
	free(l);
	l = archive_list(root, "/lnk", &err);
	TAP_STREQ(&T, l, "lnk l -> /data\n", "a symlink alone");
	free(l);
	l = archive_list(root, "/data/up/", &err);
	TAP_OK(&T, l && strstr(l, "up/etc/passwd f\n") && !strstr(l, "secret"),
	       "../.. archives the container's root, not the host");
	free(l);
	l = archive_list(root, "/", &err);
	TAP_OK(&T, l && !strncmp(l, "/ d\n/data/ d\n", 13) && !strstr(l, "secret"), "the root as \"/\" names");
	free(l);
	l = archive_list(root, "/hostabs/", &err);
	TAP_OK(&T, !l && err.kind == BERTH_E_NOT_FOUND, "a link to a host path finds nothing");
	free(l);
	/* docker refuses a relative symlink pointing above the extraction
	 * directory, so take data/up out for the round trip */
	struct berth_buf b = {0};
	struct berth_writer w = {buf_write, &b};
	sh("mv %s/root/data/up %s/up.saved", tmp, tmp);
	berth_root_archive(RT(root), "/data", "c", NULL, NULL, &w, &err);
	sh("mv %s/up.saved %s/root/data/up", tmp, tmp);
	int back = open_root("root/tmp");
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, b.data, b.len);
	struct berth_archive_put_opts po = {.no_overwrite_dir_nondir = true};
	TAP_OK(&T, berth_root_extract(RT(root), "/tmp", "c", &po, &r, &err) == 0, "round trip in: %s", err.msg);
	char *s = read_text("root/tmp/data/sub/f");
	TAP_STREQ(&T, s, "hello\n", "content");
	free(s);
	struct stat a1, a2, sub;
	char p1[512], p2[512], p3[512];
	snprintf(p1, sizeof(p1), "%s/root/tmp/data/sub/f", tmp);
	snprintf(p2, sizeof(p2), "%s/root/tmp/data/hl", tmp);
	snprintf(p3, sizeof(p3), "%s/root/tmp/data/sub", tmp);
	TAP_OK(&T,
	       lstat(p1, &a1) == 0 && lstat(p2, &a2) == 0 && a1.st_ino == a2.st_ino && a1.st_uid == 42 &&
		       a1.st_gid == 43,
	       "hard link and ownership kept");
	TAP_OK(&T, lstat(p3, &sub) == 0 && (sub.st_mode & 07777) == 0750, "directory mode kept");
	char t[64] = "";
	snprintf(p1, sizeof(p1), "%s/root/tmp/data/rl", tmp);
	ssize_t n = readlink(p1, t, sizeof(t) - 1);
	TAP_OK(&T, n == 3 && !strncmp(t, "sub", 3), "symlink kept verbatim");
	berth_buf_free(&b);
	close(back);
	close(root);
}

/* Names are bytes: UTF-8 and invalid UTF-8 both survive out and in. */
static void test_names(void)
{
	sh("cd %s/root && mkdir -p names && echo u > 'names/\303\274n\303\257 \342\202\254' && echo b > \"names/a$(printf '\\377')b\"",
	   tmp);
	int root = open_root("root");
	struct berth_buf b = {0};
	struct berth_writer w = {buf_write, &b};
	struct berth_error err = {0};
	int rc = berth_root_archive(RT(root), "/names", "c", NULL, NULL, &w, &err);
	TAP_OK(&T, rc == 0, "archive of odd names: %s", err.msg);
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, b.data, b.len);
	struct berth_archive_put_opts po = {.spool_dir = tmp};
	sh("mkdir -p %s/root/names-back", tmp);
	TAP_OK(&T, berth_root_extract(RT(root), "/names-back", "c", &po, &r, &err) == 0, "extracted: %s", err.msg);
	TAP_OK(&T, sh("diff -r %s/root/names %s/root/names-back/names", tmp, tmp) == 0, "the same names came back");
	berth_buf_free(&b);
	close(root);
}

static int put(int root, const char *path, const struct tent *v, size_t n, bool no_over, struct berth_error *err)
{
	struct berth_buf b = {0};
	make_tar(&b, v, n);
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, b.data, b.len);
	struct berth_archive_put_opts po = {.no_overwrite_dir_nondir = no_over, .spool_dir = tmp};
	berth_err_clear(err);
	int rc = berth_root_extract(RT(root), path, "c", &po, &r, err);
	berth_buf_free(&b);
	return rc;
}

static void test_subst(void)
{
	int root = open_root("root");
	char p[512];
	snprintf(p, sizeof(p), "%s/hosts.real", tmp);
	berth_write_file_atomic(p, "127.0.0.1 real\n", 15, 0644, NULL);
	sh("touch %s/root/etc/hosts", tmp);
	struct stat st;
	snprintf(p, sizeof(p), "%s/root/etc/hosts", tmp);
	stat(p, &st);
	snprintf(p, sizeof(p), "%s/hosts.real", tmp);
	struct berth_tar_subst sub = {.dev = st.st_dev, .ino = st.st_ino, .fd = open(p, O_RDONLY)};
	struct berth_buf b = {0};
	struct berth_writer w = {buf_write, &b};
	struct berth_error err = {0};
	TAP_OK(&T,
	       berth_root_archive(&(struct berth_root){.fd = root, .subst = &sub, .nsubst = 1}, "/etc", "c", NULL, NULL,
				  &w, &err) == 0 &&
		       memmem(b.data, b.len, "127.0.0.1 real", 14),
	       "a bind-mounted file is archived from its source");
	struct berth_path_stat ps;
	TAP_OK(&T,
	       berth_root_stat(&(struct berth_root){.fd = root, .subst = &sub, .nsubst = 1}, "/etc/hosts", "c", &ps,
			       &err) == 0 &&
		       ps.size == 15,
	       "and stat shows the source's size");
	berth_path_stat_free(&ps);
	berth_buf_free(&b);
	close(sub.fd);
	close(root);
}

static void test_archive_in(void)
{
	int root = open_root("root");
	struct berth_error err = {0};
	struct tent esc[] = {{"ok1", 'f', "x"}, {"../evil", 'f', "x"}};
	TAP_OK(&T,
	       put(root, "/tmp", esc, 2, true, &err) < 0 &&
		       !strcmp(err.msg, "Error processing tar file(exit status 1): \"../evil\" is outside of \"/tmp\""),
	       "../ refused with docker's message: %s", err.msg);
	TAP_OK(&T, !exists("%s/root/tmp/%s", "ok1") && !exists("%s/root/%s", "evil") && !exists("%s/%s", "evil"),
	       "nothing written when a later entry escapes");
	struct tent esc2[] = {{"a/../../../../evil2", 'f', "x"}};
	TAP_OK(&T, put(root, "/", esc2, 1, true, &err) < 0 && strstr(err.msg, "is outside of"), "deeper ../ refused");
	struct tent sl[] = {{"esc", 'l', "../../../etc"}};
	TAP_OK(&T,
	       put(root, "/tmp", sl, 1, true, &err) < 0 &&
		       !strcmp(err.msg,
			       "Error processing tar file(exit status 1): invalid symlink \"/tmp/esc\" -> \"../../../etc\""),
	       "relative symlink above the destination refused: %s", err.msg);
	struct tent hl[] = {{"h", 'h', "../../outside/secret"}};
	TAP_OK(&T, put(root, "/tmp", hl, 1, true, &err) < 0 && strstr(err.msg, "invalid hardlink"),
	       "hard link out refused");
	/* through symlinks: everything lands inside the root */
	struct tent via[] = {{"x1", 'f', "one"}};
	TAP_OK(&T, put(root, "/data/up", via, 1, true, &err) == 0 && exists("%s/root/%s", "x1"),
	       "PUT to a ../.. symlink writes into the container's root");
	TAP_OK(&T, put(root, "/data/root", via, 1, true, &err) == 0, "PUT to a symlink to / works");
	TAP_OK(&T,
	       put(root, "/hostabs", via, 1, true, &err) < 0 && err.kind == BERTH_E_NOT_FOUND &&
		       !exists("%s/outside/%s", "x1"),
	       "PUT to a symlink naming a host path finds nothing (no host write)");
	struct tent chain[] = {
		{"pl", 'l', "/"}, {"pl/x2", 'f', "two"}, {"pl2", 'l', tmp}, {"pl2/outside/x3", 'f', "3"}};
	put(root, "/tmp", chain, 4, true, &err);
	TAP_OK(&T, exists("%s/root/%s", "x2") && !exists("%s/outside/%s", "x3") && !exists("%s/%s", "x2"),
	       "entries through symlinks from the same tar stay in the root (%s)", err.msg);
	struct tent f[] = {{"etc", 'f', "x"}};
	TAP_OK(&T,
	       put(root, "/", f, 1, true, &err) < 0 &&
		       strstr(err.msg, "cannot overwrite directory \"/etc\" with non-directory \"/\""),
	       "noOverwriteDirNonDir: %s", err.msg);
	struct tent d[] = {{"etc/passwd", 'd', NULL}};
	TAP_OK(&T, put(root, "/", d, 1, true, &err) < 0 && strstr(err.msg, "cannot overwrite non-directory"),
	       "noOverwriteDirNonDir, the other way");
	TAP_OK(&T,
	       put(root, "/etc/passwd", via, 1, true, &err) < 0 &&
		       !strcmp(err.msg, "extraction point is not a directory"),
	       "extraction point must be a directory");
	TAP_OK(&T, put(root, "/nope", via, 1, true, &err) < 0 && err.kind == BERTH_E_NOT_FOUND,
	       "missing extraction point");
	struct tent rel[] = {{"tl", 'l', "tree"}, {"d/x", 'l', "../tl"}};
	TAP_OK(&T, put(root, "/tmp", rel, 2, true, &err) == 0, "relative symlinks staying inside are fine: %s",
	       err.msg);
	struct tent deep[] = {{"new/deep/file", 'f', "d"}};
	TAP_OK(&T, put(root, "/tmp", deep, 1, true, &err) == 0 && exists("%s/root/tmp/%s", "new/deep/file"),
	       "missing parents are made");
	/* garbage */
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, "garbage", 7);
	struct berth_archive_put_opts po = {.spool_dir = tmp};
	TAP_OK(&T,
	       berth_root_extract(RT(root), "/tmp", "c", &po, &r, &err) < 0 &&
		       strstr(err.msg, "Error processing tar file"),
	       "not a tar: %s", err.msg);
	struct berth_mem_src m0;
	struct berth_reader r0 = berth_reader_mem(&m0, "", 0);
	TAP_OK(&T, berth_root_extract(RT(root), "/tmp", "c", &po, &r0, &err) == 0, "an empty body is an empty archive");
	uid_t uid;
	gid_t gid;
	TAP_OK(&T, berth_root_lookup_user(root, "app", &uid, &gid, &err) == 0 && uid == 1000 && gid == 1001,
	       "user by name");
	TAP_OK(&T, berth_root_lookup_user(root, "nobody:staff", &uid, &gid, &err) == 0 && uid == 65534 && gid == 50,
	       "user:group");
	TAP_OK(&T, berth_root_lookup_user(root, "777:888", &uid, &gid, &err) == 0 && uid == 777 && gid == 888,
	       "numeric ids");
	TAP_OK(&T,
	       berth_root_lookup_user(root, "ghost", &uid, &gid, &err) < 0 &&
		       !strcmp(err.msg, "unable to find user ghost: no matching entries in passwd file"),
	       "unknown user");
	close(root);
}

/* Host side (the CLI): rebase and RESOLVE_BENEATH. */
static void test_host_side(void)
{
	sh("mkdir -p %s/host/dst", tmp);
	int dst = open_root("host/dst");
	struct tent v[] = {{"etc/", 'd', NULL}, {"etc/a", 'f', "A"}, {"etc/l", 'l', "/"}, {"etc/l/b", 'f', "B"}};
	struct berth_buf b = {0};
	make_tar(&b, v, 4);
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, b.data, b.len);
	struct berth_untar_opts o = {.resolve = BERTH_UNTAR_BENEATH,
				     .no_lchown = true,
				     .no_overwrite_dir_nondir = true,
				     .rebase_from = "etc",
				     .rebase_to = "copy"};
	struct berth_error err = {0};
	int rc = berth_untar(dst, "", &r, &o, &err);
	TAP_OK(&T, rc < 0 && exists("%s/host/dst/%s", "copy/a") && !exists("%s/%s", "b") && !exists("/%s%s", "b"),
	       "rebased; an absolute symlink is not followed on the host: %s", err.msg);
	berth_buf_free(&b);
	close(dst);
}

/* CVE-2018-15664: a directory swapped with a symlink while we copy. */
static atomic_bool stop_swap;
static void *swapper(void *arg)
{
	(void)arg;
	char a[512], bpath[512];
	snprintf(a, sizeof(a), "%s/root/race", tmp);
	snprintf(bpath, sizeof(bpath), "%s/root/race-link", tmp);
	while (!atomic_load(&stop_swap))
		syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, bpath, 2 /* RENAME_EXCHANGE */);
	return NULL;
}

static void test_race(void)
{
	sh("cd %s/root && mkdir -p race && echo in > race/inner && ln -s %s/outside race-link && ln -sf %s/outside/secret race/peek",
	   tmp, tmp, tmp);
	pthread_t th;
	atomic_store(&stop_swap, false);
	pthread_create(&th, NULL, swapper, NULL);
	int root = open_root("root");
	bool leaked = false, wrote_out = false;
	for (int i = 0; i < 300; i++) {
		struct berth_error err = {0};
		char *l = archive_list(root, i % 2 ? "/race/" : "/race/inner", &err);
		struct berth_buf b = {0};
		struct berth_writer w = {buf_write, &b};
		if (berth_root_archive(RT(root), "/race/", "c", NULL, NULL, &w, &err) == 0 && b.len &&
		    memmem(b.data, b.len, "secret\n", 7))
			leaked = true;
		berth_buf_free(&b);
		free(l);
		struct tent v[] = {{"planted", 'f', "p"}};
		put(root, "/race", v, 1, false, &err);
		if (exists("%s/outside/%s", "planted"))
			wrote_out = true;
	}
	atomic_store(&stop_swap, true);
	pthread_join(th, NULL);
	TAP_OK(&T, !leaked, "a swapped symlink never makes the archive read the host");
	TAP_OK(&T, !wrote_out, "nor the extraction write to it");
	close(root);
}

/* Shared pieces: kernel file systems left empty for a live container root,
 * entry data bounded by the header size, no-follow helpers. */
static void test_shared(void)
{
	struct berth_error err = {0};
	struct berth_buf b = {0};
	struct berth_writer w = {buf_write, &b};
	int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct berth_tar_src src = {.dirfd = slash, .base = "proc", .name = "proc", .kernel_fs_empty = true};
	int rc = berth_tar_write(&src, &w, &err);
	char *l = rc == 0 ? list_tar(&b) : NULL;
	TAP_OK(&T, l && !strcmp(l, "proc/ d\n"), "a live root's /proc is archived as an empty directory: %s",
	       l ? l : err.msg);
	free(l);
	berth_buf_free(&b);
	cleanup_close int pfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int tfd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	TAP_OK(&T, berth_ar_kernel_fs(pfd) && !berth_ar_kernel_fs(tfd), "proc is a kernel file system, tmp is not");
	close(slash);

	/* extraction refuses a kernel file system as a parent when asked to */
	sh("mkdir -p %s/kfs/proc && mount --bind /proc %s/kfs/proc", tmp, tmp);
	int root = open_root("kfs");
	struct tent v[] = {{"proc/planted", 'f', "x"}};
	make_tar(&b, v, 1);
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, b.data, b.len);
	struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_IN_ROOT, .no_kernel_fs = true};
	err = (struct berth_error){0};
	TAP_OK(&T, berth_untar(root, "", &r, &uo, &err) < 0 && strstr(err.msg, "read-only"),
	       "nothing extracted into a kernel file system: %s", err.msg);
	sh("umount %s/kfs/proc", tmp);
	berth_buf_free(&b);
	close(root);

	/* entry data past the header's size is refused */
	struct tent big[] = {{"f", 'f', "0123456789"}};
	make_tar(&b, big, 1);
	struct archive *a = berth_tar_reader_new(false);
	archive_read_open_memory(a, b.data, b.len);
	struct archive_entry *e;
	char path[512];
	snprintf(path, sizeof(path), "%s/data.out", tmp);
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	TAP_OK(&T,
	       archive_read_next_header(a, &e) == ARCHIVE_OK && berth_tar_entry_data(a, fd, 4) == BERTH_TAR_DATA_BEYOND,
	       "data beyond the given size is refused");
	archive_read_free(a);
	berth_buf_free(&b);

	/* remove_at takes a tree away but never a mount point's content */
	sh("mkdir -p %s/rm/a/b/c %s/rm/m && touch %s/rm/a/b/c/f %s/rm/a/x && ln -s / %s/rm/a/link", tmp, tmp, tmp, tmp,
	   tmp);
	sh("mount -t tmpfs none %s/rm/m && touch %s/rm/m/keep", tmp, tmp);
	cleanup_close int rm = open_root("rm");
	TAP_OK(&T, berth_ar_remove_at(rm, "a") == 0 && !exists("%s/rm/a", ""), "remove_at removes a tree");
	TAP_OK(&T, berth_ar_remove_at(rm, "m") < 0 && errno == EBUSY && exists("%s/rm/m/keep", ""),
	       "remove_at never empties a mount point");
	sh("umount %s/rm/m", tmp);
	TAP_OK(&T, berth_ar_setxattr_at(rm, "m", "user.t", "v", 1) == 0 || errno == ENOTSUP,
	       "setxattr_at on a directory");
	char xv[8];
	TAP_OK(&T, errno == ENOTSUP || berth_ar_getxattr_at(rm, "m", "user.t", xv, sizeof(xv)) == 1,
	       "getxattr_at reads it back");
}

/* "name uid:gid" lines of a tar in memory, in order. */
static char *list_owners(const struct berth_buf *b)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct berth_buf out = {0};
	struct archive_entry *e;
	if (archive_read_open_memory(a, b->data ? b->data : "", b->len) == ARCHIVE_OK)
		while (archive_read_next_header(a, &e) == ARCHIVE_OK)
			berth_buf_printf(&out, "%s %lld:%lld\n", archive_entry_pathname(e),
					 (long long)archive_entry_uid(e), (long long)archive_entry_gid(e));
	archive_read_free(a);
	return berth_buf_steal(&out);
}

static bool owned(const char *rel, uid_t uid, gid_t gid)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	struct stat st;
	return lstat(p, &st) == 0 && st.st_uid == uid && st.st_gid == gid;
}

/* --userns-remap: PUT shifts container owners to host ids (parents it makes
 * belong to the remapped root), GET and berth_tar_write map them back; host
 * ids outside the ranges show as the overflow id. */
static void test_remap(void)
{
	struct berth_idmap m = {.nuid = 1, .ngid = 1};
	m.uids[0] = (struct berth_idrange){.container = 0, .host = 200000, .size = 65536};
	m.gids[0] = (struct berth_idrange){.container = 0, .host = 300000, .size = 65536};
	sh("mkdir -p %s/remap && chown 200000:300000 %s/remap", tmp, tmp);
	int root = open_root("remap");
	struct berth_root rt = {.fd = root, .idmap = &m};
	struct berth_error err = {0};
	struct berth_buf b = {0};
	const struct tent v[] = {{"new/deep/f", 'f', "x"}};
	make_tar(&b, v, 1);
	struct berth_mem_src in;
	struct berth_reader r = berth_reader_mem(&in, b.data, b.len);
	struct berth_archive_put_opts po = {.spool_dir = tmp};
	int rc = berth_root_extract(&rt, "/", "c", &po, &r, &err);
	TAP_OK(&T, rc == 0, "remap: PUT %s", rc ? err.msg : "");
	TAP_OK(&T, owned("remap/new/deep/f", 201234, 305678), "remap: PUT shifts the archive's owner");
	TAP_OK(&T, owned("remap/new", 200000, 300000) && owned("remap/new/deep", 200000, 300000),
	       "remap: parents PUT makes belong to the remapped root");
	in.off = 0;
	po.chown = true;
	po.uid = 7;
	po.gid = 8;
	rc = berth_root_extract(&rt, "/", "c", &po, &r, &err);
	TAP_OK(&T, rc == 0 && owned("remap/new/deep/f", 200007, 300008),
	       "remap: PUT with copyUIDGID shifts the user %s", rc ? err.msg : "");
	berth_buf_free(&b);
	sh("touch %s/remap/new/hostroot && chown 0:0 %s/remap/new/hostroot", tmp, tmp);
	struct berth_writer w = {buf_write, &b};
	rc = berth_root_archive(&rt, "/new", "c", NULL, NULL, &w, &err);
	char *l = rc == 0 ? list_owners(&b) : NULL;
	TAP_OK(&T, l && !strcmp(l, "new/ 0:0\nnew/deep/ 0:0\nnew/deep/f 7:8\nnew/hostroot 65534:65534\n"),
	       "remap: GET maps owners back: %s", l ? l : err.msg);
	free(l);
	b.len = 0;
	struct berth_tar_src src = {.dirfd = root, .base = "new", .name = "new", .idmap = &m};
	rc = berth_tar_write(&src, &w, &err);
	l = rc == 0 ? list_owners(&b) : NULL;
	TAP_OK(&T, l && strstr(l, "new/deep/f 7:8\n"), "remap: berth_tar_write maps owners back: %s", l ? l : err.msg);
	free(l);
	berth_buf_free(&b);
	close(root);
}

/* ------------------------------------------------------------- sorted names */

static void test_sorted_names(void)
{
	sh("mkdir -p %s/ls/empty && cd %s/ls && touch b a C .h && mkdir z", tmp, tmp);
	char p[512];
	snprintf(p, sizeof(p), "%s/ls", tmp);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **v = berth_ar_sorted_names(fd);
	char got[256] = "";
	for (size_t i = 0; v && v[i]; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "", v[i]);
	TAP_STREQ(&T, got, ".h,C,a,b,empty,z", "sorted names: bytewise order, no . and ..");
	berth_strv_free(v);
	TAP_OK(&T, lseek(fd, 0, SEEK_CUR) == 0, "sorted names: the fd's offset is untouched");
	int efd = openat(fd, "empty", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	v = berth_ar_sorted_names(efd);
	TAP_OK(&T, v && !v[0], "sorted names: an empty directory gives an empty list");
	berth_strv_free(v);
	int ffd = openat(fd, "a", O_RDONLY | O_CLOEXEC);
	errno = 0;
	v = berth_ar_sorted_names(ffd);
	TAP_OK(&T, !v && errno == ENOTDIR, "sorted names: a file is refused with ENOTDIR");
	close(ffd);
	close(efd);
	close(fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmp, sizeof(tmp), "/tmp/berth-test-archive.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_path_rules();
	test_stat_header();
	make_tree();
	test_stat();
	test_archive_out();
	test_subst();
	test_names();
	test_archive_in();
	test_host_side();
	test_race();
	test_shared();
	test_remap();
	test_sorted_names();
	sh("rm -rf %s", tmp);
	return TAP_DONE(&T);
}
