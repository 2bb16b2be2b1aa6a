/* Strict request input: Content-Type of JSON bodies and the JSON types of the
 * bodies, checked against declarative tables of the Go structs dockerd 20.10
 * decodes them into, with Go encoding/json's error wording. */
#include "api/handlers/input.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "daemon/container.h"

/* Berth keeps names in a fixed buffer ("/" + name + NUL); dockerd has no
 * limit but its own buffers, so longer names are refused, never cut. */
#define NAME_MAX_LEN 254

/* ---------- Content-Type (httputils.CheckForJSON) ---------- */

static bool is_tspecial(char ch) { return strchr("()<>@,;:\\\"/[]?=", ch) != NULL; }
static bool is_token_char(char ch) { return ch > 0x20 && ch < 0x7f && !is_tspecial(ch); }

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f')
		p++;
	return p;
}

static const char *token_end(const char *p)
{
	while (is_token_char(*p))
		p++;
	return p;
}

/* Go's mime.ParseMediaType reduced to what matchesContentType needs: the
 * lowercased media type, and whether the parameters parse. */
static bool media_type_is_json(const char *ct)
{
	size_t n = strcspn(ct, ";");
	const char *a = skip_ws(ct), *b = ct + n;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	if (b - a != 16 || strncasecmp(a, "application/json", 16))
		return false;
	/* parameters: *( ";" token "=" ( token | quoted-string ) ), trailing ";" allowed */
	const char *p = ct + n;
	char seen[16][64];
	int nseen = 0;
	for (;;) {
		p = skip_ws(p);
		if (!*p)
			return true;
		if (*p != ';')
			return false;
		const char *q = skip_ws(p + 1);
		const char *k = q, *ke = token_end(q);
		if (ke == k)
			return !*skip_ws(q); /* a lone trailing ";" is ignored */
		q = skip_ws(ke);
		if (*q != '=')
			return false;
		q = skip_ws(q + 1);
		if (*q == '"') {
			q++;
			while (*q && *q != '"') {
				if (*q == '\\' && q[1])
					q++;
				q++;
			}
			if (*q != '"')
				return false;
			q++;
		} else {
			const char *ve = token_end(q);
			if (ve == q)
				return false;
			q = ve;
		}
		/* duplicate parameter names are an error */
		size_t kl = (size_t)(ke - k);
		for (int i = 0; i < nseen; i++)
			if (strlen(seen[i]) == kl && !strncasecmp(seen[i], k, kl))
				return false;
		if (nseen < 16 && kl < sizeof(seen[0]))
			snprintf(seen[nseen++], sizeof(seen[0]), "%.*s", (int)kl, k);
		p = q;
	}
}

int berth_input_check_ctype(const char *content_type, bool has_body, struct berth_error *err)
{
	const char *ct = content_type ? content_type : "";
	if (!*ct && !has_body)
		return 0;
	if (*ct && media_type_is_json(ct))
		return 0;
	return berth_err(err, BERTH_E_INVALID, "Content-Type specified (%s) must be 'application/json'", ct);
}

bool berth_api_require_json(struct berth_http_req *r, struct berth_http_conn *c)
{
	struct berth_error err = {0};
	if (berth_input_check_ctype(berth_http_header(r, "Content-Type"), r->has_body, &err) == 0)
		return true;
	berth_http_respond_error(c, &err);
	return false;
}

/* ---------- JSON type tables ---------- */

enum jkind {
	K_STRING,
	K_BOOL,
	K_INT,      /* signed, 64 bit */
	K_UINT,     /* unsigned, max in .max */
	K_STRSLICE, /* strslice.StrSlice: a string or an array of strings */
	K_SLICE,    /* []elem */
	K_ARRAY,    /* [n]elem (extra elements are dropped by Go) */
	K_MAP,      /* map[string]elem */
	K_STRUCT,
};

struct jfield;

struct jtype {
	enum jkind kind;
	const char *go;    /* the type as Go prints it in errors */
	const char *sname; /* K_STRUCT: its name in "Go struct field <sname>.<path>" */
	uint64_t max;      /* K_UINT */
	const struct jtype *elem;
	const struct jfield *const *parts; /* K_STRUCT: field lists (embedded structs flattened), NULL-ended */
};

struct jfield {
	const char *name;
	const struct jtype *t;
};

#define PARTS(...) ((const struct jfield *const[]){__VA_ARGS__, NULL})
#define STRUCT(goname, s, ...)                                                                                         \
	{                                                                                                              \
		.kind = K_STRUCT, .go = goname, .sname = s, .parts = PARTS(__VA_ARGS__)                                \
	}

