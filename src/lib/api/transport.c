#include "transport.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t plain_read(struct berth_transport *t, void *buf, size_t len)
{
	ssize_t n;
	do
		n = read(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static ssize_t plain_write(struct berth_transport *t, const void *buf, size_t len)
{
	ssize_t n;
	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK)
		n = write(t->fd, buf, len);
	return n;
}

static size_t plain_pending(struct berth_transport *t)
{
	(void)t;
	return 0;
}

static int plain_detach(struct berth_transport *t, struct berth_error *err)
{
	(void)err;
	int fd = t->fd;
	t->fd = -1;
	t->ops = NULL;
	return fd;
}

static void plain_close(struct berth_transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static const struct berth_transport_ops plain_ops = {
	.name = "plain",
	.read = plain_read,
	.write = plain_write,
	.pending = plain_pending,
	.detach = plain_detach,
	.close = plain_close,
};

void berth_transport_plain(struct berth_transport *t, int fd)
{
	*t = (struct berth_transport){.ops = &plain_ops, .fd = fd, .authn_method = ""};
}

ssize_t berth_transport_read(struct berth_transport *t, void *buf, size_t len)
{
	if (!t->ops) {
		errno = EBADF;
		return -1;
	}
	return t->ops->read(t, buf, len);
}

int berth_transport_write_all(struct berth_transport *t, const void *buf, size_t len)
{
	const char *p = buf;
	if (!t->ops)
		return -1;
	while (len) {
		ssize_t n = t->ops->write(t, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t berth_transport_pending(struct berth_transport *t) { return t->ops ? t->ops->pending(t) : 0; }

int berth_transport_detach(struct berth_transport *t, struct berth_error *err)
{
	if (!t->ops)
		return berth_err(err, BERTH_E_INTERNAL, "connection already closed");
	int fd = t->ops->detach(t, err);
	if (fd >= 0) {
		t->ops = NULL;
		t->fd = -1;
		t->impl = NULL;
	}
	return fd;
}

void berth_transport_close(struct berth_transport *t)
{
	if (t->ops)
		t->ops->close(t);
	t->ops = NULL;
	t->fd = -1;
	t->impl = NULL;
}
