/* System endpoints: ping, version, info, events (swarm: handlers/swarm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "logger/logger.h"
#include "storage/layer_store.h"

static void ping(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)d;
	(void)r;
	/* docker adds cache headers; the body is "OK" (empty for HEAD). */
	berth_http_respond_ex(c, 200, "text/plain; charset=utf-8",
			      "Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\n", "OK", 2);
}

static void os_release(char *name, size_t nlen, char *version, size_t vlen)
{
	snprintf(name, nlen, "Linux");
	version[0] = '\0';
	char *data = NULL;
	if (berth_read_file("/etc/os-release", &data, NULL, 65536, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *v = eq + 1;
		size_t l = strlen(v);
		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v[l - 1] = '\0';
			v++;
		}
		if (!strcmp(line, "PRETTY_NAME"))
			snprintf(name, nlen, "%s", v);
		else if (!strcmp(line, "VERSION_ID"))
			snprintf(version, vlen, "%s", v);
	}
	free(data);
}

static const char *go_arch(const char *m)
{
	if (!strcmp(m, "x86_64"))
		return "amd64";
	if (!strcmp(m, "aarch64"))
		return "arm64";
	if (!strncmp(m, "arm", 3))
		return "arm";
	if (!strcmp(m, "i686") || !strcmp(m, "i386"))
		return "386";
	return m;
}

static void version(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)r;
	(void)d;
	struct utsname u;
	uname(&u);
	char built[64];
	berth_time_rfc3339(0, built, sizeof(built));
	json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion", BERTH_API_VERSION,
				    "Arch", go_arch(u.machine), "BuildTime", __DATE__ " " __TIME__, "Experimental",
				    "false", "GitCommit", "berth", "GoVersion", "none (C17)", "KernelVersion",
				    u.release, "MinAPIVersion", BERTH_API_MIN_VERSION, "Os", "linux");
	json_t *comps = json_array();
	json_array_append_new(
		comps, json_pack("{s:s, s:s, s:o}", "Name", "Engine", "Version", BERTH_VERSION, "Details", details));
	json_t *rt = berth_api_runtime_components(d);
	if (rt) {
		json_array_extend(comps, rt);
		json_decref(rt);
	}
	json_t *v = json_pack("{s:{s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform", "Name",
			      "Berth Engine", "Components", comps, "Version", BERTH_VERSION, "ApiVersion",
			      BERTH_API_VERSION, "MinAPIVersion", BERTH_API_MIN_VERSION, "GitCommit", "berth",
			      "GoVersion", "none (C17)", "Os", "linux", "Arch", go_arch(u.machine), "KernelVersion",
			      u.release, "BuildTime", __DATE__ " " __TIME__);
	berth_http_respond_json(c, 200, v);
}

static int cgroup_version(void) { return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? 2 : 1; }

