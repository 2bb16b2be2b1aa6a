/* Pull from a registry v2: manifest (list), config, layers in parallel into
 * the staging area, verified, then registered in order. */
#include "distribution/pull.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/util.h"
#include "distribution/authconfig.h"
#include "distribution/blobmeta.h"
#include "distribution/manifest.h"
#include "distribution/progress.h"
#include "distribution/sockpipe.h"
#include "image/reference.h"
#include "storage/layer_store.h"

#define MAX_ATTEMPTS 5
#define PROGRESS_NS (100 * 1000 * 1000LL)

enum job_state { J_QUEUED, J_RUNNING, J_DONE, J_FAILED };

struct job {
	struct berth_descriptor d;
	char diff_id[BERTH_DIGEST_LEN + 1];
	char chain[BERTH_DIGEST_LEN + 1];
	char short_id[13];
	bool present; /* chain ID already in the layer store */
	bool stream;  /* decompressed straight into the layer store, never staged */
	int dup_of;   /* index of an earlier job with the same blob, or -1 */
	enum job_state state;
	struct berth_error err;
};

struct pull {
	struct berth_pull_opts *o;
	struct berth_registry_client *cl;
	char *stage;    /* <data_root>/distribution */
	char *repo;     /* "path" on the registry */
	char *fullname; /* "host/path" for the blob metadata */
	pthread_mutex_t emit_mu;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs;
	size_t njobs, next;
	bool cancel;
	/* journal of held layer references (removed on success or failure) */
	int journal_fd;
	char *journal_path;
	char (*held)[BERTH_DIGEST_LEN + 1];
	size_t nheld;
};

static void emit_msg(struct pull *p, json_t *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&p->emit_mu);
	p->o->started = true;
	if (p->o->progress)
		p->o->progress(p->o->ctx, m);
	pthread_mutex_unlock(&p->emit_mu);
	json_decref(m);
}

static void emit(struct pull *p, const char *status, const char *id)
{
	emit_msg(p, berth_progress_msg(status, id, -1, 0));
}

static void emit_status(struct pull *p, const char *status, const char *id)
{
	json_t *m = json_pack("{s:s}", "status", status);
	if (m && id)
		json_object_set_new(m, "id", json_string(id));
	emit_msg(p, m);
}

/* ---- journal of held layers (crash safety) ------------------------------------ */

static int hold(struct pull *p, const char *chain, struct berth_error *err)
{
	void *nv = realloc(p->held, (p->nheld + 1) * sizeof(*p->held));
	if (!nv) {
		berth_layer_release(berth_image_store_layers(p->o->images), chain, NULL, NULL);
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	}
	p->held = nv;
	snprintf(p->held[p->nheld++], BERTH_DIGEST_LEN + 1, "%s", chain);
	if (p->journal_fd >= 0) {
		char line[BERTH_DIGEST_LEN + 2];
		int n = snprintf(line, sizeof(line), "%s\n", chain);
		if (berth_write_all(p->journal_fd, line, (size_t)n) < 0 || fdatasync(p->journal_fd) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "write %s", p->journal_path);
	}
	return 0;
}

static void release_held(struct pull *p)
{
	struct berth_layer_store *ls = berth_image_store_layers(p->o->images);
	for (size_t i = p->nheld; i-- > 0;)
		berth_layer_release(ls, p->held[i], NULL, NULL);
	p->nheld = 0;
}

static int journal_open(struct pull *p, struct berth_error *err)
{
	cleanup_free char *dir = berth_strdup_printf("%s/held", p->stage);
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char id[65];
	berth_random_id(id);
	p->journal_path = berth_strdup_printf("%s/%.16s.list", dir, id);
	p->journal_fd = open(p->journal_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
	if (p->journal_fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", p->journal_path);
	if (flock(p->journal_fd, LOCK_EX) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "lock %s", p->journal_path);
	return 0;
}

static void journal_close(struct pull *p)
{
	if (p->journal_fd >= 0) {
		unlink(p->journal_path);
		close(p->journal_fd);
	}
	p->journal_fd = -1;
	free(p->journal_path);
	p->journal_path = NULL;
}

/* Staged blobs nobody came back for within a day are dropped. */
static void drop_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	time_t now = time(NULL);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < 24 * 3600)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) /* not being downloaded */
			unlinkat(dirfd(d), de->d_name, 0);
		close(fd);
	}
	closedir(d);
}

void berth_pull_recover(struct berth_image_store *images, const char *data_root)
{
	{
		cleanup_free char *partial = berth_strdup_printf("%s/distribution/partial", data_root);
		cleanup_free char *blobs = berth_strdup_printf("%s/distribution/blobs", data_root);
		if (partial)
			drop_stale(partial);
		if (blobs)
			drop_stale(blobs);
	}
	cleanup_free char *dir = berth_strdup_printf("%s/distribution/held", data_root);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!berth_str_has_suffix(de->d_name, ".list"))
			continue;
		cleanup_free char *path = berth_strdup_printf("%s/%s", dir, de->d_name);
		cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a running pull owns it */
		char *data = NULL;
		size_t len = 0;
		if (berth_read_file(path, &data, &len, 1 << 20, NULL) == 0) {
			char *save = NULL;
			for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (berth_digest_valid(l))
					berth_layer_release(berth_image_store_layers(images), l, NULL, NULL);
		}
		free(data);
		unlink(path);
	}
	closedir(d);
}

