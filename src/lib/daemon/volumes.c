/* The volume store and docker's `local` volume driver: records in SQLite,
 * data under <data-root>/volumes/<name>/_data, driver options type/device/o
 * mounted on _data while in use, references from containers, and the
 * Engine API operations (create, inspect, list, remove, prune, df). */
#include "volumes.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/daemon.h"
#include "daemon/userns.h"
#include "daemon/volumes_int.h"
#include "storage/fsutil.h"

/* ---- records ------------------------------------------------------------- */

void vol_free(struct vol *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->driver);
	json_decref(v->labels);
	json_decref(v->opts);
	memset(v, 0, sizeof(*v));
}

char *vols_data_path(struct berth_volumes *vs, const char *name)
{
	return berth_strdup_printf("%s/%s/_data", vs->root, name);
}

static json_t *col_json(struct berth_stmt *st, int i)
{
	const char *s = berth_stmt_text(st, i);
	if (!s)
		return NULL;
	json_t *j = json_loads(s, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void row_to_vol(struct berth_stmt *st, struct vol *v)
{
	v->name = strdup(berth_stmt_text(st, 0));
	v->driver = strdup(berth_stmt_text(st, 1) ? berth_stmt_text(st, 1) : "local");
	v->created_ns = berth_stmt_int64(st, 2);
	v->labels = col_json(st, 3);
	v->opts = col_json(st, 4);
}

int vols_get_locked(struct berth_volumes *vs, const char *name, struct vol *out, struct berth_error *err)
{
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "SELECT name, driver, created, labels, options FROM volumes WHERE name = ?",
				   err)) == NULL)
		return -1;
	berth_stmt_bind_text(st, 1, name);
	int found = berth_stmt_step(st, err);
	if (found == 1 && out)
		row_to_vol(st, out);
	berth_stmt_finalize(st);
	return found;
}

/* Every record, sorted by name. */
static struct vol *vols_all_locked(struct berth_volumes *vs, size_t *n)
{
	struct berth_stmt *st = NULL;
	struct vol *v = NULL;
	size_t cnt = 0, cap = 0;
	*n = 0;
	if ((st = berth_db_prepare(vs->db, "SELECT name, driver, created, labels, options FROM volumes ORDER BY name",
				   NULL)) == NULL)
		return NULL;
	while (berth_stmt_step(st, NULL) == 1) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
		}
		memset(&v[cnt], 0, sizeof(*v));
		row_to_vol(st, &v[cnt++]);
	}
	berth_stmt_finalize(st);
	*n = cnt;
	return v;
}

static void vols_free_all(struct vol *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vol_free(&v[i]);
	free(v);
}

/* ---- references ------------------------------------------------------------ */

static bool container_exists(struct berth_volumes *vs, const char *id)
{
	if (!vs->d->containers)
		return true;
	size_t n = 0;
	struct berth_container **all = berth_container_list_all(vs->d->containers, &n);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = !strcmp(all[i]->id, id);
	berth_container_list_free(vs->d->containers, all, n);
	return found;
}

/* name -> [container ids] for every live reference (one pass). */
static json_t *refs_map_locked(struct berth_volumes *vs)
{
	json_t *map = json_object();
	size_t n = 0;
	struct berth_container **all = vs->d->containers ? berth_container_list_all(vs->d->containers, &n) : NULL;
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "SELECT name, container FROM volume_refs ORDER BY rowid", NULL)) != NULL) {
		while (berth_stmt_step(st, NULL) == 1) {
			const char *name = berth_stmt_text(st, 0);
			const char *ctr = berth_stmt_text(st, 1);
			bool live = !all;
			for (size_t i = 0; i < n && !live; i++)
				live = !strcmp(all[i]->id, ctr);
			if (!live || !name || !ctr)
				continue;
			json_t *a = json_object_get(map, name);
			if (!a) {
				a = json_array();
				json_object_set_new(map, name, a);
			}
			json_array_append_new(a, json_string(ctr));
		}
		berth_stmt_finalize(st);
	}
	if (all)
		berth_container_list_free(vs->d->containers, all, n);
	return map;
}

char **vols_users_locked(struct berth_volumes *vs, const char *name)
{
	char **ids = NULL;
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "SELECT container FROM volume_refs WHERE name = ? ORDER BY rowid", NULL)) ==
	    NULL)
		return NULL;
	berth_stmt_bind_text(st, 1, name);
	while (berth_stmt_step(st, NULL) == 1) {
		const char *c = berth_stmt_text(st, 0);
		if (c && container_exists(vs, c))
			berth_strv_push(&ids, c);
	}
	berth_stmt_finalize(st);
	return ids;
}

