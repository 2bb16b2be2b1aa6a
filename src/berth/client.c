#include "client.h"

#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tls.h"

int berth_client_init(struct berth_client *cl, const char *host)
{
	if (!host || !*host)
		host = getenv("BERTH_HOST");
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///run/berth/berth.sock";
	cl->host = strdup(host);
	cl->api = strdup("/v1.41");
	return 0;
}

void berth_client_free(struct berth_client *cl)
{
	free(cl->host);
	free(cl->api);
	berth_client_tls_free(cl);
}

void berth_response_free(struct berth_response *r)
{
	berth_buf_free(&r->body);
	free(r->content_type);
	free(r->api_version);
	free(r->path_stat);
	memset(r, 0, sizeof(*r));
}

char *berth_urlencode(const char *s)
{
	struct berth_buf b = {0};
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~')
			berth_buf_putc(&b, (char)*p);
		else
			berth_buf_printf(&b, "%%%02X", *p);
	}
	return berth_buf_steal(&b);
}

int berth_client_dial(struct berth_client *cl, struct berth_error *err)
{
	const char *h = cl->host;
	if (berth_str_has_prefix(h, "unix://") || h[0] == '/') {
		const char *path = h[0] == '/' ? h : h + 7;
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (fd >= 0)
				close(fd);
			return berth_err(err, BERTH_E_UNAVAILABLE,
					 "Cannot connect to the Docker daemon at %s. Is the docker daemon running?", h);
		}
		return fd;
	}
	if (berth_str_has_prefix(h, "tcp://") || berth_str_has_prefix(h, "https://")) {
		cleanup_free char *hp = strdup(h + (h[0] == 't' ? 6 : 8));
		char *slash = strchr(hp, '/');
		if (slash)
			*slash = '\0';
		char *colon = strrchr(hp, ':');
		if (colon && strchr(colon, ']'))
			colon = NULL; /* [v6addr] without a port */
		const char *port = colon ? colon + 1 : cl->ssl_ctx ? "2376" : "2375";
		if (colon)
			*colon = '\0';
		if (hp[0] == '[') {
			memmove(hp, hp + 1, strlen(hp));
			char *rb = strchr(hp, ']');
			if (rb)
				*rb = '\0';
		}
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		if (getaddrinfo(hp, port, &hints, &ai) != 0 || !ai)
			return berth_err(err, BERTH_E_UNAVAILABLE, "Cannot connect to the Docker daemon at %s", h);
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (fd >= 0)
				close(fd);
			freeaddrinfo(ai);
			return berth_err(err, BERTH_E_UNAVAILABLE,
					 "Cannot connect to the Docker daemon at %s. Is the docker daemon running?", h);
		}
		freeaddrinfo(ai);
		if (cl->ssl_ctx) {
			int tfd = berth_client_tls_wrap(cl, fd, hp, err);
			if (tfd < 0)
				close(fd);
			return tfd;
		}
		return fd;
	}
	return berth_err(err, BERTH_E_INVALID, "unable to parse docker host `%s`", h);
}

struct parse_state {
	struct berth_response *resp;
	berth_client_data_cb on_data;
	void *ctx;
	struct berth_buf field, value;
	bool last_value, done, headers_done, stop;
	bool head; /* a HEAD request: the response has no body */
};

static void take_header(struct parse_state *ps)
{
	if (!ps->field.len)
		return;
	const char *f = berth_buf_str(&ps->field);
	if (!strcasecmp(f, "Content-Type"))
		ps->resp->content_type = strdup(berth_buf_str(&ps->value));
	else if (!strcasecmp(f, "Api-Version"))
		ps->resp->api_version = strdup(berth_buf_str(&ps->value));
	else if (!strcasecmp(f, "X-Docker-Container-Path-Stat"))
		ps->resp->path_stat = strdup(berth_buf_str(&ps->value));
	berth_buf_free(&ps->field);
	berth_buf_free(&ps->value);
}

static int p_field(http_parser *p, const char *at, size_t len)
{
	struct parse_state *ps = p->data;
	if (ps->last_value) {
		take_header(ps);
		ps->last_value = false;
	}
	return berth_buf_append(&ps->field, at, len);
}

