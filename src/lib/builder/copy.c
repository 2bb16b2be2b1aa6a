/* COPY and ADD (context files, --from stages and images, local archives,
 * --chown, chown.c) and WORKDIR's directory. Files are staged with the archive
 * module (tar out of the source root, extracted below a staging directory
 * with the new owners), and the staging tree becomes the step's layer. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "builder/build_int.h"
#include "common/cleanup.h"

struct copy_job {
	struct bctx *b;
	int root_fd; /* the source root (context or --from staging) */
	int stage_fd;
	char *stage_dir;
	bool chown;
	uid_t uid;
	gid_t gid;
	struct berth_sha256 *h;
	int nfiles;
	bool any_dir;
	bool urls; /* sources downloaded by ADD: never extracted */
	bool add;
	const char *scratch; /* the stage's parent: see bld_scratch */
};

/* ---- content checksum: names, modes, owners, sizes, contents; not mtimes ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void bld_hash_tree(struct berth_sha256 *h, int pfd, const char *base, const char *rel, int depth)
{
	struct stat st;
	if (depth > 256 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	char hdr[128];
	/* a directory's st_size is the filesystem's business (4096 on ext4, by
	 * entries on tmpfs): not hashed, as a tar header carries 0 */
	int n = snprintf(hdr, sizeof(hdr), "|%o|%lld|", (unsigned)st.st_mode,
			 S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
	berth_sha256_update(h, rel, strlen(rel) + 1);
	berth_sha256_update(h, hdr, (size_t)n);
	if (S_ISLNK(st.st_mode)) {
		char t[4096];
		ssize_t l = readlinkat(pfd, base, t, sizeof(t));
		if (l > 0)
			berth_sha256_update(h, t, (size_t)l);
	} else if (S_ISREG(st.st_mode)) {
		cleanup_close int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char buf[65536];
		ssize_t r;
		while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0)
			berth_sha256_update(h, buf, (size_t)r);
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return;
		}
		char **names = NULL;
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				berth_strv_push(&names, e->d_name);
		size_t cnt = berth_strv_len(names);
		if (cnt)
			qsort(names, cnt, sizeof(char *), cmp_str);
		for (size_t i = 0; i < cnt; i++) {
			cleanup_free char *r = berth_strdup_printf("%s/%s", rel, names[i]);
			bld_hash_tree(h, dirfd(d), names[i], r, depth + 1);
		}
		berth_strv_free(names);
		closedir(d);
	}
}

/* ---- staging ---- */

/* tar of (dirfd, base) named `name` (NULL: the children of a directory at the top) into the staging tree */
static int stage_tree(struct copy_job *j, int dirfd, const char *base, const char *name)
{
	struct bctx *b = j->b;
	cleanup_close int tfd = bld_tmpfile_in(b, j->scratch);
	if (tfd < 0)
		return -1;
	struct berth_writer w = berth_writer_fd(tfd);
	struct berth_tar_src src = {.dirfd = dirfd, .base = base, .name = name};
	if (berth_tar_write(&src, &w, b->err) < 0)
		return -1;
	if (lseek(tfd, 0, SEEK_SET) < 0)
		return berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "seek");
	struct berth_reader r = berth_reader_fd(tfd);
	struct berth_untar_opts uo = {
		.resolve = BERTH_UNTAR_BENEATH, .chown = j->chown, .uid = j->uid, .gid = j->gid, .dest_shown = "/"};
	return berth_untar(j->stage_fd, "", &r, &uo, b->err);
}

static bool is_archive(int fd)
{
	unsigned char m[512];
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n < 6)
		return false;
	if ((m[0] == 0x1f && m[1] == 0x8b) || !memcmp(m, "BZh", 3) ||
	    !memcmp(m,
		    "\xfd"
		    "7zXZ\0",
		    6) ||
	    !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return true;
	return n >= 262 && !memcmp(m + 257, "ustar", 5);
}

/* an archive extracted at dest (ADD) */
static int stage_archive(struct copy_job *j, int fd, const char *dest_rel)
{
	struct bctx *b = j->b;
	struct berth_reader r = berth_reader_fd(fd);
	struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_BENEATH, .dest_shown = "/"};
	/* berth_untar makes missing parents of dest (0755) */
	if (*dest_rel) {
		if (mkdirat(j->stage_fd, dest_rel, 0755) < 0 && errno != EEXIST) {
			cleanup_free char *dup = strdup(dest_rel);
			for (char *p = dup; p && *p; p++)
				if (*p == '/') {
					*p = 0;
					mkdirat(j->stage_fd, dup, 0755);
					*p = '/';
				}
			mkdirat(j->stage_fd, dest_rel, 0755);
		}
	}
	return berth_untar(j->stage_fd, dest_rel, &r, &uo, b->err);
}

