/* Demultiplexer for the Engine API's multiplexed stream framing (moby's
 * pkg/stdcopy): each frame is an 8-byte header {stream, 0, 0, 0, size as
 * big-endian uint32} followed by size bytes. Streams: 0 stdin (written to
 * stdout, as docker does), 1 stdout, 2 stderr, 3 systemerr (an error message
 * from the daemon). The parser is incremental: feed it whatever a read
 * returned; payload bytes are passed on as they arrive. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

enum { BERTH_STD_IN = 0, BERTH_STD_OUT = 1, BERTH_STD_ERR = 2, BERTH_STD_SYSERR = 3 };

/* Receives payload for stream 1 (stdout; also stdin frames) or 2 (stderr).
 * Returns 0, or <0 to stop (reported as a write error). */
typedef int (*berth_stdcopy_write)(void *ctx, int stream, const char *data, size_t len);

struct berth_stdcopy {
	berth_stdcopy_write write;
	void *ctx;
	unsigned char hdr[8];
	size_t hlen;        /* header bytes collected so far */
	uint32_t remaining; /* payload bytes left in the current frame */
	int stream;         /* stream of the current frame */
	struct berth_buf syserr;
	uint64_t written;
};

void berth_stdcopy_init(struct berth_stdcopy *s, berth_stdcopy_write write, void *ctx);
/* Consume len bytes. Errors (docker's wording): "Unrecognized input header: N",
 * "error from daemon in stream: MSG", or a write failure. After an error the
 * parser must not be fed again. */
int berth_stdcopy_feed(struct berth_stdcopy *s, const char *data, size_t len, struct berth_error *err);
/* True when the stream ended between frames (a truncated frame is dropped
 * silently at EOF, as docker's StdCopy does). */
int berth_stdcopy_at_boundary(const struct berth_stdcopy *s);
void berth_stdcopy_free(struct berth_stdcopy *s);
