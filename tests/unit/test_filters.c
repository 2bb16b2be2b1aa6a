/* common/filters.h: filter keys, label matching, event matching. */
#include <jansson.h>

#include "common/filters.h"
#include "tap.h"

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	json_t *f = json_loads("{\"label\":[\"a\"],\"bogus\":[\"x\"]}", 0, NULL);
	static const char *const allowed[] = {"label", "status", NULL};
	TAP_OK(&t, berth_filters_check(f, allowed, &err) < 0 && err.kind == BERTH_E_INVALID, "unknown key refused");
	TAP_STREQ(&t, err.msg, "invalid filter 'bogus'", "docker's message");
	json_object_del(f, "bogus");
	TAP_OK(&t, berth_filters_check(f, allowed, &err) == 0, "known keys pass");
	json_decref(f);

	json_t *labels = json_loads("{\"a\":\"1\",\"b\":\"\"}", 0, NULL);
	json_t *v = json_loads("[\"a\",\"b=\"]", 0, NULL);
	TAP_OK(&t, berth_labels_match(v, labels), "k and k= match");
	json_decref(v);
	v = json_loads("[\"a=2\"]", 0, NULL);
	TAP_OK(&t, !berth_labels_match(v, labels), "k=v with another value does not match");
	json_decref(v);
	v = json_loads("[\"c\"]", 0, NULL);
	TAP_OK(&t, !berth_labels_match(v, labels), "missing key does not match");
	json_decref(v);
	json_decref(labels);

	json_t *msg = json_loads("{\"Type\":\"container\",\"Action\":\"exec_start: sh\",\"Actor\":{\"ID\":\"abcdef\","
				 "\"Attributes\":{\"name\":\"web\",\"image\":\"busybox\",\"tier\":\"x\"}}}",
				 0, NULL);
	const char *pass[] = {"{\"event\":[\"exec_start\"]}",
			      "{\"container\":[\"abc\"]}",
			      "{\"container\":[\"web\"],\"type\":[\"container\"]}",
			      "{\"image\":[\"busybox\"]}",
			      "{\"label\":[\"tier=x\"],\"scope\":[\"local\"]}",
			      NULL};
	const char *fail[] = {"{\"event\":[\"start\"]}",  "{\"volume\":[\"abc\"]}",  "{\"container\":[\"other\"]}",
			      "{\"label\":[\"tier=y\"]}", "{\"scope\":[\"swarm\"]}", NULL};
	for (int i = 0; pass[i]; i++) {
		json_t *ff = json_loads(pass[i], 0, NULL);
		TAP_OK(&t, berth_event_filters_check(ff, NULL) == 0 && berth_event_matches(ff, msg), "event passes %s",
		       pass[i]);
		json_decref(ff);
	}
	for (int i = 0; fail[i]; i++) {
		json_t *ff = json_loads(fail[i], 0, NULL);
		TAP_OK(&t, !berth_event_matches(ff, msg), "event filtered out by %s", fail[i]);
		json_decref(ff);
	}
	json_decref(msg);
	json_t *ff = json_loads("{\"until\":[\"1\"]}", 0, NULL);
	TAP_OK(&t, berth_event_filters_check(ff, NULL) < 0, "unknown event filter key refused");
	json_decref(ff);
	return TAP_DONE(&t);
}
