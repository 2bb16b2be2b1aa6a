/* XFS project quotas (overlay2 --storage-opt size=). */
#pragma once
#include <stdint.h>

#include "common/error.h"

/* 0 when home is on xfs mounted with project quotas enforced; otherwise -1
 * with docker's "--storage-opt is supported only for overlay over xfs with
 * 'pquota' mount option". */
int berth_xfs_quota_supported(const char *home, struct berth_error *err);
/* Give dir its own project (inherited below it) limited to bytes. */
int berth_xfs_set_limit(const char *home, const char *dir, uint64_t bytes, struct berth_error *err);
