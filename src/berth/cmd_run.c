/* run, create, start, attach: docker's flows (cli/command/container/run.go,
 * create.go, start.go, attach.go) over the Engine API. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "container_opts.h"
#include "ctr_common.h"
#include "hijack.h"
#include "pull.h"

/* ---- image references (enough of docker/distribution/reference) ---- */

/* reference.TagNameOnly + FamiliarString: "busybox" -> "busybox:latest",
 * "docker.io/library/busybox" -> "busybox:latest"; digests kept. */
static char *familiar_tagged(const char *image)
{
	const char *name = image;
	if (berth_str_has_prefix(name, "docker.io/"))
		name += 10;
	else if (berth_str_has_prefix(name, "index.docker.io/"))
		name += 16;
	if (name != image && berth_str_has_prefix(name, "library/") && !strchr(name + 8, '/'))
		name += 8;
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(name, ':');
	bool tagged = colon && (!slash || colon > slash);
	if (strchr(name, '@') || tagged)
		return strdup(name);
	return berth_strdup_printf("%s:latest", name);
}

/* reference.ParseAnyReference gives a Named reference (not a bare image ID). */
static bool is_named_ref(const char *image)
{
	const char *h = berth_str_has_prefix(image, "sha256:") ? image + 7 : image;
	return !(strlen(h) == 64 && berth_is_hex(h, 64));
}

/* Pull image; progress to stderr. err carries the message docker would show. */
static int pull_image(struct cli *c, const char *image, const char *platform, struct berth_error *err)
{
	struct berth_error e = {0};
	bool daemon_err = false;
	if (cli_pull_image(c, image, false, platform, stderr, false, &daemon_err, &e) == 0)
		return 0;
	if (daemon_err)
		ctr_daemon_msg(&e, err);
	else
		berth_err(err, e.kind ? e.kind : BERTH_E_INTERNAL, "%s", e.msg);
	return -1;
}

/* ---- create ---- */

static bool is_localhost_ip(const char *ip)
{
	return berth_str_has_prefix(ip, "127.") || !strcmp(ip, "::1") || berth_str_has_suffix(ip, "::1");
}

/* createContainer: warnings, cidfile, create, pull on "No such image" and
 * retry. Returns the ID (malloc'd) or NULL with err set to the text docker
 * shows ("Error response from daemon: ..." or a local message). */
static char *create_container(struct cli *c, struct ctr_create *cc, struct berth_error *err)
{
	json_t *hc = json_object_get(cc->body, "HostConfig");
	if (json_is_true(json_object_get(hc, "OomKillDisable")) &&
	    json_integer_value(json_object_get(hc, "Memory")) == 0)
		fprintf(stderr,
			"WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.\n");
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(hc, "Dns"), i, d) {
		if (is_localhost_ip(json_string_value(d))) {
			fprintf(stderr, "WARNING: Localhost DNS setting (--dns=%s) may fail in containers.\n",
				json_string_value(d));
			break;
		}
	}
	int cidfd = -1;
	cleanup_json json_t *resp = NULL;
	if (cc->cidfile) {
		struct stat st;
		if (stat(cc->cidfile, &st) == 0) {
			berth_err(err, BERTH_E_CONFLICT,
				  "container ID file found, make sure the other container isn't running or delete %s",
				  cc->cidfile);
			return NULL;
		}
		cidfd = open(cc->cidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (cidfd < 0) {
			berth_err(err, BERTH_E_INVALID, "failed to create the container ID file: open %s: %s",
				  cc->cidfile, strerror(errno));
			return NULL;
		}
	}
	struct berth_buf path = {0};
	berth_buf_printf(&path, "/containers/create");
	if (cc->name) {
		cleanup_free char *n = berth_urlencode(cc->name);
		berth_buf_printf(&path, "?name=%s", n);
	}
	if (!strcmp(cc->pull, "always")) {
		if (pull_image(c, cc->image, cc->platform, err) < 0)
			goto fail;
	}
	struct berth_error e = {0};
	if (berth_client_json(&c->cl, "POST", berth_buf_str(&path), cc->body, &resp, &e) < 0) {
		if (e.kind == BERTH_E_NOT_FOUND && !strcmp(cc->pull, "missing") && is_named_ref(cc->image)) {
			cleanup_free char *fam = familiar_tagged(cc->image);
			fprintf(stderr, "Unable to find image '%s' locally\n", fam);
			if (pull_image(c, cc->image, cc->platform, err) < 0)
				goto fail;
			if (berth_client_json(&c->cl, "POST", berth_buf_str(&path), cc->body, &resp, &e) < 0) {
				ctr_daemon_msg(&e, err);
				goto fail;
			}
		} else {
			ctr_daemon_msg(&e, err);
			goto fail;
		}
	}
	json_t *w;
	json_array_foreach(json_object_get(resp, "Warnings"), i, w)
		fprintf(stderr, "WARNING: %s\n", json_string_value(w));
	const char *id = json_string_value(json_object_get(resp, "Id"));
	if (!id) {
		berth_err(err, BERTH_E_INTERNAL, "invalid response from daemon: no Id");
		goto fail;
	}
	if (cidfd >= 0) {
		if (berth_write_all(cidfd, id, strlen(id)) < 0) {
			berth_err(err, BERTH_E_INTERNAL, "failed to write the container ID to the file: %s",
				  strerror(errno));
			close(cidfd);
			berth_buf_free(&path);
			return NULL;
		}
		close(cidfd);
	}
	berth_buf_free(&path);
	return strdup(id);
fail:
	berth_buf_free(&path);
	if (cidfd >= 0) {
		close(cidfd);
		unlink(cc->cidfile);
	}
	return NULL;
}

