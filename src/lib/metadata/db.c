#include "metadata/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_t) <= sizeof(unsigned long), "pthread_t fits an unsigned long");

enum retry_reason { RETRY_NONE, RETRY_BUSY, RETRY_FULL };

struct berth_db {
	sqlite3 *conn;
	char *path;
	pthread_mutex_t wmu;        /* writer lock, recursive */
	atomic_ulong owner;         /* thread inside berth_db_tx, 0 if none */
	int depth;                  /* tx nesting, owner only */
	enum retry_reason tx_retry; /* set by a statement failing inside a tx, owner only */
	int busy_ms, retry_ms;
	/* reserve */
	pthread_mutex_t rmu;
	char *reserve_path;
	int64_t reserve_size;
	atomic_bool reserve_present;
};

struct berth_stmt {
	struct berth_db *db;
	sqlite3_stmt *s;
	bool rows; /* returned a row since the last reset */
	int64_t changes;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Back-off between attempts: 1, 2, 4 ... 64 ms, plus a little jitter so two
 * writers do not retry in lock step. */
static void backoff(int attempt)
{
	int ms = attempt < 6 ? 1 << attempt : 64;
	long jitter = (long)((unsigned)rand() % 1000u) * 1000;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L + jitter};
	nanosleep(&ts, NULL);
}

static bool rc_busy(int rc)
{
	int p = rc & 0xff;
	return p == SQLITE_BUSY || p == SQLITE_LOCKED;
}

static bool rc_full(struct berth_db *db, int rc)
{
	int p = rc & 0xff;
	return p == SQLITE_FULL || (p == SQLITE_IOERR && sqlite3_system_errno(db->conn) == ENOSPC);
}

static int db_err(struct berth_db *db, int rc, struct berth_error *err)
{
	int p = rc & 0xff;
	int r = berth_err(err, p == SQLITE_CONSTRAINT ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, "database: %s",
			  sqlite3_errmsg(db->conn));
	if (err && rc_full(db, rc))
		err->code = ENOSPC;
	return r;
}

static bool is_owner(struct berth_db *db) { return atomic_load(&db->owner) == (unsigned long)pthread_self(); }

bool berth_db_in_tx(struct berth_db *db) { return db && is_owner(db) && db->depth > 0; }

/* ---- reserve ---------------------------------------------------------- */

