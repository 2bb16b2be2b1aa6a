/* berth push [-a] [-q] NAME[:TAG] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "credentials.h"
#include "image/reference.h"
#include "progress.h"

#define END_OPTS                                                                                                       \
	{                                                                                                              \
		NULL, 0, 0, NULL, NULL                                                                                 \
	}

static int do_push(struct cli *c, struct berth_ref *refp, const char *arg, bool quiet)
{
	struct berth_ref ref = *refp;
	struct berth_error err = {0};
	int rc = 1;
	struct berth_ref n = ref;
	berth_ref_trim(&n);
	cleanup_free char *name = berth_ref_familiar_name(&n);
	cleanup_free char *full = berth_ref_string(&ref);
	cleanup_free char *ename = name ? berth_urlencode(name) : NULL;
	cleanup_free char *etag = berth_urlencode(ref.tag);
	cleanup_free char *path = berth_strdup_printf("/images/%s/push?tag=%s", ename ? ename : "", etag ? etag : "");
	cleanup_free char *auth = berth_cred_registry_auth_header(arg);
	c->cl.registry_auth = auth;
	fflush(stdout);
	struct cli_progress *p = cli_progress_new(stdout, isatty(1), quiet);
	struct berth_response resp;
	if (!p || !path) {
		fprintf(stderr, "out of memory\n");
	} else if (berth_client_do(&c->cl, "POST", path, NULL, NULL, NULL, cli_progress_data, p, &resp, &err) < 0) {
		cli_daemon_error(c, &err);
	} else {
		if (resp.status >= 300) {
			berth_client_error(&resp, &err);
			cli_daemon_error(c, &err);
		} else if (cli_progress_finish(p, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
		} else {
			if (quiet)
				printf("%s\n", full ? full : "");
			rc = 0;
		}
		berth_response_free(&resp);
	}
	c->cl.registry_auth = NULL;
	cli_progress_free(p);
	return rc;
}

static int cmd_push(struct cli *c, int argc, char **argv)
{
	bool all = false, quiet = false, dct = false;
	const struct cli_opt opts[] = {
		{"all-tags", 'a', OPT_BOOL, &all, "Push all tagged images in the repository"},
		{"disable-content-trust", 0, OPT_BOOL, &dct, "Skip image signing (default true)"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Suppress verbose output"},
		END_OPTS};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr)
		return pr < 0 ? 125 : 0;
	int rc = 1;
	struct berth_error err = {0};
	struct berth_ref ref;
	if (berth_strv_len(args) != 1) {
		cli_args_error(c, "requires exactly 1 argument");
		goto out;
	}
	if (berth_ref_parse_normalized(args[0], &ref, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	if (all && (ref.tag[0] || ref.digest[0])) {
		fprintf(stderr, "tag can't be used with --all-tags/-a\n");
		goto out;
	}
	if (!all && !ref.tag[0] && !ref.digest[0]) {
		berth_ref_tag_name_only(&ref);
		if (!quiet)
			printf("Using default tag: %s\n", ref.tag);
	}
	rc = do_push(c, &ref, args[0], quiet);
out:
	berth_strv_free(args);
	return rc;
}

const struct cli_cmd cli_cmds_push[] = {
	{"push", cmd_push, "NAME[:TAG]", "Upload an image to a registry"},
	{"image push", cmd_push, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
