/* Value parsers for `run`/`create` flags, with the rules and messages of
 * docker's CLI (the opts package, go-connections/nat, go-units ulimits). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "container_opts.h"
#include "container_opts_int.h"
#include "format/gofmt.h"
#include "format/units.h"

void ctr_go_quote(struct berth_buf *b, const char *s) { go_quote(b, s, strlen(s)); }

/* Go's error text for a failed os.Open: "open PATH: no such file or directory". */
static int go_open_error(struct berth_error *err, const char *path, int code)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", strerror(code));
	msg[0] = (char)tolower((unsigned char)msg[0]);
	return berth_err(err, BERTH_E_INVALID, "open %s: %s", path, msg);
}

int ctr_parse_uint(const char *s, int base, unsigned bits, unsigned long long *out, const char *fn,
		   struct berth_error *err)
{
	const char *p = s;
	unsigned long long v = 0, max = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
	if (!*p)
		goto syntax;
	for (; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'z')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'Z')
			d = *p - 'A' + 10;
		else
			goto syntax;
		if (d >= base)
			goto syntax;
		if (v > (max - (unsigned long long)d) / (unsigned long long)base) {
			if (err)
				berth_err(err, BERTH_E_INVALID, "strconv.%s: parsing \"%s\": value out of range", fn,
					  s);
			return -1;
		}
		v = v * (unsigned long long)base + (unsigned long long)d;
	}
	*out = v;
	return 0;
syntax:
	if (err)
		berth_err(err, BERTH_E_INVALID, "strconv.%s: parsing \"%s\": invalid syntax", fn, s);
	return -1;
}

int ctr_parse_int(const char *s, long long *out, struct berth_error *err)
{
	bool neg = false;
	const char *p = s;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	unsigned long long v;
	struct berth_error e = {0};
	if (ctr_parse_uint(p, 10, 64, &v, "ParseInt", &e) < 0 ||
	    v > (neg ? 9223372036854775808ULL : 9223372036854775807ULL)) {
		if (strstr(e.msg, "invalid syntax") || !*p)
			return berth_err(err, BERTH_E_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
		return berth_err(err, BERTH_E_INVALID, "strconv.ParseInt: parsing \"%s\": value out of range", s);
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

bool ctr_parse_go_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, t[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* ---- key/value files (--env-file, --label-file) ---- */

static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (!k || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
		if (k == 2 && c < 0xC2)
			return false;
		i += k;
	}
	return true;
}

int ctr_read_kv_file(const char *path, bool env_lookup, char ***out, struct berth_error *err)
{
	cleanup_fclose FILE *f = fopen(path, "r");
	if (!f)
		return go_open_error(err, path, errno);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		char *s = line;
		if (!utf8_valid((unsigned char *)s, len)) {
			struct berth_buf b = {0};
			for (size_t i = 0; i < len; i++)
				berth_buf_printf(&b, "%s%u", i ? " " : "", (unsigned char)s[i]);
			rc = berth_err(err, BERTH_E_INVALID, "env file %s contains invalid utf8 bytes at line %d: [%s]",
				       path, lineno + 1, berth_buf_str(&b));
			berth_buf_free(&b);
			break;
		}
		if (lineno == 0 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
			s += 3;
		lineno++;
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		size_t vlen = eq ? (size_t)(eq - s) : strlen(s);
		cleanup_free char *var = strndup(s, vlen);
		if (strpbrk(var, " \t")) {
			rc = berth_err(err, BERTH_E_INVALID,
				       "poorly formatted environment: variable '%s' contains whitespaces", var);
			break;
		}
		if (!*var) {
			rc = berth_err(err, BERTH_E_INVALID,
				       "poorly formatted environment: no variable name on line '%s'", s);
			break;
		}
		if (eq) {
			cleanup_free char *kv = berth_strdup_printf("%s=%s", var, eq + 1);
			berth_strv_push(out, kv);
		} else if (env_lookup) {
			const char *v = getenv(s);
			if (v) {
				/* docker trims the name but looks up the untrimmed line */
				char *t = strdup(s);
				size_t tl = strlen(t);
				while (tl && isspace((unsigned char)t[tl - 1]))
					t[--tl] = '\0';
				cleanup_free char *kv = berth_strdup_printf("%s=%s", t, v);
				free(t);
				berth_strv_push(out, kv);
			}
		}
	}
	free(line);
	return rc;
}

/* ---- ports ---- */

static int parse_port_range(const char *ports, unsigned long long *start, unsigned long long *end,
			    struct berth_error *err)
{
	if (!*ports)
		return berth_err(err, BERTH_E_INVALID, "Empty string specified for ports.");
	const char *dash = strchr(ports, '-');
	if (!dash) {
		if (ctr_parse_uint(ports, 10, 16, start, "ParseUint", err) < 0)
			return -1;
		*end = *start;
		return 0;
	}
	cleanup_free char *a = strndup(ports, (size_t)(dash - ports));
	const char *b = dash + 1;
	const char *dash2 = strchr(b, '-');
	cleanup_free char *bs = dash2 ? strndup(b, (size_t)(dash2 - b)) : strdup(b);
	if (ctr_parse_uint(a, 10, 16, start, "ParseUint", err) < 0 ||
	    ctr_parse_uint(bs, 10, 16, end, "ParseUint", err) < 0)
		return -1;
	if (*end < *start)
		return berth_err(err, BERTH_E_INVALID, "Invalid range specified for the Port: %s", ports);
	return 0;
}

/* nat.SplitProtoPort: returns malloc'd proto and port. */
void ctr_split_proto_port(const char *raw, char **proto, char **port)
{
	const char *slash = strchr(raw, '/');
	if (!*raw || slash == raw) {
		*proto = strdup("");
		*port = strdup("");
		return;
	}
	if (!slash) {
		*proto = strdup("tcp");
		*port = strdup(raw);
		return;
	}
	const char *p2 = slash + 1;
	const char *slash2 = strchr(p2, '/');
	size_t plen = slash2 ? (size_t)(slash2 - p2) : strlen(p2);
	*port = strndup(raw, (size_t)(slash - raw));
	*proto = plen ? strndup(p2, plen) : strdup("tcp");
}

bool ctr_valid_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* net.ParseIP(...).String() */
int ctr_normalize_ip(const char *in, char *out, size_t len)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, in, b) == 1)
		return inet_ntop(AF_INET, b, out, (socklen_t)len) ? 0 : -1;
	if (inet_pton(AF_INET6, in, b) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (!memcmp(b, v4mapped, 12))
			return inet_ntop(AF_INET, b + 12, out, (socklen_t)len) ? 0 : -1;
		return inet_ntop(AF_INET6, b, out, (socklen_t)len) ? 0 : -1;
	}
	return -1;
}

