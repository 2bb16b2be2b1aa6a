/* docker's LogEntry protobuf (api/types/plugins/logdriver/entry.proto), the
 * record format of the local driver's files:
 *
 *   message LogEntry { string source = 1; int64 time_nano = 2; bytes line = 3;
 *                      bool partial = 4; PartialLogEntryMetadata partial_log_metadata = 5;
 *                      repeated LogAttr attrs = 6; }
 *   message PartialLogEntryMetadata { bool last = 1; string id = 2; int32 ordinal = 3; }
 *   message LogAttr { string key = 1; string value = 2; }
 *
 * Each record on disk is [uint32 big-endian size][LogEntry][uint32 big-endian
 * size]; the trailing size lets a reader walk the file backwards (tail).
 * Fields are written in field order and proto3 defaults (0, "", false) are
 * left out, as gogo-protobuf's Marshal does. */
#include <stdlib.h>
#include <string.h>

#include "logger_internal.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static void put_varint(struct berth_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	berth_buf_append(b, tmp, n);
}

static void put_tag(struct berth_buf *b, unsigned field, unsigned wt) { put_varint(b, (uint64_t)field << 3 | wt); }

static void put_bytes(struct berth_buf *b, unsigned field, const void *p, size_t len)
{
	if (!len)
		return;
	put_tag(b, field, WT_LEN);
	put_varint(b, len);
	berth_buf_append(b, p, len);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_be32(struct berth_buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};
	berth_buf_append(b, x, 4);
}

uint32_t berth_logproto_be32(const void *p)
{
	const unsigned char *x = p;
	return (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

void berth_logproto_attrs(struct berth_buf *b, const json_t *attrs)
{
	size_t n = json_is_object(attrs) ? json_object_size(attrs) : 0, k = 0;
	if (!n)
		return;
	const char **keys = calloc(n, sizeof(*keys));
	if (!keys)
		return;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)attrs, key, v)
		keys[k++] = key;
	qsort(keys, n, sizeof(*keys), cmp_str); /* docker sorts by key */
	for (size_t i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(attrs, keys[i]));
		size_t kl = strlen(keys[i]), vl = val ? strlen(val) : 0;
		size_t inner = (kl ? 1 + varint_len(kl) + kl : 0) + (vl ? 1 + varint_len(vl) + vl : 0);
		put_tag(b, 6, WT_LEN);
		put_varint(b, inner);
		put_bytes(b, 1, keys[i], kl);
		put_bytes(b, 2, val, vl);
	}
	free(keys);
}

void berth_logproto_encode(struct berth_buf *b, const struct berth_logproto_rec *r)
{
	size_t start = b->len;
	put_be32(b, 0); /* size, filled below */
	size_t body = b->len;
	if (r->source)
		put_bytes(b, 1, r->source, strlen(r->source));
	if (r->time_nano) {
		put_tag(b, 2, WT_VARINT);
		put_varint(b, (uint64_t)r->time_nano);
	}
	put_bytes(b, 3, r->line, r->len);
	if (r->partial) {
		put_tag(b, 4, WT_VARINT);
		put_varint(b, 1);
		size_t idl = r->id ? strlen(r->id) : 0;
		uint64_t ord = (uint64_t)(int64_t)r->ordinal; /* int32: sign-extended, as protobuf does */
		size_t inner = (r->last ? 2 : 0) + (idl ? 1 + varint_len(idl) + idl : 0) +
			       (r->ordinal ? 1 + varint_len(ord) : 0);
		put_tag(b, 5, WT_LEN);
		put_varint(b, inner);
		if (r->last) {
			put_tag(b, 1, WT_VARINT);
			put_varint(b, 1);
		}
		put_bytes(b, 2, r->id, idl);
		if (r->ordinal) {
			put_tag(b, 3, WT_VARINT);
			put_varint(b, ord);
		}
	}
	if (r->attrs_len)
		berth_buf_append(b, r->attrs, r->attrs_len);
	uint32_t size = (uint32_t)(b->len - body);
	unsigned char *hdr = (unsigned char *)b->data + start;
	hdr[0] = (unsigned char)(size >> 24);
	hdr[1] = (unsigned char)(size >> 16);
	hdr[2] = (unsigned char)(size >> 8);
	hdr[3] = (unsigned char)size;
	put_be32(b, size);
}

/* ---- decoding ---- */

