/* "journald" log driver: the journal's native protocol (one datagram of
 * KEY=value lines per entry; a value with a newline goes as KEY\n<le64
 * length><bytes>\n) on /run/systemd/journal/socket. Docker's fields:
 * MESSAGE, CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_NAME, CONTAINER_TAG,
 * IMAGE_NAME, SYSLOG_IDENTIFIER, PRIORITY (6 stdout, 3 stderr),
 * CONTAINER_PARTIAL_MESSAGE for a partial line, and the labels / env
 * attributes (keys upper-cased, other characters as '_').
 *
 * BERTH_JOURNAL_SOCKET in berthd's environment (inherited by the shims)
 * replaces the socket path: for tests only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "logger_internal.h"
#include "logger_net.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *const keys[] = {NULL};

struct jd {
	struct berth_logger base;
	struct berth_log_conn conn;
	struct berth_buf fixed; /* the fields every entry carries */
	struct berth_buf b;
};

static void field(struct berth_buf *b, const char *k, const char *v, size_t vl)
{
	if (memchr(v, '\n', vl)) {
		berth_buf_printf(b, "%s\n", k);
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)((uint64_t)vl >> (8 * i));
		berth_buf_append(b, le, 8);
		berth_buf_append(b, v, vl);
		berth_buf_append(b, "\n", 1);
		return;
	}
	berth_buf_printf(b, "%s=", k);
	berth_buf_append(b, v, vl);
	berth_buf_append(b, "\n", 1);
}

static void fields(struct berth_buf *b, const char *k, const char *v) { field(b, k, v ? v : "", v ? strlen(v) : 0); }

static int jd_validate(const json_t *opts, struct berth_error *err)
{
	return berth_log_check_keys(opts, keys, true, "journald", err);
}

static void jd_close(struct berth_logger *l)
{
	struct jd *j = (struct jd *)l;
	berth_log_conn_free(&j->conn);
	berth_buf_free(&j->fixed);
	berth_buf_free(&j->b);
	free(j);
}

static int jd_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct jd *j = (struct jd *)l;
	j->b.len = 0;
	size_t len = m->len;
	if (len && m->line[len - 1] == '\n')
		len--;
	field(&j->b, "MESSAGE", m->line, len);
	berth_buf_append(&j->b, j->fixed.data, j->fixed.len);
	fields(&j->b, "PRIORITY", m->stream == BERTH_LOG_STDERR ? "3" : "6");
	if (m->partial)
		fields(&j->b, "CONTAINER_PARTIAL_MESSAGE", "true");
	return berth_log_conn_send(&j->conn, j->b.data, j->b.len, err);
}

static struct berth_logger *jd_open(const struct berth_log_info *info, struct berth_error *err)
{
	if (jd_validate(info->opts, err) < 0)
		return NULL;
	struct berth_error aerr = {0};
	cleanup_json json_t *attrs = berth_log_attrs(info, false, &aerr);
	if (aerr.kind != BERTH_E_NONE) {
		if (err)
			*err = aerr;
		return NULL;
	}
	const char *t = berth_log_opt(info->opts, "tag");
	cleanup_free char *tag = berth_log_tag(info, t ? t : "{{.ID}}", err);
	if (!tag)
		return NULL;
	struct jd *j = calloc(1, sizeof(*j));
	if (!j) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	j->base.drv = &berth_log_driver_journald;
	j->conn.fd = -1;
	j->conn.addr.proto = LP_UNIXGRAM;
	const char *sock = getenv("BERTH_JOURNAL_SOCKET");
	snprintf(j->conn.addr.host, sizeof(j->conn.addr.host), "%s", sock && *sock ? sock : JOURNAL_SOCKET);
	const char *id = info->container_id ? info->container_id : "";
	char shortid[13];
	snprintf(shortid, sizeof(shortid), "%.12s", id);
	const char *name = info->container_name ? info->container_name : "";
	if (*name == '/')
		name++;
	fields(&j->fixed, "CONTAINER_ID", shortid);
	fields(&j->fixed, "CONTAINER_ID_FULL", id);
	fields(&j->fixed, "CONTAINER_NAME", name);
	fields(&j->fixed, "CONTAINER_TAG", tag);
	fields(&j->fixed, "IMAGE_NAME", info->image_name);
	fields(&j->fixed, "SYSLOG_IDENTIFIER", tag);
	const char *k;
	json_t *v;
	json_object_foreach(attrs, k, v) {
		char key[256];
		size_t n = 0;
		for (const char *p = k; *p && n < sizeof(key) - 1; p++)
			key[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
		key[n] = 0;
		while (key[0] == '_')
			memmove(key, key + 1, strlen(key));
		if (key[0])
			fields(&j->fixed, key, json_string_value(v));
	}
	if (berth_log_conn_open(&j->conn, err) < 0) {
		jd_close(&j->base);
		return NULL;
	}
	return &j->base;
}

const struct berth_log_driver berth_log_driver_journald = {
	.name = "journald",
	.validate = jd_validate,
	.open = jd_open,
	.log = jd_log,
	.close = jd_close,
	.remote = true,
};
