/* Parallel gzip writer (compress.h). */
#include "storage/compress.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define DICT (32 * 1024)
#define PROBE 8192
#define MAX_THREADS 8
#define MAX_RING (2 * MAX_THREADS + 2)

enum job_state { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct gz_job {
	unsigned char *in; /* DICT bytes of room for the dictionary, then the block */
	size_t dict_len, len;
	bool last;
	unsigned char *out;
	size_t out_len, out_cap;
	uLong crc;
	enum job_state state;
};

/* One thread's deflate streams: [0] at the level, [1] stored, [2] the level-1 probe. */
struct deflater {
	z_stream zs[3];
	bool init[3];
	unsigned char probe_out[PROBE + 256];
};

struct berth_gzip_writer {
	int level;
	struct berth_writer out;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct gz_job ring[MAX_RING]; /* in flight: ring[head] .. ring[head + count - 1] */
	size_t nring, head, count;
	struct gz_job *cur; /* being filled (not counted) */
	pthread_t th[MAX_THREADS];
	int nth;
	bool quit, failed, header_done;
	struct deflater *inline_d; /* no worker threads */
	unsigned char dict[DICT];  /* the last DICT bytes written so far */
	size_t dict_len;
	uLong crc;
	uint64_t isize;
};

static int deflater_stream(struct deflater *d, int k, int level)
{
	static const int lv_of[3] = {-1, 0, 1};
	if (!d->init[k]) {
		if (deflateInit2(&d->zs[k], k == 0 ? level : lv_of[k], Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		d->init[k] = true;
	} else if (deflateReset(&d->zs[k]) != Z_OK) {
		return -1;
	}
	return 0;
}

static void deflater_free(struct deflater *d)
{
	if (!d)
		return;
	for (int k = 0; k < 3; k++)
		if (d->init[k])
			deflateEnd(&d->zs[k]);
	free(d);
}

/* Whether three samples of the block gain less than 3% at level 1. */
static bool incompressible(struct deflater *d, const unsigned char *data, size_t len)
{
	if (len < 4 * PROBE || deflater_stream(d, 2, 1) < 0)
		return false;
	const size_t offs[3] = {0, len / 2 - PROBE / 2, len - PROBE};
	size_t out = 0;
	z_stream *zs = &d->zs[2];
	for (int i = 0; i < 3; i++) {
		if (i && deflateReset(zs) != Z_OK)
			return false;
		zs->next_in = (unsigned char *)data + offs[i];
		zs->avail_in = PROBE;
		zs->next_out = d->probe_out;
		zs->avail_out = sizeof(d->probe_out);
		int r = deflate(zs, Z_FINISH);
		out += r == Z_STREAM_END ? sizeof(d->probe_out) - zs->avail_out : sizeof(d->probe_out);
	}
	return out * 100 >= 3 * PROBE * 97;
}

static int compress_job(struct deflater *d, int level, struct gz_job *j)
{
	const unsigned char *data = j->in + DICT;
	j->crc = crc32_z(crc32_z(0L, Z_NULL, 0), data, j->len);
	int k = incompressible(d, data, j->len) ? 1 : 0;
	if (deflater_stream(d, k, level) < 0)
		return -1;
	z_stream *zs = &d->zs[k];
	if (k == 0 && j->dict_len && deflateSetDictionary(zs, j->in + DICT - j->dict_len, (uInt)j->dict_len) != Z_OK)
		return -1;
	size_t need = deflateBound(zs, (uLong)j->len) + 64;
	if (j->out_cap < need) {
		unsigned char *o = realloc(j->out, need);
		if (!o)
			return -1;
		j->out = o;
		j->out_cap = need;
	}
	zs->next_in = (unsigned char *)data;
	zs->avail_in = (uInt)j->len;
	j->out_len = 0;
	int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH;
	for (;;) {
		zs->next_out = j->out + j->out_len;
		zs->avail_out = (uInt)(j->out_cap - j->out_len);
		int r = deflate(zs, flush);
		j->out_len = j->out_cap - zs->avail_out;
		if (r == Z_STREAM_ERROR)
			return -1;
		if (j->last ? r == Z_STREAM_END : (zs->avail_in == 0 && zs->avail_out != 0))
			return 0;
		if (zs->avail_out != 0)
			return -1; /* no progress with room left: not expected */
		unsigned char *o = realloc(j->out, j->out_cap * 2);
		if (!o)
			return -1;
		j->out = o;
		j->out_cap *= 2;
	}
}

static void *worker(void *arg)
{
	struct berth_gzip_writer *g = arg;
	struct deflater *d = calloc(1, sizeof(*d));
	pthread_mutex_lock(&g->mu);
	for (;;) {
		struct gz_job *j = NULL;
		for (size_t i = 0; i < g->count && !j; i++) {
			struct gz_job *c = &g->ring[(g->head + i) % g->nring];
			if (c->state == JOB_QUEUED)
				j = c;
		}
		if (!j) {
			if (g->quit)
				break;
			pthread_cond_wait(&g->work, &g->mu);
			continue;
		}
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&g->mu);
		int rc = d ? compress_job(d, g->level, j) : -1;
		pthread_mutex_lock(&g->mu);
		j->state = rc < 0 ? JOB_FAILED : JOB_DONE;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	deflater_free(d);
	return NULL;
}

struct berth_gzip_writer *berth_gzip_writer_new(int level, int threads, const struct berth_writer *out,
						struct berth_error *err)
{
	struct berth_gzip_writer *g = calloc(1, sizeof(*g));
	if (!g) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	g->level = level < 0 ? 6 : level > 9 ? 9 : level == 0 ? 1 : level;
	g->out = *out;
	g->crc = crc32_z(0L, Z_NULL, 0);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->work, NULL);
	pthread_cond_init(&g->done, NULL);
	if (threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
	}
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (threads > 1)
		for (g->nth = 0; g->nth < threads; g->nth++)
			if (pthread_create(&g->th[g->nth], NULL, worker, g) != 0)
				break;
	pthread_mutex_lock(&g->mu);
	g->nring = g->nth ? (size_t)(2 * g->nth + 2) : 1;
	pthread_mutex_unlock(&g->mu);
	if (!g->nth && !(g->inline_d = calloc(1, sizeof(*g->inline_d)))) {
		berth_gzip_writer_free(g);
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	return g;
}

static int fail(struct berth_gzip_writer *g, struct berth_error *err, const char *what)
{
	g->failed = true;
	return berth_err(err, BERTH_E_INTERNAL, "gzip: %s", what);
}

/* Wait for the oldest block in flight and write it out. */
static int emit_oldest(struct berth_gzip_writer *g, struct berth_error *err)
{
	pthread_mutex_lock(&g->mu);
	struct gz_job *j = &g->ring[g->head];
	while (j->state != JOB_DONE && j->state != JOB_FAILED)
		pthread_cond_wait(&g->done, &g->mu);
	pthread_mutex_unlock(&g->mu);
	if (j->state == JOB_FAILED)
		return fail(g, err, "compression failed");
	if (!g->header_done) {
		unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, g->level == 9 ? 2 : g->level == 1 ? 4 : 0, 3};
		if (g->out.write(g->out.ctx, hdr, sizeof(hdr)) < 0)
			return fail(g, err, "writing the compressed stream");
		g->header_done = true;
	}
	if (j->out_len && g->out.write(g->out.ctx, j->out, j->out_len) < 0)
		return fail(g, err, "writing the compressed stream");
	g->crc = crc32_combine(g->crc, j->crc, (z_off_t)j->len);
	g->isize += j->len;
	pthread_mutex_lock(&g->mu);
	j->state = JOB_FREE;
	g->head = (g->head + 1) % g->nring;
	g->count--;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

/* A slot to fill, after the oldest blocks went out if all are in flight. */
static int take_slot(struct berth_gzip_writer *g, struct berth_error *err)
{
	while (g->count == g->nring)
		if (emit_oldest(g, err) < 0)
			return -1;
	struct gz_job *j = &g->ring[(g->head + g->count) % g->nring];
	if (!j->in && !(j->in = malloc(DICT + BERTH_GZIP_BLOCK)))
		return fail(g, err, "out of memory");
	j->dict_len = g->dict_len;
	memcpy(j->in + DICT - g->dict_len, g->dict + DICT - g->dict_len, g->dict_len);
	j->len = 0;
	j->last = false;
	j->state = JOB_FILLING;
	g->cur = j;
	return 0;
}

static int submit(struct berth_gzip_writer *g, bool last, struct berth_error *err)
{
	struct gz_job *j = g->cur;
	g->cur = NULL;
	j->last = last;
	/* the next block's dictionary: the last DICT bytes so far */
	size_t keep = j->len >= DICT ? DICT : j->len;
	if (keep < DICT) { /* a short block: the old tail, shifted */
		size_t old = g->dict_len + keep > DICT ? DICT - keep : g->dict_len;
		memmove(g->dict + DICT - old - keep, g->dict + DICT - old, old);
		g->dict_len = old + keep;
	} else {
		g->dict_len = DICT;
	}
	memcpy(g->dict + DICT - keep, j->in + DICT + j->len - keep, keep);
	if (!g->nth) {
		j->state = compress_job(g->inline_d, g->level, j) < 0 ? JOB_FAILED : JOB_DONE;
		g->count++;
		return emit_oldest(g, err);
	}
	pthread_mutex_lock(&g->mu);
	j->state = JOB_QUEUED;
	g->count++;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

int berth_gzip_write(struct berth_gzip_writer *g, const void *buf, size_t len, struct berth_error *err)
{
	if (g->failed)
		return berth_err(err, BERTH_E_INTERNAL, "gzip: the stream failed earlier");
	const unsigned char *p = buf;
	while (len) {
		if (!g->cur && take_slot(g, err) < 0)
			return -1;
		struct gz_job *j = g->cur;
		size_t n = BERTH_GZIP_BLOCK - j->len < len ? BERTH_GZIP_BLOCK - j->len : len;
		memcpy(j->in + DICT + j->len, p, n);
		j->len += n;
		p += n;
		len -= n;
		if (j->len == BERTH_GZIP_BLOCK && submit(g, false, err) < 0)
			return -1;
	}
	return 0;
}

int berth_gzip_finish(struct berth_gzip_writer *g, struct berth_error *err)
{
	if (g->failed)
		return berth_err(err, BERTH_E_INTERNAL, "gzip: the stream failed earlier");
	if (!g->cur && take_slot(g, err) < 0)
		return -1;
	if (submit(g, true, err) < 0)
		return -1;
	while (g->count)
		if (emit_oldest(g, err) < 0)
			return -1;
	unsigned char tr[8];
	for (int i = 0; i < 4; i++) {
		tr[i] = (unsigned char)(g->crc >> (8 * i));
		tr[4 + i] = (unsigned char)(g->isize >> (8 * i));
	}
	if (g->out.write(g->out.ctx, tr, sizeof(tr)) < 0)
		return fail(g, err, "writing the compressed stream");
	return 0;
}

void berth_gzip_writer_free(struct berth_gzip_writer *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->quit = true;
	/* blocks still queued are not wanted any more */
	for (size_t i = 0; i < g->count; i++) {
		struct gz_job *j = &g->ring[(g->head + i) % g->nring];
		if (j->state == JOB_QUEUED)
			j->state = JOB_FAILED;
	}
	pthread_cond_broadcast(&g->work);
	pthread_mutex_unlock(&g->mu);
	for (int i = 0; i < g->nth; i++)
		pthread_join(g->th[i], NULL);
	for (size_t i = 0; i < MAX_RING; i++) {
		free(g->ring[i].in);
		free(g->ring[i].out);
	}
	deflater_free(g->inline_d);
	pthread_cond_destroy(&g->done);
	pthread_cond_destroy(&g->work);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
