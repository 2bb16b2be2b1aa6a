/* Container commands without streams of their own: stop, kill, restart, rm,
 * logs, wait, top, pause, unpause, rename, port, container prune; the
 * command table for the container family. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "container_opts.h"
#include "ctr_common.h"
#include "format/table.h"
#include "format/units.h"
#include "output.h"
#include "stdcopy.h"

/* ---- shared helpers ---- */

void ctr_daemon_msg(const struct berth_error *in, struct berth_error *out)
{
	struct berth_error copy = *in;
	if (copy.kind == BERTH_E_UNAVAILABLE &&
	    (strstr(copy.msg, "Cannot connect") || strstr(copy.msg, "error during connect")))
		berth_err(out, copy.kind, "%s", copy.msg);
	else
		berth_err(out, copy.kind, "Error response from daemon: %s", copy.msg);
}

json_t *ctr_inspect(struct cli *c, const char *id, struct berth_error *err)
{
	cleanup_free char *path = berth_strdup_printf("/containers/%s/json", id);
	json_t *out = NULL;
	struct berth_error e = {0};
	if (berth_client_json(&c->cl, "GET", path, NULL, &out, &e) < 0) {
		if (e.kind == BERTH_E_NOT_FOUND)
			berth_err(err, BERTH_E_NOT_FOUND, "Error: No such container: %s", id);
		else
			ctr_daemon_msg(&e, err);
		return NULL;
	}
	return out;
}

int ctr_fail(const struct berth_error *err)
{
	fprintf(stderr, "%s\n", err->msg);
	return 1;
}

int ctr_check_tty(bool attach_stdin, bool tty)
{
	if (tty && attach_stdin && !isatty(0)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return 1;
	}
	return 0;
}

/* Run op on each container; print the name on success, collect the errors
 * and print them at the end (docker's parallelOperation pattern). */
typedef int (*ctr_op)(struct cli *c, const char *name, void *ctx, struct berth_error *err);

/* the collected errors to stderr: 1 if any */
static int report_errs(struct berth_buf *errs)
{
	int rc = 0;
	if (errs->len) {
		fprintf(stderr, "%s\n", berth_buf_str(errs));
		rc = 1;
	}
	berth_buf_free(errs);
	return rc;
}

static int each_container(struct cli *c, char **names, ctr_op op, void *ctx)
{
	struct berth_buf errs = {0};
	for (size_t i = 0; names && names[i]; i++) {
		struct berth_error err = {0};
		int r = op(c, names[i], ctx, &err);
		if (r < 0) {
			berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", err.msg);
			continue;
		}
		if (r == 0)
			printf("%s\n", names[i]);
	}
	fflush(stdout);
	return report_errs(&errs);
}

/* The same with up to 50 operations at a time (docker's parallelOperation,
 * used by rm): results are reported in the order of the names; an op that
 * returns 1 with a message has it printed to stderr, no failure. */
struct par_job {
	struct cli *c;
	const char *name;
	ctr_op op;
	void *ctx;
	int r;
	struct berth_error err;
	bool done;
	pthread_t t;
};

static void *par_main(void *arg)
{
	struct par_job *j = arg;
	j->r = j->op(j->c, j->name, j->ctx, &j->err);
	return NULL;
}

static int each_container_parallel(struct cli *c, char **names, ctr_op op, void *ctx)
{
	size_t n = berth_strv_len(names);
	struct par_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (!jobs)
		return each_container(c, names, op, ctx);
	enum { PAR_MAX = 50 };
	struct berth_buf errs = {0};
	size_t next = 0;
	for (size_t i = 0; i < n; i++) {
		/* keep up to PAR_MAX running ahead of the one reported next */
		for (; next < n && next < i + PAR_MAX; next++) {
			jobs[next] = (struct par_job){.c = c, .name = names[next], .op = op, .ctx = ctx};
			if (n == 1 || pthread_create(&jobs[next].t, NULL, par_main, &jobs[next]) != 0)
				par_main(&jobs[next]); /* no thread: run it here */
			else
				jobs[next].done = true;
		}
		if (jobs[i].done)
			pthread_join(jobs[i].t, NULL);
		if (jobs[i].r < 0) {
			berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", jobs[i].err.msg);
			continue;
		}
		if (jobs[i].r == 0) {
			printf("%s\n", names[i]);
			fflush(stdout);
		} else if (jobs[i].err.msg[0]) { /* reported, no failure (rm -f of a missing one) */
			fprintf(stderr, "%s\n", jobs[i].err.msg);
		}
	}
	free(jobs);
	return report_errs(&errs);
}