static bool has_wildcard(const char *s) { return strpbrk(s, "*?[") != NULL; }

static char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return strdup(s ? s + 1 : p);
}

/* expand one source (wildcards in its last element) into paths relative to the root */
static int expand_source(struct copy_job *j, const char *src, char ***out)
{
	struct bctx *b = j->b;
	cleanup_free char *clean = berth_cp_clean(src);
	if (!clean)
		return berth_err(b->err, BERTH_E_INTERNAL, "out of memory");
	const char *rel = clean;
	while (*rel == '/')
		rel++;
	if (!strcmp(rel, "..") || berth_str_has_prefix(rel, "../"))
		return berth_err(b->err, BERTH_E_INVALID, "Forbidden path outside the build context: %s ()", src);
	if (!has_wildcard(rel)) {
		berth_strv_push(out, *rel ? rel : ".");
		return 0;
	}
	cleanup_free char *dir = strdup(rel);
	char *slash = strrchr(dir, '/');
	const char *pat = slash ? slash + 1 : rel;
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	if (has_wildcard(dir))
		return berth_err(b->err, BERTH_E_INVALID, "wildcards are only supported in the last path element: %s",
				 src);
	int dfd = berth_ar_open(j->root_fd, strcmp(dir, ".") ? dir : "", O_RDONLY | O_DIRECTORY, BERTH_UNTAR_IN_ROOT);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	char **names = NULL;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && fnmatch(pat, e->d_name, FNM_PERIOD) == 0)
			berth_strv_push(&names, e->d_name);
	closedir(d);
	size_t cnt = berth_strv_len(names);
	if (cnt)
		qsort(names, cnt, sizeof(char *), cmp_str);
	for (size_t i = 0; i < cnt; i++) {
		cleanup_free char *p =
			strcmp(dir, ".") ? berth_strdup_printf("%s/%s", dir, names[i]) : strdup(names[i]);
		berth_strv_push(out, p);
	}
	berth_strv_free(names);
	return 0;
}

/* --from: the source path extracted from a stage or an image into a local root */
static int from_root(struct bctx *b, const char *from, const char *dir, char **srcs, struct berth_error *err)
{
	char image[BERTH_ID_SZ] = "";
	char *end;
	long idx = strtol(from, &end, 10);
	if (!*end && *from && idx >= 0 && (size_t)idx < b->nstages)
		snprintf(image, sizeof(image), "%s", b->stages[idx].id);
	for (size_t i = 0; i < b->nstages && !*image; i++)
		if (b->stages[i].name && !strcasecmp(b->stages[i].name, from))
			snprintf(image, sizeof(image), "%s", b->stages[i].id);
	if (!*image) {
		if (bld_get_image(b, from, image) < 0)
			return -1;
	}
	json_t *body = json_pack("{s:s, s:[s], s:{s:[s]}, s:{}}", "Image", image, "Cmd", "/nonexistent", "Healthcheck",
				 "Test", "NONE", "HostConfig");
	char ctr[65];
	int rc = b->ops->ctr_create(b->ops->ctx, body, ctr, err);
	json_decref(body);
	if (rc < 0)
		return -1;
	cleanup_close int rfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; rc == 0 && srcs[i]; i++) {
		cleanup_free char *clean = berth_cp_clean(srcs[i]);
		const char *rel = clean;
		while (*rel == '/')
			rel++;
		cleanup_free char *parent = strdup(rel);
		char *sl = strrchr(parent, '/');
		if (sl)
			*sl = 0;
		else
			parent[0] = 0;
		/* a wildcard in the last element: fetch its directory */
		cleanup_free char *want = has_wildcard(rel) ? strdup(parent) : strdup(rel);
		cleanup_free char *where = strdup(want);
		char *ws = strrchr(where, '/');
		if (ws)
			*ws = 0;
		else
			where[0] = 0;
		cleanup_close int tfd = bld_tmpfile(b);
		if (tfd < 0) {
			rc = -1;
			break;
		}
		struct berth_writer w = berth_writer_fd(tfd);
		cleanup_free char *abs = berth_strdup_printf("/%s", want);
		rc = b->ops->ctr_get(b->ops->ctx, ctr, abs, &w, err);
		if (rc < 0)
			break;
		lseek(tfd, 0, SEEK_SET);
		if (*where) {
			cleanup_free char *dup = strdup(where);
			for (char *p = dup; *p; p++)
				if (*p == '/') {
					*p = 0;
					mkdirat(rfd, dup, 0755);
					*p = '/';
				}
			mkdirat(rfd, dup, 0755);
		}
		struct berth_reader r = berth_reader_fd(tfd);
		struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_BENEATH, .dest_shown = "/"};
		rc = berth_untar(rfd, where, &r, &uo, err);
	}
	bld_remove_later(b, ctr);
	return rc;
}

