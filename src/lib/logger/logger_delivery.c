/* Log delivery off the container's stdio loop, docker's log modes, and
 * dual logging.
 *
 * berth_logger_open_delivery() returns a logger whose log() never waits on
 * the network: a remote driver (syslog, gelf, fluentd, journald, awslogs)
 * is opened and fed by a delivery thread from a FIFO of copied messages.
 *   mode=blocking (default): the FIFO holds up to max-buffer-size bytes
 *     (1 MiB) and the caller waits when it is full (docker's blocking mode:
 *     a stalled endpoint eventually stalls the writer, nothing is lost);
 *   mode=non-blocking: the FIFO is a ring of max-buffer-size bytes; when a
 *     new message does not fit, the oldest ones are dropped and counted.
 * A driver error is retried with back-off (100 ms doubling to 5 s) on the
 * same message, so a down endpoint loses nothing in blocking mode and never
 * takes the caller down; a permanent refusal (err kind INVALID) drops the
 * message after reporting it.
 * The dual-logging cache (a local-format file) is written in the caller's
 * thread before the message is queued, so `logs` sees every line whatever
 * the endpoint does. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger_internal.h"

#define DEFAULT_BUFFER (1 << 20)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define FLUSH_EVERY_MS 1000
#define CLOSE_WAIT_S 15

struct qmsg {
	struct qmsg *next;
	enum berth_log_stream stream;
	bool partial;
	int64_t ts_ns;
	size_t len;
	char line[];
};

struct delivery {
	struct berth_logger base;
	const struct berth_log_driver *drv; /* the remote driver */
	struct berth_logger *cache;         /* dual-logging cache, or NULL */
	struct berth_log_info info;         /* deep copies (the thread opens the driver) */
	json_t *opts, *labels, *env;
	char *strs[6];
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	bool nonblock;
	size_t max_bytes;
	long backoff_min; /* ms */
	long max_retries; /* -1: retry forever */
	pthread_mutex_t mu;
	pthread_cond_t cond;  /* signals the thread */
	pthread_cond_t space; /* signals a blocked writer */
	struct qmsg *head, *tail;
	size_t bytes;
	int writers_waiting; /* blocking mode: writers waiting for space */
	uint64_t dropped;
	bool closing, abandon, thread_started;
	pthread_t thread;
};

static const struct berth_log_driver delivery_driver;

static void warnf(struct delivery *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct delivery *d, const char *fmt, ...)
{
	if (!d->warn)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->warn(d->warn_ctx, msg);
}

/* Wait (mutex held) up to ms, or until closing. */
static void nap(struct delivery *d, long ms)
{
	struct timespec ts = berth_deadline_ms(CLOCK_REALTIME, ms);
	while (!d->abandon && pthread_cond_timedwait(&d->cond, &d->mu, &ts) != ETIMEDOUT)
		;
}

/* Remove the first queued message (mutex held). */
static void pop_head(struct delivery *d)
{
	struct qmsg *m = d->head;
	d->head = m->next;
	if (!d->head)
		d->tail = NULL;
	d->bytes -= m->len;
	free(m);
	/* a waiting writer is woken once half the buffer is free, not at every
	 * message (that would ping-pong the two threads a message at a time);
	 * an empty queue always wakes (close waits for it) */
	if (!d->head || (d->writers_waiting && d->bytes <= d->max_bytes / 2))
		pthread_cond_broadcast(&d->space);
}

