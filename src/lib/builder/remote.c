/* Remote build contexts (POST /build?remote=), as dockerd's remotecontext:
 * a git repository cloned with the git command (docker's URL#ref:dir), or
 * an http(s) URL whose body is a context tar (plain or compressed) or, as
 * text, the Dockerfile alone. Either way the context goes through
 * berth_build_context_extract (path safety, .dockerignore). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive/tar.h"
#include "builder/builder.h"
#include "common/cleanup.h"

extern char **environ;

static bool is_url(const char *s) { return berth_str_has_prefix(s, "http://") || berth_str_has_prefix(s, "https://"); }

/* urlutil.IsGitURL */
static bool is_git_url(const char *s)
{
	if (berth_str_has_prefix(s, "git://") || berth_str_has_prefix(s, "git@") ||
	    berth_str_has_prefix(s, "github.com/"))
		return true;
	if (!is_url(s))
		return false;
	size_t n = strcspn(s, "#");
	return n >= 4 && !strncmp(s + n - 4, ".git", 4);
}

/* git ARGS... in cwd; its stderr (last line) in the error */
static int git(const char *cwd, const char *const *argv, struct berth_error *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, cwd);
	char **env = NULL;
	for (char **e = environ; e && *e; e++)
		berth_strv_push(&env, *e);
	berth_strv_push(&env, "GIT_TERMINAL_PROMPT=0");
	pid_t pid;
	int rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	berth_strv_free(env);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		if (rc == ENOENT)
			return berth_err(err, BERTH_E_INVALID,
					 "unable to find 'git': exec: \"git\": executable file not "
					 "found in $PATH");
		return berth_err_sys(err, BERTH_E_INTERNAL, rc, "git");
	}
	struct berth_buf out = {0};
	char buf[4096];
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out.len < (64 << 10))
			berth_buf_append(&out, buf, (size_t)n);
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rc = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		const char *o = berth_buf_str(&out);
		size_t l = strlen(o);
		while (l && (o[l - 1] == '\n' || o[l - 1] == ' '))
			l--;
		rc = berth_err(err, BERTH_E_INVALID, "error fetching: %.*s: exit status %d", (int)l, o,
			       WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	berth_buf_free(&out);
	return rc;
}

/* the tar of src_dir extracted into dir (the context path) */
static int from_dir(const char *src_dir, const char *work, const char *dir, const char *dockerfile,
		    struct berth_error *err)
{
	cleanup_close int sfd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return berth_err(err, BERTH_E_INVALID, "subdir not found in the repository: %s", src_dir);
	cleanup_close int tfd = open(work, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tfd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "temporary file");
	struct berth_writer w = berth_writer_fd(tfd);
	struct berth_tar_src src = {.dirfd = sfd};
	if (berth_tar_write(&src, &w, err) < 0)
		return -1;
	lseek(tfd, 0, SEEK_SET);
	struct berth_reader r = berth_reader_fd(tfd);
	return berth_build_context_extract(&r, dir, dockerfile, err);
}

