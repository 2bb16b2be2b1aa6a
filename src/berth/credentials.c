/* Registry credentials in docker's config.json (see credentials.h). */
#include "credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "image/reference.h"

#define INDEX_SERVER "https://index.docker.io/v1/"
#define CONFIG_MAX (16 * 1024 * 1024)
#define HELPER_OUT_MAX (1024 * 1024)

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

void berth_cred_free(struct berth_cred *c)
{
	if (!c)
		return;
	free(c->username);
	wipe_free(c->password);
	wipe_free(c->identitytoken);
	free(c->serveraddress);
	memset(c, 0, sizeof(*c));
}

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

char *berth_cred_config_dir(void)
{
	const char *e = getenv("BERTH_CONFIG");
	if (e && *e)
		return strdup(e);
	e = getenv("DOCKER_CONFIG");
	if (e && *e)
		return strdup(e);
	const char *home = getenv("HOME");
	if (!home || !*home)
		home = "/root";
	cleanup_free char *berth = berth_strdup_printf("%s/.berth/config.json", home);
	cleanup_free char *docker = berth_strdup_printf("%s/.docker/config.json", home);
	if (berth && docker && !file_exists(berth) && file_exists(docker))
		return berth_strdup_printf("%s/.docker", home);
	return berth_strdup_printf("%s/.berth", home);
}

char *berth_cred_config_path(void)
{
	cleanup_free char *dir = berth_cred_config_dir();
	return dir ? berth_strdup_printf("%s/config.json", dir) : NULL;
}

/* registry.ConvertToHostname */
static char *to_hostname(const char *s)
{
	if (berth_str_has_prefix(s, "http://"))
		s += 7;
	else if (berth_str_has_prefix(s, "https://"))
		s += 8;
	return strndup(s, strcspn(s, "/"));
}

char *berth_cred_server_key(const char *server)
{
	if (!server || !*server)
		return strdup(INDEX_SERVER);
	cleanup_free char *h = to_hostname(server);
	if (!h)
		return NULL;
	if (!strcmp(server, INDEX_SERVER) || !strcmp(h, "docker.io") || !strcmp(h, "index.docker.io") ||
	    !strcmp(h, "registry-1.docker.io"))
		return strdup(INDEX_SERVER);
	return steal_ptr(h);
}

static json_t *load_config(const char *path, struct berth_error *err)
{
	char *data = NULL;
	size_t len = 0;
	if (berth_read_file(path, &data, &len, CONFIG_MAX, err) < 0) {
		if (err->code == ENOENT || !file_exists(path)) {
			berth_err_clear(err);
			return json_object();
		}
		return NULL;
	}
	json_error_t je;
	json_t *j = len ? json_loadb(data, len, 0, &je) : json_object();
	wipe_free(data);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		berth_err(err, BERTH_E_INVALID, "loading config file: %s: invalid JSON", path);
		return NULL;
	}
	return j;
}

