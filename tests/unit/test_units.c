/* go-units and Go time equivalents (src/berth/format/units.c). Expected
 * strings come from go-units' and Go's own tests/docs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/berth/format/units.h"
#include "tap.h"

#define KB 1000.0
#define MB (1000.0 * KB)
#define GB (1000.0 * MB)
#define TB (1000.0 * GB)
#define PB (1000.0 * TB)
#define KiB 1024.0
#define MiB (1024.0 * KiB)
#define GiB (1024.0 * MiB)
#define TiB (1024.0 * GiB)
#define PiB (1024.0 * TiB)

#define SEC 1000000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MONTH (30 * DAY)
#define YEAR (365 * DAY)

static void human_size(struct tap *t, double v, const char *want)
{
	char b[64];
	berth_human_size(v, b, sizeof(b));
	TAP_STREQ(t, b, want, "HumanSize(%.0f)", v);
}

static void bytes_size(struct tap *t, double v, const char *want)
{
	char b[64];
	berth_bytes_size(v, b, sizeof(b));
	TAP_STREQ(t, b, want, "BytesSize(%.0f)", v);
}

static void ram(struct tap *t, const char *s, int64_t want)
{
	int64_t v = -1;
	struct berth_error err = {0};
	int rc = berth_ram_in_bytes(s, &v, &err);
	TAP_OK(t, rc == 0 && v == want, "RAMInBytes(%s) = %lld (got %lld, %s)", s, (long long)want, (long long)v,
	       err.msg);
}

static void ram_bad(struct tap *t, const char *s, const char *want)
{
	int64_t v = 0;
	struct berth_error err = {0};
	int rc = berth_ram_in_bytes(s, &v, &err);
	TAP_OK(t, rc < 0, "RAMInBytes(\"%s\") fails", s);
	TAP_STREQ(t, err.msg, want, "RAMInBytes(\"%s\") message", s);
}

static void from_human(struct tap *t, const char *s, int64_t want)
{
	int64_t v = -1;
	struct berth_error err = {0};
	int rc = berth_from_human_size(s, &v, &err);
	TAP_OK(t, rc == 0 && v == want, "FromHumanSize(%s) = %lld (got %lld, %s)", s, (long long)want, (long long)v,
	       err.msg);
}

static void human_dur(struct tap *t, int64_t ns, const char *want)
{
	char b[64];
	berth_human_duration(ns, b, sizeof(b));
	TAP_STREQ(t, b, want, "HumanDuration(%lldns)", (long long)ns);
}

static void parse_dur(struct tap *t, const char *s, int64_t want)
{
	int64_t v = 12345;
	struct berth_error err = {0};
	int rc = berth_parse_go_duration(s, &v, &err);
	TAP_OK(t, rc == 0 && v == want, "ParseDuration(%s) = %lld (got %lld, %s)", s, (long long)want, (long long)v,
	       err.msg);
}

static void parse_dur_bad(struct tap *t, const char *s, const char *want)
{
	int64_t v = 0;
	struct berth_error err = {0};
	int rc = berth_parse_go_duration(s, &v, &err);
	TAP_OK(t, rc < 0, "ParseDuration(\"%s\") fails", s);
	TAP_STREQ(t, err.msg, want, "ParseDuration(\"%s\") message", s);
}

static void dur_string(struct tap *t, int64_t ns, const char *want)
{
	char b[64];
	berth_go_duration_string(ns, b, sizeof(b));
	TAP_STREQ(t, b, want, "Duration(%lld).String()", (long long)ns);
}

static void timestamp(struct tap *t, const char *v, int64_t ref, const char *want)
{
	char b[64] = "";
	struct berth_error err = {0};
	int rc = berth_get_timestamp(v, ref, b, sizeof(b), &err);
	TAP_STREQ(t, rc == 0 ? b : err.msg, want, "GetTimestamp(%s)", v);
}

int main(void)
{
	struct tap t = {0};

	/* go-units size_test.go */
	human_size(&t, 1000, "1kB");
	human_size(&t, 1024, "1.024kB");
	human_size(&t, 1000000, "1MB");
	human_size(&t, 1048576, "1.049MB");
	human_size(&t, 2 * MB, "2MB");
	human_size(&t, 3.42 * GB, "3.42GB");
	human_size(&t, 5.372 * TB, "5.372TB");
	human_size(&t, 2.22 * PB, "2.22PB");
	human_size(&t, 1e21, "1ZB");
	human_size(&t, 1e27, "1000YB");
	human_size(&t, 0, "0B");
	human_size(&t, 999, "999B");
	human_size(&t, 123456789, "123.5MB");
	char b[64];
	berth_human_size_prec(2140000, 3, b, sizeof(b));
	TAP_STREQ(&t, b, "2.14MB", "docker images SIZE (precision 3)");
	berth_human_size_prec(1.2345e9, 3, b, sizeof(b));
	TAP_STREQ(&t, b, "1.23GB", "precision 3 rounds");
	berth_human_size_prec(7381, 3, b, sizeof(b));
	TAP_STREQ(&t, b, "7.38kB", "precision 3 kB");
	bytes_size(&t, 1024, "1KiB");
	bytes_size(&t, 1024 * 1024, "1MiB");
	bytes_size(&t, 1048576, "1MiB");
	bytes_size(&t, 2 * MiB, "2MiB");
	bytes_size(&t, 3.42 * GiB, "3.42GiB");
	bytes_size(&t, 5.372 * TiB, "5.372TiB");
	bytes_size(&t, 2.22 * PiB, "2.22PiB");
	bytes_size(&t, 1023, "1023B");
	bytes_size(&t, 1.5 * MiB, "1.5MiB");
	static const char *const u[] = {"B", "KB", "MB"};
	berth_custom_size("%.1f %s", 2048, 1024.0, u, 3, b, sizeof(b));
	TAP_STREQ(&t, b, "2.0 KB", "CustomSize");

	/* RAMInBytes: go-units TestRAMInBytes */
	ram(&t, "32", 32);
	ram(&t, "32b", 32);
	ram(&t, "32B", 32);
	ram(&t, "32k", 32 * 1024);
	ram(&t, "32K", 32 * 1024);
	ram(&t, "32kb", 32 * 1024);
	ram(&t, "32Kb", 32 * 1024);
	ram(&t, "32Kib", 32 * 1024);
	ram(&t, "32KIB", 32 * 1024);
	ram(&t, "32Mb", 32LL * 1024 * 1024);
	ram(&t, "32Gb", 32LL * 1024 * 1024 * 1024);
	ram(&t, "32Tb", 32LL * 1024 * 1024 * 1024 * 1024);
	ram(&t, "32Pb", 32LL * 1024 * 1024 * 1024 * 1024 * 1024);
	ram(&t, "32PB", 32LL * 1024 * 1024 * 1024 * 1024 * 1024);
	ram(&t, "32P", 32LL * 1024 * 1024 * 1024 * 1024 * 1024);
	ram(&t, "32.3", 32);
	ram(&t, "32.3Kb", 33075);
	ram(&t, "10m", 10LL * 1024 * 1024);
	ram(&t, "1g", 1024LL * 1024 * 1024);
	ram(&t, "512k", 512LL * 1024);
	ram(&t, "1.5GB", 1610612736LL);
	ram(&t, "6 m", 6LL * 1024 * 1024);
	ram_bad(&t, "", "invalid size: ''");
	ram_bad(&t, "hello", "invalid size: 'hello'");
	ram_bad(&t, "-32", "invalid size: '-32'");
	ram_bad(&t, " 32 ", "invalid size: ' 32 '");
	ram_bad(&t, "32m b", "invalid size: '32m b'");
	ram_bad(&t, "32bm", "invalid size: '32bm'");
	ram_bad(&t, "1.2.3m", "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax");
	from_human(&t, "32", 32);
	from_human(&t, "32b", 32);
	from_human(&t, "32k", 32000);
	from_human(&t, "32kb", 32000);
	from_human(&t, "32.5kB", 32500);
	from_human(&t, "32mb", 32000000);
	from_human(&t, "1.5GB", 1500000000);
	from_human(&t, "10 MB", 10000000);
	from_human(&t, "32.3Kb", 32299); /* float64(32.3)*1000 truncates, as in Go */

	/* go-units duration_test.go */
	human_dur(&t, 450 * 1000000LL, "Less than a second");
	human_dur(&t, 1 * SEC, "1 second");
	human_dur(&t, 45 * SEC, "45 seconds");
	human_dur(&t, 46 * SEC, "46 seconds");
	human_dur(&t, 59 * SEC, "59 seconds");
	human_dur(&t, 60 * SEC, "About a minute");
	human_dur(&t, 1 * MIN, "About a minute");
	human_dur(&t, 3 * MIN, "3 minutes");
	human_dur(&t, 35 * MIN, "35 minutes");
	human_dur(&t, 35 * MIN + 40 * SEC, "35 minutes");
	human_dur(&t, 45 * MIN, "45 minutes");
	human_dur(&t, 45 * MIN + 40 * SEC, "45 minutes");
	human_dur(&t, 46 * MIN, "46 minutes");
	human_dur(&t, 59 * MIN, "59 minutes");
	human_dur(&t, 1 * HOUR, "About an hour");
	human_dur(&t, 1 * HOUR + 29 * MIN, "About an hour");
	human_dur(&t, 1 * HOUR + 31 * MIN, "2 hours");
	human_dur(&t, 1 * HOUR + 59 * MIN, "2 hours");
	human_dur(&t, 3 * HOUR, "3 hours");
	human_dur(&t, 3 * HOUR + 29 * MIN, "3 hours");
	human_dur(&t, 3 * HOUR + 31 * MIN, "4 hours");
	human_dur(&t, 3 * HOUR + 59 * MIN, "4 hours");
	human_dur(&t, 3 * HOUR + 60 * MIN, "4 hours");
	human_dur(&t, 24 * HOUR, "24 hours");
	human_dur(&t, 1 * DAY + 12 * HOUR, "36 hours");
	human_dur(&t, 2 * DAY, "2 days");
	human_dur(&t, 7 * DAY, "7 days");
	human_dur(&t, 13 * DAY + 5 * HOUR, "13 days");
	human_dur(&t, 2 * WEEK, "2 weeks");
	human_dur(&t, 2 * WEEK + 4 * DAY, "2 weeks");
	human_dur(&t, 3 * WEEK, "3 weeks");
	human_dur(&t, 4 * WEEK, "4 weeks");
	human_dur(&t, 4 * WEEK + 3 * DAY, "4 weeks");
	human_dur(&t, 1 * MONTH, "4 weeks");
	human_dur(&t, 1 * MONTH + 2 * WEEK, "6 weeks");
	human_dur(&t, 2 * MONTH, "2 months");
	human_dur(&t, 2 * MONTH + 2 * WEEK, "2 months");
	human_dur(&t, 3 * MONTH, "3 months");
	human_dur(&t, 3 * MONTH + 1 * WEEK, "3 months");
	human_dur(&t, 5 * MONTH + 2 * WEEK, "5 months");
	human_dur(&t, 13 * MONTH, "13 months");
	human_dur(&t, 23 * MONTH, "23 months");
	human_dur(&t, 24 * MONTH, "24 months");
	human_dur(&t, 24 * MONTH + 2 * WEEK, "2 years");
	human_dur(&t, 3 * YEAR + 2 * MONTH, "3 years");
	human_dur(&t, -5 * SEC, "Less than a second");

	/* time.ParseDuration (Go's parseDurationTests) */
	parse_dur(&t, "0", 0);
	parse_dur(&t, "5s", 5 * SEC);
	parse_dur(&t, "30s", 30 * SEC);
	parse_dur(&t, "1478s", 1478 * SEC);
	parse_dur(&t, "-5s", -5 * SEC);
	parse_dur(&t, "+5s", 5 * SEC);
	parse_dur(&t, "-0", 0);
	parse_dur(&t, "+0", 0);
	parse_dur(&t, "5.0s", 5 * SEC);
	parse_dur(&t, "5.6s", 5 * SEC + 600000000LL);
	parse_dur(&t, "5.s", 5 * SEC);
	parse_dur(&t, ".5s", 500000000LL);
	parse_dur(&t, "1.0s", 1 * SEC);
	parse_dur(&t, "1.00s", 1 * SEC);
	parse_dur(&t, "1.004s", 1 * SEC + 4000000LL);
	parse_dur(&t, "1.0040s", 1 * SEC + 4000000LL);
	parse_dur(&t, "100.00100s", 100 * SEC + 1000000LL);
	parse_dur(&t, "10ns", 10);
	parse_dur(&t, "11us", 11000);
	parse_dur(&t, "12\xc2\xb5s", 12000);
	parse_dur(&t, "12\xce\xbcs", 12000);
	parse_dur(&t, "13ms", 13000000LL);
	parse_dur(&t, "14s", 14 * SEC);
	parse_dur(&t, "15m", 15 * MIN);
	parse_dur(&t, "16h", 16 * HOUR);
	parse_dur(&t, "3h30m", 3 * HOUR + 30 * MIN);
	parse_dur(&t, "10.5s4m", 4 * MIN + 10 * SEC + 500000000LL);
	parse_dur(&t, "-2m3.4s", -(2 * MIN + 3 * SEC + 400000000LL));
	parse_dur(&t, "1h2m3s4ms5us6ns", 1 * HOUR + 2 * MIN + 3 * SEC + 4000000LL + 5000 + 6);
	parse_dur(&t, "39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425000000LL);
	parse_dur(&t, "52763797000ns", 52763797000LL);
	parse_dur(&t, "0.3333333333333333333h", 20 * MIN);
	parse_dur(&t, "9007199254740993ns", 9007199254740993LL);
	parse_dur(&t, "9223372036854775807ns", INT64_MAX);
	parse_dur(&t, "9223372036854775.807us", INT64_MAX);
	parse_dur(&t, "-9223372036854775808ns", INT64_MIN);
	parse_dur(&t, "0.100000000000000000000h", 6 * MIN);
	parse_dur(&t, "1m30s", 90 * SEC);
	parse_dur(&t, "1.5h", 90 * MIN);
	parse_dur_bad(&t, "", "time: invalid duration \"\"");
	parse_dur_bad(&t, "3", "time: missing unit in duration \"3\"");
	parse_dur_bad(&t, "-", "time: invalid duration \"-\"");
	parse_dur_bad(&t, "s", "time: invalid duration \"s\"");
	parse_dur_bad(&t, ".", "time: invalid duration \".\"");
	parse_dur_bad(&t, "-.", "time: invalid duration \"-.\"");
	parse_dur_bad(&t, ".s", "time: invalid duration \".s\"");
	parse_dur_bad(&t, "+.s", "time: invalid duration \"+.s\"");
	parse_dur_bad(&t, "1d", "time: unknown unit \"d\" in duration \"1d\"");
	parse_dur_bad(&t, "9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\"");
	parse_dur_bad(&t, "9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\"");
	parse_dur_bad(&t, "-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\"");

	/* time.Duration.String (Go's durationTests) */
	dur_string(&t, 0, "0s");
	dur_string(&t, 1, "1ns");
	dur_string(&t, 1100, "1.1\xc2\xb5s");
	dur_string(&t, 2200000, "2.2ms");
	dur_string(&t, 3300000000LL, "3.3s");
	dur_string(&t, 4 * MIN + 5 * SEC, "4m5s");
	dur_string(&t, 4 * MIN + 5001 * 1000000LL, "4m5.001s");
	dur_string(&t, 5 * HOUR + 6 * MIN + 7001 * 1000000LL, "5h6m7.001s");
	dur_string(&t, 8 * MIN + 1, "8m0.000000001s");
	dur_string(&t, INT64_MAX, "2562047h47m16.854775807s");
	dur_string(&t, INT64_MIN, "-2562047h47m16.854775808s");
	dur_string(&t, -1500 * 1000000LL, "-1.5s");

	/* docker GetTimestamp */
	int64_t ref = 1136214245LL * SEC; /* 2006-01-02T15:04:05Z */
	setenv("TZ", "UTC", 1);
	tzset();
	timestamp(&t, "10m", ref, "1136213645");
	timestamp(&t, "1h30m", ref, "1136208845");
	timestamp(&t, "0", ref, "0");
	timestamp(&t, "1136073600", ref, "1136073600");
	timestamp(&t, "1136073600.000000001", ref, "1136073600.000000001");
	timestamp(&t, "2006-01-02T15:04:05Z", ref, "1136214245.000000000");
	timestamp(&t, "2006-01-02T15:04:05.999999999Z", ref, "1136214245.999999999");
	timestamp(&t, "2006-01-02T15:04:05.5+07:00", ref, "1136189045.500000000");
	timestamp(&t, "2006-01-02T15:04:05-07:00", ref, "1136239445.000000000");
	timestamp(&t, "2006-01-02T15:04Z", ref, "1136214240.000000000");
	timestamp(&t, "2006-01-02T15Z", ref, "1136214000.000000000");
	timestamp(&t, "2006-01-02Z", ref, "1136160000.000000000");
	timestamp(&t, "2006-01-02", ref, "1136160000.000000000");
	timestamp(&t, "2006-01-02T15", ref, "1136214000.000000000");
	timestamp(&t, "2006-01-02T15:04", ref, "1136214240.000000000");
	timestamp(&t, "2006-01-02T15:04:05", ref, "1136214245.000000000");
	timestamp(&t, "2006-01-02T15:04:05.25", ref, "1136214245.250000000");
	timestamp(&t, "abc", ref, "failed to parse value as time or duration: \"abc\"");
	timestamp(&t, "2006-13-01", ref, "parsing time \"2006-13-01\": month out of range");
	timestamp(&t, "2006-02-30T00:00:00Z", ref, "parsing time \"2006-02-30T00:00:00Z\": day out of range");
	timestamp(&t, "2006-01-02T15:04:05Zjunk", ref,
		  "parsing time \"2006-01-02T15:04:05Zjunk\": extra text: \"junk\"");
	timestamp(&t, "2006-1-02", ref,
		  "parsing time \"2006-1-02\" as \"2006-01-02\": cannot parse \"1-02\" as \"01\"");
	/* local zone: POSIX TZ "ABC-2" is UTC+2 and needs no tz database */
	setenv("TZ", "ABC-2", 1);
	tzset();
	timestamp(&t, "2006-01-02", ref, "1136152800.000000000");
	timestamp(&t, "2006-01-02T15:04:05", ref, "1136207045.000000000");
	timestamp(&t, "2006-01-02T15:04:05Z", ref, "1136214245.000000000");
	return TAP_DONE(&t);
}
