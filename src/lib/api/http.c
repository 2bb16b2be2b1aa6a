#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/span.h"
#include "common/threads.h"
#include "tls.h"
#include "transport.h"

#define MAX_LISTENERS 8
#define MAX_MIDDLEWARE 4
#define RESP_CAPTURE_MAX (1024 * 1024) /* response bytes a middleware sees (docker's authz limit) */
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_HEADERS 100
#define MAX_URL_BYTES (16 * 1024)
#define INBUF_SIZE 65536
/* Thread stacks: handlers keep up to 128 KiB of buffers on the stack and
 * jansson parses nested bodies recursively; only touched pages cost RSS. */
#if defined(__SANITIZE_ADDRESS__)
#define CONN_STACK (4 * 1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONN_STACK (4 * 1024 * 1024)
#endif
#endif
#ifndef CONN_STACK
#define CONN_STACK (1024 * 1024)
#endif
/* A connection's thread waits this long for the next connection before it
 * ends (common/threads.h): a CLI's start after its create, the next client
 * of a burst. Well under the idle trim's 2 s. */
#define CONN_LINGER_MS 200

struct listener {
	int fd;
	char *unlink_path;
	struct berth_tls_server *tls; /* tcp listeners made after berth_http_server_set_tls */
};

struct berth_http_server {
	berth_http_handler handler;
	void *ctx;
	char *server_name;
	struct listener l[MAX_LISTENERS];
	int nl;
	int stop_pipe[2];
	pthread_t thread;
	bool started;
	atomic_int active;
	struct berth_http_limits lim;
	int spare_fd; /* kept open to accept-and-refuse at EMFILE */
	atomic_uint refused;
	_Atomic uint64_t accepted;
	struct berth_tls_server *tls;  /* borrowed */
	struct berth_threads *threads; /* the connections' */
	struct berth_http_middleware mw[MAX_MIDDLEWARE];
	int nmw;
};

enum body_state { BODY_NONE, BODY_READING, BODY_DONE };

struct berth_http_conn {
	struct berth_http_server *srv;
	int fd;                       /* the socket under tr, for poll */
	struct berth_transport tr;    /* all reads and writes */
	struct berth_tls_server *tls; /* handshake to do first, or NULL */
	http_parser parser;
	http_parser_settings settings;
	char *in;
	size_t in_off, in_len; /* unparsed bytes in[in_off .. in_off+in_len) */
	/* header parsing */
	struct berth_buf url, hfield, hvalue;
	bool last_was_value, headers_done, message_done;
	size_t header_bytes;
	struct berth_http_req req;
	/* body delivery */
	char *body_dst;
	size_t body_dst_len, body_got;
	struct berth_buf body_extra; /* body bytes that did not fit */
	size_t body_extra_off;
	/* response */
	bool responded, streaming, hijacked, broken, is_head;
	/* input state */
	bool rd_failed;         /* EOF, timeout or bad framing while a request was open: close after replying */
	const char *rd_error;   /* why */
	int hdr_status;         /* 431/414 when a header limit was hit, 400 for bad UTF-8 */
	bool req_started;       /* bytes of the current request arrived */
	int64_t phase_start_ms; /* idle start, or first byte of the request */
	/* middleware: per-request state, and the response as sent (status,
	 * header lines, first RESP_CAPTURE_MAX body bytes of a whole response);
	 * while hold is set a whole response is kept in held until the
	 * middleware has seen it */
	void *mw_state[MAX_MIDDLEWARE];
	bool hold;
	struct berth_buf held;
	int resp_status;
	struct berth_buf resp_head, resp_body;
};

/* ---------- parsing ---------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns -1 (parser error) past MAX_HEADERS: answered 431, never dropped. */
static int add_header(struct berth_http_conn *c)
{
	if (!c->hfield.len)
		return 0;
	if (c->req.nheaders >= MAX_HEADERS) {
		c->hdr_status = 431;
		return -1;
	}
	struct berth_kv *h = realloc(c->req.headers, (c->req.nheaders + 1) * sizeof(struct berth_kv));
	if (!h)
		return -1;
	c->req.headers = h;
	if (!c->hvalue.data && berth_buf_append(&c->hvalue, "", 0) < 0)
		return -1;
	h[c->req.nheaders].k = c->hfield.data;
	h[c->req.nheaders].v = c->hvalue.data;
	c->req.nheaders++;
	c->hfield = (struct berth_buf){0};
	c->hvalue = (struct berth_buf){0};
	return 0;
}

static int header_limit(struct berth_http_conn *c, size_t len, size_t max, int status)
{
	c->header_bytes += len;
	if (c->header_bytes > MAX_HEADER_BYTES || (max && c->url.len + len > max)) {
		c->hdr_status = status;
		return -1;
	}
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct berth_http_conn *c = p->data;
	if (header_limit(c, len, MAX_URL_BYTES, c->header_bytes + len > MAX_HEADER_BYTES ? 431 : 414) < 0)
		return -1;
	return berth_buf_append(&c->url, at, len);
}

static int on_hfield(http_parser *p, const char *at, size_t len)
{
	struct berth_http_conn *c = p->data;
	if (header_limit(c, len, 0, 431) < 0)
		return -1;
	if (c->last_was_value) {
		if (add_header(c) < 0)
			return -1;
		c->last_was_value = false;
	}
	return berth_buf_append(&c->hfield, at, len);
}

