/* Resolve a docker user spec ("", "name", "uid", "name:group", "uid:gid")
 * against the container's own /etc/passwd and /etc/group, read inside the
 * rootfs (symlinks are resolved within it, never out of it). Same rules and
 * messages as runc's libcontainer/user, which docker uses. */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct berth_user {
	uint32_t uid, gid;
	uint32_t *gids; /* additional gids: primary gid first, then supplementary, then group_add */
	size_t ngids;
	char home[256];
};

/* group_add: HostConfig.GroupAdd (json array of names/ids) or NULL.
 * Errors (BERTH_E_INVALID): "unable to find user x: no matching entries in passwd file",
 * "unable to find group g: no matching entries in group file", "Unable to find group g: no matching entries in group file",
 * "uids and gids must be in range 0-2147483647". */
int berth_user_resolve(const char *rootfs, const char *spec, const json_t *group_add, struct berth_user *out,
		       struct berth_error *err);
void berth_user_free(struct berth_user *u);

/* Open a file below root, resolving every path component inside root
 * (openat2 RESOLVE_IN_ROOT). Returns fd or -1 with errno set. */
int berth_open_in_root(const char *root, const char *path, int flags);
