/* OCI spec: mounts (docker's defaults + binds/mounts/tmpfs), devices and
 * cgroup resources. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "jget.h"
#include "spec_internal.h"

json_t *spec_mount(const char *dest, const char *type, const char *source, json_t *options)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", source);
	json_object_set_new(m, "options", options ? options : json_array());
	return m;
}

/* ---- mounts ---------------------------------------------------------------- */

/* moby oci/defaults.go as of docker 20.10 (option lists exactly as docker writes them) */
static json_t *default_mounts(void)
{
	json_t *a = json_array();
	json_array_append_new(a,
			      spec_mount("/proc", "proc", "proc", json_pack("[s,s,s]", "nosuid", "noexec", "nodev")));
	json_array_append_new(a,
			      spec_mount("/dev", "tmpfs", "tmpfs",
					 json_pack("[s,s,s,s]", "nosuid", "strictatime", "mode=755", "size=65536k")));
	json_array_append_new(a, spec_mount("/dev/pts", "devpts", "devpts",
					    json_pack("[s,s,s,s,s,s]", "nosuid", "noexec", "newinstance",
						      "ptmxmode=0666", "mode=0620", "gid=5")));
	json_array_append_new(
		a, spec_mount("/sys", "sysfs", "sysfs", json_pack("[s,s,s,s]", "nosuid", "noexec", "nodev", "ro")));
	json_array_append_new(a, spec_mount("/sys/fs/cgroup", "cgroup", "cgroup",
					    json_pack("[s,s,s,s]", "ro", "nosuid", "noexec", "nodev")));
	json_array_append_new(
		a, spec_mount("/dev/mqueue", "mqueue", "mqueue", json_pack("[s,s,s]", "nosuid", "noexec", "nodev")));
	json_array_append_new(a, spec_mount("/dev/shm", "tmpfs", "shm",
					    json_pack("[s,s,s,s]", "nosuid", "noexec", "nodev", "mode=1777")));
	return a;
}

static const char *const propagations[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};

static bool is_propagation(const char *s)
{
	for (size_t i = 0; propagations[i]; i++)
		if (!strcmp(s, propagations[i]))
			return true;
	return false;
}

/* Mount flags for tmpfs option merging: options in the same group override
 * each other (docker's MergeTmpfsOptions keys them by MS_* flag). */
static int flag_group(const char *o)
{
	static const struct {
		const char *name;
		int group;
	} t[] = {
		{"ro", 1},           {"rw", 1},
		{"suid", 2},         {"nosuid", 2},
		{"dev", 3},          {"nodev", 3},
		{"exec", 4},         {"noexec", 4},
		{"sync", 5},         {"async", 5},
		{"dirsync", 6},      {"remount", 7},
		{"mand", 8},         {"nomand", 8},
		{"atime", 9},        {"noatime", 9},
		{"diratime", 10},    {"nodiratime", 10},
		{"bind", 11},        {"rbind", 12},
		{"unbindable", 13},  {"runbindable", 14},
		{"relatime", 15},    {"norelatime", 15},
		{"strictatime", 16}, {"nostrictatime", 16},
	};
	if (is_propagation(o))
		return 100;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(o, t[i].name))
			return t[i].group;
	return 0;
}

static json_t *merge_tmpfs_options(json_t *opts, struct berth_error *err)
{
	static const char *const data_keys[] = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", NULL};
	json_t *out = json_array();
	bool seen_group[128] = {0};
	cleanup_json json_t *seen_data = json_object();
	for (size_t n = json_array_size(opts); n-- > 0;) {
		const char *o = json_string_value(json_array_get(opts, n));
		if (!o || !strcmp(o, "defaults") || !*o)
			continue;
		int g = flag_group(o);
		if (g) {
			if (!seen_group[g]) {
				seen_group[g] = true;
				json_array_insert_new(out, 0, json_string(o));
			}
			continue;
		}
		const char *eq = strchr(o, '=');
		bool valid = false;
		char key[32] = "";
		if (eq && (size_t)(eq - o) < sizeof(key)) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - o), o);
			for (size_t k = 0; data_keys[k]; k++)
				valid |= !strcmp(key, data_keys[k]);
		}
		if (!valid) {
			json_decref(out);
			berth_err(err, BERTH_E_INVALID, "Invalid tmpfs option [%s]", o);
			return NULL;
		}
		if (!json_object_get(seen_data, key)) {
			json_object_set_new(seen_data, key, json_true());
			json_array_insert_new(out, 0, json_string(o));
		}
	}
	return out;
}