static int on_hvalue(http_parser *p, const char *at, size_t len)
{
	struct berth_http_conn *c = p->data;
	if (header_limit(c, len, 0, 431) < 0)
		return -1;
	c->last_was_value = true;
	return berth_buf_append(&c->hvalue, at, len);
}

static int on_headers_complete(http_parser *p)
{
	struct berth_http_conn *c = p->data;
	if (add_header(c) < 0)
		return -1;
	c->headers_done = true;
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct berth_http_conn *c = p->data;
	size_t room = c->body_dst_len - c->body_got;
	size_t n = len < room ? len : room;
	if (n) {
		memcpy(c->body_dst + c->body_got, at, n);
		c->body_got += n;
	}
	if (n < len && berth_buf_append(&c->body_extra, at + n, len - n) < 0)
		return -1;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct berth_http_conn *c = p->data;
	c->message_done = true;
	http_parser_pause(p, 1);
	return 0;
}

/* NULL on OOM or when the result holds a NUL byte. */
static char *url_decode(const char *s, size_t n, bool plus_space)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t len = berth_percent_decode(s, n, plus_space, out);
	if (memchr(out, '\0', len)) {
		free(out);
		return NULL;
	}
	return out;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int n;
		unsigned min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, min = 0x80, c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, min = 0x800, c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		p += n + 1;
	}
	return true;
}

/* 0, or an HTTP status to answer (400: not UTF-8 or a NUL byte, 500: OOM). */
static int parse_url(struct berth_http_conn *c)
{
	const char *u = berth_buf_str(&c->url);
	c->req.raw_path = strdup(u);
	if (!c->req.raw_path)
		return 500;
	const char *q = strchr(u, '?');
	size_t plen = q ? (size_t)(q - u) : strlen(u);
	c->req.path = url_decode(u, plen, false);
	if (!c->req.path || !utf8_valid(c->req.path))
		return 400;
	if (!q)
		return 0;
	const char *s = q + 1;
	while (*s) {
		const char *amp = strchr(s, '&');
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		if (len) {
			const char *eq = memchr(s, '=', len);
			size_t klen = eq ? (size_t)(eq - s) : len;
			struct berth_kv *nq = realloc(c->req.query, (c->req.nquery + 1) * sizeof(struct berth_kv));
			if (!nq)
				return 500;
			c->req.query = nq;
			struct berth_kv *kv = &nq[c->req.nquery++];
			kv->k = url_decode(s, klen, true);
			kv->v = eq ? url_decode(eq + 1, len - klen - 1, true) : strdup("");
			if (!kv->k || !kv->v || !utf8_valid(kv->k) || !utf8_valid(kv->v))
				return 400;
		}
		s += len;
		if (*s == '&')
			s++;
	}
	return 0;
}

static void req_reset(struct berth_http_conn *c)
{
	struct berth_http_req *r = &c->req;
	free(r->path);
	free(r->raw_path);
	for (size_t i = 0; i < r->nquery; i++) {
		free(r->query[i].k);
		free(r->query[i].v);
	}
	free(r->query);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].k);
		free(r->headers[i].v);
	}
	free(r->headers);
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	memset(r, 0, sizeof(*r));
	berth_buf_free(&c->url);
	berth_buf_free(&c->hfield);
	berth_buf_free(&c->hvalue);
	berth_buf_free(&c->body_extra);
	c->body_extra_off = 0;
	c->last_was_value = c->headers_done = c->message_done = false;
	c->header_bytes = 0;
	c->responded = c->streaming = c->is_head = false;
	c->hdr_status = 0;
	c->hold = false;
	berth_buf_free(&c->held);
	berth_buf_free(&c->resp_head);
	berth_buf_free(&c->resp_body);
	c->resp_status = 0;
	c->req_started = c->in_len > 0; /* pipelined bytes */
	c->phase_start_ms = now_ms();
	c->req.recv_ns = berth_mono_ns();
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
}

/* Wait for input: idle keep-alive timeout before a request's first byte,
 * the read timeout for the whole header block, and the read timeout
 * between two reads of a body (an upload that keeps sending is never cut).
 * Streams and hijacked connections never come here. 1 ready, 0 timeout. */
static int wait_input(struct berth_http_conn *c)
{
	const struct berth_http_limits *l = &c->srv->lim;
	int64_t deadline;
	if (c->headers_done)
		deadline = now_ms() + (int64_t)l->read_timeout_s * 1000;
	else if (c->req_started)
		deadline = c->phase_start_ms + (int64_t)l->read_timeout_s * 1000;
	else
		deadline = c->phase_start_ms + (int64_t)l->idle_timeout_s * 1000;
	for (;;) {
		if (berth_transport_pending(&c->tr))
			return 1;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1; /* let read() report it */
	}
}

/* Feed buffered input to the parser; read more from the socket when empty.
 * Returns 0 on progress, -1 on EOF/error/timeout (rd_error says which),
 * -2 on a parse error. */
