/* Figures other subsystems provide to the system endpoints. */
#include "api/handlers/handlers.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "image/store.h"

void berth_api_counts(struct berth_daemon *d, struct berth_api_counts *n)
{
	*n = (struct berth_api_counts){0};
	berth_containers_count(d->containers, &n->containers, &n->running, &n->paused, &n->stopped);
	n->images = (int)berth_image_count(d->images);
}

json_t *berth_api_runtime_components(struct berth_daemon *d)
{
	(void)d;
	return NULL;
}

void berth_api_runtime_info(struct berth_daemon *d, json_t *info)
{
	(void)d;
	json_object_set_new(info, "Runtimes", json_object());
	json_object_set_new(info, "DefaultRuntime", json_string(""));
	json_object_set_new(info, "SecurityOptions", json_array());
}

json_t *berth_api_df_containers(struct berth_daemon *d)
{
	(void)d;
	return json_array();
}