/* ---- blob download ---------------------------------------------------------- */

struct blob_ctx {
	struct pull *p;
	struct job *j;
	int fd;
	struct berth_sha256 *sha;
	int64_t written;
	int64_t last_ns;
	struct berth_error *err;
};

static int blob_data(void *ctx, const void *buf, size_t len)
{
	struct blob_ctx *b = ctx;
	if (__atomic_load_n(&b->p->cancel, __ATOMIC_RELAXED))
		return berth_err(b->err, BERTH_E_INTERNAL, "pull canceled");
	if (b->written + (int64_t)len > b->j->d.size)
		return berth_err(b->err, BERTH_E_INVALID, "blob %s is larger than its descriptor (%lld bytes)",
				 b->j->d.digest, (long long)b->j->d.size);
	if (berth_write_all(b->fd, buf, len) < 0)
		return berth_err_sys(b->err, BERTH_E_INTERNAL, errno, "write blob %s", b->j->d.digest);
	berth_sha256_update(b->sha, buf, len);
	b->written += (int64_t)len;
	int64_t now = berth_now_ns();
	if (now - b->last_ns >= PROGRESS_NS || b->written == b->j->d.size) {
		b->last_ns = now;
		emit_msg(b->p, berth_progress_msg("Downloading", b->j->short_id, b->written, b->j->d.size));
	}
	return 0;
}

static char *blob_path(struct pull *p, const char *sub, const char *digest)
{
	return berth_strdup_printf("%s/%s/%s", p->stage, sub, berth_digest_hex(digest));
}

/* Hash the first `len` bytes already in fd. */
static int rehash(int fd, int64_t len, struct berth_sha256 *sha)
{
	char buf[65536];
	int64_t off = 0;
	while (off < len) {
		size_t want = (size_t)(len - off < (int64_t)sizeof(buf) ? len - off : (int64_t)sizeof(buf));
		ssize_t n = pread(fd, buf, want, off);
		if (n <= 0)
			return -1;
		berth_sha256_update(sha, buf, (size_t)n);
		off += n;
	}
	return 0;
}

/* One attempt. *retry says whether another attempt may help. */
static int download_once(struct pull *p, struct job *j, bool *retry, struct berth_error *err)
{
	*retry = false;
	cleanup_free char *final = blob_path(p, "blobs", j->d.digest);
	cleanup_free char *partial = blob_path(p, "partial", j->d.digest);
	cleanup_close int fd = -1;
	struct stat st, pst;
	for (;;) {
		fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", partial);
		if (flock(fd, LOCK_EX) < 0) /* another pull of the same blob finishes first */
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "lock %s", partial);
		/* the other pull may have renamed the file we waited on: open the path again */
		if (fstat(fd, &st) == 0 && stat(partial, &pst) == 0 && st.st_ino == pst.st_ino &&
		    st.st_dev == pst.st_dev)
			break;
		close(fd);
		fd = -1;
		if (stat(final, &st) == 0 && st.st_size == j->d.size)
			return 0;
	}
	if (stat(final, &st) == 0 && st.st_size == j->d.size)
		return 0;
	if (fstat(fd, &st) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "stat %s", partial);
	int64_t off = st.st_size;
	if (off > j->d.size) {
		if (ftruncate(fd, 0) < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "truncate %s", partial);
		off = 0;
	}
	struct berth_sha256 *sha = berth_sha256_new();
	if (!sha)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (rehash(fd, off, sha) < 0 || lseek(fd, off, SEEK_SET) < 0) {
		berth_sha256_free(sha);
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "read %s", partial);
	}
	struct berth_error e = {0};
	struct blob_ctx b = {.p = p, .j = j, .fd = fd, .sha = sha, .written = off, .err = &e};
	if (off < j->d.size) {
		cleanup_free char *path = berth_strdup_printf("/v2/%s/blobs/%s", p->repo, j->d.digest);
		struct berth_registry_request req = {
			.method = "GET", .path = path, .range_start = off, .on_data = blob_data, .ctx = &b};
		struct berth_registry_response resp;
		if (berth_registry_do(p->cl, &req, &resp, &e) < 0) {
			berth_sha256_free(sha);
			*retry = e.kind == BERTH_E_UNAVAILABLE || (e.kind == BERTH_E_INTERNAL && !p->cancel);
			if (err)
				*err = e;
			return -1;
		}
		if (resp.status < 200 || resp.status >= 300) {
			berth_sha256_free(sha);
			*retry = resp.status >= 500 || resp.status == 429 || resp.status == 408;
			cleanup_free char *pre = berth_strdup_printf("error pulling blob %s", j->d.digest);
			berth_registry_error_from(&resp, pre, err);
			berth_registry_response_free(&resp);
			return -1;
		}
		berth_registry_response_free(&resp);
	}
	if (b.written != j->d.size) {
		berth_sha256_free(sha);
		*retry = true;
		return berth_err(err, BERTH_E_UNAVAILABLE, "unexpected EOF pulling blob %s (%lld of %lld bytes)",
				 j->d.digest, (long long)b.written, (long long)j->d.size);
	}
	emit(p, "Verifying Checksum", j->short_id);
	char got[BERTH_DIGEST_LEN + 1];
	berth_sha256_final(sha, got);
	if (strcmp(got, j->d.digest) != 0) {
		unlink(partial); /* bad bytes: never resumed */
		return berth_err(err, BERTH_E_INVALID, "filesystem layer verification failed for digest %s",
				 j->d.digest);
	}
	if (fsync(fd) < 0 || rename(partial, final) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "store blob %s", final);
	return 0;
}

