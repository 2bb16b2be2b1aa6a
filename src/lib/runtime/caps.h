/* Linux capabilities the way docker handles them: names, the default set,
 * and --cap-add / --cap-drop / --privileged. */
#pragma once
#include <stdbool.h>

#include "common/error.h"

/* Name of capability number n ("CAP_CHOWN"), or NULL. */
const char *berth_cap_name(int n);
/* Number for a name ("CAP_CHOWN" or "chown", case-insensitive), or -1. */
int berth_cap_from_name(const char *name);
/* Docker's default set as a NULL-terminated static list. */
const char *const *berth_caps_default(void);

/* Bit set of capability numbers (up to 64). */
typedef unsigned long long berth_capset;

/* Docker's TweakCapabilities: privileged -> every cap the kernel knows
 * (up to cap_last_cap); else default set minus drops plus adds, with "ALL"
 * handled as docker does. Unknown names -> BERTH_E_INVALID
 * `unknown capability: "CAP_FOO"`. cap_add/cap_drop are json arrays (or NULL).
 * host_bound: the daemon's bounding set; "every cap" (privileged, ALL) is
 * limited to it (docker would fail to start such a container on a host
 * whose root lacks a capability, as root here lacks CAP_SYS_RESOURCE). */
#include <jansson.h>
int berth_caps_tweak(const json_t *cap_add, const json_t *cap_drop, bool privileged, int cap_last_cap,
		     berth_capset host_bound, berth_capset *out, struct berth_error *err);
/* JSON array of names: with docker_order, the default set first in docker's
 * order, then the others by number (as docker appends --cap-add); else all
 * by number (docker's order for --privileged and ALL). */
json_t *berth_caps_to_json(berth_capset set, bool docker_order);
