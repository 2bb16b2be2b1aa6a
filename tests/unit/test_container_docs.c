/* daemon/container: documents freed when idle (berth_containers_evict_idle)
 * and read back from their records (berth_container_doc). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "metadata/db.h"
#include "tap.h"

#define NCTR 24

static char root[256];

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static json_t *make_doc(int i)
{
	char name[32];
	snprintf(name, sizeof(name), "/c%d", i);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:b, s:i, s:s, s:s}, s:{s:s, s:{s:s}, s:[s]}, s:{s:s}, s:[]}",
			 "Id", "", "Created", "2024-01-01T00:00:00.5Z", "Name", name, "Image", "sha256:0123", "State",
			 "Status", "exited", "Running", 0, "ExitCode", i % 3, "StartedAt", "2024-01-01T00:00:01Z",
			 "FinishedAt", "2024-01-01T00:00:02Z", "Config", "Image", "busybox", "Labels", "k", name, "Env",
			 "A=\xc3\xa9", "HostConfig", "NetworkMode", "none", "Mounts");
}

static int db_exec(struct berth_db *db, const char *sql, const char *id)
{
	struct berth_stmt *st = berth_db_prepare(db, sql, NULL);
	berth_stmt_bind_text(st, 1, id);
	int rc = berth_stmt_exec(st, NULL);
	berth_stmt_finalize(st);
	return rc;
}

/* the document as inspect sees it, serialized (NULL: unreadable) */
static char *doc_text(struct berth_containers *cs, const char *id, struct berth_error *err)
{
	struct berth_container *c = berth_container_get(cs, id, err);
	if (!c)
		return NULL;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	pthread_mutex_unlock(&c->mu);
	berth_container_put(cs, c);
	return s;
}

struct storm {
	struct berth_containers *cs;
	char (*ids)[65];
	char **want;
	int seed, failures;
	volatile int *stop;
};

static void *storm_main(void *p)
{
	struct storm *s = p;
	unsigned r = (unsigned)s->seed;
	while (!*s->stop) {
		r = r * 1103515245u + 12345u;
		int i = (int)((r >> 8) % NCTR);
		struct berth_error err = {0};
		struct berth_container *c = berth_container_get(s->cs, s->ids[i], &err);
		if (!c) {
			s->failures++;
			continue;
		}
		pthread_mutex_lock(&c->mu);
		json_t *doc = berth_container_doc(c, &err);
		json_t *copy = json_deep_copy(doc); /* what inspect does */
		char status[128];
		berth_container_status_text(c, status, sizeof(status));
		pthread_mutex_unlock(&c->mu);
		berth_container_put(s->cs, c);
		char *text = copy ? json_dumps(copy, JSON_COMPACT) : NULL;
		if (!text || strcmp(text, s->want[i]) || strncmp(status, "Exited (", 8))
			s->failures++;
		free(text);
		json_decref(copy);
		if ((r >> 4) % 8 == 0) /* some stay idle long enough to go */
			sleep_ms((int)((r >> 12) % 5));
	}
	return NULL;
}