static json_t *tmpfs_mount(const char *dest, const char *data, struct berth_error *err)
{
	cleanup_json json_t *opts = json_pack("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
	if (data && *data) {
		cleanup_free char *copy = strdup(data);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(opts, json_string(t));
	}
	json_t *merged = merge_tmpfs_options(opts, err);
	if (!merged)
		return NULL;
	return spec_mount(dest, "tmpfs", "tmpfs", merged);
}

static int check_dest(const char *spec, const char *dst, struct berth_error *err)
{
	if (!dst || dst[0] != '/')
		return berth_err(err, BERTH_E_INVALID, "invalid volume specification: '%s'", spec);
	if (!strcmp(dst, "/"))
		return berth_err(err, BERTH_E_INVALID, "invalid specification: destination can't be '/'");
	return 0;
}

static int resolve_volume(const struct berth_spec_input *in, const char *name, char **path, struct berth_error *err)
{
	if (!in->resolve_volume)
		return berth_err(err, BERTH_E_UNSUPPORTED, "volumes are not supported yet (volume \"%s\")", name);
	return in->resolve_volume(in->resolve_ctx, name, path, err);
}

static json_t *bind_mount(const char *dst, const char *src, bool ro, const char *prop, bool recursive)
{
	json_t *o = json_array();
	json_array_append_new(o, json_string(recursive ? "rbind" : "bind"));
	if (ro)
		json_array_append_new(o, json_string("ro"));
	json_array_append_new(o, json_string(prop && *prop ? prop : "rprivate"));
	return spec_mount(dst, "bind", src, o);
}

/* HostConfig.Binds: "src:dst[:mode]" */
static json_t *parse_bind(const struct berth_spec_input *in, const char *spec, struct berth_error *err)
{
	cleanup_free char *copy = strdup(spec);
	char *parts[4] = {0};
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
		parts[n++] = t;
	if (n < 1 || n > 3) {
		berth_err(err, BERTH_E_INVALID, "invalid volume specification: '%s'", spec);
		return NULL;
	}
	const char *src = n >= 2 ? parts[0] : "", *dst = n >= 2 ? parts[1] : parts[0], *mode = n == 3 ? parts[2] : "";
	if (check_dest(spec, dst, err) < 0)
		return NULL;
	bool ro = false;
	const char *prop = NULL;
	cleanup_free char *mcopy = strdup(mode);
	for (char *t = strtok_r(mcopy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "ro"))
			ro = true;
		else if (!strcmp(t, "rw"))
			ro = false;
		else if (is_propagation(t))
			prop = t;
		else if (strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "nocopy") && strcmp(t, "consistent") &&
			 strcmp(t, "cached") && strcmp(t, "delegated")) {
			berth_err(err, BERTH_E_INVALID, "invalid mode: %s", mode);
			return NULL;
		}
	}
	cleanup_free char *host = NULL;
	if (src[0] == '/') {
		/* docker creates a missing bind source for -v (legacy behaviour),
		 * owned by the remapped root under --userns-remap */
		struct stat st;
		if (stat(src, &st) < 0 && errno == ENOENT && berth_idmap_mkdir_p(in->idmap, src, 0755, err) < 0)
			return NULL;
		host = strdup(src);
	} else if (resolve_volume(in, src, &host, err) < 0) {
		return NULL;
	}
	return bind_mount(dst, host, ro, prop, true);
}