static bool str_ieq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

int ctr_parse_port_spec(const char *raw, json_t *exposed, json_t *bindings, struct berth_error *err)
{
	/* splitParts */
	char **parts = ctr_split(raw, ':');
	size_t n = berth_strv_len(parts);
	struct berth_buf ipb = {0};
	const char *host_port = "", *cport_raw = parts[n - 1];
	if (n == 2) {
		host_port = parts[0];
	} else if (n == 3) {
		berth_buf_printf(&ipb, "%s", parts[0]);
		host_port = parts[1];
	} else if (n > 3) {
		for (size_t i = 0; i + 2 < n; i++)
			berth_buf_printf(&ipb, "%s%s", i ? ":" : "", parts[i]);
		host_port = parts[n - 2];
	}
	int rc = -1;
	cleanup_free char *proto = NULL, *cport = NULL, *ip = NULL, *lproto = NULL;
	ctr_split_proto_port(cport_raw, &proto, &cport);
	const char *raw_ip = berth_buf_str(&ipb);
	/* net.SplitHostPort(rawIP + ":") */
	if (raw_ip[0] == '[') {
		size_t l = strlen(raw_ip);
		if (raw_ip[l - 1] != ']' || memchr(raw_ip + 1, ']', l - 2) || memchr(raw_ip + 1, '[', l - 2)) {
			berth_err(err, BERTH_E_INVALID, "Invalid ip address %s: address %s:: missing ']' in address",
				  raw_ip, raw_ip);
			goto out;
		}
		ip = strndup(raw_ip + 1, l - 2);
	} else if (strchr(raw_ip, ':')) {
		berth_err(err, BERTH_E_INVALID, "Invalid ip address %s: address %s:: too many colons in address",
			  raw_ip, raw_ip);
		goto out;
	} else {
		ip = strdup(raw_ip);
	}
	if (*ip && !ctr_valid_ip(ip)) {
		berth_err(err, BERTH_E_INVALID, "Invalid ip address: %s", ip);
		goto out;
	}
	if (!*cport) {
		berth_err(err, BERTH_E_INVALID, "No port specified: %s<empty>", raw);
		goto out;
	}
	unsigned long long start, end, hstart = 0, hend = 0;
	struct berth_error e = {0};
	if (parse_port_range(cport, &start, &end, &e) < 0) {
		berth_err(err, BERTH_E_INVALID, "Invalid containerPort: %s", cport);
		goto out;
	}
	if (*host_port && parse_port_range(host_port, &hstart, &hend, &e) < 0) {
		berth_err(err, BERTH_E_INVALID, "Invalid hostPort: %s", host_port);
		goto out;
	}
	if (*host_port && end - start != hend - hstart && end != start) {
		berth_err(err, BERTH_E_INVALID, "Invalid ranges specified for container and host Ports: %s and %s",
			  cport, host_port);
		goto out;
	}
	lproto = strdup(proto);
	for (char *q = lproto; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (!str_ieq(lproto, "tcp") && !str_ieq(lproto, "udp") && !str_ieq(lproto, "sctp")) {
		berth_err(err, BERTH_E_INVALID, "Invalid proto: %s", proto);
		goto out;
	}
	for (unsigned long long i = 0; i <= end - start; i++) {
		char key[64], hp[64] = "";
		snprintf(key, sizeof(key), "%llu/%s", start + i, lproto);
		if (*host_port)
			snprintf(hp, sizeof(hp), "%llu", hstart + i);
		if (start == end && hstart != hend)
			snprintf(hp, sizeof(hp), "%llu-%llu", hstart + i, hend);
		if (!json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
		json_t *arr = json_object_get(bindings, key);
		if (!arr) {
			arr = json_array();
			json_object_set_new(bindings, key, arr);
		}
		json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hp));
	}
	rc = 0;
out:
	berth_buf_free(&ipb);
	berth_strv_free(parts);
	return rc;
}

