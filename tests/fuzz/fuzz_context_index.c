/* The build context index (builder/ctx_index.c over archive/ustar.c's
 * in-memory reader): any bytes as a context tar; when they index, every
 * entry is hashed as COPY would hash it. */
#include <stdbool.h>
#include <stdint.h>

#include "builder/ctx_index.h"
#include "common/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx_index ix = {0};
	if (ctx_index_build(&ix, (const char *)data, size) == 1) {
		for (size_t i = 0; i < ix.n; i++) {
			struct berth_sha256 *h = berth_sha256_new();
			bool is_dir = false;
			ctx_index_hash(&ix, ix.v[i].path, "x", h, &is_dir);
			char out[BERTH_DIGEST_LEN + 1];
			berth_sha256_final(h, out);
		}
		ctx_index_find(&ix, "Dockerfile");
	}
	ctx_index_free(&ix);
	return 0;
}
