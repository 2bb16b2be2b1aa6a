/* Push: layers, config and schema 2 manifest to a registry (push.h). */
#include "distribution/push.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/util.h"
#include "distribution/blobmeta.h"
#include "distribution/progress.h"
#include "distribution/sockpipe.h"
#include "image/reference.h"
#include "storage/compress.h"
#include "storage/layer_store.h"

#define MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define PROGRESS_EVERY (512 * 1024)
#define MAX_MOUNT_TRIES 3
#define MAX_UPLOAD_ATTEMPTS 5
/* zlib level 4 (lazy matching, short chains): on text about 4x less CPU than
 * level 6 (docker's, Go's default) for about 20% more bytes, a few % on
 * binaries; less than pgzip's default output (skopeo). Any level is valid
 * gzip and the registry verifies digests, not bytes. */
#define PUSH_GZIP_LEVEL 4

struct push {
	const struct berth_push_opts *o;
	struct berth_registry_client *rc;
	struct berth_ref ref; /* normalized, no tag */
	char *full;           /* "127.0.0.1:5000/a/b" */
	pthread_mutex_t emit_mu;
	sem_t slots;
};

struct layer_job {
	struct push *p;
	char diff_id[BERTH_DIGEST_LEN + 1];
	char chain_id[BERTH_DIGEST_LEN + 1];
	char short_id[13];
	int64_t size; /* uncompressed, for progress totals */
	/* result */
	char digest[BERTH_DIGEST_LEN + 1];
	char media_type[128];
	int64_t blob_size;
	int rc;
	struct berth_error err;
	pthread_t th;
	bool started;
};

static void emit(struct push *p, json_t *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&p->emit_mu);
	if (p->o->emit)
		p->o->emit(p->o->ctx, m);
	pthread_mutex_unlock(&p->emit_mu);
	json_decref(m);
}

static void emit_status(struct push *p, const char *status, const char *id)
{
	emit(p, id ? berth_progress_msg(status, id, -1, 0) : json_pack("{s:s}", "status", status));
}

static bool cancelled(struct push *p) { return p->o->cancelled && p->o->cancelled(p->o->ctx); }

static char *path_url(struct push *p, const char *fmt, const char *arg)
{
	cleanup_free char *tail = berth_strdup_printf(fmt, arg ? arg : "");
	return tail ? berth_strdup_printf("/v2/%s%s", p->ref.path, tail) : NULL;
}

/* HEAD a blob in this repository: 1 present (*size filled), 0 absent, -1 error. */
static int blob_exists(struct push *p, const char *digest, int64_t *size, struct berth_error *err)
{
	cleanup_free char *url = path_url(p, "/blobs/%s", digest);
	struct berth_registry_request req = {.method = "HEAD", .path = url};
	struct berth_registry_response resp;
	if (berth_registry_do(p->rc, &req, &resp, err) < 0)
		return -1;
	int rc = 0;
	if (resp.status >= 200 && resp.status < 300) {
		if (size && resp.content_length >= 0)
			*size = resp.content_length;
		rc = 1;
	} else if (resp.status != 404) {
		rc = berth_registry_error_from(&resp, NULL, err);
	}
	berth_registry_response_free(&resp);
	return rc;
}

/* POST /blobs/uploads/ (query may be NULL): status and Location (absolute, caller frees). */
static int start_upload(struct push *p, const char *query, long *status, char **location, struct berth_error *err)
{
	*location = NULL;
	cleanup_free char *url = path_url(p, "/blobs/uploads/%s", query ? query : "");
	struct berth_registry_request req = {.method = "POST", .path = url, .no_follow = true};
	struct berth_registry_response resp;
	if (berth_registry_do(p->rc, &req, &resp, err) < 0)
		return -1;
	*status = resp.status;
	int rc = 0;
	if (resp.status == 201 || resp.status == 202) {
		if (resp.location)
			*location = berth_registry_resolve_url(p->rc, resp.location);
		if (resp.status == 202 && !*location)
			rc = berth_err(err, BERTH_E_INTERNAL, "registry answered an upload without a Location");
	} else {
		rc = berth_registry_error_from(&resp, NULL, err);
	}
	berth_registry_response_free(&resp);
	return rc;
}

