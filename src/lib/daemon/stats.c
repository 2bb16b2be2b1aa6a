/* Container stats and update (docker's collector and ContainerUpdate).
 *
 * stats: docker's types.StatsJSON, sampled from the container's cgroup
 * (runtime/stats.h) once a second as dockerd's collector does. A stream
 * sends one frame a second, the first with empty precpu_stats; a single
 * answer is the second of two samples a second apart so precpu_stats is
 * filled (one-shot: a single sample). A container that is not running
 * gets the empty shape (name and id only).
 *
 * update: validation (verifyContainerSettings with update=true), the merge
 * into the stored HostConfig (UpdateContainer, with its conflict checks),
 * then for a running container `runc update` through the shim with the
 * requested resources (toContainerdResources). The old HostConfig is put
 * back when the runtime refuses. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "runtime/stats.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- stats ---- */

static json_t *zero_cpu_stats(void)
{
	return json_pack("{s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}}", "cpu_usage", "total_usage", 0, "usage_in_kernelmode",
			 0, "usage_in_usermode", 0, "throttling_data", "periods", 0, "throttled_periods", 0,
			 "throttled_time", 0);
}

static json_t *null_blkio(void)
{
	return json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "io_service_bytes_recursive",
			 "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
			 "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive");
}

/* What the collector publishes for a container that is not running. */
static json_t *empty_sample(void)
{
	json_t *s = json_object();
	json_object_set_new(s, "read", json_string(ZERO_TIME));
	json_object_set_new(s, "pids_stats", json_object());
	json_object_set_new(s, "blkio_stats", null_blkio());
	json_object_set_new(s, "num_procs", json_integer(0));
	json_object_set_new(s, "storage_stats", json_object());
	json_object_set_new(s, "cpu_stats", zero_cpu_stats());
	json_object_set_new(s, "memory_stats", json_object());
	return s;
}

/* An object with o's keys in byte order (Go encodes maps sorted). */
static json_t *sorted_object(json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b - 1];
			keys[b - 1] = keys[b];
			keys[b] = t;
		}
	json_t *out = json_object();
	for (i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(o, keys[i]));
	free(keys);
	return out;
}

/* /proc/<pid>/net/dev of the container's network namespace, without lo:
 * docker's per-interface NetworkStats. NULL when there is none. */
static json_t *read_networks(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	json_t *nets = json_object();
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon || strchr(line, '|'))
			continue;
		*colon = '\0';
		char *name = line;
		while (*name == ' ')
			name++;
		if (!*name || !strcmp(name, "lo"))
			continue;
		unsigned long long v[16] = {0};
		int got = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
				 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]);
		if (got < 12)
			continue;
		json_object_set_new(nets, name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes", (json_int_t)v[0],
					      "rx_packets", (json_int_t)v[1], "rx_errors", (json_int_t)v[2],
					      "rx_dropped", (json_int_t)v[3], "tx_bytes", (json_int_t)v[8],
					      "tx_packets", (json_int_t)v[9], "tx_errors", (json_int_t)v[10],
					      "tx_dropped", (json_int_t)v[11]));
	}
	if (!json_object_size(nets)) {
		json_decref(nets);
		return NULL;
	}
	json_t *s = sorted_object(nets);
	json_decref(nets);
	return s;
}

/* The container's cgroupsPath from its bundle (config.json in the state dir). */
static char *cgroup_path_of(struct berth_daemon *d, const char *id)
{
	cleanup_free char *state_dir = berth_ctr_state_dir(d, id);
	cleanup_free char *p = berth_strdup_printf("%s/config.json", state_dir);
	cleanup_json json_t *spec = json_load_file(p, 0, NULL);
	const char *cg = jstr(jobj(spec, "linux"), "cgroupsPath");
	if (cg && cg[0] == '/')
		return strdup(cg);
	return berth_strdup_printf("/berth/%s", id);
}

/* docker's blkio shape: on cgroup v1 every list is [] when empty; on v2 only
 * io_service_bytes_recursive is a list, the others are null. */
static void normalize_blkio(json_t *blkio, bool v2)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(blkio, tmp, k, v) {
		if (!json_is_null(v))
			continue;
		if (!v2 || !strcmp(k, "io_service_bytes_recursive"))
			json_object_set_new(blkio, k, json_array());
	}
}

/* memory_stats in types.MemoryStats field order, the stats map sorted. */
static json_t *order_memory(json_t *m)
{
	json_t *o = json_object();
	static const char *const keys[] = {"usage", "max_usage", "stats", "failcnt", "limit", NULL};
	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(m, keys[i]);
		if (!v)
			continue;
		if (!strcmp(keys[i], "stats"))
			json_object_set_new(o, "stats", sorted_object(v));
		else
			json_object_set(o, keys[i], v);
	}
	return o;
}

