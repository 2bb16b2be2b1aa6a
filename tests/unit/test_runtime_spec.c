/* OCI spec building: docker's defaults, capabilities, privileged,
 * read-only, user resolution from a fake rootfs, seccomp, resources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "runtime/user.h"
#include "tap.h"

static char root[256], evil[256];
static struct berth_sysinfo si;

static void put(const char *dir, const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "bad test json: %s: %s\n", text, e.text);
	return j;
}

/* Build with a container config and host config given as JSON text. */
static struct berth_seccomp_memo *memo; /* test_seccomp_memo: specs built with one */

static json_t *build(const char *cfg, const char *hc, struct berth_error *err)
{
	cleanup_json json_t *c = J(cfg), *h = J(hc ? hc : "{}");
	cleanup_json json_t *img = J("{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"PATH=/usr/bin:/bin\",\"IMG=1\"]}");
	struct berth_spec_input in = {
		.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.config = c,
		.host_config = h,
		.image_config = img,
		.rootfs = root,
		.hosts_path = "/tmp/hosts",
		.hostname_path = "/tmp/hostname",
		.resolv_conf_path = "/tmp/resolv.conf",
		.cgroup_path = "/berth/0123",
		.sysinfo = &si,
		.seccomp_memo = memo,
	};
	berth_err_clear(err);
	return berth_oci_spec_build(&in, err);
}

static json_t *path(json_t *j, const char *p)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", p);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, (size_t)atoi(k));
		else
			j = json_object_get(j, k);
	}
	return j;
}

static const char *pstr(json_t *j, const char *p) { return json_string_value(path(j, p)); }
static long long pint(json_t *j, const char *p) { return json_integer_value(path(j, p)); }

static bool arr_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

static json_t *mount_at(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		if (!strcmp(pstr(m, "destination"), dest))
			return m;
	}
	return NULL;
}

static char *joined(json_t *a)
{
	struct berth_buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v))
			berth_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(v));
		else
			berth_buf_printf(&b, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
	}
	return berth_buf_steal(&b);
}

