#include "container.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/slab.h"
#include "common/span.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon/health.h"

/* A container's inspect document. tree NULL: not resident, its record is
 * current (the evictor frees a tree only then); what the list's Status
 * needs of State is kept from it. Under c->mu. */
struct berth_container_lazy {
	struct berth_containers *cs;
	struct berth_slab *slab; /* the block's pool (NULL: calloc'd) */
	json_t *tree;
	bool touched;       /* used since the evictor's last pass */
	uint64_t snap_hash; /* FNV-1a of the last snapshot's text (the record read at start) */
	bool dirty;         /* the tree was found to differ from snapshot dirty_seq */
	uint64_t dirty_seq;
	bool verified; /* the tree was found to be snapshot verified_seq, unused since */
	uint64_t verified_seq;
	int64_t started_ns, finished_ns; /* State while not resident */
	long long exit_code;
	const char *health_suffix; /* berth_health_status_suffix's (static) */
};

struct berth_containers {
	struct berth_daemon *d;
	pthread_mutex_t mu;
	struct berth_container *head;
	struct berth_slab *blocks; /* the containers' blocks (new_container) */
	berth_container_delete_hook delete_hook;
	void *delete_ctx;
};

void berth_containers_set_delete_hook(struct berth_containers *cs, berth_container_delete_hook fn, void *ctx)
{
	cs->delete_hook = fn;
	cs->delete_ctx = ctx;
}

static const char *const adjectives[] = {
	"brave", "calm",   "clever", "eager",   "elated",   "festive", "gentle", "happy", "jolly",  "keen",
	"kind",  "lucid",  "merry",  "nifty",   "noble",    "quirky",  "serene", "sharp", "silly",  "stoic",
	"sweet", "tender", "upbeat", "vibrant", "wizardly", "zealous", "bold",   "cool",  "dreamy", "fervent",
};
static const char *const surnames[] = {
	"curie",   "darwin", "euler",   "fermi",  "galois", "hopper",    "hypatia", "kepler", "lovelace", "maxwell",
	"meitner", "newton", "noether", "pascal", "planck", "ramanujan", "shannon", "tesla",  "turing",   "volta",
	"wright",  "yalow",  "bohr",    "dirac",  "gauss",  "hertz",     "joule",   "kelvin", "ohm",      "raman",
};

static const char *const state_names[] = {"created", "running", "paused", "restarting", "removing", "exited", "dead"};

const char *berth_cstate_name(enum berth_cstate st) { return state_names[st]; }

static enum berth_cstate state_from_name(const char *s)
{
	for (int i = 0; i <= CS_DEAD; i++)
		if (s && !strcmp(s, state_names[i]))
			return (enum berth_cstate)i;
	return CS_CREATED;
}

static uint64_t text_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64 bits */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct ctr_block {
	struct berth_container c; /* first: the block's address is c's */
	struct berth_container_lazy lazy;
};

static struct berth_container *new_container(struct berth_containers *cs, const char *id, const char *name, json_t *doc)
{
	/* one allocation for both, from the table's pool: a container is made
	 * in the middle of a request, and a long-lived block from malloc would
	 * pin a heap page of the request's (common/slab.h) */
	struct berth_slab *slab = cs ? cs->blocks : NULL;
	struct ctr_block *b = slab ? berth_slab_calloc(slab) : calloc(1, sizeof(*b));
	if (!b)
		abort(); /* out of memory: the callers of new_container cannot fail */
	struct berth_container *c = &b->c;
	c->lazy = &b->lazy;
	c->lazy->slab = slab;
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->name, sizeof(c->name), "%s%s", name[0] == '/' ? "" : "/", name);
	c->lazy->cs = cs;
	c->lazy->tree = doc;
	berth_time_parse(json_string_value(json_object_get(doc, "Created")), &c->created_ns);
	const char *img = json_string_value(json_object_get(doc, "Image"));
	snprintf(c->image, sizeof(c->image), "%s", img ? img : "");
	c->pidfd = -1;
	c->refs = 1; /* the table's */
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->opmu, NULL);
	pthread_mutex_init(&c->savemu, NULL);
	pthread_cond_init(&c->cond, NULL);
	json_t *st = json_object_get(doc, "State");
	c->state = state_from_name(json_string_value(json_object_get(st, "Status")));
	const char *started = json_string_value(json_object_get(st, "StartedAt"));
	c->has_been_started = started && strncmp(started, "0001", 4) != 0;
	return c;
}

