/* .dockerignore patterns (docker's PatternMatcher semantics). Used by the
 * CLI (filtering the context it sends) and the builder (a context that
 * arrives unfiltered). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct berth_patterns;

/* Parse a .dockerignore file's text. NULL only when out of memory. */
struct berth_patterns *berth_patterns_parse(const char *text, size_t len);
void berth_patterns_free(struct berth_patterns *ps);
bool berth_patterns_empty(const struct berth_patterns *ps);
bool berth_patterns_has_exclusions(const struct berth_patterns *ps);
/* True when path (relative to the context, '/'-separated) is ignored. */
bool berth_patterns_matches(const struct berth_patterns *ps, const char *path);
/* A berth_tar_src filter (ctx: the patterns). */
int berth_patterns_tar_filter(void *ctx, const char *rel, bool is_dir);