int ctr_parse_expose(const char *e, json_t *exposed, struct berth_error *err)
{
	if (strchr(e, ':'))
		return berth_err(err, BERTH_E_INVALID, "invalid port format for --expose: %s", e);
	cleanup_free char *proto = NULL, *port = NULL;
	ctr_split_proto_port(e, &proto, &port);
	unsigned long long start, end;
	struct berth_error pe = {0};
	if (parse_port_range(port, &start, &end, &pe) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid range format for --expose: %s, error: %s", e, pe.msg);
	for (unsigned long long i = start; i <= end; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%llu/%s", i, proto);
		if (!json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
	}
	return 0;
}

/* convertToStandardNotation for one -p value ("published=8080,target=80"). */
char *ctr_port_standard_notation(const char *publish, struct berth_error *err)
{
	if (!strchr(publish, '='))
		return strdup(publish);
	const char *published = "", *target = "", *protocol = "tcp";
	cleanup_free char *copy = strdup(publish);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			berth_err(err, BERTH_E_INVALID,
				  "invalid publish opts format (should be name=value but got '%s')", tok);
			return NULL;
		}
		*eq = '\0';
		if (!strcmp(tok, "published"))
			published = eq + 1;
		else if (!strcmp(tok, "target"))
			target = eq + 1;
		else if (!strcmp(tok, "protocol"))
			protocol = eq + 1;
	}
	return berth_strdup_printf("%s:%s/%s", published, target, protocol);
}

/* ---- CSV (encoding/csv, one record) ---- */

char **ctr_csv_fields(const char *s, struct berth_error *err)
{
	char **out = NULL;
	if (!*s) {
		berth_err(err, BERTH_E_INVALID, "EOF");
		return NULL;
	}
	const char *p = s;
	for (;;) {
		struct berth_buf f = {0};
		berth_buf_str(&f);
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p) {
					berth_err(
						err, BERTH_E_INVALID,
						"parse error on line 1, column %zu: extraneous or missing \" in quoted-field",
						(size_t)(p - s) + 1);
					berth_buf_free(&f);
					berth_strv_free(out);
					return NULL;
				}
				if (*p == '"' && p[1] == '"') {
					berth_buf_putc(&f, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					berth_buf_putc(&f, *p++);
				}
			}
			if (*p && *p != ',') {
				berth_err(err, BERTH_E_INVALID,
					  "parse error on line 1, column %zu: extraneous or missing \" in quoted-field",
					  (size_t)(p - s) + 1);
				berth_buf_free(&f);
				berth_strv_free(out);
				return NULL;
			}
		} else {
			while (*p && *p != ',') {
				if (*p == '"') {
					berth_err(err, BERTH_E_INVALID,
						  "parse error on line 1, column %zu: bare \" in non-quoted-field",
						  (size_t)(p - s) + 1);
					berth_buf_free(&f);
					berth_strv_free(out);
					return NULL;
				}
				berth_buf_putc(&f, *p++);
			}
		}
		berth_strv_push(&out, berth_buf_str(&f));
		berth_buf_free(&f);
		if (!*p)
			break;
		p++; /* ',' */
	}
	return out;
}

/* ---- --mount ---- */