/* reportError: "berth: MSG.\nSee 'berth CMD --help'." */
static void report_error(struct cli *c, const char *msg, bool with_help)
{
	size_t l = strlen(msg);
	if (l && msg[l - 1] == '.')
		l--;
	fprintf(stderr, "berth: %.*s.\n", (int)l, msg);
	if (with_help)
		fprintf(stderr, "See '%s --help'.\n", c->cmdpath);
}

/* runStartContainerErr */
static int start_error_code(const char *msg)
{
	const char *m = msg;
	if (berth_str_has_prefix(m, "Error response from daemon: "))
		m += 28;
	if (strstr(m, "executable file not found") || strstr(m, "no such file or directory") ||
	    strstr(m, "system cannot find the file specified"))
		return 127;
	if (strstr(m, "permission denied"))
		return 126;
	return 125;
}

int cmd_create(struct cli *c, int argc, char **argv)
{
	struct ctr_create cc;
	struct berth_error err = {0};
	int pr = ctr_create_parse(c, argc, argv, false, &cc, &err);
	if (pr != CTR_PARSE_OK)
		return ctr_create_report(c, pr, &err);
	if (cc.platform)
		fprintf(stderr, "WARNING: --platform is ignored by berth (single-platform engine)\n");
	char *id = create_container(c, &cc, &err);
	int rc = 0;
	if (!id) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
	} else {
		printf("%s\n", id);
	}
	free(id);
	ctr_create_free(&cc);
	return rc;
}

/* ---- attach + wait, shared by run, start and attach ---- */

static int hijack_attach(struct cli *c, const char *id, bool in, bool out, bool errs, const char *keys,
			 struct berth_error *err)
{
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/containers/%s/attach?stream=1", id);
	if (in)
		berth_buf_printf(&q, "&stdin=1");
	if (out)
		berth_buf_printf(&q, "&stdout=1");
	if (errs)
		berth_buf_printf(&q, "&stderr=1");
	if (keys && *keys) {
		cleanup_free char *k = berth_urlencode(keys);
		berth_buf_printf(&q, "&detachKeys=%s", k);
	}
	struct berth_error e = {0};
	int fd = berth_client_hijack(&c->cl, "POST", berth_buf_str(&q), NULL, NULL, &e);
	berth_buf_free(&q);
	if (fd < 0)
		ctr_daemon_msg(&e, err);
	return fd;
}

