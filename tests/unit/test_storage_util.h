/* Helpers for the storage unit tests: temp data roots cleaned up (mounts
 * included) even on failure, in-memory readers/writers, tar builders. */
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/util.h"
#include "metadata/db.h"

static char st_root[256];

/* Unmount everything below root (deepest first), then remove it. */
static inline void st_cleanup_root(const char *root)
{
	if (!root || !*root)
		return;
	size_t rl = strlen(root);
	for (int pass = 0; pass < 8; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		if (!f)
			break;
		char line[4096], *mps[512];
		int n = 0;
		while (fgets(line, sizeof(line), f) && n < 512) {
			char mp[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, root, rl) == 0 &&
			    (mp[rl] == '/' || mp[rl] == '\0'))
				mps[n++] = strdup(mp);
		}
		fclose(f);
		for (int i = n - 1; i >= 0; i--) {
			umount2(mps[i], MNT_DETACH);
			free(mps[i]);
		}
		if (n == 0)
			break;
	}
	berth_rm_rf(root, NULL);
}

static inline void st_atexit(void) { st_cleanup_root(st_root); }

static inline void st_on_signal(int sig)
{
	st_cleanup_root(st_root);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline const char *st_make_root(const char *tag)
{
	snprintf(st_root, sizeof(st_root), "/tmp/berth-%s-XXXXXX", tag);
	if (!mkdtemp(st_root)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(st_atexit);
	signal(SIGINT, st_on_signal);
	signal(SIGTERM, st_on_signal);
	signal(SIGABRT, st_on_signal);
	signal(SIGSEGV, st_on_signal);
	return st_root;
}

static inline bool st_is_mounted_below(const char *root)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;
	size_t rl = strlen(root);
	while (f && fgets(line, sizeof(line), f)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, root, rl) == 0 &&
		    (mp[rl] == '/' || mp[rl] == '\0'))
			found = true;
	}
	if (f)
		fclose(f);
	return found;
}

static inline struct berth_db *st_open_db(const char *root)
{
	char *p = berth_strdup_printf("%s/berth.db", root);
	struct berth_error err = {0};
	struct berth_db *db = berth_db_open(p, NULL, &err);
	if (!db) {
		fprintf(stderr, "open %s failed: %s\n", p, err.msg);
		exit(1);
	}
	free(p);
	return db;
}

/* ---- memory streams ---- */

struct st_mem {
	const unsigned char *data;
	size_t len, pos;
	size_t chunk; /* max bytes per read (0: any) */
};

static inline ssize_t st_mem_read(void *ctx, void *buf, size_t len)
{
	struct st_mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static inline struct berth_reader st_mem_reader(struct st_mem *m)
{
	m->pos = 0;
	return (struct berth_reader){st_mem_read, m};
}

static inline int st_buf_write(void *ctx, const void *buf, size_t len) { return berth_buf_append(ctx, buf, len); }

static inline struct berth_writer st_buf_writer(struct berth_buf *b) { return (struct berth_writer){st_buf_write, b}; }

static inline int st_read_file(const char *path, struct berth_buf *b)
{
	char *data = NULL;
	size_t len = 0;
	if (berth_read_file(path, &data, &len, 1u << 30, NULL) < 0)
		return -1;
	b->data = data;
	b->len = b->cap = len;
	return 0;
}

static inline void st_gzip(const struct berth_buf *in, struct berth_buf *out)
{
	z_stream zs = {0};
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&zs, in->len) + 64;
	out->data = malloc(cap + 1);
	out->cap = cap + 1;
	zs.next_in = (unsigned char *)in->data;
	zs.avail_in = (uInt)in->len;
	zs.next_out = (unsigned char *)out->data;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	out->len = cap - zs.avail_out;
	deflateEnd(&zs);
}

static inline void st_zstd(const struct berth_buf *in, struct berth_buf *out)
{
	size_t cap = ZSTD_compressBound(in->len);
	out->data = malloc(cap + 1);
	out->cap = cap + 1;
	out->len = ZSTD_compress(out->data, cap, in->data, in->len, 3);
}

/* ---- tar building (libarchive writer into memory) ---- */

struct st_tar {
	struct archive *a;
	struct berth_buf *out;
};

static inline la_ssize_t st_tar_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	struct berth_buf *b = ctx;
	if (b->len + len > (64u << 20))
		return -1; /* refuse to grow without bound (huge size headers) */
	berth_buf_append(b, buf, len);
	return (la_ssize_t)len;
}

static inline void st_tar_begin(struct st_tar *t, struct berth_buf *out)
{
	t->out = out;
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_per_block(t->a, 0);
	archive_write_open(t->a, out, NULL, st_tar_write_cb, NULL);
}

static inline void st_tar_entry(struct st_tar *t, const char *name, mode_t type, mode_t perm, const void *data,
				size_t len, const char *link, bool hard)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, 1704067200, 0);
	archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)len : 0);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	archive_write_header(t->a, e);
	if (data && len && !hard)
		archive_write_data(t->a, data, len);
	archive_entry_free(e);
}

static inline void st_tar_file(struct st_tar *t, const char *name, const char *content)
{
	st_tar_entry(t, name, AE_IFREG, 0644, content, content ? strlen(content) : 0, NULL, false);
}
static inline void st_tar_dir(struct st_tar *t, const char *name)
{
	st_tar_entry(t, name, AE_IFDIR, 0755, NULL, 0, NULL, false);
}
static inline void st_tar_symlink(struct st_tar *t, const char *name, const char *target)
{
	st_tar_entry(t, name, AE_IFLNK, 0777, NULL, 0, target, false);
}
static inline void st_tar_hardlink(struct st_tar *t, const char *name, const char *target)
{
	st_tar_entry(t, name, AE_IFREG, 0644, NULL, 0, target, true);
}

static inline void st_tar_end(struct st_tar *t)
{
	archive_write_close(t->a);
	archive_write_free(t->a);
	t->a = NULL;
}

/* Number of non-hidden, non-temp entries in a directory (0 if missing). */
static inline int st_count_dir(const char *path, const char *skip)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "tmp", 3) || (skip && !strcmp(e->d_name, skip)))
			continue;
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Count of every file (non-directory) below path, recursively. */
static inline int st_count_files(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = berth_strdup_printf("%s/%s", path, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				n += st_count_files(p);
			else
				n++;
		}
		free(p);
	}
	if (d)
		closedir(d);
	return n;
}
