#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o && o->lng; o++)
		if (strlen(o->lng) == len && !strncmp(o->lng, name, len))
			return o;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char ch)
{
	for (const struct cli_opt *o = opts; o && o->lng; o++)
		if (o->shrt == ch)
			return o;
	return NULL;
}

static int set_value(struct cli *c, const struct cli_opt *o, const char *val, const char *shown)
{
	switch (o->type) {
	case OPT_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)o->ptr = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)o->ptr = false;
		else {
			fprintf(stderr,
				"invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\nSee '%s --help'.\n",
				val, shown, val, c->cmdpath);
			return -1;
		}
		return 0;
	case OPT_STR:
		free(*(char **)o->ptr);
		*(char **)o->ptr = strdup(val);
		return 0;
	case OPT_LIST: berth_strv_push((char ***)o->ptr, val); return 0;
	case OPT_INT: {
		char *end;
		long long v = strtoll(val, &end, 10);
		if (!*val || *end) {
			fprintf(stderr,
				"invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax\nSee '%s --help'.\n",
				val, shown, val, c->cmdpath);
			return -1;
		}
		*(long long *)o->ptr = v;
		return 0;
	}
	}
	return -1;
}

int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, bool stop_at_positional, char ***args)
{
	*args = NULL;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || !a[1]) {
			berth_strv_push(args, a);
			if (stop_at_positional)
				only_pos = true;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(c, opts, stdout);
			berth_strv_free(*args);
			*args = NULL;
			return 1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = find_long(opts, name, len);
			if (!o) {
				fprintf(stderr, "unknown flag: --%.*s\nSee '%s --help'.\n", (int)len, name, c->cmdpath);
				goto fail;
			}
			char shown[128];
			snprintf(shown, sizeof(shown), "--%s", o->lng);
			const char *val = eq ? eq + 1 : NULL;
			if (!val && o->type != OPT_BOOL) {
				if (i + 1 >= argc) {
					fprintf(stderr, "flag needs an argument: --%s\nSee '%s --help'.\n", o->lng,
						c->cmdpath);
					goto fail;
				}
				val = argv[++i];
			}
			if (set_value(c, o, val, shown) < 0)
				goto fail;
			continue;
		}
		/* short flags, possibly combined: -it, -qa, -fvalue, -f value */
		for (const char *p = a + 1; *p; p++) {
			const struct cli_opt *o = find_short(opts, *p);
			if (!o) {
				fprintf(stderr, "unknown shorthand flag: '%c' in %s\nSee '%s --help'.\n", *p, a,
					c->cmdpath);
				goto fail;
			}
			char shown[64];
			snprintf(shown, sizeof(shown), "-%c, --%s", o->shrt, o->lng);
			if (o->type == OPT_BOOL) {
				const char *val = NULL;
				if (p[1] == '=') {
					val = p + 2;
					p += strlen(p) - 1;
				}
				if (set_value(c, o, val, shown) < 0)
					goto fail;
				continue;
			}
			const char *val = p[1] ? p + 1 : NULL;
			if (val && *val == '=')
				val++;
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "flag needs an argument: '%c' in -%c\nSee '%s --help'.\n", *p,
						*p, c->cmdpath);
					goto fail;
				}
				val = argv[++i];
			}
			if (set_value(c, o, val, shown) < 0)
				goto fail;
			break;
		}
	}
	return 0;
fail:
	berth_strv_free(*args);
	*args = NULL;
	return -1;
}

void cli_usage(struct cli *c, const struct cli_opt *opts, FILE *out)
{
	fprintf(out, "\nUsage:  %s [OPTIONS]\n\nOptions:\n", c->cmdpath);
	for (const struct cli_opt *o = opts; o && o->lng; o++) {
		if (o->help && !*o->help)
			continue;
		char left[64];
		if (o->shrt)
			snprintf(left, sizeof(left), "-%c, --%s%s", o->shrt, o->lng,
				 o->type == OPT_BOOL ? "" :
				 o->type == OPT_LIST ? " list" :
				 o->type == OPT_INT  ? " int" :
						       " string");
		else
			snprintf(left, sizeof(left), "    --%s%s", o->lng,
				 o->type == OPT_BOOL ? "" :
				 o->type == OPT_LIST ? " list" :
				 o->type == OPT_INT  ? " int" :
						       " string");
		fprintf(out, "  %-26s %s\n", left, o->help ? o->help : "");
	}
}

int cli_daemon_error(struct cli *c, const struct berth_error *err)
{
	(void)c;
	if (err->kind == BERTH_E_UNAVAILABLE && strstr(err->msg, "Cannot connect"))
		fprintf(stderr, "%s\n", err->msg);
	else
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
	return 1;
}

int cli_args_error(struct cli *c, const char *what)
{
	fprintf(stderr, "\"%s\" %s.\nSee '%s --help'.\n\nUsage:  %s [OPTIONS]\n", c->cmdpath, what, c->cmdpath,
		c->cmdpath);
	return -1;
}
