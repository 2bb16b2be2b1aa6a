/* daemon/events: docker's message shape, the bounded history kept as text
 * (what `since` replays), a reader that falls behind, shutdown. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "daemon/events.h"
#include "tap.h"

static const char *str(json_t *m, const char *k) { return json_string_value(json_object_get(m, k)); }

int main(void)
{
	struct tap t = {0};
	struct berth_events *ev = berth_events_new(BERTH_EVENTS_HISTORY);
	TAP_OK(&t, BERTH_EVENTS_HISTORY == 256, "docker's history: 256 events");

	int64_t t0 = berth_now_ns();
	json_t *attrs = json_pack("{s:s, s:s}", "image", "busybox", "name", "web");
	berth_events_emit(ev, "container", "start", "abc", attrs);
	json_decref(attrs);
	struct berth_events_sub *s = berth_events_subscribe(ev, t0);
	json_t *m = berth_events_next(s, berth_now_ns() + 1000000000LL);
	TAP_OK(&t, m != NULL, "since: the event is replayed");
	TAP_STREQ(&t, str(m, "status"), "start", "legacy status");
	TAP_STREQ(&t, str(m, "id"), "abc", "legacy id");
	TAP_STREQ(&t, str(m, "from"), "busybox", "legacy from (the image attribute)");
	TAP_STREQ(&t, str(m, "Type"), "container", "Type");
	TAP_STREQ(&t, str(m, "Action"), "start", "Action");
	TAP_STREQ(&t, str(json_object_get(m, "Actor"), "ID"), "abc", "Actor.ID");
	TAP_STREQ(&t, str(json_object_get(json_object_get(m, "Actor"), "Attributes"), "name"), "web",
		  "Actor.Attributes");
	TAP_STREQ(&t, str(m, "scope"), "local", "scope");
	json_int_t ns = json_integer_value(json_object_get(m, "timeNano"));
	TAP_OK(&t, ns >= t0 && json_integer_value(json_object_get(m, "time")) == ns / 1000000000LL,
	       "time and timeNano agree");
	json_decref(m);
	TAP_OK(&t, berth_events_next(s, berth_now_ns() + 20000000LL) == NULL, "nothing more: NULL at the deadline");
	berth_events_unsubscribe(s);

	/* a network event has no legacy fields */
	berth_events_emit(ev, "network", "create", "n1", NULL);
	s = berth_events_subscribe(ev, t0);
	for (int i = 0; i < 2; i++) {
		m = berth_events_next(s, berth_now_ns() + 1000000000LL);
		if (i == 1) {
			TAP_OK(&t, m && !json_object_get(m, "status") && !json_object_get(m, "id"),
			       "network event: no status/id");
			TAP_OK(&t, m && json_is_object(json_object_get(json_object_get(m, "Actor"), "Attributes")),
			       "network event: empty Attributes object");
		}
		json_decref(m);
	}
	berth_events_unsubscribe(s);

	/* the history holds the last 256: since replays from the oldest kept */
	for (int i = 0; i < 300; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%d", i);
		berth_events_emit(ev, "container", "create", id, NULL);
	}
	s = berth_events_subscribe(ev, t0);
	m = berth_events_next(s, berth_now_ns() + 1000000000LL);
	TAP_STREQ(&t, m ? str(m, "id") : NULL, "c44", "since: the oldest kept is the 256th newest");
	json_decref(m);
	int n = 1;
	while ((m = berth_events_next(s, berth_now_ns() + 20000000LL))) {
		n++;
		json_decref(m);
	}
	TAP_OK(&t, n == 256, "since: 256 replayed (got %d)", n);
	berth_events_unsubscribe(s);

	/* compacted (the idle trim): the same 256 replayed, in order; new
	 * events overwrite compacted ones (the block is freed once the last
	 * goes: ASan's leak check), and a second compaction takes both kinds */
	berth_events_compact(ev);
	berth_events_compact(ev); /* nothing new: a no-op */
	for (int round = 0; round < 3; round++) {
		int add = round == 0 ? 0 : round == 1 ? 100 : 256;
		for (int i = 0; i < add; i++) {
			char id[16];
			snprintf(id, sizeof(id), "r%d-%d", round, i);
			berth_events_emit(ev, "container", "create", id, NULL);
		}
		if (round == 1)
			berth_events_compact(ev);
		s = berth_events_subscribe(ev, t0);
		n = 0;
		bool order = true;
		char want[16];
		while ((m = berth_events_next(s, berth_now_ns() + 20000000LL))) {
			/* the newest 256 of: c0..c299, then r1-0..r1-99, then r2-0..r2-255 */
			int k = 300 + (round >= 1 ? 100 : 0) + (round >= 2 ? 256 : 0) - 256 + n;
			if (k < 300)
				snprintf(want, sizeof(want), "c%d", k);
			else if (k < 400)
				snprintf(want, sizeof(want), "r1-%d", k - 300);
			else
				snprintf(want, sizeof(want), "r2-%d", k - 400);
			if (!str(m, "id") || strcmp(str(m, "id"), want) != 0)
				order = false;
			n++;
			json_decref(m);
		}
		berth_events_unsubscribe(s);
		TAP_OK(&t, n == 256 && order, "compacted history, round %d: 256 replayed in order (got %d)", round, n);
	}

	/* a live reader that falls behind skips what was overwritten */
	s = berth_events_subscribe(ev, 0);
	for (int i = 0; i < 260; i++)
		berth_events_emit(ev, "image", "tag", "x", NULL);
	n = 0;
	while ((m = berth_events_next(s, berth_now_ns() + 20000000LL))) {
		n++;
		json_decref(m);
	}
	TAP_OK(&t, n == 256, "fallen behind: the 256 kept are delivered (got %d)", n);
	TAP_OK(&t, berth_events_listeners(ev) == 1, "one listener");
	berth_events_shutdown(ev);
	TAP_OK(&t, berth_events_next(s, 0) == NULL, "shutdown: NULL, no wait");
	berth_events_unsubscribe(s);
	TAP_OK(&t, berth_events_listeners(ev) == 0, "no listener");
	berth_events_free(ev);
	return TAP_DONE(&t);
}
