/* Container networking: bridge networks, IPAM, sandboxes (network
 * namespaces), endpoints (veth pairs), iptables NAT/filter rules, published
 * ports (DNAT + userland proxy) and the /etc/hosts, /etc/resolv.conf and
 * /etc/hostname files.
 *
 * Model. A network is described by docker's network inspect document (JSON:
 * "Name", "Id", "Driver":"bridge", "IPAM":{"Config":[{"Subnet","Gateway",
 * "IPRange"}]}, "Internal", "EnableIPv6", "Options":{"com.docker.network.
 * bridge.name", "com.docker.network.bridge.enable_icc", "...enable_ip_
 * masquerade", "com.docker.network.driver.mtu"}). The default bridge is
 * simply the network named "bridge" (Linux bridge berth0, or the one given by
 * -b); a user-defined bridge network uses the same code with its own Linux
 * bridge br-<id12>. This module keeps networks in memory only: the daemon
 * (net-api) persists user-defined network documents and adds them again at
 * every start with berth_net_network_add(create=false).
 *
 * Endpoints are recorded by this module in <exec-root>/network/endpoints/
 * (what is needed to undo them: rules, proxies, addresses), so that a
 * container's network is removed at stop even after a daemon restart, and
 * adopted without duplicating rules on live restore (berth_net_restore).
 *
 * Thread safety: every function may be called from any thread; the context
 * has its own lock. No function calls a shell: iptables runs with argv. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/log.h"

#define BERTH_NET_DEFAULT_BRIDGE "berth0"
#define BERTH_NET_DEFAULT_NAME "bridge"

/* Daemon options (flags / daemon.json keys of the same names). */
struct berth_net_opts {
	char *bridge;               /* -b/--bridge: NULL/"" create the default bridge, "none" disables it */
	char *default_bridge_name;  /* hidden --default-bridge-name: name of the created bridge (tests) */
	char *bip;                  /* --bip: gateway address/prefix of the created default bridge */
	char *fixed_cidr;           /* --fixed-cidr: container addresses of the default bridge */
	int mtu;                    /* --mtu (0: 1500) */
	char *default_ip;           /* --ip: default host IP of published ports, IPv4 or IPv6 (NULL: 0.0.0.0) */
	bool iptables;              /* --iptables (default true) */
	bool ip6tables;             /* --ip6tables (default true; no ip6tables rule at all when false) */
	bool ip_forward;            /* --ip-forward (default true) */
	bool ip_masq;               /* --ip-masq (default true) */
	bool icc;                   /* --icc (default true) */
	bool userland_proxy;        /* --userland-proxy (default true) */
	char *userland_proxy_path;  /* --userland-proxy-path (NULL: berth-proxy beside berthd) */
	json_t *default_addr_pools; /* --default-address-pool: [{"base":"CIDR","size":N}], NULL: docker's */
	bool ipv6;                  /* --ipv6: IPv6 on the default bridge */
	char *fixed_cidr_v6;        /* --fixed-cidr-v6: its IPv6 subnet */
};
void berth_net_opts_init(struct berth_net_opts *o);
/* 0 when s is an IPv4 or IPv6 address (the --ip flag), else -1. */
int berth_net_ip_valid(const char *s);
void berth_net_opts_free(struct berth_net_opts *o);
/* One daemon.json key (or flag value of the same name) of the list above:
 * 1 when the key is a network key and was applied, 0 when it is not a network
 * key, -1 with err when the value is invalid. */
int berth_net_opts_apply(struct berth_net_opts *o, const char *key, json_t *v, struct berth_error *err);

struct berth_netctx;

/* Open the module: check the options, create <exec-root>/netns and
 * <exec-root>/network, enable ip_forward, install Berth's base chains
 * (BERTH, BERTH-ISOLATION-STAGE-1/2, BERTH-USER), create or adopt the
 * default bridge (unless --bridge=none). Nothing is left half-made on
 * failure. */
struct berth_netctx *berth_net_open(const struct berth_net_opts *opts, const char *exec_root, const char *proxy_path,
				    struct berth_log *log, struct berth_error *err);
/* Free the context. Bridges, rules and endpoints stay (live restore). */
void berth_net_close(struct berth_netctx *n);

/* The default network's document ("bridge"), a new reference; NULL with
 * --bridge=none. */
json_t *berth_net_default_network(struct berth_netctx *n);

/* Add a bridge network. doc is docker's network document; "Id" and "Name"
 * are required. create=true: a new network — a subnet is picked from the
 * address pools when IPAM.Config has none (and written into doc, as is the
 * Gateway), an overlapping subnet fails ("Pool overlaps with other one on this
 * address space"); the bridge and its rules are made. create=false: a known
 * network at daemon start — bridge and rules are made where missing, never
 * duplicated. */
int berth_net_network_add(struct berth_netctx *n, json_t *doc, bool create, struct berth_error *err);
/* Remove a network's bridge (unless it existed before, -b) and its rules.
 * CONFLICT while it has endpoints. */
int berth_net_network_remove(struct berth_netctx *n, const char *id_or_name, struct berth_error *err);
/* The network's current document (new reference), or NULL (NOT_FOUND). */
json_t *berth_net_network_get(struct berth_netctx *n, const char *id_or_name, struct berth_error *err);

