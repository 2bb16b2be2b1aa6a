/* docker's pkg/archive path rules, ContainerPathStat decoding, and the fd
 * helpers the tar module shares (see tar.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/base64.h"
#include "common/cleanup.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* ---------------------------------------------------------------- helpers */

int berth_ar_open(int root_fd, const char *rel, int flags, enum berth_untar_resolve mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_MAGICLINKS | (mode == BERTH_UNTAR_IN_ROOT ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
	};
	const char *p = rel && *rel ? rel : ".";
	for (int tries = 0; tries < 64; tries++) {
		int fd = (int)syscall(SYS_openat2, root_fd, p, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN) /* EAGAIN: a rename raced the ".." check */
			return fd;
	}
	return -1;
}

char *berth_ar_quote(const char *s)
{
	struct berth_buf b = {0};
	berth_buf_putc(&b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			berth_buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			berth_buf_printf(&b, "\\n");
		else if (*p == '\t')
			berth_buf_printf(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			berth_buf_printf(&b, "\\x%02x", *p);
		else
			berth_buf_putc(&b, (char)*p);
	}
	berth_buf_putc(&b, '"');
	return berth_buf_steal(&b);
}

const char *berth_ar_errstr(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] && buf[1] && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* ------------------------------------------------------------ path rules */

char *berth_cp_clean(const char *path)
{
	size_t n = strlen(path);
	bool rooted = n > 0 && path[0] == '/';
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t o = 0, dotdot = 0; /* dotdot: where ".." may no longer be backtracked */
	if (rooted) {
		out[o++] = '/';
		dotdot = 1;
	}
	size_t r = rooted ? 1 : 0;
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (o > dotdot) {
				o--;
				while (o > dotdot && out[o] != '/')
					o--;
			} else if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
		} else {
			if ((rooted && o != 1) || (!rooted && o != 0))
				out[o++] = '/';
			while (r < n && path[r] != '/')
				out[o++] = path[r++];
		}
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

static bool has_trailing_sep(const char *p)
{
	size_t n = strlen(p);
	return n > 0 && p[n - 1] == '/';
}

/* Go's filepath.Base. */
char *berth_ar_base(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return strdup(".");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return strdup("/");
	size_t s = n;
	while (s > 0 && p[s - 1] != '/')
		s--;
	return strndup(p + s, n - s);
}

static bool specifies_current_dir(const char *p)
{
	cleanup_free char *b = berth_ar_base(p);
	return b && !strcmp(b, ".");
}

char *berth_cp_preserve_trailing(const char *cleaned, const char *original)
{
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s", cleaned);
	if (!specifies_current_dir(cleaned) && specifies_current_dir(original)) {
		if (!has_trailing_sep(berth_buf_str(&b)))
			berth_buf_putc(&b, '/');
		berth_buf_putc(&b, '.');
	}
	if (!has_trailing_sep(berth_buf_str(&b)) && has_trailing_sep(original))
		berth_buf_putc(&b, '/');
	return berth_buf_steal(&b);
}

int berth_cp_split(const char *path, char **dir, char **base)
{
	*dir = *base = NULL;
	cleanup_free char *c = berth_cp_clean(path);
	if (!c)
		return -1;
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s", c);
	if (specifies_current_dir(path))
		berth_buf_printf(&b, "/.");
	cleanup_free char *p = berth_buf_steal(&b);
	if (!p)
		return -1;
	/* filepath.Dir: everything up to the last separator, cleaned */
	char *slash = strrchr(p, '/');
	if (!slash) {
		*dir = strdup(".");
	} else {
		cleanup_free char *d = strndup(p, (size_t)(slash - p) + 1);
		*dir = d ? berth_cp_clean(d) : NULL;
	}
	*base = berth_ar_base(p);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		return -1;
	}
	return 0;
}

char *berth_cp_container_abs(const char *path)
{
	cleanup_free char *j = berth_strdup_printf("/%s", path);
	cleanup_free char *c = j ? berth_cp_clean(j) : NULL;
	return c ? berth_cp_preserve_trailing(c, path) : NULL;
}

/* ------------------------------------------------------------ path stat */

void berth_path_stat_free(struct berth_path_stat *st)
{
	free(st->name);
	free(st->link_target);
	st->name = st->link_target = NULL;
}

uint32_t berth_go_filemode(mode_t m)
{
	uint32_t g = (uint32_t)(m & 0777);
	switch (m & S_IFMT) {
	case S_IFDIR: g |= BERTH_GO_MODE_DIR; break;
	case S_IFLNK: g |= BERTH_GO_MODE_SYMLINK; break;
	case S_IFBLK: g |= BERTH_GO_MODE_DEVICE; break;
	case S_IFCHR: g |= BERTH_GO_MODE_DEVICE | BERTH_GO_MODE_CHAR_DEVICE; break;
	case S_IFIFO: g |= BERTH_GO_MODE_NAMED_PIPE; break;
	case S_IFSOCK: g |= BERTH_GO_MODE_SOCKET; break;
	default: break;
	}
	if (m & S_ISUID)
		g |= BERTH_GO_MODE_SETUID;
	if (m & S_ISGID)
		g |= BERTH_GO_MODE_SETGID;
	if (m & S_ISVTX)
		g |= BERTH_GO_MODE_STICKY;
	return g;
}

int berth_path_stat_decode(const char *b64, struct berth_path_stat *st, struct berth_error *err)
{
	memset(st, 0, sizeof(*st));
	size_t n = b64 ? strlen(b64) : 0;
	if (n == 0 || n % 4)
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	size_t len = 0;
	cleanup_free char *raw = berth_base64_decode(b64, &len);
	if (!raw)
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	cleanup_json json_t *j = json_loadb(raw, len, 0, NULL);
	if (!json_is_object(j))
		return berth_err(err, BERTH_E_INTERNAL, "unable to decode container path stat header");
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *lt = json_string_value(json_object_get(j, "linkTarget"));
	const char *mt = json_string_value(json_object_get(j, "mtime"));
	st->name = strdup(name ? name : "");
	st->link_target = strdup(lt ? lt : "");
	st->size = json_integer_value(json_object_get(j, "size"));
	st->mode = (uint32_t)json_integer_value(json_object_get(j, "mode"));
	if (mt)
		berth_time_parse(mt, &st->mtime_ns);
	if (!st->name || !st->link_target) {
		berth_path_stat_free(st);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return 0;
}
