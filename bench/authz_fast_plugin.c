/* A minimal docker authorization plugin for bench/security.sh only: it
 * answers every request at once (Plugin.Activate: Implements ["authz"];
 * anything else: {"Allow":true}) on the unix socket argv[1], with HTTP/1.1
 * keep-alive, one thread per connection. Its own cost is a few microseconds,
 * so the benchmark measures berthd's share of an authorization call.
 *
 *   cc -O2 -pthread -o authz_fast_plugin bench/authz_fast_plugin.c
 *   ./authz_fast_plugin /run/berth/plugins/fast.sock
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF (4 * 1024 * 1024)

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char *buf = malloc(BUF + 1);
	size_t len = 0;
	while (buf) {
		buf[len] = '\0';
		char *end = memmem(buf, len, "\r\n\r\n", 4);
		if (!end) {
			if (len == BUF)
				break;
			ssize_t r = recv(fd, buf + len, BUF - len, 0);
			if (r <= 0)
				break;
			len += (size_t)r;
			continue;
		}
		size_t hlen = (size_t)(end - buf) + 4, clen = 0;
		for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
			if (!strncasecmp(l + 2, "Content-Length:", 15))
				clen = strtoul(l + 17, NULL, 10);
		if (hlen + clen > BUF)
			break;
		while (len < hlen + clen) {
			ssize_t r = recv(fd, buf + len, BUF - len, 0);
			if (r <= 0)
				goto out;
			len += (size_t)r;
		}
		const char *body = memmem(buf, hlen, " /Plugin.Activate ", 18) ? "{\"Implements\":[\"authz\"]}" :
										  "{\"Allow\":true}";
		char resp[256];
		int n = snprintf(resp, sizeof(resp),
				 "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\n"
				 "Content-Length: %zu\r\n\r\n%s",
				 strlen(body), body);
		if (send_all(fd, resp, (size_t)n) < 0)
			break;
		memmove(buf, buf + hlen + clen, len - hlen - clen);
		len -= hlen + clen;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 64) < 0) {
		perror("authz_fast_plugin");
		return 1;
	}
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, serve, (void *)(long)fd) != 0)
			close(fd);
		pthread_attr_destroy(&at);
	}
}
