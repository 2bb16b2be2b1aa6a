#include "seccomp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "jget.h"

/* docker native arch name -> libseccomp arch constant */
static const char *seccomp_arch(const char *native)
{
	static const struct {
		const char *native, *scmp;
	} map[] = {
		{"x86", "SCMP_ARCH_X86"},           {"amd64", "SCMP_ARCH_X86_64"},
		{"arm", "SCMP_ARCH_ARM"},           {"arm64", "SCMP_ARCH_AARCH64"},
		{"mips64", "SCMP_ARCH_MIPS64"},     {"mips64n32", "SCMP_ARCH_MIPS64N32"},
		{"mipsel64", "SCMP_ARCH_MIPSEL64"}, {"mips3l64n32", "SCMP_ARCH_MIPSEL64N32"},
		{"mipsle", "SCMP_ARCH_MIPSEL"},     {"ppc", "SCMP_ARCH_PPC"},
		{"ppc64", "SCMP_ARCH_PPC64"},       {"ppc64le", "SCMP_ARCH_PPC64LE"},
		{"s390", "SCMP_ARCH_S390"},         {"s390x", "SCMP_ARCH_S390X"},
		{"riscv64", "SCMP_ARCH_RISCV64"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(native, map[i].native))
			return map[i].scmp;
	return NULL;
}

static bool in_strlist(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

static bool has_cap(berth_capset set, const char *name)
{
	int n = berth_cap_from_name(name);
	return n >= 0 && (set & (1ULL << n));
}

/* -1 on a malformed version, else 1 when host >= "<kernel>.<major>". */
static int kernel_ge(const json_t *v, const struct berth_sysinfo *si, struct berth_error *err)
{
	const char *s = json_string_value(v);
	unsigned k = 0, m = 0;
	char extra;
	if (!s || sscanf(s, "%u.%u%c", &k, &m, &extra) != 2 || k > 255 || m > 255 || (k == 0 && m == 0))
		return berth_err(err, BERTH_E_INVALID, "invalid kernel version: %s, expected \"<kernel>.<major>\"",
				 s ? s : "(non-string)");
	if (si->kernel_major != (int)k)
		return si->kernel_major > (int)k;
	return si->kernel_minor >= (int)m;
}

/* 1 = rule applies here, 0 = skip, -1 = error */
static int rule_applies(const json_t *call, berth_capset bounding, const struct berth_sysinfo *si,
			struct berth_error *err)
{
	const json_t *exc = jobj(call, "excludes"), *inc = jobj(call, "includes");
	size_t i;
	json_t *v;
	if (jarr_len(jarr(exc, "arches")) && in_strlist(jarr(exc, "arches"), si->arch))
		return 0;
	json_array_foreach(jarr(exc, "caps"), i, v) {
		if (json_is_string(v) && has_cap(bounding, json_string_value(v)))
			return 0;
	}
	if (jstr_ne(exc, "minKernel")) {
		int r = kernel_ge(jget(exc, "minKernel"), si, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (jarr_len(jarr(inc, "arches")) && !in_strlist(jarr(inc, "arches"), si->arch))
		return 0;
	json_array_foreach(jarr(inc, "caps"), i, v) {
		if (!json_is_string(v) || !has_cap(bounding, json_string_value(v)))
			return 0;
	}
	if (jstr_ne(inc, "minKernel")) {
		int r = kernel_ge(jget(inc, "minKernel"), si, err);
		if (r <= 0)
			return r;
	}
	return 1;
}

json_t *berth_seccomp_to_oci(const json_t *profile, berth_capset bounding, const struct berth_sysinfo *si,
			     struct berth_error *err)
{
	berth_err_clear(err);
	if (!json_is_object(profile)) {
		berth_err(err, BERTH_E_INVALID, "Decoding seccomp profile failed: profile is not a JSON object");
		return NULL;
	}
	const char *def = jstr_ne(profile, "defaultAction");
	json_t *calls = jarr(profile, "syscalls");
	if (!def && !jarr_len(calls))
		return NULL; /* disabled */
	json_t *arches = jarr(profile, "architectures"), *amap = jarr(profile, "archMap");
	if (jarr_len(arches) && jarr_len(amap)) {
		berth_err(err, BERTH_E_INVALID,
			  "'architectures' and 'archMap' were specified in the seccomp profile, use either "
			  "'architectures' or 'archMap'");
		return NULL;
	}
	cleanup_json json_t *out = json_object();
	json_object_set_new(out, "defaultAction", json_string(def ? def : ""));
	json_t *def_errno = jget(profile, "defaultErrnoRet");
	if (json_is_integer(def_errno))
		json_object_set(out, "defaultErrnoRet", def_errno);
	json_t *oarch = json_array();
	json_object_set_new(out, "architectures", oarch);
	if (jarr_len(arches))
		json_array_extend(oarch, arches);
	const char *native = seccomp_arch(si->arch);
	size_t i;
	json_t *v;
	if (native) {
		json_array_foreach(amap, i, v) {
			const char *a = jstr(v, "architecture");
			if (a && !strcmp(a, native)) {
				json_array_append_new(oarch, json_string(a));
				json_t *sub = jarr(v, "subArchitectures");
				if (sub)
					json_array_extend(oarch, sub);
				break;
			}
		}
	}
	if (!json_array_size(oarch))
		json_object_del(out, "architectures");
	json_t *flags = jarr(profile, "flags");
	if (jarr_len(flags))
		json_object_set(out, "flags", flags);
	if (jstr_ne(profile, "listenerPath"))
		json_object_set(out, "listenerPath", jget(profile, "listenerPath"));

	json_t *ocalls = json_array();
	json_object_set_new(out, "syscalls", ocalls);
	json_array_foreach(calls, i, v) {
		int r = rule_applies(v, bounding, si, err);
		if (r < 0)
			return NULL;
		if (!r)
			continue;
		json_t *names = jarr(v, "names");
		const char *name = jstr_ne(v, "name");
		if (name && jarr_len(names)) {
			berth_err(
				err, BERTH_E_INVALID,
				"'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
			return NULL;
		}
		json_t *c = json_object();
		json_object_set_new(c, "names",
				    name  ? json_pack("[s]", name) :
				    names ? json_copy(names) :
					    json_array());
		json_object_set_new(c, "action", json_string(jstr(v, "action") ? jstr(v, "action") : ""));
		if (json_is_integer(jget(v, "errnoRet")))
			json_object_set(c, "errnoRet", jget(v, "errnoRet"));
		json_t *args = jarr(v, "args");
		if (jarr_len(args)) {
			json_t *oargs = json_array();
			size_t k;
			json_t *a;
			json_array_foreach(args, k, a) {
				json_t *oa = json_pack("{s:I, s:I, s:s}", "index", (json_int_t)jint(a, "index", 0),
						       "value", (json_int_t)jint(a, "value", 0), "op",
						       jstr(a, "op") ? jstr(a, "op") : "");
				if (jint(a, "valueTwo", 0)) /* omitted when 0, like docker */
					json_object_set_new(oa, "valueTwo", json_integer(jint(a, "valueTwo", 0)));
				json_array_append_new(oargs, oa);
			}
			json_object_set_new(c, "args", oargs);
		}
		json_array_append_new(ocalls, c);
	}
	return steal_ptr(out);
}

/* Names runc/libseccomp accept; anything else fails create instead of start. */
static bool known(const char *v, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

static const char *const actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
	"SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY", NULL};
static const char *const ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
				  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL};
static const char *const arches[] = {
	"SCMP_ARCH_X86",         "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",       "SCMP_ARCH_ARM",     "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",
	"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
	"SCMP_ARCH_S390X",       "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64", NULL};

/* The converted profile's names: clear errors at create. */
static int validate_oci(const json_t *sc, struct berth_error *err)
{
	const char *def = jstr(sc, "defaultAction");
	if (def && !known(def, actions))
		return berth_err(err, BERTH_E_INVALID, "Decoding seccomp profile failed: invalid defaultAction \"%s\"",
				 def);
	size_t i, k;
	json_t *v, *a;
	json_array_foreach(jarr(sc, "architectures"), i, v)
		if (!json_is_string(v) || !known(json_string_value(v), arches))
			return berth_err(err, BERTH_E_INVALID,
					 "Decoding seccomp profile failed: invalid architecture \"%s\"",
					 json_is_string(v) ? json_string_value(v) : "?");
	json_array_foreach(jarr(sc, "syscalls"), i, v) {
		const char *act = jstr(v, "action");
		if (!act || !known(act, actions))
			return berth_err(err, BERTH_E_INVALID,
					 "Decoding seccomp profile failed: invalid action \"%s\" for syscall rule %zu",
					 act ? act : "", i);
		json_array_foreach(jarr(v, "names"), k, a)
			if (!json_is_string(a) || !*json_string_value(a))
				return berth_err(err, BERTH_E_INVALID,
						 "Decoding seccomp profile failed: syscall rule %zu has an empty name",
						 i);
		json_array_foreach(jarr(v, "args"), k, a)
			if (!known(jstr(a, "op") ? jstr(a, "op") : "", ops))
				return berth_err(
					err, BERTH_E_INVALID,
					"Decoding seccomp profile failed: invalid operator \"%s\" in syscall rule %zu",
					jstr(a, "op") ? jstr(a, "op") : "", i);
	}
	return 0;
}

json_t *berth_seccomp_load(const char *text, berth_capset bounding, const struct berth_sysinfo *si,
			   struct berth_error *err)
{
	json_error_t je;
	cleanup_json json_t *p = json_loads(text, 0, &je);
	if (!p) {
		berth_err(err, BERTH_E_INVALID, "Decoding seccomp profile failed: %s", je.text);
		return NULL;
	}
	json_t *sc = berth_seccomp_to_oci(p, bounding, si, err);
	if (sc && validate_oci(sc, err) < 0) {
		json_decref(sc);
		return NULL;
	}
	return sc;
}

#define MEMO_SETS 4

struct berth_seccomp_memo {
	pthread_mutex_t mu;
	size_t n, next; /* entries used; the one to replace when full */
	berth_capset caps[MEMO_SETS];
	json_t *oci[MEMO_SETS];
};

struct berth_seccomp_memo *berth_seccomp_memo_new(void)
{
	struct berth_seccomp_memo *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void berth_seccomp_memo_clear(struct berth_seccomp_memo *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		json_decref(m->oci[i]);
		m->oci[i] = NULL;
	}
	m->n = m->next = 0;
	pthread_mutex_unlock(&m->mu);
}

void berth_seccomp_memo_free(struct berth_seccomp_memo *m)
{
	if (!m)
		return;
	berth_seccomp_memo_clear(m);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* the remembered object for bounding, a new reference; NULL if none (lock held) */
static json_t *memo_find(struct berth_seccomp_memo *m, berth_capset bounding)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->caps[i] == bounding)
			return json_incref(m->oci[i]);
	return NULL;
}

json_t *berth_seccomp_default_oci(struct berth_seccomp_memo *m, berth_capset bounding, const struct berth_sysinfo *si,
				  struct berth_error *err)
{
	json_t *o = NULL;
	if (m) {
		pthread_mutex_lock(&m->mu);
		o = memo_find(m, bounding);
		pthread_mutex_unlock(&m->mu);
		if (o)
			return o;
	}
	cleanup_json json_t *p = berth_seccomp_default_profile();
	o = berth_seccomp_to_oci(p, bounding, si, err);
	if (!o || !m)
		return o;
	pthread_mutex_lock(&m->mu);
	json_t *had = memo_find(m, bounding); /* another start converted it meanwhile */
	if (!had) {
		size_t i = m->n < MEMO_SETS ? m->n++ : m->next++ % MEMO_SETS;
		json_decref(m->oci[i]);
		m->caps[i] = bounding;
		m->oci[i] = json_incref(o);
	}
	pthread_mutex_unlock(&m->mu);
	if (had) {
		json_decref(o);
		return had;
	}
	return o;
}