/* "Retrying in N seconds" after a failed attempt; false when no retry is due. */
static bool retry_wait(struct pull *p, struct job *j, int attempt, bool retry)
{
	if (!retry || attempt >= MAX_ATTEMPTS || __atomic_load_n(&p->cancel, __ATOMIC_RELAXED))
		return false;
	for (int s = attempt * 2; s > 0 && !__atomic_load_n(&p->cancel, __ATOMIC_RELAXED); s--) {
		char msg[64];
		snprintf(msg, sizeof(msg), "Retrying in %d second%s", s, s == 1 ? "" : "s");
		emit(p, msg, j->short_id);
		sleep(1);
	}
	return !__atomic_load_n(&p->cancel, __ATOMIC_RELAXED);
}

static int download(struct pull *p, struct job *j, struct berth_error *err)
{
	for (int attempt = 1;; attempt++) {
		bool retry = false;
		struct berth_error e = {0};
		if (download_once(p, j, &retry, &e) == 0) {
			emit(p, "Download complete", j->short_id);
			return 0;
		}
		if (!retry_wait(p, j, attempt, retry)) {
			if (err)
				*err = e;
			return -1;
		}
	}
}

static void *worker(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next < p->njobs &&
		       (p->jobs[p->next].present || p->jobs[p->next].dup_of >= 0 || p->jobs[p->next].state != J_QUEUED))
			p->next++;
		if (p->cancel || p->next >= p->njobs) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		struct job *j = &p->jobs[p->next++];
		j->state = J_RUNNING;
		pthread_mutex_unlock(&p->mu);
		struct berth_error e = {0};
		int rc = download(p, j, &e);
		pthread_mutex_lock(&p->mu);
		j->state = rc < 0 ? J_FAILED : J_DONE;
		j->err = e;
		if (rc < 0)
			p->cancel = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* ---- small fetches (manifests, configs) ------------------------------------------ */

/* GET a manifest or blob into memory, verifying digest when given. */
static int fetch_small(struct pull *p, const char *kind, const char *ref, const char *digest, size_t max, char **body,
		       size_t *len, char **ctype, char out_digest[BERTH_DIGEST_LEN + 1],
		       struct berth_registry_response *status_out, struct berth_error *err)
{
	cleanup_free char *path = berth_strdup_printf("/v2/%s/%s/%s", p->repo, kind, ref);
	const char *hdrs[] = {BERTH_MANIFEST_ACCEPT, NULL};
	struct berth_registry_request req = {.method = "GET", .path = path, .headers = hdrs, .max_body = max};
	struct berth_registry_response resp;
	if (berth_registry_do(p->cl, &req, &resp, err) < 0)
		return -1;
	if (resp.status < 200 || resp.status >= 300) {
		*status_out = resp;
		return 1;
	}
	char d[BERTH_DIGEST_LEN + 1];
	berth_sha256_digest(resp.body ? resp.body : "", resp.body_len, d);
	if (digest && strcmp(d, digest) != 0) {
		berth_registry_response_free(&resp);
		return berth_err(err, BERTH_E_INVALID, "%s verification failed for digest %s",
				 strcmp(kind, "blobs") ? "manifest" : "blob", digest);
	}
	if (out_digest)
		snprintf(out_digest, BERTH_DIGEST_LEN + 1, "%s", d);
	*body = resp.body ? resp.body : strdup("");
	*len = resp.body_len;
	resp.body = NULL;
	if (ctype)
		*ctype = steal_ptr(resp.content_type);
	berth_registry_response_free(&resp);
	return 0;
}

/* ---- streaming: registry -> sha256 -> decompressor -> layer store ------------------
 *
 * A layer whose turn to be registered has come and that no download worker
 * took yet is not staged: a producer thread GETs it (resuming by Range after a
 * broken connection) and hashes the compressed bytes on their way into a
 * socketpair; the layer store reads the other end through the decompressor,
 * which hashes the diff ID. The reader reports end of stream only once the
 * compressed digest was checked, so a mismatch fails the registration and the
 * half-applied layer is discarded by the layer store. */

