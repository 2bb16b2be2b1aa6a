/* OCI spec building: process, security options, namespaces, top level.
 * Mounts, devices and resources are in spec_linux.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apparmor.h"
#include "caps.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "jget.h"
#include "seccomp.h"
#include "spec_internal.h"
#include "user.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define INIT_IN_CONTAINER "/sbin/docker-init"

void spec_warn(const struct berth_spec_input *in, const char *msg)
{
	if (in->warnings)
		berth_strv_push(in->warnings, msg);
}

int berth_parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; s && i < 6; i++) {
		if (!strcmp(s, t[i]))
			return 1;
		if (!strcmp(s, f[i]))
			return 0;
	}
	return -1;
}

json_t *berth_env_merge(const json_t *defaults, const json_t *overrides)
{
	json_t *env = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(defaults, i, v) {
		if (json_is_string(v))
			json_array_append(env, v);
	}
	size_t ndef = json_array_size(env);
	/* keys of the defaults (docker caches only those) */
	json_array_foreach(overrides, i, v) {
		const char *o = json_string_value(v);
		if (!o)
			continue;
		const char *eq = strchr(o, '=');
		size_t klen = eq ? (size_t)(eq - o) : strlen(o);
		size_t hit = (size_t)-1;
		for (size_t k = 0; k < ndef; k++) {
			const char *d = json_string_value(json_array_get(env, k));
			const char *deq = strchr(d, '=');
			size_t dlen = deq ? (size_t)(deq - d) : strlen(d);
			if (dlen == klen && !strncmp(d, o, klen) && *d) {
				hit = k;
				break;
			}
		}
		if (!eq) {
			if (hit != (size_t)-1)
				json_array_set_new(env, hit, json_string(""));
			continue;
		}
		if (hit != (size_t)-1)
			json_array_set(env, hit, v);
		else
			json_array_append(env, v);
	}
	for (i = 0; i < json_array_size(env);) {
		if (!*json_string_value(json_array_get(env, i)))
			json_array_remove(env, i);
		else
			i++;
	}
	return env;
}

/* Is this a json array with at least one element? docker distinguishes a
 * null Entrypoint (inherit the image's) from an empty one. */
static bool nonempty(const json_t *a) { return jarr_len(a) > 0; }

/* mkdir -p of an absolute path inside root, every component resolved in root. */
/* Directories it makes belong to the remapped root under --userns-remap
 * (docker's SetupWorkingDirectory: root in the container may write there). */
static int mkdir_in_root(const char *root, const char *path, const struct berth_idmap *m, struct berth_error *err)
{
	cleanup_free char *p = strdup(path);
	if (!p)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	char *s = p;
	while (*s == '/')
		s++;
	while (*s) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		/* parent = p up to s */
		char saved = *s;
		*s = '\0';
		bool at_root = strspn(p, "/") == strlen(p);
		cleanup_close int dfd = berth_open_in_root(root, at_root ? "." : p, O_PATH | O_DIRECTORY);
		*s = saved;
		if (dfd < 0)
			return berth_err_sys(err, BERTH_E_INVALID, errno, "Cannot mkdir: %s", path);
		if (mkdirat(dfd, s, 0755) == 0) {
			if (berth_idmap_enabled(m) &&
			    fchownat(dfd, s, berth_idmap_root_uid(m), berth_idmap_root_gid(m), AT_SYMLINK_NOFOLLOW) < 0)
				return berth_err_sys(err, BERTH_E_INTERNAL, errno, "Cannot chown: %s", path);
		} else if (errno != EEXIST) {
			return berth_err_sys(err, BERTH_E_INVALID, errno, "Cannot mkdir: %s", path);
		}
		if (!slash)
			break;
		*slash = '/';
		s = slash + 1;
		while (*s == '/')
			s++;
	}
	cleanup_close int fd = berth_open_in_root(root, path, O_PATH);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return berth_err_sys(err, BERTH_E_INVALID, errno, "Cannot mkdir: %s", path);
	if (!S_ISDIR(st.st_mode))
		return berth_err(err, BERTH_E_INVALID, "Cannot mkdir: %s is not a directory", path);
	return 0;
}

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	cleanup_free char *copy = strdup(path);
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = berth_strdup_printf("%s/%s", d, name);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

struct secopts {
	bool no_new_privs;
	bool seccomp_set;
	char *seccomp; /* "unconfined", or profile text */
	char *apparmor;
};

