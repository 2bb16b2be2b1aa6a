/* Engine API: version prefix handling, route table, dispatch. */
#pragma once
#include "api/http.h"

struct berth_daemon;

typedef void (*berth_route_fn)(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c);

struct berth_route {
	const char *method;  /* "GET", "POST", ...; GET routes also answer HEAD */
	const char *pattern; /* "/images/{name*}/json": {x} one segment, {x*} one or more */
	berth_route_fn fn;
};

/* Route tables, one per handler file (api/handlers/<area>.c), NULL-terminated. */
extern const struct berth_route berth_routes_system[];
extern const struct berth_route berth_routes_images[];
extern const struct berth_route berth_routes_containers[];
extern const struct berth_route berth_routes_containers_io[];
extern const struct berth_route berth_routes_archive[]; /* handlers/archive.c: cp, export */
extern const struct berth_route berth_routes_commit[];  /* handlers/commit.c: changes, commit */
extern const struct berth_route berth_routes_stats[];
extern const struct berth_route berth_routes_volumes[];
extern const struct berth_route berth_routes_networks[];     /* handlers/networks.c */
extern const struct berth_route berth_routes_swarm[];        /* handlers/swarm.c: not part of a swarm */
extern const struct berth_route berth_routes_build[];        /* handlers/build.c: POST /build, /build/prune */
extern const struct berth_route berth_routes_distribution[]; /* handlers/distribution.c: push, auth, search */
extern const struct berth_route berth_routes_system_check[]; /* handlers/system_check.c */
extern const struct berth_route berth_routes_prune[];        /* keep last: stubs others may replace */

/* The berth_http_handler for berthd: ctx is the struct berth_daemon. */
void berth_api_dispatch(void *ctx, struct berth_http_req *req, struct berth_http_conn *c);

/* Match one pattern against a path; fills req params. Exposed for tests. */
bool berth_route_match(const char *pattern, const char *path, char **params, int *nparams);