static void cancel_upload(struct push *p, const char *location)
{
	struct berth_registry_request req = {.method = "DELETE", .path = location, .no_follow = true};
	struct berth_registry_response resp;
	struct berth_error e = {0};
	if (berth_registry_do(p->rc, &req, &resp, &e) == 0)
		berth_registry_response_free(&resp);
}

static char *with_digest(const char *location, const char *digest)
{
	return berth_strdup_printf("%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
}

/* PUT ?digest= of digest onto the upload at loc (an empty body after a PATCH, or the whole blob). */
static int put_blob(struct push *p, const char *loc, const char *digest, const void *data, size_t len,
		    struct berth_error *err)
{
	const char *oct[] = {"Content-Type: application/octet-stream", NULL};
	cleanup_free char *put = with_digest(loc, digest);
	struct berth_registry_request req = {
		.method = "PUT", .path = put, .headers = oct, .body = data, .body_len = len, .no_follow = true};
	struct berth_registry_response resp;
	if (!put)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_registry_do(p->rc, &req, &resp, err) < 0)
		return -1;
	int rc = 0;
	if (resp.status != 201 && resp.status != 204)
		rc = berth_registry_error_from(&resp, NULL, err);
	berth_registry_response_free(&resp);
	return rc;
}

/* Upload a small blob (the config) in one PUT. */
static int upload_blob(struct push *p, const char *digest, const void *data, size_t len, struct berth_error *err)
{
	long st = 0;
	char *loc = NULL;
	if (start_upload(p, NULL, &st, &loc, err) < 0)
		return -1;
	if (st == 201) { /* the registry already has it */
		free(loc);
		return 0;
	}
	int rc = put_blob(p, loc, digest, data, len, err);
	if (rc < 0)
		cancel_upload(p, loc);
	free(loc);
	return rc;
}

/* ---- a layer: export -> gzip (worker threads) -> sha256 -> PATCH body -------
 *
 * A producer thread exports the layer byte-exact into the parallel gzip
 * writer (storage/compress.h), whose output is hashed on its way into a
 * socketpair; the upload's PATCH reads the other end as a chunked body, so
 * compression and upload overlap. The digest is known when the PATCH has
 * sent the last byte and goes into the closing PUT ?digest= (the registry
 * checks it against what it received). The reader reports the end of the body
 * only after the producer finished cleanly: a failed export never completes
 * the PATCH.
 *
 * The compressed bytes are also written to a spool: an unnamed file
 * (O_TMPFILE) in <data_root>/distribution that disappears when closed, on
 * success, failure or a crash alike. When the upload fails in a way a retry
 * may mend (a broken connection, 5xx, 429, 408), the producer keeps
 * compressing into the spool alone until the layer is complete, and the next
 * attempts send the spool (a PATCH with a Content-Length) instead of
 * compressing again. Writing the spool costs a copy into the page cache; the
 * pages are dropped unwritten when the file is closed. */

struct layer_stream {
	struct layer_job *j;
	struct berth_gzip_writer *gz;
	struct berth_sockpipe sp;
	struct berth_sha256 *h;
	int spool;         /* the compressed output so far, or -1 */
	bool spool_failed; /* a spool write failed: a retry compresses again */
	bool sock_gone;    /* the upload stopped reading: the spool alone */
	int64_t in_bytes, out_bytes, last_emit;
	bool stop; /* give up: cancelled, or no retry will read the spool */
	int rc;
	struct berth_error err;
};

/* Compressed bytes: hashed, counted, into the spool and the socket. */
static int ls_out(void *ctx, const void *data, size_t len)
{
	struct layer_stream *s = ctx;
	berth_sha256_update(s->h, data, len);
	s->out_bytes += (int64_t)len;
	if (s->spool >= 0 && !s->spool_failed && berth_write_all(s->spool, data, len) < 0)
		s->spool_failed = true;
	bool spooled = s->spool >= 0 && !s->spool_failed;
	if (!s->sock_gone && berth_sockpipe_send(&s->sp, data, len) < 0) {
		if (!spooled || __atomic_load_n(&s->stop, __ATOMIC_RELAXED))
			return berth_err_sys(&s->err, BERTH_E_UNAVAILABLE, errno, "uploading layer %s", s->j->short_id);
		s->sock_gone = true; /* finish the spool for the retry */
	}
	if (s->sock_gone && !spooled)
		return berth_err(&s->err, BERTH_E_UNAVAILABLE, "uploading layer %s: the upload stopped",
				 s->j->short_id);
	return 0;
}

