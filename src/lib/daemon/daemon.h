/* The daemon core: configuration, metadata database, stores and buses.
 * One struct berth_daemon is the context every API handler receives. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
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
	struct berth_seccomp_memo *seccomp_memo; /* runtime/seccomp.h: the default profile, converted */
	struct berth_idmap idmap;                /* --userns-remap (daemon/userns.h); nuid 0: off */
	char **warnings;                         /* for GET /info */
	struct berth_bgjobs jobs;                /* daemon/bgjobs.h: detached restart/remove/exec-wait threads */
	/* the per-container state (berth_daemon_load) is read after the API
	 * listens; requests that need it wait for it (berth_daemon_wait_loaded) */
	pthread_mutex_t load_mu;
	pthread_cond_t load_cond;
	int load_state; /* 1 until berth_daemon_load ends, then 0 loaded or -1 failed (load_err) */
	bool load_thread_started;
	pthread_t load_thread;
	int load_notify_fd;
	struct berth_error load_err;
};

/* Create directories, open the database and the stores, probe the runtimes,
 * set up the default network: everything that can refuse the start, and
 * nothing whose cost grows with the containers on disk. On failure
 * everything opened so far is closed again. cfg is moved into the daemon.
 * The containers are not loaded yet: berth_daemon_load (or _load_start). */
int berth_daemon_open(struct berth_daemon *d, struct berth_config *cfg, struct berth_error *err);
/* The per-container state: orphaned layer directories swept, the container
 * records read, volumes' references, crash reconciliation, live restore,
 * restart policies, DNS of running containers. Then the daemon is loaded. */
int berth_daemon_load(struct berth_daemon *d, struct berth_error *err);
/* berth_daemon_load on a thread of its own (the API answers /_ping
 * meanwhile); when it is done, one 8-byte write of 1 to notify_fd (an
 * eventfd; -1: none). */
int berth_daemon_load_start(struct berth_daemon *d, int notify_fd, struct berth_error *err);
/* Wait until the load is done: 0, or -1 with the reason it failed. Every
 * opened daemon must be loaded (berth_daemon_load or _load_start), or this
 * waits for ever. */
int berth_daemon_wait_loaded(struct berth_daemon *d, struct berth_error *err);
/* The daemon's idle work, called from its main loop about once a second
 * (whatever the connections do; nothing before the load is done): the
 * inspect documents of idle containers are freed after two calls without
 * a use (berth_containers_evict_idle; read back from their records when
 * next used). Returns how many were freed: memory to give back. */
size_t berth_daemon_idle(struct berth_daemon *d);
/* Closes what is open; waits for a load still running first. */
void berth_daemon_close(struct berth_daemon *d);
void berth_daemon_warn(struct berth_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Tell a service manager we are ready (NOTIFY_SOCKET protocol). */
void berth_daemon_sd_notify(const char *socket_path, const char *msg);
