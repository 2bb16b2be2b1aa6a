/* exec: docker's flow (cli/command/container/exec.go). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "container_opts.h"
#include "ctr_common.h"
#include "hijack.h"

/* opts.ValidateEnv as a flag error ("invalid argument ... for "-e, --env" flag"). */
static int exec_env(struct cli *c, char **env_files, char **env, json_t **out)
{
	char **all = NULL;
	struct berth_error err = {0};
	for (size_t i = 0; env_files && env_files[i]; i++) {
		if (ctr_read_kv_file(env_files[i], true, &all, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			berth_strv_free(all);
			return 1;
		}
	}
	for (size_t i = 0; env && env[i]; i++) {
		const char *v = env[i];
		if (!v[0] || v[0] == '=') {
			fprintf(stderr,
				"invalid argument \"%s\" for \"-e, --env\" flag: invalid environment variable: %s\nSee '%s --help'.\n",
				v, v, c->cmdpath);
			berth_strv_free(all);
			return 125;
		}
		const char *val = strchr(v, '=') ? NULL : getenv(v);
		if (val) {
			cleanup_free char *kv = berth_strdup_printf("%s=%s", v, val);
			berth_strv_push(&all, kv);
		} else {
			berth_strv_push(&all, v);
		}
	}
	if (!all) {
		*out = json_null();
		return 0;
	}
	*out = json_array();
	for (size_t i = 0; all[i]; i++)
		json_array_append_new(*out, json_string(all[i]));
	berth_strv_free(all);
	return 0;
}

int cmd_exec(struct cli *c, int argc, char **argv)
{
	bool interactive = false, tty = false, detach = false, privileged = false;
	char *keys = NULL, *user = NULL, *workdir = NULL;
	char **env = NULL, **env_files = NULL;
	const struct cli_opt opts[] = {
		{"detach", 'd', OPT_BOOL, &detach, "Detached mode: run command in the background"},
		{"detach-keys", 0, OPT_STR, &keys, "Override the key sequence for detaching a container"},
		{"env", 'e', OPT_LIST, &env, "Set environment variables"},
		{"env-file", 0, OPT_LIST, &env_files, "Read in a file of environment variables"},
		{"interactive", 'i', OPT_BOOL, &interactive, "Keep STDIN open even if not attached"},
		{"privileged", 0, OPT_BOOL, &privileged, "Give extended privileges to the command"},
		{"tty", 't', OPT_BOOL, &tty, "Allocate a pseudo-TTY"},
		{"user", 'u', OPT_STR, &user, "Username or UID (format: <name|uid>[:<group|gid>])"},
		{"workdir", 'w', OPT_STR, &workdir, "Working directory inside the container"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, true);
	int rc = 0, fd = -1;
	json_t *envj = NULL, *info = NULL;
	char *exec_id = NULL;
	struct berth_error err = {0};
	struct ctr_signals sig = {.fd = -1};
	cleanup_json json_t *body = NULL, *created = NULL, *sbody = NULL, *ins = NULL;
	cleanup_free char *path = NULL, *start = NULL, *ipath = NULL;
	if (berth_strv_len(args) < 2) {
		ctr_args_error(c, "requires at least 2 arguments");
		rc = 1;
		goto out;
	}
	if ((rc = exec_env(c, env_files, env, &envj)) != 0)
		goto out;
	bool attach_in = !detach && interactive, attach_out = !detach;
	/* a dummy inspect first, so that "No such container" wins */
	info = ctr_inspect(c, args[0], &err);
	if (!info) {
		rc = ctr_fail(&err);
		goto out;
	}
	if (!detach && ctr_check_tty(attach_in, tty)) {
		rc = 1;
		goto out;
	}
	json_t *cmd = json_array();
	for (size_t i = 1; args[i]; i++)
		json_array_append_new(cmd, json_string(args[i]));
	body = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:O, s:s, s:o}", "User", user ? user : "",
			 "Privileged", privileged, "Tty", tty, "AttachStdin", attach_in, "AttachStderr", attach_out,
			 "AttachStdout", attach_out, "Detach", detach, "DetachKeys", keys ? keys : "", "Env", envj,
			 "WorkingDir", workdir ? workdir : "", "Cmd", cmd);
	path = berth_strdup_printf("/containers/%s/exec", args[0]);
	struct berth_error e = {0};
	if (berth_client_json(&c->cl, "POST", path, body, &created, &e) < 0) {
		ctr_daemon_msg(&e, &err);
		rc = ctr_fail(&err);
		goto out;
	}
	const char *id = json_string_value(json_object_get(created, "Id"));
	if (!id || !*id) {
		fprintf(stderr, "exec ID empty\n");
		rc = 1;
		goto out;
	}
	exec_id = strdup(id);
	start = berth_strdup_printf("/exec/%s/start", exec_id);
	sbody = json_pack("{s:b, s:b}", "Detach", detach, "Tty", tty);
	if (detach) {
		if (ctr_post(c, start, sbody, &err) < 0)
			rc = ctr_fail(&err);
		goto out;
	}
	/* no signal proxy for exec; catch the fatal ones to restore the terminal */
	ctr_signals_start(&sig, &c->cl, exec_id, false, true);
	fd = berth_client_hijack(&c->cl, "POST", start, sbody, NULL, &e);
	if (fd < 0) {
		ctr_daemon_msg(&e, &err);
		rc = ctr_fail(&err);
		goto out;
	}
	if (tty && isatty(0))
		ctr_signals_monitor_tty(&sig, false);
	struct ctr_stream st = {.fd = fd,
				.tty = tty,
				.in = attach_in,
				.out = true,
				.err = true,
				.detach_check = attach_in && tty,
				.sig = &sig};
	ctr_stream_set_keys(&st, keys);
	int sr = ctr_stream_run(&st, &err);
	if (sr == CTR_STREAM_DETACHED) {
		fprintf(stderr, "read escape sequence\n");
		rc = 1;
		goto out;
	}
	if (sr < 0) {
		rc = ctr_fail(&err);
		goto out;
	}
	/* getExecExitStatus */
	ipath = berth_strdup_printf("/exec/%s/json", exec_id);
	if (berth_client_json(&c->cl, "GET", ipath, NULL, &ins, &e) < 0) {
		if (e.kind == BERTH_E_UNAVAILABLE) {
			rc = 255;
		} else {
			ctr_daemon_msg(&e, &err);
			rc = ctr_fail(&err);
		}
		goto out;
	}
	rc = (int)json_integer_value(json_object_get(ins, "ExitCode"));
out:
	if (fd >= 0)
		close(fd);
	ctr_signals_stop(&sig);
	json_decref(info);
	json_decref(envj);
	free(exec_id);
	berth_strv_free(args);
	berth_strv_free(env);
	berth_strv_free(env_files);
	free(keys);
	free(user);
	free(workdir);
	return rc;
}
