#include "daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "builder/builder.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/exec.h"
#include "daemon/health.h"
#include "daemon/networks.h"
#include "daemon/reconcile.h"
#include "daemon/userns.h"
#include "daemon/volumes.h"
#include "distribution/pull.h"
#include "image/store.h"
#include "network/network.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "storage/fsutil.h"
#include "storage/layer_store.h"

static int open_db(struct berth_daemon *d, struct berth_error *err)
{
	cleanup_free char *path = berth_strdup_printf("%s/berth.db", d->cfg.data_root);
	/* a few MiB kept free so that deletes work on a full data root */
	cleanup_free char *reserve = berth_strdup_printf("%s/.reserve", d->cfg.data_root);
	struct berth_db_opts o = {.reserve_path = reserve, .reserve_size = 8 << 20};
	d->db = berth_db_open(path, &o, err);
	return d->db ? 0 : -1;
}

/* Engine ID in docker's format: 12 groups of 4 base32 characters. */
static void load_engine_id(struct berth_daemon *d)
{
	cleanup_free char *path = berth_strdup_printf("%s/engine-id", d->cfg.data_root);
	char *data = NULL;
	size_t len = 0;
	if (berth_read_file(path, &data, &len, 256, NULL) == 0 && len > 10) {
		snprintf(d->id, sizeof(d->id), "%.*s", (int)strcspn(data, "\n"), data);
		free(data);
		return;
	}
	free(data);
	char rnd[65];
	berth_random_id(rnd);
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char *o = d->id;
	for (int i = 0; i < 48; i++) {
		int hi = rnd[i] <= '9' ? rnd[i] - '0' : rnd[i] - 'a' + 10;
		int lo = rnd[(i + 48) % 64] <= '9' ? rnd[(i + 48) % 64] - '0' : rnd[(i + 48) % 64] - 'a' + 10;
		*o++ = b32[(hi * 16 + lo) % 32];
		if (i % 4 == 3 && i < 47)
			*o++ = ':';
	}
	*o = '\0';
	berth_write_file_atomic(path, d->id, strlen(d->id), 0600, NULL);
}

void berth_daemon_warn(struct berth_daemon *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	berth_strv_push(&d->warnings, msg);
	berth_log(&d->log, BERTH_LOG_WARN, "%s", msg);
}

static bool image_used_by(void *ctx, const char *image_id, enum berth_image_use which, char container_id[65])
{
	struct berth_daemon *d = ctx;
	if (!d->containers)
		return false;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all_ex(d->containers, &n, true);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		const char *img = c->image[0] ? c->image : NULL;
		bool running = c->state == CS_RUNNING || c->state == CS_PAUSED || c->state == CS_RESTARTING;
		if (img && !strcmp(img, image_id) &&
		    (which == BERTH_IMAGE_USE_ANY || (which == BERTH_IMAGE_USE_RUNNING) == running)) {
			snprintf(container_id, 65, "%s", c->id);
			found = true;
		}
		pthread_mutex_unlock(&c->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return found;
}

static int64_t image_users(void *ctx, const char *image_id)
{
	struct berth_daemon *d = ctx;
	if (!d->containers)
		return 0;
	size_t n = 0;
	int64_t count = 0;
	struct berth_container **all = berth_container_list_all_ex(d->containers, &n, true);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&all[i]->mu);
		const char *img = all[i]->image[0] ? all[i]->image : NULL;
		if (img && !strcmp(img, image_id))
			count++;
		pthread_mutex_unlock(&all[i]->mu);
	}
	berth_container_list_free(d->containers, all, n);
	return count;
}

static int open_runtimes(struct berth_daemon *d, struct berth_error *err)
{
	berth_sysinfo_probe(&d->sysinfo);
	d->seccomp_memo = berth_seccomp_memo_new(); /* NULL: converted per spec */
	d->runtimes = calloc(1, sizeof(*d->runtimes));
	if (berth_runtimes_init(d->runtimes, d->cfg.default_runtime, err) < 0)
		return -1;
	const char *name;
	json_t *v;
	json_object_foreach(d->cfg.runtimes, name, v) {
		const char *path = json_string_value(json_object_get(v, "path"));
		if (!path || berth_runtimes_add(d->runtimes, name, path, json_object_get(v, "runtimeArgs"), err) < 0) {
			if (!path)
				berth_err(err, BERTH_E_INVALID, "runtime %s: no path given", name);
			return -1;
		}
	}
	struct berth_probe_opts po = {.state_dir = d->cfg.exec_root};
	if (berth_runtimes_probe(d->runtimes, &po, err) < 0) {
		/* no runtime works: keep serving images, say why everywhere */
		berth_daemon_warn(d, "%s", err->msg);
		berth_err_clear(err);
	}
	char *summary = berth_runtimes_summary(d->runtimes);
	berth_log(&d->log, BERTH_LOG_INFO, "%s", summary ? summary : "runtimes probed");
	free(summary);
	for (size_t i = 0; d->runtimes->warnings && d->runtimes->warnings[i]; i++)
		berth_strv_push(&d->warnings, d->runtimes->warnings[i]);
	return 0;
}

