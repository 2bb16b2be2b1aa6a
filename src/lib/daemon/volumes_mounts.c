/* Containers' mount points (docker's registerMountPoints and friends):
 * -v / HostConfig.Binds, --mount / HostConfig.Mounts, --volumes-from,
 * anonymous volumes for Config.Volumes, copy-up of the image's content into
 * new volumes, mount/unmount of volumes at start/stop, rm -v. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/reconcile.h"
#include "daemon/volumes_int.h"
#include "runtime/jget.h"
#include "runtime/user.h"
#include "storage/fsutil.h"
#include "storage/layer_store.h"

/* One mount point (docker's volumemounts.MountPoint). */
struct vmp {
	char type[8];      /* volume, bind, tmpfs */
	char *name;        /* volume name; NULL until an anonymous one is named */
	char *source;      /* bind source; volume data path once created */
	char *dest;        /* cleaned destination */
	char *driver;      /* requested volume driver (NULL = default) */
	char *mode;        /* docker's Mode */
	char *propagation; /* "" for volumes and tmpfs */
	bool rw;
	bool anonymous;          /* no source given (rm -v removes it) */
	bool copy;               /* copy the image's content at dest into an empty volume */
	bool from_other;         /* --volumes-from */
	bool config_volume;      /* Config.Volumes (image VOLUME or -v /path) */
	json_t *vopts, *vlabels; /* --mount volume options (owned) */
};

struct plan {
	struct vmp *m;
	size_t n;
};

static void vmp_free(struct vmp *m)
{
	free(m->name);
	free(m->source);
	free(m->dest);
	free(m->driver);
	free(m->mode);
	free(m->propagation);
	json_decref(m->vopts);
	json_decref(m->vlabels);
	memset(m, 0, sizeof(*m));
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		vmp_free(&p->m[i]);
	free(p->m);
	p->m = NULL;
	p->n = 0;
}

static struct vmp *plan_find(struct plan *p, const char *dest)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->m[i].dest, dest))
			return &p->m[i];
	return NULL;
}

/* Put m at its destination, replacing (dereferencing) what was there. m is moved. */
static void plan_put(struct plan *p, struct vmp *m)
{
	struct vmp *old = plan_find(p, m->dest);
	if (old) {
		vmp_free(old);
		*old = *m;
	} else {
		p->m = realloc(p->m, (p->n + 1) * sizeof(*p->m));
		p->m[p->n++] = *m;
	}
	memset(m, 0, sizeof(*m));
}

/* Go's path.Clean (the archive module's, shared with cp). */
static char *path_clean(const char *p) { return berth_cp_clean(p ? p : ""); }

/* ---- modes (docker's linuxValidMountMode) ---------------------------------- */

static bool is_propagation(const char *s)
{
	static const char *const p[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};
	for (size_t i = 0; p[i]; i++)
		if (!strcmp(s, p[i]))
			return true;
	return false;
}

static bool valid_mode(const char *mode)
{
	if (!mode || !*mode)
		return true;
	int rw = 0, label = 0, prop = 0, copy = 0, cons = 0;
	cleanup_free char *c = strdup(mode);
	char *p = c;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!strcmp(p, "rw") || !strcmp(p, "ro"))
			rw++;
		else if (!strcmp(p, "z") || !strcmp(p, "Z"))
			label++; /* SELinux relabel: accepted, nothing to do without SELinux */
		else if (is_propagation(p))
			prop++;
		else if (!strcmp(p, "nocopy"))
			copy++;
		else if (!strcmp(p, "consistent") || !strcmp(p, "cached") || !strcmp(p, "delegated"))
			cons++;
		else
			return false;
		if (!comma)
			break;
		p = comma + 1;
	}
	return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && cons <= 1;
}

/* The first option of mode satisfying pred, or NULL (malloc'd). */
static char *mode_find(const char *mode, bool (*pred)(const char *))
{
	cleanup_free char *c = strdup(mode ? mode : "");
	char *save = NULL;
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (pred(t))
			return strdup(t);
	return NULL;
}

static bool is_ro(const char *s) { return !strcmp(s, "ro"); }
static bool is_nocopy(const char *s) { return !strcmp(s, "nocopy"); }

/* ---- mount specs (docker's mount.Mount and parseMountSpec) ----------------- */

struct mspec {
	const char *type, *source, *target;
	bool readonly;
	bool bind_opts; /* BindOptions given */
	const char *propagation;
	bool vol_opts; /* VolumeOptions given */
	bool nocopy;
	const char *driver;
	const json_t *driver_opts, *labels;
};

static int mount_config_err(struct berth_error *err, const struct mspec *s, const char *fmt, const char *arg)
{
	char msg[900];
	snprintf(msg, sizeof(msg), fmt, arg);
	return berth_err(err, BERTH_E_INVALID, "invalid mount config for type \"%s\": %s", s->type ? s->type : "", msg);
}

