/* berth cp: docker's copy rules (cli/command/container/cp.go and
 * pkg/archive/copy.go) on top of the archive API. The host side is written
 * and extracted with the shared tar module (archive/tar.h), extraction
 * resolving every entry beneath the destination directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "cli.h"
#include "cmd_common.h"
#include "common/cleanup.h"

/* ------------------------------------------------------------ path rules */

struct copy_info {
	char *path;
	bool exists, is_dir;
	char *rebase_name; /* NULL when none */
};

static void copy_info_free(struct copy_info *i)
{
	free(i->path);
	free(i->rebase_name);
	memset(i, 0, sizeof(*i));
}

static const char *go_err(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static bool has_trailing_sep(const char *p)
{
	size_t n = strlen(p);
	return n && p[n - 1] == '/';
}

static char *base_of(const char *p)
{
	char *d = NULL, *b = NULL;
	cleanup_free char *c = berth_cp_clean(p);
	/* filepath.Base of a cleaned path */
	if (c && berth_cp_split(c, &d, &b) == 0) {
		free(d);
		return b;
	}
	return NULL;
}

static bool current_dir(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	return (n == 1 && p[0] == '.') || (n >= 2 && p[n - 1] == '.' && p[n - 2] == '/');
}

/* filepath.Abs + PreserveTrailingDotOrSeparator */
static char *resolve_local(const char *p)
{
	cleanup_free char *joined = NULL;
	if (p[0] == '/') {
		joined = strdup(p);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		joined = berth_strdup_printf("%s/%s", cwd, p);
	}
	cleanup_free char *c = joined ? berth_cp_clean(joined) : NULL;
	return c ? berth_cp_preserve_trailing(c, p) : NULL;
}

/* "CONTAINER:PATH" or a local path ("./a:b" and "/a:b" are local). */
static void split_arg(const char *arg, char **ctr, const char **path)
{
	*ctr = NULL;
	*path = arg;
	if (arg[0] == '/')
		return;
	const char *colon = strchr(arg, ':');
	if (!colon || arg[0] == '.')
		return;
	*ctr = strndup(arg, (size_t)(colon - arg));
	*path = colon + 1;
}

/* GetRebaseName */
static void rebase_name(const char *path, char **resolved, char **rebase)
{
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s", *resolved);
	if (current_dir(path) && !current_dir(berth_buf_str(&b)))
		berth_buf_printf(&b, "/.");
	if (has_trailing_sep(path) && !has_trailing_sep(berth_buf_str(&b)))
		berth_buf_putc(&b, '/');
	free(*resolved);
	*resolved = berth_buf_steal(&b);
	cleanup_free char *pb = base_of(path), *rb = base_of(*resolved);
	*rebase = pb && rb && strcmp(pb, rb) ? strdup(pb) : NULL;
}

/* CopyInfoSourcePath (ResolveHostSourcePath + lstat). */
static int source_info(const char *path, bool follow, struct copy_info *out)
{
	memset(out, 0, sizeof(*out));
	char eb[128];
	if (follow) {
		char real[PATH_MAX];
		if (!realpath(path, real)) {
			fprintf(stderr, "lstat %s: %s\n", path, go_err(errno, eb, sizeof(eb)));
			return -1;
		}
		out->path = strdup(real);
		rebase_name(path, &out->path, &out->rebase_name);
	} else {
		const char *slash = strrchr(path, '/');
		cleanup_free char *dir = strndup(path, (size_t)(slash - path) + 1);
		char real[PATH_MAX];
		if (!dir || !realpath(dir, real)) {
			fprintf(stderr, "lstat %s: %s\n", dir ? dir : path, go_err(errno, eb, sizeof(eb)));
			return -1;
		}
		out->path = berth_strdup_printf("%s/%s", real, slash + 1);
		if (has_trailing_sep(path)) {
			cleanup_free char *pb = base_of(path), *rb = base_of(out->path);
			if (pb && rb && strcmp(pb, rb))
				out->rebase_name = strdup(pb);
		}
	}
	struct stat st;
	if (lstat(out->path, &st) < 0) {
		fprintf(stderr, "lstat %s: %s\n", out->path, go_err(errno, eb, sizeof(eb)));
		copy_info_free(out);
		return -1;
	}
	out->exists = true;
	out->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

/* CopyInfoDestinationPath */
static int dest_info(const char *path, struct copy_info *out)
{
	memset(out, 0, sizeof(*out));
	char eb[128];
	out->path = strdup(path);
	struct stat st;
	int r = lstat(out->path, &st);
	for (int n = 0; r == 0 && S_ISLNK(st.st_mode); n++) {
		if (n > 10) {
			fprintf(stderr, "too many symlinks in %s\n", path);
			copy_info_free(out);
			return -1;
		}
		char target[PATH_MAX + 1];
		ssize_t len = readlink(out->path, target, PATH_MAX);
		if (len < 0)
			break;
		target[len] = '\0';
		char *next;
		if (target[0] == '/') {
			next = strdup(target);
		} else {
			char *d = NULL, *b = NULL;
			berth_cp_split(out->path, &d, &b);
			cleanup_free char *j = berth_strdup_printf("%s/%s", d ? d : ".", target);
			next = j ? berth_cp_clean(j) : NULL;
			free(d);
			free(b);
		}
		free(out->path);
		out->path = next;
		r = out->path ? lstat(out->path, &st) : -1;
	}
	if (r < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "lstat %s: %s\n", out->path, go_err(errno, eb, sizeof(eb)));
			copy_info_free(out);
			return -1;
		}
		char *d = NULL, *b = NULL;
		berth_cp_split(out->path, &d, &b);
		struct stat ps;
		int pr = d ? stat(d, &ps) : -1;
		if (pr < 0 || !S_ISDIR(ps.st_mode)) {
			if (pr < 0)
				fprintf(stderr, "stat %s: %s\n", d ? d : "", go_err(errno, eb, sizeof(eb)));
			else
				fprintf(stderr, "not a directory\n");
			free(d);
			free(b);
			copy_info_free(out);
			return -1;
		}
		free(d);
		free(b);
		return 0;
	}
	out->exists = true;
	out->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

/* PrepareArchiveCopy: the directory to extract into and how entry names
 * (starting with the source's base name) must be renamed. */
struct prepared {
	char *dst_dir;
	char *from, *to; /* rebase; to NULL: none */
};

static void prepared_free(struct prepared *p)
{
	free(p->dst_dir);
	free(p->from);
	free(p->to);
	memset(p, 0, sizeof(*p));
}

static int prepare_copy(const struct copy_info *src, const struct copy_info *dst, struct prepared *out)
{
	memset(out, 0, sizeof(*out));
	char *dst_dir = NULL, *dst_base = NULL, *sd = NULL, *src_base = NULL;
	if (berth_cp_split(dst->path, &dst_dir, &dst_base) < 0 || berth_cp_split(src->path, &sd, &src_base) < 0)
		return -1;
	free(sd);
	int rc = 0;
	if (dst->exists && dst->is_dir) {
		out->dst_dir = strdup(dst->path);
		free(dst_dir);
	} else if (dst->exists && src->is_dir) {
		fprintf(stderr, "cannot copy directory\n");
		free(dst_dir);
		rc = -1;
	} else if (!dst->exists && !src->is_dir && (has_trailing_sep(dst->path) || current_dir(dst->path))) {
		fprintf(stderr, "no such directory\n");
		free(dst_dir);
		rc = -1;
	} else {
		out->dst_dir = dst_dir;
		out->from = strdup(src->rebase_name ? src->rebase_name : src_base);
		out->to = strdup(dst_base);
	}
	free(dst_base);
	free(src_base);
	return rc;
}

/* ValidateOutputPath */
static int validate_output(const char *path, const char *prefix)
{
	cleanup_free char *c = berth_cp_clean(path);
	char *slash = c ? strrchr(c, '/') : NULL;
	cleanup_free char *dir = slash ? (slash == c ? strdup("/") : strndup(c, (size_t)(slash - c))) : NULL;
	struct stat st;
	if (dir && stat(dir, &st) < 0 && errno == ENOENT) {
		fprintf(stderr, "%sinvalid output path: directory \"%s\" does not exist\n", prefix, dir);
		return -1;
	}
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
	    (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		fprintf(stderr, "%sinvalid output path: \"%s\" must be a directory or a regular file: got a device\n",
			prefix, path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ API calls */

static char *archive_path(const char *ctr, const char *path, const char *extra)
{
	cleanup_free char *ec = berth_urlencode(ctr), *ep = berth_urlencode(path);
	return berth_strdup_printf("/containers/%s/archive?path=%s%s", ec, ep, extra ? extra : "");
}

static void print_api_error(struct cli *c, struct berth_response *resp, struct berth_error *err, const char *ctr,
			    const char *path)
{
	if (resp->status == 404) {
		fprintf(stderr, "Error: No such container:path: %s:%s\n", ctr, path);
		return;
	}
	berth_client_error(resp, err);
	cli_daemon_error(c, err);
}

/* ContainerStatPath (HEAD). 1 found, 0 not (any error), -1 transport error. */
static int stat_path(struct cli *c, const char *ctr, const char *path, struct berth_path_stat *st, int *status)
{
	cleanup_free char *q = archive_path(ctr, path, NULL);
	struct berth_response resp;
	struct berth_error err = {0};
	if (berth_client_do(&c->cl, "HEAD", q, NULL, NULL, NULL, NULL, NULL, &resp, &err) < 0) {
		cli_daemon_error(c, &err);
		return -1;
	}
	*status = resp.status;
	int rc = 0;
	if (resp.status < 300 && resp.path_stat && berth_path_stat_decode(resp.path_stat, st, &err) == 0)
		rc = 1;
	berth_response_free(&resp);
	return rc;
}

/* ---------------------------------------------------- from the container */

struct untar_job {
	int root_fd;
	int fd; /* pipe read end */
	struct berth_untar_opts o;
	int rc;
	struct berth_error err;
};

static void *untar_main(void *arg)
{
	struct untar_job *j = arg;
	struct berth_reader r = berth_reader_fd(j->fd);
	j->rc = berth_untar(j->root_fd, "", &r, &j->o, &j->err);
	close(j->fd);
	j->fd = -1;
	return NULL;
}

struct from_ctx {
	struct berth_response *resp;
	const char *dst;         /* local destination, NULL: stdout */
	struct copy_info *dinfo; /* destination info */
	const char *src_path;
	const char *rebase; /* -L rebase name or NULL */
	bool archive;
	bool started, stop, failed;
	int pipe_w;
	pthread_t th;
	struct untar_job job;
	struct prepared prep;
	char *src_from;
};

static int from_start(struct from_ctx *f)
{
	struct berth_path_stat st;
	struct berth_error err = {0};
	if (!f->resp->path_stat || berth_path_stat_decode(f->resp->path_stat, &st, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg[0] ? err.msg : "missing container path stat");
		return -1;
	}
	struct copy_info src = {.path = (char *)f->src_path,
				.exists = true,
				.is_dir = (st.mode & BERTH_GO_MODE_DIR) != 0,
				.rebase_name = (char *)f->rebase};
	berth_path_stat_free(&st);
	if (prepare_copy(&src, f->dinfo, &f->prep) < 0)
		return -1;
	/* names in the stream start with the source's base name; with -L it is
	 * first renamed to the link's name (RebaseName), then to the target's */
	char *sd = NULL;
	berth_cp_split(f->src_path, &sd, &f->src_from);
	free(sd);
	int root = open(f->prep.dst_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		char eb[128];
		fprintf(stderr, "open %s: %s\n", f->prep.dst_dir, go_err(errno, eb, sizeof(eb)));
		return -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(root);
		return -1;
	}
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* fewer thread wake-ups per MB */
	f->pipe_w = p[1];
	f->job = (struct untar_job){.root_fd = root, .fd = p[0]};
	f->job.o = (struct berth_untar_opts){.resolve = BERTH_UNTAR_BENEATH,
					     .no_lchown = !f->archive,
					     .no_overwrite_dir_nondir = true,
					     .dest_shown = f->prep.dst_dir};
	if (f->prep.to) {
		f->job.o.rebase_from = f->src_from;
		f->job.o.rebase_to = f->prep.to;
	} else if (f->rebase) {
		f->job.o.rebase_from = f->src_from;
		f->job.o.rebase_to = f->rebase;
	}
	if (pthread_create(&f->th, NULL, untar_main, &f->job) != 0) {
		close(p[0]);
		close(p[1]);
		close(root);
		return -1;
	}
	f->started = true;
	return 0;
}

static int from_data(void *ctx, const char *data, size_t len)
{
	struct from_ctx *f = ctx;
	if (!f->dst)
		return berth_write_all(1, data, len) < 0 ? (f->failed = true, -1) : 0;
	if (!f->started && from_start(f) < 0) {
		f->failed = true;
		return -1;
	}
	if (berth_write_all(f->pipe_w, data, len) < 0) {
		f->failed = true; /* the extraction stopped: its error is reported */
		return -1;
	}
	return 0;
}

static int copy_from(struct cli *c, const char *ctr, const char *src, const char *dst_arg, bool follow, bool archive)
{
	cleanup_free char *dst = NULL, *srcp = strdup(src), *rebase = NULL;
	struct copy_info dinfo = {0};
	int rc = 1;
	if (strcmp(dst_arg, "-")) {
		dst = resolve_local(dst_arg);
		if (!dst || validate_output(dst, "") < 0)
			return 1;
	}
	if (follow) {
		struct berth_path_stat st;
		int status = 0;
		int r = stat_path(c, ctr, src, &st, &status);
		if (r < 0)
			return 1;
		if (r == 1 && (st.mode & BERTH_GO_MODE_SYMLINK)) {
			char *target;
			if (st.link_target[0] == '/') {
				target = strdup(st.link_target);
			} else {
				char *d = NULL, *b = NULL;
				berth_cp_split(src, &d, &b);
				cleanup_free char *j = berth_strdup_printf("%s/%s", d, st.link_target);
				target = berth_cp_clean(j);
				free(d);
				free(b);
			}
			rebase_name(src, &target, &rebase);
			free(srcp);
			srcp = target;
		}
		if (r == 1)
			berth_path_stat_free(&st);
	}
	if (dst && dest_info(dst, &dinfo) < 0)
		return 1;
	cleanup_free char *q = archive_path(ctr, srcp, NULL);
	struct berth_response resp;
	struct berth_error err = {0};
	struct from_ctx f = {.resp = &resp,
			     .dst = dst,
			     .dinfo = &dinfo,
			     .src_path = srcp,
			     .rebase = rebase,
			     .archive = archive,
			     .pipe_w = -1};
	int r = berth_client_do(&c->cl, "GET", q, NULL, NULL, NULL, from_data, &f, &resp, &err);
	if (f.started) {
		close(f.pipe_w);
		pthread_join(f.th, NULL);
		close(f.job.root_fd);
	}
	if (r < 0) {
		cli_daemon_error(c, &err);
	} else if (resp.status >= 300) {
		print_api_error(c, &resp, &err, ctr, srcp);
	} else if (f.started && f.job.rc < 0) {
		fprintf(stderr, "%s\n", f.job.err.msg);
	} else if (resp.truncated && !f.failed) {
		fprintf(stderr, "unexpected EOF\n");
	} else if (!f.failed) {
		rc = 0;
	} else if (!dst) {
		fprintf(stderr, "write: %s\n", strerror(errno));
	}
	berth_response_free(&resp);
	prepared_free(&f.prep);
	free(f.src_from);
	copy_info_free(&dinfo);
	return rc;
}

/* ------------------------------------------------------ into the container */

struct tar_job {
	int dirfd;
	const char *base, *name;
	int fd; /* pipe write end */
	int rc;
	struct berth_error err;
};

static void *tar_main(void *arg)
{
	struct tar_job *j = arg;
	struct berth_writer w = berth_writer_fd(j->fd);
	struct berth_tar_src s = {.dirfd = j->dirfd, .base = j->base, .name = j->name};
	j->rc = berth_tar_write(&s, &w, &j->err);
	close(j->fd);
	return NULL;
}

static int copy_to(struct cli *c, const char *ctr, const char *src_arg, const char *dst, bool follow, bool archive)
{
	cleanup_free char *src = NULL;
	if (strcmp(src_arg, "-")) {
		src = resolve_local(src_arg);
		if (!src)
			return 1;
	}
	struct copy_info dinfo = {.path = strdup(dst)};
	struct berth_path_stat st;
	int status = 0;
	int r = stat_path(c, ctr, dst, &st, &status);
	if (r < 0) {
		copy_info_free(&dinfo);
		return 1;
	}
	if (r == 1 && (st.mode & BERTH_GO_MODE_SYMLINK)) {
		char *target;
		if (st.link_target[0] == '/') {
			target = strdup(st.link_target);
		} else {
			char *d = NULL, *b = NULL;
			berth_cp_split(dst, &d, &b);
			cleanup_free char *j = berth_strdup_printf("%s/%s", d, st.link_target);
			target = berth_cp_clean(j);
			free(d);
			free(b);
		}
		free(dinfo.path);
		dinfo.path = target;
		berth_path_stat_free(&st);
		r = stat_path(c, ctr, dinfo.path, &st, &status);
		if (r < 0) {
			copy_info_free(&dinfo);
			return 1;
		}
	}
	if (r == 1) {
		bool dev = (st.mode & BERTH_GO_MODE_DEVICE) != 0;
		dinfo.exists = true;
		dinfo.is_dir = (st.mode & BERTH_GO_MODE_DIR) != 0;
		berth_path_stat_free(&st);
		if (dev) {
			fprintf(stderr, "destination \"%s:%s\" must be a directory or a regular file: got a device\n",
				ctr, dst);
			copy_info_free(&dinfo);
			return 1;
		}
	}
	int rc = 1;
	struct prepared prep = {0};
	struct copy_info sinfo = {0};
	cleanup_close int dirfd = -1;
	cleanup_free char *top = NULL, *sdir = NULL, *sbase = NULL, *q = NULL;
	struct berth_response resp = {0};
	struct berth_error err = {0};
	const char *put_path = dinfo.path;
	struct berth_reader in = berth_reader_fd(0);
	int p[2] = {-1, -1};
	pthread_t th;
	struct tar_job job = {0};
	bool started = false;
	if (!src) {
		if (!dinfo.is_dir) {
			fprintf(stderr, "destination \"%s:%s\" must be a directory\n", ctr, dst);
			goto out;
		}
	} else {
		if (source_info(src, follow, &sinfo) < 0 || prepare_copy(&sinfo, &dinfo, &prep) < 0)
			goto out;
		put_path = prep.dst_dir;
		if (berth_cp_split(sinfo.path, &sdir, &sbase) < 0)
			goto out;
		/* the archive's top entry: the source's name, renamed as PrepareArchiveCopy says */
		top = strdup(prep.to ? prep.to : sinfo.rebase_name ? sinfo.rebase_name : sbase);
		dirfd = open(sdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			char eb[128];
			fprintf(stderr, "lstat %s: %s\n", sdir, go_err(errno, eb, sizeof(eb)));
			goto out;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			goto out;
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		job = (struct tar_job){.dirfd = dirfd, .base = sbase, .name = top, .fd = p[1]};
		if (pthread_create(&th, NULL, tar_main, &job) != 0) {
			close(p[1]);
			goto out;
		}
		started = true;
		in = berth_reader_fd(p[0]);
	}
	q = archive_path(ctr, put_path,
			 archive ? "&noOverwriteDirNonDir=true&copyUIDGID=true" : "&noOverwriteDirNonDir=true");
	r = berth_client_do(&c->cl, "PUT", q, NULL, &in, "application/x-tar", NULL, NULL, &resp, &err);
	if (p[0] >= 0)
		close(p[0]);
	if (started)
		pthread_join(th, NULL);
	if (r < 0)
		cli_daemon_error(c, &err);
	else if (resp.status >= 300)
		print_api_error(c, &resp, &err, ctr, put_path);
	else if (started && job.rc < 0)
		fprintf(stderr, "%s\n", job.err.msg);
	else
		rc = 0;
	berth_response_free(&resp);
out:
	prepared_free(&prep);
	copy_info_free(&sinfo);
	copy_info_free(&dinfo);
	return rc;
}

static int cmd_cp(struct cli *c, int argc, char **argv)
{
	bool archive = false, follow = false;
	const struct cli_opt opts[] = {
		{"archive", 'a', OPT_BOOL, &archive, "Archive mode (copy all uid/gid information)"},
		{"follow-link", 'L', OPT_BOOL, &follow, "Always follow symbol link in SRC_PATH"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	if (berth_strv_len(args) != 2) {
		fprintf(stderr,
			"\"%s\" requires exactly 2 arguments.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
			"\t%s [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\nCopy files/folders between a container and the local filesystem\n",
			c->cmdpath, c->cmdpath, c->cmdpath, c->cmdpath);
		goto out;
	}
	if (!*args[0]) {
		fprintf(stderr, "source can not be empty\n");
		goto out;
	}
	if (!*args[1]) {
		fprintf(stderr, "destination can not be empty\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	char *sctr = NULL, *dctr = NULL;
	const char *spath, *dpath;
	split_arg(args[0], &sctr, &spath);
	split_arg(args[1], &dctr, &dpath);
	if (sctr && dctr)
		fprintf(stderr, "copying between containers is not supported\n");
	else if (sctr)
		rc = copy_from(c, sctr, spath, dpath, follow, archive);
	else if (dctr)
		rc = copy_to(c, dctr, spath, dpath, follow, archive);
	else
		fprintf(stderr, "must specify at least one container source\n");
	free(sctr);
	free(dctr);
out:
	berth_strv_free(args);
	return rc;
}

const struct cli_cmd cli_cmds_cp[] = {
	{"cp", cmd_cp, NULL, "Copy files/folders between a container and the local filesystem"},
	{"container cp", cmd_cp, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
