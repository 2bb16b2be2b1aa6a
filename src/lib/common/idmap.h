/* User-namespace remapping (--userns-remap): docker's "user[:group]" forms,
 * subordinate ranges from /etc/subuid and /etc/subgid, and the mapping of
 * container ids to host ids. Used by the daemon (data root), storage (layer
 * ownership) and runtime (OCI uidMappings/gidMappings), hence in common/. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define BERTH_REMAP_DEFAULT_USER "berthremap" /* what "default" names (docker: dockremap) */
#define BERTH_IDMAP_MAX_RANGES 16

struct berth_idrange {
	uint32_t container, host, size; /* container ids [container, container+size) -> host ids */
};

struct berth_idmap {
	struct berth_idrange uids[BERTH_IDMAP_MAX_RANGES], gids[BERTH_IDMAP_MAX_RANGES];
	size_t nuid, ngid;
	char user[64], group[64]; /* resolved names whose ranges are used */
};

/* Files read and written (tests point them elsewhere); NULL fields: /etc/... */
struct berth_idmap_files {
	const char *passwd, *group, *subuid, *subgid;
	bool no_create; /* "default" with no berthremap user: fail instead of running useradd */
};

/* Resolve spec ("default", "user", "uid", "user:group", "uid:gid") as dockerd
 * does, creating the berthremap user and its subordinate ranges for "default"
 * when they are missing (useradd --system, usermod -v/-w with the first free
 * 65536 ids from 100000). *created tells whether anything was added (may be
 * NULL). m->nuid == 0 afterwards means "root remapped to itself": off. */
int berth_idmap_load(struct berth_idmap *m, const char *spec, const struct berth_idmap_files *files, bool *created,
		     struct berth_error *err);
static inline bool berth_idmap_enabled(const struct berth_idmap *m) { return m && m->nuid && m->ngid; }
/* Host id of container id (-1: not mapped). */
int64_t berth_idmap_to_host(const struct berth_idrange *r, size_t n, uint32_t id);
/* Container id of a host id (-1: not mapped). */
int64_t berth_idmap_to_container(const struct berth_idrange *r, size_t n, uint32_t id);
/* The host uid/gid of the container's root (0:0 when m is off). */
uint32_t berth_idmap_root_uid(const struct berth_idmap *m);
uint32_t berth_idmap_root_gid(const struct berth_idmap *m);
/* Host owner for a container owner: unmapped ids become the root's (as
 * docker's ToHost fails; callers here only shift what images carry). */
void berth_idmap_shift(const struct berth_idmap *m, uint32_t *uid, uint32_t *gid);
/* Container owner for a host owner (export, commit, GET archive): ids outside
 * the ranges become the kernel's overflow id, as the container sees them. */
#define BERTH_IDMAP_OVERFLOW_ID 65534u
void berth_idmap_unshift(const struct berth_idmap *m, uint32_t *uid, uint32_t *gid);
/* lchown path to the remapped root (no-op when m is off). */
int berth_idmap_chown_root(const struct berth_idmap *m, const char *path, struct berth_error *err);
/* mkdir -p; the directories it creates belong to the remapped root when m
 * is on (docker's MkdirAllAndChownNew: a missing bind source of -v). */
int berth_idmap_mkdir_p(const struct berth_idmap *m, const char *path, mode_t mode, struct berth_error *err);
/* A directory the remapped root must traverse: group = remapped root's gid,
 * mode 0710 (docker's layout). No-op when m is off. */
int berth_idmap_share_dir(const struct berth_idmap *m, const char *path, struct berth_error *err);