/* berth-proxy beside berth-shim (installed), or in the build tree's src/proxy. */
static char *proxy_path(const char *shim_path)
{
	cleanup_free char *dir = strdup(shim_path ? shim_path : "");
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return NULL;
	*slash = '\0';
	const char *cands[] = {"%s/berth-proxy", "%s/../proxy/berth-proxy"};
	for (size_t i = 0; i < 2; i++) {
		char *p = berth_strdup_printf(cands[i], dir);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int open_network(struct berth_daemon *d, struct berth_error *err)
{
	cleanup_free char *proxy = proxy_path(d->cfg.shim_path);
	d->net = berth_net_open(&d->cfg.net, d->cfg.exec_root, proxy, &d->log, err);
	if (!d->net) {
		char *msg = strdup(err->msg);
		berth_err(err, err->kind, "Error initializing network controller: %s", msg ? msg : "");
		free(msg);
		return -1;
	}
	return 0;
}

int berth_daemon_open(struct berth_daemon *d, struct berth_config *cfg, struct berth_error *err)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	atomic_store(&d->log.level, d->cfg.debug ? BERTH_LOG_DEBUG : BERTH_LOG_INFO);
	d->started_ns = berth_now_ns();
	pthread_mutex_init(&d->store_lock, NULL);
	pthread_mutex_init(&d->load_mu, NULL);
	pthread_cond_init(&d->load_cond, NULL);
	d->load_state = 1; /* loading: until berth_daemon_load */
	d->load_notify_fd = -1;
	gethostname(d->hostname, sizeof(d->hostname) - 1);
	if (berth_bgjobs_init(&d->jobs) < 0) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "background jobs");
		goto fail;
	}
	if (berth_userns_setup(d, err) < 0) /* --userns-remap: <data-root>/<uid>.<gid> */
		goto fail;
	if (berth_mkdir_p(d->cfg.data_root, 0711, err) < 0 || berth_mkdir_p(d->cfg.exec_root, 0711, err) < 0)
		goto fail;
	char *tmp = berth_strdup_printf("%s/tmp", d->cfg.data_root);
	int r = berth_mkdir_p(tmp, 0700, err);
	free(tmp);
	if (r < 0)
		goto fail;
	if (open_db(d, err) < 0)
		goto fail;
	load_engine_id(d);
	d->events = berth_events_new(BERTH_EVENTS_HISTORY);
	/* the orphaned layer directories are swept by berth_daemon_load: a
	 * directory per container */
	d->layers = berth_layer_store_open_unswept(d->cfg.data_root, d->cfg.storage_driver, d->db, err);
	if (!d->layers || berth_userns_stores(d, err) < 0)
		goto fail;
	if (berth_layer_store_set_options(d->layers, d->cfg.storage_opts, err) < 0) {
		berth_err_prefix(err, "error initializing graphdriver");
		goto fail;
	}
	struct berth_event_sink image_events = berth_events_sink(d->events);
	d->images = berth_image_store_open(d->cfg.data_root, d->db, d->layers, &image_events, err);
	if (!d->images)
		goto fail;
	struct berth_image_hooks hooks = {.find_container = image_used_by, .count_containers = image_users, .ctx = d};
	berth_image_store_set_hooks(d->images, &hooks);
	if (open_runtimes(d, err) < 0)
		goto fail;
	if (open_network(d, err) < 0) /* default bridge, base iptables chains (network/network.h) */
		goto fail;
	d->networks = berth_networks_open(d, err); /* user networks, embedded DNS (daemon/networks.h) */
	if (!d->networks)
		goto fail;
	d->execs = berth_execs_new();
	d->health = berth_health_new();
	return 0;
fail:
	berth_daemon_close(d);
	return -1;
}

/* The load's outcome (0, or -1 and why), for berth_daemon_wait_loaded. */
static void load_done(struct berth_daemon *d, int rc, const struct berth_error *err)
{
	pthread_mutex_lock(&d->load_mu);
	__atomic_store_n(&d->load_state, rc, __ATOMIC_RELEASE);
	if (rc < 0)
		d->load_err = *err;
	pthread_cond_broadcast(&d->load_cond);
	pthread_mutex_unlock(&d->load_mu);
}

