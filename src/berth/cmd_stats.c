/* stats (live table or --no-stream), update, and system prune: docker's
 * cli/command/container/stats*.go, update.go and system/prune.go. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_common.h"
#include "common/cleanup.h"
#include "container_opts.h"
#include "format/table.h"
#include "format/units.h"
#include "output.h"

static int parse_or_return(struct cli *c, int argc, char **argv, const struct cli_opt *opts, char ***args)
{
	int pr = cli_parse(c, argc, argv, opts, false, args);
	return pr < 0 ? 125 : pr > 0 ? 0 : -1;
}

static void print_requires(struct cli *c, const char *what, const char *usage, const char *summary)
{
	fprintf(stderr, "\"%s\" %s.\nSee '%s --help'.\n\nUsage:  %s %s\n\n%s\n", c->cmdpath, what, c->cmdpath,
		c->cmdpath, usage, summary);
}

/* "Error response from daemon: ..." or the connection error, as docker's client words them. */
static void daemon_msg(const struct berth_error *in, char *out, size_t len)
{
	if (in->kind == BERTH_E_UNAVAILABLE &&
	    (strstr(in->msg, "Cannot connect") || strstr(in->msg, "error during connect")))
		snprintf(out, len, "%s", in->msg);
	else
		snprintf(out, len, "Error response from daemon: %s", in->msg);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ======================================================================
 * stats
 * ==================================================================== */

struct st_entry {
	char *container; /* what the table's Container column shows: the argument or ID[:12] */
	struct st_state *st;
	/* last values (StatsEntry) */
	char *name, *id;
	double cpu, mem, mem_limit, mem_pct, net_rx, net_tx, blk_r, blk_w;
	unsigned long long pids;
	bool invalid;
	char *err;       /* collect error (GetError) */
	bool first;      /* first answer (data or error) arrived */
	bool removed;    /* dropped from the table: its collector stops */
	int64_t last_ns; /* when data last arrived (0: never) */
	int64_t added_ns;
	struct berth_buf pending;
	pthread_t thread;
	bool started;
};

struct st_state {
	struct cli *c;
	bool stream, all;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct st_entry **v; /* the table, in order of addition */
	size_t n;
	struct st_entry **every; /* every entry made (kept until the end) */
	size_t nevery;
	char *events_err;
	bool events_done;
};

static void entry_apply(struct st_entry *e, json_t *v)
{
	json_t *cpu = json_object_get(v, "cpu_stats"), *pre = json_object_get(v, "precpu_stats");
	double total = (double)json_integer_value(json_object_get(json_object_get(cpu, "cpu_usage"), "total_usage"));
	double pre_total =
		(double)json_integer_value(json_object_get(json_object_get(pre, "cpu_usage"), "total_usage"));
	double sys = (double)json_integer_value(json_object_get(cpu, "system_cpu_usage"));
	double pre_sys = (double)json_integer_value(json_object_get(pre, "system_cpu_usage"));
	double online = (double)json_integer_value(json_object_get(cpu, "online_cpus"));
	if (online == 0.0)
		online = (double)json_array_size(json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
	double cpu_delta = total - pre_total, sys_delta = sys - pre_sys, cpu_pct = 0.0;
	if (sys_delta > 0.0 && cpu_delta > 0.0)
		cpu_pct = (cpu_delta / sys_delta) * online * 100.0;

	json_t *mem = json_object_get(v, "memory_stats"), *ms = json_object_get(mem, "stats");
	unsigned long long usage = (unsigned long long)json_integer_value(json_object_get(mem, "usage"));
	double used = (double)usage;
	json_t *tif = json_object_get(ms, "total_inactive_file");
	unsigned long long inact = (unsigned long long)json_integer_value(json_object_get(ms, "inactive_file"));
	if (tif && (unsigned long long)json_integer_value(tif) < usage)
		used = (double)(usage - (unsigned long long)json_integer_value(tif));
	else if (inact < usage)
		used = (double)(usage - inact);
	double limit = (double)json_integer_value(json_object_get(mem, "limit"));

	unsigned long long br = 0, bw = 0;
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(json_object_get(v, "blkio_stats"), "io_service_bytes_recursive"), i, b) {
		const char *op = json_string_value(json_object_get(b, "op"));
		unsigned long long val = (unsigned long long)json_integer_value(json_object_get(b, "value"));
		if (op && (op[0] == 'r' || op[0] == 'R'))
			br += val;
		else if (op && (op[0] == 'w' || op[0] == 'W'))
			bw += val;
	}
	double rx = 0, tx = 0;
	const char *k;
	json_t *n;
	json_object_foreach(json_object_get(v, "networks"), k, n) {
		rx += (double)json_integer_value(json_object_get(n, "rx_bytes"));
		tx += (double)json_integer_value(json_object_get(n, "tx_bytes"));
	}
	free(e->name);
	free(e->id);
	e->name = strdup(json_string_value(json_object_get(v, "name")) ? json_string_value(json_object_get(v, "name")) :
									 "");
	e->id = strdup(json_string_value(json_object_get(v, "id")) ? json_string_value(json_object_get(v, "id")) : "");
	e->cpu = cpu_pct;
	e->mem = used;
	e->mem_limit = limit;
	e->mem_pct = limit != 0 ? used / limit * 100.0 : 0;
	e->net_rx = rx;
	e->net_tx = tx;
	e->blk_r = (double)br;
	e->blk_w = (double)bw;
	e->pids = (unsigned long long)json_integer_value(json_object_get(json_object_get(v, "pids_stats"), "current"));
	e->invalid = false;
	free(e->err);
	e->err = NULL;
	e->first = true;
	e->last_ns = now_ns();
}

static int on_stats(void *ctx, const char *data, size_t len)
{
	struct st_entry *e = ctx;
	struct st_state *st = e->st;
	berth_buf_append(&e->pending, data, len);
	char *nl;
	while (e->pending.len && (nl = memchr(e->pending.data, '\n', e->pending.len))) {
		size_t line = (size_t)(nl - e->pending.data);
		json_t *v = json_loadb(e->pending.data, line, 0, NULL);
		memmove(e->pending.data, nl + 1, e->pending.len - line - 1);
		e->pending.len -= line + 1;
		if (!v)
			continue;
		pthread_mutex_lock(&st->mu);
		entry_apply(e, v);
		pthread_cond_broadcast(&st->cond);
		bool stop = e->removed || !st->stream;
		pthread_mutex_unlock(&st->mu);
		json_decref(v);
		if (stop)
			return -1;
	}
	pthread_mutex_lock(&st->mu);
	bool stop = e->removed;
	pthread_mutex_unlock(&st->mu);
	return stop ? -1 : 0;
}

static void *collect_main(void *arg)
{
	struct st_entry *e = arg;
	struct st_state *st = e->st;
	cleanup_free char *q = berth_urlencode(e->container);
	cleanup_free char *path = berth_strdup_printf("/containers/%s/stats?stream=%d", q, st->stream ? 1 : 0);
	struct berth_response resp;
	struct berth_error err = {0};
	char msg[1200] = "";
	int rc = berth_client_do(&st->c->cl, "GET", path, NULL, NULL, NULL, on_stats, e, &resp, &err);
	if (rc < 0) {
		pthread_mutex_lock(&st->mu);
		bool stopped = e->removed || (!st->stream && e->last_ns);
		pthread_mutex_unlock(&st->mu);
		if (!stopped)
			daemon_msg(&err, msg, sizeof(msg));
	} else {
		if (resp.status >= 300) {
			berth_client_error(&resp, &err);
			daemon_msg(&err, msg, sizeof(msg));
		} else if (e->pending.len) {
			json_t *v = json_loadb(e->pending.data, e->pending.len, 0, NULL);
			if (v) {
				pthread_mutex_lock(&st->mu);
				entry_apply(e, v);
				pthread_mutex_unlock(&st->mu);
				json_decref(v);
			}
		}
		if (!msg[0] && st->stream)
			snprintf(msg, sizeof(msg), "EOF");
		berth_response_free(&resp);
	}
	pthread_mutex_lock(&st->mu);
	if (msg[0]) {
		free(e->err);
		e->err = strdup(msg);
		e->invalid = true;
	}
	e->first = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* cStats.add: a new row unless known; starts its collector. Call with st->mu held. */
static void add_locked(struct st_state *st, const char *container)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->v[i]->container, container))
			return;
	struct st_entry *e = calloc(1, sizeof(*e));
	e->container = strdup(container);
	e->st = st;
	e->added_ns = now_ns();
	st->v = realloc(st->v, (st->n + 1) * sizeof(*st->v));
	st->v[st->n++] = e;
	st->every = realloc(st->every, (st->nevery + 1) * sizeof(*st->every));
	st->every[st->nevery++] = e;
	e->started = pthread_create(&e->thread, NULL, collect_main, e) == 0;
	if (!e->started) {
		e->first = true;
		e->err = strdup("cannot start a thread");
	} else if (st->stream) {
		pthread_detach(e->thread);
	}
}

