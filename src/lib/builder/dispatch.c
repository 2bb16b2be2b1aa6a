/* Instructions: what each one does to the config, RUN as a container. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "archive/tar.h"
#include "builder/build_int.h"
#include "common/cleanup.h"

static int err_args(struct bctx *b, const char *up, const char *what)
{
	return berth_err(b->err, BERTH_E_INVALID, "%s %s", up, what);
}

static void env_set(json_t *cfg, const char *k, const char *v)
{
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	size_t i, n = strlen(k);
	json_t *e;
	cleanup_free char *kv = berth_strdup_printf("%s=%s", k, v);
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && !strncmp(s, k, n) && (s[n] == '=' || !s[n])) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* "|N a=b ..." + cmd: docker's RUN record with the build args in play */
static json_t *args_in_play(struct bctx *b, json_t **envs)
{
	json_t *kv = json_array();
	*envs = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(b->args, k, v) {
		if (!json_is_string(v) || json_object_get(json_object_get(b->cfg, "Env"), k))
			continue;
		bool in_env = false;
		size_t i, n = strlen(k);
		json_t *e;
		json_array_foreach(json_object_get(b->cfg, "Env"), i, e) {
			const char *s = json_string_value(e);
			if (s && !strncmp(s, k, n) && s[n] == '=')
				in_env = true;
		}
		if (in_env)
			continue;
		cleanup_free char *s = berth_strdup_printf("%s=%s", k, json_string_value(v));
		json_array_append_new(kv, json_string(s));
		json_array_append_new(*envs, json_string(s));
	}
	/* the predefined proxy args reach RUN's environment, not the record */
	json_object_foreach(b->o->buildargs, k, v) {
		if (json_is_string(v) &&
		    strstr("HTTP_PROXY http_proxy HTTPS_PROXY https_proxy FTP_PROXY ftp_proxy "
			   "NO_PROXY no_proxy ALL_PROXY all_proxy",
			   k) &&
		    !json_object_get(b->args, k)) {
			cleanup_free char *s = berth_strdup_printf("%s=%s", k, json_string_value(v));
			json_array_append_new(*envs, json_string(s));
		}
	}
	return kv;
}

struct runout {
	struct bctx *b;
	struct berth_buf line;
};

static void run_out(void *octx, const char *data, size_t len)
{
	struct runout *r = octx;
	for (size_t i = 0; i < len; i++) {
		berth_buf_putc(&r->line, data[i]);
		if (data[i] == '\n') {
			bld_stream(r->b, "%s", berth_buf_str(&r->line));
			r->line.len = 0;
		}
	}
}

