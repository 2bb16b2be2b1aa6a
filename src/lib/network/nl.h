/* Minimal rtnetlink client (links, addresses, routes). Internal to network/. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* A netlink route socket in the current network namespace, or, with
 * netns_path, in that namespace (opened from a short-lived thread). */
int berth_nl_open(const char *netns_path, struct berth_error *err);

/* ifindex of a link, 0 when absent. */
int berth_nl_link_index(int fd, const char *name);
int berth_nl_bridge_add(int fd, const char *name, int mtu, struct berth_error *err);
int berth_nl_link_del(int fd, const char *name, struct berth_error *err);
/* veth pair: host end `host` in this namespace, peer named `peer` created
 * directly in the namespace netns_fd with MAC mac (6 bytes, or NULL) and mtu. */
int berth_nl_veth_add(int fd, const char *host, const char *peer, int netns_fd, const uint8_t *mac, int mtu,
		      struct berth_error *err);
/* up/down, master (0: none), mtu (0: unchanged). */
int berth_nl_link_set(int fd, const char *name, bool up, int master_ifindex, int mtu, struct berth_error *err);
int berth_nl_addr_add(int fd, const char *name, struct in_addr addr, int prefix, struct berth_error *err);
/* First IPv4 address of a link: 0 ok, -1 when none. */
int berth_nl_addr_get(int fd, const char *name, struct in_addr *addr, int *prefix);
int berth_nl_route_default(int fd, const char *dev, struct in_addr gw, struct berth_error *err);
/* Does an IPv4 route (other than a default route) of this namespace overlap net/prefix? */
bool berth_nl_route_overlaps(int fd, struct in_addr net, int prefix);
/* An IPv6 address (no duplicate address detection: usable at once; fe80::/10
 * gets link scope). */
int berth_nl_addr6_add(int fd, const char *name, const struct in6_addr *addr, int prefix, struct berth_error *err);
int berth_nl_route6_default(int fd, const char *dev, const struct in6_addr *gw, struct berth_error *err);
/* Mark a bridge port isolated: no traffic to other isolated ports (--icc=false). */
int berth_nl_brport_isolated(int fd, const char *name, struct berth_error *err);
