/* Integration: real containers through berth-shim with the host's working
 * OCI runtime (runc here): echo + json-file log line, exit codes, tty,
 * SIGTERM/SIGKILL, attach (stdin, several clients, detach keys), exec
 * (output, 127), live restore after the "daemon" is SIGKILLed. Needs root,
 * a runtime and the busybox rootfs fixture; skips otherwise. Everything it
 * makes (temp dirs, cgroups) is removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "logger/logger.h"
#include "runtime/runtime.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "runtime/stats.h"
#include "tap.h"

#ifndef FIXTURE_ROOTFS
#define FIXTURE_ROOTFS "/work/shared/fixtures/images/busybox-rootfs.tar"
#endif

static char top[256], rootfs[300], exec_root[300], cg_parent[64];
static struct berth_sysinfo si;
static struct berth_runtimes rts;
static const struct berth_runtime *rt;
static char *shim_bin;
static int counter;
static char spawned[64][400]; /* state dirs, to kill leftovers at the end */
static int nspawned;

struct ctr {
	char id[65];
	char dir[400], state[400], bundle[512], log[512];
};

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "# bad json %s: %s\n", text, e.text);
	return j;
}

/* Build the bundle and spawn a shim. Returns 0, or -1 with err. */
static int ctr_spawn(struct ctr *c, const char *cfg, const char *hc, bool start, struct berth_shim_result *res,
		     struct berth_error *err)
{
	snprintf(c->id, sizeof(c->id), "beef%056d%04u", 0, (unsigned)(++counter) % 10000u);
	snprintf(c->dir, sizeof(c->dir), "%s/containers/%s", top, c->id);
	snprintf(c->state, sizeof(c->state), "%s/c/%s", exec_root, c->id);
	snprintf(c->bundle, sizeof(c->bundle), "%s/bundle", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/%s-json.log", c->dir, c->id);
	if (berth_mkdir_p(c->dir, 0755, err) < 0)
		return -1;
	char hosts[600], hostname[600], resolv[600];
	snprintf(hosts, sizeof(hosts), "%s/hosts", c->dir);
	snprintf(hostname, sizeof(hostname), "%s/hostname", c->dir);
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", c->dir);
	berth_write_file_atomic(hosts, "127.0.0.1\tlocalhost\n", 20, 0644, err);
	berth_write_file_atomic(hostname, "box\n", 4, 0644, err);
	berth_write_file_atomic(resolv, "", 0, 0644, err);
	cleanup_json json_t *config = J(cfg), *host = J(hc ? hc : "{}");
	cleanup_json json_t *img = J(
		"{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]}");
	char cgpath[256];
	snprintf(cgpath, sizeof(cgpath), "%s/%s", cg_parent, c->id);
	struct berth_spec_input in = {
		.id = c->id,
		.config = config,
		.host_config = host,
		.image_config = img,
		.rootfs = rootfs,
		.hosts_path = hosts,
		.hostname_path = hostname,
		.resolv_conf_path = resolv,
		.cgroup_path = cgpath,
		.sysinfo = &si,
	};
	cleanup_json json_t *spec = berth_oci_spec_build(&in, err);
	if (!spec || berth_oci_bundle_write(c->bundle, spec, err) < 0)
		return -1;
	cleanup_free char *rtroot = berth_runtime_root(exec_root, rt->name);
	struct berth_shim_opts o = {
		.shim_path = shim_bin,
		.id = c->id,
		.bundle = c->bundle,
		.state_dir = c->state,
		.runtime = rt,
		.runtime_root = rtroot,
		.tty = json_is_true(json_object_get(config, "Tty")),
		.open_stdin = json_is_true(json_object_get(config, "OpenStdin")),
		.stdin_once = json_is_true(json_object_get(config, "StdinOnce")),
		.start = start,
		.log_driver = "json-file",
		.log_path = c->log,
		.container_name = "/test",
	};
	if (nspawned < 64)
		snprintf(spawned[nspawned++], sizeof(spawned[0]), "%s", c->state);
	return berth_shim_spawn(&o, res, err);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	struct berth_error e;
	if (berth_read_file(path, &text, NULL, 1 << 24, &e) < 0)
		return strdup("");
	return text;
}

/* Read from fd until EOF (the shim closes attach streams at the end). */
static char *read_all_fd(int fd, size_t *len)
{
	struct berth_buf b = {0};
	char buf[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 60000) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		berth_buf_append(&b, buf, (size_t)n);
	}
	*len = b.len;
	return berth_buf_steal(&b);
}

