/* POST /build (docker 20.10's classic builder stream) and POST /build/prune. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api.h"
#include "builder/builder.h"
#include "common/base64.h"
#include "common/cleanup.h"
#include "common/span.h"
#include "common/util.h"
#include "daemon/build_ops.h"
#include "daemon/daemon.h"
#include "image/reference.h"

struct build_stream {
	struct berth_http_conn *c;
	bool started;
	bool failed;
};

static void emit(void *ctx, json_t *msg)
{
	struct build_stream *s = ctx;
	if (s->failed)
		return;
	if (!s->started) {
		s->started = true;
		if (berth_http_stream_begin(s->c, 200, "application/json") < 0) {
			s->failed = true;
			return;
		}
	}
	if (berth_http_stream_json(s->c, msg) < 0)
		s->failed = true;
}

static bool cancelled(void *ctx)
{
	struct build_stream *s = ctx;
	return s->failed || berth_http_peer_gone(s->c);
}

/* a JSON object query parameter ({"k":"v"}) */
static int query_obj(struct berth_http_req *r, const char *name, json_t **out, struct berth_error *err)
{
	const char *v = berth_http_query(r, name);
	*out = NULL;
	if (!v || !*v)
		return 0;
	json_error_t je;
	json_t *j = json_loads(v, JSON_DECODE_ANY, &je);
	if (!json_is_object(j) && !json_is_null(j)) {
		json_decref(j);
		return berth_err(err, BERTH_E_INVALID, "failed to parse %s: %s", name, j ? "not an object" : je.text);
	}
	*out = j;
	return 0;
}

/* X-Registry-Config: base64url JSON {"registry": AuthConfig}; as dockerd,
 * what cannot be decoded is no credentials */
static json_t *registry_config(struct berth_http_req *r)
{
	const char *h = berth_http_header(r, "X-Registry-Config");
	if (!h || !*h)
		return NULL;
	size_t n = 0;
	char *dec = berth_base64_decode(h, &n);
	if (!dec)
		return NULL;
	json_t *j = json_loadb(dec, n, 0, NULL);
	explicit_bzero(dec, n);
	free(dec);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* cachefrom: a JSON array of image names */
static int cache_from(struct berth_http_req *r, char ***out, struct berth_error *err)
{
	const char *v = berth_http_query(r, "cachefrom");
	if (!v || !*v)
		return 0;
	json_error_t je;
	cleanup_json json_t *j = json_loads(v, JSON_DECODE_ANY, &je);
	if (!json_is_array(j) && !json_is_null(j))
		return berth_err(err, BERTH_E_INVALID, "failed to parse cachefrom: %s",
				 j ? "not an array of strings" : je.text);
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e))
			return berth_err(err, BERTH_E_INVALID, "failed to parse cachefrom: not an array of strings");
		berth_strv_push(out, json_string_value(e));
	}
	return 0;
}

static void set_int(json_t *hc, struct berth_http_req *r, const char *q, const char *key)
{
	const char *v = berth_http_query(r, q);
	if (v && *v)
		json_object_set_new(hc, key, json_integer(berth_http_query_int(r, q, 0)));
}