/* Tar bytes from the layer store: into the gzip writer, "Pushing" as dockerd counts it. */
static int ls_in(void *ctx, const void *data, size_t len)
{
	struct layer_stream *s = ctx;
	struct layer_job *j = s->j;
	if (cancelled(j->p) || __atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		return berth_err(&s->err, BERTH_E_UNAVAILABLE, "context canceled");
	struct berth_error e = {0};
	if (berth_gzip_write(s->gz, data, len, &e) < 0) {
		if (!s->err.kind)
			s->err = e;
		return -1;
	}
	s->in_bytes += (int64_t)len;
	if (s->in_bytes - s->last_emit >= PROGRESS_EVERY && !s->sock_gone) {
		s->last_emit = s->in_bytes;
		emit(j->p, berth_progress_msg("Pushing", j->short_id, s->in_bytes, j->size));
	}
	return 0;
}

static void *ls_producer(void *arg)
{
	struct layer_stream *s = arg;
	struct layer_job *j = s->j;
	struct berth_writer w = {.write = ls_in, .ctx = s};
	struct berth_error e = {0};
	int rc = berth_layer_export(berth_image_store_layers(j->p->o->images), j->chain_id, &w, &e);
	if (rc == 0)
		rc = berth_gzip_finish(s->gz, &e);
	if (rc < 0) {
		if (!s->err.kind)
			s->err = e;
	} else {
		berth_sha256_final(s->h, j->digest);
		s->h = NULL; /* freed by final */
		j->blob_size = s->out_bytes;
		if (s->last_emit != s->in_bytes && !s->sock_gone)
			emit(j->p, berth_progress_msg("Pushing", j->short_id, s->in_bytes, j->size));
	}
	s->rc = rc;
	berth_sockpipe_done(&s->sp); /* the reader sees the end */
	return NULL;
}

/* The PATCH body; its end only once the producer is done and well. */
static ssize_t ls_read(void *ctx, void *buf, size_t len)
{
	struct layer_stream *s = ctx;
	return berth_sockpipe_read(&s->sp, buf, len, NULL);
}

/* An unnamed file for the compressed layer in <data_root>/distribution, or -1. */
static int spool_open(struct push *p)
{
	if (!p->o->data_root)
		return -1;
	cleanup_free char *dir = berth_strdup_printf("%s/distribution", p->o->data_root);
	struct berth_error e = {0};
	if (!dir || berth_mkdir_p(dir, 0700, &e) < 0)
		return -1;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	cleanup_free char *tmpl = berth_strdup_printf("%s/push-spool.XXXXXX", dir);
	if (!tmpl || (fd = mkostemp(tmpl, O_CLOEXEC)) < 0)
		return -1;
	unlink(tmpl);
	return fd;
}

/* Whether another attempt may mend a failed request (transport error e, or status). */
static bool retryable(int r, const struct berth_error *e, long status)
{
	if (r < 0)
		return e->kind == BERTH_E_UNAVAILABLE || e->kind == BERTH_E_INTERNAL;
	return status >= 500 || status == 429 || status == 408;
}

/* The same for an error a helper made of a status (e->code) or of the transport. */
static bool retryable_err(const struct berth_error *e)
{
	return e->code ? retryable(0, NULL, e->code) : e->kind == BERTH_E_UNAVAILABLE;
}

/* Finish an upload at loc after its PATCH answered: PUT ?digest=. */
static int finish_upload(struct push *p, char **loc, struct berth_registry_response *resp, const char *digest,
			 bool *retry, struct berth_error *err)
{
	if (resp->status != 202 && resp->status != 204) {
		*retry = retryable(0, NULL, resp->status);
		berth_registry_error_from(resp, NULL, err);
		berth_registry_response_free(resp);
		return -1;
	}
	char *nl = resp->location ? berth_registry_resolve_url(p->rc, resp->location) : NULL;
	berth_registry_response_free(resp);
	if (nl) {
		free(*loc);
		*loc = nl;
	}
	struct berth_error e = {0};
	int rc = put_blob(p, *loc, digest, NULL, 0, &e);
	if (rc < 0) {
		*retry = retryable_err(&e);
		*err = e;
	}
	return rc;
}

/* POST; 0 with *loc (an upload to start), -1 (*retry says whether to try again). */
static int begin_upload(struct push *p, char **loc, bool *retry, struct berth_error *err)
{
	long st = 0;
	struct berth_error e = {0};
	if (start_upload(p, NULL, &st, loc, &e) < 0) {
		*retry = retryable_err(&e);
		*err = e;
		return -1;
	}
	if (st != 202) {
		free(*loc);
		*loc = NULL;
		return berth_err(err, BERTH_E_INTERNAL, "registry answered %ld to the start of an upload", st);
	}
	return 0;
}

/* One attempt that compresses: POST, one streamed PATCH, PUT ?digest=;
 * j->digest and j->blob_size out. *spool keeps the whole compressed layer
 * when the attempt failed but the compression completed (else -1). */
static int upload_layer_stream(struct layer_job *j, int *spool, bool *retry, struct berth_error *err)
{
	struct push *p = j->p;
	char *loc = NULL;
	*retry = false;
	if (begin_upload(p, &loc, retry, err) < 0)
		return -1;
	struct layer_stream s = {.j = j, .sp = {.rfd = -1, .wfd = -1}, .spool = spool_open(p)};
	int rc = -1;
	struct berth_writer out = {.write = ls_out, .ctx = &s};
	if (!(s.h = berth_sha256_new())) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	if (!(s.gz = berth_gzip_writer_new(PUSH_GZIP_LEVEL, 0, &out, err)))
		goto out;
	if (berth_sockpipe_start(&s.sp, ls_producer, &s, &s.rc, err) < 0)
		goto out;
	const char *hdr[] = {"Content-Type: application/octet-stream", NULL};
	struct berth_reader rd = {.read = ls_read, .ctx = &s};
	struct berth_registry_request req = {
		.method = "PATCH", .path = loc, .headers = hdr, .body_reader = &rd, .body_size = -1, .no_follow = true};
	struct berth_registry_response resp;
	struct berth_error e = {0};
	int r = berth_registry_do(p->rc, &req, &resp, &e);
	bool again = !cancelled(p) && retryable(r, &e, r == 0 ? resp.status : 0);
	/* no retry wanted: a producer still compressing stops; else it finishes into the spool */
	if (!again || s.spool < 0)
		__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	berth_sockpipe_close(&s.sp); /* a producer still sending goes on with the spool alone, or fails */
	if (s.rc < 0) {              /* the cause, whatever the PATCH answered */
		*err = s.err;
		*retry = again && s.spool < 0; /* no spool: the retry compresses again */
		if (r == 0)
			berth_registry_response_free(&resp);
		goto out;
	}
	if (r < 0) {
		*retry = again;
		*err = e;
		goto out;
	}
	rc = finish_upload(p, &loc, &resp, j->digest, retry, err);
out:
	if (rc < 0)
		cancel_upload(p, loc);
	berth_sockpipe_close(&s.sp);
	berth_gzip_writer_free(s.gz);
	berth_sha256_free(s.h);
	free(loc);
	/* the producer was joined: rc 0 means the whole layer went into the spool */
	if (rc < 0 && *retry && s.rc == 0 && s.spool >= 0 && !s.spool_failed) {
		*spool = s.spool; /* complete: j->digest and j->blob_size are set */
		s.spool = -1;
	}
	if (s.spool >= 0)
		close(s.spool);
	return rc;
}

/* The spool as a PATCH body, with "Pushing" progress scaled to the layer size. */
struct spool_reader {
	struct layer_job *j;
	int fd;
	int64_t off, len, last_emit;
};

static ssize_t spool_read(void *ctx, void *buf, size_t len)
{
	struct spool_reader *r = ctx;
	if (cancelled(r->j->p)) {
		errno = ECANCELED;
		return -1;
	}
	ssize_t n;
	do
		n = pread(r->fd, buf, len, r->off);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->off += n;
		if (r->off - r->last_emit >= PROGRESS_EVERY || r->off == r->len) {
			r->last_emit = r->off;
			int64_t cur = r->len > 0 ? (int64_t)((double)r->off / (double)r->len * (double)r->j->size) : 0;
			emit(r->j->p, berth_progress_msg("Pushing", r->j->short_id, cur, r->j->size));
		}
	}
	return n;
}

