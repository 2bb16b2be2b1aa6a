/* Shared helpers for the libFuzzer targets: a NUL-terminated copy of the
 * input, an in-memory reader (small chunks, to exercise partial reads) and
 * per-process scratch directories under $TMPDIR removed at exit. */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a libFuzzer crash, input saved) when cond is false. */
#define FUZZ_ASSERT(cond)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "FUZZ_ASSERT failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	FUZZ_ASSERT(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

struct fuzz_mem {
	const uint8_t *data;
	size_t len, pos, chunk;
};

static inline ssize_t fuzz_mem_read(void *ctx, void *buf, size_t len)
{
	struct fuzz_mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static inline struct berth_reader fuzz_mem_reader(struct fuzz_mem *m)
{
	return (struct berth_reader){fuzz_mem_read, m};
}

/* A scratch directory for this process ("/tmp/berth-fuzz-<name>-XXXXXX"),
 * created once and removed at exit. */
static char fuzz_scratch_dir[256];

static inline void fuzz_scratch_cleanup(void)
{
	if (fuzz_scratch_dir[0])
		berth_rm_rf(fuzz_scratch_dir, NULL);
}

static inline const char *fuzz_scratch(const char *name)
{
	if (!fuzz_scratch_dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_scratch_dir, sizeof(fuzz_scratch_dir), "%s/berth-fuzz-%s-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp", name);
		FUZZ_ASSERT(mkdtemp(fuzz_scratch_dir));
		atexit(fuzz_scratch_cleanup);
	}
	return fuzz_scratch_dir;
}
