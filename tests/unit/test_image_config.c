/* Image config handling: Go-compatible serialization, docker import's config
 * (reproduces the fixture's config bytes and image ID), and the changes parser. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/config.h"
#include "tap.h"
#include "test_image_util.h"

#define FIXTURE_ID "sha256:6d8f264bf1f91212333cd15d084aef66a11190ddbca4b32adcccdc2a22ec2ab7"
#define DIFF_ID "sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66"

/* Apply changes to an empty config and return the Go JSON of it. */
static char *apply(const char *const *changes, size_t n, struct berth_error *err)
{
	json_t *cfg = berth_container_config_canon(NULL);
	int r = berth_image_changes_apply(cfg, (char *const *)changes, n, err);
	char *out = r < 0 ? NULL : berth_json_dump_go(cfg, NULL);
	json_decref(cfg);
	return out;
}

static const char *field(const char *json, const char *name, char *buf, size_t len)
{
	json_t *o = json_loads(json, 0, NULL);
	json_t *v = json_object_get(o, name);
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(missing)");
	snprintf(buf, len, "%s", s);
	free(s);
	json_decref(o);
	return buf;
}

static void change_case(struct tap *t, const char *change, const char *fname, const char *want)
{
	struct berth_error err = {0};
	const char *ch[] = {change};
	char *out = apply(ch, 1, &err);
	char buf[1024];
	TAP_STREQ(t, out ? field(out, fname, buf, sizeof(buf)) : err.msg, want, "change '%s' -> %s", change, fname);
	free(out);
}