int vols_refs_add_locked(struct berth_volumes *vs, const char *container, char **names, const bool *anonymous, size_t n,
			 struct berth_error *err)
{
	if (!n)
		return 0;
	struct berth_buf sql = {0};
	berth_buf_printf(&sql, "INSERT OR REPLACE INTO volume_refs (container, name, anonymous) VALUES ");
	for (size_t i = 0; i < n; i++)
		berth_buf_printf(&sql, "%s(?, ?, ?)", i ? ", " : "");
	struct berth_stmt *st = NULL;
	st = berth_db_prepare(vs->db, berth_buf_str(&sql), err);
	berth_buf_free(&sql);
	if (!st)
		return -1;
	for (size_t i = 0; i < n; i++) {
		berth_stmt_bind_text(st, (int)(3 * i + 1), container);
		berth_stmt_bind_text(st, (int)(3 * i + 2), names[i]);
		berth_stmt_bind_int64(st, (int)(3 * i + 3), anonymous[i] ? 1 : 0);
	}
	int rc = berth_stmt_exec(st, err);
	berth_stmt_finalize(st);
	return rc;
}

char **vols_refs_of_locked(struct berth_volumes *vs, const char *container, bool **anon)
{
	char **names = NULL;
	size_t n = 0;
	*anon = NULL;
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "SELECT name, anonymous FROM volume_refs WHERE container = ? ORDER BY rowid",
				   NULL)) == NULL)
		return NULL;
	berth_stmt_bind_text(st, 1, container);
	while (berth_stmt_step(st, NULL) == 1) {
		const char *name = berth_stmt_text(st, 0);
		if (!name)
			continue;
		berth_strv_push(&names, name);
		*anon = realloc(*anon, (n + 1) * sizeof(bool));
		(*anon)[n++] = berth_stmt_int(st, 1) != 0;
	}
	berth_stmt_finalize(st);
	return names;
}

void vols_refs_drop_locked(struct berth_volumes *vs, const char *container)
{
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "DELETE FROM volume_refs WHERE container = ?", NULL)) == NULL)
		return;
	berth_stmt_bind_text(st, 1, container);
	berth_stmt_exec(st, NULL);
	berth_stmt_finalize(st);
}

/* ---- events ---------------------------------------------------------------- */

void vols_emit(struct berth_volumes *vs, const char *action, const char *name, json_t *attrs)
{
	if (vs->d->events)
		berth_events_emit(vs->d->events, "volume", action, name, attrs);
	json_decref(attrs);
}

/* ---- names and options ------------------------------------------------------ */

int berth_volume_name_valid(const char *name, struct berth_error *err)
{
	size_t len = strlen(name);
	if (len == 1)
		return berth_err(err, BERTH_E_INVALID,
				 "volume name is too short, names should be at least two alphanumeric characters");
	bool ok = len >= 2 && isalnum((unsigned char)name[0]);
	for (size_t i = 1; ok && i < len; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-';
	if (!ok)
		return berth_err(
			err, BERTH_E_INVALID,
			"\"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
			name);
	return 0;
}

/* docker's local driver options: type, o, device (and size, which needs
 * project quotas this daemon does not set up). */
int vols_validate_opts(const json_t *opts, struct berth_error *err)
{
	if (!json_is_object(opts) || !json_object_size(opts))
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		if (strcmp(k, "type") && strcmp(k, "o") && strcmp(k, "device") && strcmp(k, "size"))
			return berth_err(err, BERTH_E_INVALID, "invalid option: \"%s\"", k);
		if (!json_is_string(v))
			return berth_err(err, BERTH_E_INVALID, "invalid option value for \"%s\"", k);
	}
	static const struct {
		const char *opt, *req[2];
	} mandatory[] = {{"device", {"type", NULL}}, {"type", {"device", NULL}}, {"o", {"device", "type"}}};
	for (size_t i = 0; i < 3; i++) {
		if (!json_object_get(opts, mandatory[i].opt))
			continue;
		for (size_t r = 0; r < 2 && mandatory[i].req[r]; r++)
			if (!json_object_get(opts, mandatory[i].req[r]))
				return berth_err(err, BERTH_E_INVALID, "missing required option: \"%s\"",
						 mandatory[i].req[r]);
	}
	const char *size = json_string_value(json_object_get(opts, "size"));
	if (size) {
		/* units.RAMInBytes: a number with an optional k/m/g/t/p suffix (b, ib) */
		char *end = NULL;
		double val = strtod(size, &end);
		bool bad = end == size || val < 0;
		if (!bad && *end) {
			char u = (char)tolower((unsigned char)*end);
			bad = !strchr("kmgtp", u) && u != 'b';
			const char *rest = end + 1;
			if (!bad && u != 'b' && *rest && strcasecmp(rest, "b") && strcasecmp(rest, "ib"))
				bad = true;
		}
		if (bad)
			return berth_err(err, BERTH_E_INTERNAL, "invalid size: '%s'", size);
		if (val > 0)
			return berth_err(err, BERTH_E_INVALID, "quota size requested but no quota support");
	}
	return 0;
}

