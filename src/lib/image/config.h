/* Image configs (docker's image JSON: architecture, os, config, container_config,
 * created, docker_version, history[], rootfs{type, diff_ids[]}, author,
 * comment, variant, ...), serialized the way docker's Go code does, and the
 * `changes` parser used by import and commit. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/util.h"

/* "created" missing or unparsable: Go's zero time. */
#define BERTH_IMAGE_TIME_ZERO INT64_MIN

/* Parse config bytes: a JSON object with a "rootfs" object (else docker's
 * "invalid image JSON, no RootFS key"); diff_ids, when present, must be valid
 * sha256 digests. Returns a new reference. */
json_t *berth_image_config_parse(const char *data, size_t len, struct berth_error *err);
/* rootfs.diff_ids (borrowed strings; array may be empty). */
size_t berth_image_config_layers(const json_t *cfg, const char **diff_ids, size_t max);
/* Chain ID of the first n diff IDs ("" for n == 0). */
void berth_image_config_chain(const json_t *cfg, size_t n, char out[BERTH_DIGEST_LEN + 1]);
/* "created" as unix ns, or BERTH_IMAGE_TIME_ZERO. */
int64_t berth_image_config_created(const json_t *cfg);
/* Image ID: sha256 of the exact bytes. */
void berth_image_config_id(const char *data, size_t len, char out[BERTH_DIGEST_LEN + 1]);
/* Field lookup as Go's json.Unmarshal does it (exact name, else case-insensitive). */
json_t *berth_json_field(const json_t *obj, const char *name);

/* Go's time.Time.Format(RFC3339Nano) in UTC (trailing zeros trimmed;
 * BERTH_IMAGE_TIME_ZERO gives "0001-01-01T00:00:00Z"). */
void berth_image_time_format(int64_t ns, char *out, size_t outlen);
/* The "created" field as docker's inspect prints it. */
void berth_image_config_created_str(const json_t *cfg, char *out, size_t outlen);

/* container.Config (docker's api/types/container) rebuilt in Go's field order
 * with Go's defaults: missing fields become ""/false/null, omitempty fields are
 * dropped when empty, map fields get sorted keys, Cmd/Entrypoint/Shell accept a
 * string. src may be NULL (zero config). Returns a new object. */
json_t *berth_container_config_canon(const json_t *src);

/* Serialize like Go's encoding/json.Marshal: compact, object keys in the
 * json_t's order, strings escaped as Go does (<, >, & as \u003c..., U+2028/9).
 * Returns malloc'd NUL-terminated bytes (len without the NUL) or NULL. */
char *berth_json_dump_go(const json_t *v, size_t *len);
/* Same, with the keys of every object sorted (Go map[string]... marshal). */
char *berth_json_dump_go_sorted(const json_t *v, size_t *len);

/* The image config docker writes for `docker import` (field set and order of
 * docker 20.10's image.Image marshal): architecture, comment, config,
 * container_config, created, docker_version, history, os, rootfs.
 * container_config is the canonical container config (ownership taken). */
struct berth_import_config {
	const char *arch;           /* "amd64" */
	const char *os;             /* "linux" */
	const char *comment;        /* "Imported from -" */
	const char *docker_version; /* "20.10.24" */
	int64_t created_ns;
	const char *diff_id;
};
char *berth_image_config_build_import(const struct berth_import_config *ic, json_t *container_config, size_t *len);

/* Apply Dockerfile-syntax change lines (CMD, ENTRYPOINT, ENV, LABEL, EXPOSE,
 * WORKDIR, USER, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK) to a canonical
 * container config, as docker's BuildFromConfig does. Unknown instructions fail
 * with "<instr> is not a valid change command" (BERTH_E_INVALID). Lines are
 * joined with "\n" first, so a line may continue with a trailing backslash. */
int berth_image_changes_apply(json_t *container_config, char *const *changes, size_t n, struct berth_error *err);

/* Host platform as docker names it: "amd64", "arm64", ... and its default variant ("" or "v8"). */
const char *berth_image_host_arch(void);
const char *berth_image_host_variant(void);

/* Go's time.ParseDuration ("1h30m", "500ms", "1.5s", "0"). */
int berth_go_duration_parse(const char *s, int64_t *ns);