struct pb {
	const unsigned char *p, *end;
};

static int get_varint(struct pb *d, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (d->p >= d->end)
			return -1;
		unsigned char c = *d->p++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/* Next field: its number and wire type; for WT_LEN the bytes, for WT_VARINT the value. */
static int next_field(struct pb *d, unsigned *field, unsigned *wt, uint64_t *v, const unsigned char **bytes)
{
	uint64_t tag;
	if (get_varint(d, &tag) < 0 || tag >> 3 == 0)
		return -1;
	*field = (unsigned)(tag >> 3);
	*wt = (unsigned)(tag & 7);
	switch (*wt) {
	case WT_VARINT: return get_varint(d, v);
	case WT_I64:
	case WT_I32: {
		size_t n = *wt == WT_I64 ? 8 : 4;
		if ((size_t)(d->end - d->p) < n)
			return -1;
		d->p += n;
		return 0;
	}
	case WT_LEN:
		if (get_varint(d, v) < 0 || *v > (uint64_t)(d->end - d->p))
			return -1;
		*bytes = d->p;
		d->p += *v;
		return 0;
	default: return -1; /* groups are not used by these messages */
	}
}

static int decode_partial(const unsigned char *p, size_t len, bool *last)
{
	struct pb d = {p, p + len};
	*last = false;
	while (d.p < d.end) {
		unsigned f, wt;
		uint64_t v = 0;
		const unsigned char *bytes = NULL;
		if (next_field(&d, &f, &wt, &v, &bytes) < 0)
			return -1;
		if (f == 1 && wt == WT_VARINT)
			*last = v != 0;
	}
	return 0;
}

static int decode_attr(const unsigned char *p, size_t len, json_t *attrs)
{
	struct pb d = {p, p + len};
	const unsigned char *kp = NULL, *vp = NULL;
	size_t kl = 0, vl = 0;
	while (d.p < d.end) {
		unsigned f, wt;
		uint64_t v = 0;
		const unsigned char *bytes = NULL;
		if (next_field(&d, &f, &wt, &v, &bytes) < 0)
			return -1;
		if (wt == WT_LEN && f == 1) {
			kp = bytes;
			kl = v;
		} else if (wt == WT_LEN && f == 2) {
			vp = bytes;
			vl = v;
		}
	}
	char *k = strndup(kp ? (const char *)kp : "", kl);
	if (k)
		json_object_set_new(attrs, k, json_stringn(vp ? (const char *)vp : "", vl));
	free(k);
	return 0;
}

int berth_logproto_decode(const void *data, size_t len, struct berth_log_entry *e)
{
	struct pb d = {data, (const unsigned char *)data + len};
	const unsigned char *line = NULL;
	size_t line_len = 0;
	bool partial = false, last = false, stderr_src = false;
	int64_t ts = 0;
	json_t *attrs = NULL;
	while (d.p < d.end) {
		unsigned f, wt;
		uint64_t v = 0;
		const unsigned char *bytes = NULL;
		if (next_field(&d, &f, &wt, &v, &bytes) < 0)
			goto bad;
		if (f == 1 && wt == WT_LEN)
			stderr_src = v == 6 && !memcmp(bytes, "stderr", 6);
		else if (f == 2 && wt == WT_VARINT)
			ts = (int64_t)v;
		else if (f == 3 && wt == WT_LEN) {
			line = bytes;
			line_len = v;
		} else if (f == 4 && wt == WT_VARINT)
			partial = v != 0;
		else if (f == 5 && wt == WT_LEN) {
			if (decode_partial(bytes, v, &last) < 0)
				goto bad;
		} else if (f == 6 && wt == WT_LEN) {
			if (!attrs)
				attrs = json_object();
			if (decode_attr(bytes, v, attrs) < 0)
				goto bad;
		}
	}
	memset(e, 0, sizeof(*e));
	bool nl = !partial || last; /* a complete line, or the last chunk of one */
	e->line = malloc(line_len + 2);
	if (!e->line)
		goto bad;
	if (line_len)
		memcpy(e->line, line, line_len);
	if (nl)
		e->line[line_len++] = '\n';
	e->line[line_len] = '\0';
	e->len = line_len;
	e->partial = !nl;
	e->stream = stderr_src ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT;
	e->ts_ns = ts;
	e->attrs = attrs;
	return 0;
bad:
	json_decref(attrs);
	return -1;
}