static int validate_spec(const struct mspec *s, bool check_source, struct berth_error *err)
{
	if (!s->target || !*s->target)
		return mount_config_err(err, s, "field %s must not be empty", "Target");
	cleanup_free char *t = path_clean(s->target);
	if (!strcmp(t, "/"))
		return mount_config_err(err, s, "%s", "invalid specification: destination can't be '/'");
	if (s->target[0] != '/')
		return mount_config_err(err, s, "invalid mount path: '%s' mount path must be absolute", s->target);
	const char *type = s->type ? s->type : "";
	if (!strcmp(type, "bind")) {
		if (!s->source || !*s->source)
			return mount_config_err(err, s, "field %s must not be empty", "Source");
		if (s->bind_opts && s->propagation && *s->propagation && !is_propagation(s->propagation))
			return mount_config_err(err, s, "invalid propagation mode: %s", s->propagation);
		if (s->vol_opts)
			return mount_config_err(err, s, "field %s must not be specified", "VolumeOptions");
		if (s->source[0] != '/')
			return mount_config_err(err, s, "invalid mount path: '%s' mount path must be absolute",
						s->source);
		struct stat st;
		if (check_source && stat(s->source, &st) < 0)
			return mount_config_err(err, s, "bind source path does not exist: %s", s->source);
	} else if (!strcmp(type, "volume")) {
		if (s->bind_opts)
			return mount_config_err(err, s, "field %s must not be specified", "BindOptions");
		if ((!s->source || !*s->source) && s->readonly)
			return mount_config_err(err, s, "%s",
						"must not set ReadOnly mode when using anonymous volumes");
	} else if (!strcmp(type, "tmpfs")) {
		if (s->bind_opts)
			return mount_config_err(err, s, "field %s must not be specified", "BindOptions");
		if (s->source && *s->source)
			return mount_config_err(err, s, "field %s must not be specified", "Source");
	} else {
		return mount_config_err(err, s, "%s", "mount type unknown");
	}
	return 0;
}

static void spec_to_mp(const struct mspec *s, struct vmp *m)
{
	snprintf(m->type, sizeof(m->type), "%s", s->type);
	m->rw = !s->readonly;
	m->dest = path_clean(s->target);
	m->mode = strdup("");
	m->propagation = strdup("");
	if (!strcmp(s->type, "volume")) {
		if (s->source && *s->source)
			m->name = strdup(s->source);
		m->anonymous = !s->source || !*s->source;
		m->copy = !s->nocopy;
		if (s->driver && *s->driver)
			m->driver = strdup(s->driver);
		if (json_is_object(s->driver_opts))
			m->vopts = json_deep_copy(s->driver_opts);
		if (json_is_object(s->labels))
			m->vlabels = json_deep_copy(s->labels);
	} else if (!strcmp(s->type, "bind")) {
		m->source = path_clean(s->source);
		free(m->propagation);
		m->propagation =
			strdup(s->bind_opts && s->propagation && *s->propagation ? s->propagation : "rprivate");
	}
}

/* docker's ParseMountRaw ("src:dst:mode" of -v / HostConfig.Binds). */
static int parse_raw(const char *raw, const char *volume_driver, struct vmp *m, struct berth_error *err)
{
	int colons = 0;
	for (const char *p = raw; *p; p++)
		colons += *p == ':';
	if (colons > 2 || !*raw || raw[0] == ':')
		return berth_err(err, BERTH_E_INVALID, "invalid volume specification: '%s'", raw);
	cleanup_free char *copy = strdup(raw);
	char *arr[3] = {copy, NULL, NULL};
	size_t n = 1;
	for (char *p = copy; *p && n < 3; p++)
		if (*p == ':') {
			*p = '\0';
			arr[n++] = p + 1;
		}
	struct mspec s = {0};
	const char *mode = "";
	if (n == 1) {
		s.target = arr[0];
	} else if (n == 2) {
		if (valid_mode(arr[1]))
			return berth_err(err, BERTH_E_INVALID, "invalid volume specification: '%s'", raw);
		s.source = arr[0];
		s.target = arr[1];
	} else {
		s.source = arr[0];
		s.target = arr[1];
		mode = arr[2];
	}
	if (!valid_mode(mode))
		return berth_err(err, BERTH_E_INVALID, "invalid mode: %s", mode);
	s.type = s.source && s.source[0] == '/' ? "bind" : "volume";
	cleanup_free char *ro = mode_find(mode, is_ro), *nocopy = mode_find(mode, is_nocopy);
	cleanup_free char *prop = mode_find(mode, is_propagation);
	s.readonly = ro != NULL;
	if (volume_driver && *volume_driver && !strcmp(s.type, "volume")) {
		s.vol_opts = true;
		s.driver = volume_driver;
	}
	if (nocopy) {
		s.vol_opts = true;
		s.nocopy = true;
	}
	if (prop) {
		s.bind_opts = true;
		s.propagation = prop;
	}
	if (validate_spec(&s, false, err) < 0)
		return berth_err_prefix(err, "invalid volume specification: '%s'", raw);
	spec_to_mp(&s, m);
	free(m->mode);
	m->mode = strdup(mode);
	return 0;
}

/* HostConfig.Mounts entry (docker's ParseMountSpec, bind sources must exist). */
static int parse_api_mount(const json_t *j, struct vmp *m, struct berth_error *err)
{
	if (!json_is_object(j))
		return berth_err(err, BERTH_E_INVALID, "invalid mount config: not an object");
	struct mspec s = {.type = jstr(j, "Type"),
			  .source = jstr(j, "Source"),
			  .target = jstr(j, "Target"),
			  .readonly = jbool(j, "ReadOnly", false)};
	const json_t *bo = jobj(j, "BindOptions"), *vo = jobj(j, "VolumeOptions");
	s.bind_opts = bo != NULL;
	s.propagation = jstr(bo, "Propagation");
	s.vol_opts = vo != NULL;
	s.nocopy = jbool(vo, "NoCopy", false);
	s.labels = jobj(vo, "Labels");
	const json_t *dc = jobj(vo, "DriverConfig");
	s.driver = jstr(dc, "Name");
	s.driver_opts = jobj(dc, "Options");
	if (validate_spec(&s, true, err) < 0)
		return -1;
	spec_to_mp(&s, m);
	return 0;
}

