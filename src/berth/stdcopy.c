#include "stdcopy.h"

#include <string.h>

void berth_stdcopy_init(struct berth_stdcopy *s, berth_stdcopy_write write, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->write = write;
	s->ctx = ctx;
}

void berth_stdcopy_free(struct berth_stdcopy *s) { berth_buf_free(&s->syserr); }

int berth_stdcopy_at_boundary(const struct berth_stdcopy *s) { return s->hlen == 0 && s->remaining == 0; }

/* A frame header is complete: check the stream and start the payload. */
static int begin_frame(struct berth_stdcopy *s, struct berth_error *err)
{
	int stream = s->hdr[0];
	if (stream > BERTH_STD_SYSERR)
		return berth_err(err, BERTH_E_INVALID, "Unrecognized input header: %d", stream);
	s->stream = stream;
	s->remaining = (uint32_t)s->hdr[4] << 24 | (uint32_t)s->hdr[5] << 16 | (uint32_t)s->hdr[6] << 8 | s->hdr[7];
	s->hlen = 0;
	if (stream == BERTH_STD_SYSERR)
		berth_buf_free(&s->syserr);
	return 0;
}

/* A systemerr frame is reported only once complete. */
static int end_frame(struct berth_stdcopy *s, struct berth_error *err)
{
	if (s->stream == BERTH_STD_SYSERR)
		return berth_err(err, BERTH_E_INTERNAL, "error from daemon in stream: %s", berth_buf_str(&s->syserr));
	return 0;
}

int berth_stdcopy_feed(struct berth_stdcopy *s, const char *data, size_t len, struct berth_error *err)
{
	while (len) {
		if (s->remaining == 0) {
			size_t take = sizeof(s->hdr) - s->hlen;
			if (take > len)
				take = len;
			memcpy(s->hdr + s->hlen, data, take);
			s->hlen += take;
			data += take;
			len -= take;
			if (s->hlen < sizeof(s->hdr))
				return 0;
			if (begin_frame(s, err) < 0)
				return -1;
			if (s->remaining == 0 && end_frame(s, err) < 0)
				return -1;
			continue;
		}
		size_t take = len < s->remaining ? len : s->remaining;
		if (s->stream == BERTH_STD_SYSERR) {
			if (s->syserr.len < 65536)
				berth_buf_append(&s->syserr, data, take);
		} else {
			int out = s->stream == BERTH_STD_ERR ? BERTH_STD_ERR : BERTH_STD_OUT;
			if (s->write && s->write(s->ctx, out, data, take) < 0)
				return berth_err(err, BERTH_E_INTERNAL, "write error");
			s->written += take;
		}
		s->remaining -= (uint32_t)take;
		data += take;
		len -= take;
		if (s->remaining == 0 && end_frame(s, err) < 0)
			return -1;
	}
	return 0;
}
