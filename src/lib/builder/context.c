/* The build context: the tar a client sends, extracted safely with the
 * archive module, .dockerignore honoured, the Dockerfile found. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "archive/patterns.h"
#include "archive/tar.h"
#include "builder/builder.h"
#include "builder/ctx_index.h"
#include "common/cleanup.h"

static int prune_dir(int dfd, const char *prefix, const struct berth_patterns *ps, const char *keep, int depth)
{
	if (depth > 512)
		return 0;
	DIR *dir = fdopendir(dup(dfd));
	if (!dir)
		return -1;
	char **names = NULL;
	struct dirent *e;
	while ((e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			berth_strv_push(&names, e->d_name);
	closedir(dir);
	for (size_t i = 0; names && names[i]; i++) {
		cleanup_free char *rel = *prefix ? berth_strdup_printf("%s/%s", prefix, names[i]) : strdup(names[i]);
		if (!rel)
			continue;
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool isdir = S_ISDIR(st.st_mode);
		bool kept = !strcmp(rel, ".dockerignore") || (keep && !strcmp(rel, keep));
		int f = kept ? BERTH_TAR_KEEP : berth_patterns_tar_filter((void *)ps, rel, isdir);
		if (f == BERTH_TAR_SKIP) {
			berth_ar_remove_at(dfd, names[i]);
		} else if (isdir) {
			cleanup_close int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0)
				prune_dir(cfd, rel, ps, keep, depth + 1);
		}
	}
	berth_strv_free(names);
	return 0;
}

int berth_build_context_extract(struct berth_reader *in, const char *dir, const char *dockerfile,
				struct berth_error *err)
{
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", dir);
	cleanup_free char *spool = berth_strdup_printf("%s/..", dir);
	struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_BENEATH, .dest_shown = "/", .spool_dir = spool};
	if (berth_untar(dfd, "", in, &uo, err) < 0)
		return -1;
	/* .dockerignore: the daemon honours it too (a context that arrived unfiltered) */
	char *text = NULL;
	size_t len = 0;
	cleanup_close int ifd = berth_ar_open(dfd, ".dockerignore", O_RDONLY | O_NOFOLLOW, BERTH_UNTAR_BENEATH);
	if (ifd >= 0) {
		struct stat st;
		if (fstat(ifd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1 << 20)) {
			text = malloc((size_t)st.st_size + 1);
			ssize_t n = text ? berth_read_all(ifd, text, (size_t)st.st_size) : -1;
			len = n > 0 ? (size_t)n : 0;
		}
	}
	if (text) {
		struct berth_patterns *ps = berth_patterns_parse(text, len);
		free(text);
		if (ps && !berth_patterns_empty(ps)) {
			cleanup_free char *keep = dockerfile ? berth_cp_clean(dockerfile) : NULL;
			const char *k = keep;
			while (k && *k == '/')
				k++;
			prune_dir(dfd, "", ps, k, 0);
		}
		berth_patterns_free(ps);
	}
	return 0;
}

/* the bytes read ahead, then the rest of the body */
struct replay {
	struct berth_buf head;
	size_t off;
	struct berth_reader *rest;
};

static ssize_t replay_read(void *ctx, void *buf, size_t len)
{
	struct replay *rp = ctx;
	if (rp->off < rp->head.len) {
		size_t n = rp->head.len - rp->off < len ? rp->head.len - rp->off : len;
		memcpy(buf, rp->head.data + rp->off, n);
		rp->off += n;
		return (ssize_t)n;
	}
	return rp->rest ? rp->rest->read(rp->rest->ctx, buf, len) : 0;
}

char *berth_build_mem_prefix(const char *data_root)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a: names only, not security */
	for (const unsigned char *p = (const unsigned char *)data_root; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return berth_strdup_printf("berth-build-%016llx-", (unsigned long long)h);
}

static char *mem_dir(const char *data_root)
{
	struct statfs sf;
	if (statfs("/dev/shm", &sf) < 0 || sf.f_type != 0x01021994 /* TMPFS_MAGIC */)
		return NULL;
	cleanup_free char *pre = berth_build_mem_prefix(data_root);
	char *tpl = pre ? berth_strdup_printf("/dev/shm/%sXXXXXX", pre) : NULL;
	if (tpl && !mkdtemp(tpl)) {
		free(tpl);
		tpl = NULL;
	}
	return tpl;
}

