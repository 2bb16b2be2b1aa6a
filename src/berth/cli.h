/* The berth CLI: command table, flag parsing, shared output helpers. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"

struct cli {
	struct berth_client cl;
	const char *cmdpath; /* "berth images" for messages */
};

typedef int (*cli_fn)(struct cli *c, int argc, char **argv);

struct cli_cmd {
	const char *name; /* "images", "image ls", ... */
	cli_fn fn;
	const char *usage;   /* "Usage:  berth images [OPTIONS] [REPOSITORY[:TAG]]" tail */
	const char *summary; /* one line */
};

enum cli_opt_type { OPT_BOOL, OPT_STR, OPT_LIST, OPT_INT };

struct cli_opt {
	const char *lng;
	char shrt;
	enum cli_opt_type type;
	void *ptr;        /* bool*, char**, char***(strv), long long* */
	const char *help; /* "" hides it */
};

/* Parse flags in argv[1..]; positional arguments are gathered into *args (NULL-terminated,
 * free with berth_strv_free). With stop_at_positional, everything after the first positional
 * is positional (docker run IMAGE CMD...). Prints docker's messages and returns -1 on error;
 * returns 1 when --help was printed. */
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, bool stop_at_positional, char ***args);
void cli_usage(struct cli *c, const struct cli_opt *opts, FILE *out);
/* Prints "Error response from daemon: ..." (or the transport error) to stderr. */
int cli_daemon_error(struct cli *c, const struct berth_error *err);
/* "berth images" requires at most/least N args. Prints docker's message; returns -1. */
int cli_args_error(struct cli *c, const char *what);

/* Command families. */
extern const struct cli_cmd cli_cmds_system[];
extern const struct cli_cmd cli_cmds_images[];
extern const struct cli_cmd cli_cmds_cp[];      /* cmd_cp.c */
extern const struct cli_cmd cli_cmds_files[];   /* cmd_commit.c: commit, diff, export */
extern const struct cli_cmd cli_cmds_network[]; /* cmd_network.c */
extern const struct cli_cmd cli_cmds_build[];   /* cmd_build.c: build, builder prune */
extern const struct cli_cmd cli_cmds_containers[];
extern const struct cli_cmd cli_cmds_stats[];
extern const struct cli_cmd cli_cmds_volumes[];
extern const struct cli_cmd cli_cmds_login[]; /* cmd_login.c: login, logout, search */
extern const struct cli_cmd cli_cmds_push[];  /* cmd_push.c */
