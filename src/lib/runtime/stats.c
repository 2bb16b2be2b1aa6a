/* cgroup statistics -> docker's stats JSON (moby daemon statsV1/statsV2 and
 * the stats collector's system CPU usage). */
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static char *read_text(const char *dir, const char *rel, const char *file)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s%s/%s", dir, rel, file);
	char *text = NULL;
	struct berth_error e;
	if (berth_read_file(p, &text, NULL, 1 << 20, &e) < 0)
		return NULL;
	return text;
}

/* A file holding one number ("max" reads as 0, like docker's unlimited pids limit). */
static bool read_u64(const char *dir, const char *rel, const char *file, unsigned long long *out)
{
	cleanup_free char *t = read_text(dir, rel, file);
	if (!t)
		return false;
	*out = strncmp(t, "max", 3) ? strtoull(t, NULL, 10) : 0;
	return true;
}

/* "key value" lines into an object of integers; wanted = NULL keeps all. */
static json_t *kv_object(const char *text, const char *const *wanted)
{
	json_t *o = json_object();
	for (const char *p = text; p && *p;) {
		char key[128];
		unsigned long long v;
		if (sscanf(p, "%127s %llu", key, &v) == 2) {
			bool keep = !wanted;
			for (size_t i = 0; wanted && wanted[i]; i++)
				keep |= !strcmp(wanted[i], key);
			if (keep)
				json_object_set_new(o, key, json_integer((json_int_t)v));
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return o;
}

static unsigned long long kv(const json_t *o, const char *k)
{
	return (unsigned long long)json_integer_value(json_object_get(o, k));
}

static unsigned long long system_cpu_usage(void)
{
	cleanup_fclose FILE *f = fopen("/proc/stat", "re");
	char line[512];
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "cpu ", 4))
		return 0;
	unsigned long long v[7] = {0}, total = 0;
	sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
	for (int i = 0; i < 7; i++)
		total += v[i];
	return total * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* blkio files: "8:0 Read 123" lines; "Total N" lines are skipped. null when absent/empty. */
static json_t *blkio_entries(const char *dir, const char *rel, const char *const *files)
{
	for (size_t f = 0; files[f]; f++) {
		cleanup_free char *t = read_text(dir, rel, files[f]);
		if (!t)
			continue;
		json_t *a = json_array();
		for (const char *p = t; *p;) {
			unsigned maj, min;
			char op[32];
			unsigned long long v;
			if (sscanf(p, "%u:%u %31s %llu", &maj, &min, op, &v) == 4)
				json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)maj, "minor",
								   (int)min, "op", op, "value", (json_int_t)v));
			p = strchr(p, '\n');
			if (!p)
				break;
			p++;
		}
		if (json_array_size(a))
			return a;
		json_decref(a);
	}
	return json_null();
}

static json_t *blkio_v1(const struct berth_sysinfo *si, const char *rel)
{
	static const char *const bytes[] = {"blkio.io_service_bytes_recursive",
					    "blkio.throttle.io_service_bytes_recursive",
					    "blkio.throttle.io_service_bytes", NULL};
	static const char *const ops[] = {"blkio.io_serviced_recursive", "blkio.throttle.io_serviced_recursive",
					  "blkio.throttle.io_serviced", NULL};
	static const char *const queued[] = {"blkio.io_queued_recursive", NULL};
	static const char *const stime[] = {"blkio.io_service_time_recursive", NULL};
	static const char *const wtime[] = {"blkio.io_wait_time_recursive", NULL};
	static const char *const merged[] = {"blkio.io_merged_recursive", NULL};
	static const char *const tm[] = {"blkio.time_recursive", NULL};
	static const char *const sect[] = {"blkio.sectors_recursive", NULL};
	const char *d = si->cg_blkio;
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "io_service_bytes_recursive",
			 blkio_entries(d, rel, bytes), "io_serviced_recursive", blkio_entries(d, rel, ops),
			 "io_queue_recursive", blkio_entries(d, rel, queued), "io_service_time_recursive",
			 blkio_entries(d, rel, stime), "io_wait_time_recursive", blkio_entries(d, rel, wtime),
			 "io_merged_recursive", blkio_entries(d, rel, merged), "io_time_recursive",
			 blkio_entries(d, rel, tm), "sectors_recursive", blkio_entries(d, rel, sect));
}

static const char *const v1_mem_keys[] = {"cache",
					  "rss",
					  "rss_huge",
					  "mapped_file",
					  "dirty",
					  "writeback",
					  "pgpgin",
					  "pgpgout",
					  "pgfault",
					  "pgmajfault",
					  "inactive_anon",
					  "active_anon",
					  "inactive_file",
					  "active_file",
					  "unevictable",
					  "hierarchical_memory_limit",
					  "hierarchical_memsw_limit",
					  "total_cache",
					  "total_rss",
					  "total_rss_huge",
					  "total_mapped_file",
					  "total_dirty",
					  "total_writeback",
					  "total_pgpgin",
					  "total_pgpgout",
					  "total_pgfault",
					  "total_pgmajfault",
					  "total_inactive_anon",
					  "total_active_anon",
					  "total_inactive_file",
					  "total_active_file",
					  "total_unevictable",
					  NULL};

