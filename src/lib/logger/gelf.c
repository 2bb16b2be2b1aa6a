/* "gelf" log driver (GELF 1.1, as docker's go-gelf writer sends it).
 *   gelf-address            udp://host:port or tcp://host:port (required)
 *   gelf-compression-type   gzip (default), zlib, none        (UDP only)
 *   gelf-compression-level  -1..9 (default 1)
 *   gelf-tcp-max-reconnect, gelf-tcp-reconnect-delay          (TCP only)
 * UDP: a message larger than one datagram (1420 bytes) goes in chunks
 * (0x1e 0x0f, 8-byte id, index, count; at most 128). TCP: uncompressed
 * JSON terminated by a NUL byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "logger_internal.h"
#include "logger_net.h"

#define CHUNK_SIZE 1420
#define CHUNK_DATA (CHUNK_SIZE - 12)
#define MAX_CHUNKS 128

static const char *const keys[] = {"gelf-address",           "gelf-compression-type",    "gelf-compression-level",
				   "gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay", NULL};

enum ctype { C_GZIP, C_ZLIB, C_NONE };

struct gelf {
	struct berth_logger base;
	struct berth_log_conn conn;
	enum ctype ctype;
	int level;
	char host[256];
	json_t *extra; /* fields every message has */
	uint64_t seq;
};

static int check_int(const char *k, const char *s, long lo, long hi, long *out, struct berth_error *err)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (!*s || *end)
		return berth_err(err, BERTH_E_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
	if (n < lo || n > hi)
		return berth_err(err, BERTH_E_INVALID, "invalid value for %s: %s", k, s);
	*out = n;
	return 0;
}

static int gelf_parse(const json_t *opts, struct berth_log_addr *a, enum ctype *ct, int *level, struct berth_error *err)
{
	if (berth_log_check_keys(opts, keys, true, "gelf", err) < 0)
		return -1;
	const char *addr = berth_log_opt(opts, "gelf-address");
	if (!addr)
		return berth_err(err, BERTH_E_INVALID, "gelf-address is a required parameter");
	if (!strstr(addr, "://") || (strncmp(addr, "udp://", 6) && strncmp(addr, "tcp://", 6)))
		return berth_err(err, BERTH_E_INVALID, "gelf: endpoint needs to be TCP or UDP");
	if (berth_log_addr_parse(addr, "gelf", LP_UDP, "", a, err) < 0)
		return -1;
	if (!a->port[0])
		return berth_err(err, BERTH_E_INVALID, "gelf: please provide gelf-address as proto://host:port");
	bool tcp = a->proto == LP_TCP;
	*ct = C_GZIP;
	const char *t = berth_log_opt(opts, "gelf-compression-type");
	if (t) {
		if (tcp) /* docker 20.10's text */
			return berth_err(err, BERTH_E_INVALID, "compression is only supported on UDP");
		if (!strcmp(t, "gzip"))
			*ct = C_GZIP;
		else if (!strcmp(t, "zlib"))
			*ct = C_ZLIB;
		else if (!strcmp(t, "none"))
			*ct = C_NONE;
		else
			return berth_err(err, BERTH_E_INVALID, "Unknown gelf compression type: %s", t);
	}
	*level = 1;
	const char *l = berth_log_opt(opts, "gelf-compression-level");
	long n;
	if (l) {
		if (tcp)
			return berth_err(err, BERTH_E_INVALID, "compression is only supported on UDP");
		if (check_int("gelf-compression-level", l, -1, 9, &n, err) < 0)
			return -1;
		*level = (int)n;
	}
	const char *mr = berth_log_opt(opts, "gelf-tcp-max-reconnect"),
		   *rd = berth_log_opt(opts, "gelf-tcp-reconnect-delay");
	if ((mr || rd) && !tcp)
		return berth_err(err, BERTH_E_INVALID, "%s is only supported with gelf-address tcp://",
				 mr ? "gelf-tcp-max-reconnect" : "gelf-tcp-reconnect-delay");
	if (mr && check_int("gelf-tcp-max-reconnect", mr, 0, 1 << 30, &n, err) < 0)
		return -1;
	if (rd && check_int("gelf-tcp-reconnect-delay", rd, 0, 1 << 30, &n, err) < 0)
		return -1;
	return 0;
}

static int gelf_validate(const json_t *opts, struct berth_error *err)
{
	struct berth_log_addr a;
	enum ctype ct;
	int level;
	return gelf_parse(opts, &a, &ct, &level, err);
}

static void gelf_close(struct berth_logger *l)
{
	struct gelf *g = (struct gelf *)l;
	berth_log_conn_free(&g->conn);
	json_decref(g->extra);
	free(g);
}

