/* Seccomp: docker's default profile (built from a table in
 * seccomp_default.c), docker-format profile loading, and conversion to the
 * OCI linux.seccomp object for this host (arch, capabilities, kernel). */
#pragma once
#include <jansson.h>

#include "caps.h"
#include "common/error.h"
#include "sysinfo.h"

/* Docker's default profile in docker's own format (defaultAction, archMap,
 * syscalls with includes/excludes). New reference. */
json_t *berth_seccomp_default_profile(void);

/* Convert a docker-format profile to the OCI linux.seccomp object, keeping
 * only the rules that apply on this arch/kernel with this bounding set (as
 * moby's setupSeccomp does). Returns NULL with err->kind == BERTH_E_NONE when
 * the profile disables seccomp (no defaultAction and no syscalls). */
json_t *berth_seccomp_to_oci(const json_t *profile, berth_capset bounding, const struct berth_sysinfo *si,
			     struct berth_error *err);

/* Parse profile text (docker format) and convert. Errors: BERTH_E_INVALID
 * "Decoding seccomp profile failed: ...". */
json_t *berth_seccomp_load(const char *text, berth_capset bounding, const struct berth_sysinfo *si,
			   struct berth_error *err);

/* The default profile converted, kept between containers for the last few
 * bounding sets: the conversion builds and frees ~1,000 JSON nodes, per
 * start otherwise. Thread-safe. */
struct berth_seccomp_memo;
struct berth_seccomp_memo *berth_seccomp_memo_new(void);
void berth_seccomp_memo_free(struct berth_seccomp_memo *m);
/* Let go of what it keeps (berthd's idle trim: ~70 KiB of heap per set);
 * specs that hold a reference keep theirs. */
void berth_seccomp_memo_clear(struct berth_seccomp_memo *m);
/* berth_seccomp_to_oci(berth_seccomp_default_profile(), bounding, si, err),
 * remembered (si must stay the same for the memo's life). A new reference
 * to a shared object: add it to a tree, never modify it (specs on several
 * threads dump and free it at once: jansson >= 2.13 counts references
 * atomically and dumps without marking the objects). m NULL: not
 * remembered. */
json_t *berth_seccomp_default_oci(struct berth_seccomp_memo *m, berth_capset bounding, const struct berth_sysinfo *si,
				  struct berth_error *err);
