/* Registry transport on libcurl: endpoints, TLS, challenges, tokens, requests. */
#include "distribution/registry.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "distribution/authconfig.h"

#define ERR_BODY_MAX (64 * 1024)
#define TOKEN_BODY_MAX (1024 * 1024)
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

enum auth_scheme { SCHEME_NONE, SCHEME_BASIC, SCHEME_BEARER };

struct berth_registry_client {
	char *base;     /* https://host:port */
	char *hostport; /* host[:port] */
	char *repo;     /* NULL for a registry-level session */
	bool verify;    /* TLS verification */
	char *ca_blob;  /* system CAs + certs.d *.crt, or NULL (curl's default) */
	size_t ca_len;
	char *client_cert, *client_key;

	pthread_mutex_t mu; /* guards the auth state below */
	enum auth_scheme scheme;
	char *realm, *service;
	char **scopes;
	char *token;
	time_t token_expiry;
	char *refresh_token; /* identity token (given, or returned by the issuer) */
	char *user, *pass, *registry_token;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- endpoints ---------------------------------------------------------- */

const char *berth_registry_host(const char *domain)
{
	if (!domain || !*domain || strcmp(domain, BERTH_REGISTRY_DOCKER_IO) == 0 ||
	    strcmp(domain, "index.docker.io") == 0)
		return BERTH_REGISTRY_DOCKER_IO_HOST;
	return domain;
}

const char *berth_registry_auth_key(const char *domain)
{
	if (!domain || !*domain || strcmp(domain, BERTH_REGISTRY_DOCKER_IO) == 0 ||
	    strcmp(domain, "index.docker.io") == 0 || strcmp(domain, BERTH_REGISTRY_DOCKER_IO_HOST) == 0)
		return BERTH_REGISTRY_INDEX_SERVER;
	return domain;
}

/* host part of host[:port] / [v6]:port into out. */
static void split_host(const char *hostport, char *out, size_t outlen)
{
	if (hostport[0] == '[') {
		const char *e = strchr(hostport, ']');
		size_t n = e ? (size_t)(e - hostport - 1) : strlen(hostport + 1);
		snprintf(out, outlen, "%.*s", (int)n, hostport + 1);
		return;
	}
	const char *c = strchr(hostport, ':');
	if (c && strchr(c + 1, ':')) /* bare IPv6 */
		c = NULL;
	size_t n = c ? (size_t)(c - hostport) : strlen(hostport);
	snprintf(out, outlen, "%.*s", (int)n, hostport);
}

static bool cidr_parse(const char *s, int *family, unsigned char addr[16], int *bits)
{
	char tmp[128];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(tmp))
		return false;
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(slash - s), s);
	char *end;
	long b = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1)
		return false;
	if (inet_pton(AF_INET, tmp, addr) == 1 && b >= 0 && b <= 32) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, tmp, addr) == 1 && b >= 0 && b <= 128) {
		*family = AF_INET6;
	} else {
		return false;
	}
	*bits = (int)b;
	return true;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	for (int i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

static bool ip_in_cidr(int family, const unsigned char *ip, const char *cidr)
{
	int f, bits;
	unsigned char net[16];
	if (!cidr_parse(cidr, &f, net, &bits) || f != family)
		return false;
	return prefix_match(ip, net, bits);
}

int berth_registry_validate_insecure(const char *entry, struct berth_error *err)
{
	if (!entry || !*entry || strstr(entry, "://"))
		return berth_err(err, BERTH_E_INVALID, "insecure registry %s should not contain '://'",
				 entry ? entry : "");
	if (strchr(entry, '/')) {
		int f, bits;
		unsigned char a[16];
		if (!cidr_parse(entry, &f, a, &bits))
			return berth_err(err, BERTH_E_INVALID, "insecure registry %s is not valid", entry);
	}
	return 0;
}

int berth_registry_validate_mirror(const char *url, struct berth_error *err)
{
	if (!url || (!berth_str_has_prefix(url, "http://") && !berth_str_has_prefix(url, "https://")))
		return berth_err(err, BERTH_E_INVALID, "invalid mirror: unsupported scheme \"%s\" in \"%s\"", "",
				 url ? url : "");
	const char *p = strchr(url + 8, '/');
	if (p && p[1])
		return berth_err(err, BERTH_E_INVALID,
				 "invalid mirror: path, query, or fragment at end of the URI \"%s\"", url);
	return 0;
}

bool berth_registry_is_insecure(const struct berth_registry_config *cfg, const char *hostport)
{
	char host[256];
	split_host(hostport, host, sizeof(host));
	if (cfg && cfg->insecure) {
		for (char **e = cfg->insecure; *e; e++)
			if (strcasecmp(*e, hostport) == 0 || strcasecmp(*e, host) == 0)
				return true;
	}
	if (strcasecmp(host, "localhost") == 0)
		return true;
	unsigned char ip[16];
	int family = 0;
	if (inet_pton(AF_INET, host, ip) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, host, ip) == 1)
		family = AF_INET6;
	if (family == AF_INET && ip[0] == 127)
		return true;
	if (family == AF_INET6) {
		static const unsigned char lo6[16] = {[15] = 1};
		if (memcmp(ip, lo6, 16) == 0)
			return true;
	}
	if (family && cfg && cfg->insecure)
		for (char **e = cfg->insecure; *e; e++)
			if (strchr(*e, '/') && ip_in_cidr(family, ip, *e))
				return true;
	return false;
}