/* HostConfig.Mounts (the --mount API) */
static json_t *parse_api_mount(const struct berth_spec_input *in, const json_t *m, struct berth_error *err)
{
	const char *type = jstr(m, "Type"), *src = jstr(m, "Source"), *dst = jstr(m, "Target");
	if (!dst || dst[0] != '/') {
		berth_err(err, BERTH_E_INVALID,
			  "invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute",
			  type ? type : "", dst ? dst : "");
		return NULL;
	}
	bool ro = jbool(m, "ReadOnly", false);
	if (type && !strcmp(type, "bind")) {
		const json_t *bo = jobj(m, "BindOptions");
		struct stat st;
		if (!src || src[0] != '/') {
			berth_err(
				err, BERTH_E_INVALID,
				"invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute",
				src ? src : "");
			return NULL;
		}
		if (stat(src, &st) < 0) {
			berth_err(err, BERTH_E_INVALID,
				  "invalid mount config for type \"bind\": bind source path does not exist: %s", src);
			return NULL;
		}
		return bind_mount(dst, src, ro, jstr(bo, "Propagation"), !jbool(bo, "NonRecursive", false));
	}
	if (type && !strcmp(type, "volume")) {
		cleanup_free char *host = NULL;
		if (resolve_volume(in, src ? src : "", &host, err) < 0)
			return NULL;
		return bind_mount(dst, host, ro, NULL, true);
	}
	if (type && !strcmp(type, "tmpfs")) {
		const json_t *to = jobj(m, "TmpfsOptions");
		struct berth_buf b = {0};
		if (ro)
			berth_buf_printf(&b, "ro");
		long long size = jint(to, "SizeBytes", 0);
		if (size) {
			const char *suffix = "";
			static const struct {
				const char *s;
				long long d;
			} units[] = {{"g", 1LL << 30}, {"m", 1LL << 20}, {"k", 1LL << 10}};
			for (size_t k = 0; k < 3; k++)
				if (size % units[k].d == 0) {
					size /= units[k].d;
					suffix = units[k].s;
					break;
				}
			berth_buf_printf(&b, "%ssize=%lld%s", b.len ? "," : "", size, suffix);
		}
		long long mode = jint(to, "Mode", 0);
		if (mode)
			berth_buf_printf(&b, "%smode=%llo", b.len ? "," : "", mode);
		json_t *r = tmpfs_mount(dst, berth_buf_str(&b), err);
		berth_buf_free(&b);
		return r;
	}
	berth_err(err, BERTH_E_INVALID, "mount type unknown: \"%s\"", type ? type : "");
	return NULL;
}

