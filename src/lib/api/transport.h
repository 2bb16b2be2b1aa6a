/* The HTTP server's transport seam: a connection is read, written and
 * closed through these ops, whether it is a plain unix/tcp socket or a TLS
 * session (api/tls.c). fd stays the socket underneath, for poll only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct berth_transport;

struct berth_transport_ops {
	const char *name; /* "plain", "tls" */
	ssize_t (*read)(struct berth_transport *t, void *buf, size_t len);
	ssize_t (*write)(struct berth_transport *t, const void *buf, size_t len);
	/* bytes already received and decoded, readable without waiting on fd */
	size_t (*pending)(struct berth_transport *t);
	/* Turn the connection into a plain fd the caller owns from now on
	 * (hijacked attach/exec streams); the transport is closed after. */
	int (*detach)(struct berth_transport *t, struct berth_error *err);
	void (*close)(struct berth_transport *t);
};

struct berth_transport {
	const struct berth_transport_ops *ops;
	int fd;
	void *impl;
	/* authenticated peer: the TLS client certificate's subject CN ("" if none) */
	char peer_user[256];
	const char *authn_method; /* "TLS" when peer_user comes from a certificate, else "" */
};

/* A plain socket (unix or tcp). */
void berth_transport_plain(struct berth_transport *t, int fd);
ssize_t berth_transport_read(struct berth_transport *t, void *buf, size_t len);
/* Whole buffer or -1. */
int berth_transport_write_all(struct berth_transport *t, const void *buf, size_t len);
size_t berth_transport_pending(struct berth_transport *t);
int berth_transport_detach(struct berth_transport *t, struct berth_error *err);
void berth_transport_close(struct berth_transport *t);