/* ---- challenges ------------------------------------------------------------ */

void berth_auth_challenge_free(struct berth_auth_challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	free(ch->error);
	memset(ch, 0, sizeof(*ch));
}

int berth_auth_challenge_parse(const char *h, struct berth_auth_challenge *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	while (*h == ' ' || *h == '\t')
		h++;
	size_t n = 0;
	while (h[n] && h[n] != ' ' && h[n] != '\t' && h[n] != ',')
		n++;
	if (n == 0 || n >= sizeof(out->scheme))
		return berth_err(err, BERTH_E_INVALID, "malformed WWW-Authenticate header");
	for (size_t i = 0; i < n; i++)
		out->scheme[i] = (char)tolower((unsigned char)h[i]);
	out->scheme[n] = '\0';
	const char *p = h + n;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ' && *p != ',')
			p++;
		size_t kl = (size_t)(p - k);
		if (*p != '=') {
			berth_auth_challenge_free(out);
			return berth_err(err, BERTH_E_INVALID, "malformed WWW-Authenticate header");
		}
		p++;
		struct berth_buf v = {0};
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				berth_buf_putc(&v, *p++);
			}
			if (*p != '"') {
				berth_buf_free(&v);
				berth_auth_challenge_free(out);
				return berth_err(err, BERTH_E_INVALID, "malformed WWW-Authenticate header");
			}
			p++;
		} else {
			while (*p && *p != ',' && *p != ' ' && *p != '\t')
				berth_buf_putc(&v, *p++);
		}
		char **slot = NULL;
		if (kl == 5 && strncasecmp(k, "realm", 5) == 0)
			slot = &out->realm;
		else if (kl == 7 && strncasecmp(k, "service", 7) == 0)
			slot = &out->service;
		else if (kl == 5 && strncasecmp(k, "scope", 5) == 0)
			slot = &out->scope;
		else if (kl == 5 && strncasecmp(k, "error", 5) == 0)
			slot = &out->error;
		if (slot) {
			free(*slot);
			*slot = strdup(berth_buf_str(&v));
		}
		berth_buf_free(&v);
	}
	return 0;
}

/* ---- responses ---------------------------------------------------------- */

void berth_registry_response_free(struct berth_registry_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	free(r->docker_content_digest);
	free(r->location);
	free(r->range);
	memset(r, 0, sizeof(*r));
}

static enum berth_err_kind kind_of_status(long st)
{
	switch (st) {
	case 400: return BERTH_E_INVALID;
	case 401:
	case 403: return BERTH_E_FORBIDDEN;
	case 404: return BERTH_E_NOT_FOUND;
	case 409: return BERTH_E_CONFLICT;
	case 429:
	case 502:
	case 503:
	case 504: return BERTH_E_UNAVAILABLE;
	default: return BERTH_E_INTERNAL;
	}
}