static void change_err(struct tap *t, const char *change, const char *want)
{
	struct berth_error err = {0};
	const char *ch[] = {change};
	char *out = apply(ch, 1, &err);
	TAP_OK(t, out == NULL && err.kind == BERTH_E_INVALID, "change '%s' rejected", change);
	TAP_STREQ(t, err.msg, want, "change '%s' message", change);
	free(out);
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};

	/* docker import -c 'CMD ["/bin/sh"]' as in the fixture */
	const char *ch[] = {"CMD [\"/bin/sh\"]"};
	json_t *cc = berth_container_config_canon(NULL);
	TAP_OK(&t, berth_image_changes_apply(cc, (char *const *)ch, 1, &err) == 0, "apply CMD");
	int64_t created;
	berth_time_parse("2026-11-27T21:43:12.436804632Z", &created);
	struct berth_import_config ic = {.arch = "amd64",
					 .os = "linux",
					 .comment = "Imported from -",
					 .docker_version = "20.10.24+dfsg1",
					 .created_ns = created,
					 .diff_id = DIFF_ID};
	size_t len;
	char *cfg = berth_image_config_build_import(&ic, cc, &len);
	char id[BERTH_DIGEST_LEN + 1];
	berth_image_config_id(cfg, len, id);
	TAP_STREQ(&t, id, FIXTURE_ID, "import config reproduces docker's image ID");

	cleanup_free char *fx = NULL;
	size_t fxlen = 0;
	if (berth_read_file(fixture_path("busybox-docker-archive.tar"), &fx, &fxlen, 8 << 20, &err) == 0) {
		const char *needle = "{\"architecture\":\"amd64\"";
		const char *p = memmem(fx, fxlen, needle, strlen(needle));
		TAP_OK(&t, p && (size_t)(fx + fxlen - p) >= len && !memcmp(p, cfg, len),
		       "import config is byte-identical to the fixture's");
	} else {
		TAP_OK(&t, 1, "# SKIP fixture not readable: %s", err.msg);
	}

	/* parse + accessors */
	json_t *pc = berth_image_config_parse(cfg, len, &err);
	TAP_OK(&t, pc != NULL, "parse config");
	const char *ids[4];
	TAP_OK(&t, berth_image_config_layers(pc, ids, 4) == 1 && !strcmp(ids[0], DIFF_ID), "diff ids");
	char chain[BERTH_DIGEST_LEN + 1];
	berth_image_config_chain(pc, 1, chain);
	TAP_STREQ(&t, chain, DIFF_ID, "chain of one layer is its diff id");
	TAP_OK(&t, berth_image_config_created(pc) == created, "created");
	char ts[64];
	berth_image_config_created_str(pc, ts, sizeof(ts));
	TAP_STREQ(&t, ts, "2026-11-27T21:43:12.436804632Z", "created string");
	/* canonical container config round-trips docker's bytes */
	char *c1 = berth_json_dump_go(json_object_get(pc, "config"), NULL);
	json_t *canon = berth_container_config_canon(json_object_get(pc, "config"));
	char *c2 = berth_json_dump_go(canon, NULL);
	TAP_STREQ(&t, c2, c1, "container config canonical round trip");
	free(c1);
	free(c2);
	json_decref(canon);
	json_decref(pc);
	free(cfg);
	TAP_OK(&t,
	       berth_image_config_parse("{\"os\":\"linux\"}", 14, &err) == NULL &&
		       !strcmp(err.msg, "invalid image JSON, no RootFS key"),
	       "config without rootfs rejected");
	TAP_OK(&t, berth_image_config_parse("{", 1, &err) == NULL && err.kind == BERTH_E_INVALID, "bad JSON rejected");

	/* Go escaping and time format */
	json_t *s = json_pack("{s:s,s:i,s:b,s:n}", "a", "<x>&\"\\\n\x01\xe2\x80\xa8", "n", 5, "t", 1, "z");
	char *gs = berth_json_dump_go(s, NULL);
	TAP_STREQ(&t, gs, "{\"a\":\"\\u003cx\\u003e\\u0026\\\"\\\\\\n\\u0001\\u2028\",\"n\":5,\"t\":true,\"z\":null}",
		  "Go string escaping");
	free(gs);
	json_decref(s);
	berth_image_time_format(1704067200LL * 1000000000LL + 500000000, ts, sizeof(ts));
	TAP_STREQ(&t, ts, "2024-01-01T00:00:00.5Z", "RFC3339Nano trims zeros");
	berth_image_time_format(BERTH_IMAGE_TIME_ZERO, ts, sizeof(ts));
	TAP_STREQ(&t, ts, "0001-01-01T00:00:00Z", "zero time");
	int64_t ns;
	TAP_OK(&t, berth_go_duration_parse("1h30m", &ns) == 0 && ns == 5400LL * 1000000000LL, "duration 1h30m");
	TAP_OK(&t, berth_go_duration_parse("1.5s", &ns) == 0 && ns == 1500000000LL, "duration 1.5s");
	TAP_OK(&t, berth_go_duration_parse("10", &ns) < 0, "duration needs a unit");

	/* changes */
	change_case(&t, "CMD echo hi", "Cmd", "[\"/bin/sh\",\"-c\",\"echo hi\"]");
	change_case(&t, "cmd [\"a\", \"b\"]", "Cmd", "[\"a\",\"b\"]");
	change_case(&t, "ENTRYPOINT [\"/bin/app\"]", "Entrypoint", "[\"/bin/app\"]");
	change_case(&t, "ENTRYPOINT top -b", "Entrypoint", "[\"/bin/sh\",\"-c\",\"top -b\"]");
	change_case(&t, "ENV A=1 B=\"two words\"", "Env", "[\"A=1\",\"B=two words\"]");
	change_case(&t, "ENV LEGACY some value", "Env", "[\"LEGACY=some value\"]");
	change_case(&t, "LABEL b=2 a=\"x y\"", "Labels", "{\"a\":\"x y\",\"b\":\"2\"}");
	change_case(&t, "EXPOSE 80 53/udp 8000-8001", "ExposedPorts",
		    "{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}");
	change_case(&t, "WORKDIR /srv/app", "WorkingDir", "\"/srv/app\"");
	change_case(&t, "WORKDIR rel/../x", "WorkingDir", "\"/x\"");
	change_case(&t, "USER nobody:nogroup", "User", "\"nobody:nogroup\"");
	change_case(&t, "VOLUME [\"/data\", \"/logs\"]", "Volumes", "{\"/data\":{},\"/logs\":{}}");
	change_case(&t, "VOLUME /a /b", "Volumes", "{\"/a\":{},\"/b\":{}}");
	change_case(&t, "STOPSIGNAL SIGKILL", "StopSignal", "\"SIGKILL\"");
	change_case(&t, "ONBUILD RUN echo hi", "OnBuild", "[\"RUN echo hi\"]");
	change_case(&t, "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/", "Healthcheck",
		    "{\"Test\":[\"CMD-SHELL\",\"curl -f http://x/\"],\"Interval\":5000000000,\"Retries\":3}");
	change_case(&t, "HEALTHCHECK NONE", "Healthcheck", "{\"Test\":[\"NONE\"]}");
	change_err(&t, "RUN echo hi", "run is not a valid change command");
	change_err(&t, "FROM busybox", "from is not a valid change command");
	change_err(&t, "BOGUS x", "bogus is not a valid change command");
	change_err(&t, "ENV ONLYKEY", "ENV must have two arguments");
	change_err(&t, "ENV a=1 b", "Syntax error - can't find = in \"b\". Must be of the form: name=value");
	change_err(&t, "EXPOSE abc", "Invalid containerPort: abc");
	change_err(&t, "EXPOSE 80/xyz", "Invalid proto: xyz");
	change_err(&t, "STOPSIGNAL NOPE", "Invalid signal: NOPE");
	change_err(&t, "WORKDIR", "WORKDIR requires exactly one argument");
	change_err(&t, "CMD [1, 2]", "when using JSON array syntax, arrays must be comprised of strings only");
	change_err(&t, "ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");

	/* several changes: env expansion, ENTRYPOINT clears an inherited CMD, later CMD kept */
	const char *multi[] = {"ENV BASE=/opt", "WORKDIR $BASE/app", "LABEL path=${BASE}/x", "CMD [\"run\"]",
			       "ENTRYPOINT [\"/init\"]"};
	char *out = apply(multi, 5, &err);
	char buf[512];
	TAP_STREQ(&t, out ? field(out, "WorkingDir", buf, sizeof(buf)) : err.msg, "\"/opt/app\"", "env expansion");
	TAP_STREQ(&t, out ? field(out, "Labels", buf, sizeof(buf)) : err.msg, "{\"path\":\"/opt/x\"}",
		  "label expansion");
	TAP_STREQ(&t, out ? field(out, "Cmd", buf, sizeof(buf)) : err.msg, "[\"run\"]", "CMD kept before ENTRYPOINT");
	free(out);
	const char *ep_only[] = {"ENTRYPOINT [\"/init\"]"};
	json_t *base = json_pack("{s:[s]}", "Cmd", "old");
	TAP_OK(&t,
	       berth_image_changes_apply(base, (char *const *)ep_only, 1, &err) == 0 &&
		       json_is_null(json_object_get(base, "Cmd")),
	       "ENTRYPOINT resets an inherited CMD");
	json_decref(base);
	const char *cont[] = {"ENV A=1 \\", "  B=2"};
	out = apply(cont, 2, &err);
	TAP_STREQ(&t, out ? field(out, "Env", buf, sizeof(buf)) : err.msg, "[\"A=1\",\"B=2\"]", "line continuation");
	free(out);
	return TAP_DONE(&t);
}