static const struct jtype t_string = {.kind = K_STRING, .go = "string"};
static const struct jtype t_bool = {.kind = K_BOOL, .go = "bool"};
static const struct jtype t_int64 = {.kind = K_INT, .go = "int64"};
static const struct jtype t_int = {.kind = K_INT, .go = "int"};
static const struct jtype t_duration = {.kind = K_INT, .go = "time.Duration"};
static const struct jtype t_uint16 = {.kind = K_UINT, .go = "uint16", .max = UINT16_MAX};
static const struct jtype t_uint = {.kind = K_UINT, .go = "uint", .max = UINT64_MAX};
static const struct jtype t_uint64 = {.kind = K_UINT, .go = "uint64", .max = UINT64_MAX};
static const struct jtype t_filemode = {.kind = K_UINT, .go = "fs.FileMode", .max = UINT32_MAX};
static const struct jtype t_strslice = {.kind = K_STRSLICE, .go = "string"};
static const struct jtype t_strv = {.kind = K_SLICE, .go = "[]string", .elem = &t_string};
static const struct jtype t_strvv = {.kind = K_SLICE, .go = "[][]string", .elem = &t_strv};
static const struct jtype t_strmap = {.kind = K_MAP, .go = "map[string]string", .elem = &t_string};
static const struct jtype t_empty = STRUCT("struct {}", "", (const struct jfield[]){{NULL, NULL}});
static const struct jtype t_volset = {.kind = K_MAP, .go = "map[string]struct {}", .elem = &t_empty};
static const struct jtype t_portset = {.kind = K_MAP, .go = "nat.PortSet", .elem = &t_empty};

#define NAMED_STRING(var, goname) static const struct jtype var = {.kind = K_STRING, .go = goname}
NAMED_STRING(t_netmode, "container.NetworkMode");
NAMED_STRING(t_ipcmode, "container.IpcMode");
NAMED_STRING(t_pidmode, "container.PidMode");
NAMED_STRING(t_utsmode, "container.UTSMode");
NAMED_STRING(t_usernsmode, "container.UsernsMode");
NAMED_STRING(t_cgroupnsmode, "container.CgroupnsMode");
NAMED_STRING(t_cgroupspec, "container.CgroupSpec");
NAMED_STRING(t_isolation, "container.Isolation");
NAMED_STRING(t_mounttype, "mount.Type");
NAMED_STRING(t_consistency, "mount.Consistency");
NAMED_STRING(t_propagation, "mount.Propagation");

/* container.Config */
static const struct jtype t_health = STRUCT("container.HealthConfig", "HealthConfig",
					    (const struct jfield[]){{"Test", &t_strv},
								    {"Interval", &t_duration},
								    {"Timeout", &t_duration},
								    {"StartPeriod", &t_duration},
								    {"Retries", &t_int},
								    {NULL, NULL}});
static const struct jfield config_fields[] = {{"Hostname", &t_string},
					      {"Domainname", &t_string},
					      {"User", &t_string},
					      {"AttachStdin", &t_bool},
					      {"AttachStdout", &t_bool},
					      {"AttachStderr", &t_bool},
					      {"ExposedPorts", &t_portset},
					      {"Tty", &t_bool},
					      {"OpenStdin", &t_bool},
					      {"StdinOnce", &t_bool},
					      {"Env", &t_strv},
					      {"Cmd", &t_strslice},
					      {"Healthcheck", &t_health},
					      {"ArgsEscaped", &t_bool},
					      {"Image", &t_string},
					      {"Volumes", &t_volset},
					      {"WorkingDir", &t_string},
					      {"Entrypoint", &t_strslice},
					      {"NetworkDisabled", &t_bool},
					      {"MacAddress", &t_string},
					      {"OnBuild", &t_strv},
					      {"Labels", &t_strmap},
					      {"StopSignal", &t_string},
					      {"StopTimeout", &t_int},
					      {"Shell", &t_strslice},
					      {NULL, NULL}};

/* container.Resources */
static const struct jtype t_weightdev =
	STRUCT("blkiodev.WeightDevice", "WeightDevice",
	       (const struct jfield[]){{"Path", &t_string}, {"Weight", &t_uint16}, {NULL, NULL}});