/* docker's validateBindDaemonRoot: binds of (or above) the data root. */
static int check_daemon_root(struct berth_daemon *d, const struct vmp *m, bool prop_given, struct berth_error *err)
{
	if (strcmp(m->type, "bind"))
		return 0;
	const char *root = d->cfg.data_root;
	if (!berth_str_has_prefix(m->source, root) && !berth_str_has_prefix(root, m->source))
		return 0;
	if (!prop_given || !strcmp(m->propagation, "rslave") || !strcmp(m->propagation, "rshared"))
		return 0;
	return berth_err(
		err, BERTH_E_INVALID,
		"invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: \"%s\", bind mount source: \"%s\", propagation: \"%s\"",
		root, m->source, m->propagation);
}

static bool tmpfs_has(const json_t *hc, const char *dest)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)jobj(hc, "Tmpfs"), k, v) {
		cleanup_free char *c = path_clean(k);
		if (!strcmp(c, dest))
			return true;
	}
	return false;
}

/* docker's ParseVolumesFrom. */
static int parse_volumes_from(const char *spec, char **id, bool *rw, struct berth_error *err)
{
	if (!spec || !*spec)
		return berth_err(err, BERTH_E_INVALID, "volumes-from specification cannot be an empty string");
	const char *colon = strchr(spec, ':');
	*id = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
	*rw = true;
	if (colon) {
		const char *mode = colon + 1;
		cleanup_free char *prop = mode_find(mode, is_propagation), *nocopy = mode_find(mode, is_nocopy),
				  *ro = mode_find(mode, is_ro);
		if (!valid_mode(mode) || prop || nocopy) {
			free(*id);
			*id = NULL;
			return berth_err(err, BERTH_E_INVALID, "invalid mode: %s", mode);
		}
		*rw = ro == NULL;
	}
	return 0;
}

/* A mount point from another container's Mounts entry. */
static void mp_from_doc(const json_t *e, bool rw, struct vmp *m)
{
	snprintf(m->type, sizeof(m->type), "%s", jstr(e, "Type") ? jstr(e, "Type") : "volume");
	if (jstr_ne(e, "Name"))
		m->name = strdup(jstr(e, "Name"));
	m->source = strdup(jstr(e, "Source") ? jstr(e, "Source") : "");
	m->dest = strdup(jstr(e, "Destination") ? jstr(e, "Destination") : "");
	if (jstr_ne(e, "Driver"))
		m->driver = strdup(jstr(e, "Driver"));
	m->mode = strdup(jstr(e, "Mode") ? jstr(e, "Mode") : "");
	m->propagation = strdup(jstr(e, "Propagation") ? jstr(e, "Propagation") : "");
	m->rw = jbool(e, "RW", true) && rw;
	m->from_other = true;
}

/* docker's registerMountPoints + the Config.Volumes part of
 * createContainerOSSpecificSettings, without side effects. */
static int build_plan(struct berth_daemon *d, const char *self_id, const json_t *cfg, const json_t *hc, struct plan *p,
		      struct berth_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(jarr(hc, "VolumesFrom"), i, v) {
		cleanup_free char *id = NULL;
		bool rw = true;
		if (parse_volumes_from(json_string_value(v), &id, &rw, err) < 0)
			return -1;
		struct berth_container *src = berth_container_get(d->containers, id, err);
		if (!src) {
			if (err)
				err->kind = BERTH_E_INVALID;
			return -1;
		}
		if (self_id && !strcmp(src->id, self_id)) {
			berth_container_put(d->containers, src);
			continue;
		}
		pthread_mutex_lock(&src->mu);
		json_t *srcdoc = berth_container_doc(src, err);
		cleanup_json json_t *mounts = json_deep_copy(jarr(srcdoc, "Mounts"));
		char src_id[65];
		snprintf(src_id, sizeof(src_id), "%s", src->id);
		pthread_mutex_unlock(&src->mu);
		berth_container_put(d->containers, src);
		if (!srcdoc)
			return -1;
		bool *anon = NULL;
		char **refs = NULL;
		pthread_mutex_lock(&d->volumes->mu);
		refs = vols_refs_of_locked(d->volumes, src_id, &anon);
		pthread_mutex_unlock(&d->volumes->mu);
		size_t k;
		json_t *e;
		json_array_foreach(mounts, k, e) {
			struct vmp m = {0};
			mp_from_doc(e, rw, &m);
			for (size_t r = 0; m.name && refs && refs[r]; r++)
				if (!strcmp(refs[r], m.name))
					m.anonymous = anon[r];
			plan_put(p, &m);
		}
		berth_strv_free(refs);
		free(anon);
	}
	const char *vdriver = jstr_ne(hc, "VolumeDriver");
	char **bind_dests = NULL;
	json_array_foreach(jarr(hc, "Binds"), i, v) {
		if (!json_is_string(v))
			continue;
		struct vmp m = {0};
		const char *raw = json_string_value(v);
		if (parse_raw(raw, vdriver, &m, err) < 0) {
			berth_strv_free(bind_dests);
			return -1;
		}
		cleanup_free char *mode_prop = mode_find(m.mode, is_propagation);
		bool dup = tmpfs_has(hc, m.dest);
		for (size_t b = 0; bind_dests && bind_dests[b] && !dup; b++)
			dup = !strcmp(bind_dests[b], m.dest);
		if (check_daemon_root(d, &m, mode_prop != NULL, err) < 0 ||
		    (dup && berth_err(err, BERTH_E_INVALID, "Duplicate mount point: %s", m.dest) < 0)) {
			vmp_free(&m);
			berth_strv_free(bind_dests);
			return -1;
		}
		if (!strcmp(m.type, "volume") && !*m.mode) {
			free(m.mode);
			m.mode = strdup("z");
		}
		berth_strv_push(&bind_dests, m.dest);
		plan_put(p, &m);
	}
	json_array_foreach(jarr(hc, "Mounts"), i, v) {
		struct vmp m = {0};
		if (parse_api_mount(v, &m, err) < 0) {
			berth_strv_free(bind_dests);
			return -1;
		}
		const json_t *bo = jobj(v, "BindOptions");
		bool dup = false;
		for (size_t b = 0; bind_dests && bind_dests[b] && !dup; b++)
			dup = !strcmp(bind_dests[b], m.dest);
		if (check_daemon_root(d, &m, jstr_ne(bo, "Propagation") != NULL, err) < 0 ||
		    (dup && berth_err(err, BERTH_E_INVALID, "Duplicate mount point: %s", jstr(v, "Target")) < 0)) {
			vmp_free(&m);
			berth_strv_free(bind_dests);
			return -1;
		}
		if (!strcmp(m.type, "volume")) {
			free(m.mode);
			m.mode = strdup("z");
		}
		berth_strv_push(&bind_dests, m.dest);
		plan_put(p, &m);
	}
	berth_strv_free(bind_dests);
	/* anonymous volumes for Config.Volumes (sorted: docker's order is a map's) */
	const json_t *vols = jobj(cfg, "Volumes");
	const char **keys = calloc(json_object_size(vols) + 1, sizeof(char *));
	size_t nk = 0;
	const char *key;
	json_object_foreach((json_t *)vols, key, v)
		keys[nk++] = key;
	for (size_t a = 1; a < nk; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	for (size_t k = 0; k < nk; k++) {
		char *dest = path_clean(keys[k]);
		if (plan_find(p, dest) || tmpfs_has(hc, dest) || dest[0] != '/' || !strcmp(dest, "/")) {
			free(dest);
			continue;
		}
		struct vmp m = {.rw = true, .anonymous = true, .copy = true, .config_volume = true, .dest = dest};
		snprintf(m.type, sizeof(m.type), "volume");
		m.mode = strdup("");
		m.propagation = strdup("");
		if (vdriver)
			m.driver = strdup(vdriver);
		plan_put(p, &m);
	}
	free(keys);
	return 0;
}

/* What creating the plan's volumes would fail with (no side effects). */
static int check_plan_locked(struct berth_volumes *vs, const struct plan *p, struct berth_error *err)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct vmp *m = &p->m[i];
		if (strcmp(m->type, "volume") || m->from_other)
			continue;
		const char *name =
			m->name ? m->name : "0000000000000000000000000000000000000000000000000000000000000000";
		if (berth_volume_name_valid(name, err) < 0)
			return berth_err_prefix(err, "create %s", name);
		if (m->driver && strcmp(m->driver, "local"))
			return berth_err(err, BERTH_E_NOT_FOUND,
					 "create %s: error looking up volume plugin %s: plugin \"%s\" not found", name,
					 m->driver, m->driver);
		if (m->vopts && (!m->name || vols_get_locked(vs, m->name, NULL, NULL) == 0) &&
		    vols_validate_opts(m->vopts, err) < 0)
			return berth_err_prefix(err, "create %s", name);
	}
	return 0;
}

