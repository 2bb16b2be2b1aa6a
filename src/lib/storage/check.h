/* Layer store check (berth system check): every layer re-hashed through its
 * tar-split record against its diff ID, every parent link, container layer,
 * driver directory, tar-split metadata directory and mount under the
 * driver's home checked against the others. Runs while containers run: the
 * store lock is held only while the tables and directories are compared,
 * never while hashing. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/layer_store.h"

struct berth_store_check {
	/* [{"Type","ID","Message","Action"}]: Type is one of corrupt-layer,
	 * missing-layer, broken-chain, missing-rw-layer, orphan-layer,
	 * orphan-metadata, stale-mount; Action what repair does ("would remove",
	 * "removed", "would quarantine", "none: ..."). */
	json_t *problems;
	/* chain IDs of corrupt / missing / broken layers (the daemon quarantines
	 * the images that need them). NULL-terminated. */
	char **bad_chains;
	int64_t layers, rw_layers, verified, unverifiable;
};

/* repair: remove orphan directories / metadata and detach stale mounts
 * (corrupt layers are only reported here; see daemon/system_check.h). */
int berth_layer_store_check(struct berth_layer_store *ls, bool repair, struct berth_store_check *out,
			    struct berth_error *err);
void berth_store_check_free(struct berth_store_check *c);
/* Ids of every container layer (NULL-terminated). */
char **berth_rwlayer_ids(struct berth_layer_store *ls);
/* A chain and every layer below it, top first (NULL-terminated). */
char **berth_layer_ancestry(struct berth_layer_store *ls, const char *chain_id);