/* Wait until a file contains a string (the container reached a point). */
static bool wait_for_text(const char *path, const char *needle)
{
	for (int i = 0; i < 3000; i++) {
		cleanup_free char *t = slurp(path);
		if (strstr(t, needle))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_echo(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"echo\",\"hello\"]}", NULL, true, &res, &err);
	TAP_OK(t, rc == 0 && res.started && res.pid > 0 && res.shim_pid > 0, "spawn + start echo (%s)", err.msg);
	if (rc < 0)
		return;
	struct berth_exit ex;
	TAP_OK(t, berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0, "wait (%s)", err.msg);
	TAP_OK(t, ex.exit_code == 0 && ex.signal == 0 && !ex.oom_killed, "exit code 0");
	cleanup_free char *log = slurp(c.log);
	const char *prefix = "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"";
	bool fmt = berth_str_has_prefix(log, prefix) && berth_str_has_suffix(log, "Z\"}\n") &&
		   strchr(log, '\n') == log + strlen(log) - 1;
	TAP_OK(t, fmt, "json-file line in docker's format");
	if (!fmt)
		printf("# log: %s\n", log);
	struct berth_exit fx;
	TAP_OK(t,
	       berth_shim_read_exit(c.state, &fx, &err) == 0 && fx.exit_code == 0 && fx.finished_ns >= fx.started_ns &&
		       fx.started_ns > 0,
	       "exit.json recorded with times");
	/* the shim goes away after recording the exit */
	for (int i = 0; i < 500 && berth_shim_alive(c.state, NULL); i++)
		usleep(10000);
	TAP_OK(t, !berth_shim_alive(c.state, NULL), "shim exited after the container");
	struct berth_log_read_opts ro = {.tail = -1};
	struct berth_log_reader *r = berth_log_reader_open("json-file", c.log, &ro, &err);
	struct berth_log_entry e = {0};
	int n = r ? berth_log_reader_next(r, &e, &err) : -1;
	TAP_OK(t, n == BERTH_LOG_ENTRY && e.len == 6 && !memcmp(e.line, "hello\n", 6) && e.stream == BERTH_LOG_STDOUT,
	       "log reader gives the line back");
	berth_log_entry_clear(&e);
	berth_log_reader_close(r);
}

static void test_exit_code_and_stderr(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"sh\",\"-c\",\"echo oops >&2; exit 3\"]}", NULL, true, &res, &err);
	struct berth_exit ex = {0};
	TAP_OK(t, rc == 0 && berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 3,
	       "exit 3 -> 3 (%s)", err.msg);
	cleanup_free char *log = slurp(c.log);
	TAP_OK(t, strstr(log, "{\"log\":\"oops\\n\",\"stream\":\"stderr\"") != NULL, "stderr line logged as stderr");

	struct ctr d;
	rc = ctr_spawn(&d, "{\"Cmd\":[\"/nonexistent\"]}", NULL, true, &res, &err);
	TAP_OK(t,
	       rc < 0 && err.kind == BERTH_E_INVALID && res.exit_code == 127 &&
		       berth_str_has_prefix(err.msg, "OCI runtime create failed: ") &&
		       strstr(err.msg, "no such file or directory"),
	       "missing binary: 127, docker's message (%s)", err.msg);
	struct berth_exit fx;
	TAP_OK(t, berth_shim_read_exit(d.state, &fx, &err) == 0 && fx.exit_code == 127 && fx.error[0],
	       "failed create recorded");
}

static void test_tty(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"sh\",\"-c\",\"tty; stty size; echo tty-ok\"],\"Tty\":true}", NULL, false,
			   &res, &err);
	TAP_OK(t, rc == 0 && !res.started, "tty container created (%s)", err.msg);
	if (rc < 0)
		return;
	TAP_OK(t, berth_shim_resize(c.state, NULL, 100, 40, &err) == 0, "resize before start (%s)", err.msg);
	struct berth_attach_opts ao = {.out = true, .err = true, .mux = true};
	int fd = berth_shim_attach(c.state, &ao, &err);
	TAP_OK(t, fd >= 0, "attach before start (%s)", err.msg);
	pid_t pid = 0;
	TAP_OK(t, berth_shim_start(c.state, &pid, NULL, NULL, &err) == 0 && pid > 0, "start (%s)", err.msg);
	size_t len = 0;
	cleanup_free char *out = fd >= 0 ? read_all_fd(fd, &len) : strdup("");
	if (fd >= 0)
		close(fd);
	TAP_OK(t, strstr(out, "/dev/pts/0\r\n") && strstr(out, "40 100\r\n") && strstr(out, "tty-ok\r\n"),
	       "tty output raw (no framing), size applied");
	struct berth_exit ex;
	TAP_OK(t, berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 0, "tty exit 0");
	cleanup_free char *log = slurp(c.log);
	TAP_OK(t, strstr(log, "{\"log\":\"tty-ok\\r\\n\",\"stream\":\"stdout\"") != NULL,
	       "tty output logged as stdout with \\r\\n");
}