static void set_on_map(json_t *m, const char *v)
{
	const char *eq = strchr(v, '=');
	if (!eq) {
		json_object_set_new(m, v, json_string(""));
		return;
	}
	cleanup_free char *k = strndup(v, (size_t)(eq - v));
	json_object_set_new(m, k, json_string(eq + 1));
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

json_t *ctr_parse_mount(const char *value, struct berth_error *err)
{
	char **fields = ctr_csv_fields(value, err);
	if (!fields)
		return NULL;
	cleanup_free char *type = strdup("volume"), *source = NULL, *target = NULL, *consistency = NULL,
			  *propagation = NULL, *vdriver = NULL;
	bool readonly = false, nocopy = false, nonrec = false;
	bool has_bind = false, has_vol = false, has_tmpfs = false;
	long long tmpfs_size = 0;
	unsigned long long tmpfs_mode = 0;
	cleanup_json json_t *vlabels = json_object(), *vopts = NULL;
	json_t *result = NULL;
	for (size_t i = 0; fields[i]; i++) {
		const char *field = fields[i];
		const char *eq = strchr(field, '=');
		cleanup_free char *key = eq ? strndup(field, (size_t)(eq - field)) : strdup(field);
		lower(key);
		if (!eq) {
			if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
				readonly = true;
				continue;
			}
			if (!strcmp(key, "volume-nocopy")) {
				has_vol = nocopy = true;
				continue;
			}
			if (!strcmp(key, "bind-nonrecursive")) {
				has_bind = nonrec = true;
				continue;
			}
			berth_err(err, BERTH_E_INVALID, "invalid field '%s' must be a key=value pair", field);
			goto out;
		}
		const char *v = eq + 1;
		if (!strcmp(key, "type")) {
			free(type);
			type = strdup(v);
			lower(type);
		} else if (!strcmp(key, "source") || !strcmp(key, "src")) {
			free(source);
			source = strdup(v);
		} else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination")) {
			free(target);
			target = strdup(v);
		} else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
			if (!ctr_parse_go_bool(v, &readonly)) {
				berth_err(err, BERTH_E_INVALID, "invalid value for %s: %s", key, v);
				goto out;
			}
		} else if (!strcmp(key, "consistency")) {
			free(consistency);
			consistency = strdup(v);
			lower(consistency);
		} else if (!strcmp(key, "bind-propagation")) {
			has_bind = true;
			free(propagation);
			propagation = strdup(v);
			lower(propagation);
		} else if (!strcmp(key, "bind-nonrecursive")) {
			has_bind = true;
			if (!ctr_parse_go_bool(v, &nonrec)) {
				berth_err(err, BERTH_E_INVALID, "invalid value for %s: %s", key, v);
				goto out;
			}
		} else if (!strcmp(key, "volume-nocopy")) {
			has_vol = true;
			if (!ctr_parse_go_bool(v, &nocopy)) {
				berth_err(err, BERTH_E_INVALID, "invalid value for volume-nocopy: %s", v);
				goto out;
			}
		} else if (!strcmp(key, "volume-label")) {
			has_vol = true;
			set_on_map(vlabels, v);
		} else if (!strcmp(key, "volume-driver")) {
			has_vol = true;
			free(vdriver);
			vdriver = strdup(v);
		} else if (!strcmp(key, "volume-opt")) {
			has_vol = true;
			if (!vopts)
				vopts = json_object();
			set_on_map(vopts, v);
		} else if (!strcmp(key, "tmpfs-size")) {
			int64_t sz;
			struct berth_error e = {0};
			if (berth_ram_in_bytes(v, &sz, &e) < 0) {
				berth_err(err, BERTH_E_INVALID, "invalid value for %s: %s", key, v);
				goto out;
			}
			has_tmpfs = true;
			tmpfs_size = sz;
		} else if (!strcmp(key, "tmpfs-mode")) {
			if (ctr_parse_uint(v, 8, 32, &tmpfs_mode, "ParseUint", NULL) < 0) {
				berth_err(err, BERTH_E_INVALID, "invalid value for %s: %s", key, v);
				goto out;
			}
			has_tmpfs = true;
		} else {
			berth_err(err, BERTH_E_INVALID, "unexpected key '%s' in '%s'", key, field);
			goto out;
		}
	}
	if (!*type) {
		berth_err(err, BERTH_E_INVALID, "type is required");
		goto out;
	}
	if (!target || !*target) {
		berth_err(err, BERTH_E_INVALID, "target is required");
		goto out;
	}
	if (has_vol && strcmp(type, "volume")) {
		berth_err(err, BERTH_E_INVALID, "cannot mix 'volume-*' options with mount type '%s'", type);
		goto out;
	}
	if (has_bind && strcmp(type, "bind")) {
		berth_err(err, BERTH_E_INVALID, "cannot mix 'bind-*' options with mount type '%s'", type);
		goto out;
	}
	if (has_tmpfs && strcmp(type, "tmpfs")) {
		berth_err(err, BERTH_E_INVALID, "cannot mix 'tmpfs-*' options with mount type '%s'", type);
		goto out;
	}
	/* mount.Mount's JSON: every field omitempty, in struct order */
	result = json_object();
	json_object_set_new(result, "Type", json_string(type));
	if (source && *source)
		json_object_set_new(result, "Source", json_string(source));
	json_object_set_new(result, "Target", json_string(target));
	if (readonly)
		json_object_set_new(result, "ReadOnly", json_true());
	if (consistency && *consistency)
		json_object_set_new(result, "Consistency", json_string(consistency));
	if (has_bind) {
		json_t *bo = json_object();
		if (propagation && *propagation)
			json_object_set_new(bo, "Propagation", json_string(propagation));
		if (nonrec)
			json_object_set_new(bo, "NonRecursive", json_true());
		json_object_set_new(result, "BindOptions", bo);
	}
	if (has_vol) {
		json_t *vo = json_object();
		if (nocopy)
			json_object_set_new(vo, "NoCopy", json_true());
		if (json_object_size(vlabels))
			json_object_set_new(vo, "Labels", ctr_json_sorted(vlabels));
		json_t *dc = json_object();
		if (vdriver && *vdriver)
			json_object_set_new(dc, "Name", json_string(vdriver));
		if (vopts && json_object_size(vopts))
			json_object_set_new(dc, "Options", ctr_json_sorted(vopts));
		json_object_set_new(vo, "DriverConfig", dc);
		json_object_set_new(result, "VolumeOptions", vo);
	}
	if (has_tmpfs) {
		json_t *to = json_object();
		if (tmpfs_size)
			json_object_set_new(to, "SizeBytes", json_integer(tmpfs_size));
		if (tmpfs_mode)
			json_object_set_new(to, "Mode", json_integer((json_int_t)tmpfs_mode));
		json_object_set_new(result, "TmpfsOptions", to);
	}