bool vol_needs_mount(const struct vol *v)
{
	const char *t = json_string_value(json_object_get(v->opts, "type"));
	const char *dev = json_string_value(json_object_get(v->opts, "device"));
	return (t && *t) || (dev && *dev);
}

/* ---- mounting volumes with driver options ----------------------------------- */

/* moby/sys/mount's option table. */
static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{"defaults", false, 0},
	{"ro", false, MS_RDONLY},
	{"rw", true, MS_RDONLY},
	{"suid", true, MS_NOSUID},
	{"nosuid", false, MS_NOSUID},
	{"dev", true, MS_NODEV},
	{"nodev", false, MS_NODEV},
	{"exec", true, MS_NOEXEC},
	{"noexec", false, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS},
	{"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},
	{"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},
	{"nomand", true, MS_MANDLOCK},
	{"atime", true, MS_NOATIME},
	{"noatime", false, MS_NOATIME},
	{"diratime", true, MS_NODIRATIME},
	{"nodiratime", false, MS_NODIRATIME},
	{"bind", false, MS_BIND},
	{"rbind", false, MS_BIND | MS_REC},
	{"unbindable", false, MS_UNBINDABLE},
	{"runbindable", false, MS_UNBINDABLE | MS_REC},
	{"private", false, MS_PRIVATE},
	{"rprivate", false, MS_PRIVATE | MS_REC},
	{"shared", false, MS_SHARED},
	{"rshared", false, MS_SHARED | MS_REC},
	{"slave", false, MS_SLAVE},
	{"rslave", false, MS_SLAVE | MS_REC},
	{"relatime", false, MS_RELATIME},
	{"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME},
	{"nostrictatime", true, MS_STRICTATIME},
};

static void parse_mount_options(const char *o, unsigned long *flags, struct berth_buf *data)
{
	*flags = 0;
	cleanup_free char *copy = strdup(o ? o : "");
	char *p = copy;
	bool first = true;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		bool known = false;
		for (size_t i = 0; i < sizeof(mount_flags) / sizeof(*mount_flags); i++) {
			if (strcmp(p, mount_flags[i].name) || !mount_flags[i].flag)
				continue;
			known = true;
			if (mount_flags[i].clear)
				*flags &= ~mount_flags[i].flag;
			else
				*flags |= mount_flags[i].flag;
		}
		if (!known) {
			berth_buf_printf(data, "%s%s", first ? "" : ",", p);
			first = false;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
}

/* Go's error text for an errno: strerror with a lower-case first letter. */
static void go_errno(int code, char *out, size_t len)
{
	snprintf(out, len, "%s", strerror(code));
	if (out[0] && isupper((unsigned char)out[0]) && !(out[1] && isupper((unsigned char)out[1])))
		out[0] = (char)tolower((unsigned char)out[0]);
}

static int mount_err(struct berth_error *err, const char *op, const char *src, const char *target, unsigned long flags,
		     const char *data, int code)
{
	char e[256];
	go_errno(code, e, sizeof(e));
	struct berth_buf b = {0};
	berth_buf_printf(&b, "failed to mount local volume: %s ", op);
	if (src && *src)
		berth_buf_printf(&b, "%s:%s", src, target);
	else
		berth_buf_printf(&b, "%s", target);
	if (flags)
		berth_buf_printf(&b, ", flags: 0x%lx", flags);
	if (data && *data)
		berth_buf_printf(&b, ", data: %s", data);
	berth_buf_printf(&b, ": %s", e);
	berth_err(err, BERTH_E_INTERNAL, "%s", berth_buf_str(&b));
	if (err)
		err->code = code;
	berth_buf_free(&b);
	return -1;
}

/* moby/sys/mount.Mount(device, target, type, options). */
static int do_mount(const char *device, const char *target, const char *type, const char *options,
		    struct berth_error *err)
{
	unsigned long flags = 0;
	struct berth_buf data = {0};
	parse_mount_options(options, &flags, &data);
	const unsigned long ptypes = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
	unsigned long oflags = flags & ~ptypes;
	bool remount = (flags & MS_REMOUNT) || !device || !*device || !strcmp(device, "none");
	int rc = 0;
	if (!remount || data.len) {
		if (mount(device, target, type, oflags, data.len ? berth_buf_str(&data) : NULL) < 0)
			rc = mount_err(err, "mount", device, target, oflags, berth_buf_str(&data), errno);
	}
	if (rc == 0 && (flags & ptypes)) {
		unsigned long pf = flags & (ptypes | MS_REC | MS_SILENT);
		if (mount("", target, "", pf, NULL) < 0)
			rc = mount_err(err, "remount", NULL, target, pf, NULL, errno);
	}
	if (rc == 0 && (oflags & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY)) {
		if (mount("", target, "", oflags | MS_REMOUNT, NULL) < 0)
			rc = mount_err(err, "remount-ro", NULL, target, oflags | MS_REMOUNT, NULL, errno);
	}
	berth_buf_free(&data);
	return rc;
}

static struct vol_use *use_find(struct berth_volumes *vs, const char *name, bool create)
{
	for (struct vol_use *u = vs->uses; u; u = u->next)
		if (!strcmp(u->name, name))
			return u;
	if (!create)
		return NULL;
	struct vol_use *u = calloc(1, sizeof(*u));
	u->name = strdup(name);
	u->next = vs->uses;
	vs->uses = u;
	return u;
}

static void use_drop(struct berth_volumes *vs, const char *name)
{
	for (struct vol_use **pp = &vs->uses; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			struct vol_use *u = *pp;
			*pp = u->next;
			free(u->name);
			free(u);
			return;
		}
}

int vols_mount_ref_locked(struct berth_volumes *vs, const struct vol *v, struct berth_error *err)
{
	if (!vol_needs_mount(v))
		return 0;
	struct vol_use *u = use_find(vs, v->name, true);
	if (!u->mounted) {
		const char *dev = json_string_value(json_object_get(v->opts, "device"));
		if (!dev || !*dev) {
			if (!u->count)
				use_drop(vs, v->name);
			return berth_err(err, BERTH_E_INTERNAL, "missing device in volume options");
		}
		cleanup_free char *path = vols_data_path(vs, v->name);
		if (do_mount(dev, path, json_string_value(json_object_get(v->opts, "type")),
			     json_string_value(json_object_get(v->opts, "o")), err) < 0) {
			if (!u->count)
				use_drop(vs, v->name);
			return -1;
		}
		u->mounted = true;
	}
	u->count++;
	return 0;
}

static void unmount_path(struct berth_volumes *vs, const char *path)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		berth_log(&vs->d->log, BERTH_LOG_WARN, "volume: unmount %s: %s", path, strerror(errno));
}

void vols_unmount_ref_locked(struct berth_volumes *vs, const char *name)
{
	struct vol_use *u = use_find(vs, name, false);
	if (!u)
		return;
	if (u->count > 0)
		u->count--;
	if (u->count > 0)
		return;
	if (u->mounted) {
		cleanup_free char *path = vols_data_path(vs, name);
		unmount_path(vs, path);
	}
	use_drop(vs, name);
}

/* ---- create / remove -------------------------------------------------------- */

int vols_create_locked(struct berth_volumes *vs, const char *name, const char *driver, const json_t *opts,
		       const json_t *labels, struct vol *out, struct berth_error *err)
{
	if (berth_volume_name_valid(name, err) < 0)
		return berth_err_prefix(err, "create %s", name);
	if (driver && *driver && strcmp(driver, "local"))
		return berth_err(err, BERTH_E_NOT_FOUND,
				 "create %s: error looking up volume plugin %s: plugin \"%s\" not found", name, driver,
				 driver);
	struct vol v = {0};
	int found = vols_get_locked(vs, name, &v, err);
	if (found < 0)
		return -1;
	if (!found) {
		if (vols_validate_opts(opts, err) < 0)
			return berth_err_prefix(err, "create %s", name);
		cleanup_free char *vroot = berth_strdup_printf("%s/%s", vs->root, name);
		cleanup_free char *data = vols_data_path(vs, name);
		if (mkdir(vroot, 0701) < 0 && errno != EEXIST)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno,
					     "create %s: error while creating volume root path '%s'", name, vroot);
		if ((mkdir(data, 0755) < 0 && errno != EEXIST) || berth_userns_volume_data(vs->d, data, err) < 0) {
			int e = errno;
			rmdir(vroot);
			return berth_err_sys(err, BERTH_E_INTERNAL, e,
					     "create %s: error while creating volume data path '%s'", name, data);
		}
		v.name = strdup(name);
		v.driver = strdup("local");
		v.created_ns = berth_now_ns();
		v.labels = json_is_object(labels) ? json_deep_copy(labels) : NULL;
		v.opts = json_is_object(opts) ? json_deep_copy(opts) : NULL;
		cleanup_free char *lj = v.labels ? json_dumps(v.labels, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		cleanup_free char *oj = v.opts ? json_dumps(v.opts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		struct berth_stmt *st = NULL;
		struct berth_error dberr = {0};
		int rc = -1;
		st = berth_db_prepare(
			vs->db, "INSERT INTO volumes (name, driver, created, labels, options) VALUES (?, ?, ?, ?, ?)",
			&dberr);
		if (st) {
			berth_stmt_bind_text(st, 1, name);
			berth_stmt_bind_text(st, 2, "local");
			berth_stmt_bind_int64(st, 3, v.created_ns);
			if (lj)
				berth_stmt_bind_text(st, 4, lj);
			if (oj)
				berth_stmt_bind_text(st, 5, oj);
			rc = berth_stmt_exec(st, &dberr);
			berth_stmt_finalize(st);
		}
		if (rc < 0) {
			berth_err(err, BERTH_E_INTERNAL, "create %s: %s", name, dberr.msg);
			berth_rm_rf(vroot, NULL);
			vol_free(&v);
			return -1;
		}
	}
	vols_emit(vs, "create", name, json_pack("{s:s}", "driver", v.driver));
	if (out)
		*out = v;
	else
		vol_free(&v);
	return 0;
}

static char *join_ids(char **ids)
{
	struct berth_buf b = {0};
	for (size_t i = 0; ids && ids[i]; i++)
		berth_buf_printf(&b, "%s%s", i ? ", " : "", ids[i]);
	return berth_buf_steal(&b);
}

int vols_remove_locked(struct berth_volumes *vs, const char *name, bool missing_ok, bool emit, struct berth_error *err)
{
	struct vol v = {0};
	int found = vols_get_locked(vs, name, &v, err);
	if (found < 0)
		return -1;
	if (!found)
		return missing_ok ? 0 : berth_err(err, BERTH_E_NOT_FOUND, "get %s: no such volume", name);
	char **users = vols_users_locked(vs, name);
	if (users) {
		cleanup_free char *ids = join_ids(users);
		berth_strv_free(users);
		vol_free(&v);
		return berth_err(err, BERTH_E_CONFLICT, "remove %s: volume is in use - [%s]", name, ids);
	}
	struct vol_use *u = use_find(vs, name, false);
	if (u && u->count > 0) {
		vol_free(&v);
		return berth_err(err, BERTH_E_INTERNAL, "remove %s: volume has active mounts", name);
	}
	cleanup_free char *vroot = berth_strdup_printf("%s/%s", vs->root, name);
	cleanup_free char *data = vols_data_path(vs, name);
	if (vol_needs_mount(&v) || berth_is_mountpoint(data))
		unmount_path(vs, data);
	use_drop(vs, name);
	if (berth_is_mountpoint(data)) {
		vol_free(&v);
		return berth_err(err, BERTH_E_INTERNAL, "remove %s: %s is still mounted", name, data);
	}
	struct berth_error rerr = {0};
	if (berth_rm_rf(vroot, &rerr) < 0) {
		vol_free(&v);
		return berth_err(err, BERTH_E_INTERNAL, "remove %s: error removing volume path '%s': %s", name, vroot,
				 rerr.msg);
	}
	struct berth_stmt *st = NULL;
	if ((st = berth_db_prepare(vs->db, "DELETE FROM volumes WHERE name = ?", NULL)) != NULL) {
		berth_stmt_bind_text(st, 1, name);
		berth_stmt_exec(st, NULL);
		berth_stmt_finalize(st);
	}
	if (emit)
		vols_emit(vs, "destroy", name, json_pack("{s:s}", "driver", v.driver));
	vol_free(&v);
	return 0;
}

/* ---- API shapes ------------------------------------------------------------- */

/* time.Time.Format(time.RFC3339) of a local time, seconds precision. */
static void rfc3339_local(int64_t ns, char *out, size_t len)
{
	time_t s = (time_t)(ns / 1000000000LL);
	struct tm tm;
	localtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	long off = tm.tm_gmtoff;
	if (!off)
		snprintf(out, len, "%sZ", base);
	else
		snprintf(out, len, "%s%c%02ld:%02ld", base, off < 0 ? '-' : '+', labs(off) / 3600,
			 labs(off) % 3600 / 60);
}

static json_t *vol_json(struct berth_volumes *vs, const struct vol *v)
{
	char created[64];
	rfc3339_local(v->created_ns, created, sizeof(created));
	cleanup_free char *path = vols_data_path(vs, v->name);
	json_t *j = json_object();
	json_object_set_new(j, "CreatedAt", json_string(created));
	json_object_set_new(j, "Driver", json_string(v->driver));
	json_object_set_new(j, "Labels", v->labels ? json_deep_copy(v->labels) : json_null());
	json_object_set_new(j, "Mountpoint", json_string(path));
	json_object_set_new(j, "Name", json_string(v->name));
	json_object_set_new(j, "Options", v->opts ? json_deep_copy(v->opts) : json_null());
	json_object_set_new(j, "Scope", json_string("local"));
	return j;
}

json_t *berth_volume_create(struct berth_volumes *vs, const json_t *body, struct berth_error *err)
{
	const json_t *name_j = json_object_get(body, "Name"), *drv_j = json_object_get(body, "Driver");
	const json_t *opts = json_object_get(body, "DriverOpts"), *labels = json_object_get(body, "Labels");
	if ((name_j && !json_is_string(name_j) && !json_is_null(name_j)) ||
	    (drv_j && !json_is_string(drv_j) && !json_is_null(drv_j))) {
		berth_err(err, BERTH_E_INVALID,
			  "json: cannot unmarshal %s into Go struct field VolumeCreateBody.%s of type string",
			  json_is_number(name_j && !json_is_string(name_j) ? name_j : drv_j) ? "number" : "value",
			  name_j && !json_is_string(name_j) && !json_is_null(name_j) ? "Name" : "Driver");
		return NULL;
	}
	if ((opts && !json_is_object(opts) && !json_is_null(opts)) ||
	    (labels && !json_is_object(labels) && !json_is_null(labels))) {
		berth_err(err, BERTH_E_INVALID, "json: cannot unmarshal %s into Go struct field VolumeCreateBody.%s",
			  "value", opts && !json_is_object(opts) && !json_is_null(opts) ? "DriverOpts" : "Labels");
		return NULL;
	}
	const char *name = json_string_value(name_j);
	char rnd[65];
	if (!name || !*name) {
		berth_random_id(rnd);
		name = rnd;
	}
	struct vol v = {0};
	pthread_mutex_lock(&vs->mu);
	int rc = vols_create_locked(vs, name, json_string_value(drv_j), json_is_object(opts) ? opts : NULL,
				    json_is_object(labels) ? labels : NULL, &v, err);
	pthread_mutex_unlock(&vs->mu);
	if (rc < 0)
		return NULL;
	json_t *j = vol_json(vs, &v);
	vol_free(&v);
	return j;
}

json_t *berth_volume_inspect(struct berth_volumes *vs, const char *name, struct berth_error *err)
{
	struct vol v = {0};
	pthread_mutex_lock(&vs->mu);
	int found = vols_get_locked(vs, name, &v, err);
	pthread_mutex_unlock(&vs->mu);
	if (found <= 0) {
		if (found == 0)
			berth_err(err, BERTH_E_NOT_FOUND, "get %s: no such volume", name);
		return NULL;
	}
	json_t *j = vol_json(vs, &v);
	vol_free(&v);
	return j;
}

/* filters.Args.Validate with the volume service's message. */
static int check_filters(json_t *filters, const char *const *allowed, struct berth_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= !strcmp(allowed[i], k);
		if (!ok)
			return berth_err(err, BERTH_E_INVALID, "Invalid filter '%s'", k);
	}
	return 0;
}

static bool has_value(json_t *vals, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e)
		if (json_string_value(e) && !strcmp(json_string_value(e), s))
			return true;
	return false;
}

/* filters.Args.MatchKVList: every "k" / "k=v" matches. */
static bool match_kv(json_t *vals, json_t *labels)
{
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e) {
		const char *f = json_string_value(e);
		if (!f)
			continue;
		const char *eq = strchr(f, '=');
		cleanup_free char *key = eq ? strndup(f, (size_t)(eq - f)) : strdup(f);
		json_t *have = json_object_get(labels, key);
		if (!have || (eq && (!json_string_value(have) || strcmp(json_string_value(have), eq + 1))))
			return false;
	}
	return true;
}

