/* POST /auth and GET /images/search, on the registry transport (registry.h). */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "common/error.h"
#include "distribution/authconfig.h"
#include "distribution/registry.h"

/* Check auth against the registry named by auth->serveraddress ("" or
 * docker.io: docker's index; "host:port", "https://host/..."), as dockerd's
 * loginV2: 0 when accepted, *identity_token (may be NULL) gets the token
 * server's refresh token or NULL. Refusals carry dockerd's wording:
 * BERTH_E_FORBIDDEN `Get "<endpoint>/v2/": unauthorized: ...` when the token
 * server refuses, BERTH_E_INTERNAL "login attempt to <endpoint>/v2/ failed
 * with status: 401 Unauthorized" when the registry itself does. */
int berth_registry_login(const struct berth_registry_config *cfg, const struct berth_auth_config *auth,
			 char **identity_token, struct berth_error *err);

/* GET /images/search: the registry's v1 search API (<index>/v1/search?q=&n=)
 * for term ("name", or "host:port/name" to search that registry), limit
 * (0: 25; outside 1..100 is an error), filters normalized {"k":["v"]}
 * (stars=N, is-official=true|false, is-automated=true|false; may be NULL).
 * Returns docker's result array [{"star_count","is_official","name",
 * "is_automated","description"}] (new ref) or NULL with err. */
json_t *berth_registry_search(const struct berth_registry_config *cfg, const struct berth_auth_config *auth,
			      const char *term, int64_t limit, json_t *filters, struct berth_error *err);