static size_t depth(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int add_user_mount(json_t *um, json_t *m, struct berth_error *err)
{
	if (!m)
		return -1;
	const char *d = jstr(m, "destination");
	size_t i;
	json_t *v;
	json_array_foreach(um, i, v) {
		if (!strcmp(jstr(v, "destination"), d)) {
			berth_err(err, BERTH_E_INVALID, "Duplicate mount point: %s", d);
			json_decref(m);
			return -1;
		}
	}
	json_array_append_new(um, m);
	return 0;
}

static bool has_dest(const json_t *mounts, const char *d)
{
	size_t i;
	json_t *v;
	json_array_foreach(mounts, i, v) {
		if (!strcmp(jstr(v, "destination"), d))
			return true;
	}
	return false;
}

static void drop_option(json_t *m, const char *opt)
{
	json_t *o = jarr(m, "options");
	for (size_t i = 0; i < json_array_size(o);)
		if (!strcmp(jarr_str(o, i), opt))
			json_array_remove(o, i);
		else
			i++;
}

static bool has_option(const json_t *m, const char *opt)
{
	json_t *o = jarr(m, "options");
	for (size_t i = 0; i < json_array_size(o); i++)
		if (!strcmp(jarr_str(o, i), opt))
			return true;
	return false;
}

int spec_mounts(json_t *spec, const struct berth_spec_input *in, bool readonly, bool privileged, const char *ipc_mode,
		struct berth_error *err)
{
	const json_t *hc = in->host_config;
	cleanup_json json_t *um = json_array();
	size_t i;
	json_t *v;

	json_array_foreach(jarr(hc, "Binds"), i, v) {
		if (!json_is_string(v))
			continue;
		if (add_user_mount(um, parse_bind(in, json_string_value(v), err), err) < 0)
			return -1;
	}
	json_array_foreach(jarr(hc, "Mounts"), i, v) {
		if (add_user_mount(um, parse_api_mount(in, v, err), err) < 0)
			return -1;
	}
	const char *key;
	json_object_foreach(jobj(hc, "Tmpfs"), key, v) {
		if (check_dest(key, key, err) < 0 ||
		    add_user_mount(um, tmpfs_mount(key, json_string_value(v), err), err) < 0)
			return -1;
	}
	json_array_foreach(in->extra_mounts, i, v) {
		if (add_user_mount(um, json_deep_copy(v), err) < 0)
			return -1;
	}
	/* network files, unless the user mounted something there */
	const struct {
		const char *dst, *src;
	} net[] = {{"/etc/resolv.conf", in->resolv_conf_path},
		   {"/etc/hostname", in->hostname_path},
		   {"/etc/hosts", in->hosts_path}};
	for (size_t k = 0; k < 3; k++)
		if (net[k].src && !has_dest(um, net[k].dst))
			json_array_append_new(um, bind_mount(net[k].dst, net[k].src, readonly, "rprivate", true));
	/* IPC: host or shared /dev/shm */
	const char *shm = in->shm_path;
	if (!shm && !strcmp(ipc_mode, "host"))
		shm = "/dev/shm";
	if (shm && strcmp(ipc_mode, "none") && !has_dest(um, "/dev/shm"))
		json_array_append_new(um, bind_mount("/dev/shm", shm, false, "rprivate", true));

	/* stable sort of the user's mounts by path depth (parents first) */
	size_t n = json_array_size(um);
	for (size_t a = 1; a < n; a++) {
		for (size_t b = a; b > 0; b--) {
			json_t *x = json_array_get(um, b - 1), *y = json_array_get(um, b);
			if (depth(jstr(x, "destination")) <= depth(jstr(y, "destination")))
				break;
			json_incref(x);
			json_array_set(um, b - 1, y);
			json_array_set_new(um, b, x);
		}
	}

	json_t *out = json_array();
	json_object_set_new(spec, "mounts", out);
	cleanup_json json_t *defs = default_mounts();
	bool user_dev = has_dest(um, "/dev");
	json_array_foreach(defs, i, v) {
		const char *d = jstr(v, "destination");
		if (has_dest(um, d))
			continue;
		if (user_dev && !strncmp(d, "/dev/", 5))
			continue;
		if (!strcmp(d, "/dev/shm")) {
			if (!strcmp(ipc_mode, "none"))
				continue;
			long long shm_size = jint(hc, "ShmSize", 0);
			if (shm_size <= 0)
				shm_size = 67108864;
			char opt[64];
			snprintf(opt, sizeof(opt), "size=%lld", shm_size);
			json_array_append_new(jarr(v, "options"), json_string(opt));
		}
		json_array_append(out, v);
	}
	size_t ndefault = json_array_size(out);
	json_array_extend(out, um);

	if (readonly) {
		for (i = 0; i < ndefault; i++) {
			json_t *m = json_array_get(out, i);
			const char *d = jstr(m, "destination");
			if (!strcmp(d, "/proc") || !strcmp(d, "/dev/pts") || !strcmp(d, "/dev/shm") ||
			    !strcmp(d, "/dev/mqueue") || !strcmp(d, "/dev"))
				continue;
			if (!has_option(m, "ro"))
				json_array_append_new(jarr(m, "options"), json_string("ro"));
		}
	}
	if (privileged) {
		json_array_foreach(out, i, v) {
			if (!strcmp(jstr(v, "destination"), "/sys") || !strcmp(jstr(v, "type"), "cgroup"))
				drop_option(v, "ro");
		}
	}
	return 0;
}

/* ---- devices --------------------------------------------------------------- */

static json_t *cg_rule(bool allow, const char *type, long long major, long long minor, const char *access)
{
	json_t *r = json_pack("{s:b}", "allow", allow);
	if (type)
		json_object_set_new(r, "type", json_string(type));
	if (major >= 0)
		json_object_set_new(r, "major", json_integer(major));
	if (minor >= 0)
		json_object_set_new(r, "minor", json_integer(minor));
	json_object_set_new(r, "access", json_string(access));
	return r;
}

/* One device node as an OCI linux.devices entry; NULL if not a device. */
static json_t *device_json(const char *host_path, const char *ctr_path, const struct stat *st)
{
	const char *type;
	if (S_ISCHR(st->st_mode))
		type = "c";
	else if (S_ISBLK(st->st_mode))
		type = "b";
	else
		return NULL;
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", ctr_path ? ctr_path : host_path, "type", type,
			 "major", (json_int_t)major(st->st_rdev), "minor", (json_int_t)minor(st->st_rdev), "fileMode",
			 (json_int_t)(st->st_mode & 07777), "uid", (json_int_t)st->st_uid, "gid",
			 (json_int_t)st->st_gid);
}

