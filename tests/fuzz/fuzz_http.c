/* HTTP request parser: the input is written as the client side of a
 * socketpair whose other end is served by berth_http_serve_fd (the real
 * server code, one connection on this thread); responses are read until the
 * server closes. The handler reads the body (JSON for /json paths, raw
 * otherwise; /stream answers chunked) and looks at query, filters and
 * headers, then answers 200. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http.h"
#include "fuzz_util.h"

static void handler(void *ctx, struct berth_http_req *req, struct berth_http_conn *c)
{
	(void)ctx;
	struct berth_error err = {0};
	berth_http_query(req, "all");
	berth_http_query_bool(req, "force", false);
	berth_http_query_int(req, "tail", -1);
	berth_http_header(req, "Content-Type");
	json_t *f = berth_http_filters(req, &err);
	json_decref(f);
	if (berth_str_has_prefix(req->path, "/json")) {
		json_t *body = NULL;
		if (berth_http_body_json(c, 1 << 16, &body, &err) < 0) {
			berth_http_respond_error(c, &err);
			return;
		}
		berth_http_respond_json(c, 200, body ? body : json_object());
		return;
	}
	char buf[4096];
	size_t total = 0;
	ssize_t n;
	while ((n = berth_http_body_read(c, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	if (berth_str_has_prefix(req->path, "/stream")) {
		berth_http_stream_begin(c, 200, "application/octet-stream");
		berth_http_stream_write(c, req->path, strlen(req->path));
		berth_http_stream_end(c);
		return;
	}
	berth_http_respond_msg(c, 200, "%s %s %zu", req->method, req->path, total);
}

struct client {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* Write the whole input (then half-close), reading responses meanwhile so
 * neither side blocks on a full socket buffer; read until EOF. */
static void *client_main(void *arg)
{
	struct client *cl = arg;
	size_t off = 0;
	bool wr_open = true;
	char buf[16384];
	if (cl->size == 0) {
		shutdown(cl->fd, SHUT_WR);
		wr_open = false;
	}
	for (;;) {
		struct pollfd p = {cl->fd, POLLIN | (wr_open ? POLLOUT : 0), 0};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (wr_open && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = send(cl->fd, cl->data + off, cl->size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == cl->size) {
				shutdown(cl->fd, SHUT_WR);
				wr_open = false;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	close(cl->fd);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct berth_http_server *srv;
	if (!srv) {
		signal(SIGPIPE, SIG_IGN);
		srv = berth_http_server_new(handler, NULL, "berth-fuzz");
		FUZZ_ASSERT(srv);
		struct berth_http_limits l = {.max_conns = 4, .idle_timeout_s = 5, .read_timeout_s = 5};
		berth_http_server_set_limits(srv, &l);
	}
	int sv[2];
	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct client cl = {sv[1], data, size};
	pthread_t th;
	FUZZ_ASSERT(pthread_create(&th, NULL, client_main, &cl) == 0);
	berth_http_serve_fd(srv, sv[0]); /* closes sv[0] */
	pthread_join(th, NULL);
	return 0;
}
