/* "syslog" log driver: docker's options and message formats.
 *   syslog-address   udp|tcp|tcp+tls://host[:514], unix|unixgram:///path (default: the local /dev/log)
 *   syslog-facility  a name (daemon, local0, ...) or 0..23 (default daemon)
 *   syslog-format    "" (local form), rfc3164, rfc5424, rfc5424micro
 *   tag              template, default {{.ID}}
 *   syslog-tls-ca-cert, syslog-tls-cert, syslog-tls-key, syslog-tls-skip-verify: tcp+tls
 *                    (common/tls_client.c; the server name is the address's host)
 * stdout is severity info, stderr err. Every message ends with '\n'; that is the
 * frame over tcp and unix streams. As docker 20.10 (srslog's RFC 5425 framer),
 * rfc5424 and rfc5424micro over tcp+tls are octet-counted instead: "LEN SP MSG",
 * LEN the decimal byte count of MSG, trailing '\n' included. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "logger_internal.h"
#include "logger_net.h"

static const char *const keys[] = {"syslog-address", "syslog-facility",        "syslog-tls-ca-cert", "syslog-tls-cert",
				   "syslog-tls-key", "syslog-tls-skip-verify", "syslog-format",      NULL};

static const char *const facilities[] = {"kern",   "user",   "mail",   "daemon", "auth",     "syslog",
					 "lpr",    "news",   "uucp",   "cron",   "authpriv", "ftp",
					 "",       "",       "",       "",       "local0",   "local1",
					 "local2", "local3", "local4", "local5", "local6",   "local7"};

enum sfmt { F_LOCAL, F_3164, F_5424, F_5424MICRO };

struct sl {
	struct berth_logger base;
	struct berth_log_conn conn;
	int facility;
	enum sfmt fmt;
	char *tag;
	char host[256];
	int pid;        /* docker writes its own pid: the shim's, constant */
	int64_t ts_sec; /* the second ts was formatted for (INT64_MIN: none) */
	char ts[96];
	struct berth_buf b;
	struct berth_log_tls tls;
	char *tls_files[3]; /* ca, cert, key */
};

static int parse_facility(const char *s)
{
	if (!s || !*s)
		return 3;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end)
		return n >= 0 && n <= 23 ? (int)n : -1;
	for (int i = 0; i < 24; i++)
		if (facilities[i][0] && !strcmp(s, facilities[i]))
			return i;
	return -1;
}

static int parse_format(const char *s)
{
	if (!s || !*s)
		return F_LOCAL;
	if (!strcmp(s, "rfc3164"))
		return F_3164;
	if (!strcmp(s, "rfc5424"))
		return F_5424;
	if (!strcmp(s, "rfc5424micro"))
		return F_5424MICRO;
	return -1;
}

static int parse_address(const char *s, struct berth_log_addr *a, struct berth_error *err)
{
	if (!s || !*s) {
		memset(a, 0, sizeof(*a));
		a->proto = LP_UNIXGRAM;
		snprintf(a->host, sizeof(a->host), "/dev/log");
		return 0;
	}
	if (!strstr(s, "://"))
		return berth_err(err, BERTH_E_INVALID, "unsupported scheme: ''");
	if (berth_log_addr_parse(s, "syslog", LP_UDP, "514", a, err) < 0) {
		const char *sep = strstr(s, "://");
		return berth_err(err, BERTH_E_INVALID, "unsupported scheme: '%.*s'", (int)(sep - s), s);
	}
	if (a->proto == LP_UNIX || a->proto == LP_UNIXGRAM) {
		struct stat st;
		if (stat(a->host, &st) < 0)
			return berth_err(err, BERTH_E_INVALID, "stat %s: no such file or directory", a->host);
	}
	return 0;
}

static int sl_validate(const json_t *opts, struct berth_error *err)
{
	if (berth_log_check_keys(opts, keys, true, "syslog", err) < 0)
		return -1;
	struct berth_log_addr a;
	if (parse_address(berth_log_opt(opts, "syslog-address"), &a, err) < 0)
		return -1;
	if (parse_facility(berth_log_opt(opts, "syslog-facility")) < 0)
		return berth_err(err, BERTH_E_INVALID, "invalid syslog facility");
	if (parse_format(berth_log_opt(opts, "syslog-format")) < 0)
		return berth_err(err, BERTH_E_INVALID, "Invalid syslog format");
	const char *sv = berth_log_opt(opts, "syslog-tls-skip-verify");
	if (sv && berth_log_parse_bool(sv) < 0)
		return berth_err(err, BERTH_E_INVALID, "strconv.ParseBool: parsing \"%s\": invalid syntax", sv);
	return 0; /* docker ignores the syslog-tls-* options without tcp+tls */
}

static void sl_close(struct berth_logger *l)
{
	struct sl *s = (struct sl *)l;
	berth_log_conn_free(&s->conn);
	for (int i = 0; i < 3; i++)
		free(s->tls_files[i]);
	free(s->tag);
	berth_buf_free(&s->b);
	free(s);
}

