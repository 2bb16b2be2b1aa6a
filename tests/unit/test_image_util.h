/* Helpers shared by the image unit tests. */
#pragma once
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Path of a file in ../shared/fixtures/images: $BERTH_FIXTURES, else found
 * from this source file's location (the repository's sibling "shared"). */
static inline const char *fixture_path(const char *name)
{
	static char buf[4096];
	const char *env = getenv("BERTH_FIXTURES");
	if (env && *env) {
		snprintf(buf, sizeof(buf), "%s/%s", env, name);
		return buf;
	}
	char src[4096];
	snprintf(src, sizeof(src), "%s", __FILE__);
	char *dir = dirname(src);
	snprintf(buf, sizeof(buf), "%s/../../../shared/fixtures/images/%s", dir, name);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, sizeof(buf), "/work/shared/fixtures/images/%s", name);
	return buf;
}