static void remove_locked(struct st_state *st, const char *container)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->v[i]->container, container)) {
			st->v[i]->removed = true;
			memmove(st->v + i, st->v + i + 1, (st->n - i - 1) * sizeof(*st->v));
			st->n--;
			return;
		}
}

struct ev_ctx {
	struct st_state *st;
	struct berth_buf pending;
};

static int on_event(void *ctx, const char *data, size_t len)
{
	struct ev_ctx *ec = ctx;
	struct st_state *st = ec->st;
	berth_buf_append(&ec->pending, data, len);
	char *nl;
	while (ec->pending.len && (nl = memchr(ec->pending.data, '\n', ec->pending.len))) {
		size_t line = (size_t)(nl - ec->pending.data);
		json_t *m = json_loadb(ec->pending.data, line, 0, NULL);
		memmove(ec->pending.data, nl + 1, ec->pending.len - line - 1);
		ec->pending.len -= line + 1;
		const char *action = json_string_value(json_object_get(m, "Action"));
		if (!action)
			action = json_string_value(json_object_get(m, "status"));
		const char *id = json_string_value(json_object_get(json_object_get(m, "Actor"), "ID"));
		if (!id)
			id = json_string_value(json_object_get(m, "id"));
		if (action && id && strlen(id) >= 12) {
			char short_id[13];
			snprintf(short_id, sizeof(short_id), "%.12s", id);
			pthread_mutex_lock(&st->mu);
			if ((!strcmp(action, "create") && st->all) || !strcmp(action, "start"))
				add_locked(st, short_id);
			else if (!strcmp(action, "die") && !st->all)
				remove_locked(st, short_id);
			pthread_mutex_unlock(&st->mu);
		}
		json_decref(m);
	}
	return 0;
}