int berth_volumes_container_validate(struct berth_daemon *d, const json_t *config, const json_t *host_config,
				     struct berth_error *err)
{
	if (!d->volumes)
		return 0;
	struct plan p = {0};
	int rc = build_plan(d, NULL, config, host_config, &p, err);
	if (rc == 0) {
		pthread_mutex_lock(&d->volumes->mu);
		rc = check_plan_locked(d->volumes, &p, err);
		pthread_mutex_unlock(&d->volumes->mu);
	}
	plan_free(&p);
	return rc;
}

/* ---- create ------------------------------------------------------------------ */

static json_t *mounts_json(const struct plan *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct vmp *m = &p->m[i];
		json_t *e = json_object();
		json_object_set_new(e, "Type", json_string(m->type));
		if (m->name)
			json_object_set_new(e, "Name", json_string(m->name));
		json_object_set_new(e, "Source", json_string(m->source ? m->source : ""));
		json_object_set_new(e, "Destination", json_string(m->dest));
		if (!strcmp(m->type, "volume"))
			json_object_set_new(e, "Driver", json_string("local"));
		json_object_set_new(e, "Mode", json_string(m->mode ? m->mode : ""));
		json_object_set_new(e, "RW", json_boolean(m->rw));
		json_object_set_new(e, "Propagation", json_string(m->propagation ? m->propagation : ""));
		json_array_append_new(a, e);
	}
	return a;
}

void vols_forgotten_free(struct forgotten_refs *f)
{
	if (!f)
		return;
	berth_strv_free(f->names);
	free(f->anon);
	free(f);
}

int vols_forget_container(struct berth_db *db, const char *id, void *ctx, struct berth_error *err)
{
	struct berth_volumes *vs = ctx;
	struct forgotten_refs *f = calloc(1, sizeof(*f));
	if (!f)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	snprintf(f->id, sizeof(f->id), "%s", id);
	struct berth_stmt *st =
		berth_db_prepare(db, "SELECT name, anonymous FROM volume_refs WHERE container = ? ORDER BY rowid", err);
	int rc = st ? 0 : -1;
	size_t n = 0;
	if (st) {
		berth_stmt_bind_text(st, 1, id);
		while ((rc = berth_stmt_step(st, err)) == 1) {
			const char *name = berth_stmt_text(st, 0);
			bool *na = realloc(f->anon, (n + 1) * sizeof(bool));
			if (!name || !na || berth_strv_push(&f->names, name) < 0) {
				if (na)
					f->anon = na;
				rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
				break;
			}
			f->anon = na;
			f->anon[n++] = berth_stmt_int(st, 1) != 0;
		}
		berth_stmt_finalize(st);
	}
	if (rc == 0) {
		st = berth_db_prepare(db, "DELETE FROM volume_refs WHERE container = ?", err);
		rc = st ? 0 : -1;
		if (st) {
			berth_stmt_bind_text(st, 1, id);
			rc = berth_stmt_exec(st, err);
			berth_stmt_finalize(st);
		}
	}
	if (rc < 0) {
		vols_forgotten_free(f);
		return -1;
	}
	/* replaces what an earlier (rolled back) attempt kept */
	pthread_mutex_lock(&vs->forgotten_mu);
	for (struct forgotten_refs **pp = &vs->forgotten; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct forgotten_refs *old = *pp;
			*pp = old->next;
			vols_forgotten_free(old);
			break;
		}
	f->next = vs->forgotten;
	vs->forgotten = f;
	pthread_mutex_unlock(&vs->forgotten_mu);
	return 0;
}

