/* GET /containers/json and GET /containers/{id}/json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/util.h"
#include "daemon/container_net.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/networks.h"
#include "image/store.h"
#include "runtime/jget.h"
#include "storage/layer_store.h"

json_t *berth_ctr_inspect(struct berth_daemon *d, struct berth_container *c, bool size)
{
	pthread_mutex_lock(&c->mu);
	json_t *j = json_deep_copy(c->doc);
	pthread_mutex_unlock(&c->mu);
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

static int64_t created_ns(struct berth_container *c)
{
	int64_t t = 0;
	berth_time_parse(jstr(c->doc, "Created"), &t);
	return t;
}

static int cmp_newest(const void *a, const void *b)
{
	int64_t x = created_ns(*(struct berth_container *const *)a),
		y = created_ns(*(struct berth_container *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *list_item(struct berth_daemon *d, struct berth_container *c, bool size)
{
	json_t *cfg = jobj(c->doc, "Config");
	struct berth_buf cmd = {0};
	berth_buf_printf(&cmd, "%s", jstr(c->doc, "Path") ? jstr(c->doc, "Path") : "");
	size_t i;
	json_t *a;
	json_array_foreach(jarr(c->doc, "Args"), i, a)
		berth_buf_printf(&cmd, " %s", json_string_value(a));
	char status[128];
	berth_container_status_text(c, status, sizeof(status));
	int64_t created = created_ns(c) / 1000000000LL;
	json_t *hc = jobj(c->doc, "HostConfig");
	json_t *labels = jobj(cfg, "Labels");
	json_t *item =
		json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:[], s:O, s:s, s:s, s:{s:s}, s:{s:O}, s:[]}", "Id", c->id,
			  "Names", c->name, "Image", jstr(cfg, "Image") ? jstr(cfg, "Image") : "", "ImageID",
			  jstr(c->doc, "Image"), "Command", berth_buf_str(&cmd), "Created", (json_int_t)created,
			  "Ports", "Labels", labels ? labels : json_null(), "State", berth_cstate_name(c->state),
			  "Status", status, "HostConfig", "NetworkMode", jstr(hc, "NetworkMode"), "NetworkSettings",
			  "Networks", jobj(jobj(c->doc, "NetworkSettings"), "Networks"), "Mounts");
	berth_buf_free(&cmd);
	json_object_set_new(item, "Ports", berth_ctr_net_list_ports(c->doc)); /* daemon/container_net.h */
	if (!labels)
		json_object_set_new(item, "Labels", json_object());
	if (size) {
		int64_t rw = berth_rwlayer_size(d->layers, c->id);
		if (rw) /* omitempty in docker's list entries */
			json_object_set_new(item, "SizeRw", json_integer(rw));
		cleanup_json json_t *insp = berth_image_inspect(d->images, jstr(c->doc, "Image"), NULL);
		json_object_set_new(item, "SizeRootFs", json_integer(rw + jint(insp, "Size", 0)));
	}
	return item;
}

json_t *berth_ctr_list(struct berth_daemon *d, json_t *filters, bool all, int limit, bool size, struct berth_error *err)
{
	static const char *const allowed[] = {"id",     "name",      "label",   "status",  "ancestor", "exited",
					      "before", "since",     "volume",  "network", "health",   "publish",
					      "expose", "isolation", "is-task", NULL};
	if (berth_filters_check(filters, allowed, err) < 0)
		return NULL;
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
			return berth_err(err, BERTH_E_INVALID, "Invalid filter 'status=%s'", json_string_value(v)),
			       NULL;
	}
	json_array_foreach(json_object_get(filters, "health"), i, v) {
		static const char *const ok[] = {"starting", "healthy", "unhealthy", "none", NULL};
		bool good = false;
		for (int k = 0; ok[k]; k++)
			if (!strcmp(ok[k], json_string_value(v) ?: ""))
				good = true;
		if (!good)
			return berth_err(err, BERTH_E_INVALID, "Unrecognised filter value for health: %s",
					 json_string_value(v)),
			       NULL;
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
				return NULL;
			}
			*(k ? &since_ns : &before_ns) = created_ns(ref);
			berth_container_put(d->containers, ref);
		}
	}
	json_t *out = json_array();
	bool has_status = json_array_size(st) > 0;
	for (size_t k = 0; k < n; k++) {
		struct berth_container *c = cs[k];
		pthread_mutex_lock(&c->mu);
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
		if (keep && json_array_size(json_object_get(filters, "label")) &&
		    !berth_labels_match(json_object_get(filters, "label"), jobj(jobj(c->doc, "Config"), "Labels")))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "exited"))) {
			char code[32];
			snprintf(code, sizeof(code), "%lld", (long long)jint(jobj(c->doc, "State"), "ExitCode", 0));
			if (c->state != CS_EXITED || !c->has_been_started ||
			    !berth_filter_has(json_object_get(filters, "exited"), code))
				keep = false;
		}
		if (keep && json_array_size(json_object_get(filters, "health")) &&
		    !berth_filter_has(json_object_get(filters, "health"), berth_health_status(jobj(c->doc, "State"))))
			keep = false;
		if (keep && json_array_size(json_object_get(filters, "ancestor"))) {
			bool hit = false;
			for (size_t a = 0; ancestors && ancestors[a]; a++)
				if (!strcmp(ancestors[a], jstr(c->doc, "Image")))
					hit = true;
			if (berth_filter_has(json_object_get(filters, "ancestor"),
					     jstr(jobj(c->doc, "Config"), "Image")))
				hit = true;
			keep = hit;
		}
		if (keep && bf && created_ns(c) >= before_ns)
			keep = false;
		if (keep && sf && created_ns(c) <= since_ns)
			keep = false;
		if (keep) {
			json_t *item = list_item(d, c, size);
			if (c->state == CS_EXITED && !c->has_been_started)
				json_object_set_new(item, "State", json_string("created"));
			json_array_append_new(out, item);
		}
		pthread_mutex_unlock(&c->mu);
		if (limit > 0 && (int)json_array_size(out) >= limit)
			break;
	}
	berth_container_list_free(d->containers, cs, n);
	berth_strv_free(ancestors);
	return out;
}
