/* images, import, tag, rmi, history, save, load, inspect, image prune, system df */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_objects.h"
#include "cmd_common.h"
#include "common/cleanup.h"
#include "format/table.h"
#include "format/units.h"
#include "image/reference.h"
#include "output.h"

static const struct berth_header_map image_headers[] = {
	{"ID", "IMAGE ID"},
	{"Repository", "REPOSITORY"},
	{"Tag", "TAG"},
	{"Digest", "DIGEST"},
	{"CreatedSince", "CREATED"},
	{"CreatedAt", "CREATED AT"},
	{"Size", "SIZE"},
	{"SharedSize", "SHARED SIZE"},
	{"UniqueSize", "UNIQUE SIZE"},
	{"VirtualSize", "VIRTUAL SIZE"},
	{"Containers", "CONTAINERS"},
	{NULL, NULL},
};

static void split_repo_tag(const char *rt, char *repo, size_t rl, char *tag, size_t tl)
{
	const char *colon = strrchr(rt, ':');
	const char *slash = strrchr(rt, '/');
	if (colon && (!slash || colon > slash)) {
		snprintf(repo, rl, "%.*s", (int)(colon - rt), rt);
		snprintf(tag, tl, "%s", colon + 1);
	} else {
		snprintf(repo, rl, "%s", rt);
		snprintf(tag, tl, "<none>");
	}
}

static json_t *image_row(json_t *img, const char *repo, const char *tag, const char *digest, bool no_trunc)
{
	char id[128], since[64], at[64], size[32], vsize[32];
	output_short_id(json_string_value(json_object_get(img, "Id")), no_trunc, id, sizeof(id));
	int64_t created = json_integer_value(json_object_get(img, "Created"));
	output_created_since(created, since, sizeof(since));
	output_time_string(created, at, sizeof(at));
	berth_human_size_prec((double)json_integer_value(json_object_get(img, "Size")), 3, size, sizeof(size));
	berth_human_size_prec((double)json_integer_value(json_object_get(img, "VirtualSize")), 3, vsize, sizeof(vsize));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Repository", repo, "Tag",
			 tag, "Digest", digest, "CreatedSince", since, "CreatedAt", at, "Size", size, "VirtualSize",
			 vsize, "SharedSize", "N/A", "UniqueSize", "N/A", "Containers", "N/A");
}

static const char *digest_for_repo(json_t *img, const char *repo)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(img, "RepoDigests"), i, d) {
		const char *s = json_string_value(d);
		const char *at = s ? strchr(s, '@') : NULL;
		if (at && strlen(repo) == (size_t)(at - s) && !strncmp(s, repo, (size_t)(at - s)))
			return at + 1;
	}
	return "<none>";
}

