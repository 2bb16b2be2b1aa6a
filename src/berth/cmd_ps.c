/* ps / container ls: docker's ContainerContext columns and --format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "container_opts.h"
#include "ctr_common.h"
#include "format/gofmt.h"
#include "format/table.h"
#include "format/template.h"
#include "format/units.h"
#include "output.h"

static const struct berth_header_map ps_headers[] = {
	{"ID", "CONTAINER ID"},
	{"Names", "NAMES"},
	{"Image", "IMAGE"},
	{"Command", "COMMAND"},
	{"CreatedAt", "CREATED AT"},
	{"RunningFor", "CREATED"},
	{"Ports", "PORTS"},
	{"State", "STATE"},
	{"Status", "STATUS"},
	{"Size", "SIZE"},
	{"Labels", "LABELS"},
	{"Mounts", "MOUNTS"},
	{"LocalVolumes", "LOCAL VOLUMES"},
	{"Networks", "NETWORKS"},
	{NULL, NULL},
};

#define PS_TABLE "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

/* East Asian wide/fullwidth runes count 2 columns (golang.org/x/text/width). */
static int rune_width(unsigned r)
{
	if ((r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0x303E) || (r >= 0x3041 && r <= 0x33FF) ||
	    (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xA000 && r <= 0xA4CF) ||
	    (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) ||
	    (r >= 0xFF00 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F) ||
	    (r >= 0x20000 && r <= 0x3FFFD))
		return 2;
	return 1;
}

/* formatter.Ellipsis */
static char *ellipsis(const char *s, int max)
{
	size_t len = strlen(s);
	if (max <= 0)
		return strdup("");
	size_t runes = go_rune_count(s, len);
	if (runes == len) {
		if ((int)len <= max)
			return strdup(s);
		return berth_strdup_printf("%.*s…", max - 1, s);
	}
	int width = 0;
	for (size_t i = 0; i < len;) {
		unsigned r;
		i += go_decode_rune(s + i, len - i, &r);
		width += rune_width(r);
	}
	if (width <= max)
		return strdup(s);
	width = 0;
	for (size_t i = 0; i < len;) {
		unsigned r;
		size_t k = go_decode_rune(s + i, len - i, &r);
		if (width + rune_width(r) > max - 1)
			return berth_strdup_printf("%.*s…", (int)i, s);
		width += rune_width(r);
		i += k;
	}
	return strdup(s);
}

/* ContainerContext.Image with truncation. */
static char *image_column(json_t *ct, bool trunc)
{
	const char *image = json_string_value(json_object_get(ct, "Image"));
	const char *image_id = json_string_value(json_object_get(ct, "ImageID"));
	if (!image || !*image)
		return strdup("<no image>");
	if (!trunc)
		return strdup(image);
	char a[16], b[16];
	output_short_id(image_id, 0, a, sizeof(a));
	output_short_id(image, 0, b, sizeof(b));
	if (!strcmp(a, b))
		return strdup(a);
	/* familiar name, keeping a tag and dropping a digest */
	const char *name = image;
	if (berth_str_has_prefix(name, "docker.io/"))
		name += 10;
	if (name != image && berth_str_has_prefix(name, "library/") && !strchr(name + 8, '/'))
		name += 8;
	const char *at = strchr(name, '@');
	return at ? strndup(name, (size_t)(at - name)) : strdup(name);
}

struct port {
	const char *ip, *type;
	long long priv, pub;
};

static int port_cmp(const void *pa, const void *pb)
{
	const struct port *a = pa, *b = pb;
	if (a->priv != b->priv)
		return a->priv < b->priv ? -1 : 1;
	int c = strcmp(a->ip, b->ip);
	if (c)
		return c;
	if (a->pub != b->pub)
		return a->pub < b->pub ? -1 : 1;
	return strcmp(a->type, b->type);
}

static void form_group(struct berth_buf *out, const char *key, long long first, long long last)
{
	const char *slash = strchr(key, '/');
	char group[64];
	if (first == last)
		snprintf(group, sizeof(group), "%lld", first);
	else
		snprintf(group, sizeof(group), "%lld-%lld", first, last);
	if (out->len)
		berth_buf_printf(out, ", ");
	if (slash)
		berth_buf_printf(out, "%.*s:%s->%s/%s", (int)(slash - key), key, group, group, slash + 1);
	else
		berth_buf_printf(out, "%s/%s", group, key);
}

