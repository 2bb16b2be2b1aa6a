/* The builder's callbacks on the daemon (see build_ops.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "daemon/archive.h"
#include "daemon/attach.h"
#include "daemon/build_ops.h"
#include "daemon/commit.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "distribution/authconfig.h"
#include "distribution/pull.h"
#include "image/config.h"
#include "image/reference.h"
#include "image/store.h"
#include "storage/layer_store.h"

static int op_image_get(void *ctx, const char *ref, char id[BERTH_ID_SZ], json_t **image, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_image img = {0};
	if (berth_image_get(d->images, ref, &img, err) < 0)
		return -1;
	snprintf(id, BERTH_ID_SZ, "%s", img.id);
	*image = json_incref(img.json);
	berth_image_free(&img);
	return 0;
}

static int op_image_is_dir(void *ctx, const char *image, const char *path, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_image img = {0};
	if (berth_image_get(d->images, image, &img, err) < 0)
		return -1;
	mode_t mode = S_IFDIR; /* an image without layers: only its root */
	int rc = *img.top_chain ? berth_layer_path_mode(d->layers, img.top_chain, path, &mode, err) :
				  !path[strspn(path, "/")];
	berth_image_free(&img);
	return rc <= 0 ? rc : S_ISDIR(mode) ? 1 : 0;
}

static int op_image_open_file(void *ctx, const char *image, const char *path, int *fd, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_image img = {0};
	if (berth_image_get(d->images, image, &img, err) < 0)
		return -1;
	int rc = *img.top_chain ? berth_layer_open_file(d->layers, img.top_chain, path, fd, err) : 0;
	berth_image_free(&img);
	return rc;
}

static int op_ctr_create(void *ctx, json_t *body, char id[65], struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	json_t *resp = NULL;
	if (berth_ctr_create(d, NULL, body, &resp, err) < 0)
		return -1;
	snprintf(id, 65, "%s", json_string_value(json_object_get(resp, "Id")));
	json_decref(resp);
	return 0;
}

static int op_ctr_is_dir(void *ctx, const char *ctr, const char *path, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_container *c = berth_container_get(d->containers, ctr, err);
	if (!c)
		return -1;
	struct berth_path_stat st = {0};
	int rc = berth_ctr_archive_stat(d, c, ctr, path, &st, err);
	berth_container_put(d->containers, c);
	if (rc < 0)
		return err->kind == BERTH_E_NOT_FOUND ? 0 : -1;
	rc = (st.mode & BERTH_GO_MODE_DIR) ? 1 : 0;
	berth_path_stat_free(&st);
	return rc;
}

static int op_ctr_get(void *ctx, const char *ctr, const char *path, struct berth_writer *out, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_container *c = berth_container_get(d->containers, ctr, err);
	if (!c)
		return -1;
	int rc = berth_ctr_archive_get(d, c, ctr, path, NULL, NULL, out, err);
	berth_container_put(d->containers, c);
	return rc;
}

/* RUN: attach (as docker's builder does, before start), start, copy the
 * output, wait. The attach runs on its own thread through the same stream
 * copier as the API's attach; we are its client on a socketpair. */
struct run_attach {
	struct berth_daemon *d;
	struct berth_container *c;
	int fd; /* the attach side of the socketpair */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool hijacked, done;
	int rc;
	struct berth_error err;
};

static int run_hijack(void *ctx, const void **pending, size_t *npending)
{
	struct run_attach *ra = ctx;
	*pending = NULL;
	*npending = 0;
	pthread_mutex_lock(&ra->mu);
	ra->hijacked = true;
	pthread_cond_broadcast(&ra->cond);
	pthread_mutex_unlock(&ra->mu);
	return ra->fd;
}

