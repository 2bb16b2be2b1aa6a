/* go-units and Go time equivalents (see units.h). */
#include "units.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

static const char *const decimal_abbrs[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
static const char *const binary_abbrs[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};

static const char *size_and_unit(double *size, double base, const char *const *units, size_t nunits)
{
	size_t i = 0;
	while (*size >= base && i + 1 < nunits) {
		*size /= base;
		i++;
	}
	return units[i];
}

void berth_custom_size(const char *fmt, double size, double base, const char *const *units, size_t nunits, char *out,
		       size_t len)
{
	const char *unit = size_and_unit(&size, base, units, nunits);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(out, len, fmt, size, unit);
#pragma GCC diagnostic pop
}

void berth_human_size_prec(double size, int precision, char *out, size_t len)
{
	const char *unit = size_and_unit(&size, 1000.0, decimal_abbrs, 9);
	snprintf(out, len, "%.*g%s", precision, size, unit);
}

void berth_human_size(double size, char *out, size_t len) { berth_human_size_prec(size, 4, out, len); }

void berth_bytes_size(double size, char *out, size_t len)
{
	berth_custom_size("%.4g%s", size, 1024.0, binary_abbrs, 9, out, len);
}

/* (?i)^(\d+(\.\d+)*) ?([kmgtp])?i?b?$ */
static int parse_size(const char *s, bool binary, int64_t *out, struct berth_error *err)
{
	const char *p = s;
	if (!(*p >= '0' && *p <= '9'))
		goto invalid;
	while (*p >= '0' && *p <= '9')
		p++;
	while (*p == '.' && p[1] >= '0' && p[1] <= '9') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	size_t numlen = (size_t)(p - s);
	if (*p == ' ')
		p++;
	char unit = 0;
	if (*p && strchr("kmgtpKMGTP", *p)) {
		unit = (char)(*p | 0x20);
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		goto invalid;
	char num[64];
	if (numlen >= sizeof(num))
		numlen = sizeof(num) - 1;
	memcpy(num, s, numlen);
	num[numlen] = '\0';
	if (strchr(num, '.') != strrchr(num, '.'))
		return berth_err(err, BERTH_E_INVALID, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
	double size = strtod(num, NULL);
	double mul = 1;
	if (unit) {
		const char *units = "kmgtp";
		int idx = (int)(strchr(units, unit) - units) + 1;
		for (int i = 0; i < idx; i++)
			mul *= binary ? 1024.0 : 1000.0;
	}
	size *= mul;
	/* Go's int64(float64) conversion: out-of-range values become MinInt64 on amd64. */
	if (!(size < 9223372036854775808.0))
		*out = INT64_MIN;
	else
		*out = (int64_t)size;
	return 0;
invalid:
	return berth_err(err, BERTH_E_INVALID, "invalid size: '%s'", s);
}

int berth_from_human_size(const char *s, int64_t *out, struct berth_error *err)
{
	return parse_size(s, false, out, err);
}

int berth_ram_in_bytes(const char *s, int64_t *out, struct berth_error *err) { return parse_size(s, true, out, err); }

void berth_human_duration(int64_t ns, char *out, size_t len)
{
	double secs_f = (double)ns / 1e9;
	long long seconds = (long long)secs_f;
	if (seconds < 1) {
		snprintf(out, len, "Less than a second");
		return;
	}
	if (seconds == 1) {
		snprintf(out, len, "1 second");
		return;
	}
	if (seconds < 60) {
		snprintf(out, len, "%lld seconds", seconds);
		return;
	}
	long long minutes = (long long)(secs_f / 60);
	if (minutes == 1) {
		snprintf(out, len, "About a minute");
		return;
	}
	if (minutes < 60) {
		snprintf(out, len, "%lld minutes", minutes);
		return;
	}
	long long hours = (long long)(secs_f / 3600 + 0.5);
	if (hours == 1) {
		snprintf(out, len, "About an hour");
		return;
	}
	if (hours < 48) {
		snprintf(out, len, "%lld hours", hours);
		return;
	}
	if (hours < 24 * 7 * 2) {
		snprintf(out, len, "%lld days", hours / 24);
		return;
	}
	if (hours < 24 * 30 * 2) {
		snprintf(out, len, "%lld weeks", hours / 24 / 7);
		return;
	}
	if (hours < 24 * 365 * 2) {
		snprintf(out, len, "%lld months", hours / 24 / 30);
		return;
	}
	snprintf(out, len, "%lld years", (long long)(secs_f / 3600) / 24 / 365);
}

/* ---------------------------------------------------------------- Go time */

static void go_time_quote(char *out, size_t len, const char *s)
{
	struct berth_buf b = {0};
	berth_buf_putc(&b, '"');
	for (const char *c = s; *c; c++) {
		if (*c == '"' || *c == '\\')
			berth_buf_putc(&b, '\\');
		berth_buf_putc(&b, *c);
	}
	berth_buf_putc(&b, '"');
	snprintf(out, len, "%s", berth_buf_str(&b));
	berth_buf_free(&b);
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{"ns", 1ULL},           {"us", 1000ULL},      {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000ULL},                                               /* U+03BC greek mu */
	{"ms", 1000000ULL},     {"s", 1000000000ULL}, {"m", 60ULL * 1000000000ULL}, {"h", 3600ULL * 1000000000ULL},
};

int berth_parse_go_duration(const char *orig, int64_t *ns, struct berth_error *err)
{
	char q[256];
	go_time_quote(q, sizeof(q), orig);
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
	const uint64_t max = 1ULL << 63;
	while (*s) {
		uint64_t v = 0, f = 0;
		double scale = 1;
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
		const char *start = s;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > max / 10)
				return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > max)
				return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
		}
		bool pre = s != start, post = false;
		if (*s == '.') {
			s++;
			const char *fs = s;
			bool overflow = false;
			for (; *s >= '0' && *s <= '9'; s++) {
				if (overflow)
					continue;
				if (f > (max - 1) / 10) {
					overflow = true;
					continue;
				}
				uint64_t y = f * 10 + (uint64_t)(*s - '0');
				if (y > max) {
					overflow = true;
					continue;
				}
				f = y;
				scale *= 10;
			}
			post = s != fs;
		}
		if (!pre && !post)
			return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
		const char *us = s;
		while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
			s++;
		size_t ulen = (size_t)(s - us);
		if (ulen == 0)
			return berth_err(err, BERTH_E_INVALID, "time: missing unit in duration %s", q);
		uint64_t unit = 0;
		for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (strlen(duration_units[i].name) == ulen && memcmp(duration_units[i].name, us, ulen) == 0)
				unit = duration_units[i].ns;
		if (!unit) {
			char u[128], uq[160];
			snprintf(u, sizeof(u), "%.*s", (int)ulen, us);
			go_time_quote(uq, sizeof(uq), u);
			return berth_err(err, BERTH_E_INVALID, "time: unknown unit %s in duration %s", uq, q);
		}
		if (v > max / unit)
			return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > max)
				return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
		}
		d += v;
		if (d > max)
			return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
	}
	if (neg) {
		*ns = d == max ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > max - 1)
		return berth_err(err, BERTH_E_INVALID, "time: invalid duration %s", q);
	*ns = (int64_t)d;
	return 0;
}