static int compress_buf(enum ctype ct, int level, const char *in, size_t n, struct berth_buf *out)
{
	z_stream z = {0};
	int wbits = ct == C_GZIP ? 15 + 16 : 15;
	if (deflateInit2(&z, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t cap = deflateBound(&z, (uLong)n) + 32;
	free(out->data);
	out->data = malloc(cap);
	out->len = 0;
	out->cap = out->data ? cap : 0;
	if (!out->data) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out->data;
	z.avail_out = (uInt)cap;
	int r = deflate(&z, Z_FINISH);
	out->len = cap - z.avail_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : -1;
}

static int gelf_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct gelf *g = (struct gelf *)l;
	size_t len = m->len;
	if (len && m->line[len - 1] == '\n')
		len--;
	int64_t ts = m->ts_ns ? m->ts_ns : berth_now_ns();
	cleanup_json json_t *j = json_deep_copy(g->extra);
	json_object_set_new(j, "version", json_string("1.1"));
	json_object_set_new(j, "host", json_string(g->host));
	json_object_set_new(j, "short_message", json_stringn_nocheck(m->line, len));
	json_object_set_new(j, "timestamp", json_real((double)(ts / 1000) / 1e6));
	json_object_set_new(j, "level", json_integer(m->stream == BERTH_LOG_STDERR ? 3 : 6));
	if (m->partial)
		json_object_set_new(j, "_partial_message", json_true());
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return berth_err(err, BERTH_E_INVALID, "gelf: cannot encode the message");
	size_t tl = strlen(text);
	if (g->conn.addr.proto == LP_TCP)
		return berth_log_conn_send(&g->conn, text, tl + 1, err); /* with its NUL */
	struct berth_buf z = {0};
	const char *body = text;
	size_t bl = tl;
	if (g->ctype != C_NONE) {
		if (compress_buf(g->ctype, g->level, text, tl, &z) < 0) {
			berth_buf_free(&z);
			return berth_err(err, BERTH_E_INVALID, "gelf: compression failed");
		}
		body = z.data;
		bl = z.len;
	}
	int rc = 0;
	if (bl <= CHUNK_SIZE) {
		rc = berth_log_conn_send(&g->conn, body, bl, err);
	} else {
		size_t count = (bl + CHUNK_DATA - 1) / CHUNK_DATA;
		if (count > MAX_CHUNKS) {
			berth_buf_free(&z);
			return berth_err(err, BERTH_E_INVALID, "gelf: message too large (%zu chunks)", count);
		}
		unsigned char id[8];
		uint64_t v = ((uint64_t)ts ^ ((uint64_t)getpid() << 32)) + g->seq++;
		for (int i = 0; i < 8; i++)
			id[i] = (unsigned char)(v >> (8 * i));
		unsigned char pkt[CHUNK_SIZE];
		for (size_t i = 0; i < count && rc == 0; i++) {
			size_t off = i * CHUNK_DATA, n = bl - off < CHUNK_DATA ? bl - off : CHUNK_DATA;
			pkt[0] = 0x1e;
			pkt[1] = 0x0f;
			memcpy(pkt + 2, id, 8);
			pkt[10] = (unsigned char)i;
			pkt[11] = (unsigned char)count;
			memcpy(pkt + 12, body + off, n);
			rc = berth_log_conn_send(&g->conn, pkt, n + 12, err);
		}
	}
	berth_buf_free(&z);
	return rc;
}

static struct berth_logger *gelf_open(const struct berth_log_info *info, struct berth_error *err)
{
	struct gelf *g = calloc(1, sizeof(*g));
	if (!g) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	g->base.drv = &berth_log_driver_gelf;
	g->conn.fd = -1;
	if (gelf_parse(info->opts, &g->conn.addr, &g->ctype, &g->level, err) < 0) {
		gelf_close(&g->base);
		return NULL;
	}
	if (gethostname(g->host, sizeof(g->host) - 1) < 0)
		snprintf(g->host, sizeof(g->host), "localhost");
	struct berth_error aerr = {0};
	cleanup_json json_t *attrs = berth_log_attrs(info, false, &aerr);
	const char *t = berth_log_opt(info->opts, "tag");
	cleanup_free char *tag = berth_log_tag(info, t ? t : "{{.ID}}", err);
	if (aerr.kind != BERTH_E_NONE || !tag) {
		if (aerr.kind != BERTH_E_NONE && err)
			*err = aerr;
		gelf_close(&g->base);
		return NULL;
	}
	const char *name = info->container_name ? info->container_name : "";
	if (*name == '/')
		name++;
	g->extra = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "_container_id",
			     info->container_id ? info->container_id : "", "_container_name", name, "_image_id",
			     info->image_id ? info->image_id : "", "_image_name",
			     info->image_name ? info->image_name : "", "_command", info->command ? info->command : "",
			     "_tag", tag, "_created", info->created ? info->created : "");
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v) {
		if (strcmp(k, "id")) { /* GELF forbids "_id" */
			char key[300];
			snprintf(key, sizeof(key), "_%s", k);
			json_object_set(g->extra, key, v);
		}
	}
	if (berth_log_conn_open(&g->conn, err) < 0) {
		gelf_close(&g->base);
		return NULL;
	}
	return &g->base;
}

const struct berth_log_driver berth_log_driver_gelf = {
	.name = "gelf",
	.validate = gelf_validate,
	.open = gelf_open,
	.log = gelf_log,
	.close = gelf_close,
	.remote = true,
};