out:
	berth_strv_free(fields);
	return result;
}

/* ---- ulimits ---- */

static const char *const ulimit_names[] = {"core",     "cpu",        "data",   "fsize", "locks", "memlock",
					   "msgqueue", "nice",       "nofile", "nproc", "rss",   "rtprio",
					   "rttime",   "sigpending", "stack",  NULL};

json_t *ctr_parse_ulimit(const char *value, struct berth_error *err)
{
	const char *eq = strchr(value, '=');
	if (!eq) {
		berth_err(err, BERTH_E_INVALID, "invalid ulimit argument: %s", value);
		return NULL;
	}
	cleanup_free char *name = strndup(value, (size_t)(eq - value));
	bool known = false;
	for (size_t i = 0; ulimit_names[i]; i++)
		if (!strcmp(ulimit_names[i], name))
			known = true;
	if (!known) {
		berth_err(err, BERTH_E_INVALID, "invalid ulimit type: %s", name);
		return NULL;
	}
	const char *lim = eq + 1;
	const char *colon = strchr(lim, ':');
	long long soft, hard;
	if (colon && strchr(colon + 1, ':')) {
		berth_err(err, BERTH_E_INVALID,
			  "too many limit value arguments - %s, can only have up to two, `soft[:hard]`", lim);
		return NULL;
	}
	cleanup_free char *s = colon ? strndup(lim, (size_t)(colon - lim)) : strdup(lim);
	if (colon && ctr_parse_int(colon + 1, &hard, err) < 0)
		return NULL;
	if (ctr_parse_int(s, &soft, err) < 0)
		return NULL;
	if (!colon)
		hard = soft;
	if (hard != -1) {
		if (soft == -1) {
			berth_err(
				err, BERTH_E_INVALID,
				"ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: %lld",
				hard);
			return NULL;
		}
		if (soft > hard) {
			berth_err(err, BERTH_E_INVALID,
				  "ulimit soft limit must be less than or equal to hard limit: %lld > %lld", soft,
				  hard);
			return NULL;
		}
	}
	return json_pack("{s:s, s:I, s:I}", "Name", name, "Hard", (json_int_t)hard, "Soft", (json_int_t)soft);
}

/* ---- --cpus ---- */

/* Multiply v by 10^exp into *out; false on overflow or a fractional result. */
static int scale10(unsigned long long v, int exp, unsigned long long *out, bool *too_precise)
{
	*too_precise = false;
	while (exp > 0) {
		if (v > ~0ULL / 10)
			return -1;
		v *= 10;
		exp--;
	}
	while (exp < 0) {
		if (v % 10) {
			*too_precise = true;
			return -1;
		}
		v /= 10;
		exp++;
	}
	*out = v;
	return 0;
}

