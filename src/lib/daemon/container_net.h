/* A container's network at start and exit (daemon side of network/). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "daemon/container.h"

struct berth_daemon;

/* NetworkMode "", "default" or "bridge": the default bridge network. */
bool berth_ctr_net_uses_bridge(const char *mode);
/* Before the runtime starts: files (hostname, hosts, resolv.conf), the
 * sandbox and endpoints, NetworkSettings in its document. *netns: NULL (new empty
 * namespace), "host", or a namespace path for the spec (free it). On error
 * nothing is left. */
int berth_ctr_net_prepare(struct berth_daemon *d, struct berth_container *c, json_t *cfg, json_t *hc, char **netns,
			  struct berth_error *err);
/* After exit/stop or a failed start: endpoints and sandbox go, NetworkSettings cleared. */
void berth_ctr_net_release(struct berth_daemon *d, struct berth_container *c);
/* At daemon start, after live restore decided which containers run. */
void berth_ctr_net_restore(struct berth_daemon *d);
/* container:<x> modes: the target's namespace path, NULL, or (char *)-1 with err. */
char *berth_ctr_ns_for(struct berth_daemon *d, const char *mode, const char *ns, struct berth_error *err);
/* The "Ports" array of a container list entry, from NetworkSettings.Ports. */
json_t *berth_ctr_net_list_ports(json_t *doc);