static void *events_main(void *arg)
{
	struct st_state *st = arg;
	struct ev_ctx ec = {.st = st};
	cleanup_free char *f = berth_urlencode("{\"type\":{\"container\":true}}");
	cleanup_free char *path = berth_strdup_printf("/events?filters=%s", f);
	struct berth_response resp;
	struct berth_error err = {0};
	char msg[1200] = "";
	if (berth_client_do(&st->c->cl, "GET", path, NULL, NULL, NULL, on_event, &ec, &resp, &err) < 0) {
		daemon_msg(&err, msg, sizeof(msg));
	} else {
		if (resp.status >= 300) {
			berth_client_error(&resp, &err);
			daemon_msg(&err, msg, sizeof(msg));
		}
		berth_response_free(&resp);
	}
	berth_buf_free(&ec.pending);
	pthread_mutex_lock(&st->mu);
	st->events_err = msg[0] ? strdup(msg) : NULL;
	st->events_done = true;
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

static const struct berth_header_map stats_headers[] = {
	{"Container", "CONTAINER"},
	{"Name", "NAME"},
	{"ID", "CONTAINER ID"},
	{"CPUPerc", "CPU %"},
	{"MemUsage", "MEM USAGE / LIMIT"},
	{"MemPerc", "MEM %"},
	{"NetIO", "NET I/O"},
	{"BlockIO", "BLOCK I/O"},
	{"PIDs", "PIDS"},
	{NULL, NULL},
};

#define STATS_TABLE                                                                                                    \
	"table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

/* One row as docker's statsContext renders it (keys sorted, as {{json .}} prints them). */
static json_t *row(const struct st_entry *e, bool trunc)
{
	char cpu[64], memu[96], memp[64], net[96], blk[96], pids[32], a[32], b[32];
	if (e->invalid) {
		snprintf(cpu, sizeof(cpu), "--");
		snprintf(memu, sizeof(memu), "-- / --");
		snprintf(memp, sizeof(memp), "--");
		snprintf(net, sizeof(net), "--");
		snprintf(blk, sizeof(blk), "--");
		snprintf(pids, sizeof(pids), "--");
	} else {
		snprintf(cpu, sizeof(cpu), "%.2f%%", e->cpu);
		berth_bytes_size(e->mem, a, sizeof(a));
		berth_bytes_size(e->mem_limit, b, sizeof(b));
		snprintf(memu, sizeof(memu), "%s / %s", a, b);
		snprintf(memp, sizeof(memp), "%.2f%%", e->mem_pct);
		berth_human_size_prec(e->net_rx, 3, a, sizeof(a));
		berth_human_size_prec(e->net_tx, 3, b, sizeof(b));
		snprintf(net, sizeof(net), "%s / %s", a, b);
		berth_human_size_prec(e->blk_r, 3, a, sizeof(a));
		berth_human_size_prec(e->blk_w, 3, b, sizeof(b));
		snprintf(blk, sizeof(blk), "%s / %s", a, b);
		snprintf(pids, sizeof(pids), "%llu", e->pids);
	}
	const char *name = e->name && strlen(e->name) > 1 ? e->name + 1 : "--";
	char id[80];
	snprintf(id, sizeof(id), trunc ? "%.12s" : "%s", e->id ? e->id : "");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", blk, "CPUPerc", cpu, "Container",
			 e->container, "ID", id, "MemPerc", memp, "MemUsage", memu, "Name", name, "NetIO", net, "PIDs",
			 pids);
}

static void free_state(struct st_state *st, bool join)
{
	for (size_t i = 0; i < st->nevery; i++) {
		struct st_entry *e = st->every[i];
		if (join && e->started)
			pthread_join(e->thread, NULL);
		free(e->container);
		free(e->name);
		free(e->id);
		free(e->err);
		berth_buf_free(&e->pending);
		free(e);
	}
	free(st->every);
	free(st->v);
	free(st->events_err);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cond);
}