static void *run_attach_main(void *arg)
{
	struct run_attach *ra = arg;
	struct berth_ctr_attach_opts o = {
		.ref = ra->c->id, .stream = true, .out = true, .err = true, .hijack = run_hijack, .hijack_ctx = ra};
	ra->rc = berth_ctr_attach(ra->d, ra->c, &o, &ra->err);
	pthread_mutex_lock(&ra->mu);
	ra->done = true;
	pthread_cond_broadcast(&ra->cond);
	pthread_mutex_unlock(&ra->mu);
	shutdown(ra->fd, SHUT_WR);
	return NULL;
}

static int op_ctr_run(void *ctx, const char *ctr, berth_build_out_fn out, void *octx, int64_t *exit_code,
		      struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_container *c = berth_container_get(d->containers, ctr, err);
	if (!c)
		return -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		berth_container_put(d->containers, c);
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "socketpair");
	}
	struct run_attach ra = {.d = d, .c = c, .fd = sv[1]};
	pthread_mutex_init(&ra.mu, NULL);
	pthread_cond_init(&ra.cond, NULL);
	pthread_t th;
	int rc = -1;
	if (pthread_create(&th, NULL, run_attach_main, &ra) != 0) {
		berth_err(err, BERTH_E_INTERNAL, "cannot start attach thread");
		goto out_fds;
	}
	pthread_mutex_lock(&ra.mu);
	while (!ra.hijacked && !ra.done)
		pthread_cond_wait(&ra.cond, &ra.mu);
	bool attached = ra.hijacked && !ra.done;
	pthread_mutex_unlock(&ra.mu);
	if (!attached) {
		pthread_join(th, NULL);
		*err = ra.err;
		if (!err->kind)
			berth_err(err, BERTH_E_INTERNAL, "attach failed");
		goto out_fds;
	}
	if (berth_ctr_start(d, c, err) < 0) {
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(th, NULL);
		goto out_fds;
	}
	/* stdcopy frames until the stream ends */
	unsigned char hdr[8];
	char buf[32768];
	for (;;) {
		ssize_t n = berth_read_all(sv[0], hdr, 8);
		if (n != 8)
			break;
		size_t len = ((size_t)hdr[4] << 24) | ((size_t)hdr[5] << 16) | ((size_t)hdr[6] << 8) | hdr[7];
		while (len) {
			size_t want = len < sizeof(buf) ? len : sizeof(buf);
			ssize_t r = berth_read_all(sv[0], buf, want);
			if (r <= 0) {
				len = 0;
				break;
			}
			if (hdr[0] == 1 || hdr[0] == 2)
				out(octx, buf, (size_t)r);
			len -= (size_t)r;
		}
	}
	close(sv[0]);
	sv[0] = -1;
	pthread_join(th, NULL);
	rc = berth_ctr_wait(d, c, "not-running", NULL, NULL, exit_code, err);
out_fds:
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
	pthread_mutex_destroy(&ra.mu);
	pthread_cond_destroy(&ra.cond);
	berth_container_put(d->containers, c);
	return rc;
}

static int op_ctr_remove(void *ctx, const char *ctr)
{
	struct berth_daemon *d = ctx;
	struct berth_error err = {0};
	struct berth_container *c = berth_container_get(d->containers, ctr, &err);
	if (!c)
		return -1;
	int rc = berth_ctr_remove(d, c, true, true, &err);
	berth_container_put(d->containers, c);
	return rc;
}

/* an image from config bytes with (diff_id) or without (NULL) a new layer */
static int make_image(struct berth_daemon *d, const char *parent, const json_t *config, const json_t *cc,
		      const char *author, int64_t created_ns, const char *diff_id, char id[BERTH_ID_SZ],
		      struct berth_error *err)
{
	struct berth_image img = {0};
	if (parent && berth_image_get(d->images, parent, &img, err) < 0)
		return -1;
	struct berth_commit_image ci = {.parent = img.json,
					.config = config,
					.container_config = cc,
					.container_id = "",
					.author = author,
					.diff_id = diff_id,
					.created_ns = created_ns};
	size_t len = 0;
	cleanup_free char *bytes = berth_commit_image_config(&ci, &len);
	int rc = -1;
	bool created;
	if (!bytes)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	else
		rc = berth_image_create(d->images, bytes, len, parent, id, &created, err);
	berth_image_free(&img);
	return rc;
}