static void free_container(struct berth_container *c)
{
	json_decref(c->lazy->tree); /* lazy shares c's allocation */
	free(c->list_cache);
	if (c->pidfd >= 0)
		close(c->pidfd);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->opmu);
	pthread_mutex_destroy(&c->savemu);
	pthread_cond_destroy(&c->cond);
	struct berth_slab *slab = c->lazy->slab;
	if (slab)
		berth_slab_free(slab, c);
	else
		free(c);
}

struct berth_containers *berth_containers_open(struct berth_daemon *d, struct berth_error *err)
{
	struct berth_containers *cs = calloc(1, sizeof(*cs));
	cs->d = d;
	pthread_mutex_init(&cs->mu, NULL);
	cs->blocks = berth_slab_new(sizeof(struct ctr_block)); /* NULL: calloc'd blocks */
	if (berth_db_exec(d->db,
			  "CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
			  "created INTEGER NOT NULL, doc TEXT NOT NULL)",
			  err) < 0) {
		berth_containers_close(cs);
		return NULL;
	}
	struct berth_stmt *st = berth_db_prepare(d->db, "SELECT id, name, doc FROM containers ORDER BY created", err);
	if (!st) {
		berth_containers_close(cs);
		return NULL;
	}
	while (berth_stmt_step(st, NULL) == 1) {
		const char *doc_s = berth_stmt_text(st, 2);
		json_t *doc = doc_s ? json_loads(doc_s, 0, NULL) : NULL;
		if (!doc) {
			berth_log(&d->log, BERTH_LOG_ERROR, "container %s: unreadable record, skipped",
				  berth_stmt_text(st, 0));
			continue;
		}
		struct berth_container *c = new_container(cs, berth_stmt_text(st, 0), berth_stmt_text(st, 1), doc);
		c->lazy->snap_hash = text_hash(doc_s);
		c->next = cs->head;
		cs->head = c;
	}
	berth_stmt_finalize(st);
	return cs;
}

void berth_containers_close(struct berth_containers *cs)
{
	if (!cs)
		return;
	struct berth_container *c = cs->head;
	while (c) {
		struct berth_container *n = c->next;
		free_container(c);
		c = n;
	}
	berth_slab_destroy(cs->blocks);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

struct berth_container *berth_container_get(struct berth_containers *cs, const char *ref, struct berth_error *err)
{
	if (!ref || !*ref) {
		berth_err(err, BERTH_E_NOT_FOUND, "No such container: %s", ref ? ref : "");
		return NULL;
	}
	pthread_mutex_lock(&cs->mu);
	struct berth_container *found = NULL;
	/* exact id, then exact name, then unique prefix */
	for (struct berth_container *c = cs->head; c && !found; c = c->next)
		if (!c->removed && !c->hidden && !strcmp(c->id, ref))
			found = c;
	for (struct berth_container *c = cs->head; c && !found; c = c->next)
		if (!c->removed && !c->hidden && (!strcmp(c->name, ref) || !strcmp(c->name + 1, ref)))
			found = c;
	if (!found) {
		size_t n = strlen(ref);
		int matches = 0;
		for (struct berth_container *c = cs->head; c; c = c->next)
			if (!c->removed && !c->hidden && !strncmp(c->id, ref, n)) {
				found = c;
				matches++;
			}
		if (matches > 1) {
			pthread_mutex_unlock(&cs->mu);
			berth_err(err, BERTH_E_INVALID, "multiple IDs found with provided prefix: %s", ref);
			return NULL;
		}
	}
	if (found)
		found->refs++;
	pthread_mutex_unlock(&cs->mu);
	if (!found)
		berth_err(err, BERTH_E_NOT_FOUND, "No such container: %s", ref);
	return found;
}

void berth_container_put(struct berth_containers *cs, struct berth_container *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&cs->mu);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&cs->mu);
	if (last)
		free_container(c);
}

