/* berth build (docker build with the classic builder) and berth builder prune. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/patterns.h"
#include "archive/tar.h"
#include "archive/ustar.h"
#include "cli.h"
#include "common/cleanup.h"
#include "credentials.h"
#include "format/units.h"
#include "progress.h"

#define END_OPTS                                                                                                       \
	{                                                                                                              \
		NULL, 0, 0, NULL, NULL                                                                                 \
	}

struct build_out {
	struct berth_buf line;
	bool quiet;
	int rc;
	char *id;
	struct cli_progress *prog; /* stream lines and a pull's progress (FROM) */
};

static void one_message(struct build_out *bo, const char *p, size_t l)
{
	json_t *m = json_loadb(p, l, 0, NULL);
	if (!m)
		return;
	const char *e = json_string_value(json_object_get(m, "error"));
	const char *s = json_string_value(json_object_get(m, "stream"));
	const char *id = json_string_value(json_object_get(json_object_get(m, "aux"), "ID"));
	if (e) {
		fprintf(stderr, "%s\n", e);
		json_int_t code = json_integer_value(json_object_get(json_object_get(m, "errorDetail"), "code"));
		bo->rc = code > 0 && code < 256 ? (int)code : 1;
	} else if (id) {
		free(bo->id);
		bo->id = strdup(id);
	} else if (!bo->quiet && bo->prog && (s || json_object_get(m, "status"))) {
		cli_progress_message(bo->prog, m);
	}
	json_decref(m);
}

static int on_data(void *ctx, const char *data, size_t len)
{
	struct build_out *bo = ctx;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			one_message(bo, bo->line.data ? bo->line.data : "", bo->line.len);
			bo->line.len = 0;
		} else
			berth_buf_putc(&bo->line, data[i]);
	}
	return 0;
}

struct ignore_ctx {
	struct berth_patterns *ps;
	const char *dockerfile; /* relative to the context, kept always */
};

static int ignore_filter(void *ctx, const char *rel, bool is_dir)
{
	struct ignore_ctx *ic = ctx;
	if (!strcmp(rel, ".dockerignore") || (ic->dockerfile && !strcmp(rel, ic->dockerfile)))
		return BERTH_TAR_KEEP;
	return berth_patterns_tar_filter(ic->ps, rel, is_dir);
}

static int tmpfile_fd(void)
{
	const char *t = getenv("TMPDIR");
	int fd = open(t && *t ? t : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd;
}

/* A tar holding one file named name with the data. */
static int tar_one_file(int out, const char *name, const char *data, size_t len, struct berth_error *err)
{
	char dir[] = "/tmp/berth-build-XXXXXX";
	if (!mkdtemp(dir))
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdtemp");
	cleanup_free char *p = berth_strdup_printf("%s/%s", dir, name);
	int rc = berth_write_file_atomic(p, data, len, 0644, err);
	if (rc == 0) {
		cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct berth_writer w = berth_writer_fd(out);
		struct berth_tar_src src = {.dirfd = dfd, .base = name, .name = name};
		rc = berth_tar_write(&src, &w, err);
	}
	berth_rm_rf(dir, NULL);
	return rc;
}

static bool looks_like_archive(const unsigned char *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return true;
	if (n >= 3 && !memcmp(m, "BZh", 3))
		return true;
	if (n >= 6 && !memcmp(m,
			      "\xfd"
			      "7zXZ",
			      5))
		return true;
	if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return true;
	return n >= 262 && !memcmp(m + 257, "ustar", 5);
}

static int read_all_fd(int fd, struct berth_buf *b)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		berth_buf_append(b, tmp, (size_t)n);
	}
}