/* One sample of a running container (new reference), or NULL when it is not
 * running or its cgroup is gone: the caller publishes the empty shape then. */
static json_t *sample(struct berth_daemon *d, struct berth_container *ct)
{
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED;
	/* unreadable: no sample (logged), as a container gone */
	json_t *doc = running ? berth_container_doc_or_log(ct, "no stats") : NULL;
	running = running && doc;
	int pid = (int)jint(jobj(doc, "State"), "Pid", 0);
	const char *nm = jstr(jobj(doc, "HostConfig"), "NetworkMode");
	bool host_net = nm && !strcmp(nm, "host");
	bool disabled = jbool(jobj(doc, "Config"), "NetworkDisabled", false);
	pthread_mutex_unlock(&ct->mu);
	if (!running)
		return NULL;
	cleanup_free char *cg = cgroup_path_of(d, ct->id);
	struct berth_error err = {0};
	cleanup_json json_t *raw = berth_cgroup_stats(cg, &d->sysinfo, &err);
	if (!raw)
		return NULL;
	json_t *s = json_object();
	json_object_set(s, "read", json_object_get(raw, "read"));
	json_object_set(s, "pids_stats", json_object_get(raw, "pids_stats"));
	json_t *blkio = json_object_get(raw, "blkio_stats");
	normalize_blkio(blkio, d->sysinfo.cgroup_mode == BERTH_CGROUP_V2);
	json_object_set(s, "blkio_stats", blkio);
	json_object_set(s, "num_procs", json_object_get(raw, "num_procs"));
	json_object_set(s, "storage_stats", json_object_get(raw, "storage_stats"));
	json_object_set(s, "cpu_stats", json_object_get(raw, "cpu_stats"));
	json_object_set_new(s, "memory_stats", order_memory(json_object_get(raw, "memory_stats")));
	if (!host_net && !disabled && pid > 0) {
		json_t *nets = read_networks(pid);
		if (nets)
			json_object_set_new(s, "networks", nets);
	}
	return s;
}

/* The frame sent to the client: s with preread/precpu_stats from prev (the
 * previous frame sent, or nothing), name and id, in StatsJSON order. */
static json_t *frame(const json_t *s, const json_t *prev, const struct berth_container *ct)
{
	json_t *f = json_object();
	json_object_set(f, "read", json_object_get(s, "read"));
	json_t *pr = prev ? json_object_get(prev, "read") : NULL;
	json_object_set_new(f, "preread", pr ? json_incref(pr) : json_string(ZERO_TIME));
	static const char *const mid[] = {"pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats", NULL};
	for (size_t i = 0; mid[i]; i++)
		json_object_set(f, mid[i], json_object_get(s, mid[i]));
	json_t *pc = prev ? json_object_get(prev, "cpu_stats") : NULL;
	json_object_set_new(f, "precpu_stats", pc ? json_incref(pc) : zero_cpu_stats());
	json_object_set(f, "memory_stats", json_object_get(s, "memory_stats"));
	json_object_set_new(f, "name", json_string(ct->name));
	json_object_set_new(f, "id", json_string(ct->id));
	json_t *nets = json_object_get(s, "networks");
	if (nets)
		json_object_set(f, "networks", nets);
	return f;
}

static json_t *sample_or_empty(struct berth_daemon *d, struct berth_container *ct)
{
	json_t *s = sample(d, ct);
	return s ? s : empty_sample();
}

/* Sleep ms in small steps; false when cancelled or the container was removed. */
static bool pause_ms(struct berth_container *ct, int ms, bool (*cancelled)(void *), void *ctx)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (cancelled && cancelled(ctx))
			return false;
		pthread_mutex_lock(&ct->mu);
		bool gone = ct->removed;
		pthread_mutex_unlock(&ct->mu);
		if (gone)
			return false;
		usleep(100000);
	}
	return !(cancelled && cancelled(ctx));
}

json_t *berth_ctr_stats_once(struct berth_daemon *d, struct berth_container *ct, bool one_shot,
			     bool (*cancelled)(void *), void *ctx)
{
	pthread_mutex_lock(&ct->mu);
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED;
	pthread_mutex_unlock(&ct->mu);
	cleanup_json json_t *prev = NULL, *s = NULL;
	if (!running) {
		s = empty_sample();
	} else {
		s = sample_or_empty(d, ct);
		if (!one_shot) {
			/* prime precpu_stats with a first sample, as docker does */
			prev = s;
			s = NULL;
			if (!pause_ms(ct, 1000, cancelled, ctx))
				return NULL;
			s = sample_or_empty(d, ct);
		}
	}
	return frame(s, prev, ct);
}