struct berth_container **berth_container_list_all(struct berth_containers *cs, size_t *n)
{
	return berth_container_list_all_ex(cs, n, false);
}

struct berth_container **berth_container_list_all_ex(struct berth_containers *cs, size_t *n, bool with_hidden)
{
	pthread_mutex_lock(&cs->mu);
	size_t cnt = 0;
	for (struct berth_container *c = cs->head; c; c = c->next)
		if (!c->removed && (with_hidden || !c->hidden))
			cnt++;
	struct berth_container **v = calloc(cnt + 1, sizeof(*v));
	size_t i = 0;
	for (struct berth_container *c = cs->head; c; c = c->next)
		if (!c->removed && (with_hidden || !c->hidden)) {
			c->refs++;
			v[i++] = c;
		}
	pthread_mutex_unlock(&cs->mu);
	*n = cnt;
	return v;
}

void berth_container_list_free(struct berth_containers *cs, struct berth_container **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		berth_container_put(cs, v[i]);
	free(v);
}

int berth_container_name_valid(const char *name, struct berth_error *err)
{
	const char *n = name[0] == '/' ? name + 1 : name;
	bool ok = strlen(n) >= 2 && isalnum((unsigned char)n[0]);
	for (const char *p = n + 1; ok && *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			ok = false;
	if (!ok)
		return berth_err(err, BERTH_E_INVALID,
				 "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", n);
	return 0;
}

static struct berth_container *by_name_locked(struct berth_containers *cs, const char *slash_name)
{
	for (struct berth_container *c = cs->head; c; c = c->next)
		if (!c->removed && !strcmp(c->name, slash_name))
			return c;
	return NULL;
}

static void random_name(struct berth_containers *cs, char *out, size_t len)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		unsigned int r[2];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			r[0] = r[1] = (unsigned)attempt;
		size_t na = sizeof(adjectives) / sizeof(*adjectives), ns = sizeof(surnames) / sizeof(*surnames);
		if (attempt < 10)
			snprintf(out, len, "/%s_%s", adjectives[r[0] % na], surnames[r[1] % ns]);
		else
			snprintf(out, len, "/%s_%s%u", adjectives[r[0] % na], surnames[r[1] % ns], r[0] % 10);
		if (!by_name_locked(cs, out))
			return;
	}
}

struct berth_container *berth_container_reserve(struct berth_containers *cs, const char *id, const char *name,
						json_t *doc, struct berth_error *err)
{
	char slash[256];
	pthread_mutex_lock(&cs->mu);
	if (name && *name) {
		snprintf(slash, sizeof(slash), "%s%s", name[0] == '/' ? "" : "/", name);
		struct berth_container *other = by_name_locked(cs, slash);
		if (other) {
			pthread_mutex_unlock(&cs->mu);
			json_decref(doc);
			berth_err(
				err, BERTH_E_CONFLICT,
				"Conflict. The container name \"%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
				slash, other->id);
			return NULL;
		}
	} else {
		random_name(cs, slash, sizeof(slash));
	}
	json_object_set_new(doc, "Name", json_string(slash));
	struct berth_container *c = new_container(cs, id, slash, doc);
	c->hidden = true;
	c->next = cs->head;
	cs->head = c;
	c->refs++; /* the caller's */
	pthread_mutex_unlock(&cs->mu);
	return c;
}

void berth_container_publish(struct berth_containers *cs, struct berth_container *c)
{
	pthread_mutex_lock(&cs->mu);
	c->hidden = false;
	pthread_mutex_unlock(&cs->mu);
}

