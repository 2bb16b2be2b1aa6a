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
 * `unknown capability: "CAP_FOO"`. cap_add/cap_drop are json arrays (or NULL). */
#include <jansson.h>
int berth_caps_tweak(const json_t *cap_add, const json_t *cap_drop, bool privileged, int cap_last_cap,
		     berth_capset *out, struct berth_error *err);
/* JSON array of names, in capability-number order. */
json_t *berth_caps_to_json(berth_capset set);
