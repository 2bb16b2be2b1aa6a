/* The daemon's storage options (--storage-opt, daemon.json "storage-opts"),
 * checked as docker 20.10's drivers check them in Init, with its wording:
 *   btrfs:    btrfs.min_space=<size>  (smallest --storage-opt size= a container may ask for)
 *   overlay2: overlay2.size=<size>    (default limit of every container layer; xfs with pquota only)
 *             overlay2.override_kernel_check=<bool> (accepted, no effect: as docker)
 *   vfs:      size=<size>             (default limit of every container layer; xfs with pquota only)
 * Every option is validated before any takes effect, so a bad list changes nothing. */
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "storage/driver.h"
#include "storage/quota_xfs.h"

struct parsed_opts {
	bool has_min_space, has_size;
	uint64_t min_space, size;
};

/* Go's strconv.ParseBool. */
static bool go_bool_ok(const char *v)
{
	static const char *const ok[] = {"1", "t", "T", "TRUE",  "true",  "True",
					 "0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(ok[i], v))
			return true;
	return false;
}

static int parse_size(const char *val, uint64_t *out, struct berth_error *err)
{
	if (berth_parse_ram_bytes(val, out) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid size: '%s'", val);
	return 0;
}

/* One "key=value" for driver drv into p. */
static int parse_one(const char *drv, const char *kv, struct parsed_opts *p, struct berth_error *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return berth_err(err, BERTH_E_INVALID, "Unable to parse key/value option: %s", kv);
	size_t klen = (size_t)(eq - kv);
	const char *val = eq + 1;
	/* btrfs and overlay2 lower-case the key; vfs compares it as given */
	bool fold = strcmp(drv, "vfs") != 0;
#define KEY_IS(name) (klen == strlen(name) && (fold ? !strncasecmp(kv, name, klen) : !strncmp(kv, name, klen)))
	if (!strcmp(drv, "btrfs")) {
		if (KEY_IS("btrfs.min_space")) {
			p->has_min_space = true;
			return parse_size(val, &p->min_space, err);
		}
		return berth_err(err, BERTH_E_INVALID, "Unknown option %.*s", (int)klen, kv);
	}
	if (!strcmp(drv, "overlay2")) {
		if (KEY_IS("overlay2.override_kernel_check")) {
			if (!go_bool_ok(val))
				return berth_err(err, BERTH_E_INVALID,
						 "strconv.ParseBool: parsing \"%s\": invalid syntax", val);
			return 0;
		}
		if (KEY_IS("overlay2.size")) {
			p->has_size = true;
			return parse_size(val, &p->size, err);
		}
		return berth_err(err, BERTH_E_INVALID, "overlay2: unknown option %.*s", (int)klen, kv);
	}
	if (!strcmp(drv, "vfs")) {
		if (KEY_IS("size")) {
			p->has_size = true;
			return parse_size(val, &p->size, err);
		}
		return berth_err(err, BERTH_E_INVALID, "unknown option %.*s for vfs", (int)klen, kv);
	}
#undef KEY_IS
	return berth_err(err, BERTH_E_INVALID, "%s: unknown option %.*s", drv, (int)klen, kv);
}

/* A default size needs the driver's quota support: docker refuses at Init. */
static int check_size_support(struct berth_graph_driver *d, struct berth_error *err)
{
	struct berth_error qerr = {0};
	if (berth_xfs_quota_supported(d->home, &qerr) == 0)
		return 0;
	if (!strcmp(d->ops->name, "overlay2"))
		return berth_err(err, BERTH_E_INVALID,
				 "Storage Option overlay2.size only supported for backingFS XFS. Found %s",
				 berth_backing_fs_name(d->home));
	return berth_err(err, BERTH_E_INVALID, "Filesystem does not support, or has not enabled quotas");
}

int berth_graph_driver_set_options(struct berth_graph_driver *d, char *const *opts, struct berth_error *err)
{
	struct parsed_opts p = {0};
	for (size_t i = 0; opts && opts[i]; i++)
		if (parse_one(d->ops->name, opts[i], &p, err) < 0)
			return -1;
	if (p.has_size && p.size > 0 && check_size_support(d, err) < 0)
		return -1;
	if (p.has_min_space)
		d->min_space = p.min_space;
	if (p.has_size)
		d->default_size = p.size;
	return 0;
}
