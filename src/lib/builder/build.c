/* The build loop: stages, FROM, ONBUILD triggers, steps' cache and
 * commits, docker's classic stream. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "common/cleanup.h"

static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};

static bool is_proxy_arg(const char *n)
{
	for (size_t i = 0; proxy_args[i]; i++)
		if (!strcmp(proxy_args[i], n))
			return true;
	return false;
}

static void emit(struct bctx *b, json_t *msg)
{
	b->emitted = true;
	b->o->emit(b->o->ectx, msg);
	json_decref(msg);
}

/* JSON strings must be UTF-8: other bytes become U+FFFD */
static json_t *utf8_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j)
		return j;
	struct berth_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80)
			berth_buf_putc(&b, (char)c);
		else
			berth_buf_append(&b, "\xef\xbf\xbd", 3);
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	berth_buf_free(&b);
	return j;
}

void bld_stream(struct bctx *b, const char *fmt, ...)
{
	if (b->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	json_t *m = json_object();
	json_object_set_new(m, "stream", utf8_string(s, (size_t)n));
	free(s);
	emit(b, m);
}

const char *bld_work(struct bctx *b)
{
	if (!b->work_made) {
		if (berth_mkdir_p(b->o->work_dir, 0700, b->err) < 0)
			return NULL;
		b->work_made = true;
	}
	return b->o->work_dir;
}

const char *bld_scratch(struct bctx *b, bool small)
{
	const char *m = small && b->o->context ? berth_build_context_mem_dir(b->o->context) : NULL;
	return m ? m : bld_work(b);
}

int bld_tmpfile(struct bctx *b) { return bld_tmpfile_in(b, bld_work(b)); }

int bld_tmpfile_in(struct bctx *b, const char *w)
{
	if (!w)
		return -1;
	int fd = open(w, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "temporary file");
	return fd;
}

static const char *env_get(json_t *cfg, const char *name)
{
	size_t i, n = strlen(name);
	json_t *e;
	json_array_foreach(json_object_get(cfg, "Env"), i, e) {
		const char *s = json_string_value(e);
		if (s && !strncmp(s, name, n) && s[n] == '=')
			return s + n + 1;
	}
	return NULL;
}

const char *bld_lookup(void *ctx, const char *name)
{
	struct bctx *b = ctx;
	const char *v = env_get(b->cfg, name);
	if (v)
		return v;
	json_t *a = json_object_get(b->args, name);
	return json_string_value(a);
}

static const char *global_lookup(void *ctx, const char *name)
{
	struct bctx *b = ctx;
	return json_string_value(json_object_get(b->global_args, name));
}

char *bld_word(struct bctx *b, const char *w) { return berth_df_word(w, b->escape, bld_lookup, b, b->err); }

json_t *bld_shell(struct bctx *b)
{
	json_t *sh = json_object_get(b->cfg, "Shell");
	if (json_is_array(sh) && json_array_size(sh))
		return json_deep_copy(sh);
	return json_pack("[ss]", "/bin/sh", "-c");
}

char *bld_key(struct bctx *b, const char *kind, const char *text, const char *extra)
{
	char *cfg = json_dumps(b->cfg, JSON_SORT_KEYS | JSON_COMPACT);
	struct berth_sha256 *h = berth_sha256_new();
	if (!h || !cfg) {
		free(cfg);
		berth_sha256_free(h);
		return NULL;
	}
	berth_sha256_update(h, "berth-build-v1\n", 15);
	berth_sha256_update(h, kind, strlen(kind) + 1);
	berth_sha256_update(h, text, strlen(text) + 1);
	berth_sha256_update(h, extra ? extra : "", strlen(extra ? extra : "") + 1);
	berth_sha256_update(h, cfg, strlen(cfg) + 1);
	if (b->author)
		berth_sha256_update(h, b->author, strlen(b->author) + 1);
	free(cfg);
	char *out = malloc(BERTH_ID_SZ);
	if (out)
		berth_sha256_final(h, out);
	else
		berth_sha256_free(h);
	return out;
}

/* switch to image id: its config becomes the current one */
static int use_image(struct bctx *b, const char *id)
{
	json_t *img = NULL;
	char rid[BERTH_ID_SZ];
	if (b->ops->image_get(b->ops->ctx, id, rid, &img, b->err) < 0)
		return -1;
	json_decref(b->cfg);
	json_t *c = json_object_get(img, "config");
	b->cfg = json_is_object(c) ? json_deep_copy(c) : json_object();
	b->nlayers = (int)json_array_size(json_object_get(json_object_get(img, "rootfs"), "diff_ids"));
	snprintf(b->id, sizeof(b->id), "%s", rid);
	json_decref(img);
	return 0;
}

json_t *bld_nop_cmd(struct bctx *b, const char *comment)
{
	json_t *cmd = bld_shell(b);
	/* docker records "#(nop) <comment>" as one word for COPY, ADD and
	 * WORKDIR, as two words for the other instructions */
	if (berth_str_has_prefix(comment, "COPY ") || berth_str_has_prefix(comment, "ADD ") ||
	    berth_str_has_prefix(comment, "WORKDIR ")) {
		json_array_append_new(cmd, json_sprintf("#(nop) %s", comment));
	} else {
		json_array_append_new(cmd, json_string("#(nop) "));
		json_array_append_new(cmd, json_string(comment));
	}
	return cmd;
}

char *bld_cmd_text(const json_t *cmd)
{
	struct berth_buf t = {0};
	size_t i;
	json_t *a;
	json_array_foreach(cmd, i, a)
		berth_buf_printf(&t, "%s%s", i ? " " : "", json_string_value(a) ? json_string_value(a) : "");
	char *s = strdup(berth_buf_str(&t));
	berth_buf_free(&t);
	return s;
}

char *bld_nop_text(struct bctx *b, const char *comment)
{
	json_t *cmd = bld_nop_cmd(b, comment);
	char *s = bld_cmd_text(cmd);
	json_decref(cmd);
	return s;
}

int bld_cache_probe(struct bctx *b, const char *key, const char *created_by)
{
	if (b->o->nocache || b->cache_broken || !key)
		return 0;
	const char *parent = *b->id ? b->id : "scratch";
	char img[BERTH_ID_SZ];
	bool hit = berth_build_cache_get(b->db, parent, key, img) == 1 && bld_cache_local_ok(b, img);
	if (!hit && created_by && bld_cache_from_probe(b, created_by, img) == 1) {
		berth_build_cache_put(b->db, parent, key, img);
		hit = true;
	}
	if (!hit)
		return 0;
	struct berth_error e2 = {0};
	struct berth_error *saved = b->err;
	b->err = &e2;
	int rc = use_image(b, img);
	b->err = saved;
	if (rc < 0)
		return 0; /* the image is gone: a miss */
	bld_stream(b, " ---> Using cache\n");
	bld_stream(b, " ---> %.12s\n", berth_digest_hex(b->id));
	return 1;
}

static int64_t created(struct bctx *b) { return b->created_ns ? b->created_ns : berth_now_ns(); }

int bld_meta(struct bctx *b, const char *comment)
{
	cleanup_free char *key = bld_key(b, "meta", comment, NULL);
	if (!key)
		return berth_err(b->err, BERTH_E_INTERNAL, "out of memory");
	json_t *cmd = bld_nop_cmd(b, comment);
	cleanup_free char *by = bld_cmd_text(cmd);
	int hit = bld_cache_probe(b, key, by);
	bld_mark(b, "cache lookup");
	if (hit) {
		json_decref(cmd);
		return 0;
	}
	b->cache_broken = true;
	json_t *cc = json_deep_copy(b->cfg);
	json_object_set_new(cc, "Cmd", cmd);
	char nid[BERTH_ID_SZ];
	int rc = b->ops->commit(b->ops->ctx, NULL, *b->id ? b->id : NULL, b->cfg, cc, b->author, created(b), nid,
				b->err);
	json_decref(cc);
	bld_mark(b, "image write");
	if (rc < 0)
		return -1;
	berth_build_cache_put(b->db, *b->id ? b->id : "scratch", key, nid);
	snprintf(b->id, sizeof(b->id), "%s", nid);
	bld_stream(b, " ---> %.12s\n", berth_digest_hex(b->id));
	return 0;
}

/* Containers the build is done with are removed by one thread of the
 * build's own while the next steps run (a RUN container's unmount and
 * layer removal took 30-100 ms of each RUN step); the build waits for it
 * before it returns, so none is left when the stream ends. */
struct bld_reaper {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **queue;
	bool closing;
	const struct berth_build_ops *ops;
};

static void *reaper_main(void *arg)
{
	struct bld_reaper *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!(r->queue && r->queue[0]) && !r->closing)
			pthread_cond_wait(&r->cv, &r->mu);
		if (!(r->queue && r->queue[0]))
			break;
		char **q = r->queue;
		r->queue = NULL;
		pthread_mutex_unlock(&r->mu);
		for (size_t i = 0; q[i]; i++)
			r->ops->ctr_remove(r->ops->ctx, q[i]);
		berth_strv_free(q);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void bld_remove_later(struct bctx *b, const char *ctr)
{
	if (!b->reaper) {
		struct bld_reaper *r = calloc(1, sizeof(*r));
		if (r) {
			r->ops = b->ops;
			pthread_mutex_init(&r->mu, NULL);
			pthread_cond_init(&r->cv, NULL);
			if (pthread_create(&r->th, NULL, reaper_main, r) != 0) {
				pthread_mutex_destroy(&r->mu);
				pthread_cond_destroy(&r->cv);
				free(r);
				r = NULL;
			}
		}
		b->reaper = r;
	}
	if (!b->reaper) {
		b->ops->ctr_remove(b->ops->ctx, ctr);
		return;
	}
	pthread_mutex_lock(&b->reaper->mu);
	berth_strv_push(&b->reaper->queue, ctr);
	pthread_cond_signal(&b->reaper->cv);
	pthread_mutex_unlock(&b->reaper->mu);
}

static void reaper_finish(struct bctx *b)
{
	struct bld_reaper *r = b->reaper;
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->closing = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	berth_strv_free(r->queue);
	free(r);
	b->reaper = NULL;
}

void bld_remove(struct bctx *b, const char *ctr, bool always)
{
	if (!always && !b->o->rm && !b->o->forcerm)
		return;
	if (!always)
		bld_stream(b, "Removing intermediate container %.12s\n", ctr);
	bld_remove_later(b, ctr);
}

int bld_commit_ctr(struct bctx *b, const char *ctr, json_t *container_config, const char *key)
{
	if (b->nlayers >= BERTH_BUILD_MAX_LAYERS) {
		bld_remove(b, ctr, true);
		return berth_err(b->err, BERTH_E_INVALID, "max depth exceeded");
	}
	char nid[BERTH_ID_SZ];
	int rc = b->ops->commit(b->ops->ctx, ctr, *b->id ? b->id : NULL, b->cfg, container_config, b->author,
				created(b), nid, b->err);
	if (rc < 0) {
		bld_remove(b, ctr, true);
		return -1;
	}
	if (key)
		berth_build_cache_put(b->db, *b->id ? b->id : "scratch", key, nid);
	snprintf(b->id, sizeof(b->id), "%s", nid);
	b->nlayers++;
	return 0;
}

json_t *bld_ctr_body(struct bctx *b)
{
	json_t *body = json_deep_copy(b->cfg);
	json_object_set_new(body, "Image", json_string(b->id));
	json_object_del(body, "OnBuild");
	json_object_set_new(body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
	json_object_set_new(body, "AttachStdout", json_true());
	json_object_set_new(body, "AttachStderr", json_true());
	json_object_set_new(body, "Tty", json_false());
	json_object_set_new(body, "OpenStdin", json_false());
	json_t *hc = json_is_object(b->o->host_config) ? json_deep_copy(b->o->host_config) : json_object();
	/* the output reaches the build's stream through the attach: no log
	 * file (or remote log driver) is written for a step's container that
	 * the build removes (--rm, the default, removes them all at its end,
	 * a failed step's too, as dockerd 20.10's). With --rm=false they are
	 * kept and use the daemon's default driver, so `logs` shows what a
	 * step printed. */
	if ((b->o->rm || b->o->forcerm) && !json_object_get(hc, "LogConfig"))
		json_object_set_new(hc, "LogConfig", json_pack("{s:s, s:{}}", "Type", "none", "Config"));
	json_object_set_new(body, "HostConfig", hc);
	return body;
}

int bld_probe_ctr(struct bctx *b, char ctr[65], struct berth_error *err)
{
	json_t *body = bld_ctr_body(b);
	json_object_set_new(body, "Cmd", json_pack("[s]", "/nonexistent"));
	json_object_set_new(body, "Entrypoint", json_null());
	int rc = b->ops->ctr_create(b->ops->ctx, body, ctr, err);
	json_decref(body);
	return rc;
}

/* ---- FROM ---- */

static void pull_progress(void *ctx, json_t *msg)
{
	struct bctx *b = ctx;
	if (!b->o->quiet)
		emit(b, json_incref(msg));
}

/* An image for FROM or COPY --from, as dockerd's image sources get it: the
 * local one unless --pull, else pulled (its progress in the stream). */
int bld_get_image(struct bctx *b, const char *name, char id[BERTH_ID_SZ])
{
	json_t *img = NULL;
	if (!b->o->pull || !b->ops->image_pull) {
		if (b->ops->image_get(b->ops->ctx, name, id, &img, b->err) == 0) {
			json_decref(img);
			return 0;
		}
		if (b->err->kind != BERTH_E_NOT_FOUND || !b->ops->image_pull)
			return -1;
		memset(b->err, 0, sizeof(*b->err));
	}
	if (b->ops->image_pull(b->ops->ctx, name, b->o->platform, b->o->auth_configs, pull_progress, b, b->err) < 0)
		return -1;
	if (b->ops->image_get(b->ops->ctx, name, id, &img, b->err) < 0)
		return -1;
	json_decref(img);
	return 0;
}

static bool name_eq(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

static int do_from(struct bctx *b, struct berth_df_instr *in);

static int run_triggers(struct bctx *b)
{
	json_t *ob = json_object_get(b->cfg, "OnBuild");
	size_t n = json_array_size(ob);
	if (!n)
		return 0;
	json_t *trig = json_deep_copy(ob);
	json_object_set_new(b->cfg, "OnBuild", json_null());
	bld_stream(b, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
	size_t i;
	json_t *t;
	int rc = 0;
	json_array_foreach(trig, i, t) {
		struct berth_df_instr in;
		const char *line = json_string_value(t);
		if (!line || berth_df_parse_line(line, b->escape, &in, b->err) < 0) {
			rc = -1;
			break;
		}
		if (!strcmp(in.cmd, "onbuild") || !strcmp(in.cmd, "from") || !strcmp(in.cmd, "maintainer")) {
			rc = berth_err(b->err, BERTH_E_INVALID, "%s isn't allowed as an ONBUILD trigger", in.cmd);
		} else
			rc = bld_dispatch(b, &in);
		berth_df_instr_clear(&in);
		if (rc < 0)
			break;
	}
	json_decref(trig);
	return rc;
}

static int do_from(struct bctx *b, struct berth_df_instr *in)
{
	size_t n = berth_strv_len(in->args);
	if (n != 1 && !(n == 3 && !strcasecmp(in->args[1], "as")))
		return berth_err(b->err, BERTH_E_INVALID, "FROM requires either one or three arguments");
	for (size_t i = 0; in->flags && in->flags[i]; i++) {
		const char *f = in->flags[i];
		if (berth_str_has_prefix(f, "--platform=")) {
			cleanup_free char *p = berth_df_word(f + 11, b->escape, global_lookup, b, b->err);
			if (!p)
				return -1;
			if (*p && strcmp(p, "linux") && !berth_str_has_prefix(p, "linux/amd64") && strcmp(p, "amd64"))
				return berth_err(
					b->err, BERTH_E_INVALID,
					"image with reference %s was found but does not match the specified platform: "
					"wanted %s, actual: linux/amd64",
					in->args[0], p);
		} else
			return berth_err(b->err, BERTH_E_INVALID, "Unknown flag: %s", f + 2);
	}
	cleanup_free char *name = berth_df_word(in->args[0], b->escape, global_lookup, b, b->err);
	if (!name)
		return -1;
	if (!*name)
		return berth_err(b->err, BERTH_E_INVALID, "base name (%s) should not be blank", in->args[0]);
	/* a new stage: fresh config and args */
	json_decref(b->cfg);
	b->cfg = json_object();
	json_decref(b->args);
	b->args = json_object();
	b->id[0] = 0;
	b->nlayers = 0;
	b->cmd_set = false;
	b->cache_broken = false;
	free(b->author);
	b->author = NULL;
	const char *stage_id = NULL;
	for (size_t i = 0; i < b->nstages; i++)
		if (name_eq(b->stages[i].name, name))
			stage_id = b->stages[i].id;
	if (stage_id) {
		if (use_image(b, stage_id) < 0)
			return -1;
	} else if (strcasecmp(name, "scratch")) {
		char rid[BERTH_ID_SZ];
		if (bld_get_image(b, name, rid) < 0)
			return -1;
		if (use_image(b, rid) < 0)
			return -1;
	}
	if (*b->id)
		bld_stream(b, " ---> %.12s\n", berth_digest_hex(b->id));
	return run_triggers(b);
}

/* ---- the loop ---- */

static int count_stage_steps(struct berth_dockerfile *df, size_t from, size_t *end)
{
	size_t i = from + 1;
	while (i < df->n && strcmp(df->v[i].cmd, "from"))
		i++;
	*end = i;
	return (int)(i - from);
}

static char *stage_alias(struct berth_df_instr *in)
{
	if (berth_strv_len(in->args) == 3) {
		char *a = strdup(in->args[2]);
		for (char *p = a; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return a;
	}
	return NULL;
}

static void step_line(struct bctx *b, const char *original)
{
	b->step++;
	bld_stream(b, "Step %d/%d : %s", b->step, b->total, original);
	bld_stream(b, "\n");
}

/* a step, with its timings in the debug log */
static int step_dispatch(struct bctx *b, struct berth_df_instr *in)
{
	struct berth_log *log = b->o->log;
	if (!log || atomic_load(&log->level) < BERTH_LOG_DEBUG)
		return bld_dispatch(b, in);
	struct berth_span sp;
	berth_span_init(&sp, 0);
	int64_t t0 = sp.last_ns;
	b->sp = &sp;
	int rc = bld_dispatch(b, in);
	b->sp = NULL;
	berth_span_mark(&sp, "other");
	char line[512];
	berth_span_format(&sp, line, sizeof(line));
	berth_log(log, BERTH_LOG_DEBUG, "timings build step %d/%d %s (%lld us): %s", b->step, b->total, in->cmd,
		  (long long)((berth_mono_ns() - t0) / 1000), line);
	return rc;
}

int berth_build(const struct berth_build_ops *ops, struct berth_db *db, const struct berth_build_opts *o,
		char id[BERTH_ID_SZ], int64_t *exit_code, struct berth_error *err)
{
	struct bctx b = {.ops = ops, .db = db, .o = o, .err = err};
	struct berth_dockerfile df = {0};
	int rc = -1;
	*exit_code = 0;
	if (berth_build_cache_init(db, err) < 0)
		return -1;
	if (berth_df_parse(o->dockerfile, o->dockerfile_len, &df, err) < 0)
		return -1;
	b.escape = df.escape;
	bld_cache_sources_load(&b);
	b.global_args = json_object();
	b.used = json_object();
	b.cfg = json_object();
	b.args = json_object();
	if (o->reproducible && o->source_date_epoch_s >= 0)
		b.created_ns = o->source_date_epoch_s > 0 ? o->source_date_epoch_s * 1000000000LL : 1; /* 0: "now" */
	else if (o->reproducible)
		b.created_ns = 1;
	/* the first instruction: FROM, or ARGs before it */
	size_t first = 0;
	while (first < df.n && !strcmp(df.v[first].cmd, "arg"))
		first++;
	if (first >= df.n || strcmp(df.v[first].cmd, "from")) {
		if (first < df.n)
			berth_err(err, BERTH_E_INVALID,
				  "dockerfile parse error line %d: no build stage in current context",
				  df.v[first].line);
		else
			berth_err(err, BERTH_E_INVALID, "no build stage in current context");
		goto out;
	}
	/* stages up to the target */
	size_t last_end = df.n;
	if (o->target && *o->target) {
		bool found = false;
		for (size_t i = first; i < df.n && !found; i++) {
			if (strcmp(df.v[i].cmd, "from"))
				continue;
			cleanup_free char *a = stage_alias(&df.v[i]);
			if (name_eq(a, o->target)) {
				size_t end;
				count_stage_steps(&df, i, &end);
				last_end = end;
				found = true;
			}
		}
		if (!found) {
			berth_err(err, BERTH_E_INVALID, "failed to reach build target %s in Dockerfile", o->target);
			goto out;
		}
	}
	size_t nlabels = json_object_size(o->labels);
	b.total = (int)last_end + (nlabels ? 1 : 0);
	for (size_t i = 0; df.warnings && df.warnings[i]; i++)
		bld_stream(&b, "%s\n", df.warnings[i]);
	for (size_t i = 0; i < last_end; i++) {
		struct berth_df_instr *in = &df.v[i];
		if (o->cancelled && o->cancelled(o->ectx)) {
			berth_err(err, BERTH_E_INTERNAL, "context canceled");
			goto out;
		}
		step_line(&b, in->original);
		if (!strcmp(in->cmd, "from")) {
			if (i > first) { /* the previous stage is done */
				struct stage_ref *nv = realloc(b.stages, (b.nstages + 1) * sizeof(*nv));
				if (!nv)
					goto out;
				b.stages = nv;
				size_t prev = first;
				for (size_t k = first; k < i; k++)
					if (!strcmp(df.v[k].cmd, "from"))
						prev = k;
				b.stages[b.nstages].name = stage_alias(&df.v[prev]);
				snprintf(b.stages[b.nstages].id, BERTH_ID_SZ, "%s", b.id);
				b.nstages++;
			}
			if (do_from(&b, in) < 0)
				goto out;
			continue;
		}
		if (i < first) { /* global ARG */
			for (size_t k = 0; in->args[k]; k++) {
				char *eq = strchr(in->args[k], '=');
				cleanup_free char *nm =
					eq ? strndup(in->args[k], (size_t)(eq - in->args[k])) : strdup(in->args[k]);
				json_t *bv = json_object_get(o->buildargs, nm);
				if (json_is_string(bv))
					json_object_set(b.global_args, nm, bv);
				else if (eq) {
					char *v = berth_df_word(eq + 1, b.escape, global_lookup, &b, err);
					if (!v)
						goto out;
					json_object_set_new(b.global_args, nm, json_string(v));
					free(v);
				} else
					json_object_set_new(b.global_args, nm, json_null());
				json_object_set_new(b.used, nm, json_true());
			}
			continue;
		}
		if (step_dispatch(&b, in) < 0)
			goto out;
	}
	if (nlabels) {
		struct berth_buf t = {0};
		berth_buf_printf(&t, "LABEL");
		const char *k;
		json_t *v;
		json_object_foreach(o->labels, k, v) {
			json_t *ks = json_string(k), *vs = json_is_string(v) ? json_incref(v) : json_string("");
			char *kq = json_dumps(ks, JSON_ENCODE_ANY), *vq = json_dumps(vs, JSON_ENCODE_ANY);
			berth_buf_printf(&t, " %s=%s", kq, vq);
			free(kq);
			free(vq);
			json_decref(ks);
			json_decref(vs);
		}
		struct berth_df_instr lin;
		int lrc = berth_df_parse_line(berth_buf_str(&t), '\\', &lin, err);
		berth_buf_free(&t);
		if (lrc < 0)
			goto out;
		step_line(&b, lin.original);
		lrc = step_dispatch(&b, &lin);
		berth_df_instr_clear(&lin);
		if (lrc < 0)
			goto out;
	}
	if (!*b.id) {
		berth_err(err, BERTH_E_INVALID, "No image was generated. Is your Dockerfile empty?");
		goto out;
	}
	/* unused build args */
	struct berth_buf unused = {0};
	const char *k;
	json_t *v;
	json_object_foreach(o->buildargs, k, v) {
		if (!json_object_get(b.used, k) && !is_proxy_arg(k))
			berth_buf_printf(&unused, "%s%s", unused.len ? " " : "", k);
	}
	if (unused.len)
		bld_stream(&b, "[Warning] One or more build-args [%s] were not consumed\n", berth_buf_str(&unused));
	berth_buf_free(&unused);
	json_t *aux = json_pack("{s:{s:s}}", "aux", "ID", b.id);
	emit(&b, aux);
	if (o->quiet) {
		json_t *m = json_pack("{s:s+}", "stream", b.id, "\n");
		emit(&b, m);
	}
	bld_stream(&b, "Successfully built %.12s\n", berth_digest_hex(b.id));
	for (size_t i = 0; o->tags && o->tags[i]; i++) {
		if (ops->tag(ops->ctx, b.id, o->tags[i], err) < 0)
			goto out;
		bld_stream(&b, "Successfully tagged %s\n", o->tags[i]);
	}
	snprintf(id, BERTH_ID_SZ, "%s", b.id);
	rc = 0;
out:
	*exit_code = b.exit_code;
	if (o->log && atomic_load(&o->log->level) >= BERTH_LOG_DEBUG) {
		int64_t t0 = berth_mono_ns();
		reaper_finish(&b);
		berth_log(o->log, BERTH_LOG_DEBUG,
			  "timings build end: removal of the last containers waited for %lld us",
			  (long long)((berth_mono_ns() - t0) / 1000));
	} else
		reaper_finish(&b);
	for (size_t i = 0; i < b.nstages; i++)
		free(b.stages[i].name);
	free(b.stages);
	free(b.author);
	bld_cache_sources_free(&b);
	json_decref(b.cfg);
	json_decref(b.args);
	json_decref(b.global_args);
	json_decref(b.used);
	berth_df_free(&df);
	return rc;
}
