/* Helpers shared by the container command files (cmd_run.c, cmd_exec.c,
 * cmd_containers.c). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "cmd_common.h"
#include "common/error.h"

#define CTR_END_OPTS END_OPTS

/* Parse flags; on --help or a flag error return from the command (0 / 125). */
#define CTR_PARSE(opts, stop) PARSE_OR_RETURN(opts, stop)

/* GET /containers/{id}/json. A 404 reads "Error: No such container: ID" as
 * docker's client words it for inspect; other errors are the daemon's. On
 * error the message to print is in err (with "Error response from daemon: "
 * where docker has it). */
json_t *ctr_inspect(struct cli *c, const char *id, struct berth_error *err);
/* err->msg with docker's client prefix: "Error response from daemon: MSG"
 * for daemon answers, the text alone for connection errors. */
void ctr_daemon_msg(const struct berth_error *in, struct berth_error *out);
/* POST with no result body; 304 counts as success (docker's client errors on
 * >= 400 only). Errors are prepared like ctr_daemon_msg. */
int ctr_post(struct cli *c, const char *path, json_t *body, struct berth_error *err);
/* Print a message prepared by ctr_inspect / ctr_daemon_msg; returns 1. */
int ctr_fail(const struct berth_error *err);
/* Checks the TTY rule of docker's CLI: -t with stdin attached needs a
 * terminal on stdin. Prints "the input device is not a TTY" and returns 1. */
int ctr_check_tty(bool attach_stdin, bool tty);
/* Forward declarations of the container command functions. */
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_create(struct cli *c, int argc, char **argv);
int cmd_start(struct cli *c, int argc, char **argv);
int cmd_attach(struct cli *c, int argc, char **argv);
int cmd_exec(struct cli *c, int argc, char **argv);
int cmd_ps(struct cli *c, int argc, char **argv);
