/* Registry credentials as docker passes them: types.AuthConfig, sent by
 * clients as the X-Registry-Auth header (base64url of its JSON) on pull and
 * push, and as the body of POST /auth. */
#pragma once
#include <jansson.h>

#include "common/error.h"

struct berth_auth_config { /* every member may be NULL */
	char *username, *password, *auth, *email, *serveraddress, *identitytoken, *registrytoken;
};

/* The X-Registry-Auth value: base64url (or standard base64; padded or not)
 * of the JSON. As dockerd, an empty, absent or undecodable header is no
 * credentials (all NULL), never an error. "auth" (base64 "user:password")
 * fills username/password when those are empty. Returns -1 only when out of
 * memory. */
int berth_auth_config_decode(const char *header, struct berth_auth_config *out, struct berth_error *err);
/* From a parsed JSON object (POST /auth body). Non-string members are
 * BERTH_E_INVALID. */
int berth_auth_config_from_json(const json_t *obj, struct berth_auth_config *out, struct berth_error *err);
/* Frees the members (secrets are wiped first) and zeroes the struct. */
void berth_auth_config_free(struct berth_auth_config *a);
/* True when it carries any credential (user/password, identity or registry token). */
int berth_auth_config_has_credentials(const struct berth_auth_config *a);