int ctr_parse_cpus(const char *value, long long *nano, struct berth_error *err)
{
	const char *p = value;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	unsigned long long mant = 0, res;
	int frac = 0, exp = 0;
	bool digits = false, too_precise = false;
	const char *slash = strchr(p, '/');
	if (slash) {
		unsigned long long a, b;
		cleanup_free char *as = strndup(p, (size_t)(slash - p));
		if (ctr_parse_uint(as, 10, 64, &a, "x", NULL) < 0 ||
		    ctr_parse_uint(slash + 1, 10, 64, &b, "x", NULL) < 0 || b == 0)
			goto bad;
		if (a > ~0ULL / 1000000000ULL)
			goto bad;
		a *= 1000000000ULL;
		if (a % b)
			return berth_err(err, BERTH_E_INVALID, "value is too precise");
		res = a / b;
		goto done;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (mant > ~0ULL / 10 - 10)
			goto bad;
		mant = mant * 10 + (unsigned long long)(*p - '0');
		digits = true;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (mant > ~0ULL / 10 - 10)
				goto bad;
			mant = mant * 10 + (unsigned long long)(*p - '0');
			frac++;
			digits = true;
		}
	}
	if (!digits)
		goto bad;
	if (*p == 'e' || *p == 'E') {
		long long e;
		if (ctr_parse_int(p + 1, &e, NULL) < 0 || e > 100 || e < -100)
			goto bad;
		exp = (int)e;
		p += strlen(p);
	}
	if (*p)
		goto bad;
	if (scale10(mant, 9 + exp - frac, &res, &too_precise) < 0) {
		if (too_precise)
			return berth_err(err, BERTH_E_INVALID, "value is too precise");
		goto bad;
	}
done:
	if (res > 9223372036854775807ULL)
		goto bad;
	*nano = neg ? -(long long)res : (long long)res;
	return 0;
bad:
	return berth_err(err, BERTH_E_INVALID, "failed to parse %s as a rational number", value);
}

/* ---- volumes ---- */

bool ctr_volume_has_source(const char *spec)
{
	size_t len = strlen(spec);
	if (len <= 2)
		return false;
	/* the first section ends at the first ':' that is not a drive letter's */
	const char *p = spec;
	const char *colon = strchr(p, ':');
	if (colon == spec + 1 && isalpha((unsigned char)spec[0]))
		colon = strchr(colon + 1, ':');
	if (!colon || colon == spec)
		return false;
	return true;
}

/* ---- paths and devices ---- */

char *ctr_path_clean(const char *path)
{
	if (!*path)
		return strdup(".");
	bool rooted = path[0] == '/';
	char **parts = NULL;
	cleanup_free char *copy = strdup(path);
	char *save = NULL;
	size_t n = 0;
	for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (n && strcmp(parts[n - 1], "..")) {
				free(parts[--n]);
				parts[n] = NULL;
				continue;
			}
			if (rooted)
				continue;
		}
		berth_strv_push(&parts, tok);
		n++;
	}
	struct berth_buf b = {0};
	if (rooted)
		berth_buf_putc(&b, '/');
	for (size_t i = 0; i < n; i++)
		berth_buf_printf(&b, "%s%s", i ? "/" : "", parts[i]);
	berth_strv_free(parts);
	if (!b.len)
		berth_buf_putc(&b, '.');
	return berth_buf_steal(&b);
}

bool ctr_valid_device_mode(const char *mode)
{
	if (!*mode)
		return false;
	bool seen[3] = {false, false, false};
	for (const char *p = mode; *p; p++) {
		int i = *p == 'r' ? 0 : *p == 'w' ? 1 : *p == 'm' ? 2 : -1;
		if (i < 0 || seen[i])
			return false;
		seen[i] = true;
	}
	return true;
}

