/* metadata/db: retry policy, transactions, the disk-space reserve. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/volumes.h"
#include "metadata/db.h"
#include "tap.h"

static char root[256];

static int64_t count_rows(struct berth_db *db, const char *sql)
{
	struct berth_stmt *st = berth_db_prepare(db, sql, NULL);
	int64_t n = -1;
	if (st && berth_stmt_step(st, NULL) == 1)
		n = berth_stmt_int64(st, 0);
	berth_stmt_finalize(st);
	return n;
}

/* --- two writers on two connections, each on its own thread ----------------- */

struct writer {
	struct berth_db *db;
	int id, n, failures;
	char msg[1100];
};

struct incr_ctx {
	int id, i;
};

/* a read then a write in one transaction: with deferred transactions this is
 * the pattern that fails with SQLITE_BUSY_SNAPSHOT under a concurrent writer */
static int incr(struct berth_db *db, void *p, struct berth_error *err)
{
	struct incr_ctx *c = p;
	struct berth_stmt *st = berth_db_prepare(db, "SELECT v FROM counter WHERE k = 1", err);
	if (!st)
		return -1;
	int r = berth_stmt_step(st, err);
	int64_t v = r == 1 ? berth_stmt_int64(st, 0) : 0;
	berth_stmt_finalize(st);
	if (r < 0)
		return -1;
	st = berth_db_prepare(db, "UPDATE counter SET v = ? WHERE k = 1", err);
	berth_stmt_bind_int64(st, 1, v + 1);
	r = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	if (r < 0)
		return -1;
	st = berth_db_prepare(db, "INSERT INTO log (writer, i) VALUES (?, ?)", err);
	berth_stmt_bind_int64(st, 1, c->id);
	berth_stmt_bind_int64(st, 2, c->i);
	r = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return r;
}

static void *writer_main(void *p)
{
	struct writer *w = p;
	for (int i = 0; i < w->n; i++) {
		struct berth_error err = {0};
		struct incr_ctx c = {.id = w->id, .i = i};
		int r;
		if (i % 2)
			r = berth_db_tx(w->db, incr, &c, &err);
		else {
			/* single statements outside a transaction take the same policy */
			struct berth_stmt *st =
				berth_db_prepare(w->db, "INSERT INTO single (writer, i) VALUES (?, ?)", &err);
			berth_stmt_bind_int64(st, 1, w->id);
			berth_stmt_bind_int64(st, 2, i);
			r = st ? berth_stmt_exec(st, &err) : -1;
			berth_stmt_finalize(st);
			if (r == 0)
				r = berth_db_tx(w->db, incr, &c, &err);
		}
		if (r < 0) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
		}
	}
	return NULL;
}

static void test_concurrent_writers(struct tap *t)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/two.db", root);
	struct berth_error err = {0};
	struct berth_db *a = berth_db_open(path, NULL, &err);
	TAP_OK(t, a != NULL, "open first connection (%s)", err.msg);
	struct berth_db *b = berth_db_open(path, &(struct berth_db_opts){.busy_timeout_ms = 1}, &err);
	TAP_OK(t, b != NULL, "open second connection (%s)", err.msg);
	if (!a || !b)
		return;
	TAP_OK(t,
	       berth_db_exec(a,
			     "CREATE TABLE counter (k INTEGER PRIMARY KEY, v INTEGER);"
			     "INSERT INTO counter VALUES (1, 0);"
			     "CREATE TABLE log (writer INTEGER, i INTEGER);"
			     "CREATE TABLE single (writer INTEGER, i INTEGER)",
			     &err) == 0,
	       "schema (%s)", err.msg);
	const int n = 300;
	struct writer w1 = {.db = a, .id = 1, .n = n}, w2 = {.db = b, .id = 2, .n = n};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, writer_main, &w1);
	pthread_create(&t2, NULL, writer_main, &w2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	TAP_OK(t, w1.failures == 0 && w2.failures == 0, "no write failed under two concurrent writers (%d/%d: %s%s)",
	       w1.failures, w2.failures, w1.msg, w2.msg);
	TAP_OK(t, count_rows(a, "SELECT v FROM counter WHERE k = 1") == 2 * n,
	       "read-modify-write transactions serialized: counter = %lld",
	       (long long)count_rows(a, "SELECT v FROM counter WHERE k = 1"));
	TAP_OK(t, count_rows(b, "SELECT COUNT(*) FROM log") == 2 * n, "every transaction committed once");
	TAP_OK(t, count_rows(b, "SELECT COUNT(*) FROM single") == n, "every single write committed once");
	berth_db_close(a);
	berth_db_close(b);
}

