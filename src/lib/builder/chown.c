/* COPY/ADD --chown=user[:group]: numeric ids as they are, names looked up
 * in the image's /etc/passwd and /etc/group (docker's parseChownFlag: the
 * group defaults to the user string; a name not found is
 * "unable to convert uid/gid chown string to host mapping: can't find uid
 * for user X: no such user: X"). The files are read from the image's
 * layers (image_open_file), else through the same archive path as COPY
 * --from (a created container of the current image). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/tar.h"
#include "builder/build_int.h"
#include "common/cleanup.h"

#define CHOWN_PREFIX "unable to convert uid/gid chown string to host mapping: "

static bool numeric(const char *s, long *v)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (!*s || *end || errno || n < 0 || n > 0xffffffffL)
		return false;
	*v = n;
	return true;
}

/* /etc/passwd and /etc/group of the current image, extracted into dir; 0 or -1 */
static int fetch_files(struct bctx *b, const char *dir, struct berth_error *err)
{
	if (!*b->id)
		return berth_err(err, BERTH_E_NOT_FOUND, "open /etc/passwd: no such file or directory");
	char ctr[65];
	int rc = bld_probe_ctr(b, ctr, err);
	if (rc < 0)
		return -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	static const char *const files[] = {"/etc/passwd", "/etc/group"};
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		if (dfd < 0) {
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", dir);
			break;
		}
		struct berth_error *saved = b->err;
		b->err = err;
		cleanup_close int tfd = bld_tmpfile(b);
		b->err = saved;
		if (tfd < 0) {
			rc = -1;
			break;
		}
		struct berth_writer w = berth_writer_fd(tfd);
		struct berth_error e = {0};
		if (b->ops->ctr_get(b->ops->ctx, ctr, files[i], &w, &e) < 0)
			continue; /* missing: reported when it is needed */
		lseek(tfd, 0, SEEK_SET);
		struct berth_reader r = berth_reader_fd(tfd);
		struct berth_untar_opts uo = {.resolve = BERTH_UNTAR_BENEATH, .dest_shown = "/"};
		rc = berth_untar(dfd, "", &r, &uo, err);
	}
	bld_remove_later(b, ctr);
	return rc;
}

/* the id of name in a passwd (field 2 = uid) or group (field 2 = gid) file's text (NULL: missing) */
static int lookup(char *data, const char *file, const char *name, long *id, struct berth_error *err)
{
	if (!data)
		return berth_err(err, BERTH_E_INVALID, "open /etc/%s: no such file or directory", file);
	int rc = berth_err(err, BERTH_E_INVALID, "no such %s: %s", strcmp(file, "passwd") ? "group" : "user", name);
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *rest = line;
		const char *nm = strsep(&rest, ":");
		strsep(&rest, ":"); /* the password */
		const char *ids = strsep(&rest, ":");
		if (nm && ids && !strcmp(nm, name) && numeric(ids, id)) {
			memset(err, 0, sizeof(*err));
			rc = 0;
			break;
		}
	}
	return rc;
}

/* /etc/passwd and /etc/group of the current image (NULL: missing); 0 or -1 */
static int image_files(struct bctx *b, char *text[2])
{
	static const char *const files[] = {"/etc/passwd", "/etc/group"};
	struct berth_error e = {0};
	if (*b->id && b->ops->image_open_file) {
		int i, rc = 0;
		for (i = 0; i < 2 && rc >= 0; i++) {
			int fd = -1;
			rc = b->ops->image_open_file(b->ops->ctx, b->id, files[i], &fd, &e);
			if (rc == 1) {
				/* unreadable or over 16 MiB: as a missing file (the container's way does the same) */
				struct berth_error re = {0};
				if (berth_read_fd(fd, files[i], &text[i], NULL, 16 << 20, &re) < 0)
					text[i] = NULL;
				close(fd);
			}
		}
		if (rc >= 0)
			return 0;
		free(text[0]);
		free(text[1]);
		text[0] = text[1] = NULL;
		memset(&e, 0, sizeof(e)); /* the container's way then */
	}
	char rnd[65];
	berth_random_id(rnd);
	const char *work = bld_work(b);
	if (!work)
		return -1;
	cleanup_free char *dir = berth_strdup_printf("%s/chown-%.12s", work, rnd);
	if (!dir || berth_mkdir_p(dir, 0700, b->err) < 0)
		return -1;
	if (fetch_files(b, dir, &e) < 0 && e.kind != BERTH_E_NOT_FOUND) {
		berth_rm_rf(dir, NULL);
		*b->err = e;
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		cleanup_free char *path = berth_strdup_printf("%s%s", dir, strrchr(files[i], '/'));
		size_t len = 0;
		struct berth_error re = {0};
		if (!path || berth_read_file(path, &text[i], &len, 16 << 20, &re) < 0)
			text[i] = NULL;
	}
	berth_rm_rf(dir, NULL);
	return 0;
}

char *bld_chown_spec(struct bctx *b, const char *spec, bool *names)
{
	char *s = bld_word(b, spec);
	if (!s)
		return NULL;
	char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		berth_err(b->err, BERTH_E_INVALID, CHOWN_PREFIX "invalid chown string format: %s", s);
		free(s);
		return NULL;
	}
	long v;
	cleanup_free char *u = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
	*names = !u || !numeric(u, &v) || (colon && !numeric(colon + 1, &v));
	return s;
}

int bld_parse_chown(struct bctx *b, const char *spec, uid_t *uid, gid_t *gid)
{
	cleanup_free char *s = bld_word(b, spec);
	if (!s)
		return -1;
	char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		return berth_err(b->err, BERTH_E_INVALID, CHOWN_PREFIX "invalid chown string format: %s", s);
	if (colon)
		*colon = 0;
	const char *u = s, *g = colon ? colon + 1 : s;
	long uv, gv;
	bool un = numeric(u, &uv), gn = numeric(g, &gv);
	char *text[2] = {NULL, NULL};
	if ((!un || !gn) && image_files(b, text) < 0)
		return -1;
	int rc = 0;
	struct berth_error e = {0};
	if (!un && lookup(text[0], "passwd", u, &uv, &e) < 0)
		rc = berth_err(b->err, BERTH_E_INVALID, CHOWN_PREFIX "can't find uid for user %s: %s", u, e.msg);
	else if (!gn && lookup(text[1], "group", g, &gv, &e) < 0)
		rc = berth_err(b->err, BERTH_E_INVALID, CHOWN_PREFIX "can't find gid for group %s: %s", g, e.msg);
	free(text[0]);
	free(text[1]);
	if (rc == 0) {
		*uid = (uid_t)uv;
		*gid = (gid_t)gv;
	}
	return rc;
}