void berth_ctr_stats_stream(struct berth_daemon *d, struct berth_container *ct, int (*emit)(void *ctx, json_t *frame),
			    bool (*cancelled)(void *), void *ctx)
{
	json_t *prev = NULL;
	for (;;) {
		json_t *s = sample_or_empty(d, ct);
		json_t *f = frame(s, prev, ct);
		json_decref(s);
		int rc = emit(ctx, f);
		json_decref(prev);
		prev = f;
		if (rc < 0 || !pause_ms(ct, 1000, cancelled, ctx))
			break;
	}
	json_decref(prev);
}

/* ---- update ---- */

/* daemon.validateRestartPolicy */
static int validate_restart_policy(json_t *rp, struct berth_error *err)
{
	const char *name = jstr(rp, "Name") ? jstr(rp, "Name") : "";
	int64_t max = jint(rp, "MaximumRetryCount", 0);
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped") || !strcmp(name, "no")) {
		if (max != 0)
			return berth_err(err, BERTH_E_INVALID,
					 "maximum retry count cannot be used with restart policy '%s'", name);
	} else if (!strcmp(name, "on-failure")) {
		if (max < 0)
			return berth_err(err, BERTH_E_INVALID, "maximum retry count cannot be negative");
	} else if (*name) {
		return berth_err(err, BERTH_E_INVALID, "invalid restart policy '%s'", name);
	}
	return 0;
}

/* parsers.parseUintList into a bitmap of [0, cap). maximum 0 = no limit check.
 * Returns 0, -1 invalid format, -2 out of range. */
static int parse_uint_list(const char *val, unsigned char *set, int cap, int maximum, int *max_seen)
{
	if (max_seen)
		*max_seen = 0;
	if (!val || !*val)
		return 0;
	cleanup_free char *copy = strdup(val);
	char *save = NULL;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(part, '-');
		char *end;
		long lo, hi;
		if (dash) {
			*dash = '\0';
			lo = strtol(part, &end, 10);
			if (!*part || *end)
				return -1;
			hi = strtol(dash + 1, &end, 10);
			if (!dash[1] || *end || hi < lo)
				return -1;
		} else {
			lo = hi = strtol(part, &end, 10);
			if (!*part || *end)
				return -1;
		}
		if (maximum && hi > maximum)
			return -2;
		for (long i = lo < 0 ? 0 : lo; i <= hi && i < cap; i++)
			set[i] = 1;
		if (max_seen && hi > *max_seen)
			*max_seen = (int)hi;
	}
	/* strtok_r skips empty fields that Go's Split keeps ("1,,2" is invalid there) */
	if (strstr(val, ",,") || val[0] == ',' || val[strlen(val) - 1] == ',')
		return -1;
	return 0;
}

#define CPUSET_CAP 16384

/* sysinfo.IsCpusetCpusAvailable / IsCpusetMemsAvailable with docker's messages. */
static int check_cpuset(const char *provided, const char *available, const char *what, const char *unit,
			struct berth_error *err)
{
	if (!provided || !*provided)
		return 0;
	unsigned char *have = calloc(CPUSET_CAP, 1), *want = calloc(CPUSET_CAP, 1);
	int rc = 0, max_avail = 0;
	if (parse_uint_list(available, have, CPUSET_CAP, 0, &max_avail) < 0) {
		rc = berth_err(err, BERTH_E_INVALID, "Invalid value %s for cpuset %s: invalid format: %s", provided,
			       what, available);
		goto out;
	}
	int maximum = max_avail > 8192 ? max_avail : 8192;
	int p = parse_uint_list(provided, want, CPUSET_CAP, maximum, NULL);
	if (p == -1) {
		rc = berth_err(err, BERTH_E_INVALID, "Invalid value %s for cpuset %s: invalid format: %s", provided,
			       what, provided);
		goto out;
	}
	if (p == -2) {
		rc = berth_err(err, BERTH_E_INVALID,
			       "Invalid value %s for cpuset %s: value of out range, maximum is %d", provided, what,
			       maximum);
		goto out;
	}
	for (int i = 0; i < CPUSET_CAP; i++)
		if (want[i] && !have[i]) {
			rc = berth_err(err, BERTH_E_INVALID,
				       "Requested %s are not available - requested %s, available: %s", unit, provided,
				       available);
			break;
		}
out:
	free(have);
	free(want);
	return rc;
}