/* A later attempt: POST, PATCH of the spooled blob, PUT ?digest=. */
static int upload_layer_spool(struct layer_job *j, int fd, bool *retry, struct berth_error *err)
{
	struct push *p = j->p;
	char *loc = NULL;
	*retry = false;
	if (begin_upload(p, &loc, retry, err) < 0)
		return -1;
	struct spool_reader sr = {.j = j, .fd = fd, .len = j->blob_size};
	const char *hdr[] = {"Content-Type: application/octet-stream", NULL};
	struct berth_reader rd = {.read = spool_read, .ctx = &sr};
	struct berth_registry_request req = {.method = "PATCH",
					     .path = loc,
					     .headers = hdr,
					     .body_reader = &rd,
					     .body_size = j->blob_size,
					     .no_follow = true};
	struct berth_registry_response resp;
	struct berth_error e = {0};
	int rc = -1;
	int r = berth_registry_do(p->rc, &req, &resp, &e);
	if (r < 0) {
		*retry = !cancelled(p) && retryable(r, &e, 0);
		*err = e;
	} else {
		rc = finish_upload(p, &loc, &resp, j->digest, retry, err);
	}
	if (rc < 0)
		cancel_upload(p, loc);
	free(loc);
	return rc;
}

/* "Retrying in N seconds" after a failed attempt; false when no retry is due. */
static bool retry_wait(struct layer_job *j, int attempt)
{
	if (attempt >= MAX_UPLOAD_ATTEMPTS || cancelled(j->p))
		return false;
	for (int s = attempt * 2; s > 0 && !cancelled(j->p); s--) {
		char msg[64];
		snprintf(msg, sizeof(msg), "Retrying in %d second%s", s, s == 1 ? "" : "s");
		emit_status(j->p, msg, j->short_id);
		sleep(1);
	}
	return !cancelled(j->p);
}