static void test_defaults(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *s = build("{\"Cmd\":[\"echo\",\"hi\"]}", NULL, &err);
	TAP_OK(t, s != NULL, "default spec builds (%s)", err.msg);
	if (!s)
		return;
	cleanup_free char *args = joined(path(s, "process.args"));
	TAP_STREQ(t, args, "echo,hi", "args from Cmd");
	cleanup_free char *env = joined(path(s, "process.env"));
	TAP_STREQ(t, env, "PATH=/usr/bin:/bin,HOSTNAME=0123456789ab,IMG=1",
		  "env: image PATH replaces default, HOSTNAME, image env");
	TAP_STREQ(t, pstr(s, "hostname"), "0123456789ab", "hostname defaults to short id");
	TAP_STREQ(t, pstr(s, "process.cwd"), "/", "cwd /");
	TAP_OK(t, pint(s, "process.user.uid") == 0 && pint(s, "process.user.gid") == 0, "root user");
	cleanup_free char *gids = joined(path(s, "process.user.additionalGids"));
	TAP_STREQ(t, gids, "0,10", "root's groups (primary + wheel)");
	cleanup_free char *caps = joined(path(s, "process.capabilities.bounding"));
	TAP_STREQ(t, caps,
		  "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID,CAP_SETUID,"
		  "CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,CAP_KILL,CAP_AUDIT_WRITE",
		  "docker's 14 default capabilities, in docker's order");
	TAP_OK(t, json_array_size(path(s, "process.capabilities.effective")) == 14, "root: effective = bounding");
	TAP_OK(t, path(s, "process.capabilities.inheritable") == NULL, "no inheritable set");
	TAP_OK(t, path(s, "process.rlimits") == NULL, "no rlimits by default");
	TAP_OK(t, !json_is_true(path(s, "process.noNewPrivileges")), "no-new-privileges off");
	TAP_OK(t, path(s, "root.readonly") == NULL && path(s, "process.terminal") == NULL,
	       "rootfs rw, no terminal (omitted like docker)");
	TAP_STREQ(t, pstr(s, "root.path"), root, "root path");
	cleanup_free char *ns = NULL;
	{
		struct berth_buf b = {0};
		size_t i;
		json_t *n;
		json_array_foreach(path(s, "linux.namespaces"), i, n)
			berth_buf_printf(&b, "%s%s", i ? "," : "", pstr(n, "type"));
		ns = berth_buf_steal(&b);
	}
	TAP_STREQ(t, ns, "mount,network,uts,pid,ipc", "namespaces (no cgroupns on cgroup v1)");
	TAP_OK(t,
	       json_array_size(path(s, "linux.maskedPaths")) == 10 &&
		       arr_has(path(s, "linux.maskedPaths"), "/proc/kcore") &&
		       arr_has(path(s, "linux.maskedPaths"), "/sys/firmware"),
	       "10 masked paths");
	TAP_OK(t,
	       json_array_size(path(s, "linux.readonlyPaths")) == 5 &&
		       arr_has(path(s, "linux.readonlyPaths"), "/proc/sys"),
	       "5 read-only paths");
	struct berth_buf mb = {0};
	size_t i;
	json_t *m;
	json_array_foreach(path(s, "mounts"), i, m)
		berth_buf_printf(&mb, "%s%s", i ? "," : "", pstr(m, "destination"));
	TAP_STREQ(
		t, berth_buf_str(&mb),
		"/proc,/dev,/dev/pts,/sys,/sys/fs/cgroup,/dev/mqueue,/dev/shm,/etc/resolv.conf,/etc/hostname,/etc/hosts",
		"mount order: defaults, then network files");
	berth_buf_free(&mb);
	cleanup_free char *shm = joined(path(mount_at(s, "/dev/shm"), "options"));
	TAP_STREQ(t, shm, "nosuid,noexec,nodev,mode=1777,size=67108864", "/dev/shm 64m");
	cleanup_free char *pts = joined(path(mount_at(s, "/dev/pts"), "options"));
	TAP_STREQ(t, pts, "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5", "/dev/pts options");
	cleanup_free char *hosts = joined(path(mount_at(s, "/etc/hosts"), "options"));
	TAP_STREQ(t, hosts, "rbind,rprivate", "/etc/hosts bind rw");
	TAP_STREQ(t, json_string_value(json_object_get(path(s, "linux.sysctl"), "net.ipv4.ping_group_range")),
		  "0 2147483647", "ping group range sysctl");
	TAP_STREQ(t, json_string_value(json_object_get(path(s, "linux.sysctl"), "net.ipv4.ip_unprivileged_port_start")),
		  "0", "unprivileged ports sysctl");
	TAP_OK(t, json_array_size(path(s, "linux.resources.devices")) == 8, "8 device cgroup rules");
	TAP_OK(t,
	       json_is_false(path(s, "linux.resources.devices.0.allow")) &&
		       !strcmp(pstr(s, "linux.resources.devices.0.access"), "rwm"),
	       "deny all first");
	TAP_OK(t, path(s, "linux.devices") == NULL, "no extra device nodes");
	TAP_OK(t, pint(s, "linux.resources.cpu.shares") == 0 && pint(s, "linux.resources.blockIO.weight") == 0,
	       "cpu shares and blkio weight 0 written like docker");
	TAP_STREQ(t, pstr(s, "linux.cgroupsPath"), "/berth/0123", "cgroups path");
	TAP_STREQ(t, pstr(s, "linux.seccomp.defaultAction"), "SCMP_ACT_ERRNO", "seccomp default profile");
	cleanup_free char *arch = joined(path(s, "linux.seccomp.architectures"));
	TAP_STREQ(t, arch, "SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32", "seccomp arches for amd64");
	TAP_OK(t, pint(s, "process.oomScoreAdj") == 0, "oomScoreAdj 0");
}

static void test_cmd_merge(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *a = build("{}", NULL, &err);
	cleanup_free char *aa = joined(path(a, "process.args"));
	TAP_STREQ(t, aa, "/bin/sh", "image Cmd used when none given");
	cleanup_json json_t *b = build("{\"Entrypoint\":[\"/bin/echo\"]}", NULL, &err);
	cleanup_free char *ba = joined(path(b, "process.args"));
	TAP_STREQ(t, ba, "/bin/echo", "Entrypoint given: image Cmd not appended");
	cleanup_json json_t *c = build("{\"Entrypoint\":[\"\"],\"Cmd\":[\"ls\"]}", NULL, &err);
	cleanup_free char *ca = joined(path(c, "process.args"));
	TAP_STREQ(t, ca, "ls", "--entrypoint \"\" resets");
	cleanup_json json_t *d = build(
		"{\"Cmd\":[\"x\"],\"Env\":[\"IMG\",\"A=1\",\"HOSTNAME=h\"],\"Tty\":true,\"Hostname\":\"box\",\"WorkingDir\":\"/work/dir\"}",
		NULL, &err);
	TAP_OK(t, d != NULL, "tty config builds (%s)", err.msg);
	cleanup_free char *de = joined(path(d, "process.env"));
	TAP_STREQ(t, de, "PATH=/usr/bin:/bin,HOSTNAME=h,TERM=xterm,A=1",
		  "env: unset IMG, override HOSTNAME, TERM for tty");
	TAP_STREQ(t, pstr(d, "hostname"), "box", "hostname from config");
	TAP_STREQ(t, pstr(d, "process.cwd"), "/work/dir", "working dir");
	char wd[512];
	snprintf(wd, sizeof(wd), "%s/work/dir", root);
	struct stat st;
	TAP_OK(t, stat(wd, &st) == 0 && S_ISDIR(st.st_mode), "working dir created in rootfs");
	TAP_OK(t, json_is_true(path(d, "process.terminal")), "terminal");
	cleanup_json json_t *e = build("{\"Cmd\":[\"x\"],\"WorkingDir\":\"rel\"}", NULL, &err);
	TAP_OK(t, !e && err.kind == BERTH_E_INVALID, "relative working dir refused: %s", err.msg);
	cleanup_json json_t *img0 = NULL;
	cleanup_json json_t *cfg = J("{\"Cmd\":[]}"), *hc = J("{}");
	struct berth_spec_input in = {.id = "abc", .config = cfg, .host_config = hc, .rootfs = root, .sysinfo = &si};
	cleanup_json json_t *f = berth_oci_spec_build(&in, &err);
	TAP_STREQ(t, f ? "built" : err.msg, "No command specified", "no command");
	(void)img0;
}