/* reproducible builds: no time in the staged tree after the epoch */
static void clamp_times(int dfd, int64_t max_s, int depth)
{
	if (depth > 256)
		return;
	DIR *d = fdopendir(dup(dfd));
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				clamp_times(cfd, max_s, depth + 1);
				close(cfd);
			}
		}
		if (st.st_mtim.tv_sec > max_s || st.st_atim.tv_sec > max_s) {
			struct timespec ts[2] = {{.tv_sec = max_s}, {.tv_sec = max_s}};
			if (st.st_mtim.tv_sec <= max_s)
				ts[1] = st.st_mtim;
			utimensat(dfd, e->d_name, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	closedir(d);
}

static int commit_stage(struct copy_job *j, const char *comment, const char *key)
{
	struct bctx *b = j->b;
	if (b->created_ns)
		clamp_times(j->stage_fd, b->created_ns / 1000000000LL, 0);
	if (b->nlayers >= BERTH_BUILD_MAX_LAYERS)
		return berth_err(b->err, BERTH_E_INVALID, "max depth exceeded");
	bld_mark(b, "stage files");
	cleanup_close int tfd = bld_tmpfile_in(b, j->scratch);
	if (tfd < 0)
		return -1;
	struct berth_writer w = berth_writer_fd(tfd);
	struct berth_tar_src src = {.dirfd = j->stage_fd};
	if (berth_tar_write(&src, &w, b->err) < 0)
		return -1;
	lseek(tfd, 0, SEEK_SET);
	bld_mark(b, "layer tar");
	struct berth_reader r = berth_reader_fd(tfd);
	json_t *cc = json_deep_copy(b->cfg);
	json_object_set_new(cc, "Cmd", bld_nop_cmd(b, comment));
	char nid[BERTH_ID_SZ];
	int rc = b->ops->commit_tar(b->ops->ctx, *b->id ? b->id : NULL, &r, b->cfg, cc, b->author,
				    b->created_ns ? b->created_ns : berth_now_ns(), nid, b->err);
	json_decref(cc);
	bld_mark(b, "layer register and image");
	if (rc < 0)
		return -1;
	if (key)
		berth_build_cache_put(b->db, *b->id ? b->id : "scratch", key, nid);
	snprintf(b->id, sizeof(b->id), "%s", nid);
	b->nlayers++;
	bld_stream(b, " ---> %.12s\n", berth_digest_hex(b->id));
	return 0;
}

static int new_stage_dir(struct bctx *b, const char *what, const char *work, char **dir, int *fd)
{
	char rnd[65];
	berth_random_id(rnd);
	if (!work)
		return -1;
	*dir = berth_strdup_printf("%s/%s-%.12s", work, what, rnd);
	if (!*dir || mkdir(*dir, 0755) < 0)
		return berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "mkdir %s", what);
	*fd = open(*dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "open %s", what);
	return 0;
}

static bool dest_is_dir_in_image(struct bctx *b, const char *dest)
{
	if (!*b->id)
		return false;
	char ctr[65];
	struct berth_error e2 = {0};
	if (b->ops->image_is_dir) {
		int d = b->ops->image_is_dir(b->ops->ctx, b->id, dest, &e2);
		if (d >= 0)
			return d == 1;
	}
	if (bld_probe_ctr(b, ctr, &e2) < 0)
		return false;
	int d = b->ops->ctr_is_dir(b->ops->ctx, ctr, dest, &e2);
	bld_remove_later(b, ctr);
	return d == 1;
}

/* resolve each path inside the root (docker's errors for missing ones);
 * hash them into j->h when hash */