static int p_value(http_parser *p, const char *at, size_t len)
{
	struct parse_state *ps = p->data;
	ps->last_value = true;
	return berth_buf_append(&ps->value, at, len);
}

static int p_headers(http_parser *p)
{
	struct parse_state *ps = p->data;
	take_header(ps);
	ps->resp->status = p->status_code;
	ps->headers_done = true;
	/* errors are always buffered so their message can be read */
	if (p->status_code >= 300)
		ps->on_data = NULL;
	return ps->head ? 1 : 0; /* 1: no body follows */
}

static int p_body(http_parser *p, const char *at, size_t len)
{
	struct parse_state *ps = p->data;
	if (ps->on_data) {
		if (ps->on_data(ps->ctx, at, len) < 0) {
			ps->stop = true;
			return -1;
		}
		return 0;
	}
	return berth_buf_append(&ps->resp->body, at, len);
}

static int p_done(http_parser *p)
{
	struct parse_state *ps = p->data;
	ps->done = true;
	return 0;
}

static int send_request(int fd, struct berth_client *cl, const char *method, const char *path, const char *body,
			size_t blen, bool chunked, const char *ctype, bool upgrade)
{
	struct berth_buf h = {0};
	berth_buf_printf(&h, "%s %s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: Berth-Client/" BERTH_VERSION "\r\n",
			 method, cl->api, path);
	if (ctype)
		berth_buf_printf(&h, "Content-Type: %s\r\n", ctype);
	if (cl->registry_auth)
		berth_buf_printf(&h, "X-Registry-Auth: %s\r\n", cl->registry_auth);
	if (cl->registry_config)
		berth_buf_printf(&h, "X-Registry-Config: %s\r\n", cl->registry_config);
	if (chunked)
		berth_buf_printf(&h, "Transfer-Encoding: chunked\r\n");
	else if (body || !strcmp(method, "POST") || !strcmp(method, "PUT"))
		berth_buf_printf(&h, "Content-Length: %zu\r\n", blen);
	if (upgrade)
		berth_buf_printf(&h, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
	berth_buf_append(&h, "\r\n", 2);
	if (body && blen)
		berth_buf_append(&h, body, blen);
	int r = berth_write_all(fd, h.data, h.len);
	berth_buf_free(&h);
	return r;
}

static int send_stream(int fd, struct berth_reader *in)
{
	char *buf = malloc(1 << 16);
	int rc = 0;
	for (;;) {
		ssize_t n = in->read(in->ctx, buf, 1 << 16);
		if (n < 0) {
			rc = -1;
			break;
		}
		char head[32];
		int hl = snprintf(head, sizeof(head), "%zx\r\n", (size_t)n);
		if (berth_write_all(fd, head, (size_t)hl) < 0 || (n && berth_write_all(fd, buf, (size_t)n) < 0) ||
		    berth_write_all(fd, "\r\n", 2) < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
	}
	free(buf);
	return rc;
}

int berth_client_do(struct berth_client *cl, const char *method, const char *path, json_t *body,
		    struct berth_reader *stream_body, const char *content_type, berth_client_data_cb on_data, void *ctx,
		    struct berth_response *resp, struct berth_error *err)
{
	memset(resp, 0, sizeof(*resp));
	int fd = berth_client_dial(cl, err);
	if (fd < 0)
		return -1;
	cleanup_free char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc = send_request(fd, cl, method, path, js, js ? strlen(js) : 0, stream_body != NULL,
			      js ? "application/json" : content_type, false);
	if (rc == 0 && stream_body)
		rc = send_stream(fd, stream_body);
	if (rc < 0) {
		/* the daemon may have answered early (error); try to read it */
	}
	struct parse_state ps = {.resp = resp, .on_data = on_data, .ctx = ctx, .head = !strcmp(method, "HEAD")};
	http_parser p;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &ps;
	http_parser_settings st = {.on_header_field = p_field,
				   .on_header_value = p_value,
				   .on_headers_complete = p_headers,
				   .on_body = p_body,
				   .on_message_complete = p_done};
	char *buf = malloc(1 << 16);
	while (!ps.done && !ps.stop) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		size_t used = http_parser_execute(&p, &st, buf, (size_t)n);
		if (n == 0)
			break;
		if (used != (size_t)n && !ps.stop)
			break;
	}
	free(buf);
	close(fd);
	berth_buf_free(&ps.field);
	berth_buf_free(&ps.value);
	char tls_why[256];
	if (!ps.headers_done && cl->ssl_ctx && berth_client_tls_last_error(tls_why, sizeof(tls_why)))
		return berth_err(err, BERTH_E_UNAVAILABLE, "error during connect: %s: remote error: %s", cl->host,
				 tls_why);
	if (!ps.headers_done)
		return berth_err(err, BERTH_E_UNAVAILABLE, "error during connect: unexpected EOF from %s", cl->host);
	resp->truncated = !ps.done && !ps.stop;
	return 0;
}

int berth_client_error(struct berth_response *resp, struct berth_error *err)
{
	enum berth_err_kind k = resp->status == 404 ? BERTH_E_NOT_FOUND :
				resp->status == 409 ? BERTH_E_CONFLICT :
				resp->status == 400 ? BERTH_E_INVALID :
				resp->status == 403 ? BERTH_E_FORBIDDEN :
				resp->status == 503 ? BERTH_E_UNAVAILABLE :
						      BERTH_E_INTERNAL;
	cleanup_json json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	if (msg)
		return berth_err(err, k, "%s", msg);
	return berth_err(err, k, "%.*s", (int)(resp->body.len > 900 ? 900 : resp->body.len),
			 resp->body.len ? resp->body.data : "(empty response)");
}

int berth_client_json(struct berth_client *cl, const char *method, const char *path, json_t *body, json_t **out,
		      struct berth_error *err)
{
	struct berth_response resp;
	if (out)
		*out = NULL;
	if (berth_client_do(cl, method, path, body, NULL, NULL, NULL, NULL, &resp, err) < 0)
		return -1;
	int rc = 0;
	if (resp.status >= 300) {
		rc = berth_client_error(&resp, err);
	} else if (out && resp.body.len) {
		json_error_t je;
		*out = json_loadb(resp.body.data, resp.body.len, 0, &je);
		if (!*out)
			rc = berth_err(err, BERTH_E_INTERNAL, "invalid JSON from daemon: %s", je.text);
	}
	berth_response_free(&resp);
	return rc;
}

int berth_client_hijack(struct berth_client *cl, const char *method, const char *path, json_t *body,
			struct berth_buf *pending, struct berth_error *err)
{
	int fd = berth_client_dial(cl, err);
	if (fd < 0)
		return -1;
	cleanup_free char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (send_request(fd, cl, method, path, js, js ? strlen(js) : 0, false, js ? "application/json" : "text/plain",
			 true) < 0) {
		close(fd);
		return berth_err(err, BERTH_E_UNAVAILABLE, "error sending request");
	}
	/* read headers byte-wise up to the blank line */
	struct berth_buf h = {0};
	char ch;
	while (!(h.len >= 4 && !memcmp(h.data + h.len - 4, "\r\n\r\n", 4))) {
		ssize_t n = read(fd, &ch, 1);
		if (n <= 0 || h.len > 65536) {
			berth_buf_free(&h);
			close(fd);
			return berth_err(err, BERTH_E_UNAVAILABLE, "error reading response");
		}
		berth_buf_putc(&h, ch);
	}
	int status = 0;
	sscanf(h.data, "HTTP/1.%*d %d", &status);
	if (status == 101 || status == 200) {
		berth_buf_free(&h);
		(void)pending;
		return fd;
	}
	/* error: parse the rest as a normal response body */
	struct berth_response resp = {.status = status};
	const char *cl_h = strcasestr(h.data, "\r\nContent-Length:");
	size_t want = cl_h ? (size_t)strtoul(cl_h + 17, NULL, 10) : 0;
	char buf[4096];
	while (resp.body.len < want) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		berth_buf_append(&resp.body, buf, (size_t)n);
	}
	berth_buf_free(&h);
	close(fd);
	berth_client_error(&resp, err);
	berth_response_free(&resp);
	return -1;
}