int berth_registry_error_from(const struct berth_registry_response *resp, const char *prefix, struct berth_error *err)
{
	struct berth_buf m = {0};
	json_t *j = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	json_t *errs = json_object_get(j, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (i)
			berth_buf_printf(&m, ", ");
		if (code) {
			for (const char *c = code; *c; c++)
				berth_buf_putc(&m, *c == '_' ? ' ' : (char)tolower((unsigned char)*c));
			berth_buf_printf(&m, ": ");
		}
		berth_buf_printf(&m, "%s", msg ? msg : "unknown error");
	}
	json_decref(j);
	if (!m.len) {
		switch (resp->status) {
		case 401: berth_buf_printf(&m, "unauthorized: authentication required"); break;
		case 403: berth_buf_printf(&m, "denied: requested access to the resource is denied"); break;
		case 404: berth_buf_printf(&m, "not found"); break;
		default: berth_buf_printf(&m, "received unexpected HTTP status: %ld", resp->status);
		}
	}
	if (prefix && *prefix)
		berth_err(err, kind_of_status(resp->status), "%s: %s", prefix, berth_buf_str(&m));
	else
		berth_err(err, kind_of_status(resp->status), "%s", berth_buf_str(&m));
	if (err)
		err->code = (int)resp->status;
	berth_buf_free(&m);
	return -1;
}

/* ---- curl plumbing -------------------------------------------------------------- */

struct xfer {
	const struct berth_registry_request *req;
	struct berth_registry_response *resp;
	struct berth_buf body;
	size_t max_body;
	bool overflow;
	bool aborted;
	CURL *h;
	char *www_auth;
	int64_t skip; /* a resumed GET answered 200: bytes the caller already has */
};

static char *dup_trim(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	return strndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new response (redirects, 100) */
		struct berth_registry_response *r = x->resp;
		free(r->content_type);
		free(r->docker_content_digest);
		free(r->location);
		free(r->range);
		r->content_type = r->docker_content_digest = r->location = r->range = NULL;
		r->content_length = -1;
		free(x->www_auth);
		x->www_auth = NULL;
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return n;
	size_t kl = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vl = n - kl - 1;
	char **slot = NULL;
#define HDR(name) (kl == strlen(name) && strncasecmp(buf, name, kl) == 0)
	if (HDR("Content-Type"))
		slot = &x->resp->content_type;
	else if (HDR("Docker-Content-Digest"))
		slot = &x->resp->docker_content_digest;
	else if (HDR("Location"))
		slot = &x->resp->location;
	else if (HDR("Range"))
		slot = &x->resp->range;
	else if (HDR("WWW-Authenticate") && !x->www_auth)
		slot = &x->www_auth;
	else if (HDR("Content-Length")) {
		char *s = dup_trim(v, vl);
		if (s)
			x->resp->content_length = strtoll(s, NULL, 10);
		free(s);
	}
#undef HDR
	if (slot) {
		free(*slot);
		*slot = dup_trim(v, vl);
	}
	return n;
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long st = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
	if (x->req->on_data && st >= 200 && st < 300) {
		if (st == 200 && x->skip > 0) {
			size_t drop = (int64_t)n < x->skip ? n : (size_t)x->skip;
			x->skip -= (int64_t)drop;
			if (drop == n)
				return n;
			buf += drop;
			n -= drop;
			if (x->req->on_data(x->req->ctx, buf, n) < 0) {
				x->aborted = true;
				return 0;
			}
			return n + drop;
		}
		if (x->req->on_data(x->req->ctx, buf, n) < 0) {
			x->aborted = true;
			return 0;
		}
		return n;
	}
	size_t max = (st >= 200 && st < 300) ? x->max_body : ERR_BODY_MAX;
	if (x->body.len + n > max) {
		x->overflow = true;
		return 0;
	}
	berth_buf_append(&x->body, buf, n);
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct berth_reader *r = ud;
	ssize_t n = r->read(r->ctx, buf, size * nitems);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	return (size_t)n;
}

static void setup_tls(struct berth_registry_client *c, CURL *h)
{
	if (!c->verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_blob) {
		struct curl_blob blob = {.data = c->ca_blob, .len = c->ca_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->client_cert && c->client_key) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
	}
}

