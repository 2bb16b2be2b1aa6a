#include "authz.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/util.h"

#define AUTHZ_MAX_BODY (1024 * 1024) /* docker's maxBodySize */
#define PLUGIN_CT "application/vnd.docker.plugins.v1.2+json"

#define POOL_MAX 16 /* idle connections kept per plugin */

/* A plugin of the chain. Its connections are curl easy handles, each
 * keeping one keep-alive connection to the plugin: a call takes an idle one
 * (or makes one), and gives it back when the call succeeded; a handle whose
 * call failed is dropped with its connection. The idle handles go with the
 * chain, once the last request using it is done (a SIGHUP reload swaps the
 * chain, requests in flight keep the old one). */
struct plugin {
	char *name;
	char *sock; /* unix socket path, or NULL */
	char *url;  /* base URL: "http://plugin" for sockets, "http://host:port" for tcp specs */
	pthread_mutex_t mu;
	bool mu_ready;
	CURL *idle[POOL_MAX];
	size_t nidle;
};

struct chain {
	int refs;
	size_t n;
	struct plugin *p;
	struct curl_slist *hdrs; /* the request headers, shared by all handles (read only) */
};

struct berth_authz {
	pthread_mutex_t mu;
	struct chain *chain; /* NULL: no plugins */
	int timeout_ms;
	bool curl_ready; /* curl_global_init done: only once a plugin is configured */
};

static void chain_put(struct berth_authz *a, struct chain *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&a->mu);
	int left = --c->refs;
	pthread_mutex_unlock(&a->mu);
	if (left)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct plugin *pl = &c->p[i];
		for (size_t k = 0; k < pl->nidle; k++)
			curl_easy_cleanup(pl->idle[k]);
		if (pl->mu_ready)
			pthread_mutex_destroy(&pl->mu);
		free(pl->name);
		free(pl->sock);
		free(pl->url);
	}
	curl_slist_free_all(c->hdrs);
	free(c->p);
	free(c);
}

static struct chain *chain_get(struct berth_authz *a)
{
	pthread_mutex_lock(&a->mu);
	struct chain *c = a->chain;
	if (c)
		c->refs++;
	pthread_mutex_unlock(&a->mu);
	return c;
}

struct berth_authz *berth_authz_new(void)
{
	struct berth_authz *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	pthread_mutex_init(&a->mu, NULL);
	a->timeout_ms = 10000;
	return a;
}

