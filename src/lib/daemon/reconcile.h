/* Crash reconciliation at daemon start. berthd can be killed (-9) at any
 * point of create, start or remove; at the next start, before live restore,
 * everything a container is made of is brought back to agreement, so that
 * each container either exists whole and works, or does not exist at all:
 *
 *  - a record whose create did not finish (its directory still holds the
 *    ".creating" mark: image content was being copied into its new
 *    volumes), or whose read-write layer is gone (a remove that did not
 *    finish), is removed with whatever exists of it (anonymous volumes of
 *    an unfinished create too);
 *  - a container recorded as not running whose shim is alive: a shim whose
 *    container runs (the start got as far as `runtime start`) is adopted
 *    (recorded as running; live restore then re-attaches it); any other
 *    shim is told to let go, the runtime's state (`runtime delete --force`,
 *    cgroups), the state directory and the root filesystem mount are
 *    removed, and the container can be started again;
 *  - container directories (data root and exec root), shims, runtime
 *    state and read-write layers (+ "-init") that belong to no record are
 *    removed;
 *  - mounts under the data root that belong to no running container
 *    (volumes/ excepted: daemon/volumes.c owns those) are unmounted.
 *
 * What create writes, in order (container_create.c): the container
 * directory, the read-write layer (directories, then its row), then in one
 * transaction the record (with doc.Mounts), the volumes and their
 * references -- before it, what exists has no record and a restart removes
 * it as an orphan; when image content is to be copied into new volumes, the
 * ".creating" mark is written before that transaction, the content copied
 * after it, and the mark removed last (one inode made and freed on the data
 * root per container otherwise). Until then the container is hidden from
 * every lookup (berth_container_reserve) and only its name is taken. */
#pragma once
#include "common/error.h"

struct berth_daemon;

/* At daemon start: after the stores, the runtimes and the monitor are open,
 * before berth_ctr_restore(). Never fails: what cannot be repaired is
 * logged. */
void berth_reconcile(struct berth_daemon *d);

/* Create's mark: written before the record's transaction of a container
 * whose new volumes get image content after it (berth_volumes_container_create),
 * removed when the container is complete (a no-op without a mark). */
int berth_reconcile_mark_creating(struct berth_daemon *d, const char *id, struct berth_error *err);
void berth_reconcile_mark_created(struct berth_daemon *d, const char *id);