static int64_t free_bytes(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else if (slash)
		dir[1] = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	struct statvfs vfs;
	if (statvfs(dir, &vfs) < 0)
		return -1;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

static bool reserve_file_ok(struct berth_db *db)
{
	struct stat st;
	return stat(db->reserve_path, &st) == 0 && (int64_t)st.st_blocks * 512 >= db->reserve_size;
}

void berth_db_reserve_refill(struct berth_db *db)
{
	if (!db || !db->reserve_path || atomic_load(&db->reserve_present))
		return;
	pthread_mutex_lock(&db->rmu);
	if (!atomic_load(&db->reserve_present)) {
		if (reserve_file_ok(db)) {
			atomic_store(&db->reserve_present, true);
		} else {
			/* only when the reserve would not take the last free space */
			int64_t avail = free_bytes(db->reserve_path);
			if (avail >= 4 * db->reserve_size) {
				int fd = open(db->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
				if (fd >= 0) {
					bool ok = fallocate(fd, 0, 0, (off_t)db->reserve_size) == 0 ||
						  posix_fallocate(fd, 0, (off_t)db->reserve_size) == 0;
					close(fd);
					if (ok)
						atomic_store(&db->reserve_present, true);
					else
						unlink(db->reserve_path);
				}
			}
		}
	}
	pthread_mutex_unlock(&db->rmu);
}

bool berth_db_release_reserve(struct berth_db *db)
{
	if (!db || !db->reserve_path)
		return false;
	pthread_mutex_lock(&db->rmu);
	bool freed = unlink(db->reserve_path) == 0;
	atomic_store(&db->reserve_present, false);
	pthread_mutex_unlock(&db->rmu);
	return freed;
}

/* The one retry decision: busy (another connection) waits with back-off until
 * the deadline; full releases the reserve once. True: try again. */
static bool retry_after(struct berth_db *db, int rc, int attempt, int64_t deadline, bool *released)
{
	if (rc_busy(rc) && now_ms() < deadline) {
		backoff(attempt);
		return true;
	}
	if (rc_full(db, rc) && !*released) {
		*released = true;
		return berth_db_release_reserve(db);
	}
	return false;
}

bool berth_db_reserve_present(struct berth_db *db) { return db && atomic_load(&db->reserve_present); }

void berth_db_release_memory(struct berth_db *db)
{
	if (db && db->conn)
		sqlite3_db_release_memory(db->conn);
}

void berth_db_process_lean(void)
{
	/* SQLite's page cache starts with one block for 20 pages (87 KiB)
	 * that stays allocated as long as the connection; without it each
	 * page is its own allocation and berth_db_release_memory frees them
	 * all. Process-wide; only takes effect before SQLite's first use. */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0);
}

/* ---- open/close --------------------------------------------------------- */

static void set_pragmas(struct berth_db *db)
{
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_busy_timeout(db->conn, db->busy_ms);
}

struct berth_db *berth_db_open(const char *path, const struct berth_db_opts *opts, struct berth_error *err)
{
	struct berth_db *db = calloc(1, sizeof(*db));
	if (!db) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->wmu, &a);
	pthread_mutexattr_destroy(&a);
	pthread_mutex_init(&db->rmu, NULL);
	db->path = strdup(path);
	db->busy_ms = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 2000;
	db->retry_ms = opts && opts->retry_total_ms > 0 ? opts->retry_total_ms : 30000;
	if (opts && opts->reserve_path) {
		db->reserve_path = strdup(opts->reserve_path);
		db->reserve_size = opts->reserve_size > 0 ? opts->reserve_size : 8 << 20;
	}
	if (!db->path || (opts && opts->reserve_path && !db->reserve_path)) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto fail;
	}
	/* the reserve first: on a full disk, opening may need it */
	berth_db_reserve_refill(db);
	int rc = sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		berth_err(err, BERTH_E_INTERNAL, "open database %s: %s", path,
			  db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
		goto fail;
	}
	set_pragmas(db);
	if (berth_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err) < 0) {
		berth_err_prefix(err, "configure database %s", path);
		goto fail;
	}
	return db;
fail:
	berth_db_close(db);
	return NULL;
}

void berth_db_close(struct berth_db *db)
{
	if (!db)
		return;
	if (db->conn)
		sqlite3_close_v2(db->conn);
	pthread_mutex_destroy(&db->wmu);
	pthread_mutex_destroy(&db->rmu);
	free(db->path);
	free(db->reserve_path);
	free(db);
}

const char *berth_db_path(struct berth_db *db) { return db->path; }

/* ---- writes outside a transaction ---------------------------------------- */

