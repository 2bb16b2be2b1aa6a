/* berth system check [--repair] [--format json]: the store check of
 * POST /system/check (beyond docker). Prints one line per problem with what
 * repair does (or did); exit status 1 when problems were found and not
 * repaired. */
#include "cmd_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "common/cleanup.h"

int cli_system_check(struct cli *c, int argc, char **argv)
{
	bool repair = false;
	char *format = NULL;
	const struct cli_opt opts[] = {
		{"repair", 0, OPT_BOOL, &repair,
		 "Remove orphans and quarantine corrupt layers and the images that need them"},
		{"format", 0, OPT_STR, &format, "Print the report as \"json\""},
		{NULL, 0, 0, NULL, NULL},
	};
	char **args = NULL;
	int pr = cli_parse(c, argc, argv, opts, false, &args);
	if (pr) {
		free(format);
		return pr < 0 ? 125 : 0;
	}
	if (args && args[0]) {
		berth_strv_free(args);
		free(format);
		cli_args_error(c, "accepts no arguments");
		return 1;
	}
	berth_strv_free(args);
	struct berth_error err = {0};
	cleanup_json json_t *out = NULL;
	const char *path = repair ? "/system/check?repair=1" : "/system/check";
	if (berth_client_json(&c->cl, "POST", path, NULL, &out, &err) < 0) {
		free(format);
		return cli_daemon_error(c, &err);
	}
	json_t *problems = json_object_get(out, "Problems");
	size_t n = json_array_size(problems);
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		json_t *chk = json_object_get(out, "Checked");
		if (n == 0) {
			printf("No problems found: %lld layers (%lld verified), %lld container layers, %lld images, "
			       "%lld references, %lld containers\n",
			       (long long)json_integer_value(json_object_get(chk, "Layers")),
			       (long long)json_integer_value(json_object_get(chk, "VerifiedLayers")),
			       (long long)json_integer_value(json_object_get(chk, "ContainerLayers")),
			       (long long)json_integer_value(json_object_get(chk, "Images")),
			       (long long)json_integer_value(json_object_get(chk, "References")),
			       (long long)json_integer_value(json_object_get(chk, "Containers")));
		} else {
			printf("%-20s %-20s %-18s %s\n", "TYPE", "ID", "ACTION", "PROBLEM");
			size_t i;
			json_t *p;
			json_array_foreach(problems, i, p) {
				const char *id = json_string_value(json_object_get(p, "ID"));
				char shortid[21];
				snprintf(shortid, sizeof(shortid), "%s", id ? id : "");
				if (id && !strncmp(id, "sha256:", 7))
					snprintf(shortid, sizeof(shortid), "%.12s", id + 7);
				printf("%-20s %-20s %-18s %s\n", json_string_value(json_object_get(p, "Type")),
				       id && strchr(id, '/') ? id : shortid,
				       json_string_value(json_object_get(p, "Action")),
				       json_string_value(json_object_get(p, "Message")));
			}
		}
	}
	free(format);
	return n > 0 && !repair ? 1 : 0;
}
