#include "userns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/idmap.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "storage/layer_store.h"

/* docker's canAccess: o+x, or x for the matching owner or group. */
static bool can_traverse(const char *path, uint32_t uid, uint32_t gid)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	return (st.st_mode & 0001) || (st.st_uid == uid && (st.st_mode & 0100)) ||
	       (st.st_gid == gid && (st.st_mode & 0010));
}

int berth_userns_setup(struct berth_daemon *d, struct berth_error *err)
{
	const char *spec = d->cfg.sec.userns_remap;
	if (!spec)
		return 0;
	bool created = false;
	if (berth_idmap_load(&d->idmap, spec, NULL, &created, err) < 0)
		return -1;
	if (!berth_idmap_enabled(&d->idmap)) {
		berth_log(&d->log, BERTH_LOG_WARN,
			  "User namespaces: root cannot be remapped with itself; user namespaces are OFF");
		return 0;
	}
	if (created)
		berth_log(&d->log, BERTH_LOG_INFO, "User namespaces: created user %s and its subordinate ranges",
			  d->idmap.user);
	berth_log(&d->log, BERTH_LOG_INFO, "User namespaces: ID ranges will be mapped to subuid/subgid ranges of: %s",
		  d->idmap.user);
	uint32_t uid = berth_idmap_root_uid(&d->idmap), gid = berth_idmap_root_gid(&d->idmap);
	/* the top data root becomes root:<remapped gid> 0710, also when it
	 * existed (as dockerd 20.10 does); the mapping's own root below it */
	if (berth_mkdir_p(d->cfg.data_root, 0710, err) < 0 ||
	    berth_idmap_share_dir(&d->idmap, d->cfg.data_root, err) < 0)
		return -1;
	char *root = berth_strdup_printf("%s/%u.%u", d->cfg.data_root, uid, gid);
	if (!root)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	free(d->cfg.data_root);
	d->cfg.data_root = root;
	if (berth_mkdir_p(root, 0710, err) < 0 || berth_idmap_share_dir(&d->idmap, root, err) < 0)
		return berth_err_prefix(err, "Cannot create daemon root: %s", root);
	cleanup_free char *dir = strdup(root);
	if (!dir)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	for (char *slash = strrchr(dir, '/'); slash && slash != dir; slash = strrchr(dir, '/')) {
		*slash = '\0';
		if (!can_traverse(dir, uid, gid))
			return berth_err(
				err, BERTH_E_INVALID,
				"a subdirectory in your graphroot path (%s) restricts access to the remapped "
				"root uid/gid; please fix by allowing 'o+x' permissions on existing directories",
				root);
	}
	return 0;
}

int berth_userns_stores(struct berth_daemon *d, struct berth_error *err)
{
	return berth_layer_store_set_idmap(d->layers, &d->idmap, err);
}

int berth_userns_container_dir(struct berth_daemon *d, const char *cdir, struct berth_error *err)
{
	if (!berth_idmap_enabled(&d->idmap))
		return 0;
	cleanup_free char *parent = strdup(cdir);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!slash)
		return berth_err(err, BERTH_E_INTERNAL, "out of memory");
	*slash = '\0';
	if (berth_idmap_share_dir(&d->idmap, parent, err) < 0 || berth_idmap_share_dir(&d->idmap, cdir, err) < 0)
		return -1;
	return 0;
}

int berth_userns_volume_data(struct berth_daemon *d, const char *data, struct berth_error *err)
{
	return berth_idmap_chown_root(&d->idmap, data, err);
}

int berth_userns_ctr_files(struct berth_daemon *d, json_t *doc, struct berth_error *err)
{
	if (!berth_idmap_enabled(&d->idmap))
		return 0;
	static const char *const keys[] = {"HostnamePath", "HostsPath", "ResolvConfPath"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *p = json_string_value(json_object_get(doc, keys[i]));
		if (p && *p && access(p, F_OK) == 0 && berth_idmap_chown_root(&d->idmap, p, err) < 0)
			return -1;
	}
	return 0;
}