static void test_kill(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	/* sh as pid 1 ignores SIGTERM unless it traps it */
	int rc = ctr_spawn(
		&c,
		"{\"Cmd\":[\"sh\",\"-c\",\"trap 'echo got-term; exit 143' TERM; echo ready; while :; do sleep 1; done\"]}",
		NULL, true, &res, &err);
	TAP_OK(t, rc == 0, "long-running container (%s)", err.msg);
	if (rc < 0)
		return;
	TAP_OK(t, wait_for_text(c.log, "ready"), "it is running");
	struct berth_shim_state st;
	TAP_OK(t, berth_shim_state(c.state, NULL, &st, &err) == 0 && !strcmp(st.status, "running") && st.pid == res.pid,
	       "state: running");
	TAP_OK(t, berth_shim_pause(c.state, &err) == 0 && berth_shim_state(c.state, NULL, &st, &err) == 0 && st.paused,
	       "paused (%s)", err.msg);
	char frz[512];
	snprintf(frz, sizeof(frz), "/sys/fs/cgroup/freezer%s/%s/freezer.state", cg_parent, c.id);
	cleanup_free char *fs = slurp(frz);
	TAP_OK(t, si.cgroup_mode == BERTH_CGROUP_V2 || berth_str_has_prefix(fs, "FROZEN"), "freezer says FROZEN");
	TAP_OK(t,
	       berth_shim_resume(c.state, &err) == 0 && berth_shim_state(c.state, NULL, &st, &err) == 0 && !st.paused,
	       "resumed");
	cleanup_json json_t *upd = J("{\"memory\":{\"limit\":33554432},\"pids\":{\"limit\":20}}");
	TAP_OK(t, berth_shim_update(c.state, upd, &err) == 0, "update resources (%s)", err.msg);
	char pm[512];
	snprintf(pm, sizeof(pm), "/sys/fs/cgroup/pids%s/%s/pids.max", cg_parent, c.id);
	cleanup_free char *pids = slurp(pm);
	TAP_OK(t, si.cgroup_mode == BERTH_CGROUP_V2 || !strcmp(pids, "20\n"), "pids.max updated to 20");
	int wfd = berth_shim_wait_begin(c.state, NULL, &err);
	TAP_OK(t, berth_shim_kill(c.state, NULL, SIGTERM, false, &err) == 0, "SIGTERM sent (%s)", err.msg);
	struct berth_exit ex = {0};
	TAP_OK(t, wfd >= 0 && berth_shim_wait_end(wfd, c.state, NULL, &ex, &err) == 0 && ex.exit_code == 143,
	       "trapped TERM -> 143 (%d)", ex.exit_code);
	cleanup_free char *log = slurp(c.log);
	TAP_OK(t, strstr(log, "got-term") != NULL, "trap ran");

	struct ctr d;
	rc = ctr_spawn(&d, "{\"Cmd\":[\"sh\",\"-c\",\"echo ready; exec sleep 1000\"]}", "{\"Init\":true}", true, &res,
		       &err);
	TAP_OK(t, rc == 0, "sleep under --init (%s)", err.msg);
	if (rc < 0)
		return;
	/* signals to a pid-1 without handlers are dropped: wait until docker-init runs its child */
	TAP_OK(t, wait_for_text(d.log, "ready"), "init's child is running");
	TAP_OK(t, berth_shim_kill(d.state, NULL, SIGTERM, false, &err) == 0, "SIGTERM to docker-init");
	int wr = berth_shim_wait(d.state, NULL, 60000, &ex, &err);
	TAP_OK(t, wr == 0 && ex.exit_code == 143, "init forwards TERM: 143 (%d %s)", ex.exit_code, err.msg);

	struct ctr e;
	rc = ctr_spawn(&e, "{\"Cmd\":[\"sleep\",\"1000\"]}", NULL, true, &res, &err);
	TAP_OK(t, rc == 0 && berth_shim_kill(e.state, NULL, SIGKILL, false, &err) == 0, "SIGKILL sent");
	TAP_OK(t, berth_shim_wait(e.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 137 && ex.signal == 9,
	       "SIGKILL -> 137");
}

static void test_limits_oom(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	const char *cmd =
		si.cgroup_mode == BERTH_CGROUP_V2 ?
			"cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; cut -d' ' -f1 /sys/fs/cgroup/cpu.max" :
			"cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
	char cfg[512];
	snprintf(cfg, sizeof(cfg), "{\"Cmd\":[\"sh\",\"-c\",\"%s\"]}", cmd);
	int rc = ctr_spawn(&c, cfg, "{\"Memory\":67108864,\"PidsLimit\":50,\"NanoCpus\":500000000}", true, &res, &err);
	struct berth_exit ex;
	TAP_OK(t, rc == 0 && berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0, "limits container ran (%s)",
	       err.msg);
	cleanup_free char *log = slurp(c.log);
	TAP_OK(t, strstr(log, "\"67108864\\n\"") && strstr(log, "\"50\\n\"") && strstr(log, "\"50000\\n\""),
	       "memory, pids and cpu limits applied in the cgroup");
	if (!strstr(log, "67108864"))
		printf("# %s\n", log);

	struct ctr d;
	rc = ctr_spawn(&d, "{\"Cmd\":[\"sh\",\"-c\",\"a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done\"]}",
		       "{\"Memory\":16777216,\"MemorySwap\":16777216}", true, &res, &err);
	TAP_OK(t, rc == 0 && berth_shim_wait(d.state, NULL, 60000, &ex, &err) == 0, "memory hog ran (%s)", err.msg);
	TAP_OK(t, ex.oom_killed && ex.exit_code == 137, "OOM kill recorded (exit %d, oom %d)", ex.exit_code,
	       ex.oom_killed);
}

/* Same commands as run under dockerd 20.10.24 on this host; expected lines
 * are what its json-file wrote (times stripped). */
static char *strip_times(const char *log)
{
	struct berth_buf b = {0};
	for (const char *p = log; *p;) {
		const char *t = strstr(p, ",\"time\":\"");
		if (!t) {
			berth_buf_printf(&b, "%s", p);
			break;
		}
		berth_buf_append(&b, p, (size_t)(t - p));
		const char *e = strstr(t, "\"}");
		p = e ? e + 1 : t + strlen(t);
	}
	return berth_buf_steal(&b);
}

static void test_log_format(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(
		&c,
		"{\"Cmd\":[\"sh\",\"-c\",\"printf \\\"a<b>&\\\\t\\\\\\\"q\\\\\\\"\\\\\\\\ \\\\001 \\\\303\\\\251 \\\\342\\\\200\\\\250\\\\n\\\"; "
		"head -c 20000 /dev/zero | tr \\\"\\\\0\\\" x; echo; head -c 16384 /dev/zero | tr \\\"\\\\0\\\" y; echo; "
		"printf \\\"no newline at end\\\"\"]}",
		NULL, true, &res, &err);
	struct berth_exit ex;
	TAP_OK(t, rc == 0 && berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 0,
	       "log format container (%s)", err.msg);
	cleanup_free char *log = slurp(c.log);
	cleanup_free char *got = strip_times(log);
	struct berth_buf w = {0};
	berth_buf_printf(
		&w,
		"{\"log\":\"a\\u003cb\\u003e\\u0026\\u0009\\\"q\\\"\\\\ \\u0001 \xc3\xa9 \\u2028\\n\",\"stream\":\"stdout\"}\n");
	berth_buf_printf(&w, "{\"log\":\"");
	for (int i = 0; i < 16384; i++)
		berth_buf_putc(&w, 'x');
	berth_buf_printf(&w, "\",\"stream\":\"stdout\"}\n{\"log\":\"");
	for (int i = 0; i < 3616; i++)
		berth_buf_putc(&w, 'x');
	berth_buf_printf(&w, "\\n\",\"stream\":\"stdout\"}\n{\"log\":\"");
	for (int i = 0; i < 16384; i++)
		berth_buf_putc(&w, 'y');
	berth_buf_printf(&w, "\",\"stream\":\"stdout\"}\n{\"log\":\"\\n\",\"stream\":\"stdout\"}\n"
			     "{\"log\":\"no newline at end\",\"stream\":\"stdout\"}\n");
	bool same = !strcmp(got, berth_buf_str(&w));
	TAP_OK(t, same, "json-file lines byte-identical to dockerd's for the same output (times aside)");
	if (!same)
		printf("# got:  %.300s\n# want: %.300s\n", got, berth_buf_str(&w));
	berth_buf_free(&w);
}

static void test_privileged(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(
		&c,
		"{\"Cmd\":[\"sh\",\"-c\",\"grep CapEff /proc/self/status; ls /dev/loop-control >/dev/null && echo devs-ok\"]}",
		"{\"Privileged\":true}", true, &res, &err);
	struct berth_exit ex;
	TAP_OK(t, rc == 0 && berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 0,
	       "--privileged runs here (%s)", err.msg);
	cleanup_free char *log = slurp(c.log);
	char want[64];
	snprintf(want, sizeof(want), "CapEff:\\u0009%016llx", si.cap_bound & ((1ULL << (si.cap_last_cap + 1)) - 1));
	TAP_OK(t, strstr(log, want) && strstr(log, "devs-ok"), "all of the daemon's capabilities and the host devices");
	if (!strstr(log, want))
		printf("# want %s in %s\n", want, log);
}

static void test_attach_stdin(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"sh\",\"-c\",\"cat; echo done >&2\"],\"OpenStdin\":true,\"StdinOnce\":true}",
			   NULL, false, &res, &err);
	TAP_OK(t, rc == 0, "stdin container created (%s)", err.msg);
	if (rc < 0)
		return;
	struct berth_attach_opts a1 = {.in = true, .out = true, .err = true, .mux = true};
	struct berth_attach_opts a2 = {.out = true, .err = false, .mux = false};
	int fd1 = berth_shim_attach(c.state, &a1, &err);
	int fd2 = berth_shim_attach(c.state, &a2, &err);
	TAP_OK(t, fd1 >= 0 && fd2 >= 0, "two clients attached");
	TAP_OK(t, berth_shim_start(c.state, NULL, NULL, NULL, &err) == 0, "start");
	TAP_OK(t, write(fd1, "ping\n", 5) == 5 && shutdown(fd1, SHUT_WR) == 0, "stdin sent, then EOF");
	size_t l1 = 0, l2 = 0;
	cleanup_free char *o1 = read_all_fd(fd1, &l1);
	cleanup_free char *o2 = read_all_fd(fd2, &l2);
	close(fd1);
	close(fd2);
	static const unsigned char want1[] = {1, 0, 0, 0, 0, 0, 0, 5, 'p', 'i', 'n', 'g', '\n',
					      2, 0, 0, 0, 0, 0, 0, 5, 'd', 'o', 'n', 'e', '\n'};
	TAP_OK(t, l1 == sizeof(want1) && !memcmp(o1, want1, l1),
	       "client 1: stdcopy frames for stdout then stderr (%zu bytes)", l1);
	TAP_OK(t, l2 == 5 && !memcmp(o2, "ping\n", 5), "client 2: raw stdout only");
	struct berth_exit ex;
	TAP_OK(t, berth_shim_wait(c.state, NULL, 60000, &ex, &err) == 0 && ex.exit_code == 0,
	       "stdin EOF ended cat: exit 0");
}