struct berth_container *berth_container_add(struct berth_containers *cs, const char *id, const char *name, json_t *doc,
					    struct berth_error *err)
{
	struct berth_container *c = berth_container_reserve(cs, id, name, doc, err);
	if (!c)
		return NULL;
	if (berth_container_save_unlocked(cs, c, err) < 0) {
		berth_container_delete(cs, c, NULL);
		berth_container_put(cs, c);
		return NULL;
	}
	berth_container_publish(cs, c);
	return c;
}

struct berth_container_snap {
	struct berth_container *c;
	uint64_t seq;
	int64_t created;
	char *doc;
	char name[256];
};

struct berth_container_snap *berth_container_snapshot(struct berth_container *c)
{
	json_t *doc = berth_container_doc_or_log(c, "record not written");
	if (!doc)
		return NULL;
	struct berth_container_snap *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return NULL;
	snap->doc = json_dumps(doc, JSON_COMPACT);
	if (!snap->doc) {
		free(snap);
		return NULL;
	}
	snap->c = c;
	snap->seq = ++c->save_seq;
	c->lazy->snap_hash = text_hash(snap->doc);
	snprintf(snap->name, sizeof(snap->name), "%s", c->name);
	berth_time_parse(json_string_value(json_object_get(doc, "Created")), &snap->created);
	return snap;
}

static void snap_free(struct berth_container_snap *snap)
{
	if (snap)
		free(snap->doc);
	free(snap);
}

static int write_record(struct berth_containers *cs, const char *id, const struct berth_container_snap *snap,
			struct berth_error *err)
{
	struct berth_stmt *st = berth_db_prepare(
		cs->d->db, "INSERT OR REPLACE INTO containers (id, name, created, doc) VALUES (?, ?, ?, ?)", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, id);
	berth_stmt_bind_text(st, 2, snap->name);
	berth_stmt_bind_int64(st, 3, snap->created);
	berth_stmt_bind_text(st, 4, snap->doc);
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

int berth_container_write(struct berth_containers *cs, struct berth_container_snap *snap, struct berth_error *err)
{
	if (!snap) /* out of memory, or the document unreadable (logged) */
		return berth_err(err, BERTH_E_INTERNAL,
				 "container record not written: out of memory or unreadable record");
	struct berth_container *c = snap->c;
	int rc = 0;
	pthread_mutex_lock(&c->savemu);
	/* a newer snapshot is already on disk, or the record was deleted */
	if (snap->seq > c->saved_seq) {
		rc = write_record(cs, c->id, snap, err);
		if (rc == 0)
			c->saved_seq = snap->seq;
	}
	pthread_mutex_unlock(&c->savemu);
	snap_free(snap);
	return rc;
}

int berth_container_write_tx(struct berth_containers *cs, struct berth_container *c, struct berth_error *err)
{
	if (!berth_db_in_tx(cs->d->db))
		return berth_err(err, BERTH_E_INTERNAL, "container %.12s: record written outside a transaction", c->id);
	pthread_mutex_lock(&c->mu);
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	/* hidden: no other thread saves it, so savemu is free (and never waited
	 * for while this thread holds the database) */
	return berth_container_write(cs, snap, err);
}

int berth_container_save_unlocked(struct berth_containers *cs, struct berth_container *c, struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	return berth_container_write(cs, snap, err);
}

int berth_container_save(struct berth_containers *cs, struct berth_container *c, struct berth_error *err)
{
	return berth_container_write(cs, berth_container_snapshot(c), err);
}

int berth_container_rename(struct berth_containers *cs, struct berth_container *c, const char *newname,
			   struct berth_error *err)
{
	if (berth_container_name_valid(newname, err) < 0)
		return -1;
	char slash[256];
	snprintf(slash, sizeof(slash), "%s%s", newname[0] == '/' ? "" : "/", newname);
	pthread_mutex_lock(&cs->mu);
	if (!strcmp(c->name, slash)) {
		pthread_mutex_unlock(&cs->mu);
		return berth_err(err, BERTH_E_INVALID, "Renaming a container with the same name as its current name");
	}
	struct berth_container *other = by_name_locked(cs, slash);
	if (other) {
		pthread_mutex_unlock(&cs->mu);
		return berth_err(
			err, BERTH_E_CONFLICT,
			"Conflict. The container name \"%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
			slash, other->id);
	}
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_unlock(&cs->mu);
		return -1;
	}
	char old[256];
	snprintf(old, sizeof(old), "%s", c->name);
	snprintf(c->name, sizeof(c->name), "%s", slash);
	json_object_set_new(doc, "Name", json_string(slash));
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&cs->mu);
	/* the new name is taken in the table; the record follows without locks */
	int rc = berth_container_write(cs, snap, err);
	if (rc < 0) {
		pthread_mutex_lock(&cs->mu);
		pthread_mutex_lock(&c->mu);
		if (!strcmp(c->name, slash) && !by_name_locked(cs, old) &&
		    (doc = berth_container_doc_or_log(c, "rename not undone")) != NULL) {
			snprintf(c->name, sizeof(c->name), "%s", old);
			json_object_set_new(doc, "Name", json_string(old));
		}
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_unlock(&cs->mu);
	}
	return rc;
}