static const char *const v2_mem_keys[] = {"anon",
					  "file",
					  "kernel_stack",
					  "slab",
					  "sock",
					  "shmem",
					  "file_mapped",
					  "file_dirty",
					  "file_writeback",
					  "anon_thp",
					  "inactive_anon",
					  "active_anon",
					  "inactive_file",
					  "active_file",
					  "unevictable",
					  "slab_reclaimable",
					  "slab_unreclaimable",
					  "pgfault",
					  "pgmajfault",
					  "workingset_refault",
					  "workingset_activate",
					  "workingset_nodereclaim",
					  "pgrefill",
					  "pgscan",
					  "pgsteal",
					  "pgactivate",
					  "pgdeactivate",
					  "pglazyfree",
					  "pglazyfreed",
					  "thp_fault_alloc",
					  "thp_collapse_alloc",
					  NULL};

static void set_nonzero(json_t *o, const char *k, unsigned long long v)
{
	if (v) /* docker's omitempty */
		json_object_set_new(o, k, json_integer((json_int_t)v));
}

static json_t *pids_stats(const char *dir, const char *rel)
{
	json_t *o = json_object();
	unsigned long long cur = 0, lim = 0;
	if (read_u64(dir, rel, "pids.current", &cur))
		set_nonzero(o, "current", cur);
	if (read_u64(dir, rel, "pids.max", &lim))
		set_nonzero(o, "limit", lim);
	return o;
}

static json_t *stats_v1(const char *rel, const struct berth_sysinfo *si, struct berth_error *err)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s%s", si->cg_memory[0] ? si->cg_memory : si->cg_cpuacct, rel);
	struct stat st;
	if (stat(p, &st) < 0) {
		berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "cgroup %s", rel);
		return NULL;
	}
	json_t *s = json_object();
	json_object_set_new(s, "pids_stats", si->cg_pids[0] ? pids_stats(si->cg_pids, rel) : json_object());
	json_object_set_new(s, "blkio_stats", blkio_v1(si, rel));

	/* cpu */
	const char *acct = si->cg_cpuacct[0] ? si->cg_cpuacct : si->cg_cpu;
	json_t *usage = json_object();
	unsigned long long total = 0;
	read_u64(acct, rel, "cpuacct.usage", &total);
	json_object_set_new(usage, "total_usage", json_integer((json_int_t)total));
	cleanup_free char *percpu = read_text(acct, rel, "cpuacct.usage_percpu");
	json_t *pc = json_array();
	for (char *q = percpu; q && *q;) {
		char *end;
		unsigned long long v = strtoull(q, &end, 10);
		if (end == q)
			break;
		json_array_append_new(pc, json_integer((json_int_t)v));
		q = end;
	}
	if (json_array_size(pc))
		json_object_set_new(usage, "percpu_usage", pc);
	else
		json_decref(pc);
	cleanup_free char *cst = read_text(acct, rel, "cpuacct.stat");
	cleanup_json json_t *cs = kv_object(cst, NULL);
	unsigned long long hz = (unsigned long long)sysconf(_SC_CLK_TCK);
	json_object_set_new(usage, "usage_in_kernelmode",
			    json_integer((json_int_t)(kv(cs, "system") * 1000000000ULL / hz)));
	json_object_set_new(usage, "usage_in_usermode",
			    json_integer((json_int_t)(kv(cs, "user") * 1000000000ULL / hz)));
	cleanup_free char *thr = read_text(si->cg_cpu, rel, "cpu.stat");
	cleanup_json json_t *th = kv_object(thr, NULL);
	json_object_set_new(s, "cpu_stats",
			    json_pack("{s:o, s:I, s:i, s:{s:I, s:I, s:I}}", "cpu_usage", usage, "system_cpu_usage",
				      (json_int_t)system_cpu_usage(), "online_cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
				      "throttling_data", "periods", (json_int_t)kv(th, "nr_periods"),
				      "throttled_periods", (json_int_t)kv(th, "nr_throttled"), "throttled_time",
				      (json_int_t)kv(th, "throttled_time")));

	/* memory */
	json_t *mem = json_object();
	if (si->cg_memory[0]) {
		cleanup_free char *ms = read_text(si->cg_memory, rel, "memory.stat");
		json_t *raw = kv_object(ms, v1_mem_keys);
		for (size_t i = 0; v1_mem_keys[i]; i++)
			if (!json_object_get(raw, v1_mem_keys[i]))
				json_object_set_new(raw, v1_mem_keys[i], json_integer(0));
		json_object_set_new(mem, "stats", raw);
		unsigned long long v = 0;
		if (read_u64(si->cg_memory, rel, "memory.usage_in_bytes", &v))
			set_nonzero(mem, "usage", v);
		if (read_u64(si->cg_memory, rel, "memory.max_usage_in_bytes", &v))
			set_nonzero(mem, "max_usage", v);
		if (read_u64(si->cg_memory, rel, "memory.failcnt", &v))
			set_nonzero(mem, "failcnt", v);
		if (read_u64(si->cg_memory, rel, "memory.limit_in_bytes", &v)) {
			if (si->mem_total > 0 && v > (unsigned long long)si->mem_total)
				v = (unsigned long long)si->mem_total;
			set_nonzero(mem, "limit", v);
		}
	}
	json_object_set_new(s, "memory_stats", mem);
	return s;
}