/* --- two threads on one shared connection --------------------------------------- */

static void test_shared_connection(struct tap *t)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/shared.db", root);
	struct berth_db *db = berth_db_open(path, NULL, NULL);
	berth_db_exec(db,
		      "CREATE TABLE counter (k INTEGER PRIMARY KEY, v INTEGER); INSERT INTO counter VALUES (1, 0);"
		      "CREATE TABLE log (writer INTEGER, i INTEGER); CREATE TABLE single (writer INTEGER, i INTEGER)",
		      NULL);
	const int n = 300;
	struct writer w1 = {.db = db, .id = 1, .n = n}, w2 = {.db = db, .id = 2, .n = n};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, writer_main, &w1);
	pthread_create(&t2, NULL, writer_main, &w2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	TAP_OK(t, w1.failures == 0 && w2.failures == 0, "shared connection: no write failed (%s%s)", w1.msg, w2.msg);
	TAP_OK(t, count_rows(db, "SELECT v FROM counter WHERE k = 1") == 2 * n,
	       "shared connection: transactions of two threads do not interleave");
	berth_db_close(db);
}

/* --- rollback ------------------------------------------------------------------- */

static int two_rows_then_fail(struct berth_db *db, void *p, struct berth_error *err)
{
	(void)p;
	if (berth_db_exec(db, "INSERT INTO t VALUES ('a')", err) < 0)
		return -1;
	struct berth_stmt *st = berth_db_prepare(db, "INSERT INTO t VALUES (?)", err);
	berth_stmt_bind_text(st, 1, "b");
	int r = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	if (r < 0)
		return -1;
	return berth_err(err, BERTH_E_CONFLICT, "changed my mind");
}

static int inner_fails(struct berth_db *db, void *p, struct berth_error *err)
{
	(void)p;
	berth_db_exec(db, "INSERT INTO t VALUES ('inner')", NULL);
	return berth_err(err, BERTH_E_INVALID, "inner");
}

static int outer_ok(struct berth_db *db, void *p, struct berth_error *err)
{
	int *inner_rc = p;
	if (berth_db_exec(db, "INSERT INTO t VALUES ('outer')", err) < 0)
		return -1;
	struct berth_error e = {0};
	*inner_rc = berth_db_tx(db, inner_fails, NULL, &e);
	return 0;
}

static int duplicate(struct berth_db *db, void *p, struct berth_error *err)
{
	(void)p;
	if (berth_db_exec(db, "INSERT INTO t VALUES ('c')", err) < 0)
		return -1;
	struct berth_stmt *st = berth_db_prepare(db, "INSERT INTO t VALUES ('c')", err);
	int r = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return r;
}

