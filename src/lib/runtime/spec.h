/* OCI runtime spec (bundle config.json) for a docker container, with
 * docker's defaults (moby oci/defaults.go + daemon/oci_linux.go, docker
 * 20.10): namespaces, mounts, capabilities, masked/read-only paths, devices,
 * seccomp, cgroup resources, user resolution.
 *
 * Typical use by berthd at container start:
 *
 *     struct berth_spec_input in = { .id = c->id, .config = c->config, ... };
 *     json_t *spec = berth_oci_spec_build(&in, &err);
 *     berth_oci_bundle_write(bundle_dir, spec, &err);   // writes config.json
 *     // then berth_shim_spawn(...) (shim_client.h)
 */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/idmap.h"
#include "sysinfo.h"

struct berth_seccomp_memo; /* runtime/seccomp.h */

/* Resolves a named volume (Binds "name:/dst", Mounts type "volume") to its
 * host directory. Return 0 and a malloc'd path, or -1 with err filled. */
typedef int (*berth_volume_resolve_fn)(void *ctx, const char *name, char **host_path, struct berth_error *err);

struct berth_spec_input {
	const char *id;            /* full container id (hostname default = first 12 chars) */
	const json_t *config;      /* docker Config (as stored for the container) */
	const json_t *host_config; /* docker HostConfig */
	const json_t *
		image_config; /* the image's "config" object (Env, Cmd, Entrypoint, User, WorkingDir...); may be NULL */
	const char *rootfs;   /* absolute path of the mounted root filesystem */
	/* where berthd reads the user database and makes the working directory
	 * (NULL: rootfs): the same file system while rootfs is not mounted here
	 * (a detached mount's /proc/self/fd/N; the shim mounts rootfs) */
	const char *rootfs_view;
	/* Create-time validation: check everything that does not need the root
	 * filesystem (user lookup and the working directory are skipped). */
	bool validate_only;

	/* Files bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf (NULL: not mounted). */
	const char *hosts_path, *hostname_path, *resolv_conf_path;

	/* Network namespace: NULL = a new empty one; "host" = the host's (no
	 * network namespace entry); else a path to join (/run/berth/netns/x or
	 * /proc/<pid>/ns/net for --network container:x). */
	const char *netns_path;
	/* For IpcMode/PidMode "container:<x>": the namespace path to join,
	 * resolved by the daemon (/proc/<pid>/ns/ipc). NULL otherwise. */
	const char *ipc_ns_path, *pid_ns_path;
	/* Host directory to bind on /dev/shm instead of a private tmpfs (shareable
	 * IPC donors/joiners); NULL = private tmpfs of HostConfig.ShmSize. */
	const char *shm_path;

	const char *cgroup_path; /* e.g. "/berth/<id>" (cgroupfs driver) */

	/* --init: binary mounted at /sbin/docker-init. NULL = look up
	 * "docker-init" then "tini-static" in PATH. */
	const char *init_path;
	bool init_default;                   /* daemon "init": true (used when HostConfig.Init is null) */
	bool no_new_privileges_default;      /* daemon "no-new-privileges" */
	const json_t *default_ulimits;       /* daemon "default-ulimits" (object name -> {Name,Soft,Hard}) or NULL */
	const char *default_seccomp_profile; /* daemon "seccomp-profile" text (docker format) or NULL */
	/* the built-in default profile, converted once per bounding set
	 * (runtime/seccomp.h); NULL: converted for every spec */
	struct berth_seccomp_memo *seccomp_memo;

	const struct berth_sysinfo *sysinfo; /* required */
	/* --userns-remap (NULL or off: none): a user namespace with these
	 * mappings unless HostConfig.UsernsMode is "host" */
	const struct berth_idmap *idmap;

	/* Extra OCI mounts prepared by the daemon (e.g. secrets); merged with the
	 * user's mounts, sorted by depth, overriding defaults at the same path. */
	const json_t *extra_mounts;
	berth_volume_resolve_fn resolve_volume; /* NULL: named volumes -> BERTH_E_UNSUPPORTED */
	void *resolve_ctx;

	/* Optional out: warnings for the API's "Warnings" (NULL-terminated strv,
	 * appended to; free with berth_strv_free). */
	char ***warnings;
};

/* Build the OCI spec. Returns a new reference, or NULL with err:
 * BERTH_E_INVALID for bad input with docker's messages (unknown capability,
 * invalid --security-opt, bad seccomp profile, AppArmor requested on a host
 * without AppArmor, unknown user/group, "No command specified"...).
 *
 * The output matches docker 20.10's config.json field for field (checked
 * against dockerd on this host), except: no libnetwork prestart hook (berthd
 * sets the network namespace up itself and passes netns_path), and
 * --privileged / --cap-add ALL get the capabilities the daemon itself has
 * (docker asks for all of them and fails where root lacks one).
 *
 * Side effects, as docker's: the working directory is created in the
 * rootfs (resolved inside it), and a missing -v bind source directory is
 * created on the host. The config is merged with the image config the way
 * docker merges them at create (Env, Cmd/Entrypoint, User, WorkingDir), and
 * the HostConfig resources go through berth_resources_verify() on a copy. */
json_t *berth_oci_spec_build(const struct berth_spec_input *in, struct berth_error *err);

/* Write <bundle_dir>/config.json atomically (creates bundle_dir). */
int berth_oci_bundle_write(const char *bundle_dir, const json_t *spec, struct berth_error *err);

/* An exec process (runc exec --process file) for `docker exec`.
 * exec_config: docker ExecConfig (Cmd, Env, User, WorkingDir, Tty,
 * Privileged). container_spec: the container's OCI spec (config.json);
 * env, cwd, user, capabilities, rlimits, apparmor and noNewPrivileges are
 * inherited from its process as docker does. rootfs is used to resolve
 * ExecConfig.User. */
json_t *berth_oci_exec_process_build(const json_t *container_spec, const json_t *exec_config, const char *rootfs,
				     const struct berth_sysinfo *si, struct berth_error *err);

/* docker's default masked and read-only paths (what create stores in
 * HostConfig.MaskedPaths / ReadonlyPaths of an unprivileged container). */
json_t *berth_oci_default_masked_paths(void);
json_t *berth_oci_default_readonly_paths(void);

/* docker's ReplaceOrAppendEnvValues: "K=V" replaces K or appends; "K" unsets K.
 * Both are json arrays of strings; returns a new array. */
json_t *berth_env_merge(const json_t *defaults, const json_t *overrides);

/* docker's resource checks for a HostConfig (verifyPlatformContainerResources,
 * plus adaptContainerSettings' MemorySwap = 2 x Memory default when !update),
 * adjusting host_config in place (e.g. MemorySwap = -1 without swap
 * accounting) and appending docker's warnings. Call at create (to return
 * Warnings and store the adjusted HostConfig) and at update; spec building
 * applies it again on a copy. BERTH_E_INVALID with docker's messages
 * ("Minimum memory limit allowed is 6MB", ...). */
int berth_resources_verify(json_t *host_config, const struct berth_sysinfo *si, bool update, char ***warnings,
			   struct berth_error *err);

/* Parse Go strconv.ParseBool syntax. 0/1 on success, -1 if not a bool. */
int berth_parse_bool(const char *s);
