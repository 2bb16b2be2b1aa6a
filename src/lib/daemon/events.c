#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

struct berth_events_sub {
	struct berth_events *ev;
	uint64_t next_seq; /* sequence number of the next event to deliver */
	struct berth_events_sub *prev, *next;
};

/* The history keeps each message as its compact JSON text (a few hundred
 * bytes; a jansson tree of the same message is several KiB). A new text is
 * its own allocation; once idle (berth_events_compact) the texts are copied
 * into one block, so that 256 small long-lived strings do not stay scattered
 * over the pages the requests that emitted them used (measured: 255 texts on
 * 139 heap pages, none of which malloc_trim could give back). */
struct ev_entry {
	int64_t time_ns;
	char *text;
	bool in_block; /* text points into ev->block */
};

struct berth_events {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct ev_entry *ring;
	size_t cap;
	uint64_t seq;          /* events ever emitted */
	char *block;           /* the compacted texts */
	size_t block_refs;     /* entries still pointing into block */
	uint64_t compacted_at; /* seq at the last compaction */
	bool shutdown;
	struct berth_events_sub *subs;
	size_t nsubs;
};

struct berth_events *berth_events_new(size_t history)
{
	struct berth_events *ev = calloc(1, sizeof(*ev));
	ev->cap = history ? history : 1;
	ev->ring = calloc(ev->cap, sizeof(*ev->ring));
	pthread_mutex_init(&ev->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_REALTIME);
	pthread_cond_init(&ev->cond, &ca);
	pthread_condattr_destroy(&ca);
	return ev;
}

void berth_events_free(struct berth_events *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->cap; i++)
		if (!ev->ring[i].in_block)
			free(ev->ring[i].text);
	free(ev->block);
	free(ev->ring);
	pthread_mutex_destroy(&ev->mu);
	pthread_cond_destroy(&ev->cond);
	free(ev);
}

static void sink_emit(void *ctx, const char *type, const char *action, const char *id, json_t *attrs)
{
	berth_events_emit(ctx, type, action, id, attrs);
}

struct berth_event_sink berth_events_sink(struct berth_events *ev)
{
	return (struct berth_event_sink){.emit = ev ? sink_emit : NULL, .ctx = ev};
}

void berth_events_emit(struct berth_events *ev, const char *type, const char *action, const char *id, json_t *attrs)
{
	if (!ev)
		return;
	int64_t now = berth_now_ns();
	json_t *a = attrs ? json_deep_copy(attrs) : json_object();
	json_t *msg = json_object();
	/* Legacy fields docker still sends for container and image events. */
	if (!strcmp(type, "container") || !strcmp(type, "image")) {
		json_object_set_new(msg, "status", json_string(action));
		json_object_set_new(msg, "id", json_string(id));
		json_t *from = json_object_get(a, "image");
		if (from && !strcmp(type, "container"))
			json_object_set(msg, "from", from);
	}
	json_object_set_new(msg, "Type", json_string(type));
	json_object_set_new(msg, "Action", json_string(action));
	json_object_set_new(msg, "Actor", json_pack("{s:s, s:o}", "ID", id, "Attributes", a));
	json_object_set_new(msg, "scope", json_string("local"));
	json_object_set_new(msg, "time", json_integer(now / 1000000000LL));
	json_object_set_new(msg, "timeNano", json_integer(now));
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return; /* out of memory: the event is lost, as one a slow reader misses */
	pthread_mutex_lock(&ev->mu);
	struct ev_entry *slot = &ev->ring[ev->seq % ev->cap];
	if (!slot->in_block)
		free(slot->text);
	else if (--ev->block_refs == 0) {
		free(ev->block);
		ev->block = NULL;
	}
	*slot = (struct ev_entry){.time_ns = now, .text = text};
	ev->seq++;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->mu);
}

void berth_events_compact(struct berth_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->mu);
	if (ev->seq == ev->compacted_at) { /* nothing emitted since: already one block */
		pthread_mutex_unlock(&ev->mu);
		return;
	}
	size_t n = ev->seq < ev->cap ? (size_t)ev->seq : ev->cap, total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(ev->ring[i].text) + 1;
	char *block = total ? malloc(total) : NULL;
	if (block) {
		char *p = block;
		for (size_t i = 0; i < n; i++) {
			struct ev_entry *e = &ev->ring[i];
			size_t len = strlen(e->text) + 1;
			memcpy(p, e->text, len);
			if (!e->in_block)
				free(e->text);
			e->text = p;
			e->in_block = true;
			p += len;
		}
		free(ev->block);
		ev->block = block;
		ev->block_refs = n;
		ev->compacted_at = ev->seq;
	}
	pthread_mutex_unlock(&ev->mu);
}

struct berth_events_sub *berth_events_subscribe(struct berth_events *ev, int64_t since_ns)
{
	struct berth_events_sub *s = calloc(1, sizeof(*s));
	s->ev = ev;
	pthread_mutex_lock(&ev->mu);
	s->next_seq = ev->seq;
	if (since_ns > 0) {
		uint64_t oldest = ev->seq > ev->cap ? ev->seq - ev->cap : 0;
		for (uint64_t q = oldest; q < ev->seq; q++) {
			if (ev->ring[q % ev->cap].time_ns >= since_ns) {
				s->next_seq = q;
				break;
			}
		}
	}
	s->next = ev->subs;
	if (ev->subs)
		ev->subs->prev = s;
	ev->subs = s;
	ev->nsubs++;
	pthread_mutex_unlock(&ev->mu);
	return s;
}

json_t *berth_events_next(struct berth_events_sub *s, int64_t deadline_ns)
{
	struct berth_events *ev = s->ev;
	char *text = NULL;
	pthread_mutex_lock(&ev->mu);
	for (;;) {
		if (ev->shutdown)
			break;
		uint64_t oldest = ev->seq > ev->cap ? ev->seq - ev->cap : 0;
		if (s->next_seq < oldest)
			s->next_seq = oldest; /* fell behind: skip what was overwritten */
		if (s->next_seq < ev->seq) {
			text = strdup(ev->ring[s->next_seq % ev->cap].text);
			s->next_seq++;
			break;
		}
		if (deadline_ns) {
			struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
					      .tv_nsec = deadline_ns % 1000000000LL};
			if (pthread_cond_timedwait(&ev->cond, &ev->mu, &ts) == ETIMEDOUT)
				break;
		} else {
			pthread_cond_wait(&ev->cond, &ev->mu);
		}
	}
	pthread_mutex_unlock(&ev->mu);
	if (!text)
		return NULL;
	json_t *out = json_loads(text, 0, NULL);
	free(text);
	return out;
}

void berth_events_unsubscribe(struct berth_events_sub *s)
{
	if (!s)
		return;
	struct berth_events *ev = s->ev;
	pthread_mutex_lock(&ev->mu);
	if (s->prev)
		s->prev->next = s->next;
	else
		ev->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ev->nsubs--;
	pthread_mutex_unlock(&ev->mu);
	free(s);
}

void berth_events_shutdown(struct berth_events *ev)
{
	pthread_mutex_lock(&ev->mu);
	ev->shutdown = true;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->mu);
}

size_t berth_events_listeners(struct berth_events *ev)
{
	pthread_mutex_lock(&ev->mu);
	size_t n = ev->nsubs;
	pthread_mutex_unlock(&ev->mu);
	return n;
}