static void secopts_free(struct secopts *s)
{
	free(s->seccomp);
	free(s->apparmor);
}

/* docker's parseSecurityOpt, plus: seccomp=<path> is read here (docker's CLI
 * inlines the file; berth's may send the path). */
static int parse_security_opts(const struct berth_spec_input *in, const json_t *list, struct secopts *so,
			       struct berth_error *err)
{
	size_t i;
	json_t *v;
	so->no_new_privs = in->no_new_privileges_default;
	json_array_foreach(list, i, v) {
		const char *opt = json_string_value(v);
		if (!opt)
			return berth_err(err, BERTH_E_INVALID, "invalid --security-opt 1: %s", "(non-string)");
		if (!strcmp(opt, "no-new-privileges")) {
			so->no_new_privs = true;
			continue;
		}
		if (!strcmp(opt, "disable"))
			continue;
		const char *sep = strchr(opt, '=');
		if (!sep)
			sep = strchr(opt, ':');
		if (!sep)
			return berth_err(err, BERTH_E_INVALID, "invalid --security-opt 1: \"%s\"", opt);
		size_t klen = (size_t)(sep - opt);
		const char *val = sep + 1;
		if (klen == 5 && !strncmp(opt, "label", 5)) {
			continue; /* no SELinux here; accepted and ignored like docker without SELinux */
		} else if (klen == 8 && !strncmp(opt, "apparmor", 8)) {
			free(so->apparmor);
			so->apparmor = strdup(val);
		} else if (klen == 7 && !strncmp(opt, "seccomp", 7)) {
			free(so->seccomp);
			so->seccomp = NULL;
			so->seccomp_set = true;
			if (!strcmp(val, "unconfined") || val[strspn(val, " \t\r\n")] == '{') {
				so->seccomp = strdup(val);
			} else {
				/* The API carries the profile itself (the CLI reads the file); a
				 * daemon never opens a path named by a request. */
				return berth_err(err, BERTH_E_INVALID,
						 "Decoding seccomp profile failed: invalid character '%c' looking for "
						 "beginning of value",
						 val[0] ? val[0] : ' ');
			}
		} else if (klen == 17 && !strncmp(opt, "no-new-privileges", 17)) {
			int b = berth_parse_bool(val);
			if (b < 0)
				return berth_err(err, BERTH_E_INVALID, "invalid --security-opt 2: \"%s\"", opt);
			so->no_new_privs = b;
		} else {
			return berth_err(err, BERTH_E_INVALID, "invalid --security-opt 2: \"%s\"", opt);
		}
	}
	return 0;
}

static const char *const ulimit_names[] = {"core",     "cpu",        "data",   "fsize", "locks", "memlock",
					   "msgqueue", "nice",       "nofile", "nproc", "rss",   "rtprio",
					   "rttime",   "sigpending", "stack",  "as",    NULL};

static int add_rlimit(json_t *rl, const json_t *u, struct berth_error *err)
{
	const char *name = jstr(u, "Name");
	bool ok = false;
	for (size_t i = 0; name && ulimit_names[i]; i++)
		ok |= !strcmp(name, ulimit_names[i]);
	if (!ok)
		return berth_err(err, BERTH_E_INVALID, "invalid ulimit type: %s", name ? name : "");
	char type[64];
	size_t k = (size_t)snprintf(type, sizeof(type), "RLIMIT_");
	for (const char *p = name; *p && k + 1 < sizeof(type); p++)
		type[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	type[k] = '\0';
	json_array_append_new(rl, json_pack("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t)jint(u, "Hard", 0),
					    "soft", (json_int_t)jint(u, "Soft", 0)));
	return 0;
}

/* docker's WithRlimits + mergeUlimits: container's, then daemon defaults not overridden. */
static json_t *build_rlimits(const struct berth_spec_input *in, struct berth_error *err)
{
	cleanup_json json_t *rl = json_array();
	const json_t *mine = jarr(in->host_config, "Ulimits");
	size_t i;
	json_t *u;
	json_array_foreach(mine, i, u) {
		if (add_rlimit(rl, u, err) < 0)
			return NULL;
	}
	const char *name;
	json_t *d;
	if (json_is_object(in->default_ulimits)) {
		json_object_foreach((json_t *)in->default_ulimits, name, d) {
			bool overridden = false;
			json_array_foreach(mine, i, u) {
				const char *n = jstr(u, "Name");
				overridden |= n && !strcmp(n, name);
			}
			if (overridden)
				continue;
			cleanup_json json_t *copy = json_deep_copy(d);
			if (!jstr(copy, "Name"))
				json_object_set_new(copy, "Name", json_string(name));
			if (add_rlimit(rl, copy, err) < 0)
				return NULL;
		}
	}
	return steal_ptr(rl);
}

static json_t *user_json(const struct berth_user *u)
{
	json_t *gids = json_array();
	for (size_t i = 0; i < u->ngids; i++)
		json_array_append_new(gids, json_integer(u->gids[i]));
	return json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid, "additionalGids",
			 gids);
}

