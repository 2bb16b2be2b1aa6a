/* Copying a client's stream to and from a process's stdio (container
 * attach, exec; the image builder reuses it). Plain fds only: the caller
 * got the client's fd from wherever it came (a hijacked HTTP connection, a
 * pipe) and the process side from berth_shim_attach(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* docker's stdcopy stream ids */
enum { BERTH_STREAM_STDIN = 0, BERTH_STREAM_STDOUT = 1, BERTH_STREAM_STDERR = 2 };

/* docker's 8-byte stdcopy header: [stream, 0, 0, 0, len (u32 big endian)]. */
void berth_stdcopy_header(unsigned char h[8], int stream, size_t len);
/* Write data to fd (blocking), as one stdcopy frame of `stream`, or as it is
 * when stream < 0. */
int berth_stream_write(int fd, int stream, const void *data, size_t len);

struct berth_stream_opts {
	bool forward_stdin; /* pass what the client sends to the process (else read and dropped) */
	bool frame_stdout;  /* the process side sends raw bytes (a tty): send them as stdout frames */
};

struct berth_stream_result {
	bool client_open; /* the client may still send (it did not shut its write side) */
	bool client_gone; /* the client closed both ways */
	bool detached;    /* the process side ended the stream while the client still sent
			     (the shim does that on the detach keys, or at the process's exit) */
};

/* Copy until the process side ends the stream (or the client is gone).
 * pending: bytes the client sent before the copy began (stdin). Both
 * directions are buffered and never block each other: a client that sends
 * stdin faster than the process reads it must still receive the output. */
void berth_stream_copy(int client, const void *pending, size_t npending, int proc, const struct berth_stream_opts *o,
		       struct berth_stream_result *res);

/* The stream is over: shut the client's write side (EOF), then read what it
 * still sends until it closes (closing a unix socket with unread data makes
 * the client's read fail with ECONNRESET, and the docker CLI then exits 1).
 * Bounded: a client idle for 5 s is left. */
void berth_stream_linger(int client, bool client_open);

/* A client that half-closed (no more stdin) still reads; it is gone only
 * when closed both ways. */
bool berth_stream_peer_gone(int fd);
