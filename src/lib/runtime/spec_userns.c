/* --userns-remap in the OCI spec: a user namespace with the daemon's
 * mappings, unless the container opts out with --userns=host; docker's
 * refusals of what cannot work in one. */
#include <stdio.h>
#include <string.h>

#include "jget.h"
#include "spec_internal.h"

static json_t *mappings(const struct berth_idrange *r, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "containerID", (json_int_t)r[i].container,
						   "hostID", (json_int_t)r[i].host, "size", (json_int_t)r[i].size));
	return a;
}

int spec_userns(json_t *spec, const struct berth_spec_input *in, struct berth_error *err)
{
	const json_t *hc = in->host_config;
	const char *mode = jstr(hc, "UsernsMode");
	bool host = mode && !strcmp(mode, "host");
	if (mode && *mode && !host)
		return berth_err(err, BERTH_E_INVALID, "invalid USER mode: %s", mode);
	if (!berth_idmap_enabled(in->idmap) || host)
		return 0;
	if (jbool(hc, "Privileged", false))
		return berth_err(err, BERTH_E_INVALID,
				 "privileged mode is incompatible with user namespaces.  You must run the container in "
				 "the host namespace when running privileged mode");
	const char *net = jstr(hc, "NetworkMode"), *pid = jstr(hc, "PidMode");
	if (net && !strcmp(net, "host"))
		return berth_err(err, BERTH_E_INVALID,
				 "cannot share the host's network namespace when user namespaces are enabled");
	if (pid && !strcmp(pid, "host"))
		return berth_err(err, BERTH_E_INVALID,
				 "cannot share the host PID namespace when user namespaces are enabled");
	json_t *lx = json_object_get(spec, "linux");
	json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{s:s}", "type", "user"));
	json_object_set_new(lx, "uidMappings", mappings(in->idmap->uids, in->idmap->nuid));
	json_object_set_new(lx, "gidMappings", mappings(in->idmap->gids, in->idmap->ngid));
	/* the default ping range names every gid; in the namespace only mapped ones exist */
	json_t *sysctl = json_object_get(lx, "sysctl");
	const char *pgr = jstr(sysctl, "net.ipv4.ping_group_range");
	if (pgr && !strcmp(pgr, "0 2147483647")) {
		uint64_t top = 0;
		for (size_t k = 0; k < in->idmap->ngid; k++)
			if ((uint64_t)in->idmap->gids[k].container + in->idmap->gids[k].size > top)
				top = (uint64_t)in->idmap->gids[k].container + in->idmap->gids[k].size;
		char v[48];
		snprintf(v, sizeof(v), "0 %llu", (unsigned long long)(top - 1));
		json_object_set_new(sysctl, "net.ipv4.ping_group_range", json_string(v));
	}
	/* docker: a read-only cgroup mount cannot be remounted in a user namespace */
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		if (strcmp(jstr(m, "type") ? jstr(m, "type") : "", "cgroup"))
			continue;
		json_t *opts = json_object_get(m, "options");
		for (size_t k = 0; k < json_array_size(opts); k++)
			if (!strcmp(json_string_value(json_array_get(opts, k)) ?: "", "ro"))
				json_array_remove(opts, k--);
	}
	return 0;
}