static const struct jtype t_weightdevs = {.kind = K_SLICE, .go = "[]*blkiodev.WeightDevice", .elem = &t_weightdev};
static const struct jtype t_throttledev =
	STRUCT("blkiodev.ThrottleDevice", "ThrottleDevice",
	       (const struct jfield[]){{"Path", &t_string}, {"Rate", &t_uint64}, {NULL, NULL}});
static const struct jtype t_throttledevs = {
	.kind = K_SLICE, .go = "[]*blkiodev.ThrottleDevice", .elem = &t_throttledev};
static const struct jtype t_devmap = STRUCT("container.DeviceMapping", "DeviceMapping",
					    (const struct jfield[]){{"PathOnHost", &t_string},
								    {"PathInContainer", &t_string},
								    {"CgroupPermissions", &t_string},
								    {NULL, NULL}});
static const struct jtype t_devmaps = {.kind = K_SLICE, .go = "[]container.DeviceMapping", .elem = &t_devmap};
static const struct jtype t_devreq = STRUCT("container.DeviceRequest", "DeviceRequest",
					    (const struct jfield[]){{"Driver", &t_string},
								    {"Count", &t_int},
								    {"DeviceIDs", &t_strv},
								    {"Capabilities", &t_strvv},
								    {"Options", &t_strmap},
								    {NULL, NULL}});
static const struct jtype t_devreqs = {.kind = K_SLICE, .go = "[]container.DeviceRequest", .elem = &t_devreq};
static const struct jtype t_ulimit =
	STRUCT("units.Ulimit", "Ulimit",
	       (const struct jfield[]){{"Name", &t_string}, {"Hard", &t_int64}, {"Soft", &t_int64}, {NULL, NULL}});
static const struct jtype t_ulimits = {.kind = K_SLICE, .go = "[]*units.Ulimit", .elem = &t_ulimit};
static const struct jfield resources_fields[] = {{"CpuShares", &t_int64},
						 {"Memory", &t_int64},
						 {"NanoCpus", &t_int64},
						 {"CgroupParent", &t_string},
						 {"BlkioWeight", &t_uint16},
						 {"BlkioWeightDevice", &t_weightdevs},
						 {"BlkioDeviceReadBps", &t_throttledevs},
						 {"BlkioDeviceWriteBps", &t_throttledevs},
						 {"BlkioDeviceReadIOps", &t_throttledevs},
						 {"BlkioDeviceWriteIOps", &t_throttledevs},
						 {"CpuPeriod", &t_int64},
						 {"CpuQuota", &t_int64},
						 {"CpuRealtimePeriod", &t_int64},
						 {"CpuRealtimeRuntime", &t_int64},
						 {"CpusetCpus", &t_string},
						 {"CpusetMems", &t_string},
						 {"Devices", &t_devmaps},
						 {"DeviceCgroupRules", &t_strv},
						 {"DeviceRequests", &t_devreqs},
						 {"KernelMemory", &t_int64},
						 {"KernelMemoryTCP", &t_int64},
						 {"MemoryReservation", &t_int64},
						 {"MemorySwap", &t_int64},
						 {"MemorySwappiness", &t_int64},
						 {"OomKillDisable", &t_bool},
						 {"PidsLimit", &t_int64},
						 {"Ulimits", &t_ulimits},
						 {"CpuCount", &t_int64},
						 {"CpuPercent", &t_int64},
						 {"IOMaximumIOps", &t_uint64},
						 {"IOMaximumBandwidth", &t_uint64},
						 {NULL, NULL}};

/* container.HostConfig */
static const struct jtype t_logconfig =
	STRUCT("container.LogConfig", "LogConfig",
	       (const struct jfield[]){{"Type", &t_string}, {"Config", &t_strmap}, {NULL, NULL}});
static const struct jtype t_portbinding =
	STRUCT("nat.PortBinding", "PortBinding",
	       (const struct jfield[]){{"HostIp", &t_string}, {"HostPort", &t_string}, {NULL, NULL}});
static const struct jtype t_portbindings = {.kind = K_SLICE, .go = "[]nat.PortBinding", .elem = &t_portbinding};
static const struct jtype t_portmap = {.kind = K_MAP, .go = "nat.PortMap", .elem = &t_portbindings};
static const struct jtype t_restart =
	STRUCT("container.RestartPolicy", "RestartPolicy",
	       (const struct jfield[]){{"Name", &t_string}, {"MaximumRetryCount", &t_int}, {NULL, NULL}});
