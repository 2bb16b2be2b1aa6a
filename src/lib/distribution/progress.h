/* dockerd's JSON progress messages for pull and push (pkg/jsonmessage and
 * pkg/progress as dockerd 20.10 writes them). */
#pragma once
#include <jansson.h>
#include <stdint.h>

/* units.HumanSize: "35.84kB", "1.986MB", "527B" (decimal, 4 significant digits). */
void berth_progress_human_size(int64_t n, char *out, size_t len);
/* JSONProgress.String() as the daemon renders it (no time left):
 * "[=>      ]  35.84kB/1.986MB"; total <= 0: "%8s" of current; current > total: no "/total". Caller frees. */
char *berth_progress_bar(int64_t current, int64_t total);
/* {"status":..., "progressDetail":{"current":c,"total":t}, "progress":"[...]", "id":...}
 * (current < 0: "progressDetail":{} and no "progress"; id NULL: no "id"). New reference. */
json_t *berth_progress_msg(const char *status, const char *id, int64_t current, int64_t total);
