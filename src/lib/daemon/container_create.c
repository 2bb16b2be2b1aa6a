/* POST /containers/create: validate, merge the image config, write the
 * record and the read-write layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/networks.h"
#include "daemon/reconcile.h"
#include "daemon/userns.h"
#include "daemon/volumes.h"
#include "image/config.h"
#include "image/reference.h"
#include "image/store.h"
#include "logger/logger.h"
#include "network/network.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "storage/layer_store.h"

char *berth_ctr_dir(struct berth_daemon *d, const char *id)
{
	return berth_strdup_printf("%s/containers/%s", d->cfg.data_root, id);
}

char *berth_ctr_state_dir(struct berth_daemon *d, const char *id)
{
	return berth_strdup_printf("%s/containers/%s", d->cfg.exec_root, id);
}

char *berth_ctr_root_view(struct berth_container *c, const json_t *spec)
{
	const char *root = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
	pthread_mutex_lock(&c->mu);
	int shim = c->shim_pid;
	pthread_mutex_unlock(&c->mu);
	if (!root)
		return NULL;
	char *held = shim > 0 ? berth_shim_rootfs_path(shim) : NULL;
	cleanup_free char *dot = held ? berth_strdup_printf("%s/.", held) : NULL;
	struct stat st;
	if (dot && stat(dot, &st) == 0 && S_ISDIR(st.st_mode))
		return held;
	free(held);
	return strdup(root);
}

static bool empty_array(json_t *v) { return !json_is_array(v) || json_array_size(v) == 0; }

/* dockerd's Env merge (runconfig Merge): the container's entries as given,
 * an entry without '=' included (it unsets that variable in the process, see
 * runtime/spec.c), then each image entry whose name the container does not
 * list. */
static json_t *merge_env(json_t *ienv, json_t *cenv)
{
	json_t *out = json_array();
	size_t i, k;
	json_t *v, *u;
	json_array_foreach(cenv, i, v)
		if (json_is_string(v))
			json_array_append(out, v);
	json_array_foreach(ienv, i, v) {
		const char *e = json_string_value(v);
		if (!e)
			continue;
		size_t klen = strcspn(e, "=");
		bool found = false;
		json_array_foreach(cenv, k, u) {
			const char *ce = json_string_value(u);
			if (ce && strcspn(ce, "=") == klen && !strncmp(ce, e, klen)) {
				found = true;
				break;
			}
		}
		if (!found)
			json_array_append(out, v);
	}
	return out;
}

/* docker's merge of the image config into the container config (daemon.merge). */
static void merge_image_config(json_t *cfg, json_t *img)
{
	if (!img)
		return;
	const char *u = jstr(cfg, "User");
	if ((!u || !*u) && jstr(img, "User"))
		json_object_set(cfg, "User", json_object_get(img, "User"));
	json_t *ports = jobj(img, "ExposedPorts");
	if (ports && json_object_size(ports)) {
		json_t *mine = jobj(cfg, "ExposedPorts");
		if (!mine) {
			mine = json_object();
			json_object_set_new(cfg, "ExposedPorts", mine);
		}
		const char *k;
		json_t *v;
		json_object_foreach(ports, k, v)
			if (!json_object_get(mine, k))
				json_object_set_new(mine, k, json_object());
	}
	json_t *ienv = jarr(img, "Env");
	if (jarr_len(ienv))
		json_object_set_new(cfg, "Env", merge_env(ienv, jarr(cfg, "Env")));
	json_t *ilabels = jobj(img, "Labels");
	if (ilabels && json_object_size(ilabels)) {
		json_t *mine = jobj(cfg, "Labels");
		if (!mine) {
			mine = json_object();
			json_object_set_new(cfg, "Labels", mine);
		}
		const char *k;
		json_t *v;
		json_object_foreach(ilabels, k, v)
			if (!json_object_get(mine, k))
				json_object_set(mine, k, v);
	}
	if (empty_array(jget(cfg, "Entrypoint"))) {
		if (empty_array(jget(cfg, "Cmd")) && jget(img, "Cmd"))
			json_object_set(cfg, "Cmd", json_object_get(img, "Cmd"));
		if (jget(img, "Entrypoint") && !json_is_null(jget(img, "Entrypoint")))
			json_object_set(cfg, "Entrypoint", json_object_get(img, "Entrypoint"));
	}
	if (!jstr_ne(cfg, "WorkingDir") && jstr(img, "WorkingDir"))
		json_object_set(cfg, "WorkingDir", json_object_get(img, "WorkingDir"));
	json_t *ivol = jobj(img, "Volumes");
	if (ivol && json_object_size(ivol)) {
		json_t *mine = jobj(cfg, "Volumes");
		if (!mine) {
			mine = json_object();
			json_object_set_new(cfg, "Volumes", mine);
		}
		const char *k;
		json_t *v;
		json_object_foreach(ivol, k, v)
			json_object_set_new(mine, k, json_object());
	}
	if (!jstr_ne(cfg, "StopSignal") && jstr_ne(img, "StopSignal"))
		json_object_set(cfg, "StopSignal", json_object_get(img, "StopSignal"));
	berth_health_merge(cfg, img);
	if (!jarr_len(jarr(cfg, "OnBuild")) && jarr(img, "OnBuild"))
		json_object_set(cfg, "OnBuild", json_object_get(img, "OnBuild"));
}

