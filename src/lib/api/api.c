#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/daemon.h"

static const struct berth_route *const tables[] = {
	berth_routes_system,        berth_routes_images,       berth_routes_containers,
	berth_routes_containers_io, berth_routes_archive,      berth_routes_commit,
	berth_routes_stats,         berth_routes_volumes,      berth_routes_swarm,
	berth_routes_networks,      berth_routes_distribution, berth_routes_system_check,
	berth_routes_build,         berth_routes_prune,        NULL};

static int split(const char *s, char ***out)
{
	int n = 0;
	char **v = NULL;
	const char *p = s;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char **nv = realloc(v, (size_t)(n + 1) * sizeof(char *));
		char *seg = nv ? strndup(p, len) : NULL;
		if (!seg) {
			/* out of memory: no match */
			if (nv)
				v = nv;
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			*out = NULL;
			return -1;
		}
		v = nv;
		v[n++] = seg;
		p += len;
	}
	*out = v;
	return n;
}

static void free_segs(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *join_segs(char **v, int from, int to)
{
	struct berth_buf b = {0};
	for (int i = from; i < to; i++) {
		if ((i > from && berth_buf_putc(&b, '/') < 0) || berth_buf_append(&b, v[i], strlen(v[i])) < 0) {
			berth_buf_free(&b);
			return NULL;
		}
	}
	return berth_buf_steal(&b);
}

bool berth_route_match(const char *pattern, const char *path, char **params, int *nparams)
{
	char **ps, **xs;
	int np = split(pattern, &ps), nx = split(path, &xs);
	*nparams = 0;
	if (np < 0 || nx < 0) {
		free_segs(ps, np < 0 ? 0 : np);
		free_segs(xs, nx < 0 ? 0 : nx);
		return false;
	}
	bool ok = true;
	int pi = 0, xi = 0, nparam = 0;
	for (; pi < np && ok; pi++) {
		const char *seg = ps[pi];
		size_t sl = strlen(seg);
		bool is_param = seg[0] == '{' && seg[sl - 1] == '}';
		bool greedy = is_param && sl > 2 && seg[sl - 2] == '*';
		if (greedy) {
			int rest = np - pi - 1; /* literal segments after */
			int take = nx - xi - rest;
			if (take < 1) {
				ok = false;
				break;
			}
			if (nparam < BERTH_HTTP_MAX_PARAMS && !(params[nparam++] = join_segs(xs, xi, xi + take))) {
				nparam--;
				ok = false;
				break;
			}
			xi += take;
		} else if (xi >= nx) {
			ok = false;
		} else if (is_param) {
			if (nparam < BERTH_HTTP_MAX_PARAMS && !(params[nparam++] = strdup(xs[xi]))) {
				nparam--;
				ok = false;
				break;
			}
			xi++;
		} else {
			ok = strcmp(seg, xs[xi]) == 0;
			xi++;
		}
	}
	if (ok && xi != nx)
		ok = false;
	if (!ok) {
		for (int i = 0; i < nparam; i++)
			free(params[i]);
		nparam = 0;
	}
	*nparams = nparam;
	free_segs(ps, np);
	free_segs(xs, nx);
	return ok;
}

/* Strip "/vX.Y" and check it. Returns false after answering 400. */
static bool handle_version(struct berth_http_req *r, struct berth_http_conn *c)
{
	r->api_minor = 41;
	const char *p = r->path;
	if (p[0] != '/' || p[1] != 'v' || !(p[2] >= '0' && p[2] <= '9'))
		return true;
	int major = 0, minor = 0, n = 0;
	if (sscanf(p + 2, "%d.%d%n", &major, &minor, &n) != 2 || (p[2 + n] != '/' && p[2 + n] != '\0'))
		return true; /* not a version prefix: let routing 404 it */
	if (major > 1 || (major == 1 && minor > 41)) {
		berth_http_respond_msg(c, 400, "client version %d.%d is too new. Maximum supported API version is %s",
				       major, minor, BERTH_API_VERSION);
		return false;
	}
	if (major < 1 || (major == 1 && minor < 12)) {
		berth_http_respond_msg(
			c, 400,
			"client version %d.%d is too old. Minimum supported API version is %s, please upgrade your client to a newer version",
			major, minor, BERTH_API_MIN_VERSION);
		return false;
	}
	r->api_minor = minor;
	memmove(r->path, r->path + 2 + n, strlen(r->path + 2 + n) + 1);
	if (!r->path[0])
		strcpy(r->path, "/");
	return true;
}

void berth_api_dispatch(void *ctx, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_daemon *d = ctx;
	if (!handle_version(r, c))
		return;
	berth_log(&d->log, BERTH_LOG_DEBUG, "Calling %s %s", r->method, r->raw_path);
	/* the API listens before the containers are read: everything but the
	 * ping waits for them (daemon.h, berth_daemon_wait_loaded) */
	if (strcmp(r->path, "/_ping")) {
		struct berth_error err = {0};
		if (berth_daemon_wait_loaded(d, &err) < 0) {
			berth_http_respond_error(c, &err);
			return;
		}
	}
	bool path_matched = false;
	for (int t = 0; tables[t]; t++) {
		for (const struct berth_route *rt = tables[t]; rt->method; rt++) {
			char *params[BERTH_HTTP_MAX_PARAMS];
			int np = 0;
			if (!berth_route_match(rt->pattern, r->path, params, &np))
				continue;
			bool method_ok = !strcmp(rt->method, r->method) ||
					 (!strcmp(r->method, "HEAD") && !strcmp(rt->method, "GET"));
			if (!method_ok) {
				path_matched = true;
				for (int i = 0; i < np; i++)
					free(params[i]);
				continue;
			}
			for (int i = 0; i < np; i++)
				r->params[i] = params[i];
			r->nparams = np;
			rt->fn(d, r, c);
			return;
		}
	}
	(void)path_matched; /* docker answers 404 "page not found" for wrong methods too */
	berth_http_respond_msg(c, 404, "page not found");
}
