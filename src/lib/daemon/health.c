#include "health.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/container.h"
#include "daemon/container_ops.h"
#include "daemon/daemon.h"
#include "daemon/exec.h"
#include "runtime/jget.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"

/* docker's defaults (daemon/health.go) */
#define DEFAULT_INTERVAL_NS 30000000000LL
#define DEFAULT_TIMEOUT_NS 30000000000LL
#define DEFAULT_RETRIES 3
#define MAX_LOG_ENTRIES 5
#define MAX_OUTPUT_LEN 4096
#define MIN_DURATION_NS 1000000LL /* containertypes.MinimumDuration */
#define START_TIMEOUT_MS 30000    /* "timed out starting health check" */

struct mon {
	char id[65];
	bool stop;
	pthread_cond_t cv;
	struct berth_health *h;
	struct berth_daemon *d;
	json_t *hc; /* Config.Healthcheck (own copy) */
	json_t *shell;
	char *user, *workdir;
	struct mon *next;
};

struct berth_health {
	pthread_mutex_t mu;
	pthread_cond_t idle;
	struct mon *head;
	int threads;
	bool closing;
};

/* ---- pure parts ---- */

static int64_t dur_or(const json_t *hc, const char *k, int64_t def)
{
	int64_t v = jint(hc, k, 0);
	return v > 0 ? v : def;
}

/* A probe runs for CMD and CMD-SHELL tests only (docker's getProbe). */
static bool has_probe(const json_t *hc)
{
	const char *t = json_string_value(json_array_get(jarr(hc, "Test"), 0));
	return t && (!strcmp(t, "CMD") || !strcmp(t, "CMD-SHELL"));
}

static size_t frac_string(char *out, size_t len, int64_t v, int64_t unit, const char *suffix)
{
	int digits = 0;
	for (int64_t u = unit; u > 1; u /= 10)
		digits++;
	int64_t whole = v / unit, rem = v % unit;
	if (!rem)
		return (size_t)snprintf(out, len, "%lld%s", (long long)whole, suffix);
	char f[32];
	snprintf(f, sizeof(f), "%0*lld", digits & 15, (long long)(rem < 0 ? 0 : rem));
	size_t n = strlen(f);
	while (n > 0 && f[n - 1] == '0')
		f[--n] = '\0';
	return (size_t)snprintf(out, len, "%lld.%s%s", (long long)whole, f, suffix);
}

void berth_health_duration_string(int64_t ns, char *out, size_t len)
{
	if (ns <= 0) {
		snprintf(out, len, "0s");
		return;
	}
	if (ns < 1000) {
		snprintf(out, len, "%lldns", (long long)ns);
		return;
	}
	if (ns < 1000000) {
		frac_string(out, len, ns, 1000, "\xc2\xb5s");
		return;
	}
	if (ns < 1000000000LL) {
		frac_string(out, len, ns, 1000000, "ms");
		return;
	}
	int64_t secs = ns / 1000000000LL, h = secs / 3600, m = (secs / 60) % 60;
	int64_t rest = ns - (h * 3600 + m * 60) * 1000000000LL;
	size_t w = 0;
	if (h)
		w = (size_t)snprintf(out, len, "%lldh%lldm", (long long)h, (long long)m);
	else if (m)
		w = (size_t)snprintf(out, len, "%lldm", (long long)m);
	if (w < len)
		frac_string(out + w, len - w, rest, 1000000000LL, "s");
}

int berth_health_validate(const json_t *hc, struct berth_error *err)
{
	if (!json_is_object(hc))
		return 0;
	static const char *const durs[] = {"Interval", "Timeout"};
	for (size_t i = 0; i < 2; i++) {
		int64_t v = jint(hc, durs[i], 0);
		if (v != 0 && v < MIN_DURATION_NS)
			return berth_err(err, BERTH_E_INVALID, "%s in Healthcheck cannot be less than 1ms", durs[i]);
	}
	if (jint(hc, "Retries", 0) < 0)
		return berth_err(err, BERTH_E_INVALID, "Retries in Healthcheck cannot be negative");
	int64_t sp = jint(hc, "StartPeriod", 0);
	if (sp != 0 && sp < MIN_DURATION_NS)
		return berth_err(err, BERTH_E_INVALID, "StartPeriod in Healthcheck cannot be less than 1ms");
	return 0;
}