/* docker's oci.SetCapabilities: root gets effective+permitted too. */
static json_t *caps_json(berth_capset set, uint32_t uid, bool all)
{
	json_t *c = json_object();
	json_object_set_new(c, "bounding", berth_caps_to_json(set, !all));
	if (uid == 0) {
		json_object_set_new(c, "effective", berth_caps_to_json(set, !all));
		json_object_set_new(c, "permitted", berth_caps_to_json(set, !all));
	}
	return c;
}

static void set_ns(json_t *nss, const char *type, const char *path)
{
	size_t i;
	json_t *n;
	json_array_foreach(nss, i, n) {
		if (!strcmp(jstr(n, "type"), type)) {
			if (path)
				json_object_set_new(n, "path", json_string(path));
			return;
		}
	}
	json_t *o = json_pack("{s:s}", "type", type);
	if (path)
		json_object_set_new(o, "path", json_string(path));
	json_array_append_new(nss, o);
}

static void remove_ns(json_t *nss, const char *type)
{
	for (size_t i = 0; i < json_array_size(nss); i++)
		if (!strcmp(jstr(json_array_get(nss, i), "type"), type)) {
			json_array_remove(nss, i);
			return;
		}
}

static bool mode_is(const char *mode, const char *what) { return mode && !strcmp(mode, what); }
static bool mode_container(const char *mode) { return mode && !strncmp(mode, "container:", 10); }

static int build_namespaces(json_t *linux_obj, const struct berth_spec_input *in, const char *ipc_mode,
			    struct berth_error *err)
{
	const json_t *hc = in->host_config;
	json_t *nss = json_array();
	json_object_set_new(linux_obj, "namespaces", nss);
	static const char *const defaults[] = {"mount", "network", "uts", "pid", "ipc"};
	for (size_t i = 0; i < 5; i++)
		set_ns(nss, defaults[i], NULL);

	if (jbool(in->config, "NetworkDisabled", false)) {
		/* docker leaves the default (new, empty) network namespace */
	} else if (in->netns_path && !strcmp(in->netns_path, "host")) {
		remove_ns(nss, "network");
	} else if (in->netns_path) {
		set_ns(nss, "network", in->netns_path);
	} else if (mode_container(jstr(hc, "NetworkMode")) && in->validate_only) {
		set_ns(nss, "network", "/proc/self/ns/net"); /* the real path is known at start */
	} else if (mode_container(jstr(hc, "NetworkMode"))) {
		return berth_err(err, BERTH_E_INVALID, "network mode %s needs the joined container's namespace path",
				 jstr(hc, "NetworkMode"));
	}

	if (mode_is(ipc_mode, "host")) {
		remove_ns(nss, "ipc");
	} else if (mode_container(ipc_mode)) {
		if (!in->ipc_ns_path && in->validate_only)
			set_ns(nss, "ipc", "/proc/self/ns/ipc");
		else if (!in->ipc_ns_path)
			return berth_err(err, BERTH_E_INVALID,
					 "ipc mode %s needs the joined container's namespace path", ipc_mode);
		else
			set_ns(nss, "ipc", in->ipc_ns_path);
	} else if (!(!*ipc_mode || mode_is(ipc_mode, "private") || mode_is(ipc_mode, "shareable") ||
		     mode_is(ipc_mode, "none"))) {
		return berth_err(err, BERTH_E_INVALID, "Invalid IPC mode: %s", ipc_mode);
	}

