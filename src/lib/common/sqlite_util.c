#include "sqlite_util.h"

#include <stdint.h>
#include <unistd.h>

static int busy_cb(void *arg, int tries)
{
	int limit = (int)(intptr_t)arg;
	if (tries >= limit)
		return 0;
	usleep(1000);
	return 1;
}

void berth_sqlite_busy(sqlite3 *db, int timeout_ms) { sqlite3_busy_handler(db, busy_cb, (void *)(intptr_t)timeout_ms); }
