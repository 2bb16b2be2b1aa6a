/* Internals shared by daemon/networks*.c. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "common/error.h"
#include "network/dns.h"

struct berth_daemon;

struct berth_nw_dns {
	char id[65];
	struct berth_dns_server *server;
	struct berth_nw_dns *next;
};

struct berth_networks {
	struct berth_daemon *d;
	pthread_mutex_t mu; /* create/remove/connect/disconnect; the DNS list */
	struct berth_dns_ops dns_ops;
	struct berth_dns_upstreams upstreams;
	struct berth_nw_dns *dns;
};

bool berth_nw_predefined(const char *name);
bool berth_nw_user_defined(json_t *net);
json_t *berth_nw_all(struct berth_daemon *d, struct berth_error *err);
json_t *berth_nw_find(struct berth_daemon *d, const char *ref, struct berth_error *err);
/* DNS callbacks (ctx is the daemon). */
int berth_nw_dns_lookup(void *ctx, const char *key, const char *name, struct berth_dns_addrs *out);
int berth_nw_dns_ptr(void *ctx, const char *key, int family, const void *addr, char *name, size_t len);