static const struct jtype t_consolesize = {.kind = K_ARRAY, .go = "[2]uint", .elem = &t_uint};
static const struct jtype t_bindopts =
	STRUCT("mount.BindOptions", "BindOptions",
	       (const struct jfield[]){{"Propagation", &t_propagation}, {"NonRecursive", &t_bool}, {NULL, NULL}});
static const struct jtype t_mdriver = STRUCT(
	"mount.Driver", "Driver", (const struct jfield[]){{"Name", &t_string}, {"Options", &t_strmap}, {NULL, NULL}});
static const struct jtype t_volopts =
	STRUCT("mount.VolumeOptions", "VolumeOptions",
	       (const struct jfield[]){
		       {"NoCopy", &t_bool}, {"Labels", &t_strmap}, {"DriverConfig", &t_mdriver}, {NULL, NULL}});
static const struct jtype t_tmpfsopts =
	STRUCT("mount.TmpfsOptions", "TmpfsOptions",
	       (const struct jfield[]){{"SizeBytes", &t_int64}, {"Mode", &t_filemode}, {NULL, NULL}});
static const struct jtype t_mount = STRUCT("mount.Mount", "Mount",
					   (const struct jfield[]){{"Type", &t_mounttype},
								   {"Source", &t_string},
								   {"Target", &t_string},
								   {"ReadOnly", &t_bool},
								   {"Consistency", &t_consistency},
								   {"BindOptions", &t_bindopts},
								   {"VolumeOptions", &t_volopts},
								   {"TmpfsOptions", &t_tmpfsopts},
								   {NULL, NULL}});
static const struct jtype t_mounts = {.kind = K_SLICE, .go = "[]mount.Mount", .elem = &t_mount};
static const struct jfield hostconfig_fields[] = {{"Binds", &t_strv},
						  {"ContainerIDFile", &t_string},
						  {"LogConfig", &t_logconfig},
						  {"NetworkMode", &t_netmode},
						  {"PortBindings", &t_portmap},
						  {"RestartPolicy", &t_restart},
						  {"AutoRemove", &t_bool},
						  {"VolumeDriver", &t_string},
						  {"VolumesFrom", &t_strv},
						  {"CapAdd", &t_strslice},
						  {"CapDrop", &t_strslice},
						  {"CgroupnsMode", &t_cgroupnsmode},
						  {"Dns", &t_strv},
						  {"DnsOptions", &t_strv},
						  {"DnsSearch", &t_strv},
						  {"ExtraHosts", &t_strv},
						  {"GroupAdd", &t_strv},
						  {"IpcMode", &t_ipcmode},
						  {"Cgroup", &t_cgroupspec},
						  {"Links", &t_strv},
						  {"OomScoreAdj", &t_int},
						  {"PidMode", &t_pidmode},
						  {"Privileged", &t_bool},
						  {"PublishAllPorts", &t_bool},
						  {"ReadonlyRootfs", &t_bool},
						  {"SecurityOpt", &t_strv},
						  {"StorageOpt", &t_strmap},
						  {"Tmpfs", &t_strmap},
						  {"UTSMode", &t_utsmode},
						  {"UsernsMode", &t_usernsmode},
						  {"ShmSize", &t_int64},
						  {"Sysctls", &t_strmap},
						  {"Runtime", &t_string},
						  {"ConsoleSize", &t_consolesize},
						  {"Isolation", &t_isolation},
						  {"Mounts", &t_mounts},
						  {"MaskedPaths", &t_strv},
						  {"ReadonlyPaths", &t_strv},
						  {"Init", &t_bool},
						  {NULL, NULL}};
static const struct jtype t_hostconfig =
	STRUCT("container.HostConfig", "HostConfig", hostconfig_fields, resources_fields);

/* network.NetworkingConfig */
static const struct jtype t_ipamcfg = STRUCT(
	"network.EndpointIPAMConfig", "EndpointIPAMConfig",
	(const struct jfield[]){
		{"IPv4Address", &t_string}, {"IPv6Address", &t_string}, {"LinkLocalIPs", &t_strv}, {NULL, NULL}});
static const struct jtype t_endpoint = STRUCT("network.EndpointSettings", "EndpointSettings",
					      (const struct jfield[]){{"IPAMConfig", &t_ipamcfg},
								      {"Links", &t_strv},
								      {"Aliases", &t_strv},
								      {"NetworkID", &t_string},
								      {"EndpointID", &t_string},
								      {"Gateway", &t_string},
								      {"IPAddress", &t_string},
								      {"IPPrefixLen", &t_int},
								      {"IPv6Gateway", &t_string},
								      {"GlobalIPv6Address", &t_string},
								      {"GlobalIPv6PrefixLen", &t_int},
								      {"MacAddress", &t_string},
								      {"DriverOpts", &t_strmap},
								      {NULL, NULL}});