	const char *pid_mode = jstr(hc, "PidMode");
	if (mode_container(pid_mode)) {
		if (!in->pid_ns_path && !in->validate_only)
			return berth_err(err, BERTH_E_INVALID,
					 "pid mode %s needs the joined container's namespace path", pid_mode);
		set_ns(nss, "pid", in->pid_ns_path ? in->pid_ns_path : "/proc/self/ns/pid");
	} else if (mode_is(pid_mode, "host")) {
		remove_ns(nss, "pid");
	}

	if (mode_is(jstr(hc, "UTSMode"), "host"))
		remove_ns(nss, "uts");

	const char *cgns = jstr_ne(hc, "CgroupnsMode");
	if (!cgns) /* docker's daemon default: private on cgroup v2, host on v1 */
		cgns = in->sysinfo->cgroup_mode == BERTH_CGROUP_V2 ? "private" : "host";
	if (!strcmp(cgns, "private"))
		set_ns(nss, "cgroup", NULL);
	else if (strcmp(cgns, "host"))
		return berth_err(err, BERTH_E_INVALID, "invalid cgroup namespace mode: %s", cgns);
	return 0;
}

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static const char *const masked_paths[] = {"/proc/asound",
					   "/proc/acpi",
					   "/proc/kcore",
					   "/proc/keys",
					   "/proc/latency_stats",
					   "/proc/timer_list",
					   "/proc/timer_stats",
					   "/proc/sched_debug",
					   "/proc/scsi",
					   "/sys/firmware",
					   NULL};
static const char *const readonly_paths[] = {"/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
					     "/proc/sysrq-trigger", NULL};

json_t *berth_oci_default_masked_paths(void) { return strv_json(masked_paths); }
json_t *berth_oci_default_readonly_paths(void) { return strv_json(readonly_paths); }

/* Effective command: docker's merge() of image config into the container's
 * plus getEntrypointAndArgs. */
static json_t *build_args(const struct berth_spec_input *in, struct berth_error *err)
{
	const json_t *cfg = in->config, *img = in->image_config;
	const json_t *ep = jget(cfg, "Entrypoint"), *cmd = jarr(cfg, "Cmd");
	/* CLI --entrypoint "" sends [""]: an explicit empty entrypoint */
	bool ep_reset = jarr_len(ep) == 1 && jarr_str(ep, 0) && !*jarr_str(ep, 0);
	if (ep_reset)
		ep = NULL;
	else if (!nonempty(ep)) {
		if (!nonempty(cmd))
			cmd = jarr(img, "Cmd");
		if (!json_is_array(ep))
			ep = jarr(img, "Entrypoint");
	}
	json_t *args = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ep, i, v) {
		if (json_is_string(v))
			json_array_append(args, v);
	}
	json_array_foreach(cmd, i, v) {
		if (json_is_string(v))
			json_array_append(args, v);
	}
	if (!json_array_size(args)) {
		json_decref(args);
		berth_err(err, BERTH_E_INVALID, "No command specified");
		return NULL;
	}
	return args;
}

static int seccomp_setup(json_t *linux_obj, const struct berth_spec_input *in, const struct secopts *so,
			 bool privileged, berth_capset bounding, struct berth_error *err)
{
	if (so->seccomp && !strcmp(so->seccomp, "unconfined"))
		return 0;
	if (privileged)
		return 0;
	if (!in->sysinfo->seccomp) {
		if (so->seccomp)
			return berth_err(err, BERTH_E_INVALID,
					 "seccomp is not enabled in your kernel, cannot run a custom seccomp profile");
		spec_warn(in, "seccomp is not enabled in your kernel, running container without default profile");
		return 0;
	}
	json_t *sc;
	struct berth_error e = {0};
	if (so->seccomp) {
		sc = berth_seccomp_load(so->seccomp, bounding, in->sysinfo, &e);
	} else if (in->default_seccomp_profile) {
		sc = berth_seccomp_load(in->default_seccomp_profile, bounding, in->sysinfo, &e);
	} else {
		sc = berth_seccomp_default_oci(in->seccomp_memo, bounding, in->sysinfo, &e);
	}
	if (!sc && e.kind != BERTH_E_NONE) {
		*err = e;
		return -1;
	}
	if (sc)
		json_object_set_new(linux_obj, "seccomp", sc);
	return 0;
}

