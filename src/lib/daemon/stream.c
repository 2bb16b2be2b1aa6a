#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

#define STREAM_BUF_MAX (1 << 20)

void berth_stdcopy_header(unsigned char h[8], int stream, size_t len)
{
	h[0] = (unsigned char)stream;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

int berth_stream_write(int fd, int stream, const void *data, size_t len)
{
	if (stream >= 0) {
		unsigned char h[8];
		berth_stdcopy_header(h, stream, len);
		if (berth_write_all(fd, h, 8) < 0)
			return -1;
	}
	return len ? berth_write_all(fd, data, len) : 0;
}

static void compact(struct berth_buf *b, size_t *off)
{
	if (*off == b->len) {
		b->len = *off = 0;
	} else if (*off > STREAM_BUF_MAX) {
		memmove(b->data, b->data + *off, b->len - *off);
		b->len -= *off;
		*off = 0;
	}
}

void berth_stream_copy(int client, const void *pending, size_t npending, int proc, const struct berth_stream_opts *o,
		       struct berth_stream_result *res)
{
	struct berth_buf up = {0}, down = {0}; /* client -> process, process -> client */
	size_t up_off = 0, down_off = 0;
	if (npending && o->forward_stdin)
		berth_buf_append(&up, pending, npending);
	bool client_open = true;  /* the client may still send */
	bool client_gone = false; /* closed both ways: output has nowhere to go */
	bool proc_open = true;    /* the process side may still send */
	bool up_shut = false;
	char buf[65536];
	for (;;) {
		size_t up_len = up.len - up_off;
		if (!client_open && !up_len && !up_shut) {
			/* the client closed its write side (no more stdin); output goes on */
			if (o->forward_stdin)
				shutdown(proc, SHUT_WR);
			up_shut = true;
		}
		if (client_gone && !client_open && !up_len)
			break;
		if (client_gone)
			down.len = down_off = 0;
		size_t down_len = down.len - down_off;
		if (!proc_open && !down_len)
			break;
		struct pollfd pf[2] = {{.fd = proc}, {.fd = client}};
		if (proc_open && down_len < STREAM_BUF_MAX)
			pf[0].events |= POLLIN;
		if (up_len)
			pf[0].events |= POLLOUT;
		if (!pf[0].events)
			pf[0].fd = -1;
		if (client_open && up_len < STREAM_BUF_MAX)
			pf[1].events |= POLLIN | POLLRDHUP;
		if (down_len)
			pf[1].events |= POLLOUT;
		if (!pf[1].events)
			pf[1].fd = -1;
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (pf[1].revents & (POLLERR | POLLNVAL)) {
			client_gone = true;
			client_open = false;
			break;
		}
		if (pf[1].revents & POLLHUP)
			client_gone = true;
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = recv(proc, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0) {
				if (o->frame_stdout) {
					unsigned char h[8];
					berth_stdcopy_header(h, BERTH_STREAM_STDOUT, (size_t)got);
					berth_buf_append(&down, h, 8);
				}
				berth_buf_append(&down, buf, (size_t)got);
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				proc_open = false;
			}
		}
		if (up_len && (pf[0].revents & (POLLOUT | POLLERR))) {
			ssize_t put = send(proc, up.data + up_off, up_len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (put > 0) {
				up_off += (size_t)put;
			} else if (put < 0 && errno != EAGAIN && errno != EINTR) {
				/* the process side takes no more stdin */
				up.len = up_off = 0;
				client_open = false;
			}
		}
		if (client_open && (pf[1].revents & (POLLIN | POLLHUP | POLLRDHUP))) {
			ssize_t got = recv(client, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0) {
				if (o->forward_stdin)
					berth_buf_append(&up, buf, (size_t)got);
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				client_open = false;
			}
		}
		if (down.len > down_off && (pf[1].revents & POLLOUT)) {
			ssize_t put =
				send(client, down.data + down_off, down.len - down_off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (put > 0)
				down_off += (size_t)put;
			else if (put < 0 && errno != EAGAIN && errno != EINTR)
				client_gone = true;
		}
		compact(&up, &up_off);
		compact(&down, &down_off);
	}
	berth_buf_free(&up);
	berth_buf_free(&down);
	res->client_open = client_open && !client_gone;
	res->client_gone = client_gone;
	res->detached = !proc_open && client_open && !client_gone;
}

void berth_stream_linger(int client, bool client_open)
{
	char buf[4096];
	shutdown(client, SHUT_WR);
	while (client_open) {
		struct pollfd pf = {.fd = client, .events = POLLIN | POLLRDHUP};
		int n = poll(&pf, 1, 5000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || read(client, buf, sizeof(buf)) <= 0)
			break;
	}
}

bool berth_stream_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = 0};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}
