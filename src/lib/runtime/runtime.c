/* OCI runtime registry and probing. */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/util.h"
#include "jget.h"

static void rmdir_cgroup_everywhere(const char *rel);

static char *which(const char *name)
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
	/* root's PATH may lack sbin (runc lives in /usr/sbin on Debian) */
	static const char *const extra[] = {"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", NULL};
	for (size_t i = 0; extra[i]; i++) {
		char *p = berth_strdup_printf("%s/%s", extra[i], name);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static struct berth_runtime *push(struct berth_runtimes *r)
{
	struct berth_runtime *n = realloc(r->rt, (r->n + 1) * sizeof(*n));
	if (!n)
		return NULL;
	r->rt = n;
	memset(&n[r->n], 0, sizeof(n[0]));
	return &n[r->n++];
}

int berth_runtimes_init(struct berth_runtimes *r, const char *configured_default, struct berth_error *err)
{
	memset(r, 0, sizeof(*r));
	if (configured_default)
		snprintf(r->configured_default, sizeof(r->configured_default), "%s", configured_default);
	static const char *const builtin[] = {"crun", "runc"};
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *p = which(builtin[i]);
		if (!p)
			continue;
		struct berth_runtime *rt = push(r);
		if (!rt)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		snprintf(rt->name, sizeof(rt->name), "%s", builtin[i]);
		snprintf(rt->path, sizeof(rt->path), "%s", p);
		rt->builtin = true;
	}
	return 0;
}

int berth_runtimes_add(struct berth_runtimes *r, const char *name, const char *path, const json_t *args,
		       struct berth_error *err)
{
	if (!name || !*name || strlen(name) >= sizeof(r->rt[0].name))
		return berth_err(err, BERTH_E_INVALID, "invalid runtime name '%s'", name ? name : "");
	if (!strcmp(name, "runc") || !strcmp(name, "crun") || !strcmp(name, "io.containerd.runc.v2") ||
	    !strcmp(name, "io.containerd.runtime.v1.linux"))
		return berth_err(err, BERTH_E_INVALID, "runtime name '%s' is reserved", name);
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->rt[i].name, name))
			return berth_err(err, BERTH_E_INVALID, "runtime name '%s' is already registered", name);
	cleanup_free char *resolved = path && strchr(path, '/') ? strdup(path) : which(path ? path : name);
	if (!resolved || access(resolved, X_OK) < 0)
		return berth_err(err, BERTH_E_INVALID, "runtime %s: %s not found or not executable", name,
				 path ? path : name);
	struct berth_runtime *rt = push(r);
	if (!rt)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	snprintf(rt->name, sizeof(rt->name), "%s", name);
	snprintf(rt->path, sizeof(rt->path), "%s", resolved);
	size_t i;
	json_t *v;
	json_array_foreach(args, i, v) {
		if (json_is_string(v))
			berth_strv_push(&rt->args, json_string_value(v));
	}
	return 0;
}

const struct berth_runtime *berth_runtimes_get(const struct berth_runtimes *r, const char *name)
{
	if (!name || !*name)
		name = r->default_name;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->rt[i].name, name))
			return &r->rt[i];
	return NULL;
}

int berth_runtimes_resolve(const struct berth_runtimes *r, const char *name, const struct berth_runtime **out,
			   struct berth_error *err)
{
	const struct berth_runtime *rt = berth_runtimes_get(r, name);
	if (!rt) {
		if (!name || !*name)
			return berth_err(err, BERTH_E_UNAVAILABLE, "no working OCI runtime on this host");
		return berth_err(err, BERTH_E_INVALID, "Unknown runtime specified %s", name);
	}
	if (rt->probed && !rt->works)
		return berth_err(err, BERTH_E_UNAVAILABLE, "runtime %s does not work on this host: %s", rt->name,
				 rt->reason);
	*out = rt;
	return 0;
}

