/* A producer thread behind a socketpair, for the streams of pull (registry ->
 * layer store) and push (layer store -> gzip -> registry): the producer sends
 * into wfd and shuts it down when done; the consumer reads rfd, and the end
 * of the stream is reported only after the producer finished cleanly
 * (*rc == 0), else the read fails with EIO. Internal to distribution/. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

struct berth_sockpipe {
	int rfd, wfd;
	pthread_t th;
	bool running;
	const int *rc; /* the producer's result, read after it was joined */
};

/* socketpair (4 MiB buffers where the kernel allows), then fn(arg) on a thread. */
int berth_sockpipe_start(struct berth_sockpipe *sp, void *(*fn)(void *), void *arg, const int *rc,
			 struct berth_error *err);
/* Producer side: all of len, or -1 with errno (the reader is gone). */
int berth_sockpipe_send(struct berth_sockpipe *sp, const void *buf, size_t len);
/* Producer side, at its end. */
void berth_sockpipe_done(struct berth_sockpipe *sp);
/* Consumer side: recv; at the end joins the producer (*ended set once) and
 * fails with EIO when it failed. */
ssize_t berth_sockpipe_read(struct berth_sockpipe *sp, void *buf, size_t len, bool *ended);
/* Consumer side: stops a producer still sending (its send fails), joins, closes. */
void berth_sockpipe_close(struct berth_sockpipe *sp);