static void test_rollback(struct tap *t)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/rb.db", root);
	struct berth_db *db = berth_db_open(path, NULL, NULL);
	berth_db_exec(db, "CREATE TABLE t (v TEXT PRIMARY KEY)", NULL);
	struct berth_error err = {0};
	TAP_OK(t, berth_db_tx(db, two_rows_then_fail, NULL, &err) < 0, "a failing transaction fails");
	TAP_OK(t, err.kind == BERTH_E_CONFLICT && !strcmp(err.msg, "changed my mind"), "its error is returned (%s)",
	       err.msg);
	TAP_OK(t, count_rows(db, "SELECT COUNT(*) FROM t") == 0, "rollback leaves nothing");
	berth_err_clear(&err);
	TAP_OK(t, berth_db_tx(db, duplicate, NULL, &err) < 0 && err.kind == BERTH_E_CONFLICT,
	       "a constraint violation is a conflict (%s)", err.msg);
	TAP_OK(t, count_rows(db, "SELECT COUNT(*) FROM t") == 0, "and leaves nothing");
	int inner_rc = 0;
	TAP_OK(t, berth_db_tx(db, outer_ok, &inner_rc, NULL) == 0 && inner_rc < 0,
	       "nested: inner fails, outer commits");
	TAP_OK(t,
	       count_rows(db, "SELECT COUNT(*) FROM t WHERE v = 'outer'") == 1 &&
		       count_rows(db, "SELECT COUNT(*) FROM t") == 1,
	       "nested: only the inner part is rolled back");
	TAP_OK(t, !berth_db_in_tx(db), "not in a transaction afterwards");
	berth_db_close(db);
}

/* --- container records: snapshot under the lock, write after, in order ---------- */

static char *record_doc(struct berth_db *db, const char *id)
{
	struct berth_stmt *st = berth_db_prepare(db, "SELECT doc FROM containers WHERE id = ?", NULL);
	berth_stmt_bind_text(st, 1, id);
	char *doc = NULL;
	if (st && berth_stmt_step(st, NULL) == 1 && berth_stmt_text(st, 0))
		doc = strdup(berth_stmt_text(st, 0));
	berth_stmt_finalize(st);
	return doc;
}

static bool record_has(struct berth_db *db, const char *id, const char *needle)
{
	char *doc = record_doc(db, id);
	bool r = doc && strstr(doc, needle);
	free(doc);
	return r;
}

/* A daemon with just its database, container and volume stores, under root/sub. */
static int stores_open(struct tap *t, struct berth_daemon *d, const char *sub, struct berth_error *err)
{
	memset(d, 0, sizeof(*d));
	d->cfg.data_root = berth_strdup_printf("%s/%s", root, sub);
	mkdir(d->cfg.data_root, 0711);
	char *path = berth_strdup_printf("%s/berth.db", d->cfg.data_root);
	d->db = berth_db_open(path, NULL, NULL);
	free(path);
	d->events = berth_events_new(64);
	d->containers = berth_containers_open(d, err);
	d->volumes = berth_volumes_open(d, err);
	TAP_OK(t, d->db && d->containers && d->volumes, "daemon stores open (%s)", err->msg);
	return d->containers && d->volumes ? 0 : -1;
}

static void stores_close(struct berth_daemon *d)
{
	berth_volumes_close(d->volumes);
	berth_containers_close(d->containers);
	berth_db_close(d->db);
	berth_events_free(d->events);
	free(d->cfg.data_root);
}