static int feed(struct berth_http_conn *c)
{
	if (c->in_len == 0) {
		if (!wait_input(c)) {
			c->rd_error = "timeout reading request";
			return -1;
		}
		ssize_t n = berth_transport_read(&c->tr, c->in, INBUF_SIZE);
		if (n <= 0) {
			c->rd_error = n == 0 ? "unexpected EOF" : "read error";
			/* signal EOF to the parser (completes bodies without length) */
			http_parser_execute(&c->parser, &c->settings, NULL, 0);
			return -1;
		}
		c->in_off = 0;
		c->in_len = (size_t)n;
		if (!c->req_started && !c->headers_done) {
			c->req_started = true;
			c->phase_start_ms = now_ms();
			c->req.recv_ns = berth_mono_ns();
		}
	}
	if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED)
		http_parser_pause(&c->parser, 0);
	size_t used = http_parser_execute(&c->parser, &c->settings, c->in + c->in_off, c->in_len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
	if (e != HPE_OK && e != HPE_PAUSED) {
		c->rd_error = e == HPE_INVALID_CHUNK_SIZE     ? "malformed chunked encoding" :
			      e == HPE_INVALID_CONTENT_LENGTH ? "invalid Content-Length" :
								http_errno_description(e);
		return -2;
	}
	c->in_off += used;
	c->in_len -= used;
	return 0;
}

ssize_t berth_http_body_read(struct berth_http_conn *c, void *buf, size_t len)
{
	if (c->body_extra.len > c->body_extra_off) {
		size_t n = c->body_extra.len - c->body_extra_off;
		if (n > len)
			n = len;
		memcpy(buf, c->body_extra.data + c->body_extra_off, n);
		c->body_extra_off += n;
		if (c->body_extra_off == c->body_extra.len) {
			c->body_extra.len = 0;
			c->body_extra_off = 0;
		}
		return (ssize_t)n;
	}
	if (c->message_done || c->hijacked || !len)
		return 0;
	if (c->rd_failed) { /* already failed: no second wait for the timeout */
		errno = EPROTO;
		return -1;
	}
	c->body_dst = buf;
	c->body_dst_len = len;
	c->body_got = 0;
	while (c->body_got == 0 && !c->message_done) {
		if (feed(c) < 0) {
			if (c->message_done)
				break;
			/* short body, timeout or bad chunking: the handler can still
			 * answer (400); the connection closes after it */
			c->rd_failed = true;
			c->body_dst = NULL;
			errno = EPROTO;
			return -1;
		}
	}
	c->body_dst = NULL;
	return (ssize_t)c->body_got;
}

static ssize_t body_reader_read(void *ctx, void *buf, size_t len) { return berth_http_body_read(ctx, buf, len); }

struct berth_reader berth_http_body_reader(struct berth_http_conn *c)
{
	return (struct berth_reader){body_reader_read, c};
}

int berth_http_body_json(struct berth_http_conn *c, size_t max, json_t **out, struct berth_error *err)
{
	struct berth_buf b = {0};
	char tmp[16384];
	*out = NULL;
	for (;;) {
		ssize_t n = berth_http_body_read(c, tmp, sizeof(tmp));
		if (n < 0) {
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INVALID, "error reading request body: %s",
					 c->rd_error ? c->rd_error : "read error");
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INVALID, "request body too large");
		}
		if (berth_buf_append(&b, tmp, (size_t)n) < 0) {
			berth_buf_free(&b);
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
	}
	size_t i = 0;
	while (i < b.len && (b.data[i] == ' ' || b.data[i] == '\n' || b.data[i] == '\r' || b.data[i] == '\t'))
		i++;
	if (i == b.len) {
		berth_buf_free(&b);
		return 0;
	}
	json_error_t je;
	*out = json_loadb(b.data, b.len, 0, &je);
	berth_buf_free(&b);
	if (!*out)
		return berth_err(err, BERTH_E_INVALID, "invalid JSON: %s", je.text);
	return 0;
}

/* ---------- request accessors ---------- */

const char *berth_http_query(const struct berth_http_req *r, const char *name)
{
	for (size_t i = r->nquery; i-- > 0;)
		if (!strcmp(r->query[i].k, name))
			return r->query[i].v;
	return NULL;
}

bool berth_http_query_bool(const struct berth_http_req *r, const char *name, bool def)
{
	const char *v = berth_http_query(r, name);
	if (!v)
		return def;
	return !(!*v || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcasecmp(v, "none"));
}

int64_t berth_http_query_int(const struct berth_http_req *r, const char *name, int64_t def)
{
	const char *v = berth_http_query(r, name);
	if (!v || !*v)
		return def;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end ? def : n;
}

const char *berth_http_header(const struct berth_http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].k, name))
			return r->headers[i].v;
	return NULL;
}

json_t *berth_http_filters(const struct berth_http_req *r, struct berth_error *err)
{
	const char *f = berth_http_query(r, "filters");
	json_t *out = json_object();
	if (!f || !*f)
		return out;
	json_error_t je;
	cleanup_json json_t *in = json_loads(f, 0, &je);
	if (!in || !json_is_object(in)) {
		json_decref(out);
		berth_err(err, BERTH_E_INVALID, "invalid filter '%s'", f);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v) {
		json_t *arr = json_array();
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
				if (json_is_string(e))
					json_array_append(arr, e);
		} else if (json_is_object(v)) {
			const char *vk;
			json_t *vv;
			json_object_foreach(v, vk, vv)
				if (json_is_true(vv))
					json_array_append_new(arr, json_string(vk));
		} else if (json_is_string(v)) {
			json_array_append(arr, v);
		} else {
			json_decref(arr);
			json_decref(out);
			berth_err(err, BERTH_E_INVALID, "invalid filter '%s'", f);
			return NULL;
		}
		json_object_set_new(out, k, arr);
	}
	return out;
}