int ctr_post(struct cli *c, const char *path, json_t *body, struct berth_error *err)
{
	struct berth_response resp;
	struct berth_error e = {0};
	if (berth_client_do(&c->cl, "POST", path, body, NULL, NULL, NULL, NULL, &resp, &e) < 0) {
		ctr_daemon_msg(&e, err);
		return -1;
	}
	int rc = 0;
	/* like docker's client, only >= 400 is an error (304: already started/stopped) */
	if (resp.status >= 400) {
		berth_client_error(&resp, &e);
		ctr_daemon_msg(&e, err);
		rc = -1;
	}
	berth_response_free(&resp);
	return rc;
}

static int post(struct cli *c, const char *path, struct berth_error *err) { return ctr_post(c, path, NULL, err); }

static int need_args(struct cli *c, char **args, size_t min)
{
	if (berth_strv_len(args) >= min)
		return 0;
	ctr_args_error(c, min == 1 ? "requires at least 1 argument" : "requires at least 2 arguments");
	return 1;
}

/* ---- stop / restart / kill / pause / unpause ---- */

struct timeout_ctx {
	const char *verb;
	long long t;
};

static int op_timeout(struct cli *c, const char *name, void *ctx, struct berth_error *err)
{
	struct timeout_ctx *tc = ctx;
	cleanup_free char *path = tc->t == LLONG_MIN ?
					  berth_strdup_printf("/containers/%s/%s", name, tc->verb) :
					  berth_strdup_printf("/containers/%s/%s?t=%lld", name, tc->verb, tc->t);
	return post(c, path, err);
}

