/* Networks as the Engine API sees them (net-api): the user-defined network
 * store (metadata table "networks", docker's inspect document without
 * Containers), the predefined bridge/host/none networks, create / inspect /
 * list / remove / connect / disconnect / prune, the container side
 * (NetworkSettings.Networks entries, aliases, links) and the embedded DNS
 * servers (network/dns.h) of containers on user-defined networks.
 * Bridges, addresses, rules and endpoints are network/network.h's
 * (net-core); this file calls it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct berth_daemon;
struct berth_container;
struct berth_networks;

/* Open the store (schema) and add every stored user network to the network
 * module (create=false). Call after the network module is open. */
struct berth_networks *berth_networks_open(struct berth_daemon *d, struct berth_error *err);
/* After containers are restored (live restore): start the DNS servers of
 * running containers on user-defined networks. */
void berth_networks_restore(struct berth_daemon *d);
/* Stop the DNS servers and free. NULL is fine. */
void berth_networks_close(struct berth_networks *ns);

/* GET /networks: filters driver, id, label, name, scope, type, dangling. */
json_t *berth_networks_list(struct berth_daemon *d, json_t *filters, struct berth_error *err);
/* GET /networks/{id}: docker's document with Containers. */
json_t *berth_networks_inspect(struct berth_daemon *d, const char *ref, struct berth_error *err);
/* POST /networks/create: {"Id","Warning"} or NULL. */
json_t *berth_networks_create(struct berth_daemon *d, json_t *body, struct berth_error *err);
/* DELETE /networks/{id}. */
int berth_networks_remove(struct berth_daemon *d, const char *ref, struct berth_error *err);
/* POST /networks/{id}/connect: body {Container, EndpointConfig}. */
int berth_networks_connect(struct berth_daemon *d, const char *ref, json_t *body, struct berth_error *err);
/* POST /networks/{id}/disconnect: body {Container, Force}. */
int berth_networks_disconnect(struct berth_daemon *d, const char *ref, json_t *body, struct berth_error *err);
/* POST /networks/prune: {"NetworksDeleted": [...]|null}. */
int berth_networks_prune_unused(struct berth_daemon *d, json_t *filters, json_t **out, struct berth_error *err);

/* Container create: resolve NetworkMode (a user network name/ID or
 * default/bridge/host/none/container:) and NetworkingConfig.EndpointsConfig
 * into the new document's NetworkSettings.Networks entries (IPAMConfig,
 * Aliases, Links, NetworkID). Checks static addresses (--ip: valid, inside
 * the network's subnet, user networks only). hc is HostConfig, nets the
 * Networks object to fill. */
int berth_networks_container_create(struct berth_daemon *d, json_t *hc, json_t *networking_config, json_t *nets,
				    struct berth_error *err);
/* Container started and its sandbox ready (netns path): start the
 * embedded DNS when the container is on a user-defined network. */
int berth_networks_container_started(struct berth_daemon *d, const char *container_id, const char *netns_path,
				     struct berth_error *err);
/* Container stopped: stop its DNS server. */
void berth_networks_container_stopped(struct berth_daemon *d, const char *container_id);
/* Is the container (doc) on a user-defined network (embedded DNS)? */
bool berth_networks_uses_embedded_dns(struct berth_daemon *d, json_t *container_doc);
/* /etc/hosts lines of the container's legacy links ("ip\talias id12 name"),
 * a new array (maybe empty). */
json_t *berth_networks_link_hosts(struct berth_daemon *d, json_t *container_doc);
/* HostConfig.Links as dockerd's inspect shows it (its link graph): the
 * default-bridge links as "/target:/container/alias", null on a user network
 * (there a link is an alias of the endpoint, NetworkSettings.Networks.X.Links). */
json_t *berth_networks_link_inspect(struct berth_daemon *d, json_t *container_doc);
/* The legacy link environment (ALIAS_PORT_80_TCP_ADDR=..., ALIAS_NAME=...,
 * ALIAS_ENV_X=...) of a container being started, a new array. */
json_t *berth_networks_link_env(struct berth_daemon *d, json_t *container_doc);
/* DELETE /containers/{name}?link=1: remove the legacy link "/parent/alias"
 * from the parent's HostConfig.Links. */
int berth_networks_remove_link(struct berth_daemon *d, const char *name, struct berth_error *err);
