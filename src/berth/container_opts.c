/* `run`/`create` flags -> create body (docker's containerOptions + parse()). */
#include "container_opts.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "container_opts_int.h"
#include "format/units.h"

struct flags {
	char **attach, **volumes, **tmpfs, **mounts, **blkio_weight_device, **read_bps, **write_bps, **read_iops,
		**write_iops, **links, **aliases, **link_local_ips, **env, **labels, **cgroup_rules, **devices,
		**ulimits, **sysctls, **publish, **expose, **dns, **dns_search, **dns_options, **extra_hosts,
		**volumes_from, **env_file, **cap_add, **cap_drop, **group_add, **security_opt, **storage_opt,
		**label_file, **log_opts, **networks, **net_compat, **net_alias_compat, **dns_opt_compat;
	bool privileged, publish_all, interactive, tty, oom_kill_disable, read_only, no_healthcheck, rm, init, detach,
		sig_proxy, untrusted;
	char *pid, *uts, *userns, *cgroupns, *cidfile, *entrypoint, *hostname, *domainname, *memory,
		*memory_reservation, *memory_swap, *kernel_memory, *user, *workdir, *cpus, *cpuset_cpus, *cpuset_mems,
		*mac, *ip, *ip6, *ipc, *restart, *log_driver, *cgroup_parent, *volume_driver, *stop_signal, *isolation,
		*shm_size, *health_cmd, *health_interval, *health_timeout, *health_start_period, *runtime, *name,
		*detach_keys, *platform, *pull, *io_max_bandwidth, *gpus;
	long long oom_score_adj, cpu_count, cpu_shares, cpu_percent, cpu_period, cpu_rt_period, cpu_rt_runtime,
		cpu_quota, blkio_weight, swappiness, pids_limit, stop_timeout, health_retries, io_max_iops;
};

#define NOT_SET LLONG_MIN

