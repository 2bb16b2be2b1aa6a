/* OCI runtimes (crun, runc, --add-runtime entries): registry, probing and
 * the default choice.
 *
 * berthd at start:
 *     struct berth_runtimes rts;
 *     berth_runtimes_init(&rts, cfg->default_runtime, &err);       // finds crun and runc in PATH
 *     berth_runtimes_add(&rts, "my-rt", "/opt/bin/my-rt", NULL, &err); // --add-runtime / daemon.json "runtimes"
 *     berth_runtimes_probe(&rts, &(struct berth_probe_opts){.state_dir = exec_root, ...}, &err);
 *     log: berth_runtimes_summary(&rts)  ("using runc (crun does not work here: cgroups in hybrid mode ...)")
 *     info: berth_runtimes_info(&rts)    (Runtimes, DefaultRuntime, Warnings)
 * per container (--runtime):
 *     const struct berth_runtime *rt;
 *     berth_runtimes_resolve(&rts, hostconfig_runtime /+ NULL = default +/, &rt, &err);
 */
#pragma once
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct berth_runtime {
	char name[64];
	char path[PATH_MAX];
	char **args;  /* extra runtime args (daemon.json runtimeArgs), NULL-terminated or NULL */
	bool builtin; /* crun/runc found by the daemon itself */
	bool probed, works, cached;
	char reason[512]; /* why it does not work (the runtime's own message) */
	double probe_ms;
};

struct berth_runtimes {
	struct berth_runtime *rt;
	size_t n;
	char configured_default[64]; /* --default-runtime ("" = none given) */
	char default_name[64];       /* the one actually used ("" = none works) */
	char **warnings;             /* NULL-terminated, for info and the daemon log */
};

int berth_runtimes_init(struct berth_runtimes *r, const char *configured_default, struct berth_error *err);
/* --add-runtime name=path. Errors: name already used ("runtime name 'runc' is
 * reserved"), path not found/executable. args: json array of strings or NULL. */
int berth_runtimes_add(struct berth_runtimes *r, const char *name, const char *path, const json_t *args,
		       struct berth_error *err);

struct berth_probe_opts {
	const char *state_dir;     /* writable dir for probe bundles + cache (e.g. the exec-root) */
	const char *cgroup_parent; /* parent cgroup for the probe container ("/berth" when NULL) */
	int timeout_ms;            /* per runtime; 10000 when 0 */
	bool no_cache;
};
/* Run a tiny container with every runtime (in parallel), record works/reason,
 * then choose the default: the configured one if it works, else the first
 * working in the order crun, runc, added ones. Results are cached in
 * <state_dir>/runtime-probe.json keyed by binary (path, size, mtime) and the
 * host's cgroup layout. Fails only when no runtime works at all
 * (BERTH_E_UNAVAILABLE, with every reason). */
int berth_runtimes_probe(struct berth_runtimes *r, const struct berth_probe_opts *o, struct berth_error *err);

/* name NULL/"" = the default. Errors: BERTH_E_INVALID "Unknown runtime specified x",
 * BERTH_E_UNAVAILABLE "runtime x does not work on this host: <reason>". */
int berth_runtimes_resolve(const struct berth_runtimes *r, const char *name, const struct berth_runtime **out,
			   struct berth_error *err);
const struct berth_runtime *berth_runtimes_get(const struct berth_runtimes *r, const char *name);

/* {"Runtimes": {"runc": {"path": "/usr/sbin/runc"}, ...}, "DefaultRuntime": "runc", "Warnings": [...]} */
json_t *berth_runtimes_info(const struct berth_runtimes *r);
/* One line for the daemon log: "default runtime runc (configured crun does not work: ...)". */
char *berth_runtimes_summary(const struct berth_runtimes *r);
void berth_runtimes_free(struct berth_runtimes *r);

/* `<rt> --root <root> delete --force <id>`: for a container whose shim is
 * gone (berth_shim_reconnect() == BERTH_SHIM_LOST). Also removes its cgroup
 * when cgroup_path (the spec's cgroupsPath) is given. */
int berth_runtime_force_delete(const struct berth_runtime *rt, const char *root, const char *id,
			       const char *cgroup_path, struct berth_error *err);

/* State directory a runtime uses for its containers (--root). */
char *berth_runtime_root(const char *exec_root, const char *runtime_name);
