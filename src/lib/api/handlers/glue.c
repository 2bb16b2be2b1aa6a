/* Figures other subsystems provide to the system endpoints. */
#include "api/handlers/handlers.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "image/store.h"
#include "runtime/runtime.h"
#include "storage/layer_store.h"

void berth_api_counts(struct berth_daemon *d, struct berth_api_counts *n)
{
	*n = (struct berth_api_counts){0};
	berth_containers_count(d->containers, &n->containers, &n->running, &n->paused, &n->stopped);
	n->images = (int)berth_image_count(d->images);
}

json_t *berth_api_runtime_components(struct berth_daemon *d)
{
	if (!d->runtimes || !d->runtimes->default_name[0])
		return NULL;
	const struct berth_runtime *rt = berth_runtimes_get(d->runtimes, d->runtimes->default_name);
	if (!rt)
		return NULL;
	return json_pack("[{s:s, s:s, s:{s:s}}]", "Name", rt->name, "Version", rt->name, "Details", "GitCommit",
			 rt->path);
}

void berth_api_runtime_info(struct berth_daemon *d, json_t *info)
{
	json_t *ri = d->runtimes ? berth_runtimes_info(d->runtimes) : NULL;
	json_object_set(info, "Runtimes",
			ri && json_object_get(ri, "Runtimes") ? json_object_get(ri, "Runtimes") : json_object());
	json_object_set_new(info, "DefaultRuntime", json_string(d->runtimes ? d->runtimes->default_name : ""));
	json_t *sec = json_array();
	if (d->sysinfo.seccomp)
		json_array_append_new(sec, json_string("name=seccomp,profile=default"));
	if (d->sysinfo.apparmor)
		json_array_append_new(sec, json_string("name=apparmor"));
	if (berth_idmap_enabled(&d->idmap))
		json_array_append_new(sec, json_string("name=userns"));
	json_object_set_new(info, "SecurityOptions", sec);
	json_decref(ri);
}

json_t *berth_api_df_containers(struct berth_daemon *d)
{
	struct berth_error err = {0};
	json_t *f = json_object();
	json_t *list = berth_ctr_list(d, f, true, -1, true, &err);
	json_decref(f);
	return list ? list : json_array();
}
