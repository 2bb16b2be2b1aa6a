/* The native tar reader (archive/tar_in.c) alone, much faster than through
 * the layer applier: every entry is read twice over (blocks, then contents
 * with holes as zeros, alternately) in chunks of a size taken from the
 * input's first byte. Nothing may crash or leak; data blocks must lie
 * inside the entry's size, contents must be exactly its size, offsets must
 * only grow. */
#include <string.h>

#include "archive/tar_in.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_mem m = {.data = data, .len = size, .chunk = size ? (size_t)data[0] * 37 + 1 : 0};
	struct berth_reader r = fuzz_mem_reader(&m);
	struct berth_tarin *t = berth_tarin_new(&r);
	FUZZ_ASSERT(t);
	struct berth_error err;
	struct berth_tarin_entry *e;
	static char buf[70000];
	int rc;
	uint64_t last = 0;
	for (unsigned n = 0; (rc = berth_tarin_next(t, &e, &err)) == 1; n++) {
		FUZZ_ASSERT(e->path && e->linkname && e->size >= 0);
		FUZZ_ASSERT(berth_tarin_offset(t) >= last);
		last = berth_tarin_offset(t);
		if (n % 2) {
			const void *p;
			size_t len;
			int64_t off, prev = 0;
			int br;
			while ((br = berth_tarin_block(t, &p, &len, &off, &err)) == 1) {
				FUZZ_ASSERT(off >= prev && off + (int64_t)len <= e->size);
				prev = off + (int64_t)len;
				volatile char sink = len ? ((const char *)p)[len - 1] : 0;
				(void)sink;
			}
			if (br < 0)
				break;
		} else {
			int64_t total = 0;
			ssize_t k;
			while ((k = berth_tarin_read(t, buf, sizeof(buf), &err)) > 0)
				total += k;
			if (k < 0)
				break;
			FUZZ_ASSERT(total == e->size);
		}
	}
	berth_tarin_free(t);
	return 0;
}