/* A container's sandbox: a network namespace bind-mounted on
 * <exec-root>/netns/<id12>, made before the runtime starts and passed to the
 * OCI spec. Returns the path (free it). Idempotent. */
char *berth_net_sandbox_create(struct berth_netctx *n, const char *container_id, struct berth_error *err);
/* Path of a container's sandbox (free it); it may not exist. */
char *berth_net_sandbox_path(struct berth_netctx *n, const char *container_id);

/* What an endpoint needs. */
struct berth_endpoint_req {
	const char *container_id;   /* 64 hex */
	const char *container_name; /* without "/"; for messages */
	const char *network;        /* id or name */
	const char *ipv4;           /* static address (--ip) or NULL: IPAM */
	const char *ipv6;           /* static IPv6 address (--ip6) or NULL: IPAM (IPv6 networks) */
	json_t *link_local_ips;     /* ["169.254.1.1", "fe80::1"] (--link-local-ip) or NULL */
	const char *mac;            /* --mac-address or NULL: 02:42 + IPv4 */
	const char *ifname;         /* NULL: eth0 for the first, then eth1... */
	json_t *port_bindings;      /* HostConfig.PortBindings (or NULL) */
	json_t *exposed_ports;      /* Config.ExposedPorts (for -P) */
	bool publish_all;           /* HostConfig.PublishAllPorts */
	bool default_route;         /* the gateway becomes the default route */
};

/* Attach a container to a network inside its sandbox: veth pair (host end on
 * the bridge, other end named ifname in the sandbox with the address, MAC,
 * MTU, default route), iptables rules and userland proxies of its published
 * ports. *endpoint gets docker's NetworkSettings.Networks.<name> fields
 * (NetworkID, EndpointID, Gateway, IPAddress, IPPrefixLen, MacAddress,
 * IPv6Gateway, GlobalIPv6Address, GlobalIPv6PrefixLen; the caller adds
 * IPAMConfig, Aliases, Links, DriverOpts) and *ports docker's
 * NetworkSettings.Ports ({"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}).
 * Errors in docker's words ("Bind for 0.0.0.0:8080 failed: port is already
 * allocated", "Address already in use", ...); on error nothing is left. */
int berth_net_endpoint_attach(struct berth_netctx *n, const struct berth_endpoint_req *req, json_t **endpoint,
			      json_t **ports, struct berth_error *err);
/* Remove one endpoint (rules, proxies, veth, address). NOT_FOUND if absent. */
int berth_net_endpoint_detach(struct berth_netctx *n, const char *container_id, const char *network,
			      struct berth_error *err);
/* A container stopped: remove all its endpoints and its sandbox. Safe to
 * call for a container with no network and more than once. */
void berth_net_container_release(struct berth_netctx *n, const char *container_id);

/* At daemon start, after networks were added: every recorded endpoint of a
 * running container (is_running says so) is adopted — address and host ports
 * reserved, missing rules and proxies made again, nothing duplicated; every
 * other one is released. */
void berth_net_restore(struct berth_netctx *n, bool (*is_running)(void *ctx, const char *container_id), void *ctx);

/* The files of a container (moved from the daemon). */
struct berth_net_files {
	const char *hostname_path, *hosts_path, *resolv_conf_path;
	const char *hostname;                   /* Config.Hostname (or the host's for --network host) */
	const char *domainname;                 /* Config.Domainname */
	bool host_network;                      /* copy the host's /etc/hosts, keep loopback name servers */
	const char *ipv4;                       /* the container's own address (hosts entry), or NULL */
	const char *ipv6;                       /* its global IPv6 address (hosts entry), or NULL */
	json_t *extra_hosts;                    /* HostConfig.ExtraHosts ["name:ip"] */
	json_t *more_hosts;                     /* ["ip\tname alias..."] lines (links, from net-api) or NULL */
	json_t *dns, *dns_search, *dns_options; /* HostConfig.Dns/DnsSearch/DnsOptions */
	bool embedded_dns;                      /* user network: nameserver 127.0.0.11, options ndots:0 */
};
int berth_net_files_write(const struct berth_net_files *f, struct berth_error *err);

/* Port specs (-p / PortBindings / ExposedPorts) — pure functions. */
struct berth_port_map {
	char proto[8];     /* tcp, udp, sctp */
	int ctr_port;      /* container port */
	char host_ip[64];  /* "" = default (--ip) */
	int host_port;     /* 0 = ephemeral */
	int host_port_end; /* range end (== host_port when single; 0 when host_port is 0) */
	bool v6_twin;      /* the "::" binding dockerd adds to a 0.0.0.0 one (same host port) */
};
/* Parse a "80/tcp" key: port, proto. -1 with docker's message when invalid. */
int berth_port_key_parse(const char *key, int *port, char *proto, size_t proto_len, struct berth_error *err);
/* Expand PortBindings + (publish_all: ExposedPorts) into mappings, in
 * dockerd's order (see ports.c: -P ports descending, several tcp bindings of
 * one port reversed). *out is malloc'd (free it). */
int berth_port_maps_from(json_t *port_bindings, json_t *exposed_ports, bool publish_all, struct berth_port_map **out,
			 size_t *n, struct berth_error *err);