/* filters.Args.Match: exact, or the value as a regular expression. */
static bool match_name(json_t *vals, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e) {
		const char *f = json_string_value(e);
		if (!f)
			continue;
		if (!strcmp(f, name))
			return true;
		regex_t re;
		if (regcomp(&re, f, REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		bool hit = regexec(&re, name, 0, NULL, 0) == 0;
		regfree(&re);
		if (hit)
			return true;
	}
	return false;
}

/* dangling: -1 not given, 0 false, 1 true; -2 invalid. */
static int dangling_filter(json_t *filters, struct berth_error *err)
{
	json_t *vals = json_object_get(filters, "dangling");
	if (!vals)
		return -1;
	if (has_value(vals, "true") || has_value(vals, "1"))
		return 1;
	if (has_value(vals, "false") || has_value(vals, "0"))
		return 0;
	struct berth_buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e)
		berth_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(e) ?: "");
	berth_err(err, BERTH_E_INVALID, "Invalid filter 'dangling=[%s]'", berth_buf_str(&b));
	berth_buf_free(&b);
	return -2;
}

static bool vol_matches(json_t *filters, const struct vol *v, int dangling, json_t *refs)
{
	json_t *f;
	if ((f = json_object_get(filters, "driver")) && json_array_size(f) && !has_value(f, v->driver))
		return false;
	if ((f = json_object_get(filters, "name")) && json_array_size(f) && !match_name(f, v->name))
		return false;
	if ((f = json_object_get(filters, "label")) && !match_kv(f, v->labels))
		return false;
	if ((f = json_object_get(filters, "label!")) && json_array_size(f) && match_kv(f, v->labels))
		return false;
	if (dangling >= 0) {
		bool used = json_array_size(json_object_get(refs, v->name)) > 0;
		if (used == (dangling == 1))
			return false;
	}
	return true;
}

