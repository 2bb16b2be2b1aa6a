/* Build cache entries in the metadata database: (parent image, step key)
 * -> image. The key digests what docker compares: the step's instruction
 * after substitution, the config it makes, the build args in play and, for
 * ADD/COPY, a checksum of the files' contents and metadata. */
#include <string.h>

#include "builder/builder.h"
#include "common/cleanup.h"

int berth_build_cache_init(struct berth_db *db, struct berth_error *err)
{
	return berth_db_exec(db,
			     "CREATE TABLE IF NOT EXISTS build_cache (parent TEXT NOT NULL, key TEXT NOT NULL, "
			     "image TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (parent, key))",
			     err);
}

int berth_build_cache_get(struct berth_db *db, const char *parent, const char *key, char image[BERTH_ID_SZ])
{
	struct berth_error err = {0};
	struct berth_stmt *st =
		berth_db_prepare(db, "SELECT image FROM build_cache WHERE parent = ? AND key = ?", &err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, parent);
	berth_stmt_bind_text(st, 2, key);
	int rc = berth_stmt_step(st, &err);
	if (rc == 1) {
		const char *v = berth_stmt_text(st, 0);
		snprintf(image, BERTH_ID_SZ, "%s", v ? v : "");
		rc = v && *v ? 1 : 0;
	}
	berth_stmt_finalize(st);
	return rc;
}

int berth_build_cache_put(struct berth_db *db, const char *parent, const char *key, const char *image)
{
	struct berth_error err = {0};
	struct berth_stmt *st = berth_db_prepare(
		db, "INSERT OR REPLACE INTO build_cache (parent, key, image, created) VALUES (?, ?, ?, ?)", &err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, parent);
	berth_stmt_bind_text(st, 2, key);
	berth_stmt_bind_text(st, 3, image);
	berth_stmt_bind_int64(st, 4, berth_now_ns());
	int rc = berth_stmt_exec(st, &err);
	berth_stmt_finalize(st);
	return rc;
}

int64_t berth_build_cache_prune(struct berth_db *db, struct berth_error *err)
{
	if (berth_build_cache_init(db, err) < 0)
		return -1;
	struct berth_stmt *st = berth_db_prepare(db, "DELETE FROM build_cache", err);
	if (!st)
		return -1;
	int rc = berth_stmt_exec(st, err);
	int64_t n = rc < 0 ? -1 : berth_stmt_changes(st);
	berth_stmt_finalize(st);
	return n;
}