/* runc's HostDevices walk of /dev (for --privileged). */
static void host_devices(const char *dir, json_t *out)
{
	cleanup_dir DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			static const char *const skip[] = {"pts",  "shm",         "fd",    "mqueue",
							   ".lxc", ".lxd-mounts", ".udev", NULL};
			bool sk = false;
			for (size_t i = 0; skip[i]; i++)
				sk |= !strcmp(e->d_name, skip[i]);
			if (!sk)
				host_devices(p, out);
			continue;
		}
		if (!strcmp(e->d_name, "console"))
			continue;
		json_t *dj = device_json(p, NULL, &st);
		if (dj)
			json_array_append_new(out, dj);
	}
}

/* docker's DevicesFromPath: a device node, or every device below a directory. */
static int devices_from_path(const char *host, const char *ctr, const char *perms, json_t *devs, json_t *rules,
			     struct berth_error *err)
{
	struct stat st;
	if (stat(host, &st) < 0)
		return berth_err_sys(err, BERTH_E_INVALID, errno,
				     "error gathering device information while adding custom device \"%s\"", host);
	if (!S_ISDIR(st.st_mode)) {
		json_t *dj = device_json(host, ctr, &st);
		if (!dj)
			return berth_err(
				err, BERTH_E_INVALID,
				"error gathering device information while adding custom device \"%s\": not a device node",
				host);
		json_array_append_new(
			rules, cg_rule(true, jstr(dj, "type"), jint(dj, "major", 0), jint(dj, "minor", 0), perms));
		json_array_append_new(devs, dj);
		return 0;
	}
	cleanup_dir DIR *d = opendir(host);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char hp[4096], cp[4096];
		snprintf(hp, sizeof(hp), "%s/%s", host, e->d_name);
		snprintf(cp, sizeof(cp), "%s/%s", ctr, e->d_name);
		struct stat s2;
		if (stat(hp, &s2) < 0)
			continue;
		if (S_ISDIR(s2.st_mode)) {
			if (devices_from_path(hp, cp, perms, devs, rules, err) < 0)
				return -1;
			continue;
		}
		json_t *dj = device_json(hp, cp, &s2);
		if (!dj)
			continue;
		json_array_append_new(
			rules, cg_rule(true, jstr(dj, "type"), jint(dj, "major", 0), jint(dj, "minor", 0), perms));
		json_array_append_new(devs, dj);
	}
	return 0;
}

/* "c 1:3 rwm", "a *:* m" */
static int parse_cgroup_rule(const char *s, json_t *rules, struct berth_error *err)
{
	char type, maj[16], min[16], acc[8];
	char extra;
	if (sscanf(s, "%c %15[0-9*]:%15[0-9*] %7[rwm]%c", &type, maj, min, acc, &extra) != 4 ||
	    (type != 'a' && type != 'b' && type != 'c'))
		return berth_err(err, BERTH_E_INVALID, "invalid device cgroup rule format: '%s'", s);
	char t[2] = {type, 0};
	json_array_append_new(
		rules, cg_rule(true, t, strcmp(maj, "*") ? atoll(maj) : -1, strcmp(min, "*") ? atoll(min) : -1, acc));
	return 0;
}