json_t *berth_volume_list(struct berth_volumes *vs, json_t *filters, struct berth_error *err)
{
	static const char *const allowed[] = {"driver", "label", "name", "dangling", NULL};
	if (check_filters(filters, allowed, err) < 0)
		return NULL;
	int dangling = dangling_filter(filters, err);
	if (dangling == -2)
		return NULL;
	pthread_mutex_lock(&vs->mu);
	size_t n = 0;
	struct vol *all = vols_all_locked(vs, &n);
	cleanup_json json_t *refs = dangling >= 0 ? refs_map_locked(vs) : NULL;
	pthread_mutex_unlock(&vs->mu);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (vol_matches(filters, &all[i], dangling, refs))
			json_array_append_new(arr, vol_json(vs, &all[i]));
	vols_free_all(all, n);
	return json_pack("{s:o, s:n}", "Volumes", arr, "Warnings");
}

int berth_volume_remove(struct berth_volumes *vs, const char *name, bool force, struct berth_error *err)
{
	pthread_mutex_lock(&vs->mu);
	int rc = vols_remove_locked(vs, name, force, true, err);
	pthread_mutex_unlock(&vs->mu);
	return rc;
}

/* pkg/directory.Size: apparent sizes of everything but directories, hard
 * links counted once. */
static int64_t tree_size_at(int dfd, struct berth_strmap *seen)
{
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	int64_t total = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				total += tree_size_at(sub, seen);
			continue;
		}
		if (st.st_nlink > 1) {
			char key[64];
			snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			if (berth_strmap_get(seen, key, NULL))
				continue;
			berth_strmap_put(seen, key, 1);
		}
		total += st.st_size;
	}
	closedir(dir);
	return total;
}

