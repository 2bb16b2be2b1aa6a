/* Pulling an image through the daemon (berth pull; run/create of a missing image). */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "common/error.h"

/* POST /images/create for image (a reference as typed: "busybox",
 * "127.0.0.1:5000/a/b:1", "x@sha256:..."; all_tags: no tag), with the stored
 * credentials of its registry as X-Registry-Auth; progress rendered to out
 * (docker's bars when out is a terminal). platform may be NULL.
 * Returns 0; -1 with *daemon_err true for a transport or HTTP error (print
 * it with "Error response from daemon: "), false for an in-stream error or
 * bad reference (print as is). */
int cli_pull_image(struct cli *c, const char *image, bool all_tags, const char *platform, FILE *out, bool quiet,
		   bool *daemon_err, struct berth_error *err);

extern const struct cli_cmd cli_cmds_pull[]; /* cmd_pull.c: pull, image pull */