/* container.UpdateContainer: conflict checks, then the merge into cur. */
static int merge_update(json_t *cur, json_t *req, const char *id, struct berth_error *err)
{
	int64_t nano = jint(req, "NanoCpus", 0), period = jint(req, "CpuPeriod", 0), quota = jint(req, "CpuQuota", 0);
	const char *conflict = NULL;
	if (nano > 0 && jint(cur, "CpuPeriod", 0) > 0)
		conflict = "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set";
	else if (nano > 0 && jint(cur, "CpuQuota", 0) > 0)
		conflict = "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set";
	else if (period > 0 && jint(cur, "NanoCpus", 0) > 0)
		conflict = "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set";
	else if (quota > 0 && jint(cur, "NanoCpus", 0) > 0)
		conflict = "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set";
	else if (jint(req, "Memory", 0) != 0 && jint(req, "Memory", 0) > jint(cur, "MemorySwap", 0) &&
		 jint(req, "MemorySwap", 0) == 0)
		conflict =
			"Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time";
	else if (jstr_ne(jobj(req, "RestartPolicy"), "Name") && jbool(cur, "AutoRemove", false) &&
		 strcmp(jstr(jobj(req, "RestartPolicy"), "Name"), "no"))
		conflict = "Restart policy cannot be updated because AutoRemove is enabled for the container";
	if (conflict)
		return berth_err(err, BERTH_E_CONFLICT, "Cannot update container %s: %s", id, conflict);
	static const char *const ints[] = {
		"BlkioWeight", "CpuShares",         "NanoCpus",     "CpuPeriod",         "CpuQuota",           "Memory",
		"MemorySwap",  "MemoryReservation", "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime", NULL};
	for (size_t i = 0; ints[i]; i++)
		if (jint(req, ints[i], 0) != 0)
			json_object_set_new(cur, ints[i], json_integer(jint(req, ints[i], 0)));
	if (jstr_ne(req, "CpusetCpus"))
		json_object_set_new(cur, "CpusetCpus", json_string(jstr(req, "CpusetCpus")));
	if (jstr_ne(req, "CpusetMems"))
		json_object_set_new(cur, "CpusetMems", json_string(jstr(req, "CpusetMems")));
	if (json_is_integer(jget(req, "PidsLimit")))
		json_object_set_new(cur, "PidsLimit", json_integer(jint(req, "PidsLimit", 0)));
	json_t *rp = jobj(req, "RestartPolicy");
	if (jstr_ne(rp, "Name"))
		json_object_set_new(cur, "RestartPolicy",
				    json_pack("{s:s, s:I}", "Name", jstr(rp, "Name"), "MaximumRetryCount",
					      (json_int_t)jint(rp, "MaximumRetryCount", 0)));
	return 0;
}

/* daemon.toContainerdResources: the OCI linux.resources `runc update` gets,
 * built from the request alone (fields not asked for are 0: left as they are). */
static json_t *update_resources(json_t *req)
{
	json_t *res = json_object();
	json_object_set_new(res, "blockIO", json_pack("{s:I}", "weight", (json_int_t)jint(req, "BlkioWeight", 0)));
	json_t *cpu = json_pack("{s:I}", "shares", (json_int_t)jint(req, "CpuShares", 0));
	if (jstr_ne(req, "CpusetCpus"))
		json_object_set_new(cpu, "cpus", json_string(jstr(req, "CpusetCpus")));
	if (jstr_ne(req, "CpusetMems"))
		json_object_set_new(cpu, "mems", json_string(jstr(req, "CpusetMems")));
	int64_t period = 0, quota = 0, nano = jint(req, "NanoCpus", 0);
	if (nano != 0) {
		period = 100000;
		quota = nano * period / 1000000000LL;
	}
	if (quota == 0 && jint(req, "CpuQuota", 0) != 0)
		quota = jint(req, "CpuQuota", 0);
	if (period == 0 && jint(req, "CpuPeriod", 0) != 0)
		period = jint(req, "CpuPeriod", 0);
	json_object_set_new(cpu, "period", json_integer(period));
	json_object_set_new(cpu, "quota", json_integer(quota));
	json_object_set_new(res, "cpu", cpu);
	json_t *mem = json_pack("{s:I, s:I}", "limit", (json_int_t)jint(req, "Memory", 0), "reservation",
				(json_int_t)jint(req, "MemoryReservation", 0));
	if (jint(req, "KernelMemory", 0))
		json_object_set_new(mem, "kernel", json_integer(jint(req, "KernelMemory", 0)));
	if (jint(req, "MemorySwap", 0) > 0)
		json_object_set_new(mem, "swap", json_integer(jint(req, "MemorySwap", 0)));
	json_object_set_new(res, "memory", mem);
	json_t *pl = jget(req, "PidsLimit");
	if (json_is_integer(pl)) {
		int64_t l = json_integer_value(pl);
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)(l == 0 ? -1 : l)));
	}
	return res;
}

