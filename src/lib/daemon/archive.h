/* Files in and out of containers: docker's archive API (GET/HEAD/PUT
 * /containers/{id}/archive) and export, on the tar module (archive/tar.h).
 *
 * What the container sees: a running container is read and written through
 * its own mount namespace (/proc/<pid>/root), so volumes, bind mounts and
 * tmpfs mounts are where its processes see them. A created or stopped
 * container's root is its mounted rw layer with its volume and bind mount
 * sources (doc.Mounts) mounted over it in a private mount namespace of a
 * short-lived thread, as docker mounts them for these operations. Paths are
 * resolved inside that view with openat2(RESOLVE_IN_ROOT), as before. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "archive/tar.h"
#include "common/error.h"
#include "common/util.h"

struct berth_daemon;
struct berth_container;

/* base64(JSON {"name","size","mode","mtime","linkTarget"}) for X-Docker-Container-Path-Stat. */
char *berth_path_stat_encode(const struct berth_path_stat *st);

/* ---- containers (mount the rw layer as needed; emit docker's events) ----
 * ref is the container as the client named it (for docker's messages). */

/* A container that is not running shows /etc/hosts, /etc/hostname and
 * /etc/resolv.conf from the files berthd writes for it (HostsPath, ...) once
 * they exist, as the bind mounts docker makes show them. */

/* HEAD /containers/{id}/archive */
int berth_ctr_archive_stat(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			   struct berth_path_stat *st, struct berth_error *err);
/* GET /containers/{id}/archive (event "archive-path"). An error after begin
 * returned 0 means the stream was cut. */
int berth_ctr_archive_get(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  berth_archive_begin_fn begin, void *ctx, struct berth_writer *out, struct berth_error *err);
/* PUT /containers/{id}/archive (event "extract-to-dir"). copy_uid_gid: owner
 * from the container's Config.User (when set) instead of the archive's. */
int berth_ctr_archive_put(struct berth_daemon *d, struct berth_container *c, const char *ref, const char *path,
			  bool no_overwrite_dir_nondir, bool copy_uid_gid, struct berth_reader *in,
			  struct berth_error *err);
/* GET /containers/{id}/export (event "export"): the whole root filesystem. */
int berth_ctr_export(struct berth_daemon *d, struct berth_container *c, berth_archive_begin_fn begin, void *ctx,
		     struct berth_writer *out, struct berth_error *err);
