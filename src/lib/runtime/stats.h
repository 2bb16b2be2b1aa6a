/* Container resource usage from its cgroups, in docker's stats format
 * (GET /containers/{id}/stats, types.StatsJSON), cgroup v1 and v2. */
#pragma once
#include <jansson.h>

#include "common/error.h"
#include "sysinfo.h"

/* One sample for the container whose cgroupsPath is cgroup_path
 * ("/berth/<id>"): "read", "pids_stats", "blkio_stats", "num_procs",
 * "storage_stats", "cpu_stats" (with system_cpu_usage and online_cpus) and
 * "memory_stats" (limit capped at the host's memory, as docker does). The
 * daemon adds "name", "id", "networks", and "preread"/"precpu_stats" from
 * its previous sample. BERTH_E_NOT_FOUND when the cgroup is gone. */
json_t *berth_cgroup_stats(const char *cgroup_path, const struct berth_sysinfo *si, struct berth_error *err);