/* formatter.DisplayablePorts */
static char *displayable_ports(json_t *ports)
{
	size_t n = json_array_size(ports);
	struct port *p = calloc(n ? n : 1, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(ports, i);
		const char *ip = json_string_value(json_object_get(e, "IP"));
		const char *type = json_string_value(json_object_get(e, "Type"));
		p[i] = (struct port){ip ? ip : "", type ? type : "",
				     json_integer_value(json_object_get(e, "PrivatePort")),
				     json_integer_value(json_object_get(e, "PublicPort"))};
	}
	qsort(p, n, sizeof(*p), port_cmp);
	struct berth_buf result = {0}, mappings = {0};
	/* groups in creation order: key, first, last */
	char **keys = NULL;
	long long *first = calloc(n + 1, sizeof(long long)), *last = calloc(n + 1, sizeof(long long));
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		char key[128];
		snprintf(key, sizeof(key), "%s", p[i].type);
		if (*p[i].ip) {
			if (p[i].pub != p[i].priv) {
				berth_buf_printf(&mappings, "%s%s:%lld->%lld/%s", mappings.len ? ", " : "", p[i].ip,
						 p[i].pub, p[i].priv, p[i].type);
				continue;
			}
			snprintf(key, sizeof(key), "%s/%s", p[i].ip, p[i].type);
		}
		size_t g;
		for (g = 0; g < ng; g++)
			if (!strcmp(keys[g], key))
				break;
		if (g == ng) {
			berth_strv_push(&keys, key);
			first[ng] = last[ng] = p[i].priv;
			ng++;
			continue;
		}
		if (p[i].priv == last[g] + 1) {
			last[g] = p[i].priv;
			continue;
		}
		form_group(&result, key, first[g], last[g]);
		first[g] = last[g] = p[i].priv;
	}
	for (size_t g = 0; g < ng; g++)
		form_group(&result, keys[g], first[g], last[g]);
	if (mappings.len)
		berth_buf_printf(&result, "%s%s", result.len ? ", " : "", berth_buf_str(&mappings));
	berth_strv_free(keys);
	free(first);
	free(last);
	free(p);
	berth_buf_free(&mappings);
	return berth_buf_steal(&result);
}

static int key_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* One ps row: docker's ContainerContext fields as strings, keys sorted like
 * its MarshalJSON. */
