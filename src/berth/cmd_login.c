/* berth login, logout, search: registry credentials (credentials.h) and
 * POST /auth, GET /images/search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_common.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "credentials.h"
#include "format/table.h"
#include "output.h"

#define INDEX_SERVER "https://index.docker.io/v1/"

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

/* One line from fd 0 without its line end; NULL at EOF with nothing read. */
static char *read_line(void)
{
	struct berth_buf b = {0};
	char ch;
	ssize_t n;
	bool any = false;
	while ((n = read(0, &ch, 1)) == 1 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		any = true;
		if (ch == '\n')
			break;
		berth_buf_putc(&b, ch);
	}
	if (!any)
		return NULL;
	char *s = berth_buf_steal(&b);
	if (!s)
		s = strdup("");
	size_t l = strlen(s);
	if (l && s[l - 1] == '\r')
		s[l - 1] = '\0';
	return s;
}

static char *read_all_stdin(void)
{
	struct berth_buf b = {0};
	char buf[4096];
	ssize_t n;
	while ((n = read(0, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			berth_buf_append(&b, buf, (size_t)n);
	char *s = berth_buf_steal(&b);
	if (!s)
		s = strdup("");
	/* docker: strings.TrimSuffix(..., "\n") then "\r" */
	size_t l = strlen(s);
	if (l && s[l - 1] == '\n')
		s[--l] = '\0';
	if (l && s[l - 1] == '\r')
		s[--l] = '\0';
	return s;
}

static char *trim_space(char *s)
{
	if (!s)
		return s;
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	memmove(s, p, strlen(p) + 1);
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		s[--l] = '\0';
	return s;
}

/* POST /auth; *status / *token (may be NULL) from the answer. */
static int do_auth(struct cli *c, const char *user, const char *pass, const char *token, const char *server,
		   char **status, char **identity, struct berth_error *err)
{
	json_t *body = json_object();
	if (user)
		json_object_set_new(body, "username", json_string(user));
	if (pass)
		json_object_set_new(body, "password", json_string(pass));
	if (token)
		json_object_set_new(body, "identitytoken", json_string(token));
	json_object_set_new(body, "serveraddress", json_string(server));
	json_t *out = NULL;
	int rc = berth_client_json(&c->cl, "POST", "/auth", body, &out, err);
	/* wipe the password copy jansson holds */
	json_t *p = json_object_get(body, "password");
	if (p)
		memset((char *)json_string_value(p), 0, json_string_length(p));
	json_decref(body);
	if (rc < 0)
		return -1;
	const char *st = json_string_value(json_object_get(out, "Status"));
	const char *it = json_string_value(json_object_get(out, "IdentityToken"));
	*status = st ? strdup(st) : NULL;
	*identity = it && *it ? strdup(it) : NULL;
	json_decref(out);
	return 0;
}

static int store_and_report(struct cli *c, const char *key, const char *user, const char *pass, char *status,
			    char *identity)
{
	(void)c;
	struct berth_cred cred = {.username = (char *)user,
				  .password = identity ? NULL : (char *)pass,
				  .identitytoken = identity,
				  .serveraddress = (char *)key};
	struct berth_error err = {0};
	char *where = NULL;
	int rc = berth_cred_store(key, &cred, &where, &err);
	if (rc < 0) {
		fprintf(stderr, "Error saving credentials: %s\n", err.msg);
	} else {
		if (where)
			fprintf(stderr,
				"WARNING! Your password will be stored unencrypted in %s.\n"
				"Configure a credential helper to remove this warning. See\n"
				"https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n",
				where);
		if (status && *status)
			printf("%s\n", status);
	}
	free(where);
	free(status);
	wipe_free(identity);
	return rc < 0 ? 1 : 0;
}

static int cmd_login(struct cli *c, int argc, char **argv)
{
	char *user = NULL, *pass = NULL;
	bool pass_stdin = false;
	const struct cli_opt opts[] = {{"password", 'p', OPT_STR, &pass, "Password"},
				       {"password-stdin", 0, OPT_BOOL, &pass_stdin, "Take the password from stdin"},
				       {"username", 'u', OPT_STR, &user, "Username"},
				       END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 1;
	char *status = NULL, *identity = NULL;
	char *key = NULL;
	struct berth_error err = {0};
	if (berth_strv_len(args) > 1) {
		cli_args_error(c, "requires at most 1 argument");
		goto out;
	}
	if (pass) {
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
		if (pass_stdin) {
			fprintf(stderr, "--password and --password-stdin are mutually exclusive\n");
			goto out;
		}
	}
	if (pass_stdin) {
		if (!user || !*user) {
			fprintf(stderr, "Must provide --username with --password-stdin\n");
			goto out;
		}
		pass = read_all_stdin();
	}
	const char *server = args && args[0] && strcmp(args[0], "docker.io") ? args[0] : INDEX_SERVER;
	key = berth_cred_server_key(server);
	if (!key)
		goto out;
	bool is_default = !strcmp(key, INDEX_SERVER);
	/* stored credentials first when none are given (docker's loginWithCredStoreCreds) */
	if ((!user || !*user) && (!pass || !*pass)) {
		struct berth_cred st = {0};
		if (berth_cred_get(key, &st, &err) > 0 && ((st.username && st.password) || st.identitytoken)) {
			printf("Authenticating with existing credentials...\n");
			fflush(stdout);
			if (do_auth(c, st.username, st.identitytoken ? NULL : st.password, st.identitytoken, key,
				    &status, &identity, &err) == 0) {
				rc = store_and_report(c, key, st.username, st.password, status,
						      identity ? identity :
								 (st.identitytoken ? strdup(st.identitytoken) : NULL));
				berth_cred_free(&st);
				goto out;
			}
			fprintf(stderr, "Login did not succeed, error: Error response from daemon: %s\n", err.msg);
		}
		berth_cred_free(&st);
		berth_err_clear(&err);
	}
	if ((!pass || !*pass) && !isatty(0)) {
		fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
		goto out;
	}
	user = trim_space(user);
	if (!user || !*user) {
		if (is_default)
			printf("Login with your Docker ID to push and pull images from Docker Hub. If you don't have a "
			       "Docker ID, head over to https://hub.docker.com to create one.\n");
		printf("Username: ");
		fflush(stdout);
		free(user);
		user = trim_space(read_line());
		if (!user || !*user) {
			fprintf(stderr, "Error: Non-null Username Required\n");
			goto out;
		}
	}
	if (!pass || !*pass) {
		struct termios old, t;
		bool term = tcgetattr(0, &old) == 0;
		printf("Password: ");
		fflush(stdout);
		if (term) {
			t = old;
			t.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(0, TCSANOW, &t);
		}
		wipe_free(pass);
		pass = read_line();
		if (term)
			tcsetattr(0, TCSANOW, &old);
		printf("\n");
		if (!pass || !*pass) {
			fprintf(stderr, "Error: Password Required\n");
			goto out;
		}
	}
	if (do_auth(c, user, pass, NULL, key, &status, &identity, &err) < 0) {
		cli_daemon_error(c, &err);
		goto out;
	}
	rc = store_and_report(c, key, user, pass, status, identity);
out:
	berth_strv_free(args);
	free(user);
	free(key);
	wipe_free(pass);
	return rc;
}

static int cmd_logout(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	if (berth_strv_len(args) > 1) {
		cli_args_error(c, "requires at most 1 argument");
		berth_strv_free(args);
		return 1;
	}
	cleanup_free char *key = berth_cred_server_key(args && args[0] ? args[0] : "");
	if (!key || !berth_cred_logged_in(key)) {
		printf("Not logged in to %s\n", key ? key : "");
	} else {
		printf("Removing login credentials for %s\n", key);
		struct berth_error err = {0};
		if (berth_cred_erase(key, &err) < 0)
			fprintf(stderr, "WARNING: could not erase credentials: %s\n", err.msg);
	}
	berth_strv_free(args);
	return rc;
}

/* formatter.Ellipsis for ASCII and multi-byte text alike: runes, "…" at the end. */
static char *ellipsis(const char *s, size_t max)
{
	size_t runes = 0, cut = 0;
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (runes == max - 1)
				cut = (size_t)(p - s);
			runes++;
		}
	if (runes <= max)
		return strdup(s);
	return berth_strdup_printf("%.*s…", (int)cut, s);
}

static int search_print(struct cli *c, const char *term, long long limit, char **filters, bool no_trunc,
			const char *format)
{
	int rc = 1;
	json_t *out = NULL;
	struct berth_buf q = {0};
	cleanup_free char *t = berth_urlencode(term);
	berth_buf_printf(&q, "/images/search?term=%s", t);
	if (limit != 25)
		berth_buf_printf(&q, "&limit=%lld", limit);
	if (filters) {
		cleanup_free char *f = output_filters_query(filters);
		berth_buf_printf(&q, "&filters=%s", f);
	}
	cleanup_free char *auth = berth_cred_registry_auth_header(term);
	c->cl.registry_auth = auth;
	struct berth_error err = {0};
	int r = berth_client_json(&c->cl, "GET", berth_buf_str(&q), NULL, &out, &err);
	c->cl.registry_auth = NULL;
	berth_buf_free(&q);
	if (r < 0) {
		cli_daemon_error(c, &err);
		return 1;
	}
	json_t *rows = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(out, i, e) {
		const char *desc = json_string_value(json_object_get(e, "description"));
		cleanup_free char *d = strdup(desc ? desc : "");
		for (char *p = d; p && *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		cleanup_free char *dt = d ? (no_trunc ? strdup(d) : ellipsis(d, 45)) : NULL;
		char stars[32];
		snprintf(stars, sizeof(stars), "%lld", (long long)json_integer_value(json_object_get(e, "star_count")));
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
						      json_string_value(json_object_get(e, "name")) ?: "",
						      "Description", dt ? dt : "", "StarCount", stars, "IsOfficial",
						      json_is_true(json_object_get(e, "is_official")) ? "[OK]" : "",
						      "IsAutomated",
						      json_is_true(json_object_get(e, "is_automated")) ? "[OK]" : ""));
	}
	static const struct berth_header_map hdr[] = {
		{"Name", "NAME"},           {"Description", "DESCRIPTION"}, {"StarCount", "STARS"},
		{"IsOfficial", "OFFICIAL"}, {"IsAutomated", "AUTOMATED"},   {NULL, NULL}};
	rc = output_list(format, "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}",
			 hdr, rows, 1);
	json_decref(rows);
	json_decref(out);
	return rc;
}

static int cmd_search(struct cli *c, int argc, char **argv)
{
	char **filters = NULL, *format = NULL;
	long long limit = 25;
	bool no_trunc = false;
	const struct cli_opt opts[] = {
		{"filter", 'f', OPT_LIST, &filters, "Filter output based on conditions provided"},
		{"format", 0, OPT_STR, &format, "Pretty-print search using a Go template"},
		{"limit", 0, OPT_INT, &limit, "Max number of search results"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
		END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 1;
	if (berth_strv_len(args) != 1) {
		fprintf(stderr,
			"\"%s\" requires exactly 1 argument.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS] TERM\n\n"
			"Search the Docker Hub for images\n",
			c->cmdpath, c->cmdpath, c->cmdpath);
		goto done;
	}
	rc = search_print(c, args[0], limit, filters, no_trunc, format);
done:
	berth_strv_free(args);
	berth_strv_free(filters);
	free(format);
	return rc;
}

const struct cli_cmd cli_cmds_login[] = {
	{"login", cmd_login, NULL, "Log in to a Docker registry"},
	{"logout", cmd_logout, NULL, "Log out from a Docker registry"},
	{"search", cmd_search, NULL, "Search the Docker Hub for images"},
	{NULL, NULL, NULL, NULL},
};