void berth_authz_free(struct berth_authz *a)
{
	if (!a)
		return;
	struct chain *c = a->chain;
	a->chain = NULL;
	chain_put(a, c);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void berth_authz_set_timeout(struct berth_authz *a, int ms) { a->timeout_ms = ms > 0 ? ms : 10000; }

/* ---------- discovery ---------- */

static bool is_socket(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* A spec's address: "unix:///path" or "tcp://host:port" (or http://). */
static int plugin_addr(struct plugin *pl, const char *addr, const char *from, struct berth_error *err)
{
	if (berth_str_has_prefix(addr, "unix://")) {
		pl->sock = strdup(addr + 7);
		pl->url = strdup("http://plugin");
	} else if (berth_str_has_prefix(addr, "tcp://") || berth_str_has_prefix(addr, "http://")) {
		pl->url = berth_strdup_printf("http://%s", strstr(addr, "://") + 3);
	} else {
		return berth_err(err, BERTH_E_INVALID, "plugin %s: unsupported address \"%s\" in %s", pl->name, addr,
				 from);
	}
	if (!pl->url || (berth_str_has_prefix(addr, "unix://") && !pl->sock))
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

static int find_plugin(struct plugin *pl, struct berth_error *err)
{
	static const char *const sock_dirs[] = {"/run/berth/plugins", "/run/docker/plugins", NULL};
	static const char *const spec_dirs[] = {"/etc/berth/plugins", "/usr/lib/berth/plugins", "/etc/docker/plugins",
						"/usr/lib/docker/plugins", NULL};
	char **env_dirs = NULL;
	const char *env = getenv("BERTH_PLUGIN_DIRS");
	if (env && *env) {
		cleanup_free char *copy = strdup(env);
		char *save = NULL;
		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
			berth_strv_push(&env_dirs, d);
	}
	const char *const *sd = env_dirs ? (const char *const *)env_dirs : sock_dirs;
	const char *const *pd = env_dirs ? (const char *const *)env_dirs : spec_dirs;
	int rc = -1;
	for (int i = 0; sd[i] && rc < 0; i++) {
		char *a = berth_strdup_printf("%s/%s.sock", sd[i], pl->name);
		char *b = berth_strdup_printf("%s/%s/%s.sock", sd[i], pl->name, pl->name);
		const char *hit = a && is_socket(a) ? a : b && is_socket(b) ? b : NULL;
		if (hit) {
			pl->sock = strdup(hit);
			pl->url = strdup("http://plugin");
			rc = pl->sock && pl->url ? 0 : berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
		free(a);
		free(b);
	}
	for (int i = 0; pd[i] && rc < 0; i++) {
		static const char *const exts[] = {"spec", "json"};
		for (int e = 0; e < 2 && rc < 0; e++) {
			cleanup_free char *path = berth_strdup_printf("%s/%s.%s", pd[i], pl->name, exts[e]);
			cleanup_free char *text = NULL;
			if (!path || berth_read_file(path, &text, NULL, 64 * 1024, NULL) < 0)
				continue;
			if (e == 0) {
				char *end = text + strlen(text);
				while (end > text && isspace((unsigned char)end[-1]))
					*--end = '\0';
				rc = plugin_addr(pl, text, path, err);
			} else {
				cleanup_json json_t *j = json_loads(text, 0, NULL);
				const char *addr = json_string_value(json_object_get(j, "Addr"));
				rc = addr ? plugin_addr(pl, addr, path, err) :
					    berth_err(err, BERTH_E_INVALID, "plugin %s: no Addr in %s", pl->name, path);
			}
		}
	}
	berth_strv_free(env_dirs);
	if (rc < 0 && err && !err->msg[0])
		berth_err(err, BERTH_E_NOT_FOUND, "plugin \"%s\" not found", pl->name);
	return rc;
}

/* ---------- calls ---------- */

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
	struct berth_buf *b = ctx;
	if (b->len + sz * n > 4 * 1024 * 1024 || berth_buf_append(b, p, sz * n) < 0)
		return 0;
	return sz * n;
}

/* An idle handle of pl, or a new one set up for pl (NULL: out of memory). */
static CURL *handle_get(const struct chain *ch, struct plugin *pl)
{
	CURL *h = NULL;
	pthread_mutex_lock(&pl->mu);
	if (pl->nidle)
		h = pl->idle[--pl->nidle];
	pthread_mutex_unlock(&pl->mu);
	if (h || !(h = curl_easy_init()))
		return h;
	if (pl->sock)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, pl->sock);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, ch->hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
	return h;
}

/* Back to the pool after a call that went well; else (or when the pool is
 * full) closed with its connection. */
static void handle_put(struct plugin *pl, CURL *h, bool ok)
{
	if (ok) {
		pthread_mutex_lock(&pl->mu);
		if (pl->nidle < POOL_MAX) {
			pl->idle[pl->nidle++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&pl->mu);
	}
	if (h)
		curl_easy_cleanup(h);
}

/* POST /METHOD with body; 0 and *out (the decoded JSON answer) or -1 with
 * docker's wording for the failure ("METHOD: <plugin's Err>"). */
static int call(struct berth_authz *a, const struct chain *ch, struct plugin *pl, const char *method, const char *body,
		json_t **out, struct berth_error *err)
{
	*out = NULL;
	char url[512];
	snprintf(url, sizeof(url), "%s/%s", pl->url, method);
	CURL *h = handle_get(ch, pl);
	if (!h)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	struct berth_buf resp = {0};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(a->timeout_ms < 2000 ? a->timeout_ms : 2000));
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	CURLcode cr = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	handle_put(pl, h, cr == CURLE_OK);
	int rc = -1;
	if (cr != CURLE_OK) {
		berth_err(err, BERTH_E_INTERNAL, "Post \"%s\": %s", pl->sock ? pl->sock : url, curl_easy_strerror(cr));
		goto out;
	}
	json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
	if (status != 200) {
		const char *e = json_string_value(json_object_get(j, "Err"));
		berth_err(err, BERTH_E_INTERNAL, "%s: %.*s", method,
			  e ? (int)strlen(e) : (int)(resp.len > 500 ? 500 : resp.len),
			  e         ? e :
			  resp.data ? resp.data :
				      "");
		json_decref(j);
		goto out;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		berth_err(err, BERTH_E_INTERNAL, "%s: invalid response from plugin (not a JSON object)", method);
		goto out;
	}
	*out = j;
	rc = 0;
out:
	berth_buf_free(&resp);
	return rc;
}

static int activate(struct berth_authz *a, const struct chain *ch, struct plugin *pl, struct berth_error *err)
{
	if (find_plugin(pl, err) < 0)
		return -1;
	json_t *j = NULL;
	if (call(a, ch, pl, "Plugin.Activate", "", &j, err) < 0)
		return -1;
	json_t *impl = json_object_get(j, "Implements");
	bool ok = false;
	size_t i;
	json_t *v;
	json_array_foreach(impl, i, v)
		ok = ok || (json_is_string(v) && !strcmp(json_string_value(v), "authz"));
	json_decref(j);
	if (!ok)
		return berth_err(err, BERTH_E_INVALID,
				 "plugin %s does not implement authz (Implements lacks \"authz\")", pl->name);
	return 0;
}

int berth_authz_set_plugins(struct berth_authz *a, char *const *names, struct berth_error *err)
{
	struct chain *c = NULL;
	size_t n = 0;
	while (names && names[n])
		n++;
	if (n && !a->curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		a->curl_ready = true;
	}
	if (n) {
		c = calloc(1, sizeof(*c));
		if (!c || !(c->p = calloc(n, sizeof(struct plugin)))) {
			free(c);
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
		c->refs = 1;
		c->hdrs = curl_slist_append(NULL, "Accept: " PLUGIN_CT);
		c->hdrs = c->hdrs ? curl_slist_append(c->hdrs, "Content-Type: " PLUGIN_CT) : NULL;
		c->hdrs = c->hdrs ? curl_slist_append(c->hdrs, "Expect:") : NULL;
		for (size_t i = 0; i < n; i++) {
			c->p[i].name = strdup(names[i]);
			c->p[i].mu_ready = pthread_mutex_init(&c->p[i].mu, NULL) == 0;
			c->n = i + 1;
			struct berth_error e = {0};
			if (!c->hdrs || !c->p[i].name || !c->p[i].mu_ready || activate(a, c, &c->p[i], &e) < 0) {
				chain_put(a, c);
				return berth_err(err, BERTH_E_INVALID, "Error validating authorization plugin: %s",
						 e.msg[0] ? e.msg : "out of memory");
			}
		}
	}
	pthread_mutex_lock(&a->mu);
	struct chain *old = a->chain;
	a->chain = c;
	pthread_mutex_unlock(&a->mu);
	chain_put(a, old);
	return 0;
}

/* ---------- the middleware ---------- */

struct req_state {
	struct chain *chain;
	json_t *req;    /* the AuthZ request object, completed with the response for AuthZRes */
	char *req_body; /* RequestBody (base64), or NULL */
};

static bool redacted(const char *name)
{
	return !strcasecmp(name, "X-Registry-Auth") || !strcasecmp(name, "X-Registry-Config") ||
	       !strcasecmp(name, "Authorization") || !strcasecmp(name, "Proxy-Authorization");
}

/* Go's canonical header name: "content-type" -> "Content-Type". */
static void canon(char *k)
{
	bool up = true;
	for (; *k; k++) {
		*k = (char)(up ? toupper((unsigned char)*k) : tolower((unsigned char)*k));
		up = *k == '-';
	}
}

static void header_set(json_t *o, const char *name, const char *value)
{
	char k[256];
	snprintf(k, sizeof(k), "%s", name);
	canon(k);
	if (json_object_get(o, k))
		return; /* docker keeps the first value */
	json_object_set_new(o, k, json_string(redacted(k) ? "<redacted>" : value));
}

static bool is_json_ctype(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strcspn(ct, "; ");
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

static bool ends_auth(const char *path)
{
	size_t n = strlen(path);
	return n >= 5 && !strcmp(path + n - 5, "/auth");
}

/* The request object as JSON with up to two base64 members spliced in
 * (bodies of up to 1 MiB go in as they are: base64 needs no escaping, and
 * the JSON library would copy, validate and escape them byte by byte). */
static char *dump_req(json_t *req, const char *k1, const char *v1, const char *k2, const char *v2)
{
	cleanup_free char *head = json_dumps(req, JSON_COMPACT);
	if (!head)
		return NULL;
	size_t n = strlen(head);
	if (!v1 && !v2)
		return steal_ptr(head);
	struct berth_buf b = {0};
	int rc = berth_buf_append(&b, head, n - 1); /* without the closing '}' */
	const char *k[2] = {k1, k2}, *v[2] = {v1, v2};
	for (int i = 0; i < 2 && rc == 0; i++) {
		if (!v[i])
			continue;
		rc = berth_buf_printf(&b, "%s\"%s\":\"", b.len > 1 ? "," : "", k[i]);
		rc = rc ? rc : berth_buf_append(&b, v[i], strlen(v[i]));
		rc = rc ? rc : berth_buf_putc(&b, '"');
	}
	rc = rc ? rc : berth_buf_putc(&b, '}');
	if (rc) {
		berth_buf_free(&b);
		return NULL;
	}
	return berth_buf_steal(&b);
}

/* Ask every plugin in order; 0 allowed, else answered (403/500). */
static int ask(struct chain *ch, struct berth_authz *a, const char *method, const char *body, struct berth_http_conn *c,
	       bool before)
{
	if (!body) {
		if (before)
			berth_http_respond_msg(c, 500, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ch->n; i++) {
		struct plugin *pl = &ch->p[i];
		struct berth_error e = {0};
		json_t *res = NULL;
		char msg[1200];
		int status = 0;
		if (call(a, ch, pl, method, body, &res, &e) < 0) {
			snprintf(msg, sizeof(msg), "plugin %s failed with error: %s", pl->name, e.msg);
			status = 500;
		} else if (!json_is_true(json_object_get(res, "Allow"))) {
			const char *err_s = json_string_value(json_object_get(res, "Err"));
			const char *m = json_string_value(json_object_get(res, "Msg"));
			if (err_s && *err_s) {
				snprintf(msg, sizeof(msg), "plugin %s failed with error: %s: %s", pl->name, method,
					 err_s);
				status = 500;
			} else {
				snprintf(msg, sizeof(msg), "authorization denied by plugin %s: %s", pl->name,
					 m ? m : "");
				status = 403;
			}
		}
		json_decref(res);
		if (status) {
			if (before)
				berth_http_respond_msg(c, status, "%s", msg);
			else
				berth_http_response_replace(c, status, msg);
			return -1;
		}
	}
	return 0;
}

static bool mw_before(void *ctx, struct berth_http_req *r, struct berth_http_conn *c, void **state)
{
	struct berth_authz *a = ctx;
	struct chain *ch = chain_get(a);
	if (!ch)
		return true;
	json_t *req = json_object();
	json_t *hdrs = json_object();
	for (size_t i = 0; i < r->nheaders; i++)
		header_set(hdrs, r->headers[i].k, r->headers[i].v);
	json_object_set_new(req, "User", json_string(berth_http_peer_user(c)));
	json_object_set_new(req, "UserAuthNMethod", json_string(berth_http_peer_authn(c)));
	json_object_set_new(req, "RequestMethod", json_string(r->method));
	json_object_set_new(req, "RequestURI", json_string(r->raw_path ? r->raw_path : r->path));
	json_object_set_new(req, "RequestHeaders", hdrs);
	int64_t cl = berth_http_content_length(c);
	char *req_body = NULL;
	if (cl > 0 && cl < AUTHZ_MAX_BODY && !ends_auth(r->path) &&
	    is_json_ctype(berth_http_header(r, "Content-Type"))) {
		struct berth_buf b = {0};
		if (berth_http_body_peek(c, AUTHZ_MAX_BODY, &b) == 1)
			req_body = berth_base64_encode(b.data ? b.data : "", b.len, false);
		berth_buf_free(&b);
	}
	cleanup_free char *body = dump_req(req, "RequestBody", req_body, NULL, NULL);
	struct req_state *st = NULL;
	if (ask(ch, a, "AuthZPlugin.AuthZReq", body, c, true) < 0 || !(st = calloc(1, sizeof(*st)))) {
		if (!berth_http_responded(c))
			berth_http_respond_msg(c, 500, "out of memory");
		free(req_body);
		json_decref(req);
		chain_put(a, ch);
		return false;
	}
	st->chain = ch;
	st->req = req;
	st->req_body = req_body;
	*state = st;
	return true;
}

static void mw_after(void *ctx, struct berth_http_req *r, struct berth_http_conn *c, void *state)
{
	struct berth_authz *a = ctx;
	struct req_state *st = state;
	if (!st)
		return;
	if (r) {
		json_t *hdrs = json_object();
		const char *h = berth_http_response_headers(c);
		while (*h) {
			const char *eol = strstr(h, "\r\n");
			size_t n = eol ? (size_t)(eol - h) : strlen(h);
			const char *colon = memchr(h, ':', n);
			if (colon) {
				char k[256], v[1024];
				snprintf(k, sizeof(k), "%.*s", (int)(colon - h), h);
				const char *vs = colon + 1;
				while (*vs == ' ')
					vs++;
				snprintf(v, sizeof(v), "%.*s", (int)(h + n - vs), vs);
				header_set(hdrs, k, v);
			}
			h += n + (eol ? 2 : 0);
		}
		json_object_set_new(st->req, "ResponseStatusCode", json_integer(berth_http_response_status(c)));
		const char *ct = json_string_value(json_object_get(hdrs, "Content-Type"));
		json_object_set_new(st->req, "ResponseHeaders", hdrs);
		size_t blen = 0;
		const void *body = berth_http_response_body(c, &blen);
		cleanup_free char *res_body = NULL;
		if (blen && !ends_auth(r->path) && is_json_ctype(ct))
			res_body = berth_base64_encode(body, blen, false);
		cleanup_free char *msg = dump_req(st->req, "RequestBody", st->req_body, "ResponseBody", res_body);
		ask(st->chain, a, "AuthZPlugin.AuthZRes", msg, c, false);
	}
	free(st->req_body);
	json_decref(st->req);
	chain_put(a, st->chain);
	free(st);
}

struct berth_http_middleware berth_authz_middleware(struct berth_authz *a)
{
	return (struct berth_http_middleware){.before = mw_before, .after = mw_after, .ctx = a};
}
