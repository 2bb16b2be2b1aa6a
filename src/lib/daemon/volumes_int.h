/* Internals shared by volumes.c (the store, the local driver, the API
 * operations) and volumes_mounts.c (containers' mount points). */
#pragma once
#include "metadata/db.h"
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/volumes.h"

/* A volume record. */
struct vol {
	char *name;
	char *driver;
	int64_t created_ns;
	json_t *labels; /* object or NULL (docker shows null) */
	json_t *opts;   /* driver options: object or NULL */
};

/* Mount count of a volume with driver options (docker's activeMount). */
struct vol_use {
	char *name;
	int count;
	bool mounted;
	struct vol_use *next;
};

/* The volume mount points of a running container (what "unmount" reports
 * and releases when it stops). */
struct ctr_use {
	char id[65];
	char **names; /* one per volume mount point (a name may repeat) */
	struct ctr_use *next;
};

/* References taken out of the database in the transaction that deletes a
 * container's record, kept for berth_volumes_container_remove (anonymous
 * volumes to remove). */
struct forgotten_refs {
	char id[65];
	char **names;
	bool *anon;
	struct forgotten_refs *next;
};

struct berth_volumes {
	struct berth_daemon *d;
	struct berth_db *db; /* the daemon's connection (metadata/db.h) */
	pthread_mutex_t mu;
	char *root; /* <data-root>/volumes */
	struct vol_use *uses;
	struct ctr_use *ctrs;
	pthread_mutex_t forgotten_mu; /* a leaf lock: taken inside database transactions */
	struct forgotten_refs *forgotten;
};

/* berth_container_delete's hook: drops the container's references (in its
 * transaction) and keeps them in vs->forgotten. */
int vols_forget_container(struct berth_db *db, const char *id, void *ctx, struct berth_error *err);
void vols_forgotten_free(struct forgotten_refs *f);

void vol_free(struct vol *v);
/* <root>/<name>/_data (malloc'd). */
char *vols_data_path(struct berth_volumes *vs, const char *name);
/* 1 found, 0 not found, -1 error. */
int vols_get_locked(struct berth_volumes *vs, const char *name, struct vol *out, struct berth_error *err);
/* docker's VolumesService.Create: validate, create if missing, emit "create".
 * driver NULL/"" = local. Errors are prefixed "create <name>: ". */
int vols_create_locked(struct berth_volumes *vs, const char *name, const char *driver, const json_t *opts,
		       const json_t *labels, struct vol *out, struct berth_error *err);
/* Remove (refs checked); emit: "destroy" (docker's prune does not emit it).
 * missing_ok: a missing volume is success. */
int vols_remove_locked(struct berth_volumes *vs, const char *name, bool missing_ok, bool emit, struct berth_error *err);
/* Live references: container ids (existing containers only), strv or NULL. */
char **vols_users_locked(struct berth_volumes *vs, const char *name);
/* Record references of a container (one statement). */
int vols_refs_add_locked(struct berth_volumes *vs, const char *container, char **names, const bool *anonymous, size_t n,
			 struct berth_error *err);
/* The container's references: names (strv) and, in *anon (malloc'd), their flags. */
char **vols_refs_of_locked(struct berth_volumes *vs, const char *container, bool **anon);
void vols_refs_drop_locked(struct berth_volumes *vs, const char *container);
/* docker's local driver option check ("invalid option: \"x\"", "missing required option"). */
int vols_validate_opts(const json_t *opts, struct berth_error *err);
/* Driver options need a mount (type or device given). */
bool vol_needs_mount(const struct vol *v);
/* Take / release one mount reference of a volume (mounts on the first,
 * unmounts after the last, for volumes with driver options). The mount error
 * reads like docker's "failed to mount local volume: mount ...". */
int vols_mount_ref_locked(struct berth_volumes *vs, const struct vol *v, struct berth_error *err);
void vols_unmount_ref_locked(struct berth_volumes *vs, const char *name);
void vols_emit(struct berth_volumes *vs, const char *action, const char *name, json_t *attrs);
/* Rebuild the running containers' mount references at open. */
void vols_restore_locked(struct berth_volumes *vs);
