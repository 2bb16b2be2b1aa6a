/* Volumes: docker's `local` volume driver and the container side of
 * -v / --mount / --volumes-from / image VOLUMEs.
 *
 * A volume is a directory <data-root>/volumes/<name>/_data; its record
 * (driver, creation time, labels, driver options) is a row of the daemon's
 * SQLite database (table `volumes`). Containers reference the volumes they
 * mount (table `volume_refs`: container id, volume name, anonymous flag);
 * a referenced volume cannot be removed ("volume is in use") and is not
 * dangling. Driver options type/device/o make a volume that is mounted on
 * its _data directory (tmpfs, bind, ...) while at least one running
 * container uses it, as docker's local driver does.
 *
 * Thread-safe: one mutex guards the records, the references and the
 * mount counts. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct berth_daemon;
struct berth_container;
struct berth_volumes;

/* Open the store (creates <data-root>/volumes and the tables). Call after the
 * container table is loaded and before live restore: running containers'
 * volumes count as mounted; stale references and stale mounts are dropped. */
struct berth_volumes *berth_volumes_open(struct berth_daemon *d, struct berth_error *err);
void berth_volumes_close(struct berth_volumes *vs);

/* docker's local volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ ; BERTH_E_INVALID
 * with docker's message otherwise (without the "create <name>: " prefix). */
int berth_volume_name_valid(const char *name, struct berth_error *err);

/* ---- Engine API (docker's JSON shapes) ---------------------------------- */

/* POST /volumes/create body {Name, Driver, DriverOpts, Labels}. An existing
 * volume of that name is returned unchanged. Emits "create". */
json_t *berth_volume_create(struct berth_volumes *vs, const json_t *body, struct berth_error *err);
/* GET /volumes/{name}. NOT_FOUND "get <name>: no such volume". */
json_t *berth_volume_inspect(struct berth_volumes *vs, const char *name, struct berth_error *err);
/* GET /volumes: {"Volumes":[...],"Warnings":null}; filters (normalized
 * {"k":["v"]}) name (regexp), label, dangling, driver. */
json_t *berth_volume_list(struct berth_volumes *vs, json_t *filters, struct berth_error *err);
/* DELETE /volumes/{name}. In use: CONFLICT "remove <name>: volume is in use -
 * [<ids>]" (force does not override that); force: a missing volume is no
 * error. Emits "destroy". */
int berth_volume_remove(struct berth_volumes *vs, const char *name, bool force, struct berth_error *err);
/* POST /volumes/prune: unused local volumes without driver options (docker
 * 20.10's rule); filters label, label!. {"VolumesDeleted":[...],
 * "SpaceReclaimed":N}. Emits "prune". */
json_t *berth_volume_prune(struct berth_volumes *vs, json_t *filters, struct berth_error *err);
/* For GET /system/df: the volume list with UsageData {Size, RefCount}. */
json_t *berth_volumes_df(struct berth_volumes *vs);

/* ---- container integration ---------------------------------------------- *
 * The container's MountPoints are docker's inspect `Mounts` array in the
 * container document, built at create with docker's precedence:
 * VolumesFrom, overridden by Binds, then HostConfig.Mounts, then anonymous
 * volumes for Config.Volumes (the image's VOLUMEs included) at destinations
 * nothing else mounts. */

/* At create, before anything is written: check Binds, Mounts, Tmpfs and
 * VolumesFrom (docker's messages: "invalid volume specification: ...",
 * "Duplicate mount point: /x", "No such container: x", volume names, unknown
 * drivers...). No side effects. config is the merged container Config. */
int berth_volumes_container_validate(struct berth_daemon *d, const json_t *config, const json_t *host_config,
				     struct berth_error *err);
/* At create, once the container is reserved (hidden) and its read-write
 * layer exists: in one transaction create the named and anonymous volumes,
 * record the references and write the container's record with doc.Mounts
 * (also without volumes: this is the record's first write); then copy the
 * image's content at each volume's destination into volumes that are empty
 * (unless nocopy), as docker does. On failure nothing of the volumes'
 * references is left; the caller removes the container. */
int berth_volumes_container_create(struct berth_daemon *d, struct berth_container *c, struct berth_error *err);
/* At start, with the rootfs mounted, before the OCI spec is built:
 * - mounts volumes that have driver options (first user) and emits "mount"
 *   for every volume mount point;
 * - host_config is the caller's copy of HostConfig given to the spec
 *   builder: anonymous Binds ("/x") and Mounts (type volume without Source)
 *   get their volume's name filled in, so resolve_volume can find them;
 * - *extra_mounts (new reference, an array of OCI mounts for
 *   berth_spec_input.extra_mounts) holds what the spec builder does not see
 *   in HostConfig: anonymous volumes of Config.Volumes and --volumes-from.
 * On failure the caller must still call berth_volumes_container_stop. */
int berth_volumes_container_start(struct berth_daemon *d, struct berth_container *c, json_t *host_config,
				  json_t **extra_mounts, struct berth_error *err);
/* berth_spec_input.resolve_volume (ctx = the daemon): name -> _data path. */
int berth_volumes_resolve(void *ctx, const char *name, char **host_path, struct berth_error *err);
/* When the container stopped (or its start failed): emits "unmount" per
 * volume mount point, unmounts volumes nobody uses any more. Idempotent. */
void berth_volumes_container_stop(struct berth_daemon *d, struct berth_container *c);
/* When the container is removed: drops its references; with
 * remove_anonymous (rm -v, --rm) removes its anonymous volumes that no other
 * container uses (emits "destroy"). */
void berth_volumes_container_remove(struct berth_daemon *d, struct berth_container *c, bool remove_anonymous);
