/* Containers: the in-memory table (id, name, state) backed by SQLite, and the
 * inspect document that is both docker's JSON shape and our record.
 * Locking: the table has a mutex; each container has its own mutex guarding
 * its document and a condition variable signalled on every state change.
 * The document is resident only while it is used: berth_container_doc reads
 * it back from the record when the idle evictor
 * (berth_containers_evict_idle) dropped it. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "metadata/db.h"

struct berth_daemon;
struct berth_container_lazy; /* the document's slot: daemon/container.c only */

enum berth_cstate { CS_CREATED, CS_RUNNING, CS_PAUSED, CS_RESTARTING, CS_REMOVING, CS_EXITED, CS_DEAD };

struct berth_container {
	char id[65];
	char name[256]; /* with leading '/' */
	/* the inspect document (Id, Created, State, Config, HostConfig, ...),
	 * resident or not: only through berth_container_doc */
	struct berth_container_lazy *lazy;
	int64_t created_ns; /* doc's Created (never changes), for sorting and filters */
	char image[80];     /* doc's Image, the image ID (never changes): its users without the document */
	enum berth_cstate state;
	int shim_pid;
	int pidfd;          /* watched by the monitor while running */
	uint64_t state_seq; /* bumps on every state change (wait next-exit) */
	bool removed;
	bool hidden;         /* being created: its name is taken, nothing else sees it */
	bool stop_requested; /* explicit stop/kill: no restart */
	bool has_been_started;
	int64_t started_ns;
	int refs;
	uint64_t exit_seq;       /* bumps on every exit (wait next-exit) */
	int attach_waiters;      /* attach requests waiting for the shim of a starting container */
	bool shim_ready;         /* shim created, container not yet started */
	uint64_t start_fail_seq; /* bumps when a start fails (ends waiting attaches) */
	int restart_delay_ms;    /* restart manager back-off */
	pthread_mutex_t opmu;    /* serializes lifecycle operations (start/stop/rm...) */
	pthread_mutex_t mu;
	pthread_mutex_t savemu; /* orders record writes; never taken with mu held by the writer */
	uint64_t save_seq;      /* last snapshot of doc taken (under mu) */
	uint64_t saved_seq;     /* last snapshot written (under savemu); UINT64_MAX once deleted */
	pthread_cond_t cond;
	/* the parts of its GET /containers/json entry that only change with
	 * the record or the state (daemon/container_query.c), under mu: valid
	 * while save_seq and state_seq are those it was written at */
	char *list_cache;
	size_t list_cache_split, list_cache_len; /* the part before State, then the part after Status */
	uint64_t list_cache_save_seq, list_cache_state_seq;
	struct berth_container *next;
};

struct berth_containers;

struct berth_containers *berth_containers_open(struct berth_daemon *d, struct berth_error *err);
void berth_containers_close(struct berth_containers *cs);

/* Find by full id, unique id prefix, or name (with or without '/'). Returns a
 * reference (berth_container_put it). Not found: BERTH_E_NOT_FOUND
 * "No such container: ref"; ambiguous prefix: BERTH_E_INVALID. */
struct berth_container *berth_container_get(struct berth_containers *cs, const char *ref, struct berth_error *err);
void berth_container_put(struct berth_containers *cs, struct berth_container *c);
/* Snapshot of every container (references; free with berth_container_list_free). */
struct berth_container **berth_container_list_all(struct berth_containers *cs, size_t *n);
/* The same, with_hidden: also the containers being created (their name
 * reserved; their layer may exist, their record not yet): for the users of
 * an image (image delete) and the owners of layers (store check). */
struct berth_container **berth_container_list_all_ex(struct berth_containers *cs, size_t *n, bool with_hidden);
void berth_container_list_free(struct berth_containers *cs, struct berth_container **v, size_t n);

/* Name rules and reservation. name NULL/"" generates a random one. */
int berth_container_name_valid(const char *name, struct berth_error *err);
/* Take the name of a container being created and put it in the table
 * hidden (doc is stolen): lookups, lists and counts skip it, only the name
 * is reserved (409 on a name in use, as docker's name index). Nothing is
 * written: the creator writes the record — with berth_container_write_tx
 * inside the transaction that also records its volumes — and then
 * publishes it. On failure the creator removes it with
 * berth_container_delete. Returns the caller's reference. */
struct berth_container *berth_container_reserve(struct berth_containers *cs, const char *id, const char *name,
						json_t *doc, struct berth_error *err);
/* Write the record of a hidden container inside the caller's transaction
 * (berth_db_begin ... commit on this thread). */
