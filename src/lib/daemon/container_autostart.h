/* Restart policies at daemon start (docker's "Automatically start
 * containers"): containers whose shim is gone after a reboot, and stopped
 * containers docker would start again, are started with what they depend on
 * (--volumes-from, --network/--ipc/--pid container:<x>, --link) first. */
#pragma once
#include <stdbool.h>

struct berth_daemon;
struct berth_container;

/* References to the containers c needs running first: VolumesFrom
 * ("name[:ro]"), NetworkMode/IpcMode/PidMode "container:<x>", Links
 * ("name:alias"). NULL-terminated strv (free with berth_strv_free), NULL
 * when there are none. Takes c->mu. */
char **berth_ctr_dependencies(struct berth_container *c);

/* Block until none of c's dependencies is still about to be (re)started
 * (Restarting, or Running in the record but not yet re-adopted by live
 * restore). Bounded (60 s); called before a restart-policy start. */
void berth_ctr_wait_deps(struct berth_daemon *d, struct berth_container *c);

/* Live restore found c's shim gone (BERTH_SHIM_LOST, e.g. after a reboot or
 * a kill -9): remove what the runtime and the shim left (`runc delete
 * --force`, the container's cgroup) so the container can be created again. */
void berth_ctr_lost_cleanup(struct berth_daemon *d, struct berth_container *c);

/* docker's verdict at daemon start (daemon.restore -> ShouldRestart) for a
 * stopped container: "always"; "unless-stopped" unless the user stopped it;
 * "on-failure" with a non-zero exit and retries left. Never for a container
 * that was never started. Takes c->mu. */
bool berth_ctr_should_autostart(struct berth_container *c);

/* At daemon start, after live restore: start every stopped container
 * berth_ctr_should_autostart() selects (RestartCount reset to 0 as docker's
 * containerStart does), each in its own thread after its dependencies.
 * They show as "restarting" until started, so `stop` still wins. */
void berth_ctr_autostart(struct berth_daemon *d);