static json_t *strv_json(char **v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void info(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)r;
	struct utsname u;
	uname(&u);
	char osname[256], osver[64];
	os_release(osname, sizeof(osname), osver, sizeof(osver));
	struct sysinfo si;
	sysinfo(&si);
	char now[64];
	berth_time_rfc3339(berth_now_ns(), now, sizeof(now));
	int cgv = cgroup_version();
	struct berth_api_counts n = {0};
	berth_api_counts(d, &n);
	json_t *j = json_object();
	json_object_set_new(j, "ID", json_string(d->id));
	json_object_set_new(j, "Containers", json_integer(n.containers));
	json_object_set_new(j, "ContainersRunning", json_integer(n.running));
	json_object_set_new(j, "ContainersPaused", json_integer(n.paused));
	json_object_set_new(j, "ContainersStopped", json_integer(n.stopped));
	json_object_set_new(j, "Images", json_integer(n.images));
	json_object_set_new(j, "Driver", json_string(berth_layer_store_driver_name(d->layers)));
	json_object_set_new(j, "DriverStatus", berth_layer_store_driver_status(d->layers));
	json_t *logp = json_array();
	for (const char *const *ln = berth_log_driver_names(); *ln; ln++)
		json_array_append_new(logp, json_string(*ln));
	json_object_set_new(j, "Plugins",
			    json_pack("{s:[s], s:[s,s,s], s:n, s:o}", "Volume", "local", "Network", "host", "none",
				      "container", "Authorization", "Log", logp));
	bool v1 = cgv == 1;
	json_object_set_new(j, "MemoryLimit", json_true());
	json_object_set_new(j, "SwapLimit",
			    json_boolean(access(v1 ? "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes" :
						     "/sys/fs/cgroup/cgroup.controllers",
						F_OK) == 0));
	json_object_set_new(j, "KernelMemory", json_false());
	json_object_set_new(j, "KernelMemoryTCP", json_false());
	json_object_set_new(j, "CpuCfsPeriod", json_true());
	json_object_set_new(j, "CpuCfsQuota", json_true());
	json_object_set_new(j, "CPUShares", json_true());
	json_object_set_new(j, "CPUSet", json_true());
	json_object_set_new(j, "PidsLimit", json_true());
	json_object_set_new(j, "IPv4Forwarding", json_false());
	json_object_set_new(j, "BridgeNfIptables", json_false());
	json_object_set_new(j, "BridgeNfIp6tables", json_false());
	json_object_set_new(j, "Debug", json_boolean(atomic_load(&d->log.level) >= BERTH_LOG_DEBUG));
	json_object_set_new(j, "NFd", json_integer(berth_api_count_fds()));
	json_object_set_new(j, "OomKillDisable", json_boolean(v1));
	json_object_set_new(j, "NGoroutines", json_integer(1 + berth_api_active_conns(d)));
	json_object_set_new(j, "SystemTime", json_string(now));
	json_object_set_new(j, "LoggingDriver", json_string(d->cfg.log_driver));
	json_object_set_new(j, "CgroupDriver", json_string("cgroupfs"));
	json_object_set_new(j, "CgroupVersion", json_string(cgv == 2 ? "2" : "1"));
	json_object_set_new(j, "NEventsListener", json_integer((json_int_t)berth_events_listeners(d->events)));
	json_object_set_new(j, "KernelVersion", json_string(u.release));
	json_object_set_new(j, "OperatingSystem", json_string(osname));
	json_object_set_new(j, "OSVersion", json_string(osver));
	json_object_set_new(j, "OSType", json_string("linux"));
	json_object_set_new(j, "Architecture", json_string(u.machine));
	json_object_set_new(j, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
	json_object_set_new(j, "RegistryConfig",
			    json_pack("{s:[], s:[], s:[s], s:{s:{s:s, s:[], s:b, s:b}}, s:[]}",
				      "AllowNondistributableArtifactsCIDRs", "AllowNondistributableArtifactsHostnames",
				      "InsecureRegistryCIDRs", "127.0.0.0/8", "IndexConfigs", "docker.io", "Name",
				      "docker.io", "Mirrors", "Secure", 1, "Official", 1, "Mirrors"));
	json_object_set_new(j, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(j, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
	json_object_set_new(j, "GenericResources", json_null());
	json_object_set_new(j, "DockerRootDir", json_string(d->cfg.data_root));
	json_object_set_new(j, "HttpProxy", json_string(getenv("HTTP_PROXY") ? getenv("HTTP_PROXY") : ""));
	json_object_set_new(j, "HttpsProxy", json_string(getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : ""));
	json_object_set_new(j, "NoProxy", json_string(getenv("NO_PROXY") ? getenv("NO_PROXY") : ""));
	json_object_set_new(j, "Name", json_string(d->hostname));
	json_object_set_new(j, "Labels", strv_json(d->cfg.labels));
	json_object_set_new(j, "ExperimentalBuild", json_false());
	json_object_set_new(j, "ServerVersion", json_string(BERTH_VERSION));
	berth_api_runtime_info(d, j);
	json_object_set_new(j, "Swarm",
			    json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "", "LocalNodeState",
				      "inactive", "ControlAvailable", 0, "Error", "", "RemoteManagers"));
	/* containers always outlive the daemon under their shims (live restore is
	 * not optional in Berth; cfg.live_restore only records the flag) */
	json_object_set_new(j, "LiveRestoreEnabled", json_true());
	json_object_set_new(j, "Isolation", json_string(""));
	json_object_set_new(j, "InitBinary", json_string("docker-init"));
	json_object_set_new(j, "ContainerdCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
	json_object_set_new(j, "InitCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
	json_object_set_new(j, "Warnings", d->warnings ? strv_json(d->warnings) : json_null());
	berth_http_respond_json(c, 200, j);
}

/* GET /events: stream JSON messages; since/until/filters. */
static void events(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	int64_t since = 0, until = 0;
	const char *s = berth_http_query(r, "since"), *u = berth_http_query(r, "until");
	if (s && *s && berth_time_parse(s, &since) < 0) {
		berth_http_respond_msg(c, 400, "invalid value for since: %s", s);
		return;
	}
	if (u && *u && berth_time_parse(u, &until) < 0) {
		berth_http_respond_msg(c, 400, "invalid value for until: %s", u);
		return;
	}
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_error(c, &err);
		return;
	}
	if (berth_api_event_filters_validate(filters, &err) < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	struct berth_events_sub *sub = berth_events_subscribe(d->events, since ? since : 0);
	if (since && !until && since > berth_now_ns()) {
		/* nothing in the past to replay */
	}
	berth_http_stream_begin(c, 200, "application/json");
	for (;;) {
		int64_t deadline = berth_now_ns() + 1000000000LL;
		if (until && deadline > until)
			deadline = until;
		json_t *m = berth_events_next(sub, deadline);
		if (m) {
			int64_t t = json_integer_value(json_object_get(m, "timeNano"));
			bool send =
				(!since || t >= since) && (!until || t <= until) && berth_api_event_matches(filters, m);
			int rc = send ? berth_http_stream_json(c, m) : 0;
			json_decref(m);
			if (rc < 0)
				break;
			continue;
		}
		if (until && berth_now_ns() >= until)
			break;
		if (berth_http_peer_gone(c))
			break;
	}
	berth_events_unsubscribe(sub);
}

const struct berth_route berth_routes_system[] = {
	{"GET", "/_ping", ping},    {"GET", "/version", version}, {"GET", "/info", info},
	{"GET", "/events", events}, {NULL, NULL, NULL},
};