static void test_container_records(struct tap *t)
{
	struct berth_daemon d;
	struct berth_error err = {0};
	if (stores_open(t, &d, "daemon", &err) < 0)
		return;
	char id[65];
	berth_random_id(id);
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{}, s:{}, s:[]}", "Id", id, "Created", "2024-01-01T00:00:00Z",
				"State", "Status", "created", "Config", "HostConfig", "Mounts");
	struct berth_container *c = berth_container_reserve(d.containers, id, "rec", doc, &err);
	TAP_OK(t, c != NULL, "container reserved (%s)", err.msg);
	if (!c)
		return;
	struct berth_error e2 = {0};
	struct berth_container *seen = berth_container_get(d.containers, id, &e2);
	size_t nall = 0;
	struct berth_container **all = berth_container_list_all(d.containers, &nall);
	berth_container_list_free(d.containers, all, nall);
	TAP_OK(t, !seen && e2.kind == BERTH_E_NOT_FOUND && nall == 0 && !record_doc(d.db, id),
	       "a reserved container is not found, not listed and has no record yet");
	berth_container_put(d.containers, seen);
	json_t *doc2 = json_pack("{s:s, s:{}, s:{}}", "Created", "2024-01-01T00:00:00Z", "Config", "HostConfig");
	struct berth_container *dup = berth_container_reserve(d.containers, "0123", "/rec", doc2, &e2);
	TAP_OK(t, !dup && e2.kind == BERTH_E_CONFLICT, "but its name is taken (%s)", e2.msg);
	TAP_OK(t, berth_volumes_container_create(&d, c, &err) == 0 && record_has(d.db, id, "\"Mounts\":[]"),
	       "create writes the record (%s)", err.msg);
	berth_container_publish(d.containers, c);
	seen = berth_container_get(d.containers, "rec", &e2);
	TAP_OK(t, seen == c, "published: found by name");
	berth_container_put(d.containers, seen);

	pthread_mutex_lock(&c->mu);
	json_object_set_new(berth_container_doc(c, NULL), "Marker", json_string("first"));
	struct berth_container_snap *older = berth_container_snapshot(c);
	json_object_set_new(berth_container_doc(c, NULL), "Marker", json_string("second"));
	struct berth_container_snap *newer = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	TAP_OK(t, berth_container_write(d.containers, newer, &err) == 0, "newer snapshot written (%s)", err.msg);
	TAP_OK(t, berth_container_write(d.containers, older, &err) == 0, "older snapshot written after it: no error");
	TAP_OK(t, record_has(d.db, id, "\"Marker\":\"second\""), "the older snapshot did not overwrite the newer one");

	TAP_OK(t, berth_container_save_unlocked(d.containers, c, &err) == 0 && record_has(d.db, id, "second"),
	       "save_unlocked writes the current document");

	pthread_mutex_lock(&c->mu);
	json_object_set_new(berth_container_doc(c, NULL), "Marker", json_string("late"));
	struct berth_container_snap *late = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	TAP_OK(t, berth_container_delete(d.containers, c, &err) == 0, "container deleted (%s)", err.msg);
	berth_container_write(d.containers, late, NULL);
	char *gone = record_doc(d.db, id);
	TAP_OK(t, gone == NULL, "a snapshot written after the delete does not recreate the record");
	free(gone);
	berth_container_put(d.containers, c);

	stores_close(&d);
}

/* --- create: record, volumes and references in one transaction --------------------- */

static void test_create_one_tx(struct tap *t)
{
	struct berth_daemon d;
	struct berth_error err = {0};
	if (stores_open(t, &d, "daemon-tx", &err) < 0)
		return;
	/* the record write fails after the volumes were created in the same transaction */
	berth_db_exec(d.db,
		      "CREATE TRIGGER fail_record BEFORE INSERT ON containers "
		      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
		      NULL);
	char id[65];
	berth_random_id(id);
	json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:{}}}, s:{s:[s, s]}, s:[]}", "Id", id, "Created",
				"2024-01-01T00:00:00Z", "State", "Status", "created", "Config", "Volumes", "/anon",
				"HostConfig", "Binds", "named-tx:/data", "other-tx:/other", "Mounts");
	struct berth_container *c = berth_container_reserve(d.containers, id, "txc", doc, &err);
	err = (struct berth_error){0};
	int rc = c ? berth_volumes_container_create(&d, c, &err) : 0;
	TAP_OK(t, c && rc < 0 && strstr(err.msg, "injected"), "create fails at the record (%s)", err.msg);
	TAP_OK(t,
	       count_rows(d.db, "SELECT count(*) FROM volumes") == 0 &&
		       count_rows(d.db, "SELECT count(*) FROM volume_refs") == 0,
	       "no volume and no reference was left by the failed create");
	char *vdir = berth_strdup_printf("%s/volumes/named-tx", d.cfg.data_root);
	struct stat st;
	TAP_OK(t, stat(vdir, &st) < 0 && errno == ENOENT, "nor the volume's directory");
	free(vdir);
	if (c) {
		berth_container_delete(d.containers, c, NULL);
		berth_container_put(d.containers, c);
	}
	struct berth_error de = {0};
	TAP_OK(t, berth_db_exec(d.db, "DROP TRIGGER fail_record", &de) == 0 && !berth_db_in_tx(d.db),
	       "trigger dropped (%s)", de.msg);

	berth_random_id(id);
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:{}}}, s:{s:[s]}, s:[]}", "Id", id, "Created",
			"2024-01-01T00:00:00Z", "State", "Status", "created", "Config", "Volumes", "/anon",
			"HostConfig", "Binds", "named-tx:/data", "Mounts");
	err = (struct berth_error){0};
	c = berth_container_reserve(d.containers, id, "txc", doc, &err);
	rc = c ? berth_volumes_container_create(&d, c, &err) : -1;
	TAP_OK(t,
	       rc == 0 && record_has(d.db, id, "named-tx") && count_rows(d.db, "SELECT count(*) FROM volumes") == 2 &&
		       count_rows(d.db, "SELECT count(*) FROM volume_refs") == 2,
	       "a create that succeeds writes record, volumes and references (%s)", err.msg);
	if (c) {
		berth_container_publish(d.containers, c);
		berth_container_put(d.containers, c);
	}
	stores_close(&d);
}

