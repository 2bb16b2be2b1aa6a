/* version, info, events, system df */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "cmd_check.h"
#include "common/cleanup.h"
#include "format/template.h"
#include "output.h"

static void kv(const char *indent, const char *k, const char *v, int width)
{
	printf("%s%s:%*s%s\n", indent, k, (int)(width - strlen(k)), "", v ? v : "");
}

static const char *js(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int cmd_version(struct cli *c, int argc, char **argv)
{
	char *format = NULL;
	const struct cli_opt opts[] = {
		{"format", 'f', OPT_STR, &format, "Format the output using the given Go template"},
		{NULL, 0, 0, NULL, NULL}};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	berth_strv_free(args);
	if (pr)
		return pr < 0 ? 125 : 0;
	struct utsname u;
	uname(&u);
	struct berth_error err = {0};
	cleanup_json json_t *sv = NULL;
	int rc = berth_client_json(&c->cl, "GET", "/version", NULL, &sv, &err);
	const char *arch = !strcmp(u.machine, "x86_64") ? "amd64" : u.machine;
	if (format) {
		json_t *client = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Version", BERTH_VERSION,
					   "ApiVersion", "1.41", "DefaultAPIVersion", "1.41", "GitCommit", "berth",
					   "GoVersion", "none (C17)", "Os", "linux", "Arch", arch);
		cleanup_json json_t *all = json_pack("{s:o, s:O}", "Client", client, "Server", sv ? sv : json_null());
		int r = output_template(format, all);
		free(format);
		if (rc < 0)
			return cli_daemon_error(c, &err);
		return r;
	}
	printf("Client:\n");
	kv(" ", "Version", BERTH_VERSION, 18);
	kv(" ", "API version", "1.41", 18);
	kv(" ", "Go version", "none (C17)", 18);
	kv(" ", "Git commit", "berth", 18);
	kv(" ", "Built", __DATE__ " " __TIME__, 18);
	char osarch[160];
	snprintf(osarch, sizeof(osarch), "linux/%s", arch);
	kv(" ", "OS/Arch", osarch, 18);
	kv(" ", "Context", "default", 18);
	kv(" ", "Experimental", "true", 18);
	if (rc < 0) {
		printf("\n");
		return cli_daemon_error(c, &err);
	}
	printf("\nServer: %s\n",
	       js(json_object_get(sv, "Platform"), "Name") ? js(json_object_get(sv, "Platform"), "Name") : "");
	size_t i;
	json_t *comp;
	json_array_foreach(json_object_get(sv, "Components"), i, comp) {
		json_t *det = json_object_get(comp, "Details");
		printf(" %s:\n", js(comp, "Name"));
		kv("  ", "Version", js(comp, "Version"), 17);
		if (!strcmp(js(comp, "Name") ? js(comp, "Name") : "", "Engine")) {
			char api[160];
			snprintf(api, sizeof(api), "%s (minimum version %s)", js(det, "ApiVersion"),
				 js(det, "MinAPIVersion"));
			kv("  ", "API version", api, 17);
			kv("  ", "Go version", js(det, "GoVersion"), 17);
			kv("  ", "Git commit", js(det, "GitCommit"), 17);
			kv("  ", "Built", js(det, "BuildTime"), 17);
			snprintf(osarch, sizeof(osarch), "%s/%s", js(det, "Os"), js(det, "Arch"));
			kv("  ", "OS/Arch", osarch, 17);
			kv("  ", "Experimental", js(det, "Experimental"), 17);
		} else {
			kv("  ", "GitCommit", js(det, "GitCommit"), 17);
		}
	}
	return 0;
}