static void fmt_time(int64_t ns, enum sfmt f, char *out, size_t n)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	if (f == F_LOCAL || f == F_3164) {
		localtime_r(&t, &tm);
		strftime(out, n, "%b %e %H:%M:%S", &tm);
		return;
	}
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (f == F_5424MICRO) {
		char frac[16];
		snprintf(frac, sizeof(frac), ".%06ld", (long)((ns % 1000000000LL) / 1000));
		/* Go's .999999 drops trailing zeros */
		size_t l = strlen(frac);
		while (l > 1 && frac[l - 1] == '0')
			frac[--l] = 0;
		if (l == 1)
			frac[0] = 0;
		snprintf(out, n, "%s%sZ", base, frac);
	} else {
		snprintf(out, n, "%sZ", base);
	}
}

static int sl_log(struct berth_logger *l, const struct berth_log_msg *m, struct berth_error *err)
{
	struct sl *s = (struct sl *)l;
	int pri = s->facility * 8 + (m->stream == BERTH_LOG_STDERR ? 3 : 6);
	int64_t ns = m->ts_ns ? m->ts_ns : berth_now_ns();
	char tsbuf[96];
	const char *ts = tsbuf;
	if (s->fmt == F_5424MICRO) {
		fmt_time(ns, s->fmt, tsbuf, sizeof(tsbuf));
	} else {
		/* the other formats show whole seconds: format each second once */
		if (ns / 1000000000LL != s->ts_sec) {
			fmt_time(ns, s->fmt, s->ts, sizeof(s->ts));
			s->ts_sec = ns / 1000000000LL;
		}
		ts = s->ts;
	}
	int pid = s->pid;
	s->b.len = 0;
	switch (s->fmt) {
	case F_LOCAL: berth_buf_printf(&s->b, "<%d>%s %s[%d]: ", pri, ts, s->tag, pid); break;
	case F_3164: berth_buf_printf(&s->b, "<%d>%s %s %s[%d]: ", pri, ts, s->host, s->tag, pid); break;
	default: berth_buf_printf(&s->b, "<%d>1 %s %s %s %d %s - ", pri, ts, s->host, s->tag, pid, s->tag); break;
	}
	berth_buf_append(&s->b, m->line, m->len);
	if (!m->len || m->line[m->len - 1] != '\n')
		berth_buf_append(&s->b, "\n", 1);
	if (s->conn.addr.proto == LP_TLS && (s->fmt == F_5424 || s->fmt == F_5424MICRO)) {
		char hdr[24];
		int hl = snprintf(hdr, sizeof(hdr), "%zu ", s->b.len);
		if (berth_buf_append(&s->b, hdr, (size_t)hl) < 0)
			return berth_err(err, BERTH_E_INTERNAL, "out of memory");
		memmove(s->b.data + hl, s->b.data, s->b.len - (size_t)hl);
		memcpy(s->b.data, hdr, (size_t)hl);
	}
	return berth_log_conn_send(&s->conn, s->b.data, s->b.len, err);
}

static struct berth_logger *sl_open(const struct berth_log_info *info, struct berth_error *err)
{
	if (sl_validate(info->opts, err) < 0)
		return NULL;
	struct sl *s = calloc(1, sizeof(*s));
	if (!s) {
		berth_err(err, BERTH_E_INTERNAL, "out of memory");
		return NULL;
	}
	s->base.drv = &berth_log_driver_syslog;
	s->conn.fd = -1;
	s->pid = (int)getpid();
	s->ts_sec = INT64_MIN;
	parse_address(berth_log_opt(info->opts, "syslog-address"), &s->conn.addr, err);
	static const char *const tls_keys[] = {"syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key"};
	for (int i = 0; i < 3; i++) {
		const char *v = berth_log_opt(info->opts, tls_keys[i]);
		s->tls_files[i] = v && *v ? strdup(v) : NULL;
	}
	s->tls = (struct berth_log_tls){
		.ca = s->tls_files[0],
		.cert = s->tls_files[1],
		.key = s->tls_files[2],
		.skip_verify = berth_log_parse_bool(berth_log_opt(info->opts, "syslog-tls-skip-verify")) == 1};
	s->conn.tls = &s->tls;
	s->facility = parse_facility(berth_log_opt(info->opts, "syslog-facility"));
	s->fmt = (enum sfmt)parse_format(berth_log_opt(info->opts, "syslog-format"));
	const char *t = berth_log_opt(info->opts, "tag");
	s->tag = berth_log_tag(info, t ? t : "{{.ID}}", err);
	if (gethostname(s->host, sizeof(s->host) - 1) < 0)
		snprintf(s->host, sizeof(s->host), "localhost");
	if (!s->tag || berth_log_conn_open(&s->conn, err) < 0) {
		sl_close(&s->base);
		return NULL;
	}
	return &s->base;
}

const struct berth_log_driver berth_log_driver_syslog = {
	.name = "syslog",
	.validate = sl_validate,
	.open = sl_open,
	.log = sl_log,
	.close = sl_close,
	.remote = true,
};
