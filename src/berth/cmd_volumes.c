/* volume create | ls | inspect | rm | prune, as docker's CLI (20.10) prints them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_objects.h"
#include "cmd_common.h"
#include "common/cleanup.h"
#include "format/table.h"
#include "format/template.h"
#include "format/units.h"
#include "output.h"

/* "k=v" / "k" list -> {"k":"v"} (opts.ConvertKVStringsToMap). */
static json_t *kv_map(char **list)
{
	json_t *m = json_object();
	for (size_t i = 0; list && list[i]; i++) {
		const char *eq = strchr(list[i], '=');
		cleanup_free char *k = eq ? strndup(list[i], (size_t)(eq - list[i])) : strdup(list[i]);
		json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
	}
	return m;
}

static int cmd_volume_create(struct cli *c, int argc, char **argv)
{
	char *driver = NULL, *name = NULL;
	char **labels = NULL, **opts_l = NULL;
	const struct cli_opt opts[] = {
		{"driver", 'd', OPT_STR, &driver, "Specify volume driver name (default \"local\")"},
		{"label", 0, OPT_LIST, &labels, "Set metadata for a volume"},
		{"name", 0, OPT_STR, &name, ""},
		{"opt", 'o', OPT_LIST, &opts_l, "Set driver specific options (default map[])"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	size_t n = berth_strv_len(args);
	if (n > 1) {
		cli_args_error(c, "requires at most 1 argument");
		rc = 1;
	} else if (n == 1 && name && *name) {
		fprintf(stderr, "conflicting options: either specify --name or provide positional arg, not both\n");
		rc = 1;
	} else {
		cleanup_json json_t *body = json_object(), *out = NULL;
		json_object_set_new(body, "Driver", json_string(driver ? driver : "local"));
		json_object_set_new(body, "DriverOpts", kv_map(opts_l));
		json_object_set_new(body, "Labels", kv_map(labels));
		json_object_set_new(body, "Name", json_string(n == 1 ? args[0] : name ? name : ""));
		struct berth_error err = {0};
		if (berth_client_json(&c->cl, "POST", "/volumes/create", body, &out, &err) < 0)
			rc = cli_daemon_error(c, &err);
		else
			printf("%s\n", json_string_value(json_object_get(out, "Name")) ?: "");
	}
	berth_strv_free(args);
	berth_strv_free(labels);
	berth_strv_free(opts_l);
	free(driver);
	free(name);
	return rc;
}

/* sortorder.NaturalLess: digit runs compare by value. */
static int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *a0 = a, *b0 = b;
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			const char *as = a, *bs = b;
			while (isdigit((unsigned char)*a))
				a++;
			while (isdigit((unsigned char)*b))
				b++;
			size_t la = (size_t)(a - as), lb = (size_t)(b - bs);
			if (la != lb)
				return la < lb ? -1 : 1;
			int r = strncmp(as, bs, la);
			if (r)
				return r;
			if (as - a0 != bs - b0)
				return (as - a0) < (bs - b0) ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int cmp_volume(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	return natural_cmp(json_string_value(json_object_get(a, "Name")) ?: "",
			   json_string_value(json_object_get(b, "Name")) ?: "");
}

static const struct berth_header_map volume_headers[] = {
	{"Name", "VOLUME NAME"},
	{"Driver", "DRIVER"},
	{"Scope", "SCOPE"},
	{"Mountpoint", "MOUNTPOINT"},
	{"Labels", "LABELS"},
	{"Links", "LINKS"},
	{"Size", "SIZE"},
	{"Group", "GROUP"},
	{"Availability", "AVAILABILITY"},
	{"Status", "STATUS"},
	{NULL, NULL},
};

static json_t *volume_row(json_t *v)
{
	struct berth_buf lb = {0};
	json_t *labels = json_object_get(v, "Labels");
	const char **keys = calloc(json_object_size(labels) + 1, sizeof(char *));
	size_t nk = 0;
	const char *k;
	json_t *val;
	json_object_foreach(labels, k, val)
		keys[nk++] = k;
	for (size_t a = 1; a < nk; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	for (size_t i = 0; i < nk; i++)
		berth_buf_printf(&lb, "%s%s=%s", i ? "," : "", keys[i],
				 json_string_value(json_object_get(labels, keys[i])) ?: "");
	free(keys);
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability", "N/A", "Driver",
				json_string_value(json_object_get(v, "Driver")) ?: "", "Group", "N/A", "Labels",
				berth_buf_str(&lb), "Links", "N/A", "Mountpoint",
				json_string_value(json_object_get(v, "Mountpoint")) ?: "", "Name",
				json_string_value(json_object_get(v, "Name")) ?: "", "Scope",
				json_string_value(json_object_get(v, "Scope")) ?: "", "Size", "N/A", "Status", "N/A");
	berth_buf_free(&lb);
	return row;
}

/* {{.Label "name"}} on a row (its volume in a parallel array), or a header. */
struct label_ctx {
	json_t *rows, *volumes;
};

static int label_fn(void *ctx, json_t *const *args, size_t nargs, json_t **out, struct berth_error *err)
{
	struct label_ctx *lc = ctx;
	if (nargs != 2)
		return berth_err(err, BERTH_E_INVALID, "wrong number of args for Label: want 1 got %zu", nargs - 1);
	const char *name = json_string_value(args[1]);
	if (!name)
		return berth_err(err, BERTH_E_INVALID, "wrong type for value; expected string");
	for (size_t i = 0; i < json_array_size(lc->rows); i++) {
		if (json_array_get(lc->rows, i) != args[0])
			continue;
		json_t *labels = json_object_get(json_array_get(lc->volumes, i), "Labels");
		const char *v = json_string_value(json_object_get(labels, name));
		*out = json_string(v ? v : "");
		return 0;
	}
	const char *dot = strrchr(name, '.');
	char *h = strdup(dot ? dot + 1 : name);
	for (char *p = h; *p; p++)
		if (*p == '-' || *p == '_')
			*p = ' ';
	*out = json_string(h);
	free(h);
	return 0;
}

static int write_rows(const char *format, const char *deflt, json_t *rows, json_t *volumes, struct berth_error *err)
{
	struct label_ctx lc = {rows, volumes};
	struct berth_tmpl_func funcs[] = {{"Label", label_fn, &lc, true}};
	return berth_format_list_funcs(format, deflt, volume_headers, rows, funcs, 1, stdout, err);
}

static int cmd_volume_ls(struct cli *c, int argc, char **argv)
{
	bool quiet = false;
	char *format = NULL;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 'f', OPT_LIST, &filters, "Provide filter values (e.g. 'dangling=true')"},
		{"format", 0, OPT_STR, &format, "Pretty-print volumes using a Go template"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Only display volume names"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	cleanup_json json_t *list = NULL, *rows = NULL, *vols = NULL;
	cleanup_free char *path = NULL;
	if ((rc = cli_objects_check(c, args, filters)) != 0)
		goto out;
	path = cli_objects_path("/volumes", filters);
	struct berth_error err = {0};
	if (berth_client_json(&c->cl, "GET", path, NULL, &list, &err) < 0) {
		rc = cli_daemon_error(c, &err);
		goto out;
	}
	vols = json_deep_copy(json_object_get(list, "Volumes"));
	if (!json_is_array(vols)) {
		json_decref(vols);
		vols = json_array();
	}
	size_t n = json_array_size(vols);
	json_t **v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(vols, i));
	qsort(v, n, sizeof(*v), cmp_volume);
	json_array_clear(vols);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(vols, v[i]);
	free(v);
	rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, volume_row(json_array_get(vols, i)));
	const char *deflt = quiet ? "{{.Name}}" : "table {{.Driver}}\t{{.Name}}";
	if (write_rows(quiet ? NULL : format, deflt, rows, vols, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 64;
	}
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	free(format);
	return rc;
}

static int cmd_volume_inspect(struct cli *c, int argc, char **argv)
{
	char *format = NULL;
	const struct cli_opt opts[] = {
		{"format", 'f', OPT_STR, &format, "Format the output using the given Go template"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		free(format);
		return 1;
	}
	rc = cli_objects_inspect(c, args, "/volumes", "volume", format);
	berth_strv_free(args);
	free(format);
	return rc;
}

static int cmd_volume_rm(struct cli *c, int argc, char **argv)
{
	bool force = false;
	const struct cli_opt opts[] = {
		{"force", 'f', OPT_BOOL, &force, "Force the removal of one or more volumes"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	if (!args) {
		cli_args_error(c, "requires at least 1 argument");
		return 1;
	}
	int rc = cli_objects_remove(c, args, "/volumes", force ? "?force=1" : "?force=0", "volume");
	berth_strv_free(args);
	return rc;
}

static int cmd_volume_prune(struct cli *c, int argc, char **argv)
{
	bool force = false;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"filter", 0, OPT_LIST, &filters, "Provide filter values (e.g. 'label=<label>')"},
		{"force", 'f', OPT_BOOL, &force, "Do not prompt for confirmation"},
		END_OPTS,
	};
	PARSE_OR_RETURN(opts, false);
	int rc = 0;
	cleanup_json json_t *res = NULL;
	cleanup_free char *path = NULL;
	int64_t reclaimed = 0;
	if ((rc = cli_objects_check(c, args, filters)) != 0)
		goto out;
	path = cli_objects_path("/volumes/prune", filters);
	if (cli_objects_prune(c, force, "This will remove all local volumes not used by at least one container.", path,
			      &res, &rc)) {
		cli_objects_print_deleted("Deleted Volumes", json_object_get(res, "VolumesDeleted"));
		reclaimed = json_integer_value(json_object_get(res, "SpaceReclaimed"));
	} else if (rc) {
		goto out;
	}
	char sz[32];
	berth_human_size((double)reclaimed, sz, sizeof(sz));
	printf("Total reclaimed space: %s\n", sz);
out:
	berth_strv_free(args);
	berth_strv_free(filters);
	return rc;
}

static int cmd_volume(struct cli *c, int argc, char **argv)
{
	(void)c;
	FILE *out = argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? stderr : stdout;
	if (out == stderr)
		fprintf(stderr, "berth: 'volume %s' is not a berth command.\nSee 'berth volume --help'\n", argv[1]);
	else
		fprintf(out, "\nUsage:  berth volume COMMAND\n\nManage volumes\n\nCommands:\n"
			     "  create      Create a volume\n"
			     "  inspect     Display detailed information on one or more volumes\n"
			     "  ls          List volumes\n"
			     "  prune       Remove all unused local volumes\n"
			     "  rm          Remove one or more volumes\n\n"
			     "Run 'berth volume COMMAND --help' for more information on a command.\n");
	return out == stderr ? 1 : 0;
}

const struct cli_cmd cli_cmds_volumes[] = {
	{"volume", cmd_volume, NULL, "Manage volumes"},
	{"volume create", cmd_volume_create, NULL, NULL},
	{"volume ls", cmd_volume_ls, NULL, NULL},
	{"volume list", cmd_volume_ls, NULL, NULL},
	{"volume inspect", cmd_volume_inspect, NULL, NULL},
	{"volume rm", cmd_volume_rm, NULL, NULL},
	{"volume remove", cmd_volume_rm, NULL, NULL},
	{"volume prune", cmd_volume_prune, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