int berth_runtime_force_delete(const struct berth_runtime *rt, const char *root, const char *id,
			       const char *cgroup_path, struct berth_error *err)
{
	char *argv[64];
	size_t k = 0;
	argv[k++] = (char *)rt->path;
	for (size_t i = 0; rt->args && rt->args[i] && k < 50; i++)
		argv[k++] = rt->args[i];
	argv[k++] = "--root";
	argv[k++] = (char *)root;
	argv[k++] = "delete";
	argv[k++] = "--force";
	argv[k++] = (char *)id;
	argv[k] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "fork");
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execv(rt->path, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (cgroup_path && cgroup_path[0] == '/' && !strstr(cgroup_path, ".."))
		rmdir_cgroup_everywhere(cgroup_path);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berth_err(err, BERTH_E_INTERNAL, "%s delete --force %s failed", rt->name, id);
	return 0;
}

char *berth_runtime_root(const char *exec_root, const char *runtime_name)
{
	return berth_strdup_printf("%s/runtime/%s", exec_root, runtime_name);
}

/* ---- probing ---- */

/* FNV-1a over the text: a cache key, not a security boundary (and no
 * libcrypto at daemon start, see src/lazy). */
static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

static void cgroup_fingerprint(char out[BERTH_DIGEST_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		if (strstr(line, " - cgroup ") || strstr(line, " - cgroup2 ")) {
			/* drop the mount ids (first two fields): they change across boots */
			char *p = strchr(line, ' ');
			p = p ? strchr(p + 1, ' ') : NULL;
			if (p)
				h = fnv1a(h, p, strlen(p));
		}
	}
	free(line);
	char rel[256] = "";
	cleanup_fclose FILE *k = fopen("/proc/sys/kernel/osrelease", "re");
	if (k && fgets(rel, sizeof(rel), k))
		h = fnv1a(h, rel, strlen(rel));
	snprintf(out, BERTH_DIGEST_LEN + 1, "fnv1a64:%016llx", (unsigned long long)h);
}

static char *cache_key(const struct berth_runtime *rt, const char *fp)
{
	struct stat st;
	if (stat(rt->path, &st) < 0)
		return NULL;
	return berth_strdup_printf("%s|%lld|%lld.%09ld|%llu|%s", rt->path, (long long)st.st_size,
				   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino, fp);
}

static const char *const host_dirs[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", NULL};

/* A bundle whose rootfs borrows the host's /usr, /bin, /lib... read-only
 * (bind mounts made by the runtime inside its own mount namespace), running
 * `true` in fresh namespaces and a cgroup below the parent. */
static int write_probe_bundle(const char *dir, const char *cgroup_path, struct berth_error *err)
{
	cleanup_free char *rootfs = berth_strdup_printf("%s/rootfs", dir);
	if (berth_mkdir_p(rootfs, 0755, err) < 0)
		return -1;
	cleanup_json json_t *mounts =
		json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s,s,s]}]", "destination", "/proc", "type", "proc",
			  "source", "proc", "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options",
			  "nosuid", "strictatime", "mode=755");
	for (size_t i = 0; host_dirs[i]; i++) {
		char host[64], inroot[PATH_MAX];
		snprintf(host, sizeof(host), "/%s", host_dirs[i]);
		snprintf(inroot, sizeof(inroot), "%s/%s", rootfs, host_dirs[i]);
		struct stat st;
		if (lstat(host, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			unlink(inroot);
			if (symlink(target, inroot) < 0)
				return berth_err_sys(err, BERTH_E_INTERNAL, errno, "symlink %s", inroot);
		} else if (S_ISDIR(st.st_mode)) {
			mkdir(inroot, 0755);
			json_array_append_new(mounts,
					      json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", host, "type",
							"bind", "source", host, "options", "rbind", "ro", "rprivate"));
		}
	}
	cleanup_free char *proc = berth_strdup_printf("%s/proc", rootfs), *dev = berth_strdup_printf("%s/dev", rootfs);
	mkdir(proc, 0755);
	mkdir(dev, 0755);
	cleanup_json json_t *spec = json_pack(
		"{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s], s:s, s:b, s:{s:[], s:[], s:[]}}, s:{s:s, s:b}, s:s, s:o,"
		" s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s}], s:s, s:{s:[{s:b, s:s}, {s:b, s:s, s:i, s:i, s:s}]}}}",
		"ociVersion", "1.0.2-dev", "process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", "true", "env",
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "cwd", "/", "noNewPrivileges", 1, "capabilities", "bounding",
		"effective", "permitted", "root", "path", "rootfs", "readonly", 1, "hostname", "berth-probe", "mounts",
		json_incref(mounts), "linux", "namespaces", "type", "pid", "type", "ipc", "type", "uts", "type",
		"mount", "type", "network", "cgroupsPath", cgroup_path, "resources", "devices", "allow", 0, "access",
		"rwm", "allow", 1, "type", "c", "major", 1, "minor", 3, "access", "rwm");
	if (!spec)
		return berth_err(err, BERTH_E_INTERNAL, "probe spec");
	cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
	cleanup_free char *cfg = berth_strdup_printf("%s/config.json", dir);
	return berth_write_file_atomic(cfg, text, strlen(text), 0600, err);
}