static int op_commit(void *ctx, const char *ctr, const char *parent, const json_t *config,
		     const json_t *container_config, const char *author, int64_t created_ns, char id[BERTH_ID_SZ],
		     struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	if (!ctr)
		return make_image(d, parent, config, container_config, author, created_ns, NULL, id, err);
	struct berth_commit_opts o = {.container = ctr,
				      .author = author,
				      .config = config,
				      .exact_config = true,
				      .container_config = container_config,
				      .created_ns = created_ns};
	return berth_ctr_commit(d, &o, id, err);
}

static int op_commit_tar(void *ctx, const char *parent, struct berth_reader *tar, const json_t *config,
			 const json_t *container_config, const char *author, int64_t created_ns, char id[BERTH_ID_SZ],
			 struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_image img = {0};
	if (parent && berth_image_get(d->images, parent, &img, err) < 0)
		return -1;
	struct berth_layer_info li = {0};
	int rc = berth_layer_register(d->layers, *img.top_chain ? img.top_chain : NULL, tar, NULL, &li, err);
	berth_image_free(&img);
	if (rc < 0)
		return -1;
	rc = make_image(d, parent, config, container_config, author, created_ns, li.diff_id, id, err);
	berth_layer_release(d->layers, li.chain_id, NULL, NULL); /* the image holds its own reference */
	return rc;
}

static int op_tag(void *ctx, const char *id, const char *name, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_ref r;
	if (berth_ref_parse_normalized(name, &r, err) < 0)
		return -1;
	if (!*r.tag && !*r.digest)
		snprintf(r.tag, sizeof(r.tag), "latest");
	return berth_image_tag_reference(d->images, id, &r, NULL, err);
}

/* registry.ResolveAuthConfig: the X-Registry-Config entry for the
 * reference's registry (its key as written, or its host name) */
static const json_t *auth_for(const json_t *configs, const char *ref)
{
	struct berth_ref r;
	struct berth_error e = {0};
	if (!json_is_object(configs) || berth_ref_parse_normalized(ref, &r, &e) < 0)
		return NULL;
	bool official = !strcmp(r.domain, "docker.io");
	const json_t *a = json_object_get(configs, official ? "https://index.docker.io/v1/" : r.domain);
	if (a)
		return a;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)configs, k, v) {
		const char *h = k;
		if (berth_str_has_prefix(h, "http://"))
			h += 7;
		else if (berth_str_has_prefix(h, "https://"))
			h += 8;
		size_t n = strcspn(h, "/");
		if ((n == strlen(r.domain) && !strncmp(h, r.domain, n)) ||
		    (official && n == 15 && !strncmp(h, "index.docker.io", 15)))
			return v;
	}
	return NULL;
}

static int op_image_pull(void *ctx, const char *ref, const char *platform, const json_t *auth_configs,
			 void (*progress)(void *pctx, json_t *msg), void *pctx, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_auth_config auth = {0};
	struct berth_ref r;
	if (berth_ref_parse_normalized(ref, &r, err) < 0)
		return -1;
	/* reference.TagNameOnly: a name alone is its latest tag, never all tags */
	cleanup_free char *tagged = berth_strdup_printf("%s%s", ref, *r.tag || *r.digest ? "" : ":latest");
	const json_t *a = auth_for(auth_configs, ref);
	if (a && berth_auth_config_from_json(a, &auth, err) < 0)
		return -1;
	struct berth_pull_opts o = {.cfg = &d->cfg.registry,
				    .images = d->images,
				    .db = d->db,
				    .data_root = d->cfg.data_root,
				    .from_image = tagged,
				    .platform = platform,
				    .auth = &auth,
				    .progress = progress,
				    .ctx = pctx};
	int rc = berth_pull(&o, err);
	berth_auth_config_free(&auth);
	return rc;
}