static void test_detach(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"cat\"],\"OpenStdin\":true,\"Tty\":true}", NULL, true, &res, &err);
	TAP_OK(t, rc == 0, "interactive tty container (%s)", err.msg);
	if (rc < 0)
		return;
	struct berth_attach_opts a = {.in = true, .out = true, .detach_keys = "ctrl-x,y"};
	struct berth_error e2;
	TAP_OK(t,
	       berth_shim_attach(c.state, &(struct berth_attach_opts){.in = true, .detach_keys = "ctrl-xx"}, &e2) < 0 &&
		       !strcmp(e2.msg, "Invalid detach keys (ctrl-xx) provided"),
	       "bad detach keys refused");
	int fd = berth_shim_attach(c.state, &a, &err);
	TAP_OK(t, fd >= 0, "attached with custom detach keys");
	/* ctrl-x alone then 'a' is not the sequence: passed through */
	TAP_OK(t,
	       write(fd,
		     "hi\x18"
		     "a\n",
		     5) == 5,
	       "typed");
	TAP_OK(t, wait_for_text(c.log, "hi\\u0018a"), "held key passed on when the sequence broke");
	TAP_OK(t, write(fd, "\x18y", 2) == 2, "detach sequence");
	size_t len;
	cleanup_free char *rest = read_all_fd(fd, &len);
	close(fd);
	struct berth_shim_state st;
	TAP_OK(t, berth_shim_state(c.state, NULL, &st, &err) == 0 && !strcmp(st.status, "running"),
	       "detached: still running");
	/* default keys on a second attach */
	int fd2 = berth_shim_attach(c.state, &(struct berth_attach_opts){.in = true, .out = true}, &err);
	TAP_OK(t, fd2 >= 0 && write(fd2, "\x10\x11", 2) == 2, "ctrl-p ctrl-q");
	cleanup_free char *rest2 = read_all_fd(fd2, &len);
	close(fd2);
	TAP_OK(t, berth_shim_state(c.state, NULL, &st, &err) == 0 && !strcmp(st.status, "running"),
	       "still running after default detach");
	berth_shim_kill(c.state, NULL, SIGKILL, false, &err);
	struct berth_exit ex;
	berth_shim_wait(c.state, NULL, 60000, &ex, &err);
}