static struct forgotten_refs *take_forgotten(struct berth_volumes *vs, const char *id)
{
	struct forgotten_refs *found = NULL;
	pthread_mutex_lock(&vs->forgotten_mu);
	for (struct forgotten_refs **pp = &vs->forgotten; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			found = *pp;
			*pp = found->next;
			break;
		}
	pthread_mutex_unlock(&vs->forgotten_mu);
	return found;
}

/* Drop the container's references; remove the anonymous volumes nobody else
 * uses. When the container's record is deleted, its references went with it
 * (vols_forget_container). */
static void release_refs_locked(struct berth_volumes *vs, const char *id, bool remove_anonymous)
{
	bool *anon = NULL;
	char **names = NULL;
	struct forgotten_refs *f = take_forgotten(vs, id);
	if (f) {
		names = f->names;
		anon = f->anon;
		f->names = NULL;
		f->anon = NULL;
		vols_forgotten_free(f);
	} else {
		names = vols_refs_of_locked(vs, id, &anon);
		vols_refs_drop_locked(vs, id);
	}
	for (size_t i = 0; remove_anonymous && names && names[i]; i++) {
		if (!anon[i])
			continue;
		struct berth_error e = {0};
		char **users = vols_users_locked(vs, names[i]);
		if (users) {
			berth_strv_free(users);
			continue;
		}
		if (vols_remove_locked(vs, names[i], true, true, &e) < 0)
			berth_log(&vs->d->log, BERTH_LOG_WARN, "container %.12s: remove volume: %s", id, e.msg);
	}
	berth_strv_free(names);
	free(anon);
}

/* The directories of volumes whose records were rolled back. */
static void remove_created(struct berth_volumes *vs, char **created)
{
	for (size_t i = 0; created && created[i]; i++) {
		cleanup_free char *vroot = berth_strdup_printf("%s/%s", vs->root, created[i]);
		berth_rm_rf(vroot, NULL);
	}
	berth_strv_free(created);
}

/* Create the volumes, name the anonymous ones, record the references: the
 * volume records and the references in one transaction; on failure the
 * directories of the volumes created here are removed again. */
static int apply_plan_locked(struct berth_volumes *vs, const char *id, struct plan *p, char ***created_out,
			     struct berth_error *err)
{
	char **names = NULL, **created = NULL;
	bool *anon = calloc(p->n + 1, sizeof(bool));
	size_t nrefs = 0;
	if (!anon)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	if (berth_db_begin(vs->db, err) < 0) {
		free(anon);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		struct vmp *m = &p->m[i];
		if (strcmp(m->type, "volume"))
			continue;
		struct vol v = {0};
		if (m->from_other) {
			int found = m->name ? vols_get_locked(vs, m->name, &v, err) : 0;
			if (found == 0)
				rc = berth_err(err, BERTH_E_NOT_FOUND, "get %s: no such volume",
					       m->name ? m->name : "");
			else if (found < 0)
				rc = -1;
		} else {
			char rnd[65];
			if (!m->name) {
				berth_random_id(rnd);
				m->name = strdup(rnd);
			}
			int existed = vols_get_locked(vs, m->name, NULL, err);
			rc = existed < 0 ? -1 :
					   vols_create_locked(vs, m->name, m->driver, m->vopts, m->vlabels, &v, err);
			if (rc == 0 && existed == 0)
				berth_strv_push(&created, m->name);
		}
		if (rc < 0)
			break;
		free(m->source);
		m->source = vols_data_path(vs, m->name);
		bool seen = false;
		for (size_t r = 0; r < nrefs && !seen; r++)
			if (!strcmp(names[r], m->name)) {
				anon[r] = anon[r] && m->anonymous;
				seen = true;
			}
		if (!seen) {
			berth_strv_push(&names, m->name);
			anon[nrefs++] = m->anonymous;
		}
		vol_free(&v);
	}
	if (rc == 0)
		rc = vols_refs_add_locked(vs, id, names, anon, nrefs, err);
	if (rc == 0)
		rc = berth_db_commit(vs->db, err);
	else
		berth_db_rollback(vs->db);
	if (rc < 0)
		remove_created(vs, created);
	else
		*created_out = created;
	berth_strv_free(names);
	free(anon);
	return rc;
}

static bool dir_empty(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return false;
	DIR *dir = fdopendir(dup_fd);
	if (!dir) {
		close(dup_fd);
		return false;
	}
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(dir)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(dir);
	return empty;
}

/* docker's CopyImagePathContent: the rootfs content at dest into an empty volume. */
static int copy_up(struct berth_volumes *vs, const char *rootfs, const struct vmp *m, struct berth_error *err)
{
	cleanup_close int src = berth_open_in_root(rootfs, m->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return 0; /* nothing there (or not a directory): nothing to copy */
	struct vol v = {0};
	pthread_mutex_lock(&vs->mu);
	int found = vols_get_locked(vs, m->name, &v, err);
	int rc = found > 0 ? vols_mount_ref_locked(vs, &v, err) : found;
	pthread_mutex_unlock(&vs->mu);
	if (rc < 0) {
		vol_free(&v);
		return -1;
	}
	if (found > 0) {
		cleanup_free char *path = vols_data_path(vs, m->name);
		cleanup_close int dst = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dst < 0)
			rc = berth_err_sys(err, BERTH_E_INTERNAL, errno, "open %s", path);
		else if (dir_empty(dst))
			rc = berth_copy_tree(src, dst, err);
		pthread_mutex_lock(&vs->mu);
		vols_unmount_ref_locked(vs, m->name);
		pthread_mutex_unlock(&vs->mu);
	}
	vol_free(&v);
	return rc;
}

