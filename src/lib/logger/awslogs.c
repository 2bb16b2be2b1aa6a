/* "awslogs" log driver: Amazon CloudWatch Logs over its JSON API
 * (CreateLogGroup, CreateLogStream, PutLogEvents), Signature Version 4
 * (OpenSSL HMAC-SHA256), libcurl.
 *   awslogs-region (or AWS_REGION / AWS_DEFAULT_REGION), awslogs-group
 *   (required), awslogs-stream (default: the tag when set, else the full
 *   container id), awslogs-create-group, awslogs-datetime-format /
 *   awslogs-multiline-pattern (an event starts at a matching line; the other
 *   lines are appended to it), awslogs-credentials-endpoint,
 *   awslogs-endpoint (default https://logs.<region>.amazonaws.com), tag.
 * Credentials: the daemon's environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE
 * or default), or the container credentials endpoint
 * (http://169.254.170.2<awslogs-credentials-endpoint>).
 * Batches stay in the service's limits: events sorted by time, at most
 * 10,000 events and 1,048,576 bytes (each event counts 26 bytes more than
 * its message), 262,118 message bytes per event. A sequence token refused
 * is replaced by the expected one; throttling is retried with back-off (by
 * the delivery thread). Secrets and signatures never go into messages. */
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/jsonw.h"
#include "logger_internal.h"

#define MAX_EVENTS 10000
#define MAX_BATCH_BYTES 1048576
#define EVENT_OVERHEAD 26
#define MAX_EVENT_BYTES (262144 - EVENT_OVERHEAD)
#define MULTILINE_AGE_NS (5LL * 1000000000LL)

static const char *const keys[] = {"awslogs-region",
				   "awslogs-endpoint",
				   "awslogs-group",
				   "awslogs-stream",
				   "awslogs-create-group",
				   "awslogs-datetime-format",
				   "awslogs-multiline-pattern",
				   "awslogs-credentials-endpoint",
				   "awslogs-force-flush-interval-seconds",
				   "awslogs-max-buffered-events",
				   "awslogs-format",
				   "tag",
				   NULL};

struct event {
	int64_t ts_ms;
	size_t seq; /* arrival order: a stable sort */
	char *msg;
	size_t len;
};

struct aws {
	struct berth_logger base;
	char *region, *group, *stream, *endpoint, *cred_endpoint;
	bool create_group, ready;
	bool have_re;
	regex_t re;
	char *token; /* sequence token */
	CURL *curl;
	struct event *ev;
	size_t nev, cap, bytes, seq;
	struct berth_buf pending; /* multiline event being built */
	int64_t pending_ts_ms, pending_started_ns;
	bool have_pending;
	/* credentials */
	char *ak, *sk, *st;
	int64_t cred_expiry_ns; /* from the endpoint; 0 = static */
};

/* ---- options ---- */

/* strftime-like datetime format (docker's subset) to a regex, as docker does. */
static char *datetime_to_regex(const char *f)
{
	struct berth_buf b = {0};
	berth_buf_putc(&b, '^');
	for (const char *p = f; *p; p++) {
		if (*p == '%' && p[1]) {
			p++;
			const char *r;
			switch (*p) {
			case 'b': r = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"; break;
			case 'a': r = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"; break;
			case 'A': r = "(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"; break;
			case 'B':
				r = "(January|February|March|April|May|June|July|August|September|October|November|December)";
				break;
			case 'd': r = "(0[1-9]|[12][0-9]|3[01])"; break;
			case 'H': r = "([01][0-9]|2[0-3])"; break;
			case 'I': r = "(0[0-9]|1[0-2])"; break;
			case 'j': r = "(00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])"; break;
			case 'L': r = "[0-9]{3}"; break;
			case 'f': r = "[0-9]{6}"; break;
			case 'm': r = "(0[1-9]|1[0-2])"; break;
			case 'M': r = "[0-5][0-9]"; break;
			case 'p': r = "[AP]M"; break;
			case 'S': r = "[0-5][0-9]"; break;
			case 'y': r = "[0-9]{2}"; break;
			case 'Y': r = "[0-9]{4}"; break;
			case 'Z': r = "[A-Za-z]+"; break;
			case 'z': r = "[+-][0-9]{4}"; break;
			case 'w': r = "[0-6]"; break;
			case '%': r = "%"; break;
			default: r = NULL;
			}
			if (r)
				berth_buf_printf(&b, "%s", r);
			continue;
		}
		if (strchr(".^$*+?()[]{}|\\", *p))
			berth_buf_putc(&b, '\\');
		berth_buf_putc(&b, *p);
	}
	return berth_buf_steal(&b);
}