static struct ctr_pending *wait_begin(struct cli *c, const char *id, const char *condition, struct berth_error *err)
{
	cleanup_free char *path = condition ? berth_strdup_printf("/containers/%s/wait?condition=%s", id, condition) :
					      berth_strdup_printf("/containers/%s/wait", id);
	struct berth_error e = {0};
	struct ctr_pending *p = ctr_request_begin(&c->cl, "POST", path, NULL, &e);
	if (!p)
		ctr_daemon_msg(&e, err);
	return p;
}

/* waitExitOrRemoved's result: the exit code, or 125 when waiting failed. */
static int wait_status(struct ctr_pending *p, struct ctr_signals *sig)
{
	if (!p)
		return 125;
	cleanup_json json_t *res = NULL;
	struct berth_error err = {0};
	if (ctr_request_finish(p, sig, &res, &err) < 0) {
		fprintf(stderr, "error waiting for container: %s\n", err.msg);
		return 125;
	}
	json_t *e = json_object_get(res, "Error");
	if (json_is_object(e) && json_string_value(json_object_get(e, "Message"))) {
		fprintf(stderr, "Error waiting for container: %s\n", json_string_value(json_object_get(e, "Message")));
		return 125;
	}
	return (int)json_integer_value(json_object_get(res, "StatusCode"));
}

/* ---- run ---- */

static int run_container(struct cli *c, struct ctr_create *cc)
{
	struct berth_error err = {0};
	if (!cc->detach) {
		if (ctr_check_tty(cc->attach_stdin, cc->tty))
			return 1;
	} else if (cc->attach_given) {
		fprintf(stderr, "Conflicting options: -a and -d\n");
		return 1;
	}
	char *id = create_container(c, cc, &err);
	if (!id) {
		report_error(c, err.msg, true);
		return start_error_code(err.msg);
	}
	int rc = 0;
	struct ctr_signals sig;
	ctr_signals_start(&sig, &c->cl, id, cc->sig_proxy, false);
	cleanup_free char *start = NULL;
	bool attach = cc->attach_stdin || cc->attach_stdout || cc->attach_stderr;
	int fd = -1;
	struct ctr_pending *wait = NULL;
	if (!cc->attach_stdout && !cc->attach_stderr) {
		printf("%s\n", id);
		fflush(stdout);
	}
	if (attach) {
		fd = hijack_attach(c, id, cc->attach_stdin, cc->attach_stdout, cc->attach_stderr, cc->detach_keys,
				   &err);
		if (fd < 0) {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
			goto out;
		}
	}
	if (!cc->detach) {
		wait = wait_begin(c, id, cc->auto_remove ? "removed" : "next-exit", &err);
		if (!wait)
			fprintf(stderr, "error waiting for container: %s\n", err.msg);
	}
	start = berth_strdup_printf("/containers/%s/start", id);
	if (ctr_post(c, start, NULL, &err) < 0) {
		report_error(c, err.msg, false);
		if (cc->auto_remove && wait)
			wait_status(wait, NULL);
		rc = start_error_code(err.msg);
		goto out;
	}
	if (attach && cc->tty && isatty(1))
		ctr_signals_monitor_tty(&sig, false);
	if (fd >= 0) {
		struct ctr_stream st = {.fd = fd,
					.tty = cc->tty,
					.in = cc->attach_stdin,
					.out = cc->attach_stdout,
					.err = cc->attach_stderr,
					.detach_check = cc->attach_stdin && cc->tty,
					.sig = &sig};
		ctr_stream_set_keys(&st, cc->detach_keys);
		int sr = ctr_stream_run(&st, &err);
		if (sr == CTR_STREAM_DETACHED)
			goto out; /* rc 0, the container keeps running */
		if (sr < 0) {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
			goto out;
		}
	}
	if (!cc->attach_stdout && !cc->attach_stderr)
		goto out;
	rc = wait_status(wait, &sig);
out:
	if (fd >= 0)
		close(fd);
	ctr_request_free(wait);
	ctr_signals_stop(&sig);
	free(id);
	return rc;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	struct ctr_create cc;
	struct berth_error err = {0};
	int pr = ctr_create_parse(c, argc, argv, true, &cc, &err);
	if (pr != CTR_PARSE_OK)
		return ctr_create_report(c, pr, &err);
	if (cc.platform)
		fprintf(stderr, "WARNING: --platform is ignored by berth (single-platform engine)\n");
	int rc = run_container(c, &cc);
	ctr_create_free(&cc);
	return rc;
}

