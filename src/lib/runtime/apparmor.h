/* AppArmor: Berth's default container profile (berth-default, with the
 * rules of docker's docker-default) and loading it with apparmor_parser
 * where the kernel has AppArmor. On a host without AppArmor the default is
 * skipped, as docker does (an explicit --security-opt apparmor=PROFILE is
 * refused by the spec builder with a message naming AppArmor). */
#pragma once
#include <stdbool.h>

#include "common/error.h"
#include "runtime/sysinfo.h"

#define BERTH_APPARMOR_DEFAULT "berth-default"

/* The profile text (free it). with_includes: the tunables/global and
 * abstractions/base includes (docker adds them when
 * /etc/apparmor.d/tunables/global exists). */
char *berth_apparmor_profile_text(const char *name, bool with_includes);
/* Is a profile of this name loaded in the kernel? */
bool berth_apparmor_loaded(const char *name);
/* Host without AppArmor: 0, nothing done. Else write the default profile
 * under dir and load (or replace) it with `apparmor_parser -Kr` when it is
 * not loaded yet; -1 with apparmor_parser's message. */
int berth_apparmor_ensure_default(const struct berth_sysinfo *si, const char *dir, struct berth_error *err);
