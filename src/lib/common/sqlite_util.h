/* SQLite helpers shared by the stores. */
#pragma once
#include <sqlite3.h>

/* Retry a locked database every millisecond for up to timeout_ms (SQLite's
 * own busy timeout sleeps up to 100 ms between tries, which shows up as
 * latency when two connections of this daemon take turns writing). */
void berth_sqlite_busy(sqlite3 *db, int timeout_ms);
