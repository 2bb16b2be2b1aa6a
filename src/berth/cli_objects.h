/* The scaffolding shared by the object commands (network, volume, image):
 * ls/prune argument and filter checks, inspect of several objects, rm of
 * several objects, prune's confirmation and its "Deleted ...:" list. Each
 * prints what docker's CLI prints for that step. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "cli.h"

/* ls and prune: no arguments, every --filter "name=value". 0, or the exit
 * code after the message (1: arguments, 125: a filter). */
int cli_objects_check(struct cli *c, char **args, char **filters);
/* base, or base?filters=<query of filters> (malloc'd). */
char *cli_objects_path(const char *base, char **filters);
/* An inspect's output: the array of objects, or each through --format.
 * 0, or 64 after the template's error. */
int cli_objects_print(const char *format, json_t *items);
/* inspect: GET <base>/<arg> of each argument, printed with --format; an
 * unknown one is "Error: No such <noun>: <arg>". Returns the exit code. */
int cli_objects_inspect(struct cli *c, char **args, const char *base, const char *noun, const char *format);
/* rm: DELETE <base>/<arg><query> of each argument (query "" or "?..."),
 * its name printed when removed, the errors on stderr at the end (as
 * docker joins them). Returns the exit code. */
int cli_objects_remove(struct cli *c, char **args, const char *base, const char *query, const char *noun);
/* prune: unless force, the warning and docker's [y/N] question; then POST
 * path. true with *res when the daemon answered; false when declined (*rc
 * 0) or on an error (*rc the exit code, the message printed). */
bool cli_objects_prune(struct cli *c, bool force, const char *warning, const char *path, json_t **res, int *rc);
/* "<title>:\n", each string of arr, "\n" — when arr is not empty. */
void cli_objects_print_deleted(const char *title, json_t *arr);
