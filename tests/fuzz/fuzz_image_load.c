/* Image-archive loader (docker load): the input is read as a docker-archive or
 * OCI layout tar stream into a fresh image store (vfs layers, the database in
 * the same temp data root), which is closed and removed after each run. */
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "image/archive.h"
#include "image/store.h"
#include "metadata/db.h"
#include "storage/layer_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *base = fuzz_scratch("image");
	char *root = berth_strdup_printf("%s/root", base);
	char *dbpath = berth_strdup_printf("%s/root/berth.db", base);
	FUZZ_ASSERT(mkdir(root, 0700) == 0);

	struct berth_error err = {0};
	struct berth_db *db = berth_db_open(dbpath, NULL, &err);
	FUZZ_ASSERT(db);
	struct berth_layer_store *ls = berth_layer_store_open(root, "vfs", db, &err);
	if (!ls)
		fprintf(stderr, "layer store: %s\n", err.msg);
	FUZZ_ASSERT(ls);
	struct berth_image_store *is = berth_image_store_open(root, db, ls, NULL, &err);
	if (!is)
		fprintf(stderr, "image store: %s\n", err.msg);
	FUZZ_ASSERT(is);

	struct fuzz_mem m = {data, size, 0, 0};
	struct berth_reader rd = fuzz_mem_reader(&m);
	struct berth_image_load_opts opts = {.platform = NULL};
	char **lines = NULL;
	int r = berth_image_load(is, &rd, &opts, &lines, &err);
	/* A load that failed leaves no image behind. */
	if (r < 0)
		FUZZ_ASSERT(berth_image_count(is) == 0);
	if (getenv("BERTH_FUZZ_VERBOSE"))
		fprintf(stderr, "load: %s %s\n", r < 0 ? "error" : "ok",
			r < 0             ? err.msg :
			lines && lines[0] ? lines[0] :
					    "");
	berth_strv_free(lines);

	berth_image_store_close(is);
	berth_layer_store_close(ls);
	berth_db_close(db);
	FUZZ_ASSERT(berth_rm_rf(root, NULL) == 0);
	free(root);
	free(dbpath);
	return 0;
}