static void build(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *buildargs = NULL, *labels = NULL, *hc = json_object(), *auths = registry_config(r);
	char **tags = NULL, **cachefrom = NULL;
	cleanup_free char *work = NULL, *ctxdir = NULL, *dockerfile = NULL;
	struct berth_build_context *bc = NULL;
	size_t dflen = 0;
	int64_t exit_code = 0;
	struct build_stream s = {.c = c};
	struct berth_span sp;
	berth_span_init(&sp, 0);
	if (query_obj(r, "buildargs", &buildargs, &err) < 0 || query_obj(r, "labels", &labels, &err) < 0 ||
	    cache_from(r, &cachefrom, &err) < 0)
		goto fail;
	for (size_t i = 0; i < r->nquery; i++) {
		if (strcmp(r->query[i].k, "t") || !r->query[i].v || !*r->query[i].v)
			continue;
		struct berth_ref ref;
		if (berth_ref_parse_normalized(r->query[i].v, &ref, &err) < 0) {
			err.kind = BERTH_E_INVALID;
			goto fail;
		}
		if (*ref.digest) {
			berth_err(&err, BERTH_E_INVALID, "build tag cannot contain a digest");
			goto fail;
		}
		berth_strv_push(&tags, r->query[i].v);
	}
	const char *remote = berth_http_query(r, "remote");
	const char *squash = berth_http_query(r, "squash");
	if (squash && berth_http_query_bool(r, "squash", false)) {
		berth_err(&err, BERTH_E_INVALID, "squash is only supported with experimental mode");
		goto fail;
	}
	const char *outputs = berth_http_query(r, "outputs");
	if (outputs && *outputs && strcmp(outputs, "[]") && strcmp(outputs, "null")) {
		berth_err(&err, BERTH_E_INVALID, "outputs are only supported with BuildKit");
		goto fail;
	}
	const char *iso = berth_http_query(r, "isolation");
	if (iso && *iso && strcmp(iso, "default")) {
		berth_err(&err, BERTH_E_INVALID, "Invalid isolation: %s", iso);
		goto fail;
	}
	/* HostConfig of the RUN containers */
	const char *nm = berth_http_query(r, "networkmode");
	json_object_set_new(hc, "NetworkMode", json_string(nm && *nm ? nm : "default"));
	json_t *eh = json_array();
	for (size_t i = 0; i < r->nquery; i++) {
		if (strcmp(r->query[i].k, "extrahosts") || !r->query[i].v)
			continue;
		cleanup_free char *all = strdup(r->query[i].v);
		char *save = NULL;
		for (char *t = strtok_r(all, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(eh, json_string(t));
	}
	json_object_set_new(hc, "ExtraHosts", eh);
	set_int(hc, r, "memory", "Memory");
	set_int(hc, r, "memswap", "MemorySwap");
	set_int(hc, r, "cpushares", "CpuShares");
	set_int(hc, r, "cpuperiod", "CpuPeriod");
	set_int(hc, r, "cpuquota", "CpuQuota");
	set_int(hc, r, "shmsize", "ShmSize");
	const char *cpus = berth_http_query(r, "cpusetcpus");
	if (cpus && *cpus)
		json_object_set_new(hc, "CpusetCpus", json_string(cpus));

	/* the context; the work directory is made when something needs it
	 * (a build whose steps all hit the cache makes none) */
	char rnd[65];
	berth_random_id(rnd);
	work = berth_strdup_printf("%s/builder/%.24s", d->cfg.data_root, rnd);
	if (!work) {
		berth_err(&err, BERTH_E_INTERNAL, "out of memory");
		goto fail;
	}
	struct berth_reader body = berth_http_body_reader(c);
	const char *dfname = berth_http_query(r, "dockerfile");
	if (remote && *remote) {
		char sink[16384]; /* the body, if any, is not the context */
		while (berth_http_body_read(c, sink, sizeof(sink)) > 0)
			;
		ctxdir = berth_strdup_printf("%s/context", work);
		if (!ctxdir || berth_mkdir_p(ctxdir, 0700, &err) < 0 ||
		    berth_build_context_remote(remote, work, ctxdir, dfname, &err) < 0)
			goto fail;
		bc = berth_build_context_of_dir(ctxdir);
		if (!bc) {
			berth_err(&err, BERTH_E_INTERNAL, "out of memory");
			goto fail;
		}
	} else if (berth_build_context_open(&body, d->cfg.data_root, work, dfname, &bc, &err) < 0) {
		err.kind = BERTH_E_INVALID;
		goto fail;
	}
	if (berth_build_context_read_dockerfile(bc, dfname, &dockerfile, &dflen, &err) < 0)
		goto fail;
	berth_span_mark(&sp, "context");

	const char *sde = NULL;
	json_t *sdej = json_object_get(buildargs, "SOURCE_DATE_EPOCH");
	if (json_is_string(sdej))
		sde = json_string_value(sdej);
	struct berth_build_ops ops;
	berth_build_ops_init(d, &ops);
	struct berth_build_opts o = {.context = bc,
				     .work_dir = work,
				     .dockerfile = dockerfile,
				     .dockerfile_len = dflen,
				     .tags = tags,
				     .buildargs = buildargs,
				     .labels = json_is_object(labels) ? labels : NULL,
				     .host_config = hc,
				     .auth_configs = auths,
				     .cache_from = cachefrom,
				     .target = berth_http_query(r, "target"),
				     .platform = berth_http_query(r, "platform"),
				     .nocache = berth_http_query_bool(r, "nocache", false),
				     .rm = berth_http_query_bool(r, "rm", true),
				     .forcerm = berth_http_query_bool(r, "forcerm", false),
				     .quiet = berth_http_query_bool(r, "q", false),
				     .pull = berth_http_query_bool(r, "pull", false),
				     .reproducible = sde != NULL || berth_http_query_bool(r, "reproducible", false),
				     .source_date_epoch_s = sde ? strtoll(sde, NULL, 10) : -1,
				     .emit = emit,
				     .ectx = &s,
				     .cancelled = cancelled,
				     .log = &d->log};
	char id[BERTH_ID_SZ];
	int brc = berth_build(&ops, d->db, &o, id, &exit_code, &err);
	berth_span_mark(&sp, "steps");
	if (brc < 0)
		goto fail;
	if (!s.failed)
		berth_http_stream_end(c);
	goto out;
fail:
	if (!s.started) {
		/* the body must be read before answering (docker reads it too) */
		char sink[16384];
		while (berth_http_body_read(c, sink, sizeof(sink)) > 0)
			;
		berth_http_respond_error(c, &err);
	} else if (!s.failed) {
		json_t *detail = json_pack("{s:s}", "message", err.msg);
		if (exit_code)
			json_object_set_new(detail, "code", json_integer(exit_code));
		json_t *m = json_pack("{s:o, s:s}", "errorDetail", detail, "error", err.msg);
		berth_http_stream_json(c, m);
		json_decref(m);
		berth_http_stream_end(c);
	}
out:
	if (work)
		berth_rm_rf(work, NULL);
	berth_build_context_free(bc);
	berth_span_mark(&sp, "cleanup");
	if (atomic_load(&d->log.level) >= BERTH_LOG_DEBUG) {
		char line[512];
		berth_span_format(&sp, line, sizeof(line));
		berth_log(&d->log, BERTH_LOG_DEBUG, "timings build: %s", line);
	}
	berth_strv_free(tags);
	berth_strv_free(cachefrom);
}

/* docker system prune calls it too: the cache goes with everything else */
static void build_prune(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	cleanup_json json_t *filters = berth_http_filters(r, &err);
	if (!filters) {
		berth_http_respond_msg(c, 500, "could not parse filters: %s", err.msg);
		return;
	}
	const char *ks = berth_http_query(r, "keep-storage");
	if (ks && *ks) {
		char *end;
		strtoll(ks, &end, 10);
		if (*end) {
			berth_http_respond_msg(c, 500,
					       "keep-storage is in bytes and expects an integer, got %s: strconv.Atoi: "
					       "parsing \"%s\": invalid syntax",
					       ks, ks);
			return;
		}
	}
	int64_t n = berth_build_cache_prune(d->db, &err);
	if (n < 0) {
		berth_http_respond_error(c, &err);
		return;
	}
	berth_http_respond_json(c, 200, json_pack("{s:n, s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

const struct berth_route berth_routes_build[] = {
	{"POST", "/build", build},
	{"POST", "/build/prune", build_prune},
	{NULL, NULL, NULL},
};