struct delete_tx {
	struct berth_containers *cs;
	const char *id;
};

static int delete_tx_run(struct berth_db *db, void *ctx, struct berth_error *err)
{
	struct delete_tx *t = ctx;
	struct berth_stmt *st = berth_db_prepare(db, "DELETE FROM containers WHERE id = ?", err);
	if (!st)
		return -1;
	berth_stmt_bind_text(st, 1, t->id);
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	if (rc == 0 && t->cs->delete_hook)
		rc = t->cs->delete_hook(db, t->id, t->cs->delete_ctx, err);
	return rc;
}

int berth_container_delete(struct berth_containers *cs, struct berth_container *c, struct berth_error *err)
{
	/* what still uses the container after its record is gone (events,
	 * waiters) reads the document in memory */
	pthread_mutex_lock(&c->mu);
	berth_container_doc_or_log(c, "removed container's document lost");
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_lock(&c->savemu);
	struct delete_tx tx = {cs, c->id};
	int rc = berth_db_tx(cs->d->db, delete_tx_run, &tx, err);
	if (rc == 0)
		c->saved_seq = UINT64_MAX; /* no snapshot written later brings the record back */
	pthread_mutex_unlock(&c->savemu);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&cs->mu);
	struct berth_container **pp = &cs->head;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = c->next;
		c->removed = true;
		c->refs--; /* the table's reference; callers still hold theirs */
	}
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_lock(&c->mu);
	c->state_seq++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

void berth_containers_count(struct berth_containers *cs, int *total, int *running, int *paused, int *stopped)
{
	*total = *running = *paused = *stopped = 0;
	pthread_mutex_lock(&cs->mu);
	for (struct berth_container *c = cs->head; c; c = c->next) {
		if (c->removed || c->hidden)
			continue;
		(*total)++;
		if (c->state == CS_PAUSED)
			(*paused)++;
		else if (c->state == CS_RUNNING || c->state == CS_RESTARTING)
			(*running)++;
		else
			(*stopped)++;
	}
	pthread_mutex_unlock(&cs->mu);
}

static void set_status(struct berth_container *c, enum berth_cstate st)
{
	c->state = st;
	json_t *s = json_object_get(berth_container_doc_or_log(c, "state not recorded"), "State");
	json_object_set_new(s, "Status", json_string(state_names[st]));
	json_object_set_new(s, "Running", json_boolean(st == CS_RUNNING || st == CS_PAUSED || st == CS_RESTARTING));
	json_object_set_new(s, "Paused", json_boolean(st == CS_PAUSED));
	json_object_set_new(s, "Restarting", json_boolean(st == CS_RESTARTING));
	json_object_set_new(s, "Dead", json_boolean(st == CS_DEAD));
	c->state_seq++;
	pthread_cond_broadcast(&c->cond);
}