static const struct jtype t_endpoints = {
	.kind = K_MAP, .go = "map[string]*network.EndpointSettings", .elem = &t_endpoint};
static const struct jtype t_netconfig =
	STRUCT("network.NetworkingConfig", "NetworkingConfig",
	       (const struct jfield[]){{"EndpointsConfig", &t_endpoints}, {NULL, NULL}});

/* runconfig.ContainerConfigWrapper: embeds *Config and (deprecated, top
 * level) *HostConfig, plus HostConfig, Cpuset and NetworkingConfig. */
static const struct jtype t_create = STRUCT(
	"runconfig.ContainerConfigWrapper", "ContainerConfigWrapper", config_fields,
	(const struct jfield[]){
		{"HostConfig", &t_hostconfig}, {"Cpuset", &t_string}, {"NetworkingConfig", &t_netconfig}, {NULL, NULL}},
	hostconfig_fields, resources_fields);

/* container.UpdateConfig: embeds Resources, plus RestartPolicy */
static const struct jtype t_update = STRUCT("container.UpdateConfig", "UpdateConfig", resources_fields,
					    (const struct jfield[]){{"RestartPolicy", &t_restart}, {NULL, NULL}});

static const struct jtype t_exec_create = STRUCT("types.ExecConfig", "ExecConfig",
						 (const struct jfield[]){{"User", &t_string},
									 {"Privileged", &t_bool},
									 {"Tty", &t_bool},
									 {"AttachStdin", &t_bool},
									 {"AttachStderr", &t_bool},
									 {"AttachStdout", &t_bool},
									 {"Detach", &t_bool},
									 {"DetachKeys", &t_string},
									 {"Env", &t_strv},
									 {"WorkingDir", &t_string},
									 {"Cmd", &t_strv},
									 {NULL, NULL}});
static const struct jtype t_exec_start =
	STRUCT("types.ExecStartCheck", "ExecStartCheck",
	       (const struct jfield[]){{"Detach", &t_bool}, {"Tty", &t_bool}, {NULL, NULL}});
static const struct jtype t_volume_create = STRUCT("volume.VolumeCreateBody", "VolumeCreateBody",
						   (const struct jfield[]){{"Driver", &t_string},
									   {"DriverOpts", &t_strmap},
									   {"Labels", &t_strmap},
									   {"Name", &t_string},
									   {NULL, NULL}});

/* ---------- the walk ---------- */

#define MAX_DEPTH 32

struct walk {
	const char *sname;           /* innermost struct being decoded, NULL at the top value */
	const char *path[MAX_DEPTH]; /* field names from the root (no map keys, no indices) */
	int depth;
	bool failed;  /* first type error saved (Go keeps the first) */
	bool aborted; /* a StrSlice error: Go returns it at once */
	struct berth_error *err;
};

static const char *json_kind_word(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	default: return "number";
	}
}

/* The shortest "%g" that reads back as the same double (Go prints the literal). */
static void real_text(double x, char *out, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, len, "%.*g", prec, x);
		if (strtod(out, NULL) == x)
			return;
	}
}