/* Write v/10^prec's fraction (".123", trailing zeros dropped) ending at
 * buf[w); returns new w and v/10^prec. */
static size_t fmt_frac(char *buf, size_t w, uint64_t v, int prec, uint64_t *rest)
{
	bool print = false;
	for (int i = 0; i < prec; i++) {
		int digit = (int)(v % 10);
		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		v /= 10;
	}
	if (print)
		buf[--w] = '.';
	*rest = v;
	return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0) {
		buf[--w] = '0';
		return w;
	}
	while (v > 0) {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	}
	return w;
}

void berth_go_duration_string(int64_t d, char *out, size_t len)
{
	char buf[40];
	size_t w = sizeof(buf);
	uint64_t u = (uint64_t)d;
	bool neg = d < 0;
	if (neg)
		u = (uint64_t)0 - u;
	if (u < 1000000000ULL) {
		int prec;
		buf[--w] = 's';
		if (u == 0) {
			snprintf(out, len, "0s");
			return;
		} else if (u < 1000ULL) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000ULL) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = fmt_frac(buf, w, u, prec, &u);
		w = fmt_int(buf, w, u);
	} else {
		buf[--w] = 's';
		w = fmt_frac(buf, w, u, 9, &u);
		w = fmt_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = fmt_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = fmt_int(buf, w, u);
			}
		}
	}
	if (neg)
		buf[--w] = '-';
	snprintf(out, len, "%.*s", (int)(sizeof(buf) - w), buf + w);
}