static void test_caps(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *a =
		build("{\"Cmd\":[\"x\"]}",
		      "{\"CapAdd\":[\"NET_ADMIN\",\"cap_sys_time\"],\"CapDrop\":[\"CHOWN\",\"MKNOD\"]}", &err);
	json_t *bs = path(a, "process.capabilities.bounding");
	TAP_OK(t,
	       a && arr_has(bs, "CAP_NET_ADMIN") && arr_has(bs, "CAP_SYS_TIME") && !arr_has(bs, "CAP_CHOWN") &&
		       !arr_has(bs, "CAP_MKNOD") && json_array_size(bs) == 14,
	       "cap-add/cap-drop");
	cleanup_json json_t *b = build("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"ALL\"],\"CapDrop\":[\"MKNOD\"]}", &err);
	TAP_OK(t,
	       b && json_array_size(path(b, "process.capabilities.bounding")) == 40 &&
		       !arr_has(path(b, "process.capabilities.bounding"), "CAP_MKNOD"),
	       "cap-add ALL minus MKNOD");
	cleanup_json json_t *c = build("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"CHOWN\"],\"CapDrop\":[\"all\"]}", &err);
	cleanup_free char *cc = joined(path(c, "process.capabilities.bounding"));
	TAP_STREQ(t, cc, "CAP_CHOWN", "cap-drop ALL + cap-add CHOWN");
	cleanup_json json_t *d = build("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"FOO\"]}", &err);
	TAP_OK(t, !d && err.kind == BERTH_E_INVALID, "unknown capability refused");
	TAP_STREQ(t, err.msg, "unknown capability: \"CAP_FOO\"", "docker's message");
	/* seccomp conditional rules follow the capability set */
	cleanup_json json_t *e = build("{\"Cmd\":[\"x\"]}", "{\"CapAdd\":[\"SYS_ADMIN\"]}", &err);
	bool mount_allowed = false, clone_masked = false;
	size_t i;
	json_t *r;
	json_array_foreach(path(e, "linux.seccomp.syscalls"), i, r) {
		mount_allowed |= arr_has(path(r, "names"), "mount");
		clone_masked |= arr_has(path(r, "names"), "clone") && path(r, "args") != NULL;
	}
	TAP_OK(t, mount_allowed && !clone_masked, "CAP_SYS_ADMIN: mount allowed, clone unrestricted");
	cleanup_json json_t *f = build("{\"Cmd\":[\"x\"]}", NULL, &err);
	mount_allowed = clone_masked = false;
	bool clone3_enosys = false, personality = false;
	json_array_foreach(path(f, "linux.seccomp.syscalls"), i, r) {
		mount_allowed |= arr_has(path(r, "names"), "mount");
		if (arr_has(path(r, "names"), "clone") && path(r, "args")) {
			clone_masked = pint(r, "args.0.value") == 2114060288 &&
				       !strcmp(pstr(r, "args.0.op"), "SCMP_CMP_MASKED_EQ");
		}
		clone3_enosys |= arr_has(path(r, "names"), "clone3") && pint(r, "errnoRet") == 38;
		personality |= arr_has(path(r, "names"), "personality") && pint(r, "args.0.value") == 0xffffffffLL;
	}
	TAP_OK(t, !mount_allowed && clone_masked && clone3_enosys && personality,
	       "default: no mount, clone namespace-flag check, clone3 ENOSYS, personality query");
}