static int do_run(struct bctx *b, struct berth_df_instr *in)
{
	if (!b->id[0])
		return berth_err(b->err, BERTH_E_INVALID, "Please provide a source image with `from` prior to run");
	if (b->nlayers >= BERTH_BUILD_MAX_LAYERS)
		return berth_err(b->err, BERTH_E_INVALID, "max depth exceeded");
	json_t *argv;
	if (in->json) {
		argv = strv_json(in->args);
	} else {
		argv = bld_shell(b);
		json_array_append_new(argv, json_string(in->args[0] ? in->args[0] : ""));
	}
	if (!json_array_size(argv)) {
		json_decref(argv);
		return err_args(b, "RUN", "requires at least one argument");
	}
	json_t *envs = NULL;
	json_t *kv = args_in_play(b, &envs);
	json_t *save = json_array();
	if (json_array_size(kv)) {
		cleanup_free char *n = berth_strdup_printf("|%zu", json_array_size(kv));
		json_array_append_new(save, json_string(n));
		json_array_extend(save, kv);
	}
	json_array_extend(save, argv);
	struct berth_buf text = {0}, cmdtext = {0};
	size_t i;
	json_t *a;
	json_array_foreach(save, i, a)
		berth_buf_printf(&text, "%s%s", i ? " " : "", json_string_value(a));
	json_array_foreach(argv, i, a)
		berth_buf_printf(&cmdtext, "%s%s", i ? " " : "", json_string_value(a));
	cleanup_free char *key = bld_key(b, "run", berth_buf_str(&text), NULL);
	int rc = -1;
	char ctr[65] = "";
	json_t *cc = NULL;
	int hit = bld_cache_probe(b, key, berth_buf_str(&text));
	bld_mark(b, "cache lookup");
	if (hit == 1) {
		rc = 0;
		goto out;
	}
	b->cache_broken = true;
	json_t *body = bld_ctr_body(b);
	json_object_set(body, "Entrypoint", argv);
	json_object_set_new(body, "Cmd", json_null());
	json_t *env = json_object_get(body, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(body, "Env", env);
	}
	json_array_extend(env, envs);
	rc = b->ops->ctr_create(b->ops->ctx, body, ctr, b->err);
	json_decref(body);
	bld_mark(b, "container create");
	if (rc < 0)
		goto out;
	bld_stream(b, " ---> Running in %.12s\n", ctr);
	struct runout ro = {.b = b};
	int64_t code = 0;
	rc = b->ops->ctr_run(b->ops->ctx, ctr, run_out, &ro, &code, b->err);
	if (ro.line.len)
		bld_stream(b, "%s", berth_buf_str(&ro.line));
	berth_buf_free(&ro.line);
	bld_mark(b, "run");
	if (rc < 0 || code != 0) {
		bld_remove_later(b, ctr);
		if (rc == 0) {
			b->exit_code = code;
			rc = berth_err(b->err, BERTH_E_INTERNAL, "The command '%s' returned a non-zero code: %lld",
				       berth_buf_str(&cmdtext), (long long)code);
		}
		goto out;
	}
	cc = json_deep_copy(b->cfg);
	json_object_set(cc, "Cmd", save);
	rc = bld_commit_ctr(b, ctr, cc, key);
	bld_mark(b, "commit");
	if (rc == 0) {
		bld_remove(b, ctr, false);
		bld_stream(b, " ---> %.12s\n", berth_digest_hex(b->id));
	}
out:
	json_decref(cc);
	json_decref(argv);
	json_decref(envs);
	json_decref(kv);
	json_decref(save);
	berth_buf_free(&text);
	berth_buf_free(&cmdtext);
	return rc;
}

static int name_vals(struct bctx *b, struct berth_df_instr *in, bool env)
{
	const char *up = env ? "ENV" : "LABEL";
	size_t n = berth_strv_len(in->args);
	if (n == 0)
		return err_args(b, up, "requires at least one argument");
	struct berth_buf c = {0};
	berth_buf_printf(&c, "%s", up);
	/* every word is substituted against the config before this instruction */
	json_t *before = json_deep_copy(b->cfg);
	json_t *saved = b->cfg;
	char **kv = NULL;
	int rc = 0;
	b->cfg = before;
	for (size_t i = 0; i + 1 < n; i += 2) {
		char *k = bld_word(b, in->args[i]);
		char *v = k ? bld_word(b, in->args[i + 1]) : NULL;
		if (!k || !v) {
			free(k);
			rc = -1;
			break;
		}
		if (!*k) {
			free(k);
			free(v);
			rc = berth_err(b->err, BERTH_E_INVALID, "%s names can not be blank", up);
			break;
		}
		berth_strv_push(&kv, k);
		berth_strv_push(&kv, v);
		free(k);
		free(v);
	}
	b->cfg = saved;
	json_decref(before);
	for (size_t i = 0; rc == 0 && kv && kv[i]; i += 2) {
		if (env) {
			env_set(b->cfg, kv[i], kv[i + 1]);
			berth_buf_printf(&c, " %s=%s", kv[i], kv[i + 1]);
		} else {
			json_t *l = json_object_get(b->cfg, "Labels");
			if (!json_is_object(l)) {
				l = json_object();
				json_object_set_new(b->cfg, "Labels", l);
			}
			json_object_set_new(l, kv[i], json_string(kv[i + 1]));
			berth_buf_printf(&c, " %s=%s", kv[i], kv[i + 1]);
		}
	}
	berth_strv_free(kv);
	if (rc == 0)
		rc = bld_meta(b, berth_buf_str(&c));
	berth_buf_free(&c);
	return rc;
}