json_t *ctr_parse_device(const char *device, struct berth_error *err)
{
	/* validateLinuxPath: [host-dir:]container-path[:mode] */
	size_t colons = 0;
	for (const char *p = device; *p; p++)
		colons += *p == ':';
	if (colons > 2 || device[0] == ':' || !device[0]) {
		berth_err(err, BERTH_E_INVALID, "bad format for path: %s", device);
		return NULL;
	}
	char **split = ctr_split(device, ':');
	size_t n = berth_strv_len(split);
	const char *cpath;
	cleanup_free char *val = NULL, *clean = NULL;
	json_t *res = NULL;
	if (n == 1) {
		cpath = split[0];
		val = ctr_path_clean(cpath);
	} else if (n == 2 && ctr_valid_device_mode(split[1])) {
		cpath = split[0];
		clean = ctr_path_clean(cpath);
		val = berth_strdup_printf("%s:%s", clean, split[1]);
	} else if (n == 2) {
		cpath = split[1];
		clean = ctr_path_clean(cpath);
		val = berth_strdup_printf("%s:%s", split[0], clean);
	} else {
		cpath = split[1];
		if (!ctr_valid_device_mode(split[2])) {
			berth_err(err, BERTH_E_INVALID, "bad mode specified: %s", split[2]);
			goto out;
		}
		val = berth_strdup_printf("%s:%s:%s", split[0], split[1], split[2]);
	}
	if (cpath[0] != '/') {
		berth_err(err, BERTH_E_INVALID, "%s is not an absolute path", cpath);
		goto out;
	}
	/* parseLinuxDevice on the validated value */
	char **arr = ctr_split(val, ':');
	size_t an = berth_strv_len(arr);
	const char *perm = an == 3 ? arr[2] : "rwm", *dst = "";
	if (an >= 2) {
		if (ctr_valid_device_mode(arr[1]))
			perm = arr[1];
		else
			dst = arr[1];
	}
	res = json_pack("{s:s, s:s, s:s}", "PathOnHost", arr[0], "PathInContainer", *dst ? dst : arr[0],
			"CgroupPermissions", perm);
	berth_strv_free(arr);
out:
	berth_strv_free(split);
	return res;
}

char **ctr_split(const char *s, char sep)
{
	char **out = NULL;
	const char *p = s;
	for (;;) {
		const char *c = strchr(p, sep);
		char *part = c ? strndup(p, (size_t)(c - p)) : strdup(p);
		berth_strv_push(&out, part);
		free(part);
		if (!c)
			break;
		p = c + 1;
	}
	return out;
}

/* ---- small validators (opts/opts.go) ---- */

int ctr_validate_extra_host(const char *val, struct berth_error *err)
{
	const char *colon = strchr(val, ':');
	struct berth_buf q = {0};
	int rc = 0;
	if (!colon || colon == val) {
		ctr_go_quote(&q, val);
		rc = berth_err(err, BERTH_E_INVALID, "bad format for add-host: %s", berth_buf_str(&q));
	} else if (strcmp(colon + 1, "host-gateway") != 0) {
		cleanup_free char *t = ctr_trim_space(colon + 1);
		if (!ctr_valid_ip(t)) {
			ctr_go_quote(&q, colon + 1);
			rc = berth_err(err, BERTH_E_INVALID, "invalid IP address in add-host: %s", berth_buf_str(&q));
		}
	}
	berth_buf_free(&q);
	return rc;
}

char *ctr_trim_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		l--;
	return strndup(s, l);
}

/* validateDomain (opts.go): labels of letters, digits and inner dashes. */
char *ctr_validate_dns_search(const char *val, struct berth_error *err)
{
	cleanup_free char *v = strdup(val);
	/* strings.Trim(val, " ") */
	char *s = v;
	while (*s == ' ')
		s++;
	size_t l = strlen(s);
	while (l && s[l - 1] == ' ')
		s[--l] = '\0';
	if (!strcmp(s, "."))
		return strdup(".");
	bool alpha = false;
	for (const char *p = s; *p; p++)
		alpha |= isalpha((unsigned char)*p) != 0;
	/* strip trailing whitespace, then one optional trailing dot */
	size_t end = strlen(s);
	while (end && isspace((unsigned char)s[end - 1]))
		end--;
	if (end && s[end - 1] == '.')
		end--;
	bool ok = alpha && end > 0 && end < 255;
	size_t lab = 0;
	for (size_t i = 0; ok && i <= end; i++) {
		char ch = i < end ? s[i] : '.';
		if (ch == '.') {
			if (lab == 0 || s[i - 1] == '-')
				ok = false;
			lab = 0;
		} else if (isalnum((unsigned char)ch) || ch == '-') {
			if (lab == 0 && ch == '-')
				ok = false;
			lab++;
		} else {
			ok = false;
		}
	}
	if (!ok) {
		berth_err(err, BERTH_E_INVALID, "%s is not a valid domain", s);
		return NULL;
	}
	return strndup(s, end);
}

