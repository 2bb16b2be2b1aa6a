/* Crash reconciliation at daemon start. See reconcile.h. */
#include "daemon/reconcile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include "runtime/jget.h"
#include "runtime/runtime.h"
#include "runtime/shim_client.h"
#include "storage/fsutil.h"
#include "storage/layer_store.h"
#include "storage/rwlayer_scan.h"

#define CREATING_MARK ".creating"

static char *mark_path(struct berth_daemon *d, const char *id)
{
	return berth_strdup_printf("%s/containers/%s/" CREATING_MARK, d->cfg.data_root, id);
}

int berth_reconcile_mark_creating(struct berth_daemon *d, const char *id, struct berth_error *err)
{
	cleanup_free char *p = mark_path(d, id);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", p);
	close(fd);
	return 0;
}

void berth_reconcile_mark_created(struct berth_daemon *d, const char *id)
{
	cleanup_free char *p = mark_path(d, id);
	unlink(p);
}

static bool is_hex_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool strv_has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* A sorted set of strings (a strv it owns) for the lookups of one pass:
 * with 1,000 containers, a scan of a list per container was the pass. */
struct strset {
	char **v;
	size_t n, cap;
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void set_add(struct strset *s, const char *str)
{
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	char *d = strdup(str);
	if (!d)
		return;
	s->v[s->n++] = d;
	s->v[s->n] = NULL;
}

static void set_sort(struct strset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static bool set_has(const struct strset *s, const char *str)
{
	return s->n && bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Entries of a directory (no dot files), sorted. */
static struct strset dir_set(const char *path)
{
	struct strset s = {0};
	DIR *dir = opendir(path);
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			set_add(&s, e->d_name);
	if (dir)
		closedir(dir);
	set_sort(&s);
	return s;
}

/* ---- shims ---- */

struct shim_proc {
	pid_t pid;
	char id[65];
};

/* berth-shim processes of this exec root: their command line names
 * <exec-root>/containers/<id>/shim.json. Found through /proc rather than
 * shim.pid, which a shim killed early may not have written yet. */
static struct shim_proc *find_shims(struct berth_daemon *d, size_t *n)
{
	*n = 0;
	struct shim_proc *v = NULL;
	cleanup_free char *prefix = berth_strdup_printf("%s/containers/", d->cfg.exec_root);
	size_t plen = strlen(prefix);
	DIR *proc = opendir("/proc");
	struct dirent *e;
	while (proc && (e = readdir(proc))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || pid == getpid())
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		cleanup_free char *cmd = NULL;
		size_t len = 0;
		if (berth_read_file(path, &cmd, &len, 65536, NULL) < 0 || !len)
			continue;
		bool is_shim = false;
		const char *id = NULL;
		for (size_t off = 0; off < len; off += strlen(cmd + off) + 1) {
			const char *a = cmd + off;
			if (off == 0 && berth_str_has_suffix(a, "berth-shim"))
				is_shim = true;
			if (!strncmp(a, prefix, plen) && strlen(a) == plen + 64 + strlen("/shim.json") &&
			    !strcmp(a + plen + 64, "/shim.json"))
				id = a + plen;
		}
		if (!is_shim || !id)
			continue;
		struct shim_proc *nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[*n].pid = (pid_t)pid;
		snprintf(v[*n].id, sizeof(v[*n].id), "%.64s", id);
		(*n)++;
	}
	if (proc)
		closedir(proc);
	return v;
}

static pid_t shim_of(struct shim_proc *shims, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (shims[i].pid > 0 && !strcmp(shims[i].id, id))
			return shims[i].pid;
	return 0;
}

static bool wait_gone(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		char path[64], *st = NULL;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (berth_read_file(path, &st, NULL, 4096, NULL) == 0) {
			const char *rp = strrchr(st, ')');
			bool zombie = rp && rp[1] == ' ' && rp[2] == 'Z';
			free(st);
			if (zombie)
				return true;
		}
		usleep(20000);
	}
	return false;
}

/* A shim nobody will use: its container (created, or running without a
 * record) is killed, the shim lets go and exits. */
static void stop_shim(struct berth_daemon *d, const char *id, pid_t pid)
{
	cleanup_free char *state_dir = berth_ctr_state_dir(d, id);
	struct berth_error e = {0};
	if (berth_shim_delete(state_dir, &e) < 0) {
		/* running (no record says so), or not answering */
		struct berth_error e2 = {0};
		berth_shim_kill(state_dir, NULL, SIGKILL, true, &e2);
	}
	if (!wait_gone(pid, 10000)) {
		kill(pid, SIGKILL);
		wait_gone(pid, 2000);
	}
	berth_log(&d->log, BERTH_LOG_INFO, "reconcile: container %.12s: stopped its shim (%d)", id, (int)pid);
}

/* `runtime delete --force` (kills what is left, removes the runtime's state
 * and the cgroup) for every runtime root holding state of id. */
static void runtime_cleanup(struct berth_daemon *d, const char *id)
{
	cleanup_free char *base = berth_strdup_printf("%s/runtime", d->cfg.exec_root);
	struct strset rts = dir_set(base);
	char **names = rts.v;
	for (size_t i = 0; i < rts.n; i++) {
		cleanup_free char *root = berth_strdup_printf("%s/%s", base, names[i]);
		cleanup_free char *st = berth_strdup_printf("%s/%s", root, id);
		struct stat sb;
		if (lstat(st, &sb) < 0)
			continue;
		const struct berth_runtime *rt = d->runtimes ? berth_runtimes_get(d->runtimes, names[i]) : NULL;
		struct berth_error e = {0};
		cleanup_free char *cg = berth_strdup_printf("/berth/%s", id);
		if (!rt || berth_runtime_force_delete(rt, root, id, cg, &e) < 0) {
			berth_log(&d->log, BERTH_LOG_WARN, "reconcile: container %.12s: %s runtime state: %s", id,
				  names[i], rt ? e.msg : "runtime not configured, state removed");
			berth_rm_rf(st, NULL);
		} else {
			berth_log(&d->log, BERTH_LOG_INFO, "reconcile: container %.12s: removed %s runtime state", id,
				  names[i]);
		}
	}
	set_free(&rts);
}

/* Shim, runtime state and state directory of a container that does not run. */
static void teardown_runtime(struct berth_daemon *d, const char *id, pid_t shim_pid)
{
	if (shim_pid > 0)
		stop_shim(d, id, shim_pid);
	runtime_cleanup(d, id);
	cleanup_free char *state_dir = berth_ctr_state_dir(d, id);
	struct stat sb;
	if (lstat(state_dir, &sb) == 0 && berth_rm_rf(state_dir, NULL) == 0)
		berth_log(&d->log, BERTH_LOG_DEBUG, "reconcile: container %.12s: removed its state directory", id);
}

/* ---- records ---- */

static bool running_state(enum berth_cstate st) { return st == CS_RUNNING || st == CS_PAUSED || st == CS_RESTARTING; }

static void remove_broken(struct berth_daemon *d, struct berth_container *c, pid_t shim_pid, bool anon_volumes,
			  const char *why)
{
	berth_log(&d->log, BERTH_LOG_WARN, "reconcile: container %.12s: %s: removed", c->id, why);
	teardown_runtime(d, c->id, shim_pid);
	struct berth_error e = {0};
	if (berth_rwlayer_remove(d->layers, c->id, &e) < 0 && e.kind != BERTH_E_NOT_FOUND)
		berth_log(&d->log, BERTH_LOG_WARN, "reconcile: container %.12s: remove layer: %s", c->id, e.msg);
	cleanup_free char *cdir = berth_ctr_dir(d, c->id);
	berth_rm_rf(cdir, NULL);
	berth_err_clear(&e);
	if (berth_container_delete(d->containers, c, &e) < 0) {
		berth_log(&d->log, BERTH_LOG_ERROR, "reconcile: container %.12s: delete record: %s", c->id, e.msg);
		return;
	}
	berth_volumes_container_remove(d, c, anon_volumes);
}

/* What one pass reads once instead of per container. */
struct scan {
	struct strset state_dirs; /* <exec-root>/containers/ */
	struct strset rt_ids;     /* <exec-root>/runtime/<runtime>/ */
	struct strset cdirs;      /* <data-root>/containers/ */
	struct strset mount_ids;  /* 64-hex components of mount points */
	struct strset rw_layers;  /* container layers on record */
	bool rw_ok;
};

/* Every 64-hex path component of the mount points (a container's root
 * filesystem is mounted at a path naming its id). */
static void scan_mount_ids(struct strset *out)
{
	char *text = NULL;
	if (berth_read_file("/proc/self/mountinfo", &text, NULL, 16 << 20, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f = line;
		for (int i = 0; i < 4 && f; i++) { /* field 5: the mount point */
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (!f)
			continue;
		char *end = strchr(f, ' ');
		if (end)
			*end = '\0';
		char *s2 = NULL;
		for (char *comp = strtok_r(f, "/", &s2); comp; comp = strtok_r(NULL, "/", &s2))
			if (is_hex_id(comp))
				set_add(out, comp);
	}
	free(text);
	set_sort(out);
}

static void scan_open(struct berth_daemon *d, struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	cleanup_free char *sbase = berth_strdup_printf("%s/containers", d->cfg.exec_root);
	sc->state_dirs = dir_set(sbase);
	cleanup_free char *cbase = berth_strdup_printf("%s/containers", d->cfg.data_root);
	sc->cdirs = dir_set(cbase);
	cleanup_free char *rbase = berth_strdup_printf("%s/runtime", d->cfg.exec_root);
	struct strset rts = dir_set(rbase);
	for (size_t r = 0; r < rts.n; r++) {
		cleanup_free char *root = berth_strdup_printf("%s/%s", rbase, rts.v[r]);
		struct strset ids = dir_set(root);
		for (size_t i = 0; i < ids.n; i++)
			set_add(&sc->rt_ids, ids.v[i]);
		set_free(&ids);
	}
	set_free(&rts);
	set_sort(&sc->rt_ids);
	scan_mount_ids(&sc->mount_ids);
	struct berth_error e = {0};
	char **layers = berth_rwlayer_list(d->layers, &e);
	sc->rw_ok = layers != NULL;
	for (size_t i = 0; layers && layers[i]; i++)
		set_add(&sc->rw_layers, layers[i]);
	set_sort(&sc->rw_layers);
	berth_strv_free(layers);
}

static void scan_close(struct scan *sc)
{
	set_free(&sc->state_dirs);
	set_free(&sc->rt_ids);
	set_free(&sc->cdirs);
	set_free(&sc->mount_ids);
	set_free(&sc->rw_layers);
}

/* A container recorded as not running. */
static void reconcile_stopped(struct berth_daemon *d, const struct scan *sc, struct berth_container *c, pid_t shim_pid)
{
	/* nothing of a start left: no shim, state directory, runtime state or
	 * mount (what follows would find nothing, one lookup at a time) */
	if (shim_pid <= 0 && !set_has(&sc->state_dirs, c->id) && !set_has(&sc->rt_ids, c->id) &&
	    !set_has(&sc->mount_ids, c->id))
		return;
	cleanup_free char *state_dir = berth_ctr_state_dir(d, c->id);
	if (shim_pid > 0) {
		struct berth_shim_state ss = {0};
		struct berth_error e = {0};
		if (berth_shim_state(state_dir, NULL, &ss, &e) == 0 && !ss.exited && !strcmp(ss.status, "running") &&
		    ss.pid > 0) {
			/* the start got through; only its record was not written */
			pthread_mutex_lock(&c->mu);
			berth_container_set_running(c, ss.pid);
			if (ss.started_ns)
				c->started_ns = ss.started_ns;
			c->shim_pid = shim_pid;
			struct berth_container_snap *snap = berth_container_snapshot(c);
			pthread_mutex_unlock(&c->mu);
			berth_container_write(d->containers, snap, NULL);
			berth_log(&d->log, BERTH_LOG_INFO, "reconcile: container %.12s: adopted its running shim (%d)",
				  c->id, (int)shim_pid);
			return;
		}
	}
	teardown_runtime(d, c->id, shim_pid);
	/* a root filesystem mounted by a start that did not finish */
	struct berth_error e = {0};
	cleanup_free char *mdir = berth_rwlayer_mount_dir(d->layers, c->id);
	if (mdir && berth_is_mountpoint(mdir)) {
		if (berth_rwlayer_unmount(d->layers, c->id, &e) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "reconcile: container %.12s: unmount: %s", c->id, e.msg);
		else
			berth_log(&d->log, BERTH_LOG_INFO, "reconcile: container %.12s: unmounted its root filesystem",
				  c->id);
	}
}

/* ---- mounts ---- */

/* mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* Unmount what is mounted below the data root and belongs to no running
 * container (keep: their root filesystems). volumes/ is left to
 * daemon/volumes.c. Deepest first. */
static void unmount_stale(struct berth_daemon *d, char **keep)
{
	cleanup_free char *root = realpath(d->cfg.data_root, NULL);
	if (!root)
		return;
	cleanup_free char *volumes = berth_strdup_printf("%s/volumes", root);
	char *text = NULL;
	if (berth_read_file("/proc/self/mountinfo", &text, NULL, 16 << 20, NULL) < 0)
		return;
	char **stale = NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5] = {0}, *s2 = NULL;
		int i = 0;
		for (char *t = strtok_r(line, " ", &s2); t && i < 5; t = strtok_r(NULL, " ", &s2))
			f[i++] = t;
		if (i < 5)
			continue;
		unescape(f[4]);
		const char *mp = f[4];
		if (!under(mp, root) || !strcmp(mp, root) || under(mp, volumes))
			continue;
		bool kept = false;
		for (size_t k = 0; keep && keep[k] && !kept; k++)
			kept = under(mp, keep[k]);
		if (!kept && !strv_has(stale, mp))
			berth_strv_push(&stale, mp);
	}
	free(text);
	/* mountinfo lists parents before children: unmount in reverse */
	size_t n = berth_strv_len(stale);
	for (size_t i = n; i-- > 0;) {
		if (umount2(stale[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			berth_log(&d->log, BERTH_LOG_WARN, "reconcile: unmount %s: %s", stale[i], strerror(errno));
		else
			berth_log(&d->log, BERTH_LOG_INFO, "reconcile: unmounted %s (no running container)", stale[i]);
	}
	berth_strv_free(stale);
}

/* ---- the whole pass ---- */

void berth_reconcile(struct berth_daemon *d)
{
	size_t nshims = 0;
	struct shim_proc *shims = find_shims(d, &nshims);
	struct scan sc;
	scan_open(d, &sc);
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(d->containers, &n);
	const char *driver = berth_layer_store_driver_name(d->layers);

	/* 1. records that are not whole */
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		cleanup_free char *mark = mark_path(d, c->id);
		pthread_mutex_lock(&c->mu);
		/* unreadable: the driver's check below is skipped (logged) */
		const char *drv = jstr(berth_container_doc_or_log(c, "driver unknown"), "Driver");
		bool same_driver = !drv || !*drv || !strcmp(drv, driver);
		pthread_mutex_unlock(&c->mu);
		struct stat sb;
		char chain[BERTH_DIGEST_LEN + 1];
		struct berth_error e = {0};
		if (lstat(mark, &sb) == 0) {
			remove_broken(d, c, shim_of(shims, nshims, c->id), true, "its create did not finish");
		} else if (same_driver && (sc.rw_ok ? !set_has(&sc.rw_layers, c->id) :
						      berth_rwlayer_image(d->layers, c->id, chain, &e) < 0 &&
							      e.kind == BERTH_E_NOT_FOUND)) {
			remove_broken(d, c, shim_of(shims, nshims, c->id), false, "its read-write layer is gone");
		} else if (!set_has(&sc.cdirs, c->id)) {
			/* its directory (logs, hostname, hosts, resolv.conf) must exist */
			cleanup_free char *cdir = berth_ctr_dir(d, c->id);
			berth_mkdir_p(cdir, 0710, NULL);
		}
	}

	/* 2. containers recorded as not running: no shim, runtime state or mount
	 * left of a start that did not finish, or adopt one that did */
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool skip = c->removed || running_state(c->state);
		pthread_mutex_unlock(&c->mu);
		if (!skip)
			reconcile_stopped(d, &sc, c, shim_of(shims, nshims, c->id));
	}

	/* what is left: the records, and which of them run */
	struct strset ids = {0};
	char **keep_mounts = NULL;
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool removed = c->removed, running = running_state(c->state);
		pthread_mutex_unlock(&c->mu);
		if (removed)
			continue;
		set_add(&ids, c->id);
		char *m = running ? berth_rwlayer_mount_dir(d->layers, c->id) : NULL;
		/* compared with /proc/self/mountinfo, which has real paths */
		char *real = m ? realpath(m, NULL) : NULL;
		if (m)
			berth_strv_push(&keep_mounts, real ? real : m);
		free(real);
		free(m);
	}
	berth_container_list_free(d->containers, all, n);
	set_sort(&ids);

	/* 3. directories, shims and runtime state of no record (the listings
	 * were read before phase 1 and 2, which only remove) */
	cleanup_free char *cbase = berth_strdup_printf("%s/containers", d->cfg.data_root);
	for (size_t i = 0; i < sc.cdirs.n; i++) {
		if (set_has(&ids, sc.cdirs.v[i]))
			continue;
		cleanup_free char *p = berth_strdup_printf("%s/%s", cbase, sc.cdirs.v[i]);
		struct stat sb;
		if (!p || lstat(p, &sb) < 0) /* removed with its record above */
			continue;
		berth_log(&d->log, BERTH_LOG_INFO, "reconcile: removed %s (no such container)", p);
		berth_rm_rf(p, NULL);
	}
	for (size_t i = 0; i < sc.state_dirs.n; i++) {
		const char *sid = sc.state_dirs.v[i];
		if (!set_has(&ids, sid) && is_hex_id(sid)) {
			cleanup_free char *sdir = berth_ctr_state_dir(d, sid);
			struct stat sb;
			if (!sdir || lstat(sdir, &sb) < 0) /* removed with its record above */
				continue;
			pid_t pid = shim_of(shims, nshims, sid);
			teardown_runtime(d, sid, pid);
			for (size_t k = 0; k < nshims; k++)
				if (!strcmp(shims[k].id, sid))
					shims[k].pid = 0; /* handled */
		}
	}
	for (size_t k = 0; k < nshims; k++)
		if (shims[k].pid > 0 && !set_has(&ids, shims[k].id))
			teardown_runtime(d, shims[k].id, shims[k].pid);
	for (size_t i = 0; i < sc.rt_ids.n; i++)
		if (is_hex_id(sc.rt_ids.v[i]) && !set_has(&ids, sc.rt_ids.v[i]))
			runtime_cleanup(d, sc.rt_ids.v[i]);

	/* 4. read-write layers (+ -init) of no record */
	struct berth_error e = {0};
	char **layers = berth_rwlayer_list(d->layers, &e);
	if (!layers)
		berth_log(&d->log, BERTH_LOG_WARN, "reconcile: list container layers: %s", e.msg);
	for (size_t i = 0; layers && layers[i]; i++) {
		if (set_has(&ids, layers[i]))
			continue;
		berth_err_clear(&e);
		if (berth_rwlayer_remove(d->layers, layers[i], &e) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "reconcile: remove layer %s: %s", layers[i], e.msg);
		else
			berth_log(&d->log, BERTH_LOG_INFO, "reconcile: removed layer %s (no such container)",
				  layers[i]);
	}
	berth_strv_free(layers);

	/* 5. mounts of no running container */
	unmount_stale(d, keep_mounts);
	berth_strv_free(keep_mounts);
	set_free(&ids);
	scan_close(&sc);
	free(shims);
}
