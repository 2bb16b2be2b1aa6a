#include "sysinfo.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"

const char *berth_cgroup_mode_name(enum berth_cgroup_mode m)
{
	switch (m) {
	case BERTH_CGROUP_V1: return "1";
	case BERTH_CGROUP_HYBRID: return "hybrid";
	case BERTH_CGROUP_V2: return "2";
	case BERTH_CGROUP_NONE: break;
	}
	return "none";
}

static bool exists_in(const char *dir, const char *name)
{
	if (!*dir)
		return false;
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void read_line(const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f || !fgets(out, (int)outlen, f))
		return;
	out[strcspn(out, "\n")] = '\0';
}

struct v1_mounts {
	char memory[128], cpu[128], cpuacct[128], cpuset[128], pids[128], blkio[128], freezer[128];
};

/* Parse /proc/self/mountinfo for cgroup (v1) and cgroup2 mounts. */
static void scan_mounts(struct berth_sysinfo *si, struct v1_mounts *m)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	bool any_v1 = false;
	while (getline(&line, &cap, f) > 0) {
		/* "id parent maj:min root mountpoint opts [optional...] - fstype source superopts" */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char mnt[256] = "";
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		char fstype[32] = "", src[64] = "", super[512] = "";
		if (sscanf(sep + 3, "%31s %63s %511s", fstype, src, super) < 2)
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			if (!si->cgroup2_mount[0])
				snprintf(si->cgroup2_mount, sizeof(si->cgroup2_mount), "%.127s", mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		any_v1 = true;
		char *save = NULL;
		for (char *tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *dst = NULL;
			if (!strcmp(tok, "memory"))
				dst = m->memory;
			else if (!strcmp(tok, "cpu"))
				dst = m->cpu;
			else if (!strcmp(tok, "cpuacct"))
				dst = m->cpuacct;
			else if (!strcmp(tok, "freezer"))
				dst = m->freezer;
			else if (!strcmp(tok, "cpuset"))
				dst = m->cpuset;
			else if (!strcmp(tok, "pids"))
				dst = m->pids;
			else if (!strcmp(tok, "blkio"))
				dst = m->blkio;
			if (dst && !dst[0])
				snprintf(dst, 128, "%.127s", mnt);
		}
	}
	free(line);
	if (any_v1) {
		si->cgroup_mode = si->cgroup2_mount[0] ? BERTH_CGROUP_HYBRID : BERTH_CGROUP_V1;
		snprintf(si->cgroup_root, sizeof(si->cgroup_root), "/sys/fs/cgroup");
	} else if (si->cgroup2_mount[0]) {
		si->cgroup_mode = BERTH_CGROUP_V2;
		snprintf(si->cgroup_root, sizeof(si->cgroup_root), "%s", si->cgroup2_mount);
	}
}

static void probe_v1(struct berth_sysinfo *si, const struct v1_mounts *m)
{
	si->memory_limit = exists_in(m->memory, "memory.limit_in_bytes");
	si->swap_limit = exists_in(m->memory, "memory.memsw.limit_in_bytes");
	si->memory_reservation = exists_in(m->memory, "memory.soft_limit_in_bytes");
	si->memory_swappiness = exists_in(m->memory, "memory.swappiness");
	si->kernel_memory = exists_in(m->memory, "memory.kmem.limit_in_bytes");
	si->kernel_memory_tcp = exists_in(m->memory, "memory.kmem.tcp.limit_in_bytes");
	si->oom_kill_disable = exists_in(m->memory, "memory.oom_control");
	si->cpu_cfs = exists_in(m->cpu, "cpu.cfs_quota_us");
	si->cpu_shares = exists_in(m->cpu, "cpu.shares");
	si->cpu_realtime = exists_in(m->cpu, "cpu.rt_runtime_us");
	si->pids_limit = m->pids[0] != '\0';
	si->blkio_weight = exists_in(m->blkio, "blkio.weight") || exists_in(m->blkio, "blkio.bfq.weight");
	si->blkio_weight_device =
		exists_in(m->blkio, "blkio.weight_device") || exists_in(m->blkio, "blkio.bfq.weight_device");
	si->blkio_read_bps = exists_in(m->blkio, "blkio.throttle.read_bps_device");
	si->blkio_write_bps = exists_in(m->blkio, "blkio.throttle.write_bps_device");
	si->blkio_read_iops = exists_in(m->blkio, "blkio.throttle.read_iops_device");
	si->blkio_write_iops = exists_in(m->blkio, "blkio.throttle.write_iops_device");
	if (m->cpuset[0]) {
		char p[256];
		si->cpuset = true;
		snprintf(p, sizeof(p), "%s/cpuset.effective_cpus", m->cpuset);
		read_line(p, si->cpuset_cpus, sizeof(si->cpuset_cpus));
		if (!si->cpuset_cpus[0]) {
			snprintf(p, sizeof(p), "%s/cpuset.cpus", m->cpuset);
			read_line(p, si->cpuset_cpus, sizeof(si->cpuset_cpus));
		}
		snprintf(p, sizeof(p), "%s/cpuset.effective_mems", m->cpuset);
		read_line(p, si->cpuset_mems, sizeof(si->cpuset_mems));
		if (!si->cpuset_mems[0]) {
			snprintf(p, sizeof(p), "%s/cpuset.mems", m->cpuset);
			read_line(p, si->cpuset_mems, sizeof(si->cpuset_mems));
		}
	}
}