/* --- reserve ---------------------------------------------------------------------- */

static void test_reserve(struct tap *t)
{
	char path[600], reserve[600];
	snprintf(path, sizeof(path), "%s/r.db", root);
	snprintf(reserve, sizeof(reserve), "%s/.reserve", root);
	struct berth_db_opts o = {.reserve_path = reserve, .reserve_size = 1 << 20};
	struct berth_db *db = berth_db_open(path, &o, NULL);
	struct stat st;
	TAP_OK(t, db && berth_db_reserve_present(db) && stat(reserve, &st) == 0 && st.st_blocks * 512 >= (1 << 20),
	       "reserve preallocated at open");
	TAP_OK(t, berth_db_release_reserve(db) && stat(reserve, &st) < 0 && !berth_db_reserve_present(db),
	       "release deletes it");
	TAP_OK(t, !berth_db_release_reserve(db), "a second release frees nothing");
	berth_db_exec(db, "CREATE TABLE x (v INTEGER); INSERT INTO x VALUES (1)", NULL);
	TAP_OK(t, berth_db_reserve_present(db) && stat(reserve, &st) == 0, "recreated after a write with space free");
	berth_db_close(db);

	/* a full file system: SQLITE_FULL releases the reserve and the write goes through */
	if (getuid() != 0) {
		TAP_OK(t, 1, "# SKIP full-disk case needs root (tmpfs)");
		return;
	}
	char mnt[400];
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", root);
	mkdir(mnt, 0700);
	char cmd[2000];
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=4m tmpfs %s", mnt);
	if (system(cmd) != 0) {
		TAP_OK(t, 1, "# SKIP cannot mount tmpfs");
		return;
	}
	snprintf(path, sizeof(path), "%s/full.db", mnt);
	snprintf(reserve, sizeof(reserve), "%s/.reserve", mnt);
	o = (struct berth_db_opts){.reserve_path = reserve, .reserve_size = 512 << 10};
	db = berth_db_open(path, &o, NULL);
	berth_db_exec(db, "CREATE TABLE x (v TEXT)", NULL);
	TAP_OK(t, berth_db_reserve_present(db), "reserve on the small file system");
	/* fill the file system to 0 bytes */
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/fill bs=64k >/dev/null 2>&1", mnt);
	TAP_OK(t, system(cmd) != 0, "file system filled");
	struct berth_error err = {0};
	int r = 0;
	for (int i = 0; i < 40 && r == 0; i++) {
		struct berth_stmt *s = berth_db_prepare(db, "INSERT INTO x VALUES (hex(randomblob(8000)))", &err);
		r = berth_stmt_exec(s, &err);
		berth_stmt_finalize(s);
	}
	TAP_OK(t, !berth_db_reserve_present(db) && access(reserve, F_OK) < 0, "SQLITE_FULL released the reserve (%s)",
	       err.msg);
	TAP_OK(t, r < 0 && err.code == ENOSPC, "once the reserve is used up too, the error says full: %s", err.msg);
	snprintf(cmd, sizeof(cmd), "%s/fill", mnt);
	unlink(cmd);
	struct berth_error e2 = {0};
	TAP_OK(t, berth_db_exec(db, "DELETE FROM x", &e2) == 0, "writes work again once space is free (%s)", e2.msg);
	TAP_OK(t, berth_db_reserve_present(db) && access(reserve, F_OK) == 0, "reserve back once space is free");
	berth_db_close(db);
	snprintf(cmd, sizeof(cmd), "umount %s", mnt);
	TAP_OK(t, system(cmd) == 0, "unmounted");
}