static void rmdir_cgroup_everywhere(const char *rel)
{
	/* v1 controllers under /sys/fs/cgroup/<ctrl>, hybrid's unified, or pure v2 */
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, rel);
		rmdir(p);
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "/sys/fs/cgroup%s", rel);
	rmdir(p);
}

struct probe {
	struct berth_runtime *rt;
	pid_t pid;
	int out; /* read end of stdout+stderr */
	struct berth_buf text;
	int64_t start;
	char *dir, *cg;
	bool done;
	int status;
};

static pid_t spawn_probe(struct probe *p, int *outfd)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	cleanup_free char *root = berth_strdup_printf("%s/root", p->dir),
			  *bundle = berth_strdup_printf("%s/bundle", p->dir);
	char id[96];
	snprintf(id, sizeof(id), "berth-probe-%s-%d", p->rt->name, (int)getpid());
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		setsid();
		char *argv[64];
		size_t k = 0;
		argv[k++] = p->rt->path;
		for (size_t i = 0; p->rt->args && p->rt->args[i] && k < 50; i++)
			argv[k++] = p->rt->args[i];
		argv[k++] = "--root";
		argv[k++] = root;
		argv[k++] = "run";
		argv[k++] = "--bundle";
		argv[k++] = bundle;
		argv[k++] = id;
		argv[k] = NULL;
		execv(p->rt->path, argv);
		dprintf(2, "exec %s: %s\n", p->rt->path, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	*outfd = pfd[0];
	return pid;
}

/* The runtime's last meaningful output line, without "level=error msg=" noise. */
static void reason_from(const char *text, char *out, size_t outlen)
{
	const char *best = NULL;
	size_t blen = 0;
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n");
		if (l)
			best = p, blen = l;
		p += l;
		if (*p)
			p++;
	}
	if (!best) {
		snprintf(out, outlen, "exited without output");
		return;
	}
	const char *m = memmem(best, blen, "msg=\"", 5);
	if (m) {
		m += 5;
		const char *q = memchr(m, '"', blen - (size_t)(m - best));
		blen = q ? (size_t)(q - m) : blen - (size_t)(m - best);
		best = m;
	}
	snprintf(out, outlen, "%.*s", (int)blen, best);
}

static void choose_default(struct berth_runtimes *r)
{
	r->default_name[0] = '\0';
	const struct berth_runtime *conf = *r->configured_default ? berth_runtimes_get(r, r->configured_default) : NULL;
	if (*r->configured_default && !conf) {
		char *w = berth_strdup_printf("WARNING: default runtime %s is not registered", r->configured_default);
		berth_strv_push(&r->warnings, w);
		free(w);
	}
	if (conf && conf->works) {
		snprintf(r->default_name, sizeof(r->default_name), "%s", conf->name);
	} else {
		for (size_t i = 0; i < r->n; i++)
			if (r->rt[i].works) {
				snprintf(r->default_name, sizeof(r->default_name), "%s", r->rt[i].name);
				break;
			}
	}
	for (size_t i = 0; i < r->n; i++) {
		if (r->rt[i].works)
			continue;
		char *w = berth_strdup_printf("WARNING: runtime %s (%s) does not work on this host: %s%s%s",
					      r->rt[i].name, r->rt[i].path, r->rt[i].reason,
					      *r->default_name ? "; using " : "", r->default_name);
		berth_strv_push(&r->warnings, w);
		free(w);
	}
}