void berth_health_merge(json_t *cfg, const json_t *img_cfg)
{
	json_t *ihc = jobj(img_cfg, "Healthcheck");
	if (!ihc)
		return;
	json_t *uhc = jobj(cfg, "Healthcheck");
	if (!uhc) {
		json_object_set(cfg, "Healthcheck", ihc);
		return;
	}
	if (!jarr_len(jarr(uhc, "Test")) && jarr(ihc, "Test"))
		json_object_set(uhc, "Test", jarr(ihc, "Test"));
	static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!jint(uhc, nums[i], 0) && jget(ihc, nums[i]))
			json_object_set(uhc, nums[i], jget(ihc, nums[i]));
}

const char *berth_health_status(const json_t *state)
{
	json_t *h = jobj(state, "Health");
	if (!h)
		return "none";
	return jstr_ne(h, "Status") ? jstr(h, "Status") : "unhealthy";
}

const char *berth_health_status_suffix(const json_t *state)
{
	const char *s = berth_health_status(state);
	if (!strcmp(s, "none"))
		return "";
	if (!strcmp(s, "starting"))
		return " (health: starting)";
	if (!strcmp(s, "healthy"))
		return " (healthy)";
	return " (unhealthy)";
}

bool berth_health_apply(json_t *state, const json_t *hc, int64_t started_ns, const struct berth_health_result *r)
{
	json_t *h = jobj(state, "Health");
	if (!h) {
		h = json_pack("{s:s, s:i, s:n}", "Status", "starting", "FailingStreak", 0, "Log");
		json_object_set_new(state, "Health", h);
	}
	char old[32];
	snprintf(old, sizeof(old), "%s", berth_health_status(state));
	json_t *log = jarr(h, "Log");
	if (!log) {
		log = json_array();
		json_object_set_new(h, "Log", log);
	}
	while (json_array_size(log) >= MAX_LOG_ENTRIES)
		json_array_remove(log, 0);
	char st[64], en[64];
	berth_time_rfc3339(r->start_ns, st, sizeof(st));
	berth_time_rfc3339(r->end_ns, en, sizeof(en));
	json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:s}", "Start", st, "End", en, "ExitCode", r->exit_code,
					     "Output", r->output ? r->output : ""));
	int64_t streak = jint(h, "FailingStreak", 0);
	if (r->exit_code == 0) {
		streak = 0;
		json_object_set_new(h, "Status", json_string("healthy"));
	} else {
		bool inc = true;
		if (!strcmp(old, "starting") && r->start_ns - started_ns < jint(hc, "StartPeriod", 0))
			inc = false; /* within the start period: failures do not count yet */
		if (inc) {
			streak++;
			int64_t retries = jint(hc, "Retries", 0);
			if (streak >= (retries > 0 ? retries : DEFAULT_RETRIES))
				json_object_set_new(h, "Status", json_string("unhealthy"));
		}
	}
	json_object_set_new(h, "FailingStreak", json_integer(streak));
	return strcmp(old, berth_health_status(state)) != 0;
}

void berth_health_reset_locked(struct berth_container *c)
{
	json_t *doc = berth_container_doc_or_log(c, "health not reset");
	json_t *hc = jobj(jobj(doc, "Config"), "Healthcheck");
	if (!has_probe(hc))
		return;
	json_t *state = json_object_get(doc, "State");
	json_t *h = jobj(state, "Health");
	if (!h)
		json_object_set_new(state, "Health",
				    json_pack("{s:s, s:i, s:n}", "Status", "starting", "FailingStreak", 0, "Log"));
	else {
		json_object_set_new(h, "Status", json_string("starting"));
		json_object_set_new(h, "FailingStreak", json_integer(0));
	}
}

/* ---- the probe ---- */

static bool stopped(struct mon *m)
{
	pthread_mutex_lock(&m->h->mu);
	bool s = m->stop;
	pthread_mutex_unlock(&m->h->mu);
	return s;
}

/* docker's limitedBuffer: 4096 bytes, "..." when more came */
struct outbuf {
	char data[MAX_OUTPUT_LEN + 4];
	size_t len;
	bool truncated;
};

static void outbuf_add(struct outbuf *o, const char *p, size_t n)
{
	size_t keep = MAX_OUTPUT_LEN - o->len < n ? MAX_OUTPUT_LEN - o->len : n;
	memcpy(o->data + o->len, p, keep);
	o->len += keep;
	if (keep < n)
		o->truncated = true;
}