static int cmd_images(struct cli *c, int argc, char **argv)
{
	bool all = false, quiet = false, digests = false, no_trunc = false;
	char *format = NULL;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Show all images (default hides intermediate images)"},
		{"digests", 0, OPT_BOOL, &digests, "Show digests"},
		{"filter", 'f', OPT_LIST, &filters, "Filter output based on conditions provided"},
		{"format", 0, OPT_STR, &format, "Pretty-print images using a Go template"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Only show image IDs"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	cleanup_json json_t *list = NULL, *rows = NULL;
	if (berth_strv_len(args) > 1) {
		cli_args_error(c, "requires at most 1 argument");
		rc = 1;
		goto out;
	}
	if (args && args[0]) {
		cleanup_free char *f = berth_strdup_printf("reference=%s", args[0]);
		berth_strv_push(&filters, f);
	}
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/images/json?all=%d", all ? 1 : 0);
	if (filters) {
		cleanup_free char *f = output_filters_query(filters);
		berth_buf_printf(&q, "&filters=%s", f);
	}
	struct berth_error err = {0};
	rc = berth_client_json(&c->cl, "GET", berth_buf_str(&q), NULL, &list, &err);
	berth_buf_free(&q);
	if (rc < 0) {
		rc = cli_daemon_error(c, &err);
		goto out;
	}
	if (quiet && !format) {
		/* unique ids, in order */
		char **seen = NULL;
		size_t i;
		json_t *img;
		json_array_foreach(list, i, img) {
			char id[128];
			output_short_id(json_string_value(json_object_get(img, "Id")), no_trunc, id, sizeof(id));
			bool dup = false;
			for (size_t k = 0; seen && seen[k]; k++)
				if (!strcmp(seen[k], id))
					dup = true;
			if (!dup) {
				printf("%s\n", id);
				berth_strv_push(&seen, id);
			}
		}
		berth_strv_free(seen);
		goto out;
	}
	rows = json_array();
	size_t i;
	json_t *img;
	json_array_foreach(list, i, img) {
		json_t *tags = json_object_get(img, "RepoTags");
		json_t *dgs = json_object_get(img, "RepoDigests");
		size_t ntags = 0;
		size_t k;
		json_t *t;
		json_array_foreach(tags, k, t) {
			const char *rt = json_string_value(t);
			if (!rt || !strcmp(rt, "<none>:<none>"))
				continue;
			char repo[512], tag[256];
			split_repo_tag(rt, repo, sizeof(repo), tag, sizeof(tag));
			json_array_append_new(rows, image_row(img, repo, tag, digest_for_repo(img, repo), no_trunc));
			ntags++;
		}
		if (ntags)
			continue;
		/* untagged: one row per digest, or a single <none> row */
		size_t nd = 0;
		json_array_foreach(dgs, k, t) {
			const char *s = json_string_value(t);
			const char *at = s ? strchr(s, '@') : NULL;
			if (!at || !strcmp(s, "<none>@<none>"))
				continue;
			char repo[512];
			snprintf(repo, sizeof(repo), "%.*s", (int)(at - s), s);
			json_array_append_new(rows, image_row(img, repo, "<none>", at + 1, no_trunc));
			nd++;
		}
		if (!nd)
			json_array_append_new(rows, image_row(img, "<none>", "<none>", "<none>", no_trunc));
	}
	const char *def =
		digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}" :
			  "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	if (quiet)
		def = "{{.ID}}";
	rc = output_list(format, def, image_headers, rows, 64);
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	free(format);
	return rc;
}

static int cmd_tag(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = {END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	if (berth_strv_len(args) != 2) {
		cli_args_error(c, "requires exactly 2 arguments");
		berth_strv_free(args);
		return 1;
	}
	struct berth_ref ref;
	struct berth_error perr = {0};
	if (berth_ref_parse_normalized(args[1], &ref, &perr) < 0 || ref.digest[0]) {
		fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n", args[1],
			ref.digest[0] && !perr.msg[0] ? "refusing to create a tag with a digest reference" : perr.msg);
		berth_strv_free(args);
		return 1;
	}
	char repo[512], tag[256];
	split_repo_tag(args[1], repo, sizeof(repo), tag, sizeof(tag));
	cleanup_free char *src = berth_urlencode(args[0]);
	cleanup_free char *r = berth_urlencode(repo);
	cleanup_free char *path = berth_strdup_printf("/images/%s/tag?repo=%s&tag=%s", args[0], r,
						      strcmp(tag, "<none>") ? tag : "latest");
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "POST", path, NULL, NULL, &err) < 0)
		rc = cli_daemon_error(c, &err);
	berth_strv_free(args);
	return rc;
}

static int cmd_rmi(struct cli *c, int argc, char **argv)
{
	bool force = false, no_prune = false;
	const struct cli_opt opts[] = {{"force", 'f', OPT_BOOL, &force, "Force removal of the image"},
				       {"no-prune", 0, OPT_BOOL, &no_prune, "Do not delete untagged parents"},
				       END_OPTS};
	PARSE_OR_RETURN(opts, false);
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; args[i]; i++) {
		cleanup_free char *path =
			berth_strdup_printf("/images/%s?force=%d&noprune=%d", args[i], force, no_prune);
		struct berth_error err = {0};
		cleanup_json json_t *out = NULL;
		if (berth_client_json(&c->cl, "DELETE", path, NULL, &out, &err) < 0) {
			if (err.kind == BERTH_E_NOT_FOUND)
				fprintf(stderr, "Error: No such image: %s\n", args[i]);
			else
				fprintf(stderr, "Error response from daemon: %s\n", err.msg);
			rc = 1;
			continue;
		}
		size_t k;
		json_t *e;
		json_array_foreach(out, k, e) {
			const char *u = json_string_value(json_object_get(e, "Untagged"));
			const char *d = json_string_value(json_object_get(e, "Deleted"));
			if (u)
				printf("Untagged: %s\n", u);
			if (d)
				printf("Deleted: %s\n", d);
		}
	}
	berth_strv_free(args);
	return rc;
}