static void probe_v2(struct berth_sysinfo *si)
{
	char p[256], ctrls[512];
	snprintf(p, sizeof(p), "%s/cgroup.controllers", si->cgroup2_mount);
	read_line(p, ctrls, sizeof(ctrls));
	char *save = NULL;
	for (char *tok = strtok_r(ctrls, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "memory")) {
			si->memory_limit = si->swap_limit = si->memory_reservation = true;
		} else if (!strcmp(tok, "cpu")) {
			si->cpu_cfs = si->cpu_shares = true;
		} else if (!strcmp(tok, "cpuset")) {
			si->cpuset = true;
		} else if (!strcmp(tok, "pids")) {
			si->pids_limit = true;
		} else if (!strcmp(tok, "io")) {
			si->blkio_weight = si->blkio_weight_device = true;
			si->blkio_read_bps = si->blkio_write_bps = si->blkio_read_iops = si->blkio_write_iops = true;
		}
	}
	if (si->cpuset) {
		snprintf(p, sizeof(p), "%s/cpuset.cpus.effective", si->cgroup2_mount);
		read_line(p, si->cpuset_cpus, sizeof(si->cpuset_cpus));
		snprintf(p, sizeof(p), "%s/cpuset.mems.effective", si->cgroup2_mount);
		read_line(p, si->cpuset_mems, sizeof(si->cpuset_mems));
	}
}