static void test_exec(struct tap *t)
{
	struct ctr c;
	struct berth_shim_result res;
	struct berth_error err = {0};
	int rc = ctr_spawn(&c, "{\"Cmd\":[\"sleep\",\"1000\"]}", NULL, true, &res, &err);
	TAP_OK(t, rc == 0, "container for exec (%s)", err.msg);
	if (rc < 0)
		return;
	cleanup_free char *specp = berth_strdup_printf("%s/config.json", c.bundle);
	cleanup_json json_t *spec = json_load_file(specp, 0, NULL);
	cleanup_json json_t *ec = J("{\"Cmd\":[\"sh\",\"-c\",\"echo exec-out; echo exec-err >&2; exit 7\"]}");
	cleanup_json json_t *proc = berth_oci_exec_process_build(spec, ec, rootfs, &si, &err);
	TAP_OK(t, proc && berth_shim_exec_create(c.state, "e1", proc, false, false, &err) == 0, "exec create (%s)",
	       err.msg);
	int fd = berth_shim_attach(
		c.state, &(struct berth_attach_opts){.exec_id = "e1", .out = true, .err = true, .mux = true}, &err);
	pid_t pid = 0;
	TAP_OK(t, fd >= 0 && berth_shim_exec_start(c.state, "e1", &pid, NULL, &err) == 0 && pid > 0, "exec start (%s)",
	       err.msg);
	size_t len = 0;
	cleanup_free char *out = fd >= 0 ? read_all_fd(fd, &len) : strdup("");
	if (fd >= 0)
		close(fd);
	TAP_OK(t, len == 8 + 9 + 8 + 9 && out[0] == 1 && !memcmp(out + 8, "exec-out\n", 9) && out[17] == 2,
	       "exec output framed");
	struct berth_exit ex;
	TAP_OK(t, berth_shim_wait(c.state, "e1", 60000, &ex, &err) == 0 && ex.exit_code == 7, "exec exit 7");
	struct berth_shim_state st;
	TAP_OK(t, berth_shim_state(c.state, "e1", &st, &err) == 0 && st.exited && st.exit.exit_code == 7, "exec state");
	cleanup_free char *log = slurp(c.log);
	TAP_OK(t, !strstr(log, "exec-out"), "exec output is not logged");

	cleanup_json json_t *ec2 = J("{\"Cmd\":[\"nosuchcmd\"]}");
	cleanup_json json_t *p2 = berth_oci_exec_process_build(spec, ec2, rootfs, &si, &err);
	int code = 0;
	TAP_OK(t,
	       berth_shim_exec_create(c.state, "e2", p2, false, false, &err) == 0 &&
		       berth_shim_exec_start(c.state, "e2", NULL, &code, &err) < 0 && code == 127 &&
		       berth_str_has_prefix(err.msg, "OCI runtime exec failed: "),
	       "exec of a missing command: 127 (%s)", err.msg);
	TAP_OK(t, berth_shim_state(c.state, "e2", &st, &err) == 0 && st.exited && st.exit.exit_code == 127,
	       "exec state 127");
	cleanup_json json_t *ec3 = J("{\"Cmd\":[\"/etc/passwd\"]}");
	cleanup_json json_t *p3 = berth_oci_exec_process_build(spec, ec3, rootfs, &si, &err);
	TAP_OK(t,
	       berth_shim_exec_create(c.state, "e3", p3, false, false, &err) == 0 &&
		       berth_shim_exec_start(c.state, "e3", NULL, &code, &err) < 0 && code == 126,
	       "exec of a non-executable: 126 (%s)", err.msg);
	cleanup_json json_t *ec4 = J("{\"Cmd\":[\"sh\",\"-c\",\"tty\"],\"Tty\":true}");
	cleanup_json json_t *p4 = berth_oci_exec_process_build(spec, ec4, rootfs, &si, &err);
	TAP_OK(t, berth_shim_exec_create(c.state, "e4", p4, true, false, &err) == 0, "tty exec created");
	fd = berth_shim_attach(c.state, &(struct berth_attach_opts){.exec_id = "e4", .out = true}, &err);
	TAP_OK(t, fd >= 0 && berth_shim_exec_start(c.state, "e4", NULL, NULL, &err) == 0, "tty exec started (%s)",
	       err.msg);
	cleanup_free char *o4 = fd >= 0 ? read_all_fd(fd, &len) : strdup("");
	if (fd >= 0)
		close(fd);
	TAP_OK(t, strstr(o4, "/dev/pts/") != NULL, "exec got a tty");
	char cgpath[256];
	snprintf(cgpath, sizeof(cgpath), "%s/%s", cg_parent, c.id);
	cleanup_json json_t *stats = berth_cgroup_stats(cgpath, &si, &err);
	json_t *mem = json_object_get(stats, "memory_stats"), *cpu = json_object_get(stats, "cpu_stats");
	TAP_OK(t,
	       stats && json_integer_value(json_object_get(mem, "usage")) > 0 &&
		       json_integer_value(json_object_get(mem, "limit")) > 0 &&
		       json_object_get(json_object_get(mem, "stats"),
				       si.cgroup_mode == BERTH_CGROUP_V2 ? "anon" : "total_rss") &&
		       json_integer_value(json_object_get(json_object_get(stats, "pids_stats"), "current")) >= 1 &&
		       json_integer_value(json_object_get(json_object_get(cpu, "cpu_usage"), "total_usage")) > 0 &&
		       json_integer_value(json_object_get(cpu, "system_cpu_usage")) > 0,
	       "cgroup stats in docker's shape (%s)", err.msg);
	berth_shim_kill(c.state, NULL, SIGKILL, false, &err);
	berth_shim_wait(c.state, NULL, 60000, &ex, &err);
	for (int i = 0; i < 500 && berth_shim_alive(c.state, NULL); i++)
		usleep(10000);
	cleanup_json json_t *gone = berth_cgroup_stats(cgpath, &si, &err);
	TAP_OK(t, !gone && err.kind == BERTH_E_NOT_FOUND, "stats after delete: not found");
}