void berth_container_set_state(struct berth_container *c, enum berth_cstate st) { set_status(c, st); }

void berth_container_set_running(struct berth_container *c, int pid)
{
	char ts[64];
	c->started_ns = berth_now_ns();
	berth_time_rfc3339(c->started_ns, ts, sizeof(ts));
	json_t *s = json_object_get(berth_container_doc_or_log(c, "state not recorded"), "State");
	json_object_set_new(s, "Pid", json_integer(pid));
	json_object_set_new(s, "ExitCode", json_integer(0));
	json_object_set_new(s, "Error", json_string(""));
	json_object_set_new(s, "OOMKilled", json_false());
	json_object_set_new(s, "StartedAt", json_string(ts));
	json_object_set_new(s, "FinishedAt", json_string("0001-01-01T00:00:00Z"));
	c->has_been_started = true;
	set_status(c, CS_RUNNING);
}

void berth_container_set_exited(struct berth_container *c, int exit_code, bool oom, int64_t finished_ns,
				const char *error)
{
	char ts[64];
	berth_time_rfc3339(finished_ns ? finished_ns : berth_now_ns(), ts, sizeof(ts));
	json_t *s = json_object_get(berth_container_doc_or_log(c, "state not recorded"), "State");
	json_object_set_new(s, "Pid", json_integer(0));
	json_object_set_new(s, "ExitCode", json_integer(exit_code));
	json_object_set_new(s, "OOMKilled", json_boolean(oom));
	json_object_set_new(s, "FinishedAt", json_string(ts));
	if (error)
		json_object_set_new(s, "Error", json_string(error));
	c->exit_seq++;
	c->shim_pid = 0;
	c->shim_ready = false;
	set_status(c, CS_EXITED);
}

static void human_duration(int64_t secs, char *out, size_t len)
{
	/* go-units HumanDuration */
	if (secs < 1)
		snprintf(out, len, "Less than a second");
	else if (secs == 1)
		snprintf(out, len, "1 second");
	else if (secs < 60)
		snprintf(out, len, "%lld seconds", (long long)secs);
	else if (secs / 60 == 1)
		snprintf(out, len, "About a minute");
	else if (secs / 60 < 60)
		snprintf(out, len, "%lld minutes", (long long)(secs / 60));
	else if (secs / 3600 == 1)
		snprintf(out, len, "About an hour");
	else if (secs / 3600 < 48)
		snprintf(out, len, "%lld hours", (long long)(secs / 3600));
	else if (secs / 3600 < 24 * 7 * 2)
		snprintf(out, len, "%lld days", (long long)(secs / 86400));
	else if (secs / 3600 < 24 * 30 * 2)
		snprintf(out, len, "%lld weeks", (long long)(secs / (86400 * 7)));
	else if (secs / 3600 < 24 * 365 * 2)
		snprintf(out, len, "%lld months", (long long)(secs / (86400 * 30)));
	else
		snprintf(out, len, "%lld years", (long long)(secs / (86400 * 365)));
}

/* What the Status text needs of State, from the tree or, when it is not
 * resident, as the evictor kept it. */
struct status_inputs {
	int64_t started_ns, finished_ns;
	long long exit_code;
	const char *health_suffix;
};

static void status_inputs_of(json_t *s, struct status_inputs *in)
{
	in->started_ns = in->finished_ns = 0;
	berth_time_parse(json_string_value(json_object_get(s, "StartedAt")), &in->started_ns);
	berth_time_parse(json_string_value(json_object_get(s, "FinishedAt")), &in->finished_ns);
	in->exit_code = json_integer_value(json_object_get(s, "ExitCode"));
	in->health_suffix = berth_health_status_suffix(s);
}