static int cmd_stats(struct cli *c, int argc, char **argv)
{
	bool all = false, no_stream = false, no_trunc = false;
	char *format = NULL;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Show all containers (default shows just running)"},
		{"format", 0, OPT_STR, &format, "Pretty-print images using a Go template"},
		{"no-stream", 0, OPT_BOOL, &no_stream, "Disable streaming stats and only pull the first result"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Do not truncate output"},
		END_OPTS,
	};
	char **args = NULL;
	int pr = parse_or_return(c, argc, argv, opts, &args);
	if (pr >= 0) {
		free(format);
		return pr;
	}
	struct st_state st = {.c = c, .stream = !no_stream, .all = all};
	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cond, NULL);
	bool show_all = !args;
	int rc = 0;
	pthread_t evt;
	bool ev_started = false;
	struct berth_error err = {0};
	if (show_all) {
		/* watch create/start/die (live table only: the one-shot table is a snapshot) */
		if (st.stream)
			ev_started = pthread_create(&evt, NULL, events_main, &st) == 0;
		if (ev_started)
			pthread_detach(evt);
		cleanup_json json_t *list = NULL;
		if (berth_client_json(&c->cl, "GET", all ? "/containers/json?all=1" : "/containers/json", NULL, &list,
				      &err) < 0) {
			char msg[1200];
			daemon_msg(&err, msg, sizeof(msg));
			fprintf(stderr, "%s\n", msg);
			rc = 1;
			if (!st.stream)
				goto out;
		}
		size_t i;
		json_t *ct;
		pthread_mutex_lock(&st.mu);
		json_array_foreach(list, i, ct) {
			char short_id[13];
			snprintf(short_id, sizeof(short_id), "%.12s", json_string_value(json_object_get(ct, "Id")));
			add_locked(&st, short_id);
		}
		pthread_mutex_unlock(&st.mu);
	} else {
		pthread_mutex_lock(&st.mu);
		for (size_t i = 0; args[i]; i++)
			add_locked(&st, args[i]);
		pthread_mutex_unlock(&st.mu);
	}
	/* waitFirst: every row has its first answer (live table: or it shows "--") */
	pthread_mutex_lock(&st.mu);
	for (;;) {
		bool waiting = false;
		int64_t now = now_ns();
		for (size_t i = 0; i < st.n; i++) {
			struct st_entry *e = st.v[i];
			/* docker's 2 s timer starts once the response headers are in: a
			 * one-shot answer (about 1-2 s on dockerd) is waited for */
			if (!e->first && st.stream && now - e->added_ns >= 3000000000LL) {
				e->first = true;
				e->invalid = true;
				free(e->err);
				e->err = strdup("timeout waiting for stats");
			}
			waiting |= !e->first;
		}
		if (!waiting)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&st.cond, &st.mu, &ts);
	}
	if (!show_all) {
		struct berth_buf errs = {0};
		for (size_t i = 0; i < st.n; i++)
			if (st.v[i]->err && strcmp(st.v[i]->err, "EOF"))
				berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", st.v[i]->err);
		if (errs.len) {
			pthread_mutex_unlock(&st.mu);
			fprintf(stderr, "%s\n", berth_buf_str(&errs));
			berth_buf_free(&errs);
			rc = 1;
			goto out;
		}
	}
	pthread_mutex_unlock(&st.mu);

	for (;;) {
		pthread_mutex_lock(&st.mu);
		int64_t now = now_ns();
		json_t *items = json_array();
		for (size_t i = 0; i < st.n; i++) {
			struct st_entry *e = st.v[i];
			if (st.stream && e->last_ns && now - e->last_ns >= 2000000000LL && !e->invalid) {
				/* no update within 2 s: docker zeroes the row */
				e->invalid = true;
			}
			json_array_append_new(items, row(e, !no_trunc));
		}
		size_t nrows = st.n;
		bool ev_done = st.events_done;
		cleanup_free char *ev_err = st.events_err ? strdup(st.events_err) : NULL;
		pthread_mutex_unlock(&st.mu);
		struct berth_buf out = {0};
		int fr = berth_format_list_buf(format && *format ? format : "table", STATS_TABLE, stats_headers, items,
					       &out, &err);
		json_decref(items);
		if (fr < 0) {
			berth_buf_free(&out);
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
			break;
		}
		if (st.stream) {
			/* redraw in place: home, each line then erase-to-end-of-line, erase below */
			struct berth_buf screen = {0};
			berth_buf_printf(&screen, "\033[H");
			const char *p = berth_buf_str(&out);
			for (;;) {
				const char *nl = strchr(p, '\n');
				size_t l = nl ? (size_t)(nl - p) : strlen(p);
				if (!nl && !l)
					break;
				berth_buf_append(&screen, p, l);
				berth_buf_printf(&screen, "\033[K\n");
				if (!nl)
					break;
				p = nl + 1;
			}
			berth_buf_printf(&screen, "\033[J");
			fwrite(screen.data, 1, screen.len, stdout);
			berth_buf_free(&screen);
		} else {
			fwrite(out.data ? out.data : "", 1, out.len, stdout);
		}
		fflush(stdout);
		berth_buf_free(&out);
		if (!st.stream || (nrows == 0 && !show_all))
			break;
		if (ev_done && ev_err) {
			if (!strstr(ev_err, "unexpected EOF")) {
				fprintf(stderr, "%s\n", ev_err);
				rc = 1;
			}
			break;
		}
		usleep(500000);
	}