/* ------------------------------------------------------- docker timestamps */

enum tkind { TK_DATE, TK_H, TK_HM, TK_HMS };

struct tparse {
	const char *value;
	const char *layout;
	const char *p;
	char msg[1024];
};

static bool tp_fail(struct tparse *t, const char *elem)
{
	char v[300], l[100], r[300], e[60];
	go_time_quote(v, sizeof(v), t->value);
	go_time_quote(l, sizeof(l), t->layout);
	go_time_quote(r, sizeof(r), t->p);
	go_time_quote(e, sizeof(e), elem);
	snprintf(t->msg, sizeof(t->msg), "parsing time %s as %s: cannot parse %s as %s", v, l, r, e);
	return false;
}

static bool tp_num(struct tparse *t, int ndig_min, int ndig_max, int *out, const char *elem)
{
	int v = 0, n = 0;
	while (n < ndig_max && t->p[n] >= '0' && t->p[n] <= '9') {
		v = v * 10 + (t->p[n] - '0');
		n++;
	}
	if (n < ndig_min)
		return tp_fail(t, elem);
	t->p += n;
	*out = v;
	return true;
}

static bool tp_lit(struct tparse *t, char c, const char *elem)
{
	if (*t->p != c)
		return tp_fail(t, elem);
	t->p++;
	return true;
}

static int days_in(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Parse value with a layout shape; on success set sec and nsec (UTC). */
static bool parse_layout(struct tparse *t, enum tkind tk, bool zone, long local_off, int64_t *sec, long *nsec)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
	long ns = 0;
	t->p = t->value;
	if (!tp_num(t, 4, 4, &y, "2006") || !tp_lit(t, '-', "-") || !tp_num(t, 2, 2, &mo, "01") ||
	    !tp_lit(t, '-', "-") || !tp_num(t, 2, 2, &d, "02"))
		return false;
	if (tk != TK_DATE) {
		if (!tp_lit(t, 'T', "T") || !tp_num(t, 1, 2, &h, "15"))
			return false;
		if (tk >= TK_HM && (!tp_lit(t, ':', ":") || !tp_num(t, 2, 2, &mi, "04")))
			return false;
		if (tk >= TK_HMS && (!tp_lit(t, ':', ":") || !tp_num(t, 2, 2, &s, "05")))
			return false;
		if (tk == TK_HMS && (*t->p == '.' || *t->p == ',') && t->p[1] >= '0' && t->p[1] <= '9') {
			t->p++;
			int n = 0;
			while (*t->p >= '0' && *t->p <= '9') {
				if (n < 9) {
					ns = ns * 10 + (*t->p - '0');
					n++;
				}
				t->p++;
			}
			for (; n < 9; n++)
				ns *= 10;
		}
	}
	long off = local_off;
	if (zone) {
		if (*t->p == 'Z') {
			off = 0;
			t->p++;
		} else if (*t->p == '+' || *t->p == '-') {
			int sign = *t->p == '-' ? -1 : 1;
			int zh = 0, zm = 0;
			t->p++;
			if (!tp_num(t, 2, 2, &zh, "Z07:00") || !tp_lit(t, ':', "Z07:00") ||
			    !tp_num(t, 2, 2, &zm, "Z07:00"))
				return false;
			off = sign * (zh * 3600 + zm * 60);
		} else {
			return tp_fail(t, "Z07:00");
		}
	}
	char v[300];
	go_time_quote(v, sizeof(v), t->value);
	if (*t->p) {
		char r[300];
		go_time_quote(r, sizeof(r), t->p);
		snprintf(t->msg, sizeof(t->msg), "parsing time %s: extra text: %s", v, r);
		return false;
	}
	const char *range = NULL;
	if (mo < 1 || mo > 12)
		range = "month";
	else if (d < 1 || d > days_in(y, mo))
		range = "day";
	else if (h > 23)
		range = "hour";
	else if (mi > 59)
		range = "minute";
	else if (s > 59)
		range = "second";
	if (range) {
		snprintf(t->msg, sizeof(t->msg), "parsing time %s: %s out of range", v, range);
		return false;
	}
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	*sec = (int64_t)timegm(&tm) - off;
	*nsec = ns;
	return true;
}