struct stream {
	struct pull *p;
	struct job *j;
	struct berth_sockpipe sp;
	struct berth_sha256 *sha;
	int64_t written, last_ns;
	bool stop;               /* the layer store is done reading: no retry */
	struct berth_error *cur; /* error of the current attempt */
	int rc;                  /* the producer's result */
	struct berth_error err;
};

static int stream_data(void *ctx, const void *buf, size_t len)
{
	struct stream *s = ctx;
	const struct job *j = s->j;
	if (__atomic_load_n(&s->p->cancel, __ATOMIC_RELAXED) || __atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		return berth_err(s->cur, BERTH_E_INTERNAL, "pull canceled");
	if (s->written + (int64_t)len > j->d.size)
		return berth_err(s->cur, BERTH_E_INVALID, "blob %s is larger than its descriptor (%lld bytes)",
				 j->d.digest, (long long)j->d.size);
	berth_sha256_update(s->sha, buf, len);
	if (berth_sockpipe_send(&s->sp, buf, len) < 0) {
		__atomic_store_n(&s->stop, true, __ATOMIC_RELAXED);
		return berth_err_sys(s->cur, BERTH_E_INTERNAL, errno, "extract layer %s", j->d.digest);
	}
	s->written += (int64_t)len;
	int64_t now = berth_now_ns();
	if (now - s->last_ns >= PROGRESS_NS || s->written == j->d.size) {
		s->last_ns = now;
		emit_msg(s->p, berth_progress_msg("Downloading", j->short_id, s->written, j->d.size));
	}
	return 0;
}

static void *stream_producer(void *arg)
{
	struct stream *s = arg;
	struct pull *p = s->p;
	struct job *j = s->j;
	cleanup_free char *path = berth_strdup_printf("/v2/%s/blobs/%s", p->repo, j->d.digest);
	for (int attempt = 1;; attempt++) {
		struct berth_error e = {0};
		bool retry = false;
		s->cur = &e;
		struct berth_registry_request req = {
			.method = "GET", .path = path, .range_start = s->written, .on_data = stream_data, .ctx = s};
		struct berth_registry_response resp;
		int r = berth_registry_do(p->cl, &req, &resp, &e);
		if (r == 0) {
			if (resp.status < 200 || resp.status >= 300) {
				retry = resp.status >= 500 || resp.status == 429 || resp.status == 408;
				cleanup_free char *pre = berth_strdup_printf("error pulling blob %s", j->d.digest);
				berth_registry_error_from(&resp, pre, &e);
				r = -1;
			} else if (s->written != j->d.size) {
				retry = true;
				r = berth_err(&e, BERTH_E_UNAVAILABLE,
					      "unexpected EOF pulling blob %s (%lld of %lld bytes)", j->d.digest,
					      (long long)s->written, (long long)j->d.size);
			}
			berth_registry_response_free(&resp);
		} else {
			retry = e.kind == BERTH_E_UNAVAILABLE || (e.kind == BERTH_E_INTERNAL && !p->cancel);
		}
		if (r == 0)
			break;
		if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED) || !retry_wait(p, j, attempt, retry)) {
			s->err = e;
			s->rc = -1;
			goto done;
		}
	}
	emit(p, "Verifying Checksum", j->short_id);
	char got[BERTH_DIGEST_LEN + 1];
	berth_sha256_final(s->sha, got);
	s->sha = NULL; /* freed by final */
	if (strcmp(got, j->d.digest) != 0) {
		s->rc = berth_err(&s->err, BERTH_E_INVALID, "filesystem layer verification failed for digest %s",
				  j->d.digest);
		goto done;
	}
	emit(p, "Download complete", j->short_id);
done:
	berth_sockpipe_done(&s->sp); /* the reader sees the end */
	return NULL;
}

/* End of stream only after the producer checked the digest; its failure is EIO. */
static ssize_t stream_read(void *ctx, void *buf, size_t len)
{
	struct stream *s = ctx;
	bool ended = false;
	ssize_t n = berth_sockpipe_read(&s->sp, buf, len, &ended);
	if (ended)
		emit_msg(s->p, berth_progress_msg("Extracting", s->j->short_id, s->j->d.size, s->j->d.size));
	return n;
}

static int register_streamed(struct pull *p, struct job *j, const char *parent, struct berth_layer_info *li,
			     struct berth_error *err)
{
	struct stream s = {.p = p, .j = j, .sha = berth_sha256_new()};
	int rc = -1;
	if (!s.sha) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return -1;
	}
	if (berth_sockpipe_start(&s.sp, stream_producer, &s, &s.rc, err) < 0)
		goto out;
	struct berth_reader rd = {stream_read, &s};
	struct berth_error e = {0};
	rc = berth_layer_register(berth_image_store_layers(p->o->images), parent[0] ? parent : NULL, &rd, j->diff_id,
				  li, &e);
	/* a registration that gave up early stops the producer: its send fails */
	__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	berth_sockpipe_close(&s.sp);
	if (rc == 0 && s.rc < 0) { /* not expected: the store reads to the end */
		berth_layer_release(berth_image_store_layers(p->o->images), li->chain_id, NULL, NULL);
		rc = -1;
	}
	if (rc < 0 && err)
		*err = s.rc < 0 ? s.err : e; /* a failed download is the cause */