/* A regular file (or anything but a directory) where a volume would go. */
static int check_not_file(const char *rootfs, const char *dest, struct berth_error *err)
{
	cleanup_close int fd = berth_open_in_root(rootfs, dest, O_PATH | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		return berth_err(err, BERTH_E_INVALID, "cannot mount volume over existing file, file exists %s%s",
				 rootfs, dest);
	return 0;
}

/* The container's record and its volumes (records and references) in one
 * transaction; c is still hidden (berth_container_reserve), so nothing sees
 * a container whose volumes are not attached yet. */
static int record_with_volumes(struct berth_daemon *d, struct berth_container *c, struct plan *p,
			       struct berth_error *err)
{
	struct berth_volumes *vs = d->volumes;
	bool vols = vs && p->n;
	char **created = NULL;
	if (vols)
		pthread_mutex_lock(&vs->mu);
	int rc = berth_db_begin(d->db, err);
	if (rc == 0 && vols)
		rc = apply_plan_locked(vs, c->id, p, &created, err); /* names the sources */
	if (rc == 0) {
		/* hidden while created: its tree is resident, no database read here */
		pthread_mutex_lock(&c->mu);
		json_object_set_new(berth_container_doc_or_log(c, "mounts not recorded"), "Mounts", mounts_json(p));
		pthread_mutex_unlock(&c->mu);
		rc = berth_container_write_tx(d->containers, c, err);
		if (rc == 0)
			rc = berth_db_commit(d->db, err);
		else
			berth_db_rollback(d->db);
	} else if (berth_db_in_tx(d->db)) {
		berth_db_rollback(d->db);
	}
	if (rc < 0 && vols) {
		release_refs_locked(vs, c->id, true);
		remove_created(vs, created);
	} else {
		berth_strv_free(created);
	}
	if (vols)
		pthread_mutex_unlock(&vs->mu);
	return rc;
}

int berth_volumes_container_create(struct berth_daemon *d, struct berth_container *c, struct berth_error *err)
{
	struct berth_volumes *vs = d->volumes;
	struct plan p = {0};
	if (vs) {
		pthread_mutex_lock(&c->mu);
		json_t *doc = berth_container_doc(c, err);
		cleanup_json json_t *cfg = json_deep_copy(jobj(doc, "Config"));
		cleanup_json json_t *hc = json_deep_copy(jobj(doc, "HostConfig"));
		pthread_mutex_unlock(&c->mu);
		if (!doc)
			return -1;
		if (build_plan(d, c->id, cfg, hc, &p, err) < 0)
			return -1;
	}
	bool need_rootfs = false;
	for (size_t i = 0; i < p.n; i++)
		need_rootfs |= p.m[i].copy || p.m[i].config_volume;
	char *rootfs = NULL;
	int rc = 0;
	if (need_rootfs && d->layers && berth_rwlayer_mount(d->layers, c->id, &rootfs, err) < 0) {
		plan_free(&p);
		return -1;
	}
	for (size_t i = 0; i < p.n && rc == 0 && rootfs; i++)
		if (p.m[i].config_volume)
			rc = check_not_file(rootfs, p.m[i].dest, err);
	/* image content copied into new volumes after the record's commit: a
	 * crash in between must not leave a record with half-filled volumes,
	 * so the create is marked unfinished until then (daemon/reconcile.h) */
	bool copies = false;
	for (size_t i = 0; i < p.n && rootfs; i++)
		copies |= !strcmp(p.m[i].type, "volume") && p.m[i].copy && !p.m[i].from_other;
	if (rc == 0 && copies)
		rc = berth_reconcile_mark_creating(d, c->id, err);
	if (rc == 0)
		rc = record_with_volumes(d, c, &p, err);
	/* after the commit: the volumes exist and are referenced, so a failure
	 * here is undone by removing the container (refs and all) */
	for (size_t i = 0; i < p.n && rc == 0 && rootfs; i++)
		if (!strcmp(p.m[i].type, "volume") && p.m[i].copy && !p.m[i].from_other)
			rc = copy_up(vs, rootfs, &p.m[i], err);
	if (rootfs) {
		struct berth_error e = {0};
		if (berth_rwlayer_unmount(d->layers, c->id, &e) < 0)
			berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: unmount: %s", c->id, e.msg);
		free(rootfs);
	}
	plan_free(&p);
	return rc;
}

/* ---- start / stop --------------------------------------------------------------- */

int berth_volumes_resolve(void *ctx, const char *name, char **host_path, struct berth_error *err)
{
	struct berth_daemon *d = ctx;
	struct berth_volumes *vs = d->volumes;
	*host_path = NULL;
	if (!vs)
		return berth_err(err, BERTH_E_UNSUPPORTED, "volumes are not available");
	pthread_mutex_lock(&vs->mu);
	int found = vols_get_locked(vs, name, NULL, err);
	pthread_mutex_unlock(&vs->mu);
	if (found < 0)
		return -1;
	if (!found)
		return berth_err(err, BERTH_E_NOT_FOUND, "get %s: no such volume", name);
	*host_path = vols_data_path(vs, name);
	return 0;
}

static struct ctr_use *ctr_find(struct berth_volumes *vs, const char *id, bool unlink)
{
	for (struct ctr_use **pp = &vs->ctrs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct ctr_use *u = *pp;
			if (unlink)
				*pp = u->next;
			return u;
		}
	return NULL;
}

/* Destinations the spec builder mounts itself from HostConfig. */
static bool hc_mounts_dest(const json_t *hc, const char *dest)
{
	size_t i;
	json_t *v;
	json_array_foreach(jarr(hc, "Binds"), i, v) {
		struct vmp m = {0};
		if (json_is_string(v) && parse_raw(json_string_value(v), NULL, &m, NULL) == 0) {
			bool hit = !strcmp(m.dest, dest);
			vmp_free(&m);
			if (hit)
				return true;
		}
	}
	json_array_foreach(jarr(hc, "Mounts"), i, v) {
		if (!jstr(v, "Target"))
			continue;
		cleanup_free char *t = path_clean(jstr(v, "Target"));
		if (!strcmp(t, dest))
			return true;
	}
	return tmpfs_has(hc, dest);
}

static const json_t *mount_at(const json_t *mounts, const char *dest)
{
	size_t i;
	json_t *e;
	json_array_foreach(mounts, i, e)
		if (jstr(e, "Destination") && !strcmp(jstr(e, "Destination"), dest))
			return e;
	return NULL;
}

/* Anonymous Binds/Mounts entries get the name of the volume made for them. */
static void name_anonymous(json_t *hc, const json_t *mounts)
{
	size_t i;
	json_t *v;
	json_array_foreach(jarr(hc, "Binds"), i, v) {
		struct vmp m = {0};
		if (!json_is_string(v) || parse_raw(json_string_value(v), NULL, &m, NULL) < 0)
			continue;
		const json_t *e = mount_at(mounts, m.dest);
		if (!strcmp(m.type, "volume") && m.anonymous && jstr_ne(e, "Name")) {
			cleanup_free char *s =
				berth_strdup_printf("%s:%s%s%s", jstr(e, "Name"), m.dest, *m.mode ? ":" : "", m.mode);
			json_array_set_new(jarr(hc, "Binds"), i, json_string(s));
		}
		vmp_free(&m);
	}
	json_array_foreach(jarr(hc, "Mounts"), i, v) {
		if (!jstr(v, "Type") || strcmp(jstr(v, "Type"), "volume") || jstr_ne(v, "Source") || !jstr(v, "Target"))
			continue;
		cleanup_free char *t = path_clean(jstr(v, "Target"));
		const json_t *e = mount_at(mounts, t);
		if (jstr_ne(e, "Name"))
			json_object_set_new(v, "Source", json_string(jstr(e, "Name")));
	}
}

static json_t *oci_mount(const char *dest, const char *type, const char *source, json_t *opts)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", source);
	json_object_set_new(m, "options", opts);
	return m;
}