static int64_t tree_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct berth_strmap seen = {0};
	int64_t n = tree_size_at(fd, &seen);
	berth_strmap_free(&seen);
	return n;
}

json_t *berth_volume_prune(struct berth_volumes *vs, json_t *filters, struct berth_error *err)
{
	static const char *const allowed[] = {"label", "label!", NULL};
	if (check_filters(filters, allowed, err) < 0)
		return NULL;
	pthread_mutex_lock(&vs->mu);
	size_t n = 0;
	struct vol *all = vols_all_locked(vs, &n);
	cleanup_json json_t *refs = refs_map_locked(vs);
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	for (size_t i = 0; i < n; i++) {
		struct vol *v = &all[i];
		if (strcmp(v->driver, "local") || json_object_size(v->opts) ||
		    json_array_size(json_object_get(refs, v->name)) || !vol_matches(filters, v, -1, NULL))
			continue;
		cleanup_free char *path = vols_data_path(vs, v->name);
		int64_t size = tree_size(path);
		struct berth_error rerr = {0};
		if (vols_remove_locked(vs, v->name, false, false, &rerr) < 0) {
			berth_log(&vs->d->log, BERTH_LOG_WARN, "volume prune: %s", rerr.msg);
			continue;
		}
		reclaimed += size;
		json_array_append_new(deleted, json_string(v->name));
	}
	pthread_mutex_unlock(&vs->mu);
	vols_free_all(all, n);
	char rec[32];
	snprintf(rec, sizeof(rec), "%lld", (long long)reclaimed);
	vols_emit(vs, "prune", "", json_pack("{s:s}", "reclaimed", rec));
	return json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
}

