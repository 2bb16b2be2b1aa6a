/* Streaming side of the container commands: hijacked attach/exec sessions
 * (stdin -> daemon, daemon -> stdout/stderr with stdcopy demux or raw tty
 * bytes, detach keys), signal proxying, tty resize, and requests whose
 * answer comes later (POST /containers/{id}/wait sent before start). */
#pragma once
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "tty.h"

/* ---- deferred requests ---- */

struct ctr_pending;
struct ctr_signals;

/* Send a request and read the response status line and headers now; the
 * body is read by ctr_request_finish. An error status is read in full and
 * returned as err (docker's message), like berth_client_json. */
struct ctr_pending *ctr_request_begin(struct berth_client *cl, const char *method, const char *path, json_t *body,
				      struct berth_error *err);
/* Wait for the rest of the body (serving sig while waiting, may be NULL) and
 * parse it as JSON into *out. */
int ctr_request_finish(struct ctr_pending *p, struct ctr_signals *sig, json_t **out, struct berth_error *err);
void ctr_request_free(struct ctr_pending *p);

/* ---- signals ---- */

struct ctr_signals {
	int fd; /* signalfd, -1 when nothing is caught */
	sigset_t set, old;
	bool proxy;  /* forward to the container (sig-proxy) */
	bool resize; /* SIGWINCH resizes the tty */
	bool is_exec;
	char *id;
	struct berth_client *cl;
};

/* Start catching signals: with proxy, every signal docker's CLI forwards;
 * always the terminating ones, so the terminal is restored before dying. */
int ctr_signals_start(struct ctr_signals *s, struct berth_client *cl, const char *id, bool proxy, bool is_exec);
/* Resize the container's (or exec's) tty to our terminal now and on SIGWINCH.
 * first_bump resizes to (h+1, w+1) first, as docker attach does. */
void ctr_signals_monitor_tty(struct ctr_signals *s, bool first_bump);
/* Handle whatever is pending on s->fd. */
void ctr_signals_dispatch(struct ctr_signals *s);
void ctr_signals_stop(struct ctr_signals *s);

/* POST /containers/{id}/resize (or /exec/{id}/resize) to stdout's size. */
int ctr_resize(struct berth_client *cl, const char *id, bool is_exec, unsigned h, unsigned w);

/* ---- hijacked stream ---- */

struct ctr_stream {
	int fd; /* from berth_client_hijack */
	bool tty;
	bool in;           /* copy our stdin */
	bool out, err;     /* where output goes (docker: nil writer = dropped) */
	bool detach_check; /* tty + stdin: watch for the detach sequence */
	unsigned char keys[BERTH_DETACH_KEYS_MAX];
	size_t nkeys;
	struct ctr_signals *sig; /* may be NULL */
};

enum { CTR_STREAM_DONE = 0, CTR_STREAM_DETACHED = 1 };

/* Fill keys from --detach-keys (docker falls back to ctrl-p,ctrl-q on a bad
 * value, with a warning). */
void ctr_stream_set_keys(struct ctr_stream *st, const char *spec);
/* Run the session until the output ends (or, with no output, stdin ends), or
 * the detach sequence is typed. Puts stdin in raw mode for tty sessions and
 * restores it. Returns CTR_STREAM_DONE, CTR_STREAM_DETACHED or -1 (err). */
int ctr_stream_run(struct ctr_stream *st, struct berth_error *err);