static int stop_or_restart(struct cli *c, int argc, char **argv, const char *verb)
{
	long long t = LLONG_MIN;
	const struct cli_opt opts[] = {
		{"time", 't', OPT_INT, &t, "Seconds to wait for stop before killing it (default 10)"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = need_args(c, args, 1);
	if (!rc) {
		struct timeout_ctx tc = {verb, t};
		rc = each_container(c, args, op_timeout, &tc);
	}
	berth_strv_free(args);
	return rc;
}

static int cmd_stop(struct cli *c, int argc, char **argv) { return stop_or_restart(c, argc, argv, "stop"); }
static int cmd_restart(struct cli *c, int argc, char **argv) { return stop_or_restart(c, argc, argv, "restart"); }

static int op_kill(struct cli *c, const char *name, void *ctx, struct berth_error *err)
{
	cleanup_free char *sig = berth_urlencode((const char *)ctx);
	cleanup_free char *path = berth_strdup_printf("/containers/%s/kill?signal=%s", name, sig);
	return post(c, path, err);
}

static int cmd_kill(struct cli *c, int argc, char **argv)
{
	char *signal = NULL;
	const struct cli_opt opts[] = {
		{"signal", 's', OPT_STR, &signal, "Signal to send to the container (default \"KILL\")"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = need_args(c, args, 1);
	if (!rc)
		rc = each_container(c, args, op_kill, signal ? signal : "KILL");
	berth_strv_free(args);
	free(signal);
	return rc;
}

static int op_verb(struct cli *c, const char *name, void *ctx, struct berth_error *err)
{
	cleanup_free char *path = berth_strdup_printf("/containers/%s/%s", name, (const char *)ctx);
	return post(c, path, err);
}

static int simple_verb(struct cli *c, int argc, char **argv, const char *verb)
{
	const struct cli_opt opts[] = {CTR_END_OPTS};
	CTR_PARSE(opts, false);
	int rc = need_args(c, args, 1);
	if (!rc)
		rc = each_container(c, args, op_verb, (void *)verb);
	berth_strv_free(args);
	return rc;
}

static int cmd_pause(struct cli *c, int argc, char **argv) { return simple_verb(c, argc, argv, "pause"); }
static int cmd_unpause(struct cli *c, int argc, char **argv) { return simple_verb(c, argc, argv, "unpause"); }

/* ---- rm ---- */

struct rm_ctx {
	bool force, volumes, link;
};

static int op_rm(struct cli *c, const char *name, void *ctx, struct berth_error *err)
{
	struct rm_ctx *rc = ctx;
	/* strings.Trim(name, "/") */
	while (*name == '/')
		name++;
	size_t l = strlen(name);
	while (l && name[l - 1] == '/')
		l--;
	if (!l)
		return berth_err(err, BERTH_E_INVALID, "Container name cannot be empty");
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/containers/%.*s?", (int)l, name);
	if (rc->force)
		berth_buf_printf(&q, "force=1&");
	if (rc->link)
		berth_buf_printf(&q, "link=1&");
	if (rc->volumes)
		berth_buf_printf(&q, "v=1&");
	q.data[--q.len] = '\0';
	struct berth_error e = {0};
	int r = berth_client_json(&c->cl, "DELETE", berth_buf_str(&q), NULL, NULL, &e);
	berth_buf_free(&q);
	if (r == 0)
		return 0;
	if (e.kind == BERTH_E_NOT_FOUND) {
		berth_err(err, e.kind, "Error: No such container: %.*s", (int)l, name);
		if (rc->force)
			return 1; /* -f: missing containers are reported but are no failure */
		return -1;
	}
	ctr_daemon_msg(&e, err);
	return -1;
}

static int cmd_rm(struct cli *c, int argc, char **argv)
{
	struct rm_ctx rc = {0};
	const struct cli_opt opts[] = {
		{"force", 'f', OPT_BOOL, &rc.force, "Force the removal of a running container (uses SIGKILL)"},
		{"link", 'l', OPT_BOOL, &rc.link, "Remove the specified link"},
		{"volumes", 'v', OPT_BOOL, &rc.volumes, "Remove anonymous volumes associated with the container"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int r = need_args(c, args, 1);
	if (!r)
		r = each_container_parallel(c, args, op_rm, &rc);
	berth_strv_free(args);
	return r;
}

/* ---- logs ---- */

struct logs_ctx {
	bool tty;
	struct berth_stdcopy sc;
	struct berth_error err;
	bool failed;
};

static int logs_write(void *ctx, int stream, const char *data, size_t len)
{
	(void)ctx;
	return berth_write_all(stream == 2 ? 2 : 1, data, len);
}

static int logs_data(void *ctx, const char *data, size_t len)
{
	struct logs_ctx *lc = ctx;
	if (lc->tty)
		return berth_write_all(1, data, len);
	if (berth_stdcopy_feed(&lc->sc, data, len, &lc->err) < 0) {
		lc->failed = true;
		return -1;
	}
	return 0;
}

static int cmd_logs(struct cli *c, int argc, char **argv)
{
	bool follow = false, timestamps = false, details = false;
	char *since = NULL, *until = NULL, *tail = NULL;
	const struct cli_opt opts[] = {
		{"details", 0, OPT_BOOL, &details, "Show extra details provided to logs"},
		{"follow", 'f', OPT_BOOL, &follow, "Follow log output"},
		{"since", 0, OPT_STR, &since,
		 "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)"},
		{"tail", 'n', OPT_STR, &tail, "Number of lines to show from the end of the logs (default \"all\")"},
		{"timestamps", 't', OPT_BOOL, &timestamps, "Show timestamps"},
		{"until", 0, OPT_STR, &until,
		 "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = 0;
	struct berth_error err = {0};
	json_t *info = NULL;
	struct berth_buf q = {0};
	struct logs_ctx lc = {0};
	cleanup_free char *t = NULL;
	berth_stdcopy_init(&lc.sc, logs_write, NULL);
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
	lc.tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	berth_buf_printf(&q, "/containers/%s/logs?stdout=1&stderr=1", json_string_value(json_object_get(info, "Id")));
	const char *times[2][2] = {{"since", since}, {"until", until}};
	for (int i = 0; i < 2; i++) {
		if (!times[i][1] || !*times[i][1])
			continue;
		char ts[64];
		if (berth_get_timestamp(times[i][1], berth_now_ns(), ts, sizeof(ts), &err) < 0) {
			fprintf(stderr, "invalid value for \"%s\": %s\n", times[i][0], err.msg);
			rc = 1;
			goto out;
		}
		berth_buf_printf(&q, "&%s=%s", times[i][0], ts);
	}
	if (timestamps)
		berth_buf_printf(&q, "&timestamps=1");
	if (details)
		berth_buf_printf(&q, "&details=1");
	if (follow)
		berth_buf_printf(&q, "&follow=1");
	t = berth_urlencode(tail ? tail : "all");
	berth_buf_printf(&q, "&tail=%s", t);
	fflush(stdout);
	struct berth_response resp;
	struct berth_error e = {0};
	if (berth_client_do(&c->cl, "GET", berth_buf_str(&q), NULL, NULL, NULL, logs_data, &lc, &resp, &e) < 0) {
		ctr_daemon_msg(&e, &err);
		rc = ctr_fail(&err);
	} else if (resp.status >= 300) {
		berth_client_error(&resp, &e);
		ctr_daemon_msg(&e, &err);
		rc = ctr_fail(&err);
	} else if (lc.failed) {
		rc = ctr_fail(&lc.err);
	}
	berth_response_free(&resp);
out:
	berth_stdcopy_free(&lc.sc);
	berth_buf_free(&q);
	json_decref(info);
	berth_strv_free(args);
	free(since);
	free(until);
	free(tail);
	return rc;
}

/* ---- wait ---- */

static int cmd_wait(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {CTR_END_OPTS};
	CTR_PARSE(opts, false);
	int rc = need_args(c, args, 1);
	struct berth_buf errs = {0};
	for (size_t i = 0; !rc && args[i]; i++) {
		cleanup_free char *path = berth_strdup_printf("/containers/%s/wait", args[i]);
		cleanup_json json_t *res = NULL;
		struct berth_error e = {0}, msg = {0};
		if (berth_client_json(&c->cl, "POST", path, NULL, &res, &e) < 0) {
			ctr_daemon_msg(&e, &msg);
			berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", msg.msg);
			continue;
		}
		printf("%lld\n", (long long)json_integer_value(json_object_get(res, "StatusCode")));
		fflush(stdout);
	}
	if (errs.len) {
		fprintf(stderr, "%s\n", berth_buf_str(&errs));
		rc = 1;
	}
	berth_buf_free(&errs);
	berth_strv_free(args);
	return rc;
}

/* ---- top ---- */

static int cmd_top(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {CTR_END_OPTS};
	CTR_PARSE(opts, true);
	int rc = need_args(c, args, 1);
	if (rc) {
		berth_strv_free(args);
		return rc;
	}
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/containers/%s/top", args[0]);
	if (args[1]) {
		struct berth_buf ps = {0};
		for (size_t i = 1; args[i]; i++)
			berth_buf_printf(&ps, "%s%s", i > 1 ? " " : "", args[i]);
		cleanup_free char *e = berth_urlencode(berth_buf_str(&ps));
		berth_buf_printf(&q, "?ps_args=%s", e);
		berth_buf_free(&ps);
	}
	cleanup_json json_t *res = NULL;
	struct berth_error e = {0}, msg = {0};
	if (berth_client_json(&c->cl, "GET", berth_buf_str(&q), NULL, &res, &e) < 0) {
		ctr_daemon_msg(&e, &msg);
		rc = ctr_fail(&msg);
	} else {
		struct berth_buf out = {0};
		struct berth_tabwriter *tw = berth_tabwriter_new(&out, 20, 1, 3, ' ', 0);
		json_t *titles = json_object_get(res, "Titles"), *procs = json_object_get(res, "Processes");
		size_t i, k;
		json_t *v, *p;
		json_array_foreach(titles, i, v) {
			berth_tabwriter_puts(tw, i ? "\t" : "");
			berth_tabwriter_puts(tw, json_string_value(v) ? json_string_value(v) : "");
		}
		berth_tabwriter_puts(tw, "\n");
		json_array_foreach(procs, k, p) {
			json_array_foreach(p, i, v) {
				berth_tabwriter_puts(tw, i ? "\t" : "");
				berth_tabwriter_puts(tw, json_string_value(v) ? json_string_value(v) : "");
			}
			berth_tabwriter_puts(tw, "\n");
		}
		berth_tabwriter_flush(tw);
		berth_tabwriter_free(tw);
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		berth_buf_free(&out);
	}
	berth_buf_free(&q);
	berth_strv_free(args);
	return rc;
}

/* ---- rename ---- */

static int cmd_rename(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {CTR_END_OPTS};
	CTR_PARSE(opts, false);
	int rc = 0;
	if (berth_strv_len(args) != 2) {
		ctr_args_error(c, "requires exactly 2 arguments");
		berth_strv_free(args);
		return 1;
	}
	cleanup_free char *old = strdup(args[0]), *new = strdup(args[1]);
	char *o = old, *n = new;
	while (*o == ' ' || *o == '\t' || *o == '\n')
		o++;
	while (*n == ' ' || *n == '\t' || *n == '\n')
		n++;
	for (size_t l = strlen(o); l && (o[l - 1] == ' ' || o[l - 1] == '\t' || o[l - 1] == '\n'); l--)
		o[l - 1] = '\0';
	for (size_t l = strlen(n); l && (n[l - 1] == ' ' || n[l - 1] == '\t' || n[l - 1] == '\n'); l--)
		n[l - 1] = '\0';
	if (!*o || !*n) {
		fprintf(stderr, "Error: Neither old nor new names may be empty\n");
		rc = 1;
	} else {
		cleanup_free char *en = berth_urlencode(n);
		cleanup_free char *path = berth_strdup_printf("/containers/%s/rename?name=%s", o, en);
		struct berth_error err = {0};
		if (post(c, path, &err) < 0) {
			fprintf(stderr, "%s\nError: failed to rename container named %s\n", err.msg, o);
			rc = 1;
		}
	}
	berth_strv_free(args);
	return rc;
}

/* ---- port ---- */

static int cmd_port(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {CTR_END_OPTS};
	CTR_PARSE(opts, false);
	int rc = 0;
	size_t n = berth_strv_len(args);
	json_t *info = NULL;
	struct berth_error err = {0};
	if (n < 1 || n > 2) {
		ctr_args_error(c, n < 1 ? "requires at least 1 argument" : "requires at most 2 arguments");
		rc = 1;
		goto out;
	}
	info = ctr_inspect(c, args[0], &err);
	if (!info) {
		rc = ctr_fail(&err);
		goto out;
	}
	json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
	if (n == 2) {
		cleanup_free char *port = strdup(args[1]);
		const char *proto = "tcp";
		char *slash = strchr(port, '/');
		if (slash && slash[1]) {
			*slash = '\0';
			proto = slash + 1;
		} else if (slash) {
			*slash = '\0';
		}
		char *end;
		long pn = strtol(port, &end, 10);
		if (!*port || *end || pn < 0 || pn > 65535) {
			fprintf(stderr, "Invalid containerPort: %s\n", port);
			rc = 1;
			goto out;
		}
		cleanup_free char *key = berth_strdup_printf("%s/%s", port, proto);
		json_t *fe = json_object_get(ports, key);
		if (json_is_array(fe)) {
			size_t i;
			json_t *f;
			json_array_foreach(fe, i, f)
				printf("%s:%s\n", json_string_value(json_object_get(f, "HostIp")),
				       json_string_value(json_object_get(f, "HostPort")));
			goto out;
		}
		fprintf(stderr, "Error: No public port '%s' published for %s\n", key, args[0]);
		rc = 1;
		goto out;
	}
	const char *k;
	json_t *fe;
	json_object_foreach(ports, k, fe) {
		size_t i;
		json_t *f;
		json_array_foreach(fe, i, f)
			printf("%s -> %s:%s\n", k, json_string_value(json_object_get(f, "HostIp")),
			       json_string_value(json_object_get(f, "HostPort")));
	}
out:
	json_decref(info);
	berth_strv_free(args);
	return rc;
}

/* ---- container prune ---- */

static int cmd_container_prune(struct cli *c, int argc, char **argv)
{
	bool force = false;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 0, OPT_LIST, &filters, "Provide filter values (e.g. 'until=<timestamp>')"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = 0;
	cleanup_json json_t *res = NULL;
	if (args) {
		ctr_args_error(c, "accepts no arguments");
		rc = 1;
		goto out;
	}
	if (!force) {
		printf("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
		fflush(stdout);
		char line[64] = "";
		if (!fgets(line, sizeof(line), stdin) ||
		    !((line[0] == 'y' || line[0] == 'Y') && (line[1] == '\n' || !line[1])))
			goto out;
	}
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/containers/prune");
	if (filters) {
		cleanup_free char *f = output_filters_query(filters);
		berth_buf_printf(&q, "?filters=%s", f);
	}
	struct berth_error e = {0}, msg = {0};
	int r = berth_client_json(&c->cl, "POST", berth_buf_str(&q), NULL, &res, &e);
	berth_buf_free(&q);
	if (r < 0) {
		ctr_daemon_msg(&e, &msg);
		rc = ctr_fail(&msg);
		goto out;
	}
	json_t *del = json_object_get(res, "ContainersDeleted");
	long long space = 0;
	if (json_array_size(del)) {
		printf("Deleted Containers:\n");
		size_t i;
		json_t *d;
		json_array_foreach(del, i, d)
			printf("%s\n", json_string_value(d));
		printf("\n");
		space = json_integer_value(json_object_get(res, "SpaceReclaimed"));
	}
	char sz[32];
	berth_human_size((double)space, sz, sizeof(sz));
	printf("Total reclaimed space: %s\n", sz);
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	return rc;
}

const struct cli_cmd cli_cmds_containers[] = {
	{"attach", cmd_attach, NULL, "Attach local standard input, output, and error streams to a running container"},
	{"container attach", cmd_attach, NULL, NULL},
	{"create", cmd_create, NULL, "Create a new container"},
	{"container create", cmd_create, NULL, NULL},
	{"exec", cmd_exec, NULL, "Run a command in a running container"},
	{"container exec", cmd_exec, NULL, NULL},
	{"kill", cmd_kill, NULL, "Kill one or more running containers"},
	{"container kill", cmd_kill, NULL, NULL},
	{"logs", cmd_logs, NULL, "Fetch the logs of a container"},
	{"container logs", cmd_logs, NULL, NULL},
	{"pause", cmd_pause, NULL, "Pause all processes within one or more containers"},
	{"container pause", cmd_pause, NULL, NULL},
	{"port", cmd_port, NULL, "List port mappings or a specific mapping for the container"},
	{"container port", cmd_port, NULL, NULL},
	{"ps", cmd_ps, NULL, "List containers"},
	{"container ls", cmd_ps, NULL, NULL},
	{"container list", cmd_ps, NULL, NULL},
	{"container ps", cmd_ps, NULL, NULL},
	{"container prune", cmd_container_prune, NULL, NULL},
	{"rename", cmd_rename, NULL, "Rename a container"},
	{"container rename", cmd_rename, NULL, NULL},
	{"restart", cmd_restart, NULL, "Restart one or more containers"},
	{"container restart", cmd_restart, NULL, NULL},
	{"rm", cmd_rm, NULL, "Remove one or more containers"},
	{"container rm", cmd_rm, NULL, NULL},
	{"container remove", cmd_rm, NULL, NULL},
	{"run", cmd_run, NULL, "Run a command in a new container"},
	{"container run", cmd_run, NULL, NULL},
	{"start", cmd_start, NULL, "Start one or more stopped containers"},
	{"container start", cmd_start, NULL, NULL},
	{"stop", cmd_stop, NULL, "Stop one or more running containers"},
	{"container stop", cmd_stop, NULL, NULL},
	{"top", cmd_top, NULL, "Display the running processes of a container"},
	{"container top", cmd_top, NULL, NULL},
	{"unpause", cmd_unpause, NULL, "Unpause all processes within one or more containers"},
	{"container unpause", cmd_unpause, NULL, NULL},
	{"wait", cmd_wait, NULL, "Block until one or more containers stop, then print their exit codes"},
	{"container wait", cmd_wait, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