out:
	if (st.stream) {
		/* collectors and the event watcher are blocked on their streams: leave them to exit() */
		fflush(stdout);
		_exit(rc);
	}
	free_state(&st, true);
	berth_strv_free(args);
	free(format);
	return rc;
}

/* ======================================================================
 * update
 * ==================================================================== */

static int flag_error(struct cli *c, const char *val, const char *flag, const char *msg)
{
	fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: %s\nSee '%s --help'.\n", val, flag, msg, c->cmdpath);
	return 125;
}

/* strconv.ParseInt / ParseUint with Go's message. */
static int parse_int_flag(struct cli *c, const char *val, const char *flag, bool is_unsigned, int bits, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(val, &end, 10);
	char msg[256];
	const char *fn = is_unsigned ? "strconv.ParseUint" : "strconv.ParseInt";
	if (!*val || *end || (is_unsigned && (val[0] == '-' || val[0] == '+'))) {
		snprintf(msg, sizeof(msg), "%s: parsing \"%s\": invalid syntax", fn, val);
		return flag_error(c, val, flag, msg);
	}
	long long max = bits == 16 ? 65535 : 0;
	if (errno == ERANGE || (max && v > max)) {
		snprintf(msg, sizeof(msg), "%s: parsing \"%s\": value out of range", fn, val);
		return flag_error(c, val, flag, msg);
	}
	*out = v;
	return 0;
}

static int mem_flag(struct cli *c, const char *val, const char *flag, bool swap, long long *out)
{
	if (!val)
		return 0;
	if (swap && !strcmp(val, "-1")) {
		*out = -1;
		return 0;
	}
	struct berth_error err = {0};
	int64_t v = 0;
	if (berth_ram_in_bytes(val, &v, &err) < 0)
		return flag_error(c, val, flag, err.msg);
	*out = v;
	return 0;
}

