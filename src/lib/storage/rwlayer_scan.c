/* Listing read-write layers (see rwlayer_scan.h). */
#include "storage/rwlayer_scan.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "metadata/db.h"
#include "storage/layer_store.h"
#include "storage/layer_store_int.h"

char **berth_rwlayer_list(struct berth_layer_store *ls, struct berth_error *err)
{
	char **ids = calloc(1, sizeof(*ids));
	if (!ids) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&ls->lock);
	struct berth_stmt *st = berth_db_prepare(ls->db, "SELECT id FROM layer_rw WHERE driver = ?1 ORDER BY id", err);
	int rc = st ? 0 : -1;
	if (st) {
		berth_stmt_bind_text(st, 1, ls->drv->ops->name);
		while ((rc = berth_stmt_step(st, err)) == 1) {
			const char *id = berth_stmt_text(st, 0);
			if (id)
				berth_strv_push(&ids, id);
		}
		berth_stmt_finalize(st);
	}
	pthread_mutex_unlock(&ls->lock);
	if (rc < 0) {
		berth_strv_free(ids);
		berth_err_prefix(err, "layer store");
		return NULL;
	}
	return ids;
}

char *berth_rwlayer_mount_dir(struct berth_layer_store *ls, const char *id)
{
	json_t *gd = berth_rwlayer_graph_data(ls, id);
	const char *m = json_string_value(json_object_get(gd, "MergedDir"));
	char *out = m ? strdup(m) : NULL;
	json_decref(gd);
	return out;
}
