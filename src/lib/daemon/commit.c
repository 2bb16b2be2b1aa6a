/* docker diff and docker commit (daemon/commit.go, image.NewChildImage). */
#include "daemon/commit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "image/config.h"
#include "image/reference.h"
#include "image/store.h"
#include "storage/layer_store.h"

json_t *berth_ctr_changes(struct berth_daemon *d, struct berth_container *c, struct berth_error *err)
{
	json_t *changes = NULL;
	if (berth_rwlayer_changes(d->layers, c->id, &changes, err) < 0)
		return NULL;
	if (!json_array_size(changes)) {
		json_decref(changes);
		return json_null();
	}
	return changes;
}

/* ------------------------------------------------------------ config merge */

static size_t len_of(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
}

static bool str_empty(const json_t *v) { return !json_string_value(v) || !*json_string_value(v); }

static void copy_field(json_t *dst, const json_t *src, const char *k)
{
	json_t *v = json_object_get(src, k);
	if (v)
		json_object_set_new(dst, k, json_deep_copy(v));
	else
		json_object_del(dst, k);
}

static size_t env_key_len(const char *e)
{
	const char *eq = strchr(e, '=');
	return eq ? (size_t)(eq - e) : strlen(e);
}

void berth_commit_merge_config(json_t *u, const json_t *ctr)
{
	if (str_empty(json_object_get(u, "User")))
		copy_field(u, ctr, "User");

	json_t *cports = json_object_get(ctr, "ExposedPorts");
	if (!len_of(json_object_get(u, "ExposedPorts"))) {
		copy_field(u, ctr, "ExposedPorts");
	} else if (json_is_object(cports)) {
		json_t *up = json_object_get(u, "ExposedPorts");
		const char *k;
		json_t *v;
		json_object_foreach(cports, k, v)
			if (!json_object_get(up, k))
				json_object_set_new(up, k, json_object());
	}

	json_t *cenv = json_object_get(ctr, "Env");
	if (!len_of(json_object_get(u, "Env"))) {
		copy_field(u, ctr, "Env");
	} else {
		json_t *uenv = json_object_get(u, "Env");
		size_t i, j;
		json_t *ce, *ue;
		json_array_foreach(cenv, i, ce) {
			const char *cs = json_string_value(ce);
			if (!cs)
				continue;
			bool found = false;
			json_array_foreach(uenv, j, ue) {
				const char *us = json_string_value(ue);
				if (us && env_key_len(us) == env_key_len(cs) && !strncmp(us, cs, env_key_len(cs))) {
					found = true;
					break;
				}
			}
			if (!found)
				json_array_append_new(uenv, json_string(cs));
		}
	}

	json_t *labels = json_object_get(u, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(u, "Labels", labels);
	}
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(ctr, "Labels"), k, v)
		if (!json_object_get(labels, k))
			json_object_set(labels, k, v);

	if (!len_of(json_object_get(u, "Entrypoint"))) {
		if (!len_of(json_object_get(u, "Cmd"))) {
			copy_field(u, ctr, "Cmd");
			copy_field(u, ctr, "ArgsEscaped");
		}
		if (json_is_null(json_object_get(u, "Entrypoint")) || !json_object_get(u, "Entrypoint"))
			copy_field(u, ctr, "Entrypoint");
	}

	json_t *chc = json_object_get(ctr, "Healthcheck");
	if (json_is_object(chc)) {
		json_t *uhc = json_object_get(u, "Healthcheck");
		if (!json_is_object(uhc)) {
			copy_field(u, ctr, "Healthcheck");
		} else {
			if (!len_of(json_object_get(uhc, "Test")))
				copy_field(uhc, chc, "Test");
			static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
			for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
				if (!json_integer_value(json_object_get(uhc, nums[i])) && json_object_get(chc, nums[i]))
					copy_field(uhc, chc, nums[i]);
		}
	}

	if (str_empty(json_object_get(u, "WorkingDir")))
		copy_field(u, ctr, "WorkingDir");

	if (!len_of(json_object_get(u, "Volumes"))) {
		copy_field(u, ctr, "Volumes");
	} else {
		json_t *uv = json_object_get(u, "Volumes");
		json_object_foreach(json_object_get(ctr, "Volumes"), k, v)
			json_object_set(uv, k, v);
	}

	if (str_empty(json_object_get(u, "StopSignal")))
		copy_field(u, ctr, "StopSignal");
}

/* --------------------------------------------------------- image config */

/* A history entry in Go's field order, empty fields left out. */
static json_t *history_canon(const json_t *h)
{
	json_t *o = json_object();
	static const char *const strs[] = {"created", "author", "created_by", "comment"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *s = json_string_value(json_object_get(h, strs[i]));
		if (s && (*s || !strcmp(strs[i], "created")))
			json_object_set_new(o, strs[i], json_string(s));
	}
	if (json_is_true(json_object_get(h, "empty_layer")))
		json_object_set_new(o, "empty_layer", json_true());
	return o;
}