static int resolve_sources(struct copy_job *j, char **paths, char ***resolved, bool hash)
{
	struct bctx *b = j->b;
	const char *up = j->add ? "ADD" : "COPY";
	for (size_t i = 0; paths[i]; i++) {
		cleanup_free char *abs = berth_strdup_printf("/%s", strcmp(paths[i], ".") ? paths[i] : "");
		cleanup_free char *res = berth_root_resolve(j->root_fd, abs, b->err);
		if (!res)
			return -1;
		struct stat st;
		const char *r = res + 1;
		if ((*r ? fstatat(j->root_fd, r, &st, AT_SYMLINK_NOFOLLOW) : fstat(j->root_fd, &st)) < 0)
			return berth_err(
				b->err, BERTH_E_NOT_FOUND,
				"%s failed: file not found in build context or excluded by .dockerignore: stat %s: file "
				"does not exist",
				up, paths[i]);
		if (S_ISDIR(st.st_mode))
			j->any_dir = true;
		if (hash)
			bld_hash_tree(j->h, j->root_fd, *r ? r : ".", paths[i], 0);
		berth_strv_push(resolved, res);
	}
	return 0;
}

/* the context sources without wildcards, as expand_source names them; -1
 * when one needs the extracted tree (a wildcard, a path outside) */
static int index_paths(char **srcs, char ***paths)
{
	for (size_t i = 0; srcs[i]; i++) {
		cleanup_free char *clean = berth_cp_clean(srcs[i]);
		const char *rel = clean;
		while (rel && *rel == '/')
			rel++;
		if (!rel || has_wildcard(rel) || !strcmp(rel, "..") || berth_str_has_prefix(rel, "../")) {
			berth_strv_free(*paths);
			*paths = NULL;
			return -1;
		}
		berth_strv_push(paths, *rel ? rel : ".");
	}
	return 0;
}

/* hash the paths from the context's index: 1 done, 0 not possible there */
static int index_sources(struct copy_job *j, char **paths)
{
	if (j->root_fd >= 0 || !j->h)
		return 0; /* the paths came from the extracted tree */
	bool any_dir = false;
	for (size_t i = 0; paths[i]; i++) {
		bool d = false;
		if (berth_build_context_hash(j->b->o->context, paths[i], paths[i], j->h, &d) != 1) {
			berth_sha256_free(j->h); /* hashed in part: start again on the tree */
			j->h = berth_sha256_new();
			return 0;
		}
		any_dir |= d;
	}
	j->any_dir = any_dir;
	return 1;
}