out:
	berth_sockpipe_close(&s.sp);
	berth_sha256_free(s.sha);
	return rc;
}

/* Whether layer i is streamed: claimed here when no worker took it yet. */
static bool claim_stream(struct pull *p, size_t i)
{
	struct job *j = &p->jobs[i];
	pthread_mutex_lock(&p->mu);
	if (j->dup_of >= 0) {
		if (p->jobs[j->dup_of].stream) /* nothing staged to read again */
			j->stream = true;
	} else if (j->state == J_QUEUED) {
		j->state = J_RUNNING;
		j->stream = true;
	}
	bool stream = j->stream;
	pthread_mutex_unlock(&p->mu);
	return stream;
}

static void stream_done(struct pull *p, struct job *j, int rc, const struct berth_error *err)
{
	pthread_mutex_lock(&p->mu);
	j->state = rc < 0 ? J_FAILED : J_DONE;
	if (rc < 0 && err)
		j->err = *err;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ---- extraction ------------------------------------------------------------ */

struct extract_rd {
	struct pull *p;
	struct job *j;
	int fd;
	int64_t done, last_ns;
};

static ssize_t extract_read(void *ctx, void *buf, size_t len)
{
	struct extract_rd *x = ctx;
	ssize_t n;
	do
		n = read(x->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		x->done += n;
		int64_t now = berth_now_ns();
		if (now - x->last_ns >= PROGRESS_NS || x->done == x->j->d.size) {
			x->last_ns = now;
			emit_msg(x->p, berth_progress_msg("Extracting", x->j->short_id, x->done, x->j->d.size));
		}
	}
	return n;
}

static int extract(struct pull *p, struct job *j, const char *parent, struct berth_error *err)
{
	struct berth_layer_store *ls = berth_image_store_layers(p->o->images);
	const struct job *src = j->dup_of >= 0 ? &p->jobs[j->dup_of] : j;
	struct berth_layer_info li;
	if (berth_layer_get(ls, j->chain, &li, NULL) == 0 && berth_layer_ref(ls, j->chain, NULL) == 0) {
		/* a concurrent pull registered it meanwhile */
		if (hold(p, j->chain, err) < 0)
			return -1;
		emit(p, "Pull complete", j->short_id);
		return 0;
	}
	if (j->stream) {
		if (register_streamed(p, j, parent, &li, err) < 0)
			return -1;
	} else {
		cleanup_free char *path = blob_path(p, "blobs", src->d.digest);
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", path);
		struct extract_rd x = {.p = p, .j = j, .fd = fd};
		struct berth_reader rd = {extract_read, &x};
		if (berth_layer_register(ls, parent[0] ? parent : NULL, &rd, j->diff_id, &li, err) < 0)
			return -1;
	}
	if (strcmp(li.chain_id, j->chain) != 0) {
		berth_layer_release(ls, li.chain_id, NULL, NULL);
		return berth_err(err, BERTH_E_INVALID, "invalid diffID for layer: expected %s, got %s", j->diff_id,
				 li.diff_id);
	}
	if (hold(p, j->chain, err) < 0)
		return -1;
	emit(p, "Pull complete", j->short_id);
	if (p->o->db)
		berth_blobmeta_add(p->o->db, j->diff_id, src->d.digest, src->d.media_type, src->d.size, p->fullname,
				   NULL);
	return 0;
}

/* ---- one manifest ---------------------------------------------------------------- */

static int wait_job(struct pull *p, size_t i, struct berth_error *err)
{
	struct job *j = &p->jobs[p->jobs[i].dup_of >= 0 ? (size_t)p->jobs[i].dup_of : i];
	pthread_mutex_lock(&p->mu);
	while (j->state != J_DONE && j->state != J_FAILED && !(p->cancel && j->state == J_QUEUED))
		pthread_cond_wait(&p->cv, &p->mu);
	int rc = 0;
	if (j->state != J_DONE) {
		if (err) {
			if (j->state == J_FAILED) {
				*err = j->err;
			} else {
				/* canceled: report the job that failed */
				berth_err(err, BERTH_E_INTERNAL, "pull canceled");
				for (size_t k = 0; k < p->njobs; k++)
					if (p->jobs[k].state == J_FAILED) {
						*err = p->jobs[k].err;
						break;
					}
			}
		}
		rc = -1;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int pull_layers(struct pull *p, const struct berth_manifest *m, const json_t *diff_ids, struct berth_error *err)
{
	struct berth_layer_store *ls = berth_image_store_layers(p->o->images);
	p->njobs = m->nlayers;
	p->next = 0;
	p->cancel = false;
	p->jobs = calloc(m->nlayers ? m->nlayers : 1, sizeof(*p->jobs));
	if (!p->jobs)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char parent[BERTH_DIGEST_LEN + 1] = "";
	size_t todo = 0;
	for (size_t i = 0; i < m->nlayers; i++) {
		struct job *j = &p->jobs[i];
		j->d = m->layers[i];
		j->dup_of = -1;
		snprintf(j->diff_id, sizeof(j->diff_id), "%s", json_string_value(json_array_get(diff_ids, i)));
		snprintf(j->short_id, sizeof(j->short_id), "%.12s", berth_digest_hex(j->d.digest));
		berth_layer_chain_id(parent[0] ? parent : NULL, j->diff_id, j->chain);
		snprintf(parent, sizeof(parent), "%s", j->chain);
		struct berth_layer_info li;
		j->present = berth_layer_get(ls, j->chain, &li, NULL) == 0;
		for (size_t k = 0; k < i && !j->present; k++)
			if (!p->jobs[k].present && p->jobs[k].dup_of < 0 && !strcmp(p->jobs[k].d.digest, j->d.digest))
				j->dup_of = (int)k;
		if (!j->present && j->dup_of < 0)
			todo++;
		emit(p, j->present ? "Already exists" : "Pulling fs layer", j->short_id);
	}
	int slots = p->o->cfg && p->o->cfg->max_concurrent_downloads > 0 ? p->o->cfg->max_concurrent_downloads :
									   BERTH_REGISTRY_DEFAULT_DOWNLOADS;
	/* the first layer to fetch streams into the layer store (one download
	 * slot); the workers stage the layers after it meanwhile */
	for (size_t i = 0; i < m->nlayers; i++)
		if (!p->jobs[i].present && p->jobs[i].dup_of < 0) {
			p->jobs[i].stream = true;
			p->jobs[i].state = J_RUNNING;
			break;
		}
	int nworkers = slots - 1;
	if (todo == 0 || (size_t)nworkers > todo - 1)
		nworkers = todo ? (int)todo - 1 : 0;
	size_t started = 0;
	for (size_t i = 0; i < m->nlayers; i++) {
		struct job *j = &p->jobs[i];
		if (j->present || j->dup_of >= 0)
			continue;
		if (started++ >= (size_t)slots)
			emit(p, "Waiting", j->short_id);
	}
	pthread_t th[64];
	int nth = 0;
	for (; nth < nworkers && nth < 64; nth++)
		if (pthread_create(&th[nth], NULL, worker, p) != 0)
			break;
	int rc = 0;
	if (nworkers > 0 && nth == 0)
		rc = berth_err(err, BERTH_E_INTERNAL, "cannot start download threads");
	parent[0] = '\0';
	for (size_t i = 0; i < m->nlayers && rc == 0; i++) {
		struct job *j = &p->jobs[i];
		if (j->present) {
			if (berth_layer_ref(ls, j->chain, err) < 0 || hold(p, j->chain, err) < 0)
				rc = -1;
		} else if (claim_stream(p, i)) {
			rc = extract(p, j, parent, err);
			stream_done(p, j, rc, err);
		} else if (wait_job(p, i, err) < 0 || extract(p, j, parent, err) < 0) {
			rc = -1;
		}
		snprintf(parent, sizeof(parent), "%s", j->chain);
	}
	pthread_mutex_lock(&p->mu);
	if (rc < 0)
		p->cancel = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int t = 0; t < nth; t++)
		pthread_join(th[t], NULL);
	if (rc == 0) /* verified blobs of this pull are in the layer store now */
		for (size_t i = 0; i < m->nlayers; i++)
			if (!p->jobs[i].present && p->jobs[i].dup_of < 0) {
				cleanup_free char *path = blob_path(p, "blobs", p->jobs[i].d.digest);
				unlink(path);
			}
	free(p->jobs);
	p->jobs = NULL;
	return rc;
}

static int check_config(const json_t *cfg, const struct berth_manifest *m, struct berth_error *err)
{
	const char *os = json_string_value(json_object_get(cfg, "os"));
	if (os && *os && strcmp(os, "linux"))
		return berth_err(err, BERTH_E_INVALID, "image operating system \"%s\" cannot be used on this platform",
				 os);
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != m->nlayers)
		return berth_err(err, BERTH_E_INVALID, "layers from manifest don't match image configuration");
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		if (!berth_digest_valid(json_string_value(v)))
			return berth_err(err, BERTH_E_INVALID, "invalid image configuration: bad diff ID");
	return 0;
}

/* Pull one reference (tag or digest). *updated: new image or moved tag. */
static int pull_one(struct pull *p, struct berth_ref *ref, bool *updated, struct berth_error *err)
{
	*updated = false;
	cleanup_free char *fam = berth_ref_familiar_string(ref);
	const char *refpart = ref->digest[0] ? ref->digest : ref->tag;
	cleanup_free char *body = NULL, *ctype = NULL;
	size_t len = 0;
	char top_digest[BERTH_DIGEST_LEN + 1];
	struct berth_registry_response bad;
	int r = fetch_small(p, "manifests", refpart, ref->digest[0] ? ref->digest : NULL, BERTH_REGISTRY_MAX_MANIFEST,
			    &body, &len, &ctype, top_digest, &bad, err);
	if (r < 0) {
		if (err && !strcmp(err->msg, BERTH_REGISTRY_NO_BASIC_CREDENTIALS)) /* dockerd: Go's url.Error */
			berth_err_prefix(err, "Head \"%s/v2/%s/manifests/%s\"", berth_registry_client_base(p->cl),
					 p->repo, refpart);
		return -1;
	}
	if (r > 0) {
		cleanup_free char *pre = berth_strdup_printf("manifest for %s not found", fam);
		if (bad.status == 404) {
			berth_registry_error_from(&bad, pre, err);
		} else {
			cleanup_free char *name = berth_ref_familiar_name(ref);
			cleanup_free char *pre2 = berth_strdup_printf(
				"Head \"%s/v2/%s/manifests/%s\"", berth_registry_client_base(p->cl), p->repo, refpart);
			berth_registry_error_from(&bad, bad.status == 401 || bad.status == 403 ? NULL : pre2, err);
			if (bad.status == 401 || bad.status == 403) {
				berth_err_prefix(err,
						 "pull access denied for %s, repository does not exist or may require "
						 "'docker login'",
						 name);
				if (err)
					err->kind = BERTH_E_NOT_FOUND; /* dockerd: 404 */
			}
		}
		berth_registry_response_free(&bad);
		return -1;
	}
	struct berth_manifest m;
	if (berth_manifest_parse(body, len, ctype, fam, &m, err) < 0)
		return -1;
	struct berth_platform want;
	if (berth_platform_parse(p->o->platform, &want, err) < 0) {
		berth_manifest_free(&m);
		return -1;
	}
	if (m.kind == BERTH_MANIFEST_INDEX) {
		int sel = berth_manifest_select(&m, &want, err);
		if (sel < 0) {
			berth_manifest_free(&m);
			return -1;
		}
		char d[BERTH_DIGEST_LEN + 1];
		snprintf(d, sizeof(d), "%s", m.entries[sel].d.digest);
		berth_manifest_free(&m);
		free(body);
		free(ctype);
		body = ctype = NULL;
		r = fetch_small(p, "manifests", d, d, BERTH_REGISTRY_MAX_MANIFEST, &body, &len, &ctype, NULL, &bad,
				err);
		if (r > 0) {
			berth_registry_error_from(&bad, NULL, err);
			berth_registry_response_free(&bad);
		}
		if (r != 0)
			return -1;
		if (berth_manifest_parse(body, len, ctype, fam, &m, err) < 0)
			return -1;
		if (m.kind != BERTH_MANIFEST_IMAGE) {
			berth_manifest_free(&m);
			return berth_err(err, BERTH_E_INVALID,
					 "invalid manifest: a manifest list inside a manifest list");
		}
	}
	{
		cleanup_free char *msg = berth_strdup_printf("Pulling from %s", p->repo);
		emit_status(p, msg, refpart);
	}
	int rc = -1;
	cleanup_free char *cfg_body = NULL;
	size_t cfg_len = 0;
	json_t *cfg = NULL;
	if (m.config.size > BERTH_MAX_CONFIG_SIZE) {
		berth_err(err, BERTH_E_INVALID, "image config %s is too large (%lld bytes)", m.config.digest,
			  (long long)m.config.size);
		goto out;
	}
	r = fetch_small(p, "blobs", m.config.digest, m.config.digest, BERTH_MAX_CONFIG_SIZE, &cfg_body, &cfg_len, NULL,
			NULL, &bad, err);
	if (r > 0) {
		cleanup_free char *pre = berth_strdup_printf("error pulling image configuration %s", m.config.digest);
		berth_registry_error_from(&bad, pre, err);
		berth_registry_response_free(&bad);
	}
	if (r != 0)
		goto out;
	cfg = json_loadb(cfg_body, cfg_len, 0, NULL);
	if (!json_is_object(cfg)) {
		berth_err(err, BERTH_E_INVALID, "invalid image configuration %s: not a JSON object", m.config.digest);
		goto out;
	}
	if (check_config(cfg, &m, err) < 0)
		goto out;
	const char *image_id = m.config.digest;
	bool existed = berth_image_exists(p->o->images, image_id);
	if (!existed) {
		if (journal_open(p, err) < 0)
			goto out;
		if (pull_layers(p, &m, json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), err) < 0) {
			release_held(p);
			journal_close(p);
			goto out;
		}
		char id[BERTH_DIGEST_LEN + 1];
		bool created = false;
		if (berth_image_create(p->o->images, cfg_body, cfg_len, NULL, id, &created, err) < 0) {
			release_held(p);
			journal_close(p);
			goto out;
		}
		release_held(p); /* the image holds its top layer now */
		journal_close(p);
		*updated = true;
	}
	/* references: name@digest (RepoDigests) and the tag */
	struct berth_ref dref = *ref;
	dref.tag[0] = '\0';
	snprintf(dref.digest, sizeof(dref.digest), "%s", top_digest);
	if (berth_image_add_digest_reference(p->o->images, image_id, &dref, err) < 0)
		goto out;
	if (ref->tag[0] && !ref->digest[0]) {
		char previous[BERTH_DIGEST_LEN + 1] = "", cur[BERTH_DIGEST_LEN + 1] = "";
		cleanup_free char *full = berth_ref_string(ref);
		if (!full || berth_image_resolve(p->o->images, full, cur, NULL) < 0 || strcmp(cur, image_id) != 0)
			*updated = true;
		if (berth_image_tag_reference(p->o->images, image_id, ref, previous, err) < 0)
			goto out;
	}
	{
		cleanup_free char *msg = berth_strdup_printf("Digest: %s", top_digest);
		emit_status(p, msg, NULL);
	}
	{
		cleanup_free char *name = berth_ref_string(ref);
		berth_image_event(p->o->images, image_id, fam ? fam : name, "pull");
	}
	rc = 0;
out:
	json_decref(cfg);
	berth_manifest_free(&m);
	return rc;
}