char *berth_commit_image_config(const struct berth_commit_image *ci, size_t *len)
{
	char created[64];
	berth_image_time_format(ci->created_ns, created, sizeof(created));
	bool empty = !ci->diff_id || !strcmp(ci->diff_id, BERTH_EMPTY_LAYER_DIFF_ID);
	const json_t *p = ci->parent;
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	const char *variant = json_string_value(json_object_get(p, "variant"));
	json_t *o = json_object();
	/* keys sorted: docker marshals the image through a map */
	json_object_set_new(o, "architecture", json_string(arch && *arch ? arch : berth_image_host_arch()));
	if (ci->author && *ci->author)
		json_object_set_new(o, "author", json_string(ci->author));
	json_object_set_new(o, "config", json_deep_copy(ci->config));
	json_object_set_new(o, "container", json_string(ci->container_id));
	json_object_set_new(o, "container_config", json_deep_copy(ci->container_config));
	json_object_set_new(o, "created", json_string(created));
	json_object_set_new(o, "docker_version", json_string(ci->docker_version ? ci->docker_version : BERTH_VERSION));
	json_t *hist = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(p, "history"), i, h)
		json_array_append_new(hist, history_canon(h));
	json_t *nh = json_object();
	json_object_set_new(nh, "created", json_string(created));
	if (ci->author && *ci->author)
		json_object_set_new(nh, "author", json_string(ci->author));
	struct berth_buf by = {0};
	json_t *a;
	json_array_foreach(json_object_get(ci->container_config, "Cmd"), i, a) {
		if (i)
			berth_buf_putc(&by, ' ');
		berth_buf_printf(&by, "%s", json_string_value(a) ? json_string_value(a) : "");
	}
	if (by.len)
		json_object_set_new(nh, "created_by", json_string(berth_buf_str(&by)));
	berth_buf_free(&by);
	if (ci->comment && *ci->comment)
		json_object_set_new(nh, "comment", json_string(ci->comment));
	if (empty)
		json_object_set_new(nh, "empty_layer", json_true());
	json_array_append_new(hist, nh);
	json_object_set_new(o, "history", hist);
	json_object_set_new(o, "os", json_string("linux"));
	json_t *feat = json_object_get(p, "os.features");
	if (len_of(feat))
		json_object_set_new(o, "os.features", json_deep_copy(feat));
	const char *osv = json_string_value(json_object_get(p, "os.version"));
	if (osv && *osv)
		json_object_set_new(o, "os.version", json_string(osv));
	json_t *ids = json_array();
	json_array_foreach(json_object_get(json_object_get(p, "rootfs"), "diff_ids"), i, a)
		json_array_append_new(ids, json_string(json_string_value(a) ? json_string_value(a) : ""));
	if (!empty)
		json_array_append_new(ids, json_string(ci->diff_id));
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_object_set_new(rootfs, "diff_ids", ids);
	json_object_set_new(o, "rootfs", rootfs);
	if (variant && *variant)
		json_object_set_new(o, "variant", json_string(variant));
	char *out = berth_json_dump_go(o, len);
	json_decref(o);
	return out;
}

/* ------------------------------------------------------------------ commit */

struct export_job {
	struct berth_layer_store *ls;
	const char *id;
	int fd;
	int rc;
	struct berth_error err;
};

static void *export_main(void *arg)
{
	struct export_job *j = arg;
	struct berth_writer w = berth_writer_fd(j->fd);
	j->rc = berth_rwlayer_export_diff(j->ls, j->id, &w, &j->err);
	close(j->fd);
	return NULL;
}

/* The container's diff as a layer on parent_chain (streamed through a pipe:
 * nothing is staged on disk twice). */
static int register_diff(struct berth_daemon *d, const char *id, const char *parent_chain, struct berth_layer_info *li,
			 struct berth_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	struct export_job j = {.ls = d->layers, .id = id, .fd = p[1]};
	pthread_t th;
	if (pthread_create(&th, NULL, export_main, &j) != 0) {
		close(p[0]);
		close(p[1]);
		return berth_err(err, BERTH_E_INTERNAL, "cannot start export thread");
	}
	struct berth_reader r = berth_reader_fd(p[0]);
	int rc =
		berth_layer_register(d->layers, parent_chain && *parent_chain ? parent_chain : NULL, &r, NULL, li, err);
	close(p[0]);
	pthread_join(th, NULL);
	if (j.rc < 0) {
		if (rc == 0)
			berth_layer_release(d->layers, li->chain_id, NULL, NULL);
		if (err)
			*err = j.err;
		return -1;
	}
	return rc;
}

/* Go leaves an empty Volumes map nil (null) in a container config. */
static void empty_volumes_null(json_t *cfg)
{
	json_t *v = json_object_get(cfg, "Volumes");
	if (json_is_object(v) && !json_object_size(v))
		json_object_set_new(cfg, "Volumes", json_null());
}

