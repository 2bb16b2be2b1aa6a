/* Router matching and a real HTTP round trip over a unix socket. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/http.h"
#include "tap.h"

static void echo_handler(void *ctx, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)ctx;
	if (!strcmp(r->path, "/json")) {
		json_t *body = NULL;
		struct berth_error err = {0};
		if (berth_http_body_json(c, 1 << 20, &body, &err) < 0) {
			berth_http_respond_error(c, &err);
			return;
		}
		berth_http_respond_json(c, 200, body ? body : json_null());
		return;
	}
	if (!strcmp(r->path, "/stream")) {
		berth_http_stream_begin(c, 200, "text/plain");
		berth_http_stream_write(c, "ab", 2);
		berth_http_stream_write(c, "cd", 2);
		return;
	}
	const char *q = berth_http_query(r, "x");
	berth_http_respond(c, 200, "text/plain", q ? q : "none", q ? strlen(q) : 4);
}

/* A reply that never ends fails the read after 5 s instead of hanging the
 * test until meson's timeout. */
static void short_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static char *read_reply(int fd)
{
	struct berth_buf b = {0};
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		berth_buf_append(&b, tmp, (size_t)n);
	if (n < 0)
		berth_buf_printf(&b, "<read error or timeout>");
	return berth_buf_steal(&b);
}

static char *roundtrip(const char *sock, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock);
	short_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return strdup("connect failed");
	}
	berth_write_all(fd, req, strlen(req));
	shutdown(fd, SHUT_WR);
	struct berth_buf b = {0};
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		berth_buf_append(&b, tmp, (size_t)n);
	if (n < 0)
		berth_buf_printf(&b, "<read error or timeout>");
	close(fd);
	return berth_buf_steal(&b);
}

struct serve_arg {
	struct berth_http_server *s;
	int fd;
};

static void *serve_thread(void *p)
{
	struct serve_arg *a = p;
	berth_http_serve_fd(a->s, a->fd);
	return NULL;
}

/* berth_http_serve_fd over a socketpair (the fuzz target's path). */
static char *serve_pair(struct berth_http_server *s, const char *req)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return strdup("socketpair failed");
	short_timeouts(sv[0]);
	struct serve_arg a = {s, sv[1]};
	pthread_t t;
	pthread_create(&t, NULL, serve_thread, &a);
	berth_write_all(sv[0], req, strlen(req));
	shutdown(sv[0], SHUT_WR);
	char *r = read_reply(sv[0]);
	pthread_join(t, NULL);
	close(sv[0]);
	return r;
}

int main(void)
{
	struct tap t = {0};
	char *p[BERTH_HTTP_MAX_PARAMS];
	int np = 0;
	TAP_OK(&t, berth_route_match("/images/json", "/images/json", p, &np) && np == 0, "literal route");
	TAP_OK(&t, berth_route_match("/images/{name*}/json", "/images/localhost:5000/a/b:1/json", p, &np) && np == 1,
	       "greedy param");
	if (np == 1) {
		TAP_STREQ(&t, p[0], "localhost:5000/a/b:1", "greedy param value");
		free(p[0]);
	}
	TAP_OK(&t, !berth_route_match("/images/{name*}/json", "/images/json", p, &np), "greedy needs a segment");
	TAP_OK(&t, berth_route_match("/containers/{id}/start", "/containers/abc/start", p, &np) && np == 1,
	       "one-seg param");
	if (np == 1)
		free(p[0]);
	TAP_OK(&t, !berth_route_match("/containers/{id}/start", "/containers/a/b/start", p, &np),
	       "one-seg rejects two");

	char dir[] = "/tmp/berth-test-api-XXXXXX";
	mkdtemp(dir);
	char sock[256], addr[300];
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(addr, sizeof(addr), "unix://%s", sock);
	struct berth_http_server *s = berth_http_server_new(echo_handler, NULL, "Test/1");
	struct berth_error err = {0};
	TAP_OK(&t, berth_http_server_listen(s, addr, &err) == 0 && berth_http_server_start(s, &err) == 0, "listen");
	char *r = roundtrip(sock, "GET /q?x=a%20b+c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	TAP_OK(&t, strstr(r, "200 OK") && strstr(r, "\r\n\r\na b c") && strstr(r, "Api-Version: 1.41"),
	       "query decoded");
	free(r);
	r = roundtrip(sock, "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			    "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
	TAP_OK(&t, strstr(r, "{\"a\":1}") != NULL, "chunked JSON body");
	free(r);
	r = roundtrip(sock, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}");
	TAP_OK(&t, strstr(r, "400 Bad Request") && strstr(r, "invalid JSON"), "bad JSON is 400");
	free(r);
	r = roundtrip(
		sock,
		"GET /q?x=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /q?x=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	TAP_OK(&t, strstr(r, "\r\n\r\n1HTTP/1.1 200") && berth_str_has_suffix(r, "\r\n\r\n2"), "keep-alive pipelining");
	free(r);
	r = roundtrip(sock, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	TAP_OK(&t, strstr(r, "Transfer-Encoding: chunked") && strstr(r, "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"),
	       "chunked stream");
	free(r);
	r = roundtrip(sock, "GARBAGE\r\n\r\n");
	TAP_OK(&t, strstr(r, "400 Bad Request") != NULL, "garbage request gets 400");
	free(r);
	r = serve_pair(s, "GET /q?x=pair HTTP/1.1\r\nHost: x\r\n\r\n");
	TAP_OK(&t, strstr(r, "200 OK") && berth_str_has_suffix(r, "\r\n\r\npair"), "serve_fd on a socketpair");
	free(r);
	struct berth_buf many = {0};
	berth_buf_printf(&many, "GET /q?x=1 HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 101; i++)
		berth_buf_printf(&many, "X-H%d: %d\r\n", i, i);
	berth_buf_printf(&many, "\r\n");
	r = roundtrip(sock, many.data);
	TAP_OK(&t, strstr(r, "HTTP/1.1 431 ") != NULL, "102 headers get 431");
	free(r);
	berth_buf_free(&many);
	r = roundtrip(sock, "GET /q?x=%ff HTTP/1.1\r\nHost: x\r\n\r\n");
	TAP_OK(&t, strstr(r, "HTTP/1.1 400 ") && strstr(r, "UTF-8"), "invalid UTF-8 in the query gets 400");
	free(r);
	r = roundtrip(sock, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"a\"");
	TAP_OK(&t, strstr(r, "HTTP/1.1 400 ") && strstr(r, "unexpected EOF") && strstr(r, "Connection: close"),
	       "short body gets 400");
	free(r);
	r = roundtrip(sock, "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	TAP_OK(&t, strstr(r, "HTTP/1.1 400 ") && strstr(r, "malformed chunked"), "bad chunking gets 400");
	free(r);
	berth_http_server_free(s);
	rmdir(dir);
	return TAP_DONE(&t);
}