static const char *native_arch(const char *machine)
{
	static const struct {
		const char *uname, *native;
	} map[] = {
		{"x86_64", "amd64"},    {"i386", "x86"},      {"i486", "x86"},    {"i586", "x86"},
		{"i686", "x86"},        {"aarch64", "arm64"}, {"armv7l", "arm"},  {"armv6l", "arm"},
		{"ppc64le", "ppc64le"}, {"ppc64", "ppc64"},   {"s390x", "s390x"}, {"mips64", "mips64"},
		{"riscv64", "riscv64"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(machine, map[i].uname))
			return map[i].native;
	return machine;
}

void berth_sysinfo_probe(struct berth_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	struct v1_mounts m = {0};
	scan_mounts(si, &m);
	if (si->cgroup_mode == BERTH_CGROUP_V1 || si->cgroup_mode == BERTH_CGROUP_HYBRID) {
		probe_v1(si, &m);
		memcpy(si->cg_memory, m.memory, sizeof(m.memory));
		memcpy(si->cg_cpu, m.cpu, sizeof(m.cpu));
		memcpy(si->cg_cpuacct, m.cpuacct, sizeof(m.cpuacct));
		memcpy(si->cg_cpuset, m.cpuset, sizeof(m.cpuset));
		memcpy(si->cg_pids, m.pids, sizeof(m.pids));
		memcpy(si->cg_blkio, m.blkio, sizeof(m.blkio));
		memcpy(si->cg_freezer, m.freezer, sizeof(m.freezer));
	} else if (si->cgroup_mode == BERTH_CGROUP_V2)
		probe_v2(si);

	char buf[64];
	read_line("/sys/module/apparmor/parameters/enabled", buf, sizeof(buf));
	si->apparmor = buf[0] == 'Y' && access("/sys/kernel/security/apparmor", F_OK) == 0;
	/* Same test as docker: PR_GET_SECCOMP works and filter mode is known. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != -1 || errno != EINVAL) {
		errno = 0;
		if (prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, 0, 0, 0) == -1 && errno == EFAULT)
			si->seccomp = true;
	}
	read_line("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf));
	si->cap_last_cap = buf[0] ? atoi(buf) : 37;
	si->cap_bound = ~0ULL;
	cleanup_fclose FILE *st = fopen("/proc/self/status", "re");
	char line[256];
	while (st && fgets(line, sizeof(line), st))
		if (sscanf(line, "CapBnd: %llx", &si->cap_bound) == 1)
			break;

	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(si->kernel_release, sizeof(si->kernel_release), "%s", u.release);
		sscanf(u.release, "%d.%d", &si->kernel_major, &si->kernel_minor);
		snprintf(si->arch, sizeof(si->arch), "%.15s", native_arch(u.machine));
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	si->ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	si->mem_total = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	si->sysctl_ping_group_range = access("/proc/sys/net/ipv4/ping_group_range", F_OK) == 0;
	si->sysctl_unprivileged_port_start = access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0;
}

void berth_sysinfo_fake(struct berth_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	si->cgroup_mode = BERTH_CGROUP_V1;
	snprintf(si->cgroup_root, sizeof(si->cgroup_root), "/sys/fs/cgroup");
	si->memory_limit = si->swap_limit = si->memory_reservation = si->memory_swappiness = true;
	si->kernel_memory = si->kernel_memory_tcp = si->oom_kill_disable = true;
	si->cpu_cfs = si->cpu_shares = si->cpuset = si->pids_limit = true;
	si->blkio_weight = si->blkio_weight_device = true;
	si->blkio_read_bps = si->blkio_write_bps = si->blkio_read_iops = si->blkio_write_iops = true;
	snprintf(si->cpuset_cpus, sizeof(si->cpuset_cpus), "0-3");
	snprintf(si->cpuset_mems, sizeof(si->cpuset_mems), "0");
	si->seccomp = true;
	si->cap_last_cap = 40;
	si->cap_bound = ~0ULL;
	si->kernel_major = 5;
	si->kernel_minor = 10;
	snprintf(si->kernel_release, sizeof(si->kernel_release), "5.10.0-fake");
	si->ncpu = 4;
	si->sysctl_ping_group_range = si->sysctl_unprivileged_port_start = true;
	snprintf(si->arch, sizeof(si->arch), "amd64");
}

json_t *berth_sysinfo_info(const struct berth_sysinfo *si)
{
	bool v2 = si->cgroup_mode == BERTH_CGROUP_V2;
	json_t *sec = json_array();
	if (si->apparmor)
		json_array_append_new(sec, json_string("name=apparmor"));
	if (si->seccomp)
		json_array_append_new(sec, json_string("name=seccomp,profile=default"));
	if (v2)
		json_array_append_new(sec, json_string("name=cgroupns"));
	json_t *w = json_array();
	struct {
		bool ok, v1_only;
		const char *msg;
	} checks[] = {
		{si->memory_limit, false, "WARNING: No memory limit support"},
		{si->swap_limit, false, "WARNING: No swap limit support"},
		{si->kernel_memory, true, "WARNING: No kernel memory limit support"},
		{si->kernel_memory_tcp, true, "WARNING: No kernel memory TCP limit support"},
		{si->oom_kill_disable, true, "WARNING: No oom kill disable support"},
		{si->cpu_cfs, false, "WARNING: No cpu cfs quota support"},
		{si->cpu_cfs, false, "WARNING: No cpu cfs period support"},
		{si->cpu_shares, false, "WARNING: No cpu shares support"},
		{si->cpuset, false, "WARNING: No cpuset support"},
		{si->blkio_weight, false, "WARNING: No blkio weight support"},
		{si->blkio_weight_device, false, "WARNING: No blkio weight_device support"},
		{si->blkio_read_bps, false, "WARNING: No blkio throttle.read_bps_device support"},
		{si->blkio_write_bps, false, "WARNING: No blkio throttle.write_bps_device support"},
		{si->blkio_read_iops, false, "WARNING: No blkio throttle.read_iops_device support"},
		{si->blkio_write_iops, false, "WARNING: No blkio throttle.write_iops_device support"},
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!checks[i].ok && !(checks[i].v1_only && v2))
			json_array_append_new(w, json_string(checks[i].msg));
	if (si->cgroup_mode == BERTH_CGROUP_NONE)
		json_array_append_new(w, json_string("WARNING: cgroups are not mounted"));
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:s, s:s, s:i, s:o, s:o}",
			 "MemoryLimit", si->memory_limit, "SwapLimit", si->swap_limit, "KernelMemory",
			 si->kernel_memory, "KernelMemoryTCP", si->kernel_memory_tcp, "CpuCfsPeriod", si->cpu_cfs,
			 "CpuCfsQuota", si->cpu_cfs, "CPUShares", si->cpu_shares, "CPUSet", si->cpuset, "PidsLimit",
			 si->pids_limit, "OomKillDisable", si->oom_kill_disable, "CgroupDriver", "cgroupfs",
			 "CgroupVersion", v2 ? "2" : "1", "KernelVersion", si->kernel_release, "NCPU", si->ncpu,
			 "SecurityOptions", sec, "Warnings", w);
}