static const struct berth_header_map history_headers[] = {
	{"ID", "IMAGE"},
	{"CreatedSince", "CREATED"},
	{"CreatedAt", "CREATED AT"},
	{"CreatedBy", "CREATED BY"},
	{"Size", "SIZE"},
	{"Comment", "COMMENT"},
	{NULL, NULL},
};

static int cmd_history(struct cli *c, int argc, char **argv)
{
	bool no_trunc = false, quiet = false;
	char *human = NULL, *format = NULL;
	const struct cli_opt opts[] = {
		{"format", 0, OPT_STR, &format, "Pretty-print images using a Go template"},
		{"human", 'H', OPT_STR, &human, "Print sizes and dates in human readable format (default true)"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Only show image IDs"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	cleanup_free char *path = NULL;
	cleanup_json json_t *list = NULL, *rows = NULL;
	struct berth_error err = {0};
	if (berth_strv_len(args) != 1) {
		cli_args_error(c, "requires exactly 1 argument");
		rc = 1;
		goto out;
	}
	bool is_human = !human || strcmp(human, "false");
	path = berth_strdup_printf("/images/%s/history", args[0]);
	if (berth_client_json(&c->cl, "GET", path, NULL, &list, &err) < 0) {
		rc = cli_daemon_error(c, &err);
		goto out;
	}
	rows = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(list, i, h) {
		const char *hid = json_string_value(json_object_get(h, "Id"));
		char id[128], since[64], at[64], size[32];
		if (!hid || !strcmp(hid, "<missing>"))
			snprintf(id, sizeof(id), "<missing>");
		else
			output_short_id(hid, no_trunc, id, sizeof(id));
		int64_t created = json_integer_value(json_object_get(h, "Created"));
		int64_t sz = json_integer_value(json_object_get(h, "Size"));
		if (is_human) {
			output_created_since(created, since, sizeof(since));
			berth_human_size_prec((double)sz, 3, size, sizeof(size));
		} else {
			char ts[64];
			berth_time_rfc3339(created * 1000000000LL, ts, sizeof(ts));
			snprintf(since, sizeof(since), "%s", ts);
			snprintf(size, sizeof(size), "%lld", (long long)sz);
		}
		output_time_string(created, at, sizeof(at));
		const char *cb = json_string_value(json_object_get(h, "CreatedBy"));
		struct berth_buf by = {0};
		berth_buf_printf(&by, "%s", cb ? cb : "");
		/* docker replaces tabs and newlines, then shortens to 45 runes with an ellipsis */
		for (size_t k = 0; k < by.len; k++)
			if (by.data[k] == '\t' || by.data[k] == '\n')
				by.data[k] = ' ';
		if (!no_trunc && by.len > 45) {
			by.len = 44;
			while (by.len && ((unsigned char)by.data[by.len] & 0xC0) == 0x80)
				by.len--;
			by.data[by.len] = '\0';
			berth_buf_printf(&by, "…");
		}
		json_array_append_new(rows,
				      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "CreatedSince", since,
						"CreatedAt", at, "CreatedBy", berth_buf_str(&by), "Size", size,
						"Comment", json_string_value(json_object_get(h, "Comment")) ?: ""));
		berth_buf_free(&by);
	}
	const char *def =
		quiet ? "{{.ID}}" : "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
	rc = output_list(format, def, history_headers, rows, 64);
out:
	berth_strv_free(args);
	free(human);
	free(format);
	return rc;
}

struct fd_sink {
	int fd;
	int failed;
};

static int write_to_fd(void *ctx, const char *data, size_t len)
{
	struct fd_sink *s = ctx;
	if (berth_write_all(s->fd, data, len) < 0) {
		s->failed = 1;
		return -1;
	}
	return 0;
}

static int cmd_save(struct cli *c, int argc, char **argv)
{
	char *output = NULL;
	const struct cli_opt opts[] = {{"output", 'o', OPT_STR, &output, "Write to a file, instead of STDOUT"},
				       END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	int fd = -1;
	cleanup_free char *tmp = NULL;
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		rc = 1;
		goto out;
	}
	if (!output && isatty(1)) {
		fprintf(stderr, "Cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		rc = 1;
		goto out;
	}
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/images/get?");
	for (size_t i = 0; args[i]; i++) {
		cleanup_free char *e = berth_urlencode(args[i]);
		berth_buf_printf(&q, "%snames=%s", i ? "&" : "", e);
	}
	if (output) {
		tmp = berth_strdup_printf("%s.berth-tmp", output);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "failed to save image: unable to create %s: %m\n", output);
			berth_buf_free(&q);
			rc = 1;
			goto out;
		}
	}
	struct fd_sink sink = {.fd = output ? fd : 1};
	struct berth_response resp;
	struct berth_error err = {0};
	if (berth_client_do(&c->cl, "GET", berth_buf_str(&q), NULL, NULL, NULL, write_to_fd, &sink, &resp, &err) < 0) {
		rc = cli_daemon_error(c, &err);
	} else if (resp.status >= 300) {
		berth_client_error(&resp, &err);
		rc = cli_daemon_error(c, &err);
	} else if (sink.failed) {
		fprintf(stderr, "failed to save image: write error\n");
		rc = 1;
	}
	berth_response_free(&resp);
	berth_buf_free(&q);
	if (fd >= 0) {
		close(fd);
		if (rc == 0 && rename(tmp, output) < 0) {
			fprintf(stderr, "failed to save image: %m\n");
			rc = 1;
		}
		if (rc)
			unlink(tmp);
	}
out:
	berth_strv_free(args);
	free(output);
	return rc;
}

static int post_stream_file(struct cli *c, const char *path, const char *file, bool quiet, const char *what)
{
	int fd = 0;
	if (file && strcmp(file, "-")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "open %s: %m\n", file);
			return 1;
		}
	} else if (isatty(0)) {
		fprintf(stderr, "requested %s from stdin, but stdin is empty\n", what);
		return 1;
	}
	struct berth_reader in = berth_reader_fd(fd);
	struct berth_response resp;
	struct berth_error err = {0};
	int rc = 0;
	if (berth_client_do(&c->cl, "POST", path, NULL, &in, "application/x-tar", NULL, NULL, &resp, &err) < 0) {
		rc = cli_daemon_error(c, &err);
	} else if (resp.status >= 300) {
		berth_client_error(&resp, &err);
		rc = cli_daemon_error(c, &err);
	} else {
		rc = output_json_messages(resp.body.data ? resp.body.data : "", resp.body.len, quiet);
	}
	berth_response_free(&resp);
	if (fd > 0)
		close(fd);
	return rc;
}

static int cmd_load(struct cli *c, int argc, char **argv)
{
	char *input = NULL;
	bool quiet = false;
	const struct cli_opt opts[] = {{"input", 'i', OPT_STR, &input, "Read from tar archive file, instead of STDIN"},
				       {"quiet", 'q', OPT_BOOL, &quiet, "Suppress the load output"},
				       END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc;
	if (args) {
		rc = cli_args_error(c, "accepts no arguments") < 0 ? 1 : 0;
	} else {
		/* docker's CLI asks for no progress when stdout is not a terminal */
		cleanup_free char *path = berth_strdup_printf("/images/load?quiet=%d", quiet || !isatty(1));
		rc = post_stream_file(c, path, input, false, "load");
	}
	berth_strv_free(args);
	free(input);
	return rc;
}

static int cmd_import(struct cli *c, int argc, char **argv)
{
	char **changes = NULL;
	char *message = NULL, *platform = NULL;
	const struct cli_opt opts[] = {
		{"change", 'c', OPT_LIST, &changes, "Apply Dockerfile instruction to the created image"},
		{"message", 'm', OPT_STR, &message, "Set commit message for imported image"},
		{"platform", 0, OPT_STR, &platform, "Set platform if server is multi-platform capable"},
		END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	size_t n = berth_strv_len(args);
	if (n < 1 || n > 2) {
		cli_args_error(c, n < 1 ? "requires at least 1 argument" : "requires at most 2 arguments");
		rc = 1;
		goto out;
	}
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/images/create?fromSrc=-");
	if (n == 2) {
		char repo[512], tag[256];
		split_repo_tag(args[1], repo, sizeof(repo), tag, sizeof(tag));
		cleanup_free char *r = berth_urlencode(repo);
		berth_buf_printf(&q, "&repo=%s", r);
		if (strcmp(tag, "<none>")) {
			cleanup_free char *t = berth_urlencode(tag);
			berth_buf_printf(&q, "&tag=%s", t);
		}
	}
	for (size_t i = 0; changes && changes[i]; i++) {
		cleanup_free char *e = berth_urlencode(changes[i]);
		berth_buf_printf(&q, "&changes=%s", e);
	}
	if (message) {
		cleanup_free char *e = berth_urlencode(message);
		berth_buf_printf(&q, "&message=%s", e);
	}
	if (berth_str_has_prefix(args[0], "http://") || berth_str_has_prefix(args[0], "https://")) {
		fprintf(stderr, "berth: importing from a URL is not supported; download the file and import it\n");
		rc = 1;
	} else {
		rc = post_stream_file(c, berth_buf_str(&q), args[0], false, "import");
	}
	berth_buf_free(&q);
out:
	berth_strv_free(args);
	berth_strv_free(changes);
	free(message);
	free(platform);
	return rc;
}

static int cmd_inspect(struct cli *c, int argc, char **argv)
{
	char *format = NULL, *type = NULL;
	bool size = false;
	const struct cli_opt opts[] = {
		{"format", 'f', OPT_STR, &format, "Format the output using the given Go template"},
		{"size", 's', OPT_BOOL, &size, "Display total file sizes if the type is container"},
		{"type", 0, OPT_STR, &type, "Return JSON for specified type"},
		END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	bool image_only = !strcmp(c->cmdpath, "berth image inspect") || (type && !strcmp(type, "image"));
	bool container_only = !strcmp(c->cmdpath, "berth container inspect") || (type && !strcmp(type, "container"));
	cleanup_json json_t *items = NULL;
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		rc = 1;
		goto out;
	}
	items = json_array();
	for (size_t i = 0; args[i]; i++) {
		struct berth_error err = {0};
		json_t *obj = NULL;
		if (!image_only) {
			cleanup_free char *p = berth_strdup_printf("/containers/%s/json?size=%d", args[i], size);
			if (berth_client_json(&c->cl, "GET", p, NULL, &obj, &err) < 0 &&
			    err.kind != BERTH_E_NOT_FOUND) {
				rc = cli_daemon_error(c, &err);
				continue;
			}
		}
		if (!obj && !container_only) {
			cleanup_free char *p = berth_strdup_printf("/images/%s/json", args[i]);
			if (berth_client_json(&c->cl, "GET", p, NULL, &obj, &err) < 0 &&
			    err.kind != BERTH_E_NOT_FOUND) {
				rc = cli_daemon_error(c, &err);
				continue;
			}
		}
		if (!obj) {
			fprintf(stderr, "Error: No such %s: %s\n",
				image_only     ? "image" :
				container_only ? "container" :
						 "object",
				args[i]);
			rc = 1;
			continue;
		}
		json_array_append_new(items, obj);
	}
	if (cli_objects_print(format, items) != 0)
		rc = 64;
out:
	berth_strv_free(args);
	free(format);
	free(type);
	return rc;
}

static int cmd_image_prune(struct cli *c, int argc, char **argv)
{
	bool all = false, force = false;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Remove all unused images, not just dangling ones"},
		{"filter", 0, OPT_LIST, &filters, "Provide filter values (e.g. 'until=<timestamp>')"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		END_OPTS};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	cleanup_free char *f = NULL, *path = NULL;
	cleanup_json json_t *res = NULL;
	berth_strv_push(&filters, all ? "dangling=false" : "dangling=true");
	f = output_filters_query(filters);
	path = berth_strdup_printf("/images/prune?filters=%s", f);
	cleanup_free char *warning =
		berth_strdup_printf("This will remove all %s images.",
				    all ? "images without at least one container associated to them" : "dangling");
	if (!cli_objects_prune(c, force, warning, path, &res, &rc))
		goto out;
	json_t *del = json_object_get(res, "ImagesDeleted");
	if (json_array_size(del)) {
		printf("Deleted Images:\n");
		size_t i;
		json_t *e;
		json_array_foreach(del, i, e) {
			const char *u = json_string_value(json_object_get(e, "Untagged"));
			const char *d = json_string_value(json_object_get(e, "Deleted"));
			if (u)
				printf("untagged: %s\n", u);
			if (d)
				printf("deleted: %s\n", d);
		}
		printf("\n");
	}
	char sz[32];
	berth_human_size((double)json_integer_value(json_object_get(res, "SpaceReclaimed")), sz, sizeof(sz));
	printf("Total reclaimed space: %s\n", sz);
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	return rc;
}

/* system df -v: docker's per-object tables. */
static int print_df_verbose(json_t *df)
{
	struct berth_error err = {0};
	cleanup_json json_t *imgs = json_array(), *ctrs = json_array(), *vols = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(df, "Images"), i, e) {
		json_t *tags = json_object_get(e, "RepoTags");
		const char *rt = json_string_value(json_array_get(tags, 0));
		char repo[512] = "<none>", tag[256] = "<none>";
		if (rt && strcmp(rt, "<none>:<none>"))
			split_repo_tag(rt, repo, sizeof(repo), tag, sizeof(tag));
		int64_t size = json_integer_value(json_object_get(e, "Size"));
		int64_t shared = json_integer_value(json_object_get(e, "SharedSize"));
		char id[32], since[64], sz[32], sh[32], un[32], cnt[32];
		output_short_id(json_string_value(json_object_get(e, "Id")), 0, id, sizeof(id));
		output_created_since(json_integer_value(json_object_get(e, "Created")), since, sizeof(since));
		berth_human_size_prec((double)size, 3, sz, sizeof(sz));
		berth_human_size_prec((double)(shared > 0 ? shared : 0), 3, sh, sizeof(sh));
		berth_human_size_prec((double)(size - (shared > 0 ? shared : 0)), 3, un, sizeof(un));
		snprintf(cnt, sizeof(cnt), "%lld", (long long)json_integer_value(json_object_get(e, "Containers")));
		json_array_append_new(imgs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", repo,
						      "Tag", tag, "ID", id, "CreatedSince", since, "Size", sz,
						      "SharedSize", sh, "UniqueSize", un, "Containers", cnt));
	}
	json_array_foreach(json_object_get(df, "Containers"), i, e) {
		char id[32], since[64], sz[32], cmd[64];
		output_short_id(json_string_value(json_object_get(e, "Id")), 0, id, sizeof(id));
		output_created_since(json_integer_value(json_object_get(e, "Created")), since, sizeof(since));
		berth_human_size((double)json_integer_value(json_object_get(e, "SizeRw")), sz, sizeof(sz));
		const char *command = json_string_value(json_object_get(e, "Command"));
		snprintf(cmd, sizeof(cmd), "\"%.19s%s\"", command ? command : "",
			 command && strlen(command) > 19 ? "…" : "");
		const char *name = json_string_value(json_array_get(json_object_get(e, "Names"), 0));
		json_array_append_new(ctrs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Image",
						      json_string_value(json_object_get(e, "Image")) ?: "", "Command",
						      cmd, "LocalVolumes", "0", "Size", sz, "CreatedSince", since,
						      "Status", json_string_value(json_object_get(e, "Status")) ?: "",
						      "Names", name ? (name[0] == '/' ? name + 1 : name) : ""));
	}
	json_array_foreach(json_object_get(df, "Volumes"), i, e) {
		json_t *u = json_object_get(e, "UsageData");
		char links[32], sz[32];
		snprintf(links, sizeof(links), "%lld", (long long)json_integer_value(json_object_get(u, "RefCount")));
		int64_t s = json_integer_value(json_object_get(u, "Size"));
		if (s >= 0)
			berth_human_size((double)s, sz, sizeof(sz));
		else
			snprintf(sz, sizeof(sz), "N/A");
		json_array_append_new(vols, json_pack("{s:s, s:s, s:s}", "Name",
						      json_string_value(json_object_get(e, "Name")) ?: "", "Links",
						      links, "Size", sz));
	}
	static const struct berth_header_map ih[] = {{"Repository", "REPOSITORY"},
						     {"Tag", "TAG"},
						     {"ID", "IMAGE ID"},
						     {"CreatedSince", "CREATED"},
						     {"Size", "SIZE"},
						     {"SharedSize", "SHARED SIZE"},
						     {"UniqueSize", "UNIQUE SIZE"},
						     {"Containers", "CONTAINERS"},
						     {NULL, NULL}};
	static const struct berth_header_map ch[] = {{"ID", "CONTAINER ID"},
						     {"Image", "IMAGE"},
						     {"Command", "COMMAND"},
						     {"LocalVolumes", "LOCAL VOLUMES"},
						     {"Size", "SIZE"},
						     {"CreatedSince", "CREATED"},
						     {"Status", "STATUS"},
						     {"Names", "NAMES"},
						     {NULL, NULL}};
	static const struct berth_header_map vh[] = {
		{"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}, {NULL, NULL}};
	printf("Images space usage:\n\n");
	berth_format_list(
		"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
		NULL, ih, imgs, stdout, &err);
	printf("\nContainers space usage:\n\n");
	berth_format_list(
		"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.CreatedSince}}\t{{.Status}}\t{{.Names}}",
		NULL, ch, ctrs, stdout, &err);
	printf("\nLocal Volumes space usage:\n\n");
	berth_format_list("table {{.Name}}\t{{.Links}}\t{{.Size}}", NULL, vh, vols, stdout, &err);
	printf("\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n");
	return 0;
}

static int cmd_system_df(struct cli *c, int argc, char **argv)
{
	bool verbose = false;
	char *format = NULL;
	const struct cli_opt opts[] = {{"format", 0, OPT_STR, &format, "Pretty-print images using a Go template"},
				       {"verbose", 'v', OPT_BOOL, &verbose, "Show detailed information on space usage"},
				       END_OPTS};
	PARSE_OR_RETURN(opts, false);
	berth_strv_free(args);
	struct berth_error err = {0};
	cleanup_json json_t *df = NULL;
	if (berth_client_json(&c->cl, "GET", "/system/df", NULL, &df, &err) < 0) {
		free(format);
		return cli_daemon_error(c, &err);
	}
	if (verbose && !format)
		return print_df_verbose(df);
	int64_t layers = json_integer_value(json_object_get(df, "LayersSize"));
	int64_t total_img = 0, active_img = 0, unused_size = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(df, "Images"), i, e) {
		total_img++;
		if (json_integer_value(json_object_get(e, "Containers")) > 0)
			active_img++;
		else
			unused_size += json_integer_value(json_object_get(e, "Size")) -
				       (json_integer_value(json_object_get(e, "SharedSize")) > 0 ?
						json_integer_value(json_object_get(e, "SharedSize")) :
						0);
	}
	int64_t total_c = 0, active_c = 0, csize = 0, creclaim = 0;
	json_array_foreach(json_object_get(df, "Containers"), i, e) {
		total_c++;
		int64_t s = json_integer_value(json_object_get(e, "SizeRw"));
		csize += s;
		if (!strcmp(json_string_value(json_object_get(e, "State")) ?: "", "running"))
			active_c++;
		else
			creclaim += s;
	}
	int64_t total_v = 0, active_v = 0, vsize = 0, vreclaim = 0;
	json_array_foreach(json_object_get(df, "Volumes"), i, e) {
		json_t *u = json_object_get(e, "UsageData");
		int64_t s = json_integer_value(json_object_get(u, "Size"));
		total_v++;
		vsize += s > 0 ? s : 0;
		if (json_integer_value(json_object_get(u, "RefCount")) > 0)
			active_v++;
		else if (s > 0)
			vreclaim += s;
	}
	char a[32], b[32], d1[32], d2[32], pct[64], pct2[64], v1[32], v2[32], pct3[64];
	berth_human_size((double)vsize, v1, sizeof(v1));
	berth_human_size((double)vreclaim, v2, sizeof(v2));
	if (vsize)
		snprintf(pct3, sizeof(pct3), "%s (%lld%%)", v2, (long long)(vreclaim * 100 / vsize));
	else
		snprintf(pct3, sizeof(pct3), "%s", v2);
	berth_human_size((double)layers, a, sizeof(a));
	berth_human_size((double)unused_size, b, sizeof(b));
	if (layers)
		snprintf(pct, sizeof(pct), "%s (%lld%%)", b, (long long)(unused_size * 100 / layers));
	else
		snprintf(pct, sizeof(pct), "%s", b);
	berth_human_size((double)csize, d1, sizeof(d1));
	berth_human_size((double)creclaim, d2, sizeof(d2));
	if (csize)
		snprintf(pct2, sizeof(pct2), "%s (%lld%%)", d2, (long long)(creclaim * 100 / csize));
	else
		snprintf(pct2, sizeof(pct2), "%s", d2);
	cleanup_json json_t *rows = json_pack(
		"[{s:s, s:I, s:I, s:s, s:s}, {s:s, s:I, s:I, s:s, s:s}, "
		"{s:s, s:I, s:I, s:s, s:s}, {s:s, s:I, s:I, s:s, s:s}]",
		"Type", "Images", "TotalCount", (json_int_t)total_img, "Active", (json_int_t)active_img, "Size", a,
		"Reclaimable", pct, "Type", "Containers", "TotalCount", (json_int_t)total_c, "Active",
		(json_int_t)active_c, "Size", d1, "Reclaimable", pct2, "Type", "Local Volumes", "TotalCount",
		(json_int_t)total_v, "Active", (json_int_t)active_v, "Size", v1, "Reclaimable", pct3, "Type",
		"Build Cache", "TotalCount", (json_int_t)0, "Active", (json_int_t)0, "Size", "0B", "Reclaimable", "0B");
	static const struct berth_header_map hdr[] = {
		{"Type", "TYPE"}, {"TotalCount", "TOTAL"},        {"Active", "ACTIVE"},
		{"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}, {NULL, NULL}};
	int rc = 0;
	if (berth_format_list(format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", hdr,
			      rows, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 64;
	}
	free(format);
	return rc;
}

const struct cli_cmd cli_cmds_images[] = {
	{"images", cmd_images, NULL, "List images"},
	{"image ls", cmd_images, NULL, NULL},
	{"image list", cmd_images, NULL, NULL},
	{"import", cmd_import, NULL, "Import the contents from a tarball to create a filesystem image"},
	{"image import", cmd_import, NULL, NULL},
	{"tag", cmd_tag, NULL, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
	{"image tag", cmd_tag, NULL, NULL},
	{"rmi", cmd_rmi, NULL, "Remove one or more images"},
	{"image rm", cmd_rmi, NULL, NULL},
	{"image remove", cmd_rmi, NULL, NULL},
	{"history", cmd_history, NULL, "Show the history of an image"},
	{"image history", cmd_history, NULL, NULL},
	{"save", cmd_save, NULL, "Save one or more images to a tar archive (streamed to STDOUT by default)"},
	{"image save", cmd_save, NULL, NULL},
	{"load", cmd_load, NULL, "Load an image from a tar archive or STDIN"},
	{"image load", cmd_load, NULL, NULL},
	{"inspect", cmd_inspect, NULL, "Return low-level information on Docker objects"},
	{"image inspect", cmd_inspect, NULL, NULL},
	{"container inspect", cmd_inspect, NULL, NULL},
	{"image prune", cmd_image_prune, NULL, NULL},
	{"system df", cmd_system_df, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