/* "berthd" (a child here) spawns a shim and is SIGKILLed; the container
 * keeps running and logging; a new "berthd" (us) re-adopts it and later
 * finds the exit recorded. */
static void test_live_restore(struct tap *t)
{
	struct ctr c;
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	pid_t daemon = fork();
	if (daemon == 0) {
		close(pfd[0]);
		struct berth_shim_result res;
		struct berth_error err = {0};
		int rc = ctr_spawn(
			&c,
			"{\"Cmd\":[\"sh\",\"-c\",\"echo one; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo two; exit 5\"]}",
			NULL, true, &res, &err);
		if (write(pfd[1], &c, sizeof(c)) < 0 || rc < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	bool got = read(pfd[0], &c, sizeof(c)) == sizeof(c);
	close(pfd[0]);
	TAP_OK(t, got, "daemon spawned a container");
	if (!got)
		return;
	TAP_OK(t, wait_for_text(c.log, "one"), "container logging");
	kill(daemon, SIGKILL);
	waitpid(daemon, NULL, 0);
	struct berth_shim_state st;
	struct berth_error err = {0};
	TAP_OK(t, berth_shim_reconnect(c.state, &st, &err) == BERTH_SHIM_RUNNING && !strcmp(st.status, "running"),
	       "after daemon SIGKILL: shim alive, re-adopted");
	char go[700];
	snprintf(go, sizeof(go), "%s/tmp/go", rootfs);
	berth_write_file_atomic(go, "", 0, 0644, &err);
	TAP_OK(t, wait_for_text(c.log, "two"), "still logging after the daemon died");
	for (int i = 0; i < 1000 && berth_shim_alive(c.state, NULL); i++)
		usleep(10000);
	unlink(go);
	TAP_OK(t, berth_shim_reconnect(c.state, &st, &err) == BERTH_SHIM_EXITED && st.exit.exit_code == 5,
	       "exit that happened while away is recorded (5)");
}

static void rmdir_cgroups(const char *rel)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[512];
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, rel);
		rmdir(p);
	}
	if (d)
		closedir(d);
	char p[512];
	snprintf(p, sizeof(p), "/sys/fs/cgroup%s", rel);
	rmdir(p);
}

