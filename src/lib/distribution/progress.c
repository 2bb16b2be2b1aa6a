#include "distribution/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void berth_progress_human_size(int64_t n, char *out, size_t len) { berth_size_human((double)n, out, len); }

char *berth_progress_bar(int64_t current, int64_t total)
{
	char cur[32], tot[32];
	if (current <= 0 && total <= 0)
		return strdup("");
	berth_progress_human_size(current, cur, sizeof(cur));
	if (total <= 0)
		return berth_strdup_printf("%8s", cur);
	int pct = (int)((double)current / (double)total * 100) / 2;
	if (pct > 50)
		pct = 50;
	if (pct < 0)
		pct = 0;
	char bar[64];
	memset(bar, '=', (size_t)pct);
	bar[pct] = '>';
	memset(bar + pct + 1, ' ', (size_t)(50 - pct));
	bar[51] = '\0';
	berth_progress_human_size(total, tot, sizeof(tot));
	if (current > total)
		return berth_strdup_printf("[%s] %8s", bar, cur);
	return berth_strdup_printf("[%s] %8s/%s", bar, cur, tot);
}

json_t *berth_progress_msg(const char *status, const char *id, int64_t current, int64_t total)
{
	json_t *m = json_object();
	if (!m)
		return NULL;
	json_object_set_new(m, "status", json_string(status));
	if (current < 0) {
		json_object_set_new(m, "progressDetail", json_object());
	} else {
		json_t *d = json_object();
		json_object_set_new(d, "current", json_integer(current));
		json_object_set_new(d, "total", json_integer(total));
		json_object_set_new(m, "progressDetail", d);
		char *bar = berth_progress_bar(current, total);
		json_object_set_new(m, "progress", json_string(bar ? bar : ""));
		free(bar);
	}
	if (id)
		json_object_set_new(m, "id", json_string(id));
	return m;
}