/* strconv.ParseInt(s, 10, 64) acceptance. */
static bool is_int10(const char *s, size_t n)
{
	size_t i = 0;
	if (n && (s[0] == '+' || s[0] == '-'))
		i++;
	if (i >= n || n - i > 19)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int berth_get_timestamp(const char *value, int64_t reference_ns, char *out, size_t len, struct berth_error *err)
{
	int64_t d;
	struct berth_error derr = {0};
	if (strcmp(value, "0") != 0 && berth_parse_go_duration(value, &d, &derr) == 0) {
		int64_t t = reference_ns - d;
		/* time.Time.Unix() floors */
		int64_t secs = t / 1000000000LL;
		if (t % 1000000000LL < 0)
			secs--;
		snprintf(out, len, "%lld", (long long)secs);
		return 0;
	}
	bool in_location = !strpbrk(value, "zZ+");
	int dashes = 0;
	for (const char *c = value; *c; c++)
		if (*c == '-')
			dashes++;
	if (dashes == 3)
		in_location = false;
	enum tkind tk;
	bool zone = !in_location;
	const char *layout;
	if (strchr(value, '.')) {
		tk = TK_HMS;
		layout = in_location ? "2006-01-02T15:04:05.999999999" : "2006-01-02T15:04:05.999999999Z07:00";
	} else if (strchr(value, 'T')) {
		int tcolons = 0;
		for (const char *c = value; *c; c++)
			if (*c == ':')
				tcolons++;
		if (!in_location && !strpbrk(value, "zZ") && tcolons > 0)
			tcolons--;
		tk = tcolons == 0 ? TK_H : tcolons == 1 ? TK_HM : TK_HMS;
		if (in_location)
			layout = tk == TK_H  ? "2006-01-02T15" :
				 tk == TK_HM ? "2006-01-02T15:04" :
					       "2006-01-02T15:04:05";
		else
			layout = tk == TK_H  ? "2006-01-02T15Z07:00" :
				 tk == TK_HM ? "2006-01-02T15:04Z07:00" :
					       "2006-01-02T15:04:05Z07:00";
	} else {
		tk = TK_DATE;
		layout = in_location ? "2006-01-02" : "2006-01-02Z07:00";
	}
	/* time.FixedZone(reference.Zone()): the local offset at the reference time */
	long local_off = 0;
	if (in_location) {
		time_t rs = (time_t)(reference_ns / 1000000000LL);
		struct tm lt;
		if (localtime_r(&rs, &lt))
			local_off = lt.tm_gmtoff;
	}
	struct tparse tp = {.value = value, .layout = layout};
	int64_t sec = 0;
	long nsec = 0;
	if (parse_layout(&tp, tk, zone, local_off, &sec, &nsec)) {
		snprintf(out, len, "%lld.%09ld", (long long)sec, nsec);
		return 0;
	}
	if (strchr(value, '-'))
		return berth_err(err, BERTH_E_INVALID, "%s", tp.msg);
	/* unix timestamp "sec[.nsec]" passes through */
	const char *dot = strchr(value, '.');
	size_t sl = dot ? (size_t)(dot - value) : strlen(value);
	bool ok = is_int10(value, sl) && (!dot || is_int10(dot + 1, strlen(dot + 1)));
	if (!ok) {
		char q[300];
		struct berth_buf b = {0};
		berth_buf_putc(&b, '"');
		berth_buf_append(&b, value, strlen(value));
		berth_buf_putc(&b, '"');
		snprintf(q, sizeof(q), "%s", berth_buf_str(&b));
		berth_buf_free(&b);
		return berth_err(err, BERTH_E_INVALID, "failed to parse value as time or duration: %s", q);
	}
	snprintf(out, len, "%s", value);
	return 0;
}