/* Compress and upload with retries; once a compression completed, retries send its spool. */
static int upload_layer(struct layer_job *j, struct berth_error *err)
{
	int spool = -1, rc = -1;
	for (int attempt = 1;; attempt++) {
		bool retry = false;
		struct berth_error e = {0};
		if (spool >= 0)
			rc = upload_layer_spool(j, spool, &retry, &e);
		else
			rc = upload_layer_stream(j, &spool, &retry, &e);
		if (rc == 0)
			break;
		if (retry && j->p->o->log)
			berth_log(j->p->o->log, BERTH_LOG_INFO, "push: layer %s, attempt %d failed: %s%s", j->short_id,
				  attempt, e.msg, spool >= 0 ? " (the retry sends its compressed copy)" : "");
		if (!retry || !retry_wait(j, attempt)) {
			*err = e;
			break;
		}
	}
	if (spool >= 0)
		close(spool);
	return rc;
}

/* ---- one layer ------------------------------------------------------------- */

static bool same_registry(struct push *p, const char *repo)
{
	size_t n = strlen(p->ref.domain);
	return strncmp(repo, p->ref.domain, n) == 0 && repo[n] == '/';
}

static int push_layer(struct layer_job *j, struct berth_error *err)
{
	struct push *p = j->p;
	struct berth_blobmeta *known = NULL;
	size_t nknown = 0;
	if (berth_blobmeta_list(p->o->db, j->diff_id, &known, &nknown, err) < 0)
		return -1;
	int rc = 0;
	snprintf(j->media_type, sizeof(j->media_type), "%s", MT_LAYER_GZIP);
	/* 1. the registry has it in this repository already: every digest known
	 * here, then (as dockerd) one known from another repository or registry,
	 * same registry first; a registry may have it from another client */
	bool same_repo = false;
	for (size_t i = 0; i < nknown; i++)
		same_repo |= !strcmp(known[i].repo, p->full);
	size_t other = nknown;
	for (size_t i = 0; i < nknown && !same_repo; i++)
		if (other == nknown || (same_registry(p, known[i].repo) && !same_registry(p, known[other].repo)))
			other = i;
	for (size_t i = 0; i < nknown; i++) {
		if (strcmp(known[i].repo, p->full) != 0 && i != other)
			continue;
		int64_t size = known[i].size;
		int ex = blob_exists(p, known[i].digest, &size, err);
		if (ex < 0) {
			rc = -1;
			goto out;
		}
		if (ex == 1) {
			memcpy(j->digest, known[i].digest, sizeof(j->digest));
			j->blob_size = size;
			if (strstr(known[i].media_type, "zstd"))
				snprintf(j->media_type, sizeof(j->media_type), "%s", known[i].media_type);
			if (i == other)
				berth_blobmeta_add(p->o->db, j->diff_id, j->digest, known[i].media_type, size, p->full,
						   NULL);
			emit_status(p, "Layer already exists", j->short_id);
			goto out;
		}
		if (i != other)
			berth_blobmeta_remove(p->o->db, known[i].digest, known[i].repo, NULL);
	}
	/* 2. mount from another repository of the same registry */
	int tries = 0;
	for (size_t i = 0; i < nknown && tries < MAX_MOUNT_TRIES; i++) {
		if (!strcmp(known[i].repo, p->full) || !same_registry(p, known[i].repo) || known[i].size < 0)
			continue;
		tries++;
		const char *from = known[i].repo + strlen(p->ref.domain) + 1;
		cleanup_free char *scope = berth_strdup_printf("repository:%s:pull", from);
		struct berth_error e = {0};
		if (!scope || berth_registry_client_add_scope(p->rc, scope, &e) < 0)
			continue;
		cleanup_free char *q = berth_strdup_printf("?mount=%s&from=%s", known[i].digest, from);
		long st = 0;
		char *loc = NULL;
		if (start_upload(p, q, &st, &loc, &e) < 0) {
			free(loc);
			continue;
		}
		if (st == 202 && loc)
			cancel_upload(p, loc);
		free(loc);
		if (st == 201) {
			memcpy(j->digest, known[i].digest, sizeof(j->digest));
			j->blob_size = known[i].size;
			if (strstr(known[i].media_type, "zstd"))
				snprintf(j->media_type, sizeof(j->media_type), "%s", known[i].media_type);
			berth_blobmeta_add(p->o->db, j->diff_id, j->digest, known[i].media_type, j->blob_size, p->full,
					   NULL);
			cleanup_free char *msg = berth_strdup_printf("Mounted from %s", from);
			emit_status(p, msg ? msg : "Mounted", j->short_id);
			goto out;
		}
	}
	/* 3. compress while uploading */
	rc = upload_layer(j, err);
	if (rc == 0) {
		berth_blobmeta_add(p->o->db, j->diff_id, j->digest, MT_LAYER_GZIP, j->blob_size, p->full, NULL);
		emit_status(p, "Pushed", j->short_id);
	}
out:
	berth_blobmeta_free(known, nknown);
	return rc;
}

