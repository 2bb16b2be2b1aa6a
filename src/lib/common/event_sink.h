/* Where a lower layer reports events without knowing the events bus (the
 * dependency rule: layers only point down). The daemon hands its stores a
 * sink that publishes on its bus (daemon/events.h: berth_events_sink). */
#pragma once
#include <jansson.h>

struct berth_event_sink {
	/* type "image", "container", ...; action "tag", "delete", ...; id: the
	 * object's id or reference; attrs: Actor attributes (borrowed, may be
	 * NULL). */
	void (*emit)(void *ctx, const char *type, const char *action, const char *id, json_t *attrs);
	void *ctx;
};

static inline void berth_event_sink_emit(const struct berth_event_sink *s, const char *type, const char *action,
					 const char *id, json_t *attrs)
{
	if (s && s->emit)
		s->emit(s->ctx, type, action, id, attrs);
}