static int aws_validate(const json_t *opts, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		bool ok = false;
		for (size_t i = 0; keys[i] && !ok; i++)
			ok = !strcmp(k, keys[i]);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "unknown log opt '%s' for awslogs log driver", k);
	}
	const char *g = berth_log_opt(opts, "awslogs-group");
	if (!g || !*g)
		return berth_err(err, BERTH_E_INVALID, "must specify a value for log opt 'awslogs-group'");
	const char *cg = berth_log_opt(opts, "awslogs-create-group");
	if (cg && berth_log_parse_bool(cg) < 0)
		return berth_err(
			err, BERTH_E_INVALID,
			"must specify valid value for log opt 'awslogs-create-group': strconv.ParseBool: parsing "
			"\"%s\": invalid syntax",
			cg);
	const char *df = berth_log_opt(opts, "awslogs-datetime-format"),
		   *mp = berth_log_opt(opts, "awslogs-multiline-pattern");
	if (df && mp)
		return berth_err(
			err, BERTH_E_INVALID,
			"you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' "
			"at the same time");
	if (mp) {
		regex_t re;
		if (regcomp(&re, mp, REG_EXTENDED | REG_NOSUB))
			return berth_err(err, BERTH_E_INVALID, "awslogs could not parse multiline pattern key \"%s\"",
					 mp);
		regfree(&re);
	}
	const char *fi = berth_log_opt(opts, "awslogs-force-flush-interval-seconds");
	if (fi && (atoi(fi) <= 0))
		return berth_err(err, BERTH_E_INVALID, "invalid value for awslogs-force-flush-interval-seconds: %s",
				 fi);
	const char *mb = berth_log_opt(opts, "awslogs-max-buffered-events");
	if (mb && (atoi(mb) <= 0))
		return berth_err(err, BERTH_E_INVALID, "invalid value for awslogs-max-buffered-events: %s", mb);
	const char *ep = berth_log_opt(opts, "awslogs-endpoint");
	if (ep && strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
		return berth_err(err, BERTH_E_INVALID, "invalid awslogs-endpoint: %s", ep);
	const char *fmt = berth_log_opt(opts, "awslogs-format");
	if (fmt && *fmt && strcmp(fmt, "json/emf"))
		return berth_err(err, BERTH_E_INVALID, "unsupported log format '%s'", fmt);
	return 0;
}

/* ---- SigV4 ---- */

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha256_hex(const void *d, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int ml = 0;
	EVP_Digest(d, n, md, &ml, EVP_sha256(), NULL);
	hex(md, 32, out);
}

static void hmac(const void *key, size_t kl, const char *msg, unsigned char out[32])
{
	unsigned int ol = 32;
	HMAC(EVP_sha256(), key, (int)kl, (const unsigned char *)msg, strlen(msg), out, &ol);
}

/* Host (with port when not the scheme's default) of an http(s) URL. */
static void url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t l = strcspn(p, "/?#");
	snprintf(out, n, "%.*s", (int)l, p);
}

/* ---- credentials ---- */

static char *ini_value(const char *text, const char *profile, const char *key)
{
	bool in = false;
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];
		snprintf(buf, sizeof(buf), "%.*s", (int)(l < sizeof(buf) - 1 ? l : sizeof(buf) - 1), line);
		char *s = buf;
		while (isspace((unsigned char)*s))
			s++;
		char *e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = 0;
		if (*s == '[') {
			char *rb = strchr(s, ']');
			if (rb)
				*rb = 0;
			char *name = s + 1;
			while (isspace((unsigned char)*name))
				name++;
			in = !strcmp(name, profile);
		} else if (in && *s && *s != '#' && *s != ';') {
			char *eq = strchr(s, '=');
			if (eq) {
				char *k = s, *ke = eq;
				while (ke > k && isspace((unsigned char)ke[-1]))
					ke--;
				*ke = 0;
				char *v = eq + 1;
				while (isspace((unsigned char)*v))
					v++;
				if (!strcmp(k, key))
					return strdup(v);
			}
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	berth_buf_append(ud, p, sz * n);
	return sz * n;
}

static void creds_clear(struct aws *a)
{
	if (a->sk)
		memset(a->sk, 0, strlen(a->sk));
	free(a->ak);
	free(a->sk);
	free(a->st);
	a->ak = a->sk = a->st = NULL;
}

