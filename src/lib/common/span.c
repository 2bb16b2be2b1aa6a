#include "common/span.h"

#include <stdio.h>
#include <time.h>

int64_t berth_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void berth_span_init(struct berth_span *s, int64_t since_ns)
{
	s->n = 0;
	s->last_ns = since_ns > 0 ? since_ns : berth_mono_ns();
}

void berth_span_add(struct berth_span *s, const char *name, int64_t us)
{
	if (s->n >= BERTH_SPAN_MAX)
		return;
	s->ph[s->n].name = name;
	s->ph[s->n].us = us < 0 ? 0 : us;
	s->n++;
}

void berth_span_mark(struct berth_span *s, const char *name)
{
	int64_t now = berth_mono_ns();
	berth_span_add(s, name, (now - s->last_ns) / 1000);
	s->last_ns = now;
}

void berth_span_skip(struct berth_span *s) { s->last_ns = berth_mono_ns(); }

void berth_span_format(const struct berth_span *s, char *buf, size_t len)
{
	size_t off = 0;
	if (len)
		buf[0] = 0;
	for (int i = 0; i < s->n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s %lld us", i ? ", " : "", s->ph[i].name,
				 (long long)s->ph[i].us);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}
