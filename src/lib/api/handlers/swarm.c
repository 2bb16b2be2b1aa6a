/* Swarm-mode endpoints (swarm, nodes, services, tasks, secrets, configs) as
 * a dockerd 20.10 that is not part of a swarm answers them: 503 with the
 * "not a swarm manager" message (moby's errNoManager) for everything a
 * manager would serve, "This node is not part of a swarm" (errNoSwarm) for
 * leave. Berth has no swarm mode, so init and join, which dockerd would carry
 * out, fail with a clear 503 as well instead of doing nothing. */
#include "api/api.h"
#include "daemon/daemon.h"

#define NO_MANAGER                                                                                                     \
	"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this "        \
	"node to swarm and try again."

static void no_manager(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)d;
	(void)r;
	berth_http_respond_msg(c, 503, "%s", NO_MANAGER);
}

static void no_swarm(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)d;
	(void)r;
	berth_http_respond_msg(c, 503, "This node is not part of a swarm");
}

static void unsupported(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c)
{
	(void)d;
	(void)r;
	berth_http_respond_msg(c, 503, "This node is not part of a swarm: swarm mode is not supported by Berth");
}

const struct berth_route berth_routes_swarm[] = {
	{"GET", "/swarm", no_manager},
	{"POST", "/swarm/init", unsupported},
	{"POST", "/swarm/join", unsupported},
	{"POST", "/swarm/leave", no_swarm},
	{"POST", "/swarm/update", no_manager},
	{"GET", "/swarm/unlockkey", no_manager},
	{"POST", "/swarm/unlock", no_manager},
	{"GET", "/nodes", no_manager},
	{"GET", "/nodes/{id}", no_manager},
	{"DELETE", "/nodes/{id}", no_manager},
	{"POST", "/nodes/{id}/update", no_manager},
	{"GET", "/services", no_manager},
	{"POST", "/services/create", no_manager},
	{"GET", "/services/{id}", no_manager},
	{"DELETE", "/services/{id}", no_manager},
	{"POST", "/services/{id}/update", no_manager},
	{"GET", "/services/{id}/logs", no_manager},
	{"GET", "/tasks", no_manager},
	{"GET", "/tasks/{id}", no_manager},
	{"GET", "/tasks/{id}/logs", no_manager},
	{"GET", "/secrets", no_manager},
	{"POST", "/secrets/create", no_manager},
	{"GET", "/secrets/{id}", no_manager},
	{"DELETE", "/secrets/{id}", no_manager},
	{"POST", "/secrets/{id}/update", no_manager},
	{"GET", "/configs", no_manager},
	{"POST", "/configs/create", no_manager},
	{"GET", "/configs/{id}", no_manager},
	{"DELETE", "/configs/{id}", no_manager},
	{"POST", "/configs/{id}/update", no_manager},
	{NULL, NULL, NULL},
};