static bool cgroups_left(const char *rel)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	bool left = false;
	while (d && (e = readdir(d))) {
		char p[512];
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, rel);
		struct stat st;
		if (e->d_name[0] != '.' && stat(p, &st) == 0)
			left = true;
	}
	if (d)
		closedir(d);
	return left;
}

int main(void)
{
	struct tap t = {0};
	if (geteuid() != 0 || access(FIXTURE_ROOTFS, R_OK) != 0) {
		printf("1..0 # SKIP needs root and %s\n", FIXTURE_ROOTFS);
		return 0;
	}
	shim_bin = berth_shim_find_binary();
	if (!shim_bin) {
		printf("1..0 # SKIP berth-shim not built\n");
		return 0;
	}
	snprintf(top, sizeof(top), "/tmp/berth-shim-test-%d", (int)getpid());
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", top);
	snprintf(exec_root, sizeof(exec_root), "%s/run", top);
	snprintf(cg_parent, sizeof(cg_parent), "/berth-test-%d", (int)getpid());
	struct berth_error err = {0};
	berth_mkdir_p(rootfs, 0755, &err);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "tar -xf %s -C %s", FIXTURE_ROOTFS, rootfs);
	TAP_OK(&t, system(cmd) == 0, "busybox rootfs extracted");
	berth_sysinfo_probe(&si);

	berth_runtimes_init(&rts, NULL, &err);
	struct berth_probe_opts po = {.state_dir = exec_root, .cgroup_parent = cg_parent, .no_cache = true};
	int pr = berth_runtimes_probe(&rts, &po, &err);
	cleanup_free char *sum = berth_runtimes_summary(&rts);
	printf("# %s\n", sum);
	TAP_OK(&t, pr == 0 && berth_runtimes_resolve(&rts, NULL, &rt, &err) == 0, "a working runtime was found");
	const struct berth_runtime *crun = berth_runtimes_get(&rts, "crun");
	if (crun && si.cgroup_mode == BERTH_CGROUP_HYBRID) {
		TAP_OK(&t, !crun->works && strstr(crun->reason, "hybrid"), "crun refused the hybrid layout: %s",
		       crun->reason);
		cleanup_json json_t *info = berth_runtimes_info(&rts);
		TAP_OK(&t,
		       json_array_size(json_object_get(info, "Warnings")) > 0 &&
			       !strcmp(json_string_value(json_object_get(info, "DefaultRuntime")), "runc"),
		       "info: runc is the default, with a warning about crun");
		const struct berth_runtime *x;
		TAP_OK(&t, berth_runtimes_resolve(&rts, "crun", &x, &err) < 0 && err.kind == BERTH_E_UNAVAILABLE,
		       "--runtime crun refused with the reason");
	}
	struct berth_probe_opts po2 = {.state_dir = exec_root, .cgroup_parent = cg_parent};
	berth_runtimes_probe(&rts, &po2, &err); /* writes the cache */
	berth_runtimes_probe(&rts, &po2, &err);
	TAP_OK(&t, rts.n && rts.rt[0].cached, "second probe answered from the cache");
	if (!rt) {
		printf("# no runtime: skipping container tests\n");
	} else {
		test_echo(&t);
		test_exit_code_and_stderr(&t);
		test_tty(&t);
		test_kill(&t);
		test_limits_oom(&t);
		test_privileged(&t);
		test_log_format(&t);
		test_attach_stdin(&t);
		test_detach(&t);
		test_exec(&t);
		test_live_restore(&t);
	}
	/* a failed test may leave containers running: stop them through their shims */
	for (int i = 0; i < nspawned; i++) {
		if (!berth_shim_alive(spawned[i], NULL))
			continue;
		struct berth_exit ex;
		berth_shim_kill(spawned[i], NULL, SIGKILL, true, &err);
		berth_shim_wait(spawned[i], NULL, 30000, &ex, &err);
		for (int k = 0; k < 500 && berth_shim_alive(spawned[i], NULL); k++)
			usleep(10000);
	}
	/* every container's cgroup went with `runc delete`; the parent is ours */
	rmdir_cgroups(cg_parent);
	bool left = cgroups_left(cg_parent);
	if (left) {
		snprintf(cmd, sizeof(cmd), "find /sys/fs/cgroup/*%s | head -20 | sed 's/^/# /'", cg_parent);
		if (system(cmd)) {
		}
	}
	TAP_OK(&t, !left, "no cgroups left behind");
	berth_runtimes_free(&rts);
	berth_rm_rf(top, &err);
	struct stat st;
	TAP_OK(&t, stat(top, &st) < 0, "temp dir removed");
	free(shim_bin);
	return TAP_DONE(&t);
}
