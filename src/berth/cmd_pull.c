/* berth pull [-a] [--platform P] [-q] NAME[:TAG|@DIGEST] */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "credentials.h"
#include "image/reference.h"
#include "progress.h"
#include "pull.h"

#define END_OPTS                                                                                                       \
	{                                                                                                              \
		NULL, 0, 0, NULL, NULL                                                                                 \
	}

int cli_pull_image(struct cli *c, const char *image, bool all_tags, const char *platform, FILE *out, bool quiet,
		   bool *daemon_err, struct berth_error *err)
{
	*daemon_err = false;
	struct berth_ref ref;
	if (berth_ref_parse_normalized(image, &ref, err) < 0)
		return -1;
	cleanup_free char *name = NULL;
	{
		struct berth_ref n = ref;
		berth_ref_trim(&n);
		name = berth_ref_familiar_name(&n);
	}
	const char *tag = ref.digest[0] ? ref.digest : ref.tag[0] ? ref.tag : all_tags ? "" : "latest";
	cleanup_free char *f = berth_urlencode(name), *t = berth_urlencode(tag);
	struct berth_buf q = {0};
	berth_buf_printf(&q, "/images/create?fromImage=%s&tag=%s", f, t);
	if (platform && *platform) {
		cleanup_free char *pe = berth_urlencode(platform);
		berth_buf_printf(&q, "&platform=%s", pe);
	}
	cleanup_free char *auth = berth_cred_registry_auth_header(image);
	const char *saved = c->cl.registry_auth;
	c->cl.registry_auth = auth;
	struct cli_progress *p = cli_progress_new(out, isatty(fileno(out)), quiet);
	struct berth_response resp;
	int rc = 0;
	if (!p) {
		rc = berth_err(err, BERTH_E_INTERNAL, "out of memory");
	} else if (berth_client_do(&c->cl, "POST", berth_buf_str(&q), NULL, NULL, NULL, cli_progress_data, p, &resp,
				   err) < 0) {
		*daemon_err = true;
		rc = -1;
	} else {
		if (resp.status >= 300) {
			berth_client_error(&resp, err);
			*daemon_err = true;
			rc = -1;
		} else {
			rc = cli_progress_finish(p, err);
		}
		berth_response_free(&resp);
	}
	c->cl.registry_auth = saved;
	cli_progress_free(p);
	berth_buf_free(&q);
	return rc;
}

static int cmd_pull(struct cli *c, int argc, char **argv)
{
	bool all = false, quiet = false, dct = false;
	char *platform = NULL;
	const struct cli_opt opts[] = {
		{"all-tags", 'a', OPT_BOOL, &all, "Download all tagged images in the repository"},
		{"disable-content-trust", 0, OPT_BOOL, &dct, "Skip image verification (default true)"},
		{"platform", 0, OPT_STR, &platform, "Set platform if server is multi-platform capable"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Suppress verbose output"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr) {
		free(platform);
		return pr < 0 ? 125 : 0;
	}
	int rc = 1;
	struct berth_error err = {0};
	struct berth_ref ref;
	if (berth_strv_len(args) != 1) {
		cli_args_error(c, "requires exactly 1 argument");
	} else if (berth_ref_parse_normalized(args[0], &ref, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
	} else if (all && (ref.tag[0] || ref.digest[0])) {
		fprintf(stderr, "tag can't be used with --all-tags/-a\n");
	} else {
		if (!all && !ref.tag[0] && !ref.digest[0]) {
			berth_ref_tag_name_only(&ref);
			if (!quiet)
				printf("Using default tag: latest\n");
		}
		cleanup_free char *full = berth_ref_string(&ref);
		bool daemon_err = false;
		fflush(stdout);
		if (cli_pull_image(c, full, all, platform, stdout, quiet, &daemon_err, &err) < 0) {
			if (daemon_err)
				cli_daemon_error(c, &err);
			else
				fprintf(stderr, "%s\n", err.msg);
		} else {
			if (all) {
				struct berth_ref n = ref;
				berth_ref_trim(&n);
				cleanup_free char *nm = berth_ref_name(&n);
				printf("%s\n", nm);
			} else {
				printf("%s\n", full);
			}
			rc = 0;
		}
	}
	berth_strv_free(args);
	free(platform);
	return rc;
}

const struct cli_cmd cli_cmds_pull[] = {
	{"pull", cmd_pull, "NAME[:TAG|@DIGEST]", "Download an image from a registry"},
	{"image pull", cmd_pull, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
