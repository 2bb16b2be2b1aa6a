/* Listing read-write (container) layers, for crash reconciliation at daemon
 * start (daemon/reconcile.c): which container layers exist, and where a
 * container's root filesystem is mounted. */
#pragma once
#include "common/error.h"

struct berth_layer_store;

/* Ids of every read-write layer of the store's driver (the container ids;
 * their "-init" layers are not listed separately). NULL-terminated strv
 * (berth_strv_free), NULL with err on a database error; an empty list is a
 * strv with no entries. */
char **berth_rwlayer_list(struct berth_layer_store *ls, struct berth_error *err);
/* Where the driver mounts the container's root filesystem (overlay2's
 * merged directory), NULL for drivers that do not mount or an unknown id.
 * Nothing is mounted by this call. Caller frees. */
char *berth_rwlayer_mount_dir(struct berth_layer_store *ls, const char *id);
