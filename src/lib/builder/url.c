/* ADD <url>: docker's rules. The file is downloaded (http/https), named
 * after the URL's last path element, mode 0600, its mtime from the
 * Last-Modified header when the server sends one; it is never extracted. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "common/cleanup.h"

static size_t write_cb(char *p, size_t sz, size_t n, void *ctx)
{
	int fd = *(int *)ctx;
	return berth_write_all(fd, p, sz * n) < 0 ? 0 : sz * n;
}

char *bld_url_name(const char *url)
{
	const char *s = strstr(url, "://");
	s = s ? s + 3 : url;
	const char *path = strchr(s, '/');
	if (!path)
		return NULL;
	size_t n = strcspn(path, "?#");
	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *e = path + n;
	const char *b = e;
	while (b > path && b[-1] != '/')
		b--;
	if (b == e)
		return NULL;
	char *name = strndup(b, (size_t)(e - b));
	if (name && (!strcmp(name, ".") || !strcmp(name, ".."))) {
		free(name);
		return NULL;
	}
	return name;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ctx)
{
	char **ct = ctx;
	size_t len = sz * n;
	if (len > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		const char *v = p + 13;
		size_t l = len - 13;
		while (l && (*v == ' ' || *v == '\t'))
			v++, l--;
		while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
			l--;
		free(*ct);
		*ct = strndup(v, l);
	}
	return len;
}

int berth_build_download(const char *url, int fd, char **content_type, int64_t *mtime, struct berth_error *err)
{
	CURL *c = curl_easy_init();
	if (!c)
		return berth_err(err, BERTH_E_INTERNAL, "curl init failed");
	char ebuf[CURL_ERROR_SIZE] = "";
	char *ct = NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fd);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &ct);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	long code = 0, ftime = -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_FILETIME, &ftime);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(ct);
		return berth_err(err, BERTH_E_INVALID, "failed to GET %s: %s", url,
				 *ebuf ? ebuf : curl_easy_strerror(rc));
	}
	if (code < 200 || code >= 400) {
		free(ct);
		return berth_err(err, BERTH_E_INVALID, "failed to GET %s with status %ld", url, code);
	}
	if (content_type)
		*content_type = ct;
	else
		free(ct);
	if (mtime)
		*mtime = ftime;
	return 0;
}

int bld_fetch_url(struct bctx *b, const char *url, int dirfd, const char *name)
{
	cleanup_close int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "create %s", name);
	int64_t ftime = -1;
	if (berth_build_download(url, fd, NULL, &ftime, b->err) < 0)
		return -1;
	if (ftime > 0) {
		struct timespec ts[2] = {{.tv_sec = ftime}, {.tv_sec = ftime}};
		futimens(fd, ts);
	}
	return 0;
}