static void *layer_thread(void *arg)
{
	struct layer_job *j = arg;
	struct push *p = j->p;
	if (sem_trywait(&p->slots) < 0) {
		emit_status(p, "Waiting", j->short_id);
		while (sem_wait(&p->slots) < 0 && errno == EINTR)
			;
	}
	j->rc = cancelled(p) ? berth_err(&j->err, BERTH_E_UNAVAILABLE, "context canceled") : push_layer(j, &j->err);
	sem_post(&p->slots);
	return NULL;
}

/* ---- manifest -------------------------------------------------------------- */

/* docker's schema2 manifest, json.MarshalIndent with three spaces. */
static char *build_manifest(const char *config_digest, size_t config_size, struct layer_job *jobs, size_t n)
{
	struct berth_buf b = {0};
	berth_buf_printf(
		&b,
		"{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"%s\",\n   \"config\": {\n      \"mediaType\": "
		"\"%s\",\n      \"size\": %zu,\n      \"digest\": \"%s\"\n   },\n   \"layers\": [",
		MT_MANIFEST, MT_CONFIG, config_size, config_digest);
	/* jobs are top layer first; the manifest lists the base first */
	for (size_t k = 0; k < n; k++) {
		struct layer_job *j = &jobs[n - 1 - k];
		berth_buf_printf(&b,
				 "%s\n      {\n         \"mediaType\": \"%s\",\n         \"size\": %lld,\n         "
				 "\"digest\": \"%s\"\n      }",
				 k ? "," : "", j->media_type, (long long)j->blob_size, j->digest);
	}
	berth_buf_printf(&b, n ? "\n   ]\n}" : "]\n}");
	return berth_buf_steal(&b);
}

