/* Strict request input, as dockerd checks it: the Content-Type of JSON
 * bodies (httputils.CheckForJSON) and the JSON types of every field of the
 * bodies Berth decodes (Go encoding/json's "cannot unmarshal" errors), plus
 * container names. Pure functions over jansson values: safe on any JSON. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_http_req;
struct berth_http_conn;

/* dockerd's CheckForJSON on a request: no Content-Type is fine only when
 * there is no body; otherwise the media type must be application/json
 * (parameters allowed). Returns 0, or -1 with err (INVALID) filled with
 * "Content-Type specified (X) must be 'application/json'". */
int berth_input_check_ctype(const char *content_type, bool has_body, struct berth_error *err);
/* Same on a request; on refusal answers 400 itself and returns false. */
bool berth_api_require_json(struct berth_http_req *r, struct berth_http_conn *c);

/* Type-check a decoded body against the Go struct dockerd decodes it into.
 * Returns 0, or -1 with err (INVALID) filled with Go's wording, e.g.
 * "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Memory of type int64".
 * Never crashes on any JSON value (NULL is accepted as "no body"). */
int berth_input_check_create(json_t *body, struct berth_error *err);        /* POST /containers/create */
int berth_input_check_update(json_t *body, struct berth_error *err);        /* POST /containers/{id}/update */
int berth_input_check_exec_create(json_t *body, struct berth_error *err);   /* POST /containers/{id}/exec */
int berth_input_check_exec_start(json_t *body, struct berth_error *err);    /* POST /exec/{id}/start */
int berth_input_check_volume_create(json_t *body, struct berth_error *err); /* POST /volumes/create */
int berth_input_check_commit(json_t *body, struct berth_error *err);        /* POST /commit (a container.Config) */

/* Container name rules of dockerd: "^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$". */
int berth_input_check_name(const char *name, struct berth_error *err);
