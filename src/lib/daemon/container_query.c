/* GET /containers/json and GET /containers/{id}/json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/jsonw.h"
#include "common/util.h"
#include "daemon/container_net.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/networks.h"
#include "image/store.h"
#include "runtime/jget.h"
#include "storage/layer_store.h"

json_t *berth_ctr_inspect(struct berth_daemon *d, struct berth_container *c, bool size, struct berth_error *err)
{
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	json_t *j = json_deep_copy(doc);
	pthread_mutex_unlock(&c->mu);
	if (!doc)
		return NULL;
	if (!j) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (json_is_object(jobj(j, "HostConfig")))
		json_object_set_new(jobj(j, "HostConfig"), "Links", berth_networks_link_inspect(d, j));
	json_t *gd = berth_rwlayer_graph_data(d->layers, c->id);
	json_object_set_new(j, "GraphDriver",
			    json_pack("{s:o, s:s}", "Data", gd ? gd : json_null(), "Name",
				      berth_layer_store_driver_name(d->layers)));
	if (size) {
		int64_t rw = berth_rwlayer_size(d->layers, c->id);
		json_object_set_new(j, "SizeRw", json_integer(rw));
		struct berth_image img = {0};
		int64_t root = rw;
		if (berth_image_get(d->images, jstr(j, "Image"), &img, NULL) == 0) {
			cleanup_json json_t *insp = berth_image_inspect(d->images, img.id, NULL);
			root += jint(insp, "Size", 0);
			berth_image_free(&img);
		}
		json_object_set_new(j, "SizeRootFs", json_integer(root));
	}
	/* Sort stable key order as docker prints: keep insertion order (already docker's). */
	return j;
}

static bool any_prefix(json_t *vals, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) {
		const char *f = json_string_value(v);
		if (f && s && !strncmp(s, f, strlen(f)))
			return true;
	}
	return false;
}

static bool name_matches(json_t *vals, const char *name)
{
	/* docker matches name filters as regular expressions; substring covers the common use */
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) {
		const char *f = json_string_value(v);
		if (!f)
			continue;
		const char *pat = f[0] == '/' ? f + 1 : f;
		if (pat[0] == '^') {
			size_t l = strlen(pat + 1);
			bool anchored_end = l && pat[l] == '$';
			if (anchored_end ? (strlen(name + 1) == l - 1 && !strncmp(name + 1, pat + 1, l - 1)) :
					   !strncmp(name + 1, pat + 1, l))
				return true;
		} else if (strstr(name + 1, pat)) {
			return true;
		}
	}
	return false;
}

static int64_t created_ns(struct berth_container *c) { return c->created_ns; }

/* a string literal into a berth_buf */
#define LIT(b, s) berth_buf_append((b), (s), sizeof(s) - 1)

