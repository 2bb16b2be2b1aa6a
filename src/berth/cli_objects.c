/* Shared scaffolding of the object commands (cli_objects.h). */
#include "cli_objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "format/table.h"
#include "output.h"

int cli_objects_check(struct cli *c, char **args, char **filters)
{
	if (args) {
		cli_args_error(c, "accepts no arguments");
		return 1;
	}
	for (size_t i = 0; filters && filters[i]; i++)
		if (!strchr(filters[i], '=')) {
			fprintf(stderr,
				"invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\nSee '%s --help'.\n",
				filters[i], c->cmdpath);
			return 125;
		}
	return 0;
}

char *cli_objects_path(const char *base, char **filters)
{
	if (!filters)
		return strdup(base);
	cleanup_free char *f = output_filters_query(filters);
	return berth_strdup_printf("%s?filters=%s", base, f);
}

int cli_objects_print(const char *format, json_t *items)
{
	struct berth_error err = {0};
	if (berth_format_inspect(format, items, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 64;
	}
	return 0;
}

int cli_objects_inspect(struct cli *c, char **args, const char *base, const char *noun, const char *format)
{
	int rc = 0;
	cleanup_json json_t *items = json_array();
	struct berth_buf errs = {0};
	for (size_t i = 0; args && args[i]; i++) {
		cleanup_free char *enc = berth_urlencode(args[i]);
		cleanup_free char *p = berth_strdup_printf("%s/%s", base, enc);
		struct berth_error err = {0};
		json_t *obj = NULL;
		if (berth_client_json(&c->cl, "GET", p, NULL, &obj, &err) < 0) {
			if (err.kind == BERTH_E_NOT_FOUND)
				berth_buf_printf(&errs, "Error: No such %s: %s\n", noun, args[i]);
			else
				berth_buf_printf(&errs, "Error response from daemon: %s\n", err.msg);
			rc = 1;
			continue;
		}
		json_array_append_new(items, obj);
	}
	if (cli_objects_print(format, items) != 0)
		rc = 64;
	if (errs.len)
		fputs(berth_buf_str(&errs), stderr);
	berth_buf_free(&errs);
	return rc;
}

int cli_objects_remove(struct cli *c, char **args, const char *base, const char *query, const char *noun)
{
	int rc = 0;
	struct berth_buf errs = {0};
	for (size_t i = 0; args && args[i]; i++) {
		cleanup_free char *enc = berth_urlencode(args[i]);
		cleanup_free char *p = berth_strdup_printf("%s/%s%s", base, enc, query);
		struct berth_error err = {0};
		struct berth_response resp = {0};
		if (berth_client_do(&c->cl, "DELETE", p, NULL, NULL, NULL, NULL, NULL, &resp, &err) < 0) {
			berth_buf_printf(&errs, "%s%s", errs.len ? "\n" : "", err.msg);
			rc = 1;
		} else if (resp.status >= 400) {
			berth_client_error(&resp, &err);
			if (resp.status == 404)
				berth_buf_printf(&errs, "%sError: No such %s: %s", errs.len ? "\n" : "", noun, args[i]);
			else
				berth_buf_printf(&errs, "%sError response from daemon: %s", errs.len ? "\n" : "",
						 err.msg);
			rc = 1;
		} else {
			printf("%s\n", args[i]);
		}
		berth_response_free(&resp);
	}
	if (errs.len)
		fprintf(stderr, "%s\n", berth_buf_str(&errs));
	berth_buf_free(&errs);
	return rc;
}

bool cli_objects_prune(struct cli *c, bool force, const char *warning, const char *path, json_t **res, int *rc)
{
	*res = NULL;
	*rc = 0;
	if (!force) {
		printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
		fflush(stdout);
		char line[16] = "";
		if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
			return false;
	}
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "POST", path, NULL, res, &err) < 0) {
		*rc = cli_daemon_error(c, &err);
		return false;
	}
	return true;
}

void cli_objects_print_deleted(const char *title, json_t *arr)
{
	if (!json_array_size(arr))
		return;
	printf("%s:\n", title);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		printf("%s\n", json_string_value(e) ?: "");
	printf("\n");
}