static int cmd_update(struct cli *c, int argc, char **argv)
{
	char *blkio = NULL, *cpu_period = NULL, *cpu_quota = NULL, *rt_period = NULL, *rt_runtime = NULL,
	     *cpuset_cpus = NULL, *cpuset_mems = NULL, *cpu_shares = NULL, *memory = NULL, *mem_res = NULL,
	     *mem_swap = NULL, *kmem = NULL, *restart = NULL, *pids = NULL, *cpus = NULL;
	const struct cli_opt opts[] = {
		{"blkio-weight", 0, OPT_STR, &blkio,
		 "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"},
		{"cpu-period", 0, OPT_STR, &cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period"},
		{"cpu-quota", 0, OPT_STR, &cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota"},
		{"cpu-rt-period", 0, OPT_STR, &rt_period, "Limit the CPU real-time period in microseconds"},
		{"cpu-rt-runtime", 0, OPT_STR, &rt_runtime, "Limit the CPU real-time runtime in microseconds"},
		{"cpu-shares", 'c', OPT_STR, &cpu_shares, "CPU shares (relative weight)"},
		{"cpus", 0, OPT_STR, &cpus, "Number of CPUs"},
		{"cpuset-cpus", 0, OPT_STR, &cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)"},
		{"cpuset-mems", 0, OPT_STR, &cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)"},
		{"kernel-memory", 0, OPT_STR, &kmem, "Kernel memory limit"},
		{"memory", 'm', OPT_STR, &memory, "Memory limit"},
		{"memory-reservation", 0, OPT_STR, &mem_res, "Memory soft limit"},
		{"memory-swap", 0, OPT_STR, &mem_swap,
		 "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"},
		{"pids-limit", 0, OPT_STR, &pids, "Tune container pids limit (set -1 for unlimited)"},
		{"restart", 0, OPT_STR, &restart, "Restart policy to apply when a container exits"},
		END_OPTS,
	};
	char *const *all_vals[] = {&blkio,       &cpu_period,  &cpu_quota,  &rt_period, &rt_runtime,
				   &cpuset_cpus, &cpuset_mems, &cpu_shares, &memory,    &mem_res,
				   &mem_swap,    &kmem,        &restart,    &pids,      &cpus};
	char **args = NULL;
	json_t *body = NULL;
	int rc = parse_or_return(c, argc, argv, opts, &args);
	if (rc >= 0)
		goto out;
	rc = 0;
	if (!args) {
		print_requires(c, "requires at least 1 argument", "[OPTIONS] CONTAINER [CONTAINER...]",
			       "Update configuration of one or more containers");
		rc = 1;
		goto out;
	}
	int nflag = 0;
	for (size_t i = 0; i < sizeof(all_vals) / sizeof(*all_vals); i++)
		nflag += *all_vals[i] != NULL;
	long long v_blkio = 0, v_period = 0, v_quota = 0, v_rtp = 0, v_rtr = 0, v_shares = 0, v_mem = 0, v_res = 0,
		  v_swap = 0, v_kmem = 0, v_pids = 0, v_nano = 0;
	if ((blkio && (rc = parse_int_flag(c, blkio, "--blkio-weight", true, 16, &v_blkio))) ||
	    (cpu_period && (rc = parse_int_flag(c, cpu_period, "--cpu-period", false, 64, &v_period))) ||
	    (cpu_quota && (rc = parse_int_flag(c, cpu_quota, "--cpu-quota", false, 64, &v_quota))) ||
	    (rt_period && (rc = parse_int_flag(c, rt_period, "--cpu-rt-period", false, 64, &v_rtp))) ||
	    (rt_runtime && (rc = parse_int_flag(c, rt_runtime, "--cpu-rt-runtime", false, 64, &v_rtr))) ||
	    (cpu_shares && (rc = parse_int_flag(c, cpu_shares, "-c, --cpu-shares", false, 64, &v_shares))) ||
	    (rc = mem_flag(c, memory, "-m, --memory", false, &v_mem)) ||
	    (rc = mem_flag(c, mem_res, "--memory-reservation", false, &v_res)) ||
	    (rc = mem_flag(c, mem_swap, "--memory-swap", true, &v_swap)) ||
	    (rc = mem_flag(c, kmem, "--kernel-memory", false, &v_kmem)) ||
	    (pids && (rc = parse_int_flag(c, pids, "--pids-limit", false, 64, &v_pids))))
		goto out;
	if (cpus) {
		struct berth_error e = {0};
		if (ctr_parse_cpus(cpus, &v_nano, &e) < 0) {
			rc = flag_error(c, cpus, "--cpus", e.msg);
			goto out;
		}
	}
	if (nflag == 0) {
		fprintf(stderr, "you must provide one or more flags when using this command\n");
		rc = 1;
		goto out;
	}
	/* opts.ParseRestartPolicy */
	char rname[128] = "";
	long long rmax = 0;
	if (restart && *restart) {
		cleanup_free char *copy = strdup(restart);
		char *colon = strchr(copy, ':');
		if (colon && strchr(colon + 1, ':')) {
			fprintf(stderr, "invalid restart policy format\n");
			rc = 1;
			goto out;
		}
		if (colon) {
			*colon = '\0';
			char *end;
			rmax = strtoll(colon + 1, &end, 10);
			if (!colon[1] || *end) {
				fprintf(stderr, "maximum retry count must be an integer\n");
				rc = 1;
				goto out;
			}
		}
		snprintf(rname, sizeof(rname), "%s", copy);
	}
	/* container.UpdateConfig as docker 20.10's CLI encodes it */
	body = json_object();
	json_object_set_new(body, "CpuShares", json_integer(v_shares));
	json_object_set_new(body, "Memory", json_integer(v_mem));
	json_object_set_new(body, "NanoCpus", json_integer(v_nano));
	json_object_set_new(body, "CgroupParent", json_string(""));
	json_object_set_new(body, "BlkioWeight", json_integer(v_blkio));
	static const char *const nulls1[] = {"BlkioWeightDevice",   "BlkioDeviceReadBps",   "BlkioDeviceWriteBps",
					     "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", NULL};
	for (size_t i = 0; nulls1[i]; i++)
		json_object_set_new(body, nulls1[i], json_null());
	json_object_set_new(body, "CpuPeriod", json_integer(v_period));
	json_object_set_new(body, "CpuQuota", json_integer(v_quota));
	json_object_set_new(body, "CpuRealtimePeriod", json_integer(v_rtp));
	json_object_set_new(body, "CpuRealtimeRuntime", json_integer(v_rtr));
	json_object_set_new(body, "CpusetCpus", json_string(cpuset_cpus ? cpuset_cpus : ""));
	json_object_set_new(body, "CpusetMems", json_string(cpuset_mems ? cpuset_mems : ""));
	json_object_set_new(body, "Devices", json_null());
	json_object_set_new(body, "DeviceCgroupRules", json_null());
	json_object_set_new(body, "DeviceRequests", json_null());
	json_object_set_new(body, "KernelMemory", json_integer(v_kmem));
	json_object_set_new(body, "KernelMemoryTCP", json_integer(0));
	json_object_set_new(body, "MemoryReservation", json_integer(v_res));
	json_object_set_new(body, "MemorySwap", json_integer(v_swap));
	json_object_set_new(body, "MemorySwappiness", json_null());
	json_object_set_new(body, "OomKillDisable", json_null());
	json_object_set_new(body, "PidsLimit", v_pids ? json_integer(v_pids) : json_null());
	json_object_set_new(body, "Ulimits", json_null());
	json_object_set_new(body, "CpuCount", json_integer(0));
	json_object_set_new(body, "CpuPercent", json_integer(0));
	json_object_set_new(body, "IOMaximumIOps", json_integer(0));
	json_object_set_new(body, "IOMaximumBandwidth", json_integer(0));
	json_object_set_new(body, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", rname, "MaximumRetryCount", (json_int_t)rmax));

	struct berth_buf warns = {0}, errs = {0};
	for (size_t i = 0; args[i]; i++) {
		cleanup_free char *q = berth_urlencode(args[i]);
		cleanup_free char *path = berth_strdup_printf("/containers/%s/update", q);
		cleanup_json json_t *res = NULL;
		struct berth_error e = {0};
		if (berth_client_json(&c->cl, "POST", path, body, &res, &e) < 0) {
			char msg[1200];
			daemon_msg(&e, msg, sizeof(msg));
			berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", msg);
		} else {
			printf("%s\n", args[i]);
		}
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(res, "Warnings"), k, w)
			berth_buf_printf(&warns, "%s%s", warns.len ? "\n" : "", json_string_value(w));
	}
	if (warns.len)
		printf("%s\n", berth_buf_str(&warns));
	if (errs.len) {
		fflush(stdout);
		fprintf(stderr, "%s\n", berth_buf_str(&errs));
		rc = 1;
	}
	berth_buf_free(&warns);
	berth_buf_free(&errs);
out:
	json_decref(body);
	for (size_t i = 0; i < sizeof(all_vals) / sizeof(*all_vals); i++)
		free(*all_vals[i]);
	berth_strv_free(args);
	return rc;
}

/* ======================================================================
 * system prune
 * ==================================================================== */

/* sortorder.NaturalLess: digit runs compare by value. */
static int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *sa = a, *sb = b;
			while (*sa == '0')
				sa++;
			while (*sb == '0')
				sb++;
			const char *ea = sa, *eb = sb;
			while (*ea >= '0' && *ea <= '9')
				ea++;
			while (*eb >= '0' && *eb <= '9')
				eb++;
			if (ea - sa != eb - sb)
				return (ea - sa) < (eb - sb) ? -1 : 1;
			int r = strncmp(sa, sb, (size_t)(ea - sa));
			if (r)
				return r;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int cmp_natural(const void *x, const void *y) { return natural_cmp(*(char *const *)x, *(char *const *)y); }

struct prune_result {
	long long space;
	struct berth_buf out;
};

/* POST one prune endpoint; lists go to out under `title`. 404 (no such
 * endpoint on this daemon) counts as nothing pruned when tolerate_404. */
static int prune_one(struct cli *c, const char *path, const char *list_key, const char *title, bool images,
		     bool tolerate_404, struct prune_result *pr)
{
	cleanup_json json_t *res = NULL;
	struct berth_error e = {0};
	if (berth_client_json(&c->cl, "POST", path, NULL, &res, &e) < 0) {
		if (tolerate_404 && e.kind == BERTH_E_NOT_FOUND)
			return 0;
		char msg[1200];
		daemon_msg(&e, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	json_t *list = json_object_get(res, list_key);
	if (!json_array_size(list))
		return 0;
	pr->space += (long long)json_integer_value(json_object_get(res, "SpaceReclaimed"));
	berth_buf_printf(&pr->out, "%s:\n", title);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		if (images) {
			const char *u = json_string_value(json_object_get(v, "Untagged"));
			if (u && *u)
				berth_buf_printf(&pr->out, "untagged: %s\n", u);
			else
				berth_buf_printf(&pr->out, "deleted: %s\n",
						 json_string_value(json_object_get(v, "Deleted")) ?
							 json_string_value(json_object_get(v, "Deleted")) :
							 "");
		} else {
			berth_buf_printf(&pr->out, "%s\n", json_string_value(v) ? json_string_value(v) : "");
		}
	}
	berth_buf_printf(&pr->out, "\n");
	fwrite(pr->out.data, 1, pr->out.len, stdout);
	pr->out.len = 0;
	return 0;
}

/* The prune calls of `system prune` and their output; returns the exit code. */
static int system_prune_run(struct cli *c, bool all, bool volumes, char **filters)
{
	cleanup_free char *fq = filters ? output_filters_query(filters) : NULL;
	char **img_filters = NULL;
	for (size_t i = 0; filters && filters[i]; i++)
		berth_strv_push(&img_filters, filters[i]);
	berth_strv_push(&img_filters, all ? "dangling=false" : "dangling=true");
	cleanup_free char *iq = output_filters_query(img_filters);
	berth_strv_free(img_filters);
	cleanup_free char *p_ctr = berth_strdup_printf("/containers/prune%s%s", fq ? "?filters=" : "", fq ? fq : "");
	cleanup_free char *p_net = berth_strdup_printf("/networks/prune%s%s", fq ? "?filters=" : "", fq ? fq : "");
	cleanup_free char *p_vol = berth_strdup_printf("/volumes/prune%s%s", fq ? "?filters=" : "", fq ? fq : "");
	cleanup_free char *p_img = berth_strdup_printf("/images/prune?filters=%s", iq);
	cleanup_free char *p_bld =
		berth_strdup_printf("/build/prune?%sfilters=%s&keep-storage=0", all ? "all=1&" : "", fq ? fq : "");
	struct prune_result pr = {0};
	/* container, network, [volume], image, build cache: docker's order */
	if (prune_one(c, p_ctr, "ContainersDeleted", "Deleted Containers", false, false, &pr) < 0 ||
	    prune_one(c, p_net, "NetworksDeleted", "Deleted Networks", false, true, &pr) < 0 ||
	    (volumes && prune_one(c, p_vol, "VolumesDeleted", "Deleted Volumes", false, true, &pr) < 0) ||
	    prune_one(c, p_img, "ImagesDeleted", "Deleted Images", true, false, &pr) < 0 ||
	    prune_one(c, p_bld, "CachesDeleted", "Deleted build cache objects", false, true, &pr) < 0) {
		fwrite(pr.out.data ? pr.out.data : "", 1, pr.out.len, stdout);
		berth_buf_free(&pr.out);
		return 1;
	}
	fwrite(pr.out.data ? pr.out.data : "", 1, pr.out.len, stdout);
	berth_buf_free(&pr.out);
	char sz[32];
	berth_human_size((double)pr.space, sz, sizeof(sz));
	printf("Total reclaimed space: %s\n", sz);
	return 0;
}

static int cmd_system_prune(struct cli *c, int argc, char **argv)
{
	bool all = false, force = false, volumes = false;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Remove all unused images not just dangling ones"},
		{"filter", 0, OPT_LIST, &filters, "Provide filter values (e.g. 'label=<key>=<value>')"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		{"volumes", 0, OPT_BOOL, &volumes, "Prune volumes"},
		END_OPTS,
	};
	char **args = NULL;
	int rc = parse_or_return(c, argc, argv, opts, &args);
	if (rc >= 0)
		goto out;
	rc = 0;
	if (args) {
		fprintf(stderr,
			"\"%s\" accepts no arguments.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS]\n\nRemove unused data\n",
			c->cmdpath, c->cmdpath, c->cmdpath);
		rc = 1;
		goto out;
	}
	bool until = false;
	for (size_t i = 0; filters && filters[i]; i++)
		until |= !strncmp(filters[i], "until=", 6) || !strcmp(filters[i], "until");
	if (volumes && until) {
		fprintf(stderr, "ERROR: The \"until\" filter is not supported with \"--volumes\"\n");
		rc = 1;
		goto out;
	}
	if (!force) {
		printf("WARNING! This will remove:\n  - all stopped containers\n"
		       "  - all networks not used by at least one container\n");
		if (volumes)
			printf("  - all volumes not used by at least one container\n");
		printf("  - %s\n",
		       all ? "all images without at least one container associated to them" : "all dangling images");
		printf("  - %s\n", all ? "all build cache" : "all dangling build cache");
		size_t nf = berth_strv_len(filters);
		if (nf) {
			char **shown = NULL;
			for (size_t i = 0; i < nf; i++) {
				const char *f = filters[i];
				if (!strncmp(f, "label=", 6) || !strncmp(f, "label!=", 7) || !strncmp(f, "until=", 6))
					berth_strv_push(&shown, f);
			}
			size_t ns = berth_strv_len(shown);
			if (ns) {
				qsort(shown, ns, sizeof(*shown), cmp_natural);
				printf("\n  Items to be pruned will be filtered with:\n");
				for (size_t i = 0; i < ns; i++)
					printf("  - %s\n", shown[i]);
			}
			berth_strv_free(shown);
		}
		printf("\nAre you sure you want to continue? [y/N] ");
		fflush(stdout);
		char line[64] = "";
		if (!fgets(line, sizeof(line), stdin) ||
		    !((line[0] == 'y' || line[0] == 'Y') && (line[1] == '\n' || !line[1])))
			goto out;
	}
	rc = system_prune_run(c, all, volumes, filters);
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	return rc;
}

const struct cli_cmd cli_cmds_stats[] = {
	{"stats", cmd_stats, NULL, "Display a live stream of container(s) resource usage statistics"},
	{"container stats", cmd_stats, NULL, NULL},
	{"update", cmd_update, NULL, "Update configuration of one or more containers"},
	{"container update", cmd_update, NULL, NULL},
	{"system prune", cmd_system_prune, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