int berth_container_write_tx(struct berth_containers *cs, struct berth_container *c, struct berth_error *err);
/* Make a reserved container visible (its record is written). */
void berth_container_publish(struct berth_containers *cs, struct berth_container *c);
/* reserve + write the record + publish, for a container without volumes
 * (tests, tools). */
struct berth_container *berth_container_add(struct berth_containers *cs, const char *id, const char *name, json_t *doc,
					    struct berth_error *err);
int berth_container_rename(struct berth_containers *cs, struct berth_container *c, const char *newname,
			   struct berth_error *err);
/* Drop from the table and the database (the caller cleaned up files). The
 * record and what the delete hook removes go in one transaction. */
int berth_container_delete(struct berth_containers *cs, struct berth_container *c, struct berth_error *err);
/* Run inside the transaction that deletes a container's record (the volume
 * references of daemon/volumes.c): database work only, may run more than
 * once (the transaction is retried when busy), takes no lock that is held
 * while starting a transaction. */
typedef int (*berth_container_delete_hook)(struct berth_db *db, const char *id, void *ctx, struct berth_error *err);
void berth_containers_set_delete_hook(struct berth_containers *cs, berth_container_delete_hook fn, void *ctx);
/* Persisting the document without a database write under c->mu: take a snapshot
 * with c->mu held (the document serialized, numbered), release c->mu, then
 * write it. Writes of one container are ordered by that number: an older
 * snapshot never overwrites a newer one, and none recreates a deleted
 * record. berth_container_write frees snap (NULL: out of memory); the caller
 * keeps its reference to the container until then. */
struct berth_container_snap;
struct berth_container_snap *berth_container_snapshot(struct berth_container *c);
int berth_container_write(struct berth_containers *cs, struct berth_container_snap *snap, struct berth_error *err);
/* Snapshot and write in one call: with c->mu NOT held (it takes it). */
int berth_container_save_unlocked(struct berth_containers *cs, struct berth_container *c, struct berth_error *err);
/* Old form, snapshot and write with c->mu held by the caller: a database
 * write under the mutex; use the snapshot/write pair instead. */
int berth_container_save(struct berth_containers *cs, struct berth_container *c, struct berth_error *err);
/* The inspect document, with c->mu held: read back from the record and
 * parsed when it is not resident. NULL with err set when that fails (the
 * record unreadable): an error of the request, never an empty document.
 * The tree is borrowed: use it (and anything taken from it) only while
 * c->mu is held; copy or incref what must outlive the lock. */
json_t *berth_container_doc(struct berth_container *c, struct berth_error *err);
/* Reading one document among many (lists, scans), with c->mu held from
 * before berth_container_doc_resident to after berth_container_doc_unread:
 * a document that was not resident and was only read is freed again at
 * once, so a scan keeps one document at a time. */
bool berth_container_doc_resident(struct berth_container *c);
void berth_container_doc_unread(struct berth_container *c, bool was_resident);
/* The same for code that cannot return an error (state changes, monitors):
 * the failure is logged with what (the caller) in the daemon's log. */
json_t *berth_container_doc_or_log(struct berth_container *c, const char *what);
/* One pass of the idle evictor (the daemon's idle tick). A document goes
 * when nobody holds its container (no reference but the table's), it was
 * not used since the previous pass, and that pass found it to be its record
 * (the last snapshot written and the tree serializing to it; a change not
 * saved yet stays). The table lock is held only to pick and pin; the
 * comparisons run under each container's mutex (try-locks: a busy one waits
 * for the next pass), a few ms per pass at most. Returns how many were
 * freed. */
size_t berth_containers_evict_idle(struct berth_containers *cs);
/* A container outside any table (unit tests): its document (stolen) stays
 * resident; freed with berth_container_free_standalone. */
struct berth_container *berth_container_new_standalone(const char *id, const char *name, json_t *doc);
void berth_container_free_standalone(struct berth_container *c);
/* Resident documents (tests, debug log). */
size_t berth_containers_resident(struct berth_containers *cs);
/* Count by state for info. */
void berth_containers_count(struct berth_containers *cs, int *total, int *running, int *paused, int *stopped);

/* State helpers: update doc.State and c->state, bump seq, broadcast. Hold c->mu. */
void berth_container_set_running(struct berth_container *c, int pid);
void berth_container_set_exited(struct berth_container *c, int exit_code, bool oom, int64_t finished_ns,
				const char *error);
void berth_container_set_state(struct berth_container *c, enum berth_cstate st);
const char *berth_cstate_name(enum berth_cstate st);
/* docker's "Up 3 minutes", "Exited (0) 2 seconds ago", "Created"... */
void berth_container_status_text(struct berth_container *c, char *out, size_t len);