int main(void)
{
	struct tap t = {0};
	snprintf(root, sizeof(root), "/tmp/berth-ctrdocs-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	struct berth_daemon d;
	memset(&d, 0, sizeof(d));
	struct berth_error err = {0};
	char *path = berth_strdup_printf("%s/berth.db", root);
	d.db = berth_db_open(path, NULL, &err);
	free(path);
	d.log.level = BERTH_LOG_ERROR;
	d.containers = d.db ? berth_containers_open(&d, &err) : NULL;
	TAP_OK(&t, d.containers != NULL, "container table open (%s)", err.msg);
	if (!d.containers)
		return TAP_DONE(&t);
	struct berth_containers *cs = d.containers;

	static char ids[NCTR][65];
	char *want[NCTR];
	char status_before[NCTR][128];
	bool added = true;
	for (int i = 0; i < NCTR; i++) {
		berth_random_id(ids[i]);
		json_t *doc = make_doc(i);
		json_object_set_new(doc, "Id", json_string(ids[i]));
		char name[16];
		snprintf(name, sizeof(name), "c%d", i);
		struct berth_container *c = berth_container_add(cs, ids[i], name, doc, &err);
		added = added && c;
		if (!c)
			break;
		pthread_mutex_lock(&c->mu);
		want[i] = json_dumps(berth_container_doc(c, NULL), JSON_COMPACT);
		berth_container_status_text(c, status_before[i], sizeof(status_before[i]));
		pthread_mutex_unlock(&c->mu);
		berth_container_put(cs, c);
	}
	TAP_OK(&t, added, "%d containers added (%s)", NCTR, err.msg);
	if (!added)
		return TAP_DONE(&t);

	TAP_OK(&t, berth_containers_evict_idle(cs) == 0, "first pass: all were used since, none freed");
	TAP_OK(&t, berth_containers_evict_idle(cs) == 0, "second pass: compared with their records");
	TAP_OK(&t, berth_containers_evict_idle(cs) == NCTR && berth_containers_resident(cs) == 0,
	       "third pass: every unused document freed");

	/* the list's Status without the document */
	bool same_status = true;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(cs, &n);
	for (size_t k = 0; k < n; k++) {
		char st[128];
		pthread_mutex_lock(&all[k]->mu);
		berth_container_status_text(all[k], st, sizeof(st));
		bool resident = berth_container_doc_resident(all[k]);
		pthread_mutex_unlock(&all[k]->mu);
		int i = atoi(all[k]->name + 2);
		same_status = same_status && !resident && !strcmp(st, status_before[i]);
	}
	berth_container_list_free(cs, all, n);
	TAP_OK(&t, n == NCTR && same_status, "Status text of freed documents unchanged, nothing read back");

	bool same = true;
	for (int i = 0; i < NCTR; i++) {
		char *s = doc_text(cs, ids[i], &err);
		same = same && s && !strcmp(s, want[i]);
		free(s);
	}
	TAP_OK(&t, same && berth_containers_resident(cs) == NCTR, "read back: the same documents (%s)", err.msg);

	/* a change not saved keeps the document; saved, it can go */
	struct berth_container *c = berth_container_get(cs, ids[0], &err);
	pthread_mutex_lock(&c->mu);
	json_object_set_new(berth_container_doc(c, NULL), "Unsaved", json_true());
	pthread_mutex_unlock(&c->mu);
	berth_container_put(cs, c);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	TAP_OK(&t, berth_containers_resident(cs) == 1, "a document changed and not saved stays");
	c = berth_container_get(cs, ids[0], &err);
	berth_container_save_unlocked(cs, c, &err);
	/* a held reference keeps it too */
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	TAP_OK(&t, berth_containers_resident(cs) == 1, "a container someone holds keeps its document");
	berth_container_put(cs, c);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	TAP_OK(&t, berth_containers_resident(cs) == 0, "let go, it is freed");
	char *s0 = doc_text(cs, ids[0], &err);
	TAP_OK(&t, s0 && strstr(s0, "\"Unsaved\":true"), "saved, it went and came back with the change");
	free(s0);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);
	berth_containers_evict_idle(cs);

	/* an unreadable record is an error of the request */
	db_exec(d.db, "UPDATE containers SET doc = '{\"Id\":' WHERE id = ?", ids[1]);
	struct berth_error e1 = {0};
	char *s1 = doc_text(cs, ids[1], &e1);
	TAP_OK(&t, !s1 && e1.kind == BERTH_E_INTERNAL && strstr(e1.msg, "unreadable record"),
	       "corrupt record: an error (%s)", e1.msg);
	db_exec(d.db, "DELETE FROM containers WHERE id = ?", ids[2]);
	struct berth_error e2 = {0};
	char *s2 = doc_text(cs, ids[2], &e2);
	TAP_OK(&t, !s2 && e2.kind == BERTH_E_INTERNAL && strstr(e2.msg, "missing"), "missing record: an error (%s)",
	       e2.msg);
	/* put back for the storm */
	for (int i = 1; i <= 2; i++) {
		c = berth_container_get(cs, ids[i], &err);
		struct berth_stmt *st = berth_db_prepare(
			d.db, "INSERT OR REPLACE INTO containers (id, name, created, doc) VALUES (?, ?, 0, ?)", NULL);
		berth_stmt_bind_text(st, 1, ids[i]);
		berth_stmt_bind_text(st, 2, c->name);
		berth_stmt_bind_text(st, 3, want[i]);
		berth_stmt_exec(st, NULL);
		berth_stmt_finalize(st);
		berth_container_put(cs, c);
	}
	c = berth_container_get(cs, ids[0], &err);
	pthread_mutex_lock(&c->mu);
	free(want[0]);
	want[0] = json_dumps(berth_container_doc(c, NULL), JSON_COMPACT);
	pthread_mutex_unlock(&c->mu);
	berth_container_put(cs, c);

	/* readers and the evictor at once (run it under ASan/TSan) */
	volatile int stop = 0;
	struct storm st[4];
	pthread_t th[4];
	for (int k = 0; k < 4; k++) {
		st[k] = (struct storm){.cs = cs, .ids = ids, .want = want, .seed = k + 1, .stop = &stop};
		pthread_create(&th[k], NULL, storm_main, &st[k]);
	}
	size_t freed = 0;
	for (int pass = 0; pass < 400; pass++) {
		freed += berth_containers_evict_idle(cs);
		sleep_ms(1);
	}
	stop = 1;
	int failures = 0;
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		failures += st[k].failures;
	}
	TAP_OK(&t, failures == 0 && freed > 0, "inspect storm while freeing: %d wrong answers, %zu freed", failures,
	       freed);

	for (int i = 0; i < NCTR; i++)
		free(want[i]);
	berth_containers_close(cs);
	berth_db_close(d.db);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return TAP_DONE(&t);
}
