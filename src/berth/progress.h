/* docker's jsonmessage.DisplayJSONMessagesStream for the CLI: renders the
 * daemon's JSON progress lines (pull, push, load, build). On a terminal,
 * each layer keeps its own line, redrawn in place (cursor up/down, clear
 * line) with the progress bar; otherwise plain "id: status" lines and no
 * bars, as docker prints them. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"

struct cli_progress;

/* tty: render for a terminal (usually isatty(fileno(out))). quiet: print
 * nothing (errors are still collected). */
struct cli_progress *cli_progress_new(FILE *out, bool tty, bool quiet);
void cli_progress_free(struct cli_progress *p);
/* Called with each "aux" object (push: {"Tag","Digest","Size"}); borrowed. */
void cli_progress_on_aux(struct cli_progress *p, void (*fn)(void *ctx, json_t *aux), void *ctx);
/* berth_client_data_cb: feed raw response bytes (split into lines here). */
int cli_progress_data(void *ctx, const char *data, size_t len);
/* Render one message. */
void cli_progress_message(struct cli_progress *p, json_t *m);
/* After the stream: renders a last unterminated line; returns -1 with err
 * set to the first in-stream error ("errorDetail"/"error"), else 0. */
int cli_progress_finish(struct cli_progress *p, struct berth_error *err);