static int save_config(const char *path, json_t *cfg, struct berth_error *err)
{
	cleanup_free char *dir = strndup(path, strrchr(path, '/') - path);
	if (!dir || berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char *s = json_dumps(cfg, JSON_INDENT(1));
	if (!s)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (t) {
		s = t;
		s[n++] = '\n';
		s[n] = '\0';
	}
	int rc = berth_write_file_atomic(path, s, n, 0600, err);
	wipe_free(s);
	return rc;
}

/* Run docker-credential-<helper> <action> with input on stdin; *out gets stdout. Returns the exit status (or -1). */
static int run_helper(const char *helper, const char *action, const char *input, char **out, struct berth_error *err)
{
	*out = NULL;
	cleanup_free char *prog = berth_strdup_printf("docker-credential-%s", helper);
	if (!prog)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		close(outp[0]);
		close(outp[1]);
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "fork");
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		execlp(prog, prog, action, (char *)NULL);
		fprintf(stderr, "exec: \"%s\": executable file not found in $PATH\n", prog);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	sigaction(SIGPIPE, &ign, &old);
	berth_write_all(in[1], input, strlen(input));
	close(in[1]);
	struct berth_buf b = {0};
	char buf[4096];
	ssize_t n;
	while ((n = read(outp[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && b.len < HELPER_OUT_MAX)
			berth_buf_append(&b, buf, (size_t)n);
	close(outp[0]);
	sigaction(SIGPIPE, &old, NULL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*out = berth_buf_steal(&b);
	if (!*out)
		*out = strdup("");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !**out)
		return berth_err(err, BERTH_E_NOT_FOUND, "exec: \"%s\": executable file not found in $PATH", prog);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *helper_for(json_t *cfg, const char *key)
{
	json_t *h = json_object_get(json_object_get(cfg, "credHelpers"), key);
	if (json_is_string(h) && *json_string_value(h))
		return json_string_value(h);
	h = json_object_get(cfg, "credsStore");
	if (json_is_string(h) && *json_string_value(h))
		return json_string_value(h);
	return NULL;
}

static char *trim_nl(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

static int helper_get(const char *helper, const char *key, struct berth_cred *out, struct berth_error *err)
{
	char *o = NULL;
	int rc = run_helper(helper, "get", key, &o, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		int r = 0;
		if (!strstr(o, "credentials not found"))
			r = berth_err(err, BERTH_E_INTERNAL,
				      "error getting credentials - err: exit status %d, out: `%s`", rc, trim_nl(o));
		wipe_free(o);
		return r;
	}
	json_t *j = json_loads(o, 0, NULL);
	wipe_free(o);
	if (!json_is_object(j)) {
		json_decref(j);
		return berth_err(err, BERTH_E_INTERNAL, "error getting credentials - invalid answer from %s", helper);
	}
	const char *u = json_string_value(json_object_get(j, "Username"));
	const char *s = json_string_value(json_object_get(j, "Secret"));
	if (u && !strcmp(u, "<token>"))
		out->identitytoken = s ? strdup(s) : NULL;
	else {
		out->username = u ? strdup(u) : NULL;
		out->password = s ? strdup(s) : NULL;
	}
	out->serveraddress = strdup(key);
	json_decref(j);
	return (out->username || out->identitytoken) ? 1 : 0;
}

/* The auths entry for key, also under "http(s)://host..." spellings. */
static json_t *auths_entry(json_t *cfg, const char *key, const char **found_key)
{
	json_t *auths = json_object_get(cfg, "auths");
	json_t *e = json_object_get(auths, key);
	if (e) {
		*found_key = key;
		return e;
	}
	const char *k;
	json_t *v;
	json_object_foreach(auths, k, v) {
		cleanup_free char *h = berth_cred_server_key(k);
		if (h && !strcmp(h, key)) {
			*found_key = k;
			return v;
		}
	}
	return NULL;
}

int berth_cred_get(const char *key, struct berth_cred *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	cleanup_free char *path = berth_cred_config_path();
	if (!path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	cleanup_json json_t *cfg = load_config(path, err);
	if (!cfg)
		return -1;
	const char *helper = helper_for(cfg, key);
	if (helper)
		return helper_get(helper, key, out, err);
	const char *fk = NULL;
	json_t *e = auths_entry(cfg, key, &fk);
	if (!json_is_object(e))
		return 0;
	const char *auth = json_string_value(json_object_get(e, "auth"));
	const char *tok = json_string_value(json_object_get(e, "identitytoken"));
	if (auth && *auth) {
		char *dec = berth_base64_decode(auth, NULL);
		char *colon = dec ? strchr(dec, ':') : NULL;
		if (!colon) {
			wipe_free(dec);
			return berth_err(err, BERTH_E_INVALID, "invalid auth configuration file");
		}
		*colon = '\0';
		out->username = strdup(dec);
		out->password = colon[1] ? strdup(colon + 1) : NULL;
		wipe_free(dec);
	}
	if (tok && *tok)
		out->identitytoken = strdup(tok);
	out->serveraddress = strdup(key);
	return (out->username || out->identitytoken) ? 1 : 0;
}

bool berth_cred_logged_in(const char *key)
{
	struct berth_error err = {0};
	cleanup_free char *path = berth_cred_config_path();
	cleanup_json json_t *cfg = path ? load_config(path, &err) : NULL;
	const char *fk = NULL;
	return cfg && auths_entry(cfg, key, &fk) != NULL;
}

int berth_cred_store(const char *key, const struct berth_cred *c, char **where, struct berth_error *err)
{
	if (where)
		*where = NULL;
	cleanup_free char *path = berth_cred_config_path();
	if (!path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	cleanup_json json_t *cfg = load_config(path, err);
	if (!cfg)
		return -1;
	json_t *auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	json_t *entry = json_object();
	const char *helper = helper_for(cfg, key);
	if (helper) {
		bool tok = c->identitytoken && *c->identitytoken;
		json_t *in = json_pack("{s:s, s:s, s:s}", "ServerURL", key, "Username",
				       tok ? "<token>" : (c->username ? c->username : ""), "Secret",
				       tok ? c->identitytoken : (c->password ? c->password : ""));
		char *s = in ? json_dumps(in, JSON_COMPACT) : NULL;
		json_decref(in);
		char *o = NULL;
		int rc =
			s ? run_helper(helper, "store", s, &o, err) : berth_err(err, BERTH_E_INTERNAL, "out of memory");
		wipe_free(s);
		if (rc > 0)
			berth_err(err, BERTH_E_INTERNAL, "error storing credentials - err: exit status %d, out: `%s`",
				  rc, trim_nl(o));
		free(o);
		if (rc != 0) {
			json_decref(entry);
			return -1;
		}
	} else {
		if (c->identitytoken && *c->identitytoken) {
			cleanup_free char *up = berth_strdup_printf("%s:", c->username ? c->username : "");
			char *a = up ? berth_base64_encode(up, strlen(up), false) : NULL;
			json_object_set_new(entry, "auth", json_string(a ? a : ""));
			free(a);
			json_object_set_new(entry, "identitytoken", json_string(c->identitytoken));
		} else {
			char *up = berth_strdup_printf("%s:%s", c->username ? c->username : "",
						       c->password ? c->password : "");
			char *a = up ? berth_base64_encode(up, strlen(up), false) : NULL;
			wipe_free(up);
			json_object_set_new(entry, "auth", json_string(a ? a : ""));
			wipe_free(a);
			if (where)
				*where = strdup(path);
		}
	}
	json_object_set_new(auths, key, entry);
	int rc = save_config(path, cfg, err);
	/* the secrets in cfg live in jansson strings: wipe them before freeing */
	json_t *e = json_object_get(auths, key);
	const char *k;
	json_t *v;
	json_object_foreach(e, k, v)
		if (json_is_string(v))
			memset((char *)json_string_value(v), 0, json_string_length(v));
	if (rc < 0 && where) {
		free(*where);
		*where = NULL;
	}
	return rc;
}

int berth_cred_erase(const char *key, struct berth_error *err)
{
	cleanup_free char *path = berth_cred_config_path();
	if (!path)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	cleanup_json json_t *cfg = load_config(path, err);
	if (!cfg)
		return -1;
	json_t *auths = json_object_get(cfg, "auths");
	const char *spell[4] = {key, NULL, NULL, NULL};
	cleanup_free char *h = berth_strdup_printf("http://%s", key);
	cleanup_free char *hs = berth_strdup_printf("https://%s", key);
	if (strcmp(key, INDEX_SERVER) != 0) {
		spell[1] = h;
		spell[2] = hs;
	}
	int removed = 0, rc = 0;
	for (int i = 0; spell[i]; i++) {
		if (!json_object_get(auths, spell[i]))
			continue;
		const char *helper = helper_for(cfg, spell[i]);
		if (helper) {
			char *o = NULL;
			int hr = run_helper(helper, "erase", spell[i], &o, err);
			if (hr > 0)
				rc = berth_err(err, BERTH_E_INTERNAL,
					       "error erasing credentials - err: exit status %d, out: `%s`", hr,
					       trim_nl(o));
			else if (hr < 0)
				rc = -1;
			free(o);
		}
		json_object_del(auths, spell[i]);
		removed = 1;
	}
	if (removed) {
		struct berth_error e2 = {0};
		if (save_config(path, cfg, rc < 0 ? &e2 : err) < 0 && rc == 0)
			return -1;
	}
	return rc < 0 ? -1 : removed;
}

/* types.AuthConfig's JSON */
static json_t *cred_json(const struct berth_cred *c)
{
	json_t *j = json_object();
	if (j && c) {
		if (c->username)
			json_object_set_new(j, "username", json_string(c->username));
		if (c->password)
			json_object_set_new(j, "password", json_string(c->password));
		if (c->serveraddress)
			json_object_set_new(j, "serveraddress", json_string(c->serveraddress));
		if (c->identitytoken)
			json_object_set_new(j, "identitytoken", json_string(c->identitytoken));
	}
	return j;
}

static char *encode_json(json_t *j)
{
	if (!j)
		return NULL;
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return NULL;
	char *enc = berth_base64_encode(s, strlen(s), true);
	wipe_free(s);
	return enc;
}

char *berth_cred_encode(const struct berth_cred *c) { return encode_json(cred_json(c)); }

char *berth_cred_registry_auth_header(const char *image)
{
	struct berth_ref ref;
	struct berth_error err = {0};
	const char *domain = "docker.io";
	if (image && berth_ref_parse_normalized(image, &ref, &err) == 0 && ref.domain[0])
		domain = ref.domain;
	cleanup_free char *key = berth_cred_server_key(domain);
	struct berth_cred c = {0};
	if (!key || berth_cred_get(key, &c, &err) <= 0) {
		berth_cred_free(&c);
		return berth_cred_encode(NULL);
	}
	char *s = berth_cred_encode(&c);
	berth_cred_free(&c);
	return s;
}

/* the credentials of one key into all (docker's GetAllCredentials skips the
 * keys its store cannot answer for) */
static void add_all(json_t *all, const char *key)
{
	struct berth_error err = {0};
	struct berth_cred c = {0};
	if (!json_object_get(all, key) && berth_cred_get(key, &c, &err) > 0)
		json_object_set_new(all, key, cred_json(&c));
	berth_cred_free(&c);
	berth_err_clear(&err);
}

char *berth_cred_all_header(void)
{
	json_t *all = json_object();
	cleanup_free char *path = berth_cred_config_path();
	struct berth_error err = {0};
	cleanup_json json_t *cfg = path ? load_config(path, &err) : NULL;
	berth_err_clear(&err);
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "auths"), k, v)
		add_all(all, k);
	json_object_foreach(json_object_get(cfg, "credHelpers"), k, v)
		add_all(all, k);
	return encode_json(all);
}