static void type_error(struct walk *w, const char *value, const char *gotype)
{
	if (w->failed)
		return;
	w->failed = true;
	if (!w->sname && w->depth == 0) {
		berth_err(w->err, BERTH_E_INVALID, "json: cannot unmarshal %s into Go value of type %s", value, gotype);
		return;
	}
	char path[512];
	size_t o = 0;
	path[0] = 0;
	for (int i = 0; i < w->depth && o < sizeof(path); i++) {
		int n = snprintf(path + o, sizeof(path) - o, "%s%s", i ? "." : "", w->path[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	berth_err(w->err, BERTH_E_INVALID, "json: cannot unmarshal %s into Go struct field %s.%s of type %s", value,
		  w->sname ? w->sname : "", path, gotype);
}

static void walk(struct walk *w, const json_t *v, const struct jtype *t);

static const struct jfield *find_field(const struct jtype *t, const char *key)
{
	const struct jfield *fold = NULL;
	for (int p = 0; t->parts[p]; p++)
		for (const struct jfield *f = t->parts[p]; f->name; f++) {
			if (!strcmp(f->name, key))
				return f;
			if (!fold && !strcasecmp(f->name, key))
				fold = f;
		}
	return fold;
}

static void walk_struct(struct walk *w, const json_t *v, const struct jtype *t)
{
	const char *saved = w->sname;
	const char *key;
	json_t *fv;
	json_object_foreach((json_t *)v, key, fv) {
		const struct jfield *f = find_field(t, key);
		if (!f)
			continue;
		if (w->depth >= MAX_DEPTH)
			continue; /* cannot happen: the tables nest less deep */
		w->sname = t->sname;
		w->path[w->depth++] = f->name;
		walk(w, fv, f->t);
		w->depth--;
		w->sname = saved;
		if (w->aborted)
			return;
	}
}

/* strslice.StrSlice.UnmarshalJSON: []string, else string; its error is the
 * string attempt's, returned at once with the field's context. */
static void walk_strslice(struct walk *w, const json_t *v)
{
	if (json_is_string(v))
		return;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		bool ok = true;
		json_array_foreach(v, i, e)
			if (!json_is_string(e) && !json_is_null(e))
				ok = false;
		if (ok)
			return;
	}
	/* the abort overrides a type error saved earlier */
	w->failed = false;
	type_error(w, json_kind_word(v), "string");
	w->aborted = true;
}

static void walk(struct walk *w, const json_t *v, const struct jtype *t)
{
	if (!v || json_is_null(v) || w->aborted)
		return;
	char num[64];
	switch (t->kind) {
	case K_STRING:
		if (!json_is_string(v))
			type_error(w, json_kind_word(v), t->go);
		return;
	case K_BOOL:
		if (!json_is_boolean(v))
			type_error(w, json_kind_word(v), t->go);
		return;
	case K_INT:
	case K_UINT:
		if (json_is_integer(v)) {
			json_int_t n = json_integer_value(v);
			if (t->kind == K_INT || (n >= 0 && (uint64_t)n <= t->max))
				return;
			snprintf(num, sizeof(num), "number %" JSON_INTEGER_FORMAT, n);
			type_error(w, num, t->go);
		} else if (json_is_real(v)) {
			char lit[40];
			real_text(json_real_value(v), lit, sizeof(lit));
			snprintf(num, sizeof(num), "number %s", lit);
			type_error(w, num, t->go);
		} else {
			type_error(w, json_kind_word(v), t->go);
		}
		return;
	case K_STRSLICE: walk_strslice(w, v); return;
	case K_SLICE:
	case K_ARRAY: {
		if (!json_is_array(v)) {
			type_error(w, json_kind_word(v), t->go);
			return;
		}
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (t->kind == K_ARRAY && i >= 2)
				break; /* [2]uint: Go drops the rest */
			walk(w, e, t->elem);
			if (w->aborted)
				return;
		}
		return;
	}
	case K_MAP: {
		if (!json_is_object(v)) {
			type_error(w, json_kind_word(v), t->go);
			return;
		}
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) {
			walk(w, e, t->elem);
			if (w->aborted)
				return;
		}
		return;
	}
	case K_STRUCT:
		if (!json_is_object(v)) {
			type_error(w, json_kind_word(v), t->go);
			return;
		}
		walk_struct(w, v, t);
		return;
	}
}

static int check(json_t *body, const struct jtype *t, struct berth_error *err)
{
	struct walk w = {.err = err};
	walk(&w, body, t);
	return w.failed ? -1 : 0;
}

int berth_input_check_create(json_t *body, struct berth_error *err) { return check(body, &t_create, err); }
int berth_input_check_commit(json_t *body, struct berth_error *err) { return check(body, &t_create, err); }
int berth_input_check_update(json_t *body, struct berth_error *err) { return check(body, &t_update, err); }
int berth_input_check_exec_create(json_t *body, struct berth_error *err) { return check(body, &t_exec_create, err); }
int berth_input_check_exec_start(json_t *body, struct berth_error *err) { return check(body, &t_exec_start, err); }
int berth_input_check_volume_create(json_t *body, struct berth_error *err)
{
	return check(body, &t_volume_create, err);
}

/* ---------- names ---------- */

int berth_input_check_name(const char *name, struct berth_error *err)
{
	if (!name || !*name)
		return 0;
	if (berth_container_name_valid(name, err) < 0)
		return -1;
	const char *n = name[0] == '/' ? name + 1 : name;
	if (strlen(n) > NAME_MAX_LEN)
		return berth_err(err, BERTH_E_INVALID, "Invalid container name (%s), a name has at most %d characters",
				 n, NAME_MAX_LEN);
	return 0;
}
