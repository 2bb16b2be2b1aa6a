/* POST /system/check?repair=1 (beyond docker): daemon/system_check.h. */
#include <string.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "common/cleanup.h"
#include "daemon/daemon.h"
#include "daemon/system_check.h"

static void system_check(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	const char *rq = berth_http_query(r, "repair");
	bool repair = rq && (!strcmp(rq, "1") || !strcasecmp(rq, "true"));
	if (rq && !repair && strcmp(rq, "0") != 0 && strcasecmp(rq, "false") != 0 && *rq) {
		berth_http_respond_msg(c, 400, "invalid value for repair: %s", rq);
		return;
	}
	json_t *out = berth_system_check(d, repair, &err);
	if (!out)
		berth_http_respond_error(c, &err);
	else
		berth_http_respond_json(c, 200, out);
}

const struct berth_route berth_routes_system_check[] = {
	{"POST", "/system/check", system_check},
	{NULL, NULL, NULL},
};