bool ctr_valid_mac(const char *mac)
{
	cleanup_free char *t = ctr_trim_space(mac);
	size_t l = strlen(t);
	/* xx:xx:xx:xx:xx:xx / xx-xx-..., 6, 8 or 20 bytes; or xxxx.xxxx.xxxx */
	if (l >= 14 && t[4] == '.') {
		if ((l + 1) % 5)
			return false;
		size_t groups = (l + 1) / 5;
		if (groups != 3 && groups != 4 && groups != 10)
			return false;
		for (size_t i = 0; i < l; i++)
			if ((i % 5 == 4) ? t[i] != '.' : !isxdigit((unsigned char)t[i]))
				return false;
		return true;
	}
	if (l < 14 || (t[2] != ':' && t[2] != '-') || (l + 1) % 3)
		return false;
	size_t n = (l + 1) / 3;
	if (n != 6 && n != 8 && n != 20)
		return false;
	for (size_t i = 0; i < l; i++)
		if ((i % 3 == 2) ? t[i] != t[2] : !isxdigit((unsigned char)t[i]))
			return false;
	return true;
}

int ctr_validate_sysctl(const char *val, struct berth_error *err)
{
	static const char *const exact[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
					    "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
					    "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
	const char *eq = strchr(val, '=');
	if (eq) {
		cleanup_free char *k = strndup(val, (size_t)(eq - val));
		for (size_t i = 0; exact[i]; i++)
			if (!strcmp(k, exact[i]))
				return 0;
		if (berth_str_has_prefix(k, "net.") || berth_str_has_prefix(k, "fs.mqueue."))
			return 0;
	}
	return berth_err(err, BERTH_E_INVALID, "sysctl '%s' is not whitelisted", val);
}

bool ctr_valid_cgroup_rule(const char *r)
{
	/* ^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$ */
	if (!strchr("acb", r[0]) || !r[0] || r[1] != ' ')
		return false;
	const char *p = r + 2;
	for (int part = 0; part < 2; part++) {
		if (*p == '*')
			p++;
		else if (isdigit((unsigned char)*p))
			while (isdigit((unsigned char)*p))
				p++;
		else
			return false;
		if (*p++ != (part == 0 ? ':' : ' '))
			return false;
	}
	size_t n = strlen(p);
	if (n < 1 || n > 3)
		return false;
	for (; *p; p++)
		if (!strchr("rwm", *p))
			return false;
	return true;
}

json_t *ctr_parse_weight_device(const char *val, struct berth_error *err)
{
	const char *colon = strchr(val, ':');
	if (!colon || strchr(colon + 1, ':')) {
		berth_err(err, BERTH_E_INVALID, "bad format: %s", val);
		return NULL;
	}
	cleanup_free char *path = strndup(val, (size_t)(colon - val));
	if (!berth_str_has_prefix(path, "/dev/")) {
		berth_err(err, BERTH_E_INVALID, "bad format for device path: %s", val);
		return NULL;
	}
	unsigned long long w;
	if (ctr_parse_uint(colon + 1, 10, 64, &w, "ParseUint", NULL) < 0 || (w > 0 && (w < 10 || w > 1000))) {
		berth_err(err, BERTH_E_INVALID, "invalid weight for device: %s", val);
		return NULL;
	}
	return json_pack("{s:s, s:I}", "Path", path, "Weight", (json_int_t)w);
}

json_t *ctr_parse_throttle_device(const char *val, bool iops, struct berth_error *err)
{
	const char *colon = strchr(val, ':');
	if (!colon || strchr(colon + 1, ':')) {
		berth_err(err, BERTH_E_INVALID, "bad format: %s", val);
		return NULL;
	}
	cleanup_free char *path = strndup(val, (size_t)(colon - val));
	if (!berth_str_has_prefix(path, "/dev/")) {
		berth_err(err, BERTH_E_INVALID, "bad format for device path: %s", val);
		return NULL;
	}
	unsigned long long rate = 0;
	if (iops) {
		if (ctr_parse_uint(colon + 1, 10, 64, &rate, "ParseUint", NULL) < 0) {
			berth_err(
				err, BERTH_E_INVALID,
				"invalid rate for device: %s. The correct format is <device-path>:<number>. Number must be a positive integer",
				val);
			return NULL;
		}
	} else {
		int64_t r;
		struct berth_error e = {0};
		if (berth_ram_in_bytes(colon + 1, &r, &e) < 0 || r < 0) {
			berth_err(
				err, BERTH_E_INVALID,
				"invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb",
				val);
			return NULL;
		}
		rate = (unsigned long long)r;
	}
	return json_pack("{s:s, s:I}", "Path", path, "Rate", (json_int_t)rate);
}

json_t *ctr_json_sorted(json_t *obj)
{
	size_t n = json_object_size(obj);
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), ctr_strcmp_p);
	json_t *out = json_object();
	for (i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(obj, keys[i]));
	free(keys);
	return out;
}

int ctr_strcmp_p(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }
