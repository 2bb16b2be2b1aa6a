/* berth commit, diff, export (and the cp command's table entry). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_common.h"
#include "common/cleanup.h"
#include "image/reference.h"

static int exactly(struct cli *c, char **args, size_t n, const char *usage, const char *summary)
{
	if (berth_strv_len(args) == n)
		return 0;
	fprintf(stderr, "\"%s\" requires exactly %zu argument%s.\nSee '%s --help'.\n\nUsage:  %s %s\n\n%s\n",
		c->cmdpath, n, n == 1 ? "" : "s", c->cmdpath, c->cmdpath, usage, summary);
	return -1;
}

/* A 404 for a container: docker's CLI prints the daemon's message. */
static int api_error(struct cli *c, struct berth_response *resp, struct berth_error *err)
{
	berth_client_error(resp, err);
	return cli_daemon_error(c, err);
}

static int cmd_diff(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	cleanup_free char *id = NULL, *path = NULL;
	cleanup_json json_t *changes = NULL;
	struct berth_error err = {0};
	struct berth_response resp;
	if (exactly(c, args, 1, "CONTAINER", "Inspect changes to files or directories on a container's filesystem") < 0)
		goto out;
	id = berth_urlencode(args[0]);
	path = berth_strdup_printf("/containers/%s/changes", id);
	if (berth_client_do(&c->cl, "GET", path, NULL, NULL, NULL, NULL, NULL, &resp, &err) < 0) {
		cli_daemon_error(c, &err);
		goto out;
	}
	if (resp.status >= 300) {
		api_error(c, &resp, &err);
		berth_response_free(&resp);
		goto out;
	}
	changes = json_loadb(resp.body.data ? resp.body.data : "null", resp.body.data ? resp.body.len : 4,
			     JSON_DECODE_ANY, NULL);
	berth_response_free(&resp);
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		json_int_t kind = json_integer_value(json_object_get(ch, "Kind"));
		const char *p = json_string_value(json_object_get(ch, "Path"));
		printf("%c %s\n", kind == 1 ? 'A' : kind == 2 ? 'D' : 'C', p ? p : "");
	}
	rc = 0;
out:
	berth_strv_free(args);
	return rc;
}

static int cmd_commit(struct cli *c, int argc, char **argv)
{
	char *author = NULL, *message = NULL, **changes = NULL;
	bool pause = true;
	const struct cli_opt opts[] = {
		{"author", 'a', OPT_STR, &author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"},
		{"change", 'c', OPT_LIST, &changes, "Apply Dockerfile instruction to the created image"},
		{"message", 'm', OPT_STR, &message, "Commit message"},
		{"pause", 'p', OPT_BOOL, &pause, "Pause container during commit (default true)"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	size_t n = berth_strv_len(args);
	struct berth_buf q = {0};
	cleanup_free char *ectr = NULL;
	struct berth_error err = {0};
	cleanup_json json_t *resp = NULL;
	if (n < 1 || n > 2) {
		fprintf(stderr,
			"\"%s\" requires at least 1 and at most 2 arguments.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
			"Create a new image from a container's changes\n",
			c->cmdpath, c->cmdpath, c->cmdpath);
		goto out;
	}
	ectr = berth_urlencode(args[0]);
	berth_buf_printf(&q, "/commit?container=%s", ectr);
	if (n == 2 && *args[1]) {
		struct berth_ref ref;
		if (berth_ref_parse_normalized(args[1], &ref, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
		if (ref.digest[0]) {
			fprintf(stderr, "refusing to create a tag with a digest reference\n");
			goto out;
		}
		berth_ref_tag_name_only(&ref);
		cleanup_free char *tag = strdup(ref.tag);
		berth_ref_trim(&ref);
		cleanup_free char *name = berth_ref_familiar_name(&ref);
		cleanup_free char *en = berth_urlencode(name ? name : "");
		cleanup_free char *et = berth_urlencode(tag ? tag : "");
		berth_buf_printf(&q, "&repo=%s&tag=%s", en, et);
	}
	if (author) {
		cleanup_free char *e = berth_urlencode(author);
		berth_buf_printf(&q, "&author=%s", e);
	}
	if (message) {
		cleanup_free char *e = berth_urlencode(message);
		berth_buf_printf(&q, "&comment=%s", e);
	}
	for (size_t i = 0; changes && changes[i]; i++) {
		cleanup_free char *e = berth_urlencode(changes[i]);
		berth_buf_printf(&q, "&changes=%s", e);
	}
	if (!pause)
		berth_buf_printf(&q, "&pause=0");
	if (berth_client_json(&c->cl, "POST", berth_buf_str(&q), NULL, &resp, &err) < 0) {
		cli_daemon_error(c, &err);
		goto out;
	}
	const char *id = json_string_value(json_object_get(resp, "Id"));
	printf("%s\n", id ? id : "");
	rc = 0;
out:
	berth_buf_free(&q);
	berth_strv_free(args);
	berth_strv_free(changes);
	free(author);
	free(message);
	return rc;
}

struct sink {
	int fd;
	bool failed;
};

static int to_fd(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;
	if (berth_write_all(s->fd, data, len) < 0) {
		s->failed = true;
		return -1;
	}
	return 0;
}

static int cmd_export(struct cli *c, int argc, char **argv)
{
	char *output = NULL;
	const struct cli_opt opts[] = {{"output", 'o', OPT_STR, &output, "Write to a file, instead of STDOUT"},
				       END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	cleanup_free char *tmp = NULL, *id = NULL, *path = NULL;
	int fd = -1;
	struct berth_response resp;
	struct berth_error err = {0};
	if (exactly(c, args, 1, "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive") < 0)
		goto out;
	if (!output && isatty(1)) {
		fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		goto out;
	}
	if (output) {
		cleanup_free char *dir = strdup(output);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		struct stat st;
		if (slash && slash != dir) {
			*slash = '\0';
			if (stat(dir, &st) < 0 && errno == ENOENT) {
				fprintf(stderr,
					"failed to export container: invalid output path: directory \"%s\" does not exist\n",
					dir);
				goto out;
			}
		}
		tmp = berth_strdup_printf("%s.berth-tmp", output);
		fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
		if (fd < 0) {
			fprintf(stderr, "failed to export container: %s\n", strerror(errno));
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	id = berth_urlencode(args[0]);
	path = berth_strdup_printf("/containers/%s/export", id);
	struct sink s = {.fd = output ? fd : 1};
	if (berth_client_do(&c->cl, "GET", path, NULL, NULL, NULL, to_fd, &s, &resp, &err) < 0) {
		cli_daemon_error(c, &err);
		goto out;
	}
	if (resp.status >= 300)
		api_error(c, &resp, &err);
	else if (resp.truncated)
		fprintf(stderr, "failed to export container: unexpected EOF\n");
	else if (s.failed)
		fprintf(stderr, "failed to export container: write error\n");
	else
		rc = 0;
	berth_response_free(&resp);
out:
	if (fd >= 0) {
		close(fd);
		if (rc == 0 && rename(tmp, output) < 0) {
			fprintf(stderr, "failed to export container: %s\n", strerror(errno));
			rc = 1;
		}
		if (rc)
			unlink(tmp);
	}
	berth_strv_free(args);
	free(output);
	return rc;
}

const struct cli_cmd cli_cmds_files[] = {
	{"commit", cmd_commit, NULL, "Create a new image from a container's changes"},
	{"container commit", cmd_commit, NULL, NULL},
	{"diff", cmd_diff, NULL, "Inspect changes to files or directories on a container's filesystem"},
	{"container diff", cmd_diff, NULL, NULL},
	{"export", cmd_export, NULL, "Export a container's filesystem as a tar archive"},
	{"container export", cmd_export, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