static int load_creds(struct aws *a, struct berth_error *err)
{
	if (a->ak && (!a->cred_expiry_ns || a->cred_expiry_ns > berth_now_ns() + 60LL * 1000000000LL))
		return 0;
	creds_clear(a);
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (!ak)
		ak = getenv("AWS_ACCESS_KEY");
	if (!sk)
		sk = getenv("AWS_SECRET_KEY");
	if (ak && *ak && sk && *sk) {
		a->ak = strdup(ak);
		a->sk = strdup(sk);
		const char *st = getenv("AWS_SESSION_TOKEN");
		a->st = st && *st ? strdup(st) : NULL;
		return 0;
	}
	if (a->cred_endpoint) {
		const char *host = getenv("BERTH_AWS_CONTAINER_CREDENTIALS_HOST"); /* tests only */
		cleanup_free char *url =
			berth_strdup_printf("%s%s", host && *host ? host : "http://169.254.170.2", a->cred_endpoint);
		struct berth_buf body = {0};
		curl_easy_reset(a->curl);
		curl_easy_setopt(a->curl, CURLOPT_URL, url);
		curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &body);
		CURLcode cr = curl_easy_perform(a->curl);
		long code = 0;
		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &code);
		cleanup_json json_t *j =
			cr == CURLE_OK && code == 200 ? json_loadb(body.data, body.len, 0, NULL) : NULL;
		berth_buf_free(&body);
		const char *jak = json_string_value(json_object_get(j, "AccessKeyId"));
		const char *jsk = json_string_value(json_object_get(j, "SecretAccessKey"));
		if (!jak || !jsk)
			return berth_err(err, BERTH_E_INTERNAL,
					 "awslogs: no credentials from the container credentials endpoint (HTTP %ld)",
					 code);
		a->ak = strdup(jak);
		a->sk = strdup(jsk);
		const char *jt = json_string_value(json_object_get(j, "Token"));
		a->st = jt ? strdup(jt) : NULL;
		const char *exp = json_string_value(json_object_get(j, "Expiration"));
		int64_t e = 0;
		if (exp && berth_time_parse(exp, &e) == 0)
			a->cred_expiry_ns = e;
		return 0;
	}
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	cleanup_free char *def = NULL;
	if (!file || !*file) {
		const char *home = getenv("HOME");
		def = berth_strdup_printf("%s/.aws/credentials", home && *home ? home : "/root");
		file = def;
	}
	const char *profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	cleanup_free char *text = NULL;
	struct berth_error rerr = {0};
	if (berth_read_file(file, &text, NULL, 1 << 20, &rerr) == 0) {
		a->ak = ini_value(text, profile, "aws_access_key_id");
		a->sk = ini_value(text, profile, "aws_secret_access_key");
		a->st = ini_value(text, profile, "aws_session_token");
		if (a->ak && a->sk)
			return 0;
		creds_clear(a);
	}
	return berth_err(err, BERTH_E_INTERNAL, "NoCredentialProviders: no valid providers in chain");
}

/* ---- requests ---- */

/* POST one API call. 0 and *out = the response object on 200; -1 with err
 * otherwise (kind INVALID for a refusal that retrying cannot fix). *type
 * gets the error's __type (caller frees) when there is one. */