static void print_info(json_t *in)
{
	printf("Server:\n");
	printf(" Containers: %lld\n", json_integer_value(json_object_get(in, "Containers")));
	printf("  Running: %lld\n", json_integer_value(json_object_get(in, "ContainersRunning")));
	printf("  Paused: %lld\n", json_integer_value(json_object_get(in, "ContainersPaused")));
	printf("  Stopped: %lld\n", json_integer_value(json_object_get(in, "ContainersStopped")));
	printf(" Images: %lld\n", json_integer_value(json_object_get(in, "Images")));
	printf(" Server Version: %s\n", js(in, "ServerVersion"));
	printf(" Storage Driver: %s\n", js(in, "Driver"));
	size_t i;
	json_t *pair;
	json_array_foreach(json_object_get(in, "DriverStatus"), i, pair)
		printf("  %s: %s\n", json_string_value(json_array_get(pair, 0)),
		       json_string_value(json_array_get(pair, 1)));
	printf(" Logging Driver: %s\n", js(in, "LoggingDriver"));
	printf(" Cgroup Driver: %s\n", js(in, "CgroupDriver"));
	printf(" Cgroup Version: %s\n", js(in, "CgroupVersion"));
	printf(" Plugins:\n");
	static const char *const kinds[] = {"Volume", "Network", "Log", NULL};
	for (int k = 0; kinds[k]; k++) {
		printf("  %s:", kinds[k]);
		json_t *e;
		json_array_foreach(json_object_get(json_object_get(in, "Plugins"), kinds[k]), i, e)
			printf(" %s", json_string_value(e));
		printf("\n");
	}
	printf(" Swarm: inactive\n");
	printf(" Runtimes:");
	const char *rk;
	json_t *rv;
	json_object_foreach(json_object_get(in, "Runtimes"), rk, rv)
		printf(" %s", rk);
	printf("\n Default Runtime: %s\n", js(in, "DefaultRuntime"));
	printf(" Init Binary: %s\n", js(in, "InitBinary"));
	printf(" Security Options:\n");
	json_t *so;
	json_array_foreach(json_object_get(in, "SecurityOptions"), i, so) {
		const char *s = json_string_value(so);
		cleanup_free char *copy = strdup(s ? s : "");
		char *save = NULL;
		bool first = true;
		for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(part, '=');
			if (!eq)
				continue;
			*eq = '\0';
			if (first && !strcmp(part, "name"))
				printf("  %s\n", eq + 1);
			else
				printf("   %c%s: %s\n", part[0] - 32, part + 1, eq + 1);
			first = false;
		}
	}
	printf(" Kernel Version: %s\n", js(in, "KernelVersion"));
	printf(" Operating System: %s\n", js(in, "OperatingSystem"));
	printf(" OSType: %s\n", js(in, "OSType"));
	printf(" Architecture: %s\n", js(in, "Architecture"));
	printf(" CPUs: %lld\n", json_integer_value(json_object_get(in, "NCPU")));
	char mem[32];
	output_bytes_size(json_integer_value(json_object_get(in, "MemTotal")), mem, sizeof(mem));
	printf(" Total Memory: %s\n", mem);
	printf(" Name: %s\n", js(in, "Name"));
	printf(" ID: %s\n", js(in, "ID"));
	printf(" Docker Root Dir: %s\n", js(in, "DockerRootDir"));
	printf(" Debug Mode: %s\n", json_is_true(json_object_get(in, "Debug")) ? "true" : "false");
	json_t *labels = json_object_get(in, "Labels");
	if (json_array_size(labels)) {
		printf(" Labels:\n");
		json_t *l;
		json_array_foreach(labels, i, l)
			printf("  %s\n", json_string_value(l));
	}
	printf(" Experimental: false\n");
	printf(" Insecure Registries:\n  127.0.0.0/8\n");
	printf(" Live Restore Enabled: %s\n",
	       json_is_true(json_object_get(in, "LiveRestoreEnabled")) ? "true" : "false");
	printf("\n");
	json_t *w;
	json_array_foreach(json_object_get(in, "Warnings"), i, w)
		fprintf(stderr, "%s\n", json_string_value(w));
}

static int cmd_info(struct cli *c, int argc, char **argv)
{
	char *format = NULL;
	const struct cli_opt opts[] = {
		{"format", 'f', OPT_STR, &format, "Format the output using the given Go template"},
		{NULL, 0, 0, NULL, NULL}};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	berth_strv_free(args);
	if (pr)
		return pr < 0 ? 125 : 0;
	struct berth_error err = {0};
	cleanup_json json_t *in = NULL;
	if (berth_client_json(&c->cl, "GET", "/info", NULL, &in, &err) < 0) {
		free(format);
		return cli_daemon_error(c, &err);
	}
	if (format) {
		int r = output_template(format, in);
		free(format);
		return r;
	}
	printf("Client:\n Context:    default\n Debug Mode: false\n\n");
	print_info(in);
	return 0;
}

struct events_ctx {
	struct berth_tmpl *tmpl;
	struct berth_buf pending;
};