static int check_ref(const struct berth_commit_opts *o, struct berth_error *err)
{
	if (!o->repo || !*o->repo)
		return 0;
	struct berth_ref r;
	if (berth_ref_parse_normalized(o->repo, &r, err) < 0 ||
	    (o->tag && *o->tag && (berth_ref_trim(&r), berth_ref_with_tag(&r, o->tag, err) < 0))) {
		err->kind = BERTH_E_INTERNAL; /* docker 20.10 answers 500 for these */
		return -1;
	}
	return 0;
}

int berth_ctr_commit(struct berth_daemon *d, const struct berth_commit_opts *o, char id[BERTH_DIGEST_LEN + 1],
		     struct berth_error *err)
{
	if (!o->container || !*o->container)
		return berth_err(err, BERTH_E_INVALID, "invalid name or ID supplied: \"\"");
	struct berth_container *c = berth_container_get(d->containers, o->container, err);
	if (!c)
		return -1;
	int rc = -1;
	bool paused = false, locked = false, have_layer = false;
	struct berth_image img = {0};
	struct berth_layer_info li = {0};
	cleanup_json json_t *ctr_cfg = NULL, *newcfg = NULL;
	cleanup_free char *config = NULL, *familiar = NULL;
	char image_id[BERTH_DIGEST_LEN + 1] = "";

	pthread_mutex_lock(&c->mu);
	enum berth_cstate st = c->state;
	bool removing = c->removed || st == CS_REMOVING;
	pthread_mutex_unlock(&c->mu);
	if (st == CS_DEAD) {
		berth_err(err, BERTH_E_CONFLICT, "You cannot commit container %s which is Dead", c->id);
		goto out;
	}
	if (removing) {
		berth_err(err, BERTH_E_CONFLICT, "You cannot commit container %s which is being removed", c->id);
		goto out;
	}
	if (check_ref(o, err) < 0)
		goto out;

	pthread_mutex_lock(&c->opmu); /* no start/stop/rm while the layer is read */
	locked = true;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	if (!doc) {
		pthread_mutex_unlock(&c->mu);
		goto out;
	}
	ctr_cfg = berth_container_config_canon(json_object_get(doc, "Config"));
	empty_volumes_null(ctr_cfg);
	const char *img_id = json_string_value(json_object_get(doc, "Image"));
	snprintf(image_id, sizeof(image_id), "%s", img_id ? img_id : "");
	bool running = c->state == CS_RUNNING;
	pthread_mutex_unlock(&c->mu);

	/* the new config: the request's (or the container's) with the changes, merged */
	newcfg = berth_container_config_canon(json_is_object(o->config) ? o->config : ctr_cfg);
	if (!o->exact_config && berth_image_changes_apply(newcfg, o->changes, o->nchanges, err) < 0)
		goto out;
	if (!o->exact_config)
		berth_commit_merge_config(newcfg, ctr_cfg);
	json_t *canon = berth_container_config_canon(newcfg);
	json_decref(newcfg);
	newcfg = canon;
	empty_volumes_null(newcfg);

	if (*image_id && berth_image_get(d->images, image_id, &img, err) < 0)
		goto out;
	if (o->pause && running) {
		struct berth_error pe = {0};
		if (berth_ctr_pause(d, c, true, &pe) == 0)
			paused = true;
		else
			berth_log(&d->log, BERTH_LOG_WARN, "commit %.12s: pause: %s", c->id, pe.msg);
	}
	int reg = register_diff(d, c->id, img.top_chain, &li, err);
	if (paused) {
		struct berth_error pe = {0};
		if (berth_ctr_pause(d, c, false, &pe) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "commit %.12s: unpause: %s", c->id, pe.msg);
		paused = false;
	}
	pthread_mutex_unlock(&c->opmu);
	locked = false;
	if (reg < 0)
		goto out;
	have_layer = true;

	struct berth_commit_image ci = {.parent = img.json,
					.config = newcfg,
					.container_config = o->container_config ? o->container_config : ctr_cfg,
					.container_id = c->id,
					.author = o->author,
					.comment = o->comment,
					.diff_id = li.diff_id,
					.created_ns = o->created_ns ? o->created_ns : berth_now_ns()};
	size_t len = 0;
	config = berth_commit_image_config(&ci, &len);
	if (!config) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	bool created = false;
	if (berth_image_create(d->images, config, len, *image_id ? image_id : NULL, id, &created, err) < 0)
		goto out;
	if (o->repo && *o->repo && berth_image_tag(d->images, id, o->repo, o->tag, &familiar, err) < 0) {
		err->kind = BERTH_E_INTERNAL;
		goto out;
	}
	berth_ctr_event(d, c, "commit",
			json_pack("{s:s, s:s, s:s}", "comment", o->comment ? o->comment : "", "imageID", id, "imageRef",
				  familiar ? familiar : ""));
	rc = 0;
out:
	if (paused)
		berth_ctr_pause(d, c, false, NULL);
	if (locked)
		pthread_mutex_unlock(&c->opmu);
	if (have_layer) /* the image holds its own reference now */
		berth_layer_release(d->layers, li.chain_id, NULL, NULL);
	berth_image_free(&img);
	berth_container_put(d->containers, c);
	return rc;
}