static void *delivery_main(void *arg)
{
	struct delivery *d = arg;
	struct berth_logger *l = NULL;
	long backoff = d->backoff_min;
	long fails = 0; /* failed attempts on the first queued message */
	bool unflushed = false;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->abandon)
			break;
		if (!l) {
			struct berth_error err = {0};
			pthread_mutex_unlock(&d->mu);
			l = d->drv->open(&d->info, &err);
			pthread_mutex_lock(&d->mu);
			if (!l) {
				if (d->closing && !d->head)
					break;
				if (d->head && d->max_retries >= 0 && fails >= d->max_retries) {
					warnf(d, "log driver %s: %s (message dropped after %ld retries)", d->drv->name,
					      err.msg, fails);
					pop_head(d);
					fails = 0;
					continue;
				}
				if (d->head)
					fails++;
				warnf(d, "log driver %s: %s (retrying)", d->drv->name, err.msg);
				nap(d, backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
		}
		if (!d->head) {
			if (unflushed && d->drv->flush) {
				/* the queue is empty: send what the driver holds (batching drivers) */
				struct berth_error err = {0};
				pthread_mutex_unlock(&d->mu);
				int rc = d->drv->flush(l, &err);
				pthread_mutex_lock(&d->mu);
				if (rc < 0 && err.kind != BERTH_E_INVALID) {
					warnf(d, "log driver %s: %s (retrying)", d->drv->name, err.msg);
					nap(d, backoff);
					backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
					continue;
				}
				if (rc < 0)
					warnf(d, "log driver %s: %s", d->drv->name, err.msg);
				backoff = d->backoff_min;
				if (rc == 1 && !d->closing) {
					/* the driver holds data on purpose (a multiline event): ask again later */
					if (!d->head)
						nap(d, FLUSH_EVERY_MS);
					continue;
				}
				unflushed = false;
				continue;
			}
			if (d->closing)
				break;
			pthread_cond_wait(&d->cond, &d->mu);
			continue;
		}
		/* peek: the message leaves the queue only once delivered */
		struct qmsg *m = d->head;
		struct berth_log_msg bm = {
			.stream = m->stream, .line = m->line, .len = m->len, .ts_ns = m->ts_ns, .partial = m->partial};
		struct berth_error err = {0};
		pthread_mutex_unlock(&d->mu);
		int rc = d->drv->log(l, &bm, &err);
		pthread_mutex_lock(&d->mu);
		if (rc < 0 && err.kind != BERTH_E_INVALID && (d->max_retries < 0 || fails < d->max_retries)) {
			fails++;
			warnf(d, "log driver %s: %s (retrying)", d->drv->name, err.msg);
			nap(d, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		if (rc < 0 && err.kind != BERTH_E_INVALID)
			warnf(d, "log driver %s: %s (message dropped after %ld retries)", d->drv->name, err.msg, fails);
		else if (rc < 0)
			warnf(d, "log driver %s: %s (message dropped)", d->drv->name, err.msg);
		fails = 0;
		backoff = d->backoff_min;
		unflushed = d->drv->flush != NULL;
		/* the ring may have dropped m meanwhile (non-blocking): only pop if still first */
		if (d->head == m)
			pop_head(d);
	}
	pthread_mutex_unlock(&d->mu);
	if (l)
		d->drv->close(l);
	return NULL;
}

static int delivery_log(struct berth_logger *base, const struct berth_log_msg *m, struct berth_error *err)
{
	struct delivery *d = (struct delivery *)base;
	int rc = 0;
	if (d->cache && berth_logger_log(d->cache, m, err) < 0)
		rc = -1;
	struct qmsg *q = malloc(sizeof(*q) + m->len + 1);
	if (!q)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	*q = (struct qmsg){.stream = m->stream, .partial = m->partial, .ts_ns = m->ts_ns, .len = m->len};
	memcpy(q->line, m->line, m->len);
	q->line[m->len] = 0;
	pthread_mutex_lock(&d->mu);
	if (d->nonblock) {
		/* ring: drop the oldest (never the one the thread is sending) until it fits */
		while (d->head && d->bytes + m->len > d->max_bytes) {
			struct qmsg **pp = d->head->next ? &d->head->next : NULL;
			if (!pp)
				break;
			struct qmsg *old = *pp;
			*pp = old->next;
			if (d->tail == old)
				d->tail = d->head;
			d->bytes -= old->len;
			d->dropped++;
			free(old);
		}
		if (d->head && d->bytes + m->len > d->max_bytes) {
			/* only the in-flight one is left: the new message is the one dropped */
			d->dropped++;
			pthread_mutex_unlock(&d->mu);
			free(q);
			return rc;
		}
	} else {
		while (d->head && d->bytes + m->len > d->max_bytes && !d->abandon) {
			d->writers_waiting++;
			pthread_cond_wait(&d->space, &d->mu);
			d->writers_waiting--;
		}
	}
	if (d->tail)
		d->tail->next = q;
	else
		d->head = q;
	d->tail = q;
	d->bytes += m->len;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

static void delivery_close(struct berth_logger *base)
{
	struct delivery *d = (struct delivery *)base;
	if (d->thread_started) {
		pthread_mutex_lock(&d->mu);
		d->closing = true;
		pthread_cond_signal(&d->cond);
		/* give the thread a bounded time to send what is queued */
		struct timespec ts = berth_deadline_ms(CLOCK_REALTIME, CLOSE_WAIT_S * 1000L);
		while (d->head && pthread_cond_timedwait(&d->space, &d->mu, &ts) != ETIMEDOUT)
			;
		if (d->head)
			warnf(d, "log driver %s: %zu bytes not delivered at exit", d->drv->name, d->bytes);
		d->abandon = true;
		pthread_cond_broadcast(&d->cond);
		pthread_cond_broadcast(&d->space);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
	}
	if (d->dropped)
		warnf(d, "log driver %s: %llu messages dropped by the non-blocking buffer", d->drv->name,
		      (unsigned long long)d->dropped);
	while (d->head) {
		struct qmsg *n = d->head->next;
		free(d->head);
		d->head = n;
	}
	berth_logger_close(d->cache);
	json_decref(d->opts);
	json_decref(d->labels);
	json_decref(d->env);
	for (size_t i = 0; i < 6; i++)
		free(d->strs[i]);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cond);
	pthread_cond_destroy(&d->space);
	free(d);
}

/* The cache's gathered writes; the thread is fed as messages come. */
static int delivery_flush(struct berth_logger *base, struct berth_error *err)
{
	return berth_logger_flush(((struct delivery *)base)->cache, err);
}

static const struct berth_log_driver delivery_driver = {
	.name = "delivery",
	.log = delivery_log,
	.close = delivery_close,
	.flush = delivery_flush,
};

uint64_t berth_logger_dropped(struct berth_logger *l)
{
	if (!l || l->drv != &delivery_driver)
		return 0;
	struct delivery *d = (struct delivery *)l;
	pthread_mutex_lock(&d->mu);
	uint64_t n = d->dropped;
	pthread_mutex_unlock(&d->mu);
	return n;
}

static const char *sopt(const json_t *opts, const char *k)
{
	json_t *v = json_is_object(opts) ? json_object_get(opts, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The cache's local-driver options from the cache-* options. */
static json_t *cache_opts(const json_t *opts)
{
	const char *ms = sopt(opts, "cache-max-size"), *mf = sopt(opts, "cache-max-file"),
		   *c = sopt(opts, "cache-compress");
	json_t *o = json_object();
	json_object_set_new(o, "max-size", json_string(ms ? ms : "20m"));
	json_object_set_new(o, "max-file", json_string(mf ? mf : "5"));
	json_object_set_new(o, "compress", json_string(c ? c : "true"));
	return o;
}

static char *dupn(const char *s) { return s ? strdup(s) : NULL; }

struct berth_logger *berth_logger_open_delivery(const char *driver, const struct berth_log_info *info,
						const char *cache_path, void (*warn)(void *ctx, const char *msg),
						void *warn_ctx, struct berth_error *err)
{
	const struct berth_log_driver *drv = berth_log_driver_get(driver);
	if (!drv || !drv->remote)
		return berth_logger_open(driver, info, err);
	if (berth_log_opts_validate(driver, info->opts, err) < 0)
		return NULL;
	struct delivery *d = calloc(1, sizeof(*d));
	if (!d) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	d->base.drv = &delivery_driver;
	d->drv = drv;
	d->warn = warn;
	d->warn_ctx = warn_ctx;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cond, NULL);
	pthread_cond_init(&d->space, NULL);
	const char *mode = sopt(info->opts, "mode");
	d->nonblock = mode && !strcmp(mode, "non-blocking");
	int64_t mb = DEFAULT_BUFFER;
	const char *mbs = sopt(info->opts, "max-buffer-size");
	if (mbs && (berth_parse_human_size(mbs, &mb) < 0 || mb <= 0))
		mb = DEFAULT_BUFFER;
	d->max_bytes = (size_t)mb;
	d->opts = berth_log_driver_opts(info->opts);
	d->backoff_min = BACKOFF_MIN_MS;
	d->max_retries = -1;
	if (drv->policy) {
		struct berth_log_policy p = {.max_retries = -1};
		drv->policy(d->opts, &p);
		d->nonblock |= p.async;
		if (p.buffer > 0 && !mbs)
			d->max_bytes = (size_t)p.buffer;
		if (p.retry_ms > 0)
			d->backoff_min = p.retry_ms;
		d->max_retries = p.max_retries;
	}
	d->labels = info->labels ? json_deep_copy(info->labels) : NULL;
	d->env = info->env ? json_deep_copy(info->env) : NULL;
	d->info = *info;
	d->info.container_id = d->strs[0] = dupn(info->container_id);
	d->info.container_name = d->strs[1] = dupn(info->container_name);
	d->info.image_id = d->strs[2] = dupn(info->image_id);
	d->info.image_name = d->strs[3] = dupn(info->image_name);
	d->info.daemon_name = d->strs[4] = dupn(info->daemon_name);
	d->info.log_path = d->strs[5] = dupn(info->log_path);
	d->info.opts = d->opts;
	d->info.labels = d->labels;
	d->info.env = d->env;
	const char *cd = sopt(info->opts, "cache-disabled");
	if (cache_path && !(cd && berth_log_parse_bool(cd) == 1)) {
		cleanup_json json_t *co = cache_opts(info->opts);
		struct berth_log_info ci = {.container_id = info->container_id,
					    .container_name = info->container_name,
					    .log_path = cache_path,
					    .opts = co};
		struct berth_error cerr = {0};
		d->cache = berth_logger_open("local", &ci, &cerr);
		if (!d->cache)
			warnf(d, "log cache %s: %s (logs cannot be read back)", cache_path, cerr.msg);
	}
	if (pthread_create(&d->thread, NULL, delivery_main, d)) {
		berth_err(err, BERTH_E_INTERNAL, "cannot start the log delivery thread");
		delivery_close(&d->base);
		return NULL;
	}
	d->thread_started = true;
	return &d->base;
}