static void flags_free(struct flags *f)
{
	char ***lists[] = {&f->attach,
			   &f->volumes,
			   &f->tmpfs,
			   &f->mounts,
			   &f->blkio_weight_device,
			   &f->read_bps,
			   &f->write_bps,
			   &f->read_iops,
			   &f->write_iops,
			   &f->links,
			   &f->aliases,
			   &f->link_local_ips,
			   &f->env,
			   &f->labels,
			   &f->cgroup_rules,
			   &f->devices,
			   &f->ulimits,
			   &f->sysctls,
			   &f->publish,
			   &f->expose,
			   &f->dns,
			   &f->dns_search,
			   &f->dns_options,
			   &f->extra_hosts,
			   &f->volumes_from,
			   &f->env_file,
			   &f->cap_add,
			   &f->cap_drop,
			   &f->group_add,
			   &f->security_opt,
			   &f->storage_opt,
			   &f->label_file,
			   &f->log_opts,
			   &f->networks,
			   &f->net_compat,
			   &f->net_alias_compat,
			   &f->dns_opt_compat};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		berth_strv_free(*lists[i]);
	char **strs[] = {&f->pid,
			 &f->uts,
			 &f->userns,
			 &f->cgroupns,
			 &f->cidfile,
			 &f->entrypoint,
			 &f->hostname,
			 &f->domainname,
			 &f->memory,
			 &f->memory_reservation,
			 &f->memory_swap,
			 &f->kernel_memory,
			 &f->user,
			 &f->workdir,
			 &f->cpus,
			 &f->cpuset_cpus,
			 &f->cpuset_mems,
			 &f->mac,
			 &f->ip,
			 &f->ip6,
			 &f->ipc,
			 &f->restart,
			 &f->log_driver,
			 &f->cgroup_parent,
			 &f->volume_driver,
			 &f->stop_signal,
			 &f->isolation,
			 &f->shm_size,
			 &f->health_cmd,
			 &f->health_interval,
			 &f->health_timeout,
			 &f->health_start_period,
			 &f->runtime,
			 &f->name,
			 &f->detach_keys,
			 &f->platform,
			 &f->pull,
			 &f->io_max_bandwidth,
			 &f->gpus};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

#define MAX_OPTS 128

/* The flag table, in the order `--help` lists them (alphabetical, as cobra). */
static size_t build_opts(struct flags *f, bool is_run, struct cli_opt *o)
{
	size_t n = 0;
#define ADD(l, s, t, p, h) o[n++] = (struct cli_opt){l, s, t, p, h}
	ADD("add-host", 0, OPT_LIST, &f->extra_hosts, "Add a custom host-to-IP mapping (host:ip)");
	ADD("attach", 'a', OPT_LIST, &f->attach, "Attach to STDIN, STDOUT or STDERR");
	ADD("blkio-weight", 0, OPT_INT, &f->blkio_weight,
	    "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)");
	ADD("blkio-weight-device", 0, OPT_LIST, &f->blkio_weight_device, "Block IO weight (relative device weight)");
	ADD("cap-add", 0, OPT_LIST, &f->cap_add, "Add Linux capabilities");
	ADD("cap-drop", 0, OPT_LIST, &f->cap_drop, "Drop Linux capabilities");
	ADD("cgroup-parent", 0, OPT_STR, &f->cgroup_parent, "Optional parent cgroup for the container");
	ADD("cgroupns", 0, OPT_STR, &f->cgroupns, "Cgroup namespace to use (host|private)");
	ADD("cidfile", 0, OPT_STR, &f->cidfile, "Write the container ID to the file");
	ADD("cpu-count", 0, OPT_INT, &f->cpu_count, "");
	ADD("cpu-percent", 0, OPT_INT, &f->cpu_percent, "");
	ADD("cpu-period", 0, OPT_INT, &f->cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
	ADD("cpu-quota", 0, OPT_INT, &f->cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
	ADD("cpu-rt-period", 0, OPT_INT, &f->cpu_rt_period, "Limit CPU real-time period in microseconds");
	ADD("cpu-rt-runtime", 0, OPT_INT, &f->cpu_rt_runtime, "Limit CPU real-time runtime in microseconds");
	ADD("cpu-shares", 'c', OPT_INT, &f->cpu_shares, "CPU shares (relative weight)");
	ADD("cpus", 0, OPT_STR, &f->cpus, "Number of CPUs");
	ADD("cpuset-cpus", 0, OPT_STR, &f->cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
	ADD("cpuset-mems", 0, OPT_STR, &f->cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
	if (is_run)
		ADD("detach", 'd', OPT_BOOL, &f->detach, "Run container in background and print container ID");
	if (is_run)
		ADD("detach-keys", 0, OPT_STR, &f->detach_keys, "Override the key sequence for detaching a container");
	ADD("device", 0, OPT_LIST, &f->devices, "Add a host device to the container");
	ADD("device-cgroup-rule", 0, OPT_LIST, &f->cgroup_rules, "Add a rule to the cgroup allowed devices list");
	ADD("device-read-bps", 0, OPT_LIST, &f->read_bps, "Limit read rate (bytes per second) from a device");
	ADD("device-read-iops", 0, OPT_LIST, &f->read_iops, "Limit read rate (IO per second) from a device");
	ADD("device-write-bps", 0, OPT_LIST, &f->write_bps, "Limit write rate (bytes per second) to a device");
	ADD("device-write-iops", 0, OPT_LIST, &f->write_iops, "Limit write rate (IO per second) to a device");
	ADD("disable-content-trust", 0, OPT_BOOL, &f->untrusted, "Skip image verification (default true)");
	ADD("dns", 0, OPT_LIST, &f->dns, "Set custom DNS servers");
	ADD("dns-opt", 0, OPT_LIST, &f->dns_opt_compat, "");
	ADD("dns-option", 0, OPT_LIST, &f->dns_options, "Set DNS options");
	ADD("dns-search", 0, OPT_LIST, &f->dns_search, "Set custom DNS search domains");
	ADD("domainname", 0, OPT_STR, &f->domainname, "Container NIS domain name");
	ADD("entrypoint", 0, OPT_STR, &f->entrypoint, "Overwrite the default ENTRYPOINT of the image");
	ADD("env", 'e', OPT_LIST, &f->env, "Set environment variables");
	ADD("env-file", 0, OPT_LIST, &f->env_file, "Read in a file of environment variables");
	ADD("expose", 0, OPT_LIST, &f->expose, "Expose a port or a range of ports");
	ADD("group-add", 0, OPT_LIST, &f->group_add, "Add additional groups to join");
	ADD("health-cmd", 0, OPT_STR, &f->health_cmd, "Command to run to check health");
	ADD("health-interval", 0, OPT_STR, &f->health_interval,
	    "Time between running the check (ms|s|m|h) (default 0s)");
	ADD("health-retries", 0, OPT_INT, &f->health_retries, "Consecutive failures needed to report unhealthy");
	ADD("health-start-period", 0, OPT_STR, &f->health_start_period,
	    "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)");
	ADD("health-timeout", 0, OPT_STR, &f->health_timeout,
	    "Maximum time to allow one check to run (ms|s|m|h) (default 0s)");
	ADD("hostname", 'h', OPT_STR, &f->hostname, "Container host name");
	ADD("init", 0, OPT_BOOL, &f->init,
	    "Run an init inside the container that forwards signals and reaps processes");
	ADD("interactive", 'i', OPT_BOOL, &f->interactive, "Keep STDIN open even if not attached");
	ADD("io-maxbandwidth", 0, OPT_STR, &f->io_max_bandwidth, "");
	ADD("io-maxiops", 0, OPT_INT, &f->io_max_iops, "");
	ADD("ip", 0, OPT_STR, &f->ip, "IPv4 address (e.g., 172.30.100.104)");
	ADD("ip6", 0, OPT_STR, &f->ip6, "IPv6 address (e.g., 2001:db8::33)");
	ADD("ipc", 0, OPT_STR, &f->ipc, "IPC mode to use");
	ADD("isolation", 0, OPT_STR, &f->isolation, "Container isolation technology");
	ADD("kernel-memory", 0, OPT_STR, &f->kernel_memory, "Kernel memory limit");
	ADD("label", 'l', OPT_LIST, &f->labels, "Set meta data on a container");
	ADD("label-file", 0, OPT_LIST, &f->label_file, "Read in a line delimited file of labels");
	ADD("link", 0, OPT_LIST, &f->links, "Add link to another container");
	ADD("link-local-ip", 0, OPT_LIST, &f->link_local_ips, "Container IPv4/IPv6 link-local addresses");
	ADD("log-driver", 0, OPT_STR, &f->log_driver, "Logging driver for the container");
	ADD("log-opt", 0, OPT_LIST, &f->log_opts, "Log driver options");
	ADD("mac-address", 0, OPT_STR, &f->mac, "Container MAC address (e.g., 92:d0:c6:0a:29:33)");
	ADD("memory", 'm', OPT_STR, &f->memory, "Memory limit");
	ADD("memory-reservation", 0, OPT_STR, &f->memory_reservation, "Memory soft limit");
	ADD("memory-swap", 0, OPT_STR, &f->memory_swap,
	    "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
	ADD("memory-swappiness", 0, OPT_INT, &f->swappiness,
	    "Tune container memory swappiness (0 to 100) (default -1)");
	ADD("mount", 0, OPT_LIST, &f->mounts, "Attach a filesystem mount to the container");
	ADD("name", 0, OPT_STR, &f->name, "Assign a name to the container");
	ADD("net", 0, OPT_LIST, &f->net_compat, "");
	ADD("net-alias", 0, OPT_LIST, &f->net_alias_compat, "");
	ADD("network", 0, OPT_LIST, &f->networks, "Connect a container to a network");
	ADD("network-alias", 0, OPT_LIST, &f->aliases, "Add network-scoped alias for the container");
	ADD("no-healthcheck", 0, OPT_BOOL, &f->no_healthcheck, "Disable any container-specified HEALTHCHECK");
	ADD("oom-kill-disable", 0, OPT_BOOL, &f->oom_kill_disable, "Disable OOM Killer");
	ADD("oom-score-adj", 0, OPT_INT, &f->oom_score_adj, "Tune host's OOM preferences (-1000 to 1000)");
	ADD("pid", 0, OPT_STR, &f->pid, "PID namespace to use");
	ADD("pids-limit", 0, OPT_INT, &f->pids_limit, "Tune container pids limit (set -1 for unlimited)");
	ADD("platform", 0, OPT_STR, &f->platform, "Set platform if server is multi-platform capable");
	ADD("privileged", 0, OPT_BOOL, &f->privileged, "Give extended privileges to this container");
	ADD("publish", 'p', OPT_LIST, &f->publish, "Publish a container's port(s) to the host");
	ADD("publish-all", 'P', OPT_BOOL, &f->publish_all, "Publish all exposed ports to random ports");
	ADD("pull", 0, OPT_STR, &f->pull,
	    "Pull image before running (\"always\"|\"missing\"|\"never\") (default \"missing\")");
	ADD("read-only", 0, OPT_BOOL, &f->read_only, "Mount the container's root filesystem as read only");
	ADD("restart", 0, OPT_STR, &f->restart, "Restart policy to apply when a container exits (default \"no\")");
	ADD("rm", 0, OPT_BOOL, &f->rm, "Automatically remove the container when it exits");
	ADD("runtime", 0, OPT_STR, &f->runtime, "Runtime to use for this container");
	ADD("security-opt", 0, OPT_LIST, &f->security_opt, "Security Options");
	ADD("shm-size", 0, OPT_STR, &f->shm_size, "Size of /dev/shm");
	if (is_run)
		ADD("sig-proxy", 0, OPT_BOOL, &f->sig_proxy, "Proxy received signals to the process (default true)");
	ADD("stop-signal", 0, OPT_STR, &f->stop_signal, "Signal to stop a container (default \"SIGTERM\")");
	ADD("stop-timeout", 0, OPT_INT, &f->stop_timeout, "Timeout (in seconds) to stop a container");
	ADD("storage-opt", 0, OPT_LIST, &f->storage_opt, "Storage driver options for the container");
	ADD("sysctl", 0, OPT_LIST, &f->sysctls, "Sysctl options");
	ADD("tmpfs", 0, OPT_LIST, &f->tmpfs, "Mount a tmpfs directory");
	ADD("tty", 't', OPT_BOOL, &f->tty, "Allocate a pseudo-TTY");
	ADD("ulimit", 0, OPT_LIST, &f->ulimits, "Ulimit options");
	ADD("user", 'u', OPT_STR, &f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
	ADD("userns", 0, OPT_STR, &f->userns, "User namespace to use");
	ADD("uts", 0, OPT_STR, &f->uts, "UTS namespace to use");
	ADD("volume", 'v', OPT_LIST, &f->volumes, "Bind mount a volume");
	ADD("volume-driver", 0, OPT_STR, &f->volume_driver, "Optional volume driver for the container");
	ADD("volumes-from", 0, OPT_LIST, &f->volumes_from, "Mount volumes from the specified container(s)");
	ADD("workdir", 'w', OPT_STR, &f->workdir, "Working directory inside the container");
#undef ADD
	o[n] = (struct cli_opt){NULL, 0, 0, NULL, NULL};
	return n;
}

static const struct cli_opt *opt_long(const struct cli_opt *o, const char *name, size_t len)
{
	for (; o->lng; o++)
		if (strlen(o->lng) == len && !strncmp(o->lng, name, len))
			return o;
	return NULL;
}

static const struct cli_opt *opt_short(const struct cli_opt *o, char ch)
{
	for (; o->lng; o++)
		if (o->shrt == ch)
			return o;
	return NULL;
}

/* Walk the flags before the image the way cli_parse will, to (1) turn a
 * standalone "-h" into "--hostname" (docker's run has no -h for help) and
 * (2) learn whether --init was given at all. Returns a new argv (shallow). */
static char **prescan(int argc, char **argv, const struct cli_opt *opts, bool *init_changed)
{
	char **out = calloc((size_t)argc + 1, sizeof(char *));
	*init_changed = false;
	int i = 0;
	out[0] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		out[i] = argv[i];
		if (a[0] != '-' || !a[1] || !strcmp(a, "--"))
			break;
		if (!strcmp(a, "-h")) {
			out[i] = "--hostname";
			if (i + 1 < argc)
				out[i + 1] = argv[i + 1], i++;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = opt_long(opts, name, len);
			if (o && !strcmp(o->lng, "init"))
				*init_changed = true;
			if (o && !eq && o->type != OPT_BOOL && i + 1 < argc)
				out[i + 1] = argv[i + 1], i++;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			const struct cli_opt *o = opt_short(opts, *p);
			if (!o)
				break;
			if (o->type == OPT_BOOL)
				continue;
			if (!p[1] && i + 1 < argc)
				out[i + 1] = argv[i + 1], i++;
			break;
		}
	}
	for (i++; i < argc; i++)
		out[i] = argv[i];
	return out;
}

/* ---- error helpers ---- */

static int flag_err(struct berth_error *err, const struct cli_opt *opts, const char *lng, const char *val,
		    const char *msg)
{
	const struct cli_opt *o = opt_long(opts, lng, strlen(lng));
	char shown[96];
	if (o && o->shrt)
		snprintf(shown, sizeof(shown), "-%c, --%s", o->shrt, lng);
	else
		snprintf(shown, sizeof(shown), "--%s", lng);
	berth_err(err, BERTH_E_INVALID, "invalid argument \"%s\" for \"%s\" flag: %s", val, shown, msg);
	return CTR_PARSE_FLAG_ERR;
}

static int config_err(struct berth_error *err, const char *msg)
{
	char copy[sizeof(err->msg)];
	snprintf(copy, sizeof(copy), "%s", msg);
	berth_err(err, BERTH_E_INVALID, "%s", copy);
	return CTR_PARSE_CONFIG_ERR;
}

static json_t *strv_json(char **v, bool empty_array)
{
	if (!v || !v[0])
		return empty_array ? json_array() : json_null();
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ConvertKVStringsToMap */
static json_t *kv_map(char **v)
{
	cleanup_json json_t *m = json_object();
	for (size_t i = 0; v && v[i]; i++) {
		const char *eq = strchr(v[i], '=');
		cleanup_free char *k = eq ? strndup(v[i], (size_t)(eq - v[i])) : strdup(v[i]);
		json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
	}
	return ctr_json_sorted(m);
}

static bool mode_valid(const char *mode, bool allow_container, bool allow_private)
{
	if (!mode || !*mode || !strcmp(mode, "host"))
		return true;
	if (allow_private && !strcmp(mode, "private"))
		return true;
	if (allow_container && berth_str_has_prefix(mode, "container:")) {
		const char *id = mode + 10;
		return *id && !strchr(id, ':');
	}
	return false;
}

static bool net_user_defined(const char *n)
{
	return strcmp(n, "default") && strcmp(n, "bridge") && strcmp(n, "host") && strcmp(n, "none") &&
	       !berth_str_has_prefix(n, "container:");
}

/* One --network value (opts.NetworkOpt.Set). */
struct net_att {
	char *target, *ip4, *ip6;
	char **aliases, **links, **llips;
	json_t *driver_opts;
};

static void net_att_free(struct net_att *n)
{
	free(n->target);
	free(n->ip4);
	free(n->ip6);
	berth_strv_free(n->aliases);
	berth_strv_free(n->links);
	berth_strv_free(n->llips);
	json_decref(n->driver_opts);
}

static bool has_word_kv(const char *v)
{
	/* regexp \w+=\w+ anywhere */
	for (const char *p = strchr(v, '='); p; p = strchr(p + 1, '=')) {
		if (p > v && (isalnum((unsigned char)p[-1]) || p[-1] == '_') &&
		    (isalnum((unsigned char)p[1]) || p[1] == '_'))
			return true;
	}
	return false;
}

static void lower_trim(char **s)
{
	char *t = ctr_trim_space(*s);
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	free(*s);
	*s = t;
}

static int parse_network_opt(const char *value, struct net_att *n, struct berth_error *err)
{
	memset(n, 0, sizeof(*n));
	if (!has_word_kv(value)) {
		n->target = strdup(value);
		return 0;
	}
	char **fields = ctr_csv_fields(value, err);
	if (!fields)
		return -1;
	int rc = 0;
	for (size_t i = 0; fields[i] && rc == 0; i++) {
		const char *eq = strchr(fields[i], '=');
		if (!eq) {
			rc = berth_err(err, BERTH_E_INVALID, "invalid field %s", fields[i]);
			break;
		}
		char *k = strndup(fields[i], (size_t)(eq - fields[i])), *v = strdup(eq + 1);
		lower_trim(&k);
		lower_trim(&v);
		if (!strcmp(k, "name")) {
			free(n->target);
			n->target = strdup(v);
		} else if (!strcmp(k, "alias")) {
			berth_strv_push(&n->aliases, v);
		} else if (!strcmp(k, "ip")) {
			free(n->ip4);
			n->ip4 = strdup(v);
		} else if (!strcmp(k, "ip6")) {
			free(n->ip6);
			n->ip6 = strdup(v);
		} else if (!strcmp(k, "driver-opt")) {
			char *deq = strchr(v, '=');
			if (!deq) {
				rc = berth_err(err, BERTH_E_INVALID, "invalid key value pair format in driver options");
			} else {
				*deq = '\0';
				char *dk = strdup(v), *dv = strdup(deq + 1);
				lower_trim(&dk);
				lower_trim(&dv);
				if (!n->driver_opts)
					n->driver_opts = json_object();
				json_object_set_new(n->driver_opts, dk, json_string(dv));
				free(dk);
				free(dv);
			}
		} else {
			rc = berth_err(err, BERTH_E_INVALID, "invalid field key %s", k);
		}
		free(k);
		free(v);
	}
	berth_strv_free(fields);
	if (rc == 0 && (!n->target || !*n->target))
		rc = berth_err(err, BERTH_E_INVALID, "network name/id is not specified");
	return rc;
}

/* parseNetworkOpts: endpoints for NetworkingConfig. */
static int network_endpoints(struct flags *f, struct net_att *nets, size_t nn, json_t *endpoints,
			     struct berth_error *err)
{
	bool user = false, nonuser = false;
	for (size_t i = 0; i < nn; i++) {
		struct net_att *n = &nets[i];
		if (net_user_defined(n->target))
			user = true;
		else
			nonuser = true;
		if (i == 0) {
			if (n->aliases && f->aliases)
				return config_err(
					err,
					"conflicting options: cannot specify both --network-alias and per-network alias");
			if (n->links && f->links)
				return config_err(
					err, "conflicting options: cannot specify both --link and per-network links");
			if (n->ip4 && *n->ip4 && f->ip && *f->ip)
				return config_err(
					err,
					"conflicting options: cannot specify both --ip and per-network IPv4 address");
			if (n->ip6 && *n->ip6 && f->ip6 && *f->ip6)
				return config_err(
					err,
					"conflicting options: cannot specify both --ip6 and per-network IPv6 address");
			for (size_t k = 0; f->aliases && f->aliases[k]; k++)
				berth_strv_push(&n->aliases, f->aliases[k]);
			for (size_t k = 0; f->links && f->links[k]; k++)
				berth_strv_push(&n->links, f->links[k]);
			if (f->ip && *f->ip) {
				free(n->ip4);
				n->ip4 = strdup(f->ip);
			}
			if (f->ip6 && *f->ip6) {
				free(n->ip6);
				n->ip6 = strdup(f->ip6);
			}
			for (size_t k = 0; f->link_local_ips && f->link_local_ips[k]; k++)
				berth_strv_push(&n->llips, f->link_local_ips[k]);
		}
		if (strspn(n->target, " \t\n\r\v\f") == strlen(n->target))
			return config_err(err, "no name set for network");
		if (!net_user_defined(n->target)) {
			if (n->aliases)
				return config_err(
					err, "network-scoped aliases are only supported for user-defined networks");
			if (n->links)
				return config_err(err, "links are only supported for user-defined networks");
		}
		bool has_ipam = (n->ip4 && *n->ip4) || (n->ip6 && *n->ip6) || n->llips;
		bool empty =
			!n->aliases && !n->links && !has_ipam && !(n->driver_opts && json_object_size(n->driver_opts));
		if (json_object_get(endpoints, n->target)) {
			struct berth_buf q = {0};
			ctr_go_quote(&q, n->target);
			berth_err(err, BERTH_E_INVALID, "network %s is specified multiple times", berth_buf_str(&q));
			berth_buf_free(&q);
			return CTR_PARSE_CONFIG_ERR;
		}
		if (i == 0 && nn == 1 && empty)
			continue;
		json_t *ipam = json_null();
		if (has_ipam) {
			ipam = json_object();
			if (n->ip4 && *n->ip4)
				json_object_set_new(ipam, "IPv4Address", json_string(n->ip4));
			if (n->ip6 && *n->ip6)
				json_object_set_new(ipam, "IPv6Address", json_string(n->ip6));
			if (n->llips)
				json_object_set_new(ipam, "LinkLocalIPs", strv_json(n->llips, false));
		}
		json_t *ep = json_object();
		json_object_set_new(ep, "IPAMConfig", ipam);
		json_object_set_new(ep, "Links", strv_json(n->links, false));
		json_object_set_new(ep, "Aliases", strv_json(n->aliases, false));
		const char *strs[] = {"NetworkID", "EndpointID", "Gateway", "IPAddress"};
		for (size_t k = 0; k < 4; k++)
			json_object_set_new(ep, strs[k], json_string(""));
		json_object_set_new(ep, "IPPrefixLen", json_integer(0));
		json_object_set_new(ep, "IPv6Gateway", json_string(""));
		json_object_set_new(ep, "GlobalIPv6Address", json_string(""));
		json_object_set_new(ep, "GlobalIPv6PrefixLen", json_integer(0));
		json_object_set_new(ep, "MacAddress", json_string(""));
		json_object_set_new(ep, "DriverOpts",
				    n->driver_opts && json_object_size(n->driver_opts) ?
					    ctr_json_sorted(n->driver_opts) :
					    json_null());
		json_object_set_new(endpoints, n->target, ep);
	}
	if (user && nonuser)
		return config_err(
			err, "conflicting options: cannot attach both user-defined and non-user-defined network-modes");
	return 0;
}

/* Flag values docker validates as they are set (pflag Set): checked here in
 * table order after parsing. */
static int validate_flags(struct flags *f, const struct cli_opt *opts, struct berth_error *err)
{
	struct berth_error e = {0};
	for (size_t i = 0; f->attach && f->attach[i]; i++) {
		char *v = f->attach[i];
		for (char *p = v; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strcmp(v, "stdin") && strcmp(v, "stdout") && strcmp(v, "stderr"))
			return flag_err(err, opts, "attach", v, "valid streams are STDIN, STDOUT and STDERR");
	}
	for (size_t i = 0; f->env && f->env[i]; i++) {
		char *v = f->env[i];
		const char *eq = strchr(v, '=');
		if (v[0] == '=' || !v[0]) {
			cleanup_free char *m = berth_strdup_printf("invalid environment variable: %s", v);
			return flag_err(err, opts, "env", v, m);
		}
		const char *val = eq ? NULL : getenv(v);
		if (val) {
			char *n = berth_strdup_printf("%s=%s", v, val);
			free(f->env[i]);
			f->env[i] = n;
		}
	}
	for (size_t i = 0; f->labels && f->labels[i]; i++) {
		const char *v = f->labels[i];
		const char *eq = strchr(v, '=');
		cleanup_free char *k = eq ? strndup(v, (size_t)(eq - v)) : strdup(v);
		const char *key = k + strspn(k, " \t");
		if (!*key) {
			cleanup_free char *m = berth_strdup_printf("invalid label '%s': empty name", v);
			return flag_err(err, opts, "label", v, m);
		}
		if (strpbrk(key, " \t")) {
			cleanup_free char *m = berth_strdup_printf("label '%s' contains whitespaces", key);
			return flag_err(err, opts, "label", v, m);
		}
	}
	for (size_t i = 0; f->extra_hosts && f->extra_hosts[i]; i++)
		if (ctr_validate_extra_host(f->extra_hosts[i], &e) < 0)
			return flag_err(err, opts, "add-host", f->extra_hosts[i], e.msg);
	for (size_t i = 0; f->dns && f->dns[i]; i++) {
		char norm[64];
		cleanup_free char *t = ctr_trim_space(f->dns[i]);
		if (ctr_normalize_ip(t, norm, sizeof(norm)) < 0) {
			cleanup_free char *m = berth_strdup_printf("%s is not an ip address", f->dns[i]);
			return flag_err(err, opts, "dns", f->dns[i], m);
		}
		free(f->dns[i]);
		f->dns[i] = strdup(norm);
	}
	for (size_t i = 0; f->dns_search && f->dns_search[i]; i++) {
		char *v = ctr_validate_dns_search(f->dns_search[i], &e);
		if (!v)
			return flag_err(err, opts, "dns-search", f->dns_search[i], e.msg);
		free(f->dns_search[i]);
		f->dns_search[i] = v;
	}
	for (size_t i = 0; f->links && f->links[i]; i++) {
		const char *v = f->links[i];
		if (!*v)
			return flag_err(err, opts, "link", v, "empty string specified for links");
		const char *c1 = strchr(v, ':');
		if (c1 && strchr(c1 + 1, ':')) {
			cleanup_free char *m = berth_strdup_printf("bad format for links: %s", v);
			return flag_err(err, opts, "link", v, m);
		}
	}
	for (size_t i = 0; f->cgroup_rules && f->cgroup_rules[i]; i++)
		if (!ctr_valid_cgroup_rule(f->cgroup_rules[i])) {
			cleanup_free char *m =
				berth_strdup_printf("invalid device cgroup format '%s'", f->cgroup_rules[i]);
			return flag_err(err, opts, "device-cgroup-rule", f->cgroup_rules[i], m);
		}
	for (size_t i = 0; f->sysctls && f->sysctls[i]; i++)
		if (ctr_validate_sysctl(f->sysctls[i], &e) < 0)
			return flag_err(err, opts, "sysctl", f->sysctls[i], e.msg);
	struct {
		const char *flag, *val;
	} sizes[] = {{"memory", f->memory},
		     {"memory-reservation", f->memory_reservation},
		     {"kernel-memory", f->kernel_memory},
		     {"shm-size", f->shm_size},
		     {"io-maxbandwidth", f->io_max_bandwidth}};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int64_t b;
		if (sizes[i].val && berth_ram_in_bytes(sizes[i].val, &b, &e) < 0)
			return flag_err(err, opts, sizes[i].flag, sizes[i].val, e.msg);
	}
	if (f->memory_swap && strcmp(f->memory_swap, "-1")) {
		int64_t b;
		if (berth_ram_in_bytes(f->memory_swap, &b, &e) < 0)
			return flag_err(err, opts, "memory-swap", f->memory_swap, e.msg);
	}
	long long nano;
	if (f->cpus && ctr_parse_cpus(f->cpus, &nano, &e) < 0)
		return flag_err(err, opts, "cpus", f->cpus, e.msg);
	const char *durs[][2] = {{"health-interval", f->health_interval},
				 {"health-timeout", f->health_timeout},
				 {"health-start-period", f->health_start_period}};
	for (size_t i = 0; i < 3; i++) {
		int64_t ns;
		if (durs[i][1] && berth_parse_go_duration(durs[i][1], &ns, &e) < 0)
			return flag_err(err, opts, durs[i][0], durs[i][1], e.msg);
	}
	return 0;
}

static long long size_or_zero(const char *v)
{
	int64_t b = 0;
	if (v)
		berth_ram_in_bytes(v, &b, NULL);
	return b;
}

static long long dur_or_zero(const char *v)
{
	int64_t ns = 0;
	if (v)
		berth_parse_go_duration(v, &ns, NULL);
	return ns;
}

static void merge_list(char ***dst, char **src)
{
	for (size_t i = 0; src && src[i]; i++)
		berth_strv_push(dst, src[i]);
}

/* The -e list after docker's ConvertKVStringsToMapWithNil round trip: one
 * entry per name (the last value wins), kept in first-seen order. */
static char **dedupe_env(char **env)
{
	char **out = NULL;
	for (size_t i = 0; env && env[i]; i++) {
		size_t klen = strcspn(env[i], "=");
		bool seen = false;
		for (size_t k = 0; out && out[k]; k++) {
			if (strcspn(out[k], "=") == klen && !strncmp(out[k], env[i], klen)) {
				free(out[k]);
				out[k] = strdup(env[i]);
				seen = true;
				break;
			}
		}
		if (!seen)
			berth_strv_push(&out, env[i]);
	}
	return out;
}

static int security_opts(char **in, char ***out, bool *unconfined_paths, struct berth_error *err)
{
	for (size_t i = 0; in && in[i]; i++) {
		const char *opt = in[i];
		const char *eq = strchr(opt, '=');
		const char *sep = eq;
		if (!eq && strcmp(opt, "no-new-privileges")) {
			sep = strchr(opt, ':');
			if (!sep) {
				struct berth_buf q = {0};
				ctr_go_quote(&q, opt);
				berth_err(err, BERTH_E_INVALID, "Invalid --security-opt: %s", berth_buf_str(&q));
				berth_buf_free(&q);
				return CTR_PARSE_CONFIG_ERR;
			}
		}
		if (!strcmp(opt, "systempaths=unconfined")) {
			*unconfined_paths = true;
			continue;
		}
		if (sep && (size_t)(sep - opt) == 7 && !strncmp(opt, "seccomp", 7) && strcmp(sep + 1, "unconfined")) {
			const char *path = sep + 1;
			FILE *fp = fopen(path, "r");
			if (!fp) {
				char m[128];
				snprintf(m, sizeof(m), "%s", strerror(errno));
				m[0] = (char)tolower((unsigned char)m[0]);
				berth_err(err, BERTH_E_INVALID, "opening seccomp profile (%s) failed: open %s: %s",
					  path, path, m);
				return CTR_PARSE_CONFIG_ERR;
			}
			struct berth_buf data = {0};
			char chunk[4096];
			size_t got;
			while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
				berth_buf_append(&data, chunk, got);
			fclose(fp);
			size_t len = data.len;
			json_error_t je;
			json_t *j = json_loadb(berth_buf_str(&data), len, JSON_DECODE_ANY, &je);
			berth_buf_free(&data);
			if (!j) {
				berth_err(err, BERTH_E_INVALID, "compacting json for seccomp profile (%s) failed: %s",
					  path, je.text);
				return CTR_PARSE_CONFIG_ERR;
			}
			cleanup_free char *compact = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(j);
			cleanup_free char *v = berth_strdup_printf("seccomp=%s", compact);
			berth_strv_push(out, v);
			continue;
		}
		berth_strv_push(out, opt);
	}
	return 0;
}

int ctr_create_parse(struct cli *c, int argc, char **argv, bool is_run, struct ctr_create *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	struct flags f = {0};
	f.sig_proxy = true;
	f.swappiness = -1;
	f.stop_timeout = NOT_SET;
	f.untrusted = true;
	struct cli_opt opts[MAX_OPTS];
	build_opts(&f, is_run, opts);
	bool init_changed;
	char **av = prescan(argc, argv, opts, &init_changed);
	char **args = NULL;
	int pr = cli_parse(c, argc, av, opts, true, &args);
	free(av);
	if (pr) {
		flags_free(&f);
		return pr > 0 ? CTR_PARSE_HELP : CTR_PARSE_PRINTED;
	}
	int rc = 0;
	char **binds = NULL, **env = NULL, **labels = NULL, **sec = NULL, **denv = NULL;
	struct net_att *nets = NULL;
	size_t nn = 0;
	cleanup_json json_t *volumes = json_object(), *tmpfs = json_object(), *exposed = json_object(),
			    *bindings = json_object(), *devices = json_array(), *mounts = json_array(),
			    *ulimits = json_object(), *storage = json_object(), *sysctls = json_object(),
			    *endpoints = json_object(), *weight_devs = json_array();
	json_t *throttle[4] = {NULL, NULL, NULL, NULL};
	cleanup_free char *rname = NULL;
	if (!args) {
		ctr_args_error(c, "requires at least 1 argument");
		rc = CTR_PARSE_ARGS;
		goto out;
	}
	merge_list(&f.networks, f.net_compat);
	merge_list(&f.aliases, f.net_alias_compat);
	merge_list(&f.dns_options, f.dns_opt_compat);
	if ((rc = validate_flags(&f, opts, err)) < 0)
		goto out;
	for (size_t i = 0; f.mounts && f.mounts[i]; i++) {
		struct berth_error e = {0};
		json_t *m = ctr_parse_mount(f.mounts[i], &e);
		if (!m) {
			rc = flag_err(err, opts, "mount", f.mounts[i], e.msg);
			goto out;
		}
		json_array_append_new(mounts, m);
	}
	for (size_t i = 0; f.ulimits && f.ulimits[i]; i++) {
		struct berth_error e = {0};
		json_t *u = ctr_parse_ulimit(f.ulimits[i], &e);
		if (!u) {
			rc = flag_err(err, opts, "ulimit", f.ulimits[i], e.msg);
			goto out;
		}
		json_object_set_new(ulimits, json_string_value(json_object_get(u, "Name")), u);
	}
	for (size_t i = 0; f.blkio_weight_device && f.blkio_weight_device[i]; i++) {
		struct berth_error e = {0};
		json_t *w = ctr_parse_weight_device(f.blkio_weight_device[i], &e);
		if (!w) {
			rc = flag_err(err, opts, "blkio-weight-device", f.blkio_weight_device[i], e.msg);
			goto out;
		}
		json_array_append_new(weight_devs, w);
	}
	{
		char **lists[4] = {f.read_bps, f.write_bps, f.read_iops, f.write_iops};
		const char *names[4] = {"device-read-bps", "device-write-bps", "device-read-iops", "device-write-iops"};
		for (int t = 0; t < 4; t++)
			for (size_t i = 0; lists[t] && lists[t][i]; i++) {
				struct berth_error e = {0};
				json_t *d = ctr_parse_throttle_device(lists[t][i], t >= 2, &e);
				if (!d) {
					rc = flag_err(err, opts, names[t], lists[t][i], e.msg);
					goto out;
				}
				if (!throttle[t])
					throttle[t] = json_array();
				json_array_append_new(throttle[t], d);
			}
	}
	nn = berth_strv_len(f.networks);
	nets = calloc(nn + 1, sizeof(*nets));
	for (size_t i = 0; i < nn; i++) {
		struct berth_error e = {0};
		if (parse_network_opt(f.networks[i], &nets[i], &e) < 0) {
			rc = flag_err(err, opts, "network", f.networks[i], e.msg);
			goto out;
		}
	}

	/* ---- parse() ---- */
	bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
	for (size_t i = 0; f.attach && f.attach[i]; i++) {
		attach_stdin |= !strcmp(f.attach[i], "stdin");
		attach_stdout |= !strcmp(f.attach[i], "stdout");
		attach_stderr |= !strcmp(f.attach[i], "stderr");
	}
	if (f.mac && *f.mac && !ctr_valid_mac(f.mac)) {
		cleanup_free char *m = berth_strdup_printf("%s is not a valid mac address", f.mac);
		rc = config_err(err, m);
		goto out;
	}
	if (f.interactive)
		attach_stdin = true;
	if (!f.attach) {
		attach_stdout = true;
		attach_stderr = true;
	}
	if (f.swappiness != -1 && (f.swappiness < 0 || f.swappiness > 100)) {
		cleanup_free char *m = berth_strdup_printf(
			"invalid value: %lld. Valid memory swappiness range is 0-100", f.swappiness);
		rc = config_err(err, m);
		goto out;
	}
	for (size_t i = 0; f.volumes && f.volumes[i]; i++) {
		const char *v = f.volumes[i];
		if (ctr_volume_has_source(v)) {
			bool dup = false;
			for (size_t k = 0; binds && binds[k]; k++)
				dup |= !strcmp(binds[k], v);
			if (!dup)
				berth_strv_push(&binds, v);
		} else {
			json_object_set_new(volumes, v, json_object());
		}
	}
	for (size_t i = 0; f.tmpfs && f.tmpfs[i]; i++) {
		const char *t = f.tmpfs[i];
		const char *colon = strchr(t, ':');
		cleanup_free char *k = colon ? strndup(t, (size_t)(colon - t)) : strdup(t);
		json_object_set_new(tmpfs, k, json_string(colon ? colon + 1 : ""));
	}
	for (size_t i = 0; f.publish && f.publish[i]; i++) {
		cleanup_free char *std = ctr_port_standard_notation(f.publish[i], err);
		if (!std) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
		if (ctr_parse_port_spec(std, exposed, bindings, err) < 0) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
	}
	for (size_t i = 0; f.expose && f.expose[i]; i++)
		if (ctr_parse_expose(f.expose[i], exposed, err) < 0) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
	for (size_t i = 0; f.devices && f.devices[i]; i++) {
		json_t *d = ctr_parse_device(f.devices[i], err);
		if (!d) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
		json_array_append_new(devices, d);
	}
	for (size_t i = 0; f.env_file && f.env_file[i]; i++)
		if (ctr_read_kv_file(f.env_file[i], true, &env, err) < 0) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
	denv = dedupe_env(f.env);
	merge_list(&env, denv);
	for (size_t i = 0; f.label_file && f.label_file[i]; i++)
		if (ctr_read_kv_file(f.label_file[i], false, &labels, err) < 0) {
			rc = CTR_PARSE_CONFIG_ERR;
			goto out;
		}
	merge_list(&labels, f.labels);
	if (!mode_valid(f.pid, true, false)) {
		rc = config_err(err, "--pid: invalid PID mode");
		goto out;
	}
	if (!mode_valid(f.uts, false, false)) {
		rc = config_err(err, "--uts: invalid UTS mode");
		goto out;
	}
	if (!mode_valid(f.userns, false, false)) {
		rc = config_err(err, "--userns: invalid USER mode");
		goto out;
	}
	if (!mode_valid(f.cgroupns, false, true)) {
		rc = config_err(err, "--cgroupns: invalid CGROUP mode");
		goto out;
	}
	/* opts.ParseRestartPolicy */
	const char *restart = f.restart ? f.restart : "no";
	long long rmax = 0;
	{
		char **parts = ctr_split(restart, ':');
		size_t np = berth_strv_len(parts);
		if (!*restart) {
			rname = strdup("");
		} else if (np > 2) {
			berth_strv_free(parts);
			rc = config_err(err, "invalid restart policy format");
			goto out;
		} else {
			if (np == 2 && ctr_parse_int(parts[1], &rmax, NULL) < 0) {
				berth_strv_free(parts);
				rc = config_err(err, "maximum retry count must be an integer");
				goto out;
			}
			rname = strdup(parts[0]);
		}
		berth_strv_free(parts);
	}
	if (f.log_driver && !strcmp(f.log_driver, "none") && f.log_opts) {
		rc = config_err(err, "invalid logging opts for driver none");
		goto out;
	}
	bool unconfined_paths = false;
	if ((rc = security_opts(f.security_opt, &sec, &unconfined_paths, err)) < 0)
		goto out;
	for (size_t i = 0; f.storage_opt && f.storage_opt[i]; i++) {
		const char *eq = strchr(f.storage_opt[i], '=');
		if (!eq) {
			rc = config_err(err, "invalid storage option");
			goto out;
		}
		cleanup_free char *k = strndup(f.storage_opt[i], (size_t)(eq - f.storage_opt[i]));
		json_object_set_new(storage, k, json_string(eq + 1));
	}
	for (size_t i = 0; f.sysctls && f.sysctls[i]; i++) {
		const char *eq = strchr(f.sysctls[i], '=');
		cleanup_free char *k = eq ? strndup(f.sysctls[i], (size_t)(eq - f.sysctls[i])) : strdup(f.sysctls[i]);
		json_object_set_new(sysctls, k, json_string(eq ? eq + 1 : ""));
	}
	/* healthcheck */
	json_t *health = NULL;
	long long hi = dur_or_zero(f.health_interval), ht = dur_or_zero(f.health_timeout),
		  hs = dur_or_zero(f.health_start_period);
	bool have_health = (f.health_cmd && *f.health_cmd) || hi || ht || hs || f.health_retries;
	if (f.no_healthcheck) {
		if (have_health) {
			rc = config_err(err, "--no-healthcheck conflicts with --health-* options");
			goto out;
		}
		health = json_pack("{s:[s]}", "Test", "NONE");
	} else if (have_health) {
		const char *neg = hi < 0               ? "--health-interval cannot be negative" :
				  ht < 0               ? "--health-timeout cannot be negative" :
				  f.health_retries < 0 ? "--health-retries cannot be negative" :
				  hs < 0               ? "--health-start-period cannot be negative" :
							 NULL;
		if (neg) {
			rc = config_err(err, neg);
			goto out;
		}
		health = json_object();
		if (f.health_cmd && *f.health_cmd)
			json_object_set_new(health, "Test", json_pack("[s,s]", "CMD-SHELL", f.health_cmd));
		if (hi)
			json_object_set_new(health, "Interval", json_integer(hi));
		if (ht)
			json_object_set_new(health, "Timeout", json_integer(ht));
		if (hs)
			json_object_set_new(health, "StartPeriod", json_integer(hs));
		if (f.health_retries)
			json_object_set_new(health, "Retries", json_integer(f.health_retries));
	}

	/* ---- container.Config ---- */
	json_t *b = json_object();
	out->body = b;
	json_object_set_new(b, "Hostname", json_string(f.hostname ? f.hostname : ""));
	json_object_set_new(b, "Domainname", json_string(f.domainname ? f.domainname : ""));
	json_object_set_new(b, "User", json_string(f.user ? f.user : ""));
	json_object_set_new(b, "AttachStdin", json_boolean(attach_stdin));
	json_object_set_new(b, "AttachStdout", json_boolean(attach_stdout));
	json_object_set_new(b, "AttachStderr", json_boolean(attach_stderr));
	if (json_object_size(exposed))
		json_object_set_new(b, "ExposedPorts", ctr_json_sorted(exposed));
	json_object_set_new(b, "Tty", json_boolean(f.tty));
	json_object_set_new(b, "OpenStdin", json_boolean(f.interactive));
	json_object_set_new(b, "StdinOnce", json_boolean(f.interactive && attach_stdin));
	json_object_set_new(b, "Env", strv_json(env, false));
	json_object_set_new(b, "Cmd", strv_json(args + 1, false));
	if (health)
		json_object_set_new(b, "Healthcheck", health);
	json_object_set_new(b, "Image", json_string(args[0]));
	json_object_set_new(b, "Volumes", ctr_json_sorted(volumes));
	json_object_set_new(b, "WorkingDir", json_string(f.workdir ? f.workdir : ""));
	if (f.entrypoint)
		json_object_set_new(b, "Entrypoint", json_pack("[s]", f.entrypoint));
	else
		json_object_set_new(b, "Entrypoint", json_null());
	if (f.mac && *f.mac)
		json_object_set_new(b, "MacAddress", json_string(f.mac));
	json_object_set_new(b, "OnBuild", json_null());
	json_object_set_new(b, "Labels", kv_map(labels));
	if (f.stop_signal)
		json_object_set_new(b, "StopSignal", json_string(f.stop_signal));
	if (f.stop_timeout != NOT_SET)
		json_object_set_new(b, "StopTimeout", json_integer(f.stop_timeout));

	/* ---- container.HostConfig ---- */
	json_t *h = json_object();
	json_object_set_new(b, "HostConfig", h);
	json_object_set_new(h, "Binds", strv_json(binds, false));
	json_object_set_new(h, "ContainerIDFile", json_string(f.cidfile ? f.cidfile : ""));
	json_object_set_new(
		h, "LogConfig",
		json_pack("{s:s, s:o}", "Type", f.log_driver ? f.log_driver : "", "Config", kv_map(f.log_opts)));
	json_object_set_new(h, "NetworkMode", json_string(nn ? nets[0].target : "default"));
	json_object_set_new(h, "PortBindings", ctr_json_sorted(bindings));
	json_object_set_new(h, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", rname, "MaximumRetryCount", (json_int_t)rmax));
	json_object_set_new(h, "AutoRemove", json_boolean(f.rm));
	json_object_set_new(h, "VolumeDriver", json_string(f.volume_driver ? f.volume_driver : ""));
	json_object_set_new(h, "VolumesFrom", strv_json(f.volumes_from, false));
	json_object_set_new(h, "CapAdd", strv_json(f.cap_add, false));
	json_object_set_new(h, "CapDrop", strv_json(f.cap_drop, false));
	json_object_set_new(h, "CgroupnsMode", json_string(f.cgroupns ? f.cgroupns : ""));
	json_object_set_new(h, "Dns", strv_json(f.dns, true));
	json_object_set_new(h, "DnsOptions", strv_json(f.dns_options, true));
	json_object_set_new(h, "DnsSearch", strv_json(f.dns_search, true));
	json_object_set_new(h, "ExtraHosts", strv_json(f.extra_hosts, false));
	json_object_set_new(h, "GroupAdd", strv_json(f.group_add, false));
	json_object_set_new(h, "IpcMode", json_string(f.ipc ? f.ipc : ""));
	json_object_set_new(h, "Cgroup", json_string(""));
	json_object_set_new(h, "Links", strv_json(f.links, false));
	json_object_set_new(h, "OomScoreAdj", json_integer(f.oom_score_adj));
	json_object_set_new(h, "PidMode", json_string(f.pid ? f.pid : ""));
	json_object_set_new(h, "Privileged", json_boolean(f.privileged));
	json_object_set_new(h, "PublishAllPorts", json_boolean(f.publish_all));
	json_object_set_new(h, "ReadonlyRootfs", json_boolean(f.read_only));
	json_object_set_new(h, "SecurityOpt",
			    sec || (unconfined_paths && f.security_opt) ? strv_json(sec, true) : json_null());
	if (json_object_size(storage))
		json_object_set_new(h, "StorageOpt", ctr_json_sorted(storage));
	if (json_object_size(tmpfs))
		json_object_set_new(h, "Tmpfs", ctr_json_sorted(tmpfs));
	json_object_set_new(h, "UTSMode", json_string(f.uts ? f.uts : ""));
	json_object_set_new(h, "UsernsMode", json_string(f.userns ? f.userns : ""));
	json_object_set_new(h, "ShmSize", json_integer(size_or_zero(f.shm_size)));
	if (json_object_size(sysctls))
		json_object_set_new(h, "Sysctls", ctr_json_sorted(sysctls));
	if (f.runtime && *f.runtime)
		json_object_set_new(h, "Runtime", json_string(f.runtime));
	json_object_set_new(h, "ConsoleSize", json_pack("[i,i]", 0, 0));
	json_object_set_new(h, "Isolation", json_string(f.isolation ? f.isolation : ""));
	/* Resources */
	long long cpus = 0;
	if (f.cpus)
		ctr_parse_cpus(f.cpus, &cpus, NULL);
	long long swap = f.memory_swap && !strcmp(f.memory_swap, "-1") ? -1 : size_or_zero(f.memory_swap);
	json_object_set_new(h, "CpuShares", json_integer(f.cpu_shares));
	json_object_set_new(h, "Memory", json_integer(size_or_zero(f.memory)));
	json_object_set_new(h, "NanoCpus", json_integer(cpus));
	json_object_set_new(h, "CgroupParent", json_string(f.cgroup_parent ? f.cgroup_parent : ""));
	json_object_set_new(h, "BlkioWeight", json_integer(f.blkio_weight));
	json_object_set_new(h, "BlkioWeightDevice", json_incref(weight_devs));
	const char *tnames[4] = {"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
				 "BlkioDeviceWriteIOps"};
	for (int t = 0; t < 4; t++)
		json_object_set_new(h, tnames[t], throttle[t] ? json_incref(throttle[t]) : json_null());
	json_object_set_new(h, "CpuPeriod", json_integer(f.cpu_period));
	json_object_set_new(h, "CpuQuota", json_integer(f.cpu_quota));
	json_object_set_new(h, "CpuRealtimePeriod", json_integer(f.cpu_rt_period));
	json_object_set_new(h, "CpuRealtimeRuntime", json_integer(f.cpu_rt_runtime));
	json_object_set_new(h, "CpusetCpus", json_string(f.cpuset_cpus ? f.cpuset_cpus : ""));
	json_object_set_new(h, "CpusetMems", json_string(f.cpuset_mems ? f.cpuset_mems : ""));
	json_object_set_new(h, "Devices", json_incref(devices));
	json_object_set_new(h, "DeviceCgroupRules", strv_json(f.cgroup_rules, false));
	json_object_set_new(h, "DeviceRequests", json_null());
	json_object_set_new(h, "KernelMemory", json_integer(size_or_zero(f.kernel_memory)));
	json_object_set_new(h, "KernelMemoryTCP", json_integer(0));
	json_object_set_new(h, "MemoryReservation", json_integer(size_or_zero(f.memory_reservation)));
	json_object_set_new(h, "MemorySwap", json_integer(swap));
	json_object_set_new(h, "MemorySwappiness", json_integer(f.swappiness));
	json_object_set_new(h, "OomKillDisable", json_boolean(f.oom_kill_disable));
	json_object_set_new(h, "PidsLimit", json_integer(f.pids_limit));
	if (json_object_size(ulimits)) {
		json_t *sorted = ctr_json_sorted(ulimits), *arr = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(sorted, k, v)
			json_array_append(arr, v);
		json_decref(sorted);
		json_object_set_new(h, "Ulimits", arr);
	} else {
		json_object_set_new(h, "Ulimits", json_null());
	}
	json_object_set_new(h, "CpuCount", json_integer(f.cpu_count));
	json_object_set_new(h, "CpuPercent", json_integer(f.cpu_percent));
	json_object_set_new(h, "IOMaximumIOps", json_integer(f.io_max_iops));
	json_object_set_new(h, "IOMaximumBandwidth", json_integer(size_or_zero(f.io_max_bandwidth)));
	if (json_array_size(mounts))
		json_object_set_new(h, "Mounts", json_incref(mounts));
	json_object_set_new(h, "MaskedPaths", unconfined_paths ? json_array() : json_null());
	json_object_set_new(h, "ReadonlyPaths", unconfined_paths ? json_array() : json_null());
	if (f.rm && strcmp(rname, "no") && *rname) {
		rc = config_err(err, "Conflicting options: --restart and --rm");
		goto out;
	}
	if (init_changed)
		json_object_set_new(h, "Init", json_boolean(f.init));
	if ((rc = network_endpoints(&f, nets, nn, endpoints, err)) < 0)
		goto out;
	json_object_set_new(b, "NetworkingConfig", json_pack("{s:O}", "EndpointsConfig", endpoints));

	out->image = strdup(args[0]);
	out->name = f.name ? strdup(f.name) : NULL;
	out->platform = f.platform ? strdup(f.platform) : NULL;
	out->pull = strdup(f.pull ? f.pull : "missing");
	out->detach_keys = f.detach_keys ? strdup(f.detach_keys) : NULL;
	out->cidfile = f.cidfile && *f.cidfile ? strdup(f.cidfile) : NULL;
	out->detach = f.detach;
	out->sig_proxy = f.sig_proxy;
	out->auto_remove = f.rm;
	out->tty = f.tty;
	out->open_stdin = f.interactive;
	out->attach_given = f.attach != NULL;
	if (is_run && f.detach) {
		/* run -d: nothing attached, stdin not closed on detach */
		attach_stdin = attach_stdout = attach_stderr = false;
		json_object_set_new(b, "AttachStdin", json_false());
		json_object_set_new(b, "AttachStdout", json_false());
		json_object_set_new(b, "AttachStderr", json_false());
		json_object_set_new(b, "StdinOnce", json_false());
	}
	out->attach_stdin = attach_stdin;
	out->attach_stdout = attach_stdout;
	out->attach_stderr = attach_stderr;
	rc = CTR_PARSE_OK;
out:
	if (rc != CTR_PARSE_OK) {
		ctr_create_free(out);
		memset(out, 0, sizeof(*out));
	}
	for (size_t i = 0; i < nn; i++)
		net_att_free(&nets[i]);
	free(nets);
	for (int t = 0; t < 4; t++)
		json_decref(throttle[t]);
	berth_strv_free(binds);
	berth_strv_free(env);
	berth_strv_free(denv);
	berth_strv_free(labels);
	berth_strv_free(sec);
	berth_strv_free(args);
	flags_free(&f);
	return rc;
}

void ctr_create_free(struct ctr_create *cc)
{
	json_decref(cc->body);
	free(cc->image);
	free(cc->name);
	free(cc->platform);
	free(cc->pull);
	free(cc->detach_keys);
	free(cc->cidfile);
	cc->body = NULL;
	cc->image = cc->name = cc->platform = cc->pull = cc->detach_keys = cc->cidfile = NULL;
}

static const struct {
	const char *cmd, *usage, *summary;
} ctr_usages[] = {
	{"run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container"},
	{"create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container"},
	{"start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers"},
	{"stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers"},
	{"restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers"},
	{"kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers"},
	{"rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers"},
	{"remove", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers"},
	{"pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers"},
	{"unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers"},
	{"wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes"},
	{"logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container"},
	{"attach", "[OPTIONS] CONTAINER",
	 "Attach local standard input, output, and error streams to a running container"},
	{"exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container"},
	{"top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container"},
	{"rename", "CONTAINER NEW_NAME", "Rename a container"},
	{"port", "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container"},
	{"ps", "[OPTIONS]", "List containers"},
	{"ls", "[OPTIONS]", "List containers"},
	{"list", "[OPTIONS]", "List containers"},
	{"prune", "[OPTIONS]", "Remove all stopped containers"},
};

int ctr_args_error(struct cli *c, const char *what)
{
	const char *sp = strrchr(c->cmdpath, ' ');
	const char *name = sp ? sp + 1 : c->cmdpath;
	for (size_t i = 0; i < sizeof(ctr_usages) / sizeof(ctr_usages[0]); i++) {
		if (strcmp(ctr_usages[i].cmd, name))
			continue;
		fprintf(stderr, "\"%s\" %s.\nSee '%s --help'.\n\nUsage:  %s %s\n\n%s\n", c->cmdpath, what, c->cmdpath,
			c->cmdpath, ctr_usages[i].usage, ctr_usages[i].summary);
		return -1;
	}
	return cli_args_error(c, what);
}

int ctr_create_report(struct cli *c, int rc, const struct berth_error *err)
{
	switch (rc) {
	case CTR_PARSE_FLAG_ERR: fprintf(stderr, "%s\nSee '%s --help'.\n", err->msg, c->cmdpath); return 125;
	case CTR_PARSE_CONFIG_ERR: {
		size_t l = strlen(err->msg);
		if (l && err->msg[l - 1] == '.')
			l--;
		fprintf(stderr, "berth: %.*s.\nSee '%s --help'.\n", (int)l, err->msg, c->cmdpath);
		return 125;
	}
	case CTR_PARSE_ARGS: return 1;
	case CTR_PARSE_HELP: return 0;
	default: return 125;
	}
}