/* ---- start ---- */

static int start_attached(struct cli *c, const char *name, bool open_stdin, const char *keys)
{
	struct berth_error err = {0};
	cleanup_json json_t *info = ctr_inspect(c, name, &err);
	if (!info)
		return ctr_fail(&err);
	const char *id = json_string_value(json_object_get(info, "Id"));
	json_t *cfg = json_object_get(info, "Config");
	bool tty = json_is_true(json_object_get(cfg, "Tty"));
	bool in = open_stdin && json_is_true(json_object_get(cfg, "OpenStdin"));
	bool auto_remove = json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove"));
	struct ctr_signals sig;
	ctr_signals_start(&sig, &c->cl, id, !tty, false);
	int rc = 0;
	cleanup_free char *start = NULL;
	struct ctr_pending *wait = NULL;
	int fd = hijack_attach(c, id, in, true, true, keys, &err);
	if (fd < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
		goto out;
	}
	wait = wait_begin(c, id, auto_remove ? "removed" : "next-exit", &err);
	if (!wait)
		fprintf(stderr, "error waiting for container: %s\n", err.msg);
	start = berth_strdup_printf("/containers/%s/start", id);
	if (ctr_post(c, start, NULL, &err) < 0) {
		if (auto_remove && wait)
			wait_status(wait, NULL);
		rc = ctr_fail(&err);
		goto out;
	}
	if (tty && isatty(1))
		ctr_signals_monitor_tty(&sig, false);
	struct ctr_stream st = {
		.fd = fd, .tty = tty, .in = in, .out = true, .err = true, .detach_check = in && tty, .sig = &sig};
	ctr_stream_set_keys(&st, keys);
	int sr = ctr_stream_run(&st, &err);
	if (sr == CTR_STREAM_DETACHED)
		goto out;
	if (sr < 0) {
		rc = ctr_fail(&err);
		goto out;
	}
	rc = wait_status(wait, &sig);
out:
	if (fd >= 0)
		close(fd);
	ctr_request_free(wait);
	ctr_signals_stop(&sig);
	return rc;
}

