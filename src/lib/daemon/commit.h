/* Container changes (docker diff) and commit (daemon/commit.go). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

struct berth_daemon;
struct berth_container;

/* GET /containers/{id}/changes: [{"Path","Kind"}...] from the writable layer
 * (Kind 0 modified, 1 added, 2 deleted), or JSON null when nothing changed,
 * as docker answers. New reference. */
json_t *berth_ctr_changes(struct berth_daemon *d, struct berth_container *c, struct berth_error *err);

struct berth_commit_opts {
	const char *container;  /* name, id or id prefix */
	const char *repo, *tag; /* repo NULL/"": untagged */
	const char *author, *comment;
	char *const *changes; /* Dockerfile instructions (CMD, ENV, ...) */
	size_t nchanges;
	bool pause;           /* pause a running container while its layer is read (docker's default) */
	const json_t *config; /* the request body (a container config) or NULL: the container's */
	/* the builder's commit (docker's CommitBuildStep): config used as it is
	 * (no changes, no merge), container_config recorded (NULL: the
	 * container's), created_ns the image's time (0: now) */
	bool exact_config;
	const json_t *container_config;
	int64_t created_ns;
};

/* POST /commit: the container's changes become a layer on its image (AUFS
 * whiteouts for deletions), the image config is built as docker's
 * NewChildImage does (parent config, history entry, rootfs diff_ids,
 * container/container_config), the image created and tagged; emits
 * "pause"/"unpause" (when pausing), "tag" and "commit". id gets the image ID. */
int berth_ctr_commit(struct berth_daemon *d, const struct berth_commit_opts *o, char id[BERTH_DIGEST_LEN + 1],
		     struct berth_error *err);

/* docker's merge(userConf, containerConf): fill what the user config leaves
 * empty (User, ExposedPorts, Env by key, Labels, Cmd/Entrypoint, Healthcheck,
 * WorkingDir, Volumes, StopSignal). Both are canonical container configs. */
void berth_commit_merge_config(json_t *user, const json_t *ctr);

/* The image config bytes docker 20.10 writes for a commit. parent: the
 * parent image's config (may be NULL); diff_id NULL or the empty layer's
 * digest: no layer added (history empty_layer). Takes no ownership. */
struct berth_commit_image {
	const json_t *parent;
	const json_t *config;           /* new image config (canonical) */
	const json_t *container_config; /* the container's (canonical) */
	const char *container_id;
	const char *author, *comment;
	const char *diff_id;
	const char *docker_version;
	int64_t created_ns;
};
char *berth_commit_image_config(const struct berth_commit_image *ci, size_t *len);

/* sha256 of an empty tar (1024 zero bytes): docker's layer.EmptyLayer. */
#define BERTH_EMPTY_LAYER_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