static void test_privileged_readonly(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *p = build("{\"Cmd\":[\"x\"]}", "{\"Privileged\":true}", &err);
	TAP_OK(t, p != NULL, "privileged builds (%s)", err.msg);
	TAP_OK(t, json_array_size(path(p, "process.capabilities.bounding")) == 41, "privileged: every capability");
	si.cap_bound &= ~(1ULL << 24);
	cleanup_json json_t *p2 = build("{\"Cmd\":[\"x\"]}", "{\"Privileged\":true}", &err);
	TAP_OK(t,
	       json_array_size(path(p2, "process.capabilities.bounding")) == 40 &&
		       !arr_has(path(p2, "process.capabilities.bounding"), "CAP_SYS_RESOURCE"),
	       "privileged: only what the daemon itself has");
	si.cap_bound = ~0ULL;
	TAP_OK(t, path(p, "linux.seccomp") == NULL, "privileged: no seccomp");
	TAP_OK(t, path(p, "linux.maskedPaths") == NULL && path(p, "linux.readonlyPaths") == NULL,
	       "privileged: no masked/ro paths");
	cleanup_free char *sys = joined(path(mount_at(p, "/sys"), "options"));
	TAP_STREQ(t, sys, "nosuid,noexec,nodev", "privileged: /sys rw");
	cleanup_free char *cg = joined(path(mount_at(p, "/sys/fs/cgroup"), "options"));
	TAP_STREQ(t, cg, "nosuid,noexec,nodev", "privileged: cgroup rw");
	TAP_OK(t,
	       json_array_size(path(p, "linux.resources.devices")) == 1 &&
		       json_is_true(path(p, "linux.resources.devices.0.allow")),
	       "privileged: all devices allowed");
	TAP_OK(t, json_array_size(path(p, "linux.devices")) > 3, "privileged: host devices listed");

	cleanup_json json_t *r = build(
		"{\"Cmd\":[\"x\"]}",
		"{\"ReadonlyRootfs\":true,\"Binds\":[\"/tmp:/data\"],\"Tmpfs\":{\"/run\":\"size=1m,exec\"}}", &err);
	TAP_OK(t, r && json_is_true(path(r, "root.readonly")), "read-only rootfs");
	cleanup_free char *hosts = joined(path(mount_at(r, "/etc/hosts"), "options"));
	TAP_STREQ(t, hosts, "rbind,ro,rprivate", "read-only: network files ro");
	cleanup_free char *mq = joined(path(mount_at(r, "/dev/mqueue"), "options"));
	TAP_STREQ(t, mq, "nosuid,noexec,nodev", "read-only: /dev/mqueue stays rw");
	cleanup_free char *data = joined(path(mount_at(r, "/data"), "options"));
	TAP_STREQ(t, data, "rbind,rprivate", "user bind keeps its own mode");
	cleanup_free char *run = joined(path(mount_at(r, "/run"), "options"));
	TAP_STREQ(t, run, "nosuid,nodev,rprivate,size=1m,exec", "tmpfs options merged like docker");
	cleanup_json json_t *q =
		build("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"/tmp:/data:rw,shared\",\"/tmp:/data\"]}", &err);
	TAP_OK(t, !q && strstr(err.msg, "Duplicate mount point"), "duplicate mount point refused");
	cleanup_json json_t *q2 = build("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"/tmp:/data:bogus\"]}", &err);
	TAP_STREQ(t, q2 ? "built" : err.msg, "invalid mode: bogus", "bad bind mode");
	cleanup_json json_t *q3 = build("{\"Cmd\":[\"x\"]}", "{\"Binds\":[\"vol:/data\"]}", &err);
	TAP_OK(t, !q3 && err.kind == BERTH_E_UNSUPPORTED, "named volume without a resolver");
}