json_t *berth_oci_spec_build(const struct berth_spec_input *in, struct berth_error *err)
{
	if (!in || !in->id || !in->rootfs || !in->sysinfo) {
		berth_err(err, BERTH_E_INTERNAL, "spec: id, rootfs and sysinfo are required");
		return NULL;
	}
	const json_t *cfg = in->config, *img = in->image_config;
	/* Resources are checked and defaulted on a copy, as docker does at create. */
	cleanup_json json_t *hc = json_is_object(in->host_config) ? json_deep_copy(in->host_config) : json_object();
	if (berth_resources_verify(hc, in->sysinfo, false, in->warnings, err) < 0)
		return NULL;
	struct berth_spec_input inx = *in;
	inx.host_config = hc;
	in = &inx;

	bool privileged = jbool(hc, "Privileged", false);
	bool readonly = jbool(hc, "ReadonlyRootfs", false);
	bool tty = jbool(cfg, "Tty", false);
	const char *ipc_mode = jstr(hc, "IpcMode") ? jstr(hc, "IpcMode") : "";

	struct secopts so __attribute__((cleanup(secopts_free))) = {0};
	if (parse_security_opts(in, jarr(hc, "SecurityOpt"), &so, err) < 0)
		return NULL;
	if (so.apparmor && strcmp(so.apparmor, "unconfined") && !in->sysinfo->apparmor) {
		berth_err(err, BERTH_E_INVALID,
			  "AppArmor is not enabled on this host: cannot apply apparmor profile \"%s\"", so.apparmor);
		return NULL;
	}

	cleanup_json json_t *spec = json_object();
	json_object_set_new(spec, "ociVersion", json_string("1.0.2-dev"));

	/* process */
	json_t *args = build_args(in, err);
	if (!args)
		return NULL;
	json_t *proc = json_object();
	json_object_set_new(spec, "process", proc);
	if (tty)
		json_object_set_new(proc, "terminal", json_true());

	/* user */
	const char *user = jstr_ne(cfg, "User") ? jstr_ne(cfg, "User") : jstr_ne(img, "User");
	const char *view = in->rootfs_view ? in->rootfs_view : in->rootfs;
	struct berth_user u;
	if (in->validate_only) {
		memset(&u, 0, sizeof(u));
	} else if (berth_user_resolve(view, user, jarr(hc, "GroupAdd"), &u, err) < 0) {
		json_decref(args);
		return NULL;
	}
	json_object_set_new(proc, "user", user_json(&u));
	uint32_t uid = u.uid;
	berth_user_free(&u);

	/* --init (only with a private pid namespace) */
	const json_t *init = jget(hc, "Init");
	bool want_init = json_is_boolean(init) ? json_is_true(init) : in->init_default;
	const char *pid_mode = jstr(hc, "PidMode");
	cleanup_free char *init_path = NULL;
	if (want_init && !mode_is(pid_mode, "host") && !mode_container(pid_mode)) {
		init_path = in->init_path ? strdup(in->init_path) : find_in_path("docker-init");
		if (!init_path)
			init_path = find_in_path("tini-static");
		if (!init_path) {
			json_decref(args);
			berth_err(err, BERTH_E_INVALID, "exec: \"docker-init\": executable file not found in $PATH");
			return NULL;
		}
		json_array_insert_new(args, 0, json_string("--"));
		json_array_insert_new(args, 0, json_string(INIT_IN_CONTAINER));
	}
	json_object_set_new(proc, "args", args);

	/* hostname + env */
	char hostname[256] = "";
	if (jstr_ne(cfg, "Hostname"))
		snprintf(hostname, sizeof(hostname), "%s", jstr(cfg, "Hostname"));
	else if (in->netns_path && !strcmp(in->netns_path, "host"))
		gethostname(hostname, sizeof(hostname) - 1);
	else
		snprintf(hostname, sizeof(hostname), "%.12s", in->id);
	cleanup_json json_t *denv = json_array();
	json_array_append_new(denv, json_string(DEFAULT_PATH_ENV));
	json_array_append_new(denv, json_sprintf("HOSTNAME=%s", hostname));
	if (tty)
		json_array_append_new(denv, json_string("TERM=xterm"));
	/* container env = image env merged under the container's (docker merge()) */
	cleanup_json json_t *cenv = json_array();
	const json_t *uenv = jarr(cfg, "Env");
	size_t i;
	json_t *v;
	json_array_foreach(uenv, i, v)
		json_array_append(cenv, v);
	json_array_foreach(jarr(img, "Env"), i, v) {
		const char *ie = json_string_value(v);
		if (!ie)
			continue;
		size_t kl = strcspn(ie, "=");
		bool found = false;
		size_t k;
		json_t *w;
		json_array_foreach(uenv, k, w) {
			const char *ue = json_string_value(w);
			if (ue && strcspn(ue, "=") == kl && !strncmp(ue, ie, kl))
				found = true;
		}
		if (!found)
			json_array_append(cenv, v);
	}
	json_object_set_new(proc, "env", berth_env_merge(denv, cenv));

	/* cwd */
	const char *wd = jstr_ne(cfg, "WorkingDir") ? jstr_ne(cfg, "WorkingDir") : jstr_ne(img, "WorkingDir");
	if (wd && wd[0] != '/') {
		berth_err(err, BERTH_E_INVALID,
			  "the working directory '%s' is invalid, it needs to be an absolute path", wd);
		return NULL;
	}
	if (!in->validate_only && wd && strcmp(wd, "/") && mkdir_in_root(view, wd, in->idmap, err) < 0)
		return NULL;
	json_object_set_new(proc, "cwd", json_string(wd ? wd : "/"));

	/* capabilities */
	berth_capset caps;
	if (berth_caps_tweak(jarr(hc, "CapAdd"), jarr(hc, "CapDrop"), privileged, in->sysinfo->cap_last_cap,
			     in->sysinfo->cap_bound, &caps, err) < 0)
		return NULL;
	/* docker lists the default set in its own order; privileged/ALL in number order */
	bool all_order = privileged;
	json_array_foreach(jarr(hc, "CapAdd"), i, v)
		all_order |= json_is_string(v) && !strcasecmp(json_string_value(v), "ALL");
	json_object_set_new(proc, "capabilities", caps_json(caps, uid, all_order));

	json_t *rl = build_rlimits(in, err);
	if (!rl)
		return NULL;
	if (json_array_size(rl))
		json_object_set_new(proc, "rlimits", rl);
	else
		json_decref(rl);
	if (so.no_new_privs)
		json_object_set_new(proc, "noNewPrivileges", json_true());
	json_object_set_new(proc, "oomScoreAdj", json_integer(jint(hc, "OomScoreAdj", 0)));
	if (in->sysinfo->apparmor) {
		const char *prof = so.apparmor ? so.apparmor : privileged ? "unconfined" : BERTH_APPARMOR_DEFAULT;
		json_object_set_new(proc, "apparmorProfile", json_string(prof));
	}

	/* root */
	json_object_set_new(spec, "root", json_pack("{s:s}", "path", in->rootfs));
	if (readonly)
		json_object_set_new(json_object_get(spec, "root"), "readonly", json_true());
	if (!mode_is(jstr(hc, "UTSMode"), "host"))
		json_object_set_new(spec, "hostname", json_string(hostname));

	/* linux */
	json_t *lx = json_object();
	json_object_set_new(spec, "linux", lx);
	json_t *sysctl = json_object();
	json_object_set_new(lx, "sysctl", sysctl);
	if (jstr_ne(cfg, "Domainname"))
		json_object_set_new(sysctl, "kernel.domainname", json_string(jstr(cfg, "Domainname")));
	const char *netmode = jstr_ne(hc, "NetworkMode");
	bool net_private = !(netmode && (!strcmp(netmode, "host") || mode_container(netmode))) &&
			   !(in->netns_path && !strcmp(in->netns_path, "host"));
	if (net_private) {
		if (in->sysinfo->sysctl_ping_group_range)
			json_object_set_new(sysctl, "net.ipv4.ping_group_range", json_string("0 2147483647"));
		if (in->sysinfo->sysctl_unprivileged_port_start)
			json_object_set_new(sysctl, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
	}
	const char *key;
	json_object_foreach(jobj(hc, "Sysctls"), key, v) {
		if (json_is_string(v))
			json_object_set(sysctl, key, v);
	}
	if (!json_object_size(sysctl))
		json_object_del(lx, "sysctl");

	json_t *res = json_object();
	json_object_set_new(lx, "resources", res);
	if (spec_devices(lx, res, in, privileged, err) < 0)
		return NULL;
	if (spec_resources(res, hc, err) < 0)
		return NULL;
	if (!json_array_size(json_object_get(lx, "devices")))
		json_object_del(lx, "devices");
	if (in->cgroup_path)
		json_object_set_new(lx, "cgroupsPath", json_string(in->cgroup_path));
	if (build_namespaces(lx, in, ipc_mode, err) < 0)
		return NULL;

	if (!privileged) {
		const json_t *mp = jget(hc, "MaskedPaths"), *rp = jget(hc, "ReadonlyPaths");
		json_object_set_new(lx, "maskedPaths",
				    json_is_array(mp) ? json_deep_copy(mp) : strv_json(masked_paths));
		json_object_set_new(lx, "readonlyPaths",
				    json_is_array(rp) ? json_deep_copy(rp) : strv_json(readonly_paths));
	}
	if (seccomp_setup(lx, in, &so, privileged, caps, err) < 0)
		return NULL;

	/* mounts */
	if (spec_mounts(spec, in, readonly, privileged, ipc_mode, err) < 0)
		return NULL;
	if (init_path) {
		json_t *m = spec_mount(INIT_IN_CONTAINER, "bind", init_path, json_pack("[s,s]", "bind", "ro"));
		/* docker adds it with the defaults, before the user's mounts */
		json_t *mounts = jarr(spec, "mounts");
		size_t at = 0;
		json_array_foreach(mounts, i, v) {
			const char *d = jstr(v, "destination");
			if (d && (!strcmp(d, "/proc") || !strncmp(d, "/dev", 4) || !strncmp(d, "/sys", 4)))
				at = i + 1;
		}
		json_array_insert_new(mounts, at, m);
	}
	if (spec_userns(spec, in, err) < 0)
		return NULL;
	return steal_ptr(spec);
}

int berth_oci_bundle_write(const char *bundle_dir, const json_t *spec, struct berth_error *err)
{
	if (berth_mkdir_p(bundle_dir, 0711, err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
	cleanup_free char *path = berth_strdup_printf("%s/config.json", bundle_dir);
	if (!text || !path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	return berth_write_file_replace(path, text, strlen(text), 0600, err);
}

json_t *berth_oci_exec_process_build(const json_t *container_spec, const json_t *exec_config, const char *rootfs,
				     const struct berth_sysinfo *si, struct berth_error *err)
{
	const json_t *cproc = jobj(container_spec, "process");
	if (!cproc) {
		berth_err(err, BERTH_E_INTERNAL, "container spec has no process");
		return NULL;
	}
	const json_t *cmd = jarr(exec_config, "Cmd");
	if (!jarr_len(cmd)) {
		berth_err(err, BERTH_E_INVALID, "No exec command specified");
		return NULL;
	}
	cleanup_json json_t *p = json_deep_copy(cproc);
	json_object_set_new(p, "args", json_deep_copy(cmd));
	bool tty = jbool(exec_config, "Tty", false);
	json_object_set_new(p, "terminal", json_boolean(tty));
	json_object_del(p, "consoleSize");
	/* env: container's process env, then the exec's (docker: ReplaceOrAppendEnvValues) */
	cleanup_json json_t *base = jarr(cproc, "env") ? json_deep_copy(jarr(cproc, "env")) : json_array();
	if (tty) {
		cleanup_json json_t *t = json_pack("[s]", "TERM=xterm");
		json_t *m = berth_env_merge(base, t);
		json_decref(base);
		base = m;
	}
	json_object_set_new(p, "env", berth_env_merge(base, jarr(exec_config, "Env")));
	if (jstr_ne(exec_config, "WorkingDir"))
		json_object_set_new(p, "cwd", json_string(jstr(exec_config, "WorkingDir")));
	if (jstr_ne(exec_config, "User")) {
		struct berth_user u;
		if (berth_user_resolve(rootfs, jstr(exec_config, "User"), NULL, &u, err) < 0)
			return NULL;
		json_object_set_new(p, "user", user_json(&u));
		berth_user_free(&u);
	}
	if (jbool(exec_config, "Privileged", false)) {
		berth_capset all;
		berth_caps_tweak(NULL, NULL, true, si ? si->cap_last_cap : 40, si ? si->cap_bound : 0, &all, err);
		json_object_set_new(p, "capabilities",
				    json_pack("{s:o, s:o, s:o}", "bounding", berth_caps_to_json(all, false),
					      "permitted", berth_caps_to_json(all, false), "effective",
					      berth_caps_to_json(all, false)));
	}
	return steal_ptr(p);
}