/* The context as a tar in a temporary file. *dfname: the Dockerfile's name in it. */
static int make_context(const char *ctxarg, const char *file, int *out_fd, char **dfname, struct berth_error *err)
{
	int fd = tmpfile_fd();
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "temporary file");
	*out_fd = fd;
	struct berth_buf df = {0};
	bool df_extra = false;
	if (file && !strcmp(file, "-")) {
		if (!strcmp(ctxarg, "-"))
			return berth_err(err, BERTH_E_INVALID,
					 "invalid argument: can't use stdin for both build context and dockerfile");
		if (read_all_fd(0, &df) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read stdin");
		df_extra = true;
	}
	if (!strcmp(ctxarg, "-")) {
		struct berth_buf in = {0};
		if (read_all_fd(0, &in) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read stdin");
		if (looks_like_archive((const unsigned char *)in.data, in.len)) {
			berth_write_all(fd, in.data, in.len);
			*dfname = strdup(file ? file : "Dockerfile");
		} else { /* a Dockerfile alone */
			*dfname = strdup("Dockerfile");
			tar_one_file(fd, "Dockerfile", in.data ? in.data : "", in.len, err);
		}
		berth_buf_free(&in);
		return 0;
	}
	struct stat st;
	if (stat(ctxarg, &st) < 0 || !S_ISDIR(st.st_mode))
		return berth_err(err, BERTH_E_INVALID, "unable to prepare context: path \"%s\" not found", ctxarg);
	cleanup_close int cfd = open(ctxarg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* the Dockerfile: inside the context, or added to it */
	cleanup_free char *rel = NULL;
	if (!df_extra) {
		const char *f = file ? file : "Dockerfile";
		cleanup_free char *abs_ctx = realpath(ctxarg, NULL);
		cleanup_free char *path = NULL;
		if (file && file[0] != '/')
			path = realpath(file, NULL);
		else if (file)
			path = realpath(file, NULL);
		else
			path = berth_strdup_printf("%s/Dockerfile", abs_ctx ? abs_ctx : ctxarg);
		if (file && !path)
			return berth_err(
				err, BERTH_E_INVALID,
				"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat %s: no such file or directory",
				f);
		size_t n = abs_ctx ? strlen(abs_ctx) : 0;
		if (path && abs_ctx && !strncmp(path, abs_ctx, n) && path[n] == '/')
			rel = strdup(path + n + 1);
		else if (path) {
			if (berth_read_file(path, &df.data, &df.len, 16 << 20, err) < 0)
				return -1;
			df_extra = true;
		}
	}
	if (df_extra) {
		char rnd[65];
		berth_random_id(rnd);
		rel = berth_strdup_printf(".dockerfile.%.20s", rnd);
	}
	*dfname = strdup(rel ? rel : "Dockerfile");
	/* .dockerignore */
	struct ignore_ctx ic = {.dockerfile = *dfname};
	char *ign = NULL;
	size_t ilen = 0;
	cleanup_free char *ipath = berth_strdup_printf("%s/.dockerignore", ctxarg);
	struct berth_error ie = {0};
	if (berth_read_file(ipath, &ign, &ilen, 1 << 20, &ie) == 0) {
		ic.ps = berth_patterns_parse(ign, ilen);
		free(ign);
	}
	/* the usual tree without libarchive; else (or after a partial stream) the full writer */
	int rc = berth_tar_write_plain(cfd, ic.ps ? ignore_filter : NULL, &ic, fd);
	if (rc == 0 && (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		rc = -1;
	if (rc == 0) {
		struct berth_writer w = berth_writer_fd(fd);
		struct berth_tar_src src = {.dirfd = cfd, .filter = ic.ps ? ignore_filter : NULL, .filter_ctx = &ic};
		rc = berth_tar_write(&src, &w, err);
	} else if (rc < 0)
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "write the context");
	else
		rc = 0;
	berth_patterns_free(ic.ps);
	if (rc < 0)
		return -1;
	if (df_extra) {
		/* drop the end-of-archive blocks, append the Dockerfile entry */
		off_t end = lseek(fd, 0, SEEK_END);
		if (end >= 1024 && ftruncate(fd, end - 1024) == 0 && lseek(fd, 0, SEEK_END) >= 0)
			rc = tar_one_file(fd, *dfname, df.data ? df.data : "", df.len, err);
	}
	berth_buf_free(&df);
	return rc;
}

/* docker 20.10's CLI counter while the context is uploaded (a
 * progress.Reader over the context, printed by the raw stream formatter):
 * "Sending build context to Docker daemon" + the size (units.HumanSize,
 * %8v) + "\r", at most every 512kB read and 100 ms on a terminal; the last
 * update adds "\r\n". Not a terminal: the last update only. */
struct ctx_counter {
	struct berth_reader in;
	FILE *out;
	bool tty;
	long long cur, last_update;
	struct timespec last_emit;
	bool emitted;
};

static bool counter_allow(struct ctx_counter *cc)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (now.tv_sec - cc->last_emit.tv_sec) * 1000LL + (now.tv_nsec - cc->last_emit.tv_nsec) / 1000000;
	if (cc->emitted && ms < 100)
		return false;
	cc->emitted = true;
	cc->last_emit = now;
	return true;
}

static void counter_update(struct ctx_counter *cc, bool last)
{
	if (!cc->tty && !last)
		return;
	if (!last && !counter_allow(cc))
		return;
	char sz[32];
	berth_human_size((double)cc->cur, sz, sizeof(sz));
	fprintf(cc->out, "Sending build context to Docker daemon %8s\r%s", sz, last ? "\r\n" : "");
	fflush(cc->out);
}

static ssize_t counter_read(void *ctx, void *buf, size_t len)
{
	struct ctx_counter *cc = ctx;
	ssize_t n = cc->in.read(cc->in.ctx, buf, len);
	if (n > 0)
		cc->cur += n;
	if (cc->cur - cc->last_update > 512 * 1024 || n <= 0) {
		counter_update(cc, n <= 0);
		cc->last_update = cc->cur;
	}
	return n;
}

static void q_bool(struct berth_buf *q, const char *k, bool v) { berth_buf_printf(q, "&%s=%d", k, v ? 1 : 0); }

static void q_str(struct berth_buf *q, const char *k, const char *v)
{
	if (!v)
		return;
	cleanup_free char *e = berth_urlencode(v);
	berth_buf_printf(q, "&%s=%s", k, e);
}

static int cmd_build(struct cli *c, int argc, char **argv)
{
	char **tags = NULL, **bargs = NULL, **labels = NULL, **hosts = NULL, **cache_from = NULL;
	char *file = NULL, *iidfile = NULL, *target = NULL, *network = NULL, *platform = NULL;
	bool nocache = false, rm = true, forcerm = false, quiet = false, pull = false, reproducible = false;
	const struct cli_opt opts[] = {
		{"tag", 't', OPT_LIST, &tags, "Name and optionally a tag in the 'name:tag' format"},
		{"file", 'f', OPT_STR, &file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')"},
		{"build-arg", 0, OPT_LIST, &bargs, "Set build-time variables"},
		{"no-cache", 0, OPT_BOOL, &nocache, "Do not use cache when building the image"},
		{"rm", 0, OPT_BOOL, &rm, "Remove intermediate containers after a successful build (default true)"},
		{"force-rm", 0, OPT_BOOL, &forcerm, "Always remove intermediate containers"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Suppress the build output and print image ID on success"},
		{"label", 0, OPT_LIST, &labels, "Set metadata for an image"},
		{"iidfile", 0, OPT_STR, &iidfile, "Write the image ID to the file"},
		{"target", 0, OPT_STR, &target, "Set the target build stage to build."},
		{"network", 0, OPT_STR, &network, "Set the networking mode for the RUN instructions during build"},
		{"add-host", 0, OPT_LIST, &hosts, "Add a custom host-to-IP mapping (host:ip)"},
		{"pull", 0, OPT_BOOL, &pull, "Always attempt to pull a newer version of the image"},
		{"platform", 0, OPT_STR, &platform, "Set platform if server is multi-platform capable"},
		{"cache-from", 0, OPT_LIST, &cache_from, "Images to consider as cache sources"},
		{"reproducible", 0, OPT_BOOL, &reproducible, "Same inputs, same image ID (SOURCE_DATE_EPOCH or 0)"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	int fd = -1;
	cleanup_free char *dfname = NULL, *edf = NULL;
	struct berth_error err = {0};
	struct berth_buf q = {0};
	struct build_out bo = {.quiet = quiet, .prog = cli_progress_new(stdout, isatty(STDOUT_FILENO), quiet)};
	json_t *ba = json_object(), *lb = json_object();
	if (berth_strv_len(args) != 1) {
		fprintf(stderr,
			"\"%s\" requires exactly 1 argument.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS] PATH | URL | -\n\n"
			"Build an image from a Dockerfile\n",
			c->cmdpath, c->cmdpath, c->cmdpath);
		goto out;
	}
	/* a remote context (tar or Dockerfile URL, git URL): the daemon fetches it */
	bool remote = berth_str_has_prefix(args[0], "http://") || berth_str_has_prefix(args[0], "https://") ||
		      berth_str_has_prefix(args[0], "git@") || berth_str_has_prefix(args[0], "git://") ||
		      berth_str_has_prefix(args[0], "github.com/");
	if (!remote && make_context(args[0], file, &fd, &dfname, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	if (fd >= 0)
		lseek(fd, 0, SEEK_SET);
	berth_buf_printf(&q, "/build?dockerfile=");
	edf = berth_urlencode(remote ? (file ? file : "") : dfname);
	berth_buf_printf(&q, "%s", edf);
	if (remote)
		q_str(&q, "remote", args[0]);
	for (size_t i = 0; tags && tags[i]; i++)
		q_str(&q, "t", tags[i]);
	for (size_t i = 0; bargs && bargs[i]; i++) {
		char *eq = strchr(bargs[i], '=');
		if (eq) {
			*eq = 0;
			json_object_set_new(ba, bargs[i], json_string(eq + 1));
		} else {
			const char *v = getenv(bargs[i]);
			json_object_set_new(ba, bargs[i], v ? json_string(v) : json_null());
		}
	}
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde && !json_object_get(ba, "SOURCE_DATE_EPOCH"))
		json_object_set_new(ba, "SOURCE_DATE_EPOCH", json_string(sde));
	if (reproducible && !json_object_get(ba, "SOURCE_DATE_EPOCH"))
		json_object_set_new(ba, "SOURCE_DATE_EPOCH", json_string("0"));
	for (size_t i = 0; labels && labels[i]; i++) {
		char *eq = strchr(labels[i], '=');
		if (eq)
			*eq = 0;
		json_object_set_new(lb, labels[i], json_string(eq ? eq + 1 : ""));
	}
	char *s = json_dumps(ba, JSON_COMPACT);
	q_str(&q, "buildargs", s);
	free(s);
	s = json_dumps(lb, JSON_COMPACT);
	q_str(&q, "labels", s);
	free(s);
	q_bool(&q, "nocache", nocache);
	q_bool(&q, "rm", rm);
	q_bool(&q, "forcerm", forcerm);
	q_bool(&q, "q", quiet);
	q_bool(&q, "pull", pull);
	q_str(&q, "target", target);
	q_str(&q, "networkmode", network);
	q_str(&q, "platform", platform);
	for (size_t i = 0; hosts && hosts[i]; i++)
		q_str(&q, "extrahosts", hosts[i]);
	if (cache_from) {
		json_t *cf = json_array();
		for (size_t i = 0; cache_from[i]; i++)
			json_array_append_new(cf, json_string(cache_from[i]));
		s = json_dumps(cf, JSON_COMPACT);
		q_str(&q, "cachefrom", s);
		free(s);
		json_decref(cf);
	}
	struct ctx_counter cnt = {.in = berth_reader_fd(fd), .out = stdout, .tty = isatty(STDOUT_FILENO)};
	struct berth_reader in = berth_reader_fd(fd);
	if (!quiet)
		in = (struct berth_reader){.read = counter_read, .ctx = &cnt};
	struct berth_response resp;
	/* as docker's CLI: every stored credential, for FROM and --cache-from pulls */
	char *regcfg = berth_cred_all_header();
	c->cl.registry_config = regcfg;
	int drc = berth_client_do(&c->cl, "POST", berth_buf_str(&q), NULL, fd >= 0 ? &in : NULL, "application/x-tar",
				  on_data, &bo, &resp, &err);
	c->cl.registry_config = NULL;
	free(regcfg);
	if (drc < 0) {
		cli_daemon_error(c, &err);
		goto out;
	}
	if (resp.status >= 300) {
		berth_client_error(&resp, &err);
		cli_daemon_error(c, &err);
		berth_response_free(&resp);
		goto out;
	}
	berth_response_free(&resp);
	if (bo.line.len)
		one_message(&bo, bo.line.data, bo.line.len);
	rc = bo.rc;
	if (rc == 0 && !bo.id) {
		fprintf(stderr, "the build ended without an image\n");
		rc = 1;
	}
	if (rc == 0 && quiet)
		printf("%s\n", bo.id);
	if (rc == 0 && iidfile && berth_write_file_atomic(iidfile, bo.id, strlen(bo.id), 0644, &err) < 0) {
		fprintf(stderr, "Failed to write image ID to file: %s\n", err.msg);
		rc = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	json_decref(ba);
	json_decref(lb);
	berth_buf_free(&q);
	berth_buf_free(&bo.line);
	free(bo.id);
	cli_progress_free(bo.prog);
	berth_strv_free(args);
	berth_strv_free(tags);
	berth_strv_free(bargs);
	berth_strv_free(labels);
	berth_strv_free(hosts);
	berth_strv_free(cache_from);
	free(file);
	free(iidfile);
	free(target);
	free(network);
	free(platform);
	return rc;
}

static int cmd_builder_prune(struct cli *c, int argc, char **argv)
{
	bool all = false, force = false;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Remove all unused build cache, not just dangling ones"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	berth_strv_free(args);
	json_t *out = NULL;
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "POST", "/build/prune", NULL, &out, &err) < 0)
		return cli_daemon_error(c, &err) < 0 ? 1 : 1;
	json_decref(out);
	printf("Total reclaimed space: 0B\n");
	return 0;
}

const struct cli_cmd cli_cmds_build[] = {
	{"build", cmd_build, "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile"},
	{"image build", cmd_build, "[OPTIONS] PATH | URL | -", NULL},
	{"builder build", cmd_build, "[OPTIONS] PATH | URL | -", NULL},
	{"builder prune", cmd_builder_prune, "", NULL},
	{NULL, NULL, NULL, NULL},
};
