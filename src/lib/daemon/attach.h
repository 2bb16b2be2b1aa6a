/* POST /containers/{id}/attach on top of the shim's attach socket and the
 * stream copier (daemon/stream.h). */
#pragma once
#include <stdbool.h>

#include "common/error.h"
#include "daemon/exec.h"

struct berth_daemon;
struct berth_container;

struct berth_ctr_attach_opts {
	const char *ref; /* the container as the client named it (messages) */
	bool stream, logs;
	bool in, out, err;       /* stdin, stdout, stderr */
	const char *detach_keys; /* NULL or "" = the default */
	berth_hijack_fn hijack;  /* switch the client to a raw stream (see exec.h) */
	void *hijack_ctx;
};

/* Attach a client. A running container is attached at the shim before the
 * client is answered: a failed attach fails the request (-1, err). A
 * container that is not running yet (docker run: attach, then start) is
 * waited for after the 101, counting in ct->attach_waiters so that start
 * holds its output back until the attach is connected. Returns -1 with err
 * when nothing was sent to the client, else 0. */
int berth_ctr_attach(struct berth_daemon *d, struct berth_container *ct, const struct berth_ctr_attach_opts *o,
		     struct berth_error *err);
