/* daemon/container_autostart: which containers start again at daemon start
 * (docker's ShouldRestart on restore) and what a container depends on. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_autostart.h"
#include "tap.h"

static struct berth_container *mk(const char *hostconfig, const char *state, enum berth_cstate st, int restarts,
				  bool started)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "HostConfig", json_loads(hostconfig, 0, NULL));
	json_object_set_new(doc, "State", json_loads(state, 0, NULL));
	json_object_set_new(doc, "RestartCount", json_integer(restarts));
	struct berth_container *c = berth_container_new_standalone("0123456789ab", "/c", doc);
	c->state = st;
	c->has_been_started = started;
	return c;
}

static void rm(struct berth_container *c) { berth_container_free_standalone(c); }

static bool autostart(const char *policy, int max, int exit_code, const char *error, enum berth_cstate st, int restarts,
		      bool started)
{
	char hc[256], state[256];
	snprintf(hc, sizeof(hc), "{\"RestartPolicy\":{\"Name\":\"%s\",\"MaximumRetryCount\":%d}}", policy, max);
	snprintf(state, sizeof(state), "{\"ExitCode\":%d,\"Error\":\"%s\"}", exit_code, error);
	struct berth_container *c = mk(hc, state, st, restarts, started);
	bool r = berth_ctr_should_autostart(c);
	rm(c);
	return r;
}

static char *deps_of(const char *hostconfig)
{
	struct berth_container *c = mk(hostconfig, "{}", CS_EXITED, 0, true);
	char **d = berth_ctr_dependencies(c);
	struct berth_buf b = {0};
	for (size_t i = 0; d && d[i]; i++)
		berth_buf_printf(&b, "%s%s", i ? "," : "", d[i]);
	berth_strv_free(d);
	rm(c);
	return berth_buf_steal(&b);
}

int main(void)
{
	struct tap t = {0};
	/* docker's restore: always, even after a user stop */
	TAP_OK(&t, autostart("always", 0, 137, "", CS_EXITED, 0, true), "always, stopped by the user: started");
	TAP_OK(&t, autostart("always", 0, 0, "", CS_EXITED, 5, true), "always, exited 0: started");
	TAP_OK(&t, !autostart("always", 0, 0, "", CS_CREATED, 0, false), "never started: not started");
	TAP_OK(&t, !autostart("always", 0, 0, "", CS_EXITED, 0, false), "exited but never started (start failed): no");
	TAP_OK(&t, !autostart("always", 0, 0, "", CS_RUNNING, 0, true), "running: nothing to do");
	TAP_OK(&t, !autostart("always", 0, 0, "", CS_RESTARTING, 0, true), "restart already pending: left to it");
	/* unless-stopped: a stopped one was stopped by the user unless its restart failed */
	TAP_OK(&t, !autostart("unless-stopped", 0, 137, "", CS_EXITED, 0, true), "unless-stopped, stopped: no");
	TAP_OK(&t, autostart("unless-stopped", 0, 128, "OCI runtime create failed", CS_EXITED, 1, true),
	       "unless-stopped whose restart failed: started");
	/* on-failure: non-zero exit and retries left */
	TAP_OK(&t, autostart("on-failure", 0, 1, "", CS_EXITED, 7, true), "on-failure, no maximum, exit 1: started");
	TAP_OK(&t, !autostart("on-failure", 0, 0, "", CS_EXITED, 0, true), "on-failure, exit 0: no");
	TAP_OK(&t, autostart("on-failure", 3, 2, "", CS_EXITED, 2, true), "on-failure:3 after 2 restarts: started");
	TAP_OK(&t, !autostart("on-failure", 3, 2, "", CS_EXITED, 3, true), "on-failure:3 after 3 restarts: no");
	TAP_OK(&t, !autostart("no", 0, 1, "", CS_EXITED, 0, true), "no: never");
	TAP_OK(&t, !autostart("", 0, 1, "", CS_EXITED, 0, true), "empty policy: never");

	char *d =
		deps_of("{\"VolumesFrom\":[\"data:ro\",\"other\"],\"NetworkMode\":\"container:net1\","
			"\"IpcMode\":\"container:ipc1\",\"PidMode\":\"host\",\"Links\":[\"/db:/web/db\",\"cache:c\"]}");
	TAP_STREQ(&t, d, "data,other,net1,ipc1,db,cache", "dependencies: volumes-from, container: modes, links");
	free(d);
	d = deps_of("{\"NetworkMode\":\"bridge\",\"VolumesFrom\":null,\"Links\":null}");
	TAP_STREQ(&t, d, "", "no dependencies");
	free(d);
	d = deps_of("{\"NetworkMode\":\"container:\",\"PidMode\":\"container:p1\"}");
	TAP_STREQ(&t, d, "p1", "an empty container: target is ignored");
	free(d);
	return TAP_DONE(&t);
}
