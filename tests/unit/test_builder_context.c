/* The build context's index (builder/ctx_index.c): COPY/ADD sources hashed
 * from the tar in memory exactly as from the extracted tree; what the index
 * does not take (symlinks, duplicates, compressed tars) is left to
 * extraction; ustar fields (common/ustar.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "archive/ustar.h"
#include "builder/build_int.h"
#include "builder/ctx_index.h"
#include "common/util.h"
#include "tap.h"

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		berth_write_all(fd, text, strlen(text));
		fchmod(fd, mode);
		close(fd);
	}
}

static void mk(const char *dir, const char *rel, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	mkdir(p, mode);
	chmod(p, mode);
}

/* the tree below dir as berth_tar_write makes it */
static void tar_of(const char *dir, struct berth_buf *out)
{
	char tpl[] = "/tmp/test-bctx-tar-XXXXXX";
	int fd = mkstemp(tpl);
	unlink(tpl);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct berth_writer w = berth_writer_fd(fd);
	struct berth_tar_src src = {.dirfd = dfd};
	struct berth_error err = {0};
	berth_tar_write(&src, &w, &err);
	lseek(fd, 0, SEEK_SET);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		berth_buf_append(out, buf, (size_t)n);
	close(fd);
	close(dfd);
}

static struct berth_build_context *open_ctx(const struct berth_buf *tar, const char *work, const char *dockerfile)
{
	struct berth_mem_src m;
	struct berth_reader r = berth_reader_mem(&m, tar->data, tar->len);
	struct berth_build_context *c = NULL;
	struct berth_error err = {0};
	if (berth_build_context_open(&r, work, work, dockerfile, &c, &err) < 0) {
		printf("# open: %s\n", err.msg);
		berth_build_context_free(c);
		return NULL;
	}
	return c;
}

/* index hash vs the hash of the extracted tree, for path */
static void same_hash(struct tap *t, struct berth_build_context *c, const char *path, int want_index)
{
	struct berth_sha256 *a = berth_sha256_new(), *b = berth_sha256_new();
	bool d = false;
	int r = berth_build_context_hash(c, path, path, a, &d);
	TAP_OK(t, r == want_index, "%s: hashed from the index: %d", path, r);
	struct berth_error err = {0};
	int fd = berth_build_context_fd(c, &err);
	bld_hash_tree(b, fd, !strcmp(path, ".") ? "." : path, path, 0);
	char ha[BERTH_ID_SZ], hb[BERTH_ID_SZ];
	berth_sha256_final(a, ha);
	berth_sha256_final(b, hb);
	if (r == 1)
		TAP_STREQ(t, ha, hb, "%s: the index hash is the extracted tree's", path);
}

int main(void)
{
	struct tap t = {0};
	/* ustar */
	char f[12];
	uint64_t v = 0;
	TAP_OK(&t, berth_ustar_octal(f, 8, 0755) && !strcmp(f, "0000755"), "octal 0755: %s", f);
	TAP_OK(&t, !berth_ustar_octal(f, 8, 1u << 21), "8^7 does not fit 8 bytes");
	TAP_OK(&t, berth_ustar_parse_octal("  644 \0", 8, &v) && v == 0644, "parse ' 644 '");
	TAP_OK(&t, !berth_ustar_parse_octal("12x4", 4, &v), "parse refuses 12x4");
	char h[512] = "name";
	berth_ustar_finish(h);
	TAP_OK(&t, berth_ustar_checksum_ok(h), "checksum round trip");
	h[0] = 'N';
	TAP_OK(&t, !berth_ustar_checksum_ok(h), "a changed byte breaks the checksum");

	char root[] = "/tmp/test-bctx-XXXXXX";
	if (!mkdtemp(root))
		return 1;
	char src[600], work[600], work2[600], work3[600];
	snprintf(src, sizeof(src), "%s/src", root);
	snprintf(work, sizeof(work), "%s/work", root);
	snprintf(work2, sizeof(work2), "%s/work2", root);
	snprintf(work3, sizeof(work3), "%s/work3", root);
	mkdir(src, 0755);
	mkdir(work, 0700);
	mkdir(work2, 0700);
	mkdir(work3, 0700);
	put(src, "Dockerfile", "FROM scratch\n", 0644);
	put(src, "a.txt", "aaa\n", 0600);
	put(src, "a-b", "dash\n", 0755);
	put(src, "empty", "", 0640);
	mk(src, "a", 0750);
	put(src, "a/x", "x\n", 04755);
	put(src, "a.c", "dot\n", 0644);
	mk(src, "a/sub", 0700);
	put(src, "a/sub/deep", "deep\n", 0644);
	mk(src, "ign", 0755);
	put(src, "ign/secret", "s\n", 0644);
	put(src, ".dockerignore", "ign\n*.log\n", 0644);
	put(src, "x.log", "log\n", 0644);

	struct berth_buf tar = {0};
	tar_of(src, &tar);
	struct berth_build_context *c = open_ctx(&tar, work, "Dockerfile");
	TAP_OK(&t, c != NULL, "a plain context opens");
	if (c) {
		char *text = NULL;
		size_t len = 0;
		struct berth_error err = {0};
		TAP_OK(&t, berth_build_context_read_dockerfile(c, NULL, &text, &len, &err) == 0 && len == 13,
		       "the Dockerfile from the index");
		free(text);
		struct berth_sha256 *h = berth_sha256_new();
		bool d;
		TAP_OK(&t, berth_build_context_hash(c, "ign/secret", "ign/secret", h, &d) == 0,
		       ".dockerignored: not in the index");
		TAP_OK(&t, berth_build_context_hash(c, "nope", "nope", h, &d) == 0, "missing: not in the index");
		berth_sha256_free(h);
		const char *paths[] = {"a.txt", "a", "a/sub", "a-b", "empty", ".", "Dockerfile", NULL};
		for (size_t i = 0; paths[i]; i++)
			same_hash(&t, c, paths[i], 1);
		berth_build_context_free(c);
	}
	/* a symlink: the index gives up, extraction does the work */
	char lp[700];
	snprintf(lp, sizeof(lp), "%s/link", src);
	TAP_OK(&t, symlink("a.txt", lp) == 0, "symlink");
	tar.len = 0;
	tar_of(src, &tar);
	c = open_ctx(&tar, work2, "Dockerfile");
	if (c) {
		same_hash(&t, c, "a.txt", 0);
		berth_build_context_free(c);
	}
	/* a duplicate entry: the later one wins on disk, so no index */
	struct ctx_index ix;
	tar.len = 0;
	unlink(lp);
	tar_of(src, &tar);
	struct berth_buf dup = {0};
	berth_buf_append(&dup, tar.data, tar.len - 1024);
	berth_buf_append(&dup, tar.data, tar.len);
	TAP_OK(&t, ctx_index_build(&ix, dup.data, dup.len) == 0, "duplicates: not indexed");
	TAP_OK(&t, ctx_index_build(&ix, tar.data, tar.len) == 1 && ix.n > 5, "plain: indexed (%zu)", ix.n);
	ctx_index_free(&ix);
	TAP_OK(&t, ctx_index_build(&ix, "\x1f\x8b\x08", 3) == 0, "gzip: not indexed");
	berth_buf_free(&dup);
	berth_buf_free(&tar);
	berth_rm_rf(root, NULL);
	return TAP_DONE(&t);
}