void berth_container_status_text(struct berth_container *c, char *out, size_t len)
{
	struct status_inputs in;
	struct berth_container_lazy *l = c->lazy;
	if (l->tree) {
		status_inputs_of(json_object_get(l->tree, "State"), &in);
	} else {
		in = (struct status_inputs){l->started_ns, l->finished_ns, l->exit_code, l->health_suffix};
	}
	int64_t now = berth_now_ns();
	char dur[64];
	switch (c->state) {
	case CS_RUNNING:
	case CS_PAUSED:
		human_duration((now - in.started_ns) / 1000000000LL, dur, sizeof(dur));
		snprintf(out, len, "Up %s%s", dur, c->state == CS_PAUSED ? " (Paused)" : in.health_suffix);
		return;
	case CS_RESTARTING:
		human_duration((now - in.finished_ns) / 1000000000LL, dur, sizeof(dur));
		snprintf(out, len, "Restarting (%lld) %s ago", in.exit_code, dur);
		return;
	case CS_EXITED:
		if (!c->has_been_started) {
			snprintf(out, len, "Created");
			return;
		}
		human_duration((now - in.finished_ns) / 1000000000LL, dur, sizeof(dur));
		snprintf(out, len, "Exited (%lld) %s ago", in.exit_code, dur);
		return;
	case CS_REMOVING: snprintf(out, len, "Removal In Progress"); return;
	case CS_DEAD: snprintf(out, len, "Dead"); return;
	case CS_CREATED: snprintf(out, len, "Created"); return;
	}
}

json_t *berth_container_doc(struct berth_container *c, struct berth_error *err)
{
	struct berth_container_lazy *l = c->lazy;
	l->touched = true;
	if (l->tree)
		return l->tree;
	if (!l->cs) { /* standalone: always resident */
		berth_err(err, BERTH_E_INTERNAL, "container %.12s: no document", c->id);
		return NULL;
	}
	/* not resident: the record is that document (the evictor's rule) */
	struct berth_stmt *st = berth_db_prepare(l->cs->d->db, "SELECT doc FROM containers WHERE id = ?", err);
	if (!st)
		return NULL;
	berth_stmt_bind_text(st, 1, c->id);
	int rc = berth_stmt_step(st, err);
	if (rc == 1) {
		const char *text = berth_stmt_text(st, 0);
		json_error_t je;
		l->tree = text ? json_loads(text, 0, &je) : NULL;
		if (!l->tree)
			berth_err(err, BERTH_E_INTERNAL, "container %.12s: unreadable record: %s", c->id,
				  text ? je.text : "no document");
	} else if (rc == 0) {
		berth_err(err, BERTH_E_INTERNAL, "container %.12s: its record is missing", c->id);
	}
	berth_stmt_finalize(st);
	return l->tree;
}

json_t *berth_container_doc_or_log(struct berth_container *c, const char *what)
{
	struct berth_error err = {0};
	json_t *doc = berth_container_doc(c, &err);
	if (!doc && c->lazy->cs)
		berth_log(&c->lazy->cs->d->log, BERTH_LOG_ERROR, "container %.12s: %s: %s", c->id, what, err.msg);
	return doc;
}

/* With c->mu held: is the tree what the record holds? The last snapshot
 * must be written and the tree unchanged since (a change not saved yet
 * stays resident). */
static bool record_current(struct berth_container *c)
{
	struct berth_container_lazy *l = c->lazy;
	if (l->dirty && l->dirty_seq == c->save_seq)
		return false;
	if (pthread_mutex_trylock(&c->savemu) != 0)
		return false;
	bool written = c->save_seq != 0 && c->saved_seq == c->save_seq;
	pthread_mutex_unlock(&c->savemu);
	if (!written)
		return false;
	char *text = json_dumps(l->tree, JSON_COMPACT);
	bool same = text && text_hash(text) == l->snap_hash;
	free(text);
	if (!same && text) {
		l->dirty = true;
		l->dirty_seq = c->save_seq;
		berth_log(&l->cs->d->log, BERTH_LOG_DEBUG, "container %.12s: document changed since its record, kept",
			  c->id);
	}
	return same;
}