static int git_context(const char *remote, const char *work, const char *dir, const char *dockerfile,
		       struct berth_error *err)
{
	cleanup_free char *url = strdup(remote);
	if (!url)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *frag = strchr(url, '#');
	const char *ref = NULL, *sub = NULL;
	if (frag) {
		*frag++ = 0;
		char *colon = strchr(frag, ':');
		if (colon) {
			*colon = 0;
			sub = colon + 1;
		}
		ref = *frag ? frag : NULL;
	}
	if (berth_str_has_prefix(url, "github.com/")) {
		char *full = berth_strdup_printf("https://%s", url);
		free(url);
		url = full;
	}
	cleanup_free char *clone = berth_strdup_printf("%s/git", work);
	if (!clone || mkdir(clone, 0700) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "mkdir %s", clone ? clone : "");
	const char *init[] = {"git", "init", "-q", NULL};
	const char *add[] = {"git", "remote", "add", "origin", url, NULL};
	const char *fetch[] = {"git", "fetch", "-q", "--depth", "1", "origin", ref ? ref : "HEAD", NULL};
	const char *fetch_all[] = {"git", "fetch", "-q", "origin", NULL};
	const char *co[] = {"git", "checkout", "-q", "FETCH_HEAD", NULL};
	const char *co_ref[] = {"git", "checkout", "-q", ref ? ref : "FETCH_HEAD", NULL};
	const char *subm[] = {"git", "submodule", "update", "-q", "--init", "--recursive", "--depth=1", NULL};
	struct berth_error e2 = {0};
	int rc = git(clone, init, err);
	if (rc == 0)
		rc = git(clone, add, err);
	if (rc == 0 && git(clone, fetch, &e2) == 0)
		rc = git(clone, co, err);
	else if (rc == 0) { /* a server without shallow fetches (dumb http), or a commit id */
		rc = git(clone, fetch_all, err);
		if (rc == 0)
			rc = git(clone, ref ? co_ref : co, err);
	}
	if (rc == 0)
		rc = git(clone, subm, err);
	if (rc < 0)
		return -1;
	cleanup_free char *src = NULL;
	if (sub && *sub) {
		cleanup_free char *clean = berth_cp_clean(sub);
		const char *rel = clean;
		while (*rel == '/')
			rel++;
		if (!strcmp(rel, "..") || berth_str_has_prefix(rel, "../"))
			return berth_err(err, BERTH_E_INVALID, "subdir %s escapes the repository", sub);
		cleanup_close int cfd = open(clone, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char *res = cfd < 0 ? NULL : berth_root_resolve(cfd, clean[0] == '/' ? clean : "/", err);
		if (res && clean[0] != '/') {
			cleanup_free char *abs = berth_strdup_printf("/%s", clean);
			free(res);
			res = berth_root_resolve(cfd, abs, err);
		}
		if (!res)
			return -1;
		src = berth_strdup_printf("%s%s", clone, res);
		free(res);
		struct stat st;
		if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
			return berth_err(err, BERTH_E_INVALID, "subdir %s not found in %s", sub, remote);
	} else
		src = strdup(clone);
	/* the repository's metadata is not part of the context */
	cleanup_free char *dotgit = berth_strdup_printf("%s/.git", clone);
	berth_rm_rf(dotgit, NULL);
	rc = from_dir(src, work, dir, dockerfile, err);
	berth_rm_rf(clone, NULL);
	return rc;
}

static bool looks_like_archive(int fd)
{
	unsigned char m[512];
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n < 4)
		return false;
	if ((m[0] == 0x1f && m[1] == 0x8b) || !memcmp(m, "BZh", 3) || !memcmp(m, "\xfd\x37\x7a\x58", 4) ||
	    !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return true;
	return n >= 262 && !memcmp(m + 257, "ustar", 5);
}

static int url_context(const char *url, const char *work, const char *dir, const char *dockerfile,
		       struct berth_error *err)
{
	cleanup_close int fd = open(work, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "temporary file");
	cleanup_free char *ct = NULL;
	struct berth_error e2 = {0};
	if (berth_build_download(url, fd, &ct, NULL, &e2) < 0)
		return berth_err(err, BERTH_E_INVALID, "error downloading remote context %s: %s", url, e2.msg);
	lseek(fd, 0, SEEK_SET);
	/* docker sniffs a body sent without a type or as application/octet-stream */
	if (!looks_like_archive(fd) && (!ct || !*ct || berth_str_has_prefix(ct, "text/plain") ||
					berth_str_has_prefix(ct, "application/octet-stream"))) {
		/* the body is the Dockerfile */
		cleanup_free char *clean = berth_cp_clean(dockerfile && *dockerfile ? dockerfile : "Dockerfile");
		const char *rel = clean;
		while (*rel == '/')
			rel++;
		if (strchr(rel, '/') || !strcmp(rel, ".."))
			rel = "Dockerfile";
		cleanup_free char *path = berth_strdup_printf("%s/%s", dir, rel);
		cleanup_close int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (out < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", rel);
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (berth_write_all(out, buf, (size_t)n) < 0)
				return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", rel);
		return 0;
	}
	struct berth_reader r = berth_reader_fd(fd);
	return berth_build_context_extract(&r, dir, dockerfile, err);
}

int berth_build_context_remote(const char *remote, const char *work, const char *dir, const char *dockerfile,
			       struct berth_error *err)
{
	if (is_git_url(remote))
		return git_context(remote, work, dir, dockerfile, err);
	if (is_url(remote))
		return url_context(remote, work, dir, dockerfile, err);
	return berth_err(err, BERTH_E_INVALID, "remoteURL (%s) could not be recognized as URL", remote);
}