int berth_volumes_container_start(struct berth_daemon *d, struct berth_container *c, json_t *host_config,
				  json_t **extra_mounts, struct berth_error *err)
{
	struct berth_volumes *vs = d->volumes;
	*extra_mounts = json_array();
	if (!vs)
		return 0;
	pthread_mutex_lock(&c->mu);
	json_t *doc = berth_container_doc(c, err);
	cleanup_json json_t *mounts = json_deep_copy(jarr(doc, "Mounts"));
	pthread_mutex_unlock(&c->mu);
	if (!doc)
		return -1;
	name_anonymous(host_config, mounts);
	json_t *events = json_array();
	int rc = 0;
	pthread_mutex_lock(&vs->mu);
	struct ctr_use *old = ctr_find(vs, c->id, true);
	if (old) {
		for (size_t i = 0; old->names && old->names[i]; i++)
			vols_unmount_ref_locked(vs, old->names[i]);
		berth_strv_free(old->names);
		free(old);
	}
	struct ctr_use *u = calloc(1, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", c->id);
	u->next = vs->ctrs;
	vs->ctrs = u;
	size_t i;
	json_t *e;
	json_array_foreach(mounts, i, e) {
		const char *type = jstr(e, "Type") ? jstr(e, "Type") : "";
		const char *dest = jstr(e, "Destination") ? jstr(e, "Destination") : "";
		bool rw = jbool(e, "RW", true);
		bool mine = !hc_mounts_dest(host_config, dest);
		if (!strcmp(type, "volume") && !tmpfs_has(host_config, dest)) {
			struct vol v = {0};
			const char *name = jstr(e, "Name") ? jstr(e, "Name") : "";
			int found = vols_get_locked(vs, name, &v, err);
			if (found == 0)
				rc = berth_err(err, BERTH_E_NOT_FOUND, "get %s: no such volume", name);
			if (found <= 0) {
				rc = -1;
				break;
			}
			cleanup_free char *path = vols_data_path(vs, name);
			if (vols_mount_ref_locked(vs, &v, err) < 0) {
				berth_err_prefix(err, "error while mounting volume '%s'", path);
				vol_free(&v);
				rc = -1;
				break;
			}
			berth_strv_push(&u->names, name);
			json_array_append_new(events,
					      json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "name", name, "attrs",
							"container", c->id, "destination", dest, "driver", v.driver,
							"propagation", jstr(e, "Propagation") ?: "", "read/write",
							rw ? "true" : "false"));
			vol_free(&v);
			if (mine) {
				json_t *o = json_array();
				json_array_append_new(o, json_string("rbind"));
				if (!rw)
					json_array_append_new(o, json_string("ro"));
				json_array_append_new(*extra_mounts, oci_mount(dest, "bind", path, o));
			}
		} else if (mine && !strcmp(type, "bind") && jstr_ne(e, "Source")) {
			json_t *o = json_array();
			json_array_append_new(o, json_string("rbind"));
			if (!rw)
				json_array_append_new(o, json_string("ro"));
			json_array_append_new(
				o, json_string(jstr_ne(e, "Propagation") ? jstr(e, "Propagation") : "rprivate"));
			json_array_append_new(*extra_mounts, oci_mount(dest, "bind", jstr(e, "Source"), o));
		} else if (mine && !strcmp(type, "tmpfs")) {
			json_t *o = json_pack("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
			if (!rw)
				json_array_append_new(o, json_string("ro"));
			json_array_append_new(*extra_mounts, oci_mount(dest, "tmpfs", "tmpfs", o));
		}
	}
	pthread_mutex_unlock(&vs->mu);
	json_array_foreach(events, i, e)
		vols_emit(vs, "mount", jstr(e, "name"), json_incref(jobj(e, "attrs")));
	json_decref(events);
	return rc;
}

void berth_volumes_container_stop(struct berth_daemon *d, struct berth_container *c)
{
	struct berth_volumes *vs = d->volumes;
	if (!vs)
		return;
	pthread_mutex_lock(&vs->mu);
	struct ctr_use *u = ctr_find(vs, c->id, true);
	char **names = NULL;
	if (u) {
		for (size_t i = 0; u->names && u->names[i]; i++)
			vols_unmount_ref_locked(vs, u->names[i]);
		names = u->names;
		free(u);
	}
	pthread_mutex_unlock(&vs->mu);
	for (size_t i = 0; names && names[i]; i++)
		vols_emit(vs, "unmount", names[i], json_pack("{s:s, s:s}", "container", c->id, "driver", "local"));
	berth_strv_free(names);
}

void berth_volumes_container_remove(struct berth_daemon *d, struct berth_container *c, bool remove_anonymous)
{
	struct berth_volumes *vs = d->volumes;
	if (!vs)
		return;
	berth_volumes_container_stop(d, c);
	pthread_mutex_lock(&vs->mu);
	release_refs_locked(vs, c->id, remove_anonymous);
	pthread_mutex_unlock(&vs->mu);
}

/* ---- daemon start ------------------------------------------------------------------ */

void vols_restore_locked(struct berth_volumes *vs)
{
	struct berth_daemon *d = vs->d;
	size_t n = 0;
	struct berth_container **all = d->containers ? berth_container_list_all(d->containers, &n) : NULL;
	/* references of containers that are gone */
	struct berth_stmt *st = NULL;
	char **stale = NULL;
	if ((st = berth_db_prepare(vs->db, "SELECT DISTINCT container FROM volume_refs", NULL)) != NULL) {
		while (berth_stmt_step(st, NULL) == 1) {
			const char *id = berth_stmt_text(st, 0);
			bool live = false;
			for (size_t i = 0; id && i < n && !live; i++)
				live = !strcmp(all[i]->id, id);
			if (id && !live)
				berth_strv_push(&stale, id);
		}
		berth_stmt_finalize(st);
	}
	for (size_t i = 0; stale && stale[i]; i++)
		vols_refs_drop_locked(vs, stale[i]);
	berth_strv_free(stale);
	/* running containers hold their volumes */
	for (size_t i = 0; i < n; i++) {
		struct berth_container *c = all[i];
		pthread_mutex_lock(&c->mu);
		bool running = c->state == CS_RUNNING || c->state == CS_PAUSED;
		json_t *doc = running ? berth_container_doc_or_log(c, "volumes not held") : NULL;
		cleanup_json json_t *mounts = doc ? json_deep_copy(jarr(doc, "Mounts")) : NULL;
		cleanup_json json_t *hc = doc ? json_deep_copy(jobj(doc, "HostConfig")) : NULL;
		pthread_mutex_unlock(&c->mu);
		if (!running)
			continue;
		struct ctr_use *u = calloc(1, sizeof(*u));
		snprintf(u->id, sizeof(u->id), "%s", c->id);
		size_t k;
		json_t *e;
		json_array_foreach(mounts, k, e) {
			const char *name = jstr_ne(e, "Name");
			if (!name || strcmp(jstr(e, "Type") ?: "", "volume") ||
			    tmpfs_has(hc, jstr(e, "Destination") ?: ""))
				continue;
			berth_strv_push(&u->names, name);
			struct vol v = {0};
			if (vols_get_locked(vs, name, &v, NULL) == 1 && vol_needs_mount(&v)) {
				cleanup_free char *path = vols_data_path(vs, name);
				struct vol_use *use = NULL;
				for (use = vs->uses; use && strcmp(use->name, name); use = use->next)
					;
				if (!use) {
					use = calloc(1, sizeof(*use));
					use->name = strdup(name);
					use->next = vs->uses;
					vs->uses = use;
				}
				use->count++;
				use->mounted = berth_is_mountpoint(path);
			}
			vol_free(&v);
		}
		u->next = vs->ctrs;
		vs->ctrs = u;
	}
	if (all)
		berth_container_list_free(d->containers, all, n);
	/* mounts left behind by a crash, that no running container uses */
	struct berth_stmt *q = NULL;
	if ((q = berth_db_prepare(vs->db, "SELECT name FROM volumes WHERE options IS NOT NULL", NULL)) != NULL) {
		while (berth_stmt_step(q, NULL) == 1) {
			const char *name = berth_stmt_text(q, 0);
			bool used = false;
			for (struct vol_use *use = vs->uses; name && use && !used; use = use->next)
				used = !strcmp(use->name, name);
			if (!name || used)
				continue;
			cleanup_free char *path = vols_data_path(vs, name);
			if (berth_is_mountpoint(path) && umount2(path, MNT_DETACH) < 0)
				berth_log(&d->log, BERTH_LOG_WARN, "volume %s: unmount stale %s: %s", name, path,
					  strerror(errno));
		}
		berth_stmt_finalize(q);
	}
}