static json_t *stats_v2(const char *rel, const struct berth_sysinfo *si, struct berth_error *err)
{
	const char *d = si->cgroup2_mount;
	char p[1024];
	snprintf(p, sizeof(p), "%s%s", d, rel);
	struct stat st;
	if (stat(p, &st) < 0) {
		berth_err_sys(err, BERTH_E_NOT_FOUND, errno, "cgroup %s", rel);
		return NULL;
	}
	json_t *s = json_object();
	json_object_set_new(s, "pids_stats", pids_stats(d, rel));

	json_t *isb = json_array();
	cleanup_free char *io = read_text(d, rel, "io.stat");
	for (const char *q = io; q && *q;) {
		unsigned maj, min;
		int n = 0;
		if (sscanf(q, "%u:%u%n", &maj, &min, &n) == 2) {
			unsigned long long rb = 0, wb = 0;
			const char *r = strstr(q, "rbytes="), *w = strstr(q, "wbytes="), *eol = strchr(q, '\n');
			if (r && (!eol || r < eol))
				rb = strtoull(r + 7, NULL, 10);
			if (w && (!eol || w < eol))
				wb = strtoull(w + 7, NULL, 10);
			json_array_append_new(isb, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)maj, "minor",
							     (int)min, "op", "read", "value", (json_int_t)rb));
			json_array_append_new(isb, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)maj, "minor",
							     (int)min, "op", "write", "value", (json_int_t)wb));
		}
		q = strchr(q, '\n');
		if (q)
			q++;
	}
	json_object_set_new(s, "blkio_stats",
			    json_pack("{s:o, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "io_service_bytes_recursive",
				      json_array_size(isb) ? isb : (json_decref(isb), json_null()),
				      "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
				      "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
				      "sectors_recursive"));

	cleanup_free char *cpu = read_text(d, rel, "cpu.stat");
	cleanup_json json_t *c = kv_object(cpu, NULL);
	json_object_set_new(s, "cpu_stats",
			    json_pack("{s:{s:I, s:I, s:I}, s:I, s:i, s:{s:I, s:I, s:I}}", "cpu_usage", "total_usage",
				      (json_int_t)(kv(c, "usage_usec") * 1000), "usage_in_kernelmode",
				      (json_int_t)(kv(c, "system_usec") * 1000), "usage_in_usermode",
				      (json_int_t)(kv(c, "user_usec") * 1000), "system_cpu_usage",
				      (json_int_t)system_cpu_usage(), "online_cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
				      "throttling_data", "periods", (json_int_t)kv(c, "nr_periods"),
				      "throttled_periods", (json_int_t)kv(c, "nr_throttled"), "throttled_time",
				      (json_int_t)(kv(c, "throttled_usec") * 1000)));

	json_t *mem = json_object();
	cleanup_free char *ms = read_text(d, rel, "memory.stat");
	json_t *raw = kv_object(ms, v2_mem_keys);
	for (size_t i = 0; v2_mem_keys[i]; i++)
		if (!json_object_get(raw, v2_mem_keys[i]))
			json_object_set_new(raw, v2_mem_keys[i], json_integer(0));
	json_object_set_new(mem, "stats", raw);
	unsigned long long v = 0;
	if (read_u64(d, rel, "memory.current", &v))
		set_nonzero(mem, "usage", v);
	cleanup_free char *maxs = read_text(d, rel, "memory.max");
	unsigned long long lim = maxs && strncmp(maxs, "max", 3) ? strtoull(maxs, NULL, 10) : ~0ULL;
	if (si->mem_total > 0 && lim > (unsigned long long)si->mem_total)
		lim = (unsigned long long)si->mem_total;
	set_nonzero(mem, "limit", lim);
	cleanup_free char *ev = read_text(d, rel, "memory.events");
	cleanup_json json_t *evo = kv_object(ev, NULL);
	set_nonzero(mem, "failcnt", kv(evo, "oom"));
	json_object_set_new(s, "memory_stats", mem);
	return s;
}

json_t *berth_cgroup_stats(const char *cgroup_path, const struct berth_sysinfo *si, struct berth_error *err)
{
	if (!cgroup_path || cgroup_path[0] != '/' || strstr(cgroup_path, "..")) {
		berth_err(err, BERTH_E_INVALID, "invalid cgroup path");
		return NULL;
	}
	json_t *s =
		si->cgroup_mode == BERTH_CGROUP_V2 ? stats_v2(cgroup_path, si, err) : stats_v1(cgroup_path, si, err);
	if (!s)
		return NULL;
	char ts[64];
	berth_time_rfc3339(berth_now_ns(), ts, sizeof(ts));
	json_object_set_new(s, "read", json_string(ts));
	json_object_set_new(s, "num_procs", json_integer(0));
	json_object_set_new(s, "storage_stats", json_object());
	return s;
}