int berth_db_exec(struct berth_db *db, const char *sql, struct berth_error *err)
{
	pthread_mutex_lock(&db->wmu);
	bool in_tx = berth_db_in_tx(db);
	int64_t deadline = now_ms() + db->retry_ms;
	bool released = false;
	int rc;
	for (int attempt = 0;; attempt++) {
		char *msg = NULL;
		rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
		sqlite3_free(msg);
		if (rc == SQLITE_OK)
			break;
		if (in_tx) {
			/* the transaction is retried as a whole */
			if (rc_busy(rc))
				db->tx_retry = RETRY_BUSY;
			else if (rc_full(db, rc) && berth_db_release_reserve(db))
				db->tx_retry = RETRY_FULL;
			break;
		}
		if (retry_after(db, rc, attempt, deadline, &released))
			continue;
		break;
	}
	if (rc != SQLITE_OK)
		db_err(db, rc, err);
	pthread_mutex_unlock(&db->wmu);
	if (rc == SQLITE_OK && !in_tx)
		berth_db_reserve_refill(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- schema migrations --------------------------------------------------- */

struct migrate_ctx {
	const char *name;
	const char *const *steps;
};

static int migrate_tx(struct berth_db *db, void *ctx, struct berth_error *err)
{
	struct migrate_ctx *m = ctx;
	struct berth_stmt *st = berth_db_prepare(db, "SELECT version FROM schema_versions WHERE name = ?", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, m->name);
	int rc = berth_stmt_step(st, err);
	int64_t version = rc == 1 ? berth_stmt_int64(st, 0) : 0;
	berth_stmt_finalize(st);
	if (rc < 0)
		return -1;
	int64_t n = 0;
	while (m->steps[n])
		n++;
	if (version > n)
		return berth_err(err, BERTH_E_INTERNAL,
				 "database: schema %s is at version %lld, newer than this berthd knows (%lld)", m->name,
				 (long long)version, (long long)n);
	if (version == n)
		return 0;
	for (int64_t i = version; i < n; i++)
		if (berth_db_exec(db, m->steps[i], err) < 0)
			return berth_err_prefix(err, "database: migration of %s to version %lld", m->name,
						(long long)i + 1);
	st = berth_db_prepare(db, "INSERT OR REPLACE INTO schema_versions (name, version) VALUES (?, ?)", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, m->name);
	berth_stmt_bind_int64(st, 2, n);
	rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

int berth_db_migrate(struct berth_db *db, const char *name, const char *const *steps, struct berth_error *err)
{
	if (berth_db_exec(
		    db, "CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)",
		    err) < 0)
		return -1;
	struct migrate_ctx m = {name, steps};
	return berth_db_tx(db, migrate_tx, &m, err);
}

/* ---- transactions --------------------------------------------------------- */

static void rollback(struct berth_db *db)
{
	if (!sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

static int nested_tx(struct berth_db *db, berth_db_tx_fn fn, void *ctx, struct berth_error *err)
{
	char sp[32], sql[96];
	snprintf(sp, sizeof(sp), "berth_sp%d", db->depth);
	snprintf(sql, sizeof(sql), "SAVEPOINT %s", sp);
	if (berth_db_exec(db, sql, err) < 0)
		return -1;
	db->depth++;
	int r = fn(db, ctx, err);
	db->depth--;
	if (r < 0 && db->tx_retry == RETRY_NONE) {
		snprintf(sql, sizeof(sql), "ROLLBACK TO %s; RELEASE %s", sp, sp);
		sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
		return -1;
	}
	if (r < 0)
		return -1; /* the outer transaction starts over */
	snprintf(sql, sizeof(sql), "RELEASE %s", sp);
	return berth_db_exec(db, sql, err);
}

int berth_db_tx(struct berth_db *db, berth_db_tx_fn fn, void *ctx, struct berth_error *err)
{
	if (berth_db_in_tx(db))
		return nested_tx(db, fn, ctx, err);
	pthread_mutex_lock(&db->wmu);
	atomic_store(&db->owner, (unsigned long)pthread_self());
	int64_t deadline = now_ms() + db->retry_ms;
	int full_retries = 0, result = -1;
	for (int attempt = 0;; attempt++) {
		enum retry_reason why = RETRY_NONE;
		int rc = sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			if (rc_busy(rc))
				why = RETRY_BUSY;
			else if (rc_full(db, rc) && berth_db_release_reserve(db))
				why = RETRY_FULL;
			else {
				db_err(db, rc, err);
				break;
			}
		} else {
			struct berth_error e = {0};
			db->tx_retry = RETRY_NONE;
			db->depth = 1;
			int r = fn(db, ctx, &e);
			db->depth = 0;
			why = db->tx_retry;
			db->tx_retry = RETRY_NONE;
			if (r < 0) {
				rollback(db);
				if (why == RETRY_NONE) {
					if (err)
						*err = e;
					break;
				}
			} else {
				rc = sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
				if (rc == SQLITE_OK) {
					result = 0;
					break;
				}
				if (rc_busy(rc))
					why = RETRY_BUSY;
				else if (rc_full(db, rc) && berth_db_release_reserve(db))
					why = RETRY_FULL;
				else
					db_err(db, rc, err);
				rollback(db);
				if (why == RETRY_NONE)
					break;
			}
		}
		if (why == RETRY_FULL && ++full_retries > 2) {
			berth_err(err, BERTH_E_INTERNAL, "database: database or disk is full");
			if (err)
				err->code = ENOSPC;
			break;
		}
		if (why == RETRY_BUSY) {
			if (now_ms() >= deadline) {
				berth_err(err, BERTH_E_INTERNAL, "database: database is locked");
				break;
			}
			backoff(attempt);
		}
	}
	atomic_store(&db->owner, 0);
	pthread_mutex_unlock(&db->wmu);
	if (result == 0)
		berth_db_reserve_refill(db);
	return result;
}

int berth_db_begin(struct berth_db *db, struct berth_error *err)
{
	if (berth_db_in_tx(db)) {
		char sql[64];
		snprintf(sql, sizeof(sql), "SAVEPOINT berth_sp%d", db->depth);
		if (berth_db_exec(db, sql, err) < 0)
			return -1;
		db->depth++;
		return 0;
	}
	pthread_mutex_lock(&db->wmu);
	int64_t deadline = now_ms() + db->retry_ms;
	bool released = false;
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			break;
		if (retry_after(db, rc, attempt, deadline, &released))
			continue;
		db_err(db, rc, err);
		pthread_mutex_unlock(&db->wmu);
		return -1;
	}
	atomic_store(&db->owner, (unsigned long)pthread_self());
	db->depth = 1;
	db->tx_retry = RETRY_NONE;
	return 0;
}

static void end_outer(struct berth_db *db)
{
	db->depth = 0;
	db->tx_retry = RETRY_NONE;
	atomic_store(&db->owner, 0);
	pthread_mutex_unlock(&db->wmu);
}

void berth_db_rollback(struct berth_db *db)
{
	if (!berth_db_in_tx(db))
		return;
	if (db->depth > 1) {
		db->depth--;
		char sql[96];
		snprintf(sql, sizeof(sql), "ROLLBACK TO berth_sp%d; RELEASE berth_sp%d", db->depth, db->depth);
		sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
		return;
	}
	rollback(db);
	end_outer(db);
}

int berth_db_commit(struct berth_db *db, struct berth_error *err)
{
	if (!berth_db_in_tx(db))
		return berth_err(err, BERTH_E_INTERNAL, "database: commit without a transaction");
	if (db->depth > 1) {
		char sql[64];
		snprintf(sql, sizeof(sql), "RELEASE berth_sp%d", db->depth - 1);
		if (berth_db_exec(db, sql, err) < 0) {
			berth_db_rollback(db);
			return -1;
		}
		db->depth--;
		return 0;
	}
	int rc = SQLITE_OK;
	bool released = false;
	for (;;) {
		rc = sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK || sqlite3_get_autocommit(db->conn))
			break;
		/* still in the transaction: COMMIT can be tried again */
		if (rc_full(db, rc) && !released) {
			released = true;
			if (berth_db_release_reserve(db))
				continue;
		}
		break;
	}
	if (rc != SQLITE_OK) {
		db_err(db, rc, err);
		rollback(db);
	}
	end_outer(db);
	if (rc == SQLITE_OK)
		berth_db_reserve_refill(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- statements ------------------------------------------------------------ */

struct berth_stmt *berth_db_prepare(struct berth_db *db, const char *sql, struct berth_error *err)
{
	struct berth_stmt *st = calloc(1, sizeof(*st));
	if (!st) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	st->db = db;
	int64_t deadline = now_ms() + db->retry_ms;
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_prepare_v2(db->conn, sql, -1, &st->s, NULL);
		if (rc == SQLITE_OK)
			return st;
		/* preparing reads the schema, which another connection may lock */
		if (!rc_busy(rc) || now_ms() >= deadline) {
			db_err(db, rc, err);
			free(st);
			return NULL;
		}
		backoff(attempt);
	}
}

void berth_stmt_bind_text(struct berth_stmt *st, int idx, const char *s)
{
	if (!st)
		return;
	if (s)
		sqlite3_bind_text(st->s, idx, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st->s, idx);
}

void berth_stmt_bind_int64(struct berth_stmt *st, int idx, int64_t v)
{
	if (st)
		sqlite3_bind_int64(st->s, idx, v);
}

void berth_stmt_bind_null(struct berth_stmt *st, int idx)
{
	if (st)
		sqlite3_bind_null(st->s, idx);
}

static int step_read(struct berth_stmt *st, struct berth_error *err)
{
	int64_t deadline = 0;
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_step(st->s);
		if (rc == SQLITE_ROW) {
			st->rows = true;
			return 1;
		}
		if (rc == SQLITE_DONE)
			return 0;
		if (rc_busy(rc) && !st->rows && !berth_db_in_tx(st->db)) {
			if (!deadline)
				deadline = now_ms() + st->db->retry_ms;
			if (now_ms() < deadline) {
				sqlite3_reset(st->s);
				backoff(attempt);
				continue;
			}
		}
		return db_err(st->db, rc, err);
	}
}

static int step_write(struct berth_stmt *st, struct berth_error *err)
{
	struct berth_db *db = st->db;
	pthread_mutex_lock(&db->wmu);
	bool in_tx = berth_db_in_tx(db), released = false;
	int64_t deadline = now_ms() + db->retry_ms;
	int rc, result;
	for (int attempt = 0;; attempt++) {
		rc = sqlite3_step(st->s);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			break;
		if (in_tx) {
			bool freed = rc_full(db, rc) && !released && berth_db_release_reserve(db);
			released = released || freed;
			/* the statement alone was rolled back: run it again */
			if (freed && !sqlite3_get_autocommit(db->conn)) {
				sqlite3_reset(st->s);
				continue;
			}
			if (rc_busy(rc))
				db->tx_retry = RETRY_BUSY;
			else if (freed)
				db->tx_retry = RETRY_FULL;
			break;
		}
		if (retry_after(db, rc, attempt, deadline, &released)) {
			sqlite3_reset(st->s);
			continue;
		}
		break;
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		st->changes = sqlite3_changes64(db->conn);
		result = rc == SQLITE_ROW ? 1 : 0;
		if (rc == SQLITE_ROW)
			st->rows = true;
	} else {
		result = db_err(db, rc, err);
	}
	pthread_mutex_unlock(&db->wmu);
	if (result >= 0 && !in_tx)
		berth_db_reserve_refill(db);
	return result;
}

int berth_stmt_step(struct berth_stmt *st, struct berth_error *err)
{
	if (!st)
		return berth_err(err, BERTH_E_INTERNAL, "database: no statement");
	if (sqlite3_stmt_readonly(st->s))
		return step_read(st, err);
	return step_write(st, err);
}

int berth_stmt_exec(struct berth_stmt *st, struct berth_error *err)
{
	int r = berth_stmt_step(st, err);
	return r < 0 ? -1 : 0;
}

void berth_stmt_reset(struct berth_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st->s);
	st->rows = false;
}

void berth_stmt_finalize(struct berth_stmt *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->s);
	free(st);
}

const char *berth_stmt_text(struct berth_stmt *st, int col) { return (const char *)sqlite3_column_text(st->s, col); }
int64_t berth_stmt_int64(struct berth_stmt *st, int col) { return sqlite3_column_int64(st->s, col); }
int berth_stmt_int(struct berth_stmt *st, int col) { return sqlite3_column_int(st->s, col); }
bool berth_stmt_is_null(struct berth_stmt *st, int col) { return sqlite3_column_type(st->s, col) == SQLITE_NULL; }
int64_t berth_stmt_changes(struct berth_stmt *st) { return st ? st->changes : 0; }