static int call_raw(struct aws *a, const char *action, const char *payload, size_t plen, json_t **out, char **type,
		    struct berth_error *err)
{
	*out = NULL;
	if (type)
		*type = NULL;
	if (load_creds(a, err) < 0)
		return -1;
	char host[256];
	url_host(a->endpoint, host, sizeof(host));
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char amzdate[32], date[16];
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	char target[96];
	snprintf(target, sizeof(target), "Logs_20140328.%s", action);
	char phash[65];
	sha256_hex(payload, plen, phash);
	struct berth_buf cr = {0};
	berth_buf_printf(&cr, "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:%s\nx-amz-date:%s\n", host,
			 amzdate);
	if (a->st)
		berth_buf_printf(&cr, "x-amz-security-token:%s\n", a->st);
	const char *signed_h = a->st ? "content-type;host;x-amz-date;x-amz-security-token;x-amz-target" :
				       "content-type;host;x-amz-date;x-amz-target";
	berth_buf_printf(&cr, "x-amz-target:%s\n\n%s\n%s", target, signed_h, phash);
	char crhash[65];
	sha256_hex(cr.data, cr.len, crhash);
	berth_buf_free(&cr);
	char scope[128];
	snprintf(scope, sizeof(scope), "%s/%s/logs/aws4_request", date, a->region);
	cleanup_free char *sts = berth_strdup_printf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, crhash);
	cleanup_free char *k0 = berth_strdup_printf("AWS4%s", a->sk);
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	hmac(k0, strlen(k0), date, k1);
	memset(k0, 0, strlen(k0));
	hmac(k1, 32, a->region, k2);
	hmac(k2, 32, "logs", k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts, sig);
	char sighex[65];
	hex(sig, 32, sighex);
	struct curl_slist *h = NULL;
	char line[1024];
	h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.1");
	snprintf(line, sizeof(line), "X-Amz-Date: %s", amzdate);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Amz-Target: %s", target);
	h = curl_slist_append(h, line);
	if (a->st) {
		cleanup_free char *t = berth_strdup_printf("X-Amz-Security-Token: %s", a->st);
		h = curl_slist_append(h, t);
	}
	snprintf(line, sizeof(line), "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		 a->ak, scope, signed_h, sighex);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "Accept:");
	struct berth_buf resp = {0};
	cleanup_free char *url = berth_strdup_printf("%s/", a->endpoint);
	size_t ul = strlen(url);
	if (ul > 1 && url[ul - 2] == '/')
		url[ul - 1] = 0;
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)plen);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(a->curl, CURLOPT_USERAGENT, "berth-awslogs");
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &resp);
	CURLcode rc = curl_easy_perform(a->curl);
	curl_slist_free_all(h);
	long code = 0;
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) {
		berth_buf_free(&resp);
		return berth_err(err, BERTH_E_INTERNAL, "awslogs: %s: %s", action, curl_easy_strerror(rc));
	}
	json_t *j = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : json_object();
	berth_buf_free(&resp);
	if (code == 200) {
		*out = j ? j : json_object();
		return 0;
	}
	const char *t = json_string_value(json_object_get(j, "__type"));
	const char *m = json_string_value(json_object_get(j, "message"));
	if (!m)
		m = json_string_value(json_object_get(j, "Message"));
	if (t && strchr(t, '#'))
		t = strchr(t, '#') + 1;
	if (type && t)
		*type = strdup(t);
	bool retry = code >= 500 || code == 429 || (t && (strstr(t, "Throttling") || strstr(t, "ServiceUnavailable")));
	berth_err(err, retry ? BERTH_E_INTERNAL : BERTH_E_INVALID, "awslogs: %s: %s: %s (HTTP %ld)", action,
		  t ? t : "error", m ? m : "", code);
	*out = j;
	return -1;
}

