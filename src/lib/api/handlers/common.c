#include <dirent.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers/handlers.h"
#include "common/filters.h"
#include "common/util.h"
#include "daemon/daemon.h"

int berth_api_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	int n = 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n > 3 ? n - 3 : 0;
}

/* The filters themselves live below the API (common/filters.h); these
 * names stay for the handlers that use them. */
int berth_api_filters_check(json_t *filters, const char *const *allowed, struct berth_error *err)
{
	return berth_filters_check(filters, allowed, err);
}

bool berth_api_labels_match(json_t *values, json_t *labels) { return berth_labels_match(values, labels); }

int berth_api_event_filters_validate(json_t *filters, struct berth_error *err)
{
	return berth_event_filters_check(filters, err);
}

bool berth_api_event_matches(json_t *filters, json_t *msg) { return berth_event_matches(filters, msg); }

int berth_api_active_conns(struct berth_daemon *d)
{
	(void)d;
	return 0;
}