/* --- schema migrations: run once, in order, recorded per store ------------- */

static void test_migrate(struct tap *t)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/migrate.db", root);
	struct berth_error e = {0};
	struct berth_db *db = berth_db_open(path, NULL, &e);
	TAP_OK(t, db != NULL, "open (%s)", e.msg);
	if (!db)
		return;
	TAP_OK(t,
	       berth_db_exec(db,
			     "CREATE TABLE m (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
			     "INSERT INTO m VALUES ('1', 'a')",
			     &e) == 0,
	       "old schema (%s)", e.msg);
	const char *const v1[] = {"CREATE TABLE m2 (id TEXT PRIMARY KEY, name TEXT NOT NULL);"
				  "INSERT INTO m2 SELECT id, name FROM m; DROP TABLE m; ALTER TABLE m2 RENAME TO m;",
				  NULL};
	TAP_OK(t, berth_db_migrate(db, "m", v1, &e) == 0, "migrate to 1 (%s)", e.msg);
	TAP_OK(t, berth_db_exec(db, "INSERT INTO m VALUES ('2', 'a')", &e) == 0, "UNIQUE gone (%s)", e.msg);
	TAP_OK(t, count_rows(db, "SELECT count(*) FROM m") == 2, "rows kept");
	TAP_OK(t, berth_db_migrate(db, "m", v1, &e) == 0, "again: nothing to do (%s)", e.msg);
	const char *const v2[] = {v1[0], "ALTER TABLE m ADD COLUMN x INTEGER NOT NULL DEFAULT 7", NULL};
	TAP_OK(t, berth_db_migrate(db, "m", v2, &e) == 0, "migrate to 2 runs step 2 only (%s)", e.msg);
	TAP_OK(t, count_rows(db, "SELECT sum(x) FROM m") == 14, "step 2 ran");
	TAP_OK(t, count_rows(db, "SELECT version FROM schema_versions WHERE name = 'm'") == 2, "version recorded");
	const char *const bad[] = {v1[0], v2[1], "CREATE TABLE n (a); SELECT nope FROM nowhere", NULL};
	TAP_OK(t, berth_db_migrate(db, "m", bad, &e) < 0, "a failing step fails");
	TAP_OK(t, count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'n'") == 0,
	       "and is rolled back whole");
	TAP_OK(t, count_rows(db, "SELECT version FROM schema_versions WHERE name = 'm'") == 2, "version unchanged");
	struct berth_error e2 = {0};
	TAP_OK(t, berth_db_migrate(db, "m", v1, &e2) < 0, "a schema newer than the steps is refused (%s)", e2.msg);
	berth_db_close(db);
}

int main(void)
{
	struct tap t = {0};
	snprintf(root, sizeof(root), "/tmp/berth-metadata-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_rollback(&t);
	test_concurrent_writers(&t);
	test_shared_connection(&t);
	test_container_records(&t);
	test_create_one_tx(&t);
	test_reserve(&t);
	test_migrate(&t);
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "umount %s/tmpfs 2>/dev/null; rm -rf %s", root, root);
	if (system(cmd) != 0)
		return 1;
	return TAP_DONE(&t);
}
