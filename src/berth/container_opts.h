/* `berth run` / `berth create` flags -> the POST /containers/create body,
 * built the way docker's CLI (cli/command/container/opts.go) builds it: the
 * same fields, defaults, validation and messages. Pure functions (no daemon),
 * so the translation is unit-tested. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "common/error.h"

/* Result of parsing `run`/`create` arguments. */
struct ctr_create {
	json_t *body; /* Config fields + HostConfig + NetworkingConfig */
	char *image;  /* as given */
	char *name;   /* --name or NULL */
	char *platform, *pull, *detach_keys, *cidfile;
	bool detach, sig_proxy, auto_remove;
	/* a copy of what the body says, for the run flow */
	bool tty, open_stdin, attach_stdin, attach_stdout, attach_stderr;
	bool attach_given; /* -a was used */
};

enum {
	CTR_PARSE_OK = 0,
	CTR_PARSE_HELP = 1,        /* --help was printed */
	CTR_PARSE_PRINTED = -1,    /* flag syntax error, already printed by cli_parse */
	CTR_PARSE_FLAG_ERR = -2,   /* err->msg: `invalid argument "x" for "-e, --env" flag: ...` */
	CTR_PARSE_CONFIG_ERR = -3, /* err->msg: what docker prints after "docker: " */
	CTR_PARSE_ARGS = -4        /* missing IMAGE, already printed (exit 1) */
};

/* argv[0] is the command name; is_run adds -d, --sig-proxy, --detach-keys.
 * Returns one of CTR_PARSE_*. */
int ctr_create_parse(struct cli *c, int argc, char **argv, bool is_run, struct ctr_create *out,
		     struct berth_error *err);
void ctr_create_free(struct ctr_create *cc);
/* Print a CTR_PARSE_* error the way docker does; returns the exit code (125). */
int ctr_create_report(struct cli *c, int rc, const struct berth_error *err);

/* docker's "requires at least N arguments" message with the command's usage
 * line and summary (any container command). Returns -1. */
int ctr_args_error(struct cli *c, const char *what);

/* ---- pieces, exposed for tests ---- */

/* opts.parseKeyValueFile: lines "K=V" (leading blanks trimmed), '#' comments;
 * a bare "K" takes its value from the environment when env_lookup (dropped if
 * unset) and is dropped otherwise. Appends to *out. */
int ctr_read_kv_file(const char *path, bool env_lookup, char ***out, struct berth_error *err);
/* nat.ParsePortSpec for one -p value; adds "80/tcp" keys to exposed (value {})
 * and bindings (array of {"HostIp","HostPort"}). */
int ctr_parse_port_spec(const char *raw, json_t *exposed, json_t *bindings, struct berth_error *err);
/* opts.MountOpt.Set: one --mount CSV value -> a mount.Mount object. */
json_t *ctr_parse_mount(const char *value, struct berth_error *err);
/* units.ParseUlimit: "nofile=100:200" -> {"Name","Hard","Soft"}. */
json_t *ctr_parse_ulimit(const char *value, struct berth_error *err);
/* opts.ParseCPUs: "1.5" -> 1500000000. */
int ctr_parse_cpus(const char *value, long long *nano, struct berth_error *err);
/* loader.ParseVolume's verdict as docker's CLI uses it: does -v VALUE name a
 * source (so it is a bind/named volume for HostConfig.Binds)? */
bool ctr_volume_has_source(const char *spec);
/* Go's %q of s, appended to b. */
void ctr_go_quote(struct berth_buf *b, const char *s);