static int push_tag(struct push *p, const char *tag, const char *image_id, struct berth_error *err)
{
	struct berth_image img = {0};
	if (berth_image_get(p->o->images, image_id, &img, err) < 0)
		return -1;
	json_t *diffs = json_object_get(json_object_get(img.json, "rootfs"), "diff_ids");
	size_t n = json_array_size(diffs);
	struct layer_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	cleanup_free char *manifest = NULL, *url = NULL, *msg = NULL;
	int rc = 0;
	if (!jobs) {
		berth_image_free(&img);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	/* chain IDs base first, jobs top first (docker's order) */
	char chain[BERTH_DIGEST_LEN + 1] = "";
	struct berth_layer_store *ls = berth_image_store_layers(p->o->images);
	for (size_t i = 0; i < n; i++) {
		const char *d = json_string_value(json_array_get(diffs, i));
		if (!d || !berth_digest_valid(d)) {
			rc = berth_err(err, BERTH_E_INVALID, "invalid diff ID in image %s", image_id);
			goto out;
		}
		struct layer_job *j = &jobs[n - 1 - i];
		j->p = p;
		memcpy(j->diff_id, d, sizeof(j->diff_id));
		berth_layer_chain_id(chain, d, j->chain_id);
		memcpy(chain, j->chain_id, sizeof(chain));
		snprintf(j->short_id, sizeof(j->short_id), "%.12s", berth_digest_hex(d));
		struct berth_layer_info li;
		j->size = berth_layer_get(ls, j->chain_id, &li, NULL) == 0 ? li.size : 0;
	}
	for (size_t i = 0; i < n; i++)
		emit_status(p, "Preparing", jobs[i].short_id);
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&jobs[i].th, NULL, layer_thread, &jobs[i]) != 0) {
			layer_thread(&jobs[i]); /* no thread: do it here */
			continue;
		}
		jobs[i].started = true;
	}
	/* the config while the layers go up (a few round trips off a small image's push) */
	struct berth_error cerr = {0};
	int ex = blob_exists(p, img.id, NULL, &cerr);
	int crc = ex < 0 || (ex == 0 && upload_blob(p, img.id, img.config, img.config_len, &cerr) < 0) ? -1 : 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].th, NULL);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].rc < 0) {
			*err = jobs[i].err;
			rc = -1;
			goto out;
		}
	if (crc < 0) {
		*err = cerr;
		rc = -1;
		goto out;
	}
	/* manifest */
	manifest = build_manifest(img.id, img.config_len, jobs, n);
	if (!manifest) {
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	char mdigest[BERTH_DIGEST_LEN + 1];
	size_t mlen = strlen(manifest);
	berth_sha256_digest(manifest, mlen, mdigest);
	url = path_url(p, "/manifests/%s", tag);
	const char *hdr[] = {"Content-Type: " MT_MANIFEST, NULL};
	struct berth_registry_request req = {
		.method = "PUT", .path = url, .headers = hdr, .body = manifest, .body_len = mlen};
	struct berth_registry_response resp;
	if (berth_registry_do(p->rc, &req, &resp, err) < 0) {
		rc = -1;
		goto out;
	}
	if (resp.status != 201 && resp.status != 200 && resp.status != 202) {
		rc = berth_registry_error_from(&resp, NULL, err);
		berth_registry_response_free(&resp);
		goto out;
	}
	berth_registry_response_free(&resp);
	/* the digest reference, as dockerd records it (RepoDigests) */
	struct berth_ref dref = p->ref;
	dref.tag[0] = '\0';
	snprintf(dref.digest, sizeof(dref.digest), "%s", mdigest);
	struct berth_error e2 = {0};
	if (berth_image_add_digest_reference(p->o->images, img.id, &dref, &e2) < 0 && p->o->log)
		berth_log(p->o->log, BERTH_LOG_WARN, "push: recording %s@%s: %s", p->full, mdigest, e2.msg);
	msg = berth_strdup_printf("%s: digest: %s size: %zu", tag, mdigest, mlen);
	emit_status(p, msg ? msg : "", NULL);
	emit(p, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag", tag, "Digest", mdigest, "Size",
			  (json_int_t)mlen));
out:
	free(jobs);
	berth_image_free(&img);
	return rc;
}