int berth_daemon_load(struct berth_daemon *d, struct berth_error *err)
{
	berth_layer_store_sweep(d->layers);              /* directories of no layer (a kill -9 midway) */
	berth_pull_recover(d->images, d->cfg.data_root); /* layer references of pulls killed midway */
	berth_build_recover(d->cfg.data_root);           /* work and /dev/shm directories of builds killed midway */
	int rc = -1;
	/* each container's directory in a block group of its own (storage/fsutil.h) */
	cleanup_free char *cdirs = berth_strdup_printf("%s/containers", d->cfg.data_root);
	if (cdirs && berth_mkdir_p(cdirs, 0710, NULL) == 0)
		berth_fs_spread_subdirs(cdirs);
	struct berth_containers *cs = berth_containers_open(d, err);
	if (!cs)
		goto out;
	d->containers = cs;
	d->volumes = berth_volumes_open(d, err);
	if (!d->volumes)
		goto out;
	d->monitor = berth_monitor_start(d, err);
	if (!d->monitor)
		goto out;
	berth_reconcile(d); /* what a kill -9 left half done (daemon/reconcile.h) */
	berth_ctr_restore(d);
	berth_networks_restore(d); /* DNS servers of running containers on user networks */
	rc = 0;
out:
	load_done(d, rc, err);
	return rc;
}

static void *load_thread(void *arg)
{
	struct berth_daemon *d = arg;
	struct berth_error err = {0};
	if (berth_daemon_load(d, &err) < 0)
		berth_log(&d->log, BERTH_LOG_DEBUG, "loading the containers failed: %s", err.msg);
	if (d->load_notify_fd >= 0) {
		uint64_t one = 1;
		if (write(d->load_notify_fd, &one, sizeof(one)) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "load notification: %s", strerror(errno));
	}
	return NULL;
}

int berth_daemon_load_start(struct berth_daemon *d, int notify_fd, struct berth_error *err)
{
	d->load_notify_fd = notify_fd;
	int e = pthread_create(&d->load_thread, NULL, load_thread, d);
	if (e) {
		berth_err_sys(err, BERTH_E_INTERNAL, e, "cannot start the loader thread");
		load_done(d, -1, err);
		return -1;
	}
	d->load_thread_started = true;
	return 0;
}

int berth_daemon_wait_loaded(struct berth_daemon *d, struct berth_error *err)
{
	if (__atomic_load_n(&d->load_state, __ATOMIC_ACQUIRE) == 0)
		return 0;
	pthread_mutex_lock(&d->load_mu);
	while (d->load_state == 1)
		pthread_cond_wait(&d->load_cond, &d->load_mu);
	int rc = d->load_state;
	if (rc < 0)
		berth_err(err, d->load_err.kind ? d->load_err.kind : BERTH_E_INTERNAL, "%s", d->load_err.msg);
	pthread_mutex_unlock(&d->load_mu);
	return rc;
}

size_t berth_daemon_idle(struct berth_daemon *d)
{
	if (__atomic_load_n(&d->load_state, __ATOMIC_ACQUIRE) != 0 || !d->containers)
		return 0;
	size_t freed = berth_containers_evict_idle(d->containers);
	if (freed)
		berth_log(&d->log, BERTH_LOG_DEBUG, "idle: %zu container documents freed", freed);
	return freed;
}

void berth_daemon_close(struct berth_daemon *d)
{
	if (d->load_thread_started) {
		pthread_join(d->load_thread, NULL);
		d->load_thread_started = false;
	}
	berth_bgjobs_close(&d->jobs); /* first: those threads use everything below */
	berth_health_free(d->health); /* its probes are execs in containers */
	d->health = NULL;
	berth_monitor_stop(d->monitor);
	d->monitor = NULL;
	berth_execs_free(d->execs);
	d->execs = NULL;
	berth_networks_close(d->networks);
	d->networks = NULL;
	berth_volumes_close(d->volumes);
	d->volumes = NULL;
	berth_containers_close(d->containers);
	d->containers = NULL;
	berth_net_close(d->net);
	d->net = NULL;
	if (d->runtimes) {
		berth_runtimes_free(d->runtimes);
		free(d->runtimes);
		d->runtimes = NULL;
	}
	if (d->images)
		berth_image_store_close(d->images);
	d->images = NULL;
	if (d->layers)
		berth_layer_store_close(d->layers);
	d->layers = NULL;
	berth_db_close(d->db);
	d->db = NULL;
	berth_events_free(d->events);
	d->events = NULL;
	berth_strv_free(d->warnings);
	berth_seccomp_memo_free(d->seccomp_memo);
	d->warnings = NULL;
	berth_config_free(&d->cfg);
	pthread_mutex_destroy(&d->store_lock);
	pthread_mutex_destroy(&d->load_mu);
	pthread_cond_destroy(&d->load_cond);
}

void berth_daemon_sd_notify(const char *socket_path, const char *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(socket_path);
	if (!len || len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, socket_path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}
