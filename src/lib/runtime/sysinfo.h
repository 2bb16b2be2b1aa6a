/* What this host's kernel and cgroup setup support, probed once by berthd
 * at start. Spec building and resource checks take it as input (so they are
 * pure functions and testable with a made-up host). */
#pragma once
#include <stdbool.h>

#include "common/error.h"

enum berth_cgroup_mode {
	BERTH_CGROUP_NONE = 0,
	BERTH_CGROUP_V1,     /* legacy: v1 controllers only */
	BERTH_CGROUP_HYBRID, /* v1 controllers + an (empty-ish) cgroup2 mount, e.g. /sys/fs/cgroup/unified */
	BERTH_CGROUP_V2,     /* unified */
};

struct berth_sysinfo {
	enum berth_cgroup_mode cgroup_mode;
	char cgroup_root[128];   /* v1: "/sys/fs/cgroup"; v2: the cgroup2 mount */
	char cgroup2_mount[128]; /* "" when none */
	/* v1 controller mount points ("" when not mounted) */
	char cg_memory[128], cg_cpu[128], cg_cpuacct[128], cg_cpuset[128], cg_pids[128], cg_blkio[128], cg_freezer[128];
	long long mem_total; /* bytes of RAM (docker's machineMemory) */
	/* controllers (docker's sysinfo fields) */
	bool memory_limit, swap_limit, memory_reservation, memory_swappiness, kernel_memory, kernel_memory_tcp,
		oom_kill_disable;
	bool cpu_cfs, cpu_shares, cpu_realtime, cpuset, pids_limit, blkio_weight, blkio_weight_device;
	bool blkio_read_bps, blkio_write_bps, blkio_read_iops, blkio_write_iops;
	char cpuset_cpus[128], cpuset_mems[128];
	/* security */
	bool apparmor, seccomp;
	int cap_last_cap;
	/* the daemon's own capability bounding set (CapBnd): --privileged and
	 * --cap-add ALL get what the daemon has, not what it lacks */
	unsigned long long cap_bound;
	/* kernel */
	int kernel_major, kernel_minor;
	char kernel_release[128];
	int ncpu;
	/* network sysctls docker sets in private network namespaces when present */
	bool sysctl_ping_group_range, sysctl_unprivileged_port_start;
	/* docker's arch name ("amd64", "arm64", ...) */
	char arch[16];
};

/* Probe the running host. Never fails hard: what cannot be read is "false". */
void berth_sysinfo_probe(struct berth_sysinfo *si);
/* A fully capable cgroup-v1 amd64 host, kernel 5.10: deterministic input for tests. */
void berth_sysinfo_fake(struct berth_sysinfo *si);
const char *berth_cgroup_mode_name(enum berth_cgroup_mode m); /* "1", "2", "hybrid"... for logs */

/* The `GET /info` fields this module knows, docker's names: MemoryLimit,
 * SwapLimit, KernelMemory, KernelMemoryTCP, CpuCfsPeriod, CpuCfsQuota,
 * CPUShares, CPUSet, PidsLimit, OomKillDisable, CgroupDriver, CgroupVersion,
 * KernelVersion, NCPU, SecurityOptions, and Warnings (docker's "WARNING: No
 * swap limit support" etc.). Merge into the daemon's info object. */
#include <jansson.h>
json_t *berth_sysinfo_info(const struct berth_sysinfo *si);
