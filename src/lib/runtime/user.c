#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MAX_ID 2147483647L
#define MAX_DB (4 << 20)

int berth_open_in_root(const char *root, const char *path, int flags)
{
	cleanup_close int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/* Whole file as a NUL-terminated string; NULL (and *missing=true) when it
 * does not exist. */
static char *read_db(const char *rootfs, const char *path, bool *missing)
{
	*missing = false;
	cleanup_close int fd = berth_open_in_root(rootfs, path, O_RDONLY | O_NOCTTY);
	if (fd < 0) {
		*missing = true;
		return NULL;
	}
	struct berth_buf b = {0};
	char tmp[8192];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || b.len + (size_t)n > MAX_DB)
			break;
		berth_buf_append(&b, tmp, (size_t)n);
	}
	return berth_buf_steal(&b);
}

/* Go's strconv.Atoi: optional sign, decimal digits, must consume all. */
static bool atoi_go(const char *s, long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || s[0] == ' ')
		return false;
	*out = v;
	return true;
}

/* Split a line on ':' into at most n fields (missing ones are ""). */
static size_t split_colon(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *p = line;
	while (k < n) {
		f[k++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	for (size_t i = k; i < n; i++)
		f[i] = "";
	return k;
}

/* Iterate the non-empty, non-comment lines of a db; line is writable. */
#define FOREACH_LINE(db, line, save)                                                                                   \
	for (char *line = strtok_r(db, "\n", &save); line; line = strtok_r(NULL, "\n", &save))                         \
		if (line[strspn(line, " \t\r")] && line[0] != '#')

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static int push_gid(struct berth_user *u, uint32_t g)
{
	uint32_t *n = realloc(u->gids, (u->ngids + 1) * sizeof(*n));
	if (!n)
		return -1;
	u->gids = n;
	u->gids[u->ngids++] = g;
	return 0;
}

static bool in_list(const char *list, const char *name)
{
	if (!*name)
		return false;
	size_t ln = strlen(name);
	const char *p = list;
	while (*p) {
		size_t l = strcspn(p, ",");
		if (l == ln && !strncmp(p, name, l))
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

int berth_user_resolve(const char *rootfs, const char *spec, const json_t *group_add, struct berth_user *out,
		       struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->home, sizeof(out->home), "/");
	char user_arg[256] = "", group_arg[256] = "";
	if (spec && *spec) {
		const char *c = strchr(spec, ':');
		if (c) {
			snprintf(user_arg, sizeof(user_arg), "%.*s", (int)(c - spec), spec);
			const char *g = c + 1;
			snprintf(group_arg, sizeof(group_arg), "%.*s", (int)strcspn(g, ":"), g);
		} else {
			snprintf(user_arg, sizeof(user_arg), "%s", spec);
		}
	}
	long uid_arg = 0, gid_arg = 0;
	bool uid_num = atoi_go(user_arg, &uid_arg), gid_num = atoi_go(group_arg, &gid_arg);

	bool pw_missing, gr_missing;
	cleanup_free char *pw = read_db(rootfs, "/etc/passwd", &pw_missing);
	cleanup_free char *gr = read_db(rootfs, "/etc/group", &gr_missing);

	char matched[256] = "";
	bool found = false;
	long uid = 0, gid = 0;
	if (pw) {
		char *save = NULL;
		FOREACH_LINE(pw, line, save)
		{
			char *f[7];
			trim(line);
			split_colon(line, f, 7);
			long fu = 0, fg = 0;
			atoi_go(f[2], &fu);
			atoi_go(f[3], &fg);
			bool m = !*user_arg ? fu == 0 : uid_num ? fu == uid_arg : !strcmp(f[0], user_arg);
			if (m) {
				snprintf(matched, sizeof(matched), "%s", f[0]);
				uid = fu;
				gid = fg;
				snprintf(out->home, sizeof(out->home), "%s", f[5]);
				found = true;
				break;
			}
		}
	}
	if (!found && *user_arg) {
		if (!uid_num)
			return berth_err(err, BERTH_E_INVALID,
					 "unable to find user %s: no matching entries in passwd file", user_arg);
		uid = uid_arg;
		if (uid < 0 || uid > MAX_ID)
			return berth_err(err, BERTH_E_INVALID, "uids and gids must be in range 0-%ld", MAX_ID);
	}

	long sgids[256];
	size_t nsg = 0;
	if (*group_arg || *matched) {
		bool gfound = false;
		if (gr) {
			cleanup_free char *copy = strdup(gr);
			char *save = NULL;
			FOREACH_LINE(copy, line, save)
			{
				char *f[4];
				trim(line);
				split_colon(line, f, 4);
				long fg = 0;
				atoi_go(f[2], &fg);
				if (!*group_arg) {
					if (in_list(f[3], matched) && nsg < sizeof(sgids) / sizeof(sgids[0]))
						sgids[nsg++] = fg;
				} else if (gid_num ? fg == gid_arg : !strcmp(f[0], group_arg)) {
					gid = fg;
					gfound = true;
					break;
				}
			}
		}
		if (*group_arg && !gfound) {
			if (!gid_num)
				return berth_err(err, BERTH_E_INVALID,
						 "unable to find group %s: no matching entries in group file",
						 group_arg);
			gid = gid_arg;
			if (gid < 0 || gid > MAX_ID)
				return berth_err(err, BERTH_E_INVALID, "uids and gids must be in range 0-%ld", MAX_ID);
		}
	}
	out->uid = (uint32_t)uid;
	out->gid = (uint32_t)gid;
	if (push_gid(out, (uint32_t)gid) < 0)
		goto oom;
	for (size_t i = 0; i < nsg; i++)
		if (push_gid(out, (uint32_t)sgids[i]) < 0)
			goto oom;

	size_t i;
	json_t *v;
	json_array_foreach(group_add, i, v) {
		const char *ag = json_string_value(v);
		if (!ag)
			continue;
		long agid = 0;
		bool agnum = atoi_go(ag, &agid), agfound = false;
		if (gr) {
			cleanup_free char *copy = strdup(gr);
			char *save = NULL;
			FOREACH_LINE(copy, line, save)
			{
				char *f[4];
				trim(line);
				split_colon(line, f, 4);
				long fg = 0;
				atoi_go(f[2], &fg);
				if (!strcmp(f[0], ag) || (agnum && fg == agid)) {
					agid = fg;
					agfound = true;
					break;
				}
			}
		}
		if (!agfound) {
			if (!agnum) {
				berth_user_free(out);
				return berth_err(err, BERTH_E_INVALID,
						 "Unable to find group %s: no matching entries in group file", ag);
			}
			if (agid < 0 || agid > MAX_ID) {
				berth_user_free(out);
				return berth_err(err, BERTH_E_INVALID, "uids and gids must be in range 0-%ld", MAX_ID);
			}
		}
		if (push_gid(out, (uint32_t)agid) < 0)
			goto oom;
	}
	return 0;
oom:
	berth_user_free(out);
	return berth_err(err, BERTH_E_INTERNAL, "out of memory");
}

void berth_user_free(struct berth_user *u)
{
	free(u->gids);
	u->gids = NULL;
	u->ngids = 0;
}