int spec_devices(json_t *lx, json_t *res, const struct berth_spec_input *in, bool privileged, struct berth_error *err)
{
	const json_t *hc = in->host_config;
	json_t *devs = json_array();
	json_object_set_new(lx, "devices", devs); /* dropped again by the caller when empty, as docker omits it */
	json_t *rules = json_array();
	json_object_set_new(res, "devices", rules);
	size_t i;
	json_t *v;
	if (privileged) {
		host_devices("/dev", devs);
		json_array_foreach(jarr(hc, "Devices"), i, v) {
			const char *h = jstr(v, "PathOnHost"), *c = jstr_ne(v, "PathInContainer");
			if (!h || (c && !strcmp(h, c)))
				continue;
			cleanup_json json_t *ignored = json_array();
			if (devices_from_path(h, c ? c : h, "rwm", devs, ignored, err) < 0)
				return -1;
		}
		json_array_append_new(rules, cg_rule(true, NULL, -1, -1, "rwm"));
		return 0;
	}
	json_array_append_new(rules, cg_rule(false, NULL, -1, -1, "rwm"));
	json_array_append_new(rules, cg_rule(true, "c", 1, 5, "rwm"));     /* zero */
	json_array_append_new(rules, cg_rule(true, "c", 1, 3, "rwm"));     /* null */
	json_array_append_new(rules, cg_rule(true, "c", 1, 9, "rwm"));     /* urandom */
	json_array_append_new(rules, cg_rule(true, "c", 1, 8, "rwm"));     /* random */
	json_array_append_new(rules, cg_rule(true, "c", 5, 0, "rwm"));     /* tty */
	json_array_append_new(rules, cg_rule(true, "c", 5, 1, "rwm"));     /* console */
	json_array_append_new(rules, cg_rule(false, "c", 10, 229, "rwm")); /* fuse */
	json_array_foreach(jarr(hc, "Devices"), i, v) {
		const char *h = jstr(v, "PathOnHost"), *c = jstr_ne(v, "PathInContainer");
		const char *perms = jstr_ne(v, "CgroupPermissions") ? jstr(v, "CgroupPermissions") : "rwm";
		if (!h)
			continue;
		if (devices_from_path(h, c ? c : h, perms, devs, rules, err) < 0)
			return -1;
	}
	json_array_foreach(jarr(hc, "DeviceCgroupRules"), i, v) {
		if (json_is_string(v) && parse_cgroup_rule(json_string_value(v), rules, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- resources ------------------------------------------------------------- */

static int throttle_list(const json_t *list, const char *valkey, const char *outkey, json_t *out, json_t *blkio,
			 struct berth_error *err)
{
	size_t i;
	json_t *v;
	if (!jarr_len(list))
		return 0;
	json_t *a = json_array();
	json_object_set_new(blkio, outkey, a);
	json_array_foreach(list, i, v) {
		const char *p = jstr(v, "Path");
		struct stat st;
		if (!p || stat(p, &st) < 0)
			return berth_err_sys(err, BERTH_E_INVALID, errno ? errno : EINVAL, "stat %s", p ? p : "");
		json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major(st.st_rdev), "minor",
						   (json_int_t)minor(st.st_rdev), valkey,
						   (json_int_t)jint(v, valkey[0] == 'w' ? "Weight" : "Rate", 0)));
	}
	(void)out;
	return 0;
}

int spec_resources(json_t *res, const json_t *hc, struct berth_error *err)
{
	json_t *mem = json_object();
	long long memory = jint(hc, "Memory", 0), swap = jint(hc, "MemorySwap", 0);
	if (memory > 0)
		json_object_set_new(mem, "limit", json_integer(memory));
	if (jint(hc, "MemoryReservation", 0) > 0)
		json_object_set_new(mem, "reservation", json_integer(jint(hc, "MemoryReservation", 0)));
	if (swap > 0)
		json_object_set_new(mem, "swap", json_integer(swap));
	if (json_is_integer(jget(hc, "MemorySwappiness")) && jint(hc, "MemorySwappiness", -1) >= 0)
		json_object_set_new(mem, "swappiness", json_integer(jint(hc, "MemorySwappiness", 0)));
	if (json_is_boolean(jget(hc, "OomKillDisable")))
		json_object_set_new(mem, "disableOOMKiller", json_boolean(jbool(hc, "OomKillDisable", false)));
	if (jint(hc, "KernelMemory", 0))
		json_object_set_new(mem, "kernel", json_integer(jint(hc, "KernelMemory", 0)));
	if (jint(hc, "KernelMemoryTCP", 0))
		json_object_set_new(mem, "kernelTCP", json_integer(jint(hc, "KernelMemoryTCP", 0)));
	json_object_set_new(res, "memory", mem);

	long long shares = jint(hc, "CpuShares", 0);
	if (shares < 0) /* before the cpu object exists: nothing to free (found by fuzz_create_body) */
		return berth_err(err, BERTH_E_INVALID, "shares: invalid argument");
	json_t *cpu = json_object();
	json_object_set_new(cpu, "shares", json_integer(shares)); /* docker writes 0 too; runtimes skip it */
	if (jstr_ne(hc, "CpusetCpus"))
		json_object_set_new(cpu, "cpus", json_string(jstr(hc, "CpusetCpus")));
	if (jstr_ne(hc, "CpusetMems"))
		json_object_set_new(cpu, "mems", json_string(jstr(hc, "CpusetMems")));
	long long nano = jint(hc, "NanoCpus", 0);
	if (nano > 0) {
		long long period = 100000;
		json_object_set_new(cpu, "period", json_integer(period));
		json_object_set_new(cpu, "quota", json_integer(nano * period / 1000000000LL));
	}
	if (jint(hc, "CpuPeriod", 0))
		json_object_set_new(cpu, "period", json_integer(jint(hc, "CpuPeriod", 0)));
	if (jint(hc, "CpuQuota", 0))
		json_object_set_new(cpu, "quota", json_integer(jint(hc, "CpuQuota", 0)));
	if (jint(hc, "CpuRealtimePeriod", 0))
		json_object_set_new(cpu, "realtimePeriod", json_integer(jint(hc, "CpuRealtimePeriod", 0)));
	if (jint(hc, "CpuRealtimeRuntime", 0))
		json_object_set_new(cpu, "realtimeRuntime", json_integer(jint(hc, "CpuRealtimeRuntime", 0)));
	json_object_set_new(res, "cpu", cpu);

	const json_t *pl = jget(hc, "PidsLimit");
	if (json_is_integer(pl)) {
		long long l = json_integer_value(pl);
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)(l <= 0 ? -1 : l)));
	}

	json_t *blkio = json_object();
	json_object_set_new(blkio, "weight", json_integer(jint(hc, "BlkioWeight", 0)));
	if (throttle_list(jarr(hc, "BlkioWeightDevice"), "weight", "weightDevice", res, blkio, err) < 0 ||
	    throttle_list(jarr(hc, "BlkioDeviceReadBps"), "rate", "throttleReadBpsDevice", res, blkio, err) < 0 ||
	    throttle_list(jarr(hc, "BlkioDeviceWriteBps"), "rate", "throttleWriteBpsDevice", res, blkio, err) < 0 ||
	    throttle_list(jarr(hc, "BlkioDeviceReadIOps"), "rate", "throttleReadIOPSDevice", res, blkio, err) < 0 ||
	    throttle_list(jarr(hc, "BlkioDeviceWriteIOps"), "rate", "throttleWriteIOPSDevice", res, blkio, err) < 0) {
		json_decref(blkio);
		return -1;
	}
	json_object_set_new(res, "blockIO", blkio);
	return 0;
}