json_t *berth_volumes_df(struct berth_volumes *vs)
{
	pthread_mutex_lock(&vs->mu);
	size_t n = 0;
	struct vol *all = vols_all_locked(vs, &n);
	cleanup_json json_t *refs = refs_map_locked(vs);
	pthread_mutex_unlock(&vs->mu);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = vol_json(vs, &all[i]);
		cleanup_free char *path = vols_data_path(vs, all[i].name);
		json_object_set_new(j, "UsageData",
				    json_pack("{s:I, s:I}", "Size", (json_int_t)tree_size(path), "RefCount",
					      (json_int_t)json_array_size(json_object_get(refs, all[i].name))));
		json_array_append_new(arr, j);
	}
	vols_free_all(all, n);
	return arr;
}

/* ---- open / close ------------------------------------------------------------ */

struct berth_volumes *berth_volumes_open(struct berth_daemon *d, struct berth_error *err)
{
	struct berth_volumes *vs = calloc(1, sizeof(*vs));
	vs->d = d;
	vs->db = d->db;
	pthread_mutex_init(&vs->mu, NULL);
	pthread_mutex_init(&vs->forgotten_mu, NULL);
	vs->root = berth_strdup_printf("%s/volumes", d->cfg.data_root);
	if (mkdir(vs->root, 0701) < 0 && errno != EEXIST) {
		berth_err_sys(err, BERTH_E_INTERNAL, errno, "create %s", vs->root);
		berth_volumes_close(vs);
		return NULL;
	}
	if (berth_db_exec(vs->db,
			  "CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, driver TEXT NOT NULL, "
			  "created INTEGER NOT NULL, labels TEXT, options TEXT);"
			  "CREATE TABLE IF NOT EXISTS volume_refs (container TEXT NOT NULL, name TEXT NOT NULL, "
			  "anonymous INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (container, name));"
			  "CREATE INDEX IF NOT EXISTS volume_refs_name ON volume_refs (name);",
			  err) < 0) {
		berth_volumes_close(vs);
		return NULL;
	}
	pthread_mutex_lock(&vs->mu);
	vols_restore_locked(vs);
	pthread_mutex_unlock(&vs->mu);
	/* a container's references leave the database with its record */
	if (d->containers)
		berth_containers_set_delete_hook(d->containers, vols_forget_container, vs);
	return vs;
}

void berth_volumes_close(struct berth_volumes *vs)
{
	if (!vs)
		return;
	while (vs->uses) {
		struct vol_use *u = vs->uses;
		vs->uses = u->next;
		free(u->name);
		free(u);
	}
	while (vs->ctrs) {
		struct ctr_use *c = vs->ctrs;
		vs->ctrs = c->next;
		berth_strv_free(c->names);
		free(c);
	}
	if (vs->d && vs->d->containers)
		berth_containers_set_delete_hook(vs->d->containers, NULL, NULL);
	while (vs->forgotten) {
		struct forgotten_refs *f = vs->forgotten;
		vs->forgotten = f->next;
		vols_forgotten_free(f);
	}
	pthread_mutex_destroy(&vs->forgotten_mu);
	pthread_mutex_destroy(&vs->mu);
	free(vs->root);
	free(vs);
}
