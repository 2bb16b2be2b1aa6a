/* Events bus: every state change is published here; GET /events subscribers
 * receive them live, and a bounded history answers `since`. Thread-safe. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "common/event_sink.h"

struct berth_events;

/* Events kept for `since` (docker keeps 256) */
#define BERTH_EVENTS_HISTORY 256

struct berth_events *berth_events_new(size_t history);
void berth_events_free(struct berth_events *ev);
/* type: "image", "container", "volume", "network", "daemon"...; action: "pull",
 * "tag", "delete", "start"...; id: the object's id or reference; attrs: Actor
 * attributes (borrowed; may be NULL). Fills docker's message shape
 * {status,id,from,Type,Action,Actor{ID,Attributes},scope,time,timeNano}. */
void berth_events_emit(struct berth_events *ev, const char *type, const char *action, const char *id, json_t *attrs);
/* Copy the history's texts into one allocation (when events were emitted
 * since the last call): for the daemon's idle trim, so the freed pages
 * around them can go back to the kernel. */
void berth_events_compact(struct berth_events *ev);
/* A sink that publishes on ev, for stores below the daemon (common/event_sink.h). */
struct berth_event_sink berth_events_sink(struct berth_events *ev);

struct berth_events_sub;
/* Subscribe; events at/after since_ns (0 = only new ones) are replayed first. */
struct berth_events_sub *berth_events_subscribe(struct berth_events *ev, int64_t since_ns);
/* Next event (new reference), waiting until deadline_ns (CLOCK_REALTIME, 0 = forever).
 * Returns NULL on timeout or when the bus is shut down. */
json_t *berth_events_next(struct berth_events_sub *sub, int64_t deadline_ns);
void berth_events_unsubscribe(struct berth_events_sub *sub);
/* Wake every subscriber so they return NULL (daemon shutdown). */
void berth_events_shutdown(struct berth_events *ev);
size_t berth_events_listeners(struct berth_events *ev);