static int call(struct aws *a, const char *action, json_t *body, json_t **out, char **type, struct berth_error *err)
{
	cleanup_free char *payload = json_dumps(body, JSON_COMPACT);
	if (!payload) {
		*out = NULL;
		if (type)
			*type = NULL;
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	return call_raw(a, action, payload, strlen(payload), out, type, err);
}

static int setup_stream(struct aws *a, struct berth_error *err)
{
	json_t *out;
	cleanup_free char *type = NULL;
	if (a->create_group) {
		cleanup_json json_t *b = json_pack("{s:s}", "logGroupName", a->group);
		int rc = call(a, "CreateLogGroup", b, &out, &type, err);
		json_decref(out);
		if (rc < 0 && !(type && !strcmp(type, "ResourceAlreadyExistsException")))
			return -1;
		free(type);
		type = NULL;
	}
	cleanup_json json_t *b = json_pack("{s:s, s:s}", "logGroupName", a->group, "logStreamName", a->stream);
	int rc = call(a, "CreateLogStream", b, &out, &type, err);
	json_decref(out);
	if (rc < 0 && !(type && !strcmp(type, "ResourceAlreadyExistsException")))
		return -1;
	berth_err_clear(err);
	a->ready = true;
	return 0;
}

static int cmp_event(const void *x, const void *y)
{
	const struct event *a = x, *b = y;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void drop_batch(struct aws *a)
{
	for (size_t i = 0; i < a->nev; i++)
		free(a->ev[i].msg);
	a->nev = 0;
	a->bytes = 0;
}

/* Send the batch. On a transient failure the batch stays for the retry. */
static int put_batch(struct aws *a, struct berth_error *err)
{
	if (!a->nev)
		return 0;
	if (!a->ready && setup_stream(a, err) < 0)
		return -1;
	qsort(a->ev, a->nev, sizeof(a->ev[0]), cmp_event);
	for (int attempt = 0; attempt < 3; attempt++) {
		/* the body is written by hand: up to 10,000 events a call, through
		 * jansson that was most of the driver's time */
		struct berth_buf b = {0};
		berth_buf_append(&b, "{\"logEvents\":[", 14);
		for (size_t i = 0; i < a->nev; i++) {
			berth_buf_append(&b, i ? ",{\"message\":" : "{\"message\":", i ? 12 : 11);
			berth_jsonw_go_str(&b, a->ev[i].msg, a->ev[i].len, 0);
			berth_buf_printf(&b, ",\"timestamp\":%lld}", (long long)a->ev[i].ts_ms);
		}
		berth_buf_append(&b, "],\"logGroupName\":", 17);
		berth_jsonw_go_str(&b, a->group, strlen(a->group), 0);
		berth_buf_append(&b, ",\"logStreamName\":", 17);
		berth_jsonw_go_str(&b, a->stream, strlen(a->stream), 0);
		if (a->token) {
			berth_buf_append(&b, ",\"sequenceToken\":", 17);
			berth_jsonw_go_str(&b, a->token, strlen(a->token), 0);
		}
		berth_buf_putc(&b, '}');
		json_t *out = NULL;
		cleanup_free char *type = NULL;
		int rc = call_raw(a, "PutLogEvents", berth_buf_str(&b), b.len, &out, &type, err);
		berth_buf_free(&b);
		const char *next = json_string_value(
			json_object_get(out, rc == 0 ? "nextSequenceToken" : "expectedSequenceToken"));
		if (next) {
			free(a->token);
			a->token = strdup(next);
		}
		json_decref(out);
		if (rc == 0) {
			drop_batch(a);
			return 0;
		}
		if (type && !strcmp(type, "DataAlreadyAcceptedException")) {
			drop_batch(a);
			berth_err_clear(err);
			return 0;
		}
		if (type && !strcmp(type, "InvalidSequenceTokenException") && next)
			continue;
		if (type && !strcmp(type, "ResourceNotFoundException"))
			a->ready = false; /* the stream is gone: make it again on the retry */
		if (err->kind == BERTH_E_INVALID)
			drop_batch(a); /* refused for good (credentials, ...): reported by the caller */
		return -1;
	}
	return -1;
}

static int add_event(struct aws *a, const char *msg, size_t len, int64_t ts_ms, struct berth_error *err)
{
	while (len) {
		size_t take = len > MAX_EVENT_BYTES ? MAX_EVENT_BYTES : len;
		if (a->nev == MAX_EVENTS || a->bytes + take + EVENT_OVERHEAD > MAX_BATCH_BYTES) {
			if (put_batch(a, err) < 0 && a->nev)
				return -1;
		}
		if (a->nev == a->cap) {
			size_t nc = a->cap ? a->cap * 2 : 64;
			struct event *ne = realloc(a->ev, nc * sizeof(*ne));
			if (!ne)
				return berth_err(err, BERTH_E_INTERNAL, "out of memory");
			a->ev = ne;
			a->cap = nc;
		}
		char *m = malloc(take + 1);
		if (!m)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		memcpy(m, msg, take);
		m[take] = 0;
		a->ev[a->nev++] = (struct event){.ts_ms = ts_ms, .seq = a->seq++, .msg = m, .len = take};
		a->bytes += take + EVENT_OVERHEAD;
		msg += take;
		len -= take;
	}
	return 0;
}

static int commit_pending(struct aws *a, struct berth_error *err)
{
	if (!a->have_pending)
		return 0;
	if (add_event(a, a->pending.data, a->pending.len, a->pending_ts_ms, err) < 0)
		return -1;
	a->pending.len = 0;
	a->have_pending = false;
	return 0;
}

static int aws_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct aws *a = (struct aws *)l;
	/* a batch that could not go earlier goes first (the thread retries this message) */
	if ((a->nev >= MAX_EVENTS || a->bytes + m->len + EVENT_OVERHEAD * 2 > MAX_BATCH_BYTES) &&
	    put_batch(a, err) < 0 && a->nev)
		return -1;
	int64_t ts_ms = (m->ts_ns ? m->ts_ns : berth_now_ns()) / 1000000;
	size_t len = m->len;
	if (len && m->line[len - 1] == '\n')
		len--;
	if (!len)
		return 0; /* docker skips empty messages */
	if (!a->have_re)
		return add_event(a, m->line, len, ts_ms, err);
	cleanup_free char *line = strndup(m->line, len);
	bool starts = !regexec(&a->re, line, 0, NULL, 0);
	if (a->have_pending && (starts || a->pending.len + len + 1 > MAX_EVENT_BYTES) && commit_pending(a, err) < 0)
		return -1;
	if (!a->have_pending) {
		a->have_pending = true;
		a->pending_ts_ms = ts_ms;
		a->pending_started_ns = berth_now_ns();
	}
	berth_buf_append(&a->pending, line, len);
	berth_buf_putc(&a->pending, '\n');
	return 0;
}

/* 0: all sent; 1: a multiline event is still being built (call again later). */
static int aws_flush(struct berth_logger *l, struct berth_error *err)
{
	struct aws *a = (struct aws *)l;
	if (a->have_pending && berth_now_ns() - a->pending_started_ns >= MULTILINE_AGE_NS && commit_pending(a, err) < 0)
		return -1;
	if (put_batch(a, err) < 0)
		return -1;
	return a->have_pending ? 1 : 0;
}

static void aws_close(struct berth_logger *l)
{
	struct aws *a = (struct aws *)l;
	if (a->curl) {
		struct berth_error err = {0};
		if (commit_pending(a, &err) == 0)
			put_batch(a, &err); /* best effort: the delivery thread reported earlier failures */
		curl_easy_cleanup(a->curl);
	}
	drop_batch(a);
	free(a->ev);
	berth_buf_free(&a->pending);
	if (a->have_re)
		regfree(&a->re);
	creds_clear(a);
	free(a->region);
	free(a->group);
	free(a->stream);
	free(a->endpoint);
	free(a->cred_endpoint);
	free(a->token);
	free(a);
}

static struct berth_logger *aws_open(const struct berth_log_info *info, struct berth_error *err)
{
	if (aws_validate(info->opts, err) < 0)
		return NULL;
	const char *region = berth_log_opt(info->opts, "awslogs-region");
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region) {
		berth_err(err, BERTH_E_INVALID,
			  "missing region; please configure the awslogs-region log option or the AWS_REGION "
			  "environment variable");
		return NULL;
	}
	struct aws *a = calloc(1, sizeof(*a));
	if (!a) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	a->base.drv = &berth_log_driver_awslogs;
	a->region = strdup(region);
	a->group = strdup(berth_log_opt(info->opts, "awslogs-group"));
	const char *stream = berth_log_opt(info->opts, "awslogs-stream"), *tag = berth_log_opt(info->opts, "tag");
	if (stream && *stream)
		a->stream = strdup(stream);
	else if (tag && *tag)
		a->stream = berth_log_tag(info, tag, err);
	else
		a->stream = strdup(info->container_id ? info->container_id : "");
	const char *ep = berth_log_opt(info->opts, "awslogs-endpoint");
	a->endpoint = ep && *ep ? strdup(ep) : berth_strdup_printf("https://logs.%s.amazonaws.com", region);
	size_t el = strlen(a->endpoint);
	while (el > 8 && a->endpoint[el - 1] == '/')
		a->endpoint[--el] = 0;
	const char *ce = berth_log_opt(info->opts, "awslogs-credentials-endpoint");
	a->cred_endpoint = ce && *ce ? strdup(ce) : NULL;
	a->create_group = berth_log_parse_bool(berth_log_opt(info->opts, "awslogs-create-group")) == 1;
	const char *mp = berth_log_opt(info->opts, "awslogs-multiline-pattern");
	const char *df = berth_log_opt(info->opts, "awslogs-datetime-format");
	cleanup_free char *dre = df ? datetime_to_regex(df) : NULL;
	if (mp || dre) {
		if (regcomp(&a->re, mp ? mp : dre, REG_EXTENDED | REG_NOSUB) == 0)
			a->have_re = true;
	}
	a->curl = curl_easy_init();
	if (!a->stream || !a->curl) {
		if (!a->curl)
			berth_err(err, BERTH_E_INTERNAL, "awslogs: cannot start libcurl");
		aws_close(&a->base);
		return NULL;
	}
	if (setup_stream(a, err) < 0) {
		aws_close(&a->base);
		return NULL;
	}
	return &a->base;
}

const struct berth_log_driver berth_log_driver_awslogs = {
	.name = "awslogs",
	.validate = aws_validate,
	.open = aws_open,
	.log = aws_log,
	.close = aws_close,
	.flush = aws_flush,
	.remote = true,
};
