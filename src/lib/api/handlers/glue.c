/* Figures other subsystems provide to the system endpoints. */
#include "api/handlers/handlers.h"
#include "daemon/daemon.h"

void berth_api_counts(struct berth_daemon *d, struct berth_api_counts *n)
{
	(void)d;
	*n = (struct berth_api_counts){0};
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