/* One raw exchange (no auth logic). auth_header may be NULL. */
static int raw_do(struct berth_registry_client *c, const char *url, const struct berth_registry_request *req,
		  const char *auth_header, struct berth_registry_response *resp, char **www_auth,
		  struct berth_error *err)
{
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	CURL *h = curl_easy_init();
	if (!h)
		return berth_err(err, BERTH_E_INTERNAL, "curl: out of memory");
	struct xfer x = {.req = req, .resp = resp, .h = h, .skip = req->range_start};
	x.max_body = req->max_body ? req->max_body : BERTH_REGISTRY_MAX_MANIFEST;
	struct curl_slist *hl = NULL;
	char *authline = NULL;
	if (auth_header) {
		authline = berth_strdup_printf("Authorization: %s", auth_header);
		hl = curl_slist_append(hl, authline);
	}
	for (const char *const *p = req->headers; p && *p; p++)
		hl = curl_slist_append(hl, *p);
	hl = curl_slist_append(hl, "Expect:");
	char ua[64];
	snprintf(ua, sizeof(ua), "berth/%s", "1.0");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	const char *m = req->method ? req->method : "GET";
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
		if (req->body_reader) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, req->body_reader);
			if (req->body_size >= 0)
				curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_size);
		} else {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		}
	}
	if ((strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) && !req->no_follow) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	}
	char range[64];
	if (req->range_start > 0) {
		snprintf(range, sizeof(range), "%lld-", (long long)req->range_start);
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	setup_tls(c, h);
	CURLcode cr = curl_easy_perform(h);
	int rc = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (x.aborted) {
		if (!err || !err->kind)
			berth_err(err, BERTH_E_INTERNAL, "aborted");
		rc = -1;
	} else if (x.overflow) {
		rc = berth_err(err, BERTH_E_INVALID, "response body from %s exceeds the limit of %zu bytes", url,
			       x.max_body);
	} else if (cr != CURLE_OK) {
		rc = berth_err(err, BERTH_E_UNAVAILABLE, "%s %s: %s", m, url, curl_easy_strerror(cr));
	}
	if (rc == 0 && x.body.len) {
		resp->body_len = x.body.len;
		resp->body = berth_buf_steal(&x.body);
	}
	berth_buf_free(&x.body);
	if (www_auth)
		*www_auth = steal_ptr(x.www_auth);
	free(x.www_auth);
	curl_slist_free_all(hl);
	if (authline) {
		explicit_bzero(authline, strlen(authline));
		free(authline);
	}
	curl_easy_cleanup(h);
	if (rc < 0)
		berth_registry_response_free(resp);
	return rc;
}

/* ---- auth --------------------------------------------------------------- */

static char *basic_header(const char *user, const char *pass)
{
	cleanup_free char *up = berth_strdup_printf("%s:%s", user ? user : "", pass ? pass : "");
	char *b = up ? berth_base64_encode(up, strlen(up), false) : NULL;
	if (up)
		explicit_bzero(up, strlen(up));
	char *r = b ? berth_strdup_printf("Basic %s", b) : NULL;
	if (b) {
		explicit_bzero(b, strlen(b));
		free(b);
	}
	return r;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = e ? strdup(e) : NULL;
	curl_free(e);
	return r;
}