static bool op_image_is_ancestor(void *ctx, const char *ancestor, const char *id)
{
	struct berth_daemon *d = ctx;
	char cur[BERTH_ID_SZ];
	snprintf(cur, sizeof(cur), "%s", id);
	for (int depth = 0; *cur && depth < 1000; depth++) {
		if (!strcmp(cur, ancestor))
			return true;
		struct berth_image img = {0};
		struct berth_error e = {0};
		if (berth_image_get(d->images, cur, &img, &e) < 0)
			return false;
		snprintf(cur, sizeof(cur), "%s", img.parent);
		berth_image_free(&img);
	}
	return false;
}

/* the diff ID of history entry index (docker's getLayerForHistoryIndex), NULL for an empty layer */
static const char *layer_for_history(const json_t *img, size_t index)
{
	size_t layer = 0, i;
	json_t *h;
	json_array_foreach(json_object_get(img, "history"), i, h) {
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		if (i == index)
			return empty ? NULL :
				       json_string_value(json_array_get(
					       json_object_get(json_object_get(img, "rootfs"), "diff_ids"), layer));
		if (!empty)
			layer++;
	}
	return NULL;
}

static int op_image_restore(void *ctx, const char *parent, const char *source, size_t index, const json_t *config,
			    char id[BERTH_ID_SZ], struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_image p = {0}, t = {0};
	int rc = -1;
	char *bytes = NULL;
	json_t *o = json_object();
	if ((parent && berth_image_get(d->images, parent, &p, err) < 0) ||
	    berth_image_get(d->images, source, &t, err) < 0)
		goto out;
	json_t *th = json_array_get(json_object_get(t.json, "history"), index);
	if (!json_is_object(th)) {
		berth_err(err, BERTH_E_INTERNAL, "cache source %s has no history entry %zu", source, index);
		goto out;
	}
	json_t *hist = json_array(), *ids = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(p.json, "history"), i, v)
		json_array_append(hist, v);
	json_array_append(hist, th);
	json_array_foreach(json_object_get(json_object_get(p.json, "rootfs"), "diff_ids"), i, v)
		json_array_append(ids, v);
	const char *layer = layer_for_history(t.json, index);
	if (layer)
		json_array_append_new(ids, json_string(layer));
	static const char *const keep[] = {"architecture", "author", "os", "os.features", "os.version", "variant"};
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *k = json_object_get(t.json, keep[i]);
		if (k)
			json_object_set(o, keep[i], k);
	}
	json_object_set_new(o, "config", json_deep_copy(config));
	json_t *created = json_object_get(th, "created");
	json_object_set_new(o, "created", created ? json_incref(created) : json_string("1970-01-01T00:00:00Z"));
	json_object_set_new(o, "docker_version", json_string(BERTH_VERSION));
	json_object_set_new(o, "history", hist);
	json_object_set_new(o, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", ids));
	size_t len = 0;
	bytes = berth_json_dump_go(o, &len);
	bool made;
	if (!bytes)
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
	else
		rc = berth_image_create(d->images, bytes, len, parent, id, &made, err);
out:
	free(bytes);
	json_decref(o);
	berth_image_free(&p);
	berth_image_free(&t);
	return rc;
}

void berth_build_ops_init(struct berth_daemon *d, struct berth_build_ops *ops)
{
	*ops = (struct berth_build_ops){.ctx = d,
					.image_get = op_image_get,
					.image_pull = op_image_pull,
					.image_is_ancestor = op_image_is_ancestor,
					.image_restore = op_image_restore,
					.image_is_dir = op_image_is_dir,
					.image_open_file = op_image_open_file,
					.ctr_create = op_ctr_create,
					.ctr_is_dir = op_ctr_is_dir,
					.ctr_get = op_ctr_get,
					.ctr_run = op_ctr_run,
					.ctr_remove = op_ctr_remove,
					.commit = op_commit,
					.commit_tar = op_commit_tar,
					.tag = op_tag};
}
