/* The metadata layer: the only owner of SQLite in libberth.
 *
 * One connection per database file, shared by every store (layers, images,
 * containers, volumes). Policy, in one place:
 *  - WAL, synchronous=NORMAL, foreign keys on, a busy timeout;
 *  - every write runs under the handle's writer lock: either inside
 *    berth_db_tx() (BEGIN IMMEDIATE ... COMMIT, the whole transaction retried
 *    with back-off while another connection holds the database: SQLITE_BUSY,
 *    BUSY_SNAPSHOT, LOCKED), or as a single statement stepped by
 *    berth_stmt_step() outside a transaction (same lock, same retries);
 *  - reads run without the writer lock (they may see a transaction of
 *    another thread in progress on the shared connection);
 *  - a disk-space reserve file (optional): when SQLite reports SQLITE_FULL
 *    or a write fails with ENOSPC, the reserve is deleted and the operation
 *    retried, so deletes still work on a full disk; it is recreated once
 *    enough space is free again. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct berth_db;
struct berth_stmt;

struct berth_db_opts {
	const char *reserve_path; /* NULL: no reserve */
	int64_t reserve_size;     /* bytes; 0: 8 MiB */
	int busy_timeout_ms;      /* per attempt, 0: 2000 */
	int retry_total_ms;       /* whole-operation retry budget, 0: 30000 */
};

/* Open (create) the database at path. opts may be NULL. */
struct berth_db *berth_db_open(const char *path, const struct berth_db_opts *opts, struct berth_error *err);
void berth_db_close(struct berth_db *db);
const char *berth_db_path(struct berth_db *db);

/* Run one or more SQL statements without parameters (schema, pragmas). Runs
 * as a write (writer lock, retries, reserve). Outside a transaction a retry
 * runs the whole text again: several statements must be idempotent (CREATE
 * ... IF NOT EXISTS) or run inside berth_db_tx. */
int berth_db_exec(struct berth_db *db, const char *sql, struct berth_error *err);

/* Run fn inside one transaction: BEGIN IMMEDIATE; fn; COMMIT. fn returns
 * <0 to roll back (its err is returned). When the database is busy (another
 * connection) or full (reserve released), the transaction is rolled back and
 * fn called again from the start, so fn must not have effects outside the
 * database that cannot be repeated. Nested calls on the same thread run fn
 * inside the outer transaction (a SAVEPOINT: an inner failure rolls back the
 * inner part only). */
typedef int (*berth_db_tx_fn)(struct berth_db *db, void *ctx, struct berth_error *err);
int berth_db_tx(struct berth_db *db, berth_db_tx_fn fn, void *ctx, struct berth_error *err);
/* The same as explicit calls, for code whose transaction spans work that
 * cannot be repeated (files, directories): begin takes the writer lock
 * (BEGIN IMMEDIATE, waiting with back-off while another connection writes;
 * nested: a SAVEPOINT), commit/rollback release it. Statements inside are
 * not retried as a whole; a full disk releases the reserve and retries the
 * failing statement. Every begin must be followed by one commit or rollback
 * on the same thread. Do not take locks inside a transaction that other
 * threads hold while starting one (lock order: your lock, then the db). */
int berth_db_begin(struct berth_db *db, struct berth_error *err);
int berth_db_commit(struct berth_db *db, struct berth_error *err); /* rolls back on failure */
void berth_db_rollback(struct berth_db *db);
/* True when the calling thread is inside a transaction on db. */
bool berth_db_in_tx(struct berth_db *db);

/* Schema migrations. A store lists the steps of its schema in order (SQL
 * texts, NULL-terminated) under its own name; berth_db_migrate runs, in one
 * transaction, the steps past the version recorded for that name in the
 * schema_versions table and records the new version (the number of steps).
 * A landed step is never edited or removed: a change is a new step at the
 * end. SQLite cannot drop a constraint: such a step rebuilds the table
 * (CREATE new, INSERT ... SELECT, DROP, ALTER TABLE ... RENAME). */
int berth_db_migrate(struct berth_db *db, const char *name, const char *const *steps, struct berth_error *err);

/* Prepared statements. Parameters are 1-based, columns 0-based; text is
 * copied on bind. */
struct berth_stmt *berth_db_prepare(struct berth_db *db, const char *sql, struct berth_error *err);
void berth_stmt_bind_text(struct berth_stmt *st, int idx, const char *s); /* NULL binds NULL */
void berth_stmt_bind_int64(struct berth_stmt *st, int idx, int64_t v);
void berth_stmt_bind_null(struct berth_stmt *st, int idx);
/* 1: a row, 0: done, -1: error (err filled: CONFLICT for a constraint
 * violation, INTERNAL otherwise, code ENOSPC when full). A statement that
 * writes, stepped outside berth_db_tx, takes the writer lock and is retried
 * while busy or full. */
int berth_stmt_step(struct berth_stmt *st, struct berth_error *err);
/* Step a statement that returns no rows: 0 or -1. */
int berth_stmt_exec(struct berth_stmt *st, struct berth_error *err);
void berth_stmt_reset(struct berth_stmt *st); /* keeps bindings */
void berth_stmt_finalize(struct berth_stmt *st);
const char *berth_stmt_text(struct berth_stmt *st, int col); /* NULL for NULL */
int64_t berth_stmt_int64(struct berth_stmt *st, int col);
int berth_stmt_int(struct berth_stmt *st, int col);
bool berth_stmt_is_null(struct berth_stmt *st, int col);
/* Rows changed by the last step of this (write) statement. */
int64_t berth_stmt_changes(struct berth_stmt *st);

/* The disk-space reserve. berth_db_release_reserve deletes it (true when
 * something was freed): call it when a write of yours fails with ENOSPC, then
 * retry once. berth_db_reserve_refill recreates it when enough space is
 * free (called by the module after successful writes as well). */
bool berth_db_release_reserve(struct berth_db *db);
void berth_db_reserve_refill(struct berth_db *db);
bool berth_db_reserve_present(struct berth_db *db);

/* Gives back the page cache and other memory SQLite holds for the
 * connection and does not need (what it drops is read again from the file
 * when needed): the daemon calls it when it has been idle a while. */
void berth_db_release_memory(struct berth_db *db);
/* For a long-running process, before any database is opened: no page-cache
 * block kept for the connection's lifetime (see db.c). */
void berth_db_process_lean(void);
