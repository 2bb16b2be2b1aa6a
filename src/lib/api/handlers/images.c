/* Image endpoints. */
#include "api/api.h"
#include "api/handlers/handlers.h"
#include "daemon/daemon.h"

const struct berth_route berth_routes_images[] = {
	{NULL, NULL, NULL},
};