static json_t *ps_row(json_t *ct, bool trunc)
{
	json_t *row = json_object();
	const char *cmd = json_string_value(json_object_get(ct, "Command"));
	cleanup_free char *cshort = trunc ? ellipsis(cmd ? cmd : "", 20) : strdup(cmd ? cmd : "");
	struct berth_buf q = {0};
	go_quote(&q, cshort, strlen(cshort));
	json_object_set_new(row, "Command", json_string(berth_buf_str(&q)));
	berth_buf_free(&q);
	int64_t created = json_integer_value(json_object_get(ct, "Created"));
	char buf[128];
	output_time_string(created, buf, sizeof(buf));
	json_object_set_new(row, "CreatedAt", json_string(buf));
	const char *id = json_string_value(json_object_get(ct, "Id"));
	output_short_id(id, !trunc, buf, sizeof(buf));
	json_object_set_new(row, "ID", json_string(buf));
	cleanup_free char *img = image_column(ct, trunc);
	json_object_set_new(row, "Image", json_string(img));
	/* Labels: k=v joined with "," (sorted; Go's map order is random) */
	json_t *labels = json_object_get(ct, "Labels");
	size_t nl = json_object_size(labels), i = 0;
	const char **lk = calloc(nl + 1, sizeof(*lk));
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v)
		lk[i++] = k;
	qsort(lk, nl, sizeof(*lk), key_cmp);
	struct berth_buf lb = {0};
	berth_buf_str(&lb);
	for (i = 0; i < nl; i++)
		berth_buf_printf(&lb, "%s%s=%s", i ? "," : "", lk[i],
				 json_string_value(json_object_get(labels, lk[i])));
	free(lk);
	json_object_set_new(row, "Labels", json_string(berth_buf_str(&lb)));
	berth_buf_free(&lb);
	json_t *mounts = json_object_get(ct, "Mounts");
	int local = 0;
	struct berth_buf mb = {0};
	berth_buf_str(&mb);
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *name = json_string_value(json_object_get(m, "Name"));
		if (!name || !*name)
			name = json_string_value(json_object_get(m, "Source"));
		cleanup_free char *nm = trunc ? ellipsis(name ? name : "", 15) : strdup(name ? name : "");
		berth_buf_printf(&mb, "%s%s", i ? "," : "", nm);
		const char *drv = json_string_value(json_object_get(m, "Driver"));
		if (drv && !strcmp(drv, "local"))
			local++;
	}
	snprintf(buf, sizeof(buf), "%d", local);
	json_object_set_new(row, "LocalVolumes", json_string(buf));
	json_object_set_new(row, "Mounts", json_string(berth_buf_str(&mb)));
	berth_buf_free(&mb);
	/* Names: strip the leading "/"; truncated: the first name that is not a link alias */
	json_t *names = json_object_get(ct, "Names");
	struct berth_buf nb = {0};
	berth_buf_str(&nb);
	json_t *nv;
	const char *single = NULL;
	json_array_foreach(names, i, nv) {
		const char *s = json_string_value(nv);
		if (!s)
			continue;
		if (*s == '/')
			s++;
		if (!single && !strchr(s, '/'))
			single = s;
		berth_buf_printf(&nb, "%s%s", i ? "," : "", s);
	}
	json_object_set_new(row, "Names", json_string(trunc && single ? single : berth_buf_str(&nb)));
	berth_buf_free(&nb);
	json_t *nets = json_object_get(json_object_get(ct, "NetworkSettings"), "Networks");
	struct berth_buf netb = {0};
	berth_buf_str(&netb);
	i = 0;
	json_object_foreach(nets, k, v)
		berth_buf_printf(&netb, "%s%s", i++ ? "," : "", k);
	json_object_set_new(row, "Networks", json_string(berth_buf_str(&netb)));
	berth_buf_free(&netb);
	cleanup_free char *ports = displayable_ports(json_object_get(ct, "Ports"));
	json_object_set_new(row, "Ports", json_string(ports));
	output_created_since(created, buf, sizeof(buf));
	json_object_set_new(row, "RunningFor", json_string(buf));
	char srw[32], sv[32], size[80];
	json_int_t rootfs = json_integer_value(json_object_get(ct, "SizeRootFs"));
	berth_human_size_prec((double)json_integer_value(json_object_get(ct, "SizeRw")), 3, srw, sizeof(srw));
	berth_human_size_prec((double)rootfs, 3, sv, sizeof(sv));
	if (rootfs > 0)
		snprintf(size, sizeof(size), "%s (virtual %s)", srw, sv);
	else
		snprintf(size, sizeof(size), "%s", srw);
	json_object_set_new(row, "Size", json_string(size));
	const char *state = json_string_value(json_object_get(ct, "State"));
	const char *status = json_string_value(json_object_get(ct, "Status"));
	json_object_set_new(row, "State", json_string(state ? state : ""));
	json_object_set_new(row, "Status", json_string(status ? status : ""));
	return row;
}

/* {{.Label "name"}}: rows keep their labels in a parallel array. */
struct label_ctx {
	json_t *rows, *containers;
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
		json_t *labels = json_object_get(json_array_get(lc->containers, i), "Labels");
		const char *v = json_string_value(json_object_get(labels, name));
		*out = json_string(v ? v : "");
		return 0;
	}
	/* the header row: HeaderContext.Label */
	const char *dot = strrchr(name, '.');
	char *h = strdup(dot ? dot + 1 : name);
	for (char *p = h; *p; p++)
		if (*p == '-' || *p == '_')
			*p = ' ';
	*out = json_string(h);
	free(h);
	return 0;
}

/* formatter.Context.Write with the Label method available. */
static int ps_write(const char *format, json_t *rows, json_t *containers, struct berth_error *err)
{
	struct label_ctx lc = {rows, containers};
	struct berth_tmpl_func funcs[] = {{"Label", label_fn, &lc, true}};
	return berth_format_list_funcs(format, PS_TABLE, ps_headers, rows, funcs, 1, stdout, err);
}

