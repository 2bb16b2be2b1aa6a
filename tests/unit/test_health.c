/* daemon/health: docker's handleProbeResult transitions, the create checks,
 * the image merge, ps texts and Go's duration strings. */
#include <jansson.h>
#include <string.h>

#include "daemon/health.h"
#include "tap.h"

static struct tap T;
#define ok(c, ...) TAP_OK(&T, c, __VA_ARGS__)
#define is_str(a, b, ...) TAP_STREQ(&T, a, b, __VA_ARGS__)

static const char *status(json_t *state) { return berth_health_status(state); }

static bool probe(json_t *state, json_t *hc, int64_t started, int64_t at_s, int code)
{
	struct berth_health_result r = {.start_ns = started + at_s * 1000000000LL,
					.end_ns = started + at_s * 1000000000LL + 1000,
					.exit_code = code,
					.output = code ? "bad\n" : ""};
	return berth_health_apply(state, hc, started, &r);
}

int main(void)
{
	int64_t t0 = 1700000000LL * 1000000000LL;
	json_t *state = json_object();
	is_str(status(state), "none", "no Health: none");
	is_str(berth_health_status_suffix(state), "", "no suffix without Health");
	json_t *hc = json_pack("{s:[s,s], s:i}", "Test", "CMD-SHELL", "true", "Retries", 2);
	/* first failure: streak 1, still starting */
	ok(!probe(state, hc, t0, 1, 1), "first failure: no status change");
	is_str(status(state), "starting", "starting after one failure");
	is_str(berth_health_status_suffix(state), " (health: starting)", "ps suffix starting");
	ok(probe(state, hc, t0, 2, 1), "second failure with Retries 2: changes");
	is_str(status(state), "unhealthy", "unhealthy after Retries failures");
	ok(probe(state, hc, t0, 3, 0), "a success changes the status");
	is_str(status(state), "healthy", "healthy");
	is_str(berth_health_status_suffix(state), " (healthy)", "ps suffix healthy");
	ok(json_integer_value(json_object_get(json_object_get(state, "Health"), "FailingStreak")) == 0,
	   "a success resets the streak");
	ok(!probe(state, hc, t0, 4, 1), "one failure when healthy: stays healthy");
	is_str(status(state), "healthy", "still healthy");
	for (int i = 5; i < 12; i++)
		probe(state, hc, t0, i, 0);
	json_t *log = json_object_get(json_object_get(state, "Health"), "Log");
	ok(json_array_size(log) == 5, "Log keeps the last 5 results");
	json_decref(state);

	/* start period: failures inside it do not count while starting */
	state = json_object();
	json_object_set_new(hc, "StartPeriod", json_integer(10LL * 1000000000LL));
	probe(state, hc, t0, 1, 1);
	probe(state, hc, t0, 2, 1);
	probe(state, hc, t0, 3, 1);
	is_str(status(state), "starting", "failures within the start period do not count");
	ok(json_integer_value(json_object_get(json_object_get(state, "Health"), "FailingStreak")) == 0,
	   "no streak in the start period");
	probe(state, hc, t0, 11, 1);
	probe(state, hc, t0, 12, 1);
	is_str(status(state), "unhealthy", "after the start period failures count");
	json_decref(state);
	json_decref(hc);

	/* create checks */
	struct berth_error err = {0};
	json_t *bad = json_pack("{s:i}", "Interval", 1000);
	ok(berth_health_validate(bad, &err) < 0 && !strcmp(err.msg, "Interval in Healthcheck cannot be less than 1ms"),
	   "Interval below 1ms refused");
	json_decref(bad);
	bad = json_pack("{s:i}", "Retries", -1);
	ok(berth_health_validate(bad, &err) < 0 && !strcmp(err.msg, "Retries in Healthcheck cannot be negative"),
	   "negative Retries refused");
	json_decref(bad);
	json_t *good = json_pack("{s:[s], s:i}", "Test", "NONE", "Interval", 0);
	ok(berth_health_validate(good, &err) == 0, "zero durations are defaults");
	json_decref(good);

	/* merge: the user's zero fields come from the image */
	json_t *cfg = json_pack("{s:{s:i}}", "Healthcheck", "Interval", 1000000000);
	json_t *img =
		json_pack("{s:{s:[s,s], s:i, s:i}}", "Healthcheck", "Test", "CMD", "true", "Interval", 5, "Retries", 7);
	berth_health_merge(cfg, img);
	json_t *m = json_object_get(cfg, "Healthcheck");
	ok(json_array_size(json_object_get(m, "Test")) == 2, "Test from the image");
	ok(json_integer_value(json_object_get(m, "Interval")) == 1000000000, "the user's Interval kept");
	ok(json_integer_value(json_object_get(m, "Retries")) == 7, "Retries from the image");
	json_decref(cfg);
	json_decref(img);

	char d[64];
	berth_health_duration_string(1000000000LL, d, sizeof(d));
	is_str(d, "1s", "1s");
	berth_health_duration_string(500000000LL, d, sizeof(d));
	is_str(d, "500ms", "500ms");
	berth_health_duration_string(90LL * 1000000000LL, d, sizeof(d));
	is_str(d, "1m30s", "1m30s");
	berth_health_duration_string(3600LL * 1000000000LL + 1500000000LL, d, sizeof(d));
	is_str(d, "1h0m1.5s", "1h0m1.5s");
	return TAP_DONE(&T);
}