static bool ipv4_forwarding_disabled(void)
{
	char *t = NULL;
	if (berth_read_file("/proc/sys/net/ipv4/ip_forward", &t, NULL, 64, NULL) < 0)
		return false;
	bool off = t[0] == '0';
	free(t);
	return off;
}

int berth_ctr_update(struct berth_daemon *d, struct berth_container *ct, json_t *req, json_t **warnings_out,
		     struct berth_error *err)
{
	*warnings_out = NULL;
	char **warnings = NULL;
	cleanup_json json_t *backup = NULL;
	int ret = -1;
	if (validate_restart_policy(jobj(req, "RestartPolicy"), err) < 0 ||
	    berth_resources_verify(req, &d->sysinfo, true, &warnings, err) < 0 ||
	    check_cpuset(jstr(req, "CpusetCpus"), d->sysinfo.cpuset_cpus, "cpus", "CPUs", err) < 0 ||
	    check_cpuset(jstr(req, "CpusetMems"), d->sysinfo.cpuset_mems, "mems", "memory nodes", err) < 0)
		goto out;
	if (ipv4_forwarding_disabled())
		berth_strv_push(&warnings, "IPv4 forwarding is disabled. Networking will not work.");

	pthread_mutex_lock(&ct->opmu);
	pthread_mutex_lock(&ct->mu);
	if (ct->removed || ct->state == CS_REMOVING || ct->state == CS_DEAD) {
		pthread_mutex_unlock(&ct->mu);
		pthread_mutex_unlock(&ct->opmu);
		berth_err(err, BERTH_E_INTERNAL,
			  "Cannot update container %s: container is marked for removal and cannot be \"update\"",
			  ct->id);
		goto out;
	}
	json_t *doc = berth_container_doc(ct, err);
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		pthread_mutex_unlock(&ct->opmu);
		goto out;
	}
	json_t *hc = json_object_get(doc, "HostConfig");
	backup = json_deep_copy(hc);
	int rc = merge_update(hc, req, ct->id, err);
	/* the record is written after the mutex is released (metadata rule) */
	struct berth_container_snap *snap = NULL;
	if (rc == 0 && !(snap = berth_container_snapshot(ct)))
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rc < 0) {
		json_object_set(doc, "HostConfig", backup);
		pthread_mutex_unlock(&ct->mu);
		pthread_mutex_unlock(&ct->opmu);
		if (err->kind != BERTH_E_CONFLICT)
			berth_err_prefix(err, "Cannot update container %s", ct->id);
		goto out;
	}
	bool running = ct->state == CS_RUNNING || ct->state == CS_PAUSED;
	pthread_mutex_unlock(&ct->mu);
	if (berth_container_write(d->containers, snap, err) < 0) {
		pthread_mutex_lock(&ct->mu);
		if (!ct->removed && (doc = berth_container_doc_or_log(ct, "update not undone")) != NULL)
			json_object_set(doc, "HostConfig", backup);
		pthread_mutex_unlock(&ct->mu);
		pthread_mutex_unlock(&ct->opmu);
		if (err->kind != BERTH_E_CONFLICT)
			berth_err_prefix(err, "Cannot update container %s", ct->id);
		goto out;
	}
	if (running) {
		cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
		cleanup_json json_t *res = update_resources(req);
		struct berth_error e2 = {0};
		if (berth_shim_update(state_dir, res, &e2) < 0) {
			pthread_mutex_lock(&ct->mu);
			struct berth_container_snap *back = NULL;
			if (!ct->removed && (doc = berth_container_doc_or_log(ct, "update not undone")) != NULL) {
				json_object_set(doc, "HostConfig", backup);
				back = berth_container_snapshot(ct);
			}
			pthread_mutex_unlock(&ct->mu);
			if (back)
				berth_container_write(d->containers, back, NULL);
			pthread_mutex_unlock(&ct->opmu);
			berth_err(err, BERTH_E_INTERNAL, "Cannot update container %s: %s", ct->id, e2.msg);
			goto out;
		}
	}
	pthread_mutex_unlock(&ct->opmu);
	berth_ctr_event(d, ct, "update", NULL);
	if (warnings) {
		json_t *w = json_array();
		for (size_t i = 0; warnings[i]; i++)
			json_array_append_new(w, json_string(warnings[i]));
		*warnings_out = w;
	}
	ret = 0;
out:
	berth_strv_free(warnings);
	return ret;
}