static void test_users(struct tap *t)
{
	struct berth_user u;
	struct berth_error err;
	TAP_OK(t,
	       berth_user_resolve(root, "alice", NULL, &u, &err) == 0 && u.uid == 1000 && u.gid == 1000 &&
		       u.ngids == 3 && u.gids[0] == 1000 && u.gids[1] == 10 && u.gids[2] == 29,
	       "alice: uid/gid + supplementary groups");
	TAP_STREQ(t, u.home, "/home/alice", "home");
	berth_user_free(&u);
	TAP_OK(t,
	       berth_user_resolve(root, "alice:audio", NULL, &u, &err) == 0 && u.uid == 1000 && u.gid == 29 &&
		       u.ngids == 1,
	       "alice:audio: explicit group, no supplementary");
	berth_user_free(&u);
	TAP_OK(t,
	       berth_user_resolve(root, "1000", NULL, &u, &err) == 0 && u.uid == 1000 && u.gid == 1000 && u.ngids == 3,
	       "numeric uid found in passwd");
	berth_user_free(&u);
	TAP_OK(t, berth_user_resolve(root, "4321:8765", NULL, &u, &err) == 0 && u.uid == 4321 && u.gid == 8765,
	       "unknown numeric uid:gid used as is");
	berth_user_free(&u);
	TAP_OK(t, berth_user_resolve(root, "4321", NULL, &u, &err) == 0 && u.uid == 4321 && u.gid == 0,
	       "numeric uid, gid 0");
	berth_user_free(&u);
	TAP_OK(t, berth_user_resolve(root, "bob", NULL, &u, &err) < 0, "unknown user");
	TAP_STREQ(t, err.msg, "unable to find user bob: no matching entries in passwd file", "runc's message");
	TAP_OK(t, berth_user_resolve(root, "alice:nogroup", NULL, &u, &err) < 0, "unknown group");
	TAP_STREQ(t, err.msg, "unable to find group nogroup: no matching entries in group file", "group message");
	cleanup_json json_t *bad = J("[\"video\"]");
	TAP_OK(t, berth_user_resolve(root, "", bad, &u, &err) < 0, "unknown GroupAdd");
	TAP_STREQ(t, err.msg, "Unable to find group video: no matching entries in group file",
		  "docker's GroupAdd message");
	cleanup_json json_t *ga = J("[\"audio\",\"777\"]");
	TAP_OK(t,
	       berth_user_resolve(root, "", ga, &u, &err) == 0 && u.uid == 0 && u.ngids == 4 && u.gids[2] == 29 &&
		       u.gids[3] == 777,
	       "root + GroupAdd");
	berth_user_free(&u);
	/* a rootfs whose /etc is a symlink pointing out of it: resolved inside */
	TAP_OK(t, berth_user_resolve(evil, "inside", NULL, &u, &err) == 0 && u.uid == 4242,
	       "symlinked /etc resolved inside the rootfs");
	berth_user_free(&u);
	TAP_OK(t, berth_user_resolve(evil, "root", NULL, &u, &err) < 0, "host /etc/passwd never read");
	struct berth_error e2;
	cleanup_json json_t *s = build("{\"Cmd\":[\"x\"],\"User\":\"alice\"}", NULL, &e2);
	TAP_OK(t,
	       s && pint(s, "process.user.uid") == 1000 && path(s, "process.capabilities.effective") == NULL &&
		       json_array_size(path(s, "process.capabilities.bounding")) == 14,
	       "non-root: bounding only");
}