#define LINUX_MIN_MEMORY 6291456LL

static void warn(char ***w, const char *msg)
{
	if (w)
		berth_strv_push(w, msg);
}

int berth_resources_verify(json_t *hc, const struct berth_sysinfo *si, bool update, char ***w, struct berth_error *err)
{
	if (!json_is_object(hc))
		return 0;
	/* fixMemorySwappiness: -1 means unset */
	if (jint(hc, "MemorySwappiness", 0) == -1)
		json_object_set_new(hc, "MemorySwappiness", json_null());
	long long memory = jint(hc, "Memory", 0), swap = jint(hc, "MemorySwap", 0);
	if (memory != 0 && memory < LINUX_MIN_MEMORY)
		return berth_err(err, BERTH_E_INVALID, "Minimum memory limit allowed is 6MB");
	if (memory > 0 && !si->memory_limit) {
		warn(w,
		     "Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.");
		memory = 0;
		swap = -1;
	}
	if (memory > 0 && swap != -1 && !si->swap_limit) {
		warn(w,
		     "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
		swap = -1;
	}
	if (memory > 0 && swap > 0 && swap < memory)
		return berth_err(err, BERTH_E_INVALID,
				 "Minimum memoryswap limit should be larger than memory limit, see usage");
	if (memory == 0 && swap > 0 && !update)
		return berth_err(err, BERTH_E_INVALID,
				 "You should always set the Memory limit when using Memoryswap limit, see usage");
	json_t *sw = jget(hc, "MemorySwappiness");
	if (json_is_integer(sw) && !si->memory_swappiness) {
		warn(w,
		     "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
		json_object_set_new(hc, "MemorySwappiness", json_null());
	} else if (json_is_integer(sw)) {
		long long s = json_integer_value(sw);
		if (s < 0 || s > 100)
			return berth_err(err, BERTH_E_INVALID,
					 "Invalid value: %lld, valid memory swappiness range is 0-100", s);
	}
	long long resv = jint(hc, "MemoryReservation", 0);
	if (resv > 0 && !si->memory_reservation) {
		warn(w,
		     "Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.");
		resv = 0;
		json_object_set_new(hc, "MemoryReservation", json_integer(0));
	}
	if (resv > 0 && resv < LINUX_MIN_MEMORY)
		return berth_err(err, BERTH_E_INVALID, "Minimum memory reservation allowed is 6MB");
	if (memory > 0 && resv > 0 && memory < resv)
		return berth_err(err, BERTH_E_INVALID,
				 "Minimum memory limit can not be less than memory reservation limit, see usage");
	long long kmem = jint(hc, "KernelMemory", 0);
	if (kmem > 0) {
		warn(w, "Specifying a kernel memory limit is deprecated and will be removed in a future release.");
		if (!si->kernel_memory) {
			warn(w,
			     "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.");
			json_object_set_new(hc, "KernelMemory", json_integer(0));
		} else if (kmem < LINUX_MIN_MEMORY) {
			return berth_err(err, BERTH_E_INVALID, "Minimum kernel memory limit allowed is 6MB");
		}
	}
	json_t *oom = jget(hc, "OomKillDisable");
	if (json_is_boolean(oom) && !si->oom_kill_disable) {
		if (json_is_true(oom))
			warn(w, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
		json_object_set_new(hc, "OomKillDisable", json_null());
	} else if (json_is_true(oom) && memory == 0) {
		warn(w,
		     "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
	}
	json_t *pids = jget(hc, "PidsLimit");
	if (json_is_integer(pids) && !si->pids_limit) {
		if (json_integer_value(pids) > 0)
			warn(w,
			     "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.");
		json_object_set_new(hc, "PidsLimit", json_null());
	}

	long long nano = jint(hc, "NanoCpus", 0), period = jint(hc, "CpuPeriod", 0), quota = jint(hc, "CpuQuota", 0);
	if (nano > 0 && period > 0)
		return berth_err(err, BERTH_E_INVALID,
				 "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (nano > 0 && quota > 0)
		return berth_err(err, BERTH_E_INVALID,
				 "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (nano > 0 && !si->cpu_cfs)
		return berth_err(
			err, BERTH_E_INVALID,
			"NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted");
	if (nano < 0 || nano > (long long)si->ncpu * 1000000000LL)
		return berth_err(err, BERTH_E_INVALID,
				 "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", si->ncpu,
				 si->ncpu);
	if (jint(hc, "CpuShares", 0) > 0 && !si->cpu_shares) {
		warn(w, "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.");
		json_object_set_new(hc, "CpuShares", json_integer(0));
	}
	if ((period || quota) && !si->cpu_cfs) {
		warn(w, "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
		json_object_set_new(hc, "CpuPeriod", json_integer(0));
		json_object_set_new(hc, "CpuQuota", json_integer(0));
		period = quota = 0;
	}
	if (period && (period < 1000 || period > 1000000))
		return berth_err(
			err, BERTH_E_INVALID,
			"CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
	if (quota > 0 && quota < 1000)
		return berth_err(err, BERTH_E_INVALID, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (jint(hc, "CpuPercent", 0) > 0) {
		warn(w, "linux does not support CPU percent. Percent discarded.");
		json_object_set_new(hc, "CpuPercent", json_integer(0));
	}
	if ((jstr_ne(hc, "CpusetCpus") || jstr_ne(hc, "CpusetMems")) && !si->cpuset) {
		warn(w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
		json_object_set_new(hc, "CpusetCpus", json_string(""));
		json_object_set_new(hc, "CpusetMems", json_string(""));
	}
	long long bw = jint(hc, "BlkioWeight", 0);
	if (bw > 0 && !si->blkio_weight) {
		warn(w,
		     "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
		json_object_set_new(hc, "BlkioWeight", json_integer(0));
	} else if (bw > 0 && (bw < 10 || bw > 1000)) {
		return berth_err(err, BERTH_E_INVALID, "Range of blkio weight is from 10 to 1000");
	}
	if (jint(hc, "IOMaximumBandwidth", 0) || jint(hc, "IOMaximumIOps", 0))
		return berth_err(
			err, BERTH_E_INVALID,
			"Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps");

	if (!update && memory > 0 && swap == 0)
		swap = memory * 2; /* adaptContainerSettings */
	if (json_is_integer(jget(hc, "Memory")) || memory)
		json_object_set_new(hc, "Memory", json_integer(memory));
	if (json_is_integer(jget(hc, "MemorySwap")) || swap)
		json_object_set_new(hc, "MemorySwap", json_integer(swap));
	return 0;
}