int bld_copy(struct bctx *b, struct berth_df_instr *in, bool add)
{
	const char *up = add ? "ADD" : "COPY";
	const char *chown = NULL, *from = NULL;
	for (size_t i = 0; in->flags && in->flags[i]; i++) {
		const char *f = in->flags[i];
		if (berth_str_has_prefix(f, "--chown="))
			chown = f + 8;
		else if (!add && berth_str_has_prefix(f, "--from="))
			from = f + 7;
		else
			return berth_err(b->err, BERTH_E_INVALID, "Unknown flag: %s", f + 2);
	}
	size_t n = berth_strv_len(in->args);
	if (n < 2)
		return berth_err(
			b->err, BERTH_E_INVALID,
			"%s requires at least two arguments, but only one was provided. Destination could not be determined.",
			up);
	struct copy_job j = {.b = b, .root_fd = -1, .stage_fd = -1, .add = add};
	char **srcs = NULL, **paths = NULL, **resolved = NULL;
	cleanup_free char *from_dir = NULL, *dest = NULL, *comment = NULL, *key = NULL, *fromw = NULL;
	cleanup_free char *dw = NULL, *joined = NULL, *extra = NULL, *by = NULL, *chown_s = NULL;
	int from_fd = -1;
	int rc = -1;
	for (size_t i = 0; i + 1 < n; i++) {
		char *w = bld_word(b, in->args[i]);
		if (!w)
			goto out;
		berth_strv_push(&srcs, w);
		free(w);
	}
	dw = bld_word(b, in->args[n - 1]);
	if (!dw)
		goto out;
	const char *wd = json_string_value(json_object_get(b->cfg, "WorkingDir"));
	bool dest_slash = berth_str_has_suffix(dw, "/") || berth_str_has_suffix(dw, "/.") || !strcmp(dw, ".");
	joined = dw[0] == '/' ? strdup(dw) : berth_strdup_printf("%s/%s", wd && *wd ? wd : "", dw);
	dest = berth_cp_clean(joined);
	bool chown_names = false;
	if (chown && (!(chown_s = bld_chown_spec(b, chown, &chown_names)) ||
		      (!chown_names && bld_parse_chown(b, chown, &j.uid, &j.gid) < 0)))
		goto out;
	j.chown = true; /* docker: 0:0 unless --chown */
	if (from) {
		fromw = bld_word(b, from);
		if (!fromw)
			goto out;
		if (new_stage_dir(b, "from", bld_work(b), &from_dir, &from_fd) < 0 ||
		    from_root(b, fromw, from_dir, srcs, b->err) < 0)
			goto out;
		j.root_fd = from_fd;
	}
	bool urls = false;
	for (size_t i = 0; srcs[i]; i++)
		if (berth_str_has_prefix(srcs[i], "http://") || berth_str_has_prefix(srcs[i], "https://"))
			urls = true;
	if (urls) {
		/* ADD <url>: downloaded into a root of their own (never extracted) */
		if (!add) {
			berth_err(b->err, BERTH_E_INVALID, "source can't be a URL for COPY");
			goto out;
		}
		if (new_stage_dir(b, "url", bld_work(b), &from_dir, &from_fd) < 0)
			goto out;
		j.root_fd = from_fd;
		j.urls = true;
		for (size_t i = 0; srcs[i]; i++) {
			cleanup_free char *name = bld_url_name(srcs[i]);
			if (!name ||
			    !(berth_str_has_prefix(srcs[i], "http://") || berth_str_has_prefix(srcs[i], "https://"))) {
				berth_err(b->err, BERTH_E_INVALID,
					  !name ? "cannot determine filename from url: %s" :
						  "ADD with a URL takes URLs only: %s",
					  srcs[i]);
				goto out;
			}
			if (bld_fetch_url(b, srcs[i], from_fd, name) < 0)
				goto out;
			berth_strv_push(&paths, name);
		}
	}
	if (!from && !urls && index_paths(srcs, &paths) < 0 &&
	    (j.root_fd = berth_build_context_fd(b->o->context, b->err)) < 0)
		goto out;
	for (size_t i = 0; srcs[i] && !urls && j.root_fd >= 0; i++) {
		if (expand_source(&j, srcs[i], &paths) < 0)
			goto out;
	}
	if (!paths || !paths[0]) {
		berth_err(b->err, BERTH_E_INVALID, "%s failed: no source files were specified", up);
		goto out;
	}
	size_t np = berth_strv_len(paths);
	bool into_dir = dest_slash || np > 1 || (np == 1 && has_wildcard(srcs[0]));
	/* context sources are hashed from its index when it has one (nothing
	 * extracted); else resolved inside the root and hashed there */
	j.h = berth_sha256_new();
	bool indexed = !from && !urls && index_sources(&j, paths) == 1;
	if (!indexed && j.root_fd < 0 && (j.root_fd = berth_build_context_fd(b->o->context, b->err)) < 0)
		goto out;
	if (!indexed && resolve_sources(&j, paths, &resolved, true) < 0)
		goto out;
	char hash[BERTH_ID_SZ];
	berth_sha256_final(j.h, hash);
	j.h = NULL;
	comment = berth_strdup_printf("%s %s:%s in %s ", up,
				      np > 1    ? "multi" :
				      j.any_dir ? "dir" :
						  "file",
				      berth_digest_hex(hash), dest);
	extra = chown_names ?
			berth_strdup_printf("%s|%s|%s", hash, chown_s, from ? fromw : "") :
			berth_strdup_printf("%s|%u:%u|%s", hash, (unsigned)j.uid, (unsigned)j.gid, from ? fromw : "");
	key = bld_key(b, add ? "add" : "copy", comment, extra);
	by = bld_nop_text(b, comment);
	bld_mark(b, "hash sources");
	int hit = bld_cache_probe(b, key, by);
	bld_mark(b, "cache lookup");
	if (hit == 1) {
		rc = 0;
		goto out;
	}
	b->cache_broken = true;
	if (chown_names && bld_parse_chown(b, chown, &j.uid, &j.gid) < 0)
		goto out;
	if (indexed) { /* the files are needed now */
		if ((j.root_fd = berth_build_context_fd(b->o->context, b->err)) < 0 ||
		    resolve_sources(&j, paths, &resolved, false) < 0)
			goto out;
	}
	if (!into_dir && !j.any_dir && dest_is_dir_in_image(b, dest))
		into_dir = true;
	bld_mark(b, "resolve sources and probe dest");
	/* context files (at most the in-memory context's size) are staged in
	 * memory; --from trees, downloads and archives ADD unpacks on disk */
	j.scratch = bld_scratch(b, !from && !urls && !add);
	if (new_stage_dir(b, "copy", j.scratch, &j.stage_dir, &j.stage_fd) < 0)
		goto out;
	const char *drel = dest + 1; /* dest is absolute and clean */
	for (size_t i = 0; i < np && rc != -2; i++) {
		const char *r = resolved[i] + 1;
		struct stat st;
		if ((*r ? fstatat(j.root_fd, r, &st, AT_SYMLINK_NOFOLLOW) : fstat(j.root_fd, &st)) < 0)
			continue;
		int res;
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int dfd =
				*r ? berth_ar_open(j.root_fd, r, O_RDONLY | O_DIRECTORY, BERTH_UNTAR_IN_ROOT) :
				     dup(j.root_fd);
			if (dfd < 0) {
				berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "open %s", paths[i]);
				rc = -2;
				break;
			}
			res = stage_tree(&j, dfd, NULL, *drel ? drel : NULL);
		} else {
			cleanup_free char *bn = base_of(paths[i]);
			cleanup_free char *target =
				into_dir ? (*drel ? berth_strdup_printf("%s/%s", drel, bn) : strdup(bn)) : strdup(drel);
			cleanup_close int afd = -1;
			if (add && !j.urls && S_ISREG(st.st_mode) &&
			    (afd = berth_ar_open(j.root_fd, r, O_RDONLY, BERTH_UNTAR_IN_ROOT)) >= 0 &&
			    is_archive(afd)) {
				res = stage_archive(&j, afd, drel);
			} else {
				cleanup_free char *pdir = strdup(r);
				char *sl = strrchr(pdir, '/');
				cleanup_close int pfd = -1;
				if (sl) {
					*sl = 0;
					pfd = berth_ar_open(j.root_fd, pdir, O_RDONLY | O_DIRECTORY,
							    BERTH_UNTAR_IN_ROOT);
				} else
					pfd = dup(j.root_fd);
				if (pfd < 0) {
					berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "open %s", paths[i]);
					rc = -2;
					break;
				}
				res = stage_tree(&j, pfd, sl ? sl + 1 : r, target);
			}
		}
		if (res < 0) {
			rc = -2;
			break;
		}
	}
	if (rc == -2) {
		rc = -1;
		goto out;
	}
	rc = commit_stage(&j, comment, key);