static void test_security_opts(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *a =
		build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"seccomp=unconfined\",\"no-new-privileges\"]}", &err);
	TAP_OK(t, a && path(a, "linux.seccomp") == NULL, "seccomp=unconfined");
	TAP_OK(t, json_is_true(path(a, "process.noNewPrivileges")), "no-new-privileges");
	cleanup_json json_t *b = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"apparmor=docker-default\"]}", &err);
	TAP_OK(t, !b && err.kind == BERTH_E_INVALID && strstr(err.msg, "AppArmor is not enabled"),
	       "apparmor without AppArmor: %s", err.msg);
	/* with AppArmor: berth-default unless privileged or named */
	si.apparmor = true;
	cleanup_json json_t *aa1 = build("{\"Cmd\":[\"x\"]}", NULL, &err);
	cleanup_json json_t *aa2 = build("{\"Cmd\":[\"x\"]}", "{\"Privileged\":true}", &err);
	cleanup_json json_t *aa3 = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"apparmor=mine\"]}", &err);
	si.apparmor = false;
	TAP_STREQ(t, aa1 ? pstr(aa1, "process.apparmorProfile") : err.msg, "berth-default",
		  "default AppArmor profile is berth-default");
	TAP_STREQ(t, aa2 ? pstr(aa2, "process.apparmorProfile") : "?", "unconfined", "privileged runs unconfined");
	TAP_STREQ(t, aa3 ? pstr(aa3, "process.apparmorProfile") : "?", "mine", "explicit AppArmor profile");
	cleanup_json json_t *c = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"foo=bar\"]}", &err);
	TAP_STREQ(t, c ? "built" : err.msg, "invalid --security-opt 2: \"foo=bar\"", "unknown security opt");
	cleanup_json json_t *d = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"nonsense\"]}", &err);
	TAP_STREQ(t, d ? "built" : err.msg, "invalid --security-opt 1: \"nonsense\"", "malformed security opt");
	cleanup_json json_t *e = build(
		"{\"Cmd\":[\"x\"]}",
		"{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{\\\"names\\\":[\\\"chmod\\\"],\\\"action\\\":\\\"SCMP_ACT_ERRNO\\\"}]}\"]}",
		&err);
	TAP_OK(t,
	       e && !strcmp(pstr(e, "linux.seccomp.defaultAction"), "SCMP_ACT_ALLOW") &&
		       !strcmp(pstr(e, "linux.seccomp.syscalls.0.names.0"), "chmod"),
	       "inline seccomp profile (%s)", err.msg);
	cleanup_json json_t *f = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"seccomp={bad\"]}", &err);
	TAP_OK(t, !f && berth_str_has_prefix(err.msg, "Decoding seccomp profile failed"), "bad seccomp profile: %s",
	       err.msg);
	/* the profile travels in the request (the CLI reads the file): a daemon
	 * never opens a host path named by a request */
	cleanup_json json_t *g = build(
		"{\"Cmd\":[\"x\"]}",
		"{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ERRNO\\\",\\\"architectures\\\":[\\\"SCMP_ARCH_X86_64\\\"],"
		"\\\"syscalls\\\":[{\\\"name\\\":\\\"read\\\",\\\"action\\\":\\\"SCMP_ACT_ALLOW\\\"}]}\"]}",
		&err);
	TAP_OK(t,
	       g && !strcmp(pstr(g, "linux.seccomp.syscalls.0.names.0"), "read") &&
		       !strcmp(pstr(g, "linux.seccomp.architectures.0"), "SCMP_ARCH_X86_64"),
	       "seccomp profile, legacy name/architectures (%s)", err.msg);
	cleanup_json json_t *h = build("{\"Cmd\":[\"x\"]}", "{\"SecurityOpt\":[\"seccomp=/etc/passwd\"]}", &err);
	TAP_OK(t, !h && strstr(err.msg, "Decoding seccomp profile failed: invalid character '/'"),
	       "a path is not opened by the daemon: %s", err.msg);
	/* the default profile converts like docker's default.json */
	cleanup_json json_t *dp = berth_seccomp_default_profile();
	TAP_OK(t,
	       json_array_size(json_object_get(dp, "syscalls")) == 27 &&
		       json_array_size(json_object_get(dp, "archMap")) == 7,
	       "default profile: 27 rules, 7 arch maps");
	size_t allow = json_array_size(path(dp, "syscalls.0.names"));
	TAP_OK(t, allow > 300, "default allow list (%zu syscalls)", allow);
}

static void test_resources(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *a =
		build("{\"Cmd\":[\"x\"]}",
		      "{\"Memory\":104857600,\"NanoCpus\":1500000000,\"CpuShares\":512,\"PidsLimit\":100,"
		      "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048}],\"OomScoreAdj\":500}",
		      &err);
	TAP_OK(t, a != NULL, "resources build (%s)", err.msg);
	TAP_OK(t, pint(a, "linux.resources.memory.limit") == 104857600, "memory limit");
	TAP_OK(t, pint(a, "linux.resources.memory.swap") == 209715200, "swap defaults to 2x memory");
	TAP_OK(t, pint(a, "linux.resources.cpu.quota") == 150000 && pint(a, "linux.resources.cpu.period") == 100000,
	       "--cpus 1.5");
	TAP_OK(t, pint(a, "linux.resources.cpu.shares") == 512, "cpu shares");
	TAP_OK(t, pint(a, "linux.resources.pids.limit") == 100, "pids limit");
	TAP_STREQ(t, pstr(a, "process.rlimits.0.type"), "RLIMIT_NOFILE", "ulimit type");
	TAP_OK(t, pint(a, "process.rlimits.0.soft") == 1024 && pint(a, "process.rlimits.0.hard") == 2048,
	       "ulimit values");
	TAP_OK(t, pint(a, "process.oomScoreAdj") == 500, "oom score adj");
	cleanup_json json_t *b =
		build("{\"Cmd\":[\"x\"]}", "{\"Memory\":104857600,\"MemorySwap\":-1,\"PidsLimit\":0}", &err);
	TAP_OK(t, b && path(b, "linux.resources.memory.swap") == NULL, "--memory-swap -1: unlimited swap");
	TAP_OK(t, pint(b, "linux.resources.pids.limit") == -1, "pids-limit 0: unlimited");
	cleanup_json json_t *c = build("{\"Cmd\":[\"x\"]}", "{\"Memory\":1000}", &err);
	TAP_STREQ(t, c ? "built" : err.msg, "Minimum memory limit allowed is 6MB", "minimum memory");
	cleanup_json json_t *d = build("{\"Cmd\":[\"x\"]}", "{\"Memory\":104857600,\"MemorySwap\":1000000}", &err);
	TAP_STREQ(t, d ? "built" : err.msg, "Minimum memoryswap limit should be larger than memory limit, see usage",
		  "swap < memory");
	cleanup_json json_t *e = build("{\"Cmd\":[\"x\"]}", "{\"NanoCpus\":9000000000}", &err);
	TAP_STREQ(t, e ? "built" : err.msg, "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available",
		  "too many cpus");
	cleanup_json json_t *f =
		build("{\"Cmd\":[\"x\"]}", "{\"Ulimits\":[{\"Name\":\"bogus\",\"Soft\":1,\"Hard\":1}]}", &err);
	TAP_STREQ(t, f ? "built" : err.msg, "invalid ulimit type: bogus", "bad ulimit");
	/* no swap accounting: docker's warning, swap unlimited */
	si.swap_limit = false;
	char **w = NULL;
	cleanup_json json_t *hc = J("{\"Memory\":104857600}");
	TAP_OK(t,
	       berth_resources_verify(hc, &si, false, &w, &err) == 0 && w && strstr(w[0], "swap limit") &&
		       json_integer_value(json_object_get(hc, "MemorySwap")) == -1,
	       "no swap accounting: warning + MemorySwap -1");
	berth_strv_free(w);
	si.swap_limit = true;
	cleanup_json json_t *g = build(
		"{\"Cmd\":[\"x\"]}",
		"{\"CgroupnsMode\":\"private\",\"PidMode\":\"host\",\"IpcMode\":\"host\",\"UTSMode\":\"host\"}", &err);
	struct berth_buf nb = {0};
	size_t i;
	json_t *n;
	json_array_foreach(path(g, "linux.namespaces"), i, n)
		berth_buf_printf(&nb, "%s%s", i ? "," : "", pstr(n, "type"));
	TAP_STREQ(t, berth_buf_str(&nb), "mount,network,cgroup", "host pid/ipc/uts, private cgroupns");
	berth_buf_free(&nb);
	TAP_OK(t, g && path(g, "hostname") == NULL, "uts=host: no hostname");
	TAP_OK(t, g && mount_at(g, "/dev/shm") && !strcmp(pstr(mount_at(g, "/dev/shm"), "type"), "bind"),
	       "ipc=host: host /dev/shm bound");
}

