/* Internals shared by archive.c and archive_tar.c. */
#pragma once
#include <stdint.h>

#include "daemon/archive.h"

/* openat2(2) below root_fd with the resolve mode's RESOLVE_* flags (plus
 * RESOLVE_NO_MAGICLINKS); rel "" means root_fd itself. O_CLOEXEC is added.
 * Returns an fd or -1 with errno. */
int berth_ar_open(int root_fd, const char *rel, int flags, enum berth_untar_resolve mode);
/* Go's strconv %q-style quoting of s into a new string ("\"a b\""). */
char *berth_ar_quote(const char *s);
/* Go's error text for errno: strerror with a lower-case first letter. */
const char *berth_ar_errstr(int e, char *buf, size_t len);
/* Go's filepath.Base ("" -> ".", "/" -> "/", "/a/b/" -> "b"). */
char *berth_ar_base(const char *p);