/* Fetch a token for the current scopes; with c->mu held. offline: ask for a refresh token. */
static int fetch_token(struct berth_registry_client *c, bool offline, struct berth_error *err)
{
	if (!c->realm)
		return berth_err(err, BERTH_E_FORBIDDEN, "unauthorized: bearer challenge without realm");
	struct berth_buf q = {0};
	cleanup_free char *svc = url_escape(c->service ? c->service : "");
	struct berth_registry_request req = {.method = "GET", .max_body = TOKEN_BODY_MAX};
	struct berth_registry_response resp;
	cleanup_free char *url = NULL;
	cleanup_free char *auth = NULL;
	const char *form_hdr[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	if (c->refresh_token && !c->pass) { /* an identity token wins (docker sends it with the username only) */
		/* OAuth2 refresh_token grant */
		cleanup_free char *rt = url_escape(c->refresh_token);
		berth_buf_printf(&q, "grant_type=refresh_token&refresh_token=%s&service=%s&client_id=berth", rt, svc);
		for (char **s = c->scopes; s && *s; s++) {
			cleanup_free char *e = url_escape(*s);
			berth_buf_printf(&q, "&scope=%s", e);
		}
		url = strdup(c->realm);
		req.method = "POST";
		req.headers = form_hdr;
		req.body = q.data;
		req.body_len = q.len;
	} else {
		berth_buf_printf(&q, "%s%sservice=%s", c->realm, strchr(c->realm, '?') ? "&" : "?", svc);
		for (char **s = c->scopes; s && *s; s++) {
			cleanup_free char *e = url_escape(*s);
			berth_buf_printf(&q, "&scope=%s", e);
		}
		if (c->user) {
			if (offline)
				berth_buf_printf(&q, "&offline_token=true&client_id=berth");
			auth = basic_header(c->user, c->pass);
		}
		url = berth_buf_steal(&q);
	}
	int rc = raw_do(c, url, &req, auth, &resp, NULL, err);
	if (q.data)
		explicit_bzero(q.data, q.len);
	berth_buf_free(&q);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	if (rc < 0)
		return -1;
	if (resp.status < 200 || resp.status >= 300) {
		/* docker: "unauthorized: ..." from the token server's body or status */
		struct berth_registry_response r2 = resp;
		if (resp.status == 401 || resp.status == 403) {
			json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
			const char *d = json_string_value(json_object_get(j, "details"));
			if (!d)
				d = json_string_value(json_object_get(j, "error"));
			if (d && !json_object_get(j, "errors")) {
				berth_err(err, BERTH_E_FORBIDDEN, "unauthorized: %s", d);
				json_decref(j);
				berth_registry_response_free(&resp);
				return -1;
			}
			json_decref(j);
		}
		berth_registry_error_from(&r2, NULL, err);
		berth_registry_response_free(&resp);
		return -1;
	}
	json_t *j = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	berth_registry_response_free(&resp);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok) {
		json_decref(j);
		return berth_err(err, BERTH_E_FORBIDDEN, "unauthorized: the token server answered no token");
	}
	free(c->token);
	c->token = strdup(tok);
	json_int_t exp = json_integer_value(json_object_get(j, "expires_in"));
	if (exp < 60)
		exp = 60;
	c->token_expiry = time(NULL) + (time_t)exp - 10;
	const char *rt = json_string_value(json_object_get(j, "refresh_token"));
	if (rt && *rt) {
		free(c->refresh_token);
		c->refresh_token = strdup(rt);
	}
	json_decref(j);
	return 0;
}