static void set_default(json_t *o, const char *k, json_t *v)
{
	if (!json_object_get(o, k) || json_is_null(json_object_get(o, k)))
		json_object_set_new(o, k, v);
	else
		json_decref(v);
}

/* Fill the HostConfig fields docker always shows. */
static int normalize_host_config(struct berth_daemon *d, json_t *hc, struct berth_error *err)
{
	const char *nm = jstr(hc, "NetworkMode");
	if (!nm || !*nm || !strcmp(nm, "default") || !strcmp(nm, "bridge")) {
		/* the default bridge (network/network.h); with --bridge=none "none" */
		json_t *def = d->net ? berth_net_default_network(d->net) : NULL;
		if (!def && nm && !strcmp(nm, "bridge"))
			return berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", nm);
		if (!def || !nm || !*nm)
			json_object_set_new(hc, "NetworkMode", json_string(def ? "default" : "none"));
		json_decref(def);
	} else if (strcmp(nm, "none") && strcmp(nm, "host") && strncmp(nm, "container:", 10) && !d->networks) {
		return berth_err(err, BERTH_E_NOT_FOUND, "network %s not found", nm); /* user networks: networks.h */
	}
	struct berth_port_map *pmaps = NULL; /* -p specs are checked at create, as docker does */
	size_t npm = 0;
	if (berth_port_maps_from(jobj(hc, "PortBindings"), NULL, false, &pmaps, &npm, err) < 0)
		return -1;
	free(pmaps);
	json_t *lc = jobj(hc, "LogConfig");
	if (!lc || !jstr_ne(lc, "Type")) {
		json_t *nlc = json_pack("{s:s, s:O}", "Type", d->cfg.log_driver, "Config",
					lc && jobj(lc, "Config") ? jobj(lc, "Config") : d->cfg.log_opts);
		json_object_set_new(hc, "LogConfig", nlc);
		lc = nlc;
	} else if (!jobj(lc, "Config")) {
		json_object_set_new(lc, "Config", json_object());
	}
	if (berth_log_opts_validate(jstr(lc, "Type"), jobj(lc, "Config"), err) < 0)
		return -1;
	json_t *rp = jobj(hc, "RestartPolicy");
	if (!rp) {
		rp = json_pack("{s:s, s:i}", "Name", "", "MaximumRetryCount", 0);
		json_object_set_new(hc, "RestartPolicy", rp);
	}
	char rpn[32];
	snprintf(rpn, sizeof(rpn), "%s", jstr(rp, "Name") ? jstr(rp, "Name") : "");
	if (!strcmp(rpn, "no"))
		;
	else if (*rpn && strcmp(rpn, "always") && strcmp(rpn, "unless-stopped") && strcmp(rpn, "on-failure"))
		return berth_err(err, BERTH_E_INVALID, "invalid restart policy '%s'", rpn);
	if (jint(rp, "MaximumRetryCount", 0) < 0)
		return berth_err(err, BERTH_E_INVALID, "maximum retry count cannot be negative");
	if (strcmp(rpn, "on-failure") && jint(rp, "MaximumRetryCount", 0) > 0)
		return berth_err(err, BERTH_E_INVALID, "maximum retry count cannot be used with restart policy '%s'",
				 rpn);
	if (*rpn && strcmp(rpn, "no") && jbool(hc, "AutoRemove", false))
		return berth_err(err, BERTH_E_INVALID, "can't create 'AutoRemove' container with restart policy");
	int64_t mem = jint(hc, "Memory", 0);
	if (mem > 0 && mem < 6 * 1024 * 1024)
		return berth_err(err, BERTH_E_INVALID, "Minimum memory limit allowed is 6MB");
	int64_t swap = jint(hc, "MemorySwap", 0);
	if (swap > 0 && mem > 0 && swap < mem)
		return berth_err(err, BERTH_E_INVALID,
				 "Minimum memoryswap limit should be larger than memory limit, see usage");
	if (swap > 0 && mem == 0)
		return berth_err(err, BERTH_E_INVALID,
				 "You should always set the Memory limit when using Memoryswap limit, see usage");
	if (jint(hc, "NanoCpus", 0) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid value: NanoCPUs can not be negative");
	if (jint(hc, "NanoCpus", 0) > 0 && jint(hc, "CpuQuota", 0) > 0)
		return berth_err(err, BERTH_E_INVALID,
				 "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (jint(hc, "NanoCpus", 0) > (int64_t)d->sysinfo.ncpu * 1000000000LL)
		return berth_err(err, BERTH_E_INVALID,
				 "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
				 d->sysinfo.ncpu, d->sysinfo.ncpu);
	if (jstr_ne(hc, "Runtime")) {
		const struct berth_runtime *rt;
		if (berth_runtimes_resolve(d->runtimes, jstr(hc, "Runtime"), &rt, err) < 0)
			return -1;
	} else {
		json_object_set_new(hc, "Runtime", json_string(d->runtimes->default_name));
	}
	/* the fields docker's HostConfig always has, as a create without them shows them */
	static const char *const null_fields[] = {"BlkioDeviceReadBps",   "BlkioDeviceReadIOps", "BlkioDeviceWriteBps",
						  "BlkioDeviceWriteIOps", "BlkioWeightDevice",   "DeviceCgroupRules",
						  "DeviceRequests",       "MemorySwappiness",    NULL};
	for (int i = 0; null_fields[i]; i++)
		set_default(hc, null_fields[i], json_null());
	static const char *const zero_fields[] = {"CpuCount",           "CpuPercent",         "CpuRealtimePeriod",
						  "CpuRealtimeRuntime", "IOMaximumBandwidth", "IOMaximumIOps",
						  "KernelMemory",       "KernelMemoryTCP",    NULL};
	for (int i = 0; zero_fields[i]; i++)
		set_default(hc, zero_fields[i], json_integer(0));
	/* docker's generateSecurityOpt: no SELinux labels with --privileged or a
	 * host pid/ipc namespace */
	const char *pm = jstr(hc, "PidMode"), *im = jstr(hc, "IpcMode");
	if (jbool(hc, "Privileged", false) || (pm && !strcmp(pm, "host")) || (im && !strcmp(im, "host"))) {
		json_t *so = jarr(hc, "SecurityOpt");
		bool has_label = false;
		for (size_t i = 0; i < jarr_len(so); i++)
			if (!strncmp(jarr_str(so, i) ? jarr_str(so, i) : "", "label", 5))
				has_label = true;
		if (!has_label) {
			if (!so) {
				so = json_array();
				json_object_set_new(hc, "SecurityOpt", so);
			}
			json_array_append_new(so, json_string("label=disable"));
		}
	}
	if (!jbool(hc, "Privileged", false)) {
		/* docker stores the default masked / read-only paths at create */
		set_default(hc, "MaskedPaths", berth_oci_default_masked_paths());
		set_default(hc, "ReadonlyPaths", berth_oci_default_readonly_paths());
	}
	set_default(hc, "Binds", json_null());
	set_default(hc, "ContainerIDFile", json_string(""));
	set_default(hc, "PortBindings", json_null());
	set_default(hc, "AutoRemove", json_false());
	set_default(hc, "VolumeDriver", json_string(""));
	set_default(hc, "VolumesFrom", json_null());
	set_default(hc, "CapAdd", json_null());
	set_default(hc, "CapDrop", json_null());
	/* docker fills these when empty (the CLI sends "" and 0) */
	if (!jstr_ne(hc, "CgroupnsMode"))
		json_object_set_new(hc, "CgroupnsMode",
				    json_string(d->sysinfo.cgroup_mode == BERTH_CGROUP_V2 ? "private" : "host"));
	if (!jstr_ne(hc, "IpcMode"))
		json_object_set_new(hc, "IpcMode", json_string("private"));
	if (jint(hc, "ShmSize", 0) <= 0)
		json_object_set_new(hc, "ShmSize", json_integer(64 * 1024 * 1024));
	if (json_is_integer(jget(hc, "PidsLimit")) && jint(hc, "PidsLimit", 0) <= 0)
		json_object_set_new(hc, "PidsLimit", json_null()); /* 0 and -1: unlimited */
	set_default(hc, "Dns", json_null());
	set_default(hc, "DnsOptions", json_null());
	set_default(hc, "DnsSearch", json_null());
	set_default(hc, "ExtraHosts", json_null());
	set_default(hc, "GroupAdd", json_null());
	set_default(hc, "Cgroup", json_string(""));
	set_default(hc, "Links", json_null());
	set_default(hc, "OomScoreAdj", json_integer(0));
	set_default(hc, "PidMode", json_string(""));
	set_default(hc, "Privileged", json_false());
	set_default(hc, "PublishAllPorts", json_false());
	set_default(hc, "ReadonlyRootfs", json_false());
	set_default(hc, "SecurityOpt", json_null());
	set_default(hc, "UTSMode", json_string(""));
	set_default(hc, "UsernsMode", json_string(""));
	set_default(hc, "ConsoleSize", json_pack("[i,i]", 0, 0));
	set_default(hc, "Isolation", json_string(""));
	set_default(hc, "CpuShares", json_integer(0));
	set_default(hc, "Memory", json_integer(0));
	set_default(hc, "NanoCpus", json_integer(0));
	set_default(hc, "CgroupParent", json_string(""));
	set_default(hc, "BlkioWeight", json_integer(0));
	set_default(hc, "CpuPeriod", json_integer(0));
	set_default(hc, "CpuQuota", json_integer(0));
	set_default(hc, "CpusetCpus", json_string(""));
	set_default(hc, "CpusetMems", json_string(""));
	set_default(hc, "Devices", json_null());
	set_default(hc, "MemoryReservation", json_integer(0));
	set_default(hc, "MemorySwap", json_integer(0));
	set_default(hc, "OomKillDisable", json_false());
	set_default(hc, "PidsLimit", json_null());
	set_default(hc, "Ulimits", json_null());
	set_default(hc, "MaskedPaths", json_null());
	set_default(hc, "ReadonlyPaths", json_null());
	return 0;
}

static int resolve_image(struct berth_daemon *d, const char *ref, struct berth_image *img, struct berth_error *err)
{
	if (!ref || !*ref)
		return berth_err(err, BERTH_E_INVALID, "Config cannot be empty in order to create a container");
	if (berth_image_get(d->images, ref, img, err) == 0)
		return 0;
	if (err && err->kind == BERTH_E_NOT_FOUND) {
		/* docker's message names the normalized reference */
		struct berth_ref r;
		struct berth_error e2 = {0};
		if (berth_ref_parse_normalized(ref, &r, &e2) == 0) {
			berth_ref_tag_name_only(&r);
			cleanup_free char *fam = berth_ref_familiar_string(&r);
			return berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", fam);
		}
	}
	return -1;
}

/* Names are kept in a fixed buffer ("/" + name + NUL): a longer name is
 * refused, never cut (dockerd keeps any length). */
#define CTR_NAME_MAX 254

static int check_name(const char *name, struct berth_error *err)
{
	if (berth_container_name_valid(name, err) < 0)
		return -1;
	const char *n = name[0] == '/' ? name + 1 : name;
	if (strlen(n) > CTR_NAME_MAX)
		return berth_err(err, BERTH_E_INVALID, "Invalid container name (%s), a name has at most %d characters",
				 n, CTR_NAME_MAX);
	return 0;
}

/* Config.Volumes: a relative path is refused with the wording dockerd uses
 * for a relative mount path (dockerd 20.10 itself accepts it and resolves it
 * inside the rootfs; Berth used to drop it silently). */
static int check_config_volumes(json_t *body, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(jobj(body, "Volumes"), k, v) {
		if (k[0] != '/')
			return berth_err(
				err, BERTH_E_INVALID,
				"invalid volume specification: '%s': invalid mount config for type \"volume\": "
				"invalid mount path: '%s' mount path must be absolute",
				k, k);
	}
	return 0;
}

int berth_ctr_create(struct berth_daemon *d, const char *name, json_t *body, json_t **resp, struct berth_error *err)
{
	*resp = NULL;
	if (!json_is_object(body))
		return berth_err(err, BERTH_E_INVALID, "Config cannot be empty in order to create a container");
	if (name && *name && check_name(name, err) < 0)
		return -1;
	if (check_config_volumes(body, err) < 0 || berth_health_validate(jobj(body, "Healthcheck"), err) < 0)
		return -1;
	cleanup_json json_t *hc = jobj(body, "HostConfig") ? json_deep_copy(jobj(body, "HostConfig")) : json_object();
	if (normalize_host_config(d, hc, err) < 0)
		return -1;
	/* docker's resource checks and adjustments (MemorySwap = 2 x Memory...),
	 * with its warnings for the response */
	char **warnings = NULL;
	if (berth_resources_verify(hc, &d->sysinfo, false, &warnings, err) < 0) {
		berth_strv_free(warnings);
		return -1;
	}
	struct berth_image img = {0};
	const char *image_ref = jstr(body, "Image");
	if (resolve_image(d, image_ref, &img, err) < 0) {
		berth_strv_free(warnings);
		return -1;
	}
	int rc = -1;
	char id[65];
	cleanup_free char *cdir = NULL, *logpath = NULL, *hostname_path = NULL, *hosts_path = NULL, *resolv_path = NULL;
	berth_random_id(id);
	/* Config: docker's canonical shape, then the image's defaults merged in. */
	json_t *user_cfg = json_deep_copy(body);
	json_object_del(user_cfg, "HostConfig");
	json_object_del(user_cfg, "NetworkingConfig");
	cleanup_json json_t *cfg = berth_container_config_canon(user_cfg);
	json_decref(user_cfg);
	json_t *img_cfg = jobj(img.json, "config");
	merge_image_config(cfg, img_cfg);
	if (!json_is_object(json_object_get(cfg, "Labels")))
		json_object_set_new(cfg, "Labels", json_object());
	if (!json_object_size(json_object_get(cfg, "Volumes")))
		json_object_set_new(cfg, "Volumes", json_null());
	if (!jstr_ne(cfg, "Hostname")) {
		/* docker: the host's name with --network host, else the short id */
		char h[13];
		snprintf(h, sizeof(h), "%.12s", id);
		bool host_net = !strcmp(jstr(hc, "NetworkMode") ? jstr(hc, "NetworkMode") : "", "host");
		json_object_set_new(cfg, "Hostname", json_string(host_net && d->hostname[0] ? d->hostname : h));
	}
	json_object_set_new(cfg, "Image", json_string(image_ref));
	/* Path and Args from Entrypoint + Cmd */
	json_t *argv = json_array();
	if (jarr(cfg, "Entrypoint"))
		json_array_extend(argv, jarr(cfg, "Entrypoint"));
	if (jarr(cfg, "Cmd"))
		json_array_extend(argv, jarr(cfg, "Cmd"));
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		berth_err(err, BERTH_E_INVALID, "No command specified");
		goto out;
	}
	/* Validate security options and the rest of the spec early, as docker does
	 * at create: a dry run of the spec builder on an empty rootfs path. */
	{
		struct berth_spec_input in = {.id = id,
					      .config = cfg,
					      .host_config = hc,
					      .image_config = img_cfg,
					      .rootfs = "/",
					      .validate_only = true,
					      .sysinfo = &d->sysinfo,
					      .idmap = &d->idmap,
					      .default_seccomp_profile = d->cfg.sec.seccomp_profile,
					      .seccomp_memo = d->seccomp_memo};
		struct berth_error verr = {0};
		json_t *spec = berth_oci_spec_build(&in, &verr);
		if (!spec && verr.kind == BERTH_E_INVALID) {
			json_decref(argv);
			*err = verr;
			goto out;
		}
		json_decref(spec);
	}
	/* volumes: Binds/Mounts/VolumesFrom checked before anything is written (daemon/volumes.h) */
	if (berth_volumes_container_validate(d, cfg, hc, err) < 0) {
		json_decref(argv);
		goto out;
	}
	char created[64];
	berth_time_rfc3339(berth_now_ns(), created, sizeof(created));
	cdir = berth_ctr_dir(d, id);
	logpath = berth_strdup_printf("%s/%s-json.log", cdir, id);
	hostname_path = berth_strdup_printf("%s/hostname", cdir);
	hosts_path = berth_strdup_printf("%s/hosts", cdir);
	resolv_path = berth_strdup_printf("%s/resolv.conf", cdir);
	json_t *doc = json_object();
	json_object_set_new(doc, "Id", json_string(id));
	json_object_set_new(doc, "Created", json_string(created));
	json_object_set(doc, "Path", json_array_get(argv, 0));
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(argv); i++)
		json_array_append(args, json_array_get(argv, i));
	json_object_set_new(doc, "Args", args);
	json_decref(argv);
	json_object_set_new(doc, "State",
			    json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", "created",
				      "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0, "Pid", 0,
				      "ExitCode", 0, "Error", "", "StartedAt", "0001-01-01T00:00:00Z", "FinishedAt",
				      "0001-01-01T00:00:00Z"));
	json_object_set_new(doc, "Image", json_string(img.id));
	json_object_set_new(doc, "ResolvConfPath", json_string(resolv_path));
	json_object_set_new(doc, "HostnamePath", json_string(hostname_path));
	json_object_set_new(doc, "HostsPath", json_string(hosts_path));
	json_object_set_new(doc, "LogPath",
			    json_string(!strcmp(jstr(jobj(hc, "LogConfig"), "Type"), "json-file") ? logpath : ""));
	json_object_set_new(doc, "RestartCount", json_integer(0));
	json_object_set_new(doc, "Driver", json_string(berth_layer_store_driver_name(d->layers)));
	json_object_set_new(doc, "Platform", json_string("linux"));
	json_object_set_new(doc, "MountLabel", json_string(""));
	json_object_set_new(doc, "ProcessLabel", json_string(""));
	json_object_set_new(doc, "AppArmorProfile", json_string(""));
	json_object_set_new(doc, "ExecIDs", json_null());
	json_object_set(doc, "HostConfig", hc);
	json_object_set_new(doc, "Mounts", json_array());
	json_object_set(doc, "Config", cfg);
	const char *nm = jstr(hc, "NetworkMode");
	json_t *nets = json_object();
	if (d->networks) { /* user networks, aliases, links, static addresses (daemon/networks.h) */
		if (berth_networks_container_create(d, hc, jobj(body, "NetworkingConfig"), nets, err) < 0) {
			json_decref(nets);
			json_decref(doc);
			goto out;
		}
	} else if (strncmp(nm, "container:", 10) != 0) {
		json_object_set_new(nets, !strcmp(nm, "default") ? "bridge" : nm,
				    json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
					      "IPAMConfig", "Links", "Aliases", "NetworkID", "", "EndpointID", "",
					      "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
					      "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "MacAddress", "",
					      "DriverOpts"));
	}
	json_object_set_new(
		doc, "NetworkSettings",
		json_pack("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o}",
			  "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
			  "LinkLocalIPv6PrefixLen", 0, "Ports", json_object(), "SandboxKey", "", "SecondaryIPAddresses",
			  "SecondaryIPv6Addresses", "EndpointID", "", "Gateway", "", "GlobalIPv6Address", "",
			  "GlobalIPv6PrefixLen", 0, "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress",
			  "", "Networks", nets));
	/* crash-safe order (daemon/reconcile.h): directory, layer, then record
	 * + volumes in one transaction (what has no record yet is an orphan a
	 * restart removes), then image content copied into new volumes under
	 * a mark that goes last; a restart removes a container still marked */
	if (berth_mkdir_p(cdir, 0710, err) < 0 || berth_userns_container_dir(d, cdir, err) < 0) {
		json_decref(doc);
		berth_rm_rf(cdir, NULL);
		goto out;
	}
	pthread_mutex_lock(&d->store_lock);
	/* the image may have been deleted meanwhile */
	if (!berth_image_exists(d->images, img.id)) {
		pthread_mutex_unlock(&d->store_lock);
		json_decref(doc);
		berth_rm_rf(cdir, NULL);
		berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", image_ref);
		goto out;
	}
	/* the name first (a conflict costs no layer), hidden: an image delete
	 * and the store check see it as a user of its image and its layer */
	struct berth_container *c = berth_container_reserve(d->containers, id, name, doc, err);
	pthread_mutex_unlock(&d->store_lock);
	if (!c) {
		berth_rm_rf(cdir, NULL);
		goto out;
	}
	/* without the store lock: a container layer's directories and their
	 * fsyncs; the layer store holds a reference to the image's layers from
	 * its own lookup (an image deleted meanwhile: "No such image") */
	if (berth_rwlayer_create_opts(d->layers, id, img.top_chain[0] ? img.top_chain : NULL,
				      json_object_get(hc, "StorageOpt"), err) < 0) {
		if (err->kind == BERTH_E_NOT_FOUND)
			berth_err(err, BERTH_E_NOT_FOUND, "No such image: %s", image_ref);
		berth_container_delete(d->containers, c, NULL);
		berth_container_put(d->containers, c);
		berth_rm_rf(cdir, NULL);
		goto out;
	}
	/* the record, its volumes and their references in one transaction, then
	 * the image content copied up (daemon/volumes.h); only then can anyone
	 * find the container */
	if (berth_volumes_container_create(d, c, err) < 0) {
		berth_ctr_remove(d, c, true, true, NULL);
		berth_container_put(d->containers, c);
		goto out;
	}
	berth_container_publish(d->containers, c);
	berth_reconcile_mark_created(d, id);
	berth_ctr_event(d, c, "create", NULL);
	berth_container_put(d->containers, c);
	json_t *warr = json_array();
	for (size_t i = 0; warnings && warnings[i]; i++)
		json_array_append_new(warr, json_string(warnings[i]));
	*resp = json_pack("{s:s, s:o}", "Id", id, "Warnings", warr);
	rc = 0;
out:
	berth_image_free(&img);
	berth_strv_free(warnings);
	return rc;
}