static void print_event(struct events_ctx *ec, json_t *m)
{
	if (ec->tmpl) {
		struct berth_buf out = {0};
		struct berth_error err = {0};
		if (berth_tmpl_exec(ec->tmpl, m, &out, &err) == 0)
			printf("%s\n", berth_buf_str(&out));
		berth_buf_free(&out);
		fflush(stdout);
		return;
	}
	int64_t tn = json_integer_value(json_object_get(m, "timeNano"));
	time_t secs = (time_t)(tn / 1000000000LL);
	struct tm tm;
	localtime_r(&secs, &tm);
	char ts[64], tz[16];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(tz, sizeof(tz), "%z", &tm);
	json_t *actor = json_object_get(m, "Actor");
	printf("%s.%09lld%.3s:%s %s %s %s", ts, (long long)(tn % 1000000000LL), tz, tz + 3, js(m, "Type"),
	       js(m, "Action"), js(actor, "ID"));
	json_t *attrs = json_object_get(actor, "Attributes");
	if (json_object_size(attrs)) {
		printf(" (");
		/* sorted like docker */
		const char **keys = calloc(json_object_size(attrs), sizeof(char *));
		size_t n = 0;
		const char *k;
		json_t *v;
		json_object_foreach(attrs, k, v)
			keys[n++] = k;
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (strcmp(keys[a], keys[b]) > 0) {
					const char *t = keys[a];
					keys[a] = keys[b];
					keys[b] = t;
				}
		for (size_t a = 0; a < n; a++)
			printf("%s%s=%s", a ? ", " : "", keys[a], js(attrs, keys[a]));
		free(keys);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

static int on_events(void *ctx, const char *data, size_t len)
{
	struct events_ctx *ec = ctx;
	berth_buf_append(&ec->pending, data, len);
	char *nl;
	while (ec->pending.len && (nl = memchr(ec->pending.data, '\n', ec->pending.len))) {
		size_t line = (size_t)(nl - ec->pending.data);
		json_t *m = json_loadb(ec->pending.data, line, 0, NULL);
		if (m) {
			print_event(ec, m);
			json_decref(m);
		}
		memmove(ec->pending.data, nl + 1, ec->pending.len - line - 1);
		ec->pending.len -= line + 1;
	}
	return 0;
}

static int cmd_events(struct cli *c, int argc, char **argv)
{
	char *format = NULL, *since = NULL, *until = NULL;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 'f', OPT_LIST, &filters, "Filter output based on conditions provided"},
		{"format", 0, OPT_STR, &format, "Format the output using the given Go template"},
		{"since", 0, OPT_STR, &since, "Show all events created since timestamp"},
		{"until", 0, OPT_STR, &until, "Stream events until this timestamp"},
		{NULL, 0, 0, NULL, NULL}};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	berth_strv_free(args);
	int rc = 0;
	struct events_ctx ec = {0};
	struct berth_buf q = {0};
	if (pr) {
		rc = pr < 0 ? 125 : 0;
		goto out;
	}
	struct berth_error err = {0};
	if (format) {
		ec.tmpl = berth_tmpl_parse(format, &err);
		if (!ec.tmpl) {
			fprintf(stderr, "template parsing error: %s\n", err.msg);
			rc = 64;
			goto out;
		}
	}
	berth_buf_printf(&q, "/events?");
	if (since) {
		cleanup_free char *s = output_time_arg(since);
		cleanup_free char *e = berth_urlencode(s);
		berth_buf_printf(&q, "since=%s&", e);
	}
	if (until) {
		cleanup_free char *s = output_time_arg(until);
		cleanup_free char *e = berth_urlencode(s);
		berth_buf_printf(&q, "until=%s&", e);
	}
	if (filters) {
		cleanup_free char *f = output_filters_query(filters);
		berth_buf_printf(&q, "filters=%s", f);
	}
	struct berth_response resp;
	if (berth_client_do(&c->cl, "GET", berth_buf_str(&q), NULL, NULL, NULL, on_events, &ec, &resp, &err) < 0) {
		rc = cli_daemon_error(c, &err);
		goto out;
	}
	if (resp.status >= 300) {
		berth_client_error(&resp, &err);
		rc = cli_daemon_error(c, &err);
	}
	berth_response_free(&resp);
out:
	berth_buf_free(&q);
	berth_buf_free(&ec.pending);
	if (ec.tmpl)
		berth_tmpl_free(ec.tmpl);
	free(format);
	free(since);
	free(until);
	berth_strv_free(filters);
	return rc;
}

const struct cli_cmd cli_cmds_system[] = {
	{"version", cmd_version, NULL, "Show the Berth version information"},
	{"info", cmd_info, NULL, "Display system-wide information"},
	{"system info", cmd_info, NULL, NULL},
	{"events", cmd_events, NULL, "Get real time events from the server"},
	{"system events", cmd_events, NULL, NULL},
	{"system check", cli_system_check, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