/* ---------- responses ---------- */

static const char *status_text(int s)
{
	switch (s) {
	case 101: return "UPGRADED";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Request Entity Too Large";
	case 414: return "Request URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

static void common_headers(struct berth_http_conn *c, struct berth_buf *h, int status)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	berth_buf_printf(h, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	berth_buf_printf(h,
			 "Api-Version: " BERTH_API_VERSION "\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
			 "Server: %s\r\nDate: %s\r\n",
			 c->srv->server_name, date);
}

static int send_buf(struct berth_http_conn *c, const void *d, size_t n)
{
	if (c->broken)
		return -1;
	if (berth_transport_write_all(&c->tr, d, n) < 0) {
		c->broken = true;
		return -1;
	}
	return 0;
}

/* Remember what goes out (for middleware): h holds the status line and
 * header lines up to, not including, the blank line. */
static void capture(struct berth_http_conn *c, int status, const struct berth_buf *h, const void *body, size_t len)
{
	if (!c->srv->nmw)
		return;
	c->resp_status = status;
	berth_buf_free(&c->resp_head);
	berth_buf_free(&c->resp_body);
	const char *eol = h->data ? memchr(h->data, '\n', h->len) : NULL;
	if (eol)
		berth_buf_append(&c->resp_head, eol + 1, h->len - (size_t)(eol + 1 - h->data));
	if (body && len && len <= RESP_CAPTURE_MAX)
		berth_buf_append(&c->resp_body, body, len);
}

int berth_http_respond(struct berth_http_conn *c, int status, const char *ctype, const void *body, size_t len)
{
	return berth_http_respond_ex(c, status, ctype, NULL, body, len);
}

int berth_http_respond_ex(struct berth_http_conn *c, int status, const char *ctype, const char *extra_headers,
			  const void *body, size_t len)
{
	if (c->responded)
		return -1;
	c->responded = true;
	struct berth_buf h = {0};
	common_headers(c, &h, status);
	if (extra_headers)
		berth_buf_printf(&h, "%s", extra_headers);
	if (ctype)
		berth_buf_printf(&h, "Content-Type: %s\r\n", ctype);
	if (status != 204 && status != 304)
		berth_buf_printf(&h, "Content-Length: %zu\r\n", len);
	if (!c->req.keep_alive || c->rd_failed)
		berth_buf_printf(&h, "Connection: close\r\n");
	capture(c, status, &h, body, len);
	berth_buf_append(&h, "\r\n", 2);
	if (body && len && !c->is_head && status != 204 && status != 304)
		berth_buf_append(&h, body, len);
	if (!h.data) {
		c->broken = true; /* out of memory: nothing sensible to send */
		return -1;
	}
	if (c->hold) { /* a middleware sees it first */
		berth_buf_free(&c->held);
		c->held = h;
		return 0;
	}
	int r = send_buf(c, h.data, h.len);
	berth_buf_free(&h);
	return r;
}

int berth_http_respond_json(struct berth_http_conn *c, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return berth_http_respond(c, 500, "application/json", "{\"message\":\"out of memory\"}\n", 27);
	struct berth_buf b = {0};
	int pr = berth_buf_printf(&b, "%s\n", s);
	free(s);
	if (pr < 0 || !b.data) {
		berth_buf_free(&b);
		return berth_http_respond(c, 500, "application/json", "{\"message\":\"out of memory\"}\n", 27);
	}
	int r = berth_http_respond(c, status, "application/json", b.data, b.len);
	berth_buf_free(&b);
	return r;
}

/* Replace bytes that are not UTF-8 (a name from the request echoed in a
 * message) with '?', so the JSON encoder never fails on them. */
static void utf8_scrub(char *s)
{
	while (*s) {
		unsigned char ch = (unsigned char)*s;
		int n = ch < 0x80           ? 0 :
			(ch & 0xE0) == 0xC0 ? 1 :
			(ch & 0xF0) == 0xE0 ? 2 :
			(ch & 0xF8) == 0xF0 ? 3 :
					      -1;
		bool ok = n >= 0;
		for (int i = 1; ok && i <= n; i++)
			ok = ((unsigned char)s[i] & 0xC0) == 0x80;
		if (ok && n > 0) {
			char tmp[5] = {0};
			memcpy(tmp, s, (size_t)n + 1);
			ok = utf8_valid(tmp);
		}
		if (!ok) {
			*s++ = '?';
			continue;
		}
		s += n + 1;
	}
}

int berth_http_respond_error(struct berth_http_conn *c, const struct berth_error *err)
{
	int status = berth_err_http_status(err->kind);
	if (status == 200)
		status = 500;
	if (c->streaming) {
		/* already streaming: report in-band as docker does for progress streams */
		char m[sizeof(err->msg)];
		snprintf(m, sizeof(m), "%s", err->msg);
		utf8_scrub(m);
		json_t *j = json_pack("{s:s, s:{s:s}}", "error", m, "errorDetail", "message", m);
		berth_http_stream_json(c, j);
		json_decref(j);
		return -1;
	}
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	utf8_scrub(msg);
	return berth_http_respond_json(c, status, json_pack("{s:s}", "message", msg));
}

int berth_http_respond_msg(struct berth_http_conn *c, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	return berth_http_respond_json(c, status, json_pack("{s:s}", "message", msg));
}

int berth_http_respond_empty(struct berth_http_conn *c, int status)
{
	return berth_http_respond(c, status, NULL, NULL, 0);
}

int berth_http_stream_begin(struct berth_http_conn *c, int status, const char *ctype)
{
	return berth_http_stream_begin_ex(c, status, ctype, NULL);
}

int berth_http_stream_begin_ex(struct berth_http_conn *c, int status, const char *ctype, const char *extra_headers)
{
	if (c->responded)
		return -1;
	c->responded = c->streaming = true;
	struct berth_buf h = {0};
	common_headers(c, &h, status);
	if (extra_headers)
		berth_buf_printf(&h, "%s", extra_headers);
	if (ctype)
		berth_buf_printf(&h, "Content-Type: %s\r\n", ctype);
	capture(c, status, &h, NULL, 0);
	if (berth_buf_printf(&h, "Transfer-Encoding: chunked\r\n\r\n") < 0 || !h.data) {
		berth_buf_free(&h);
		c->broken = true; /* out of memory */
		return -1;
	}
	int r = send_buf(c, h.data, h.len);
	berth_buf_free(&h);
	return r;
}

int berth_http_stream_write(struct berth_http_conn *c, const void *data, size_t len)
{
	if (!len)
		return 0;
	char head[32];
	int n = snprintf(head, sizeof(head), "%zx\r\n", len);
	if (send_buf(c, head, (size_t)n) < 0 || send_buf(c, data, len) < 0 || send_buf(c, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int berth_http_stream_json(struct berth_http_conn *c, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return -1;
	struct berth_buf b = {0};
	berth_buf_printf(&b, "%s\r\n", s);
	free(s);
	int r = berth_http_stream_write(c, b.data, b.len);
	berth_buf_free(&b);
	return r;
}

int berth_http_stream_end(struct berth_http_conn *c)
{
	if (!c->streaming)
		return 0;
	c->streaming = false;
	return send_buf(c, "0\r\n\r\n", 5);
}

static int stream_writer_write(void *ctx, const void *buf, size_t len)
{
	return berth_http_stream_write(ctx, buf, len);
}

struct berth_writer berth_http_stream_writer(struct berth_http_conn *c)
{
	return (struct berth_writer){stream_writer_write, c};
}

int berth_http_hijack(struct berth_http_conn *c, const char *ctype, const void **pending, size_t *npending)
{
	if (c->responded)
		return -1;
	c->responded = c->hijacked = true;
	struct berth_buf h = {0};
	bool up = c->req.upgrade;
	common_headers(c, &h, up ? 101 : 200);
	berth_buf_printf(&h, "Content-Type: %s\r\n", ctype ? ctype : "application/vnd.docker.raw-stream");
	if (up)
		berth_buf_printf(&h, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
	capture(c, up ? 101 : 200, &h, NULL, 0);
	if (berth_buf_append(&h, "\r\n", 2) < 0) {
		berth_buf_free(&h);
		c->broken = true; /* out of memory */
		return -1;
	}
	int r = send_buf(c, h.data, h.len);
	berth_buf_free(&h);
	/* Body bytes already parsed plus raw bytes not yet parsed. */
	if (c->in_len && berth_buf_append(&c->body_extra, c->in + c->in_off, c->in_len) < 0)
		r = -1;
	c->in_len = 0;
	if (pending)
		*pending = c->body_extra.data ? c->body_extra.data + c->body_extra_off : NULL;
	if (npending)
		*npending = c->body_extra.len - c->body_extra_off;
	if (r < 0)
		return -1;
	if (c->tr.ops && strcmp(c->tr.ops->name, "plain")) {
		/* TLS: the handler gets a plain socket; a pump thread carries
		 * its bytes through the session (close_notify <-> SHUT_WR) */
		struct berth_transport old = c->tr;
		int fd = berth_transport_detach(&c->tr, NULL);
		if (fd < 0) {
			c->tr = old;
			c->broken = true;
			return -1;
		}
		berth_transport_plain(&c->tr, fd);
		snprintf(c->tr.peer_user, sizeof(c->tr.peer_user), "%s", old.peer_user);
		c->tr.authn_method = old.authn_method;
		c->fd = fd;
	}
	return c->fd;
}

const char *berth_http_peer_user(struct berth_http_conn *c) { return c->tr.peer_user; }

const char *berth_http_peer_authn(struct berth_http_conn *c) { return c->tr.authn_method ? c->tr.authn_method : ""; }

int berth_http_fd(struct berth_http_conn *c) { return c->fd; }

bool berth_http_peer_gone(struct berth_http_conn *c)
{
	if (c->broken)
		return true;
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return true;
	return false;
}

bool berth_http_responded(struct berth_http_conn *c) { return c->responded; }

/* ---------- connection loop ---------- */

/* A reply on a connection that has no parsed request (limits, bad syntax). */
static void send_plain_error(struct berth_http_conn *c, int status, const char *msg)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n{\"message\":\"%s\"}\n",
			 status, status_text(status), strlen(msg) + 15, msg);
	if (n > 0 && (size_t)n < sizeof(buf))
		send_buf(c, buf, (size_t)n);
}

static void *conn_main(void *arg)
{
	struct berth_http_conn *c = arg;
	struct berth_http_server *s = c->srv;
	if (c->tls) {
		struct berth_error err = {0};
		if (berth_tls_server_wrap(c->tls, c->fd, s->lim.read_timeout_s * 1000, &c->tr, &err) < 0)
			goto out; /* bad or missing client certificate, not TLS, timeout */
	}
	for (;;) {
		req_reset(c);
		/* read headers */
		while (!c->headers_done) {
			int fr = feed(c);
			if (fr == -2) {
				if (c->hdr_status == 431)
					send_plain_error(c, 431, "request header fields too large");
				else if (c->hdr_status == 414)
					send_plain_error(c, 414, "request URI too long");
				else
					send_plain_error(c, 400, "bad request");
			} else if (fr == -1 && c->req_started && c->rd_error && !strncmp(c->rd_error, "timeout", 7)) {
				send_plain_error(c, 408, "timeout reading request headers");
			}
			if (fr < 0)
				goto out;
		}
		int ur = parse_url(c);
		if (ur) {
			send_plain_error(c, ur,
					 ur == 400 ?
						 "invalid request path or query: not valid UTF-8 or holds a NUL byte" :
						 "out of memory");
			goto out;
		}
		snprintf(c->req.method, sizeof(c->req.method), "%s", http_method_str(c->parser.method));
		c->req.keep_alive = http_should_keep_alive(&c->parser);
		c->req.upgrade = c->parser.upgrade;
		const char *conn_h = berth_http_header(&c->req, "Connection");
		if (conn_h && strcasestr(conn_h, "upgrade"))
			c->req.upgrade = true;
		c->req.has_body = c->parser.content_length > 0 && c->parser.content_length != ULLONG_MAX;
		if (c->parser.flags & F_CHUNKED)
			c->req.has_body = true;
		if (!c->req.has_body && c->in_len > 0)
			feed(c); /* consumes the header's final LF and completes the message */
		c->is_head = !strcmp(c->req.method, "HEAD");
		int ran = 0;
		bool go = true;
		for (; go && ran < s->nmw; ran++) {
			c->mw_state[ran] = NULL;
			go = s->mw[ran].before(s->mw[ran].ctx, &c->req, c, &c->mw_state[ran]);
			if (c->mw_state[ran])
				c->hold = true;
		}
		if (go)
			s->handler(s->ctx, &c->req, c);
		if (!c->responded)
			berth_http_respond_msg(c, 500, "handler did not respond");
		for (int i = ran; i-- > 0;) { /* a stopped request: after() only frees its state */
			s->mw[i].after(s->mw[i].ctx, go ? &c->req : NULL, c, c->mw_state[i]);
			c->mw_state[i] = NULL;
		}
		c->hold = false;
		if (c->held.len) {
			send_buf(c, c->held.data, c->held.len);
			berth_buf_free(&c->held);
		}
		if (c->streaming)
			berth_http_stream_end(c);
		if (c->hijacked || c->broken || c->rd_failed || !c->req.keep_alive)
			break;
		/* drain the rest of the body so the next request parses (bounded by
		 * the read timeout) */
		char tmp[8192];
		while (!c->message_done) {
			ssize_t n = berth_http_body_read(c, tmp, sizeof(tmp));
			if (n < 0)
				goto out;
			if (n == 0)
				break;
		}
		if (!c->message_done) {
			/* message still running; parse past it */
			while (!c->message_done)
				if (feed(c) < 0)
					goto out;
		}
	}
out:
	req_reset(c);
	berth_transport_close(&c->tr);
	berth_buf_free(&c->held);
	berth_buf_free(&c->resp_head);
	berth_buf_free(&c->resp_body);
	free(c->in);
	berth_buf_free(&c->body_extra);
	free(c);
	atomic_fetch_sub(&s->active, 1);
	return NULL;
}

/* a connection's own thread */
static void conn_thread(void *arg) { conn_main(arg); }

static struct berth_http_conn *conn_new(struct berth_http_server *s, int fd, struct berth_tls_server *tls)
{
	struct berth_http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->in = malloc(INBUF_SIZE);
	if (!c->in) {
		free(c);
		return NULL;
	}
	c->srv = s;
	c->fd = fd;
	c->tls = tls;
	berth_transport_plain(&c->tr, fd);
	c->settings = (http_parser_settings){.on_url = on_url,
					     .on_header_field = on_hfield,
					     .on_header_value = on_hvalue,
					     .on_headers_complete = on_headers_complete,
					     .on_body = on_body,
					     .on_message_complete = on_message_complete};
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void berth_http_serve_fd(struct berth_http_server *s, int fd)
{
	struct berth_http_conn *c = conn_new(s, fd, NULL);
	if (!c) {
		close(fd);
		return;
	}
	atomic_fetch_add(&s->active, 1);
	conn_main(c);
}

/* Over the cap (or out of fds/threads): answer 503 at once and close, from
 * the accept thread, without blocking it. */
static void refuse(struct berth_http_server *s, int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
				  "Content-Length: 46\r\nConnection: close\r\n\r\n"
				  "{\"message\":\"too many connections, try again\"}\n";
	atomic_fetch_add(&s->refused, 1);
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	char tmp[4096]; /* unread request bytes would turn close() into a TCP reset */
	for (int i = 0; i < 16 && read(fd, tmp, sizeof(tmp)) > 0; i++)
		;
	if (write(fd, msg, sizeof(msg) - 1) < 0) {
		/* the client is gone or its buffer is full: nothing to do */
	}
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* Sleep up to ms, or until stop is requested; true when stopping. */
static bool backoff(struct berth_http_server *s, int ms)
{
	struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
	return poll(&p, 1, ms) > 0;
}

static void *accept_main(void *arg)
{
	struct berth_http_server *s = arg;
	struct pollfd pf[MAX_LISTENERS + 1];
	int delay = 0;
	for (;;) {
		for (int i = 0; i < s->nl; i++)
			pf[i] = (struct pollfd){.fd = s->l[i].fd, .events = POLLIN};
		pf[s->nl] = (struct pollfd){.fd = s->stop_pipe[0], .events = POLLIN};
		if (poll(pf, (nfds_t)s->nl + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[s->nl].revents)
			break;
		for (int i = 0; i < s->nl; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			int fd = accept4(s->l[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				int e = errno;
				if (e == EMFILE || e == ENFILE) {
					/* use the spare fd to tell one client and drain the
					 * queue slowly instead of spinning on a ready listener */
					if (s->spare_fd >= 0) {
						close(s->spare_fd);
						s->spare_fd = -1;
						fd = accept4(s->l[i].fd, NULL, NULL, SOCK_CLOEXEC);
						if (fd >= 0)
							refuse(s, fd);
						s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
					}
				}
				if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
					/* Go's net/http: 5 ms doubling to 1 s */
					delay = delay ? (delay * 2 > 1000 ? 1000 : delay * 2) : 5;
					if (backoff(s, delay))
						return NULL;
				}
				continue;
			}
			delay = 0;
			if (atomic_load(&s->active) >= s->lim.max_conns) {
				refuse(s, fd);
				continue;
			}
			struct berth_http_conn *c = conn_new(s, fd, s->l[i].tls);
			if (!c) {
				refuse(s, fd);
				continue;
			}
			atomic_fetch_add(&s->active, 1);
			atomic_fetch_add(&s->accepted, 1);
			if (berth_threads_spawn(s->threads, conn_thread, c) != 0) {
				free(c->in);
				free(c);
				atomic_fetch_sub(&s->active, 1);
				refuse(s, fd);
			}
		}
	}
	return NULL;
}

void berth_http_default_limits(struct berth_http_limits *l)
{
	struct rlimit rl;
	int max = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* each connection may hold a few more fds (attach: shim sockets) */
		rlim_t room = rl.rlim_cur > 256 ? (rl.rlim_cur - 256) / 2 : 16;
		if (room < (rlim_t)max)
			max = room < 16 ? 16 : (int)room;
	}
	*l = (struct berth_http_limits){.max_conns = max, .idle_timeout_s = 180, .read_timeout_s = 120};
}

void berth_http_server_set_limits(struct berth_http_server *s, const struct berth_http_limits *l)
{
	struct berth_http_limits d;
	berth_http_default_limits(&d);
	s->lim = *l;
	if (s->lim.max_conns <= 0)
		s->lim.max_conns = d.max_conns;
	if (s->lim.idle_timeout_s <= 0)
		s->lim.idle_timeout_s = d.idle_timeout_s;
	if (s->lim.read_timeout_s <= 0)
		s->lim.read_timeout_s = d.read_timeout_s;
}

const struct berth_http_limits *berth_http_server_limits(struct berth_http_server *s) { return &s->lim; }

unsigned berth_http_server_refused(struct berth_http_server *s) { return atomic_load(&s->refused); }

uint64_t berth_http_server_accepted(struct berth_http_server *s) { return atomic_load(&s->accepted); }

struct berth_http_server *berth_http_server_new(berth_http_handler handler, void *ctx, const char *server_name)
{
	struct berth_http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->handler = handler;
	s->ctx = ctx;
	s->server_name = strdup(server_name);
	if (!s->server_name) {
		free(s);
		return NULL;
	}
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->threads = berth_threads_new(CONN_STACK);
	if (!s->threads) {
		free(s->server_name);
		free(s);
		return NULL;
	}
	berth_threads_set_linger(s->threads, CONN_LINGER_MS);
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	berth_http_default_limits(&s->lim);
	return s;
}

static int listen_unix(struct berth_http_server *s, const char *path, struct berth_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return berth_err(err, BERTH_E_INVALID, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	cleanup_free char *dir = strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (berth_mkdir_p(dir, 0755, err) < 0)
			return -1;
	}
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		close(fd);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "listen on %s", path);
	}
	chmod(path, 0660);
	s->l[s->nl].fd = fd;
	s->l[s->nl].unlink_path = strdup(path);
	s->nl++;
	return 0;
}

static int listen_tcp(struct berth_http_server *s, const char *hostport, struct berth_error *err)
{
	cleanup_free char *hp = strdup(hostport);
	char *colon = strrchr(hp, ':');
	if (!colon)
		return berth_err(err, BERTH_E_INVALID, "invalid tcp address %s: missing port", hostport);
	*colon = '\0';
	const char *host = hp;
	if (*host == '[') {
		host++;
		hp[strlen(hp) - 1] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai) != 0 || !ai)
		return berth_err(err, BERTH_E_INVALID, "invalid tcp address %s", hostport);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "listen on tcp://%s", hostport);
	}
	freeaddrinfo(ai);
	s->l[s->nl].tls = s->tls;
	s->l[s->nl++].fd = fd;
	return 0;
}

void berth_http_server_set_tls(struct berth_http_server *s, struct berth_tls_server *tls) { s->tls = tls; }

int berth_http_server_use(struct berth_http_server *s, const struct berth_http_middleware *m)
{
	if (s->nmw >= MAX_MIDDLEWARE)
		return -1;
	s->mw[s->nmw++] = *m;
	return 0;
}

int64_t berth_http_content_length(struct berth_http_conn *c)
{
	if (c->parser.flags & F_CHUNKED)
		return -1;
	return c->req.has_body ? (int64_t)c->parser.content_length : 0;
}

int berth_http_body_peek(struct berth_http_conn *c, size_t max, struct berth_buf *out)
{
	char tmp[16384];
	int whole = 1;
	for (;;) {
		ssize_t n = berth_http_body_read(c, tmp, sizeof(tmp));
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (berth_buf_append(out, tmp, (size_t)n) < 0)
			return -1;
		if (out->len > max) {
			whole = 0;
			break;
		}
	}
	/* put it back in front of what is still unread */
	struct berth_buf rest = {0};
	if (berth_buf_append(&rest, out->data ? out->data : "", out->len) < 0 ||
	    (c->body_extra.len > c->body_extra_off && berth_buf_append(&rest, c->body_extra.data + c->body_extra_off,
								       c->body_extra.len - c->body_extra_off) < 0)) {
		berth_buf_free(&rest);
		return -1;
	}
	berth_buf_free(&c->body_extra);
	c->body_extra = rest;
	c->body_extra_off = 0;
	return whole;
}

int berth_http_response_status(struct berth_http_conn *c) { return c->resp_status; }

const char *berth_http_response_headers(struct berth_http_conn *c)
{
	return c->resp_head.data ? c->resp_head.data : "";
}

const void *berth_http_response_body(struct berth_http_conn *c, size_t *len)
{
	*len = c->resp_body.len;
	return c->resp_body.data;
}

int berth_http_response_replace(struct berth_http_conn *c, int status, const char *msg)
{
	if (c->streaming || c->hijacked || !c->responded || !c->held.len)
		return -1; /* already on the wire */
	berth_buf_free(&c->held);
	c->responded = false;
	bool hold = c->hold;
	c->hold = false;
	int r = berth_http_respond_msg(c, status, "%s", msg);
	c->hold = hold;
	return r;
}

static int listen_fd(struct berth_http_server *s, const char *spec, struct berth_error *err)
{
	const char *lfds = getenv("LISTEN_FDS");
	const char *lpid = getenv("LISTEN_PID");
	if (!lfds || (lpid && atoi(lpid) != getpid()))
		return berth_err(
			err, BERTH_E_INVALID,
			"no sockets found via socket activation: make sure the service was started by systemd");
	int n = atoi(lfds);
	if (*spec) {
		int want = atoi(spec);
		if (want < 3 || want >= 3 + n)
			return berth_err(err, BERTH_E_INVALID, "too few socket activated files passed in by systemd");
		s->l[s->nl++].fd = want;
		return 0;
	}
	for (int i = 0; i < n && s->nl < MAX_LISTENERS; i++) {
		fcntl(3 + i, F_SETFD, FD_CLOEXEC);
		s->l[s->nl++].fd = 3 + i;
	}
	return 0;
}

int berth_http_server_listen(struct berth_http_server *s, const char *addr, struct berth_error *err)
{
	if (s->nl >= MAX_LISTENERS)
		return berth_err(err, BERTH_E_INVALID, "too many listeners");
	if (berth_str_has_prefix(addr, "unix://"))
		return listen_unix(s, addr + 7, err);
	if (addr[0] == '/')
		return listen_unix(s, addr, err);
	if (berth_str_has_prefix(addr, "tcp://"))
		return listen_tcp(s, addr + 6, err);
	if (berth_str_has_prefix(addr, "fd://"))
		return listen_fd(s, addr + 5, err);
	return berth_err(err, BERTH_E_INVALID, "Invalid bind address format: %s", addr);
}

int berth_http_server_start(struct berth_http_server *s, struct berth_error *err)
{
	if (pipe2(s->stop_pipe, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	if (pthread_create(&s->thread, NULL, accept_main, s) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "cannot start accept thread");
	s->started = true;
	return 0;
}

void berth_http_server_stop(struct berth_http_server *s)
{
	if (s->started) {
		if (write(s->stop_pipe[1], "x", 1) < 0) {
			/* nothing to do */
		}
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	for (int i = 0; i < s->nl; i++) {
		close(s->l[i].fd);
		if (s->l[i].unlink_path) {
			unlink(s->l[i].unlink_path);
			free(s->l[i].unlink_path);
		}
	}
	s->nl = 0;
}

void berth_http_server_free(struct berth_http_server *s)
{
	if (!s)
		return;
	berth_http_server_stop(s);
	/* connection threads are detached and decrement s->active as their last
	 * act: a connection that has just sent its reply may still be on its way
	 * out, so wait (bounded) rather than free under it */
	for (int i = 0; i < 500 && atomic_load(&s->active) > 0; i++)
		usleep(10000);
	/* joined once all are out; one still stuck in its connection keeps its
	 * stack (the process is ending) */
	if (atomic_load(&s->active) == 0)
		berth_threads_free(s->threads);
	if (s->stop_pipe[0] >= 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s->server_name);
	free(s);
}

int berth_http_server_active(struct berth_http_server *s) { return atomic_load(&s->active); }