/* Go's time.ParseDuration for healthcheck flags (ns) */
static int parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0;
	if (!*s)
		return -1;
	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		int64_t unit;
		if (!strncmp(s, "ns", 2)) {
			unit = 1;
			s += 2;
		} else if (!strncmp(s, "us", 2) || !strncmp(s, "\xc2\xb5s", 3)) {
			unit = 1000;
			s += s[0] == 'u' ? 2 : 3;
		} else if (!strncmp(s, "ms", 2)) {
			unit = 1000000;
			s += 2;
		} else if (*s == 's') {
			unit = 1000000000LL;
			s++;
		} else if (*s == 'm') {
			unit = 60000000000LL;
			s++;
		} else if (*s == 'h') {
			unit = 3600000000000LL;
			s++;
		} else
			return -1;
		total += (int64_t)(v * (double)unit);
	}
	*out = total;
	return 0;
}

static int do_healthcheck(struct bctx *b, struct berth_df_instr *in)
{
	size_t n = berth_strv_len(in->args);
	if (n == 0)
		return err_args(b, "HEALTHCHECK", "requires an argument");
	json_t *hc = json_object();
	const char *kind = in->args[0];
	if (!strcmp(kind, "NONE")) {
		if (n != 1 || in->flags) {
			json_decref(hc);
			return berth_err(b->err, BERTH_E_INVALID, "HEALTHCHECK NONE takes no arguments");
		}
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else if (!strcmp(kind, "CMD")) {
		if (n < 2) {
			json_decref(hc);
			return berth_err(b->err, BERTH_E_INVALID, "Missing command after HEALTHCHECK CMD");
		}
		json_t *t = json_array();
		if (in->json) {
			json_array_append_new(t, json_string("CMD"));
			for (size_t i = 1; i < n; i++)
				json_array_append_new(t, json_string(in->args[i]));
		} else {
			json_array_append_new(t, json_string("CMD-SHELL"));
			json_array_append_new(t, json_string(in->args[1]));
		}
		json_object_set_new(hc, "Test", t);
		static const char *const names[] = {"interval", "timeout", "start-period", "retries"};
		static const char *const keys[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
		for (size_t i = 0; in->flags && in->flags[i]; i++) {
			const char *f = in->flags[i] + 2;
			const char *eq = strchr(f, '=');
			size_t fl = eq ? (size_t)(eq - f) : strlen(f);
			int which = -1;
			for (int k = 0; k < 4; k++)
				if (strlen(names[k]) == fl && !strncmp(names[k], f, fl))
					which = k;
			if (which < 0 || !eq) {
				json_decref(hc);
				return berth_err(b->err, BERTH_E_INVALID, "Unknown flag: %.*s", (int)fl, f);
			}
			int64_t v;
			if (which == 3) {
				char *end;
				long long r = strtoll(eq + 1, &end, 10);
				if (*end || end == eq + 1) {
					json_decref(hc);
					return berth_err(b->err, BERTH_E_INVALID,
							 "strconv.ParseInt: parsing \"%s\": invalid syntax", eq + 1);
				}
				v = r;
			} else if (parse_duration(eq + 1, &v) < 0) {
				json_decref(hc);
				return berth_err(b->err, BERTH_E_INVALID, "time: invalid duration \"%s\"", eq + 1);
			} else if (v != 0 && v < 1000000) {
				json_decref(hc);
				return berth_err(b->err, BERTH_E_INVALID, "Interval \"%s\" cannot be less than 1ms",
						 names[which]);
			}
			json_object_set_new(hc, keys[which], json_integer(v));
		}
	} else {
		json_decref(hc);
		return berth_err(b->err, BERTH_E_INVALID, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", kind);
	}
	json_object_set_new(b->cfg, "Healthcheck", hc);
	char *t = json_dumps(json_object_get(hc, "Test"), JSON_COMPACT);
	cleanup_free char *c = berth_strdup_printf("HEALTHCHECK &{%s}", t ? t : "");
	free(t);
	return bld_meta(b, c);
}

static int do_arg(struct bctx *b, struct berth_df_instr *in)
{
	if (!in->args[0])
		return err_args(b, "ARG", "requires exactly one argument");
	struct berth_buf c = {0};
	berth_buf_printf(&c, "ARG");
	for (size_t i = 0; in->args[i]; i++) {
		char *eq = strchr(in->args[i], '=');
		cleanup_free char *nm = eq ? strndup(in->args[i], (size_t)(eq - in->args[i])) : strdup(in->args[i]);
		json_t *bv = json_object_get(b->o->buildargs, nm);
		json_t *val;
		if (json_is_string(bv))
			val = json_incref(bv);
		else if (eq) {
			char *v = bld_word(b, eq + 1);
			if (!v) {
				berth_buf_free(&c);
				return -1;
			}
			val = json_string(v);
			free(v);
		} else if (json_is_string(json_object_get(b->global_args, nm)))
			val = json_incref(json_object_get(b->global_args, nm));
		else
			val = json_null();
		json_object_set_new(b->args, nm, val);
		json_object_set_new(b->used, nm, json_true());
		berth_buf_printf(&c, " %s", in->args[i]);
	}
	int rc = bld_meta(b, berth_buf_str(&c));
	berth_buf_free(&c);
	return rc;
}

static json_t *cmd_form(struct bctx *b, struct berth_df_instr *in)
{
	if (in->json)
		return strv_json(in->args);
	json_t *a = bld_shell(b);
	json_array_append_new(a, json_string(in->args[0] ? in->args[0] : ""));
	return a;
}

static int do_expose(struct bctx *b, struct berth_df_instr *in)
{
	if (!in->args[0])
		return err_args(b, "EXPOSE", "requires at least one argument");
	json_t *ep = json_object_get(b->cfg, "ExposedPorts");
	if (!json_is_object(ep)) {
		ep = json_object();
		json_object_set_new(b->cfg, "ExposedPorts", ep);
	}
	struct berth_buf c = {0};
	berth_buf_printf(&c, "EXPOSE");
	int rc = 0;
	for (size_t i = 0; in->args[i] && rc == 0; i++) {
		cleanup_free char *w = bld_word(b, in->args[i]);
		if (!w) {
			rc = -1;
			break;
		}
		char *slash = strchr(w, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		if (slash)
			*slash = 0;
		char *end;
		long lo = strtol(w, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (*end || lo < 0 || hi < lo || hi > 65535 || !*w ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))) {
			rc = berth_err(b->err, BERTH_E_INVALID, "Invalid containerPort: %s", in->args[i]);
			break;
		}
		for (long p = lo; p <= hi; p++) {
			char k[32];
			snprintf(k, sizeof(k), "%ld/%s", p, proto);
			json_object_set_new(ep, k, json_object());
			berth_buf_printf(&c, " %s", k);
		}
	}
	if (rc == 0)
		rc = bld_meta(b, berth_buf_str(&c));
	berth_buf_free(&c);
	return rc;
}

static int do_volume(struct bctx *b, struct berth_df_instr *in)
{
	if (!in->args[0])
		return err_args(b, "VOLUME", "requires at least one argument");
	json_t *vol = json_object_get(b->cfg, "Volumes");
	if (!json_is_object(vol)) {
		vol = json_object();
		json_object_set_new(b->cfg, "Volumes", vol);
	}
	struct berth_buf c = {0};
	berth_buf_printf(&c, "VOLUME [");
	for (size_t i = 0; in->args[i]; i++) {
		cleanup_free char *w = in->json ? strdup(in->args[i]) : bld_word(b, in->args[i]);
		if (!w) {
			berth_buf_free(&c);
			return -1;
		}
		if (!*w) {
			berth_buf_free(&c);
			return berth_err(b->err, BERTH_E_INVALID, "VOLUME specified can not be an empty string");
		}
		json_object_set_new(vol, w, json_object());
		berth_buf_printf(&c, "%s%s", i ? " " : "", w);
	}
	berth_buf_printf(&c, "]");
	int rc = bld_meta(b, berth_buf_str(&c));
	berth_buf_free(&c);
	return rc;
}

static int single(struct bctx *b, struct berth_df_instr *in, const char *up, const char *key)
{
	if (berth_strv_len(in->args) != 1)
		return err_args(b, up, "requires exactly one argument");
	cleanup_free char *w = bld_word(b, in->args[0]);
	if (!w)
		return -1;
	if (!strcmp(up, "STOPSIGNAL")) {
		bool ok = *w != 0;
		for (const char *p = w; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-')
				ok = false;
		if (!ok)
			return berth_err(b->err, BERTH_E_INVALID, "Invalid signal: %s", w);
	}
	json_object_set_new(b->cfg, key, json_string(w));
	cleanup_free char *c = berth_strdup_printf("%s %s", up, w);
	return bld_meta(b, c);
}

static int do_workdir(struct bctx *b, struct berth_df_instr *in)
{
	if (berth_strv_len(in->args) != 1)
		return err_args(b, "WORKDIR", "requires exactly one argument");
	cleanup_free char *w = bld_word(b, in->args[0]);
	if (!w)
		return -1;
	const char *cur = json_string_value(json_object_get(b->cfg, "WorkingDir"));
	cleanup_free char *joined = w[0] == '/' ? strdup(w) : berth_strdup_printf("%s/%s", cur && *cur ? cur : "/", w);
	cleanup_free char *clean = berth_cp_clean(joined);
	if (!clean)
		return berth_err(b->err, BERTH_E_INTERNAL, "out of memory");
	json_object_set_new(b->cfg, "WorkingDir", json_string(clean));
	return bld_workdir_create(b, clean);
}

int bld_dispatch(struct bctx *b, struct berth_df_instr *in)
{
	const char *c = in->cmd;
	if (strcmp(c, "copy") && strcmp(c, "add") && strcmp(c, "healthcheck") && in->flags && in->flags[0])
		return berth_err(b->err, BERTH_E_INVALID, "Unknown flag: %s", in->flags[0] + 2);
	if (!strcmp(c, "run"))
		return do_run(b, in);
	if (!strcmp(c, "env"))
		return name_vals(b, in, true);
	if (!strcmp(c, "label"))
		return name_vals(b, in, false);
	if (!strcmp(c, "copy") || !strcmp(c, "add"))
		return bld_copy(b, in, !strcmp(c, "add"));
	if (!strcmp(c, "workdir"))
		return do_workdir(b, in);
	if (!strcmp(c, "user"))
		return single(b, in, "USER", "User");
	if (!strcmp(c, "stopsignal"))
		return single(b, in, "STOPSIGNAL", "StopSignal");
	if (!strcmp(c, "expose"))
		return do_expose(b, in);
	if (!strcmp(c, "volume"))
		return do_volume(b, in);
	if (!strcmp(c, "healthcheck"))
		return do_healthcheck(b, in);
	if (!strcmp(c, "arg"))
		return do_arg(b, in);
	if (!strcmp(c, "maintainer")) {
		if (!in->args[0])
			return err_args(b, "MAINTAINER", "requires exactly one argument");
		free(b->author);
		b->author = strdup(in->args[0]);
		cleanup_free char *m = berth_strdup_printf("MAINTAINER %s", in->args[0]);
		return bld_meta(b, m);
	}
	if (!strcmp(c, "cmd")) {
		json_t *a = cmd_form(b, in);
		json_object_set_new(b->cfg, "Cmd", a);
		b->cmd_set = true;
		char *t = json_dumps(a, JSON_COMPACT);
		cleanup_free char *m = berth_strdup_printf("CMD %s", t ? t : "[]");
		free(t);
		return bld_meta(b, m);
	}
	if (!strcmp(c, "entrypoint")) {
		json_t *a = cmd_form(b, in);
		if (in->json && !json_array_size(a)) {
			json_decref(a);
			a = json_null();
		}
		json_object_set_new(b->cfg, "Entrypoint", a);
		if (!b->cmd_set)
			json_object_set_new(b->cfg, "Cmd", json_null());
		char *t = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
		cleanup_free char *m = berth_strdup_printf("ENTRYPOINT %s", t ? t : "[]");
		free(t);
		return bld_meta(b, m);
	}
	if (!strcmp(c, "shell")) {
		if (!in->args[0])
			return err_args(b, "SHELL", "requires at least one argument");
		json_t *a = strv_json(in->args);
		json_object_set_new(b->cfg, "Shell", a);
		char *t = json_dumps(a, JSON_COMPACT);
		cleanup_free char *m = berth_strdup_printf("SHELL %s", t ? t : "[]");
		free(t);
		return bld_meta(b, m);
	}
	if (!strcmp(c, "onbuild")) {
		json_t *ob = json_object_get(b->cfg, "OnBuild");
		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(b->cfg, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(in->args[0]));
		cleanup_free char *m = berth_strdup_printf("ONBUILD %s", in->args[0]);
		return bld_meta(b, m);
	}
	return berth_err(b->err, BERTH_E_INVALID, "unknown instruction: %s", c);
}