/* The exec's Cmd: Test[1:], after the shell for CMD-SHELL. */
static json_t *probe_cmd(const struct mon *m)
{
	json_t *test = jarr(m->hc, "Test");
	json_t *cmd = json_array();
	if (!strcmp(json_string_value(json_array_get(test, 0)), "CMD-SHELL")) {
		if (jarr_len(m->shell))
			json_array_extend(cmd, m->shell);
		else {
			json_array_append_new(cmd, json_string("/bin/sh"));
			json_array_append_new(cmd, json_string("-c"));
		}
	}
	for (size_t i = 1; i < json_array_size(test); i++)
		json_array_append(cmd, json_array_get(test, i));
	return cmd;
}

/* Copy the probe's output until it ends; on timeout or stop, kill it.
 * Returns 1 on timeout, 0 otherwise. */
static int read_output(struct mon *m, int sfd, const char *state_dir, const char *exec_id, int64_t timeout_ns,
		       struct outbuf *o)
{
	int64_t deadline = berth_now_ns() + timeout_ns;
	bool killed = false;
	int timed_out = 0;
	int64_t kill_deadline = 0;
	char buf[4096];
	for (;;) {
		int64_t now = berth_now_ns();
		if (!killed && (now >= deadline || stopped(m))) {
			timed_out = now >= deadline;
			berth_shim_kill(state_dir, exec_id, SIGKILL, false, NULL);
			killed = true;
			kill_deadline = now + 5000000000LL;
		}
		if (killed && now >= kill_deadline)
			break; /* the shim did not close the stream: give up on it */
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		int r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		ssize_t n = read(sfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		outbuf_add(o, buf, (size_t)n);
	}
	return timed_out;
}

/* One probe run (docker's cmdProbe.run); fills r (r->output points into o
 * or msg). */
static void run_probe(struct mon *m, struct berth_container *ct, struct berth_health_result *r, struct outbuf *o,
		      char *msg, size_t msglen)
{
	struct berth_daemon *d = m->d;
	struct berth_error err = {0};
	r->start_ns = berth_now_ns();
	r->exit_code = -1;
	r->output = msg;
	cleanup_json json_t *cfg = json_pack("{s:o, s:b, s:b, s:b, s:b, s:s, s:s}", "Cmd", probe_cmd(m), "AttachStdout",
					     1, "AttachStderr", 1, "Tty", 0, "Privileged", 0, "User",
					     m->user ? m->user : "", "WorkingDir", m->workdir ? m->workdir : "");
	char id[65];
	if (berth_exec_create(d, ct, cfg, id, &err) < 0) {
		snprintf(msg, msglen, "%s", err.msg);
		r->end_ns = berth_now_ns();
		return;
	}
	struct berth_exec *e = berth_exec_get(d->execs, id, &err);
	if (!e) {
		snprintf(msg, msglen, "%s", err.msg);
		r->end_ns = berth_now_ns();
		return;
	}
	berth_exec_set(d->execs, e, true, false, false, 0, 0);
	cleanup_free char *state_dir = berth_ctr_state_dir(d, ct->id);
	cleanup_free char *spec_path = berth_strdup_printf("%s/config.json", state_dir);
	cleanup_json json_t *spec = json_load_file(spec_path, 0, NULL);
	json_t *process = NULL;
	int sfd = -1, wfd = -1;
	char *root = spec ? berth_ctr_root_view(ct, spec) : NULL;
	if (spec)
		process = berth_oci_exec_process_build(spec, cfg, root, &d->sysinfo, &err);
	else
		berth_err(&err, BERTH_E_INTERNAL, "container %s has no runtime spec", ct->id);
	free(root);
	if (!process || berth_shim_exec_create(state_dir, id, process, false, false, &err) < 0)
		goto failed;
	struct berth_error werr = {0};
	wfd = berth_shim_wait_begin(state_dir, id, &werr); /* before the start: the shim may leave right after */
	struct berth_attach_opts ao = {.exec_id = id, .out = true, .err = true};
	sfd = berth_shim_attach(state_dir, &ao, &err);
	if (sfd < 0)
		goto failed;
	pid_t pid = 0;
	int code = 0;
	if (berth_shim_exec_start(state_dir, id, &pid, &code, &err) < 0)
		goto failed;
	berth_exec_set(d->execs, e, true, true, false, pid, 0);
	berth_exec_event(d, ct, "exec_start", e);
	int64_t timeout = dur_or(m->hc, "Timeout", DEFAULT_TIMEOUT_NS);
	int timed_out = read_output(m, sfd, state_dir, id, timeout, o);
	close(sfd);
	sfd = -1;
	if (stopped(m)) { /* killed by a stop (or pause: its end may wait for a thaw); nobody uses the result */
		berth_exec_set(d->execs, e, true, false, true, 0, 137);
		if (wfd >= 0)
			close(wfd);
	} else
		code = berth_exec_finish(d, e, state_dir, wfd);
	wfd = -1;
	r->end_ns = berth_now_ns();
	if (timed_out) {
		char ds[64];
		berth_health_duration_string(timeout, ds, sizeof(ds));
		snprintf(msg, msglen, "Health check exceeded timeout (%s)", ds);
		r->exit_code = -1;
	} else {
		if (o->truncated)
			memcpy(o->data + o->len, "...", 3), o->len += 3;
		o->data[o->len] = '\0';
		r->output = o->data;
		r->exit_code = code;
	}
	json_decref(process);
	berth_exec_remove(d->execs, e);
	berth_exec_put(d->execs, e);
	return;
failed:
	if (sfd >= 0)
		close(sfd);
	if (wfd >= 0)
		close(wfd);
	json_decref(process);
	berth_exec_set(d->execs, e, true, false, true, 0, 126);
	snprintf(msg, msglen, "%s", err.msg);
	r->end_ns = berth_now_ns();
	berth_exec_remove(d->execs, e);
	berth_exec_put(d->execs, e);
}

/* handleProbeResult: under the container's lock, unless the monitor was
 * stopped meanwhile; the record is written and a status change announced. */
static void record(struct mon *m, struct berth_container *ct, const struct berth_health_result *r)
{
	pthread_mutex_lock(&ct->mu);
	if (stopped(m) || ct->state != CS_RUNNING) {
		pthread_mutex_unlock(&ct->mu);
		return;
	}
	json_t *doc = berth_container_doc_or_log(ct, "health result not recorded");
	if (!doc) {
		pthread_mutex_unlock(&ct->mu);
		return;
	}
	bool changed = berth_health_apply(json_object_get(doc, "State"), m->hc, ct->started_ns, r);
	struct berth_container_snap *snap = berth_container_snapshot(ct);
	if (changed) {
		cleanup_free char *action =
			berth_strdup_printf("health_status: %s", berth_health_status(jobj(doc, "State")));
		berth_ctr_event_locked(m->d, ct, action, NULL);
	}
	pthread_mutex_unlock(&ct->mu);
	berth_container_write(m->d->containers, snap, NULL);
}

static void mon_free(struct mon *m)
{
	if (m->h)
		pthread_cond_destroy(&m->cv);
	json_decref(m->hc);
	json_decref(m->shell);
	free(m->user);
	free(m->workdir);
	free(m);
}

/* Take m off the list (h->mu held). */
static void unlist_locked(struct berth_health *h, struct mon *m)
{
	for (struct mon **pp = &h->head; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	h->threads--;
	pthread_cond_broadcast(&h->idle);
}

/* A probe that failed because the container is dying says nothing of its
 * health: its result is dropped (the exit stops the monitor). */
static bool container_gone(struct berth_daemon *d, const char *id)
{
	cleanup_free char *state_dir = berth_ctr_state_dir(d, id);
	struct berth_shim_state st = {0};
	if (berth_shim_state(state_dir, NULL, &st, NULL) < 0)
		return true;
	return st.exited || strcmp(st.status, "running") != 0;
}

static void *monitor_main(void *arg)
{
	struct mon *m = arg;
	struct berth_health *h = m->h;
	struct berth_container *ct = berth_container_get(m->d->containers, m->id, NULL);
	int64_t interval = dur_or(m->hc, "Interval", DEFAULT_INTERVAL_NS);
	pthread_mutex_lock(&h->mu);
	while (ct && !m->stop) {
		int64_t deadline = berth_now_ns() + interval;
		for (int64_t now = berth_now_ns(); !m->stop && now < deadline; now = berth_now_ns()) {
			int64_t left_ms = (deadline - now + 999999) / 1000000;
			berth_cond_wait_ms(&m->cv, &h->mu, left_ms > 1000 ? 1000 : (long)left_ms);
		}
		if (m->stop)
			break;
		pthread_mutex_unlock(&h->mu);
		pthread_mutex_lock(&ct->mu);
		bool running = ct->state == CS_RUNNING; /* paused: no probe (docker stops its monitor) */
		pthread_mutex_unlock(&ct->mu);
		if (running) {
			struct outbuf *o = calloc(1, sizeof(*o));
			char msg[1200] = "";
			struct berth_health_result r = {0};
			if (o) {
				run_probe(m, ct, &r, o, msg, sizeof(msg));
				if (r.exit_code == 0 || !container_gone(m->d, m->id))
					record(m, ct, &r);
				free(o);
			}
		}
		pthread_mutex_lock(&h->mu);
	}
	unlist_locked(h, m);
	pthread_mutex_unlock(&h->mu);
	if (ct)
		berth_container_put(m->d->containers, ct);
	mon_free(m);
	return NULL;
}

/* ---- registry ---- */

struct berth_health *berth_health_new(void)
{
	struct berth_health *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->idle, NULL);
	return h;
}

/* Returns whether a monitor was running. */
static bool stop_locked(struct berth_health *h, const char *id)
{
	bool any = false;
	for (struct mon *m = h->head; m; m = m->next)
		if ((!id || !strcmp(m->id, id)) && !m->stop) {
			m->stop = true;
			any = true;
			pthread_cond_broadcast(&m->cv);
		}
	return any;
}

void berth_health_free(struct berth_health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->closing = true;
	stop_locked(h, NULL);
	while (h->threads > 0)
		pthread_cond_wait(&h->idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void berth_health_stop_locked(struct berth_daemon *d, struct berth_container *c)
{
	struct berth_health *h = d->health;
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	bool was = stop_locked(h, c->id);
	pthread_mutex_unlock(&h->mu);
	json_t *health =
		was ? jobj(jobj(berth_container_doc_or_log(c, "health not stopped"), "State"), "Health") : NULL;
	if (was && health)
		json_object_set_new(health, "Status", json_string("unhealthy"));
}

void berth_health_watch(struct berth_daemon *d, struct berth_container *c)
{
	struct berth_health *h = d->health;
	if (!h)
		return;
	struct mon *m = calloc(1, sizeof(*m));
	if (!m)
		return;
	pthread_mutex_lock(&c->mu);
	json_t *cfg = jobj(berth_container_doc_or_log(c, "no health monitor"), "Config");
	bool probe = has_probe(jobj(cfg, "Healthcheck")) && c->state == CS_RUNNING;
	if (probe) {
		m->hc = json_deep_copy(jobj(cfg, "Healthcheck"));
		m->shell = jarr(cfg, "Shell") ? json_deep_copy(jarr(cfg, "Shell")) : NULL;
		m->user = jstr(cfg, "User") ? strdup(jstr(cfg, "User")) : NULL;
		m->workdir = jstr(cfg, "WorkingDir") ? strdup(jstr(cfg, "WorkingDir")) : NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (!probe || !m->hc) {
		mon_free(m);
		return;
	}
	snprintf(m->id, sizeof(m->id), "%s", c->id);
	m->h = h;
	m->d = d;
	pthread_cond_init(&m->cv, NULL);
	pthread_mutex_lock(&h->mu);
	if (h->closing) {
		pthread_mutex_unlock(&h->mu);
		mon_free(m);
		return;
	}
	stop_locked(h, c->id); /* never two monitors for one container */
	m->next = h->head;
	h->head = m;
	h->threads++;
	pthread_mutex_unlock(&h->mu);
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, monitor_main, m) != 0) {
		berth_log(&d->log, BERTH_LOG_WARN, "container %.12s: cannot start its health monitor", c->id);
		pthread_mutex_lock(&h->mu);
		unlist_locked(h, m);
		pthread_mutex_unlock(&h->mu);
		mon_free(m);
	}
	pthread_attr_destroy(&a);
}

void berth_health_restore(struct berth_daemon *d, struct berth_container *c)
{
	pthread_mutex_lock(&c->mu);
	if (!has_probe(jobj(jobj(berth_container_doc_or_log(c, "health not restored"), "Config"), "Healthcheck")) ||
	    c->state != CS_RUNNING) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	berth_health_reset_locked(c);
	struct berth_container_snap *snap = berth_container_snapshot(c);
	pthread_mutex_unlock(&c->mu);
	berth_container_write(d->containers, snap, NULL);
	berth_health_watch(d, c);
}