/* ---- entry ----------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Tags of the repository (familiar name) with their image IDs: "tag\0id" pairs in two vectors. */
static int repo_tags(struct push *p, const char *familiar, char ***tags, char ***ids, struct berth_error *err)
{
	*tags = NULL;
	*ids = NULL;
	json_t *f = json_pack("{s:{s:b}}", "reference", familiar, 1);
	json_t *list = f ? berth_image_list(p->o->images, f, false, err) : NULL;
	json_decref(f);
	if (!list)
		return -1;
	size_t flen = strlen(familiar), i;
	json_t *img;
	char **pairs = NULL;
	json_array_foreach(list, i, img) {
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(img, "RepoTags"), k, t) {
			const char *s = json_string_value(t);
			if (!s || strncmp(s, familiar, flen) != 0 || s[flen] != ':' || strchr(s + flen + 1, '/'))
				continue;
			cleanup_free char *pair = berth_strdup_printf("%s %s", s + flen + 1,
								      json_string_value(json_object_get(img, "Id")));
			if (pair)
				berth_strv_push(&pairs, pair);
		}
	}
	json_decref(list);
	size_t n = berth_strv_len(pairs);
	if (n)
		qsort(pairs, n, sizeof(char *), cmp_str);
	for (size_t k = 0; k < n; k++) {
		char *sp = strchr(pairs[k], ' ');
		*sp = '\0';
		berth_strv_push(tags, pairs[k]);
		berth_strv_push(ids, sp + 1);
	}
	berth_strv_free(pairs);
	return 0;
}

int berth_push(const struct berth_push_opts *o, const char *name, const char *tag, struct berth_error *err)
{
	struct push p = {.o = o};
	if (berth_ref_parse_normalized(name, &p.ref, err) < 0)
		return -1;
	if (tag && *tag && berth_ref_with_tag(&p.ref, tag, err) < 0)
		return -1;
	if (p.ref.digest[0])
		return berth_err(err, BERTH_E_INVALID, "cannot push a digest reference");
	char want_tag[BERTH_REF_TAG_MAX + 1];
	snprintf(want_tag, sizeof(want_tag), "%s", p.ref.tag);
	berth_ref_trim(&p.ref);
	p.full = berth_ref_name(&p.ref);
	cleanup_free char *familiar = berth_ref_familiar_name(&p.ref);
	if (!p.full || !familiar) {
		free(p.full);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	cleanup_free char *hello = berth_strdup_printf("The push refers to repository [%s]", p.full);
	pthread_mutex_init(&p.emit_mu, NULL);
	int slots = o->registry && o->registry->max_concurrent_uploads > 0 ? o->registry->max_concurrent_uploads :
									     BERTH_REGISTRY_DEFAULT_UPLOADS;
	sem_init(&p.slots, 0, (unsigned)slots);
	emit_status(&p, hello ? hello : "", NULL);
	char **tags = NULL, **ids = NULL;
	int rc = repo_tags(&p, familiar, &tags, &ids, err);
	if (rc < 0)
		goto out;
	if (!tags) {
		rc = berth_err(err, BERTH_E_NOT_FOUND, "An image does not exist locally with the tag: %s", familiar);
		goto out;
	}
	if (want_tag[0]) {
		size_t k = 0;
		while (tags[k] && strcmp(tags[k], want_tag))
			k++;
		if (!tags[k]) {
			rc = berth_err(err, BERTH_E_NOT_FOUND, "tag does not exist: %s:%s", familiar, want_tag);
			goto out;
		}
		char *t = strdup(tags[k]), *id = strdup(ids[k]);
		berth_strv_free(tags);
		berth_strv_free(ids);
		tags = ids = NULL;
		berth_strv_push(&tags, t);
		berth_strv_push(&ids, id);
		free(t);
		free(id);
	}
	p.rc = berth_registry_client_new(o->registry, p.ref.domain, p.ref.path, o->auth,
					 BERTH_REGISTRY_PULL | BERTH_REGISTRY_PUSH, err);
	if (!p.rc) {
		rc = -1;
		goto out;
	}
	for (size_t k = 0; tags && tags[k] && rc == 0; k++)
		rc = push_tag(&p, tags[k], ids[k], err);
out:
	berth_registry_client_free(p.rc);
	berth_strv_free(tags);
	berth_strv_free(ids);
	sem_destroy(&p.slots);
	pthread_mutex_destroy(&p.emit_mu);
	free(p.full);
	return rc;
}
