/* Registry entries for drivers docker knows but Berth does not implement on
 * this host: selecting them fails with a clear error instead of a crash. */
#include "storage/driver.h"

static int probe_aufs(const char *data_root, unsigned *features, struct berth_error *err)
{
	(void)features;
	(void)data_root;
	return berth_err(err, BERTH_E_UNSUPPORTED,
			 "driver not supported on this host: aufs (the kernel has no aufs; use overlay2 or vfs)");
}

static int probe_devicemapper(const char *data_root, unsigned *features, struct berth_error *err)
{
	(void)features;
	(void)data_root;
	return berth_err(err, BERTH_E_UNSUPPORTED,
			 "driver not supported on this host: devicemapper (deprecated; use overlay2 or vfs)");
}

static int probe_zfs(const char *data_root, unsigned *features, struct berth_error *err)
{
	(void)features;
	(void)data_root;
	return berth_err(err, BERTH_E_UNSUPPORTED, "driver not supported on this host: zfs (not implemented)");
}

const struct berth_graph_driver_ops berth_driver_aufs = {.name = "aufs", .probe = probe_aufs};
const struct berth_graph_driver_ops berth_driver_devicemapper = {.name = "devicemapper", .probe = probe_devicemapper};
const struct berth_graph_driver_ops berth_driver_zfs = {.name = "zfs", .probe = probe_zfs};
