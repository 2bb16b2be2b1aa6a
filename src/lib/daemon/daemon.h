/* The daemon core: configuration, metadata database, stores and buses.
 * One struct berth_daemon is the context every API handler receives. */
#pragma once
#include <pthread.h>
#include <stdint.h>

#include "common/error.h"
#include "common/idmap.h"
#include "common/log.h"
#include "daemon/bgjobs.h"
#include "daemon/config.h"
#include "daemon/events.h"
#include "metadata/db.h"
#include "runtime/sysinfo.h"

struct berth_layer_store;
struct berth_image_store;
struct berth_runtimes;
struct berth_containers;
struct berth_monitor;
struct berth_execs;
struct berth_health;
struct berth_volumes;
struct berth_netctx;
struct berth_networks;

struct berth_daemon {
	struct berth_config cfg;
	struct berth_log log;
	char id[128]; /* engine ID, persisted in <data-root>/engine-id */
	char hostname[256];
	int64_t started_ns;
	struct berth_db *db;        /* metadata/db.h: the one SQLite owner */
	pthread_mutex_t store_lock; /* image delete/prune vs container create */
	struct berth_events *events;
	struct berth_layer_store *layers;
	struct berth_image_store *images;
	struct berth_runtimes *runtimes;
	struct berth_containers *containers;
	struct berth_monitor *monitor;
	struct berth_execs *execs;
	struct berth_health *health;     /* daemon/health.h: healthcheck monitors */
	struct berth_volumes *volumes;   /* daemon/volumes.h */
	struct berth_netctx *net;        /* network/network.h (net-core); NULL: no bridge networking */
	struct berth_networks *networks; /* daemon/networks.h (net-api) */
	struct berth_sysinfo sysinfo;
	struct berth_idmap idmap; /* --userns-remap (daemon/userns.h); nuid 0: off */
	char **warnings;          /* for GET /info */
	struct berth_bgjobs jobs; /* daemon/bgjobs.h: detached restart/remove/exec-wait threads */
};

/* Create directories, open the database, the stores, probe the runtimes,
 * restore containers; on failure everything opened so far is closed again.
 * cfg is moved into the daemon. */
int berth_daemon_open(struct berth_daemon *d, struct berth_config *cfg, struct berth_error *err);
void berth_daemon_close(struct berth_daemon *d);
void berth_daemon_warn(struct berth_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Tell a service manager we are ready (NOTIFY_SOCKET protocol). */
void berth_daemon_sd_notify(const char *socket_path, const char *msg);
