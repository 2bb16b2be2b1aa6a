/* --userns-remap in the daemon: resolving the mapping at start, the
 * per-mapping data root (<data-root>/<uid>.<gid>, docker's layout) and the
 * directories the remapped root must reach (containers, volumes). */
#pragma once
#include <jansson.h>

#include "common/error.h"

struct berth_daemon;

/* At start, before anything is created under the data root: resolve
 * cfg.sec.userns_remap into d->idmap (creating berthremap for "default")
 * and move cfg.data_root to <data-root>/<uid>.<gid>. No-op when off. */
int berth_userns_setup(struct berth_daemon *d, struct berth_error *err);
/* After the stores are open: layers and drivers follow the mapping. */
int berth_userns_stores(struct berth_daemon *d, struct berth_error *err);
/* A container directory (and its parent) the remapped root must traverse. */
int berth_userns_container_dir(struct berth_daemon *d, const char *cdir, struct berth_error *err);
/* A new volume's _data: owned by the remapped root. */
int berth_userns_volume_data(struct berth_daemon *d, const char *data, struct berth_error *err);
/* At each start, after the files are written: the container's hostname,
 * hosts and resolv.conf belong to the remapped root, so root in the
 * container may edit them (docker's ownership). No-op when off. */
int berth_userns_ctr_files(struct berth_daemon *d, json_t *doc, struct berth_error *err);