/* Authorization header value for the next request (caller frees; NULL: none). */
static int auth_header(struct berth_registry_client *c, bool force_refresh, char **out, struct berth_error *err)
{
	*out = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	if (c->registry_token) {
		*out = berth_strdup_printf("Bearer %s", c->registry_token);
	} else if (c->scheme == SCHEME_BASIC) {
		if (c->user)
			*out = basic_header(c->user, c->pass);
	} else if (c->scheme == SCHEME_BEARER) {
		if (force_refresh || !c->token || time(NULL) >= c->token_expiry)
			rc = fetch_token(c, false, err);
		if (rc == 0)
			*out = berth_strdup_printf("Bearer %s", c->token);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void set_challenge(struct berth_registry_client *c, const char *www)
{
	struct berth_auth_challenge ch;
	if (!www || berth_auth_challenge_parse(www, &ch, NULL) < 0)
		return;
	if (strcmp(ch.scheme, "bearer") == 0) {
		c->scheme = SCHEME_BEARER;
		free(c->realm);
		free(c->service);
		c->realm = steal_ptr(ch.realm);
		c->service = steal_ptr(ch.service);
	} else if (strcmp(ch.scheme, "basic") == 0) {
		c->scheme = SCHEME_BASIC;
	}
	berth_auth_challenge_free(&ch);
}

/* ---- client ------------------------------------------------------------------ */

static void load_certs(struct berth_registry_client *c, const char *certs_dir)
{
	cleanup_free char *dir =
		berth_strdup_printf("%s/%s", certs_dir ? certs_dir : BERTH_REGISTRY_CERTS_DIR, c->hostport);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return;
	struct berth_buf cas = {0};
	bool any = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		cleanup_free char *p = berth_strdup_printf("%s/%s", dir, n);
		if (berth_str_has_suffix(n, ".crt")) {
			char *data = NULL;
			size_t len = 0;
			if (berth_read_file(p, &data, &len, 1 << 20, NULL) == 0) {
				berth_buf_append(&cas, data, len);
				berth_buf_putc(&cas, '\n');
				any = true;
			}
			free(data);
		} else if (berth_str_has_suffix(n, ".cert")) {
			cleanup_free char *key = berth_strdup_printf("%.*s.key", (int)(strlen(p) - 5), p);
			if (key && access(key, R_OK) == 0 && !c->client_cert) {
				c->client_cert = steal_ptr(p);
				c->client_key = steal_ptr(key);
			}
		}
	}
	closedir(d);
	if (any) {
		char *sys = NULL;
		size_t len = 0;
		if (berth_read_file(SYSTEM_CA_BUNDLE, &sys, &len, 16 << 20, NULL) == 0)
			berth_buf_append(&cas, sys, len);
		free(sys);
		c->ca_len = cas.len;
		c->ca_blob = berth_buf_steal(&cas);
	}
	berth_buf_free(&cas);
}

void berth_registry_client_free(struct berth_registry_client *c)
{
	if (!c)
		return;
	free(c->base);
	free(c->hostport);
	free(c->repo);
	free(c->ca_blob);
	free(c->client_cert);
	free(c->client_key);
	free(c->realm);
	free(c->service);
	berth_strv_free(c->scopes);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	if (c->refresh_token) {
		explicit_bzero(c->refresh_token, strlen(c->refresh_token));
		free(c->refresh_token);
	}
	free(c->user);
	if (c->pass) {
		explicit_bzero(c->pass, strlen(c->pass));
		free(c->pass);
	}
	if (c->registry_token) {
		explicit_bzero(c->registry_token, strlen(c->registry_token));
		free(c->registry_token);
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

const char *berth_registry_client_base(struct berth_registry_client *c) { return c->base; }
const char *berth_registry_client_repo(struct berth_registry_client *c) { return c->repo; }

int berth_registry_client_add_scope(struct berth_registry_client *c, const char *scope, struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	bool have = false;
	for (char **s = c->scopes; s && *s; s++)
		if (strcmp(*s, scope) == 0)
			have = true;
	int rc = 0;
	if (!have) {
		if (berth_strv_push(&c->scopes, scope) < 0)
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		free(c->token); /* next request fetches a token with the new scope */
		c->token = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* GET base/v2/: 0 with the challenge recorded, -1 when the endpoint does not answer. */
static int ping(struct berth_registry_client *c, struct berth_error *err)
{
	cleanup_free char *url = berth_strdup_printf("%s/v2/", c->base);
	struct berth_registry_request req = {.method = "GET", .max_body = ERR_BODY_MAX};
	struct berth_registry_response resp;
	char *www = NULL;
	if (raw_do(c, url, &req, NULL, &resp, &www, err) < 0)
		return -1;
	int rc = 0;
	if (resp.status == 401) {
		set_challenge(c, www);
	} else if (resp.status < 200 || resp.status >= 300) {
		rc = berth_err(err, BERTH_E_UNAVAILABLE, "Get \"%s\": received unexpected HTTP status: %ld", url,
			       resp.status);
	}
	free(www);
	berth_registry_response_free(&resp);
	return rc;
}

struct berth_registry_client *berth_registry_client_new(const struct berth_registry_config *cfg, const char *domain,
							const char *repo, const struct berth_auth_config *auth,
							int actions, struct berth_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	const char *host = berth_registry_host(domain);
	bool insecure = berth_registry_is_insecure(cfg, host);
	bool docker_io = strcmp(host, BERTH_REGISTRY_DOCKER_IO_HOST) == 0;
	/* candidate endpoints, in order */
	char **cands = NULL;
	if (docker_io && !(actions & BERTH_REGISTRY_PUSH) && cfg && cfg->mirrors)
		for (char **m = cfg->mirrors; *m; m++) {
			size_t l = strlen(*m);
			char *u = strndup(*m, l && (*m)[l - 1] == '/' ? l - 1 : l);
			berth_strv_push(&cands, u);
			free(u);
		}
	char *u = berth_strdup_printf("https://%s", host);
	berth_strv_push(&cands, u);
	free(u);
	if (insecure) {
		u = berth_strdup_printf("http://%s", host);
		berth_strv_push(&cands, u);
		free(u);
	}
	struct berth_error first = {0};
	struct berth_registry_client *res = NULL;
	for (char **cand = cands; cand && *cand && !res; cand++) {
		struct berth_registry_client *c = calloc(1, sizeof(*c));
		if (!c)
			break;
		pthread_mutex_init(&c->mu, NULL);
		c->base = strdup(*cand);
		const char *hp = strstr(*cand, "://") + 3;
		c->hostport = strdup(hp);
		/* docker: TLS errors are ignored for insecure registries (and loopback) */
		c->verify = !berth_registry_is_insecure(cfg, c->hostport);
		if (repo)
			c->repo = strdup(repo);
		load_certs(c, cfg ? cfg->certs_dir : NULL);
		if (auth) {
			const char *user = auth->username, *pass = auth->password;
			if (user && *user)
				c->user = strdup(user);
			if (pass && *pass)
				c->pass = strdup(pass);
			if (auth->identitytoken && *auth->identitytoken)
				c->refresh_token = strdup(auth->identitytoken);
			if (auth->registrytoken && *auth->registrytoken)
				c->registry_token = strdup(auth->registrytoken);
		}
		if (repo) {
			cleanup_free char *scope = berth_strdup_printf(
				"repository:%s:%s", repo, (actions & BERTH_REGISTRY_PUSH) ? "pull,push" : "pull");
			berth_strv_push(&c->scopes, scope);
		}
		struct berth_error e = {0};
		if (ping(c, &e) == 0) {
			res = c;
		} else {
			if (!first.kind)
				first = e;
			berth_registry_client_free(c);
		}
	}
	berth_strv_free(cands);
	if (!res && err) {
		if (first.kind)
			*err = first;
		else
			berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return res;
}

int berth_registry_client_login(struct berth_registry_client *c, char **identity_token, struct berth_error *err)
{
	if (identity_token)
		*identity_token = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	if (c->scheme == SCHEME_BEARER && !c->registry_token)
		rc = fetch_token(c, true, err);
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return -1;
	struct berth_registry_request req = {.method = "GET", .path = "/v2/", .max_body = ERR_BODY_MAX};
	struct berth_registry_response resp;
	if (berth_registry_do(c, &req, &resp, err) < 0)
		return -1;
	if (resp.status < 200 || resp.status >= 300) {
		berth_registry_error_from(&resp, NULL, err);
		berth_registry_response_free(&resp);
		return -1;
	}
	berth_registry_response_free(&resp);
	if (identity_token && c->refresh_token && c->user) {
		pthread_mutex_lock(&c->mu);
		*identity_token = strdup(c->refresh_token);
		pthread_mutex_unlock(&c->mu);
	}
	return 0;
}

char *berth_registry_resolve_url(struct berth_registry_client *c, const char *location)
{
	if (!location)
		return NULL;
	if (strstr(location, "://"))
		return strdup(location);
	if (location[0] == '/')
		return berth_strdup_printf("%s%s", c->base, location);
	return berth_strdup_printf("%s/%s", c->base, location);
}

int berth_registry_do(struct berth_registry_client *c, const struct berth_registry_request *req,
		      struct berth_registry_response *resp, struct berth_error *err)
{
	cleanup_free char *url = berth_registry_resolve_url(c, req->path);
	if (!url)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	bool replayable = !req->body_reader;
	for (int attempt = 0;; attempt++) {
		cleanup_free char *auth = NULL;
		if (auth_header(c, attempt > 0, &auth, err) < 0)
			return -1;
		char *www = NULL;
		int rc = raw_do(c, url, req, auth, resp, &www, err);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		if (rc < 0) {
			free(www);
			return -1;
		}
		if (resp->status == 401 && attempt == 0 && replayable && www) {
			pthread_mutex_lock(&c->mu);
			enum auth_scheme before = c->scheme;
			set_challenge(c, www);
			bool retry =
				c->scheme == SCHEME_BEARER || (c->scheme == SCHEME_BASIC && before != SCHEME_BASIC);
			pthread_mutex_unlock(&c->mu);
			free(www);
			if (retry) {
				berth_registry_response_free(resp);
				continue;
			}
		} else {
			free(www);
		}
		if (resp->status == 401) {
			/* as docker's basic auth handler: a Basic challenge and nothing to answer it with */
			pthread_mutex_lock(&c->mu);
			bool none = c->scheme == SCHEME_BASIC && !c->user && !c->registry_token;
			pthread_mutex_unlock(&c->mu);
			if (none) {
				berth_registry_response_free(resp);
				return berth_err(err, BERTH_E_FORBIDDEN, BERTH_REGISTRY_NO_BASIC_CREDENTIALS);
			}
		}
		return 0;
	}
}
