#include "caps.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* moby oci/caps: the set every non-privileged container gets. */
static const char *const default_caps[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
	NULL,
};

const char *berth_cap_name(int n) { return n >= 0 && n < NCAPS ? cap_names[n] : NULL; }

const char *const *berth_caps_default(void) { return default_caps; }

int berth_cap_from_name(const char *name)
{
	const char *s = name;
	if (!strncasecmp(s, "CAP_", 4))
		s += 4;
	for (int i = 0; i < NCAPS; i++)
		if (!strcasecmp(s, cap_names[i] + 4))
			return i;
	return -1;
}

static int last_cap(int cap_last_cap) { return cap_last_cap >= 0 && cap_last_cap < NCAPS ? cap_last_cap : NCAPS - 1; }

/* Normalize a docker cap list: "ALL" sets *all, names become bits. */
static int parse_list(const json_t *list, int cap_last_cap, berth_capset *set, bool *all, struct berth_error *err)
{
	*set = 0;
	*all = false;
	size_t i;
	json_t *v;
	if (!json_is_array(list))
		return 0;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			return berth_err(err, BERTH_E_INVALID, "unknown capability: %s", "(non-string)");
		if (!strcasecmp(s, "ALL")) {
			*all = true;
			continue;
		}
		int n = berth_cap_from_name(s);
		if (n < 0 || n > last_cap(cap_last_cap)) {
			char up[128];
			size_t k = 0;
			if (strncasecmp(s, "CAP_", 4))
				k = (size_t)snprintf(up, sizeof(up), "CAP_");
			for (const char *p = s; *p && k + 1 < sizeof(up); p++)
				up[k++] = (char)toupper((unsigned char)*p);
			up[k] = '\0';
			return berth_err(err, BERTH_E_INVALID, "unknown capability: \"%s\"", up);
		}
		*set |= 1ULL << n;
	}
	return 0;
}

int berth_caps_tweak(const json_t *cap_add, const json_t *cap_drop, bool privileged, int cap_last_cap,
		     berth_capset host_bound, berth_capset *out, struct berth_error *err)
{
	int last = last_cap(cap_last_cap);
	berth_capset every = last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
	if (host_bound)
		every &= host_bound;
	if (privileged) {
		*out = every;
		return 0;
	}
	berth_capset basics = 0;
	for (int i = 0; default_caps[i]; i++)
		basics |= 1ULL << berth_cap_from_name(default_caps[i]);
	berth_capset add, drop;
	bool add_all, drop_all;
	if (parse_list(cap_drop, cap_last_cap, &drop, &drop_all, err) < 0)
		return -1;
	if (parse_list(cap_add, cap_last_cap, &add, &add_all, err) < 0)
		return -1;
	if (add_all)
		*out = every & ~drop;
	else if (drop_all)
		*out = add;
	else
		*out = (basics & ~drop) | add;
	return 0;
}

json_t *berth_caps_to_json(berth_capset set, bool docker_order)
{
	json_t *a = json_array();
	if (docker_order) {
		for (int i = 0; default_caps[i]; i++) {
			int n = berth_cap_from_name(default_caps[i]);
			if (set & (1ULL << n)) {
				json_array_append_new(a, json_string(cap_names[n]));
				set &= ~(1ULL << n);
			}
		}
	}
	for (int i = 0; i < NCAPS; i++)
		if (set & (1ULL << i))
			json_array_append_new(a, json_string(cap_names[i]));
	return a;
}