static int cmp_newest(const void *a, const void *b)
{
	int64_t x = created_ns(*(struct berth_container *const *)a),
		y = created_ns(*(struct berth_container *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The parts of an entry that depend on the record only: from Image to
 * Labels (*split bytes), then HostConfig to Mounts. Hold c->mu. */
static int write_cached_parts(struct berth_container *c, json_t *doc, struct berth_buf *b, size_t *split)
{
	json_t *cfg = jobj(doc, "Config");
	json_t *hc = jobj(doc, "HostConfig");
	json_t *labels = jobj(cfg, "Labels");
	json_t *ports = jobj(jobj(doc, "NetworkSettings"), "Ports");
	int r = 0;
	r |= LIT(b, "],\"Image\":");
	r |= berth_jsonw_str(b, jstr(cfg, "Image") ? jstr(cfg, "Image") : "");
	r |= LIT(b, ",\"ImageID\":");
	r |= berth_jsonw_str(b, jstr(doc, "Image") ? jstr(doc, "Image") : "");
	/* Command: Path and Args joined by spaces, one JSON string */
	struct berth_buf cmd = {0};
	const char *path = jstr(doc, "Path");
	r |= berth_buf_append(&cmd, path ? path : "", path ? strlen(path) : 0);
	size_t i;
	json_t *a;
	json_array_foreach(jarr(doc, "Args"), i, a) {
		const char *s = json_string_value(a);
		r |= berth_buf_putc(&cmd, ' ');
		if (s)
			r |= berth_buf_append(&cmd, s, strlen(s));
	}
	r |= LIT(b, ",\"Command\":");
	r |= berth_jsonw_str(b, berth_buf_str(&cmd));
	berth_buf_free(&cmd);
	r |= LIT(b, ",\"Created\":");
	r |= berth_jsonw_int(b, created_ns(c) / 1000000000LL);
	r |= LIT(b, ",\"Ports\":");
	if (json_object_size(ports)) {
		cleanup_json json_t *pl = berth_ctr_net_list_ports(doc); /* daemon/container_net.h */
		r |= berth_jsonw_value(b, pl);
	} else {
		r |= LIT(b, "[]");
	}
	r |= LIT(b, ",\"Labels\":");
	r |= labels ? berth_jsonw_value(b, labels) : LIT(b, "{}");
	*split = b->len;
	r |= LIT(b, ",\"HostConfig\":{\"NetworkMode\":");
	r |= berth_jsonw_str(b, jstr(hc, "NetworkMode") ? jstr(hc, "NetworkMode") : "");
	r |= LIT(b, "},\"NetworkSettings\":{\"Networks\":");
	r |= berth_jsonw_value(b, jobj(jobj(doc, "NetworkSettings"), "Networks"));
	r |= LIT(b, "},\"Mounts\":[]");
	return r ? -1 : 0;
}

/* One entry of the list, written as docker's (and as json_dumps of the
 * json_t it used to be: the same keys in the same order). The parts that
 * only change with the record come from the container's cache, rebuilt
 * when its record or state changed: a list of 1,000 reads no documents
 * (and reads none back from the records while the caches are valid).
 * Hold c->mu. */
static int write_item(struct berth_daemon *d, struct berth_container *c, bool size, struct berth_buf *b,
		      struct berth_error *err)
{
	if (!c->list_cache || c->list_cache_save_seq != c->save_seq || c->list_cache_state_seq != c->state_seq) {
		json_t *doc = berth_container_doc(c, err);
		if (!doc)
			return -1;
		struct berth_buf part = {0};
		size_t split = 0;
		if (write_cached_parts(c, doc, &part, &split) < 0) {
			berth_buf_free(&part);
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		}
		free(c->list_cache);
		c->list_cache_len = part.len;
		c->list_cache = berth_buf_steal(&part);
		if (!c->list_cache)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		c->list_cache_split = split;
		c->list_cache_save_seq = c->save_seq;
		c->list_cache_state_seq = c->state_seq;
	}
	char status[128];
	berth_container_status_text(c, status, sizeof(status));
	const char *state = berth_cstate_name(c->state);
	if (c->state == CS_EXITED && !c->has_been_started)
		state = "created";
	int r = 0;
	r |= LIT(b, "{\"Id\":");
	r |= berth_jsonw_str(b, c->id);
	r |= LIT(b, ",\"Names\":[");
	r |= berth_jsonw_str(b, c->name);
	r |= berth_buf_append(b, c->list_cache, c->list_cache_split);
	r |= LIT(b, ",\"State\":");
	r |= berth_jsonw_str(b, state);
	r |= LIT(b, ",\"Status\":");
	r |= berth_jsonw_str(b, status);
	r |= berth_buf_append(b, c->list_cache + c->list_cache_split, c->list_cache_len - c->list_cache_split);
	if (size) {
		int64_t rw = berth_rwlayer_size(d->layers, c->id);
		if (rw) { /* omitempty in docker's list entries */
			r |= LIT(b, ",\"SizeRw\":");
			r |= berth_jsonw_int(b, rw);
		}
		cleanup_json json_t *insp = berth_image_inspect(d->images, c->image, NULL);
		r |= LIT(b, ",\"SizeRootFs\":");
		r |= berth_jsonw_int(b, rw + jint(insp, "Size", 0));
	}
	r |= berth_buf_putc(b, '}');
	return r ? berth_err(err, BERTH_E_INTERNAL, "out of memory") : 0;
}

int berth_ctr_list_write(struct berth_daemon *d, json_t *filters, bool all, int limit, bool size, struct berth_buf *out,
			 struct berth_error *err)
{
	static const char *const allowed[] = {"id",     "name",      "label",   "status",  "ancestor", "exited",
					      "before", "since",     "volume",  "network", "health",   "publish",
					      "expose", "isolation", "is-task", NULL};
	if (berth_filters_check(filters, allowed, err) < 0)
		return -1;
	json_t *st = json_object_get(filters, "status");
	size_t i;
	json_t *v;
	json_array_foreach(st, i, v) {
		static const char *const ok[] = {"created", "restarting", "running", "removing",
						 "paused",  "exited",     "dead",    NULL};
		bool good = false;
		for (int k = 0; ok[k]; k++)
			if (!strcmp(ok[k], json_string_value(v) ?: ""))
				good = true;
		if (!good)
			return berth_err(err, BERTH_E_INVALID, "Invalid filter 'status=%s'", json_string_value(v));
	}
	json_array_foreach(json_object_get(filters, "health"), i, v) {
		static const char *const ok[] = {"starting", "healthy", "unhealthy", "none", NULL};
		bool good = false;
		for (int k = 0; ok[k]; k++)
			if (!strcmp(ok[k], json_string_value(v) ?: ""))
				good = true;
		if (!good)
			return berth_err(err, BERTH_E_INVALID, "Unrecognised filter value for health: %s",
					 json_string_value(v));
	}
	/* ancestor: resolve each to an image ID */
	char **ancestors = NULL;
	json_array_foreach(json_object_get(filters, "ancestor"), i, v) {
		char id[BERTH_DIGEST_LEN + 1];
		if (berth_image_resolve(d->images, json_string_value(v), id, NULL) == 0)
			berth_strv_push(&ancestors, id);
	}
	size_t n = 0;
	struct berth_container **cs = berth_container_list_all(d->containers, &n);
	qsort(cs, n, sizeof(*cs), cmp_newest);
	int64_t before_ns = 0, since_ns = 0;
	json_t *bf = json_array_get(json_object_get(filters, "before"), 0);
	json_t *sf = json_array_get(json_object_get(filters, "since"), 0);
	if (bf || sf) {
		for (int k = 0; k < 2; k++) {
			json_t *f = k ? sf : bf;
			if (!f)
				continue;
			struct berth_container *ref = berth_container_get(d->containers, json_string_value(f), err);
			if (!ref) {
				berth_container_list_free(d->containers, cs, n);
				berth_strv_free(ancestors);
				return -1;
			}
			*(k ? &since_ns : &before_ns) = created_ns(ref);
			berth_container_put(d->containers, ref);
		}
	}
	int r = LIT(out, "[");
	int kept = 0;
	bool has_status = json_array_size(st) > 0, failed = false;
	bool needs_doc = json_array_size(json_object_get(filters, "label")) ||
			 json_array_size(json_object_get(filters, "exited")) ||
			 json_array_size(json_object_get(filters, "health")) ||
			 json_array_size(json_object_get(filters, "ancestor"));
	for (size_t k = 0; k < n; k++) {
		struct berth_container *c = cs[k];
		pthread_mutex_lock(&c->mu);
		bool resident = berth_container_doc_resident(c); /* a scan: one document at a time */
		bool running = c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
		const char *state = berth_cstate_name(c->state);
		bool keep = all || running || has_status || limit > 0 || bf || sf;
		if (c->state == CS_EXITED && !c->has_been_started)
			state = "created";
		if (keep && has_status && !berth_filter_has(st, state))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "id")) &&
		    !any_prefix(json_object_get(filters, "id"), c->id))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "name")) &&
		    !name_matches(json_object_get(filters, "name"), c->name))
			keep = false;
		/* the filters on the document's contents read it (back) */
		json_t *doc = NULL;
		if (keep && needs_doc && !(doc = berth_container_doc(c, err))) {
			berth_container_doc_unread(c, resident);
			pthread_mutex_unlock(&c->mu);
			failed = true;
			break;
		}
		if (keep && json_array_size(json_object_get(filters, "label")) &&
		    !berth_labels_match(json_object_get(filters, "label"), jobj(jobj(doc, "Config"), "Labels")))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "exited"))) {
			char code[32];
			snprintf(code, sizeof(code), "%lld", (long long)jint(jobj(doc, "State"), "ExitCode", 0));
			if (c->state != CS_EXITED || !c->has_been_started ||
			    !berth_filter_has(json_object_get(filters, "exited"), code))
				keep = false;
		}
		if (keep && json_array_size(json_object_get(filters, "health")) &&
		    !berth_filter_has(json_object_get(filters, "health"), berth_health_status(jobj(doc, "State"))))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "ancestor"))) {
			bool hit = false;
			for (size_t a = 0; ancestors && ancestors[a]; a++)
				if (!strcmp(ancestors[a], c->image))
					hit = true;
			if (berth_filter_has(json_object_get(filters, "ancestor"), jstr(jobj(doc, "Config"), "Image")))
				hit = true;
			keep = hit;
		}
		if (keep && bf && created_ns(c) >= before_ns)
			keep = false;
		if (keep && sf && created_ns(c) <= since_ns)
			keep = false;
		if (keep) {
			if (kept++)
				r |= LIT(out, ",");
			if (write_item(d, c, size, out, err) < 0) {
				berth_container_doc_unread(c, resident);
				pthread_mutex_unlock(&c->mu);
				failed = true;
				break;
			}
		}
		berth_container_doc_unread(c, resident);
		pthread_mutex_unlock(&c->mu);
		if (limit > 0 && kept >= limit)
			break;
	}
	r |= LIT(out, "]");
	berth_container_list_free(d->containers, cs, n);
	berth_strv_free(ancestors);
	if (failed)
		return -1;
	if (r)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return 0;
}

json_t *berth_ctr_list(struct berth_daemon *d, json_t *filters, bool all, int limit, bool size, struct berth_error *err)
{
	struct berth_buf b = {0};
	if (berth_ctr_list_write(d, filters, all, limit, size, &b, err) < 0) {
		berth_buf_free(&b);
		return NULL;
	}
	json_t *list = json_loadb(b.data, b.len, 0, NULL);
	berth_buf_free(&b);
	if (!list)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return list;
}