int berth_runtimes_probe(struct berth_runtimes *r, const struct berth_probe_opts *o, struct berth_error *err)
{
	berth_strv_free(r->warnings);
	r->warnings = NULL;
	if (!r->n) {
		choose_default(r);
		return berth_err(err, BERTH_E_UNAVAILABLE, "no OCI runtime found (looked for crun and runc in PATH)");
	}
	const char *parent = o->cgroup_parent && *o->cgroup_parent ? o->cgroup_parent : "/berth";
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	char fp[BERTH_DIGEST_LEN + 1];
	cgroup_fingerprint(fp);
	cleanup_free char *cache_path = berth_strdup_printf("%s/runtime-probe.json", o->state_dir);
	cleanup_json json_t *cache = NULL;
	if (!o->no_cache)
		cache = json_load_file(cache_path, 0, NULL);
	if (!json_is_object(cache)) {
		json_decref(cache);
		cache = json_object();
	}

	struct probe *ps = calloc(r->n, sizeof(*ps));
	if (!ps)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	bool fresh = false;
	size_t running = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct berth_runtime *rt = &r->rt[i];
		struct probe *p = &ps[i];
		p->rt = rt;
		p->out = -1;
		p->pid = -1;
		rt->probed = true;
		rt->cached = false;
		cleanup_free char *key = cache_key(rt, fp);
		json_t *c = json_object_get(cache, rt->name);
		if (key && c && jstr(c, "key") && !strcmp(jstr(c, "key"), key)) {
			rt->works = jbool(c, "works", false);
			snprintf(rt->reason, sizeof(rt->reason), "%s", jstr(c, "reason") ? jstr(c, "reason") : "");
			rt->cached = true;
			p->done = true;
			continue;
		}
		char tmpl[PATH_MAX];
		snprintf(tmpl, sizeof(tmpl), "%s/probe-%s-XXXXXX", o->state_dir, rt->name);
		struct berth_error e = {0};
		if (berth_mkdir_p(o->state_dir, 0711, &e) < 0 || !mkdtemp(tmpl)) {
			rt->works = false;
			snprintf(rt->reason, sizeof(rt->reason), "cannot create probe dir in %s", o->state_dir);
			p->done = true;
			continue;
		}
		p->dir = strdup(tmpl);
		p->cg = berth_strdup_printf("%s/berth-probe-%s-%d", parent, rt->name, (int)getpid());
		cleanup_free char *bundle = berth_strdup_printf("%s/bundle", p->dir);
		if (write_probe_bundle(bundle, p->cg, &e) < 0) {
			rt->works = false;
			snprintf(rt->reason, sizeof(rt->reason), "probe bundle: %.400s", e.msg);
			p->done = true;
			continue;
		}
		p->start = berth_now_ns();
		p->pid = spawn_probe(p, &p->out);
		if (p->pid < 0) {
			rt->works = false;
			snprintf(rt->reason, sizeof(rt->reason), "fork: %s", strerror(errno));
			p->done = true;
			continue;
		}
		running++;
	}

	int64_t deadline = berth_now_ns() + (int64_t)timeout * 1000000;
	while (running) {
		struct pollfd pfd[16];
		size_t idx[16], np = 0;
		for (size_t i = 0; i < r->n && np < 16; i++)
			if (!ps[i].done && ps[i].out >= 0) {
				pfd[np] = (struct pollfd){.fd = ps[i].out, .events = POLLIN};
				idx[np++] = i;
			}
		int64_t left = (deadline - berth_now_ns()) / 1000000;
		if (left <= 0)
			break;
		int n = poll(pfd, np, np ? (int)left : 10);
		if (n < 0 && errno != EINTR)
			break;
		for (size_t k = 0; k < np; k++) {
			struct probe *p = &ps[idx[k]];
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t got = read(p->out, buf, sizeof(buf));
			if (got > 0) {
				if (p->text.len < 65536)
					berth_buf_append(&p->text, buf, (size_t)got);
				continue;
			}
			/* EOF: the runtime (and whatever inherited its stdio) is gone */
			close(p->out);
			p->out = -1;
			int st = 0;
			if (waitpid(p->pid, &st, 0) == p->pid) {
				p->status = st;
				p->done = true;
				running--;
				p->rt->probe_ms = (double)(berth_now_ns() - p->start) / 1e6;
				p->rt->works = WIFEXITED(st) && WEXITSTATUS(st) == 0;
				if (!p->rt->works)
					reason_from(berth_buf_str(&p->text), p->rt->reason, sizeof(p->rt->reason));
			}
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		struct probe *p = &ps[i];
		if (!p->done && p->pid > 0) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			p->rt->works = false;
			snprintf(p->rt->reason, sizeof(p->rt->reason), "probe timed out after %d ms", timeout);
		}
		if (p->out >= 0)
			close(p->out);
		if (p->cg) {
			/* a failed runtime may leave its cgroup or state behind */
			rmdir_cgroup_everywhere(p->cg);
			rmdir_cgroup_everywhere(parent); /* only succeeds when empty */
		}
		if (p->dir) {
			struct berth_error e = {0};
			berth_rm_rf(p->dir, &e);
		}
		if (!p->rt->cached) {
			fresh = true;
			cleanup_free char *key = cache_key(p->rt, fp);
			if (key)
				json_object_set_new(cache, p->rt->name,
						    json_pack("{s:s, s:b, s:s}", "key", key, "works", p->rt->works,
							      "reason", p->rt->reason));
		}
		free(p->dir);
		free(p->cg);
		berth_buf_free(&p->text);
	}
	free(ps);
	if (!o->no_cache && fresh) { /* all from the cache: nothing to write (an fsync per daemon start) */
		cleanup_free char *text = json_dumps(cache, JSON_COMPACT);
		struct berth_error e = {0};
		if (text)
			berth_write_file_atomic(cache_path, text, strlen(text), 0600, &e);
	}
	choose_default(r);
	if (!*r->default_name) {
		struct berth_buf b = {0};
		berth_buf_printf(&b, "no working OCI runtime:");
		for (size_t i = 0; i < r->n; i++)
			berth_buf_printf(&b, " %s: %s;", r->rt[i].name, r->rt[i].reason);
		berth_err(err, BERTH_E_UNAVAILABLE, "%s", berth_buf_str(&b));
		berth_buf_free(&b);
		return -1;
	}
	return 0;
}