void berth_build_recover(const char *data_root)
{
	cleanup_free char *work = berth_strdup_printf("%s/builder", data_root);
	if (work)
		berth_rm_rf(work, NULL);
	cleanup_free char *pre = berth_build_mem_prefix(data_root);
	DIR *d = pre ? opendir("/dev/shm") : NULL;
	if (!d)
		return;
	size_t n = strlen(pre);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, pre, n))
			continue;
		cleanup_free char *p = berth_strdup_printf("/dev/shm/%s", e->d_name);
		if (p)
			berth_rm_rf(p, NULL);
	}
	closedir(d);
}

struct berth_build_context {
	struct berth_buf body; /* the whole body, when it fits in BERTH_BUILD_MEM_CONTEXT */
	bool whole;
	struct ctx_index ix;
	bool indexed;
	char *data_root, *work, *dockerfile;
	char *dir; /* extracted (or given) */
	char *mem; /* made on /dev/shm: removed with the context */
	int fd;
};

/* extract body (+ the rest of in) into a new directory on /dev/shm or below work */
static int extract(struct berth_build_context *c, struct berth_reader *rest, struct berth_error *err)
{
	struct replay rp = {.head = c->body, .rest = rest};
	if (!rest && !c->mem)
		c->mem = mem_dir(c->data_root);
	c->dir = berth_strdup_printf("%s/context", c->mem ? c->mem : c->work);
	struct berth_reader r = {replay_read, &rp};
	if (!c->dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_mkdir_p(c->dir, 0700, err) < 0)
		return -1;
	return berth_build_context_extract(&r, c->dir, c->dockerfile, err);
}

/* the daemon's reading of .dockerignore, on the index */
static void index_ignore(struct berth_build_context *c)
{
	const struct ctx_entry *e = ctx_index_find(&c->ix, ".dockerignore");
	if (!e || !S_ISREG(e->mode) || e->size >= (1 << 20))
		return;
	struct berth_patterns *ps = berth_patterns_parse(c->ix.tar + e->off, (size_t)e->size);
	if (ps && !berth_patterns_empty(ps)) {
		cleanup_free char *keep = c->dockerfile ? berth_cp_clean(c->dockerfile) : NULL;
		const char *k = keep;
		while (k && *k == '/')
			k++;
		ctx_index_apply_ignore(&c->ix, ps, k);
	}
	berth_patterns_free(ps);
}

int berth_build_context_open(struct berth_reader *in, const char *data_root, const char *work, const char *dockerfile,
			     struct berth_build_context **out, struct berth_error *err)
{
	struct berth_build_context *c = calloc(1, sizeof(*c));
	*out = c;
	if (!c)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	c->fd = -1;
	c->data_root = strdup(data_root);
	c->work = strdup(work);
	c->dockerfile = dockerfile ? strdup(dockerfile) : NULL;
	char *tmp = malloc(65536);
	if (!tmp || !c->data_root || !c->work || (dockerfile && !c->dockerfile)) {
		free(tmp);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	while (c->body.len <= BERTH_BUILD_MEM_CONTEXT) {
		ssize_t n = in->read(in->ctx, tmp, 65536);
		if (n <= 0) {
			c->whole = n == 0;
			break;
		}
		berth_buf_append(&c->body, tmp, (size_t)n);
	}
	free(tmp);
	if (c->whole) {
		int r = ctx_index_build(&c->ix, c->body.data ? c->body.data : "", c->body.len);
		if (r < 0)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		c->indexed = r == 1;
		if (c->indexed) {
			index_ignore(c);
			return 0; /* extracted when a step needs the files */
		}
	}
	return extract(c, c->whole ? NULL : in, err);
}

struct berth_build_context *berth_build_context_of_dir(const char *dir)
{
	struct berth_build_context *c = calloc(1, sizeof(*c));
	if (c) {
		c->fd = -1;
		c->dir = strdup(dir);
	}
	return c;
}

int berth_build_context_fd(struct berth_build_context *c, struct berth_error *err)
{
	if (c->fd >= 0)
		return c->fd;
	if (!c->dir && extract(c, NULL, err) < 0)
		return -1;
	c->fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open context");
	return c->fd;
}

const char *berth_build_context_mem_dir(struct berth_build_context *c)
{
	if (!c->mem && c->whole && c->data_root)
		c->mem = mem_dir(c->data_root);
	return c->mem;
}

int berth_build_context_hash(struct berth_build_context *c, const char *path, const char *label, struct berth_sha256 *h,
			     bool *is_dir)
{
	if (!c->indexed)
		return 0;
	return ctx_index_hash(&c->ix, path, label, h, is_dir);
}

void berth_build_context_free(struct berth_build_context *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->mem)
		berth_rm_rf(c->mem, NULL);
	ctx_index_free(&c->ix);
	berth_buf_free(&c->body);
	free(c->mem);
	free(c->dir);
	free(c->data_root);
	free(c->work);
	free(c->dockerfile);
	free(c);
}