int cmd_ps(struct cli *c, int argc, char **argv)
{
	bool quiet = false, size = false, all = false, no_trunc = false, latest = false;
	long long last = -1;
	char *format = NULL;
	char **filters = NULL;
	const struct cli_opt opts[] = {
		{"all", 'a', OPT_BOOL, &all, "Show all containers (default shows just running)"},
		{"filter", 'f', OPT_LIST, &filters, "Filter output based on conditions provided"},
		{"format", 0, OPT_STR, &format, "Pretty-print containers using a Go template"},
		{"last", 'n', OPT_INT, &last, "Show n last created containers (includes all states) (default -1)"},
		{"latest", 'l', OPT_BOOL, &latest, "Show the latest created container (includes all states)"},
		{"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
		{"quiet", 'q', OPT_BOOL, &quiet, "Only display container IDs"},
		{"size", 's', OPT_BOOL, &size, "Display total file sizes"},
		CTR_END_OPTS,
	};
	CTR_PARSE(opts, false);
	int rc = 0;
	char **norm = NULL;
	cleanup_json json_t *list = NULL, *rows = NULL;
	cleanup_free char *deflt = NULL;
	struct berth_buf q = {0};
	if (args) {
		ctr_args_error(c, "accepts no arguments");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; filters && filters[i]; i++) {
		const char *f = filters[i];
		if (!*f)
			continue;
		const char *eq = strchr(f, '=');
		if (!eq) {
			fprintf(stderr,
				"invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\nSee '%s --help'.\n",
				f, c->cmdpath);
			rc = 125;
			goto out;
		}
		cleanup_free char *k = strndup(f, (size_t)(eq - f));
		char *ks = k, *ke;
		while (*ks == ' ' || *ks == '\t')
			ks++;
		ke = ks + strlen(ks);
		while (ke > ks && (ke[-1] == ' ' || ke[-1] == '\t'))
			*--ke = '\0';
		for (char *p = ks; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		const char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		cleanup_free char *kv = berth_strdup_printf("%s=%.*s", ks, (int)vl, v);
		berth_strv_push(&norm, kv);
	}
	if (latest && last == -1)
		last = 1;
	/* .Size in a custom format (or {{json .}}, which shows every field) turns on -s */
	if (!size && format && *format && (strstr(format, "Size") || strstr(format, "json")))
		size = true;
	berth_buf_printf(&q, "/containers/json?");
	if (all)
		berth_buf_printf(&q, "all=1&");
	if (last != -1)
		berth_buf_printf(&q, "limit=%lld&", last);
	if (size)
		berth_buf_printf(&q, "size=1&");
	if (norm) {
		cleanup_free char *fq = output_filters_query(norm);
		berth_buf_printf(&q, "filters=%s&", fq);
	}
	q.data[--q.len] = '\0';
	struct berth_error err = {0}, msg = {0};
	if (berth_client_json(&c->cl, "GET", berth_buf_str(&q), NULL, &list, &err) < 0) {
		ctr_daemon_msg(&err, &msg);
		rc = ctr_fail(&msg);
		goto out;
	}
	rows = json_array();
	size_t i;
	json_t *ct;
	json_array_foreach(list, i, ct)
		json_array_append_new(rows, ps_row(ct, !no_trunc));
	const char *fmt = format && *format ? format : "table";
	if (!strcmp(fmt, "table")) {
		deflt = quiet ? strdup("{{.ID}}") : size ? strdup(PS_TABLE "\t{{.Size}}") : strdup(PS_TABLE);
		fmt = deflt;
	} else if (!strcmp(fmt, "raw")) {
		deflt = quiet ? strdup("container_id: {{.ID}}") :
				berth_strdup_printf("container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\n"
						    "created_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\n"
						    "status: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
						    "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n%s",
						    size ? "size: {{.Size}}\\n" : "");
		fmt = deflt;
	}
	if (ps_write(fmt, rows, list, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
	}
out:
	berth_buf_free(&q);
	berth_strv_free(norm);
	berth_strv_free(args);
	berth_strv_free(filters);
	free(format);
	return rc;
}