static void test_info(struct tap *t)
{
	cleanup_json json_t *i = berth_sysinfo_info(&si);
	TAP_OK(t,
	       json_is_true(json_object_get(i, "SwapLimit")) && !strcmp(pstr(i, "CgroupVersion"), "1") &&
		       !strcmp(pstr(i, "CgroupDriver"), "cgroupfs") &&
		       !strcmp(pstr(i, "SecurityOptions.0"), "name=seccomp,profile=default") &&
		       json_array_size(json_object_get(i, "Warnings")) == 0,
	       "info fields for a capable host");
	struct berth_sysinfo s2 = si;
	s2.swap_limit = false;
	cleanup_json json_t *j = berth_sysinfo_info(&s2);
	TAP_STREQ(t, pstr(j, "Warnings.0"), "WARNING: No swap limit support",
		  "docker's warning without swap accounting");
	struct berth_sysinfo host;
	berth_sysinfo_probe(&host);
	TAP_OK(t, host.cgroup_mode != BERTH_CGROUP_NONE && host.ncpu > 0 && host.cap_last_cap > 30 && host.arch[0],
	       "probe of this host: cgroups %s, %d cpus, cap_last_cap %d, arch %s",
	       berth_cgroup_mode_name(host.cgroup_mode), host.ncpu, host.cap_last_cap, host.arch);
}

static void test_exec_process(struct tap *t)
{
	struct berth_error err;
	cleanup_json json_t *s = build("{\"Cmd\":[\"x\"],\"Env\":[\"A=1\"]}", NULL, &err);
	cleanup_json json_t *ec = J(
		"{\"Cmd\":[\"sh\",\"-c\",\"id\"],\"Env\":[\"B=2\"],\"User\":\"alice\",\"Tty\":true,\"WorkingDir\":\"/tmp\"}");
	cleanup_json json_t *p = berth_oci_exec_process_build(s, ec, root, &si, &err);
	TAP_OK(t, p != NULL, "exec process (%s)", err.msg);
	cleanup_free char *args = joined(path(p, "args"));
	TAP_STREQ(t, args, "sh,-c,id", "exec args");
	cleanup_free char *env = joined(path(p, "env"));
	TAP_STREQ(t, env, "PATH=/usr/bin:/bin,HOSTNAME=0123456789ab,A=1,IMG=1,TERM=xterm,B=2", "exec env");
	TAP_OK(t, pint(p, "user.uid") == 1000 && json_is_true(path(p, "terminal")) && !strcmp(pstr(p, "cwd"), "/tmp"),
	       "exec user/tty/cwd");
}