int cmd_start(struct cli *c, int argc, char **argv)
{
	bool attach = false, interactive = false;
	char *keys = NULL, *checkpoint = NULL, *checkpoint_dir = NULL;
	const struct cli_opt opts[] = {
		{"attach", 'a', OPT_BOOL, &attach, "Attach STDOUT/STDERR and forward signals"},
		{"checkpoint", 0, OPT_STR, &checkpoint, ""},
		{"checkpoint-dir", 0, OPT_STR, &checkpoint_dir, ""},
		{"detach-keys", 0, OPT_STR, &keys, "Override the key sequence for detaching a container"},
		{"interactive", 'i', OPT_BOOL, &interactive, "Attach container's STDIN"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = 0;
	if (!args) {
		ctr_args_error(c, "requires at least 1 argument");
		rc = 1;
	} else if (attach || interactive) {
		if (args[1]) {
			fprintf(stderr, "you cannot start and attach multiple containers at once\n");
			rc = 1;
		} else {
			rc = start_attached(c, args[0], interactive, keys);
		}
	} else {
		struct berth_buf failed = {0};
		for (size_t i = 0; args[i]; i++) {
			cleanup_free char *path = berth_strdup_printf("/containers/%s/start", args[i]);
			struct berth_error msg = {0};
			if (ctr_post(c, path, NULL, &msg) < 0) {
				fprintf(stderr, "%s\n", msg.msg);
				berth_buf_printf(&failed, "%s%s", failed.len ? ", " : "", args[i]);
				continue;
			}
			printf("%s\n", args[i]);
		}
		if (failed.len) {
			fprintf(stderr, "Error: failed to start containers: %s\n", berth_buf_str(&failed));
			rc = 1;
		}
		berth_buf_free(&failed);
	}
	berth_strv_free(args);
	free(keys);
	free(checkpoint);
	free(checkpoint_dir);
	return rc;
}

/* ---- attach ---- */

static bool state_check(json_t *info, struct berth_error *err)
{
	json_t *st = json_object_get(info, "State");
	if (!json_is_true(json_object_get(st, "Running"))) {
		berth_err(err, BERTH_E_CONFLICT, "You cannot attach to a stopped container, start it first");
		return false;
	}
	if (json_is_true(json_object_get(st, "Paused"))) {
		berth_err(err, BERTH_E_CONFLICT, "You cannot attach to a paused container, unpause it first");
		return false;
	}
	if (json_is_true(json_object_get(st, "Restarting"))) {
		berth_err(err, BERTH_E_CONFLICT,
			  "You cannot attach to a restarting container, wait until it is running");
		return false;
	}
	return true;
}

int cmd_attach(struct cli *c, int argc, char **argv)
{
	bool no_stdin = false, proxy = true;
	char *keys = NULL;
	const struct cli_opt opts[] = {
		{"detach-keys", 0, OPT_STR, &keys, "Override the key sequence for detaching a container"},
		{"no-stdin", 0, OPT_BOOL, &no_stdin, "Do not attach STDIN"},
		{"sig-proxy", 0, OPT_BOOL, &proxy, "Proxy all received signals to the process (default true)"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = 0, fd = -1;
	struct berth_error err = {0};
	struct ctr_pending *wait = NULL;
	json_t *info = NULL;
	struct ctr_signals sig = {.fd = -1};
	cleanup_json json_t *res = NULL;
	if (berth_strv_len(args) != 1) {
		ctr_args_error(c, "requires exactly 1 argument");
		rc = 1;
		goto out;
	}
	info = ctr_inspect(c, args[0], &err);
	if (!info) {
		rc = ctr_fail(&err);
		goto out;
	}
	if (!state_check(info, &err)) {
		rc = ctr_fail(&err);
		goto out;
	}
	json_t *cfg = json_object_get(info, "Config");
	bool tty = json_is_true(json_object_get(cfg, "Tty"));
	if (ctr_check_tty(!no_stdin, tty)) {
		rc = 1;
		goto out;
	}
	bool in = !no_stdin && json_is_true(json_object_get(cfg, "OpenStdin"));
	const char *id = json_string_value(json_object_get(info, "Id"));
	wait = wait_begin(c, id, NULL, &err);
	if (!wait) {
		rc = ctr_fail(&err);
		goto out;
	}
	ctr_signals_start(&sig, &c->cl, id, proxy && !tty, false);
	fd = hijack_attach(c, args[0], in, true, true, keys, &err);
	if (fd < 0) {
		rc = ctr_fail(&err);
		goto out;
	}
	json_decref(info);
	info = ctr_inspect(c, args[0], &err);
	if (!info || !state_check(info, &err)) {
		rc = ctr_fail(&err);
		goto out;
	}
	if (tty && isatty(1))
		ctr_signals_monitor_tty(&sig, true);
	struct ctr_stream st = {
		.fd = fd, .tty = tty, .in = in, .out = true, .err = true, .detach_check = in && tty, .sig = &sig};
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
	if (ctr_request_finish(wait, &sig, &res, &err) < 0) {
		rc = ctr_fail(&err);
		goto out;
	}
	json_t *we = json_object_get(res, "Error");
	if (json_is_object(we) && json_string_value(json_object_get(we, "Message"))) {
		fprintf(stderr, "%s\n", json_string_value(json_object_get(we, "Message")));
		rc = 1;
	} else {
		rc = (int)json_integer_value(json_object_get(res, "StatusCode"));
	}
out:
	if (fd >= 0)
		close(fd);
	ctr_request_free(wait);
	ctr_signals_stop(&sig);
	json_decref(info);
	berth_strv_free(args);
	free(keys);
	return rc;
}