json_t *berth_runtimes_info(const struct berth_runtimes *r)
{
	json_t *rts = json_object();
	for (size_t i = 0; i < r->n; i++) {
		json_t *o = json_pack("{s:s}", "path", r->rt[i].path);
		if (r->rt[i].args) {
			json_t *a = json_array();
			for (size_t k = 0; r->rt[i].args[k]; k++)
				json_array_append_new(a, json_string(r->rt[i].args[k]));
			json_object_set_new(o, "runtimeArgs", a);
		}
		json_object_set_new(rts, r->rt[i].name, o);
	}
	json_t *w = json_array();
	for (size_t i = 0; r->warnings && r->warnings[i]; i++)
		json_array_append_new(w, json_string(r->warnings[i]));
	return json_pack("{s:o, s:s, s:o}", "Runtimes", rts, "DefaultRuntime", r->default_name, "Warnings", w);
}

char *berth_runtimes_summary(const struct berth_runtimes *r)
{
	struct berth_buf b = {0};
	if (*r->default_name)
		berth_buf_printf(&b, "default OCI runtime: %s (%s)", r->default_name,
				 berth_runtimes_get(r, r->default_name)->path);
	else
		berth_buf_printf(&b, "no working OCI runtime");
	for (size_t i = 0; i < r->n; i++) {
		const struct berth_runtime *rt = &r->rt[i];
		if (rt->works)
			berth_buf_printf(&b, "; %s works%s", rt->name, rt->cached ? " (cached probe)" : "");
		else
			berth_buf_printf(&b, "; %s does not work: %s", rt->name, rt->reason);
	}
	return berth_buf_steal(&b);
}

void berth_runtimes_free(struct berth_runtimes *r)
{
	for (size_t i = 0; i < r->n; i++)
		berth_strv_free(r->rt[i].args);
	free(r->rt);
	berth_strv_free(r->warnings);
	memset(r, 0, sizeof(*r));
}