out:
	if (j.h)
		berth_sha256_free(j.h);
	if (j.stage_fd >= 0)
		close(j.stage_fd);
	if (j.stage_dir) {
		berth_rm_rf(j.stage_dir, NULL);
		free(j.stage_dir);
	}
	if (from_fd >= 0)
		close(from_fd);
	if (from_dir)
		berth_rm_rf(from_dir, NULL);
	berth_strv_free(srcs);
	berth_strv_free(paths);
	berth_strv_free(resolved);
	return rc;
}

int bld_workdir_create(struct bctx *b, const char *dir)
{
	cleanup_free char *comment = berth_strdup_printf("WORKDIR %s", dir);
	cleanup_free char *key = bld_key(b, "workdir", comment, NULL);
	if (!key)
		return berth_err(b->err, BERTH_E_INTERNAL, "out of memory");
	cleanup_free char *by = bld_nop_text(b, comment);
	int hit = bld_cache_probe(b, key, by);
	bld_mark(b, "cache lookup");
	if (hit == 1)
		return 0;
	bool exists = !strcmp(dir, "/") || dest_is_dir_in_image(b, dir);
	bld_mark(b, "probe dir");
	if (exists) {
		b->cache_broken = true; /* bmeta probes again: a miss */
		return bld_meta(b, comment);
	}
	b->cache_broken = true;
	struct copy_job j = {.b = b, .stage_fd = -1};
	int rc = -1;
	cleanup_free char *rel = strdup(dir + 1);
	j.scratch = bld_scratch(b, true);
	if (new_stage_dir(b, "workdir", j.scratch, &j.stage_dir, &j.stage_fd) < 0)
		goto out;
	for (char *p = rel; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdirat(j.stage_fd, rel, 0755);
			*p = '/';
		}
	if (mkdirat(j.stage_fd, rel, 0755) < 0 && errno != EEXIST) {
		berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "mkdir %s", dir);
		goto out;
	}
	rc = commit_stage(&j, comment, key);
out:
	if (j.stage_fd >= 0)
		close(j.stage_fd);
	if (j.stage_dir) {
		berth_rm_rf(j.stage_dir, NULL);
		free(j.stage_dir);
	}
	return rc;
}