/* the Dockerfile from the index; 0 when only the extracted tree can tell */
static int index_dockerfile(struct berth_build_context *c, const char *name, char **text, size_t *len)
{
	cleanup_free char *clean = berth_cp_clean(name && *name ? name : "Dockerfile");
	if (!clean)
		return 0;
	const char *rel = clean;
	while (*rel == '/')
		rel++;
	const struct ctx_entry *e = *rel ? ctx_index_find(&c->ix, rel) : NULL;
	if (!e && (!name || !*name || !strcmp(rel, "Dockerfile")))
		e = ctx_index_find(&c->ix, "dockerfile");
	if (!e || !S_ISREG(e->mode) || !e->size || e->size > (16 << 20))
		return 0;
	*text = malloc((size_t)e->size + 1);
	if (!*text)
		return 0;
	memcpy(*text, c->ix.tar + e->off, (size_t)e->size);
	(*text)[e->size] = 0;
	*len = (size_t)e->size;
	return 1;
}

int berth_build_context_read_dockerfile(struct berth_build_context *c, const char *name, char **text, size_t *len,
					struct berth_error *err)
{
	if (c->indexed && index_dockerfile(c, name, text, len) == 1)
		return 0;
	if (berth_build_context_fd(c, err) < 0)
		return -1;
	return berth_build_context_dockerfile(c->dir, name, text, len, err);
}

int berth_build_context_dockerfile(const char *dir, const char *name, char **text, size_t *len, struct berth_error *err)
{
	const char *shown = name && *name ? name : "Dockerfile";
	cleanup_free char *clean = berth_cp_clean(shown);
	if (!clean)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	/* an absolute path names a file inside the context */
	const char *rel = clean;
	while (*rel == '/')
		rel++;
	if (!strcmp(rel, "..") || berth_str_has_prefix(rel, "../"))
		return berth_err(err, BERTH_E_INVALID, "Forbidden path outside the build context: %s ()", shown);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", dir);
	int fd = berth_ar_open(dfd, rel, O_RDONLY, BERTH_UNTAR_IN_ROOT);
	if (fd < 0 && (!name || !*name || !strcmp(rel, "Dockerfile")))
		fd = berth_ar_open(dfd, "dockerfile", O_RDONLY, BERTH_UNTAR_IN_ROOT);
	if (fd < 0)
		return berth_err(err, BERTH_E_INVALID, "Cannot locate specified Dockerfile: %s", shown);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
		close(fd);
		return berth_err(err, BERTH_E_INVALID, "Cannot locate specified Dockerfile: %s", shown);
	}
	*text = malloc((size_t)st.st_size + 1);
	ssize_t n = *text ? berth_read_all(fd, *text, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(*text);
		*text = NULL;
		return berth_err(err, BERTH_E_INTERNAL, "read Dockerfile");
	}
	(*text)[n] = 0;
	*len = (size_t)n;
	if (n == 0) {
		free(*text);
		*text = NULL;
		return berth_err(err, BERTH_E_INVALID, "the Dockerfile (%s) cannot be empty", shown);
	}
	return 0;
}