/* The default profile converted once per bounding set: the same object as
 * a conversion of its own, shared between specs, one per set, and specs
 * built with the memo equal those built without. */
static void test_seccomp_memo(struct tap *t)
{
	struct berth_error err = {0};
	struct berth_seccomp_memo *m = berth_seccomp_memo_new();
	cleanup_json json_t *dp = berth_seccomp_default_profile();
	berth_capset all = ~0ULL, few = 1ULL << 21; /* CAP_SYS_ADMIN only */
	cleanup_json json_t *direct = berth_seccomp_to_oci(dp, all, &si, &err);
	cleanup_json json_t *a = berth_seccomp_default_oci(m, all, &si, &err);
	cleanup_json json_t *b = berth_seccomp_default_oci(m, all, &si, &err);
	TAP_OK(t, a && json_equal(a, direct), "memo: the same as a conversion of its own");
	TAP_OK(t, a == b, "memo: the second ask for the set shares the first's object");
	cleanup_json json_t *c = berth_seccomp_default_oci(m, few, &si, &err);
	cleanup_json json_t *cd = berth_seccomp_to_oci(dp, few, &si, &err);
	TAP_OK(t, c && c != a && json_equal(c, cd) && !json_equal(c, a), "memo: another bounding set, its own object");
	/* more sets than it keeps: each still right */
	bool ok = true;
	for (int i = 0; i < 6 && ok; i++) {
		cleanup_json json_t *x = berth_seccomp_default_oci(m, 1ULL << i, &si, &err);
		cleanup_json json_t *xd = berth_seccomp_to_oci(dp, 1ULL << i, &si, &err);
		ok = x && json_equal(x, xd);
	}
	TAP_OK(t, ok, "memo: more sets than it keeps, each converted right");
	cleanup_json json_t *again = berth_seccomp_default_oci(m, all, &si, &err);
	TAP_OK(t, again && json_equal(again, direct), "memo: a set it let go converted again");
	berth_seccomp_memo_clear(m);
	cleanup_json json_t *cleared = berth_seccomp_default_oci(m, all, &si, &err);
	TAP_OK(t, cleared && cleared != again && json_equal(cleared, again) && json_equal(again, direct),
	       "memo: cleared, converted anew; objects handed out before stay whole");
	cleanup_json json_t *plain = build("{\"Cmd\":[\"x\"]}", NULL, &err);
	memo = m;
	cleanup_json json_t *memoed1 = build("{\"Cmd\":[\"x\"]}", NULL, &err);
	cleanup_json json_t *memoed2 = build("{\"Cmd\":[\"x\"]}", NULL, &err);
	memo = NULL;
	TAP_OK(t, plain && memoed1 && json_equal(plain, memoed1) && json_equal(plain, memoed2),
	       "specs built with the memo equal those built without");
	berth_seccomp_memo_free(m); /* the specs keep their references */
	TAP_OK(t, json_equal(path(memoed1, "linux.seccomp"), path(plain, "linux.seccomp")),
	       "a spec's seccomp outlives the memo");
}

int main(void)
{
	struct tap t = {0};
	berth_sysinfo_fake(&si);
	snprintf(root, sizeof(root), "/tmp/berth-spec-test-%d/rootfs", (int)getpid());
	snprintf(evil, sizeof(evil), "/tmp/berth-spec-test-%d/evil", (int)getpid());
	struct berth_error err;
	berth_mkdir_p(root, 0755, &err);
	char etc[512];
	snprintf(etc, sizeof(etc), "%s/etc", root);
	mkdir(etc, 0755);
	put(root, "etc/passwd",
	    "root:x:0:0:root:/root:/bin/sh\n# comment\ndaemon:x:1:1::/:/bin/false\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
	put(root, "etc/group", "root:x:0:\nwheel:x:10:alice,root\naudio:x:29:bob,alice\nalice:x:1000:\n");
	berth_mkdir_p(evil, 0755, &err);
	snprintf(etc, sizeof(etc), "%s/etc", evil);
	symlink("../../../../../../../..", etc); /* the host's / on the host, the rootfs' / inside */
	put(evil, "passwd", "inside:x:4242:4242::/:/bin/sh\n");

	test_defaults(&t);
	test_cmd_merge(&t);
	test_caps(&t);
	test_privileged_readonly(&t);
	test_users(&t);
	test_security_opts(&t);
	test_resources(&t);
	test_exec_process(&t);
	test_info(&t);
	test_seccomp_memo(&t);

	char top[256];
	snprintf(top, sizeof(top), "/tmp/berth-spec-test-%d", (int)getpid());
	berth_rm_rf(top, &err);
	return TAP_DONE(&t);
}
