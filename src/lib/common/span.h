/* Per-phase timing of one operation (issue 13): mark the end of each named
 * phase, then log the whole as one line, "op ID: phase 123 us, ...". The
 * struct lives on the caller's stack; phase names are string literals. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define BERTH_SPAN_MAX 16

struct berth_span {
	int64_t last_ns; /* CLOCK_MONOTONIC at the previous mark */
	int n;
	struct {
		const char *name;
		int64_t us;
	} ph[BERTH_SPAN_MAX];
};

/* CLOCK_MONOTONIC in ns (one clock for every process of the host). */
int64_t berth_mono_ns(void);
/* Start timing now, or at since_ns (monotonic; 0 = now). */
void berth_span_init(struct berth_span *s, int64_t since_ns);
/* The phase from the previous mark to now is NAME. */
void berth_span_mark(struct berth_span *s, const char *name);
/* A phase measured elsewhere (another process); does not move the mark. */
void berth_span_add(struct berth_span *s, const char *name, int64_t us);
/* Restart the clock without recording what went since the previous mark. */
void berth_span_skip(struct berth_span *s);
/* "name 12 us, name2 345 us" (truncated to len) */
void berth_span_format(const struct berth_span *s, char *buf, size_t len);