static bool is_digest_tag(const char *t) { return strchr(t, ':') != NULL; }

int berth_pull(struct berth_pull_opts *o, struct berth_error *err)
{
	o->started = false;
	struct berth_ref ref;
	if (berth_ref_parse_normalized(o->from_image, &ref, err) < 0)
		return -1;
	if (o->tag && *o->tag) {
		if (is_digest_tag(o->tag)) {
			if (!berth_digest_valid(o->tag))
				return berth_err(err, BERTH_E_INVALID, "invalid reference format");
			snprintf(ref.digest, sizeof(ref.digest), "%s", o->tag);
			ref.tag[0] = '\0';
		} else if (berth_ref_with_tag(&ref, o->tag, err) < 0) {
			return -1;
		}
	}
	if (ref.digest[0] && !berth_digest_valid(ref.digest))
		return berth_err(err, BERTH_E_INVALID, "unsupported digest algorithm");
	berth_pull_recover(o->images, o->data_root);
	if (o->db)
		berth_blobmeta_init(o->db, NULL);
	struct pull p = {.o = o, .journal_fd = -1};
	pthread_mutex_init(&p.emit_mu, NULL);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.stage = berth_strdup_printf("%s/distribution", o->data_root);
	p.repo = strdup(ref.path);
	p.fullname = berth_ref_name(&ref);
	int rc = -1;
	cleanup_free char *d1 = berth_strdup_printf("%s/blobs", p.stage);
	cleanup_free char *d2 = berth_strdup_printf("%s/partial", p.stage);
	if (!p.stage || !p.repo || !p.fullname || !d1 || !d2) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		goto out;
	}
	if (berth_mkdir_p(d1, 0700, err) < 0 || berth_mkdir_p(d2, 0700, err) < 0)
		goto out;
	p.cl = berth_registry_client_new(o->cfg, ref.domain, ref.path, o->auth, BERTH_REGISTRY_PULL, err);
	if (!p.cl)
		goto out;
	bool updated = false;
	if (ref.tag[0] || ref.digest[0]) {
		if (pull_one(&p, &ref, &updated, err) < 0)
			goto out;
		cleanup_free char *fam = berth_ref_familiar_string(&ref);
		cleanup_free char *msg = berth_strdup_printf(
			"Status: %s for %s", updated ? "Downloaded newer image" : "Image is up to date", fam);
		emit_status(&p, msg, NULL);
	} else {
		/* all tags (docker pull -a) */
		cleanup_free char *path = berth_strdup_printf("/v2/%s/tags/list", ref.path);
		struct berth_registry_request req = {.method = "GET", .path = path};
		struct berth_registry_response resp;
		if (berth_registry_do(p.cl, &req, &resp, err) < 0)
			goto out;
		if (resp.status != 200) {
			berth_registry_error_from(&resp, NULL, err);
			berth_registry_response_free(&resp);
			goto out;
		}
		cleanup_json json_t *tl = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
		berth_registry_response_free(&resp);
		json_t *tags = json_object_get(tl, "tags");
		size_t i;
		json_t *t;
		bool any = false;
		json_array_foreach(tags, i, t) {
			struct berth_ref tr = ref;
			if (!json_is_string(t) || berth_ref_with_tag(&tr, json_string_value(t), NULL) < 0)
				continue;
			bool u = false;
			if (pull_one(&p, &tr, &u, err) < 0)
				goto out;
			updated |= u;
			any = true;
		}
		if (!any) {
			cleanup_free char *name = berth_ref_familiar_name(&ref);
			berth_err(err, BERTH_E_NOT_FOUND, "no tags found for %s", name);
			goto out;
		}
		cleanup_free char *fam = berth_ref_familiar_name(&ref);
		cleanup_free char *msg = berth_strdup_printf(
			"Status: %s for %s", updated ? "Downloaded newer image" : "Image is up to date", fam);
		emit_status(&p, msg, NULL);
	}
	rc = 0;
out:
	berth_registry_client_free(p.cl);
	free(p.stage);
	free(p.repo);
	free(p.fullname);
	free(p.held);
	pthread_mutex_destroy(&p.emit_mu);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	return rc;
}
