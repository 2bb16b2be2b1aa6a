/* berth system check / POST /system/check (beyond docker): the layer store
 * check (storage/check.h) plus every image config against its ID, every
 * image's layers, every reference, container record and container layer
 * against the others. With repair: orphans go (storage), dangling
 * references go, and images that need a corrupt or missing layer are
 * quarantined — a record of them (ID, references, reason) is written to
 * <data-root>/quarantine/ and they are deleted, which releases the bad
 * layers — unless a container uses them (reported, kept). Nothing healthy
 * is touched; containers keep running. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_daemon;

/* {"Problems":[{"Type","ID","Message","Action"}...],
 *  "Checked":{"Layers","VerifiedLayers","UnverifiableLayers","ContainerLayers","Images","References","Containers"},
 *  "Repair":bool} */
json_t *berth_system_check(struct berth_daemon *d, bool repair, struct berth_error *err);