/* Free the tree (its record is current), keeping what the Status needs. */
static void drop_tree(struct berth_container_lazy *l)
{
	l->verified = false;
	struct status_inputs in;
	status_inputs_of(json_object_get(l->tree, "State"), &in);
	l->started_ns = in.started_ns;
	l->finished_ns = in.finished_ns;
	l->exit_code = in.exit_code;
	l->health_suffix = in.health_suffix;
	json_decref(l->tree);
	l->tree = NULL;
}

bool berth_container_doc_resident(struct berth_container *c) { return c->lazy->tree != NULL; }

void berth_container_doc_unread(struct berth_container *c, bool was_resident)
{
	/* read back under this lock hold: no other thread saw the tree, and
	 * it is still the record (only read) */
	if (!was_resident && c->lazy->tree && c->lazy->cs) {
		drop_tree(c->lazy);
		c->lazy->touched = false;
	}
}

/* The comparisons of trees with their records (a serialization each) run
 * without the table lock; a pass stops comparing after this long, the rest
 * wait for the next pass (1,000 documents of ~30 KiB take ~150 ms). */
#define EVICT_PASS_BUDGET_NS (20 * 1000000LL)

/* A pass: (1) under the table lock, the trees unused since the previous pass
 * that nobody holds go if the previous pass found them to be their records
 * (verified; any use since clears it); the others are pinned; (2) without
 * the table lock, each pinned tree is compared with its record under its
 * container's mutex (verified for the next pass), then unpinned. */
size_t berth_containers_evict_idle(struct berth_containers *cs)
{
	size_t freed = 0, n = 0, ncand = 0;
	pthread_mutex_lock(&cs->mu);
	for (struct berth_container *c = cs->head; c; c = c->next)
		n++;
	struct berth_container **cand = calloc(n + 1, sizeof(*cand));
	for (struct berth_container *c = cs->head; c; c = c->next) {
		struct berth_container_lazy *l = c->lazy;
		if (c->hidden || c->removed || pthread_mutex_trylock(&c->mu) != 0)
			continue;
		if (l->touched) {
			l->touched = false;
			l->verified = false;
		} else if (l->tree && c->refs == 1) {
			if (l->verified && l->verified_seq == c->save_seq) {
				/* refs == 1 (the table's, counted under cs->mu held
				 * here): no thread holds c, so none holds a part of
				 * its tree; unused since it was found current */
				drop_tree(l);
				freed++;
			} else if (cand && !(l->dirty && l->dirty_seq == c->save_seq)) {
				c->refs++; /* pinned for the comparison */
				cand[ncand++] = c;
			}
		}
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&cs->mu);
	int64_t start = berth_mono_ns();
	for (size_t k = 0; k < ncand; k++) {
		struct berth_container *c = cand[k];
		struct berth_container_lazy *l = c->lazy;
		/* a busy one is in use: not waited for (the daemon's main loop) */
		if (berth_mono_ns() - start <= EVICT_PASS_BUDGET_NS && pthread_mutex_trylock(&c->mu) == 0) {
			/* still unused: the tree read directly, not through the
			 * accessor (that would count as a use) */
			if (!l->touched && l->tree && record_current(c)) {
				l->verified = true;
				l->verified_seq = c->save_seq;
			}
			pthread_mutex_unlock(&c->mu);
		}
		berth_container_put(cs, c);
	}
	free(cand);
	return freed;
}

size_t berth_containers_resident(struct berth_containers *cs)
{
	size_t n = 0;
	pthread_mutex_lock(&cs->mu);
	for (struct berth_container *c = cs->head; c; c = c->next) {
		pthread_mutex_lock(&c->mu);
		n += c->lazy->tree != NULL;
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&cs->mu);
	return n;
}

struct berth_container *berth_container_new_standalone(const char *id, const char *name, json_t *doc)
{
	return new_container(NULL, id, name, doc);
}

void berth_container_free_standalone(struct berth_container *c)
{
	if (c)
		free_container(c);
}
