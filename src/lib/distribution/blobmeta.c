#include "distribution/blobmeta.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int berth_blobmeta_init(struct berth_db *db, struct berth_error *err)
{
	return berth_db_exec(db,
			     "CREATE TABLE IF NOT EXISTS dist_blobs ("
			     " digest TEXT NOT NULL, repo TEXT NOT NULL, diff_id TEXT NOT NULL,"
			     " media_type TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT -1,"
			     " used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (digest, repo));"
			     "CREATE INDEX IF NOT EXISTS dist_blobs_diff ON dist_blobs (diff_id);",
			     err);
}

int berth_blobmeta_add(struct berth_db *db, const char *diff_id, const char *digest, const char *media_type,
		       int64_t size, const char *repo, struct berth_error *err)
{
	if (!berth_digest_valid(diff_id) || !berth_digest_valid(digest) || !repo || !*repo)
		return berth_err(err, BERTH_E_INVALID, "invalid blob metadata");
	struct berth_stmt *st = berth_db_prepare(
		db,
		"INSERT INTO dist_blobs (digest, repo, diff_id, media_type, size, used) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (digest, repo) DO UPDATE SET diff_id = ?3, media_type = ?4, size = ?5, used = ?6",
		err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, digest);
	berth_stmt_bind_text(st, 2, repo);
	berth_stmt_bind_text(st, 3, diff_id);
	berth_stmt_bind_text(st, 4, media_type ? media_type : "");
	berth_stmt_bind_int64(st, 5, size);
	berth_stmt_bind_int64(st, 6, now_ns());
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

int berth_blobmeta_remove(struct berth_db *db, const char *digest, const char *repo, struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(db, "DELETE FROM dist_blobs WHERE digest = ?1 AND repo = ?2", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, digest);
	berth_stmt_bind_text(st, 2, repo);
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

int berth_blobmeta_diff_id(struct berth_db *db, const char *digest, char out[BERTH_DIGEST_LEN + 1],
			   struct berth_error *err)
{
	out[0] = '\0';
	struct berth_stmt *st = berth_db_prepare(db, "SELECT diff_id FROM dist_blobs WHERE digest = ?1 LIMIT 1", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, digest);
	int rc = berth_stmt_step(st, err);
	if (rc == 1) {
		const char *d = berth_stmt_text(st, 0);
		if (d && berth_digest_valid(d))
			memcpy(out, d, BERTH_DIGEST_LEN + 1);
		else
			rc = 0;
	}
	berth_stmt_finalize(st);
	return rc;
}

void berth_blobmeta_free(struct berth_blobmeta *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].media_type);
		free(v[i].repo);
	}
	free(v);
}

int berth_blobmeta_list(struct berth_db *db, const char *diff_id, struct berth_blobmeta **out, size_t *n,
			struct berth_error *err)
{
	*out = NULL;
	*n = 0;
	struct berth_stmt *st = berth_db_prepare(
		db, "SELECT digest, media_type, size, repo FROM dist_blobs WHERE diff_id = ?1 ORDER BY used DESC", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, diff_id);
	struct berth_blobmeta *v = NULL;
	size_t cnt = 0;
	int rc;
	while ((rc = berth_stmt_step(st, err)) == 1) {
		const char *dg = berth_stmt_text(st, 0);
		if (!dg || !berth_digest_valid(dg))
			continue;
		struct berth_blobmeta *nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
		v = nv;
		memset(&v[cnt], 0, sizeof(v[cnt]));
		memcpy(v[cnt].digest, dg, BERTH_DIGEST_LEN + 1);
		const char *mt = berth_stmt_text(st, 1), *repo = berth_stmt_text(st, 3);
		v[cnt].media_type = strdup(mt ? mt : "");
		v[cnt].size = berth_stmt_int64(st, 2);
		v[cnt].repo = strdup(repo ? repo : "");
		cnt++;
		if (!v[cnt - 1].media_type || !v[cnt - 1].repo) {
			rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
			break;
		}
	}
	berth_stmt_finalize(st);
	if (rc < 0) {
		berth_blobmeta_free(v, cnt);
		return -1;
	}
	*out = v;
	*n = cnt;
	return 0;
}
